//! The child process: the user's command under `sh -c`, in its own process group so that a
//! cancel or a timeout reaches everything it started, with its output streamed straight into the
//! job log.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

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

/// How long the command gets between the polite signal and SIGKILL.
const CANCEL_GRACE: Duration = Duration::from_secs(2);
const TIMEOUT_GRACE: Duration = Duration::from_secs(5);

pub async fn run(spec: &CommandSpec, cancel: &mut Cancel) -> (Outcome, Duration) {
    let started = Instant::now();
    let mut command = tokio::process::Command::new("sh");
    command
        .arg("-c")
        .arg(&spec.script)
        .current_dir(&spec.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
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
            return (
                Outcome::NotStarted(format!(
                    "could not start `sh` in {}: {e}",
                    spec.dir.display()
                )),
                started.elapsed(),
            )
        }
    };
    let group = child.id().map(|id| Pid::from_raw(id as i32));
    let deadline = async {
        match spec.timeout {
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
            return (outcome, started.elapsed());
        }
        () = deadline => {
            stop(Signal::SIGTERM);
            Outcome::TimedOut(spec.timeout.unwrap_or_default())
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
    (outcome, started.elapsed())
}

fn exit_outcome(status: std::process::ExitStatus) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => Outcome::Exited(code),
        (None, Some(sig)) => Outcome::Killed(sig),
        (None, None) => Outcome::Exited(-1),
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
        let (o, _) = run(&spec("exit 3"), &mut Cancel::never()).await;
        assert_eq!(o, Outcome::Exited(3));
        let (o, _) = run(
            &spec(r#"test "$ROLLOUT_T" = v && test -z "${ROLLOUT_REMOVE_ME+set}""#),
            &mut Cancel::never(),
        )
        .await;
        assert_eq!(o, Outcome::Exited(0));
    }

    #[tokio::test]
    async fn timeouts_stop_the_command() {
        let mut s = spec("sleep 30");
        s.timeout = Some(Duration::from_millis(200));
        let (o, took) = run(&s, &mut Cancel::never()).await;
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
        let (o, _) = task.await.unwrap();
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
}
