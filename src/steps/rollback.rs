//! `step: rollback`: read the environment's history and lock in one request, choose the
//! deployment to go back to, check its commit out, and deploy it as any deploy is deployed.

use super::Rollout;
use crate::checkout;
use crate::lock;
use crate::plan::Destination;
use crate::report::Report;
use crate::rollback::{self, choose_within};
use crate::runtime::{self, Untrusted};

/// What reading a deployment history needs of the token.
pub(super) const HISTORY_PERMISSION: &str = "deployments: read` and `contents: read";

/// Why a rollback stopped before anything was written.
pub enum Stopped {
    /// Bad input: `to` names nothing that can be rolled back to, or the checkout cannot hold
    /// the commit. Exit 2, one sentence.
    BadInput(String),
    /// Everything else (a lock, an unreadable history, a dry run): reported as a deploy is.
    Report(Box<Report>),
}

impl Rollout<'_> {
    /// `step: rollback` of `dest`'s environment (or of the target `target` names).
    pub async fn rollback(&self, dest: Destination) -> Result<Report, Stopped> {
        let target = rollback::target_of(dest.target(), self.inputs);
        let environment = target.environment.clone();
        // The window's sentence without its way out: `override-freeze` is not needed here.
        if let Some(frozen) = self.inputs.freeze.check(&environment, self.now) {
            tracing::info!(
                "{}; a rollback is never blocked by a freeze window (it is how an incident is fixed), so it goes ahead",
                Untrusted(&frozen.window_sentence(&environment))
            );
        }
        let lock_ref = format!("refs/heads/{}", lock::ref_name(&environment));
        let to = &self.inputs.to;
        let history = self
            .client
            .rollback_history(&environment, &lock_ref, |read| to.decided_by(read))
            .await
            .map_err(|e| {
                let mut report = self.base_report(&target);
                report.status = "failure".into();
                report.detail = e.explain(
                    &format!("Reading the deployments of {environment}"),
                    HISTORY_PERMISSION,
                );
                Stopped::Report(Box::new(report))
            })?;
        tracing::info!(
            "read {} deployment(s) of {} in {} request(s){}",
            history.entries.len(),
            Untrusted(&environment),
            history.requests,
            if history.truncated {
                format!(
                    ", the newest {} (older ones were not read)",
                    history.entries.len()
                )
            } else {
                String::new()
            }
        );
        // The lock came with the history: the deploy below takes this answer, not a second read.
        // Judged before the checkout, so a lock stops the rollback before anything is written;
        // for a target of `targets`, the branch's environment's lock (one more read) holds it too.
        let locks = rollback::lock_environments(dest.target(), self.inputs);
        self.lock_before_create(&environment, history.lock.as_ref(), &locks, "rolling back")
            .await
            .map_err(Stopped::Report)?;
        let choice = choose_within(&history.entries, history.truncated, to)
            .map_err(|refusal| Stopped::BadInput(refusal.sentence(&environment)))?;
        let d = rollback::deploy(dest.target(), &choice, self.inputs);
        let sentence = d
            .rollback
            .as_ref()
            .map(|r| r.sentence.clone())
            .unwrap_or_default();
        // The sentence says what happened; until it has, it says what is to happen.
        let to_happen = |verb: &str| sentence.replacen("rolled back", verb, 1);
        tracing::info!("{}", Untrusted(&to_happen("rolling back")));
        if self.inputs.dry_run {
            return Err(Stopped::Report(Box::new(Report::skipped(format!(
                "dry-run: would check {} out and deploy it, to {}; nothing was written and no command ran",
                choice.to.sha,
                to_happen("roll back")
            )))));
        }
        self.detach_to(&choice.to.sha).map_err(Stopped::BadInput)?;
        self.announce(&d);
        if self.inputs.promotion.artifact.is_some() {
            runtime::warning("`artifact` is ignored by `step: rollback`: a rollback ships the artifact its target deployment recorded");
        }
        let mut report = self.run_deploy(&d, None, true).await;
        // A superseded rollback did deploy; any other outcome but success did not roll back.
        if !matches!(report.status.as_str(), "success" | "inactive") {
            if let Some((_, said)) = report.rollback.as_mut() {
                *said = to_happen("did not roll back");
            }
        }
        Ok(report)
    }
}

impl Rollout<'_> {
    /// Checks `sha` out (`git checkout --detach`) in the repository holding `working-directory`,
    /// as a rollback and a promotion do before anything is written. `Err`: the sentence for exit 2.
    pub(super) fn detach_to(&self, sha: &crate::event::Sha) -> Result<(), String> {
        let dir = super::working_dir(self.inputs, self.context);
        let detached = checkout::detach(&dir, sha)?;
        tracing::info!(
            "checked {} out (detached) in {}, which was at {}{}",
            sha,
            detached.repository.display(),
            detached.previous_head,
            match detached.owner_restored {
                0 => String::new(),
                n => format!("; gave {n} entries back to the workspace's owner"),
            }
        );
        Ok(())
    }
}
