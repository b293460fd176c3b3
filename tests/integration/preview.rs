//! End to end: pull request previews, one environment per PR, a sticky comment, teardown on close.

use crate::support::*;

struct Pr {
    h: Harness,
    base: String,
    head: String,
}

fn pr() -> Pr {
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}");
    h.input(
        "environment-url",
        "https://{environment}.preview.example.com",
    );
    // A script shared with the deploy writes its phases on the way down too.
    h.input(
        "teardown-command",
        "set -e; echo 'Deleting the database' >> \"$ROLLOUT_PHASE_FILE\"; echo torn-down-$ROLLOUT_PR_NUMBER >> \"$HOME/teardown\"",
    );
    let base = h.commit(&[("README.md", "x\n")], "initial");
    git(&h.workspace, &["checkout", "-q", "-b", "feature/reports"]);
    let head = h.commit(&[("dags/report.py", "print(1)\n")], "add report");
    h.chown_workspace();
    Pr { h, base, head }
}

impl Pr {
    fn event(&self, action: &str, number: u64, head: &str, from: &str) {
        let name = "pull_request";
        self.h.event(
            name,
            &pr_payload(
                action,
                number,
                head,
                "feature/reports",
                &self.base,
                from,
                "Add reports",
            ),
        );
    }
}

#[test]
fn opened_deploys_the_head_commit_to_a_transient_preview_with_a_comment() {
    let p = pr();
    p.event("opened", 42, &p.head, OWNER_REPO);
    let run = p.h.run_with(|c| {
        c.env("GITHUB_SHA", "1111111111111111111111111111111111111111")
            .env("GITHUB_REF", "refs/pull/42/merge");
    });
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = p.h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let d = &s.deployments[0];
    assert_eq!(d.git_ref, p.head, "the head sha, never the merge commit");
    assert_eq!(d.environment, "pr-42");
    assert!(d.transient_environment);
    assert!(!d.production_environment);
    assert_eq!(fake_github::payload_map(d)["pr"], 42);
    assert_eq!(d.state(), Some("success"));
    assert_eq!(s.comments.len(), 1);
    let c = &s.comments[0];
    assert_eq!(c.issue, 42);
    assert!(
        c.body.starts_with("<!-- rollout:preview:pr-42 -->"),
        "{}",
        c.body
    );
    assert!(c.body.contains(&p.head));
    assert!(c.body.contains("https://pr-42.preview.example.com"));
    assert!(c.body.contains("actions/runs/1658821493/attempts/2"));
    assert_eq!(run.outputs["environment"], "pr-42");
}

#[test]
fn synchronize_deploys_again_and_updates_the_same_comment() {
    let p = pr();
    p.event("opened", 42, &p.head, OWNER_REPO);
    assert_eq!(p.h.run().code, 0);
    let head2 = p.h.commit(&[("dags/report.py", "print(2)\n")], "second");
    p.event("synchronize", 42, &head2, OWNER_REPO);
    let run = p.h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = p.h.state();
    assert_eq!(s.deployments.len(), 2);
    assert_eq!(s.deployments[1].git_ref, head2);
    assert_eq!(s.comments.len(), 1, "one sticky comment");
    assert!(
        s.comments[0].body.contains(&head2),
        "{}",
        s.comments[0].body
    );
    assert_eq!(s.requests_to("PATCH", "/issues/comments/"), 1);
}

fn close(merged: bool) {
    let p = pr();
    p.event("opened", 42, &p.head, OWNER_REPO);
    assert_eq!(p.h.run().code, 0);
    let head2 = p.h.commit(&[("dags/report.py", "print(2)\n")], "second");
    p.event("synchronize", 42, &head2, OWNER_REPO);
    assert_eq!(p.h.run().code, 0);
    // The head branch is deleted on merge; nothing may depend on it.
    git(&p.h.workspace, &["checkout", "-q", "--detach"]);
    git(&p.h.workspace, &["branch", "-q", "-D", "feature/reports"]);
    let mut payload = pr_payload(
        "closed",
        42,
        &head2,
        "feature/reports",
        &p.base,
        OWNER_REPO,
        "Add reports",
    );
    payload["pull_request"]["merged"] = merged.into();
    p.h.event("pull_request", &payload);
    let run = p.h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "inactive");
    assert_eq!(
        std::fs::read_to_string(p.h.file("teardown")).unwrap(),
        "torn-down-42\n"
    );
    let s = p.h.state();
    assert_eq!(s.deployments.len(), 2, "no deployment on close");
    assert!(s.deployments.iter().all(|d| d.state() == Some("inactive")));
    assert_eq!(s.comments.len(), 1);
    assert!(
        s.comments[0]
            .body
            .contains("removed: the pull request is closed"),
        "{}",
        s.comments[0].body
    );
    assert!(
        !s.requests.iter().any(|r| r.path.contains("feature")),
        "the head branch was looked up"
    );
}

#[test]
fn closing_a_merged_pr_tears_the_preview_down() {
    close(true);
}

