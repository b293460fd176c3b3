//! `requires` before a deploy's create: one GraphQL request reads whether the commit succeeded
//! in the environment the matching line names, with the destination's lock; not met, the deploy
//! is blocked before anything is written (or goes ahead with `override-requires`).

use super::Rollout;
use crate::lock;
use crate::plan::Deploy;
use crate::promotion::{self, Requires};
use crate::report::Report;
use crate::runtime::{self, Untrusted};

/// What reading another environment's deployments needs of the token.
const READ_PERMISSION: &str = "deployments: read` and `contents: read";
/// What [`Report::blocked_by`] says of `requires`.
const BY_REQUIRES: &str = "`requires`";

impl Rollout<'_> {
    /// `None`: the deploy goes on (with `requires_override` set when it was overridden); a report:
    /// it stops here, before the create: blocked, or failed because the read failed (a guard
    /// that cannot be read does not let the deploy through). A deploy no line covers pays nothing.
    pub(super) async fn requires_gate(&self, d: &mut Deploy) -> Option<Report> {
        let rule = self.inputs.promotion.rule_for(&d.target.environment)?;
        let source = promotion::source_for(rule, &d.target);
        let environment = d.target.environment.clone();
        let mut report = self.base_report(&d.target);
        report.task = d.task.clone();
        if source.is_empty() || source.eq_ignore_ascii_case(&environment) {
            report.status = "failure".into();
            report.detail = format!(
                "{} names {} for {environment}, which cannot be required of itself; name the environment a commit must succeed in first",
                rule.describe(),
                if source.is_empty() { "no environment" } else { "the same environment" }
            );
            return Some(report);
        }
        let lock_ref = format!("refs/heads/{}", lock::ref_name(&environment));
        let read = match self
            .client
            .requires_history(d.target.sha.as_str(), &source, &lock_ref)
            .await
        {
            Ok(read) => read,
            Err(e) => {
                report.status = "failure".into();
                report.detail = format!(
                    "{}; a deploy that cannot see whether `requires` is met does not go ahead",
                    e.explain(
                        &format!(
                            "Reading whether {} succeeded in {source}",
                            d.target.sha.short()
                        ),
                        READ_PERMISSION
                    )
                );
                return Some(report);
            }
        };
        if let Err(blocked) = self
            .lock_before_create(&environment, read.lock.as_ref(), &d.locks, "deploying")
            .await
        {
            let mut blocked = *blocked;
            blocked.sha = report.sha;
            blocked.git_ref = report.git_ref;
            return Some(blocked);
        }
        match promotion::requires_met(&d.target.sha, &source, &read.of_commit, &read.recent) {
            Requires::Met { deployment } => {
                tracing::info!(
                    "requires: {} succeeded in {} (deployment {deployment}), as {} asks of {}",
                    d.target.sha.short(),
                    Untrusted(&source),
                    Untrusted(&rule.describe()),
                    Untrusted(&environment)
                );
                None
            }
            Requires::NotMet { fact, advice } => match &self.inputs.promotion.override_requires {
                Some(reason) => {
                    // What the deploy would have been told to do is moot: it goes ahead.
                    let why =
                        format!("{fact}; `override-requires` lets this deploy through: {reason}");
                    runtime::warning(&why);
                    d.requires_override = Some(why);
                    None
                }
                None => {
                    report.status = "blocked".into();
                    report.blocked_by = Some(BY_REQUIRES.into());
                    report.detail = format!("{fact}; {advice}; {}", promotion::way_out());
                    Some(report)
                }
            },
        }
    }
}
