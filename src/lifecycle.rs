//! Runs a plan with the adapters: the one place that sequences I/O. Every deployment created here
//! reaches a final state on every path that rollout survives; the post step covers the rest.

use crate::changes::{self, Basis, Local};
use crate::checkout;
use crate::command::{self, Cancel, CommandSpec, Finished, Missing, Outcome};
use crate::event::{Event, Trigger};
use crate::github::{ApiError, DeploymentClient, NewDeployment, NewStatus, State};
use crate::inputs::{Inputs, JobStatus, Since};
use crate::plan::{self, Changes, Deploy, Plan, SkipKind, Target, Teardown};
use crate::report::{self, Report};
use crate::runtime::{self, Runtime, Untrusted};
use crate::text::Description;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::time::Duration;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");
const DEPLOY_PERMISSION: &str = "deployments: write";
const COMMENT_PERMISSION: &str = "pull-requests: write";
/// The compare API lists at most 300 files: that many means the list was cut.
const COMPARE_LIMIT: usize = 300;

/// What the runner tells about the run, read once from `GITHUB_*` and `RUNNER_*`.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub repository: String,
    pub server_url: String,
    pub api_url: String,
    pub run_id: String,
    pub run_attempt: String,
    pub job: String,
    pub runner_name: String,
    pub workspace: PathBuf,
    pub actor: String,
    /// `GITHUB_SHA`: on `pull_request`, GitHub's test-merge commit.
    pub sha: String,
}

impl Context {
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Context {
        let var = |name: &str| get(name).unwrap_or_default();
        Context {
            repository: var("GITHUB_REPOSITORY"),
            // No default host: GitHub Enterprise has its own, and a wrong link is worse than none.
            server_url: var("GITHUB_SERVER_URL"),
            api_url: var("GITHUB_API_URL"),
            run_id: var("GITHUB_RUN_ID"),
            run_attempt: get("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into()),
            job: var("GITHUB_JOB"),
            runner_name: var("RUNNER_NAME"),
            workspace: get("GITHUB_WORKSPACE")
                .map(PathBuf::from)
                .or_else(|| std::env::current_dir().ok())
                .unwrap_or_else(|| PathBuf::from(".")),
            actor: var("GITHUB_ACTOR"),
            sha: var("GITHUB_SHA"),
        }
    }

    /// The run attempt's page, on this server (GitHub Enterprise has its own host).
    pub fn log_url(&self) -> String {
        if self.server_url.is_empty() || self.repository.is_empty() || self.run_id.is_empty() {
            return String::new();
        }
        format!(
            "{}/{}/actions/runs/{}/attempts/{}",
            self.server_url.trim_end_matches('/'),
            self.repository,
            self.run_id,
            self.run_attempt
        )
    }
}

/// Everything a step needs; built once by `main`.
pub struct Rollout<'a> {
    pub event: &'a Event,
    pub inputs: &'a Inputs,
    pub context: &'a Context,
    pub client: &'a DeploymentClient,
    pub runtime: &'a Runtime,
    pub cancel: Cancel,
}

/// Whether [`find_changes`] may ask the API, and if not, why not: the reason is part of what the
/// log says, and a sentence about `rollout plan` has no place in a real run's log.
#[derive(Clone, Copy)]
pub enum Api<'a> {
    Client(&'a DeploymentClient),
    /// `rollout plan`: it makes no API call.
    Plan,
    /// A real run whose changed files only fill `ROLLOUT_CHANGED_FILES`: not worth a request.
    NotNeeded,
}

impl<'a> Api<'a> {
    fn client(self) -> Option<&'a DeploymentClient> {
        match self {
            Api::Client(c) => Some(c),
            Api::Plan | Api::NotNeeded => None,
        }
    }

    /// Why the API is not asked, finishing a sentence.
    fn not_asked(self) -> &'static str {
        match self {
            Api::Plan => "`rollout plan` makes no API call",
            Api::NotNeeded | Api::Client(_) => {
                "neither `paths` nor `tasks` needs the changed files, so the API is not asked"
            }
        }
    }
}

