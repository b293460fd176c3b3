//! `step: promote`: read the source environment's history and the destination's lock in one
//! request, take the source's live deployment (which must have reached success), check its commit
//! out as a rollback does, and deploy it to the destination with the source's task and artifact.

use super::{Rollout, Stopped};
use crate::lock;
use crate::plan::{self, Destination};
use crate::promotion;
use crate::report::Report;
use crate::runtime::Untrusted;

/// What reading a deployment history needs of the token.
use super::rollback::HISTORY_PERMISSION;

impl Rollout<'_> {
    /// `step: promote` to `dest`'s environment (or the one of the target `target` names).
    pub async fn promote(&self, dest: Destination) -> Result<Report, Stopped> {
        let target = crate::rollback::target_of(dest.target(), self.inputs);
        let environment = target.environment.clone();
        let Some(source) = promotion::source_of(self.inputs, &target) else {
            return Err(Stopped::BadInput(format!(
                "input `from` is empty and no `requires` line names an environment for {environment}: set `from` to the environment whose live commit is promoted (`from: staging`)"
            )));
        };
        if source.eq_ignore_ascii_case(&environment) {
            return Err(Stopped::BadInput(format!(
                "input `from` names {source}, the destination itself: promote from another environment (`from: staging`)"
            )));
        }
        // Locks and freeze windows apply to the destination as to any deploy.
        let mut freeze_override = None;
        match plan::freeze(self.inputs, &environment, self.now) {
            plan::Freeze::Blocked(skip) => {
                let mut report = self.skip(skip.kind, skip.reason);
                report.environment = environment;
                return Err(Stopped::Report(Box::new(report)));
            }
            plan::Freeze::Overridden(why) => freeze_override = Some(why),
            plan::Freeze::Open => {}
        }
        let lock_ref = format!("refs/heads/{}", lock::ref_name(&environment));
        let history = self
            .client
            .rollback_history(&source, &lock_ref, |read| read.iter().any(promotion::ran))
            .await
            .map_err(|e| {
                let mut report = self.base_report(&target);
                report.status = "failure".into();
                report.detail = e.explain(
                    &format!("Reading the deployments of {source}"),
                    HISTORY_PERMISSION,
                );
                Stopped::Report(Box::new(report))
            })?;
        tracing::info!(
            "read {} deployment(s) of {} and the lock of {} in {} request(s)",
            history.entries.len(),
            Untrusted(&source),
            Untrusted(&environment),
            history.requests
        );
        let locks = crate::plan::lock_environments(&environment, None);
        self.lock_before_create(&environment, history.lock.as_ref(), &locks, "promoting")
            .await
            .map_err(Stopped::Report)?;
        let live = promotion::live(&history.entries, &source).map_err(Stopped::BadInput)?;
        let mut d = promotion::deploy(&target, &source, &live, self.inputs);
        d.freeze_override = freeze_override;
        let sentence = d
            .promotion
            .as_ref()
            .map(|p| p.sentence.clone())
            .unwrap_or_default();
        tracing::info!(
            "{}",
            Untrusted(&sentence.replacen("promoted", "promoting", 1))
        );
        if self.inputs.dry_run {
            if let Some(artifact) = &d.artifact {
                tracing::info!("  artifact: {}", Untrusted(artifact));
            }
            let said = format!(
                "dry-run: would check {} out and deploy it: {}; nothing was written and no command ran",
                live.sha,
                sentence.replacen("promoted", "promote", 1)
            );
            tracing::info!("{}", Untrusted(&said));
            return Err(Stopped::Report(Box::new(Report::skipped(said))));
        }
        self.detach_to(&live.sha).map_err(Stopped::BadInput)?;
        self.announce(&d);
        let mut report = self.run_deploy(&d, None, true).await;
        if !matches!(report.status.as_str(), "success" | "inactive") {
            if let Some((_, said)) = report.promotion.as_mut() {
                *said = sentence.replacen("promoted", "did not promote", 1);
            }
        }
        // A promotion is a deploy to the destination: with `on-failure: rollback`, a failed one
        // puts the destination's last good deployment back, as a failed deploy's does.
        self.roll_back_failed(&mut report).await;
        Ok(report)
    }
}
