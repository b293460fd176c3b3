//! The child process: the user's command under `sh -c`, in its own process group so that a
//! cancel or a timeout reaches everything it started. Its output passes through rollout on its
//! way to the job log, byte for byte and as it comes, so that rollout can keep the last lines of
//! stderr to explain a failure, and can end the command's last line before printing its own.

use crate::runtime::{self, Untrusted};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt};

pub use crate::signals::{signal_name, Cancel};

pub struct CommandSpec {
    pub script: String,
    pub dir: PathBuf,
    /// Variables to set, over the inherited environment.
    pub set: Vec<(String, String)>,
    /// Variables to remove from the inherited environment (the token).
    pub remove: Vec<String>,
    pub timeout: Option<Duration>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    /// Killed by a signal that rollout did not send.
    Killed(i32),
    TimedOut(Duration),
    Cancelled(i32),
    NotStarted(String),
}

impl Outcome {
    pub fn success(&self) -> bool {
        matches!(self, Outcome::Exited(0))
    }
}

/// A command that ran (or could not start).
#[derive(Clone, Debug)]
pub struct Finished {
    pub outcome: Outcome,
    pub took: Duration,
    /// The last lines of the command's stderr. They may hold anything the command printed,
    /// credentials included: they explain a failure in the job log, and never reach the API.
    pub stderr_tail: Vec<String>,
}

impl Finished {
    /// What the shell said it could not find or run, when the exit code says that is why the
    /// command failed. `dir` is where the command ran.
    pub fn missing(&self, dir: &Path) -> Option<Missing> {
        match self.outcome {
            Outcome::Exited(code) => diagnose(code, &self.stderr_tail, dir),
            _ => None,
        }
    }
}

/// How long the command gets between the polite signal and SIGKILL.
const CANCEL_GRACE: Duration = Duration::from_secs(2);
const TIMEOUT_GRACE: Duration = Duration::from_secs(5);
/// How long rollout keeps reading the command's output once the command is over and its process
/// group is killed. Whatever the group wrote is in the pipes by then and takes milliseconds to
/// read; only a process that left the group (`setsid`, a daemon) can keep a pipe open, and it
/// could do so forever.
const DRAIN_AFTER_EXIT: Duration = Duration::from_secs(2);
/// The stderr lines kept to explain a failure, and the bytes kept of each: the shell's message is
/// short and last, and a command that prints megabytes must not cost rollout megabytes.
const TAIL_LINES: usize = 20;
const TAIL_LINE_BYTES: usize = 4096;

pub async fn run(spec: &CommandSpec, cancel: &mut Cancel) -> Finished {
    let started = Instant::now();
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(&spec.script)
        .current_dir(&spec.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for name in &spec.remove {
        command.env_remove(name);
    }
    for (k, v) in &spec.set {
        command.env(k, v);
    }
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            return Finished {
                outcome: Outcome::NotStarted(format!(
                    "could not start `sh` in {}: {e}",
                    spec.dir.display()
                )),
                took: started.elapsed(),
                stderr_tail: Vec::new(),
            }
        }
    };
    let group = child.id().map(|id| Pid::from_raw(id as i32));
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let mut tail = Tail::new(TAIL_LINES, TAIL_LINE_BYTES);
    // The runner reads workflow commands in both streams: a `::stop-commands::` in either
    // would silence rollout's own lines after the command.
    let (mut out_fence, mut err_fence) = (
        runtime::FenceWatch::default(),
        runtime::FenceWatch::default(),
    );
    let (exited, exit_seen) = tokio::sync::oneshot::channel::<()>();
    let drain = async {
        let pumps = async {
            tokio::join!(
                // rollout's own lines (`::endgroup::` above all) must start a line of their
                // own to be read as commands: the runtime ends one the command left open.
                pump(stdout, std::io::stdout(), |chunk| {
                    if let Some(last) = chunk.last() {
                        runtime::stdout_line_open(*last != b'\n');
                    }
                    out_fence.feed(chunk);
                }),
                pump(stderr, std::io::stderr(), |chunk| {
                    tail.feed(chunk);
                    err_fence.feed(chunk);
                }),
            )
        };
        tokio::select! {
            _ = pumps => true,
            () = async {
                let _ = exit_seen.await;
                tokio::time::sleep(DRAIN_AFTER_EXIT).await;
            } => false,
        }
    };
    let supervise = async {
        let outcome = supervise(&mut child, group, spec.timeout, cancel).await;
        let _ = exited.send(());
        outcome
    };
    let (drained, outcome) = tokio::join!(drain, supervise);
    if !drained {
        tracing::info!(
            "stopped reading the command's output {}s after it ended: a process it started \
             outside its process group still holds the output open",
            DRAIN_AFTER_EXIT.as_secs()
        );
    }
    out_fence.finish();
    err_fence.finish();
    runtime::end_open_line();
    runtime::resume_commands();
    Finished {
        outcome,
        took: started.elapsed(),
        stderr_tail: tail.lines(),
    }
}

