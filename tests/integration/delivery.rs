//! `step: report` and `rollout report` through the binary against the fake: the figures of a
//! seeded history, only the environments the glob matches, reads only, bad input before any
//! request, a refusal in one sentence, and 1,000 deployments in 10 requests.

use crate::support::{dispatch_payload, Grant, Harness, State, TOKEN};
use fake_github::Status;
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use std::process::Command;

/// Now, to the second, as GitHub writes times.
fn now() -> Timestamp {
    Timestamp::from_second(Timestamp::now().as_second()).unwrap()
}

fn ago(now: Timestamp, hours: i64) -> String {
    (now - SignedDuration::from_hours(hours)).to_string()
}

/// A deployment of `env` created `hours` ago, its commit made `lead` hours before it, with
/// `states` posted a minute apart from its creation; returns its id.
fn seed(
    s: &mut State,
    now: Timestamp,
    env: &str,
    hours: i64,
    lead: i64,
    states: &[&str],
    payload: Value,
) -> u64 {
    let id = s.seed(env, 1, None, false)[0];
    let sha = format!("{id:040x}");
    let created = now - SignedDuration::from_hours(hours);
    let d = s.deployments.iter_mut().find(|d| d.id == id).unwrap();
    d.sha = sha.clone();
    d.git_ref = sha.clone();
    d.payload = payload;
    d.created_at = created.to_string();
    d.statuses = states
        .iter()
        .enumerate()
        .map(|(i, state)| Status {
            id: 1_000_000 + id * 10 + i as u64,
            state: state.to_string(),
            description: "seeded".into(),
            log_url: None,
            environment_url: None,
            created_at: (created + SignedDuration::from_mins(i as i64 + 1)).to_string(),
        })
        .collect();
    s.commit_dates.insert(sha, ago(now, hours + lead));
    id
}

/// production: a success, a failure, a success a manual rollback undid, the rollback; an
/// error a lock made; a deploy older than the period. production-eu: one success. staging
/// (which the glob leaves out): a failure.
fn history(h: &Harness, now: Timestamp) {
    let mut s = h.state();
    let s = &mut *s;
    seed(
        s,
        now,
        "production",
        24 * 40,
        1,
        &["in_progress", "failure"],
        json!({}),
    );
    seed(
        s,
        now,
        "production",
        100,
        2,
        &["in_progress", "success", "inactive"],
        json!({}),
    );
    seed(
        s,
        now,
        "production",
        90,
        2,
        &["in_progress", "failure"],
        json!({}),
    );
    let undone = seed(
        s,
        now,
        "production",
        80,
        4,
        &["in_progress", "success", "inactive"],
        json!({}),
    );
    seed(
        s,
        now,
        "production",
        70,
        0,
        &["in_progress", "success"],
        json!({"rollback": {"from_deployment": undone, "from_sha": "x", "to_deployment": 1}}),
    );
    seed(s, now, "production", 60, 0, &["error"], json!({}));
    // Counted apart: one cancelled (inactive without a success), one still running.
    seed(
        s,
        now,
        "production",
        55,
        0,
        &["in_progress", "inactive"],
        json!({}),
    );
    seed(s, now, "production", 1, 0, &["in_progress"], json!({}));
    seed(
        s,
        now,
        "production-eu",
        50,
        3,
        &["in_progress", "success"],
        json!({}),
    );
    seed(
        s,
        now,
        "staging",
        40,
        1,
        &["in_progress", "failure"],
        json!({}),
    );
}

fn report_harness() -> Harness {
    let mut h = Harness::new();
    h.inputs.remove("command");
    h.inputs.remove("environments");
    h.input("step", "report");
    h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    h
}

