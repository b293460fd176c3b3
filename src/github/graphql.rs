//! Deployment states in bulk, over GraphQL: the REST list carries no state, so knowing which
//! deployments are still running would cost a status read each, against GITHUB_TOKEN's 1,000
//! requests an hour. GraphQL answers 100 a request. Writes stay on REST.

use super::{Answer, ApiError, Budget, DeploymentClient, QueryFault, Resend};
use http::{Method, Uri};
use serde::Deserialize;
use serde_json::{json, Value};

/// The HANDBOOK's query: newest first (GitHub's default order is oldest first), 100 a page, with
/// each deployment's state and commit. The fake checks this very file against GitHub's schema.
const QUERY: &str = include_str!("deployments.graphql");

/// `https://HOST/api/v3` as (`https://HOST`, `/api/v3`); `None` when it is not an absolute URL.
pub(super) fn split_api_url(url: &str) -> Option<(String, String)> {
    let uri: Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?;
    let authority = uri.authority()?;
    Some((
        format!("{scheme}://{authority}"),
        uri.path().trim_end_matches('/').to_string(),
    ))
}

/// The GraphQL endpoint as a route on the API's host. octocrab adds the token only to requests
/// for its base host, and rollout would not send it anywhere else either.
pub(super) fn route(api_url: &str, graphql_url: &str) -> Result<String, String> {
    let Some((api_origin, _)) = split_api_url(api_url) else {
        return Err(format!("GITHUB_API_URL {api_url:?} is not a URL"));
    };
    let Some((origin, path)) = split_api_url(graphql_url) else {
        return Err(format!("GITHUB_GRAPHQL_URL {graphql_url:?} is not a URL"));
    };
    if !origin.eq_ignore_ascii_case(&api_origin) {
        return Err(format!(
            "GITHUB_GRAPHQL_URL {graphql_url} is not on the host of GITHUB_API_URL ({api_origin}), and rollout sends its token to that host only"
        ));
    }
    Ok(if path.is_empty() { "/".into() } else { path })
}

/// GitHub's `DeploymentState`. A value GitHub adds later reads as `Unknown`, not as an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentState {
    Abandoned,
    Active,
    Destroyed,
    Error,
    Failure,
    Inactive,
    InProgress,
    Pending,
    Queued,
    Success,
    Waiting,
    #[serde(other)]
    Unknown,
}

impl DeploymentState {
    /// Not final yet: a newer deploy supersedes these.
    pub fn is_running(self) -> bool {
        matches!(
            self,
            DeploymentState::Queued
                | DeploymentState::Pending
                | DeploymentState::InProgress
                | DeploymentState::Waiting
        )
    }