/// The changed files for `target`, from local git, else the compare API (when `api` allows),
/// else everything with the reason.
pub async fn find_changes(
    event: &Event,
    inputs: &Inputs,
    workspace: &std::path::Path,
    environment: &str,
    api: Api<'_>,
) -> Changes {
    let basis = match (inputs.since, api.client()) {
        (Since::LastDeployment, Some(client)) => {
            let last = last_successful_sha(client, environment).await;
            match (last, plan_head(event)) {
                (Ok(Some(base)), Some(head)) if base == *head => {
                    return Changes::Files {
                        files: Vec::new(),
                        source: format!(
                            "the last successful deployment of {environment} is this commit"
                        ),
                    }
                }
                (Ok(Some(base)), Some(head)) => Basis::Trees {
                    why: format!(
                        "since {}, the last successful deployment of {environment}",
                        base.short()
                    ),
                    base,
                    head: head.clone(),
                },
                (Ok(Some(_)), None) => changes::event_basis(event),
                (Ok(None), _) => Basis::None {
                    why: format!("{environment} has no successful deployment yet"),
                },
                (Err(e), _) => Basis::None {
                    why: format!("the last deployment could not be read ({e})"),
                },
            }
        }
        (Since::LastDeployment, None) => Basis::None {
            why: format!(
                "`since: last-deployment` needs the last deployment from the API, and {}",
                api.not_asked()
            ),
        },
        (Since::Event, _) => changes::event_basis(event),
    };
    let local = match changes::open(workspace) {
        Ok(repo) => changes::local(&repo, &basis),
        Err(e) => Local::Missing(e),
    };
    let missing = match local {
        Local::Files(files) => {
            let why = match &basis {
                Basis::Trees { why, .. } | Basis::MergeBase { why, .. } | Basis::None { why } => {
                    why
                }
            };
            return Changes::Files {
                files,
                source: format!("{why}, from local git"),
            };
        }
        Local::Missing(reason) => reason,
    };
    let (base, head) = match &basis {
        Basis::None { why } => {
            return Changes::Everything {
                reason: why.clone(),
            }
        }
        Basis::Trees { base, head, .. } => {
            if matches!(event.trigger, Trigger::Push { forced: true, .. }) {
                return Changes::Everything {
                    reason: format!("a force push, and {missing}: a compare from the merge base would miss the discarded commits"),
                };
            }
            (base.as_str().to_string(), head.clone())
        }
        Basis::MergeBase { base, head, .. } => (base.clone(), head.clone()),
    };
    let Some(client) = api.client() else {
        return Changes::Everything {
            reason: format!(
                "{missing}; the compare API would tell, but {}",
                api.not_asked()
            ),
        };
    };
    tracing::info!("{missing}; asking the compare API");
    match client.compare(&base, head.as_str()).await {
        Ok(c) if c.files.len() >= COMPARE_LIMIT => Changes::Everything {
            reason: format!(
                "the compare API listed {} files, its limit, so the list is cut",
                c.files.len()
            ),
        },
        Ok(c) => {
            let mut files: Vec<String> = c
                .files
                .into_iter()
                .flat_map(|f| std::iter::once(f.filename).chain(f.previous_filename))
                .collect();
            files.sort();
            files.dedup();
            Changes::Files {
                files,
                source: format!("compare API {}...{}", Untrusted(&base), head.short()),
            }
        }
        Err(e) => Changes::Everything {
            reason: format!(
                "{missing}, and the compare API failed ({})",
                e.explain("the compare", "contents: read")
            ),
        },
    }
}

fn plan_head(event: &Event) -> Option<&crate::event::Sha> {
    match &event.trigger {
        Trigger::Push { sha, .. }
        | Trigger::Dispatch { sha, .. }
        | Trigger::WorkflowRun { sha, .. } => Some(sha),
        Trigger::PullRequest(pr) => Some(&pr.head_sha),
        Trigger::Unhandled => None,
    }
}

