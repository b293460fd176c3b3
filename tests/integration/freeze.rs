//! Freeze windows end to end: a frozen deploy makes no request at all and exits 1 with
//! `status: blocked`; `override-freeze` deploys and records why; with `targets` each target is
//! judged on its own environment; `rollout plan --now` shows the decision at any moment.

use crate::support::*;

/// A window no test run falls outside of.
const ALWAYS: &str = "2000-01-01 - 2199-12-31 Europe/Berlin";

#[test]
fn a_frozen_deploy_is_blocked_before_any_request() {
    let mut h = Harness::new();
    h.input("freeze", &format!("prod*: {ALWAYS}"));
    let sha = pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    // Where and what it would have deployed, in the outputs and the summary.
    assert_eq!(run.outputs["environment"], "production");
    assert_eq!(run.outputs["sha"], sha);
    assert!(
        run.summary.contains("| Environment | production |"),
        "{}",
        run.summary
    );
    let reason = &run.outputs["skip-reason"];
    assert!(reason.contains("2000-01-01 - 2199-12-31"), "{reason}");
    assert!(reason.contains("override-freeze"), "{reason}");
    assert!(run.stdout.contains("::error::"), "{}", run.stdout);
    let s = h.state();
    assert!(s.requests.is_empty(), "a frozen run sent {:?}", s.requests);
    assert!(run.summary.contains("blocked"), "{}", run.summary);
}

#[test]
fn an_environment_outside_every_window_deploys() {
    let mut h = Harness::new();
    h.input("freeze", &format!("staging: {ALWAYS}"));
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    let s = h.state();
    assert_eq!(s.deployments.len(), 1);
    assert!(fake_github::payload_map(&s.deployments[0])
        .get("freeze_override")
        .is_none());
}

#[test]
fn override_freeze_deploys_and_records_why() {
    let mut h = Harness::new();
    h.input("freeze", &format!("production: {ALWAYS}"));
    h.input("override-freeze", "hotfix for the checkout outage");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    let s = h.state();
    assert_eq!(s.deployments.len(), 1);
    let p = fake_github::payload_map(&s.deployments[0]);
    assert_eq!(p["freeze_override"], "hotfix for the checkout outage");
    assert!(
        run.summary.contains("Freeze overridden")
            && run.summary.contains("hotfix for the checkout outage"),
        "{}",
        run.summary
    );
    assert!(
        run.stdout.contains("::warning::inside a freeze window"),
        "{}",
        run.stdout
    );
    // Overridden, it no longer tells how to override.
    assert!(
        !run.summary.contains("to deploy anyway, set"),
        "{}",
        run.summary
    );
}

#[test]
fn each_target_is_judged_on_its_own_environment() {
    let mut h = Harness::new();
    h.input("targets", "web: app/**\napi: app/**");
    h.input("freeze", &format!("production-api: {ALWAYS}"));
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    let envs: Vec<_> = s
        .deployments
        .iter()
        .map(|d| d.environment.as_str())
        .collect();
    assert_eq!(envs, ["production-web"], "only the unfrozen target deploys");
    let results: serde_json::Value = serde_json::from_str(&run.outputs["results"]).unwrap();
    assert_eq!(results["web"], "success");
    assert_eq!(results["api"], "blocked");
}

