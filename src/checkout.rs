//! `verify-checkout`: is the checkout the command builds from the commit the deployment records?
//!
//! On `pull_request`, actions/checkout checks out GitHub's test-merge commit unless told
//! `ref:`, while the deployment records the head commit: the Environments page would name a
//! commit whose files were never built. That one case is refused; any other difference is the
//! job's own choice and only warned about.

use crate::event::{PullRequestKind, Sha};
use git2::{ObjectType, Oid, Repository};
use std::path::{Path, PathBuf};

/// The pull request a run deploys, as far as the check needs it.
#[derive(Clone, Copy, Debug)]
pub struct PullRequestHead<'a> {
    pub kind: PullRequestKind,
    pub number: u64,
    /// What the runner set as `GITHUB_SHA`: on `pull_request`, the test-merge commit.
    pub runner_sha: Option<&'a str>,
}

/// What the check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// HEAD is the commit being deployed.
    Matches { repository: PathBuf },
    /// No repository holds the directory, or it has no commit: nothing to compare.
    NoRepository { dir: PathBuf, why: String },
    /// HEAD is the pull request's test-merge commit: refused before anything is written.
    TestMerge {
        head: String,
        deploying: Sha,
        number: u64,
        kind: PullRequestKind,
    },
    /// HEAD is some other commit: warned about, and the deploy goes on.
    Differs { head: String, deploying: Sha },
}

impl Verdict {
    /// The log line or annotation text: one sentence.
    pub fn sentence(&self) -> String {
        match self {
            Verdict::Matches { repository } => format!(
                "checkout: HEAD of {} is the commit being deployed",
                repository.display()
            ),
            Verdict::NoRepository { dir, why } => format!(
                "checkout: {why} at {}, so there is no HEAD to compare with the commit being deployed",
                dir.display()
            ),
            Verdict::TestMerge {
                head,
                deploying,
                number,
                kind: PullRequestKind::PullRequest,
            } => format!(
                "the checkout is at {head}, GitHub's test-merge commit of pull request #{number}, not at its head commit {deploying} that the deployment records: add `ref: ${{{{ github.event.pull_request.head.sha }}}}` to the actions/checkout step (or set `verify-checkout: false`)"
            ),
            Verdict::TestMerge {
                head,
                deploying,
                number,
                kind: PullRequestKind::Target,
            } => format!(
                "the checkout is at {head}, GitHub's test-merge commit of pull request #{number}, not at its head commit {deploying} that the deployment records: add `ref: ${{{{ github.event.pull_request.head.sha }}}}` to the actions/checkout step, but only if you trust the pull request's code, because on pull_request_target it runs with this repository's token and secrets"
            ),
            Verdict::Differs { head, deploying } => format!(
                "the checkout is at {head}, not at {deploying} that the deployment records, so the command builds other files than the deployment names; check the `ref:` of the checkout step, or set `verify-checkout: false` if this is on purpose"
            ),
        }
    }
}

/// Compares HEAD of the repository holding `dir` (discovered upwards, as git does) with
/// `deploying`. Reads only.
pub fn verify(dir: &Path, deploying: &Sha, pr: Option<PullRequestHead<'_>>) -> Verdict {
    let none = |why: String| Verdict::NoRepository {
        dir: dir.to_path_buf(),
        why,
    };
    let repo = match Repository::discover(dir) {
        Ok(r) => r,
        Err(e) => return none(format!("no git repository ({})", e.message())),
    };
    let head = match repo.head().and_then(|h| h.peel_to_commit()) {
        Ok(c) => c,
        Err(e) => {
            return none(format!(
                "the repository has no HEAD commit ({})",
                e.message()
            ))
        }
    };
    let head_id = head.id().to_string();
    let repository = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    if head_id == deploying.as_str() || peeled(&repo, deploying).as_deref() == Some(&head_id) {
        return Verdict::Matches { repository };
    }
    if let Some(pr) = pr {
        let runner_is_merge = pr.kind == PullRequestKind::PullRequest
            && pr
                .runner_sha
                .is_some_and(|s| s.eq_ignore_ascii_case(&head_id));
        if runner_is_merge
            || parents(&repo, head.id())
                .iter()
                .any(|p| p == deploying.as_str())
        {
            return Verdict::TestMerge {
                head: head_id,
                deploying: deploying.clone(),
                number: pr.number,
                kind: pr.kind,
            };
        }
    }
    Verdict::Differs {
        head: head_id,
        deploying: deploying.clone(),
    }
}

