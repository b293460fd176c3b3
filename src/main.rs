//! Wiring only: parse the command line, read the outside world once, build the adapters, run the
//! step, and turn the result into outputs, a summary, annotations and an exit code.

use clap::{Parser, Subcommand};
use rollout::event::{self, Event, RunnerRefs};
use rollout::github::{DeploymentClient, RetryPolicy};
use rollout::inputs::{Inputs, RawInputs, Step, KNOWN};
use rollout::plan;
use rollout::report::{self, Report};
use rollout::runtime::Context;
use rollout::runtime::{self, Runtime};
use rollout::signals::Cancel;
use rollout::steps::{self, Rollout};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rollout",
    version,
    about = "GitHub Deployments for any platform, from one workflow step"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print what a run would do and why; no API call, no token needed.
    Plan {
        /// The event payload (JSON), as the runner writes it to GITHUB_EVENT_PATH.
        #[arg(long)]
        event: PathBuf,
        /// The event name; defaults to GITHUB_EVENT_NAME.
        #[arg(long)]
        event_name: Option<String>,
        /// An input as NAME=VALUE, over INPUT_* variables; repeatable.
        #[arg(long = "input", value_name = "NAME=VALUE")]
        inputs: Vec<String>,
        /// The git repository to read changed files from; defaults to the current directory.
        #[arg(long)]
        workspace: Option<PathBuf>,
        /// The moment the freeze windows are judged at (RFC 3339, `2026-12-24T10:00:00Z`);
        /// defaults to now.
        #[arg(long)]
        now: Option<String>,
    },
    /// The post step: finish a deployment the main step left unfinished.
    Post,
    /// The delivery report (DORA's four keys from the deployments) of the environments a glob
    /// matches; reads only. The token comes from GITHUB_TOKEN, GitHub Enterprise Server's URLs
    /// from GITHUB_API_URL and GITHUB_GRAPHQL_URL.
    Report {
        /// The repository, as OWNER/NAME.
        #[arg(long)]
        repo: String,
        /// The environments: a name or a glob (`production*`), compared without case.
        #[arg(long)]
        environment: String,
        /// How far back: days (`30d`), weeks (`12w`) or hours (`48h`).
        #[arg(long, default_value = "30d")]
        period: String,
        /// Print the figures as JSON (the step's output `report`) instead of the table.
        #[arg(long)]
        json: bool,
    },
}

/// A bad input or event file: exit 2 with one sentence, nothing written to the API.
struct BadInput(String);

