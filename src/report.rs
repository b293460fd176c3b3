//! Pure text from results: what `rollout plan` prints, the step summary, and the sticky PR comment.

use crate::command::{self, Finished, Missing, Outcome};
use crate::github::State;
use crate::inputs::{Inputs, JobStatus, Step};
use crate::plan::{Changes, Decision, Plan, Plans};
use crate::text::Untrusted;
use std::time::Duration;

/// What a run ended as: the source of outputs, the summary, the comment and the exit code.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    /// An output value of CONTRACT.md: success, failure, cancelled, error, skipped, started, inactive.
    pub status: String,
    /// One sentence: why it skipped, failed, or what happened.
    pub detail: String,
    /// What the log's closing `::error::` says instead of `detail`, when it may say more: the
    /// command's own words (a name the shell could not find) go to the job log, never to a
    /// status, the summary or the PR comment.
    pub log_detail: Option<String>,
    pub deployment_id: Option<u64>,
    pub environment: String,
    pub environment_url: String,
    pub log_url: String,
    pub git_ref: String,
    pub sha: String,
    pub task: String,
    pub pr_number: Option<u64>,
    pub duration_secs: Option<u64>,
    /// The signal that cancelled the run.
    pub signal: Option<i32>,
    /// An exit code that overrides the status's (`finish` reports the job's failure but succeeds).
    pub exit: Option<i32>,
    /// With `targets`: the affected targets' names, in the order of the `targets` lines.
    pub targets: Option<Vec<String>>,
    /// With `targets`: each affected target's own result, in the same order (the `results`
    /// output, and one row each in the summary and the PR comment).
    pub rows: Vec<TargetRow>,
    /// With `targets`: the environment the branch maps to before any target's is derived from it
    /// (`pr-7` for `pr-7-api`); one job's PR comment is found by it.
    pub group_environment: String,
    /// The window this deploy went ahead in, and why (`override-freeze`).
    pub freeze_override: Option<String>,
    /// `step: rollback`: the deployment it replaced (output `rollback-of`) and the summary's
    /// sentence ("rolled back production from C (deployment 52) to A (deployment 48)").
    pub rollback: Option<(u64, String)>,
    /// The phases the command wrote to `ROLLOUT_PHASE_FILE`, with their start and duration.
    pub phases: Vec<crate::phases::PhaseRow>,
    /// What stopped a `blocked` run: `a lock` or `a freeze window`.
    pub blocked_by: Option<String>,
    /// The run's own actor holds the lock it went through: "production is locked by you
    /// (@mona: incident 42); deploying".
    pub lock_holder: Option<String>,
    /// A preview a sweep tore down: why (the sticky comment's headline).
    pub removed_because: Option<String>,
    /// `step: sweep`: each preview, why, and what was done (output `swept`).
    pub sweep: Option<crate::sweep::Swept>,
    /// `on-failure: rollback` after this deploy failed: what was put back, or why nothing was.
    pub rolled_back: Option<RolledBack>,
    /// `step: promote`: the source deployment (output `promoted-from`) and the summary's
    /// sentence, which names its creator and run.
    pub promotion: Option<(u64, String)>,
    /// `requires` not met, deployed anyway: what the required environment saw, and the reason.
    pub requires_override: Option<String>,
}

/// An automatic rollback after a failed deploy, as the outputs and the summary show it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RolledBack {
    /// The rollback deployment (output `rollback-deployment-id`); `None`: none was created.
    pub deployment_id: Option<u64>,
    /// "rolled back to abc1234 (deployment 48)", or why the environment was not rolled back.
    pub sentence: String,
}

/// One target's line of a run with `targets`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetRow {
    pub target: String,
    pub status: String,
    pub environment: String,
    pub environment_url: String,
    pub deployment_id: Option<u64>,
    pub detail: String,
    /// The phases its command wrote.
    pub phases: Vec<crate::phases::PhaseRow>,
}