/// The sha of the newest deployment of `environment` whose latest status is success.
async fn last_successful_sha(
    client: &DeploymentClient,
    environment: &str,
) -> Result<Option<crate::event::Sha>, ApiError> {
    let deployments = client.list_deployments(Some(environment), None, 1).await?;
    for d in deployments.iter().take(30) {
        if let Some(status) = client.latest_status(d.id).await? {
            if status.state == State::Success {
                return Ok(crate::event::Sha::parse(&d.sha));
            }
        }
    }
    Ok(None)
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

    /// `step: deploy` and `step: start`.
    pub async fn deploy(&self, run_command: bool) -> Report {
        let (target, teardown) = match plan::target(self.event, self.inputs) {
            Ok(t) => t,
            Err(skip) => return self.skip(skip.kind, skip.reason),
        };
        // A closed PR's head may be gone: nothing about it is looked up.
        let changes = if !teardown && (plan::needs_changes(self.inputs) || run_command) {
            let api = if plan::needs_changes(self.inputs) {
                Api::Client(self.client)
            } else {
                Api::NotNeeded
            };
            Some(
                find_changes(
                    self.event,
                    self.inputs,
                    &self.context.workspace,
                    &target.environment,
                    api,
                )
                .await,
            )
        } else {
            None
        };
        let plan = match (teardown, &changes) {
            (true, _) => Plan::Teardown(Teardown { target }),
            (false, Some(c)) => plan::decide(target, self.event, self.inputs, c),
            (false, None) => {
                let unneeded = Changes::Everything {
                    reason: "neither `paths` nor `tasks` needs them".into(),
                };
                plan::decide(target, self.event, self.inputs, &unneeded)
            }
        };
        if let Some(c) = &changes {
            tracing::info!("changes: {}", Untrusted(&c.describe()));
        }
        match plan {
            Plan::Skip(skip) => self.skip(skip.kind, skip.reason),
            Plan::Teardown(t) => self.teardown(&t).await,
            Plan::Deploy(d) => {
                self.announce(&d);
                if self.inputs.dry_run {
                    return Report::skipped(
                        "dry-run: the plan was printed; nothing was written and no command ran",
                    );
                }
                self.run_deploy(&d, changes.as_ref(), run_command).await
            }
        }
    }

    fn announce(&self, d: &Deploy) {
        let t = &d.target;
        tracing::info!(
            "deploying {} ({}) to {}",
            Untrusted(&t.label()),
            t.sha,
            Untrusted(&t.environment)
        );
        tracing::info!("  environment: {}", Untrusted(&t.rule));
        tracing::info!(
            "  task: {} ({})",
            Untrusted(&d.task),
            Untrusted(&d.task_reason)
        );
        if let Some(p) = &d.paths_reason {
            tracing::info!("  paths: {}", Untrusted(p));
        }
    }

    fn skip(&self, kind: SkipKind, reason: String) -> Report {
        skip_report(self.inputs, plan::Skip { kind, reason })
    }

    fn payload(&self, d: &Deploy, key: &str) -> Value {
        let mut payload = Value::Object(self.inputs.payload.clone());
        let message: String = self.event.head_commit.message.chars().take(1000).collect();
        let ours = json!({
            "ref": d.target.git_ref.as_ref().map(|r| r.full()),
            "branch": d.target.git_ref.as_ref().and_then(|r| r.branch_name()),
            "sha": d.target.sha.as_str(),
            "pr": d.target.pr_number,
            "commit_message": message,
            "author": self.event.head_commit.author,
            "event": self.event.name,
            "run_id": self.context.run_id,
            "run_attempt": self.context.run_attempt,
            "job": self.context.job,
            "rollout": { "version": VERSION, "key": key },
        });
        if let (Value::Object(map), Value::Object(ours)) = (&mut payload, ours) {
            map.extend(ours);
        }
        payload
    }

    /// Creates the deployment and marks it in progress; on failure, the report to end with.
    async fn create(&self, d: &Deploy) -> Result<u64, Report> {
        let key = format!(
            "{}-{}-{}-{:016x}",
            self.context.run_id,
            self.context.run_attempt,
            self.context.job,
            rand::random::<u64>()
        );
        let new = NewDeployment {
            git_ref: d.target.sha.to_string(),
            task: d.task.clone(),
            auto_merge: false,
            required_contexts: self.inputs.required_contexts.clone(),
            payload: self.payload(d, &key),
            environment: d.target.environment.clone(),
            description: d.description.clone(),
            transient_environment: d.target.transient,
            production_environment: d.target.production,
        };
        let mut report = self.base_report(&d.target);
        report.task = d.task.clone();
        let deployment = match self.client.create_deployment(&new, &key).await {
            Ok(dep) => dep,
            Err(e) => {
                report.status = "failure".into();
                report.detail = e.explain("Creating the deployment", DEPLOY_PERMISSION);
                if matches!(e.status(), Some(403 | 404)) {
                    report.detail.push_str(
                        "\n  permissions:\n    deployments: write\n    contents: read\n    pull-requests: write",
                    );
                }
                return Err(report);
            }
        };
        let id = deployment.id;
        // First, so that the post step can finish it whatever happens next.
        if let Err(e) = self.runtime.save_state("deployment-id", &id.to_string()) {
            tracing::warn!("could not save the deployment id for the post step: {e}");
        }
        let _ = self.runtime.set_output("deployment-id", &id.to_string());
        tracing::info!(
            "created deployment {id} of {} for {}",
            Untrusted(&d.target.environment),
            d.target.sha
        );
        let in_progress = NewStatus {
            state: State::InProgress,
            description: Description::new(&format!(
                "Deploying {} ({})",
                d.target.label(),
                d.target.sha.short()
            )),
            log_url: Some(self.context.log_url()).filter(|u| !u.is_empty()),
            environment_url: None,
            auto_inactive: None,
        };
        if let Err(e) = self.client.create_status(id, &in_progress).await {
            let detail = e.explain("Marking the deployment in progress", DEPLOY_PERMISSION);
            report.deployment_id = Some(id);
            return Err(self.end(id, report, State::Error, &detail, None).await);
        }
        if self.inputs.supersede {
            self.supersede(&d.target.environment, id).await;
        }
        Ok(id)
    }

    /// Marks the previous deployment of the environment inactive if it is still running: a new
    /// deploy replaces it. The REST list carries no state, so this is one list and one status
    /// read. Only the newest older deployment is read: every deploy before it did the same to its
    /// own predecessor, so older ones are final already.
    async fn supersede(&self, environment: &str, ours: u64) {
        let list = match self
            .client
            .list_deployments(Some(environment), None, 1)
            .await
        {
            Ok(l) => l,
            Err(e) => {
                tracing::info!("could not list older deployments to supersede ({e})");
                return;
            }
        };
        for older in list.iter().filter(|d| d.id < ours).take(1) {
            match self.client.latest_status(older.id).await {
                Ok(Some(s)) if !s.state.is_final() => {
                    let status = NewStatus {
                        state: State::Inactive,
                        description: Description::new(&format!("Superseded by deployment {ours}")),
                        log_url: s.log_url,
                        environment_url: None,
                        auto_inactive: None,
                    };
                    match self.client.create_status(older.id, &status).await {
                        Ok(()) => tracing::info!(
                            "deployment {} was still {}; marked inactive (superseded)",
                            older.id,
                            s.state.as_str()
                        ),
                        Err(e) => {
                            tracing::info!("could not supersede deployment {} ({e})", older.id)
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::info!("could not read the status of deployment {} ({e})", older.id)
                }
            }
        }
    }

    /// Posts the final status and fills in the report; if the status cannot be posted, the
    /// report says so and fails.
    async fn end(
        &self,
        id: u64,
        mut report: Report,
        state: State,
        detail: &str,
        url: Option<String>,
    ) -> Report {
        report.deployment_id = Some(id);
        report.detail = detail.to_string();
        if let Some(u) = &url {
            report.environment_url = u.clone();
        }
        let status = NewStatus {
            state,
            description: Description::new(detail),
            log_url: Some(report.log_url.clone()).filter(|u| !u.is_empty()),
            environment_url: url,
            auto_inactive: None,
        };
        if report.status.is_empty() {
            report.status = match state {
                State::Success => "success",
                State::Failure => "failure",
                State::Inactive => "inactive",
                _ => "error",
            }
            .into();
        }
        if let Err(e) = self.client.create_status(id, &status).await {
            report.status = "error".into();
            report.signal = None;
            report.detail = format!(
                "{detail}; and the final status of deployment {id} could not be posted: {}",
                e.explain("Posting the final status", DEPLOY_PERMISSION)
            );
        }
        report
    }

    async fn run_deploy(&self, d: &Deploy, changes: Option<&Changes>, run_command: bool) -> Report {
        let id = match self.create(d).await {
            Ok(id) => id,
            Err(report) => return report,
        };
        let mut report = self.base_report(&d.target);
        report.task = d.task.clone();
        report.deployment_id = Some(id);
        if !run_command {
            report.status = "started".into();
            report.detail =
                format!("deployment {id} is in progress; finish it with `step: finish`");
            return report;
        }
        if let Some(sig) = self.cancel.signal() {
            report.status = "cancelled".into();
            report.signal = Some(sig);
            let detail = format!(
                "Cancelled by {} before the command started",
                command::signal_name(sig)
            );
            return self.end(id, report, State::Error, &detail, None).await;
        }
        let scratch = match tempfile::Builder::new().prefix("rollout-").tempdir() {
            Ok(dir) => dir,
            Err(e) => {
                let detail = format!("could not create a scratch folder for the command: {e}");
                return self.end(id, report, State::Error, &detail, None).await;
            }
        };
        let url_file = scratch.path().join("environment-url");
        let files_path = scratch.path().join("changed-files");
        let listed = changes.map(|c| c.files().join("\n")).unwrap_or_default();
        if let Err(e) = std::fs::write(
            &files_path,
            if listed.is_empty() {
                listed
            } else {
                listed + "\n"
            },
        ) {
            tracing::warn!("could not write the changed-files list: {e}");
        }
        let extra = vec![
            ("ROLLOUT_DEPLOYMENT_ID".to_string(), id.to_string()),
            ("ROLLOUT_REF".to_string(), report.git_ref.clone()),
            (
                "ROLLOUT_CHANGED_FILES".to_string(),
                files_path.display().to_string(),
            ),
            (
                "ROLLOUT_URL_FILE".to_string(),
                url_file.display().to_string(),
            ),
        ];
        let script = self.inputs.command.clone().unwrap_or_default();
        let finished = self.run_command(&script, &d.target, &d.task, extra).await;
        report.duration_secs = Some(finished.took.as_secs());
        let url = read_url(&url_file).or_else(|| d.environment_url.clone());
        let missing = finished.missing(&self.working_dir());
        let (state, detail) = describe_run(&finished, missing.as_ref());
        match finished.outcome {
            Outcome::Cancelled(sig) => {
                report.status = "cancelled".into();
                report.signal = Some(sig);
            }
            Outcome::Exited(0) => {}
            _ => report.status = "failure".into(),
        }
        let url = if state == State::Success { url } else { None };
        if state == State::Success {
            tracing::info!("deployment {id}: {detail}");
        }
        let mut report = self.end(id, report, state, &detail, url).await;
        if let Some(m) = &missing {
            let told = explain_run(&finished, m, &self.working_dir());
            report.log_detail = Some(report.detail.replacen(&detail, &told, 1));
        }
        report
    }

    /// Runs a user command in a log group with the environment of CONTRACT.md: the container's,
    /// minus the token's copies (it goes in as `GITHUB_TOKEN` only with `pass-token`), plus the
    /// `ROLLOUT_*` variables and git trusting the workspace.
    async fn run_command(
        &self,
        script: &str,
        target: &Target,
        task: &str,
        extra: Vec<(String, String)>,
    ) -> Finished {
        let mut set = vec![
            (
                "ROLLOUT_ENVIRONMENT".to_string(),
                target.environment.clone(),
            ),
            ("ROLLOUT_SHA".to_string(), target.sha.to_string()),
            ("ROLLOUT_TASK".to_string(), task.to_string()),
        ];
        if let Some(n) = target.pr_number {
            set.push(("ROLLOUT_PR_NUMBER".to_string(), n.to_string()));
        }
        set.extend(extra);
        set.extend(self.git_trust());
        if let (Some(token), true) = (&self.inputs.token, self.inputs.pass_token) {
            set.push(("GITHUB_TOKEN".to_string(), token.expose().to_string()));
        }
        let spec = CommandSpec {
            script: script.to_string(),
            dir: self.working_dir(),
            set,
            remove: self.token_variables(),
            timeout: self.inputs.timeout,
        };
        runtime::group(&format!("rollout: {task} ({})", target.environment));
        let mut cancel = self.cancel.clone();
        let result = command::run(&spec, &mut cancel).await;
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

    /// A pull request closed: run `teardown-command`, mark every deployment of its environment
    /// inactive, say so on the PR. The head branch is never looked up: it may be gone.
    async fn teardown(&self, t: &Teardown) -> Report {
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
        if let Some(script) = &self.inputs.teardown_command {
            let finished = self
                .run_command(script, target, "teardown", Vec::new())
                .await;
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
        let deployments = match self
            .client
            .list_deployments(Some(&target.environment), None, 10)
            .await
        {
            Ok(list) => list,
            Err(e) => {
                report.status = "failure".into();
                report.detail = e.explain("Listing the preview's deployments", DEPLOY_PERMISSION);
                return report;
            }
        };
        let mut failed = Vec::new();
        for d in &deployments {
            let status = NewStatus {
                state: State::Inactive,
                description: Description::new(&format!(
                    "Pull request #{} closed",
                    target.pr_number.unwrap_or(0)
                )),
                log_url: Some(report.log_url.clone()).filter(|u| !u.is_empty()),
                environment_url: None,
                auto_inactive: None,
            };
            if let Err(e) = self.client.create_status(d.id, &status).await {
                failed.push(format!("{}: {e}", d.id));
            }
        }
        if !failed.is_empty() {
            report.status = "failure".into();
            report.detail = format!(
                "could not mark these deployments inactive: {}",
                failed.join("; ")
            );
            return report;
        }
        report.status = "inactive".into();
        report.detail = format!(
            "{} deployment(s) of {} marked inactive",
            deployments.len(),
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

    /// The sticky PR comment: found by its marker, updated in place.
    pub async fn comment(&self, report: &Report) {
        let Some(number) = report.pr_number else {
            return;
        };
        if report.environment.is_empty()
            || !self.inputs.comment.unwrap_or(true)
            || self.inputs.dry_run
        {
            return;
        }
        let marker = report::comment_marker(&report.environment);
        let now = now_utc();
        let body = report::comment(report, &now);
        let result = async {
            let comments = self.client.list_comments(number, 10).await?;
            match comments
                .iter()
                .find(|c| c.body.as_deref().is_some_and(|b| b.contains(&marker)))
            {
                Some(c) => self.client.update_comment(c.id, &body).await,
                None => self.client.create_comment(number, &body).await.map(|_| ()),
            }
        }
        .await;
        if let Err(e) = result {
            runtime::warning(&e.explain("Updating the pull request comment", COMMENT_PERMISSION));
        }
    }

    /// `step: finish`: the final status of a deployment started by `step: start`.
    pub async fn finish(&self) -> Report {
        let (Some(id), Some(job)) = (self.inputs.deployment_id, self.inputs.status) else {
            return Report {
                status: "error".into(),
                detail: "`step: finish` needs `deployment-id` and `status`".into(),
                ..Report::default()
            };
        };
        let mut report = Report {
            log_url: self.context.log_url(),
            deployment_id: Some(id),
            ..Report::default()
        };
        // Read first: a deployment superseded by a newer run must stay inactive, and the
        // environment and sha make the outputs and the URL template.
        match self.client.get_deployment(id).await {
            Ok(dep) => {
                report.environment = dep.environment;
                report.sha = dep.sha;
            }
            Err(e) => {
                report.status = "error".into();
                report.detail = e.explain(&format!("Reading deployment {id}"), DEPLOY_PERMISSION);
                return report;
            }
        }
        if let Ok(Some(latest)) = self.client.latest_status(id).await {
            if latest.state == State::Inactive {
                report.status = "inactive".into();
                report.detail = format!(
                    "deployment {id} was superseded by a newer deployment; it stays inactive"
                );
                return report;
            }
        }
        let url = self.inputs.environment_url.as_ref().map(|t| {
            t.render(&crate::text::TemplateVars {
                environment: &report.environment,
                sha: &report.sha,
                ..Default::default()
            })
        });
        let (state, status, detail) = match job {
            JobStatus::Success => (
                State::Success,
                "success",
                "The job's deploy steps succeeded",
            ),
            JobStatus::Failure => (State::Failure, "failure", "The job's deploy steps failed"),
            JobStatus::Cancelled => (State::Error, "cancelled", "The job was cancelled"),
        };
        report.status = status.into();
        let url = if state == State::Success {
            url.filter(|u| !u.is_empty())
        } else {
            None
        };
        let mut report = self.end(id, report, state, detail, url).await;
        if report.status == status {
            // The job's outcome is reported; the step itself did its work.
            report.exit = Some(0);
        }
        report
    }

    /// `step: deactivate`: one deployment, or every deployment of the environment, inactive.
    pub async fn deactivate(&self) -> Report {
        let log_url = self.context.log_url();
        let (ids, environment) = match self.inputs.deployment_id {
            Some(id) => (vec![id], String::new()),
            None => {
                let target = match plan::target(self.event, self.inputs) {
                    Ok((t, _)) => t,
                    Err(s) => return self.skip(s.kind, s.reason),
                };
                match self
                    .client
                    .list_deployments(Some(&target.environment), None, 10)
                    .await
                {
                    Ok(list) => (list.into_iter().map(|d| d.id).collect(), target.environment),
                    Err(e) => {
                        return Report {
                            status: "failure".into(),
                            detail: e.explain("Listing the deployments", DEPLOY_PERMISSION),
                            ..Report::default()
                        }
                    }
                }
            }
        };
        for id in &ids {
            let status = NewStatus {
                state: State::Inactive,
                description: Description::new("Deactivated"),
                log_url: Some(log_url.clone()).filter(|u| !u.is_empty()),
                environment_url: None,
                auto_inactive: None,
            };
            if let Err(e) = self.client.create_status(*id, &status).await {
                return Report {
                    status: "failure".into(),
                    detail: e.explain(&format!("Deactivating deployment {id}"), DEPLOY_PERMISSION),
                    ..Report::default()
                };
            }
        }
        Report {
            status: "inactive".into(),
            detail: format!("{} deployment(s) marked inactive", ids.len()),
            environment,
            deployment_id: (ids.len() == 1).then(|| ids[0]),
            log_url,
            ..Report::default()
        }
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

/// `verify-checkout` for a deploy to `target`: `Err` with the sentence when the checkout is the
/// pull request's test-merge commit (exit 2, before anything is written); otherwise the finding
/// is logged and the deploy goes on.
pub fn verify_checkout(
    event: &Event,
    inputs: &Inputs,
    context: &Context,
    target: &Target,
) -> Result<(), String> {
    if !inputs.verify_checkout {
        return Ok(());
    }
    let pr = match &event.trigger {
        Trigger::PullRequest(pr) => Some(checkout::PullRequestHead {
            kind: pr.kind,
            number: pr.number,
            runner_sha: Some(context.sha.as_str()).filter(|s| !s.is_empty()),
        }),
        _ => None,
    };
    let verdict = checkout::verify(&working_dir(inputs, context), &target.sha, pr);
    match verdict {
        checkout::Verdict::TestMerge { .. } => return Err(verdict.sentence()),
        checkout::Verdict::Differs { .. } => runtime::warning(&verdict.sentence()),
        _ => tracing::info!("{}", Untrusted(&verdict.sentence())),
    }
    Ok(())
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
        _ => runtime::notice(&format!("skipped: {reason}")),
    }
    Report::skipped(reason)
}

/// The post step: finishes a deployment that the main step left unfinished. Nothing saved, or
/// already final: no write call at all.
pub async fn post(client: &DeploymentClient, context: &Context, saved: Option<u64>) -> Report {
    let Some(id) = saved else {
        return Report::skipped(
            "no saved deployment id (STATE_deployment-id is not set); nothing to finish",
        );
    };
    let latest = match client.latest_status(id).await {
        Ok(s) => s,
        Err(e) => {
            return Report {
                status: "error".into(),
                detail: e.explain(&format!("Reading deployment {id}"), DEPLOY_PERMISSION),
                deployment_id: Some(id),
                exit: Some(1),
                ..Report::default()
            }
        }
    };
    if let Some(s) = &latest {
        if s.state.is_final() {
            return Report {
                status: "skipped".into(),
                detail: format!("deployment {id} is already final ({})", s.state.as_str()),
                deployment_id: Some(id),
                ..Report::default()
            };
        }
    }
    let (state, detail) = match job_outcome(client, context).await {
        Some(true) => (State::Success, "The job's steps succeeded".to_string()),
        Some(false) => (State::Failure, "A step of the job failed".to_string()),
        None => (
            State::Error,
            "The job ended before the deployment finished".to_string(),
        ),
    };
    let status = NewStatus {
        state,
        description: Description::new(&detail),
        log_url: latest
            .and_then(|s| s.log_url)
            .or_else(|| Some(context.log_url()).filter(|u| !u.is_empty())),
        environment_url: None,
        auto_inactive: None,
    };
    match client.create_status(id, &status).await {
        Ok(()) => Report {
            status: state.as_str().into(),
            detail: format!("deployment {id} marked {}: {detail}", state.as_str()),
            deployment_id: Some(id),
            exit: Some(0),
            ..Report::default()
        },
        Err(e) => Report {
            status: "error".into(),
            detail: e.explain(&format!("Finishing deployment {id}"), DEPLOY_PERMISSION),
            deployment_id: Some(id),
            exit: Some(1),
            ..Report::default()
        },
    }
}

/// Whether the job's completed steps all succeeded, from the jobs API, matched by runner name.
async fn job_outcome(client: &DeploymentClient, context: &Context) -> Option<bool> {
    if context.run_id.is_empty() || context.runner_name.is_empty() {
        return None;
    }
    let jobs = client
        .list_jobs(&context.run_id, &context.run_attempt)
        .await
        .ok()?;
    let job = jobs.iter().find(|j| {
        j.runner_name.as_deref() == Some(context.runner_name.as_str()) && j.status != "completed"
    })?;
    let done: Vec<_> = job
        .steps
        .iter()
        .filter_map(|s| s.conclusion.as_deref())
        .collect();
    if done.is_empty() {
        return None;
    }
    Some(done.iter().all(|c| matches!(*c, "success" | "skipped")))
}

fn describe_outcome(outcome: &Outcome, took: Duration) -> (State, String) {
    let secs = took.as_secs();
    match outcome {
        Outcome::Exited(0) => (State::Success, format!("Deployed in {secs}s")),
        // HANDBOOK: the shell's codes for a command it could not find or could not execute.
        Outcome::Exited(127) => (
            State::Failure,
            format!(
                "The command exited with code 127 after {secs}s, which means a program it runs \
                 was not found (see the log)"
            ),
        ),
        Outcome::Exited(126) => (
            State::Failure,
            format!(
                "The command exited with code 126 after {secs}s, which means a program it runs \
                 could not be executed (see the log)"
            ),
        ),
        Outcome::Exited(code) => (
            State::Failure,
            format!("The command exited with code {code} after {secs}s"),
        ),
        Outcome::Killed(sig) => (
            State::Failure,
            format!(
                "The command was killed by {} after {secs}s",
                command::signal_name(*sig)
            ),
        ),
        Outcome::TimedOut(limit) => (
            State::Failure,
            format!(
                "The command timed out: it ran longer than the {}s `timeout`",
                limit.as_secs()
            ),
        ),
        Outcome::Cancelled(sig) => (
            State::Error,
            format!("Cancelled by {} after {secs}s", command::signal_name(*sig)),
        ),
        Outcome::NotStarted(why) => (State::Error, format!("The command did not start: {why}")),
    }
}

/// The final status's sentence for a command that ran. What the shell could not find is told
/// in rollout's own words, by kind: its name came from the command's output, which never goes
/// to the API (HANDBOOK, "Statuses").
fn describe_run(finished: &Finished, missing: Option<&Missing>) -> (State, String) {
    let (state, detail) = describe_outcome(&finished.outcome, finished.took);
    match (&finished.outcome, missing) {
        (Outcome::Exited(code), Some(m)) => (
            state,
            format!(
                "The command exited with code {code} after {}s: {} (see the log)",
                finished.took.as_secs(),
                m.summary()
            ),
        ),
        _ => (state, detail),
    }
}

/// The job log's sentence for the same failure: it may name what is missing and say where.
fn explain_run(finished: &Finished, missing: &Missing, dir: &std::path::Path) -> String {
    let code = match finished.outcome {
        Outcome::Exited(code) => code,
        _ => -1,
    };
    format!(
        "The command exited with code {code} after {}s: {}",
        finished.took.as_secs(),
        missing.explain(dir)
    )
}

/// The first line of the URL file, if it holds an http(s) URL.
fn read_url(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
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

fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_urls_use_the_server_of_the_run() {
        let c = Context {
            repository: "o/r".into(),
            server_url: "https://ghe.example.com/".into(),
            run_id: "9".into(),
            run_attempt: "2".into(),
            ..Context::default()
        };
        assert_eq!(
            c.log_url(),
            "https://ghe.example.com/o/r/actions/runs/9/attempts/2"
        );
    }

    #[test]
    fn outcomes_never_carry_command_output() {
        let (s, d) = describe_outcome(&Outcome::Exited(3), Duration::from_secs(12));
        assert_eq!(
            (s, d.as_str()),
            (State::Failure, "The command exited with code 3 after 12s")
        );
        let (s, _) = describe_outcome(&Outcome::Cancelled(15), Duration::from_secs(1));
        assert_eq!(s, State::Error);
        let (s, d) = describe_outcome(
            &Outcome::TimedOut(Duration::from_secs(90)),
            Duration::from_secs(95),
        );
        assert_eq!(s, State::Failure);
        assert!(d.contains("90s"));
    }

    #[test]
    fn a_missing_program_is_told_by_kind_never_by_name() {
        let finished = Finished {
            outcome: Outcome::Exited(127),
            took: Duration::from_secs(3),
            stderr_tail: vec!["sh: 1: ghp_fromTheLog: not found".into()],
        };
        let dir = std::path::Path::new("/github/workspace");
        let missing = finished.missing(dir);
        let (s, d) = describe_run(&finished, missing.as_ref());
        assert_eq!(s, State::Failure);
        assert_eq!(
            d,
            "The command exited with code 127 after 3s: a program it runs is not in rollout's \
             image (see the log)"
        );
        let told = missing.map(|m| explain_run(&finished, &m, dir));
        assert!(told.is_some_and(|t| t.contains("`ghp_fromTheLog`")));
        // The longest sentence, with the longest duration, still fits GitHub's 140 characters.
        for m in [
            Missing::Program(String::new()),
            Missing::File(String::new()),
            Missing::Unstartable(String::new()),
            Missing::NotExecutable(String::new()),
        ] {
            let long = Finished {
                outcome: Outcome::Exited(i32::MIN),
                took: Duration::from_secs(u64::MAX),
                stderr_tail: Vec::new(),
            };
            let (_, d) = describe_run(&long, Some(&m));
            assert!(d.chars().count() <= 140, "{d}");
        }
        for code in [126, 127] {
            let (_, d) = describe_outcome(&Outcome::Exited(code), Duration::from_secs(u64::MAX));
            assert!(d.chars().count() <= 140, "{d}");
        }
    }

    #[test]
    fn dates_are_civil() {
        let d = now_utc();
        assert_eq!(d.len(), "2026-11-21 00:00:00 UTC".len(), "{d}");
        assert!(d.starts_with("20"));
    }
}
