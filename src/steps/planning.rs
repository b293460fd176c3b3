//! `step: plan` (`planning`, beside the core's `plan`): what a deploy would do, as outputs
//! (`targets` above all, for a matrix), with no API write and no command.

use super::{Api, Rollout};
use crate::plan::{self, Changes, Decision, Destination, Plan, SkipKind};
use crate::report::{Report, TargetRow};
use crate::runtime::Untrusted;

impl Rollout<'_> {
    pub async fn plan(&self, dest: Destination) -> Report {
        let mut report = self.plan_report(dest).await;
        if !self.inputs.targets.is_empty() && report.targets.is_none() {
            report.targets = Some(Vec::new());
        }
        report
    }

    async fn plan_report(&self, dest: Destination) -> Report {
        let base =
            match &dest {
                Destination::Teardown(_) => return Report::skipped(
                    "`step: plan`: the pull request closed; a deploy step tears its previews down",
                ),
                Destination::Deploy(target) => target,
            };
        let changes = if plan::needs_changes(self.inputs) || !self.inputs.targets.is_empty() {
            self.changes_for(base, Api::Client(self.client)).await
        } else {
            Changes::Everything {
                reason: "neither `paths` nor `tasks` needs them".into(),
            }
        };
        let plans = plan::plans(&dest, self.event, self.inputs, &changes, self.now);
        if let Some(affected) = &plans.affected {
            self.log_affected(affected);
        }
        let mut report = self.base_report(base);
        report.status = "skipped".into();
        if self.inputs.targets.is_empty() {
            match plans.each.into_iter().next().map(|p| p.decision) {
                Some(Decision::Plan(Plan::Deploy(d))) => {
                    report.task = d.task.clone();
                    report.detail = format!(
                        "`step: plan` writes nothing: a deploy would deploy {} to {} (task {})",
                        d.target.sha.short(),
                        d.target.environment,
                        d.task
                    );
                }
                Some(Decision::Plan(Plan::Skip(skip))) => return self.skip(skip.kind, skip.reason),
                _ => {}
            }
            return report;
        }
        if let Some(skip) = self.named_target_unaffected(&plans) {
            return skip;
        }
        let mut deploying = Vec::new();
        let mut frozen: Vec<(String, String)> = Vec::new();
        for planned in &plans.each {
            let name = planned.name.clone().unwrap_or_default();
            match &planned.decision {
                Decision::Plan(Plan::Deploy(d)) => {
                    tracing::info!(
                        "target {}: would deploy to {} (task {})",
                        Untrusted(&name),
                        Untrusted(&d.target.environment),
                        Untrusted(&d.task)
                    );
                    report.rows.push(TargetRow {
                        target: name.clone(),
                        status: "planned".into(),
                        environment: d.target.environment.clone(),
                        detail: format!("would deploy {} (task {})", d.target.sha.short(), d.task),
                        ..TargetRow::default()
                    });
                    deploying.push(name);
                }
                Decision::Plan(Plan::Skip(skip)) => {
                    // A freeze window: `blocked`, as the deploy would say, and out of `targets`.
                    let blocked = skip.kind == SkipKind::Blocked;
                    let status = if blocked { "blocked" } else { "skipped" };
                    tracing::info!(
                        "target {}: {status}: {}",
                        Untrusted(&name),
                        Untrusted(&skip.reason)
                    );
                    if blocked {
                        frozen.push((name.clone(), skip.reason.clone()));
                    }
                    report.rows.push(TargetRow {
                        target: name,
                        status: status.into(),
                        detail: skip.reason.clone(),
                        ..TargetRow::default()
                    });
                }
                Decision::Plan(Plan::Teardown(_)) | Decision::Unaffected(_) => {}
            }
        }
        report.environment.clear();
        report.targets = Some(deploying.clone());
        if let Some(blocked) = frozen_outcome(&deploying, &frozen) {
            report.status = "blocked".into();
            report.blocked_by = Some("a freeze window".into());
            report.detail = blocked;
            return report;
        }
        report.detail = if deploying.is_empty() {
            "`step: plan` writes nothing: no target would deploy".to_string()
        } else {
            format!(
                "`step: plan` writes nothing: {} target(s) would deploy: {}",
                deploying.len(),
                deploying.join(", ")
            )
        };
        report
    }
}

/// What the freeze windows make of a plan with `targets`: every target that would deploy frozen
/// is a `blocked` step (the sentence to fail with); only some is a `::warning::` naming them,
/// since their change deploys only when a later run covers them.
fn frozen_outcome(deploying: &[String], frozen: &[(String, String)]) -> Option<String> {
    let (first, _) = frozen.first()?;
    let names: Vec<&str> = frozen.iter().map(|(name, _)| name.as_str()).collect();
    let why = &frozen[0].1;
    if deploying.is_empty() {
        return Some(format!(
            "`step: plan`: every target that would deploy is frozen ({}), so none is in `targets`; target {first}: {why}",
            names.join(", ")
        ));
    }
    crate::runtime::warning(&format!(
        "`step: plan`: target(s) {} are frozen and left out of `targets`; their change deploys only when a later run covers them (target {first}: {why})",
        names.join(", ")
    ));
    None
}
