//! GitHub's real faults, end to end against the fake: rate limits by GitHub's rules (waits of a
//! minute and more, run here on a short clock: `ROLLOUT_TEST_TIME_SCALE=0.01` makes a minute
//! 0.6 s and the 30 s read timeout 0.3 s, while the log keeps GitHub's figures), creates that
//! succeed after the client gave up, and a cancel while a write hangs. Every deployment ends
//! final; none is made twice without being finished.

use crate::support::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

const SCALE: &str = "0.01";

fn short_clock(h: &mut Harness) -> &mut Harness {
    h.var("ROLLOUT_TEST_TIME_SCALE", SCALE)
}

fn states(h: &Harness, index: usize) -> Vec<String> {
    h.state().deployments[index]
        .statuses
        .iter()
        .map(|s| s.state.clone())
        .collect()
}

fn all_final(h: &Harness) {
    let s = h.state();
    for d in &s.deployments {
        assert!(d.is_final(), "deployment {} ended {:?}", d.id, d.state());
    }
}

/// The final status (the second status post) refused with a secondary rate limit.
fn limited_final_status(h: &Harness, headers: &[(&str, &str)], times: u32) {
    let mut f = fault("POST", "/statuses", 403, times);
    f.skip = 1;
    f.body = serde_json::json!({
        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    });
    for (k, v) in headers {
        f.headers.insert(k.to_string(), v.to_string());
    }
    h.fake.fault(f);
}

#[test]
fn a_secondary_limit_with_retry_after_60_on_the_final_status_is_waited_out() {
    let mut h = Harness::new();
    short_clock(&mut h);
    pushed(&h);
    limited_final_status(&h, &[("retry-after", "60")], 1);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(states(&h, 0), ["in_progress", "success"]);
    let waits: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("rate limited"))
        .collect();
    assert_eq!(waits.len(), 1, "each wait is logged once: {waits:?}");
    assert!(
        waits[0].contains("GitHub asks to retry after 60 s")
            && waits[0].contains("retrying in 60 s"),
        "{}",
        waits[0]
    );
}

#[test]
fn a_secondary_limit_without_headers_waits_a_minute_then_longer() {
    let mut h = Harness::new();
    short_clock(&mut h);
    pushed(&h);
    limited_final_status(&h, &[], 2);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(states(&h, 0), ["in_progress", "success"]);
    let waits: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.contains("rate limited"))
        .collect();
    assert_eq!(waits.len(), 2, "{waits:?}");
    assert!(waits[0].contains("retrying in 60 s"), "{}", waits[0]);
    assert!(waits[1].contains("retrying in 120 s"), "{}", waits[1]);
    assert!(
        waits[0].contains("a secondary rate limit with no retry-after"),
        "{}",
        waits[0]
    );
}

#[test]
fn no_requests_left_waits_until_the_reset() {
    let mut h = Harness::new();
    short_clock(&mut h);
    pushed(&h);
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 90;
    let mut f = fault("POST", "/deployments", 403, 1);
    f.body = serde_json::json!({ "message": "API rate limit exceeded for installation ID 1." });
    f.headers.insert("x-ratelimit-remaining".into(), "0".into());
    f.headers
        .insert("x-ratelimit-reset".into(), reset.to_string());
    h.fake.fault(f);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let wait = run
        .stdout
        .lines()
        .find(|l| l.contains("rate limited"))
        .unwrap_or_default();
    assert!(
        wait.contains("no requests left until x-ratelimit-reset"),
        "{wait}"
    );
    // 90 s from when the answer was made, give or take the second it took.
    assert!(
        wait.contains("retrying in 89 s") || wait.contains("retrying in 90 s"),
        "{wait}"
    );
    assert_eq!(h.state().deployments.len(), 1);
    all_final(&h);
}

