//! The delivery report's reads, over GraphQL: the repository's environment names (for a glob)
//! and the matching environments' deployments of a period, with their statuses and their
//! commits' committed dates, in one connection over all of them (100 a request, newest first,
//! at most 10 requests). Read-only.

use super::graphql::{Connection, RepositoryAnswer};
use super::{ApiError, Budget, DeploymentClient};
use crate::delivery::{Deployed, RollbackMark, StatusAt, StatusState};
use http::Method;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};

/// The fake checks these very files against GitHub's schema.
const DEPLOYMENTS: &str = include_str!("delivery.graphql");
const ENVIRONMENTS: &str = include_str!("environments.graphql");
/// At most this many requests for each read: 1,000 deployments, 1,000 environments.
pub const MAX_PAGES: usize = 10;

/// What [`DeploymentClient::delivery_history`] read.
#[derive(Clone, Debug, Default)]
pub struct DeliveryHistory {
    /// Newest first, down to the first one older than the period (which is read, not used).
    pub deployments: Vec<Deployed>,
    /// The read stopped after 10 pages while the period reached further back: the oldest
    /// creation time it read.
    pub truncated_at: Option<Timestamp>,
    /// GraphQL requests it took.
    pub requests: usize,
}

/// The repository's environment names, and the requests it took.
#[derive(Clone, Debug, Default)]
pub struct EnvironmentNames {
    pub names: Vec<String>,
    /// More than 1,000: the rest were not read.
    pub truncated: bool,
    pub requests: usize,
}

#[derive(Deserialize)]
struct DeploymentsRepository {
    deployments: Connection<Node>,
}

#[derive(Deserialize)]
struct EnvironmentsRepository {
    environments: Connection<EnvironmentNode>,
}

#[derive(Deserialize)]
struct EnvironmentNode {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Node {
    #[serde(default)]
    database_id: Option<u64>,
    #[serde(default)]
    environment: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    commit: Option<Commit>,
    #[serde(default)]
    statuses: Option<Statuses>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Commit {
    #[serde(default)]
    committed_date: Option<String>,
}

#[derive(Deserialize)]
struct Statuses {
    #[serde(default)]
    nodes: Option<Vec<Option<StatusNode>>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusNode {
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

fn timestamp(text: Option<&str>) -> Option<Timestamp> {
    text?.parse().ok()
}

impl Node {
    /// `None` for a node without an id, an environment or a creation time GitHub always gives.
    fn deployed(self) -> Option<Deployed> {
        let payload = match self.payload.as_deref().map(serde_json::from_str::<Value>) {
            Some(Ok(object @ Value::Object(_))) => object,
            _ => json!({}),
        };
        Some(Deployed {
            id: self.database_id?,
            environment: self.environment?,
            created_at: timestamp(self.created_at.as_deref())?,
            committed_at: self
                .commit
                .and_then(|c| timestamp(c.committed_date.as_deref())),
            rollback: RollbackMark::of_payload(&payload),
            statuses: self
                .statuses
                .and_then(|s| s.nodes)
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|s| {
                    Some(StatusAt {
                        state: StatusState::parse(s.state.as_deref()?),
                        at: timestamp(s.created_at.as_deref())?,
                    })
                })
                .collect(),
        })
    }
}

impl DeploymentClient {
    pub(super) fn no_repository(&self, path: &str) -> ApiError {
        ApiError::Decode {
            method: Method::POST,
            path: path.to_string(),
            detail: format!("it holds no repository {}", self.repository),
        }
    }

    fn no_cursor(path: String) -> ApiError {
        ApiError::Decode {
            method: Method::POST,
            path,
            detail: "it says more follow but gives no new cursor".into(),
        }
    }