#[test]
fn closing_an_unmerged_pr_tears_the_preview_down() {
    close(false);
}

#[test]
fn a_fork_pr_with_a_read_only_token_skips_without_writing() {
    let p = pr();
    p.h.fake.grant(TOKEN, Grant::ReadOnly);
    p.event("opened", 42, &p.head, "someone/app");
    let run = p.h.run();
    assert_eq!(run.code, 0);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(
        run.outputs["skip-reason"].contains("comes from a fork"),
        "{:?}",
        run.outputs
    );
    assert!(p.h.state().writes().is_empty());
}

#[test]
fn fail_on_read_only_turns_the_fork_skip_into_a_failure() {
    let mut p = pr();
    p.h.input("fail-on-read-only", "true");
    p.event("opened", 42, &p.head, "someone/app");
    let run = p.h.run();
    assert_eq!(run.code, 1);
    assert!(p.h.state().writes().is_empty());
}

#[test]
fn a_same_repository_pr_without_deployments_write_fails_naming_the_permission() {
    let p = pr();
    p.h.fake.grant(TOKEN, Grant::NoDeployments);
    p.event("opened", 42, &p.head, OWNER_REPO);
    let run = p.h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::error::"))
        .unwrap();
    assert!(error.contains("`deployments: write`"), "{error}");
    assert!(
        error.contains("Resource not accessible by integration"),
        "{error}"
    );
}

#[test]
fn pull_request_target_from_a_fork_is_refused() {
    let p = pr();
    p.h.event(
        "pull_request_target",
        &pr_payload("opened", 42, &p.head, "main", &p.base, "evil/app", "x"),
    );
    let run = p.h.run();
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains("::warning::skipped: pull request #42 comes from a fork"),
        "{}",
        run.stdout
    );
    assert!(p.h.state().requests.is_empty());
}

#[test]
fn unhandled_actions_skip() {
    let p = pr();
    p.event("labeled", 42, &p.head, OWNER_REPO);
    let run = p.h.run();
    assert_eq!(run.code, 0);
    assert!(run.outputs["skip-reason"].contains("`labeled`"));
    assert!(p.h.state().requests.is_empty());
}

#[test]
fn two_prs_side_by_side_do_not_deactivate_each_other() {
    let p = pr();
    p.event("opened", 1, &p.head, OWNER_REPO);
    assert_eq!(p.h.run().code, 0);
    let head2 = p.h.commit(&[("b", "2")], "other");
    p.event("opened", 2, &head2, OWNER_REPO);
    assert_eq!(p.h.run().code, 0);
    let s = p.h.state();
    assert_eq!(s.deployments_of("pr-1")[0].state(), Some("success"));
    assert_eq!(s.deployments_of("pr-2")[0].state(), Some("success"));
    assert_eq!(s.comments.len(), 2);
}

#[test]
fn delete_environment_without_admin_rights_warns_and_still_tears_down() {
    let mut p = pr();
    p.h.input("delete-environment", "true");
    p.event("opened", 42, &p.head, OWNER_REPO);
    assert_eq!(p.h.run().code, 0);
    p.event("closed", 42, &p.head, OWNER_REPO);
    let run = p.h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("::warning::the environment pr-42 was not deleted: deleting an environment needs a token with admin rights"), "{}", run.stdout);
    let s = p.h.state();
    assert!(s.deleted_environments.is_empty());
    assert_eq!(s.deployments[0].state(), Some("inactive"));
}

#[test]
fn delete_environment_with_an_admin_token_deletes_it() {
    let mut p = pr();
    p.h.fake.grant(TOKEN, Grant::Admin);
    p.h.input("delete-environment", "true");
    p.event("closed", 42, &p.head, OWNER_REPO);
    let run = p.h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(p.h.state().deleted_environments, vec!["pr-42".to_string()]);
}

#[test]
fn without_pull_requests_write_the_comment_warns_and_the_deploy_counts() {
    let p = pr();
    p.h.fake.grant(TOKEN, Grant::NoComments);
    p.event("opened", 42, &p.head, OWNER_REPO);
    let run = p.h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("::warning::Updating the pull request comment failed"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("`pull-requests: write`"));
    assert_eq!(p.h.state().deployments[0].state(), Some("success"));
}

#[test]
fn rollout_plan_explains_pull_request_events() {
    let p = pr();
    p.event("opened", 42, &p.head, OWNER_REPO);
    let (code, text) = plan(
        &p.h.file("event.json"),
        "pull_request",
        &["preview-environment=pr-{number}", "command=true"],
        Some(&p.h.workspace),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("deploy: PR #42 to pr-42"), "{text}");
    assert!(text.contains(&format!("commit: {}", p.head)));
    assert!(
        text.contains("dags/report.py"),
        "changed files from local git: {text}"
    );
    p.event("closed", 42, &p.head, OWNER_REPO);
    let (_, text) = plan(
        &p.h.file("event.json"),
        "pull_request",
        &["preview-environment=pr-{number}", "command=true"],
        None,
    );
    assert!(text.contains("teardown: environment pr-42 of PR #42"));
}