/// Waits for the command, or stops it on a timeout or a cancel; the output is read meanwhile.
async fn supervise(
    child: &mut tokio::process::Child,
    group: Option<Pid>,
    timeout: Option<Duration>,
    cancel: &mut Cancel,
) -> Outcome {
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let stop = |sig: Signal| {
        if let Some(g) = group {
            let _ = killpg(g, sig);
        }
    };
    let outcome = tokio::select! {
        status = child.wait() => {
            let outcome = match status {
                Ok(s) => exit_outcome(s),
                Err(e) => Outcome::NotStarted(format!("lost track of the command: {e}")),
            };
            // Whatever the command left running in its group goes with it.
            stop(Signal::SIGKILL);
            return outcome;
        }
        () = deadline => {
            stop(Signal::SIGTERM);
            Outcome::TimedOut(timeout.unwrap_or_default())
        }
        sig = cancel.fired() => {
            let forward = Signal::try_from(sig).unwrap_or(Signal::SIGTERM);
            stop(forward);
            Outcome::Cancelled(sig)
        }
    };
    let grace = if matches!(outcome, Outcome::TimedOut(_)) {
        TIMEOUT_GRACE
    } else {
        CANCEL_GRACE
    };
    if tokio::time::timeout(grace, child.wait()).await.is_err() {
        tracing::info!(
            "the command did not stop within {}s; killing it",
            grace.as_secs()
        );
    }
    stop(Signal::SIGKILL);
    let _ = child.wait().await;
    outcome
}

/// Copies one of the command's pipes to rollout's own stream chunk by chunk, flushing each, so
/// a progress bar without a newline shows as it is drawn. `seen` watches every chunk. A write
/// that fails (stdout closed) does not stop the reading: a command blocked on a full pipe would
/// never end.
async fn pump<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    mut out: impl Write,
    mut seen: impl FnMut(&[u8]),
) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; 8192];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) => return,
            Ok(n) => {
                let chunk = &buf[..n];
                let _ = out.write_all(chunk).and_then(|()| out.flush());
                seen(chunk);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// The last lines of a stream, each cut to a number of bytes. A carriage return not followed by
/// a newline starts the line over, as on a terminal: a progress bar is one line, not a thousand.
struct Tail {
    lines: VecDeque<Vec<u8>>,
    current: Vec<u8>,
    after_cr: bool,
    keep: usize,
    line_bytes: usize,
}

impl Tail {
    fn new(keep: usize, line_bytes: usize) -> Tail {
        Tail {
            lines: VecDeque::new(),
            current: Vec::new(),
            after_cr: false,
            keep,
            line_bytes,
        }
    }

    fn feed(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if self.after_cr && b != b'\n' {
                self.current.clear();
            }
            self.after_cr = b == b'\r';
            match b {
                b'\n' => {
                    let line = std::mem::take(&mut self.current);
                    self.lines.push_back(line);
                    if self.lines.len() > self.keep {
                        self.lines.pop_front();
                    }
                }
                b'\r' => {}
                _ if self.current.len() < self.line_bytes => self.current.push(b),
                _ => {}
            }
        }
    }

    fn lines(&self) -> Vec<String> {
        let last = Some(&self.current).filter(|l| !l.is_empty());
        let all = self.lines.iter().chain(last);
        let skip = (self.lines.len() + usize::from(last.is_some())).saturating_sub(self.keep);
        all.skip(skip)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }
}

