//! The GitHub side of environment locks ([`crate::lock`]): a lock is the branch
//! `rollout-lock/<name>` pointing at a commit whose message is the lock's record.
//!
//! Taking one is creating the ref, which GitHub does atomically: its 422 "Reference already
//! exists" means someone holds it (GitHub's 422 also means other things, so the message decides).
//! An expired lock is taken over by a commit whose parent is the expired lock's commit and a
//! `PATCH` without `force`: a fast-forward only, so of two runs taking over at once the second
//! finds the ref moved and gets 422 "Update is not a fast forward". Errors keep the usual
//! [`ApiError`]; the caller explains them with [`crate::lock::WRITE_PERMISSION`] or
//! [`crate::lock::READ_PERMISSION`], the `permissions:` entry a refusal names.

use super::{Budget, DeploymentClient, Resend};
use crate::event::Sha;
use crate::github::ApiError;
use crate::lock::{ref_name, HeldLock, LockRecord, LockTaken, Released};
use http::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// How often taking a lock starts over when the branch vanishes between two requests (someone
/// unlocked it meanwhile) before it gives up.
const ROUNDS: usize = 3;

#[derive(Deserialize)]
struct CommitAnswer {
    sha: String,
    #[serde(default)]
    message: String,
    tree: Object,
}

#[derive(Deserialize)]
struct RefAnswer {
    object: Object,
}

#[derive(Deserialize)]
struct Object {
    sha: String,
}

/// GitHub's 422 with this message (case aside): its 422 also means a bad field, the ref name,
/// a missing object.
fn is_422(error: &ApiError, expected: &str) -> bool {
    matches!(error, ApiError::Status { status: 422, message, .. }
        if message.to_ascii_lowercase().contains(&expected.to_ascii_lowercase()))
}

fn sha_of(method: Method, path: &str, text: &str) -> Result<Sha, ApiError> {
    Sha::parse(text).ok_or_else(|| ApiError::Decode {
        method,
        path: path.to_string(),
        detail: format!("{text:?} is not a commit sha"),
    })
}

impl DeploymentClient {
    /// Takes `record.environment`'s lock: a parentless commit with `tree_of`'s tree and the
    /// record as its message, then the branch. Expiry is judged at `record.created_at`.
    pub async fn take_lock(
        &self,
        record: &LockRecord,
        tree_of: &Sha,
    ) -> Result<LockTaken, ApiError> {
        let branch = ref_name(&record.environment);
        let tree = self.git_commit(tree_of).await?.tree.sha;
        let message = record.message();
        let mine = self.create_commit(&message, &tree, &[]).await?;
        for _ in 0..ROUNDS {
            match self.create_ref(&branch, &mine).await {
                Ok(()) => return Ok(LockTaken::Taken { commit: mine }),
                Err(e) if is_422(&e, "Reference already exists") => {}
                Err(e) => return Err(e),
            }
            let Some(holder) = self.lock_branch(&branch).await? else {
                continue;
            };
            // A create whose answer was lost, sent again: the branch is this run's.
            if holder.commit == mine {
                return Ok(LockTaken::Taken { commit: mine });
            }
            let expired = match &holder.record {
                Ok(held) if held.is_expired(record.created_at) => held.clone(),
                _ => return Ok(LockTaken::HeldBy(holder)),
            };
            let successor = self
                .create_commit(&message, &tree, &[holder.commit.as_str()])
                .await?;
            match self.update_ref(&branch, &successor).await {
                Ok(()) => {
                    return Ok(LockTaken::TookOver {
                        commit: successor,
                        expired,
                    })
                }
                Err(e) if is_422(&e, "Update is not a fast forward") => {
                    match self.lock_branch(&branch).await? {
                        Some(winner) if winner.commit == successor => {
                            return Ok(LockTaken::TookOver {
                                commit: successor,
                                expired,
                            })
                        }
                        Some(winner) => return Ok(LockTaken::HeldBy(winner)),
                        None => continue,
                    }
                }
                Err(e) if is_422(&e, "Reference does not exist") => continue,
                Err(e) => return Err(e),
            }
        }
        Err(ApiError::Decode {
            method: Method::POST,
            path: format!("{}/git/refs", self.repo_path),
            detail: format!(
                "the branch `{branch}` appeared and disappeared {ROUNDS} times while rollout took the lock; another run is locking and unlocking it"
            ),
        })
    }

    /// Deletes `environment`'s lock branch; a lock that is not there is [`Released::NotHeld`].
    pub async fn release_lock(&self, environment: &str) -> Result<Released, ApiError> {
        let path = format!(
            "{}/git/refs/heads/{}",
            self.repo_path,
            ref_name(environment)
        );
        match self
            .send(Method::DELETE, &path, None, Resend::Safe, Budget::Ordinary)
            .await
        {
            Ok(_) => Ok(Released::Deleted),
            Err(e) if is_422(&e, "Reference does not exist") || e.status() == Some(404) => {
                Ok(Released::NotHeld)
            }
            Err(e) => Err(e),
        }
    }