/// What the main step does, decided before any client exists.
enum Work {
    /// `step: deploy` (with the command) or `step: start` (without).
    Deploy(plan::Destination, bool),
    Rollback(plan::Destination),
    Promote(plan::Destination),
    Plan(plan::Destination),
    /// `step: finish`, with the target the event maps to (what `step: start` deployed).
    Finish(Option<plan::Target>),
    Deactivate,
    /// `step: lock`, its commit's tree taken from `GITHUB_SHA`.
    Lock(rollout::event::Sha),
    Unlock,
    /// `step: sweep`: the previews a teardown missed.
    Sweep,
    /// A preview a freeze window blocked: only its sticky comment is written.
    Frozen(Box<Report>),
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn main() -> ExitCode {
    // First, while this is the only thread: the command can read this process's environment
    // block, so the token and the runner's credentials are overwritten there.
    let hidden = rollout::environ::hide(
        rollout::environ::TOKEN_NAMES,
        rollout::environ::RUNNER_CREDENTIALS,
    );
    rollout::logging::init(env("RUNNER_DEBUG").as_deref() == Some("1"));
    if !hidden.is_empty() {
        tracing::debug!(
            "hid {} from this process's environment block; the command never gets {}",
            hidden.join(", "),
            rollout::environ::RUNNER_CREDENTIALS.join(", ")
        );
    }
    if !rollout::signals::follow_launcher() {
        tracing::warn!(
            "the launcher that started rollout (node) has already exited; nothing was done"
        );
        return ExitCode::from(143);
    }
    rollout::changes::trust_workspace_owner();
    let invoked_as_post = std::env::args_os()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .is_some_and(|name| name == "rollout-post");
    // The runner hands the post entrypoint the main step's args, so they are not parsed there.
    let cmd = if invoked_as_post {
        Some(Cmd::Post)
    } else {
        match Cli::try_parse() {
            Ok(cli) => cli.command,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
            }
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            runtime::error(&format!("rollout could not start its runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    // On a workstation an error is a plain line, as `rollout report` prints its other failures;
    // in a job it is an annotation.
    let on_workstation = matches!(cmd, Some(Cmd::Report { .. }));
    let code = runtime.block_on(async {
        let result = match cmd {
            None => main_step().await,
            Some(Cmd::Post) => post_step().await,
            Some(Cmd::Plan {
                event,
                event_name,
                inputs,
                workspace,
                now,
            }) => plan_command(&event, event_name, &inputs, workspace, now.as_deref()).await,
            Some(Cmd::Report {
                repo,
                environment,
                period,
                json,
            }) => report_command(&repo, &environment, &period, json).await,
        };
        match result {
            Ok(code) => code,
            Err(BadInput(sentence)) if on_workstation => {
                eprintln!("error: {sentence}");
                2
            }
            Err(BadInput(sentence)) => {
                runtime::error(&sentence);
                2
            }
        }
    });
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn read_inputs(overrides: &[String]) -> Result<Inputs, BadInput> {
    let mut raw = RawInputs::from_os_env(std::env::vars_os()).map_err(BadInput)?;
    for pair in overrides {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| BadInput(format!("--input {pair:?} is not NAME=VALUE")))?;
        if !KNOWN.contains(&name) {
            return Err(BadInput(format!(
                "--input {name:?} is not an input of rollout; see action.yml"
            )));
        }
        raw.set(name, value.replace("\\n", "\n"));
    }
    Inputs::parse(&raw).map_err(|e| BadInput(e.to_string()))
}

fn read_event(path: &Path, name: &str) -> Result<Event, BadInput> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        BadInput(format!("the event file {} could not be read ({e}); GITHUB_EVENT_PATH must name the runner's event.json", path.display()))
    })?;
    let runner = RunnerRefs {
        sha: env("GITHUB_SHA"),
        git_ref: env("GITHUB_REF"),
        repository: env("GITHUB_REPOSITORY"),
    };
    event::parse(name, &text, &runner).map_err(|e| {
        BadInput(format!(
            "the event file {} is unusable: {e}",
            path.display()
        ))
    })
}

/// Without an event file only `finish`, a `deactivate` of one deployment, `lock` and `unlock`
/// can run: they decide nothing from the event.
fn needs_event(inputs: &Inputs) -> bool {
    match inputs.step {
        Step::Finish | Step::Lock | Step::Unlock | Step::Report => false,
        Step::Deactivate => inputs.deployment_id.is_none(),
        Step::Deploy | Step::Start | Step::Plan | Step::Rollback | Step::Sweep | Step::Promote => {
            true
        }
    }
}

fn no_event() -> Event {
    Event {
        name: String::new(),
        trigger: event::Trigger::Unhandled,
        head_commit: Default::default(),
        sender: None,
        default_branch: None,
    }
}

/// The event, for a step that reads it; a step that decides nothing from it runs without one
/// (an unlock is not stopped by an event that lacks what a deploy would need).
fn read_event_for(inputs: &Inputs, path: &Path, name: &str) -> Result<Event, BadInput> {
    match read_event(path, name) {
        Err(e) if needs_event(inputs) => Err(e),
        Err(_) => Ok(no_event()),
        ok => ok,
    }
}

/// The token, and the runner variables any API call needs; a missing one is bad input.
fn required_token<'t>(
    context: &Context,
    inputs_token: Option<&'t rollout::inputs::Token>,
) -> Result<&'t rollout::inputs::Token, BadInput> {
    let token = inputs_token.ok_or_else(|| {
        BadInput("input `token` is empty: pass `token: ${{ github.token }}` (the default) or a token with `deployments: write`".into())
    })?;
    if context.repository.is_empty() {
        return Err(BadInput("GITHUB_REPOSITORY is not set: rollout must run inside a GitHub Actions job (use `rollout plan` locally)".into()));
    }
    if context.api_url.is_empty() {
        return Err(BadInput("GITHUB_API_URL is not set: rollout must run inside a GitHub Actions job (use `rollout plan` locally)".into()));
    }
    Ok(token)
}

