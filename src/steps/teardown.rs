//! A closed pull request: its preview torn down. Its parts (the teardown command, marking a
//! preview's deployments inactive, deleting its environment) are shared with `step: sweep`.

use super::{CommandVars, Rollout, DEPLOY_PERMISSION};
use crate::command::{Finished, Outcome};
use crate::github::{Budget, NewStatus, State};
use crate::plan::{Target, Teardown};
use crate::report::Report;
use crate::report::{describe_run, explain_run};
use crate::runtime::{self, Untrusted};

/// Marking a preview's deployments inactive stopped at a refusal: what was done, and why not more.
pub(super) struct Unfinished(pub String);

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
        let (states, finished) = tokio::join!(read, self.teardown_command(target, None));
        if let Some(finished) = finished.filter(|f| !f.outcome.success()) {
            self.teardown_failed(&mut report, &finished);
            return report;
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
        let description = format!("Pull request #{} closed", target.pr_number.unwrap_or(0));
        let nodes: Vec<(u64, bool)> = states
            .nodes
            .iter()
            .map(|d| (d.id, d.state.is_inactive()))
            .collect();
        let marked = self
            .mark_inactive(
                &target.environment,
                &nodes,
                &description,
                &report.log_url,
                None,
            )
            .await;
        let (written, already) = match marked {
            Ok(counts) => counts,
            Err(Unfinished(detail)) => {
                report.status = "failure".into();
                report.detail = detail;
                return report;
            }
        };
        report.status = "inactive".into();
        report.detail = format!(
            "{written} deployment(s) of {} marked inactive; {already} already were",
            target.environment
        );
        if self.inputs.delete_environment {
            match self.delete_preview_environment(&target.environment).await {
                Ok(()) => report.detail.push_str("; the environment was deleted"),
                Err(sentence) => runtime::warning(&sentence),
            }
        }
        tracing::info!("{}", Untrusted(&report.detail));
        report
    }

    /// `teardown-command` for `target`, when there is one. `deployment_id` is the preview's
    /// newest deployment (`ROLLOUT_DEPLOYMENT_ID`), when the run knows it.
    pub(super) async fn teardown_command(
        &self,
        target: &Target,
        deployment_id: Option<u64>,
    ) -> Option<Finished> {
        let script = self.inputs.teardown_command.as_ref()?;
        // No deployment to show phases on, but a script shared with the deploy (up and down
        // in one file) may still append to `ROLLOUT_PHASE_FILE`: it gets a file that takes
        // the lines and keeps none.
        let vars = CommandVars {
            phase_file: Some(std::path::Path::new("/dev/null")),
            deployment_id,
            ..CommandVars::default()
        };
        Some(self.run_command(script, target, "teardown", &vars).await)
    }

    /// A teardown command that failed, in `report`: the deployments stay as they are.
    pub(super) fn teardown_failed(&self, report: &mut Report, finished: &Finished) {
        let missing = finished.missing(&self.working_dir());
        let (_, detail) = describe_run(finished, missing.as_ref());
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
        report.detail =
            format!("the teardown command failed: {detail}; the deployments stay as they are");
        if let Some(m) = &missing {
            let told = explain_run(finished, m, &self.working_dir());
            report.log_detail = Some(format!(
                "The teardown command failed, so the deployments stay as they are. {told}"
            ));
        }
    }

    /// `inactive` on each of `nodes` (id, inactive already) not inactive yet, each once; `before`
    /// paces each write (a sweep's): how many were written and how many already were.
    pub(super) async fn mark_inactive(
        &self,
        environment: &str,
        nodes: &[(u64, bool)],
        description: &str,
        log_url: &str,
        before: Option<&super::sweep::Pacer>,
    ) -> Result<(usize, usize), Unfinished> {
        let mut seen = std::collections::BTreeSet::new();
        let (mut written, mut already) = (0usize, 0usize);
        let todo: Vec<_> = nodes.iter().filter(|(id, _)| seen.insert(*id)).collect();
        for (n, (id, inactive)) in todo.iter().enumerate() {
            if *inactive {
                already += 1;
                continue;
            }
            if let Some(pacer) = before {
                pacer.wait(self.client).await;
            }
            let status = NewStatus::new(State::Inactive, description, log_url);
            if let Err(e) = self.client.create_status(*id, &status).await {
                // The next writes would meet the same refusal; say exactly where it stopped.
                let left = todo[n..].iter().filter(|(_, inactive)| !inactive).count();
                return Err(Unfinished(format!(
                    "{written} deployment(s) of {environment} marked inactive ({already} already were), then {}; {left} deployment(s) are left as they were",
                    e.explain(&format!("marking deployment {id} inactive"), DEPLOY_PERMISSION)
                )));
            }
            written += 1;
        }
        Ok((written, already))
    }

    /// `delete-environment: true`: the environment deleted, or the one sentence why not.
    pub(super) async fn delete_preview_environment(&self, environment: &str) -> Result<(), String> {
        match self.client.delete_environment(environment).await {
            Ok(()) => Ok(()),
            Err(e) if matches!(e.status(), Some(403 | 404)) => Err(format!(
                "the environment {environment} was not deleted: deleting an environment needs a token with admin rights on the repository (GITHUB_TOKEN never has them), GitHub answered {}",
                e.status().unwrap_or(0)
            )),
            Err(e) => Err(format!("the environment {environment} was not deleted: {e}")),
        }
    }
}
