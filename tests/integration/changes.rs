//! Change-aware deploys end to end: tasks from changed files, `paths`, the compare API fallback
//! for shallow clones, force pushes, new branches and `since: last-deployment`.

use crate::support::*;
use std::path::Path;

fn astro(h: &mut Harness) {
    h.input("tasks", "deploy:dags: dags/**\ndeploy: **");
    h.input(
        "command",
        "cp \"$ROLLOUT_CHANGED_FILES\" \"$HOME/changed\"; echo \"$ROLLOUT_TASK\" > \"$HOME/task\"",
    );
}

fn base(h: &Harness) -> String {
    h.commit(
        &[
            ("dags/etl.py", "v1\n"),
            ("requirements.txt", "airflow\n"),
            ("src/dags_old/x", "old\n"),
        ],
        "base",
    )
}

fn push(h: &Harness, before: &str, after: &str) {
    h.event(
        "push",
        &push_payload("refs/heads/main", before, after, "change"),
    );
    h.chown_workspace();
}

fn task_for(files: &[(&str, &str)]) -> (Run, String, String) {
    let mut h = Harness::new();
    astro(&mut h);
    let before = base(&h);
    let after = h.commit(files, "change");
    push(&h, &before, &after);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let task = h.state().deployments[0].task.clone();
    let changed = std::fs::read_to_string(h.file("changed")).unwrap_or_default();
    assert_eq!(
        std::fs::read_to_string(h.file("task")).unwrap().trim(),
        task,
        "ROLLOUT_TASK"
    );
    (run, task, changed)
}

#[test]
fn a_dag_only_change_deploys_the_dags() {
    let (run, task, changed) = task_for(&[("dags/etl.py", "v2\n"), ("dags/new/report.py", "1\n")]);
    assert_eq!(task, "deploy:dags");
    assert_eq!(run.outputs["task"], "deploy:dags");
    assert_eq!(changed, "dags/etl.py\ndags/new/report.py\n");
}

#[test]
fn a_dependency_change_deploys_everything() {
    let (_, task, changed) = task_for(&[
        ("dags/etl.py", "v2\n"),
        ("requirements.txt", "airflow==3\n"),
    ]);
    assert_eq!(task, "deploy");
    assert_eq!(changed, "dags/etl.py\nrequirements.txt\n");
}

#[test]
fn globs_respect_path_segments() {
    let (_, task, _) = task_for(&[("src/dags_old/x", "new\n")]);
    assert_eq!(task, "deploy");
}

#[test]
fn nothing_under_paths_skips_without_writing() {
    let mut h = Harness::new();
    h.input("paths", "app/**\n!app/docs/**");
    let before = base(&h);
    let after = h.commit(
        &[("app/docs/readme.md", "x\n"), ("README.md", "y\n")],
        "docs",
    );
    push(&h, &before, &after);
    let run = h.run();
    assert_eq!(run.code, 0);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(
        run.outputs["skip-reason"].contains("none of the 2 changed file(s) matches `paths`"),
        "{:?}",
        run.outputs
    );
    assert!(h.state().writes().is_empty());
    let after2 = h.commit(&[("app/main.rs", "x\n")], "code");
    push(&h, &after, &after2);
    assert_eq!(h.run().outputs["status"], "success");
}

fn run_in(h: &Harness, workspace: &Path) -> Run {
    h.run_with(|c| {
        c.env("GITHUB_WORKSPACE", workspace).current_dir(workspace);
    })
}

#[test]
fn a_shallow_clone_asks_the_compare_api() {
    let mut h = Harness::new();
    astro(&mut h);
    let before = base(&h);
    let after = h.commit(&[("dags/etl.py", "v2\n")], "dag");
    push(&h, &before, &after);
    h.state()
        .compares
        .insert(format!("{before}...{after}"), vec!["dags/etl.py".into()]);
    let ws = h.shallow_clone();
    let run = run_in(&h, &ws);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("is not in the clone; asking the compare API"),
        "{}",
        run.stdout
    );
    assert_eq!(h.state().requests_to("GET", "/compare/"), 1);
    assert_eq!(h.state().deployments[0].task, "deploy:dags");
}