    /// The locks of `environments`, in their order (`None`: not locked), in ONE GraphQL request
    /// with an alias per environment. The branch names travel as variables, so no environment
    /// name is ever spliced into the query's text.
    pub async fn read_locks(
        &self,
        environments: &[&str],
    ) -> Result<Vec<Option<HeldLock>>, ApiError> {
        if environments.is_empty() {
            return Ok(Vec::new());
        }
        let (path, owner, name) = self.graphql_target()?;
        let mut declared = vec!["$owner: String!".to_string(), "$name: String!".to_string()];
        let mut selections = String::new();
        let mut variables = Map::new();
        variables.insert("owner".into(), json!(owner));
        variables.insert("name".into(), json!(name));
        for (i, environment) in environments.iter().enumerate() {
            declared.push(format!("$l{i}: String!"));
            selections.push_str(&format!(
                "    l{i}: ref(qualifiedName: $l{i}) {{ target {{ ... on Commit {{ oid message }} }} }}\n"
            ));
            variables.insert(
                format!("l{i}"),
                json!(format!("refs/heads/{}", ref_name(environment))),
            );
        }
        let query = format!(
            "query({}) {{\n  repository(owner: $owner, name: $name) {{\n{selections}  }}\n}}\n",
            declared.join(", ")
        );
        let body = json!({ "query": query, "variables": variables });
        // It decides whether a deploy goes ahead (an unanswered read fails it closed), so it
        // keeps trying as long as the create beside it does, not a lookup's three tries: an
        // outage the create survives must not fail the deploy.
        let json: Value = self.graphql_read(&path, &body, Budget::Ordinary).await?;
        let repository = &json["data"]["repository"];
        if !repository.is_object() {
            return Err(self.no_repository(&path));
        }
        environments
            .iter()
            .enumerate()
            .map(|(i, environment)| {
                // Missing is not null: a lock exists to stop deploys, and an answer that does not
                // say whether it is there is unreadable (fail closed), not "no lock".
                let lacks = |what: String| ApiError::Decode {
                    method: Method::POST,
                    path: path.clone(),
                    detail: format!(
                        "its answer lacks {what} of the lock branch `{}`, so whether `{environment}` is locked is unknown",
                        ref_name(environment)
                    ),
                };
                let Some(node) = repository.get(format!("l{i}")) else {
                    return Err(lacks(format!("`l{i}`, the alias it asked for")));
                };
                if node.is_null() {
                    return Ok(None);
                }
                let Some(target) = node.get("target") else {
                    return Err(lacks("the `target` field".into()));
                };
                if target.is_object() && target.get("oid").is_none() {
                    return Err(lacks("the `oid` field".into()));
                }
                match (
                    target["oid"].as_str().and_then(Sha::parse),
                    target["message"].as_str(),
                ) {
                    (Some(commit), Some(message)) => Ok(Some(HeldLock {
                        commit,
                        record: LockRecord::from_message(message),
                    })),
                    _ => Err(ApiError::Decode {
                        method: Method::POST,
                        path: path.clone(),
                        detail: format!(
                            "the lock branch `{}` points at something other than a commit; delete that branch to unlock `{environment}`",
                            ref_name(environment)
                        ),
                    }),
                }
            })
            .collect()
    }

    /// The lock branch and its commit's record, over REST; `None` when the branch is gone.
    async fn lock_branch(&self, branch: &str) -> Result<Option<HeldLock>, ApiError> {
        let path = format!("{}/git/ref/heads/{branch}", self.repo_path);
        let answer = match self
            .send(Method::GET, &path, None, Resend::Safe, Budget::Ordinary)
            .await
        {
            Ok(answer) => answer,
            Err(e) if e.status() == Some(404) => return Ok(None),
            Err(e) => return Err(e),
        };
        let found: RefAnswer = Self::decode(Method::GET, &path, &answer.body)?;
        let commit = sha_of(Method::GET, &path, &found.object.sha)?;
        let message = self.git_commit(&commit).await?.message;
        Ok(Some(HeldLock {
            commit,
            record: LockRecord::from_message(&message),
        }))
    }

    async fn git_commit(&self, sha: &Sha) -> Result<CommitAnswer, ApiError> {
        let path = format!("{}/git/commits/{sha}", self.repo_path);
        let answer = self
            .send(Method::GET, &path, None, Resend::Safe, Budget::Ordinary)
            .await?;
        Self::decode(Method::GET, &path, &answer.body)
    }

    /// A commit nothing points at yet: sending it twice only leaves an unreferenced object.
    async fn create_commit(
        &self,
        message: &str,
        tree: &str,
        parents: &[&str],
    ) -> Result<Sha, ApiError> {
        let path = format!("{}/git/commits", self.repo_path);
        let body = json!({ "message": message, "tree": tree, "parents": parents });
        let answer = self
            .send(
                Method::POST,
                &path,
                Some(&body),
                Resend::Safe,
                Budget::Ordinary,
            )
            .await?;
        let made: CommitAnswer = Self::decode(Method::POST, &path, &answer.body)?;
        sha_of(Method::POST, &path, &made.sha)
    }

    /// Sent again after a lost answer: the 422 that follows names this run's own commit, which
    /// `take_lock` recognises.
    async fn create_ref(&self, branch: &str, sha: &Sha) -> Result<(), ApiError> {
        let path = format!("{}/git/refs", self.repo_path);
        let body = json!({ "ref": format!("refs/heads/{branch}"), "sha": sha.as_str() });
        self.send(
            Method::POST,
            &path,
            Some(&body),
            Resend::Safe,
            Budget::Ordinary,
        )
        .await?;
        Ok(())
    }

    /// A fast-forward only; sent again after a lost answer it moves the ref to where it is.
    async fn update_ref(&self, branch: &str, sha: &Sha) -> Result<(), ApiError> {
        let path = format!("{}/git/refs/heads/{branch}", self.repo_path);
        let body = json!({ "sha": sha.as_str(), "force": false });
        self.send(
            Method::PATCH,
            &path,
            Some(&body),
            Resend::Safe,
            Budget::Ordinary,
        )
        .await?;
        Ok(())
    }
}