#[test]
fn a_limit_longer_than_final_status_timeout_is_one_sentence_and_the_post_step_finishes_it() {
    let mut h = Harness::new();
    short_clock(&mut h);
    h.input("final-status-timeout", "5m");
    pushed(&h);
    // GitHub asks for ten minutes; the input allows five.
    limited_final_status(&h, &[("retry-after", "600")], 1);
    let started = Instant::now();
    let run = h.run();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "it gave up at once"
    );
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let error = run.the_error();
    assert!(error.contains("rate limited"), "{error}");
    assert!(
        error.contains(&format!(
            "final status of deployment {} could not be posted",
            h.state().deployments[0].id
        )),
        "{error}"
    );
    assert!(
        run.stdout
            .contains("waiting 600 s would pass the 300 s this call may take"),
        "{}",
        run.stdout
    );
    // The post step, with the limit gone, finishes it.
    let out = h.post(&run.state);
    assert_eq!(out.code, 0, "{}", out.stdout);
    all_final(&h);
}

#[test]
fn a_lookup_that_is_rate_limited_gives_up_soon() {
    let mut h = Harness::new();
    short_clock(&mut h);
    h.input("step", "start");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    // The post step's job lookup only improves the status it posts: a minute's limit on it is
    // not waited for, and the deployment is still finished.
    let mut f = fault("GET", "/jobs", 429, 10);
    f.headers.insert("retry-after".into(), "60".into());
    h.fake.fault(f);
    let out = h.post(&run.state);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(h.state().requests_to("GET", "/jobs"), 1, "one try, no wait");
    assert!(
        out.stdout
            .contains("waiting 60 s would pass the 20 s this call may take"),
        "{}",
        out.stdout
    );
    all_final(&h);
}

/// A push deploy running `command` whose create succeeds on the server 2 s after it arrived;
/// the client's read timeout (0.3 s on the short clock) gave up long before.
fn late_create_run(command: &str) -> (Harness, Run) {
    let mut h = Harness::new();
    short_clock(&mut h);
    h.input("command", command);
    pushed(&h);
    let mut f = fault("POST", "/deployments", 0, 1);
    f.after = true;
    f.delay_ms = 2_000;
    h.fake.fault(f);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    (h, run)
}

#[test]
fn a_create_that_lands_after_the_read_timeout_is_finished_by_the_main_step() {
    // Long enough for the late create to land while the command runs.
    let (h, run) = late_create_run("sleep 3");
    let s = h.state();
    assert_eq!(s.deployments.len(), 2, "the lost create and the new one");
    let adopted: u64 = run.outputs["deployment-id"].parse().unwrap();
    for d in &s.deployments {
        let last = d.statuses.last().expect("every deployment has a status");
        if d.id == adopted {
            assert_eq!(last.state, "success");
        } else {
            assert_eq!(last.state, "error", "{:?}", d.statuses);
            assert_eq!(last.description, "Abandoned after an ambiguous create");
            assert_eq!(
                d.payload["rollout"]["key"], s.deployments[1].payload["rollout"]["key"],
                "both carry the run's key"
            );
        }
    }
    drop(s);
    all_final(&h);
}

#[test]
fn a_create_that_lands_after_the_run_is_finished_by_the_post_step() {
    let (h, run) = late_create_run("true");
    assert_eq!(run.state["deployment-ambiguous"], "true");
    assert!(!run.state["deployment-key"].is_empty());
    // The post step runs after the job: by then the lost create has landed.
    wait_until("the late create", Duration::from_secs(10), || {
        h.state().deployments.len() == 2
    });
    let out = h.post(&run.state);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(
        out.stdout.contains("abandoned after an ambiguous create"),
        "{}",
        out.stdout
    );
    all_final(&h);
    // A second post step has nothing left to write.
    let writes = h.state().writes().len();
    assert_eq!(h.post(&run.state).code, 0);
    assert_eq!(h.state().writes().len(), writes);
}

