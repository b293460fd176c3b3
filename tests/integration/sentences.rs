//! Sentences and small wrongs (issue 36), each through the binary against the fake.

use crate::support::*;

/// A dispatch running `step`, with `GITHUB_SHA` a commit the fake knows.
fn lock_step(step: &str) -> Harness {
    let mut h = Harness::new();
    let head = h.state().seed_commit("the head commit");
    h.var("GITHUB_SHA", &head);
    h.input("step", step);
    h.input("environment", "production");
    h.input("reason", "incident 7");
    h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    h
}

fn post_says_nothing_to_finish(h: &Harness, what: &str) {
    let main = h.run();
    assert!(main.code == 0, "{what}: {}", main.stdout);
    let requests = h.state().requests.len();
    let post = h.post(&main.state);
    assert_eq!(post.code, 0, "{what}: {}", post.stdout);
    assert!(
        post.stdout
            .contains("created no deployment; nothing to finish"),
        "{what}: {}",
        post.stdout
    );
    assert!(!post.stdout.contains("either it sent no create"), "{what}");
    assert_eq!(
        h.state().requests.len(),
        requests,
        "{what}: the post step made a request"
    );
}

#[test]
fn the_post_step_after_a_run_that_created_nothing_says_nothing_to_finish() {
    post_says_nothing_to_finish(&lock_step("lock"), "lock");
    post_says_nothing_to_finish(&lock_step("unlock"), "unlock");
    let mut h = Harness::new();
    pushed(&h);
    h.input("dry-run", "true");
    post_says_nothing_to_finish(&h, "dry run");
    let mut h = Harness::new();
    pushed(&h);
    h.input("environments", "release/*: staging");
    post_says_nothing_to_finish(&h, "skip");
    // A teardown of a closed pull request's preview.
    let mut h = Harness::new();
    let base = h.commit(&[("README.md", "hello\n")], "initial");
    let sha = h.commit(&[("app/x", "1")], "feat");
    h.input("preview-environment", "pr-{number}");
    h.input("teardown-command", "true");
    h.event(
        "pull_request",
        &pr_payload("closed", 3, &sha, "feat", &base, OWNER_REPO, "Feat"),
    );
    h.chown_workspace();
    post_says_nothing_to_finish(&h, "teardown");
    // `step: finish` finishes what `step: start` created; its own post has nothing to do.
    let mut h = Harness::new();
    pushed(&h);
    h.input("step", "start");
    let started = h.run();
    assert_eq!(started.code, 0, "{}", started.stdout);
    h.input("step", "finish");
    h.input("status", "success");
    h.input("deployment-id", &started.outputs["deployment-id"]);
    post_says_nothing_to_finish(&h, "finish");
}

#[test]
fn a_refused_push_deploy_names_the_permissions_of_a_push() {
    let h = Harness::new();
    pushed(&h);
    h.fake.grant(TOKEN, Grant::NoDeployments);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(error.contains("actions: read"), "the post step's: {error}");
    assert!(
        !error.contains("pull-requests"),
        "a push writes no comment: {error}"
    );
    // A preview writes its comment: there `pull-requests: write` belongs.
    let mut h = Harness::new();
    let base = h.commit(&[("README.md", "hello\n")], "initial");
    let sha = h.commit(&[("app/x", "1")], "feat");
    h.input("preview-environment", "pr-{number}");
    h.event(
        "pull_request",
        &pr_payload("opened", 3, &sha, "feat", &base, OWNER_REPO, "Feat"),
    );
    h.chown_workspace();
    h.fake.grant(TOKEN, Grant::NoDeployments);
    let run = h.run();
    assert!(
        run.stdout.contains("pull-requests: write"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_lock_on_a_commit_github_does_not_know_says_so() {
    let mut h = lock_step("lock");
    h.var("GITHUB_SHA", &"b".repeat(40));
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(
        error.contains("GitHub does not know the run's commit") && error.contains(&"b".repeat(40)),
        "{error}"
    );
    assert!(!error.contains("contents: write"), "{error}");
    assert!(h.state().git_refs.is_empty());
}

#[test]
fn every_output_is_written_once() {
    let h = Harness::new();
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let text = std::fs::read_to_string(h.dir.path().join("output")).unwrap();
    for name in ["status", "deployment-id", "environment", "sha"] {
        assert_eq!(
            text.matches(&format!("{name}<<")).count(),
            1,
            "{name} in:\n{text}"
        );
    }
}

#[test]
fn deactivate_without_an_id_leaves_inactive_deployments_alone() {
    let mut h = Harness::new();
    pushed(&h);
    assert_eq!(h.run().code, 0);
    h.input("supersede", "false");
    assert_eq!(h.run().code, 0);
    h.input("step", "deactivate");
    let first = h.run();
    assert_eq!(first.code, 0, "{}", first.stdout);
    let inactive = |h: &Harness| -> usize {
        h.state()
            .deployments
            .iter()
            .flat_map(|d| d.statuses.iter())
            .filter(|s| s.state == "inactive")
            .count()
    };
    let after_first = inactive(&h);
    assert_eq!(after_first, 2, "both marked");
    let second = h.run();
    assert_eq!(second.code, 0, "{}", second.stdout);
    assert_eq!(inactive(&h), after_first, "none marked twice");
    assert!(
        second
            .stdout
            .contains("0 deployment(s) marked inactive; 2 already were"),
        "{}",
        second.stdout
    );
}

#[test]
fn rollout_plan_shows_durations_as_written_and_what_a_preview_writes() {
    let h = Harness::new();
    let event = h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    let (code, text) = plan(
        &event,
        "workflow_dispatch",
        &[
            "step=lock",
            "environment=production",
            "reason=incident",
            "lock-expires=4h",
        ],
        None,
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("ending by itself after 4h"), "{text}");
    // An unlock needs no commit: no GITHUB_SHA, no "what to deploy".
    let (code, text) = plan(
        &event,
        "workflow_dispatch",
        &["step=unlock", "environment=production"],
        None,
    );
    assert_eq!(code, 0, "{text}");
    assert!(!text.contains("what to deploy"), "{text}");
    assert!(text.starts_with("unlock:"), "{text}");
    let base = h.commit(&[("README.md", "hello\n")], "initial");
    let sha = h.commit(&[("app/x", "1")], "feat");
    for (action, needle) in [
        (
            "opened",
            "sticky comment on pull request #3 would be created or updated",
        ),
        ("closed", "teardown-command would run first: ./down.sh"),
    ] {
        let event = h.event(
            "pull_request",
            &pr_payload(action, 3, &sha, "feat", &base, OWNER_REPO, "Feat"),
        );
        let (code, text) = plan(
            &event,
            "pull_request",
            &[
                "preview-environment=pr-{number}",
                "command=./up.sh",
                "teardown-command=./down.sh",
            ],
            Some(&h.workspace),
        );
        assert_eq!(code, 0, "{text}");
        assert!(text.contains(needle), "{action}: {text}");
    }
}
