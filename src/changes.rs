//! Changed files from the workspace's git history (git2). When the history is not in the clone,
//! [`Basis`] says which commits the compare API must be asked about instead.

use crate::event::{Event, Sha, Trigger};
use git2::{Oid, Repository};
use std::path::Path;

/// What changed in the commit being deployed, as far as rollout could tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Changes {
    /// The exact list of changed paths, and how it was found.
    Files { files: Vec<String>, source: String },
    /// The list is unknown or incomplete: everything counts as changed (a full deploy).
    Everything { reason: String },
}

impl Changes {
    pub fn files(&self) -> &[String] {
        match self {
            Changes::Files { files, .. } => files,
            Changes::Everything { .. } => &[],
        }
    }
    pub fn describe(&self) -> String {
        match self {
            Changes::Files { files, source } => {
                format!("{} changed file(s), {source}", files.len())
            }
            Changes::Everything { reason } => format!("every file counts as changed: {reason}"),
        }
    }
}

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
        // Read from the environment's last successful deployment when the API can be asked.
        Trigger::Push {
            before: None,
            git_ref,
            ..
        } if git_ref.tag_name().is_some() => Basis::None {
            why: "a new tag: its changes are those since the environment's last successful deployment, which only the API knows".into(),
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

/// Paths that differ between two trees; a rename counts as both its old and new path. A walk
/// of both trees that skips every subtree whose id is the same on both sides, so the cost follows
/// the change, not the size of the repository (libgit2's own tree diff reads every subtree).
pub fn diff_trees(
    repo: &Repository,
    base: &git2::Tree<'_>,
    head: &git2::Tree<'_>,
) -> Result<Vec<String>, git2::Error> {
    let mut files = Vec::new();
    walk(repo, Some(base), Some(head), "", &mut files)?;
    files.sort();
    files.dedup();
    Ok(files)
}

fn walk(
    repo: &Repository,
    base: Option<&git2::Tree<'_>>,
    head: Option<&git2::Tree<'_>>,
    prefix: &str,
    out: &mut Vec<String>,
) -> Result<(), git2::Error> {
    let entries = |tree: Option<&git2::Tree<'_>>| -> Vec<(Vec<u8>, Oid, bool)> {
        tree.map(|t| {
            t.iter()
                .map(|e| {
                    (
                        e.name_bytes().to_vec(),
                        e.id(),
                        e.kind() == Some(git2::ObjectType::Tree),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
    };
    let old: std::collections::HashMap<Vec<u8>, (Oid, bool)> = entries(base)
        .into_iter()
        .map(|(n, id, t)| (n, (id, t)))
        .collect();
    let new = entries(head);
    let path = |name: &[u8]| format!("{prefix}{}", String::from_utf8_lossy(name));
    let subtree = |id: Oid| repo.find_tree(id);
    for (name, id, is_tree) in &new {
        match old.get(name) {
            Some((old_id, old_tree)) if old_id == id && old_tree == is_tree => {}
            Some((old_id, true)) if *is_tree => {
                let (b, h) = (subtree(*old_id)?, subtree(*id)?);
                walk(repo, Some(&b), Some(&h), &format!("{}/", path(name)), out)?;
            }
            other => {
                // Added, changed, or changed kind (file <-> folder): both sides' paths count.
                match other {
                    Some((old_id, true)) => walk(
                        repo,
                        Some(&subtree(*old_id)?),
                        None,
                        &format!("{}/", path(name)),
                        out,
                    )?,
                    Some((_, false)) if *is_tree => out.push(path(name)),
                    _ => {}
                }
                if *is_tree {
                    walk(
                        repo,
                        None,
                        Some(&subtree(*id)?),
                        &format!("{}/", path(name)),
                        out,
                    )?;
                } else {
                    out.push(path(name));
                }
            }
        }
    }
    let present: std::collections::HashSet<&[u8]> =
        new.iter().map(|(n, _, _)| n.as_slice()).collect();
    for (name, (id, is_tree)) in &old {
        if present.contains(name.as_slice()) {
            continue;
        }
        if *is_tree {
            walk(
                repo,
                Some(&subtree(*id)?),
                None,
                &format!("{}/", path(name)),
                out,
            )?;
        } else {
            out.push(path(name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &Repository, files: &[(&str, &str)]) -> Oid {
        let dir = repo.workdir().unwrap().to_path_buf();
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            if entry.file_name() != ".git" {
                let p = entry.path();
                if p.is_dir() {
                    std::fs::remove_dir_all(p).unwrap()
                } else {
                    std::fs::remove_file(p).unwrap()
                }
            }
        }
        for (path, content) in files {
            let p = dir.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        let mut index = repo.index().unwrap();
        index.clear().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let parent = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
        let parents: Vec<&git2::Commit> = parent.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &parents)
            .unwrap()
    }

    #[test]
    fn the_tree_walk_agrees_with_git_diff_name_only() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let a = commit(
            &repo,
            &[
                ("same/x", "1"),
                ("mod/y", "1"),
                ("gone/z", "1"),
                ("kind", "file"),
                ("old.txt", "r"),
                ("deep/a/b/c", "1"),
            ],
        );
        let b = commit(
            &repo,
            &[
                ("same/x", "1"),
                ("mod/y", "2"),
                ("new/w", "1"),
                ("kind/inner", "dir"),
                ("renamed.txt", "r"),
                ("deep/a/b/c", "2"),
            ],
        );
        let tree = |id: Oid| repo.find_commit(id).unwrap().tree().unwrap();
        let ours = diff_trees(&repo, &tree(a), &tree(b)).unwrap();
        let git = std::process::Command::new("git")
            .args([
                "-c",
                "safe.directory=*",
                "diff",
                "--name-only",
                "--no-renames",
                &a.to_string(),
                &b.to_string(),
            ])
            .current_dir(dir.path())
            .output()
            .unwrap();
        let mut theirs: Vec<String> = String::from_utf8_lossy(&git.stdout)
            .lines()
            .map(str::to_string)
            .collect();
        theirs.sort();
        assert_eq!(ours, theirs);
        assert!(ours.contains(&"kind".to_string()) && ours.contains(&"kind/inner".to_string()));
        assert!(!ours.iter().any(|p| p.starts_with("same/")));
    }
}
