//! The Actions runtime: outputs, state, the step summary, log groups, annotations, and the
//! escaping that keeps untrusted text (commit messages, PR titles, branch names) from acting as a
//! workflow command when rollout prints it.

pub use crate::text::Untrusted;
use rand::Rng;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

/// `GITHUB_GRAPHQL_URL` when the runner does not set it: github.com's API answers GraphQL at
/// `/graphql`; GitHub Enterprise Server at `/api/graphql`, beside (not under) `/api/v3`.
pub fn graphql_url(api_url: &str) -> String {
    let base = api_url.trim().trim_end_matches('/');
    match base.strip_suffix("/api/v3") {
        Some(host) => format!("{host}/api/graphql"),
        None => format!("{base}/graphql"),
    }
}

/// What the runner tells about the run, read once from `GITHUB_*` and `RUNNER_*`.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub repository: String,
    pub server_url: String,
    pub api_url: String,
    /// `GITHUB_GRAPHQL_URL`, or derived from `GITHUB_API_URL` when the runner does not set it.
    pub graphql_url: String,
    pub run_id: String,
    pub run_attempt: String,
    pub job: String,
    pub runner_name: String,
    pub workspace: PathBuf,
    /// The run's triggering actor: `GITHUB_TRIGGERING_ACTOR` (who re-ran it, on a re-run), else
    /// `GITHUB_ACTOR`. A lock records it, and lets it through ([`crate::lock::Asker`]).
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
            graphql_url: get("GITHUB_GRAPHQL_URL")
                .unwrap_or_else(|| graphql_url(&var("GITHUB_API_URL"))),
            run_id: var("GITHUB_RUN_ID"),
            run_attempt: get("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into()),
            job: var("GITHUB_JOB"),
            runner_name: var("RUNNER_NAME"),
            workspace: get("GITHUB_WORKSPACE")
                .map(PathBuf::from)
                .or_else(|| std::env::current_dir().ok())
                .unwrap_or_else(|| PathBuf::from(".")),
            actor: get("GITHUB_TRIGGERING_ACTOR")
                .filter(|a| !a.trim().is_empty())
                .unwrap_or_else(|| var("GITHUB_ACTOR")),
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

/// The runner's file commands. A file that is not set (a local `rollout plan`) is silently skipped.
#[derive(Clone, Debug, Default)]
pub struct Runtime {
    pub output: Option<PathBuf>,
    pub state: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    /// The outputs written so far and their values: each is written once (the `deployment-id`
    /// written early, so that a killed run still leaves it, is not written again at the end).
    written: std::cell::RefCell<std::collections::BTreeMap<String, String>>,
}

/// GitHub caps a step summary at 1 MiB; rollout stays well below.
const SUMMARY_LIMIT: usize = 512 * 1024;

impl Runtime {
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Runtime {
        let path = |name: &str| get(name).filter(|p| !p.is_empty()).map(PathBuf::from);
        Runtime {
            output: path("GITHUB_OUTPUT"),
            state: path("GITHUB_STATE"),
            summary: path("GITHUB_STEP_SUMMARY"),
            written: Default::default(),
        }
    }

    /// Writes an output, unless this run already wrote it with this value.
    pub fn set_output(&self, name: &str, value: &str) -> io::Result<()> {
        if self.written.borrow().get(name).map(String::as_str) == Some(value) {
            return Ok(());
        }
        append(self.output.as_deref(), &key_value(name, value))?;
        self.written
            .borrow_mut()
            .insert(name.to_string(), value.to_string());
        Ok(())
    }

    /// Saved for the post step, which reads it back as `STATE_<name>`.
    pub fn save_state(&self, name: &str, value: &str) -> io::Result<()> {
        append(self.state.as_deref(), &key_value(name, value))
    }

    pub fn append_summary(&self, markdown: &str) -> io::Result<()> {
        let mut text = markdown.to_string();
        if text.len() > SUMMARY_LIMIT {
            let mut cut = SUMMARY_LIMIT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("\n\n(summary cut)\n");
        }
        append(self.summary.as_deref(), &text)
    }
}

fn append(path: Option<&Path>, text: &str) -> io::Result<()> {
    let Some(path) = path else { return Ok(()) };
    // The command may have put a FIFO in the file's place: never wait on it.
    let mut file = crate::regular::open(path, OpenOptions::new().create(true).append(true))?;
    file.write_all(text.as_bytes())
}

fn random_token() -> String {
    let n: u128 = rand::rng().random();
    format!("{n:032x}")
}

/// `name<<DELIM`, the value, `DELIM`: the runner's multi-line form, safe for any value because the
/// delimiter is random and checked not to occur in the value.
pub fn key_value(name: &str, value: &str) -> String {
    let mut delimiter = format!("ghadelimiter_{}", random_token());
    while value.contains(&delimiter) {
        delimiter = format!("ghadelimiter_{}", random_token());
    }
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Escapes the data part of a workflow command (`::error::DATA`).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property of a workflow command (`::error title=PROPERTY::`).
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Error,
}

/// An annotation line, with its message escaped so it stays one command.
pub fn annotation(level: Level, title: Option<&str>, message: &str) -> String {
    let name = match level {
        Level::Notice => "notice",
        Level::Warning => "warning",
        Level::Error => "error",
    };
    match title {
        Some(t) => format!(
            "::{name} title={}::{}",
            escape_property(t),
            escape_data(message)
        ),
        None => format!("::{name}::{}", escape_data(message)),
    }
}

/// Whether the command's output, which passes through rollout's stdout, left a line open: the
/// runner reads a workflow command (`::endgroup::`, `::error::`) only at the start of a line.
static STDOUT_LINE_OPEN: AtomicBool = AtomicBool::new(false);

/// Records whether the last byte the command wrote to rollout's stdout ended a line.
pub fn stdout_line_open(open: bool) {
    STDOUT_LINE_OPEN.store(open, Ordering::Relaxed);
}

/// Ends a line the command left open, so that what rollout prints next starts one.
pub fn end_open_line() {
    if STDOUT_LINE_OPEN.swap(false, Ordering::Relaxed) {
        let mut out = io::stdout().lock();
        let _ = out.write_all(b"\n").and_then(|()| out.flush());
    }
}

/// The resume token of a `::stop-commands::TOKEN` that the command printed and has not ended
/// with `::TOKEN::`: until then the runner ignores every workflow command, rollout's closing
/// `::error::` and outputs included.
static COMMAND_FENCE: Mutex<Option<String>> = Mutex::new(None);

/// Command names the runner refuses as a stop token (it does not stop on them).
const COMMAND_NAMES: &[&str] = &[
    "add-mask",
    "add-matcher",
    "add-path",
    "debug",
    "echo",
    "endgroup",
    "error",
    "group",
    "notice",
    "remove-matcher",
    "save-state",
    "set-env",
    "set-output",
    "stop-commands",
    "warning",
];

/// Reads the command's output line by line for `::stop-commands::` and its resume, as the
/// runner does; one per stream, sharing the fence.
#[derive(Default)]
pub struct FenceWatch {
    line: Vec<u8>,
    /// The line is longer than any fence line: it cannot be one.
    overlong: bool,
}

impl FenceWatch {
    const LONGEST: usize = 1024;

    pub fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if b == b'\n' {
                if !self.overlong {
                    watch_line(&String::from_utf8_lossy(&self.line));
                }
                self.line.clear();
                self.overlong = false;
            } else if self.line.len() < Self::LONGEST {
                self.line.push(b);
            } else {
                self.overlong = true;
            }
        }
    }

    /// The stream ended: its last line counts although no newline ended it.
    pub fn finish(&mut self) {
        self.feed(b"\n");
    }
}