fn client(
    context: &Context,
    token: &rollout::inputs::Token,
    final_status_timeout: std::time::Duration,
) -> Result<DeploymentClient, BadInput> {
    let mut policy = RetryPolicy {
        final_status: final_status_timeout,
        ..RetryPolicy::default()
    };
    // Test-only (README, "Testing"): shortens every wait, so a minute's rate limit is testable.
    if let Some(scale) = env("ROLLOUT_TEST_TIME_SCALE") {
        match scale.parse::<f64>() {
            Ok(f) if f > 0.0 && f <= 1.0 => policy.time_scale = f,
            _ => tracing::warn!(
                "ROLLOUT_TEST_TIME_SCALE={scale:?} is not a number in (0, 1]; ignored"
            ),
        }
    }
    let proxy = match context.api_url.parse::<http::Uri>() {
        Ok(api) => rollout::transport::proxy_for(&api, |name| std::env::var(name).ok())
            .map_err(BadInput)?,
        Err(_) => None,
    };
    if let Some(p) = &proxy {
        tracing::info!(
            "reaching GitHub through the proxy {} (from {}{})",
            p.uri,
            p.variable,
            if p.authorization.is_some() {
                ", with its credentials"
            } else {
                ""
            }
        );
    }
    DeploymentClient::new(&context.api_url, &context.repository, token, policy, proxy)
        .map(|c| c.with_graphql_url(&context.api_url, &context.graphql_url))
        .map_err(BadInput)
}

async fn main_step() -> Result<i32, BadInput> {
    // First: as PID 1, a signal without a handler is ignored, and the runner's cancel is lost.
    // A dry run says so on its first line, before anything else is logged (even a bad input),
    // so nobody reads what follows as something that happened.
    if env("INPUT_DRY-RUN").is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        tracing::info!("dry run: rollout decides and prints what it would do; it writes nothing to the API and runs no command");
    }
    let cancel = rollout::signals::listen_for_signals().unwrap_or_else(|e| {
        tracing::warn!("could not listen for cancel signals: {e}");
        Cancel::never()
    });
    let inputs = read_inputs(&[])?;
    let context = Context::from_env(env);
    let runtime_files = Runtime::from_env(env);
    let event = match (env("GITHUB_EVENT_PATH"), env("GITHUB_EVENT_NAME")) {
        // A report reads the repository's deployments whatever the event (a schedule, usually).
        (Some(path), Some(name)) if inputs.step != Step::Report => {
            read_event_for(&inputs, Path::new(&path), &name)?
        }
        _ if needs_event(&inputs) => {
            return Err(BadInput(
                "GITHUB_EVENT_PATH and GITHUB_EVENT_NAME are not set: rollout reads the event the runner provides".into(),
            ))
        }
        _ => no_event(),
    };
    let token = required_token(&context, inputs.token.as_ref())?;
    let now = jiff::Timestamp::now();
    let work = match decide(&event, &inputs, &context, now)? {
        Decided::Work(work) => work,
        Decided::Done(report) => {
            created_nothing(&runtime_files, &inputs, &report);
            return Ok(conclude(&report, &runtime_files, inputs.step));
        }
        Decided::Report(request) => {
            let client = client(&context, token, inputs.final_status_timeout)?;
            return Ok(steps::delivery::step(&client, &runtime_files, &request, now).await);
        }
    };
    let client = client(&context, token, inputs.final_status_timeout)?.with_cancel(cancel.clone());
    let rollout = Rollout {
        event: &event,
        inputs: &inputs,
        context: &context,
        client: &client,
        runtime: &runtime_files,
        cancel,
        created: Default::default(),
        key: steps::run_key(&context),
        ambiguous: Default::default(),
        finals: Default::default(),
        comments: Default::default(),
        now,
        locks: Default::default(),
        lock_read: Default::default(),
        rollbacks: Default::default(),
    };
    let report = match work {
        Work::Deploy(dest, run_command) => rollout.deploy(dest, run_command).await,
        Work::Rollback(dest) => match rollout.rollback(dest).await {
            Ok(report) => report,
            Err(steps::Stopped::Report(report)) => *report,
            Err(steps::Stopped::BadInput(sentence)) => return Err(BadInput(sentence)),
        },
        Work::Promote(dest) => match rollout.promote(dest).await {
            Ok(report) => report,
            Err(steps::Stopped::Report(report)) => *report,
            Err(steps::Stopped::BadInput(sentence)) => return Err(BadInput(sentence)),
        },
        Work::Plan(dest) => rollout.plan(dest).await,
        Work::Finish(from_event) => rollout.finish(from_event.as_ref()).await,
        Work::Deactivate => rollout.deactivate().await,
        Work::Lock(tree_of) => rollout.lock(&tree_of).await,
        Work::Unlock => rollout.unlock().await,
        Work::Sweep => rollout.sweep().await,
        Work::Frozen(report) => *report,
    };
    if !matches!(inputs.step, Step::Plan | Step::Sweep) {
        rollout.comment(&report).await;
    }
    if rollout.created.borrow().is_empty() {
        created_nothing(&runtime_files, &inputs, &report);
    }
    Ok(conclude(&report, &runtime_files, inputs.step))
}

