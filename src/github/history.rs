//! The history a rollback chooses from, over GraphQL: an environment's deployments newest first
//! with every status each one had (the REST list carries no state, and a status read per
//! deployment would cost 100 requests for 100 deployments), and the environment's lock ref in the
//! same request, so that a rollback whose target is among the newest 100 costs one request
//! before the create.

use super::graphql::{Connection, RepositoryAnswer};
use super::{ApiError, Budget, DeploymentClient, DeploymentState};
use crate::event::Sha;
use crate::history::{rollback_from, HistoryEntry, HISTORY_LIMIT};
use http::Method;
use serde::Deserialize;
use serde_json::{json, Value};

/// The fake checks this very file against GitHub's schema.
const QUERY: &str = include_str!("history.graphql");
/// GitHub's largest page on a connection, as the query asks.
const PAGE: usize = 100;

/// What [`DeploymentClient::rollback_history`] read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// Newest first.
    pub entries: Vec<HistoryEntry>,
    /// The read stopped at 1,000 deployments with older ones left and the target not decided.
    pub truncated: bool,
    /// The lock ref's commit (oid, message), as the first request saw it; `None`: no lock.
    pub lock: Option<(String, String)>,
    /// GraphQL requests it took.
    pub requests: usize,
}

#[derive(Deserialize)]
struct Repository {
    deployments: Connection<Node>,
    /// `None`: the answer lacks the `lock` alias it was asked for (a proxy's `{}`), which is no
    /// answer about the lock; `Some(None)`: no lock branch.
    #[serde(default, deserialize_with = "present")]
    lock: Option<Option<LockRef>>,
}

/// A field that is there, null or not: `Some`, so that a missing one (serde's default, `None`)
/// is told apart from a null one.
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

#[derive(Deserialize)]
pub(super) struct LockRef {
    #[serde(default)]
    target: Option<Target>,
}

