//! `verify-checkout` end to end, with real git: a checkout at GitHub's test-merge commit of a pull
//! request is refused before anything is written, in a full clone and in the depth-1 clone that
//! actions/checkout leaves; any other HEAD is a warning; no repository is an info line.

use crate::support::*;
use serde_json::Value;
use std::path::Path;

/// A repository as GitHub's runner sees a pull request: `main` with a base commit, the PR's
/// branch with its head commit, and HEAD at the test-merge commit of the two (parents: base, head).
struct TestMerge {
    h: Harness,
    head: String,
    merge: String,
}

fn test_merge() -> TestMerge {
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}");
    h.input("teardown-command", "echo torn-down >> \"$HOME/teardown\"");
    h.input("command", "touch \"$HOME/ran\"");
    let base = h.commit(&[("README.md", "x\n")], "initial");
    git(&h.workspace, &["checkout", "-q", "-b", "feature/reports"]);
    let head = h.commit(&[("dags/report.py", "print(1)\n")], "add report");
    git(&h.workspace, &["checkout", "-q", "main"]);
    h.commit(&[("main.txt", "moved on\n")], "main moved on");
    git(
        &h.workspace,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge head into base",
            &head,
        ],
    );
    let merge = git(&h.workspace, &["rev-parse", "HEAD"]);
    pr_event(&h, "pull_request", "opened", &head, &base);
    h.chown_workspace();
    TestMerge { h, head, merge }
}

fn pr_event(h: &Harness, name: &str, action: &str, head: &str, base: &str) {
    h.event(
        name,
        &pr_payload(
            action,
            42,
            head,
            "feature/reports",
            base,
            OWNER_REPO,
            "Add reports",
        ),
    );
}

fn run_in(h: &Harness, workspace: &Path, runner_sha: Option<&str>) -> Run {
    h.run_with(|c| {
        c.env("GITHUB_WORKSPACE", workspace).current_dir(workspace);
        if let Some(sha) = runner_sha {
            c.env("GITHUB_SHA", sha);
        }
    })
}

fn assert_refused(t: &TestMerge, run: &Run) {
    assert_eq!(run.code, 2, "{}", run.stdout);
    let error = run.the_error();
    assert!(error.contains(&t.merge), "names HEAD: {error}");
    assert!(error.contains(&t.head), "names the head commit: {error}");
    assert!(
        error.contains("test-merge commit of pull request #42"),
        "{error}"
    );
    assert!(
        error.contains(
            "add `ref: ${{ github.event.pull_request.head.sha }}` to the actions/checkout step"
        ),
        "{error}"
    );
    let s = t.h.state();
    assert!(s.writes().is_empty(), "nothing written: {:?}", s.writes());
    assert!(s.requests.is_empty(), "not even a read");
    assert!(!t.h.file("ran").exists(), "the command never ran");
}

#[test]
fn a_full_clone_at_the_test_merge_commit_is_refused_before_any_write() {
    let t = test_merge();
    // No GITHUB_SHA: the merge's parents alone tell.
    let run = run_in(&t.h, &t.h.workspace, None);
    assert_refused(&t, &run);
}

#[test]
fn a_depth_1_clone_at_the_test_merge_commit_is_refused_from_the_raw_parents() {
    let t = test_merge();
    let ws = t.h.shallow_clone();
    // No GITHUB_SHA either: libgit2 lists no parents here, the raw commit still does.
    let run = run_in(&t.h, &ws, None);
    assert_refused(&t, &run);
}

#[test]
fn a_depth_1_clone_at_github_sha_is_refused_on_pull_request() {
    let t = test_merge();
    let ws = t.h.shallow_clone();
    let run = run_in(&t.h, &ws, Some(&t.merge));
    assert_refused(&t, &run);
}

#[test]
fn on_pull_request_target_the_fix_warns_about_trusting_the_code() {
    let t = test_merge();
    let base = git(&t.h.workspace, &["rev-parse", "HEAD^1"]);
    pr_event(&t.h, "pull_request_target", "opened", &t.head, &base);
    let ws = t.h.shallow_clone();
    let run = run_in(&t.h, &ws, Some(&base));
    assert_refused(&t, &run);
    assert!(
        run.the_error()
            .contains("only if you trust the pull request's code"),
        "{}",
        run.the_error()
    );
}

