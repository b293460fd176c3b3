//! The retry policy: how long a call keeps trying by what is at stake, GitHub's rate-limit rules
//! (`retry-after`, `x-ratelimit-reset`, a minute then longer for a secondary limit), backoff for
//! faults, and the cancel: a hanging request cut short, a write still on the wire settled later.

use super::{Answer, ApiError, DeploymentClient, Resend};
use http::{HeaderMap, Method};
use rand::Rng;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long rollout keeps retrying, by what is at stake. GitHub's rate-limit rules make a wait of
/// a minute normal, so budgets are times, not attempt counts.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// The first backoff after a fault that is not a rate limit; it doubles, with jitter.
    pub base_delay: Duration,
    /// The longest one backoff grows to (a rate limit waits what GitHub asks, however long).
    pub max_backoff: Duration,
    /// A final status: `final-status-timeout`. Only a cancel cuts it shorter.
    pub final_status: Duration,
    /// The create, the in-progress status, comments, and the reads a step cannot do without.
    pub ordinary: Duration,
    /// A lookup that only improves a message or a link: three tries within this.
    pub lookup: Duration,
    pub read_timeout: Duration,
    /// Test-only (`ROLLOUT_TEST_TIME_SCALE`, see the README): every wait, budget and the read
    /// timeout are multiplied by it, so a minute's rate limit takes a test 0.6 s at 0.01. Logs
    /// keep GitHub's figures.
    pub time_scale: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base_delay: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            final_status: Duration::from_secs(15 * 60),
            ordinary: Duration::from_secs(5 * 60),
            lookup: Duration::from_secs(20),
            read_timeout: Duration::from_secs(30),
            time_scale: 1.0,
        }
    }
}

impl RetryPolicy {
    pub(super) fn scaled(&self, d: Duration) -> Duration {
        if self.time_scale == 1.0 {
            d
        } else {
            d.mul_f64(self.time_scale.clamp(0.0, 1.0))
        }
    }
    pub(super) fn limit(&self, budget: Budget) -> Duration {
        match budget {
            Budget::Final => self.final_status,
            Budget::Ordinary => self.ordinary,
            Budget::Lookup => self.lookup,
            Budget::Confirm => self.lookup.min(self.final_status),
        }
    }
}

/// What is at stake in a call, which sets how long it keeps trying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// A final status: a deployment left non-final is the failure users report most.
    Final,
    Ordinary,
    /// Only a message or a link depends on it.
    Lookup,
    /// Whether a final status whose answer was lost landed: a lookup, within the final status's
    /// own time when that is shorter.
    Confirm,
}

