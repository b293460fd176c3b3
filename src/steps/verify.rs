//! `verify` and `on-failure: rollback`: the check run after a deploy's command, and the
//! automatic rollback of a deploy whose command or check failed. The rollback itself is
//! `step: rollback`'s: its lock reading, `rollback::deploy`, the checkout and [`Rollout::run_deploy`].
//!
//! The order of a failed deploy's writes: the history and lock read (one GraphQL request, so
//! that the failed deployment's final status can name what comes next), that final status
//! (`Failed in Verifying: exit 1; rolling back to abc1234`), and once every target has deployed,
//! the checkout of the target commit, the rollback deployment with its command, verify and
//! statuses, and the run's own commit checked out again.

use super::rollback::HISTORY_PERMISSION;
use super::{read_url, working_dir, CommandVars, Rollout};
use crate::checkout;
use crate::command::{Finished, Outcome};
use crate::github::State;
use crate::history::HistoryEntry;
use crate::inputs::OnFailure;
use crate::lock::LockVerdict;
use crate::phases::{self, PhaseRecord};
use crate::plan::Deploy;
use crate::report::{describe_run, explain_run, Report, RolledBack};
use crate::rollback::{self, Choice, RollbackTo};
use crate::runtime::{self, Untrusted};
use crate::verify::{self, PHASE};
use serde_json::json;
use std::path::Path;

/// What the deploy's command and its `verify` did; `verify` is `None` when it did not run (no
/// `verify` input, or the command did not exit 0).
pub(super) struct Checked {
    pub command: Finished,
    pub verify: Option<Finished>,
}

/// How a deploy ended, as its final status and the log say it.
pub(super) struct Judged {
    pub state: State,
    /// The final status's description.
    pub detail: String,
    /// The job log's sentence (it may name what the shell could not find).
    pub told: String,
    /// `failure` or `cancelled` for the report, `None` when it succeeded.
    pub status: Option<&'static str>,
    pub signal: Option<i32>,
    /// The phase a failure happened in, and how it ended in a few words (`exit 1`).
    pub failed_in: Option<(String, String)>,
}

/// An automatic rollback decided when a deploy failed, run once every target has deployed.
pub struct PendingRollback {
    /// The failed deployment.
    failed: u64,
    /// The rollback's deploy: the target's commit, task and payload keys.
    deploy: Deploy,
    choice: Choice,
}

impl Checked {
    /// How long the command and the check took together.
    pub fn took(&self) -> std::time::Duration {
        self.command.took
            + self
                .verify
                .as_ref()
                .map_or(std::time::Duration::ZERO, |v| v.took)
    }
}

