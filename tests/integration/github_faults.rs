//! End to end against the fake: GitHub's real faults around reading many deployments. Supersede
//! and teardown read states over GraphQL (validated against GitHub's schema by the fake), write
//! only where a write changes something, and say what they did; a deploy a newer run superseded
//! while its command ran stays inactive.

use crate::support::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};

fn graphql_requests(h: &Harness) -> usize {
    h.state().requests_to("POST", "/graphql")
}

fn graphql_fault(errors: serde_json::Value, times: u32) -> Fault {
    Fault {
        status: 200,
        body: serde_json::json!({ "errors": errors }),
        // GitHub's answer to a rate limit tells when to come back; `0` keeps the test quick.
        headers: BTreeMap::from([("retry-after".to_string(), "0".to_string())]),
        ..fault("POST", "/graphql", 200, times)
    }
}

fn rate_limited(times: u32) -> Fault {
    graphql_fault(
        serde_json::json!([{ "type": "RATE_LIMITED", "message": "API rate limit already exceeded for installation ID 1." }]),
        times,
    )
}

/// The closed pull request #7 whose preview `pr-7` is torn down.
fn closed_pr(h: &mut Harness) {
    h.input("preview-environment", "pr-{number}");
    let base = h.commit(&[("README.md", "x\n")], "initial");
    let head = h.commit(&[("app/a.txt", "1\n")], "feature");
    h.event(
        "pull_request",
        &pr_payload("closed", 7, &head, "feature", &base, OWNER_REPO, "Feature"),
    );
    h.chown_workspace();
}

#[test]
fn a_push_marks_every_older_running_deployment_inactive_once_and_leaves_final_ones() {
    let h = Harness::new();
    let (running, finals) = {
        let mut s = h.state();
        let mut finals = s.seed("production", 1, Some("success"), false);
        let mut running = s.seed("production", 1, Some("in_progress"), false);
        finals.extend(s.seed("production", 1, Some("failure"), false));
        running.extend(s.seed("production", 1, Some("queued"), false));
        finals.extend(s.seed("production", 1, Some("inactive"), false));
        running.extend(s.seed("production", 1, None, false));
        finals.extend(s.seed("production", 1, Some("error"), false));
        // Another environment's running deployment is none of this deploy's business.
        finals.extend(s.seed("staging", 1, Some("in_progress"), false));
        (running, finals)
    };
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let ours: u64 = run.outputs["deployment-id"].parse().unwrap();
    let s = h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert_eq!(
        s.requests_to("POST", "/graphql"),
        2,
        "one read for all states, one for the lock"
    );
    for id in &running {
        assert_eq!(s.status_writes(*id), 1, "deployment {id}: one write");
        let d = s.deployments.iter().find(|d| d.id == *id).unwrap();
        let last = d.statuses.last().unwrap();
        assert_eq!(last.state, "inactive");
        assert_eq!(last.description, format!("Superseded by deployment {ours}"));
    }
    for id in &finals {
        assert_eq!(
            s.status_writes(*id),
            0,
            "deployment {id} is final: no write"
        );
    }
    for (id, state) in running.iter().zip(["in_progress", "queued", "pending"]) {
        let line = format!("deployment {id} was still {state}; marked inactive (superseded)");
        assert_eq!(
            run.stdout.matches(&line).count(),
            1,
            "{line}:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("stopped there"), "{}", run.stdout);
}

#[test]
fn supersede_looks_back_a_thousand_deployments_and_says_where_it_stopped() {
    let h = Harness::new();
    let (oldest, newer) = {
        let mut s = h.state();
        let oldest = s.seed("production", 5, Some("in_progress"), false);
        let newer = s.seed("production", 1000, Some("success"), false);
        (oldest, newer)
    };
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "supersede read the newest 1000 deployments of production and stopped there; older ones were not checked"
        ),
        "{}",
        run.stdout
    );
    let s = h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert_eq!(
        s.requests_to("POST", "/graphql"),
        11,
        "ten pages of 100, and the lock read"
    );
    for id in oldest.iter().chain(&newer) {
        assert_eq!(s.status_writes(*id), 0, "deployment {id}");
    }
}

