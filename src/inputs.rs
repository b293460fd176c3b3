//! Action inputs -> typed [`Inputs`]. Every error names the input, and the line for line-based ones.

use crate::lines::{err, glob_error, input_lines, split_pair, unquote};
pub use crate::lines::{path_glob, InputError};
use crate::text::Template;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use regex::Regex;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The API token. Its Debug and Display never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: String) -> Token {
        Token(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Deploy,
    Start,
    Finish,
    Deactivate,
    /// Decide and set the outputs (`targets` above all); reads only, no API write, no command.
    Plan,
    /// Deploy again the commit of an earlier successful deployment (`to`).
    Rollback,
    /// Hold `environment`: deploys to it are blocked until `unlock` (or `lock-expires`).
    Lock,
    /// Release the lock of `environment`.
    Unlock,
    /// Tear down the previews whose pull request closed (and, with `preview-expires`, idle ones).
    Sweep,
    /// Deploy `from`'s live commit, with its task and artifact, to `environment`.
    Promote,
    /// The delivery report of the environments `environment` (a glob) matches, over `period`.
    Report,
}

impl Step {
    /// The steps that act on environments a fork must not steer: they refuse an event that comes
    /// from a fork whatever `allow-fork-code` says (`plan::refuse_fork_event`). `step: sweep`
    /// is one of them.
    pub fn refuses_forks(self) -> bool {
        matches!(
            self,
            Step::Rollback | Step::Promote | Step::Lock | Step::Unlock | Step::Sweep
        )
    }

    /// The value of the `step` input that names it.
    pub fn name(self) -> &'static str {
        match self {
            Step::Deploy => "deploy",
            Step::Start => "start",
            Step::Finish => "finish",
            Step::Deactivate => "deactivate",
            Step::Plan => "plan",
            Step::Rollback => "rollback",
            Step::Lock => "lock",
            Step::Unlock => "unlock",
            Step::Promote => "promote",
            Step::Sweep => "sweep",
            Step::Report => "report",
        }
    }
}

/// `${{ job.status }}` as given to `step: finish`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Success,
    Failure,
    Cancelled,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Since {
    Event,
    LastDeployment,
}

/// One `environments` line: a glob over the branch name (or the full ref when it starts with
/// `refs/`) and the environment it maps to.
#[derive(Clone, Debug)]
pub struct EnvironmentRule {
    pub line: usize,
    pub pattern: String,
    pub environment: Template,
    matcher: globset::GlobMatcher,
    full_ref: bool,
}

impl EnvironmentRule {
    /// `full_ref` is `refs/...`; `branch` its branch name when it is a branch.
    pub fn matches(&self, full_ref: &str, branch: Option<&str>) -> bool {
        if self.full_ref {
            self.matcher.is_match(full_ref)
        } else {
            branch.is_some_and(|b| self.matcher.is_match(b))
        }
    }

    /// Whether a branch-style pattern (no `refs/`) would match `name` were it a branch: a tag
    /// push that only such a line matches is told to write `refs/tags/...`.
    pub fn matches_branch_name(&self, name: &str) -> bool {
        !self.full_ref && self.matcher.is_match(name)
    }
}

/// `tasks`: ordered `TASK: GLOB GLOB...` lines, all globs compiled into one set.
#[derive(Clone, Debug, Default)]
pub struct TaskRules {
    pub tasks: Vec<String>,
    set: GlobSet,
    /// For each glob in `set`, the index of its task.
    owner: Vec<usize>,
}

impl TaskRules {
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }

    /// The first task whose globs cover every file; `None` when no task covers them all (or
    /// there are no files: an empty change proves nothing about which task is enough).
    pub fn select<'a>(&self, files: impl IntoIterator<Item = &'a str>) -> Option<&str> {
        let mut covering = vec![true; self.tasks.len()];
        let mut any = false;
        let mut hits = Vec::new();
        let mut per_file = vec![false; self.tasks.len()];
        for file in files {
            any = true;
            per_file.iter_mut().for_each(|f| *f = false);
            self.set.matches_into(file, &mut hits);
            for &glob in &hits {
                per_file[self.owner[glob]] = true;
            }
            for (cov, hit) in covering.iter_mut().zip(&per_file) {
                *cov &= *hit;
            }
            if !covering.iter().any(|c| *c) {
                return None;
            }
        }
        if !any {
            return None;
        }
        covering
            .iter()
            .position(|c| *c)
            .map(|i| self.tasks[i].as_str())
    }
}

/// `paths`: include globs, and `!`-prefixed exclude globs.
#[derive(Clone, Debug)]
pub struct PathFilter {
    include: Option<GlobSet>,
    exclude: GlobSet,
    pub patterns: Vec<String>,
}

impl PathFilter {
    pub fn matches(&self, path: &str) -> bool {
        self.include.as_ref().is_none_or(|set| set.is_match(path)) && !self.exclude.is_match(path)
    }
}