impl Rollout<'_> {
    /// The deploy's command, then (when it exited 0 and the run is not cancelled) `verify` with
    /// the command's environment plus `ROLLOUT_ENVIRONMENT_URL`, bounded by `verify-timeout`.
    /// `Verifying` goes into the phase file first, so the phase poster shows it beside the run.
    pub(super) async fn command_then_verify(
        &self,
        d: &Deploy,
        vars: &CommandVars<'_>,
        url_file: &Path,
    ) -> Checked {
        let script = self.inputs.command.clone().unwrap_or_default();
        let command = self.run_command(&script, &d.target, &d.task, vars).await;
        let check = match &self.inputs.verify.command {
            Some(check) if command.outcome == Outcome::Exited(0) => check,
            _ => {
                return Checked {
                    command,
                    verify: None,
                }
            }
        };
        if self.cancel.signal().is_some() {
            return Checked {
                command,
                verify: None,
            };
        }
        if let Some(file) = vars.phase_file {
            append_line(file, PHASE);
        }
        let url = read_url(url_file)
            .or_else(|| d.environment_url.clone())
            .unwrap_or_default();
        let mut spec = self.command_spec(check, &d.target, &d.task, vars);
        spec.timeout = Some(self.inputs.verify.timeout);
        spec.set.push(("ROLLOUT_ENVIRONMENT_URL".into(), url));
        let title = format!("rollout: verify ({})", d.target.environment);
        let verified = self.run_spec(&spec, &title).await;
        Checked {
            command,
            verify: Some(verified),
        }
    }

    /// The final state and the sentences of a deploy's run: a failed verify is `Failed in
    /// Verifying: exit N` (or `timed out after 10m`); a failed command names the phase it was in.
    pub(super) fn judge(&self, checked: &Checked, record: &PhaseRecord) -> Judged {
        let failed_verify = checked
            .verify
            .as_ref()
            .filter(|v| v.outcome != Outcome::Exited(0));
        let (finished, phase, words, who) = match failed_verify {
            Some(v) => (
                v.clone(),
                Some(PHASE),
                verify::outcome_words(&v.outcome),
                "The verify command",
            ),
            None => (
                Finished {
                    took: checked.took(),
                    ..checked.command.clone()
                },
                record.ended_in(),
                phases::outcome_words(&checked.command.outcome),
                "The command",
            ),
        };
        let dir = self.working_dir();
        let missing = finished.missing(&dir);
        let (state, said) = describe_run(&finished, missing.as_ref());
        let said = said.replacen("The command", who, 1);
        // The verify's own limit is `verify-timeout`, not the command's `timeout`.
        let said = if who == "The command" {
            said
        } else {
            said.replacen("`timeout`", "`verify-timeout`", 1)
        };
        // A cancel or a command that never started did not fail in a phase.
        let failed_in = phase
            .filter(|_| state == State::Failure)
            .map(|p| (p.to_string(), words));
        let detail = match (&failed_in, phase, &finished.outcome) {
            (Some((phase, words)), _, _) => phases::failed_in(phase, words),
            // A cancel names the phase it stopped: "Cancelled in Building image: SIGINT after 12s".
            (None, Some(phase), Outcome::Cancelled(sig)) => phases::cancelled_in(
                phase,
                &format!(
                    "{} after {}s",
                    crate::command::signal_name(*sig),
                    crate::text::round_secs(finished.took)
                ),
            ),
            _ => said.clone(),
        };
        let told = match &missing {
            Some(m) => explain_run(&finished, m, &dir).replacen("The command", who, 1),
            None => said,
        };
        let told = match &failed_in {
            Some((phase, _)) => format!("Failed in {phase}: {}", super::deploy::lower_first(&told)),
            None => told,
        };
        let (status, signal) = match finished.outcome {
            Outcome::Cancelled(sig) => (Some("cancelled"), Some(sig)),
            Outcome::Exited(0) => (None, None),
            _ => (Some("failure"), None),
        };
        Judged {
            state,
            detail,
            told,
            status,
            signal,
            failed_in,
        }
    }

    /// Before a failed deploy's final status: whether `on-failure: rollback` rolls it back, and
    /// the final status's description. A rollback, a preview, a cancelled run and `on-failure:
    /// stop` never do. When it does, the rollback is kept for [`Self::roll_back_failed`] and the
    /// description names what comes next; when it cannot, the report says why.
    pub(super) async fn next_after_failure(
        &self,
        d: &Deploy,
        id: u64,
        judged: &Judged,
        report: &mut Report,
    ) -> String {
        let wanted = judged.state == State::Failure
            && self.inputs.verify.on_failure == OnFailure::Rollback
            && d.rollback.is_none()
            && d.target.pr_number.is_none()
            && self.cancel.signal().is_none();
        if !wanted {
            return judged.detail.clone();
        }
        match self.decide_rollback(d, id).await {
            Ok(pending) => {
                let next = verify::rolling_back_to(&pending.choice);
                tracing::info!(
                    "deployment {id} failed and `on-failure: rollback` is set: {}",
                    Untrusted(&pending.choice_sentence())
                );
                self.rollbacks.borrow_mut().push(pending);
                let (phase, words) = judged
                    .failed_in
                    .as_ref()
                    .map(|(p, w)| (Some(p.as_str()), w.as_str()))
                    .unwrap_or((None, ""));
                verify::then(phase, words, &judged.detail, &next)
            }
            Err(why) => {
                tracing::info!("deployment {id}: {}", Untrusted(&why));
                report.rolled_back = Some(RolledBack {
                    deployment_id: None,
                    sentence: why,
                });
                judged.detail.clone()
            }
        }
    }

    /// The one GraphQL read (history and lock) and the decision: `Err` is the sentence saying
    /// why the environment is not rolled back.
    async fn decide_rollback(&self, d: &Deploy, id: u64) -> Result<PendingRollback, String> {
        let environment = &d.target.environment;
        let lock_ref = format!("refs/heads/{}", crate::lock::ref_name(environment));
        let history = self
            .client
            .rollback_history(environment, &lock_ref, |read| {
                RollbackTo::Previous.decided_by(read)
            })
            .await
            .map_err(|e| {
                format!(
                    "not rolled back: {}",
                    e.explain(
                        &format!("Reading the deployments of {environment}"),
                        HISTORY_PERMISSION
                    )
                )
            })?;
        // The lock as it is now (the command ran meanwhile), judged as the deploy's was: its
        // holder rolls back through it, anyone else's stops the rollback.
        self.know_lock(
            environment,
            super::locking::lock_state_of(environment, history.lock.as_ref()),
        );
        match self.lock_verdict(&d.locks, "rolling back").await {
            LockVerdict::Held { sentence, .. } | LockVerdict::Unreadable(sentence) => {
                return Err(format!("not rolled back: {sentence}"))
            }
            LockVerdict::Go { .. } => {}
        }
        let failed = HistoryEntry {
            id,
            sha: d.target.sha.clone(),
            task: d.task.clone(),
            payload: json!({}),
            created_at: String::new(),
            statuses: vec!["in_progress".into(), "failure".into()],
            latest_state: "failure".into(),
            rollback_from: None,
            creator: String::new(),
            log_url: String::new(),
        };
        let choice = verify::choose(environment, &history.entries, history.truncated, &failed)
            .map_err(|no| format!("not rolled back: {no}"))?;
        checkout::has_commit(&working_dir(self.inputs, self.context), &choice.to.sha)
            .map_err(|why| format!("not rolled back: {why}"))?;
        let mut deploy = rollback::deploy(&d.target, &choice, self.inputs);
        if let Some(of) = deploy.rollback.as_mut() {
            of.automatic = true;
        }
        // ARTIFACT HOOK: when the `artifact` input lands (promotion), the target deployment's
        // recorded artifact (`choice.to.payload`) is what the rollback's command gets as
        // `ROLLOUT_ARTIFACT`: set it on `deploy` here, as `step: rollback` does.
        Ok(PendingRollback {
            failed: id,
            deploy,
            choice,
        })
    }

    /// Runs the rollback decided for `report`'s failed deployment, if any: checks the target's
    /// commit out (discarding the failed deploy's changes to tracked files), deploys it (command,
    /// verify, statuses), and checks the run's own commit out again before anything else runs.
    /// The report stays the failed deployment's (`failure`, exit 1), with the rollback beside it.
    pub(super) async fn roll_back_failed(&self, report: &mut Report) {
        let pending = {
            let mut all = self.rollbacks.borrow_mut();
            let Some(i) = all
                .iter()
                .position(|p| Some(p.failed) == report.deployment_id)
            else {
                return;
            };
            all.remove(i)
        };
        let short = pending.choice.to.sha.short().to_string();
        if let Some(sig) = self.cancel.signal() {
            return note(
                report,
                None,
                format!(
                    "not rolled back: the run was cancelled (by {}) first",
                    crate::command::signal_name(sig)
                ),
            );
        }
        let dir = working_dir(self.inputs, self.context);
        let detached = match checkout::detach_discarding(&dir, &pending.choice.to.sha) {
            Ok(detached) => detached,
            Err(why) => return note(report, None, format!("not rolled back: {why}")),
        };
        tracing::info!(
            "checked {} out (detached) in {} for the rollback, discarding what the failed deploy changed in tracked files",
            pending.choice.to.sha,
            detached.repository.display()
        );
        self.announce(&pending.deploy);
        let rollback = self.run_deploy(&pending.deploy, None, true).await;
        match checkout::restore(&detached) {
            Ok(()) => tracing::info!(
                "checked the run's own commit {} out again",
                detached.previous_head
            ),
            Err(why) => runtime::warning(&why),
        }
        let to = format!("{short} (deployment {})", pending.choice.to.id);
        let sentence = match rollback.status.as_str() {
            // A superseded rollback did deploy.
            "success" | "inactive" => format!("rolled back to {to}"),
            "cancelled" => {
                report.signal = rollback.signal;
                report.exit = Some(rollback.exit_code());
                format!("the rollback to {to} was cancelled: {}", rollback.detail)
            }
            _ => format!(
                "the rollback to {to} failed too, and is not rolled back itself: {}",
                rollback.detail
            ),
        };
        note(report, rollback.deployment_id, sentence);
    }
}