fn exit_outcome(status: std::process::ExitStatus) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Outcome::Exited(code),
        (None, Some(sig)) => Outcome::Killed(sig),
        (None, None) => Outcome::Exited(-1),
    }
}

/// Where rollout's docs explain the container the command runs in and the split form (the
/// heading of docs/forms.md; tests/integration/readme_workflows.rs holds the two together).
pub const WHERE_THE_COMMAND_RUNS: &str =
    "https://github.com/rollout-action/rollout/blob/main/docs/forms.md#where-the-command-runs";

/// What the shell said it could not find or run (HANDBOOK: exit code 127 from `sh -c`). The
/// names come from the command's output: they are for the job log only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Missing {
    /// A bare name the shell looked up on PATH, or a `#!` interpreter: not in rollout's image.
    Program(String),
    /// A path (or a script handed to the shell) that is not there: missing from the workspace.
    File(String),
    /// A file that is there but that the shell could not start: its `#!` line names a program
    /// the image lacks, or it has Windows line endings.
    Unstartable(String),
    /// A file that is there but not executable (exit code 126).
    NotExecutable(String),
}

impl Missing {
    /// rollout's own words for the deployment's status: which kind of thing went missing, never
    /// a name the command printed (a tool that prints a credential would publish it).
    pub fn summary(&self) -> &'static str {
        match self {
            Missing::Program(_) if crate::signals::on_the_host() => {
                "a program it runs is not installed on the runner"
            }
            Missing::Program(_) => "a program it runs is not in rollout's image",
            Missing::File(_) => "a file it runs is missing from the workspace",
            Missing::Unstartable(_) => "a script it runs could not be started",
            Missing::NotExecutable(_) => "a file it runs is not executable",
        }
    }

    /// The sentence for the job log: the name, why it is missing, and the ways out. `dir` is
    /// where the command ran.
    pub fn explain(&self, dir: &Path) -> String {
        let ran_in = format!(
            "the command ran in {}",
            Untrusted(&dir.display().to_string())
        );
        match self {
            Missing::Program(name) if crate::signals::on_the_host() => {
                let shown = Untrusted(name);
                format!(
                    "`{shown}` was not found on the job's PATH. The command runs on the runner \
                     with the job's own tools: install it in an earlier step (its setup action, \
                     `pip install`, `npm install -g`) or in the command, or call it by its full \
                     path; {ran_in}."
                )
            }
            Missing::Unstartable(path) if crate::signals::on_the_host() => format!(
                "`{}` is there ({ran_in}) but the shell could not start it: the program on its \
                 `#!` line is not installed on the runner, or the file has Windows line endings \
                 (CRLF). Install it in an earlier step, or fix the `#!` line or the line endings.",
                Untrusted(path)
            ),
            Missing::Program(name) => {
                let shown = Untrusted(name);
                let local = if dir.join(name).is_file() {
                    format!(
                        " (there is a `{shown}` in {}: run it as `./{shown}`)",
                        Untrusted(&dir.display().to_string())
                    )
                } else {
                    String::new()
                };
                format!(
                    "`{shown}` was not found: it is not in rollout's image{local}. The command runs \
                     in rollout's container, which holds sh, bash, curl, jq, git, ssh and CA \
                     certificates and none of the runner's tools: what setup actions or earlier \
                     steps installed lives on the runner, not in this container. Either install it \
                     in the command (for example `curl -fsSL <installer URL> | sh && {shown} ...`), \
                     or run the deploy in the job's own steps between `step: start` and \
                     `step: finish` ({WHERE_THE_COMMAND_RUNS})."
                )
            }
            Missing::File(path) => format!(
                "`{}` was not found in the workspace ({ran_in}): the file is missing, not a \
                 program. Check that actions/checkout runs before rollout in this job (on `closed` \
                 pull requests too, when the teardown script lives in the repository), and that \
                 `working-directory` names the directory the path is relative to.",
                Untrusted(path)
            ),
            Missing::Unstartable(path) => format!(
                "`{}` is there ({ran_in}) but the shell could not start it: the program on its \
                 `#!` line is not in rollout's image (which holds sh and bash, not the runner's \
                 tools), or the file has Windows line endings (CRLF). Fix the `#!` line or the \
                 line endings, or run the deploy in the job's own steps between `step: start` and \
                 `step: finish` ({WHERE_THE_COMMAND_RUNS}).",
                Untrusted(path)
            ),
            Missing::NotExecutable(path) => {
                let shown = Untrusted(path);
                format!(
                    "`{shown}` is not executable ({ran_in}). Make it executable in the \
                     repository (`chmod +x {shown}`, or `git update-index --chmod=+x {shown}`, \
                     and commit), or run it through the shell (`sh {shown}`)."
                )
            }
        }
    }
}