#[derive(Clone, Debug)]
pub struct Inputs {
    pub token: Option<Token>,
    pub environments: Vec<EnvironmentRule>,
    pub environment: Option<Template>,
    pub preview_environment: Option<Template>,
    pub command: Option<String>,
    pub teardown_command: Option<String>,
    pub working_directory: Option<PathBuf>,
    pub environment_url: Option<Template>,
    pub description: Option<Template>,
    pub payload: serde_json::Map<String, serde_json::Value>,
    pub task: Option<String>,
    pub tasks: TaskRules,
    pub paths: Option<PathFilter>,
    pub since: Since,
    pub skip_commit_pattern: Option<Regex>,
    pub step: Step,
    pub status: Option<JobStatus>,
    pub deployment_id: Option<u64>,
    pub required_contexts: Vec<String>,
    pub production: Option<bool>,
    pub transient: Option<bool>,
    pub timeout: Option<Duration>,
    pub comment: Option<bool>,
    pub delete_environment: bool,
    pub supersede: bool,
    pub allow_fork_code: bool,
    pub fail_on_read_only: bool,
    pub pass_token: bool,
    pub dry_run: bool,
    pub verify_checkout: bool,
    /// `final-status-timeout`: how long a final status keeps trying through rate limits and
    /// outages.
    pub final_status_timeout: Duration,
    /// The deployable units of the repository (`targets`); empty: the repository is one unit.
    pub targets: crate::targets::Targets,
    /// `target`: the one target this run deploys (a matrix job's).
    pub target: Option<String>,
    /// `target-environment`: a target's environment; `None` is `{environment}-{target}`.
    pub target_environment: Option<Template>,
    /// `freeze`: `ENVIRONMENT-GLOB: WINDOW` lines.
    pub freeze: crate::freeze::FreezeRules,
    /// `override-freeze`: why this run deploys inside a freeze window anyway.
    pub override_freeze: Option<String>,
    /// `to`: what `step: rollback` goes back to.
    pub to: RollbackTo,
    /// `reason`: why `step: lock` holds the environment.
    pub reason: Option<String>,
    /// `lock-expires`: the lock ends by itself after this long.
    pub lock_expires: Option<Duration>,
    /// `preview-expires`: `step: sweep` tears down a preview idle this long.
    pub preview_expires: Option<Duration>,
    /// `verify`, `verify-timeout` and `on-failure`.
    pub verify: VerifyInputs,
    /// `artifact`, `requires`, `override-requires`, `from`.
    pub promotion: crate::shipping::PromotionInputs,
}

/// Every input rollout knows, so that a misspelt `--input` is caught.
pub const KNOWN: &[&str] = &[
    "token",
    "environments",
    "environment",
    "preview-environment",
    "command",
    "teardown-command",
    "working-directory",
    "environment-url",
    "description",
    "payload",
    "task",
    "tasks",
    "paths",
    "since",
    "skip-commit-pattern",
    "step",
    "status",
    "deployment-id",
    "required-contexts",
    "production",
    "transient",
    "timeout",
    "comment",
    "delete-environment",
    "supersede",
    "allow-fork-code",
    "fail-on-read-only",
    "pass-token",
    "dry-run",
    "verify-checkout",
    "final-status-timeout",
    "targets",
    "target",
    "target-environment",
    "to",
    "freeze",
    "override-freeze",
    "reason",
    "lock-expires",
    "preview-expires",
    "verify",
    "verify-timeout",
    "on-failure",
    "artifact",
    "requires",
    "override-requires",
    "from",
    "period",
];

/// Raw inputs by name (lower case, hyphens kept), as the runner passes them.
#[derive(Clone, Debug, Default)]
pub struct RawInputs(BTreeMap<String, String>);

impl RawInputs {
    /// The `INPUT_*` variables of a process environment read as OS strings (`std::env::vars`
    /// panics on a byte that is not UTF-8, even in a variable rollout never reads). Other
    /// variables are not looked at; an input that is not UTF-8 is an error naming it, never its
    /// value (it may be a secret).
    pub fn from_os_env(
        vars: impl IntoIterator<Item = (std::ffi::OsString, std::ffi::OsString)>,
    ) -> Result<RawInputs, String> {
        let mut utf8 = Vec::new();
        for (k, v) in vars {
            let Some(name) = k.to_str().and_then(|k| k.strip_prefix("INPUT_")) else {
                continue;
            };
            match v.into_string() {
                Ok(v) => utf8.push((format!("INPUT_{name}"), v)),
                Err(_) => {
                    return Err(format!(
                        "input `{}` is not valid UTF-8 (the INPUT_{name} variable holds bytes that are not text)",
                        name.to_ascii_lowercase().replace(' ', "_")
                    ))
                }
            }
        }
        Ok(RawInputs::from_env(utf8))
    }

    /// Reads `INPUT_<NAME>` variables: the runner upper-cases the name and keeps hyphens.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> RawInputs {
        RawInputs(
            vars.into_iter()
                .filter_map(|(k, v)| {
                    k.strip_prefix("INPUT_")
                        .map(|name| (name.to_ascii_lowercase().replace(' ', "_"), v))
                })
                .collect(),
        )
    }
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_ascii_lowercase(), value.into());
    }
    /// The trimmed value, `None` when empty: the runner passes every declared input, empty or not.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
    pub(crate) fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.trim().is_empty())
    }
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

fn boolean(raw: &RawInputs, name: &'static str) -> Result<Option<bool>, InputError> {
    match raw.get(name) {
        None => Ok(None),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(v) => Err(err(name, format!("{v:?} is not `true` or `false`"))),
    }
}

/// `PATTERN: VALUE`, split at the first colon followed by a space outside quotes
/// (`deploy:dags: dags/**`).
fn split_line<'a>(
    input: &'static str,
    n: usize,
    line: &'a str,
    shape: &str,
) -> Result<(&'a str, &'a str), InputError> {
    let bad = |message: String| InputError {
        input,
        line: Some((n, line.to_string())),
        message,
    };
    let (left, right) = split_pair(line).ok_or_else(|| {
        bad(format!(
            "expected `{shape}` (a colon and a space between them)"
        ))
    })?;
    if left.is_empty() || right.is_empty() {
        return Err(bad(format!(
            "expected `{shape}`, with both sides filled in"
        )));
    }
    Ok((left, right))
}

fn parse_environments(text: &str) -> Result<Vec<EnvironmentRule>, InputError> {
    let mut rules = Vec::new();
    for (n, line) in input_lines("environments", text)? {
        let (pattern, environment) =
            split_line("environments", n, line, "BRANCH-GLOB: ENVIRONMENT")?;
        let glob = GlobBuilder::new(pattern)
            .literal_separator(true)
            .build()
            .map_err(|e| InputError {
                input: "environments",
                line: Some((n, line.to_string())),
                message: glob_error(pattern, &e),
            })?;
        rules.push(EnvironmentRule {
            line: n,
            pattern: pattern.to_string(),
            environment: Template::new(environment),
            matcher: glob.compile_matcher(),
            full_ref: pattern.starts_with("refs/"),
        });
    }
    Ok(rules)
}

