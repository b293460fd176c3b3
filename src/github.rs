//! `DeploymentClient`: the few GitHub calls rollout makes, over octocrab, with the rules of
//! retrying (GETs and status posts freely; the deployment create never blindly) and one clear
//! sentence per refusal. Nothing else in rollout knows HTTP.

use crate::inputs::Token;
use crate::signals::Cancel;
use crate::text::Description;
use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod graphql;
pub use graphql::{graphql_url, DeploymentState, DeploymentStates, StateNode};

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
    fn scaled(&self, d: Duration) -> Duration {
        if self.time_scale == 1.0 {
            d
        } else {
            d.mul_f64(self.time_scale.clamp(0.0, 1.0))
        }
    }
    fn limit(&self, budget: Budget) -> Duration {
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

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("GitHub answered {status} to {method} {path}: {message}")]
    Status {
        status: u16,
        method: Method,
        path: String,
        message: String,
        /// The `errors` list of a 422, as GitHub wrote it.
        errors: String,
        rate_limited: bool,
    },
    #[error("could not reach GitHub for {method} {path}: {detail}")]
    Transport {
        method: Method,
        path: String,
        detail: String,
    },
    #[error("GitHub answered 202 to the deployment create: it tried to merge the default branch into the ref and made no deployment ({message})")]
    Accepted { message: String },
    #[error("the TLS certificate of {host} is not trusted ({detail}); if {host} uses a private certificate authority, set SSL_CERT_FILE to a file of its PEM certificates (in the image: mount it, or add it to the job's `env:`)")]
    Certificate { host: String, detail: String },
    #[error("{method} {path} was cut short: the run was cancelled")]
    Cancelled { method: Method, path: String },
    #[error("GitHub's answer to {method} {path} could not be read: {detail}")]
    Decode {
        method: Method,
        path: String,
        detail: String,
    },
    /// A GraphQL query that GitHub answered with an `errors` list (and, usually, HTTP 200).
    #[error("GitHub's GraphQL API did not answer the query ({path}): {message}")]
    Query {
        path: String,
        message: String,
        kind: QueryFault,
    },
    /// A 2xx whose body is not what the call answers: the server acted, and what it made is
    /// unknown. For a create, as ambiguous as a lost answer.
    #[error(
        "GitHub answered {status} to {method} {path}, but its answer could not be read ({detail})"
    )]
    Unreadable {
        status: u16,
        method: Method,
        path: String,
        detail: String,
    },
    /// The proxy in `variable` refused to carry the request: retrying will not change its mind.
    #[error("{0}")]
    Proxy(String),
}

