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