/// Every request was a GraphQL read.
fn graphql_reads(h: &Harness) -> usize {
    let s = h.state();
    assert!(
        s.requests
            .iter()
            .all(|r| r.method == "POST" && r.path == "/graphql"),
        "only GraphQL reads: {:?}",
        s.requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    s.requests.len()
}

#[test]
fn the_step_reports_the_four_keys_of_the_environments_the_glob_matches() {
    let mut h = report_harness();
    h.input("environment", "production*");
    h.input("period", "30d");
    let now = now();
    history(&h, now);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    let report: Value = serde_json::from_str(&run.outputs["report"]).unwrap();
    let envs = report["environments"].as_object().unwrap();
    assert_eq!(
        envs.keys().collect::<Vec<_>>(),
        ["production", "production-eu"],
        "staging is not production*"
    );
    let p = &report["environments"]["production"];
    // Changes: 100h (success), 90h (failure), 80h (success, undone); the rollback and the
    // blocked error are no changes, the 40-day-old failure is outside the period.
    assert_eq!(p["changes"], 3);
    assert_eq!(p["deployments"], 2);
    assert_eq!(p["per_day"], json!(0.067));
    assert_eq!(p["change_failure_rate"], json!(0.6667));
    assert_eq!(
        (p["rollbacks"].clone(), p["automatic_rollbacks"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(p["errors"], 1);
    // Lead time: first success a 2nd minute after creation; leads 2h and 4h.
    assert_eq!(p["lead_time_s"]["median"], json!(3 * 3600 + 120));
    assert_eq!(p["lead_time_s"]["p90"], json!(4 * 3600 + 120));
    // Episodes: the failure at 90h (its 2nd minute) to 80h's success (its 2nd minute): 10h; the
    // rollback at 70h to its own success 2 minutes later.
    assert_eq!(
        p["time_to_restore_s"]["median"],
        json!((10 * 3600 + 120) / 2)
    );
    assert_eq!(p["open_since"], Value::Null);
    let eu = &report["environments"]["production-eu"];
    assert_eq!(
        (eu["changes"].clone(), eu["change_failure_rate"].clone()),
        (json!(1), json!(0.0))
    );
    assert_eq!(eu["time_to_restore_s"]["median"], Value::Null);
    let from: Timestamp = report["period"]["from"].as_str().unwrap().parse().unwrap();
    let to: Timestamp = report["period"]["to"].as_str().unwrap().parse().unwrap();
    assert_eq!(to.duration_since(from), SignedDuration::from_hours(30 * 24));
    // The summary: the table and a chart per environment.
    assert!(
        run.summary.contains("| Environment | Deployments |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("| `production` | 2 (0.07/day) |"),
        "{}",
        run.summary
    );
    assert_eq!(run.summary.matches("```mermaid\nxychart-beta").count(), 2);
    assert!(!run.summary.contains("staging"));
    // One request lists the environments, one reads their deployments; nothing is written.
    assert_eq!(graphql_reads(&h), 2);
}

#[test]
fn a_plain_name_needs_no_listing_and_an_open_episode_is_open_since() {
    let mut h = report_harness();
    h.input("environment", "production");
    let now = now();
    {
        let mut s = h.state();
        seed(
            &mut s,
            now,
            "production",
            30,
            1,
            &["in_progress", "success"],
            json!({}),
        );
        seed(
            &mut s,
            now,
            "production",
            20,
            1,
            &["in_progress", "failure"],
            json!({}),
        );
    }
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report: Value = serde_json::from_str(&run.outputs["report"]).unwrap();
    let p = &report["environments"]["production"];
    let failed_at = now - SignedDuration::from_hours(20) + SignedDuration::from_mins(2);
    assert_eq!(p["open_since"], json!(failed_at.to_string()));
    assert_eq!(p["time_to_restore_s"]["median"], Value::Null);
    assert!(run.summary.contains("open since"), "{}", run.summary);
    assert_eq!(graphql_reads(&h), 1, "the deployments alone");
}

#[test]
fn bad_input_is_exit_2_before_any_request() {
    for (inputs, names) in [
        (
            vec![],
            "input `environment` is required: name the environments",
        ),
        (
            vec![("environment", "production"), ("period", "30")],
            "input `period` \"30\" is not a period",
        ),
        (
            vec![("environment", "prod[")],
            "input `environment` \"prod[\" is not a glob",
        ),
    ] {
        let mut h = report_harness();
        for (k, v) in inputs {
            h.input(k, v);
        }
        let run = h.run();
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(run.the_error().contains(names), "{}", run.the_error());
        assert!(h.state().requests.is_empty());
    }
}

#[test]
fn a_refused_read_is_one_sentence_naming_what_to_change() {
    // A bad token is the token's fault, not the permissions'.
    let mut h = report_harness();
    h.input("environment", "production*");
    h.fake.grant(TOKEN, Grant::Bad);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let said = run.the_error();
    assert!(said.contains("invalid or expired"), "{said}");
    assert!(!said.contains("permissions:"), "{said}");
    assert_eq!(run.outputs["status"], "error");
    // A repository GitHub cannot find (a typo in `--repo`) is named as such, with the
    // permissions that would make it visible.
    let h = report_harness();
    let (code, _, err) = cli(
        &h,
        &["--repo", "octo-org/ap", "--environment", "production"],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("check the repository's name"), "{err}");
    assert!(err.contains("`deployments: read`"), "{err}");
}

fn cli(h: &Harness, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(crate::support::bin())
        .arg("report")
        .args(args)
        .env_clear()
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_API_URL", h.fake.url())
        .env("GITHUB_GRAPHQL_URL", format!("{}/graphql", h.fake.url()))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_command_line_says_its_errors_plainly_and_warns_of_a_glob_that_matches_nothing() {
    let h = report_harness();
    history(&h, now());
    let (code, _, err) = cli(
        &h,
        &[
            "--repo",
            "octo-org/app",
            "--environment",
            "production",
            "--period",
            "30",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.starts_with("error: --period \"30\" is not a period"),
        "{err}"
    );
    let (code, _, err) = cli(
        &h,
        &[
            "--repo",
            "octo-org/app",
            "--environment",
            "",
            "--period",
            "30d",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.starts_with("error: --environment is required"), "{err}");
    assert!(h.state().requests.is_empty(), "bad flags reached the API");
    let (code, out, err) = cli(&h, &["--repo", "octo-org/app", "--environment", "nothing*"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        format!("{out}{err}").contains("no environment of the repository matches `nothing*`"),
        "{out}{err}"
    );
}

#[test]
fn the_command_line_prints_the_same_figures_as_a_table_or_json() {
    let h = report_harness();
    let now = now();
    history(&h, now);
    let (code, json_text, err) = cli(
        &h,
        &[
            "--repo",
            "octo-org/app",
            "--environment",
            "production*",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let report: Value = serde_json::from_str(&json_text).unwrap();
    assert_eq!(report["environments"]["production"]["changes"], 3);
    assert_eq!(report["environments"]["production"]["cancelled"], 1);
    assert_eq!(report["environments"]["production"]["unfinished"], 1);
    let from = report["period"]["from"].as_str().unwrap_or_default();
    assert!(
        from.len() == 20 && from.ends_with('Z'),
        "whole seconds: {from}"
    );
    assert_eq!(
        report["environments"]["production"]["change_failure_rate"],
        json!(0.6667)
    );
    assert!(report["environments"].get("staging").is_none());
    let (code, text, err) = cli(
        &h,
        &[
            "--repo",
            "octo-org/app",
            "--environment",
            "production*",
            "--period",
            "2w",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        text.starts_with("Delivery report: production* over the last 2w"),
        "{text}"
    );
    assert!(text.contains("Environment    Deployments"), "{text}");
    assert!(
        text.contains("production: changes per week (# succeeded, x failed)"),
        "{text}"
    );
    assert!(
        text.contains("#x"),
        "a week with a success and a failure: {text}"
    );
    assert_eq!(graphql_reads(&h), 4);
    // Bad flags: exit 2, no request.
    let before = h.state().requests.len();
    let (code, _, err) = cli(&h, &["--repo", "app", "--environment", "production"]);
    assert_eq!(code, 2);
    assert!(err.contains("--repo \"app\" is not OWNER/NAME"), "{err}");
    let (code, _, err) = cli(
        &h,
        &[
            "--repo",
            "octo-org/app",
            "--environment",
            "p",
            "--period",
            "1y",
        ],
    );
    assert_eq!(code, 2);
    assert!(err.contains("--period \"1y\" is not a period"), "{err}");
    assert_eq!(h.state().requests.len(), before);
}

/// The read the contract bounds: 1,000 deployments in 10 requests, and a period that reaches
/// further is said. With the benchmark's 100 ms a request, it prints the time for BENCHMARKS.md.
#[test]
fn a_thousand_deployments_are_read_in_ten_requests() {
    let mut h = report_harness();
    h.input("environment", "production");
    let now = now();
    {
        let mut s = h.state();
        for i in 0..1000 {
            // Every 10th fails; one deploy every 30 minutes, the newest first.
            let end = if i % 10 == 0 { "failure" } else { "success" };
            let id = seed(
                &mut s,
                now,
                "production",
                0,
                1,
                &["in_progress", end],
                json!({}),
            );
            let created = now - SignedDuration::from_mins(30 * (1000 - i));
            let d = s.deployments.iter_mut().find(|d| d.id == id).unwrap();
            d.created_at = created.to_string();
            for st in &mut d.statuses {
                st.created_at = (created + SignedDuration::from_mins(1)).to_string();
            }
        }
        s.latency_ms = 100;
    }
    let started = std::time::Instant::now();
    let run = h.run();
    let elapsed = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let report: Value = serde_json::from_str(&run.outputs["report"]).unwrap();
    assert_eq!(report["environments"]["production"]["changes"], 1000);
    assert_eq!(report["environments"]["production"]["deployments"], 900);
    assert_eq!(graphql_reads(&h), 10);
    assert!(!run.stdout.contains("::warning::"), "{}", run.stdout);
    eprintln!(
        "BENCH report: 1000 deployments, {} requests, {} ms (100 ms a request)",
        10,
        elapsed.as_millis()
    );
    // One more in the period: the eleventh page is not read, and the report says so.
    {
        let mut s = h.state();
        s.requests.clear();
        s.latency_ms = 0;
        seed(
            &mut s,
            now,
            "production",
            0,
            1,
            &["in_progress", "success"],
            json!({}),
        );
    }
    let run = h.run();
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains("::warning::the report reads at most 1,000 deployments"),
        "{}",
        run.stdout
    );
    assert!(run.summary.contains("> [!WARNING]"), "{}", run.summary);
    assert_eq!(graphql_reads(&h), 10);
}