    /// Inactive already: another `inactive` would be a wasted write.
    pub fn is_inactive(self) -> bool {
        matches!(self, DeploymentState::Inactive | DeploymentState::Destroyed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DeploymentState::Abandoned => "abandoned",
            DeploymentState::Active => "active",
            DeploymentState::Destroyed => "destroyed",
            DeploymentState::Error => "error",
            DeploymentState::Failure => "failure",
            DeploymentState::Inactive => "inactive",
            DeploymentState::InProgress => "in_progress",
            DeploymentState::Pending => "pending",
            DeploymentState::Queued => "queued",
            DeploymentState::Success => "success",
            DeploymentState::Waiting => "waiting",
            DeploymentState::Unknown => "unknown",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateNode {
    /// The REST id (`databaseId`), which writes use.
    pub id: u64,
    pub state: DeploymentState,
    /// The commit deployed (`commitOid`).
    pub sha: Option<crate::event::Sha>,
}

#[derive(Clone, Debug, Default)]
pub struct DeploymentStates {
    /// Newest first.
    pub nodes: Vec<StateNode>,
    /// The read stopped at its limit while older deployments were left.
    pub truncated: bool,
    /// GraphQL requests it took.
    pub requests: usize,
}

/// A query's answer about one repository: `data.repository`, either of which GitHub may send as
/// null (a repository the token cannot see).
#[derive(Deserialize)]
pub(super) struct RepositoryAnswer<R> {
    data: Option<RepositoryData<R>>,
}

#[derive(Deserialize)]
struct RepositoryData<R> {
    repository: Option<R>,
}

impl<R> RepositoryAnswer<R> {
    pub(super) fn repository(self) -> Option<R> {
        self.data.and_then(|d| d.repository)
    }
}

#[derive(Deserialize)]
struct Repository {
    deployments: Connection<Node>,
}

/// One page of a GraphQL connection, as every paged query here reads it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Connection<N> {
    pub(super) page_info: PageInfo,
    #[serde(default = "Option::default")]
    pub(super) nodes: Option<Vec<Option<N>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PageInfo {
    pub(super) has_next_page: bool,
    #[serde(default)]
    pub(super) end_cursor: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    #[serde(default)]
    database_id: Option<u64>,
    #[serde(default)]
    state: Option<DeploymentState>,
    #[serde(default)]
    commit_oid: Option<String>,
}

/// GraphQL answers its errors with a 200 and an `errors` list. What they mean decides the retry:
/// a rate limit (`type: RATE_LIMITED`) waits as REST's does, GitHub's own failure ("Something
/// went wrong while executing your query. This may be the result of a timeout") is retried as a
/// 502 is, and a refusal (`FORBIDDEN`, `NOT_FOUND`) is said at once with the permission it needs.
pub(super) fn refused(_method: &Method, path: &str, answer: &Answer) -> Option<ApiError> {
    let json: Value = serde_json::from_str(&answer.body).ok()?;
    let errors = json.get("errors")?.as_array()?;
    if errors.is_empty() {
        return None;
    }
    let kinds: Vec<QueryFault> = errors.iter().map(fault_of).collect();
    // The worst decides: a refusal is not retried, whatever else the list holds.
    let kind = [
        QueryFault::Forbidden,
        QueryFault::NotFound,
        QueryFault::Refused,
        QueryFault::RateLimited,
        QueryFault::Transient,
    ]
    .into_iter()
    .find(|k| kinds.contains(k))
    .unwrap_or(QueryFault::Refused);
    let text = errors
        .iter()
        .map(|e| {
            let message = e["message"].as_str().unwrap_or("no message");
            match e["type"].as_str() {
                Some(kind) => format!("{message} ({kind})"),
                None => message.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(ApiError::Query {
        path: path.to_string(),
        message: text.chars().take(300).collect(),
        kind,
    })
}

fn fault_of(error: &Value) -> QueryFault {
    let message = error["message"].as_str().unwrap_or("").to_ascii_lowercase();
    match error["type"].as_str() {
        Some("RATE_LIMITED") => QueryFault::RateLimited,
        Some("FORBIDDEN" | "INSUFFICIENT_SCOPES") => QueryFault::Forbidden,
        Some("NOT_FOUND") => QueryFault::NotFound,
        Some("INTERNAL" | "SERVICE_UNAVAILABLE" | "TIMEOUT") => QueryFault::Transient,
        _ if message.contains("something went wrong")
            || message.contains("timeout")
            || message.contains("timed out") =>
        {
            QueryFault::Transient
        }
        _ if message.contains("rate limit") => QueryFault::RateLimited,
        _ => QueryFault::Refused,
    }
}

impl DeploymentClient {
    /// Where this client's GraphQL requests go, and the repository's owner and name, which every
    /// query takes as variables.
    pub(super) fn graphql_target(&self) -> Result<(String, &str, &str), ApiError> {
        let path = self
            .graphql_path
            .clone()
            .map_err(|detail| ApiError::Transport {
                method: Method::POST,
                path: "the GraphQL endpoint".into(),
                detail,
            })?;
        let (owner, name) = self
            .repository
            .split_once('/')
            .unwrap_or((self.repository.as_str(), ""));
        Ok((path, owner, name))
    }

    /// One GraphQL read, decoded as `T`. It only reads, so a lost answer may be asked again
    /// although it is a POST; a 200 that carries GraphQL errors (rate limits included) is retried
    /// by the same rules as an HTTP error, as long as `budget` allows.
    pub(super) async fn graphql_read<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &Value,
        budget: Budget,
    ) -> Result<T, ApiError> {
        let answer = self
            .send_checking(
                Method::POST,
                path,
                Some(body),
                Resend::Safe,
                budget,
                refused,
            )
            .await?;
        Self::decode(Method::POST, path, &answer.body)
    }

    /// The states of `environment`'s deployments, newest first, 100 a request, up to `limit`
    /// deployments (`None`: every one), retrying as long as `budget` allows.
    pub async fn deployment_states(
        &self,
        environment: &str,
        limit: Option<usize>,
        budget: Budget,
    ) -> Result<DeploymentStates, ApiError> {
        let (path, owner, name) = self.graphql_target()?;
        let mut states = DeploymentStates::default();
        let mut after: Option<String> = None;
        loop {
            let body = json!({
                "query": QUERY,
                "variables": { "owner": owner, "name": name, "environment": environment, "after": after },
            });
            let page: RepositoryAnswer<Repository> =
                self.graphql_read(&path, &body, budget).await?;
            states.requests += 1;
            let Some(connection) = page.repository().map(|r| r.deployments) else {
                return Err(self.no_repository(&path));
            };
            states.nodes.extend(
                connection
                    .nodes
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(|n| {
                        Some(StateNode {
                            id: n.database_id?,
                            state: n.state.unwrap_or(DeploymentState::Unknown),
                            sha: n.commit_oid.as_deref().and_then(crate::event::Sha::parse),
                        })
                    }),
            );
            let more = connection.page_info.has_next_page;
            if let Some(limit) = limit.filter(|l| states.nodes.len() >= *l) {
                states.truncated = more || states.nodes.len() > limit;
                states.nodes.truncate(limit);
                return Ok(states);
            }
            if !more {
                return Ok(states);
            }
            match connection.page_info.end_cursor {
                Some(cursor) if after.as_ref() != Some(&cursor) => after = Some(cursor),
                _ => {
                    return Err(ApiError::Decode {
                        method: Method::POST,
                        path,
                        detail: "it says more deployments follow but gives no new cursor".into(),
                    })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::graphql_url;
    use http::{HeaderMap, StatusCode};

    #[test]
    fn graphql_urls_follow_the_api_url() {
        assert_eq!(
            graphql_url("https://api.github.com"),
            "https://api.github.com/graphql"
        );
        assert_eq!(
            graphql_url("https://ghe.example.com/api/v3/"),
            "https://ghe.example.com/api/graphql"
        );
        assert_eq!(
            route(
                "https://ghe.example.com/api/v3",
                "https://ghe.example.com/api/graphql"
            ),
            Ok("/api/graphql".to_string())
        );
        assert!(route("http://127.0.0.1:9", "https://api.github.com/graphql").is_err());
        assert_eq!(
            split_api_url("http://127.0.0.1:9"),
            Some(("http://127.0.0.1:9".into(), String::new()))
        );
    }

    #[test]
    fn unknown_states_decode() {
        let n: Node = serde_json::from_str(r#"{"databaseId": 7, "state": "SOMETHING_NEW"}"#)
            .expect("decodes");
        assert_eq!(n.state, Some(DeploymentState::Unknown));
        let n: Node =
            serde_json::from_str(r#"{"databaseId": 7, "state": "IN_PROGRESS"}"#).expect("decodes");
        assert!(n.state.is_some_and(DeploymentState::is_running));
        let n: Node = serde_json::from_str(r#"{"databaseId": 7, "state": null}"#).expect("decodes");
        assert_eq!(n.state, None);
    }

    #[test]
    fn graphql_errors_are_refusals_and_rate_limits_retry() {
        let answer = |body: &str| Answer {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.to_string(),
        };
        let e = refused(
            &Method::POST,
            "/graphql",
            &answer(r#"{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}"#),
        )
        .expect("an error");
        assert!(e.retryable());
        assert!(
            e.to_string()
                .contains("API rate limit exceeded (RATE_LIMITED)"),
            "{e}"
        );
        let e = refused(
            &Method::POST,
            "/graphql",
            &answer(
                r#"{"data":null,"errors":[{"type":"NOT_FOUND","message":"Could not resolve"}]}"#,
            ),
        )
        .expect("an error");
        assert!(!e.retryable());
        assert!(refused(&Method::POST, "/graphql", &answer(r#"{"data":{}}"#)).is_none());
        let e = refused(
            &Method::POST,
            "/graphql",
            &answer(
                r#"{"data":null,"errors":[{"message":"Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug."}]}"#,
            ),
        )
        .expect("an error");
        assert!(e.retryable(), "GitHub's own failure is retried: {e:?}");
        let e = refused(
            &Method::POST,
            "/graphql",
            &answer(
                r#"{"data":null,"errors":[{"type":"FORBIDDEN","message":"Resource not accessible by integration"}]}"#,
            ),
        )
        .expect("an error");
        assert!(!e.retryable());
        let told = e.explain("Reading the deployments", "deployments: read");
        assert!(
            told.contains("`deployments: read`") && !told.contains("answered 200"),
            "{told}"
        );
        let e = refused(
            &Method::POST,
            "/graphql",
            &answer(
                r#"{"errors":[{"message":"Something went wrong"},{"type":"FORBIDDEN","message":"no"}]}"#,
            ),
        )
        .expect("an error");
        assert!(
            !e.retryable(),
            "a refusal anywhere in the list is not retried"
        );
    }
}