/// Starts a push deploy of `true` whose create the server makes `delay_ms` after it arrives, and
/// sends `signal` to rollout 300 ms after the create went out (its key saved first). Returns the
/// harness and the process, to be waited for.
fn signalled_during_create(
    delay_ms: u64,
    signal: Signal,
    piped: bool,
) -> (Harness, std::process::Child) {
    let mut h = Harness::new();
    h.input("command", "true");
    pushed(&h);
    let mut f = fault("POST", "/deployments", 0, 1);
    f.after = true;
    f.delay_ms = delay_ms;
    h.fake.fault(f);
    let mut cmd = h.command(&[]);
    if piped {
        cmd.stdout(std::process::Stdio::piped());
    }
    let child = cmd.spawn().unwrap();
    wait_until("the create to be sent", Duration::from_secs(10), || {
        std::fs::read_to_string(h.file("state")).is_ok_and(|s| s.contains("deployment-key"))
    });
    std::thread::sleep(Duration::from_millis(300));
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
    (h, child)
}

#[test]
fn a_main_step_killed_during_the_create_leaves_the_post_step_its_key() {
    // The create hangs for 3 s, then succeeds; the job is killed outright meanwhile.
    let (h, mut child) = signalled_during_create(3_000, Signal::SIGKILL, false);
    let _ = child.wait();
    wait_until("the late create", Duration::from_secs(10), || {
        h.state().deployments.len() == 1
    });
    let state = parse_file_commands(&std::fs::read_to_string(h.file("state")).unwrap());
    assert!(!state.contains_key("deployment-id"), "{state:?}");
    let out = h.post(&state);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(states(&h, 0), ["error"]);
    all_final(&h);
}

#[test]
fn a_cancel_while_a_status_write_hangs_posts_the_final_status_at_once_and_again_after_it() {
    // The real clock: the hanging write must outlast neither the read timeout nor the window.
    let mut h = Harness::new();
    h.input("command", "sleep 30");
    pushed(&h);
    // The in-progress status hangs for 3 s, then lands.
    let mut f = fault("POST", "/statuses", 0, 1);
    f.after = true;
    f.delay_ms = 3_000;
    h.fake.fault(f);
    let child = h
        .command(&[])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the in-progress write", Duration::from_secs(10), || {
        h.state().deployments.len() == 1
    });
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let run = h.collect(child.wait_with_output().unwrap());
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "took {:?}: the runner would have killed it",
        sent.elapsed()
    );
    assert_eq!(run.code, 143, "{}", run.stdout);
    // The final status went out before the hanging write landed, and again after it.
    assert_eq!(states(&h, 0), ["error", "in_progress", "error"]);
    assert!(
        run.stdout.contains("the final status was posted again"),
        "{}",
        run.stdout
    );
    all_final(&h);
}

#[test]
fn retry_after_zero_waits_at_least_a_second_and_longer_each_time() {
    // The real clock: the floor is what is checked.
    let h = Harness::new();
    pushed(&h);
    let mut f = fault("POST", "/deployments", 429, 3);
    f.headers.insert("retry-after".into(), "0".into());
    h.fake.fault(f);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    let creates: Vec<u128> = s
        .requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/deployments"))
        .map(|r| r.at_ms)
        .collect();
    assert_eq!(creates.len(), 4, "three refusals, then the create");
    let gaps: Vec<u128> = creates.windows(2).map(|w| w[1] - w[0]).collect();
    for (gap, floor) in gaps.iter().zip([1000, 2000, 4000]) {
        assert!(*gap >= floor, "told 0 s, waited {gap} ms: {gaps:?}");
    }
    assert_eq!(
        run.stdout.matches("rate limited").count(),
        3,
        "one line a wait: {}",
        run.stdout
    );
}

