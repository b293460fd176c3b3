//! `DeploymentClient`: the few GitHub calls rollout makes, over octocrab, with the rules of
//! retrying (GETs and status posts freely; the deployment create never blindly) and one clear
//! sentence per refusal. Nothing else in rollout knows HTTP.

use crate::inputs::Token;
use crate::signals::Cancel;
use crate::text::Description;
use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod delivery;
mod error;
mod graphql;
mod history;
mod locks;
mod requires;
mod retry;
pub use crate::runtime::graphql_url;
mod sweep;
pub use delivery::{DeliveryHistory, EnvironmentNames, MAX_PAGES as DELIVERY_PAGES};
pub use error::{ApiError, QueryFault};
pub use graphql::{DeploymentState, DeploymentStates, StateNode};
pub use history::History;
pub use requires::RequiresHistory;
pub use retry::{Budget, RetryPolicy};
pub use sweep::{
    PreviewRead, SweepRead, BATCH as SWEEP_BATCH, ENVIRONMENT_PAGES as SWEEP_ENVIRONMENT_PAGES,
};

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

/// The description of a status that marks a deployment superseded, which the deploy step also
/// reads back to name the newer deployment.
const SUPERSEDED_BY: &str = "Superseded by deployment ";

impl NewStatus {
    /// A status with its description (cut to GitHub's 140 characters) and the run's log link
    /// when there is one.
    pub fn new(state: State, description: &str, log_url: &str) -> NewStatus {
        NewStatus {
            state,
            description: Description::new(description),
            log_url: Some(log_url.to_string()).filter(|u| !u.is_empty()),
            environment_url: None,
            auto_inactive: None,
        }
    }

    pub fn with_environment_url(mut self, url: Option<String>) -> NewStatus {
        self.environment_url = url;
        self
    }

    /// `inactive`, superseded by deployment `by` (`None`: a newer one it cannot name).
    pub fn superseded(by: Option<u64>, log_url: &str) -> NewStatus {
        let description = match by {
            Some(n) => format!("{SUPERSEDED_BY}{n}"),
            None => "Superseded by a newer deployment".to_string(),
        };
        NewStatus::new(State::Inactive, &description, log_url)
    }
}

/// The newer deployment a superseded status names, if it names one.
pub fn superseded_by(description: &str) -> Option<u64> {
    description
        .strip_prefix(SUPERSEDED_BY)
        .and_then(|n| n.trim().parse().ok())
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

    /// The run's clock against the real one: 1, or less under `ROLLOUT_TEST_TIME_SCALE`; what
    /// else the run times (the phases' spacing) follows it.
    pub fn time_scale(&self) -> f64 {
        self.policy.time_scale
    }

    fn cancelled(&self) -> bool {
        self.cancel.as_ref().and_then(Cancel::signal).is_some()
    }

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
                detail: format!("no answer within {}", retry::seconds(bound)),
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
            if let Some(refused) = error::proxy_refusal(&e) {
                return ApiError::Proxy(refused.sentence.clone());
            }
            let detail = error::describe_octocrab(&e);
            if error::is_certificate_error(&detail) {
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
        let budget = if status.state.is_final() {
            Budget::Final
        } else {
            Budget::Ordinary
        };
        // A status whose answer was lost (a 5xx, a cut connection) may have landed: it is read
        // back before it is sent again, as a lost create is, so that a server that acts and then
        // answers 502 gets each status once, not once per retry.
        let started = Instant::now();
        let limit = self.policy.scaled(self.policy.limit(budget));
        for attempt in 1u32.. {
            let error = match self
                .send(
                    Method::POST,
                    &path,
                    Some(&body),
                    Resend::OnlyIfRefused,
                    budget,
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.is_ambiguous() && !matches!(e, ApiError::Cancelled { .. }) => e,
                Err(e) => return Err(e),
            };
            // Not there, or unknown (`None`): sending it again risks at worst a copy, where not
            // sending it could leave the deployment without it.
            if self.landed(id, status).await == Some(true) {
                tracing::info!(
                    "deployment {id}: the {} status's answer was lost ({}), but GitHub shows it posted",
                    status.state.as_str(),
                    error.cause()
                );
                return Ok(());
            }
            let mut wait = retry::backoff(&self.policy, attempt);
            if self.cancelled() {
                // After a cancel, one quick retry at most: the final status must beat the kill.
                wait = wait.min(Duration::from_secs(1));
            }
            let scaled = self.policy.scaled(wait);
            if (self.cancelled() && attempt >= 2) || started.elapsed() + scaled > limit {
                return Err(error);
            }
            tracing::info!(
                "POST {path}: {} (attempt {attempt}), and GitHub does not show the {} status; retrying in {}",
                error.cause(),
                status.state.as_str(),
                retry::seconds(wait)
            );
            self.pause(scaled).await;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_keeps_path_components_whole() {
        assert_eq!(encode("pr-1/x y"), "pr-1%2Fx%20y");
    }
}
