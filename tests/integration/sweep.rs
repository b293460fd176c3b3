//! `step: sweep` through the binary against the fake: the previews a teardown missed are torn
//! down, everything else is left as it was, and a hundred previews are read in a few requests.

use crate::support::*;
use serde_json::json;

/// A sweep from a nightly schedule, its teardown command recording what it was given.
fn sweeper() -> Harness {
    let mut h = Harness::new();
    h.input("step", "sweep");
    h.input("preview-environment", "pr-{number}");
    let torn = h.file("torn");
    h.input(
        "teardown-command",
        &format!(
            "echo \"$ROLLOUT_ENVIRONMENT $ROLLOUT_PR_NUMBER $ROLLOUT_SHA $ROLLOUT_DEPLOYMENT_ID ${{ROLLOUT_TARGET:-none}} $PWD\" >> {}",
            torn.display()
        ),
    );
    // The pacing of writes (75 a minute) on a short clock; not shorter: the read timeout is
    // scaled too, and a loaded machine would then resend a status whose answer came late.
    h.var("ROLLOUT_TEST_TIME_SCALE", "0.01");
    h.event("schedule", &json!({ "schedule": "0 3 * * *" }));
    h
}

/// `count` deployments of `environment` in `state`, the newest `days` old, and its pull request
/// in `pull` (`None`: the number names none). Returns the ids, oldest first.
fn preview(h: &Harness, environment: &str, count: usize, state: &str, days: f64) -> Vec<u64> {
    let mut s = h.state();
    let ids = s.seed(environment, count, Some(state), true);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    for (n, id) in ids.iter().enumerate() {
        let age = (days * 86_400.0) as i64 + 3600 * (ids.len() - 1 - n) as i64;
        let d = s.deployments.iter_mut().find(|d| d.id == *id).unwrap();
        d.created_at = fake_github::rfc3339(now - age);
        d.sha = format!("{:040x}", id);
    }
    ids
}

fn pull(h: &Harness, number: u64, state: &str) {
    h.state().pull_requests.insert(number, state.to_string());
}

