//! The steps of a run, one file each, over one shared context ([`Rollout`]): the only code that
//! sequences I/O. Every deployment created here reaches a final state on every path that
//! rollout survives; the post step covers the rest.
//!
//! - `deploy`: `step: deploy` and `step: start` (create, command, final status, supersede)
//! - `teardown`: a closed pull request's preview
//! - `comment`: the sticky pull request comment
//! - `plan`: what a deploy would do, as outputs, writing nothing
//! - `locking`: `step: lock` and `step: unlock`, and a deploy's read of its environment's lock
//! - `sweep`: `step: sweep`, the previews a teardown missed (reusing `teardown`'s parts)
//! - `finish`, `deactivate`, `post`: the other steps
//! - `changes`: the changed files, from git or the compare API
//! - `verify`: the `verify` command after the deploy's, and `on-failure: rollback`
//! - `delivery`: `step: report` and `rollout report`, the delivery report (reads only)
//!
//! This file holds what several steps share: the final status and running a user command.

mod abandoned;
mod changes;
mod comment;
mod deactivate;
pub mod delivery;
mod deploy;
mod finish;
mod locking;
pub mod offline;
mod planning;
mod post;
mod promote;
mod requires;
mod rollback;
mod sweep;
mod teardown;
mod verify;

pub use abandoned::finish_abandoned;
pub use changes::{find_changes, Api};
pub use deploy::verify_checkout;
pub use locking::frozen_preview;
pub use post::{post, Saved};
pub use rollback::Stopped;
pub use verify::PendingRollback;

use crate::command::{self, Cancel, CommandSpec, Finished};
use crate::event::Event;
use crate::github::{DeploymentClient, NewStatus, State};
use crate::inputs::Inputs;
use crate::phases::StatusBudget;
use crate::plan::{self, SkipKind, Target};
use crate::report::Report;
use crate::runtime::{self, Context, Runtime};
use std::path::PathBuf;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const DEPLOY_PERMISSION: &str = "deployments: write";
const COMMENT_PERMISSION: &str = "pull-requests: write";

/// Everything a step needs; built once by `main`.
pub struct Rollout<'a> {
    pub event: &'a Event,
    pub inputs: &'a Inputs,
    pub context: &'a Context,
    pub client: &'a DeploymentClient,
    pub runtime: &'a Runtime,
    pub cancel: Cancel,
    /// Every deployment this run created, for the post step's state.
    pub created: std::cell::RefCell<Vec<u64>>,
    /// This run's idempotency key, in every deployment's payload: it finds a deployment whose
    /// create answer was lost.
    pub key: String,
    /// A create's answer was lost: a deployment this run did not adopt may surface.
    pub ambiguous: std::cell::Cell<bool>,
    /// `id:state` of every final status posted, for the post step's state.
    pub finals: std::cell::RefCell<Vec<String>>,
    /// The pull request's comments, looked up while the command runs.
    pub comments: std::cell::RefCell<Option<CommentsLookup>>,
    /// The run's clock, read once: what the freeze windows are judged at.
    pub now: jiff::Timestamp,
    /// What is known of each environment's lock, by its lower-cased name.
    pub locks: std::cell::RefCell<std::collections::BTreeMap<String, crate::lock::LockState>>,
    /// The one read of every target's lock, on its way.
    pub lock_read: std::cell::RefCell<Option<locking::LockRead>>,
    /// `on-failure: rollback`: the rollbacks decided as deploys failed, run once every target
    /// has deployed.
    pub rollbacks: std::cell::RefCell<Vec<PendingRollback>>,
}

/// The lookup of a pull request's comments, on its way.
pub type CommentsLookup =
    tokio::task::JoinHandle<Result<Vec<crate::github::Comment>, crate::github::ApiError>>;

/// A key unique to one invocation of rollout.
pub fn run_key(context: &Context) -> String {
    format!(
        "{}-{}-{}-{:016x}",
        context.run_id,
        context.run_attempt,
        context.job,
        rand::random::<u64>()
    )
}