impl PendingRollback {
    /// Whether this is the rollback of the failed deployment `id`.
    pub(super) fn is_of(&self, id: u64) -> bool {
        self.failed == id
    }

    fn choice_sentence(&self) -> String {
        format!(
            "rolling back to {} (deployment {}), its newest earlier deployment that reached success",
            self.choice.to.sha.short(),
            self.choice.to.id
        )
    }
}

/// The failed deployment's report with its rollback (or why there was none) beside it: the
/// detail and the log say what failed and what was put back.
pub(super) fn note(report: &mut Report, deployment_id: Option<u64>, sentence: String) {
    report.detail = format!("{}; {sentence}", failure_part(&report.detail));
    if let Some(log) = report.log_detail.as_mut() {
        *log = format!("{}; {sentence}", failure_part(log));
    }
    report.rolled_back = Some(RolledBack {
        deployment_id,
        sentence,
    });
}

/// A final status's description without the `; rolling back to ...` it named next.
fn failure_part(detail: &str) -> &str {
    detail
        .rfind("; rolling back to ")
        .map_or(detail, |i| &detail[..i])
}

/// Appends `line` to the phase file, as a command would.
fn append_line(path: &Path, line: &str) {
    use std::io::Write;
    let written = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        tracing::debug!("could not write the phase `{line}` to the phase file: {e}");
    }
}