/// Tells the post step that this run made no deployment, so it says "nothing to finish" rather
/// than wondering whether GITHUB_STATE could be written. A create whose answer was lost saved its
/// key first, and the post step looks for that before this.
fn created_nothing(files: &Runtime, inputs: &Inputs, report: &Report) {
    let step = format!("{:?}", inputs.step).to_ascii_lowercase();
    let what = if inputs.dry_run {
        format!("a dry run of `step: {step}`")
    } else if report.status == "skipped" {
        format!("`step: {step}`, skipped")
    } else if report.status == "inactive" && matches!(inputs.step, Step::Deploy | Step::Start) {
        "a teardown".to_string()
    } else {
        format!("`step: {step}`")
    };
    if let Err(e) = files.save_state("deployment-none", &what) {
        tracing::debug!("could not tell the post step that nothing was created: {e}");
    }
}

/// What the main step does, or the report it ends with before any client exists.
enum Decided {
    Work(Work),
    Done(Box<Report>),
    /// `step: report`: reads only, none of a deploy's machinery.
    Report(Box<steps::delivery::ReportRequest>),
}

/// The target `step: start` deployed, from the same event: `{branch}` and `{number}` in
/// `environment-url` are filled as start filled them. A placeholder the event cannot fill (it maps
/// to no deployment, or has no pull request for `{number}`) is bad input, as in every step.
fn finish_target(event: &Event, inputs: &Inputs) -> Result<Option<plan::Target>, BadInput> {
    let target = plan::destination(event, inputs)
        .ok()
        .map(|d| d.target().clone());
    inputs
        .check_run_placeholders(target.as_ref().is_some_and(|t| t.pr_number.is_some()))
        .map_err(|e| BadInput(e.to_string()))?;
    if let (None, Some(url)) = (&target, &inputs.environment_url) {
        if url.uses("branch") {
            return Err(BadInput("input `environment-url`: `{branch}` has no value in this run: `step: finish` takes it from the event `step: start` deployed, and this event maps to no branch; write the URL out, or use `{environment}` and `{sha}`".into()));
        }
    }
    Ok(target)
}