#[test]
fn a_failing_compare_means_a_full_deploy_with_the_reason() {
    let mut h = Harness::new();
    astro(&mut h);
    let before = base(&h);
    let after = h.commit(&[("dags/etl.py", "v2\n")], "dag");
    push(&h, &before, &after);
    let ws = h.shallow_clone();
    let run = run_in(&h, &ws);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(h.state().deployments[0].task, "deploy");
    assert!(
        run.stdout.contains("every file counts as changed"),
        "{}",
        run.stdout
    );
    // GitHub answers 404 for a base it does not have (a force push dropped it), as for no
    // access: both are said, not a missing permission alone.
    assert!(
        run.stdout.contains("the compare API answered 404")
            && run.stdout.contains("GitHub no longer has the base commit")
            && run.stdout.contains("`contents: read`"),
        "{}",
        run.stdout
    );
    // Any other failure is said as it is.
    h.fake.fault(fault("GET", "/compare/", 500, 100));
    let run = h.run_with(|c| {
        c.env("GITHUB_WORKSPACE", &ws)
            .current_dir(&ws)
            .env("ROLLOUT_TEST_TIME_SCALE", "0.01");
    });
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains("the compare API failed"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_compare_cut_at_300_files_means_a_full_deploy() {
    let mut h = Harness::new();
    astro(&mut h);
    let before = base(&h);
    let after = h.commit(&[("dags/etl.py", "v2\n")], "dag");
    push(&h, &before, &after);
    let files = (0..300).map(|i| format!("dags/f{i}.py")).collect();
    h.state()
        .compares
        .insert(format!("{before}...{after}"), files);
    let ws = h.shallow_clone();
    let run = run_in(&h, &ws);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        h.state().deployments[0].task,
        "deploy",
        "a cut list proves nothing"
    );
    assert!(
        run.stdout
            .contains("listed 300 files, its limit, so the list is cut"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_new_branch_compares_with_the_default_branch() {
    let mut h = Harness::new();
    astro(&mut h);
    h.input("environments", "**: staging");
    base(&h);
    git(&h.workspace, &["checkout", "-q", "-b", "feature"]);
    let after = h.commit(&[("dags/new.py", "1\n")], "dag");
    h.event(
        "push",
        &push_payload("refs/heads/feature", ZERO, &after, "dag"),
    );
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("a new branch, compared with the default branch `main`"),
        "{}",
        run.stdout
    );
    assert_eq!(h.state().deployments[0].task, "deploy:dags");
    // Shallow: the compare API, against the default branch.
    h.state()
        .compares
        .insert(format!("main...{after}"), vec!["dags/new.py".into()]);
    let ws = h.shallow_clone();
    let run = run_in(&h, &ws);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(h.state().deployments[1].task, "deploy:dags");
}

#[test]
fn a_force_push_diffs_the_trees_when_before_is_present() {
    let mut h = Harness::new();
    astro(&mut h);
    let root = base(&h);
    // `before` changed requirements.txt; the force push replaced it with a DAG-only commit.
    let before = h.commit(&[("requirements.txt", "airflow==3\n")], "discarded");
    git(&h.workspace, &["reset", "-q", "--hard", &root]);
    let after = h.commit(&[("dags/etl.py", "v2\n")], "dag");
    let mut payload = push_payload("refs/heads/main", &before, &after, "dag");
    payload["forced"] = true.into();
    h.event("push", &payload);
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(h.file("changed")).unwrap(),
        "dags/etl.py\nrequirements.txt\n",
        "the discarded commit's file counts"
    );
    assert_eq!(h.state().deployments[0].task, "deploy");
}

#[test]
fn a_force_push_without_before_is_a_full_deploy() {
    let mut h = Harness::new();
    astro(&mut h);
    base(&h);
    let after = h.commit(&[("dags/etl.py", "v2\n")], "dag");
    let mut payload = push_payload(
        "refs/heads/main",
        "1234567890123456789012345678901234567890",
        &after,
        "dag",
    );
    payload["forced"] = true.into();
    h.event("push", &payload);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("a force push, and 1234567 is not in the clone"),
        "{}",
        run.stdout
    );
    assert_eq!(h.state().deployments[0].task, "deploy");
    assert_eq!(h.state().requests_to("GET", "/compare/"), 0);
}

#[test]
fn since_last_deployment_diffs_from_the_last_success() {
    let mut h = Harness::new();
    astro(&mut h);
    let first = base(&h);
    h.event(
        "push",
        &push_payload("refs/heads/main", ZERO, &first, "base"),
    );
    assert_eq!(h.run().code, 0);
    // A failed deploy in between does not move the base.
    let second = h.commit(&[("requirements.txt", "airflow==3\n")], "deps");
    h.input("command", "exit 1");
    push(&h, &first, &second);
    assert_eq!(h.run().code, 1);
    astro(&mut h);
    let third = h.commit(&[("dags/etl.py", "v2\n")], "dag");
    push(&h, &second, &third);
    h.input("since", "last-deployment");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(
        std::fs::read_to_string(h.file("changed")).unwrap(),
        "dags/etl.py\nrequirements.txt\n"
    );
    assert_eq!(h.state().deployments[2].task, "deploy");
    assert!(
        run.stdout
            .contains("the last successful deployment of production"),
        "{}",
        run.stdout
    );
}

#[test]
fn skip_commit_pattern_skips_tool_commits() {
    let mut h = Harness::new();
    h.input("skip-commit-pattern", r"^\[WM\]");
    let before = base(&h);
    let after = h.commit(&[("f/x.yaml", "1\n")], "[WM] sync from Windmill");
    h.event(
        "push",
        &push_payload(
            "refs/heads/main",
            &before,
            &after,
            "[WM] sync from Windmill",
        ),
    );
    let run = h.run();
    assert_eq!(run.code, 0);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(run.outputs["skip-reason"].contains("skip-commit-pattern"));
    assert!(
        run.outputs["skip-reason"].ends_with("at \"[WM]\""),
        "the skip quotes the text that matched: {}",
        run.outputs["skip-reason"]
    );
    assert!(h.state().writes().is_empty());
}

#[test]
fn rollout_plan_lists_changed_files_and_the_rule() {
    let mut h = Harness::new();
    astro(&mut h);
    let before = base(&h);
    let files: Vec<(String, String)> = (0..60)
        .map(|i| (format!("dags/f{i:02}.py"), "x".to_string()))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let after = h.commit(&refs, "many");
    push(&h, &before, &after);
    let (code, text) = plan(
        &h.file("event.json"),
        "push",
        &[
            "environments=main: production",
            "command=true",
            "tasks=deploy:dags: dags/**\\ndeploy: **",
        ],
        Some(&h.workspace),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("task: deploy:dags (the first line of `tasks` whose globs cover all 60 changed file(s))"), "{text}");
    assert!(text.contains("changes: 60 changed file(s)"), "{text}");
    assert!(text.contains("  dags/f49.py\n"));
    assert!(!text.contains("  dags/f50.py\n"));
    assert!(text.contains("... and 10 more"), "{text}");
    assert!(h.state().requests.is_empty());
}

#[test]
fn a_real_run_never_says_what_rollout_plan_cannot_know() {
    // No `paths` or `tasks`: the changed files only fill ROLLOUT_CHANGED_FILES, and the API is
    // not asked for them; the log says that, not what `rollout plan` would do.
    for since in ["event", "last-deployment"] {
        let mut h = Harness::new();
        h.input("since", since);
        let before = base(&h);
        let after = h.commit(&[("dags/etl.py", "v2\n")], "dag");
        push(&h, &before, &after);
        let ws = h.shallow_clone();
        let run = run_in(&h, &ws);
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert!(
            !run.stdout.contains("rollout plan"),
            "{since}: {}",
            run.stdout
        );
        assert!(
            run.stdout
                .contains("neither `paths` nor `tasks` needs the changed files"),
            "{since}: {}",
            run.stdout
        );
        assert_eq!(h.state().requests_to("GET", "/compare/"), 0);
    }
}

/// A release tag pushed at a commit main already holds: `before` is all zeros, and the default
/// branch has every file of it. `paths: a.txt` and `a.txt` changed since the last release.
fn tag_push(h: &mut Harness) -> (String, String) {
    h.input("environments", "refs/tags/v*: release");
    h.input("paths", "a.txt");
    h.input("command", "true");
    let first = h.commit(&[("a.txt", "1\n")], "first");
    let second = h.commit(&[("a.txt", "2\n"), ("b.txt", "x\n")], "second");
    let mut payload = push_payload("refs/tags/v1.0.0", &"0".repeat(40), &second, "second");
    payload["created"] = serde_json::json!(true);
    h.event("push", &payload);
    h.chown_workspace();
    (first, second)
}

/// Seeds a successful deployment of `environment` at `sha`.
fn deployed(h: &Harness, environment: &str, sha: &str) {
    let mut s = h.state();
    let ids = s.seed(environment, 1, Some("success"), false);
    for d in s.deployments.iter_mut().filter(|d| ids.contains(&d.id)) {
        d.sha = sha.to_string();
        d.git_ref = sha.to_string();
    }
}

#[test]
fn a_new_tag_with_paths_deploys_what_changed_since_the_last_release() {
    // No release yet: everything counts as changed.
    let mut h = Harness::new();
    tag_push(&mut h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "success", "{}", run.stdout);
    assert!(
        run.stdout
            .contains("a new tag, so release has no successful deployment yet"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("a new branch"), "{}", run.stdout);

    // The last release deployed `first`: a.txt changed since.
    let mut h = Harness::new();
    let (first, second) = tag_push(&mut h);
    deployed(&h, "release", &first);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "success", "{}", run.stdout);
    assert_eq!(run.outputs["sha"], second);
    assert!(
        run.stdout.contains(&format!(
            "a new tag, so since {}, the last successful deployment of release",
            &first[..7]
        )),
        "{}",
        run.stdout
    );
    assert_eq!(
        h.state().requests_to("POST", "/graphql"),
        3,
        "one read for the last release, one for supersede, one for the lock"
    );

    // The last release is this very commit: nothing changed, and `paths` skips.
    let mut h = Harness::new();
    let (_, second) = tag_push(&mut h);
    deployed(&h, "release", &second);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "skipped", "{}", run.stdout);
    assert!(
        run.stdout
            .contains("a new tag, so the last successful deployment of release is this commit"),
        "{}",
        run.stdout
    );
}