/// A lock ref normally points at a commit; pointed elsewhere it is still held, its message
/// unknown (empty), and the lock's reader says it cannot read it.
#[derive(Deserialize)]
struct Target {
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Node {
    #[serde(default)]
    database_id: Option<u64>,
    #[serde(default)]
    commit_oid: Option<String>,
    #[serde(default)]
    task: Option<String>,
    #[serde(default)]
    payload: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    state: Option<DeploymentState>,
    #[serde(default)]
    statuses: Option<Statuses>,
    #[serde(default)]
    creator: Option<Creator>,
}

#[derive(Deserialize)]
struct Creator {
    #[serde(default)]
    login: Option<String>,
}

#[derive(Deserialize)]
struct Statuses {
    #[serde(default)]
    nodes: Option<Vec<Option<StatusNode>>>,
}

#[derive(Deserialize)]
struct StatusNode {
    #[serde(default)]
    state: Option<String>,
    #[serde(default, rename = "logUrl")]
    log_url: Option<String>,
}

impl LockRef {
    /// The lock ref's commit (oid, message); a ref pointed at no commit reads as empty ones.
    pub(super) fn commit(self) -> (String, String) {
        match self.target {
            Some(t) => (t.oid.unwrap_or_default(), t.message.unwrap_or_default()),
            None => (String::new(), String::new()),
        }
    }
}

/// GraphQL hands the payload over as the JSON text it was stored as; a payload another tool
/// wrote may be anything, and reads as `{}` unless it is a JSON object.
fn payload_of(text: Option<&str>) -> Value {
    match text.map(serde_json::from_str::<Value>) {
        Some(Ok(object @ Value::Object(_))) => object,
        _ => json!({}),
    }
}

impl Node {
    /// `None` for a node without an id or a commit: nothing could roll back to it, and a
    /// commit id that is not one cannot be checked out.
    pub(super) fn entry(self) -> Option<HistoryEntry> {
        let id = self.database_id?;
        let sha = self.commit_oid.as_deref().and_then(Sha::parse)?;
        let state = self.state.unwrap_or(DeploymentState::Unknown);
        // Transcribed as read: `crate::history` decides what they mean (ran, reached success).
        let nodes: Vec<StatusNode> = self
            .statuses
            .and_then(|s| s.nodes)
            .into_iter()
            .flatten()
            .flatten()
            .collect();
        let log_url = nodes
            .iter()
            .find_map(|s| s.log_url.clone().filter(|u| !u.is_empty()))
            .unwrap_or_default();
        let statuses = nodes
            .into_iter()
            .filter_map(|s| s.state)
            .map(|s| s.to_ascii_lowercase())
            .collect();
        let creator = self.creator.and_then(|c| c.login).unwrap_or_default();
        let payload = payload_of(self.payload.as_deref());
        Some(HistoryEntry {
            id,
            sha,
            task: self.task.unwrap_or_else(|| "deploy".to_string()),
            rollback_from: rollback_from(&payload),
            payload,
            created_at: self.created_at.unwrap_or_default(),
            statuses,
            latest_state: state.as_str().to_string(),
            creator,
            log_url,
        })
    }
}

impl DeploymentClient {
    /// `environment`'s deployments, newest first, 100 a request, read only until `enough` says
    /// the history decides the target (see `RollbackTo::decided_by`) and at most 1,000, with the
    /// lock ref `lock_ref` (`refs/heads/rollout-lock/<name>`) read in the first request.
    pub async fn rollback_history(
        &self,
        environment: &str,
        lock_ref: &str,
        enough: impl Fn(&[HistoryEntry]) -> bool,
    ) -> Result<History, ApiError> {
        let (path, owner, name) = self.graphql_target()?;
        let mut history = History::default();
        let mut after: Option<String> = None;
        for page_number in 1..=HISTORY_LIMIT / PAGE {
            let body = json!({
                "query": QUERY,
                "variables": {
                    "owner": owner, "name": name, "environment": environment,
                    "after": after, "lockRef": lock_ref,
                },
            });
            let page: RepositoryAnswer<Repository> =
                self.graphql_read(&path, &body, Budget::Ordinary).await?;
            history.requests += 1;
            let Some(repository) = page.repository() else {
                return Err(self.no_repository(&path));
            };
            if page_number == 1 {
                // A lock exists to stop deploys: an answer that does not say is unreadable.
                let Some(lock) = repository.lock else {
                    return Err(ApiError::Decode {
                        method: Method::POST,
                        path,
                        detail: format!(
                            "its answer lacks `lock`, the lock branch `{lock_ref}` it was asked for, so whether the environment is locked is unknown"
                        ),
                    });
                };
                history.lock = lock.map(LockRef::commit);
            }
            let connection = repository.deployments;
            history.entries.extend(
                connection
                    .nodes
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter_map(Node::entry),
            );
            if !connection.page_info.has_next_page || enough(&history.entries) {
                return Ok(history);
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
        history.truncated = true;
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(text: &str) -> Option<HistoryEntry> {
        serde_json::from_str::<Node>(text).expect("decodes").entry()
    }

    #[test]
    fn payloads_are_json_text_and_garbage_reads_as_empty() {
        assert_eq!(payload_of(Some(r#"{"a": 1}"#)), json!({"a": 1}));
        for garbage in [
            Some("{"),
            Some("not json"),
            Some("\"a string\""),
            Some("[1]"),
            None,
        ] {
            assert_eq!(payload_of(garbage), json!({}), "{garbage:?}");
        }
    }

    #[test]
    fn a_node_reached_success_by_any_success_status_or_its_state() {
        let sha = "a".repeat(40);
        let e = node(&format!(
            r#"{{"databaseId": 48, "commitOid": "{sha}", "task": "deploy:web", "createdAt": "2026-11-21T00:00:00Z",
               "state": "INACTIVE", "payload": "{{\"rollback\": {{\"from_deployment\": 40}}}}",
               "statuses": {{"nodes": [{{"state": "INACTIVE"}}, {{"state": "SUCCESS"}}, {{"state": "IN_PROGRESS"}}]}}}}"#
        ))
        .expect("an entry");
        assert!(e.reached_success());
        assert_eq!(e.statuses, ["inactive", "success", "in_progress"]);
        assert!(e.ran());
        assert_eq!(e.latest_state, "inactive");
        assert_eq!(e.task, "deploy:web");
        assert_eq!(e.rollback_from, Some(40));
        let failed = node(&format!(
            r#"{{"databaseId": 49, "commitOid": "{sha}", "state": "FAILURE", "payload": null,
               "statuses": {{"nodes": [{{"state": "FAILURE"}}, {{"state": "IN_PROGRESS"}}]}}}}"#
        ))
        .expect("an entry");
        assert!(!failed.reached_success() && failed.ran());
        assert_eq!(
            (failed.task.as_str(), failed.payload.clone()),
            ("deploy", json!({}))
        );
        let active = node(&format!(
            r#"{{"databaseId": 50, "commitOid": "{sha}", "state": "ACTIVE"}}"#
        ))
        .expect("an entry");
        assert!(
            active.reached_success(),
            "ACTIVE is a success even with no statuses read"
        );
    }

    #[test]
    fn a_node_ran_by_an_in_progress_success_or_failure_and_names_its_creator_and_run() {
        let sha = "a".repeat(40);
        let ran = |statuses: &str, state: &str| {
            node(&format!(
                r#"{{"databaseId": 1, "commitOid": "{sha}", "state": "{state}", "statuses": {{"nodes": [{statuses}]}}}}"#
            ))
            .expect("an entry")
            .ran()
        };
        assert!(ran(
            r#"{"state": "INACTIVE"}, {"state": "IN_PROGRESS"}"#,
            "INACTIVE"
        ));
        assert!(ran(r#"{"state": "FAILURE"}"#, "FAILURE"));
        assert!(
            !ran(r#"{"state": "ERROR"}"#, "ERROR"),
            "a lock's error never ran"
        );
        assert!(!ran(
            r#"{"state": "INACTIVE"}, {"state": "PENDING"}"#,
            "INACTIVE"
        ));
        assert!(!ran("", "PENDING"));
        let e = node(&format!(
            r#"{{"databaseId": 2, "commitOid": "{sha}", "state": "ACTIVE", "creator": {{"login": "mona"}},
               "statuses": {{"nodes": [{{"state": "SUCCESS", "logUrl": "https://x/runs/2"}}, {{"state": "IN_PROGRESS", "logUrl": "https://x/runs/1"}}]}}}}"#
        ))
        .expect("an entry");
        assert_eq!(
            (e.creator.as_str(), e.log_url.as_str()),
            ("mona", "https://x/runs/2"),
            "the newest status's run"
        );
    }

    #[test]
    fn a_node_without_an_id_or_a_commit_is_left_out() {
        assert_eq!(node(r#"{"databaseId": null, "commitOid": "x"}"#), None);
        assert_eq!(node(r#"{"databaseId": 3, "commitOid": "main"}"#), None);
    }
}