/// Where the event points is decided once, before any client exists: a skip costs no TLS set-up
/// and no request, and a checkout at the test-merge commit is refused before anything can have
/// been written. A teardown builds nothing and is not checked.
fn decide(
    event: &Event,
    inputs: &Inputs,
    context: &Context,
    now: jiff::Timestamp,
) -> Result<Decided, BadInput> {
    // A matrix over `targets` must see an empty list, not no output.
    let skipped = |skip| {
        let mut report = steps::skip_report(inputs, skip);
        if !inputs.targets.is_empty() {
            report.targets = Some(Vec::new());
        }
        report
    };
    // A placeholder with no value in this run (`{number}` without a pull request) is bad input,
    // in the templates this run uses.
    // And a `working-directory` that does not exist, where commands would run.
    let placeholders = |dest: &plan::Destination| {
        inputs
            .check_run_placeholders(dest.target().pr_number.is_some())
            .map_err(|e| BadInput(e.to_string()))?;
        if inputs.step == Step::Plan {
            return Ok(());
        }
        steps::check_working_dir(inputs, context).map_err(BadInput)
    };
    if matches!(inputs.step, Step::Lock | Step::Unlock) {
        // A lock names its environment without an event: no pull request.
        inputs
            .check_run_placeholders(false)
            .map_err(|e| BadInput(e.to_string()))?;
    }
    // Before anything else: these steps act on environments a fork must not steer.
    plan::refuse_fork_event(event, inputs.step).map_err(BadInput)?;
    let work = match inputs.step {
        Step::Finish => Work::Finish(finish_target(event, inputs)?),
        Step::Deactivate => Work::Deactivate,
        Step::Lock => Work::Lock(rollout::event::Sha::parse(&context.sha).ok_or_else(|| {
            BadInput("GITHUB_SHA is not a commit sha: `step: lock` makes its lock commit with the tree of the run's commit, so it must run inside a GitHub Actions job".into())
        })?),
        Step::Unlock => Work::Unlock,
        Step::Sweep => {
            rollout::sweep::refuse_fork(event, "sweep").map_or(Ok(()), |s| Err(BadInput(s)))?;
            rollout::sweep::check_event(event).map_err(BadInput)?;
            Work::Sweep
        }
        Step::Report => {
            return report_request(
                inputs.environment.as_ref().map(|e| e.as_str()),
                env("INPUT_PERIOD").as_deref(),
                |input| format!("input `{input}`"),
            )
            .map(|r| Decided::Report(Box::new(r)))
        }
        // A rollback checks its own commit out, and no freeze window blocks it.
        Step::Rollback => match plan::destination(event, inputs) {
            Ok(dest) if !dest.is_teardown() => {
                placeholders(&dest)?;
                Work::Rollback(dest)
            }
            Ok(_) => return Err(BadInput(
                "step: rollback runs on a closed pull request's event, which tears its preview down; run the rollback from workflow_dispatch".into(),
            )),
            Err(skip) => return Ok(Decided::Done(Box::new(steps::skip_report(inputs, skip)))),
        },
        // A promotion checks the source's commit out; freeze windows and locks are its own.
        Step::Promote => match plan::destination(event, inputs) {
            Ok(dest) if !dest.is_teardown() => Work::Promote(dest),
            Ok(_) => return Err(BadInput(
                "step: promote runs on a closed pull request's event, which tears its preview down; run the promotion from workflow_dispatch".into(),
            )),
            Err(skip) => return Ok(Decided::Done(Box::new(steps::skip_report(inputs, skip)))),
        },
        Step::Plan => match plan::destination(event, inputs) {
            Ok(dest) => {
                placeholders(&dest)?;
                Work::Plan(dest)
            }
            Err(skip) => return Ok(Decided::Done(Box::new(skipped(skip)))),
        },
        step @ (Step::Deploy | Step::Start) => {
            let dest = match plan::destination(event, inputs) {
                Ok(dest) => dest,
                Err(skip) => return Ok(Decided::Done(Box::new(skipped(skip)))),
            };
            placeholders(&dest)?;
            // A freeze window that blocks every environment: decided before any request. A
            // preview's sticky comment says why; that alone needs a client.
            if let Some(skip) = plan::frozen(&dest, inputs, now) {
                let mut report = skipped(skip);
                // Where and what it would have deployed, as a lock's block says too.
                if inputs.targets.is_empty() {
                    let target = dest.target();
                    report.environment = target.environment.clone();
                    report.sha = target.sha.to_string();
                    report.git_ref = target
                        .git_ref
                        .as_ref()
                        .map(|r| r.full().to_string())
                        .unwrap_or_default();
                }
                return Ok(match steps::frozen_preview(&dest, inputs, &report) {
                    Some(preview) => Decided::Work(Work::Frozen(Box::new(preview))),
                    None => Decided::Done(Box::new(report)),
                });
            }
            if !dest.is_teardown() {
                steps::verify_checkout(event, inputs, context, dest.target()).map_err(BadInput)?;
            }
            Work::Deploy(dest, step == Step::Deploy)
        }
    };
    Ok(Decided::Work(work))
}

/// Outputs, summary and the closing line; returns the exit code. For `step: plan` the outputs
/// are the step's product (a later job's matrix reads `targets`): one that cannot be written
/// fails the step, rather than leaving the next job a `fromJSON('')` that fails far away.
fn conclude(report: &Report, files: &Runtime, step: Step) -> i32 {
    let mut unwritten = None;
    for (name, value) in report.outputs() {
        if let Err(e) = files.set_output(name, &value) {
            tracing::warn!("could not write output {name}: {e}");
            unwritten.get_or_insert((name, e));
        }
    }
    if let (Step::Plan, Some((name, e))) = (step, unwritten) {
        runtime::error(&format!(
            "step: plan decided ({}), but could not write its outputs to GITHUB_OUTPUT ({name}: {e}); a job that reads them would get nothing, so the step fails",
            report.status
        ));
        return 1;
    }
    if report.status != "skipped" || !report.detail.is_empty() {
        if let Err(e) = files.append_summary(&report::summary(report)) {
            tracing::warn!("could not write the step summary: {e}");
        }
    }
    match report.status.as_str() {
        "failure" | "error" | "blocked" => {
            runtime::error(report.log_detail.as_deref().unwrap_or(&report.detail))
        }
        "cancelled" => runtime::warning(&report.detail),
        "skipped" => {}
        _ => tracing::info!(
            "{}: {}",
            report.status,
            rollout::runtime::Untrusted(&report.detail)
        ),
    }
    report.exit_code()
}