/// Reads the shell's last message that explains `code` from the tail of stderr: "not found" for
/// 127 (and for 2, dash's exit code when `sh script` cannot open the script), "Permission
/// denied" for 126. `dir` tells a missing file from one that is there but cannot start.
pub fn diagnose(code: i32, tail: &[String], dir: &Path) -> Option<Missing> {
    let found = tail.iter().rev().find_map(|line| {
        let m = parse_shell_message(line)?;
        let fits = match &m {
            Missing::Program(_) => code == 127,
            Missing::File(_) => code == 127 || code == 2,
            Missing::NotExecutable(_) => code == 126,
            Missing::Unstartable(_) => code == 127,
        };
        fits.then_some(m)
    })?;
    Some(match found {
        // dash says "not found" both for a file that is not there and for a script whose
        // interpreter is not: only the file system tells them apart.
        Missing::File(path) if code == 127 && dir.join(&path).is_file() => {
            Missing::Unstartable(path)
        }
        other => other,
    })
}

/// One line of stderr as a shell's message, if it is one:
/// dash `sh: 1: astro: not found`, bash `bash: line 1: astro: command not found`,
/// bash `bash: ./x.sh: No such file or directory`, dash `sh: 0: cannot open x.sh: No such file`,
/// env `/usr/bin/env: 'python3': No such file or directory`,
/// bash `bash: ./x.sh: /usr/bin/python3: bad interpreter: No such file or directory`,
/// either `sh: 1: ./x.sh: Permission denied`.
pub fn parse_shell_message(line: &str) -> Option<Missing> {
    let line = line.trim_end();
    if let Some(rest) = line.strip_suffix(": command not found") {
        return last_field(rest).map(looked_up);
    }
    if let Some(rest) = line.strip_suffix(": not found") {
        return last_field(rest).map(looked_up);
    }
    if let Some(rest) = line.strip_suffix(": Permission denied") {
        return last_field(rest).map(|p| Missing::NotExecutable(p.to_string()));
    }
    if let Some(rest) = line.strip_suffix(": No such file") {
        let (_, what) = rest.rsplit_once(": ")?;
        let path = what
            .strip_prefix("cannot open ")
            .or_else(|| what.strip_prefix("Can't open "))?;
        return plausible(path).map(|p| Missing::File(p.to_string()));
    }
    let rest = line.strip_suffix(": No such file or directory")?;
    if let Some(head) = rest.strip_suffix(": bad interpreter") {
        let (front, interpreter) = head.rsplit_once(": ")?;
        // `#!/bin/bash\r`: the script was saved with Windows line endings.
        if interpreter.ends_with('\r') {
            return last_field(front).map(|s| Missing::Unstartable(s.to_string()));
        }
        return last_field(head).map(|i| Missing::Program(i.to_string()));
    }
    let (prefix, name) = rest.rsplit_once(": ")?;
    let tool = prefix.rsplit('/').next().unwrap_or(prefix);
    if tool == "env" {
        let name = name.trim_matches(|c| matches!(c, '\'' | '"' | '‘' | '’'));
        return plausible(name).map(|n| Missing::Program(n.to_string()));
    }
    // bash opened a file, not a PATH entry: `bash deploy.sh` means ./deploy.sh.
    last_field(rest).map(|p| Missing::File(p.to_string()))
}