fn parse_tasks(text: &str) -> Result<TaskRules, InputError> {
    let mut rules = TaskRules::default();
    let mut builder = GlobSetBuilder::new();
    for (n, line) in input_lines("tasks", text)? {
        let (task, globs) = split_line("tasks", n, line, "TASK: GLOB GLOB...")?;
        let index = rules.tasks.len();
        rules.tasks.push(task.to_string());
        for pattern in globs.split_whitespace() {
            let glob = path_glob(pattern).map_err(|e| InputError {
                input: "tasks",
                line: Some((n, line.to_string())),
                message: glob_error(pattern, &e),
            })?;
            builder.add(glob);
            rules.owner.push(index);
        }
    }
    rules.set = builder
        .build()
        .map_err(|e| err("tasks", format!("the globs could not be compiled: {e}")))?;
    Ok(rules)
}

fn parse_paths(text: &str) -> Result<Option<PathFilter>, InputError> {
    let mut include = GlobSetBuilder::new();
    let mut exclude = GlobSetBuilder::new();
    let (mut includes, mut patterns) = (0, Vec::new());
    for (n, line) in input_lines("paths", text)? {
        let line = unquote(line);
        let (target, pattern) = match line.strip_prefix('!') {
            Some(p) => (&mut exclude, unquote(p)),
            None => {
                includes += 1;
                (&mut include, line)
            }
        };
        let glob = path_glob(pattern).map_err(|e| InputError {
            input: "paths",
            line: Some((n, line.to_string())),
            message: glob_error(pattern, &e),
        })?;
        target.add(glob);
        patterns.push(line.to_string());
    }
    if patterns.is_empty() {
        return Ok(None);
    }
    let build = |b: GlobSetBuilder| {
        b.build()
            .map_err(|e| err("paths", format!("the globs could not be compiled: {e}")))
    };
    Ok(Some(PathFilter {
        include: if includes > 0 {
            Some(build(include)?)
        } else {
            None
        },
        exclude: build(exclude)?,
        patterns,
    }))
}

/// `90s`, `15m`, `1h`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let shown = text;
    let text = text.trim();
    let not_one = || {
        format!(
            "{shown:?} is not a duration; write `90s`, `15m`, `1h`, `2d` or a number of seconds"
        )
    };
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| not_one())?;
    let seconds = match unit.trim() {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        // A lock over a weekend is counted in days.
        "d" => n.checked_mul(86_400),
        _ => return Err(not_one()),
    }
    .ok_or_else(|| format!("{shown:?} is longer than rollout can wait"))?;
    if seconds == 0 {
        return Err(format!(
            "{shown:?} is no time at all; a limit must be at least one second (`90s`, `15m`, `1h`)"
        ));
    }
    Ok(Duration::from_secs(seconds))
}

/// `step`: which of rollout's steps this run is.
fn parse_step(raw: &RawInputs) -> Result<Step, InputError> {
    Ok(match raw.get("step").unwrap_or("deploy") {
        "deploy" => Step::Deploy,
        "start" => Step::Start,
        "finish" => Step::Finish,
        "deactivate" => Step::Deactivate,
        "plan" => Step::Plan,
        "rollback" => Step::Rollback,
        "lock" => Step::Lock,
        "unlock" => Step::Unlock,
        "sweep" => Step::Sweep,
        "promote" => Step::Promote,
        "report" => Step::Report,
        other => {
            return Err(err(
                "step",
                format!(
                    "{other:?} is not a step; use `deploy`, `start`, `finish`, `deactivate`, `plan`, `rollback`, `promote`, `lock`, `unlock`, `sweep` or `report`"
                ),
            ))
        }
    })
}

/// `status`: `${{ job.status }}` for `step: finish`.
fn parse_status(raw: &RawInputs) -> Result<Option<JobStatus>, InputError> {
    Ok(match raw.get("status") {
        None => None,
        Some("success") => Some(JobStatus::Success),
        Some("failure") => Some(JobStatus::Failure),
        Some("cancelled") => Some(JobStatus::Cancelled),
        Some(other) => {
            return Err(err(
                "status",
                format!("{other:?} is not a job status; pass `${{{{ job.status }}}}` (success, failure or cancelled)"),
            ))
        }
    })
}

fn parse_deployment_id(raw: &RawInputs) -> Result<Option<u64>, InputError> {
    raw.get("deployment-id")
        .map(|v| {
            v.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
                err(
                    "deployment-id",
                    format!("{v:?} is not a deployment id (a positive number)"),
                )
            })
        })
        .transpose()
}

fn parse_payload(
    raw: &RawInputs,
) -> Result<serde_json::Map<String, serde_json::Value>, InputError> {
    match raw.get("payload") {
        None => Ok(serde_json::Map::new()),
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(_) => Err(err(
                "payload",
                "must be a JSON object such as `{\"key\": \"value\"}`",
            )),
            Err(e) => Err(err(
                "payload",
                format!("is not valid JSON ({e}); write a JSON object"),
            )),
        },
    }
}

fn parse_since(raw: &RawInputs) -> Result<Since, InputError> {
    match raw.get("since").unwrap_or("event") {
        "event" => Ok(Since::Event),
        "last-deployment" => Ok(Since::LastDeployment),
        other => Err(err(
            "since",
            format!("{other:?} is not a diff base; use `event` or `last-deployment`"),
        )),
    }
}

fn parse_skip_commit_pattern(raw: &RawInputs) -> Result<Option<Regex>, InputError> {
    raw.raw("skip-commit-pattern")
        .map(|p| {
            Regex::new(p.trim()).map_err(|e| {
                err(
                    "skip-commit-pattern",
                    format!("is not a valid regular expression: {e}"),
                )
            })
        })
        .transpose()
}

fn parse_required_contexts(raw: &RawInputs) -> Result<Vec<String>, InputError> {
    Ok(match raw.raw("required-contexts") {
        Some(t) => input_lines("required-contexts", t)?
            .into_iter()
            .map(|(_, l)| unquote(l).to_string())
            .collect(),
        None => Vec::new(),
    })
}

/// The longest `lock-expires`: ten years, so that the lock's end is always a time GitHub and
/// rollout can write (`99999999d` would be past the year 9999).
pub const LONGEST_LOCK: Duration = Duration::from_secs(3650 * 86_400);

