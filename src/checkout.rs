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

/// What `step: rollback` did to the checkout before deploying an earlier commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detached {
    /// The top of the repository that holds the working directory.
    pub repository: PathBuf,
    /// HEAD before the checkout, to say in the log what was left.
    pub previous_head: String,
    /// The branch HEAD was on before the checkout, if any (`refs/heads/main`).
    pub previous_branch: Option<String>,
    /// Entries given back to the workspace's owner (the container form runs as root).
    pub owner_restored: usize,
}

/// Checks `sha` out, detached, in the repository holding `dir`, before anything is written: a
/// rollback deploys exactly that commit's files. The git command line does it, so that the
/// job's own git (its config, filters and hooks) checks out what a person would; the workspace
/// belongs to another user in the container form, hence `safe.directory`. `Err` is one sentence
/// naming the fix.
pub fn detach(dir: &Path, sha: &Sha) -> Result<Detached, String> {
    check_out(dir, sha, false)
}

/// [`detach`] for an automatic rollback: what the failed deploy changed in tracked files is its
/// own, and is discarded (`--force`); untracked files stay.
pub fn detach_discarding(dir: &Path, sha: &Sha) -> Result<Detached, String> {
    check_out(dir, sha, true)
}

/// `Err` with the sentence naming `fetch-depth: 0` when `sha` is not in the repository holding
/// `dir` (or no repository holds it); reads only.
pub fn has_commit(dir: &Path, sha: &Sha) -> Result<(), String> {
    let top = repository_of(dir)?;
    present(&top, sha)
}

/// Checks out again what [`detach`] left: the branch HEAD was on, else its commit, detached;
/// discarding what the rollback's command changed in tracked files.
pub fn restore(detached: &Detached) -> Result<(), String> {
    let to = match &detached.previous_branch {
        Some(branch) => branch.trim_start_matches("refs/heads/").to_string(),
        None => detached.previous_head.clone(),
    };
    let mut args = vec!["checkout", "--quiet", "--force"];
    if detached.previous_branch.is_none() {
        args.push("--detach");
    }
    args.push(&to);
    git_line(&detached.repository, &args).map_err(|why| {
        format!(
            "git could not check {to} out again at {} ({why})",
            detached.repository.display()
        )
    })?;
    restore_owner(&detached.repository);
    Ok(())
}

fn repository_of(dir: &Path) -> Result<PathBuf, String> {
    let top = git_line(dir, &["rev-parse", "--show-toplevel"]).map_err(|why| {
        format!(
            "no git repository holds {} ({why}): a rollback or a promotion checks out the commit it deploys, so the job needs an actions/checkout step with `fetch-depth: 0` before rollout",
            dir.display()
        )
    })?;
    Ok(PathBuf::from(top))
}

fn present(repository: &Path, sha: &Sha) -> Result<(), String> {
    let object = format!("{}^{{commit}}", sha.as_str());
    if git_line(repository, &["cat-file", "-e", &object]).is_err() {
        return Err(format!(
            "commit {sha} is not in the checkout at {}: deploying an earlier commit (a rollback, a promotion) needs the history, so give the actions/checkout step `fetch-depth: 0` (it fetches one commit by default)",
            repository.display()
        ));
    }
    Ok(())
}