impl Rollout<'_> {
    fn base_report(&self, target: &Target) -> Report {
        Report {
            environment: target.environment.clone(),
            log_url: self.context.log_url(),
            git_ref: target
                .git_ref
                .as_ref()
                .map(|r| r.full().to_string())
                .unwrap_or_default(),
            sha: target.sha.to_string(),
            pr_number: target.pr_number,
            ..Report::default()
        }
    }

    fn skip(&self, kind: SkipKind, reason: String) -> Report {
        skip_report(self.inputs, plan::Skip { kind, reason })
    }

    /// Posts the final status and fills in the report; if the status cannot be posted, the
    /// report says so and fails.
    async fn end(
        &self,
        id: u64,
        report: Report,
        state: State,
        detail: &str,
        url: Option<String>,
    ) -> Report {
        self.end_within(id, report, state, detail, url, &StatusBudget::new(), None)
            .await
    }

    /// [`Self::end`] on a deployment whose statuses `budget` counts: the final status and its
    /// re-send are taken from it, and none is asked for once GitHub would refuse it. `late` is
    /// a phase status still on the wire: once it is done, the final status goes again so that
    /// it stays the last.
    #[allow(clippy::too_many_arguments)]
    async fn end_within(
        &self,
        id: u64,
        mut report: Report,
        state: State,
        detail: &str,
        url: Option<String>,
        budget: &StatusBudget,
        late: Option<tokio::task::JoinHandle<()>>,
    ) -> Report {
        report.deployment_id = Some(id);
        report.detail = detail.to_string();
        if let Some(u) = &url {
            report.environment_url = u.clone();
        }
        let status = NewStatus::new(state, detail, &report.log_url).with_environment_url(url);
        if report.status.is_empty() {
            report.status = match state {
                State::Success => "success",
                State::Failure => "failure",
                State::Inactive => "inactive",
                _ => "error",
            }
            .into();
        }
        if !budget.take_final() {
            report.status = "error".into();
            report.signal = None;
            report.detail = format!(
                "{detail}; and the final status of deployment {id} was not posted: the deployment has {} statuses, GitHub's limit",
                StatusBudget::GITHUB_LIMIT
            );
            return report;
        }
        if let Err(e) = self.client.create_status(id, &status).await {
            // A lost answer is not a refusal: the status may be there. Asked once before the
            // run says either.
            let landed = if e.is_ambiguous() {
                self.client.landed(id, &status).await
            } else {
                Some(false)
            };
            match landed {
                Some(true) => tracing::info!(
                    "deployment {id}: the final status's answer was lost ({}), but GitHub shows it posted",
                    e.cause()
                ),
                seen => {
                    // Not shown, but maybe still on its way: the post step posts this state
                    // again if the deployment is not final by then.
                    let again = if e.is_ambiguous() {
                        self.record_final(id, state);
                        "; the post step posts it again"
                    } else {
                        ""
                    };
                    let unanswered = matches!(
                        e,
                        crate::github::ApiError::Transport { .. }
                            | crate::github::ApiError::Cancelled { .. }
                    );
                    report.status = "error".into();
                    report.signal = None;
                    report.detail = match seen {
                        None => format!(
                            "{detail}; and whether the final status of deployment {id} was posted is unknown: it was sent, the answer was lost ({}), and reading it back failed too{again}",
                            e.cause()
                        ),
                        Some(_) if unanswered => format!(
                            "{detail}; and the final status of deployment {id} was sent, but GitHub gave no answer ({}) and does not show it yet{again}",
                            e.cause()
                        ),
                        Some(_) => format!(
                            "{detail}; and the final status of deployment {id} could not be posted: {}{again}",
                            e.explain("Posting the final status", DEPLOY_PERMISSION)
                        ),
                    };
                    return report;
                }
            }
        }
        self.record_final(id, state);
        let mut again = false;
        if let Some(late) = late {
            again = self.settle_late_phase(id, late).await;
        }
        if self.client.has_overtaken_writes() {
            // A write the cancel stopped waiting for may land after the final status: once it
            // answered (or was given up), the final status goes again, so it stays the last.
            // Within the runner's window: it kills the container 10 s after its first signal.
            self.client
                .settle_overtaken(std::time::Duration::from_secs(5))
                .await;
            again = true;
        }
        if again && !budget.take_final() {
            tracing::warn!(
                "deployment {id}: an earlier status may have landed after the final one, but posting the final status again would exceed GitHub's limit of {} statuses",
                StatusBudget::GITHUB_LIMIT
            );
        } else if again {
            match self.client.create_status(id, &status).await {
                Ok(()) => tracing::info!(
                    "deployment {id}: the final status was posted again after an earlier status write that was still on the wire when it went"
                ),
                Err(e) => tracing::warn!(
                    "deployment {id}: could not post the final status again after an earlier write: {e}"
                ),
            }
        }
        report
    }

    /// Waits a bounded time for a phase status that was still on the wire when the final status
    /// went; `true` when it is done, so the final status must go again to stay the last. One
    /// still going is dropped: the post step finds the deployment not final and posts it again.
    async fn settle_late_phase(&self, id: u64, late: tokio::task::JoinHandle<()>) -> bool {
        // The cancel's wait is the runner's real 10 s window, never scaled.
        let wait = if self.cancel.signal().is_some() {
            crate::phases::AWAIT_ON_CANCEL
        } else {
            crate::phases::AWAIT_ON_END.mul_f64(self.client.time_scale())
        };
        if tokio::time::timeout(wait, late).await.is_ok() {
            return true;
        }
        tracing::warn!(
            "deployment {id}: a phase status got no answer in {}s after the final status; the post step posts the final status again if it landed last",
            wait.as_secs()
        );
        false
    }

    /// The post step's record of each final status posted, so it can post it again if an
    /// earlier write landed after it.
    fn record_final(&self, id: u64, state: State) {
        let all = {
            let mut finals = self.finals.borrow_mut();
            finals.push(format!("{id}:{}", state.as_str()));
            finals.join(",")
        };
        if let Err(e) = self.runtime.save_state("deployment-finals", &all) {
            tracing::warn!("could not save the final statuses for the post step: {e}");
        }
    }

    /// Whether a newer run marked deployment `id` inactive, which a final status must not undo:
    /// `Some` with the newer deployment, which its status names (`None` in it when it does not).
    /// Any `inactive` among its statuses counts, not only the latest: the deploy step reads them
    /// while its own final status is on the way, and that one may land first. rollout's own runs
    /// never mark their deployment inactive before its final status. A failed read counts as
    /// not superseded: the final status is posted then.
    async fn superseded(&self, id: u64) -> Option<Option<u64>> {
        let statuses = self.client.statuses(id, 100).await.ok()?;
        let inactive = statuses.into_iter().find(|s| s.state == State::Inactive)?;
        Some(
            inactive
                .description
                .as_deref()
                .and_then(crate::github::superseded_by),
        )
    }

    /// Runs a user command in a log group with the environment of CONTRACT.md: the container's,
    /// minus the token's copies (it goes in as `GITHUB_TOKEN` only with `pass-token`), plus the
    /// `ROLLOUT_*` variables and git trusting the workspace.
    async fn run_command(
        &self,
        script: &str,
        target: &Target,
        task: &str,
        vars: &CommandVars<'_>,
    ) -> Finished {
        let spec = self.command_spec(script, target, task, vars);
        self.run_spec(&spec, &format!("rollout: {task} ({})", target.environment))
            .await
    }

    /// What [`Self::run_command`] runs: the script in `working-directory` with the environment of
    /// CONTRACT.md and `timeout`.
    fn command_spec(
        &self,
        script: &str,
        target: &Target,
        task: &str,
        vars: &CommandVars<'_>,
    ) -> CommandSpec {
        let mut set = vars.environment(target, task);
        set.extend(self.git_trust());
        if let (Some(token), true) = (&self.inputs.token, self.inputs.pass_token) {
            set.push(("GITHUB_TOKEN".to_string(), token.expose().to_string()));
        }
        CommandSpec {
            script: script.to_string(),
            dir: self.working_dir(),
            set,
            remove: self.token_variables(),
            timeout: self.inputs.timeout,
        }
    }

    /// Runs `spec` in a log group titled `title`, stopped by the run's cancel.
    async fn run_spec(&self, spec: &CommandSpec, title: &str) -> Finished {
        runtime::group(title);
        let mut cancel = self.cancel.clone();
        let result = command::run(spec, &mut cancel).await;
        runtime::end_group();
        result
    }

    fn working_dir(&self) -> PathBuf {
        working_dir(self.inputs, self.context)
    }

    /// The runner's copies of the token input, kept from the command: `INPUT_TOKEN`, and the bare
    /// `token` that act also exports for every input. A bare `token` holding something else is
    /// not that copy but the user's own variable, and stays; so do `GH_TOKEN`, `GITHUB_TOKEN` and
    /// any other variable the user set on the step: passing those is their choice.
    fn token_variables(&self) -> Vec<String> {
        let mut remove = vec!["INPUT_TOKEN".to_string()];
        let is_the_token = |value: &str| {
            self.inputs
                .token
                .as_ref()
                .is_some_and(|t| value.trim() == t.expose())
        };
        if std::env::var("token").is_ok_and(|v| is_the_token(&v)) {
            remove.push("token".to_string());
        }
        remove
    }

    /// git in the user's command trusts the workspace although another user owns it; passed as
    /// `GIT_CONFIG_*` so no file is edited. Entries the runner already set are kept.
    fn git_trust(&self) -> Vec<(String, String)> {
        let n: usize = std::env::var("GIT_CONFIG_COUNT")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        vec![
            ("GIT_CONFIG_COUNT".into(), (n + 1).to_string()),
            (format!("GIT_CONFIG_KEY_{n}"), "safe.directory".into()),
            (
                format!("GIT_CONFIG_VALUE_{n}"),
                self.context.workspace.display().to_string(),
            ),
        ]
    }
}