fn torn(h: &Harness) -> Vec<String> {
    std::fs::read_to_string(h.file("torn"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// Every API write but GraphQL reads.
fn writes(h: &Harness) -> Vec<String> {
    h.state()
        .writes()
        .into_iter()
        .filter(|r| r.path != "/graphql")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn graphql_requests(h: &Harness) -> usize {
    h.state().requests_to("POST", "/graphql")
}

#[test]
fn a_closed_pull_requests_preview_is_swept_and_nothing_else_is_touched() {
    let h = sweeper();
    let closed = preview(&h, "pr-1", 3, "inactive", 2.0);
    // Its newest deployment is live: the teardown never ran.
    h.state()
        .deployments
        .iter_mut()
        .find(|d| d.id == closed[2])
        .unwrap()
        .statuses[0]
        .state = "success".into();
    pull(&h, 1, "CLOSED");
    preview(&h, "pr-2", 1, "success", 1.0);
    pull(&h, 2, "OPEN");
    let running = preview(&h, "pr-3", 1, "in_progress", 0.05);
    pull(&h, 3, "CLOSED");
    preview(&h, "pr-4", 2, "inactive", 30.0);
    pull(&h, 4, "MERGED");
    preview(&h, "pr-9", 1, "success", 40.0);
    let production = preview(&h, "production", 2, "success", 90.0);
    preview(&h, "staging-pr-1", 1, "success", 90.0);
    h.state().environments.push("pr-notes".into());

    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["swept"], r#"["pr-1"]"#);
    assert_eq!(run.outputs["status"], "success");
    // Its live deployment, and only it, got `inactive`; then its comment.
    let path = format!("/repos/{OWNER_REPO}/deployments/{}/statuses", closed[2]);
    let w = writes(&h);
    assert_eq!(w[0], format!("POST {path}"), "{w:?}");
    assert!(
        w[1..].iter().all(|w| w.contains("/issues/")),
        "a comment only: {w:?}"
    );
    let s = h.state();
    let swept = s.deployments.iter().find(|d| d.id == closed[2]).unwrap();
    assert_eq!(swept.state(), Some("inactive"));
    assert!(
        swept.statuses[1].description.contains("#1 closed"),
        "{:?}",
        swept.statuses
    );
    assert_eq!(
        s.status_writes(running[0]),
        0,
        "a deploy running is left alone"
    );
    assert!(production.iter().all(|id| s.status_writes(*id) == 0));
    let comment = s
        .comments
        .iter()
        .find(|c| c.issue == 1)
        .expect("pr 1's comment");
    assert!(
        comment.body.contains("closed without a teardown"),
        "{}",
        comment.body
    );
    assert!(s.comments.iter().all(|c| c.issue == 1));
    drop(s);
    // The command got the preview's variables, in the sweep's own workspace.
    let line = torn(&h);
    assert_eq!(
        line,
        [format!(
            "pr-1 1 {:040x} {} none {}",
            closed[2],
            closed[2],
            h.workspace.display()
        )]
    );
    // Each preview listed with why; the one already done is counted, not listed.
    for said in [
        "closed without a teardown",
        "the pull request is open",
        "in progress (for less than a day)",
        "names no pull request",
        "1 more preview(s) had every deployment inactive already",
    ] {
        assert!(run.summary.contains(said), "{said}:\n{}", run.summary);
    }
    assert!(!run.summary.contains("production") && !run.summary.contains("staging-pr-1"));
    no_violations(&h);
}

#[test]
fn an_idle_preview_expires_and_a_recent_one_stays() {
    let mut h = sweeper();
    h.input("preview-expires", "14d");
    let idle = preview(&h, "pr-5", 2, "success", 20.0);
    pull(&h, 5, "OPEN");
    let recent = preview(&h, "pr-6", 1, "success", 3.0);
    pull(&h, 6, "OPEN");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["swept"], r#"["pr-5"]"#);
    let s = h.state();
    assert!(idle.iter().all(|id| s.status_writes(*id) == 1));
    assert_eq!(s.status_writes(recent[0]), 0);
    let comment = s.comments.iter().find(|c| c.issue == 5).expect("a comment");
    assert!(
        comment
            .body
            .contains("expired after 14 days without a deploy; push to bring it back"),
        "{}",
        comment.body
    );
}

#[test]
fn a_failing_teardown_leaves_its_preview_and_the_others_go_on() {
    let mut h = sweeper();
    h.input(
        "teardown-command",
        "test \"$ROLLOUT_ENVIRONMENT\" != pr-1 || exit 3",
    );
    let first = preview(&h, "pr-1", 1, "success", 2.0);
    pull(&h, 1, "CLOSED");
    let second = preview(&h, "pr-2", 1, "success", 2.0);
    pull(&h, 2, "MERGED");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.the_error().contains("pr-1"), "{}", run.the_error());
    assert_eq!(run.outputs["swept"], r#"["pr-2"]"#);
    let s = h.state();
    assert_eq!(s.status_writes(first[0]), 0, "left as it was");
    assert_eq!(s.status_writes(second[0]), 1);
    assert!(s.comments.iter().all(|c| c.issue == 2));
}

#[test]
fn a_status_the_token_may_not_write_is_named_not_called_a_failed_teardown() {
    let h = sweeper();
    h.fake.grant(TOKEN, Grant::NoDeployments);
    let first = preview(&h, "pr-1", 1, "success", 2.0);
    pull(&h, 1, "CLOSED");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let said = run.the_error();
    assert!(said.contains("swept nothing (1 preview(s)"), "{said}");
    assert!(said.contains("not swept: pr-1 ("), "{said}");
    assert!(said.contains("deployments: write"), "{said}");
    assert!(!said.contains("teardown"), "the teardown ran: {said}");
    let s = h.state();
    let d = s.deployments.iter().find(|d| d.id == first[0]).unwrap();
    assert_eq!(d.state(), Some("success"), "the refused status landed");
}

#[test]
fn an_admin_token_deletes_the_environments_another_is_told_once() {
    let mut h = sweeper();
    h.input("delete-environment", "true");
    preview(&h, "pr-1", 1, "success", 2.0);
    pull(&h, 1, "CLOSED");
    preview(&h, "pr-2", 1, "success", 2.0);
    pull(&h, 2, "CLOSED");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["swept"], r#"["pr-1","pr-2"]"#);
    let warnings: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("::warning::") && l.contains("admin rights"))
        .collect();
    assert_eq!(warnings.len(), 1, "one sentence:\n{}", run.stdout);
    assert_eq!(
        h.state().requests_to("DELETE", "/environments/"),
        1,
        "tried once"
    );
    assert!(h.state().deleted_environments.is_empty());

    let mut h = sweeper();
    h.input("delete-environment", "true");
    h.fake.grant(TOKEN, Grant::Admin);
    preview(&h, "pr-1", 1, "success", 2.0);
    pull(&h, 1, "CLOSED");
    preview(&h, "pr-2", 1, "success", 2.0);
    pull(&h, 2, "CLOSED");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(h.state().deleted_environments, ["pr-1", "pr-2"]);
    assert!(run.summary.contains("the environment was deleted"));
    // Deleted, they are no longer listed: the next sweep finds nothing.
    let again = h.run();
    assert_eq!(again.outputs["swept"], "[]");
}

#[test]
fn a_hundred_previews_are_read_in_a_handful_of_requests() {
    let mut h = sweeper();
    h.input("comment", "false");
    for n in 1..=100 {
        preview(&h, &format!("pr-{n}"), 2, "success", 2.0);
        pull(&h, n, if n % 2 == 0 { "CLOSED" } else { "OPEN" });
    }
    for n in 0..30 {
        preview(&h, &format!("service-{n}"), 1, "success", 2.0);
    }
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    // 130 environments: 2 pages; 100 previews: 2 aliased requests of 50.
    assert_eq!(graphql_requests(&h), 4);
    let swept: Vec<String> = serde_json::from_str(&run.outputs["swept"]).unwrap();
    assert_eq!(swept.len(), 50);
    let w = writes(&h);
    assert_eq!(w.len(), 100, "one status per live deployment of the swept");
    assert!(w.iter().all(|w| w.ends_with("/statuses")));
    assert_eq!(
        h.state().requests_to("GET", "/deployments"),
        0,
        "no read per preview"
    );
    no_violations(&h);
}

#[test]
fn a_dry_run_lists_what_it_would_sweep_and_writes_nothing() {
    let mut h = sweeper();
    h.input("dry-run", "true");
    h.input("delete-environment", "true");
    preview(&h, "pr-1", 2, "success", 2.0);
    pull(&h, 1, "CLOSED");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(writes(&h).is_empty(), "{:?}", writes(&h));
    assert!(torn(&h).is_empty(), "no command ran");
    assert_eq!(run.outputs["swept"], "[]");
    let would = "dry run: would run the teardown command, mark 2 deployment(s) inactive, delete the environment and say so on pull request #1";
    assert!(
        run.summary.contains(&would.replace('#', "&#35;")),
        "{}",
        run.summary
    );
    // The log names each preview too, not only how many.
    assert!(
        run.stdout.contains("pr-1 (pull request #1): ") && run.stdout.contains(would),
        "{}",
        run.stdout
    );
}

#[test]
fn a_targets_previews_are_swept_with_their_target() {
    let mut h = sweeper();
    h.input("targets", "api: api/**\nweb: web/**");
    preview(&h, "pr-7-api", 1, "success", 2.0);
    preview(&h, "pr-7-web", 1, "success", 2.0);
    preview(&h, "pr-7-db", 1, "success", 2.0);
    pull(&h, 7, "CLOSED");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["swept"], r#"["pr-7-api","pr-7-web"]"#);
    let lines = torn(&h);
    assert!(
        lines[0].starts_with("pr-7-api 7 ") && lines[0].contains(" api "),
        "{lines:?}"
    );
    assert!(lines[1].contains(" web "), "{lines:?}");
    let s = h.state();
    assert_eq!(s.comments.len(), 1, "one comment for the pull request");
    assert!(
        s.comments[0].body.contains("rollout:preview:pr-7 "),
        "{}",
        s.comments[0].body
    );
}

#[test]
fn a_sweep_refuses_other_events_and_forks_and_needs_its_template() {
    let mut h = sweeper();
    h.event(
        "pull_request_target",
        &pr_payload(
            "opened",
            3,
            &"a".repeat(40),
            "x",
            &"b".repeat(40),
            "fork/app",
            "t",
        ),
    );
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.the_error().contains("fork"), "{}", run.the_error());
    h.event(
        "push",
        &push_payload("refs/heads/main", &"a".repeat(40), &"b".repeat(40), "m"),
    );
    let run = h.run();
    assert_eq!(run.code, 2);
    assert!(run.the_error().contains("schedule"), "{}", run.the_error());
    h.event("schedule", &json!({}));
    h.input("preview-environment", "preview");
    let run = h.run();
    assert_eq!(run.code, 2);
    assert!(run.the_error().contains("{number}"), "{}", run.the_error());
    assert!(
        h.state().requests.is_empty(),
        "nothing asked before the refusal"
    );
}