    /// Every environment of the repository, by name, 100 a request, at most `pages` requests
    /// (a sweep and the report both list them).
    pub async fn environment_names(&self, pages: usize) -> Result<EnvironmentNames, ApiError> {
        let (path, owner, name) = self.graphql_target()?;
        let mut out = EnvironmentNames::default();
        let mut after: Option<String> = None;
        for _ in 0..pages {
            let body = json!({
                "query": ENVIRONMENTS,
                "variables": { "owner": owner, "name": name, "after": after },
            });
            let page: RepositoryAnswer<EnvironmentsRepository> =
                self.graphql_read(&path, &body, Budget::Ordinary).await?;
            out.requests += 1;
            let connection = page
                .repository()
                .ok_or_else(|| self.no_repository(&path))?
                .environments;
            out.names.extend(
                connection
                    .nodes
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(|n| n.name),
            );
            if !connection.page_info.has_next_page {
                return Ok(out);
            }
            match connection.page_info.end_cursor {
                Some(cursor) if after.as_ref() != Some(&cursor) => after = Some(cursor),
                _ => return Err(Self::no_cursor(path)),
            }
        }
        out.truncated = true;
        Ok(out)
    }

    /// `environments`' deployments created at or after `since`, newest first, with their
    /// statuses and commits' dates: one connection over them all, 100 a request, at most 10.
    pub async fn delivery_history(
        &self,
        environments: &[String],
        since: Timestamp,
    ) -> Result<DeliveryHistory, ApiError> {
        let (path, owner, name) = self.graphql_target()?;
        let mut out = DeliveryHistory::default();
        let mut after: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let body = json!({
                "query": DEPLOYMENTS,
                "variables": {
                    "owner": owner, "name": name, "environments": environments, "after": after,
                },
            });
            let page: RepositoryAnswer<DeploymentsRepository> =
                self.graphql_read(&path, &body, Budget::Ordinary).await?;
            out.requests += 1;
            let connection = page
                .repository()
                .ok_or_else(|| self.no_repository(&path))?
                .deployments;
            out.deployments.extend(
                connection
                    .nodes
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(Node::deployed),
            );
            let reached_the_start = out.deployments.last().is_some_and(|d| d.created_at < since);
            if !connection.page_info.has_next_page || reached_the_start {
                return Ok(out);
            }
            match connection.page_info.end_cursor {
                Some(cursor) if after.as_ref() != Some(&cursor) => after = Some(cursor),
                _ => return Err(Self::no_cursor(path)),
            }
        }
        out.truncated_at = out.deployments.last().map(|d| d.created_at);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_reads_its_statuses_commit_date_and_rollback() {
        let node: Node = serde_json::from_str(
            r#"{"databaseId": 9, "environment": "production", "createdAt": "2026-11-02T10:00:00Z",
                "payload": "{\"rollback\": {\"from_deployment\": 7, \"automatic\": true}}",
                "commit": {"committedDate": "2026-11-02T08:00:00Z"},
                "statuses": {"nodes": [{"state": "SUCCESS", "createdAt": "2026-11-02T10:05:00Z"},
                                       {"state": "IN_PROGRESS", "createdAt": "2026-11-02T10:01:00Z"},
                                       {"state": "SUCCESS", "createdAt": "not a date"}]}}"#,
        )
        .expect("decodes");
        let d = node.deployed().expect("a deployment");
        assert_eq!(d.id, 9);
        assert_eq!(
            d.rollback,
            Some(RollbackMark {
                from_deployment: Some(7),
                automatic: true
            })
        );
        assert_eq!(
            d.committed_at,
            Some("2026-11-02T08:00:00Z".parse().expect("a time"))
        );
        assert_eq!(d.statuses.len(), 2, "a status without a time is left out");
        let gone: Node = serde_json::from_str(
            r#"{"databaseId": 9, "environment": "e", "createdAt": "2026-11-02T10:00:00Z",
                "payload": "not json", "commit": null, "statuses": null}"#,
        )
        .expect("decodes");
        let d = gone.deployed().expect("a deployment");
        assert_eq!((d.committed_at, d.rollback), (None, None));
        let broken: Node =
            serde_json::from_str(r#"{"databaseId": 9, "environment": "e"}"#).expect("decodes");
        assert!(broken.deployed().is_none());
    }
}