impl TargetRow {
    /// The row of one target's own report.
    pub fn of(target: &str, report: &Report) -> TargetRow {
        TargetRow {
            target: target.to_string(),
            status: report.status.clone(),
            environment: report.environment.clone(),
            environment_url: report.environment_url.clone(),
            deployment_id: report.deployment_id,
            detail: report.detail.clone(),
            phases: report.phases.clone(),
        }
    }
}

impl Report {
    pub fn skipped(reason: impl Into<String>) -> Report {
        Report {
            status: "skipped".into(),
            detail: reason.into(),
            ..Report::default()
        }
    }

    pub fn exit_code(&self) -> i32 {
        if let Some(code) = self.exit {
            return code;
        }
        match self.status.as_str() {
            "failure" | "error" | "blocked" => 1,
            "cancelled" => 128 + self.signal.unwrap_or(15),
            _ => 0,
        }
    }

    /// The outputs of CONTRACT.md, in order.
    pub fn outputs(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![("status", self.status.clone())];
        if self.status == "skipped" || self.status == "blocked" {
            out.push(("skip-reason", self.detail.clone()));
        }
        if let Some(id) = self.deployment_id {
            out.push(("deployment-id", id.to_string()));
        }
        for (name, value) in [
            ("environment", &self.environment),
            ("environment-url", &self.environment_url),
            ("log-url", &self.log_url),
            ("ref", &self.git_ref),
            ("sha", &self.sha),
            ("task", &self.task),
        ] {
            if !value.is_empty() {
                out.push((name, value.clone()));
            }
        }
        if let Some((of, _)) = &self.rollback {
            out.push(("rollback-of", of.to_string()));
        }
        if let Some(sweep) = &self.sweep {
            out.push((
                "swept",
                serde_json::Value::from(sweep.swept.clone()).to_string(),
            ));
        }
        if let Some(id) = self.rolled_back.as_ref().and_then(|r| r.deployment_id) {
            out.push(("rollback-deployment-id", id.to_string()));
        }
        if let Some((from, _)) = &self.promotion {
            out.push(("promoted-from", from.to_string()));
        }
        if let Some(targets) = &self.targets {
            out.push((
                "targets",
                serde_json::Value::from(targets.clone()).to_string(),
            ));
            let results: serde_json::Map<String, serde_json::Value> = self
                .rows
                .iter()
                .map(|row| {
                    (
                        row.target.clone(),
                        serde_json::Value::from(row.status.as_str()),
                    )
                })
                .collect();
            out.push(("results", serde_json::Value::Object(results).to_string()));
        }
        out
    }
}

fn icon(status: &str) -> &'static str {
    match status {
        "success" => "✅",
        "failure" | "error" => "❌",
        "cancelled" => "⏹️",
        "started" => "🚀",
        "inactive" => "💤",
        "blocked" => "🚧",
        _ => "⏭️",
    }
}