fn parse_lock_expires(raw: &RawInputs) -> Result<Option<Duration>, InputError> {
    let expires = optional_duration(raw, "lock-expires")?;
    match (expires, raw.get("lock-expires")) {
        (Some(d), Some(written)) if d > LONGEST_LOCK => Err(err(
            "lock-expires",
            format!("{written:?} is longer than a lock can last; give at most `3650d` (ten years), or leave it empty for a lock that holds until `step: unlock`"),
        )),
        _ => Ok(expires),
    }
}

/// A duration as a person writes it: the largest unit that divides it (`4h`, `90s`, `2d`).
pub fn show_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => "0s".to_string(),
        _ if s.is_multiple_of(86_400) => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

/// `{environment}`, `{branch}`, ...: the placeholders a sentence offers.
fn placeholder_list() -> String {
    let all: Vec<String> = crate::text::PLACEHOLDERS
        .iter()
        .map(|p| format!("`{{{p}}}`"))
        .collect();
    all.join(" ")
}

/// A duration input (`timeout`, `lock-expires`); empty is none.
fn optional_duration(raw: &RawInputs, input: &'static str) -> Result<Option<Duration>, InputError> {
    raw.get(input)
        .map(|v| parse_duration(v).map_err(|message| err(input, message)))
        .transpose()
}

/// A template input by name, with its line (number and text) for line-based inputs.
type NamedTemplate<'a> = (&'static str, Option<(usize, String)>, &'a Template);

impl Inputs {
    /// The token alone (the post step needs nothing else but the next).
    pub fn parse_token(raw: &RawInputs) -> Option<Token> {
        raw.get("token").map(|t| Token::new(t.to_string()))
    }

    /// `final-status-timeout` (default 15 minutes), which the post step reads too.
    pub fn parse_final_status_timeout(raw: &RawInputs) -> Result<Duration, InputError> {
        match raw.get("final-status-timeout") {
            None => Ok(Duration::from_secs(15 * 60)),
            Some(v) => parse_duration(v).map_err(|message| InputError {
                input: "final-status-timeout",
                line: None,
                message,
            }),
        }
    }

