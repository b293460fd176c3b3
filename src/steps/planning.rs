//! `step: plan` (`planning`, beside the core's `plan`): what a deploy would do, as outputs
//! (`targets` above all, for a matrix), with no API write and no command.

use super::{Api, Rollout};
use crate::plan::{self, Changes, Decision, Destination, Plan};
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
                    tracing::info!(
                        "target {}: skipped: {}",
                        Untrusted(&name),
                        Untrusted(&skip.reason)
                    );
                    report.rows.push(TargetRow {
                        target: name,
                        status: "skipped".into(),
                        detail: skip.reason.clone(),
                        ..TargetRow::default()
                    });
                }
                Decision::Plan(Plan::Teardown(_)) | Decision::Unaffected(_) => {}
            }
        }
        report.environment.clear();
        report.detail = if deploying.is_empty() {
            "`step: plan` writes nothing: no target would deploy".to_string()
        } else {
            format!(
                "`step: plan` writes nothing: {} target(s) would deploy: {}",
                deploying.len(),
                deploying.join(", ")
            )
        };
        report.targets = Some(deploying);
        report
    }
}