fn check_out(dir: &Path, sha: &Sha, discard: bool) -> Result<Detached, String> {
    let repository = repository_of(dir)?;
    present(&repository, sha)?;
    let changed = git_line(
        &repository,
        &["status", "--porcelain", "--untracked-files=no"],
    )
    .map_err(|why| {
        format!(
            "git could not read the state of {} ({why})",
            repository.display()
        )
    })?;
    if let Some(first) = changed.lines().next().filter(|_| !discard) {
        return Err(format!(
            "the checkout at {} has changes to {} tracked file(s) (first: `{}`): rollout deploys exactly commit {} here (a rollback, a promotion), so run it in a job whose steps before rollout change no tracked file",
            repository.display(),
            changed.lines().count(),
            first.get(3..).unwrap_or(first),
            sha.short()
        ));
    }
    if discard && !changed.is_empty() {
        tracing::info!(
            "discarding the changes to {} tracked file(s) in {} (the failed deploy's, and any an earlier step of the job made)",
            changed.lines().count(),
            repository.display()
        );
    }
    let previous_head = git_line(&repository, &["rev-parse", "HEAD"]).unwrap_or_default();
    let previous_branch = git_line(&repository, &["symbolic-ref", "-q", "HEAD"])
        .ok()
        .filter(|b| !b.is_empty());
    git_checkout_detach(&repository, sha, discard)?;
    let owner_restored = restore_owner(&repository);
    Ok(Detached {
        repository,
        previous_head,
        previous_branch,
        owner_restored,
    })
}

/// `git checkout --detach sha`; an untracked file in the way is named with the fix, since git's
/// own last line ("Aborting") says nothing.
/// `discard`: the files a failed deploy changed are its own, and `--force` drops them.
fn git_checkout_detach(repository: &Path, sha: &Sha, discard: bool) -> Result<(), String> {
    let force: &[&str] = if discard { &["--force"] } else { &[] };
    let out = std::process::Command::new("git")
        .args(["-c", "safe.directory=*", "-C"])
        .arg(repository)
        .args(["checkout", "--quiet"])
        .args(force)
        .args(["--detach", sha.as_str()])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("git could not be started: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let in_the_way = untracked_in_the_way(&stderr);
    if let Some(first) = in_the_way.first() {
        return Err(format!(
            "git could not check out {sha} at {}: {} untracked file(s) of the job's own would be overwritten by the commit's (first: `{first}`); remove them in a step before rollout (`git clean -fd`, or `rm {first}`), or run it in a job that does not make them",
            repository.display(),
            in_the_way.len()
        ));
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    Err(format!(
        "git could not check out {sha} at {} ({last})",
        repository.display()
    ))
}

/// The files git lists after "untracked working tree files would be overwritten by checkout".
fn untracked_in_the_way(stderr: &str) -> Vec<String> {
    let mut lines = stderr.lines();
    if !lines.any(|l| l.contains("untracked working tree files would be overwritten")) {
        return Vec::new();
    }
    lines
        .take_while(|l| l.starts_with('\t') || l.starts_with("    "))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// Runs git in `dir`; its stdout without the trailing newline (a porcelain line starts with a
/// space that matters), or the last line it wrote to stderr.
fn git_line(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = std::process::Command::new("git")
        .args(["-c", "safe.directory=*", "-C"])
        .arg(dir)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("git could not be started: {e}"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).trim_end().to_string());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_string())
        .unwrap_or_else(|| format!("git {} failed: {}", args.join(" "), out.status)))
}