    pub fn parse(raw: &RawInputs) -> Result<Inputs, InputError> {
        let template = |name: &str| raw.get(name).map(Template::new);
        let inputs = Inputs {
            token: Self::parse_token(raw),
            environments: raw
                .raw("environments")
                .map(parse_environments)
                .transpose()?
                .unwrap_or_default(),
            environment: template("environment"),
            preview_environment: template("preview-environment"),
            command: raw.raw("command").map(str::to_string),
            teardown_command: raw.raw("teardown-command").map(str::to_string),
            working_directory: raw.get("working-directory").map(PathBuf::from),
            environment_url: template("environment-url"),
            description: template("description"),
            payload: parse_payload(raw)?,
            task: raw.get("task").map(str::to_string),
            tasks: raw
                .raw("tasks")
                .map(parse_tasks)
                .transpose()?
                .unwrap_or_default(),
            paths: raw.raw("paths").map(parse_paths).transpose()?.flatten(),
            since: parse_since(raw)?,
            skip_commit_pattern: parse_skip_commit_pattern(raw)?,
            step: parse_step(raw)?,
            status: parse_status(raw)?,
            deployment_id: parse_deployment_id(raw)?,
            required_contexts: parse_required_contexts(raw)?,
            production: boolean(raw, "production")?,
            transient: boolean(raw, "transient")?,
            timeout: optional_duration(raw, "timeout")?,
            comment: boolean(raw, "comment")?,
            delete_environment: boolean(raw, "delete-environment")?.unwrap_or(false),
            supersede: boolean(raw, "supersede")?.unwrap_or(true),
            allow_fork_code: boolean(raw, "allow-fork-code")?.unwrap_or(false),
            fail_on_read_only: boolean(raw, "fail-on-read-only")?.unwrap_or(false),
            pass_token: boolean(raw, "pass-token")?.unwrap_or(false),
            dry_run: boolean(raw, "dry-run")?.unwrap_or(false),
            verify_checkout: boolean(raw, "verify-checkout")?.unwrap_or(true),
            final_status_timeout: Self::parse_final_status_timeout(raw)?,
            targets: crate::targets::Targets::parse(raw.get("targets").unwrap_or(""))?,
            target: raw
                .get("target")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_string),
            target_environment: template("target-environment"),
            freeze: crate::freeze::FreezeRules::parse(raw.raw("freeze").unwrap_or(""))?,
            override_freeze: raw.get("override-freeze").map(str::to_string),
            to: RollbackTo::parse(raw.get("to").unwrap_or(""))?,
            reason: raw
                .get("reason")
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string),
            lock_expires: parse_lock_expires(raw)?,
            preview_expires: optional_duration(raw, "preview-expires")?,
            verify: VerifyInputs::parse(raw, parse_step(raw)?)?,
            promotion: crate::shipping::PromotionInputs::parse(
                |name| raw.raw(name),
                parse_step(raw)? == Step::Promote,
            )?,
        };
        inputs.check_step()?;
        inputs.check_placeholders()?;
        inputs.promotion.check(!inputs.targets.is_empty())?;
        Ok(inputs)
    }

    /// The templates by input name (with the line for `environments`).
    fn templates(&self) -> Vec<NamedTemplate<'_>> {
        let mut all: Vec<NamedTemplate<'_>> = Vec::new();
        for (name, template) in [
            ("environment", &self.environment),
            ("preview-environment", &self.preview_environment),
            ("environment-url", &self.environment_url),
            ("description", &self.description),
            ("target-environment", &self.target_environment),
        ] {
            if let Some(t) = template {
                all.push((name, None, t));
            }
        }
        for rule in &self.environments {
            let text = format!("{}: {}", rule.pattern, rule.environment.as_str());
            all.push(("environments", Some((rule.line, text)), &rule.environment));
        }
        all
    }

    /// Every template names only rollout's placeholders, and none that can never have a value
    /// where it is written; `{number}` on a run without a pull request is
    /// [`Inputs::check_run_placeholders`]'s.
    fn check_placeholders(&self) -> Result<(), InputError> {
        for (input, line, template) in self.templates() {
            let names_environment = matches!(
                input,
                "environment" | "preview-environment" | "environments"
            );
            for name in template.placeholders() {
                let no_value = match name {
                    _ if !crate::text::PLACEHOLDERS.contains(&name) => Some(format!(
                        "`{{{name}}}` is not a placeholder of rollout; use {}, or `{{{{` and `}}}}` for a literal brace",
                        placeholder_list()
                    )),
                    "environment" if names_environment => Some(
                        "`{environment}` has no value in the environment's own name; write the name out".to_string(),
                    ),
                    "target" if names_environment => Some(
                        "`{target}` has no value here: the environment is decided before any target; name a target's environment in `target-environment` (default `{environment}-{target}`)".to_string(),
                    ),
                    "target" if self.targets.is_empty() => Some(
                        "`{target}` has no value: `targets` is empty; list the targets there or remove the placeholder".to_string(),
                    ),
                    "number" if input == "environments" => Some(
                        "`{number}` has no value here: a branch or a tag has no pull request number (a pull request's environment is `preview-environment`'s)".to_string(),
                    ),
                    _ => None,
                };
                if let Some(message) = no_value {
                    return Err(InputError {
                        input,
                        line,
                        message,
                    });
                }
            }
        }
        Ok(())
    }

    /// A run without a pull request has no `{number}`: a template this run uses that names it is
    /// a bad input (`environment: pr-{number}` on a push would deploy to `pr-`).
    pub fn check_run_placeholders(&self, pull_request: bool) -> Result<(), InputError> {
        if pull_request {
            return Ok(());
        }
        for (input, line, template) in self.templates() {
            let used = !matches!(input, "preview-environment" | "environments")
                && (input != "target-environment" || !self.targets.is_empty());
            if used && template.uses("number") {
                return Err(InputError {
                    input,
                    line,
                    message: "`{number}` has no value in this run: it is a pull request's number, and this run has no pull request; use it in `preview-environment`, or name the environment otherwise".to_string(),
                });
            }
        }
        Ok(())
    }

    /// What each step needs, checked before anything is written.
    fn check_step(&self) -> Result<(), InputError> {
        if let Some(name) = &self.target {
            if self.targets.is_empty() {
                return Err(err(
                    "target",
                    format!("names the target {name:?}, but `targets` is empty; list the repository's targets there (`NAME: GLOB GLOB...`)"),
                ));
            }
            self.targets.select(name)?;
        }
        self.targets
            .check_environment_template(self.target_environment.as_ref())?;
        if !self.targets.is_empty()
            && self.target.is_none()
            && matches!(
                self.step,
                Step::Start | Step::Finish | Step::Rollback | Step::Promote
            )
        {
            return Err(err(
                "target",
                "is required for `step: start`, `step: finish`, `step: rollback` and `step: promote` when `targets` is set: each split pair opens and closes one target's deployment, and a rollback or promotion acts in one target's environment (pass the matrix's target)",
            ));
        }
        match self.step {
            Step::Deploy if self.command.is_none() => Err(err(
                "command",
                "is required for `step: deploy`; give the shell command that deploys (or use `step: start` and `step: finish` around your own steps)",
            )),
            Step::Rollback if self.environment.is_none() => Err(err(
                "environment",
                "is required for `step: rollback`: name the environment to roll back (a workflow_dispatch input, e.g. `${{ inputs.environment }}`)",
            )),
            Step::Rollback if self.command.is_none() => Err(err(
                "command",
                "is required for `step: rollback`: the same deploy command as the deploy workflow's (it deploys the earlier commit, with `ROLLOUT_ROLLBACK_PAYLOAD` beside it)",
            )),
            Step::Promote if self.environment.is_none() => Err(err(
                "environment",
                "is required for `step: promote`: name the environment to promote to (a workflow_dispatch input, e.g. `production`)",
            )),
            Step::Promote if self.command.is_none() => Err(err(
                "command",
                "is required for `step: promote`: the same deploy command as the deploy workflow's (it deploys the source's commit, with `ROLLOUT_ARTIFACT` naming the build to ship)",
            )),
            Step::Finish if self.deployment_id.is_none() => Err(err(
                "deployment-id",
                "is required for `step: finish`; pass the `deployment-id` output of the `step: start` step",
            )),
            Step::Finish if self.status.is_none() => Err(err(
                "status",
                "is required for `step: finish`; pass `${{ job.status }}`",
            )),
            Step::Lock | Step::Unlock if self.environment.is_none() => Err(err(
                "environment",
                format!(
                    "is required for `step: {}`: name the environment (`production`)",
                    if self.step == Step::Lock { "lock" } else { "unlock" }
                ),
            )),
            Step::Sweep => crate::sweep::PreviewNames::new(
                self.preview_environment.as_ref(),
                &self.targets,
                self.target_environment.as_ref(),
            )
            .map(drop),
            Step::Lock if self.reason.is_none() => Err(err(
                "reason",
                "is required for `step: lock`: say why the environment is held; every deploy it stops shows it",
            )),
            _ => Ok(()),
        }
    }
}

/// `verify-timeout`'s default.
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(600);
/// `on-failure`: what a failed `command` or `verify` leads to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnFailure {
    /// The deployment ends `failure`; a person decides what comes next.
    #[default]
    Stop,
    /// The same run rolls the environment back to its last good deployment.
    Rollback,
}

/// The three inputs, parsed on their own so that `Inputs::parse` stays as it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyInputs {
    /// `verify`: the check run after `command` exits 0.
    pub command: Option<String>,
    /// `verify-timeout`.
    pub timeout: Duration,
    pub on_failure: OnFailure,
}

impl Default for VerifyInputs {
    fn default() -> Self {
        VerifyInputs {
            command: None,
            timeout: DEFAULT_VERIFY_TIMEOUT,
            on_failure: OnFailure::Stop,
        }
    }
}