impl DeploymentClient {
    /// Sleeps before a retry; a cancel cuts the sleep short.
    pub(super) async fn pause(&self, wait: Duration) {
        match &self.cancel {
            Some(cancel) if !self.cancelled() => {
                let mut cancel = cancel.clone();
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    _ = cancel.fired() => {}
                }
            }
            _ => tokio::time::sleep(wait).await,
        }
    }

    /// Sleeps `wait` on the run's clock (`ROLLOUT_TEST_TIME_SCALE`); a cancel cuts it short.
    pub async fn sleep(&self, wait: Duration) {
        self.pause(self.policy.scaled(wait)).await;
    }

    /// One request, which a cancel cuts short unless it is a final status: whatever was
    /// hanging, the final status must go out within the runner's window. A write cut short goes
    /// on in the background, since the server may still act on it; [`Self::settle_overtaken`]
    /// waits for it after the final status.
    async fn once_or_cancel(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        budget: Budget,
        left: Duration,
    ) -> Result<Answer, ApiError> {
        let Some(cancel) = self.cancel.clone().filter(|_| budget != Budget::Final) else {
            return self.once(method, path, body, left).await;
        };
        if self.cancelled() {
            return self.once(method, path, body, left).await;
        }
        let cut = || ApiError::Cancelled {
            method: method.clone(),
            path: path.to_string(),
        };
        let mut cancel = cancel;
        if *method == Method::GET {
            return tokio::select! {
                answer = self.once(method, path, body, left) => answer,
                _ = cancel.fired() => Err(cut()),
            };
        }
        let client = self.clone();
        let (owned_method, owned_path, owned_body) =
            (method.clone(), path.to_string(), body.cloned());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let answer = client
                .once(&owned_method, &owned_path, owned_body.as_ref(), left)
                .await;
            let _ = tx.send(answer);
        });
        tokio::select! {
            answer = rx => answer.unwrap_or_else(|_| Err(cut())),
            _ = cancel.fired() => {
                if let Ok(mut overtaken) = self.overtaken.lock() {
                    overtaken.push(task);
                }
                Err(cut())
            }
        }
    }

    /// Whether a write that a cancel cut short may still land.
    pub fn has_overtaken_writes(&self) -> bool {
        // Finished ones count too: one that answered after the final status went out is the
        // case to mend.
        self.overtaken
            .lock()
            .map(|o| !o.is_empty())
            .unwrap_or(false)
    }

    /// Waits (at most `limit`) for the writes a cancel cut short to answer or be given up.
    pub async fn settle_overtaken(&self, limit: Duration) {
        let tasks: Vec<_> = match self.overtaken.lock() {
            Ok(mut o) => o.drain(..).collect(),
            Err(_) => return,
        };
        let _ = tokio::time::timeout(limit, async {
            for task in tasks {
                let _ = task.await;
            }
        })
        .await;
    }

    /// Sends with retries per `resend`, as long as `budget` allows; answers 2xx as `Ok`,
    /// everything else as an [`ApiError`]. Rate limits wait as GitHub's rules say: `retry-after`,
    /// else until `x-ratelimit-reset`, else (a secondary limit) a minute, then longer.
    pub(super) async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        resend: Resend,
        budget: Budget,
    ) -> Result<Answer, ApiError> {
        self.send_checking(method, path, body, resend, budget, |_, _, _| None)
            .await
    }

    /// [`Self::send`], where `refused` may turn a 2xx answer into an error (GraphQL reports its
    /// errors, rate limits included, with a 200) that the same retry rules then apply to.
    pub(super) async fn send_checking(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        resend: Resend,
        budget: Budget,
        refused: fn(&Method, &str, &Answer) -> Option<ApiError>,
    ) -> Result<Answer, ApiError> {
        let started = Instant::now();
        let limit = self.policy.scaled(self.policy.limit(budget));
        let mut attempt: u32 = 0;
        let mut secondary: u32 = 0;
        let mut hurried: u32 = 0;
        loop {
            attempt += 1;
            // Unscaled, as the budget is written: `once` scales it with the read timeout.
            let left = self.policy.limit(budget).saturating_sub(
                started
                    .elapsed()
                    .div_f64(self.policy.time_scale.clamp(1e-6, 1.0)),
            );
            let (error, headers) = match self
                .once_or_cancel(&method, path, body, budget, left)
                .await
            {
                Ok(answer) if answer.status.is_success() => match refused(&method, path, &answer) {
                    None => return Ok(answer),
                    Some(e) => (e, Some(answer.headers)),
                },
                Ok(answer) => (
                    super::error::status_error(&method, path, &answer),
                    Some(answer.headers),
                ),
                Err(e) => (e, None),
            };
            let may_resend = match resend {
                Resend::Safe => error.retryable(),
                Resend::OnlyIfRefused => error.is_rate_limit(),
            };
            // After a cancel, one quick retry at most: the final status must beat the runner's kill.
            let cancelled = self.cancelled();
            if !may_resend
                || (cancelled && attempt >= 2)
                || (matches!(budget, Budget::Lookup | Budget::Confirm) && attempt >= 3)
            {
                return Err(error);
            }
            let (mut wait, why) = if error.is_rate_limit() {
                match headers.as_ref().and_then(server_wait) {
                    // `retry-after: 0`, or a reset already past, would be a hot loop: a retry
                    // waits at least a second, and longer each time it is told less.
                    Some((told, why)) if told < MIN_RATE_LIMIT_WAIT => {
                        hurried += 1;
                        (
                            MIN_RATE_LIMIT_WAIT.saturating_mul(1 << (hurried - 1).min(5)),
                            why,
                        )
                    }
                    Some((wait, why)) => (wait, why),
                    None => {
                        // A secondary limit that names no time: at least a minute, then longer.
                        secondary += 1;
                        (
                            Duration::from_secs(60).saturating_mul(1 << (secondary - 1).min(4)),
                            "a secondary rate limit with no retry-after".to_string(),
                        )
                    }
                }
            } else {
                (
                    backoff(&self.policy, attempt),
                    format!("{} (attempt {attempt})", error.cause()),
                )
            };
            if cancelled {
                wait = wait.min(Duration::from_secs(1));
            }
            let scaled = self.policy.scaled(wait);
            if started.elapsed() + scaled > limit {
                if error.is_rate_limit() {
                    tracing::info!(
                        "{method} {path}: rate limited ({why}); waiting {} would pass the {} this call may take, so rollout gives up on it",
                        seconds(wait),
                        seconds(self.policy.limit(budget))
                    );
                }
                return Err(error);
            }
            if error.is_rate_limit() {
                tracing::info!(
                    "{method} {path}: rate limited ({why}); retrying in {}",
                    seconds(wait)
                );
            } else {
                tracing::info!("{method} {path}: {why}; retrying in {}", seconds(wait));
            }
            self.pause(scaled).await;
        }
    }
}

/// The shortest wait before retrying a rate-limited call, whatever the server says.
const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);

/// What the server asks for, and why: `retry-after` seconds, or until `x-ratelimit-reset` when no
/// requests remain.
fn server_wait(headers: &HeaderMap) -> Option<(Duration, String)> {
    if let Some(secs) =
        super::error::header(headers, "retry-after").and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Some((
            Duration::from_secs(secs),
            format!("GitHub asks to retry after {secs} s"),
        ));
    }
    if super::error::header(headers, "x-ratelimit-remaining") == Some("0") {
        let reset = super::error::header(headers, "x-ratelimit-reset")?
            .trim()
            .parse::<u64>()
            .ok()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        let wait = Duration::from_secs(reset.saturating_sub(now).max(1));
        return Some((wait, "no requests left until x-ratelimit-reset".to_string()));
    }
    None
}

/// A wait as the log says it: whole seconds from a second up.
pub(super) fn seconds(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Exponential backoff with full jitter.
pub(super) fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let cap = policy.base_delay.saturating_mul(1 << attempt.min(8));
    let millis = cap.as_millis().max(1) as u64;
    Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::error::tests::answer;

    #[test]
    fn server_waits_follow_headers() {
        let a = answer(429, &[("retry-after", "3")], "");
        assert_eq!(
            server_wait(&a.headers).map(|(d, _)| d),
            Some(Duration::from_secs(3))
        );
        let a = answer(
            403,
            &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")],
            "",
        );
        assert_eq!(
            server_wait(&a.headers).map(|(d, _)| d),
            Some(Duration::from_secs(1)),
            "a reset in the past waits 1s"
        );
        assert_eq!(server_wait(&answer(500, &[], "").headers), None);
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        let p = RetryPolicy::default();
        for attempt in 1..20 {
            let d = backoff(&p, attempt);
            assert!(d <= p.base_delay * 256, "{d:?}");
            assert!(d >= Duration::from_millis(1));
        }
    }
}
