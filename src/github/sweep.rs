//! What a sweep reads, in bulk over GraphQL: the repository's environments (100 a request), then
//! each preview's deployments and its pull request's state by alias, [`BATCH`] previews a
//! request: a few requests for a hundred previews, never one per preview.

use super::graphql::{refused, Connection, RepositoryAnswer};
use super::{Answer, ApiError, Budget, DeploymentClient, DeploymentState, Resend};
use http::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Previews read in one request: each is one aliased connection of up to 100 deployments and one
/// pull request (GitHub's limit is 500,000 nodes a request; this asks at most 5,050).
pub const BATCH: usize = 50;
/// A sweep lists at most 5,000 environments (100 a request).
pub const ENVIRONMENT_PAGES: usize = 50;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentNode {
    #[serde(default)]
    database_id: Option<u64>,
    #[serde(default)]
    state: Option<DeploymentState>,
    #[serde(default)]
    commit_oid: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

#[derive(Deserialize)]
struct PullNode {
    #[serde(default)]
    state: Option<String>,
}

/// One preview's reading: its deployments newest first, and its pull request's state.
#[derive(Clone, Debug)]
pub struct PreviewRead {
    pub deployments: Vec<crate::sweep::Deployment>,
    pub pull: crate::sweep::PullState,
}

/// What [`DeploymentClient::sweep_read`] read, by environment.
#[derive(Clone, Debug, Default)]
pub struct SweepRead {
    pub previews: BTreeMap<String, PreviewRead>,
    /// GraphQL requests it took.
    pub requests: usize,
}

/// A GraphQL answer's errors, less those that say a pull request alias names no pull request
/// (`NOT_FOUND` on the path `repository.pN`): a number that names none is an answer here.
fn refused_but_missing_pulls(method: &Method, path: &str, answer: &Answer) -> Option<ApiError> {
    let mut json: Value = serde_json::from_str(&answer.body).ok()?;
    let errors = json.get_mut("errors")?.as_array_mut()?;
    errors.retain(|e| {
        let missing_pull = e["type"].as_str() == Some("NOT_FOUND")
            && e["path"][0].as_str() == Some("repository")
            && e["path"][1].as_str().is_some_and(|a| a.starts_with('p'))
            && e["path"].as_array().is_some_and(|p| p.len() == 2);
        !missing_pull
    });
    if errors.is_empty() {
        return None;
    }
    let rest = Answer {
        status: answer.status,
        headers: answer.headers.clone(),
        body: json.to_string(),
    };
    refused(method, path, &rest)
}

/// The aliased query of `count` previews: `dN` their deployments, `pN` their pull requests.
/// Names and numbers are variables, never spliced into the text.
fn batch_query(count: usize) -> String {
    let mut declared = String::from("$owner: String!, $name: String!");
    let mut body = String::new();
    for i in 0..count {
        declared.push_str(&format!(", $e{i}: String!, $n{i}: Int!"));
        body.push_str(&format!(
            "    d{i}: deployments(environments: [$e{i}], first: 100, orderBy: {{field: CREATED_AT, direction: DESC}}) {{\n      pageInfo {{ hasNextPage endCursor }}\n      nodes {{ databaseId state commitOid createdAt }}\n    }}\n    p{i}: pullRequest(number: $n{i}) {{ state }}\n"
        ));
    }
    format!("query({declared}) {{\n  repository(owner: $owner, name: $name) {{\n{body}  }}\n}}\n")
}

fn deployment_of(n: DeploymentNode) -> Option<crate::sweep::Deployment> {
    let state = n.state.unwrap_or(DeploymentState::Unknown);
    Some(crate::sweep::Deployment {
        id: n.database_id?,
        sha: n.commit_oid,
        created_at: n.created_at.and_then(|t| t.parse().ok()),
        inactive: state.is_inactive(),
        running: state.is_running(),
    })
}

fn pull_of(node: Option<PullNode>) -> crate::sweep::PullState {
    use crate::sweep::PullState;
    match node.and_then(|p| p.state).as_deref() {
        Some("OPEN") => PullState::Open,
        Some("CLOSED") => PullState::Closed,
        Some("MERGED") => PullState::Merged,
        _ => PullState::Missing,
    }
}

impl DeploymentClient {
    /// Each preview's deployments (newest first) and its pull request's state, [`BATCH`] previews
    /// a request. A preview with more than 100 deployments has the rest read on its own.
    pub async fn sweep_read(&self, previews: &[(String, u64)]) -> Result<SweepRead, ApiError> {
        let (path, owner, name) = self.graphql_target()?;
        let mut read = SweepRead::default();
        let mut more = Vec::new();
        for chunk in previews.chunks(BATCH) {
            let mut variables = Map::new();
            variables.insert("owner".into(), json!(owner));
            variables.insert("name".into(), json!(name));
            for (i, (environment, number)) in chunk.iter().enumerate() {
                variables.insert(format!("e{i}"), json!(environment));
                // GraphQL's Int is 32 bits: a larger number names no pull request.
                variables.insert(format!("n{i}"), json!(i32::try_from(*number).unwrap_or(0)));
            }
            let body = json!({ "query": batch_query(chunk.len()), "variables": variables });
            let answer = self
                .send_checking(
                    Method::POST,
                    &path,
                    Some(&body),
                    Resend::Safe,
                    Budget::Ordinary,
                    refused_but_missing_pulls,
                )
                .await?;
            read.requests += 1;
            let page: RepositoryAnswer<BTreeMap<String, Value>> =
                Self::decode(Method::POST, &path, &answer.body)?;
            let Some(mut repository) = page.repository() else {
                return Err(self.no_repository(&path));
            };
            for (i, (environment, _)) in chunk.iter().enumerate() {
                let connection: Connection<DeploymentNode> = repository
                    .remove(&format!("d{i}"))
                    .and_then(|v| serde_json::from_value(v).ok())
                    .ok_or_else(|| ApiError::Decode {
                        method: Method::POST,
                        path: path.clone(),
                        detail: format!("it lacks the deployments of {environment}"),
                    })?;
                let pull: Option<PullNode> = repository
                    .remove(&format!("p{i}"))
                    .and_then(|v| serde_json::from_value(v).ok());
                if connection.page_info.has_next_page {
                    more.push(environment.clone());
                }
                read.previews.insert(
                    environment.clone(),
                    PreviewRead {
                        deployments: connection
                            .nodes
                            .into_iter()
                            .flatten()
                            .flatten()
                            .filter_map(deployment_of)
                            .collect(),
                        pull: pull_of(pull),
                    },
                );
            }
        }
        for environment in more {
            let rest = self
                .deployment_states(&environment, None, Budget::Ordinary)
                .await?;
            read.requests += rest.requests;
            if let Some(preview) = read.previews.get_mut(&environment) {
                let known: std::collections::BTreeSet<u64> =
                    preview.deployments.iter().map(|d| d.id).collect();
                preview.deployments.extend(
                    rest.nodes
                        .into_iter()
                        .filter(|n| !known.contains(&n.id))
                        .map(|n| crate::sweep::Deployment {
                            id: n.id,
                            sha: n.sha.map(|s| s.to_string()),
                            created_at: None,
                            inactive: n.state.is_inactive(),
                            running: n.state.is_running(),
                        }),
                );
            }
        }
        Ok(read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, StatusCode};

    fn answer(body: &str) -> Answer {
        Answer {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: body.to_string(),
        }
    }

    #[test]
    fn a_number_naming_no_pull_request_is_an_answer_other_errors_are_not() {
        let missing = r#"{"data":{"repository":{"p0":null}},"errors":[{"type":"NOT_FOUND","path":["repository","p0"],"message":"Could not resolve to a PullRequest with the number of 9."}]}"#;
        assert!(refused_but_missing_pulls(&Method::POST, "/graphql", &answer(missing)).is_none());
        let repo = r#"{"data":{"repository":null},"errors":[{"type":"NOT_FOUND","path":["repository"],"message":"Could not resolve to a Repository"}]}"#;
        assert!(refused_but_missing_pulls(&Method::POST, "/graphql", &answer(repo)).is_some());
        let limited = r#"{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded"}]}"#;
        assert!(
            refused_but_missing_pulls(&Method::POST, "/graphql", &answer(limited))
                .is_some_and(|e| e.retryable())
        );
    }

    #[test]
    fn the_batch_query_aliases_each_preview_and_splices_no_name() {
        let q = batch_query(2);
        assert!(q.contains("d1: deployments(environments: [$e1]"), "{q}");
        assert!(q.contains("p1: pullRequest(number: $n1)"), "{q}");
        assert!(q.contains("$e0: String!, $n0: Int!"), "{q}");
    }

    #[test]
    fn pull_states_map_and_anything_else_is_missing() {
        use crate::sweep::PullState;
        let p = |s: &str| {
            pull_of(Some(PullNode {
                state: Some(s.into()),
            }))
        };
        assert_eq!(p("OPEN"), PullState::Open);
        assert_eq!(p("MERGED"), PullState::Merged);
        assert_eq!(p("CLOSED"), PullState::Closed);
        assert_eq!(pull_of(None), PullState::Missing);
    }
}
