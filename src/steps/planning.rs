//! `step: plan` (`planning`, beside the core's `plan`): what a deploy would do, as outputs (`targets` above all, for a matrix), with no
//! API write and no command.

use super::{Api, Rollout};
use crate::plan::{self, Changes, Plan};
use crate::report::{Report, TargetRow};

impl Rollout<'_> {
    pub async fn plan(&self) -> Report {
        let with_targets = !self.inputs.targets.is_empty();
        let mut report = self.plan_report().await;
        if with_targets && report.targets.is_none() {
            report.targets = Some(Vec::new());
        }
        report
    }

    async fn plan_report(&self) -> Report {
        let (base, teardown) = match plan::target(self.event, self.inputs) {
            Ok(t) => t,
            Err(skip) => return self.skip(skip.kind, skip.reason),
        };
        if teardown {
            return Report::skipped(
                "`step: plan`: the pull request closed; a deploy step tears its previews down",
            );
        }
        if self.inputs.targets.is_empty() {
            let changes = if plan::needs_changes(self.inputs) {
                self.changes_for(&base, Api::Client(self.client)).await
            } else {
                Changes::Everything {
                    reason: "neither `paths` nor `tasks` needs them".into(),
                }
            };
            let mut report = self.base_report(&base);
            match plan::decide(base, self.event, self.inputs, &changes) {
                Plan::Deploy(d) => {
                    report.status = "skipped".into();
                    report.task = d.task.clone();
                    report.detail = format!(
                        "`step: plan` writes nothing: a deploy would deploy {} to {} (task {})",
                        d.target.sha.short(),
                        d.target.environment,
                        d.task
                    );
                }
                Plan::Skip(skip) => return self.skip(skip.kind, skip.reason),
                Plan::Teardown(_) => report.status = "skipped".into(),
            }
            return report;
        }
        let chosen = match self.affected_targets(&base).await {
            Ok(chosen) => chosen,
            Err(skip) => return skip,
        };
        let mut deploying = Vec::new();
        let mut results = Vec::new();
        for (name, changes) in &chosen {
            let target = plan::for_target(&base, name, self.inputs);
            match plan::decide(target, self.event, self.inputs, changes) {
                Plan::Deploy(d) => {
                    tracing::info!(
                        "target {}: would deploy to {} (task {})",
                        crate::runtime::Untrusted(name),
                        crate::runtime::Untrusted(&d.target.environment),
                        crate::runtime::Untrusted(&d.task)
                    );
                    deploying.push(name.clone());
                    results.push(TargetRow {
                        target: name.clone(),
                        status: "planned".into(),
                        environment: d.target.environment.clone(),
                        detail: format!("would deploy {} (task {})", d.target.sha.short(), d.task),
                        ..TargetRow::default()
                    });
                }
                Plan::Skip(skip) => {
                    tracing::info!(
                        "target {}: skipped: {}",
                        crate::runtime::Untrusted(name),
                        crate::runtime::Untrusted(&skip.reason)
                    );
                    results.push(TargetRow {
                        target: name.clone(),
                        status: "skipped".into(),
                        detail: skip.reason.clone(),
                        ..TargetRow::default()
                    });
                }
                Plan::Teardown(_) => {}
            }
        }
        let mut report = self.base_report(&base);
        report.environment.clear();
        report.status = "skipped".into();
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
        report.rows = results;
        report
    }
}