/// Markdown-safe inline text: untrusted values cannot break out of a table cell or add markup.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '<' | '>' | '[' | ']' | '`' | '*' | '_' | '\\' | '#' | '!' => {
                out.push_str(&format!("&#{};", c as u32))
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A code span of `content`, rendered as code: the fence is one backtick longer than any run of
/// backticks inside, so nothing inside can close it; line breaks become spaces; in a table cell
/// `|` is escaped, which GFM honours even inside code spans. Markup inside a code span is never
/// rendered, so nothing else needs escaping (and entities would show as written).
fn code(content: &str, in_table: bool) -> String {
    let mut text: String = content
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect();
    if in_table {
        text = text.replace('|', "\\|");
    }
    if text.trim().is_empty() {
        return String::new();
    }
    let (mut longest, mut run) = (0, 0);
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // A space keeps a backtick at either end apart from the fence; one space each side is
    // stripped again by the renderer.
    let pad = text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']);
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Text that marks code with backticks (rollout's own sentences do: `paths`, `main: production`)
/// as Markdown: each backtick-delimited part a code span, the rest escaped by [`md`]. A lone
/// backtick is shown as code too, never as an entity.
fn rich(text: &str, in_table: bool) -> String {
    let parts: Vec<&str> = text.split('`').collect();
    let mut out = String::with_capacity(text.len());
    for (i, part) in parts.iter().enumerate() {
        let is_code = i % 2 == 1;
        let closed = i + 1 < parts.len();
        if is_code && closed {
            out.push_str(&code(part, in_table));
        } else if is_code {
            out.push_str(&code("`", in_table));
            out.push_str(&md(part));
        } else {
            out.push_str(&md(part));
        }
    }
    out
}

/// The step summary: environment, commit, result, links, duration.
pub fn summary(report: &Report) -> String {
    let mut s = format!(
        "### {} rollout: {}\n\n| | |\n|---|---|\n",
        icon(&report.status),
        md(&report.status)
    );
    let mut row = |k: &str, v: String| {
        if !v.is_empty() {
            s.push_str(&format!("| {k} | {v} |\n"));
        }
    };
    row("Environment", md(&report.environment));
    if !report.sha.is_empty() {
        row(
            "Commit",
            format!(
                "{} {}",
                code(&report.sha.chars().take(12).collect::<String>(), true),
                md(&report.git_ref)
            )
            .trim_end()
            .to_string(),
        );
    }
    row("Task", md(&report.task));
    // A run something else blocked (a lock) went through no window: no override to show.
    if let Some(why) = report
        .freeze_override
        .as_ref()
        .filter(|_| report.status != "blocked")
    {
        row("Freeze overridden", rich(why, true));
    }
    if let Some((_, sentence)) = &report.rollback {
        row("Rollback", rich(sentence, true));
    }
    if let Some(r) = &report.rolled_back {
        let id = r
            .deployment_id
            .map(|id| format!("; rollback deployment {id}"))
            .unwrap_or_default();
        row("On failure", format!("{}{id}", rich(&r.sentence, true)));
    }
    if let Some((_, sentence)) = &report.promotion {
        row("Promotion", rich(sentence, true));
    }
    if let Some(why) = report
        .requires_override
        .as_ref()
        .filter(|_| report.status != "blocked")
    {
        row("Requires overridden", rich(why, true));
    }
    if let Some(by) = &report.blocked_by {
        row("Blocked by", rich(by, true));
    }
    if let Some(said) = &report.lock_holder {
        row("Lock", rich(said, true));
    }
    // Several targets' details are their rows' own, below.
    if report.rows.len() <= 1 {
        row("Result", rich(&report.detail, true));
    }
    if let Some(id) = report.deployment_id {
        row("Deployment", id.to_string());
    }
    if !report.environment_url.is_empty() {
        row(
            "URL",
            format!("<{}>", report.environment_url.replace('>', "%3E")),
        );
    }
    if !report.log_url.is_empty() {
        row(
            "Logs",
            format!("[run]({})", report.log_url.replace(')', "%29")),
        );
    }
    if let Some(d) = report.duration_secs {
        row("Duration", format!("{d}s"));
    }
    s.push('\n');
    s.push_str(&phase_table(&report.phases));
    s.push_str(&target_rows(&report.rows));
    if let Some(sweep) = &report.sweep {
        s.push_str(&sweep_rows(sweep));
    }
    s
}

/// `step: sweep`: one row per preview listed: why it was swept or left alone, and what was done.
fn sweep_rows(sweep: &crate::sweep::Swept) -> String {
    let mut s = String::new();
    if !sweep.rows.is_empty() {
        s.push_str("| Preview | Pull request | Why | Done |\n|---|---|---|---|\n");
        for row in &sweep.rows {
            s.push_str(&format!(
                "| {} | #{} | {} | {} |\n",
                code(&row.environment, true),
                row.number,
                rich(&row.why, true),
                rich(&row.done, true),
            ));
        }
        s.push('\n');
    }
    if sweep.done > 0 {
        s.push_str(&format!(
            "{} more preview(s) had every deployment inactive already: done, not touched.\n\n",
            sweep.done
        ));
    }
    s
}

/// One row per target, when the run had `targets`: its status, environment, deployment, URL and
/// what happened to it.
fn target_rows(rows: &[TargetRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from(
        "| Target | Status | Environment | Deployment | URL | Result |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let url = if row.environment_url.is_empty() || row.status == "inactive" {
            String::new()
        } else {
            format!("<{}>", row.environment_url.replace('>', "%3E"))
        };
        s.push_str(&format!(
            "| {} | {} {} | {} | {} | {} | {} |\n",
            md(&row.target),
            icon(&row.status),
            md(&row.status),
            code(&row.environment, true),
            row.deployment_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            url,
            rich(&row.detail, true),
        ));
    }
    s.push('\n');
    // One target's run shows its phases as the run's own (above); several show each one's here.
    if rows.len() > 1 {
        for row in rows.iter().filter(|r| !r.phases.is_empty()) {
            s.push_str(&format!("Phases of {}:\n\n", md(&row.target)));
            s.push_str(&phase_table(&row.phases));
        }
    }
    s
}

/// The hidden marker that finds rollout's comment for one environment again, whoever wrote it.
pub fn comment_marker(environment: &str) -> String {
    format!("<!-- rollout:preview:{} -->", md(environment))
}

/// The environment the sticky PR comment is kept for: one job's targets share one comment, named
/// after the pull request's preview (`pr-7`); a matrix job's one target has its own.
pub fn comment_environment(report: &Report) -> &str {
    if report.group_environment.is_empty() {
        &report.environment
    } else {
        &report.group_environment
    }
}

/// The sticky PR comment.
pub fn comment(report: &Report, when: &str) -> String {
    let headline = match report.status.as_str() {
        "success" => "deployed".to_string(),
        "started" => "deploying".to_string(),
        "inactive" => match &report.removed_because {
            Some(why) => format!("removed: {why}"),
            None => "removed: the pull request is closed".to_string(),
        },
        "blocked" => match &report.blocked_by {
            Some(by) => format!("blocked by {by}"),
            None => "blocked".to_string(),
        },
        other => other.to_string(),
    };
    let mut s = format!(
        "{}\n{} **Preview {}**: {}\n\n",
        comment_marker(comment_environment(report)),
        icon(&report.status),
        code(comment_environment(report), false),
        md(&headline)
    );
    if !report.rows.is_empty() {
        s.push_str(&target_rows(&report.rows));
    }
    if !report.sha.is_empty() {
        s.push_str(&format!("- Commit: {}\n", code(&report.sha, false)));
    }
    if !report.environment_url.is_empty() && report.status != "inactive" {
        s.push_str(&format!(
            "- URL: <{}>\n",
            report.environment_url.replace('>', "%3E")
        ));
    }
    if !report.detail.is_empty() && report.rows.len() <= 1 {
        s.push_str(&format!("- Result: {}\n", rich(&report.detail, false)));
    }
    if !report.log_url.is_empty() {
        s.push_str(&format!(
            "- Logs: [run]({})\n",
            report.log_url.replace(')', "%29")
        ));
    }
    s.push_str(&format!("- Updated: {when}\n"));
    if !report.phases.is_empty() {
        s.push('\n');
        s.push_str(&phase_table(&report.phases));
    }
    s
}

/// The phases of a deploy (`crate::phases::phase_rows`) as a table for the step summary and the
/// PR comment; empty when the command wrote none. A phase is the command's own text: escaped.
pub fn phase_table(rows: &[crate::phases::PhaseRow]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from("| Phase | Start | Duration |\n|---|---|---|\n");
    for row in rows {
        s.push_str(&format!(
            "| {} | {} | {} |\n",
            md(&row.phase),
            md(&row.start),
            md(&row.duration)
        ));
    }
    s.push('\n');
    s
}

// A command's outcome in words: the deployment's status and description (never the command's
// output, which may hold credentials), and the job log's fuller sentence.

pub fn describe_outcome(outcome: &Outcome, took: Duration) -> (State, String) {
    let secs = crate::text::round_secs(took);
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
pub fn describe_run(finished: &Finished, missing: Option<&Missing>) -> (State, String) {
    let (state, detail) = describe_outcome(&finished.outcome, finished.took);
    match (&finished.outcome, missing) {
        (Outcome::Exited(code), Some(m)) => (
            state,
            format!(
                "The command exited with code {code} after {}s: {} (see the log)",
                crate::text::round_secs(finished.took),
                m.summary()
            ),
        ),
        _ => (state, detail),
    }
}

/// The job log's sentence for the same failure: it may name what is missing and say where.
pub fn explain_run(finished: &Finished, missing: &Missing, dir: &std::path::Path) -> String {
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

/// What `rollout plan` prints: the decision, each reason once.
pub fn plan_text(plan: &Plan, changes: Option<&Changes>, offline_notes: &[String]) -> String {
    let mut s = String::new();
    match plan {
        Plan::Skip(skip) => {
            let word = match skip.kind {
                crate::plan::SkipKind::Blocked => "blocked",
                _ => "skip",
            };
            s.push_str(&format!("{word}: {}\n", Untrusted(&skip.reason)));
        }
        Plan::Teardown(t) => {
            s.push_str(&format!(
                "teardown: environment {} of PR #{}\n  why: {}\n  then: run `teardown-command` if set, mark every deployment of {} inactive\n",
                Untrusted(&t.target.environment),
                t.target.pr_number.unwrap_or(0),
                Untrusted(&t.target.rule),
                Untrusted(&t.target.environment),
            ));
        }
        Plan::Deploy(d) => {
            let t = &d.target;
            s.push_str(&format!(
                "deploy: {} to {}\n",
                Untrusted(&t.label()),
                Untrusted(&t.environment)
            ));
            s.push_str(&format!("  why: {}\n", Untrusted(&t.rule)));
            s.push_str(&format!(
                "  commit: {} (sent as the deployment ref)\n",
                t.sha
            ));
            if let Some(r) = &t.git_ref {
                s.push_str(&format!("  ref: {}\n", Untrusted(r.full())));
            }
            if let Some(why) = &d.freeze_override {
                s.push_str(&format!("  freeze: {}\n", Untrusted(why)));
            }
            s.push_str(&format!(
                "  task: {} ({})\n",
                Untrusted(&d.task),
                Untrusted(&d.task_reason)
            ));
            if let Some(p) = &d.paths_reason {
                s.push_str(&format!("  paths: {}\n", Untrusted(p)));
            }
            if let Some(a) = &d.artifact {
                s.push_str(&format!(
                    "  artifact: {} (the payload's `artifact`, the command's `ROLLOUT_ARTIFACT`)\n",
                    Untrusted(a)
                ));
            }
            if !d.description.as_str().is_empty() {
                s.push_str(&format!(
                    "  description: {}\n",
                    Untrusted(d.description.as_str())
                ));
            }
            let production = match t.production {
                Some(true) => "yes",
                Some(false) => "no",
                None => "as GitHub decides (yes only for `production`)",
            };
            s.push_str(&format!(
                "  production: {production}; transient: {}\n",
                t.transient
            ));
            if let Some(url) = &d.environment_url {
                s.push_str(&format!("  environment url: {}\n", Untrusted(url)));
            }
        }
    }
    s.push_str(&plan_text_tail(changes, offline_notes));
    s
}

/// What a deploy's step does with the decision above it: the command `deploy` runs, nothing more
/// for `start`, the outputs `plan` sets (`targets` names the affected targets, when there are
/// targets).
pub fn step_lines(inputs: &Inputs, targets: Option<&[&str]>) -> String {
    match inputs.step {
        Step::Deploy => format!(
            "step: deploy: creates the deployment, runs the command, posts the final status\n  command: {}\n",
            Untrusted(inputs.command.as_deref().unwrap_or(""))
        ),
        Step::Start => "step: start: creates the deployment and marks it in progress; no command runs here: the job's own steps deploy, and `step: finish` posts the final status\n".to_string(),
        Step::Plan => {
            let mut s = "step: plan: sets the outputs only; no API write, no command\n".to_string();
            if let Some(names) = targets {
                s.push_str(&format!(
                    "  output targets: [{}]\n",
                    names
                        .iter()
                        .map(|n| format!("\"{}\"", Untrusted(n)))
                        .collect::<Vec<_>>()
                        .join(",")
                ));
            }
            s
        }
        Step::Finish
        | Step::Deactivate
        | Step::Rollback
        | Step::Lock
        | Step::Unlock
        | Step::Sweep
        | Step::Promote
        | Step::Report => String::new(),
    }
}

/// `rollout plan` for `finish` and `deactivate`: what the step would write, which does not depend
/// on the event's change. `None` for the steps that decide from the event.
pub fn own_step_plan(event: &crate::event::Event, inputs: &Inputs) -> Option<String> {
    match inputs.step {
        Step::Finish => {
            let state = match inputs.status {
                Some(JobStatus::Success) => "success",
                Some(JobStatus::Failure) => "failure",
                Some(JobStatus::Cancelled) => "error (GitHub has no `cancelled` state)",
                None => "the job's outcome, which needs `status`",
            };
            let id = inputs
                .deployment_id
                .map(|id| format!("deployment {id}"))
                .unwrap_or_else(|| "the deployment `step: start` saved".to_string());
            Some(format!(
                "finish: {id} would get its final status: {state}\n  unless a newer run superseded it, which needs the API; no command runs\n"
            ))
        }
        Step::Deactivate => Some(match inputs.deployment_id {
            Some(id) => format!("deactivate: deployment {id} would be marked inactive\n"),
            None => match crate::plan::destination(event, inputs) {
                Ok(dest) => format!(
                    "deactivate: every deployment of {} would be marked inactive (which ones needs the API)\n",
                    Untrusted(&dest.target().environment)
                ),
                Err(skip) => format!("skip: {}\n", Untrusted(&skip.reason)),
            },
        }),
        Step::Lock => Some(format!(
            "lock: {} would be locked (the branch `{}`) because \"{}\", {}; whether someone holds it already needs the API\n",
            Untrusted(inputs.environment.as_ref().map_or("", |e| e.as_str())),
            Untrusted(&crate::lock::ref_name(
                inputs.environment.as_ref().map_or("", |e| e.as_str())
            )),
            Untrusted(inputs.reason.as_deref().unwrap_or("")),
            match inputs.lock_expires {
                Some(d) => format!("ending by itself after {}", crate::inputs::show_duration(d)),
                None => "until `step: unlock`".to_string(),
            }
        )),
        Step::Unlock => Some(format!(
            "unlock: the lock of {} would be released (the branch `{}` deleted); whether there is one needs the API\n",
            Untrusted(inputs.environment.as_ref().map_or("", |e| e.as_str())),
            Untrusted(&crate::lock::ref_name(
                inputs.environment.as_ref().map_or("", |e| e.as_str())
            )),
        )),
        Step::Sweep => Some(format!(
            "sweep: would tear down the previews {} could have made whose pull request is closed{}; which ones needs the API (the environments, their deployments and their pull requests)\n",
            Untrusted(inputs.preview_environment.as_ref().map_or("", |e| e.as_str())),
            match inputs.preview_expires {
                Some(d) => format!(", or whose newest deployment is older than {}", crate::sweep::span(d)),
                None => String::new(),
            }
        )),
        Step::Report => Some(format!(
            "report: would read the deployments of the environments matching {} over `period` (read only) and write the delivery report to the summary and the output `report`; the figures need the API\n",
            Untrusted(inputs.environment.as_ref().map_or("", |e| e.as_str())),
        )),
        _ => None,
    }
}

/// The changed files and the notes, after the decision.
fn plan_text_tail(changes: Option<&Changes>, offline_notes: &[String]) -> String {
    let mut s = String::new();
    if let Some(c) = changes {
        s.push_str(&format!("changes: {}\n", Untrusted(&c.describe())));
        let files = c.files();
        for f in files.iter().take(50) {
            s.push_str(&format!("  {}\n", Untrusted(f)));
        }
        if files.len() > 50 {
            s.push_str(&format!("  ... and {} more\n", files.len() - 50));
        }
    }
    for note in offline_notes {
        s.push_str(&format!("note: {}\n", Untrusted(note)));
    }
    s
}

/// What `rollout plan` prints with `targets`: which targets the change affects and why, then each
/// target's own decision, indented under its name.
pub fn targets_plan_text(plans: &Plans, changes: Option<&Changes>, notes: &[String]) -> String {
    let mut s = String::new();
    if let Some(affected) = &plans.affected {
        s.push_str(&format!("targets: {}\n", Untrusted(&affected.summary())));
    }
    for planned in &plans.each {
        let name = planned.name.as_deref().unwrap_or_default();
        s.push_str(&format!("target {}:\n", Untrusted(name)));
        let text = match &planned.decision {
            Decision::Plan(plan) => plan_text(plan, None, &[]),
            Decision::Unaffected(reason) => format!("not affected: {}\n", Untrusted(reason)),
        };
        for line in text.lines() {
            s.push_str(&format!("  {line}\n"));
        }
    }
    s.push_str(&plan_text_tail(changes, notes));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            status: "success".into(),
            detail: "deployed in 3s".into(),
            deployment_id: Some(7),
            environment: "pr-4".into(),
            environment_url: "https://pr-4.example.com".into(),
            log_url: "https://github.example/o/r/actions/runs/1/attempts/1".into(),
            git_ref: "refs/heads/main".into(),
            sha: "6113728f27ae82c7b1a177c8d03f9e96e0adf246".into(),
            task: "deploy".into(),
            ..Report::default()
        }
    }

    #[test]
    fn exit_codes_follow_the_contract() {
        let mut r = report();
        assert_eq!(r.exit_code(), 0);
        for (status, code) in [
            ("failure", 1),
            ("error", 1),
            ("skipped", 0),
            ("started", 0),
            ("inactive", 0),
        ] {
            r.status = status.into();
            assert_eq!(r.exit_code(), code, "{status}");
        }
        r.status = "cancelled".into();
        r.signal = Some(2);
        assert_eq!(r.exit_code(), 130);
    }

    #[test]
    fn outputs_name_the_skip_reason_only_when_skipped() {
        let r = Report::skipped("unmapped");
        assert_eq!(
            r.outputs(),
            vec![
                ("status", "skipped".into()),
                ("skip-reason", "unmapped".into())
            ]
        );
        let names: Vec<_> = report().outputs().into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "status",
                "deployment-id",
                "environment",
                "environment-url",
                "log-url",
                "ref",
                "sha",
                "task"
            ]
        );
    }

    #[test]
    fn summaries_escape_untrusted_text() {
        let mut r = report();
        r.detail = "a | b <script> [x](y)".into();
        let s = summary(&r);
        assert!(
            s.contains("a &#124; b &#60;script&#62; &#91;x&#93;(y)"),
            "{s}"
        );
        assert!(s.contains("| Environment | pr-4 |"));
    }

    #[test]
    fn summaries_render_code_as_code() {
        let mut r =
            Report::skipped("`refs/heads/x` matches no line of `environments`, so nothing deploys");
        r.sha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246".into();
        let s = summary(&r);
        assert!(!s.contains("&#96;"), "{s}");
        assert!(
            s.contains(
                "| Result | `refs/heads/x` matches no line of `environments`, so nothing deploys |"
            ),
            "{s}"
        );
        assert!(s.contains("| Commit | `6113728f27ae` |"), "{s}");
        // Untrusted code cannot close its span, break the cell or the table, or add markup.
        r.detail = "`a|b` and `<img src=x>` then ` alone".into();
        let s = summary(&r);
        assert!(!s.contains("&#96;"), "{s}");
        assert!(s.contains("`a\\|b`"), "{s}");
        assert!(s.contains("`<img src=x>`"), "{s}");
        assert!(s.contains("`` ` ``"), "{s}");
        assert_eq!(code("x``y", true), "```x``y```");
        assert_eq!(code("`start", false), "`` `start ``");
        assert_eq!(code("line\nbreak", false), "`line break`");
        r.environment = "pr-4".into();
        let c = comment(&r, "now");
        assert!(!c.contains("&#96;"), "{c}");
        assert!(c.contains("**Preview `pr-4`**"), "{c}");
    }

    #[test]
    fn comments_carry_their_marker() {
        let c = comment(&report(), "2026-11-21T00:00:00Z");
        assert!(c.starts_with("<!-- rollout:preview:pr-4 -->\n"));
        assert!(c.contains("https://pr-4.example.com"));
    }

    /// The run of a `targets` push: one target deployed, one failed.
    fn two_targets() -> Report {
        let api = Report {
            environment: "production-api".into(),
            environment_url: "https://api.example.com".into(),
            deployment_id: Some(8),
            ..report()
        };
        let web = Report {
            status: "failure".into(),
            detail: "Failed in Migrating database: exit 3".into(),
            environment: "production-web".into(),
            environment_url: String::new(),
            deployment_id: Some(9),
            phases: vec![
                crate::phases::PhaseRow {
                    phase: "Building image".into(),
                    start: "+0s".into(),
                    duration: "5s".into(),
                },
                crate::phases::PhaseRow {
                    phase: "Migrating database".into(),
                    start: "+5s".into(),
                    duration: "7s".into(),
                },
            ],
            ..report()
        };
        Report {
            status: "failure".into(),
            detail: "api: success; web: failure".into(),
            deployment_id: None,
            environment: String::new(),
            environment_url: String::new(),
            targets: Some(vec!["api".into(), "web".into()]),
            rows: vec![TargetRow::of("api", &api), TargetRow::of("web", &web)],
            ..report()
        }
    }

    // What users read, reviewed whole (src/snapshots/): a change to a word shows in the diff.
    #[test]
    fn the_step_summary_reads_whole() {
        let mut failed = report();
        failed.status = "failure".into();
        failed.detail = "The command exited with code 127 after 0s: a program it runs is not in rollout's image\n`astro` was not found".into();
        failed.environment_url = String::new();
        failed.duration_secs = Some(0);
        insta::assert_snapshot!("summary_success", summary(&report()));
        insta::assert_snapshot!("summary_failure", summary(&failed));
        insta::assert_snapshot!(
            "summary_skipped",
            summary(&Report::skipped(
                "`feature/x` matches no line of `environments`"
            ))
        );
        insta::assert_snapshot!("summary_targets", summary(&two_targets()));
    }

    #[test]
    fn the_pr_comment_reads_whole() {
        let when = "2026-12-02 07:00:00 UTC";
        insta::assert_snapshot!("comment_deployed", comment(&report(), when));
        let mut closed = report();
        closed.status = "inactive".into();
        closed.detail = "1 deployment(s) of pr-4 marked inactive; 0 already were".into();
        insta::assert_snapshot!("comment_closed", comment(&closed, when));
        let mut previews = two_targets();
        previews.group_environment = "pr-4".into();
        insta::assert_snapshot!("comment_targets", comment(&previews, when));
    }

    /// A failed deploy that wrote three phases to its phase file.
    fn phased() -> Report {
        let row = |phase: &str, start: &str, duration: &str| crate::phases::PhaseRow {
            phase: phase.into(),
            start: start.into(),
            duration: duration.into(),
        };
        Report {
            status: "failure".into(),
            detail: "Failed in Migrating database: exit 1".into(),
            environment_url: String::new(),
            duration_secs: Some(135),
            phases: vec![
                row("Building image", "+0s", "1m 02s"),
                row("Pushing | layer <2>", "+1m 02s", "40s"),
                row("Migrating database", "+1m 42s", "53s"),
            ],
            ..report()
        }
    }

    #[test]
    fn phases_show_in_the_summary_and_the_comment() {
        insta::assert_snapshot!("summary_phases", summary(&phased()));
        insta::assert_snapshot!(
            "comment_phases",
            comment(&phased(), "2026-12-02 07:00:00 UTC")
        );
        // No phases, no table: a command that never wrote the file reads as before.
        assert!(!summary(&report()).contains("| Phase |"));
        assert!(!comment(&report(), "now").contains("| Phase |"));
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
}
