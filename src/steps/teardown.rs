//! A closed pull request: its preview torn down.

use super::{CommandVars, Rollout, DEPLOY_PERMISSION};
use crate::command::Outcome;
use crate::github::{Budget, NewStatus, State};
use crate::plan::Teardown;
use crate::report::Report;
use crate::report::{describe_run, explain_run};
use crate::runtime::{self, Untrusted};

impl Rollout<'_> {
    /// A pull request closed: run `teardown-command`, mark every deployment of its environment
    /// inactive, say so on the PR. The head branch is never looked up: it may be gone.
    pub(super) async fn teardown(&self, t: &Teardown) -> Report {
        let target = &t.target;
        let mut report = self.base_report(target);
        report.git_ref.clear();
        tracing::info!(
            "pull request #{} closed: tearing down {}",
            target.pr_number.unwrap_or(0),
            Untrusted(&target.environment)
        );
        if self.inputs.dry_run {
            return Report::skipped(
                "dry-run: the teardown was printed; nothing was written and no command ran",
            );
        }
        self.prefetch_comments(target.pr_number);
        // Every page, not the newest thousand: a deployment left behind keeps the preview
        // listed as active. Reading first spares the writes to those inactive already; the read
        // runs while the teardown command does.
        let read = self
            .client
            .deployment_states(&target.environment, None, Budget::Ordinary);
        let command = async {
            match &self.inputs.teardown_command {
                Some(script) => Some(
                    self.run_command(
                        script,
                        target,
                        "teardown",
                        // No deployment to show phases on, but a script shared with the deploy
                        // (up and down in one file) may still append to `ROLLOUT_PHASE_FILE`:
                        // it gets a file that takes the lines and keeps none.
                        &CommandVars {
                            phase_file: Some(std::path::Path::new("/dev/null")),
                            ..CommandVars::default()
                        },
                    )
                    .await,
                ),
                None => None,
            }
        };
        let (states, finished) = tokio::join!(read, command);
        if let Some(finished) = finished {
            if !finished.outcome.success() {
                let missing = finished.missing(&self.working_dir());
                let (_, detail) = describe_run(&finished, missing.as_ref());
                report.status = if matches!(finished.outcome, Outcome::Cancelled(_)) {
                    "cancelled"
                } else {
                    "failure"
                }
                .into();
                report.signal = match finished.outcome {
                    Outcome::Cancelled(s) => Some(s),
                    _ => None,
                };
                report.detail = format!(
                    "the teardown command failed: {detail}; the deployments stay as they are"
                );
                if let Some(m) = &missing {
                    let told = explain_run(&finished, m, &self.working_dir());
                    report.log_detail = Some(format!(
                        "The teardown command failed, so the deployments stay as they are. {told}"
                    ));
                }
                return report;
            }
        }
        let states = match states {
            Ok(s) => s,
            Err(e) => {
                report.status = "failure".into();
                report.detail = format!(
                    "{}; no deployment was marked inactive",
                    e.explain("Reading the preview's deployments", DEPLOY_PERMISSION)
                );
                return report;
            }
        };
        let mut seen = std::collections::BTreeSet::new();
        let (mut written, mut already) = (0usize, 0usize);
        let todo: Vec<_> = states.nodes.iter().filter(|d| seen.insert(d.id)).collect();
        for (n, d) in todo.iter().enumerate() {
            if d.state.is_inactive() {
                already += 1;
                continue;
            }
            let status = NewStatus::new(
                State::Inactive,
                &format!("Pull request #{} closed", target.pr_number.unwrap_or(0)),
                &report.log_url,
            );
            if let Err(e) = self.client.create_status(d.id, &status).await {
                // The next writes would meet the same refusal; say exactly where it stopped.
                let left = todo[n..].iter().filter(|d| !d.state.is_inactive()).count();
                report.status = "failure".into();
                report.detail = format!(
                    "{written} deployment(s) of {} marked inactive ({already} already were), then {}; {left} deployment(s) are left as they were",
                    target.environment,
                    e.explain(&format!("marking deployment {} inactive", d.id), DEPLOY_PERMISSION)
                );
                return report;
            }
            written += 1;
        }
        report.status = "inactive".into();
        report.detail = format!(
            "{written} deployment(s) of {} marked inactive; {already} already were",
            target.environment
        );
        if self.inputs.delete_environment {
            match self.client.delete_environment(&target.environment).await {
                Ok(()) => report.detail.push_str("; the environment was deleted"),
                Err(e) if matches!(e.status(), Some(403 | 404)) => runtime::warning(&format!(
                    "the environment {} was not deleted: deleting an environment needs a token with admin rights on the repository (GITHUB_TOKEN never has them), GitHub answered {}",
                    target.environment,
                    e.status().unwrap_or(0)
                )),
                Err(e) => runtime::warning(&format!("the environment {} was not deleted: {e}", target.environment)),
            }
        }
        tracing::info!("{}", Untrusted(&report.detail));
        report
    }
}
