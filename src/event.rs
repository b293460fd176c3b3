//! Event name + payload -> [`Trigger`]: what happened, with the exact commit to deploy.
//!
//! The payload structs below name only the fields rollout reads, all optional, so unknown fields,
//! unknown actions and missing extras never break parsing; what an event *needs* is checked after
//! deserialising, with an error that names the field.

use serde::Deserialize;
use std::fmt;

/// A full commit id: 40 (SHA-1) or 64 (SHA-256) lowercase hex characters.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Sha(String);

impl Sha {
    pub fn parse(text: &str) -> Option<Sha> {
        let ok = matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit());
        ok.then(|| Sha(text.to_ascii_lowercase()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
    /// GitHub writes all zeros for "no commit": the `before` of a new branch, the `after` of a deletion.
    pub fn is_zero(&self) -> bool {
        self.0.bytes().all(|b| b == b'0')
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha({})", self.0)
    }
}

/// A full ref such as `refs/heads/main` or `refs/tags/v1.2.3`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitRef(String);

impl GitRef {
    pub fn new(full: impl Into<String>) -> GitRef {
        GitRef(full.into())
    }
    pub fn branch(name: &str) -> GitRef {
        GitRef(format!("refs/heads/{name}"))
    }
    pub fn full(&self) -> &str {
        &self.0
    }
    pub fn branch_name(&self) -> Option<&str> {
        self.0.strip_prefix("refs/heads/")
    }
    pub fn tag_name(&self) -> Option<&str> {
        self.0.strip_prefix("refs/tags/")
    }
    /// The name people read: the branch or tag without its prefix, else the full ref.
    pub fn short(&self) -> &str {
        self.branch_name()
            .or_else(|| self.tag_name())
            .unwrap_or(&self.0)
    }
}

/// The head commit's message and author, as far as the event tells them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitInfo {
    pub message: String,
    pub author: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullRequestKind {
    /// `pull_request`: runs in the head's context; a fork gets a read-only token.
    PullRequest,
    /// `pull_request_target`: runs in the base's context with a write token, even for forks.
    Target,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PullRequest {
    pub kind: PullRequestKind,
    pub action: String,
    pub number: u64,
    pub title: String,
    pub head_sha: Sha,
    pub head_branch: String,
    pub base_branch: String,
    /// The base branch's commit when the event was sent; the diff of a preview starts at its merge base.
    pub base_sha: Option<Sha>,
    /// The head lives in another repository (or its repository was deleted).
    pub from_fork: bool,
    pub merged: bool,
    /// Who opened it; Dependabot's PRs run with a read-only token like forks.
    pub author: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    Push {
        git_ref: GitRef,
        sha: Sha,
        /// `None` for a new branch (`before` all zeros) or when the payload has none.
        before: Option<Sha>,
        forced: bool,
        deleted: bool,
    },
    Dispatch {
        git_ref: GitRef,
        sha: Sha,
    },
    WorkflowRun {
        action: String,
        conclusion: Option<String>,
        head_branch: Option<String>,
        sha: Sha,
        /// The run's head repository is not this repository.
        from_fork: bool,
        workflow: String,
    },
    PullRequest(PullRequest),
    /// An event rollout does not deploy on; planning turns it into a skip with a notice.
    Unhandled,
}

/// A parsed event: the trigger and what the payload says about the head commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub name: String,
    pub trigger: Trigger,
    pub head_commit: CommitInfo,
    /// The actor who caused the event (`sender.login`).
    pub sender: Option<String>,
    /// The repository's default branch, the base of a new branch's diff.
    pub default_branch: Option<String>,
}

/// What the runner says beside the payload (`GITHUB_SHA`, `GITHUB_REF`), needed by some events.
#[derive(Clone, Debug, Default)]
pub struct RunnerRefs {
    pub sha: Option<String>,
    pub git_ref: Option<String>,
    /// `owner/name` of the repository the workflow runs in.
    pub repository: Option<String>,
}

/// A field the event lacks; one the runner gives beside the event (`GITHUB_SHA`) names how to
/// give it outside a job, as `rollout plan` runs.
fn missing(event: &str, field: &str) -> String {
    let said =
        format!("the {event} event has no `{field}`, which rollout needs to know what to deploy");
    if field.starts_with("GITHUB_") {
        format!("{said}; the runner sets it in a job, and outside one (`rollout plan`) set {field}=<commit sha> in the environment")
    } else {
        said
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the event file is not valid JSON ({0})")]
    NotJson(String),
    #[error("the event file is JSON but not an object")]
    NotObject,
    #[error("{}", missing(event, field))]
    Missing { event: String, field: &'static str },
    #[error("the {event} event's `{field}` is {value:?}, which is not a full commit sha")]
    BadSha {
        event: String,
        field: &'static str,
        value: String,
    },
}

// ---- the payload, as far as rollout reads it ----

/// A field of the wrong type is as good as absent, and only that field: a `sender` that is a
/// string must not lose the push's `ref` (the checks in [`parse`] name what is missing).
fn lenient<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = serde_json::Value::deserialize(deserializer)?;
    Ok(serde_json::from_value(value).ok())
}

#[derive(Deserialize, Default)]
struct Payload {
    #[serde(default, deserialize_with = "lenient")]
    action: Option<String>,
    #[serde(rename = "ref", default, deserialize_with = "lenient")]
    git_ref: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    before: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    after: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    deleted: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    forced: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    head_commit: Option<HeadCommit>,
    #[serde(default, deserialize_with = "lenient")]
    number: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    pull_request: Option<PullRequestPayload>,
    #[serde(default, deserialize_with = "lenient")]
    workflow_run: Option<WorkflowRunPayload>,
    #[serde(default, deserialize_with = "lenient")]
    repository: Option<Repository>,
    #[serde(default, deserialize_with = "lenient")]
    sender: Option<Login>,
}

#[derive(Deserialize)]
struct HeadCommit {
    #[serde(default, deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    message: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    author: Option<Author>,
}

#[derive(Deserialize)]
struct Author {
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    username: Option<String>,
}

#[derive(Deserialize)]
struct Login {
    #[serde(default, deserialize_with = "lenient")]
    login: Option<String>,
}

#[derive(Deserialize)]
struct Repository {
    #[serde(default, deserialize_with = "lenient")]
    full_name: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    default_branch: Option<String>,
}

#[derive(Deserialize)]
struct PullRequestPayload {
    #[serde(default, deserialize_with = "lenient")]
    number: Option<u64>,
    #[serde(default, deserialize_with = "lenient")]
    title: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    head: Option<Branch>,
    #[serde(default, deserialize_with = "lenient")]
    base: Option<Branch>,
    #[serde(default, deserialize_with = "lenient")]
    merged: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    user: Option<Login>,
}

#[derive(Deserialize)]
struct Branch {
    #[serde(default, deserialize_with = "lenient")]
    sha: Option<String>,
    #[serde(rename = "ref", default, deserialize_with = "lenient")]
    git_ref: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    repo: Option<Repository>,
}

#[derive(Deserialize)]
struct WorkflowRunPayload {
    #[serde(default, deserialize_with = "lenient")]
    conclusion: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    head_sha: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    head_branch: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    head_repository: Option<Repository>,
    #[serde(default, deserialize_with = "lenient")]
    head_commit: Option<HeadCommit>,
    #[serde(default, deserialize_with = "lenient")]
    name: Option<String>,
}

impl From<HeadCommit> for CommitInfo {
    fn from(c: HeadCommit) -> CommitInfo {
        CommitInfo {
            message: c.message.unwrap_or_default(),
            author: c.author.and_then(|a| a.username.or(a.name)),
        }
    }
}

/// Reads the fields of one event's payload, naming the event in every error.
struct Reader<'a> {
    name: &'a str,
    payload: &'a Payload,
    runner: &'a RunnerRefs,
}

impl Reader<'_> {
    fn missing(&self, field: &'static str) -> EventError {
        EventError::Missing {
            event: self.name.to_string(),
            field,
        }
    }

    fn sha(&self, field: &'static str, value: Option<&str>) -> Result<Sha, EventError> {
        let value = value.ok_or_else(|| self.missing(field))?;
        Sha::parse(value).ok_or_else(|| EventError::BadSha {
            event: self.name.to_string(),
            field,
            value: value.chars().take(80).collect(),
        })
    }

    /// This repository, as the runner names it (the payload's when it does not).
    fn this_repo(&self) -> Option<&str> {
        self.runner.repository.as_deref().or_else(|| {
            self.payload
                .repository
                .as_ref()
                .and_then(|r| r.full_name.as_deref())
        })
    }

    fn push(&self) -> Result<Trigger, EventError> {
        let p = self.payload;
        let git_ref = p.git_ref.clone().ok_or_else(|| self.missing("ref"))?;
        let after = self.sha("after", p.after.as_deref())?;
        // A pushed annotated tag's `after` is the tag object; the commit it points to, which
        // the checkout holds and which is deployed, is `head_commit.id`.
        let after = match p
            .head_commit
            .as_ref()
            .and_then(|c| c.id.as_deref())
            .and_then(Sha::parse)
        {
            Some(commit) if !after.is_zero() => commit,
            _ => after,
        };
        let before = match p.before.as_deref() {
            Some(b) => Some(self.sha("before", Some(b))?).filter(|s| !s.is_zero()),
            None => None,
        };
        Ok(Trigger::Push {
            git_ref: GitRef::new(git_ref),
            deleted: p.deleted.unwrap_or(false) || after.is_zero(),
            sha: after,
            before,
            forced: p.forced.unwrap_or(false),
        })
    }

    fn dispatch(&self) -> Result<Trigger, EventError> {
        let git_ref = self
            .payload
            .git_ref
            .clone()
            .or_else(|| self.runner.git_ref.clone())
            .ok_or_else(|| self.missing("ref"))?;
        Ok(Trigger::Dispatch {
            git_ref: GitRef::new(git_ref),
            sha: self.sha("GITHUB_SHA", self.runner.sha.as_deref())?,
        })
    }

    fn workflow_run(&self) -> Result<Trigger, EventError> {
        let run = self
            .payload
            .workflow_run
            .as_ref()
            .ok_or_else(|| self.missing("workflow_run"))?;
        let head_repo = run
            .head_repository
            .as_ref()
            .and_then(|r| r.full_name.as_deref());
        Ok(Trigger::WorkflowRun {
            action: self.payload.action.clone().unwrap_or_default(),
            conclusion: run.conclusion.clone(),
            head_branch: run.head_branch.clone(),
            sha: self.sha("workflow_run.head_sha", run.head_sha.as_deref())?,
            from_fork: from_fork(head_repo, self.this_repo()),
            workflow: run.name.clone().unwrap_or_default(),
        })
    }

    fn pull_request(&self, kind: PullRequestKind) -> Result<Trigger, EventError> {
        let pr = self
            .payload
            .pull_request
            .as_ref()
            .ok_or_else(|| self.missing("pull_request"))?;
        let head = pr
            .head
            .as_ref()
            .ok_or_else(|| self.missing("pull_request.head"))?;
        let base = pr
            .base
            .as_ref()
            .ok_or_else(|| self.missing("pull_request.base"))?;
        let head_repo = head.repo.as_ref().and_then(|r| r.full_name.as_deref());
        let base_repo = base
            .repo
            .as_ref()
            .and_then(|r| r.full_name.as_deref())
            .or(self.this_repo());
        Ok(Trigger::PullRequest(PullRequest {
            kind,
            action: self.payload.action.clone().unwrap_or_default(),
            number: self
                .payload
                .number
                .or(pr.number)
                .ok_or_else(|| self.missing("number"))?,
            title: pr.title.clone().unwrap_or_default(),
            head_sha: self.sha("pull_request.head.sha", head.sha.as_deref())?,
            head_branch: head.git_ref.clone().unwrap_or_default(),
            base_branch: base.git_ref.clone().unwrap_or_default(),
            base_sha: base.sha.as_deref().and_then(Sha::parse),
            from_fork: from_fork(head_repo, base_repo),
            merged: pr.merged.unwrap_or(false),
            author: pr
                .user
                .as_ref()
                .and_then(|u| u.login.clone())
                .unwrap_or_default(),
        }))
    }
}

/// Whether code comes from another repository than the one deploying. An unknown repository on
/// either side counts as foreign: refusing is the safe side.
fn from_fork(head: Option<&str>, this: Option<&str>) -> bool {
    match (head, this) {
        (Some(head), Some(this)) => !head.eq_ignore_ascii_case(this),
        _ => true,
    }
}

/// Parses an event. Unknown event names parse to [`Trigger::Unhandled`]; a handled event that
/// lacks what rollout needs is an error naming the field.
pub fn parse(name: &str, json: &str, runner: &RunnerRefs) -> Result<Event, EventError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| EventError::NotJson(e.to_string()))?;
    if !value.is_object() {
        return Err(EventError::NotObject);
    }
    let payload: Payload = serde_json::from_value(value).unwrap_or_else(|_| Payload::default());
    let reader = Reader {
        name,
        payload: &payload,
        runner,
    };
    let trigger = match name {
        "push" => reader.push()?,
        "workflow_dispatch" => reader.dispatch()?,
        "workflow_run" => reader.workflow_run()?,
        "pull_request" => reader.pull_request(PullRequestKind::PullRequest)?,
        "pull_request_target" => reader.pull_request(PullRequestKind::Target)?,
        _ => Trigger::Unhandled,
    };
    // A pull request's "commit" is the PR itself: its title and author describe the deploy.
    let head_commit = match &trigger {
        Trigger::PullRequest(pr) => CommitInfo {
            message: pr.title.clone(),
            author: Some(pr.author.clone()).filter(|a| !a.is_empty()),
        },
        Trigger::WorkflowRun { .. } => payload
            .workflow_run
            .and_then(|r| r.head_commit)
            .map(CommitInfo::from)
            .unwrap_or_default(),
        _ => payload
            .head_commit
            .map(CommitInfo::from)
            .unwrap_or_default(),
    };
    Ok(Event {
        name: name.to_string(),
        trigger,
        head_commit,
        sender: payload.sender.and_then(|s| s.login),
        default_branch: payload.repository.and_then(|r| r.default_branch),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";
    const B: &str = "ec26c3e57ca3a959ca5aad62de7213c562f8c821";
    const ZERO: &str = "0000000000000000000000000000000000000000";

    fn runner() -> RunnerRefs {
        RunnerRefs {
            sha: Some(B.into()),
            git_ref: Some("refs/heads/main".into()),
            repository: Some("octo/app".into()),
        }
    }

    fn push(before: &str, after: &str, extra: &str) -> String {
        format!(
            r#"{{"ref":"refs/heads/main","before":"{before}","after":"{after}","created":false,
            "repository":{{"full_name":"octo/app","created_at":1700000000}},
            "head_commit":{{"message":"fix: it","author":{{"name":"Mona","username":"mona"}}}}{extra}}}"#
        )
    }

    /// The trigger of `push(B, A, ..)`.
    fn push_to_main(forced: bool) -> Trigger {
        Trigger::Push {
            git_ref: GitRef::branch("main"),
            sha: Sha::parse(A).unwrap(),
            before: Sha::parse(B),
            forced,
            deleted: false,
        }
    }

    #[test]
    fn push_deploys_after_and_keeps_before() {
        let e = parse("push", &push(B, A, r#","forced":true"#), &runner()).unwrap();
        assert_eq!(e.trigger, push_to_main(true));
        assert_eq!(e.head_commit.message, "fix: it");
        assert_eq!(e.head_commit.author.as_deref(), Some("mona"));
    }

    #[test]
    fn an_annotated_tag_deploys_the_commit_not_the_tag_object() {
        let json = format!(
            r#"{{"ref":"refs/tags/v1","before":"{ZERO}","after":"{B}",
            "head_commit":{{"id":"{A}","message":"release"}}}}"#
        );
        let e = parse("push", &json, &runner()).unwrap();
        assert!(
            matches!(&e.trigger, Trigger::Push { sha, .. } if sha.as_str() == A),
            "{:?}",
            e.trigger
        );
    }

    #[test]
    fn a_field_of_an_unexpected_type_loses_only_itself() {
        // `sender` as a string, `forced` as a string, `head_commit.author` as a number, and a
        // `repository` that is a list: the push still has its ref, shas and message.
        let extra = r#","sender":"mona","forced":"yes","pusher":7"#;
        let json = push(B, A, extra)
            .replace(
                r#""author":{"name":"Mona","username":"mona"}"#,
                r#""author":42"#,
            )
            .replace(
                r#""repository":{"full_name":"octo/app","created_at":1700000000}"#,
                r#""repository":["octo/app"]"#,
            );
        assert!(json.contains(r#""author":42"#) && json.contains(r#""repository":["#));
        let e = parse("push", &json, &runner()).unwrap();
        assert_eq!(e.trigger, push_to_main(false));
        assert_eq!(e.head_commit.message, "fix: it");
        assert_eq!(e.head_commit.author, None);
        // A needed field of the wrong type is named as missing, not a parse failure.
        let json = push(B, A, "").replace(r#""ref":"refs/heads/main""#, r#""ref":5"#);
        let e = parse("push", &json, &runner()).unwrap_err();
        assert!(e.to_string().contains("`ref`"), "{e}");
    }

    #[test]
    fn new_branch_has_no_before() {
        let e = parse("push", &push(ZERO, A, ""), &runner()).unwrap();
        assert!(matches!(e.trigger, Trigger::Push { before: None, .. }));
    }

    #[test]
    fn deletion_is_flagged_even_without_the_deleted_field() {
        let e = parse("push", &push(A, ZERO, ""), &runner()).unwrap();
        assert!(matches!(e.trigger, Trigger::Push { deleted: true, .. }));
        let e = parse("push", &push(A, ZERO, r#","deleted":true"#), &runner()).unwrap();
        assert!(matches!(e.trigger, Trigger::Push { deleted: true, .. }));
    }

    #[test]
    fn push_without_after_names_the_field() {
        let err = parse("push", r#"{"ref":"refs/heads/main"}"#, &runner()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the push event has no `after`, which rollout needs to know what to deploy"
        );
    }

    #[test]
    fn a_short_sha_is_refused() {
        let err = parse("push", &push(B, "abc123", ""), &runner()).unwrap_err();
        assert!(
            matches!(err, EventError::BadSha { field: "after", .. }),
            "{err}"
        );
    }

    #[test]
    fn not_json_and_not_an_object_are_errors() {
        assert!(matches!(
            parse("push", "{", &runner()),
            Err(EventError::NotJson(_))
        ));
        assert_eq!(parse("push", "[1]", &runner()), Err(EventError::NotObject));
    }

    #[test]
    fn fields_of_the_wrong_type_read_as_missing() {
        let err = parse("push", r#"{"ref":5,"after":"x"}"#, &runner()).unwrap_err();
        assert!(
            matches!(err, EventError::Missing { field: "ref", .. }),
            "{err}"
        );
    }

    #[test]
    fn dispatch_takes_the_runner_sha() {
        let e = parse(
            "workflow_dispatch",
            r#"{"ref":"refs/tags/v1","inputs":{}}"#,
            &runner(),
        )
        .unwrap();
        assert_eq!(
            e.trigger,
            Trigger::Dispatch {
                git_ref: GitRef::new("refs/tags/v1"),
                sha: Sha::parse(B).unwrap()
            }
        );
    }

    #[test]
    fn workflow_run_uses_head_sha_and_detects_forks() {
        let json = |repo: &str| {
            format!(
                r#"{{"action":"completed","repository":{{"full_name":"octo/app"}},
                "workflow_run":{{"conclusion":"success","head_sha":"{A}","head_branch":"main",
                "head_repository":{{"full_name":"{repo}"}},"head_commit":{{"message":"m"}}}}}}"#
            )
        };
        let e = parse("workflow_run", &json("octo/app"), &runner()).unwrap();
        match e.trigger {
            Trigger::WorkflowRun { sha, from_fork, .. } => {
                assert_eq!(sha.as_str(), A);
                assert!(!from_fork);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.head_commit.message, "m");
        let e = parse("workflow_run", &json("evil/app"), &runner()).unwrap();
        assert!(matches!(
            e.trigger,
            Trigger::WorkflowRun {
                from_fork: true,
                ..
            }
        ));
    }

    #[test]
    fn pull_request_deploys_the_head_not_the_merge_commit() {
        let json = format!(
            r#"{{"action":"opened","number":7,"pull_request":{{"number":7,"title":"t",
            "head":{{"sha":"{A}","ref":"feature/x","repo":{{"full_name":"octo/app"}}}},
            "base":{{"sha":"{B}","ref":"main","repo":{{"full_name":"octo/app"}}}},
            "merged":false,"user":{{"login":"mona"}}}}}}"#
        );
        let e = parse("pull_request", &json, &runner()).unwrap();
        match e.trigger {
            Trigger::PullRequest(pr) => {
                assert_eq!(pr.head_sha.as_str(), A);
                assert_eq!(pr.number, 7);
                assert!(!pr.from_fork);
                assert_eq!(pr.head_branch, "feature/x");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_pull_request_whose_head_repo_is_gone_counts_as_a_fork() {
        let json = format!(
            r#"{{"action":"opened","number":7,"pull_request":{{"head":{{"sha":"{A}","ref":"x","repo":null}},
            "base":{{"ref":"main","repo":{{"full_name":"octo/app"}}}}}}}}"#
        );
        let e = parse("pull_request_target", &json, &runner()).unwrap();
        assert!(matches!(
            e.trigger,
            Trigger::PullRequest(PullRequest {
                from_fork: true,
                kind: PullRequestKind::Target,
                ..
            })
        ));
    }

    #[test]
    fn unknown_events_are_unhandled_not_errors() {
        let e = parse("issues", r#"{"action":"opened"}"#, &runner()).unwrap();
        assert_eq!(e.trigger, Trigger::Unhandled);
    }

    #[test]
    fn refs_know_their_short_names() {
        assert_eq!(GitRef::new("refs/heads/release/1").short(), "release/1");
        assert_eq!(GitRef::new("refs/tags/v1.2").tag_name(), Some("v1.2"));
        assert_eq!(
            GitRef::new("refs/pull/1/merge").short(),
            "refs/pull/1/merge"
        );
    }
}