fn watch_line(line: &str) {
    let line = line.trim();
    let Ok(mut fence) = COMMAND_FENCE.lock() else {
        return;
    };
    match fence.as_deref() {
        Some(token) => {
            if line == format!("::{token}::") {
                *fence = None;
            }
        }
        None => {
            if let Some(token) = line.strip_prefix("::stop-commands::") {
                if !token.is_empty() && !COMMAND_NAMES.contains(&token) {
                    *fence = Some(token.to_string());
                }
            }
        }
    }
}

/// Ends a `::stop-commands::` the command left open, so the runner reads rollout's own lines
/// again. Returns whether there was one.
pub fn resume_commands() -> bool {
    let token = COMMAND_FENCE.lock().ok().and_then(|mut f| f.take());
    let Some(token) = token else {
        return false;
    };
    end_open_line();
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "::{token}::").and_then(|()| out.flush());
    drop(out);
    tracing::info!("the command stopped workflow commands (`::stop-commands::`) and never resumed them; rollout resumed them, so that its own outputs and annotations count");
    true
}

/// Prints a line to the job log, ignoring a closed stdout (`rollout plan | head`).
pub fn say(line: &str) {
    end_open_line();
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

pub fn notice(message: &str) {
    say(&annotation(Level::Notice, None, message));
}

pub fn warning(message: &str) {
    say(&annotation(Level::Warning, None, message));
}

pub fn error(message: &str) {
    say(&annotation(Level::Error, None, message));
}

pub fn group(title: &str) {
    say(&format!("::group::{}", Untrusted(title)));
}

pub fn end_group() {
    say("::endgroup::");
}

/// A multi-line block of untrusted text, printed as-is between `::stop-commands::` and its
/// random resume token, so nothing inside acts as a command.
pub fn fenced(text: &str) -> String {
    let mut token = random_token();
    while text.contains(&token) {
        token = random_token();
    }
    format!("::stop-commands::{token}\n{text}\n::{token}::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_use_a_delimiter_absent_from_the_value() {
        let kv = key_value("skip-reason", "a\nb");
        let mut lines = kv.lines();
        let head = lines.next().unwrap();
        let delimiter = head.strip_prefix("skip-reason<<").unwrap();
        assert!(delimiter.starts_with("ghadelimiter_"));
        assert_eq!(lines.next(), Some("a"));
        assert_eq!(lines.next(), Some("b"));
        assert_eq!(lines.next(), Some(delimiter));
        assert_eq!(lines.next(), None);
    }

    #[test]
    fn annotation_data_and_properties_are_escaped() {
        assert_eq!(
            annotation(Level::Error, None, "100% bad\r\n::x::"),
            "::error::100%25 bad%0D%0A::x::"
        );
        assert_eq!(
            annotation(Level::Warning, Some("a:b,c"), "m"),
            "::warning title=a%3Ab%2Cc::m"
        );
    }

    #[test]
    fn untrusted_text_cannot_start_a_command() {
        let shown = Untrusted("::add-mask::x\n::set-output name=a::b ##[error]c").to_string();
        assert!(!shown.starts_with("::"));
        assert!(!shown.contains('\n'));
        assert!(!shown.contains("##["));
        assert!(!shown.contains("\n::"));
    }

    #[test]
    fn fences_resume_with_their_own_token() {
        let block = fenced("::add-mask::x");
        let first = block.lines().next().unwrap();
        let token = first.strip_prefix("::stop-commands::").unwrap();
        assert_eq!(token.len(), 32);
        assert_eq!(block.lines().last().unwrap(), format!("::{token}::"));
    }

    #[test]
    fn files_are_appended_and_missing_paths_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime {
            output: Some(dir.path().join("out")),
            ..Default::default()
        };
        rt.set_output("a", "1").unwrap();
        rt.set_output("b", "2").unwrap();
        rt.set_output("a", "1").unwrap();
        rt.save_state("x", "y").unwrap();
        let text = std::fs::read_to_string(dir.path().join("out")).unwrap();
        assert_eq!(
            text.matches("<<ghadelimiter_").count(),
            2,
            "each output once"
        );
        rt.set_output("a", "3").unwrap();
        let text = std::fs::read_to_string(dir.path().join("out")).unwrap();
        assert_eq!(
            text.matches("<<ghadelimiter_").count(),
            3,
            "a new value is written"
        );
    }

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
    fn the_actor_is_the_triggering_one_when_the_runner_names_it() {
        fn actor(pairs: &[(&str, &str)]) -> String {
            Context::from_env(|name| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            })
            .actor
        }
        let rerun = [
            ("GITHUB_ACTOR", "mona"),
            ("GITHUB_TRIGGERING_ACTOR", "hubot"),
        ];
        assert_eq!(actor(&rerun), "hubot");
        let first = [("GITHUB_ACTOR", "mona")];
        assert_eq!(actor(&first), "mona");
        let empty = [("GITHUB_ACTOR", "mona"), ("GITHUB_TRIGGERING_ACTOR", " ")];
        assert_eq!(actor(&empty), "mona");
    }
}