#[test]
fn a_create_that_succeeds_with_an_unreadable_answer_is_found_by_its_key() {
    for (status, raw) in [
        (201, Some(Vec::new())),
        (204, Some(Vec::new())),
        (201, None),
        (201, Some(b"<html>not json</html>".to_vec())),
    ] {
        let mut h = Harness::new();
        short_clock(&mut h);
        pushed(&h);
        // The create happens; the answer names no deployment.
        let mut f = fault("POST", "/deployments", status, 1);
        f.after = true;
        f.raw = raw.clone();
        f.body = serde_json::json!({ "url": "no id here" });
        h.fake.fault(f);
        let run = h.run();
        assert_eq!(run.code, 0, "{status} {raw:?}: {}", run.stdout);
        let s = h.state();
        assert_eq!(
            s.deployments.len(),
            1,
            "{status} {raw:?}: adopted, not made twice"
        );
        assert_eq!(
            run.outputs["deployment-id"],
            s.deployments[0].id.to_string()
        );
        assert_eq!(
            s.deployments[0].statuses.last().map(|x| x.state.as_str()),
            Some("success")
        );
        assert!(
            run.stdout.contains("but its answer could not be read"),
            "{}",
            run.stdout
        );
    }
}

#[test]
fn a_cancel_while_the_create_is_on_the_wire_ends_cancelled_and_finishes_what_lands() {
    // The server makes the deployment 4 s after the create arrives; SIGINT meanwhile.
    let (h, child) = signalled_during_create(4_000, Signal::SIGINT, true);
    let sent = Instant::now();
    let run = h.collect(child.wait_with_output().unwrap());
    assert!(
        sent.elapsed() < Duration::from_secs(10),
        "took {:?}: the runner would have killed it",
        sent.elapsed()
    );
    assert_eq!(run.code, 130, "128 + SIGINT: {}", run.stdout);
    assert_eq!(run.outputs["status"], "cancelled");
    // The late deployment landed within the window and was finished, never left pending.
    assert_eq!(h.state().deployments.len(), 1);
    assert_eq!(states(&h, 0), ["error"]);
    assert!(
        run.stdout.contains("this run could not use it"),
        "{}",
        run.stdout
    );
    // The post step has nothing left to do.
    let writes = h.state().writes().len();
    let out = h.post(&run.state);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert_eq!(h.state().writes().len(), writes);
}

#[test]
fn the_post_step_looks_again_for_a_create_that_lands_after_it_started() {
    // The create lands 5 s after it arrives; the job is killed at once, and the post step
    // starts right away.
    let (h, mut child) = signalled_during_create(5_000, Signal::SIGKILL, false);
    let _ = child.wait();
    assert!(h.state().deployments.is_empty(), "not landed yet");
    let state = parse_file_commands(&std::fs::read_to_string(h.file("state")).unwrap());
    let out = h.post(&state);
    assert_eq!(out.code, 0, "{}", out.stdout);
    assert!(out.stdout.contains("looking again in"), "{}", out.stdout);
    assert_eq!(h.state().deployments.len(), 1);
    assert_eq!(states(&h, 0), ["error"]);
    all_final(&h);
}

#[test]
fn a_short_final_status_timeout_bounds_a_hanging_final_status_and_reads_it_back() {
    // The final status lands at once, and its answer hangs for a minute.
    let mut h = Harness::new();
    h.input("final-status-timeout", "5s");
    pushed(&h);
    let mut f = fault("POST", "/statuses", 0, 1);
    f.skip = 1;
    f.linger_ms = 60_000;
    h.fake.fault(f);
    let started = Instant::now();
    let run = h.run();
    let took = started.elapsed();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "success");
    assert!(
        run.stdout.contains("but GitHub shows it posted"),
        "{}",
        run.stdout
    );
    assert!(
        took < Duration::from_secs(20),
        "bounded by 5 s, not the 30 s read timeout: {took:?}"
    );
    assert_eq!(states(&h, 0), ["in_progress", "success"]);

    // A final status that never lands within the time: said as what is known, and the post step
    // posts it again.
    let mut h = Harness::new();
    h.input("final-status-timeout", "5s");
    h.input("command", "exit 3");
    pushed(&h);
    let mut f = fault("POST", "/statuses", 0, 1);
    f.skip = 1;
    f.delay_ms = 60_000;
    h.fake.fault(f);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(
        error.contains(
            "was sent, but GitHub gave no answer (could not reach GitHub: no answer within "
        ) && error.contains("the post step posts it again")
            && !error.contains("could not be posted"),
        "{error}"
    );
    assert_eq!(
        run.state["deployment-finals"],
        format!("{}:failure", run.outputs["deployment-id"])
    );
    let out = h.post(&run.state);
    assert_eq!(out.code, 0, "{}", out.stdout);
    let last = h.state().deployments[0]
        .statuses
        .last()
        .map(|s| s.state.clone());
    assert_eq!(last.as_deref(), Some("failure"));
}

