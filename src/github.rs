//! `DeploymentClient`: the few GitHub calls rollout makes, over octocrab, with the rules of
//! retrying (GETs and status posts freely; the deployment create never blindly) and one clear
//! sentence per refusal. Nothing else in rollout knows HTTP.

use crate::inputs::Token;
use crate::signals::Cancel;
use crate::text::Description;
use http::{HeaderMap, Method, StatusCode};
use octocrab::service::middleware::retry::RetryConfig;
use octocrab::Octocrab;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod graphql;
pub use graphql::{graphql_url, DeploymentState, DeploymentStates, StateNode};

/// How long rollout keeps retrying one call, in all.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            base_delay: Duration::from_millis(250),
            max_total_wait: Duration::from_secs(60),
        }
    }
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
    #[error("GitHub's answer to {method} {path} could not be read: {detail}")]
    Decode {
        method: Method,
        path: String,
        detail: String,
    },
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the server may have acted on the request although the answer was lost.
    fn ambiguous(&self) -> bool {
        match self {
            ApiError::Transport { .. } => true,
            ApiError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    fn retryable(&self) -> bool {
        match self {
            ApiError::Status { rate_limited, .. } if *rate_limited => true,
            other => other.ambiguous(),
        }
    }

    /// One sentence for a user: what went wrong in `doing`, and what to change. `permission` is
    /// the `permissions:` entry the call needs.
    pub fn explain(&self, doing: &str, permission: &str) -> String {
        match self {
            ApiError::Status { status: 401, .. } => format!(
                "{doing} failed: GitHub refused the token (401); it is invalid or expired, so check the `token` input"
            ),
            ApiError::Status { status: 403 | 404, message, rate_limited: false, .. } => format!(
                "{doing} failed: GitHub answered {} ({}); the token lacks access: give the job `permissions:` with `{permission}` (a 404 also means no access)",
                self.status().unwrap_or(0),
                message
            ),
            ApiError::Status { status: 409, message, .. } => format!(
                "{doing} failed: GitHub answered 409 ({message}); the commit's status checks in `required-contexts` have not all passed, or the ref conflicts"
            ),
            ApiError::Status { status: 422, message, errors, .. } => format!(
                "{doing} failed: GitHub rejected a field (422: {message}{}{errors})",
                if errors.is_empty() { "" } else { "; " }
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
}

impl DeploymentClient {
    /// `api_url` is `GITHUB_API_URL` (`https://HOST/api/v3` on GitHub Enterprise Server).
    pub fn new(
        api_url: &str,
        repository: &str,
        token: &Token,
        policy: RetryPolicy,
    ) -> anyhow::Result<DeploymentClient> {
        // octocrab joins every route to the base's path, so the base is the API's origin and each
        // route carries the API's own path: GitHub Enterprise's GraphQL is not under `/api/v3`.
        let (origin, api_path) = graphql::split_api_url(api_url)
            .ok_or_else(|| anyhow::anyhow!("GITHUB_API_URL {api_url:?} is not a URL"))?;
        let crab = Octocrab::builder()
            .base_uri(origin.as_str())
            .map_err(|e| anyhow::anyhow!("GITHUB_API_URL {api_url:?} is not a URL: {e}"))?
            .personal_token(token.expose().to_string())
            .add_header(http::header::ACCEPT, "application/vnd.github+json".into())
            .add_header(
                http::HeaderName::from_static("x-github-api-version"),
                "2022-11-28".into(),
            )
            // rollout retries itself; octocrab's retry would resend a POST that may have succeeded.
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .set_write_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| anyhow::anyhow!("could not set up the GitHub client: {e}"))?;
        Ok(DeploymentClient {
            crab,
            repo_path: format!("{api_path}/repos/{repository}"),
            repository: repository.to_string(),
            graphql_path: graphql::route(api_url, &graphql_url(api_url)),
            policy,
            cancel: None,
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

    async fn once(
        &self,
        method: &Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ApiError> {
        let transport = |e: octocrab::Error| ApiError::Transport {
            method: method.clone(),
            path: path.to_string(),
            detail: describe_octocrab(&e),
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
        let body = self
            .crab
            .body_to_string(response)
            .await
            .map_err(transport)?;
        tracing::debug!("{method} {path} -> {}", status.as_u16());
        Ok(Answer {
            status,
            headers,
            body,
        })
    }

    /// Sends with retries per `resend`; answers 2xx as `Ok`, everything else as an [`ApiError`].
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        resend: Resend,
    ) -> Result<Answer, ApiError> {
        self.send_checking(method, path, body, resend, |_, _, _| None)
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
        refused: fn(&Method, &str, &Answer) -> Option<ApiError>,
    ) -> Result<Answer, ApiError> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (error, headers) = match self.once(&method, path, body).await {
                Ok(answer) if answer.status.is_success() => match refused(&method, path, &answer) {
                    None => return Ok(answer),
                    Some(e) => (e, Some(answer.headers)),
                },
                Ok(answer) => (status_error(&method, path, &answer), Some(answer.headers)),
                Err(e) => (e, None),
            };
            let may_resend = match resend {
                Resend::Safe => error.retryable(),
                Resend::OnlyIfRefused => matches!(
                    error,
                    ApiError::Status {
                        rate_limited: true,
                        ..
                    }
                ),
            };
            // After a cancel, one quick retry at most: the final status must beat the runner's kill.
            let cancelled = self.cancelled();
            if !may_resend || attempt >= self.policy.attempts || (cancelled && attempt >= 2) {
                return Err(error);
            }
            let mut wait = headers
                .as_ref()
                .and_then(server_wait)
                .unwrap_or_else(|| backoff(&self.policy, attempt));
            if cancelled {
                wait = wait.min(Duration::from_secs(1));
            }
            if started.elapsed() + wait > self.policy.max_total_wait {
                return Err(error);
            }
            tracing::info!(
                "{method} {path}: {error}; trying again in {:.1}s (attempt {} of {})",
                wait.as_secs_f64(),
                attempt + 1,
                self.policy.attempts
            );
            self.pause(wait).await;
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

    /// Creates a deployment without ever making two: `key` (unique to this invocation, also in
    /// `new.payload.rollout.key`) finds a deployment made by a request whose answer was lost.
    pub async fn create_deployment(
        &self,
        new: &NewDeployment,
        key: &str,
    ) -> Result<Deployment, ApiError> {
        let path = format!("{}/deployments", self.repo_path);
        let body = serde_json::to_value(new).map_err(|e| ApiError::Decode {
            method: Method::POST,
            path: path.clone(),
            detail: e.to_string(),
        })?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self
                .send(Method::POST, &path, Some(&body), Resend::OnlyIfRefused)
                .await
            {
                Ok(answer) if answer.status == StatusCode::ACCEPTED => {
                    let message = serde_json::from_str::<Value>(&answer.body)
                        .ok()
                        .and_then(|v| v["message"].as_str().map(str::to_string))
                        .unwrap_or_default();
                    return Err(ApiError::Accepted { message });
                }
                Ok(answer) => return Self::decode(Method::POST, &path, &answer.body),
                Err(e) if e.ambiguous() && attempt < self.policy.attempts => {
                    tracing::info!("the deployment create may or may not have happened ({e}); looking for it before trying again");
                    self.pause(backoff(&self.policy, attempt)).await;
                    if let Ok(existing) =
                        self.find_by_key(&new.git_ref, &new.environment, key).await
                    {
                        if let Some(found) = existing {
                            tracing::info!(
                                "found deployment {} made by the lost request; using it",
                                found.id
                            );
                            return Ok(found);
                        }
                        continue;
                    }
                    // The lookup failed too: creating blindly could make a second deployment.
                    return Err(e);
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn find_by_key(
        &self,
        sha: &str,
        environment: &str,
        key: &str,
    ) -> Result<Option<Deployment>, ApiError> {
        let found = self
            .list_deployments(Some(environment), Some(sha), 1)
            .await?;
        Ok(found
            .into_iter()
            .find(|d| d.payload.pointer("/rollout/key").and_then(Value::as_str) == Some(key)))
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
            let answer = self.send(Method::GET, &url, None, Resend::Safe).await?;
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
        self.send(Method::POST, &path, Some(&body), Resend::Safe)
            .await?;
        Ok(())
    }

    /// The newest status of a deployment, if it has any.
    pub async fn latest_status(&self, id: u64) -> Result<Option<DeploymentStatus>, ApiError> {
        let path = format!("{}/deployments/{id}/statuses?per_page=1", self.repo_path);
        let answer = self.send(Method::GET, &path, None, Resend::Safe).await?;
        let list: Vec<DeploymentStatus> = Self::decode(Method::GET, &path, &answer.body)?;
        Ok(list.into_iter().next())
    }

    pub async fn get_deployment(&self, id: u64) -> Result<Deployment, ApiError> {
        let path = format!("{}/deployments/{id}", self.repo_path);
        let answer = self.send(Method::GET, &path, None, Resend::Safe).await?;
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
        )
        .await?;
        Ok(())
    }

    pub async fn delete_environment(&self, name: &str) -> Result<(), ApiError> {
        let path = format!("{}/environments/{}", self.repo_path, encode(name));
        self.send(Method::DELETE, &path, None, Resend::Safe).await?;
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
        let answer = self.send(Method::GET, &path, None, Resend::Safe).await?;
        Self::decode(Method::GET, &path, &answer.body)
    }

    pub async fn list_jobs(&self, run_id: &str, attempt: &str) -> Result<Vec<Job>, ApiError> {
        let path = format!(
            "{}/actions/runs/{}/attempts/{}/jobs?per_page=100",
            self.repo_path,
            encode(run_id),
            encode(attempt)
        );
        let answer = self.send(Method::GET, &path, None, Resend::Safe).await?;
        Ok(Self::decode::<Jobs>(Method::GET, &path, &answer.body)?.jobs)
    }
}

fn status_error(method: &Method, path: &str, answer: &Answer) -> ApiError {
    let json: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let message = json["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            answer
                .status
                .canonical_reason()
                .unwrap_or("no message")
                .to_string()
        });
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

/// What the server asks for: `retry-after` seconds, or until `x-ratelimit-reset` when no
/// requests remain.
fn server_wait(headers: &HeaderMap) -> Option<Duration> {
    if let Some(secs) = header(headers, "retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header(headers, "x-ratelimit-remaining") == Some("0") {
        let reset = header(headers, "x-ratelimit-reset")?
            .trim()
            .parse::<u64>()
            .ok()?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
        return Some(Duration::from_secs(reset.saturating_sub(now).max(1)));
    }
    None
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
        assert_eq!(server_wait(&a.headers), Some(Duration::from_secs(3)));
        let a = answer(
            403,
            &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1")],
            "",
        );
        assert_eq!(
            server_wait(&a.headers),
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