#[test]
fn step_start_at_the_test_merge_commit_is_refused_too() {
    let mut t = test_merge();
    t.h.input("step", "start");
    let run = run_in(&t.h, &t.h.workspace, Some(&t.merge));
    assert_refused(&t, &run);
}

#[test]
fn a_teardown_is_not_checked() {
    let t = test_merge();
    let base = git(&t.h.workspace, &["rev-parse", "HEAD^1"]);
    pr_event(&t.h, "pull_request", "closed", &t.head, &base);
    let run = run_in(&t.h, &t.h.workspace, Some(&t.merge));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "inactive");
    assert!(t.h.file("teardown").exists(), "the teardown command ran");
    assert!(!run.stdout.contains("checkout"), "{}", run.stdout);
}

#[test]
fn verify_checkout_false_turns_the_check_off() {
    let mut t = test_merge();
    t.h.input("verify-checkout", "false");
    let run = run_in(&t.h, &t.h.workspace, Some(&t.merge));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains("checkout"), "{}", run.stdout);
    assert_eq!(t.h.state().deployments[0].git_ref, t.head);
}

#[test]
fn a_checkout_at_the_head_commit_deploys() {
    let t = test_merge();
    git(&t.h.workspace, &["checkout", "-q", &t.head]);
    let run = run_in(&t.h, &t.h.workspace, Some(&t.merge));
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("checkout: HEAD of"),
        "the check says it passed: {}",
        run.stdout
    );
    assert!(!run.stdout.contains("::warning::"), "{}", run.stdout);
    assert_eq!(t.h.state().deployments[0].git_ref, t.head);
    assert!(t.h.file("ran").exists());
}

#[test]
fn another_head_is_a_warning_naming_both_and_the_deploy_goes_on() {
    let h = Harness::new();
    let base = h.commit(&[("a", "1")], "one");
    let after = h.commit(&[("a", "2")], "two");
    let later = h.commit(&[("a", "3")], "three");
    h.event(
        "push",
        &push_payload("refs/heads/main", &base, &after, "two"),
    );
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let warnings: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::warning::"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stdout);
    assert!(
        warnings[0].contains(&later) && warnings[0].contains(&after),
        "{}",
        warnings[0]
    );
    assert_eq!(h.state().deployments[0].git_ref, after);
}

#[test]
fn no_repository_is_said_at_info_level_and_the_deploy_goes_on() {
    let mut h = Harness::new();
    let base = h.commit(&[("a", "1")], "one");
    let after = h.commit(&[("a", "2")], "two");
    h.event(
        "push",
        &push_payload("refs/heads/main", &base, &after, "two"),
    );
    let plain = h.dir.path().join("not-a-repository");
    std::fs::create_dir_all(&plain).unwrap();
    h.input("working-directory", &plain.display().to_string());
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("no git repository"))
        .unwrap_or_else(|| panic!("no info line: {}", run.stdout));
    assert!(!line.starts_with("::"), "info, not an annotation: {line}");
    assert_eq!(h.state().deployments.len(), 1);
}

#[test]
fn a_pushed_annotated_tag_compares_and_deploys_the_commit() {
    let h = Harness::new();
    let base = h.commit(&[("a", "1")], "one");
    let commit = h.commit(&[("a", "2")], "release");
    git(&h.workspace, &["tag", "-a", "v1.0.0", "-m", "v1.0.0"]);
    let tag_object = git(&h.workspace, &["rev-parse", "v1.0.0"]);
    assert_ne!(tag_object, commit);
    let mut payload = push_payload("refs/tags/v1.0.0", ZERO, &tag_object, "release");
    payload["head_commit"]["id"] = Value::String(commit.clone());
    h.event("push", &payload);
    h.chown_workspace();
    let _ = base;
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(!run.stdout.contains("::warning::"), "{}", run.stdout);
    assert_eq!(h.state().deployments[0].git_ref, commit);
    assert_eq!(run.outputs["sha"], commit);
}
