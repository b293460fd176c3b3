//! Two round trips on a deploy's critical path (the create before the command, the final status
//! after it), with every guarantee kept: checked as orderings against the fake with a latency
//! per request, never as durations (benches/round_trips.py measures those).

use crate::support::*;

const LATENCY_MS: u64 = 1_000;

fn millis_now_command(file: &str) -> String {
    format!("date +%s%3N >> \"$GITHUB_WORKSPACE/../{file}\"")
}

fn stamps(h: &Harness, file: &str) -> Vec<u128> {
    std::fs::read_to_string(h.dir.path().join(file))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// When the fake applied the request (half its latency after it arrived) and so when its answer
/// left (half a latency later).
fn answered_at(r: &fake_github::Request) -> u128 {
    r.at_ms + u128::from(LATENCY_MS / 2)
}

#[test]
fn the_command_starts_before_the_in_progress_status_is_answered() {
    let mut h = Harness::new();
    h.input("command", &millis_now_command("started"));
    pushed(&h);
    h.state().latency_ms = LATENCY_MS;
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let started = stamps(&h, "started")[0];
    let s = h.state();
    let in_progress = s
        .requests
        .iter()
        .find(|r| {
            r.path.ends_with("/statuses")
                && r.body.as_ref().is_some_and(|b| b["state"] == "in_progress")
        })
        .expect("an in-progress status");
    assert!(
        started < answered_at(in_progress),
        "the command started at {started}, after the in-progress answer at {}",
        answered_at(in_progress)
    );
    // Statuses stay in order: the final one waited for the in-progress one.
    let states: Vec<&str> = s.deployments[0]
        .statuses
        .iter()
        .map(|st| st.state.as_str())
        .collect();
    assert_eq!(states, ["in_progress", "success"]);
}

#[test]
fn a_refused_create_runs_no_command() {
    let mut h = Harness::new();
    h.input("command", &millis_now_command("started"));
    pushed(&h);
    h.fake.fault(fault("POST", "/deployments", 422, 1));
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(stamps(&h, "started").is_empty(), "the command did not run");
}

#[test]
fn the_sticky_comment_is_looked_up_while_the_command_runs_and_written_after_the_final_status() {
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}").input(
        "command",
        &format!("sleep 2; {}", millis_now_command("ended")),
    );
    let base = h.commit(&[("README.md", "x\n")], "initial");
    let head = h.commit(&[("app/a.txt", "1\n")], "feature");
    h.event(
        "pull_request",
        &pr_payload("opened", 7, &head, "feature", &base, OWNER_REPO, "Feature"),
    );
    h.chown_workspace();
    h.state().latency_ms = LATENCY_MS;
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let ended = stamps(&h, "ended")[0];
    let s = h.state();
    let listed = s
        .requests
        .iter()
        .find(|r| r.method == "GET" && r.path.contains("/comments"))
        .expect("the comments were looked up");
    assert!(
        answered_at(listed) < ended,
        "the lookup answered at {}, after the command ended at {ended}",
        answered_at(listed)
    );
    let final_status = s
        .requests
        .iter()
        .find(|r| {
            r.path.ends_with("/statuses")
                && r.body.as_ref().is_some_and(|b| b["state"] == "success")
        })
        .expect("a final status");
    let written = s
        .requests
        .iter()
        .find(|r| r.method == "POST" && r.path.contains("/comments"))
        .expect("the comment was written");
    assert!(
        written.at_ms >= answered_at(final_status),
        "the comment never says more than the deployment shows"
    );
    assert_eq!(s.comments.len(), 1);
}