impl VerifyInputs {
    /// `verify`, `verify-timeout` and `on-failure`; with `step: start` or `finish` (where rollout
    /// runs no command) `verify` and `on-failure: rollback` are bad input.
    pub fn parse(raw: &RawInputs, step: Step) -> Result<VerifyInputs, InputError> {
        let command = raw
            .raw("verify")
            .filter(|c| !c.trim().is_empty())
            .map(str::to_string);
        let timeout = match raw.get("verify-timeout") {
            None => DEFAULT_VERIFY_TIMEOUT,
            Some(v) => parse_duration(v).map_err(|message| err("verify-timeout", message))?,
        };
        let on_failure = match raw.get("on-failure").map(str::trim) {
            None | Some("") | Some("stop") => OnFailure::Stop,
            Some("rollback") => OnFailure::Rollback,
            Some(other) => {
                return Err(err(
                    "on-failure",
                    format!("{other:?} is not what a failed deploy can lead to; use `stop` (the default) or `rollback`"),
                ))
            }
        };
        if matches!(step, Step::Start | Step::Finish) {
            let name = if step == Step::Start {
                "start"
            } else {
                "finish"
            };
            if command.is_some() {
                return Err(err(
                    "verify",
                    format!("is not used with `step: {name}`: rollout runs no command there; run the check as a step of the job before `step: finish`, or use `step: deploy`"),
                ));
            }
            if on_failure == OnFailure::Rollback {
                return Err(err(
                    "on-failure",
                    format!("`rollback` is not used with `step: {name}`: rollout runs no command there; use `step: deploy`, or a `step: rollback` job when the split deploy fails"),
                ));
            }
        }
        Ok(VerifyInputs {
            command,
            timeout,
            on_failure,
        })
    }
}

/// The shortest sha prefix accepted, as git abbreviates by default.
const MIN_PREFIX: usize = 7;
/// A full SHA-256 commit id; SHA-1 ids (40) are prefixes of that length too.
const MAX_PREFIX: usize = 64;

/// What `to` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RollbackTo {
    /// The newest older deployment that reached success with another commit, not undone since.
    Previous,
    /// A lowercase hex commit prefix of 7 to 64 digits (a full SHA-1 or SHA-256 id included).
    Sha(String),
    /// A deployment id.
    Id(u64),
    /// Digits only, 7 or more: both a sha prefix and a deployment id until the history says
    /// which exists (see [`choose`]).
    ShaOrId { prefix: String, id: u64 },
}

impl RollbackTo {
    /// `previous` (or nothing: the default), a sha or a prefix of one, or a deployment id.
    pub fn parse(text: &str) -> Result<RollbackTo, InputError> {
        let value = text.trim();
        if value.is_empty() || value.eq_ignore_ascii_case("previous") {
            return Ok(RollbackTo::Previous);
        }
        let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
        let digits = value.bytes().all(|b| b.is_ascii_digit());
        let prefix_length = (MIN_PREFIX..=MAX_PREFIX).contains(&value.len());
        // A deployment id is never written with a leading zero, a sha often starts with one.
        let as_id = (digits && !value.starts_with('0'))
            .then(|| value.parse::<u64>().ok())
            .flatten();
        match (as_id, hex && prefix_length) {
            (Some(id), true) => Ok(RollbackTo::ShaOrId {
                prefix: value.to_string(),
                id,
            }),
            (Some(id), false) => Ok(RollbackTo::Id(id)),
            (None, true) => Ok(RollbackTo::Sha(value.to_ascii_lowercase())),
            (None, false) if hex && value.len() < MIN_PREFIX => Err(err(
                "to",
                format!(
                    "`{value}` is too short for a commit: write at least {MIN_PREFIX} hex digits of its sha (or `previous`, or a deployment id)"
                ),
            )),
            (None, false) => Err(err(
                "to",
                format!(
                    "`{value}` is neither `previous`, a commit sha (40 hex digits, or a unique prefix of {MIN_PREFIX} or more) nor a deployment id"
                ),
            )),
        }
    }
}