/// What a GraphQL `errors` list means for a retry and for the user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryFault {
    /// `type: RATE_LIMITED`: waited for as REST's rate limits are.
    RateLimited,
    /// `FORBIDDEN` (or `INSUFFICIENT_SCOPES`): the token lacks a permission.
    Forbidden,
    /// `NOT_FOUND`: no such repository, or no access to it.
    NotFound,
    /// GitHub's own failure ("Something went wrong while executing your query. This may be the
    /// result of a timeout"): retried like a 502.
    Transient,
    /// Anything else: the query itself was refused, and asking again changes nothing.
    Refused,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server may have acted on the request although the answer was lost.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            ApiError::Transport { .. }
            | ApiError::Cancelled { .. }
            | ApiError::Unreadable { .. } => true,
            ApiError::Query { kind, .. } => *kind == QueryFault::Transient,
            ApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    fn retryable(&self) -> bool {
        match self {
            ApiError::Status { rate_limited, .. } if *rate_limited => true,
            ApiError::Query { kind, .. } => {
                matches!(kind, QueryFault::RateLimited | QueryFault::Transient)
            }
            ApiError::Cancelled { .. } | ApiError::Proxy(_) => false,
            other => other.is_ambiguous(),
        }
    }

    /// The error without the request it came from, for a line that names the request already.
    pub fn cause(&self) -> String {
        match self {
            ApiError::Transport { detail, .. } => format!("could not reach GitHub: {detail}"),
            ApiError::Status {
                status, message, ..
            } => format!("GitHub answered {status}: {message}"),
            ApiError::Cancelled { .. } => "cut short: the run was cancelled".into(),
            ApiError::Decode { detail, .. } => format!("the answer could not be read: {detail}"),
            ApiError::Unreadable { status, detail, .. } => {
                format!("GitHub answered {status}, but the answer could not be read: {detail}")
            }
            ApiError::Query { message, .. } => format!("the GraphQL query failed: {message}"),
            other => other.to_string(),
        }
    }

    pub fn is_rate_limit(&self) -> bool {
        matches!(
            self,
            ApiError::Status {
                rate_limited: true,
                ..
            } | ApiError::Query {
                kind: QueryFault::RateLimited,
                ..
            }
        )
    }

    /// One sentence for a user: what went wrong in `doing`, and what to change. `permission` is
    /// the `permissions:` entry the call needs.
    pub fn explain(&self, doing: &str, permission: &str) -> String {
        match self {
            ApiError::Status { status, message, rate_limited: true, .. } => format!(
                "{doing} failed: GitHub rate limited the requests ({status}: {message}) for longer than rollout may wait here; wait for the limit to reset (GITHUB_TOKEN allows 1,000 requests an hour per repository), or use fewer concurrent jobs"
            ),
            ApiError::Status { status: 401, .. } => format!(
                "{doing} failed: GitHub refused the token (401); it is invalid or expired, so check the `token` input"
            ),
            ApiError::Status { status: 403 | 404, message, rate_limited: false, .. } => format!(
                "{doing} failed: GitHub answered {} ({}); the token lacks access: give the job `permissions:` with `{permission}` (a 404 also means no access)",
                self.status().unwrap_or(0),
                message
            ),
            ApiError::Status { status: 407, .. } => format!(
                "{doing} failed: the proxy answered 407 (Proxy Authentication Required); write its credentials into http_proxy as `http://user:password@host:port`"
            ),
            ApiError::Status { status: 409, message, .. } => format!(
                "{doing} failed: GitHub answered 409 ({message}); the commit's status checks in `required-contexts` have not all passed, or the ref conflicts"
            ),
            ApiError::Status { status: 422, message, errors, .. } => format!(
                "{doing} failed: GitHub rejected a field (422: {message}{}{errors})",
                if errors.is_empty() { "" } else { "; " }
            ),
            ApiError::Query { kind: QueryFault::RateLimited, message, .. } => format!(
                "{doing} failed: GitHub rate limited the GraphQL API ({message}) for longer than rollout may wait here; wait for the limit to reset, or use fewer concurrent jobs"
            ),
            ApiError::Query { kind: QueryFault::Forbidden | QueryFault::NotFound, message, .. } => format!(
                "{doing} failed: GitHub's GraphQL API refused the token ({message}); the token lacks access: give the job `permissions:` with `{permission}`"
            ),
            ApiError::Query { kind: QueryFault::Transient, message, .. } => format!(
                "{doing} failed: GitHub's GraphQL API kept failing on its side ({message}); re-run the job when GitHub recovers"
            ),
            other => format!("{doing} failed: {other}"),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct NewDeployment {
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub task: String,
    pub auto_merge: bool,
    pub required_contexts: Vec<String>,
    pub payload: Value,
    pub environment: String,
    pub description: Description,
    pub transient_environment: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub production_environment: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Error,
    Failure,
    Inactive,
    InProgress,
    Queued,
    Pending,
    Success,
    #[serde(other)]
    Unknown,
}

impl State {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            State::Error | State::Failure | State::Inactive | State::Success
        )
    }
    pub fn as_str(self) -> &'static str {
        match self {
            State::Error => "error",
            State::Failure => "failure",
            State::Inactive => "inactive",
            State::InProgress => "in_progress",
            State::Queued => "queued",
            State::Pending => "pending",
            State::Success => "success",
            State::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct NewStatus {
    pub state: State,
    pub description: Description,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_inactive: Option<bool>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Deployment {
    pub id: u64,
    #[serde(default)]
    pub sha: String,
    #[serde(default)]
    pub environment: String,
    #[serde(default)]
    pub payload: Value,
    #[serde(default)]
    pub transient_environment: bool,
}

/// A deployment the create made or found; `ambiguous` when a create's answer was lost on the way.
#[derive(Clone, Debug)]
pub struct Created {
    pub deployment: Deployment,
    pub ambiguous: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DeploymentStatus {
    pub state: State,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub environment_url: Option<String>,
    #[serde(default)]
    pub log_url: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Comment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
}

/// The part of a compare answer rollout reads.
#[derive(Clone, Debug, Deserialize)]
pub struct Comparison {
    #[serde(default)]
    pub files: Vec<ComparedFile>,
    #[serde(default)]
    pub status: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ComparedFile {
    pub filename: String,
    #[serde(default)]
    pub previous_filename: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Job {
    #[serde(default)]
    pub runner_name: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub steps: Vec<JobStep>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct JobStep {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub conclusion: Option<String>,
}

#[derive(Deserialize)]
struct Jobs {
    #[serde(default)]
    jobs: Vec<Job>,
}

#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// Whether a call may be sent again after a fault.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Resend {
    /// Reading, or a write whose repetition is harmless (a status, a comment edit).
    Safe,
    /// Only when the server certainly did nothing (a rate-limit refusal).
    OnlyIfRefused,
}

#[derive(Clone)]
pub struct DeploymentClient {
    crab: Octocrab,
    repo_path: String,
    repository: String,
    /// The GraphQL endpoint's path on the API host, or why there is none.
    graphql_path: Result<String, String>,
    policy: RetryPolicy,
    /// Once the run is cancelled, waits shrink: the runner kills the container 10 s after its
    /// first signal, and the final status must be posted before that.
    cancel: Option<Cancel>,
    /// Writes a cancel stopped waiting for while they were on the wire: they may still land,
    /// after the final status, which then has to be sent again to stay the last.
    overtaken: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    /// The API's host, for sentences about its certificate.
    host: String,
}

impl DeploymentClient {
    /// `api_url` is `GITHUB_API_URL` (`https://HOST/api/v3` on GitHub Enterprise Server).
    pub fn new(
        api_url: &str,
        repository: &str,
        token: &Token,
        policy: RetryPolicy,
        proxy: Option<crate::transport::Proxy>,
    ) -> Result<DeploymentClient, String> {
        // octocrab joins every route to the base's path, so the base is the API's origin and each
        // route carries the API's own path: GitHub Enterprise's GraphQL is not under `/api/v3`.
        let (origin, api_path) = graphql::split_api_url(api_url)
            .ok_or_else(|| format!("GITHUB_API_URL {api_url:?} is not a URL"))?;
        // rollout retries itself (octocrab's retry would resend a POST that may have succeeded),
        // and times each request itself (`read_timeout`, in `once`).
        let crab = crate::transport::octocrab(crate::transport::Settings {
            api_url: origin.as_str(),
            token: token.expose(),
            connect_timeout: Duration::from_secs(10),
            proxy,
        })?;
        Ok(DeploymentClient {
            crab,
            repo_path: format!("{api_path}/repos/{repository}"),
            repository: repository.to_string(),
            graphql_path: graphql::route(api_url, &graphql_url(api_url)),
            policy,
            cancel: None,
            overtaken: Arc::default(),
            host: api_url
                .parse::<http::Uri>()
                .ok()
                .and_then(|u| u.host().map(str::to_string))
                .unwrap_or_else(|| api_url.to_string()),
        })
    }

    /// `url` is `GITHUB_GRAPHQL_URL`; without it, the endpoint is derived from the API's URL.
    pub fn with_graphql_url(mut self, api_url: &str, url: &str) -> DeploymentClient {
        self.graphql_path = graphql::route(api_url, url);
        self
    }

    pub fn with_cancel(mut self, cancel: Cancel) -> DeploymentClient {
        self.cancel = Some(cancel);
        self
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().and_then(Cancel::signal).is_some()
    }

    /// Sleeps before a retry; a cancel cuts the sleep short.
    async fn pause(&self, wait: Duration) {
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

    /// One request and its whole answer, within the read timeout.
    /// One request and its whole answer, within the read timeout or `left` (what the call's
    /// budget has left, unscaled), whichever is shorter: a 5 s `final-status-timeout` does not
    /// wait out a 30 s read timeout.
    async fn once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
        left: Duration,
    ) -> Result<Answer, ApiError> {
        let bound = self
            .policy
            .read_timeout
            .min(left.max(Duration::from_secs(1)));
        let limit = self.policy.scaled(bound);
        match tokio::time::timeout(limit, self.exchange(method, path, body)).await {
            Ok(answer) => answer,
            Err(_) => Err(ApiError::Transport {
                method: method.clone(),
                path: path.to_string(),
                detail: format!("no answer within {}", seconds(bound)),
            }),
        }
    }

    async fn exchange(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ApiError> {
        let transport = |e: octocrab::Error| {
            if let Some(refused) = proxy_refusal(&e) {
                return ApiError::Proxy(refused.sentence.clone());
            }
            let detail = describe_octocrab(&e);
            if is_certificate_error(&detail) {
                ApiError::Certificate {
                    host: self.host.clone(),
                    detail,
                }
            } else {
                ApiError::Transport {
                    method: method.clone(),
                    path: path.to_string(),
                    detail,
                }
            }
        };
        let response = match *method {
            Method::GET => self.crab._get(path).await,
            Method::POST => self.crab._post(path, body).await,
            Method::PATCH => self.crab._patch(path, body).await,
            Method::DELETE => self.crab._delete(path, body).await,
            _ => self.crab._put(path, body).await,
        }
        .map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        // The status code decides what an answer means; a body that is not UTF-8 (a proxy's
        // latin-1 error page) is still read, lossily, for its message.
        let bytes = http_body_util::BodyExt::collect(response.into_body())
            .await
            .map_err(transport)?
            .to_bytes();
        let body = String::from_utf8_lossy(&bytes).into_owned();
        tracing::debug!("{method} {path} -> {}", status.as_u16());
        Ok(Answer {
            status,
            headers,
            body,
        })
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
    async fn send(
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
    async fn send_checking(
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
                Ok(answer) => (status_error(&method, path, &answer), Some(answer.headers)),
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

    fn decode<T: serde::de::DeserializeOwned>(
        method: Method,
        path: &str,
        body: &str,
    ) -> Result<T, ApiError> {
        serde_json::from_str(body).map_err(|e| ApiError::Decode {
            method,
            path: path.to_string(),
            detail: e.to_string(),
        })
    }

    /// Creates a deployment without ever making two: `key` (unique to this run, also in
    /// `new.payload.rollout.key`) finds a deployment made by a request whose answer was lost.
    /// A create can succeed on the server after the client gave up on it, later than one lookup,
    /// so the lookup is repeated with backoff before a new create; `ambiguous` says a lost create
    /// may still surface, and the caller finishes any deployment with the key it did not adopt.
    pub async fn create_deployment(
        &self,
        new: &NewDeployment,
        key: &str,
    ) -> Result<Created, ApiError> {
        let path = format!("{}/deployments", self.repo_path);
        let body = serde_json::to_value(new).map_err(|e| ApiError::Decode {
            method: Method::POST,
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let started = Instant::now();
        let mut ambiguous = false;
        for attempt in 1.. {
            let error = match self
                .send(
                    Method::POST,
                    &path,
                    Some(&body),
                    Resend::OnlyIfRefused,
                    Budget::Ordinary,
                )
                .await
            {
                Ok(answer) if answer.status == StatusCode::ACCEPTED => {
                    let message = serde_json::from_str::<Value>(&answer.body)
                        .ok()
                        .and_then(|v| v["message"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    return Err(ApiError::Accepted { message });
                }
                // A success whose answer names no deployment (an empty 201, a 204, no `id`)
                // made one all the same, or may have: found by the key, as a lost answer is.
                Ok(answer) => match Self::decode::<Deployment>(Method::POST, &path, &answer.body) {
                    Ok(deployment) if deployment.id > 0 => {
                        return Ok(Created {
                            deployment,
                            ambiguous,
                        })
                    }
                    Ok(_) => ApiError::Unreadable {
                        status: answer.status.as_u16(),
                        method: Method::POST,
                        path: path.clone(),
                        detail: "it names no deployment id".into(),
                    },
                    Err(e) => ApiError::Unreadable {
                        status: answer.status.as_u16(),
                        method: Method::POST,
                        path: path.clone(),
                        detail: match e {
                            ApiError::Decode { detail, .. } if answer.body.trim().is_empty() => {
                                format!("the body is empty: {detail}")
                            }
                            ApiError::Decode { detail, .. } => detail,
                            other => other.to_string(),
                        },
                    },
                },
                Err(e) if e.is_ambiguous() => e,
                Err(e) => return Err(e),
            };
            ambiguous = true;
            tracing::info!(
                "the deployment create may or may not have happened ({error}); looking for it before trying again"
            );
            // Looks spread over a few seconds: a create the server finishes late shows up.
            for look in 1..=3u32 {
                if self.cancelled() && look > 1 {
                    break;
                }
                self.pause(
                    self.policy
                        .scaled(Duration::from_millis(500).saturating_mul(1 << (look - 1))),
                )
                .await;
                // A failed lookup leaves it unknown: creating blindly could make a second one.
                if let Some(found) = self
                    .find_by_key(&new.git_ref, &new.environment, key)
                    .await?
                {
                    tracing::info!(
                        "found deployment {} made by the lost request; using it",
                        found.id
                    );
                    return Ok(Created {
                        deployment: found,
                        ambiguous,
                    });
                }
            }
            if self.cancelled()
                || attempt >= 3
                || started.elapsed() > self.policy.scaled(self.policy.ordinary)
            {
                return Err(error);
            }
            tracing::info!("no deployment carries this run's key yet; creating it again");
        }
        Err(ApiError::Transport {
            method: Method::POST,
            path,
            detail: "the create was never sent".into(),
        })
    }

    async fn find_by_key(
        &self,
        sha: &str,
        environment: &str,
        key: &str,
    ) -> Result<Option<Deployment>, ApiError> {
        Ok(self
            .with_key(Some(environment), sha, key)
            .await?
            .into_iter()
            .next())
    }

    /// The deployments of `sha` (and `environment`, when given) that carry this run's `key`.
    pub async fn with_key(
        &self,
        environment: Option<&str>,
        sha: &str,
        key: &str,
    ) -> Result<Vec<Deployment>, ApiError> {
        let found = self.list_deployments(environment, Some(sha), 1).await?;
        Ok(found
            .into_iter()
            .filter(|d| d.payload.pointer("/rollout/key").and_then(Value::as_str) == Some(key))
            .collect())
    }

    /// Deployments, newest first, filtered by environment and sha, at most `pages` pages of 100.
    pub async fn list_deployments(
        &self,
        environment: Option<&str>,
        sha: Option<&str>,
        pages: u32,
    ) -> Result<Vec<Deployment>, ApiError> {
        let mut query = String::new();
        if let Some(env) = environment {
            query.push_str(&format!("&environment={}", encode(env)));
        }
        if let Some(sha) = sha {
            query.push_str(&format!("&sha={}", encode(sha)));
        }
        self.paginate(&format!("{}/deployments", self.repo_path), &query, pages)
            .await
    }

    async fn paginate<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &str,
        pages: u32,
    ) -> Result<Vec<T>, ApiError> {
        let mut all = Vec::new();
        for page in 1..=pages.max(1) {
            let url = format!("{path}?per_page=100&page={page}{query}");
            let answer = self
                .send(Method::GET, &url, None, Resend::Safe, Budget::Ordinary)
                .await?;
            let items: Vec<T> = Self::decode(Method::GET, &url, &answer.body)?;
            let more = answer
                .headers
                .get(http::header::LINK)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|l| l.contains("rel=\"next\""));
            let full = items.len() == 100;
            all.extend(items);
            if !more && !full {
                break;
            }
        }
        Ok(all)
    }

    pub async fn create_status(&self, id: u64, status: &NewStatus) -> Result<(), ApiError> {
        let path = format!("{}/deployments/{id}/statuses", self.repo_path);
        let body = serde_json::to_value(status).map_err(|e| ApiError::Decode {
            method: Method::POST,
            path: path.clone(),
            detail: e.to_string(),
        })?;
        // Posting the same status twice is harmless, so a lost answer is simply sent again.
        let budget = if status.state.is_final() {
            Budget::Final
        } else {
            Budget::Ordinary
        };
        self.send(Method::POST, &path, Some(&body), Resend::Safe, budget)
            .await?;
        Ok(())
    }

    /// The newest status of a deployment, if it has any.
    pub async fn latest_status(&self, id: u64) -> Result<Option<DeploymentStatus>, ApiError> {
        Ok(self.statuses(id, 1).await?.into_iter().next())
    }

    /// A deployment's newest `count` statuses (at most 100), newest first.
    pub async fn statuses(&self, id: u64, count: u8) -> Result<Vec<DeploymentStatus>, ApiError> {
        self.statuses_within(id, count, Budget::Ordinary).await
    }

    /// Whether `status` is the newest status of deployment `id`, asked after posting it failed
    /// in a way that may have landed. `None`: the read failed too.
    pub async fn landed(&self, id: u64, status: &NewStatus) -> Option<bool> {
        let latest = self.statuses_within(id, 1, Budget::Confirm).await.ok()?;
        Some(latest.first().is_some_and(|s| {
            s.state == status.state
                && s.description.as_deref().unwrap_or("") == status.description.as_str()
        }))
    }

    async fn statuses_within(
        &self,
        id: u64,
        count: u8,
        budget: Budget,
    ) -> Result<Vec<DeploymentStatus>, ApiError> {
        let path = format!(
            "{}/deployments/{id}/statuses?per_page={}",
            self.repo_path,
            count.clamp(1, 100)
        );
        let answer = self
            .send(Method::GET, &path, None, Resend::Safe, budget)
            .await?;
        Self::decode(Method::GET, &path, &answer.body)
    }

    pub async fn get_deployment(&self, id: u64) -> Result<Deployment, ApiError> {
        let path = format!("{}/deployments/{id}", self.repo_path);
        let answer = self
            .send(Method::GET, &path, None, Resend::Safe, Budget::Ordinary)
            .await?;
        Self::decode(Method::GET, &path, &answer.body)
    }

    pub async fn list_comments(&self, issue: u64, pages: u32) -> Result<Vec<Comment>, ApiError> {
        self.paginate(
            &format!("{}/issues/{issue}/comments", self.repo_path),
            "",
            pages,
        )
        .await
    }

    pub async fn create_comment(&self, issue: u64, body: &str) -> Result<Comment, ApiError> {
        let path = format!("{}/issues/{issue}/comments", self.repo_path);
        let answer = self
            .send(
                Method::POST,
                &path,
                Some(&serde_json::json!({ "body": body })),
                Resend::OnlyIfRefused,
                Budget::Ordinary,
            )
            .await?;
        Self::decode(Method::POST, &path, &answer.body)
    }

    pub async fn update_comment(&self, id: u64, body: &str) -> Result<(), ApiError> {
        let path = format!("{}/issues/comments/{id}", self.repo_path);
        self.send(
            Method::PATCH,
            &path,
            Some(&serde_json::json!({ "body": body })),
            Resend::Safe,
            Budget::Ordinary,
        )
        .await?;
        Ok(())
    }

    pub async fn delete_environment(&self, name: &str) -> Result<(), ApiError> {
        let path = format!("{}/environments/{}", self.repo_path, encode(name));
        self.send(Method::DELETE, &path, None, Resend::Safe, Budget::Ordinary)
            .await?;
        Ok(())
    }

    /// `GET compare/{base}...{head}` (three dots: from the merge base).
    pub async fn compare(&self, base: &str, head: &str) -> Result<Comparison, ApiError> {
        let path = format!(
            "{}/compare/{}...{}?per_page=100",
            self.repo_path,
            encode(base),
            encode(head)
        );
        let answer = self
            .send(Method::GET, &path, None, Resend::Safe, Budget::Ordinary)
            .await?;
        Self::decode(Method::GET, &path, &answer.body)
    }

    pub async fn list_jobs(&self, run_id: &str, attempt: &str) -> Result<Vec<Job>, ApiError> {
        let path = format!(
            "{}/actions/runs/{}/attempts/{}/jobs?per_page=100",
            self.repo_path,
            encode(run_id),
            encode(attempt)
        );
        // Only the log link depends on it.
        let answer = self
            .send(Method::GET, &path, None, Resend::Safe, Budget::Lookup)
            .await?;
        Ok(Self::decode::<Jobs>(Method::GET, &path, &answer.body)?.jobs)
    }
}

fn status_error(method: &Method, path: &str, answer: &Answer) -> ApiError {
    let parsed = serde_json::from_str::<Value>(&answer.body);
    let reason = answer.status.canonical_reason().unwrap_or("no message");
    let message = match &parsed {
        Ok(json) => json["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| reason.to_string()),
        // GitHub answers JSON: a page of something else came from whatever stands between.
        Err(_) if !answer.body.trim().is_empty() => format!(
            "{reason}; the answer is not GitHub's JSON, so a proxy or gateway on the way may have sent it: {}",
            answer
                .body
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .chars()
                .take(160)
                .collect::<String>()
        ),
        Err(_) => reason.to_string(),
    };
    let json = parsed.unwrap_or(Value::Null);
    let errors = match &json["errors"] {
        Value::Null => String::new(),
        Value::Array(list) => list
            .iter()
            .map(|e| match e {
                Value::String(s) => s.clone(),
                other => {
                    let field = other["field"].as_str().unwrap_or("");
                    let text = other["message"]
                        .as_str()
                        .or(other["code"].as_str())
                        .unwrap_or("");
                    format!("{field} {text}").trim().to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    let status = answer.status.as_u16();
    let rate_limited = status == 429
        || (status == 403
            && (header(&answer.headers, "x-ratelimit-remaining") == Some("0")
                || message.to_ascii_lowercase().contains("rate limit")));
    ApiError::Status {
        status,
        method: method.clone(),
        path: path.to_string(),
        message: message.chars().take(300).collect(),
        errors: errors.chars().take(300).collect(),
        rate_limited,
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The shortest wait before retrying a rate-limited call, whatever the server says.
const MIN_RATE_LIMIT_WAIT: Duration = Duration::from_secs(1);

/// What the server asks for, and why: `retry-after` seconds, or until `x-ratelimit-reset` when no
/// requests remain.
fn server_wait(headers: &HeaderMap) -> Option<(Duration, String)> {
    if let Some(secs) = header(headers, "retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some((
            Duration::from_secs(secs),
            format!("GitHub asks to retry after {secs} s"),
        ));
    }
    if header(headers, "x-ratelimit-remaining") == Some("0") {
        let reset = header(headers, "x-ratelimit-reset")?
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
fn seconds(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Exponential backoff with full jitter.
fn backoff(policy: &RetryPolicy, attempt: u32) -> Duration {
    let cap = policy.base_delay.saturating_mul(1 << attempt.min(8));
    let millis = cap.as_millis().max(1) as u64;
    Duration::from_millis(rand::rng().random_range(millis / 2..=millis))
}

/// Percent-encodes a path or query component.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A TLS failure that no retry mends: the certificate chain itself is refused.
fn is_certificate_error(detail: &str) -> bool {
    detail.contains("invalid peer certificate")
        || detail.contains("UnknownIssuer")
        || detail.contains("certificate")
}

/// The proxy's refusal, wherever it sits in the chain of causes.
fn proxy_refusal(e: &octocrab::Error) -> Option<&crate::transport::ProxyRefused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<crate::transport::ProxyRefused>() {
            return Some(refused);
        }
        source = s.source();
    }
    None
}

/// octocrab's errors can carry the request; keep only the cause, so nothing of the request (the
/// token included) reaches a log.
fn describe_octocrab(e: &octocrab::Error) -> String {
    let mut text = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        text = s.to_string();
        source = s.source();
    }
    if text.is_empty() {
        "the connection failed".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: body.to_string(),
        }
    }

    #[test]
    fn rate_limits_are_recognised() {
        let e = status_error(&Method::GET, "/x", &answer(429, &[], "{}"));
        assert!(e.retryable());
        let e = status_error(
            &Method::GET,
            "/x",
            &answer(
                403,
                &[],
                r#"{"message":"You have exceeded a secondary rate limit"}"#,
            ),
        );
        assert!(e.retryable());
        let e = status_error(
            &Method::GET,
            "/x",
            &answer(403, &[("x-ratelimit-remaining", "0")], "{}"),
        );
        assert!(e.retryable());
        let e = status_error(
            &Method::GET,
            "/x",
            &answer(
                403,
                &[],
                r#"{"message":"Resource not accessible by integration"}"#,
            ),
        );
        assert!(!e.retryable());
    }

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
    fn errors_422_list_the_fields() {
        let e = status_error(
            &Method::POST,
            "/x",
            &answer(
                422,
                &[],
                r#"{"message":"Validation Failed","errors":[{"resource":"DeploymentStatus","field":"description","code":"custom","message":"description is too long"}]}"#,
            ),
        );
        let s = e.explain("Creating the deployment", "deployments: write");
        assert!(s.contains("description description is too long"), "{s}");
    }

    #[test]
    fn explanations_name_the_permission() {
        let e = status_error(
            &Method::POST,
            "/x",
            &answer(
                403,
                &[],
                r#"{"message":"Resource not accessible by integration"}"#,
            ),
        );
        let s = e.explain("Creating the deployment", "deployments: write");
        assert!(
            s.contains("`deployments: write`") && s.contains("Resource not accessible"),
            "{s}"
        );
        let e = status_error(
            &Method::POST,
            "/x",
            &answer(401, &[], r#"{"message":"Bad credentials"}"#),
        );
        assert!(e.explain("x", "y").contains("invalid or expired"));
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

    #[test]
    fn encoding_keeps_path_components_whole() {
        assert_eq!(encode("pr-1/x y"), "pr-1%2Fx%20y");
    }
}