#[test]
fn a_refusal_whose_body_is_not_utf8_is_its_status_not_a_network_fault() {
    let mut h = Harness::new();
    short_clock(&mut h);
    pushed(&h);
    let mut f = fault("POST", "/deployments", 403, 1);
    f.raw = Some(b"<html><body>Zugriff verweigert f\xfcr diesen Benutzer</body></html>".to_vec());
    h.fake.fault(f);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(
        error.contains("answered 403") && error.contains("Zugriff verweigert f\u{fffd}r"),
        "{error}"
    );
    assert!(
        !error.contains("could not reach") && !run.stdout.contains("retrying"),
        "{}",
        run.stdout
    );
    assert_eq!(
        h.state().requests_to("POST", "/deployments"),
        1,
        "a refusal is sent once"
    );
}

#[test]
fn a_retry_line_names_its_request_once() {
    let mut h = Harness::new();
    short_clock(&mut h);
    pushed(&h);
    h.fake.fault(fault("POST", "/statuses", 502, 1));
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let line = run
        .stdout
        .lines()
        .find(|l| l.contains("retrying in"))
        .expect("a retry line");
    assert_eq!(line.matches("/statuses").count(), 1, "{line}");
}

#[test]
fn every_status_post_that_acts_then_answers_502_leaves_each_status_once() {
    // GitHub (behind a proxy that loses answers) posts every status, then answers 502: each
    // status is read back before it is sent again, so the deployment gets one of each.
    let mut h = Harness::new();
    short_clock(&mut h);
    pushed(&h);
    let mut f = fault("POST", "/statuses", 502, 1000);
    f.after = true;
    h.fake.fault(f);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    assert_eq!(states(&h, 0), ["in_progress", "success"]);
    let s = h.state();
    assert_eq!(
        s.requests_to("POST", "/statuses"),
        2,
        "each status sent once"
    );
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    drop(s);
    assert!(
        run.stdout.contains("but GitHub shows it posted"),
        "{}",
        run.stdout
    );

    // A failed command the same: one `failure`, and the run says failure.
    let mut h = Harness::new();
    short_clock(&mut h);
    h.input("command", "exit 3");
    pushed(&h);
    let mut f = fault("POST", "/statuses", 502, 1000);
    f.after = true;
    h.fake.fault(f);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "failure");
    assert_eq!(states(&h, 0), ["in_progress", "failure"]);
    all_final(&h);
}

#[test]
fn a_status_whose_502_did_not_act_is_sent_again_and_lands_once() {
    // The opposite case: the 502 came before the work. Reading back shows nothing, so the
    // status goes again, and lands once.
    let mut h = Harness::new();
    short_clock(&mut h);
    pushed(&h);
    let mut f = fault("POST", "/statuses", 502, 1);
    f.skip = 1;
    h.fake.fault(f);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(states(&h, 0), ["in_progress", "success"]);
    assert_eq!(h.state().requests_to("POST", "/statuses"), 3);
    assert!(
        run.stdout
            .contains("GitHub does not show the success status; retrying in"),
        "{}",
        run.stdout
    );
}