/// What a deploy hands its command beside the target: the `ROLLOUT_*` variables that only a
/// deployment has (a teardown has none of them).
#[derive(Default)]
pub(super) struct CommandVars<'a> {
    pub deployment_id: Option<u64>,
    pub git_ref: Option<&'a str>,
    pub changed_files: Option<&'a std::path::Path>,
    pub url_file: Option<&'a std::path::Path>,
    /// `step: rollback`: the commit rolled back from.
    pub rollback_from_sha: Option<&'a str>,
    /// `step: rollback`: a file holding the target deployment's payload.
    pub rollback_payload: Option<&'a std::path::Path>,
    /// Where the command appends the phase it enters.
    pub phase_file: Option<&'a std::path::Path>,
    /// What the deploy ships (`artifact`, or the one a rollback's target or a promotion's source
    /// recorded).
    pub artifact: Option<&'a str>,
    /// `step: promote`: the source environment.
    pub promoted_from: Option<&'a str>,
    /// `step: promote`: a file holding the source deployment's payload.
    pub promote_payload: Option<&'a std::path::Path>,
}

impl CommandVars<'_> {
    /// Every `ROLLOUT_*` variable of CONTRACT.md ("The command's environment"), in one place.
    fn environment(&self, target: &Target, task: &str) -> Vec<(String, String)> {
        let mut set = vec![
            ("ROLLOUT_ENVIRONMENT", target.environment.clone()),
            ("ROLLOUT_SHA", target.sha.to_string()),
            ("ROLLOUT_TASK", task.to_string()),
        ];
        let optional = [
            ("ROLLOUT_PR_NUMBER", target.pr_number.map(|n| n.to_string())),
            ("ROLLOUT_TARGET", target.unit.clone()),
            (
                "ROLLOUT_DEPLOYMENT_ID",
                self.deployment_id.map(|id| id.to_string()),
            ),
            ("ROLLOUT_REF", self.git_ref.map(str::to_string)),
            (
                "ROLLOUT_CHANGED_FILES",
                self.changed_files.map(|p| p.display().to_string()),
            ),
            (
                "ROLLOUT_URL_FILE",
                self.url_file.map(|p| p.display().to_string()),
            ),
            (
                "ROLLOUT_PHASE_FILE",
                self.phase_file.map(|p| p.display().to_string()),
            ),
            (
                "ROLLOUT_ROLLBACK_FROM_SHA",
                self.rollback_from_sha.map(str::to_string),
            ),
            (
                "ROLLOUT_ROLLBACK_PAYLOAD",
                self.rollback_payload.map(|p| p.display().to_string()),
            ),
            ("ROLLOUT_ARTIFACT", self.artifact.map(str::to_string)),
            (
                "ROLLOUT_PROMOTED_FROM",
                self.promoted_from.map(str::to_string),
            ),
            (
                "ROLLOUT_PROMOTE_PAYLOAD",
                self.promote_payload.map(|p| p.display().to_string()),
            ),
        ];
        set.extend(optional.into_iter().filter_map(|(k, v)| Some((k, v?))));
        set.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

/// Where commands run: `working-directory`, relative to the workspace.
pub fn working_dir(inputs: &Inputs, context: &Context) -> PathBuf {
    match &inputs.working_directory {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => context.workspace.join(d),
        None => context.workspace.clone(),
    }
}

/// `working-directory` names a folder that exists, checked before any request: a deploy that
/// cannot start its command must not create a deployment first.
pub fn check_working_dir(inputs: &Inputs, context: &Context) -> Result<(), String> {
    let Some(written) = &inputs.working_directory else {
        return Ok(());
    };
    let dir = working_dir(inputs, context);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(format!(
            "input `working-directory` ({}) is {}, which is a file, not a folder; name the folder the command runs in, relative to the workspace",
            written.display(),
            dir.display()
        )),
        Err(_) => Err(format!(
            "input `working-directory` ({}) names {}, which does not exist; name a folder of the checkout, relative to the workspace (check the checkout step's `path:`)",
            written.display(),
            dir.display()
        )),
    }
}

