//! Cancellation: SIGINT and SIGTERM (the runner's cancel) recorded once, for every part of
//! rollout to see. Signals only set a value: whatever rollout is doing goes on to post a final
//! status, however many signals follow.

use nix::sys::signal::Signal;
use tokio::sync::watch;

/// The signal that cancelled the run, once one arrived. Signals only set this: whatever rollout is
/// doing goes on to post a final status, however many signals follow.
#[derive(Clone)]
pub struct Cancel(watch::Receiver<Option<i32>>);

impl Cancel {
    pub fn new(rx: watch::Receiver<Option<i32>>) -> Cancel {
        Cancel(rx)
    }
    /// A `Cancel` that never fires (`rollout plan`, tests).
    pub fn never() -> Cancel {
        let (tx, rx) = watch::channel(None);
        std::mem::forget(tx);
        Cancel(rx)
    }
    pub fn signal(&self) -> Option<i32> {
        *self.0.borrow()
    }
    /// Resolves with the signal once one arrived.
    pub async fn fired(&mut self) -> i32 {
        loop {
            if let Some(sig) = *self.0.borrow_and_update() {
                return sig;
            }
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

/// Installs handlers for SIGINT and SIGTERM (as PID 1 in a container nothing else would) that
/// record the first signal.
pub fn listen_for_signals() -> std::io::Result<Cancel> {
    use tokio::signal::unix::{signal, SignalKind};
    let (tx, rx) = watch::channel(None);
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        loop {
            let sig = tokio::select! {
                _ = int.recv() => libc_sig(Signal::SIGINT),
                _ = term.recv() => libc_sig(Signal::SIGTERM),
            };
            tracing::info!(
                "received {}; stopping the command and posting the final status",
                signal_name(sig)
            );
            tx.send_if_modified(|current| {
                if current.is_none() {
                    *current = Some(sig);
                    true
                } else {
                    false
                }
            });
        }
    });
    Ok(Cancel(rx))
}

fn libc_sig(s: Signal) -> i32 {
    s as i32
}

pub fn signal_name(sig: i32) -> String {
    Signal::try_from(sig)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {sig}"))
}

/// The variable through which the host form's launcher (host/launcher.js) names itself, node, as
/// rollout's parent.
pub const LAUNCHER_PID: &str = "ROLLOUT_LAUNCHER_PID";

/// Started by the host form's launcher: the runner's last resort kills node alone, so ask the
/// kernel for SIGTERM when the parent dies (PR_SET_PDEATHSIG); the SIGTERM is then the cancel that
/// posts the final status. Call it first, before any other thread exists (it removes the variable,
/// so the command and anything it starts do not inherit it). Returns false when the launcher was
/// gone before the request took effect (the man page's race: the parent pid is no longer the
/// launcher's): nobody waits for this rollout and nothing was done yet.
/// Whether the host form's launcher started rollout: the command then runs on the runner, with
/// the job's tools, and a sentence about rollout's image would mislead.
static ON_THE_HOST: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn on_the_host() -> bool {
    ON_THE_HOST.load(std::sync::atomic::Ordering::Relaxed)
}

pub fn follow_launcher() -> bool {
    let Some(value) = std::env::var_os(LAUNCHER_PID) else {
        return true;
    };
    std::env::remove_var(LAUNCHER_PID);
    ON_THE_HOST.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM) {
        tracing::warn!(
            "could not ask to be signalled when the launcher exits ({e}); a kill of node would leave rollout running"
        );
        return true;
    }
    let parent = nix::unistd::getppid().as_raw();
    match value.to_str().and_then(|v| v.trim().parse::<i32>().ok()) {
        Some(launcher) => parent == launcher,
        // Not a pid: at least an orphan (re-parented to init or a subreaper) is not waited for.
        None => parent != 1,
    }
}