#[test]
fn a_teardown_of_1200_deployments_reads_every_page_and_writes_only_where_needed() {
    let mut h = Harness::new();
    closed_pr(&mut h);
    let (inactive, others) = {
        let mut s = h.state();
        let mut inactive = s.seed("pr-7", 200, Some("inactive"), true);
        let mut others = s.seed("pr-7", 500, Some("success"), true);
        others.extend(s.seed("pr-7", 300, Some("in_progress"), true));
        inactive.extend(s.seed("pr-7", 100, Some("inactive"), true));
        others.extend(s.seed("pr-7", 100, Some("failure"), true));
        s.seed("pr-8", 3, Some("success"), true);
        (inactive, others)
    };
    assert_eq!(inactive.len() + others.len(), 1200);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "inactive");
    let s = h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert_eq!(s.requests_to("POST", "/graphql"), 12, "ceil(1200 / 100)");
    for id in &inactive {
        assert_eq!(
            s.status_writes(*id),
            0,
            "deployment {id} was inactive already"
        );
    }
    for id in &others {
        assert_eq!(s.status_writes(*id), 1, "deployment {id}");
    }
    assert!(s
        .deployments_of("pr-7")
        .iter()
        .all(|d| d.state() == Some("inactive")));
    assert!(s
        .deployments_of("pr-8")
        .iter()
        .all(|d| d.state() == Some("success")));
    let writes = s.requests_to("POST", "/statuses");
    assert_eq!(writes, others.len());
    assert!(
        run.stdout.contains(&format!(
            "{writes} deployment(s) of pr-7 marked inactive; 300 already were"
        )),
        "{}",
        run.stdout
    );
    eprintln!(
        "teardown of 1,200 deployments: {} requests in all ({} GraphQL reads, {writes} status writes)",
        s.requests.len(),
        s.requests_to("POST", "/graphql")
    );
}

#[test]
fn the_fakes_graphql_refuses_a_field_github_does_not_have() {
    let h = Harness::new();
    let query = "query { repository(owner: \"octo-org\", name: \"app\") { deployments(first: 1) { nodes { databaseId status } } } }";
    let body = serde_json::json!({ "query": query }).to_string();
    let mut stream = std::net::TcpStream::connect(h.fake.addr).unwrap();
    write!(
        stream,
        "POST /graphql HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\nAccept: application/vnd.github+json\r\nX-GitHub-Api-Version: 2022-11-28\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        h.fake.addr,
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\"errors\""), "{answer}");
    assert!(answer.contains("status"), "{answer}");
    let s = h.state();
    assert_eq!(s.violations.len(), 1, "{:?}", s.violations);
    assert!(s.violations[0].contains("Field 'status' doesn't exist on type 'Deployment'"));
    assert_eq!(s.requests_to("POST", "/graphql"), 1, "counted like REST");
}

#[test]
fn a_graphql_error_or_rate_limit_does_not_stop_a_deploy() {
    for (fault, attempts) in [
        (
            graphql_fault(
                serde_json::json!([{ "type": "FORBIDDEN", "message": "Resource not accessible by integration" }]),
                1,
            ),
            1,
        ),
        // Supersede only tidies up: three tries, then the deploy goes on.
        (rate_limited(100), 3),
        (
            graphql_fault(
                serde_json::json!([{ "message": "Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug." }]),
                100,
            ),
            3,
        ),
    ] {
        let h = Harness::new();
        let older = h.state().seed("production", 1, Some("in_progress"), false);
        // The first GraphQL request is the lock read beside the create (a failure there stops
        // the deploy, as it must); this fault is for the supersede read after it.
        h.fake.fault(Fault { skip: 1, ..fault });
        pushed(&h);
        let run = h.run();
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert_eq!(run.outputs["status"], "success");
        assert!(
            run.stdout
                .contains("could not read the older deployments' states, so none was superseded"),
            "{}",
            run.stdout
        );
        let s = h.state();
        assert_eq!(s.status_writes(older[0]), 0);
        assert_eq!(
            s.requests_to("POST", "/graphql"),
            attempts + 1,
            "a rate limit and GitHub's own failure are retried, a refusal is not (and the lock read)"
        );
    }
}

#[test]
fn a_graphql_failure_on_githubs_side_once_is_retried_by_a_teardown() {
    // HTTP 200 with `errors`: GitHub's timeout, which a REST 502 in the same place would be.
    let mut h = Harness::new();
    closed_pr(&mut h);
    h.state().seed("pr-7", 3, Some("success"), true);
    let mut f = graphql_fault(
        serde_json::json!([{ "message": "Something went wrong while executing your query. This may be the result of a timeout, or it could be a GitHub bug. Please include `ABCD:1234` when reporting this issue." }]),
        1,
    );
    f.headers.clear();
    f.body = serde_json::json!({ "data": null, "errors": f.body["errors"].clone() });
    h.fake.fault(f);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run
        .stdout
        .contains("3 deployment(s) of pr-7 marked inactive; 0 already were"));
    assert_eq!(
        graphql_requests(&h),
        2,
        "the failed read, then the read that worked"
    );
    assert!(run.stdout.contains("retrying in"), "{}", run.stdout);
}

#[test]
fn a_rate_limit_once_is_waited_out_by_a_teardown() {
    let mut h = Harness::new();
    closed_pr(&mut h);
    h.state().seed("pr-7", 150, Some("success"), true);
    h.fake.fault(rate_limited(1));
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run
        .stdout
        .contains("150 deployment(s) of pr-7 marked inactive; 0 already were"));
    assert_eq!(graphql_requests(&h), 3, "the refused read, then two pages");
}