/// A skip as a report: a notice (a warning when refused for safety), or a failure when the token
/// is read-only and `fail-on-read-only` is set.
pub fn skip_report(inputs: &Inputs, skip: plan::Skip) -> Report {
    let (kind, reason) = (skip.kind, skip.reason);
    match kind {
        SkipKind::ReadOnlyToken if inputs.fail_on_read_only => {
            let detail = format!("{reason} (`fail-on-read-only` is set)");
            runtime::error(&detail);
            return Report {
                status: "failure".into(),
                detail,
                ..Report::default()
            };
        }
        SkipKind::Refused => runtime::warning(&format!("skipped: {reason}")),
        // The closing `::error::` says it once.
        // Only a freeze window is decided with the plan; a lock is read with the create.
        SkipKind::Blocked => {
            return Report {
                status: "blocked".into(),
                detail: reason,
                blocked_by: Some("a freeze window".into()),
                ..Report::default()
            }
        }
        _ => runtime::notice(&format!("skipped: {reason}")),
    }
    Report::skipped(reason)
}

/// "a newer deployment 12", or without its id when its status did not name it.
fn newer_deployment(by: Option<u64>) -> String {
    match by {
        Some(n) => format!("a newer deployment {n}"),
        None => "a newer deployment".to_string(),
    }
}

/// The first line of the URL file, if it holds an http(s) URL.
fn read_url(path: &std::path::Path) -> Option<String> {
    // The command owns the file: a FIFO or a device in its place is not waited on, and only the
    // start of a huge file is read (a URL is one line).
    let bytes = match crate::regular::read_start(path, 64 * 1024) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!("ignoring ROLLOUT_URL_FILE: {e}");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    let url = text.lines().next()?.trim().to_string();
    if url.starts_with("https://") || url.starts_with("http://") {
        Some(url)
    } else {
        if !url.is_empty() {
            tracing::warn!("ignoring the URL the command wrote to ROLLOUT_URL_FILE: it does not start with http:// or https://");
        }
        None
    }
}