#[test]
fn plan_now_shows_what_a_weekly_window_decides_at_that_moment() {
    let h = Harness::new();
    let sha = pushed(&h);
    let event = h.event(
        "push",
        &push_payload("refs/heads/main", &"0".repeat(40), &sha, "ship"),
    );
    let at = |now: &str| {
        let out = std::process::Command::new(bin())
            .args(["plan", "--event"])
            .arg(&event)
            .args(["--event-name", "push", "--now", now])
            .args(["--input", "environments=main: production"])
            .args(["--input", "command=true"])
            .args([
                "--input",
                "freeze=production: Fri 18:00 - Mon 08:00 Europe/Berlin",
            ])
            .env_clear()
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Saturday noon in Berlin is inside; Wednesday is not. 2026-12-19 is a Saturday.
    let inside = at("2026-12-19T12:00:00Z");
    assert!(inside.starts_with("blocked: "), "{inside}");
    let outside = at("2026-12-16T12:00:00Z");
    assert!(
        outside.starts_with("deploy: main to production"),
        "{outside}"
    );
    let bad = std::process::Command::new(bin())
        .args(["plan", "--event"])
        .arg(&event)
        .args(["--event-name", "push", "--now", "next friday"])
        .env_clear()
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

/// `step: plan` over two targets that both change (`pushed` changes app/main.txt).
fn planned(h: &mut Harness, freeze: &str) {
    h.input("targets", "web: app/**\napi: app/**");
    h.input("step", "plan");
    h.input("freeze", freeze);
    pushed(h);
}

#[test]
fn step_plan_with_every_target_frozen_is_blocked_not_green() {
    let mut h = Harness::new();
    planned(&mut h, &format!("production*: {ALWAYS}"));
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    assert_eq!(run.outputs["targets"], "[]");
    let results: serde_json::Value = serde_json::from_str(&run.outputs["results"]).unwrap();
    assert_eq!(results["web"], "blocked");
    assert_eq!(results["api"], "blocked");
    let error = run.the_error();
    assert!(
        error.contains("every target that would deploy is frozen (web, api)")
            && error.contains("override-freeze"),
        "{error}"
    );
    assert!(h.state().writes().is_empty(), "{:?}", h.state().writes());
}

#[test]
fn step_plan_with_some_targets_frozen_leaves_them_out_and_warns() {
    let mut h = Harness::new();
    planned(&mut h, &format!("production-api: {ALWAYS}"));
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["targets"], r#"["web"]"#);
    let results: serde_json::Value = serde_json::from_str(&run.outputs["results"]).unwrap();
    assert_eq!(results["api"], "blocked");
    let warning = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::warning::") && l.contains("frozen"))
        .unwrap_or_else(|| panic!("no warning:\n{}", run.stdout));
    assert!(
        warning.contains("target(s) api are frozen and left out of `targets`"),
        "{warning}"
    );
    assert!(!warning.contains("web"), "{warning}");
}

#[test]
fn rollout_plan_gives_the_matrix_step_plan_would_give_under_a_freeze() {
    for (freeze, targets, blocked) in [
        (format!("production-api: {ALWAYS}"), r#"["web"]"#, false),
        (format!("production*: {ALWAYS}"), "[]", true),
    ] {
        let mut h = Harness::new();
        planned(&mut h, &freeze);
        let (code, text) = plan(
            &h.file("event.json"),
            "push",
            &[
                "environments=main: production",
                "targets=web: app/**\napi: app/**",
                "step=plan",
                &format!("freeze={freeze}"),
            ],
            Some(&h.workspace),
        );
        assert_eq!(code, 0, "{text}");
        assert!(
            text.contains(&format!("output targets: {targets}")),
            "{freeze}: {text}"
        );
        assert_eq!(
            text.contains("the step would end `blocked` (exit 1)"),
            blocked,
            "{freeze}: {text}"
        );
        // The step itself agrees.
        let run = h.run();
        assert_eq!(run.outputs["targets"], targets, "{}", run.stdout);
    }
}

#[test]
fn step_plan_with_override_freeze_keeps_the_frozen_targets_in() {
    let mut h = Harness::new();
    planned(&mut h, &format!("production*: {ALWAYS}"));
    h.input("override-freeze", "the fix for the outage");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["targets"], r#"["web","api"]"#);
    assert!(!run.stdout.contains("::error::"), "{}", run.stdout);
}

#[test]
fn step_plan_of_one_frozen_environment_is_blocked() {
    let mut h = Harness::new();
    h.input("step", "plan");
    h.input("freeze", &format!("production: {ALWAYS}"));
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(h.state().writes().is_empty());
}

#[test]
fn the_sentence_names_when_deploys_resume_across_overlapping_lines() {
    // A weekly line matches first; a dated line holds on past its end. `rollout plan --now`
    // on a Saturday inside both: deploys resume when the dated window ends, not on Monday.
    let h = Harness::new();
    let sha = pushed(&h);
    let event = h.event(
        "push",
        &push_payload("refs/heads/main", &"0".repeat(40), &sha, "ship"),
    );
    let out = std::process::Command::new(bin())
        .args(["plan", "--event"])
        .arg(&event)
        .args(["--event-name", "push", "--now", "2026-12-26T12:00:00Z"])
        .args(["--input", "environments=main: production"])
        .args(["--input", "command=true"])
        .args([
            "--input",
            "freeze=production: Fri 18:00 - Mon 08:00\nproduction: 2026-12-20 - 2027-01-04",
        ])
        .env_clear()
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.starts_with("blocked: "), "{text}");
    assert!(
        text.contains("line 1 of `freeze`")
            && text.contains("since Fri 2026-12-25 18:00 UTC until Tue 2027-01-05 00:00 UTC"),
        "{text}"
    );
    assert!(!text.contains("until Mon 2026-12-28"), "{text}");
}

#[test]
fn a_dated_window_past_9999_12_29_is_bad_input_and_the_last_day_blocks() {
    for last in ["9999-12-30", "9999-12-31"] {
        let mut h = Harness::new();
        h.input("freeze", &format!("production: 2000-01-01 - {last}"));
        pushed(&h);
        let run = h.run();
        assert_eq!(run.code, 2, "{last}: {}\n{}", run.stdout, run.stderr);
        let error = run.the_error();
        assert!(
            error.contains("freeze")
                && error.contains("past the last moment rollout can reckon with"),
            "{error}"
        );
        assert!(h.state().requests.is_empty());
    }
    let mut h = Harness::new();
    h.input("freeze", "production: 2000-01-01 - 9999-12-29");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(
        run.outputs["skip-reason"].contains("until Thu 9999-12-30 00:00 UTC"),
        "{}",
        run.outputs["skip-reason"]
    );
    assert!(h.state().requests.is_empty());
}