/// The commit a tag object points to, when `sha` names a tag object in this clone.
fn peeled(repo: &Repository, sha: &Sha) -> Option<String> {
    let object = repo
        .find_object(Oid::from_str(sha.as_str()).ok()?, None)
        .ok()?;
    if object.kind() != Some(ObjectType::Tag) {
        return None;
    }
    Some(object.peel_to_commit().ok()?.id().to_string())
}

/// A commit's parents. In a shallow clone libgit2 grafts the commit to have none, but the raw
/// object still has its `parent` lines, so those are read too.
fn parents(repo: &Repository, id: Oid) -> Vec<String> {
    let mut out: Vec<String> = repo
        .find_commit(id)
        .map(|c| c.parent_ids().map(|p| p.to_string()).collect())
        .unwrap_or_default();
    let raw = repo.odb().and_then(|odb| {
        odb.read(id)
            .map(|object| String::from_utf8_lossy(object.data()).into_owned())
    });
    if let Ok(text) = raw {
        // The header ends at the first empty line; the message after it is not read.
        for line in text.lines().take_while(|l| !l.is_empty()) {
            if let Some(p) = line.strip_prefix("parent ") {
                out.push(p.trim().to_ascii_lowercase());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

    #[test]
    fn a_folder_outside_any_repository_is_no_repository() {
        let dir = tempfile::tempdir().unwrap();
        let v = verify(dir.path(), &Sha::parse(A).unwrap(), None);
        assert!(matches!(v, Verdict::NoRepository { .. }), "{v:?}");
        assert!(
            v.sentence().contains("no git repository"),
            "{}",
            v.sentence()
        );
    }

    fn git(dir: &Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .args([
                "-c",
                "safe.directory=*",
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@x",
            ])
            .args([
                "-c",
                "commit.gpgsign=false",
                "-c",
                "protocol.file.allow=always",
            ])
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn a_shallow_commit_still_names_its_parents_in_its_raw_object() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(&src).unwrap();
        git(&src, &["init", "-q"]);
        git(&src, &["commit", "-q", "--allow-empty", "-m", "one"]);
        let first = git(&src, &["rev-parse", "HEAD"]);
        git(&src, &["commit", "-q", "--allow-empty", "-m", "two"]);
        let url = format!("file://{}", src.display());
        git(
            dir.path(),
            &["clone", "-q", "--depth", "1", &url, "shallow"],
        );
        let repo = Repository::open(dir.path().join("shallow")).unwrap();
        let head = repo.head().unwrap().peel_to_commit().unwrap();
        // The premise: libgit2 grafts a shallow commit to have no parents.
        assert_eq!(head.parent_count(), 0);
        assert_eq!(parents(&repo, head.id()), vec![first]);
    }

    #[test]
    fn each_sentence_names_both_commits_and_the_fix() {
        let v = Verdict::TestMerge {
            head: "b".repeat(40),
            deploying: Sha::parse(A).unwrap(),
            number: 4,
            kind: PullRequestKind::PullRequest,
        };
        let s = v.sentence();
        assert!(s.contains(&"b".repeat(40)) && s.contains(A), "{s}");
        assert!(
            s.contains("`ref: ${{ github.event.pull_request.head.sha }}`"),
            "{s}"
        );
        let target = Verdict::TestMerge {
            head: "b".repeat(40),
            deploying: Sha::parse(A).unwrap(),
            number: 4,
            kind: PullRequestKind::Target,
        };
        assert!(target.sentence().contains("only if you trust"));
        assert!(!target.sentence().contains(". "), "one sentence");
    }
}
