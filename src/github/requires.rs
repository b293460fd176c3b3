//! What `requires` needs to know, in one GraphQL request before the create: the deploying
//! commit's deployments in the required environment (a commit's `deployments(environments:)`:
//! GitHub's repository-wide list has no commit filter), that environment's newest deployments
//! (where a later rollback naming the commit's deployment would be), and the destination's lock.

use super::graphql::{Connection, RepositoryAnswer};
use super::history::{LockRef, Node};
use super::{ApiError, Budget, DeploymentClient};
use crate::history::HistoryEntry;
use serde::Deserialize;
use serde_json::json;

/// The fake checks this very file against GitHub's schema.
const QUERY: &str = include_str!("requires.graphql");

/// What [`DeploymentClient::requires_history`] read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequiresHistory {
    /// The commit's deployments in the required environment, newest first.
    pub of_commit: Vec<HistoryEntry>,
    /// The required environment's newest deployments, any commit.
    pub recent: Vec<HistoryEntry>,
    /// The destination's lock ref commit (oid, message); `None`: no lock.
    pub lock: Option<(String, String)>,
}

#[derive(Deserialize)]
struct Repository {
    /// `None` when GitHub does not know the commit: it has no deployments then.
    #[serde(default)]
    object: Option<Commit>,
    recent: Connection<Node>,
    #[serde(default)]
    lock: Option<LockRef>,
}

#[derive(Deserialize)]
struct Commit {
    /// Absent on an object that is not a commit.
    #[serde(default)]
    deployments: Option<Connection<Node>>,
}

fn entries(connection: Connection<Node>) -> Vec<HistoryEntry> {
    connection
        .nodes
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(Node::entry)
        .collect()
}

impl DeploymentClient {
    /// `sha`'s deployments in `environment` and that environment's newest ones, with the lock
    /// ref `lock_ref` of the destination, in one request.
    pub async fn requires_history(
        &self,
        sha: &str,
        environment: &str,
        lock_ref: &str,
    ) -> Result<RequiresHistory, ApiError> {
        let (path, owner, name) = self.graphql_target()?;
        let body = json!({
            "query": QUERY,
            "variables": {
                "owner": owner, "name": name, "oid": sha,
                "environment": environment, "lockRef": lock_ref,
            },
        });
        let answer: RepositoryAnswer<Repository> =
            self.graphql_read(&path, &body, Budget::Ordinary).await?;
        let Some(repository) = answer.repository() else {
            return Err(self.no_repository(&path));
        };
        Ok(RequiresHistory {
            of_commit: repository
                .object
                .and_then(|c| c.deployments)
                .map(entries)
                .unwrap_or_default(),
            recent: entries(repository.recent),
            lock: repository.lock.map(LockRef::commit),
        })
    }
}