/// As root (the container form), files the checkout wrote belong to root, and a self-hosted
/// runner's next checkout cannot clean them (actions/runner#434): every entry under `top` that
/// is not owned by `top`'s owner gets that owner back. Symbolic links are changed themselves,
/// never followed. Returns how many entries changed hands.
fn restore_owner(top: &Path) -> usize {
    use std::os::unix::fs::MetadataExt;
    if !nix::unistd::geteuid().is_root() {
        return 0;
    }
    let Ok(meta) = std::fs::symlink_metadata(top) else {
        return 0;
    };
    let (uid, gid) = (meta.uid(), meta.gid());
    if uid == 0 {
        return 0;
    }
    let mut restored = 0;
    let mut pending = vec![top.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                pending.push(path.clone());
            }
            if meta.uid() != uid || meta.gid() != gid {
                match std::os::unix::fs::lchown(&path, Some(uid), Some(gid)) {
                    Ok(()) => restored += 1,
                    Err(e) => {
                        tracing::debug!("could not give {} back to its owner: {e}", path.display())
                    }
                }
            }
        }
    }
    restored
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

    /// A repository with two commits: `one` (a.txt = 1, gone.txt) and `two` (a.txt = 2).
    fn two_commits(dir: &Path) -> (String, String) {
        std::fs::create_dir_all(dir).unwrap();
        git(dir, &["init", "-q"]);
        std::fs::write(dir.join("a.txt"), "1").unwrap();
        std::fs::write(dir.join("gone.txt"), "x").unwrap();
        git(dir, &["add", "."]);
        git(dir, &["commit", "-q", "-m", "one"]);
        let one = git(dir, &["rev-parse", "HEAD"]);
        std::fs::write(dir.join("a.txt"), "2").unwrap();
        git(dir, &["rm", "-q", "gone.txt"]);
        git(dir, &["commit", "-q", "-am", "two"]);
        (one, git(dir, &["rev-parse", "HEAD"]))
    }

    #[test]
    fn an_untracked_file_in_the_way_of_the_checkout_is_named_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        let git = |args: &[&str]| {
            let ok = std::process::Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@e", "-C"])
                .arg(repo)
                .args(args)
                .output()
                .unwrap();
            assert!(ok.status.success(), "{:?}", ok);
            String::from_utf8_lossy(&ok.stdout).trim().to_string()
        };
        git(&["init", "-q"]);
        std::fs::write(repo.join("a"), "1").unwrap();
        git(&["add", "a"]);
        git(&["commit", "-qm", "one"]);
        std::fs::write(repo.join("config.env"), "old").unwrap();
        git(&["add", "config.env"]);
        git(&["commit", "-qm", "two"]);
        let two = git(&["rev-parse", "HEAD"]);
        git(&["rm", "-q", "config.env"]);
        git(&["commit", "-qm", "three"]);
        std::fs::write(repo.join("config.env"), "made by the job").unwrap();
        let e = detach(repo, &Sha::parse(&two).unwrap()).unwrap_err();
        assert!(
            e.contains("untracked file(s)")
                && e.contains("`config.env`")
                && e.contains("git clean"),
            "{e}"
        );
    }

    #[test]
    fn detach_checks_the_earlier_commit_out_from_a_subfolder_and_leaves_untracked_files() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let (one, two) = two_commits(&repo);
        std::fs::create_dir_all(repo.join("sub")).unwrap();
        std::fs::write(repo.join("build.log"), "untracked").unwrap();
        let done = detach(&repo.join("sub"), &Sha::parse(&one).unwrap()).unwrap();
        assert_eq!(done.previous_head, two);
        assert_eq!(git(&repo, &["rev-parse", "HEAD"]), one);
        // Detached: no branch moved.
        assert_eq!(git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]), "HEAD");
        assert_eq!(std::fs::read_to_string(repo.join("a.txt")).unwrap(), "1");
        assert!(repo.join("gone.txt").exists());
        assert!(repo.join("build.log").exists());
    }

    #[test]
    fn a_commit_missing_from_a_shallow_clone_names_fetch_depth() {
        let dir = tempfile::tempdir().unwrap();
        let (one, _) = two_commits(&dir.path().join("src"));
        let url = format!("file://{}", dir.path().join("src").display());
        git(
            dir.path(),
            &["clone", "-q", "--depth", "1", &url, "shallow"],
        );
        let err = detach(&dir.path().join("shallow"), &Sha::parse(&one).unwrap()).unwrap_err();
        assert!(
            err.contains(&one) && err.contains("`fetch-depth: 0`"),
            "{err}"
        );
    }

    #[test]
    fn changed_tracked_files_refuse_the_checkout_and_leave_them_alone() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let (one, two) = two_commits(&repo);
        std::fs::write(repo.join("a.txt"), "edited").unwrap();
        let err = detach(&repo, &Sha::parse(&one).unwrap()).unwrap_err();
        assert!(
            err.contains("changes to 1 tracked file(s)") && err.contains("`a.txt`"),
            "{err}"
        );
        assert_eq!(git(&repo, &["rev-parse", "HEAD"]), two);
        assert_eq!(
            std::fs::read_to_string(repo.join("a.txt")).unwrap(),
            "edited"
        );
    }

    #[test]
    fn an_automatic_rollback_discards_tracked_changes_and_restore_puts_the_branch_back() {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let (one, two) = two_commits(&repo);
        let branch = git(&repo, &["symbolic-ref", "HEAD"]);
        std::fs::write(repo.join("a.txt"), "edited by the failed deploy").unwrap();
        std::fs::write(repo.join("build.log"), "untracked").unwrap();
        let sha = Sha::parse(&one).unwrap();
        assert!(has_commit(&repo, &sha).is_ok());
        let done = detach_discarding(&repo, &sha).unwrap();
        assert_eq!(git(&repo, &["rev-parse", "HEAD"]), one);
        assert_eq!(std::fs::read_to_string(repo.join("a.txt")).unwrap(), "1");
        assert!(repo.join("build.log").exists(), "untracked files stay");
        assert_eq!(done.previous_branch.as_deref(), Some(branch.as_str()));
        // The rollback's command edits a tracked file too: restore discards it.
        std::fs::write(repo.join("a.txt"), "edited by the rollback").unwrap();
        restore(&done).unwrap();
        assert_eq!(git(&repo, &["rev-parse", "HEAD"]), two);
        assert_eq!(git(&repo, &["symbolic-ref", "HEAD"]), branch);
        assert_eq!(std::fs::read_to_string(repo.join("a.txt")).unwrap(), "2");
        // Detached before: detached after, at the same commit.
        git(&repo, &["checkout", "-q", "--detach", &two]);
        let done = detach_discarding(&repo, &sha).unwrap();
        assert_eq!(done.previous_branch, None);
        restore(&done).unwrap();
        assert_eq!(git(&repo, &["rev-parse", "HEAD"]), two);
        assert_eq!(git(&repo, &["rev-parse", "--abbrev-ref", "HEAD"]), "HEAD");
        let missing = Sha::parse(&"e".repeat(40)).unwrap();
        assert!(has_commit(&repo, &missing)
            .unwrap_err()
            .contains("`fetch-depth: 0`"));
    }

    #[test]
    fn no_repository_names_the_checkout_step() {
        let dir = tempfile::tempdir().unwrap();
        let err = detach(dir.path(), &Sha::parse(A).unwrap()).unwrap_err();
        assert!(
            err.contains("actions/checkout") && err.contains("fetch-depth: 0"),
            "{err}"
        );
    }

    /// The container form: rollout runs as root in a workspace owned by the runner's user.
    #[test]
    fn as_root_the_checkouts_files_go_back_to_the_workspaces_owner() {
        use std::os::unix::fs::MetadataExt;
        if !nix::unistd::geteuid().is_root() {
            eprintln!("not root: the ownership case needs root, as in the container form");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        let (one, _) = two_commits(&repo);
        let runner = 1001;
        for entry in walk(&repo) {
            std::os::unix::fs::lchown(&entry, Some(runner), Some(runner)).unwrap();
        }
        let done = detach(&repo, &Sha::parse(&one).unwrap()).unwrap();
        assert!(
            done.owner_restored > 0,
            "the checkout as root wrote nothing?"
        );
        let foreign: Vec<_> = walk(&repo)
            .into_iter()
            .filter(|p| std::fs::symlink_metadata(p).unwrap().uid() != runner)
            .collect();
        assert!(foreign.is_empty(), "still root's: {foreign:?}");
        // The restored files are the commit's: gone.txt came back with the checkout.
        assert_eq!(
            std::fs::symlink_metadata(repo.join("gone.txt"))
                .unwrap()
                .uid(),
            runner
        );
    }

    fn walk(top: &Path) -> Vec<PathBuf> {
        let mut out = vec![top.to_path_buf()];
        let mut i = 0;
        while i < out.len() {
            if out[i].is_dir() && !out[i].is_symlink() {
                let children: Vec<_> = std::fs::read_dir(&out[i])
                    .unwrap()
                    .map(|e| e.unwrap().path())
                    .collect();
                out.extend(children);
            }
            i += 1;
        }
        out
    }
}
