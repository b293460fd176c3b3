//! Changed files from the workspace's git history (git2). When the history is not in the clone,
//! [`Basis`] says which commits the compare API must be asked about instead.

use crate::event::{Event, Sha, Trigger};
use git2::{Oid, Repository};
use std::path::Path;

/// libgit2 refuses a repository owned by another user (the workspace belongs to the runner user,
/// the container runs as root). rollout only reads it, so the check is turned off, once.
pub fn trust_workspace_owner() {
    // SAFETY: called once at start-up, before any thread uses libgit2.
    let _ = unsafe { git2::opts::set_verify_owner_validation(false) };
}

/// Which two commits bound the change, and how they are to be compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Basis {
    /// The diff of two trees: what changed between them, whatever the history (force pushes).
    Trees { base: Sha, head: Sha, why: String },
    /// From the merge base of `base` and `head` (pull requests, new branches).
    MergeBase {
        base: String,
        head: Sha,
        why: String,
    },
    /// No base can be known: everything counts as changed.
    None { why: String },
}

/// The diff base the event implies (`since: event`).
pub fn event_basis(event: &Event) -> Basis {
    match &event.trigger {
        Trigger::Push {
            before: Some(before),
            sha,
            forced,
            ..
        } => Basis::Trees {
            base: before.clone(),
            head: sha.clone(),
            why: if *forced {
                "the force push's `before` against `after` (tree diff)".into()
            } else {
                "the push's `before` against `after`".into()
            },
        },
        Trigger::Push {
            before: None, sha, ..
        } => match &event.default_branch {
            Some(default) => Basis::MergeBase {
                base: default.clone(),
                head: sha.clone(),
                why: format!("a new branch, compared with the default branch `{default}`"),
            },
            None => Basis::None {
                why: "a new branch, and the event names no default branch to compare with".into(),
            },
        },
        Trigger::PullRequest(pr) => Basis::MergeBase {
            base: pr
                .base_sha
                .as_ref()
                .map(|s| s.as_str().to_string())
                .unwrap_or_else(|| pr.base_branch.clone()),
            head: pr.head_sha.clone(),
            why: format!(
                "the pull request's head against its merge base with `{}`",
                pr.base_branch
            ),
        },
        _ => Basis::None {
            why: format!(
                "a {} event names no previous commit (set `since: last-deployment`)",
                event.name
            ),
        },
    }
}

/// What local git could say.
#[derive(Debug, PartialEq, Eq)]
pub enum Local {
    Files(Vec<String>),
    /// The commits are not in the clone (a shallow checkout): ask the compare API.
    Missing(String),
}

pub fn open(workspace: &Path) -> Result<Repository, String> {
    Repository::open(workspace)
        .map_err(|e| format!("the workspace is not a git repository ({})", e.message()))
}

fn commit_tree<'r>(repo: &'r Repository, rev: &str) -> Option<git2::Tree<'r>> {
    let oid = Oid::from_str(rev)
        .ok()
        .filter(|_| rev.len() >= 40)
        .or_else(|| repo.revparse_single(rev).ok().map(|o| o.id()))
        .or_else(|| {
            repo.revparse_single(&format!("origin/{rev}"))
                .ok()
                .map(|o| o.id())
        })?;
    repo.find_commit(oid).ok()?.tree().ok()
}

/// The changed paths of `basis` from local history.
pub fn local(repo: &Repository, basis: &Basis) -> Local {
    let (base_tree, head_tree) = match basis {
        Basis::None { why } => return Local::Missing(why.clone()),
        Basis::Trees { base, head, .. } => {
            match (
                commit_tree(repo, base.as_str()),
                commit_tree(repo, head.as_str()),
            ) {
                (Some(b), Some(h)) => (b, h),
                _ => return Local::Missing(format!("{} is not in the clone", base.short())),
            }
        }
        Basis::MergeBase { base, head, .. } => {
            let base_oid = commit_tree(repo, base).and(
                repo.revparse_single(base)
                    .or_else(|_| repo.revparse_single(&format!("origin/{base}")))
                    .ok()
                    .map(|o| o.id()),
            );
            let head_oid = Oid::from_str(head.as_str()).ok();
            let merge_base = match (base_oid, head_oid) {
                (Some(b), Some(h)) => repo.merge_base(b, h).ok(),
                _ => None,
            };
            let Some(mb) = merge_base else {
                return Local::Missing(format!(
                    "the merge base of `{base}` and {} is not in the clone",
                    head.short()
                ));
            };
            match (
                repo.find_commit(mb).and_then(|c| c.tree()).ok(),
                commit_tree(repo, head.as_str()),
            ) {
                (Some(b), Some(h)) => (b, h),
                _ => return Local::Missing(format!("{} is not in the clone", head.short())),
            }
        }
    };
    match diff_trees(repo, &base_tree, &head_tree) {
        Ok(files) => Local::Files(files),
        Err(e) => Local::Missing(format!("git could not diff the trees ({})", e.message())),
    }
}

/// Paths that differ between two trees; a rename counts as both its old and new path.
pub fn diff_trees(
    repo: &Repository,
    base: &git2::Tree<'_>,
    head: &git2::Tree<'_>,
) -> Result<Vec<String>, git2::Error> {
    let mut opts = git2::DiffOptions::new();
    opts.include_typechange(true).ignore_submodules(false);
    let diff = repo.diff_tree_to_tree(Some(base), Some(head), Some(&mut opts))?;
    let mut files = Vec::with_capacity(diff.deltas().len());
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path().and_then(Path::to_str) {
                if files.last().map(String::as_str) != Some(path) {
                    files.push(path.to_string());
                }
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}