async fn post_step() -> Result<i32, BadInput> {
    let context = Context::from_env(env);
    let saved = match steps::Saved::from_env(env) {
        Ok(saved) => saved,
        Err(nothing) => {
            tracing::info!(
                "post: {}; nothing to finish",
                rollout::runtime::Untrusted(&nothing)
            );
            return Ok(0);
        }
    };
    let raw = RawInputs::from_os_env(std::env::vars_os()).map_err(BadInput)?;
    let token = Inputs::parse_token(&raw);
    let timeout = Inputs::parse_final_status_timeout(&raw).map_err(|e| BadInput(e.to_string()))?;
    let client = client(&context, required_token(&context, token.as_ref())?, timeout)?;
    let mut code = 0;
    for report in steps::post(&client, &context, &saved).await {
        if report.exit_code() == 0 {
            tracing::info!("post: {}", rollout::runtime::Untrusted(&report.detail));
        } else {
            runtime::error(&report.detail);
        }
        code = code.max(report.exit_code());
    }
    Ok(code)
}

async fn plan_command(
    event_path: &Path,
    event_name: Option<String>,
    overrides: &[String],
    workspace: Option<PathBuf>,
    now: Option<&str>,
) -> Result<i32, BadInput> {
    let now = match now {
        Some(text) => {
            rollout::freeze::parse_now(text).map_err(|e| BadInput(format!("--now: {e}")))?
        }
        None => jiff::Timestamp::now(),
    };
    let name = event_name
        .or_else(|| env("GITHUB_EVENT_NAME"))
        .ok_or_else(|| {
            BadInput("give the event name with --event-name (or GITHUB_EVENT_NAME)".into())
        })?;
    let inputs = read_inputs(overrides)?;
    let event = read_event_for(&inputs, event_path, &name)?;
    let workspace = workspace
        .or_else(|| env("GITHUB_WORKSPACE").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    print!(
        "{}",
        steps::offline::plan_text(&event, &inputs, &workspace, now).await
    );
    Ok(0)
}

/// `environment` and `period` of a report, checked before any request; `name` says how the
/// user gave each (an input, or a flag).
fn report_request(
    environment: Option<&str>,
    period: Option<&str>,
    name: impl Fn(&str) -> String,
) -> Result<steps::delivery::ReportRequest, BadInput> {
    steps::delivery::ReportRequest::parse(environment, period)
        .map_err(|(input, why)| BadInput(format!("{} {why}", name(input))))
}

/// `rollout report` on a workstation: the token from GITHUB_TOKEN, the API from GITHUB_API_URL
/// (github.com's when unset) and GITHUB_GRAPHQL_URL.
async fn report_command(
    repo: &str,
    environment: &str,
    period: &str,
    json: bool,
) -> Result<i32, BadInput> {
    let request = report_request(Some(environment), Some(period), |flag| format!("--{flag}"))?;
    let valid = repo
        .split_once('/')
        .is_some_and(|(owner, name)| !owner.is_empty() && !name.is_empty() && !name.contains('/'));
    if !valid {
        return Err(BadInput(format!(
            "--repo {repo:?} is not OWNER/NAME (for example `octo-org/app`)"
        )));
    }
    let token = env("GITHUB_TOKEN").map(rollout::inputs::Token::new).ok_or_else(|| {
        BadInput("GITHUB_TOKEN is not set: export a token that can read the repository's deployments (`gh auth token` gives yours)".into())
    })?;
    let api_url = env("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into());
    let context = Context::from_env(|name| match name {
        "GITHUB_REPOSITORY" => Some(repo.to_string()),
        "GITHUB_API_URL" => Some(api_url.clone()),
        other => env(other),
    });
    let client = client(&context, &token, std::time::Duration::from_secs(60))?;
    Ok(steps::delivery::command(&client, &request, jiff::Timestamp::now(), json).await)
}