/// The last `: `-separated field of a shell message whose first field is one word (the shell or
/// the script that printed it), as a plausible command name.
fn last_field(rest: &str) -> Option<&str> {
    let (prefix, name) = rest.rsplit_once(": ")?;
    let first = prefix.split(": ").next()?;
    if first.is_empty() || first.contains(char::is_whitespace) {
        return None;
    }
    plausible(name)
}

fn plausible(name: &str) -> Option<&str> {
    (!name.is_empty() && name.len() <= 256 && !name.contains(char::is_whitespace)).then_some(name)
}

/// A name the shell looked up: with a `/` it is a path into the workspace, without one a program
/// on PATH, that is in rollout's image.
fn looked_up(name: &str) -> Missing {
    if name.contains('/') {
        Missing::File(name.to_string())
    } else {
        Missing::Program(name.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::watch;

    fn spec(script: &str) -> CommandSpec {
        CommandSpec {
            script: script.into(),
            dir: std::env::temp_dir(),
            set: vec![("ROLLOUT_T".into(), "v".into())],
            remove: vec!["ROLLOUT_REMOVE_ME".into()],
            timeout: None,
        }
    }

    #[tokio::test]
    async fn exit_codes_come_back() {
        let o = run(&spec("exit 3"), &mut Cancel::never()).await.outcome;
        assert_eq!(o, Outcome::Exited(3));
        let o = run(
            &spec(r#"test "$ROLLOUT_T" = v && test -z "${ROLLOUT_REMOVE_ME+set}""#),
            &mut Cancel::never(),
        )
        .await
        .outcome;
        assert_eq!(o, Outcome::Exited(0));
    }

    #[tokio::test]
    async fn timeouts_stop_the_command() {
        let mut s = spec("sleep 30");
        s.timeout = Some(Duration::from_millis(200));
        let Finished {
            outcome: o, took, ..
        } = run(&s, &mut Cancel::never()).await;
        assert_eq!(o, Outcome::TimedOut(Duration::from_millis(200)));
        assert!(took < Duration::from_secs(10), "{took:?}");
    }

    #[tokio::test]
    async fn cancel_reaches_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let (tx, rx) = watch::channel(None);
        let mut cancel = Cancel::new(rx);
        let s = spec(&format!("sleep 60 & echo $! > {}; wait", pidfile.display()));
        let task = tokio::spawn(async move { run(&s, &mut cancel).await });
        for _ in 0..100 {
            if pidfile.exists() && !std::fs::read_to_string(&pidfile).unwrap().trim().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tx.send(Some(15)).unwrap();
        let o = task.await.unwrap().outcome;
        assert_eq!(o, Outcome::Cancelled(15));
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The grandchild is gone, or a zombie waiting for init to reap it; SIGKILL lands
        // asynchronously, so give it a moment.
        let alive = || {
            nix::sys::signal::kill(Pid::from_raw(pid), None).is_ok()
                && std::fs::read_to_string(format!("/proc/{pid}/stat"))
                    .is_ok_and(|s| !s.contains(") Z "))
        };
        let mut tries = 0;
        while alive() && tries < 100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            tries += 1;
        }
        let alive = alive();
        assert!(!alive, "the command's child {pid} survived");
    }

    #[tokio::test]
    async fn the_stderr_tail_explains_a_missing_program() {
        let f = run(
            &spec("echo first >&2; rollout-test-no-such-tool --deploy"),
            &mut Cancel::never(),
        )
        .await;
        assert_eq!(f.outcome, Outcome::Exited(127));
        assert_eq!(f.stderr_tail.first().map(String::as_str), Some("first"));
        assert_eq!(
            f.missing(&std::env::temp_dir()),
            Some(Missing::Program("rollout-test-no-such-tool".into()))
        );
    }

    #[tokio::test]
    async fn a_cancelled_command_keeps_its_last_words() {
        let (tx, rx) = watch::channel(None);
        let mut cancel = Cancel::new(rx);
        let s = spec("echo last words >&2; exec sleep 60");
        let task = tokio::spawn(async move { run(&s, &mut cancel).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        tx.send(Some(2)).unwrap();
        let f = task.await.unwrap();
        assert_eq!(f.outcome, Outcome::Cancelled(2));
        assert_eq!(f.stderr_tail, ["last words"]);
    }

    #[tokio::test]
    async fn a_background_child_in_the_group_does_not_hold_the_run() {
        let started = Instant::now();
        let f = run(&spec("sleep 30 & echo done"), &mut Cancel::never()).await;
        assert_eq!(f.outcome, Outcome::Exited(0));
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", f.took);
    }

    #[tokio::test]
    async fn a_child_that_left_the_group_does_not_hold_the_run_for_ever() {
        if std::process::Command::new("setsid")
            .arg("true")
            .status()
            .map_or(true, |s| !s.success())
        {
            eprintln!("no setsid here; skipped");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        // The shell waits until the sleeper is in its own session: before that, the kill of
        // the group when the shell ends would take it along.
        let s = spec(&format!(
            "setsid sh -c 'echo $$ > {0}; exec sleep 30' & \
             while [ ! -s {0} ]; do sleep 0.01; done; echo done >&2",
            pidfile.display()
        ));
        let started = Instant::now();
        let f = run(&s, &mut Cancel::never()).await;
        let took = started.elapsed();
        let escaped = std::fs::read_to_string(&pidfile).unwrap_or_default();
        if let Ok(pid) = escaped.trim().parse::<i32>() {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        assert_eq!(f.outcome, Outcome::Exited(0));
        assert_eq!(
            f.stderr_tail,
            ["done"],
            "the tail before the give-up is kept"
        );
        assert!(took < Duration::from_secs(15), "{took:?}");
        assert!(
            took >= DRAIN_AFTER_EXIT,
            "it waited for the output: {took:?}"
        );
    }

    #[tokio::test]
    async fn chunks_pass_through_unchanged_and_unbuffered() {
        let bytes: &[u8] = b"plain\n\x1b[32mcolour\x1b[0m\r50%\r100%\xff\xfe no newline";
        let mut out = Vec::new();
        let mut chunks = 0;
        pump(Some(bytes), &mut out, |_| chunks += 1).await;
        assert_eq!(out, bytes);
        assert!(chunks >= 1);
        pump(None::<&[u8]>, &mut out, |_| panic!("nothing to read")).await;
    }

    #[test]
    fn the_tail_keeps_the_last_lines_each_cut_short() {
        let mut t = Tail::new(3, 8);
        for i in 0..10 {
            t.feed(format!("line {i}\n").as_bytes());
        }
        t.feed(b"a very long line indeed\n");
        t.feed(b"loading 10%\rloading 99%\rsh: 1: x: not found\r\n");
        t.feed(b"unfinished");
        assert_eq!(
            t.lines(),
            ["a very l", "sh: 1: x", "unfinish"],
            "three lines, eight bytes each, a carriage return starts over"
        );
        let mut t = Tail::new(2, 4096);
        t.feed(b"one\ntw");
        t.feed(b"o\n\xffbad utf8\n");
        assert_eq!(t.lines(), ["two", "\u{fffd}bad utf8"]);
    }

    #[test]
    fn shell_messages_are_read_in_dash_and_bash_forms() {
        let p = |name: &str| Some(Missing::Program(name.into()));
        let f = |path: &str| Some(Missing::File(path.into()));
        let cases = [
            ("sh: 1: astro: not found", p("astro")),
            (
                "sh: 1: ./scripts/deploy.sh: not found",
                f("./scripts/deploy.sh"),
            ),
            ("./deploy.sh: 12: wmill: not found", p("wmill")),
            ("bash: line 1: astro: command not found", p("astro")),
            ("bash: astro: command not found", p("astro")),
            (
                "./deploy.sh: line 3: dagster-cloud: command not found",
                p("dagster-cloud"),
            ),
            ("bash: ./x.sh: No such file or directory", f("./x.sh")),
            (
                "bash: line 1: ./x.sh: No such file or directory",
                f("./x.sh"),
            ),
            ("bash: deploy.sh: No such file or directory", f("deploy.sh")),
            (
                "sh: 0: cannot open scripts/deploy.sh: No such file",
                f("scripts/deploy.sh"),
            ),
            ("sh: 0: Can't open deploy.sh", None),
            (
                "/usr/bin/env: 'python3': No such file or directory",
                p("python3"),
            ),
            ("env: ‘node’: No such file or directory", p("node")),
            (
                "bash: ./x.sh: /usr/bin/python3: bad interpreter: No such file or directory",
                p("/usr/bin/python3"),
            ),
            (
                "bash: ./x.sh: /bin/bash\r: bad interpreter: No such file or directory",
                Some(Missing::Unstartable("./x.sh".into())),
            ),
            (
                "sh: 1: ./x.sh: Permission denied",
                Some(Missing::NotExecutable("./x.sh".into())),
            ),
            (
                "bash: line 1: ./x.sh: Permission denied",
                Some(Missing::NotExecutable("./x.sh".into())),
            ),
            ("sh: 1: astro: not found\r", p("astro")),
            // Not a shell's message about a command.
            ("Error: resource not found", None),
            ("cp: cannot stat 'a b': No such file or directory", None),
            ("deploy failed: 404 not found", None),
            ("not found", None),
            ("", None),
        ];
        for (line, want) in cases {
            assert_eq!(parse_shell_message(line), want, "{line:?}");
        }
    }

    #[test]
    fn the_exit_code_decides_which_message_counts() {
        let dir = tempfile::tempdir().unwrap();
        let lines = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let tail = lines(&[
            "sh: 1: first: not found",
            "noise",
            "sh: 1: astro: not found",
        ]);
        assert_eq!(
            diagnose(127, &tail, dir.path()),
            Some(Missing::Program("astro".into())),
            "the last message is the one that ended the command"
        );
        assert_eq!(diagnose(1, &tail, dir.path()), None);
        let denied = lines(&["sh: 1: ./x.sh: Permission denied"]);
        assert_eq!(
            diagnose(126, &denied, dir.path()),
            Some(Missing::NotExecutable("./x.sh".into()))
        );
        assert_eq!(diagnose(127, &denied, dir.path()), None);
        let opened = lines(&["sh: 0: cannot open deploy.sh: No such file"]);
        assert_eq!(
            diagnose(2, &opened, dir.path()),
            Some(Missing::File("deploy.sh".into()))
        );
        assert_eq!(diagnose(127, &lines(&["something else"]), dir.path()), None);
        // dash's "not found" for a script that is there: its interpreter is what is missing.
        std::fs::write(dir.path().join("x.sh"), "#!/usr/bin/python3\n").unwrap();
        assert_eq!(
            diagnose(127, &lines(&["sh: 1: ./x.sh: not found"]), dir.path()),
            Some(Missing::Unstartable("./x.sh".into()))
        );
    }

    #[test]
    fn explanations_name_the_thing_and_the_ways_out() {
        let dir = Path::new("/github/workspace/infra");
        let program = Missing::Program("astro".into()).explain(dir);
        for part in [
            "`astro`",
            "not in rollout's image",
            "sh, bash, curl, jq, git, ssh",
            "install it in the command",
            "`step: start`",
            "`step: finish`",
            WHERE_THE_COMMAND_RUNS,
        ] {
            assert!(program.contains(part), "{part:?} in {program}");
        }
        let file = Missing::File("./scripts/deploy.sh".into()).explain(dir);
        for part in [
            "`./scripts/deploy.sh`",
            "workspace",
            "actions/checkout",
            "`closed`",
            "`working-directory`",
            "/github/workspace/infra",
        ] {
            assert!(file.contains(part), "{part:?} in {file}");
        }
        let denied = Missing::NotExecutable("./x.sh".into()).explain(dir);
        assert!(denied.contains("chmod +x ./x.sh"), "{denied}");
        assert!(
            denied.contains("git update-index --chmod=+x ./x.sh"),
            "{denied}"
        );
        // A name from the command's output stays inert in the log.
        let hostile = Missing::Program("::add-mask::x##[error]".into()).explain(dir);
        assert!(!hostile.contains("##["), "{hostile}");
        for m in [
            Missing::Program(String::new()),
            Missing::File(String::new()),
            Missing::Unstartable(String::new()),
            Missing::NotExecutable(String::new()),
        ] {
            assert!(m.summary().len() < 60, "{}", m.summary());
        }
    }
}