#[test]
fn a_teardown_that_cannot_read_the_states_fails_and_says_nothing_was_written() {
    // GitHub asks for ten minutes, longer than a teardown's reads may wait.
    let mut longer = rate_limited(100);
    longer.headers.insert("retry-after".into(), "600".into());
    for fault in [
        longer,
        graphql_fault(
            serde_json::json!([{ "type": "FORBIDDEN", "message": "Resource not accessible by integration" }]),
            1,
        ),
    ] {
        let mut h = Harness::new();
        closed_pr(&mut h);
        h.state().seed("pr-7", 3, Some("success"), true);
        h.fake.fault(fault);
        let run = h.run();
        assert_eq!(run.code, 1, "{}", run.stdout);
        assert_eq!(run.outputs["status"], "failure");
        let error = run.the_error();
        assert!(
            error.contains("Reading the preview's deployments failed")
                && error.contains("no deployment was marked inactive")
                && !error.contains("answered 200"),
            "{error}"
        );
        if error.contains("FORBIDDEN") {
            assert!(
                error.contains("give the job `permissions:` with"),
                "{error}"
            );
        }
        assert_eq!(h.state().requests_to("POST", "/statuses"), 0);
    }
}

#[test]
fn a_teardown_whose_write_fails_says_how_far_it_got() {
    let mut h = Harness::new();
    closed_pr(&mut h);
    h.state().seed("pr-7", 5, Some("success"), true);
    h.fake.fault(Fault {
        skip: 2,
        ..fault("POST", "/statuses", 403, 1)
    });
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(
        error.contains(
            "2 deployment(s) of pr-7 marked inactive (0 already were), then marking deployment"
        ) && error.contains("3 deployment(s) are left as they were"),
        "{error}"
    );
}

/// The command stands in for a newer run: it marks its own deployment inactive, as that run's
/// supersede would.
fn superseded_while_running(exit: &str) -> (Harness, Run) {
    let mut h = Harness::new();
    h.input(
        "command",
        &format!(
            "curl -fsS -o /dev/null -X POST \"$GITHUB_API_URL/repos/octo-org/app/deployments/$ROLLOUT_DEPLOYMENT_ID/statuses\" \
             -H 'Authorization: Bearer ghs_newerRun' -H 'Accept: application/vnd.github+json' -H 'X-GitHub-Api-Version: 2022-11-28' \
             -d '{{\"state\":\"inactive\",\"description\":\"Superseded by deployment 4242\"}}' && {exit}"
        ),
    );
    pushed(&h);
    let run = h.run();
    (h, run)
}

#[test]
fn a_deploy_superseded_while_its_command_ran_stays_inactive() {
    let (h, run) = superseded_while_running("true");
    assert_eq!(run.code, 0, "the command succeeded: {}", run.stdout);
    assert_eq!(run.outputs["status"], "inactive");
    assert!(
        run.stdout.contains(
            "a newer deployment 4242 superseded this one while the command ran; it stays inactive"
        ),
        "{}",
        run.stdout
    );
    let s = h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    // The check runs beside the final status, not before it: the final one lands, then the
    // newer run's `inactive` is posted again, so the deployment ends as that run left it.
    let ends_inactive_again = |statuses: &[fake_github::Status], final_state: &str| {
        let states: Vec<&str> = statuses.iter().map(|st| st.state.as_str()).collect();
        let n = states.len();
        assert!(n >= 3, "{states:?}");
        assert_eq!(&states[n - 2..], [final_state, "inactive"], "{states:?}");
        assert!(states[..n - 2].contains(&"inactive"), "{states:?}");
        assert_eq!(
            statuses[n - 1].description,
            "Superseded by deployment 4242",
            "the newer run's words"
        );
    };
    ends_inactive_again(&s.deployments[0].statuses, "success");
    drop(s);

    let (h, run) = superseded_while_running("exit 3");
    assert_eq!(run.code, 1, "the command failed: {}", run.stdout);
    assert_eq!(run.outputs["status"], "inactive");
    let s = h.state();
    ends_inactive_again(&s.deployments[0].statuses, "failure");
}

#[test]
fn on_github_enterprise_server_graphql_is_beside_the_rest_api_and_gets_the_token() {
    let h = Harness::new();
    h.state().seed("production", 1, Some("in_progress"), false);
    pushed(&h);
    let run = h.run_with(|c| {
        c.env("GITHUB_API_URL", format!("{}/api/v3", h.fake.url()))
            .env_remove("GITHUB_GRAPHQL_URL");
    });
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert_eq!(
        s.requests_to("POST", "/api/graphql"),
        2,
        "the supersede read and the lock read"
    );
    assert!(s.requests.iter().all(|r| r.status < 400), "authorized");
    assert!(s
        .requests
        .iter()
        .all(|r| r.path == "/api/graphql" || r.path.starts_with("/api/v3/repos/")));
    assert_eq!(s.deployments[0].state(), Some("inactive"), "superseded");
}