impl fmt::Display for RollbackTo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RollbackTo::Previous => f.write_str("previous"),
            RollbackTo::Sha(prefix) | RollbackTo::ShaOrId { prefix, .. } => f.write_str(prefix),
            RollbackTo::Id(id) => write!(f, "{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawInputs {
        let mut r = RawInputs::default();
        r.set("command", "true");
        for (k, v) in pairs {
            r.set(k, *v);
        }
        r
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Inputs, InputError> {
        Inputs::parse(&raw(pairs))
    }

    #[test]
    fn a_targets_task_is_chosen_from_its_own_files_only() {
        let i = parse(&[
            ("command", "true"),
            ("tasks", "deploy:web: services/web/**"),
            ("targets", "api: services/api/**\nweb: services/web/**"),
        ])
        .unwrap();
        let affected = i.targets.affected(&crate::changes::Changes::Files {
            files: vec!["services/api/a".into(), "services/web/b".into()],
            source: "compare API a...b".into(),
        });
        let web = affected
            .get("web")
            .and_then(crate::targets::TargetVerdict::changes)
            .expect("web is affected");
        assert_eq!(
            i.tasks.select(web.files().iter().map(String::as_str)),
            Some("deploy:web")
        );
    }

    #[test]
    fn runner_names_keep_hyphens() {
        let r = RawInputs::from_env([
            ("INPUT_ENVIRONMENT-URL".to_string(), "https://x".to_string()),
            ("INPUT_COMMAND".to_string(), "make".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ]);
        let i = Inputs::parse(&r).unwrap();
        assert_eq!(i.environment_url.unwrap().as_str(), "https://x");
        assert_eq!(i.command.as_deref(), Some("make"));
    }

    #[test]
    fn defaults_follow_the_contract() {
        let i = parse(&[]).unwrap();
        assert_eq!(i.step, Step::Deploy);
        assert_eq!(i.since, Since::Event);
        assert!(i.supersede && !i.dry_run && !i.pass_token && !i.allow_fork_code);
        assert!(i.verify_checkout);
        assert!(i.required_contexts.is_empty());
        assert!(i.payload.is_empty());
        assert!(i.token.is_none());
    }

    #[test]
    fn environment_lines_split_at_colon_space() {
        let i = parse(&[(
            "environments",
            "main: production\n# comment\n\n  release/*: staging  \nrefs/tags/v*: production",
        )])
        .unwrap();
        let rules = &i.environments;
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[1].line, 4);
        assert!(rules[1].matches("refs/heads/release/1.0", Some("release/1.0")));
        assert!(!rules[1].matches("refs/heads/release/a/b", Some("release/a/b")));
        assert!(rules[2].matches("refs/tags/v1.2", None));
        assert!(
            !rules[0].matches("refs/tags/main", None),
            "branch globs never match tags"
        );
    }

    #[test]
    fn a_line_without_colon_space_is_named() {
        let e = parse(&[("environments", "main: production\nmain:production")]).unwrap_err();
        assert_eq!(e.input, "environments");
        assert_eq!(e.line, Some((2, "main:production".into())));
        assert!(
            e.to_string()
                .starts_with("input `environments` line 2 (\"main:production\"): expected"),
            "{e}"
        );
    }

    #[test]
    fn lines_written_as_a_yaml_list_are_refused_with_the_fix() {
        for (input, text, fix) in [
            ("environments", "- main: production", "main: production"),
            (
                "tasks",
                "deploy:dags: dags/**\n  - deploy: **",
                "deploy: **",
            ),
            ("paths", "- app/**", "app/**"),
            ("required-contexts", "-\tci/build", "ci/build"),
        ] {
            let e = parse(&[(input, text)]).unwrap_err();
            assert_eq!(e.input, input);
            let s = e.to_string();
            assert!(
                s.contains(&format!("write `{fix}` without the leading `- `")),
                "{s}"
            );
            assert!(!s.contains(". "), "one sentence: {s}");
        }
        // Not a list item: a leading `-` glued to the text, and `!` excludes.
        assert!(parse(&[("paths", "-weird/**\n!docs/**")]).is_ok());
    }

    #[test]
    fn an_invalid_glob_is_named() {
        let e = parse(&[("environments", "feat/[a: preview")]).unwrap_err();
        assert!(
            e.to_string().contains("`feat/[a` is not a valid glob"),
            "{e}"
        );
    }

    #[test]
    fn task_names_may_contain_colons() {
        let i = parse(&[("tasks", "deploy:dags: dags/**\ndeploy: **")]).unwrap();
        assert_eq!(i.tasks.tasks, vec!["deploy:dags", "deploy"]);
    }

    #[test]
    fn task_selection_needs_every_file_covered() {
        let i = parse(&[("tasks", "deploy:dags: dags/**\ndeploy: **")]).unwrap();
        assert_eq!(
            i.tasks.select(["dags/a.py", "dags/x/b.py"]),
            Some("deploy:dags")
        );
        assert_eq!(
            i.tasks.select(["dags/a.py", "requirements.txt"]),
            Some("deploy")
        );
        assert_eq!(i.tasks.select(["src/dags_old/x"]), Some("deploy"));
        let only_dags = parse(&[("tasks", "deploy:dags: dags/**")]).unwrap();
        assert_eq!(only_dags.tasks.select(["src/dags_old/x"]), None);
        assert_eq!(only_dags.tasks.select(std::iter::empty()), None);
    }

    #[test]
    fn paths_with_excludes() {
        let i = parse(&[("paths", "app/**\n!app/docs/**")]).unwrap();
        let p = i.paths.unwrap();
        assert!(p.matches("app/src/main.rs"));
        assert!(!p.matches("app/docs/x.md"));
        assert!(!p.matches("lib/x"));
        let only_excludes = parse(&[("paths", "!docs/**")]).unwrap().paths.unwrap();
        assert!(only_excludes.matches("src/x"));
        assert!(!only_excludes.matches("docs/x"));
    }

    #[test]
    fn booleans_are_strict() {
        assert!(parse(&[("dry-run", "TRUE")]).unwrap().dry_run);
        let e = parse(&[("dry-run", "yes please")]).unwrap_err();
        assert_eq!(e.input, "dry-run");
    }

    #[test]
    fn payload_must_be_an_object() {
        assert_eq!(parse(&[("payload", "[1]")]).unwrap_err().input, "payload");
        assert_eq!(parse(&[("payload", "{")]).unwrap_err().input, "payload");
        let i = parse(&[("payload", r#"{"a": 1}"#)]).unwrap();
        assert_eq!(i.payload["a"], 1);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("42"), Ok(Duration::from_secs(42)));
        for bad in ["", "1w", "m", "-5", "99999999999999999999h"] {
            let said = parse_duration(bad).expect_err(bad);
            assert!(said.contains("is not a duration"), "{bad}: {said}");
        }
        for zero in ["0", "0s", "0m"] {
            let said = parse_duration(zero).expect_err(zero);
            assert!(
                !said.contains("is not a duration") && said.contains("at least one second"),
                "{zero} is a duration, just not a positive one: {said}"
            );
        }
        let said = parse_duration("99999999999999999h").expect_err("too long");
        assert!(said.contains("longer than"), "{said}");
        assert_eq!(parse(&[("timeout", "soon")]).unwrap_err().input, "timeout");
        assert_eq!(
            parse(&[("final-status-timeout", "0")]).unwrap_err().input,
            "final-status-timeout"
        );
    }

    #[test]
    fn steps_and_what_they_need() {
        assert_eq!(parse(&[("step", "launch")]).unwrap_err().input, "step");
        let mut r = RawInputs::default();
        assert_eq!(Inputs::parse(&r).unwrap_err().input, "command");
        r.set("step", "finish");
        r.set("status", "success");
        assert_eq!(Inputs::parse(&r).unwrap_err().input, "deployment-id");
        r.set("deployment-id", "12");
        assert_eq!(Inputs::parse(&r).unwrap().deployment_id, Some(12));
        r.set("status", "skipped");
        assert_eq!(Inputs::parse(&r).unwrap_err().input, "status");
    }

    #[test]
    fn regex_errors_are_named() {
        assert_eq!(
            parse(&[("skip-commit-pattern", "(")]).unwrap_err().input,
            "skip-commit-pattern"
        );
    }

    #[test]
    fn the_token_never_shows_in_debug() {
        let i = parse(&[("token", "ghs_secret123")]).unwrap();
        assert!(!format!("{i:?}").contains("ghs_secret123"));
    }

    #[test]
    fn a_rollback_needs_an_environment_and_a_command_and_reads_to() {
        let e = parse(&[("step", "rollback")]).unwrap_err();
        assert_eq!(e.input, "environment", "{e}");
        let mut r = raw(&[("step", "rollback"), ("environment", "production")]);
        r.set("command", "");
        let e = Inputs::parse(&r).unwrap_err();
        assert_eq!(e.input, "command", "{e}");
        let i = parse(&[
            ("step", "rollback"),
            ("environment", "production"),
            ("to", "1a2b3c4d"),
        ])
        .unwrap();
        assert_eq!(i.to, RollbackTo::Sha("1a2b3c4d".into()));
        let e = parse(&[
            ("step", "rollback"),
            ("environment", "production"),
            ("to", "HEAD~1"),
        ])
        .unwrap_err();
        assert_eq!(e.input, "to", "{e}");
    }

    #[test]
    fn lock_needs_environment_and_reason_and_unlock_needs_environment() {
        let e = parse(&[("step", "lock"), ("reason", "incident")]).unwrap_err();
        assert_eq!(e.input, "environment");
        assert!(e.to_string().contains("`step: lock`"), "{e}");
        let e = parse(&[("step", "lock"), ("environment", "production")]).unwrap_err();
        assert_eq!(e.input, "reason");
        let e = parse(&[("step", "unlock")]).unwrap_err();
        assert!(e.to_string().contains("`step: unlock`"), "{e}");
        let i = parse(&[
            ("step", "lock"),
            ("environment", "production"),
            ("reason", " incident 42 "),
            ("lock-expires", "4h"),
        ])
        .unwrap();
        assert_eq!(i.reason.as_deref(), Some("incident 42"));
        assert_eq!(i.lock_expires, Some(Duration::from_secs(4 * 3600)));
        assert!(parse(&[("step", "unlock"), ("environment", "production")]).is_ok());
        let e = parse(&[("lock-expires", "soon")]).unwrap_err();
        assert_eq!(e.input, "lock-expires");
    }

    #[test]
    fn lines_read_as_yaml_comments_and_quotes() {
        let i = parse(&[(
            "environments",
            "main: production # prod\n\"release/*\": 'staging # eu'",
        )])
        .unwrap();
        assert_eq!(i.environments[0].environment.as_str(), "production");
        assert!(i.environments[1].matches("refs/heads/release/1", Some("release/1")));
        assert_eq!(i.environments[1].environment.as_str(), "staging # eu");
        let i = parse(&[
            ("paths", "\"app/**\" # the app\n'!app/docs/**'"),
            ("required-contexts", "\"ci: build\" # quoted"),
        ])
        .unwrap();
        let p = i.paths.unwrap();
        assert!(p.matches("app/x") && !p.matches("app/docs/x"));
        assert_eq!(i.required_contexts, ["ci: build"]);
    }

    #[test]
    fn unknown_placeholders_are_bad_input_naming_the_usable_ones() {
        for (input, text) in [
            ("environment", "prod-{env}"),
            ("environment-url", "https://{actor}.example.com"),
            ("description", "by {actor}"),
            ("preview-environment", "pr-{pr}"),
            ("environments", "main: {branch}-{Environment}"),
        ] {
            let e = parse(&[(input, text)]).unwrap_err();
            assert_eq!(e.input, input, "{e}");
            let s = e.to_string();
            assert!(s.contains("is not a placeholder of rollout"), "{s}");
            assert!(s.contains("`{short_sha}`") && s.contains("`{{`"), "{s}");
        }
        // Escaped braces and brace text that is no placeholder are fine.
        parse(&[
            ("environment-url", "https://x/{{env}}/{ not one }"),
            ("description", "{\"json\": 1}"),
        ])
        .unwrap();
    }

    #[test]
    fn placeholders_that_never_have_a_value_where_written() {
        for (pairs, said) in [
            (
                vec![("environments", "main: pr-{number}")],
                "no pull request number",
            ),
            (vec![("environment", "{environment}")], "own name"),
            (
                vec![("environment-url", "https://{target}.x")],
                "`targets` is empty",
            ),
            (
                vec![("environment", "prod-{target}"), ("targets", "api: api/**")],
                "before any target",
            ),
        ] {
            let e = parse(&pairs).unwrap_err();
            assert!(e.to_string().contains(said), "{e}");
        }
        let with_targets = parse(&[
            ("targets", "api: api/**"),
            ("environment-url", "https://{target}.{environment}.x"),
        ]);
        assert!(with_targets.is_ok());
    }

    #[test]
    fn number_needs_a_pull_request_in_the_templates_a_run_uses() {
        let i = parse(&[("environment", "pr-{number}")]).unwrap();
        assert!(i.check_run_placeholders(true).is_ok());
        let e = i.check_run_placeholders(false).unwrap_err();
        assert_eq!(e.input, "environment");
        assert!(e.to_string().contains("has no pull request"), "{e}");
        // A preview's own template is used on pull requests only.
        let i = parse(&[("preview-environment", "pr-{number}")]).unwrap();
        assert!(i.check_run_placeholders(false).is_ok());
    }

    #[test]
    fn a_lock_longer_than_ten_years_is_refused() {
        let e = parse(&[("lock-expires", "99999999d")]).unwrap_err();
        assert_eq!(e.input, "lock-expires");
        assert!(e.to_string().contains("at most `3650d`"), "{e}");
        assert!(parse(&[("lock-expires", "3650d")]).is_ok());
    }

    #[test]
    fn durations_show_as_written() {
        for text in ["4h", "90s", "2d", "15m", "1s"] {
            assert_eq!(show_duration(parse_duration(text).unwrap()), text);
        }
        assert_eq!(show_duration(Duration::from_secs(14_400)), "4h");
    }

    #[test]
    fn durations_count_days_too() {
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse_duration(" 90 "), Ok(Duration::from_secs(90)));
        assert!(parse_duration("2w").unwrap_err().contains("`2d`"));
    }
}
