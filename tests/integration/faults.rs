//! Fault injection end to end: signals, timeouts, API faults, split steps and the post step.
//! Every deployment created must end final; no fault may create two.

use crate::support::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn all_final(h: &Harness) {
    let s = h.state();
    for d in &s.deployments {
        assert!(d.is_final(), "deployment {} ended {:?}", d.id, d.state());
    }
}

/// Starts rollout with a long command, waits until the deployment is in progress and the
/// command's child has written its pid.
fn start_long(h: &mut Harness) -> (std::process::Child, i32) {
    h.input("command", "sleep 60 & echo $! > \"$HOME/child\"; wait");
    pushed(h);
    let child = h
        .command(&[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pidfile = h.file("child");
    wait_until("the command to start", Duration::from_secs(20), || {
        std::fs::read_to_string(&pidfile).is_ok_and(|t| !t.trim().is_empty())
    });
    let grandchild = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    (child, grandchild)
}

fn gone(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_err()
        || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[test]
fn sigterm_during_a_long_command_posts_the_final_status_in_time() {
    let mut h = Harness::new();
    let (child, grandchild) = start_long(&mut h);
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    let took = sent.elapsed();
    let run = h.collect(out);
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(run.code, 143, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "cancelled");
    let s = h.state();
    let last = s.deployments[0].statuses.last().unwrap();
    assert_eq!(last.state, "error");
    assert!(
        last.description.starts_with("Cancelled by SIGTERM"),
        "{}",
        last.description
    );
    drop(s);
    wait_until("the command's child to go", Duration::from_secs(5), || {
        gone(grandchild)
    });
}

#[test]
fn sigint_then_sigterm_still_posts_the_final_status() {
    let mut h = Harness::new();
    let (child, grandchild) = start_long(&mut h);
    let pid = Pid::from_raw(child.id() as i32);
    kill(pid, Signal::SIGINT).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let _ = kill(pid, Signal::SIGTERM);
    let run = h.collect(child.wait_with_output().unwrap());
    assert_eq!(run.code, 130, "the first signal counts: {}", run.stdout);
    let s = h.state();
    let last = s.deployments[0].statuses.last().unwrap();
    assert_eq!(last.state, "error");
    assert!(last.description.contains("SIGINT"));
    drop(s);
    wait_until("the command's child to go", Duration::from_secs(5), || {
        gone(grandchild)
    });
}

#[test]
fn a_command_that_runs_past_its_timeout_fails() {
    let mut h = Harness::new();
    h.input("timeout", "1s");
    h.input("command", "sleep 30");
    pushed(&h);
    let started = Instant::now();
    let run = h.run();
    assert!(started.elapsed() < Duration::from_secs(15));
    assert_eq!(run.code, 1);
    let s = h.state();
    let last = s.deployments[0].statuses.last().unwrap();
    assert_eq!(last.state, "failure");
    assert!(
        last.description.contains("timed out"),
        "{}",
        last.description
    );
    drop(s);
    all_final(&h);
}

#[test]
fn a_status_post_that_fails_twice_with_502_is_retried() {
    let h = Harness::new();
    h.fake.fault(fault("POST", "/statuses", 502, 2));
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert_eq!(s.deployments[0].state(), Some("success"));
    assert_eq!(s.requests.iter().filter(|r| r.status == 502).count(), 2);
    drop(s);
    all_final(&h);
}

#[test]
fn an_ambiguous_502_on_create_adopts_the_deployment_instead_of_making_two() {
    let h = Harness::new();
    let mut f = fault("POST", "/deployments", 502, 1);
    f.after = true;
    h.fake.fault(f);
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert_eq!(s.deployments.len(), 1, "exactly one deployment");
    assert_eq!(s.deployments[0].state(), Some("success"));
    assert_eq!(
        s.requests_to("POST", "/deployments"),
        1 + 2,
        "one create, two statuses"
    );
    drop(s);
    all_final(&h);
}

#[test]
fn a_502_before_the_create_is_tried_again_after_looking() {
    let h = Harness::new();
    h.fake.fault(fault("POST", "/deployments", 502, 1));
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert_eq!(s.deployments.len(), 1);
    assert_eq!(s.deployments[0].state(), Some("success"));
}

#[test]
fn a_429_with_retry_after_is_honoured() {
    let h = Harness::new();
    let mut f = fault("POST", "/deployments", 429, 1);
    f.headers.insert("retry-after".into(), "1".into());
    h.fake.fault(f);
    pushed(&h);
    let started = Instant::now();
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited for retry-after"
    );
    assert_eq!(h.state().deployments.len(), 1);
    all_final(&h);
}

#[test]
fn a_secondary_rate_limit_403_is_waited_out() {
    let h = Harness::new();
    let mut f = fault("POST", "/statuses", 403, 1);
    f.body = serde_json::json!({ "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again." });
    f.headers.insert("retry-after".into(), "1".into());
    h.fake.fault(f);
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(h.state().deployments[0].state(), Some("success"));
}

#[test]
fn connection_refused_for_two_seconds_is_survived() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let h = Harness::new();
    pushed(&h);
    let mut cmd = h.command(&[]);
    cmd.env("GITHUB_API_URL", format!("http://127.0.0.1:{port}"))
        .env(
            "GITHUB_GRAPHQL_URL",
            format!("http://127.0.0.1:{port}/graphql"),
        );
    let child = cmd.stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_secs(2));
    let late = Fake::start_on(port);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let s = late.state();
    assert_eq!(s.deployments.len(), 1);
    assert_eq!(s.deployments[0].state(), Some("success"));
}

#[test]
fn start_and_finish_in_two_processes() {
    let mut h = Harness::new();
    h.input("step", "start");
    h.inputs.remove("command");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "started");
    let id = run.outputs["deployment-id"].clone();
    assert_eq!(run.state["deployment-id"], id);
    assert_eq!(h.state().deployments[0].state(), Some("in_progress"));
    h.input("step", "finish")
        .input("deployment-id", &id)
        .input("status", "success");
    h.input("environment-url", "https://{environment}.example.com");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "success");
    let s = h.state();
    let last = s.deployments[0].statuses.last().unwrap();
    assert_eq!(last.state, "success");
    assert_eq!(
        last.environment_url.as_deref(),
        Some("https://production.example.com")
    );
}

#[test]
fn finish_fills_branch_from_the_event_and_refuses_a_number_a_push_has_not() {
    let mut h = Harness::new();
    h.input("step", "start");
    h.inputs.remove("command");
    let sha = pushed(&h);
    let id = h.run().outputs["deployment-id"].clone();
    h.input("step", "finish")
        .input("deployment-id", &id)
        .input("status", "success");
    // `{number}` has no value on a push: one sentence, exit 2, and the deployment untouched.
    h.input("environment-url", "https://pr-{number}.example.com");
    let before = h.state().requests.len();
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stdout.contains("`{number}` has no value in this run"),
        "{}",
        run.stdout
    );
    assert_eq!(h.state().requests.len(), before, "a request was made");
    assert_eq!(h.state().deployments[0].state(), Some("in_progress"));
    h.input(
        "environment-url",
        "https://{branch}-{short_sha}.{environment}.example.com",
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert_eq!(
        s.deployments[0].statuses.last().unwrap().environment_url,
        Some(format!("https://main-{}.production.example.com", &sha[..7]))
    );
}

#[test]
fn finish_with_cancelled_posts_error() {
    let mut h = Harness::new();
    h.input("step", "start");
    pushed(&h);
    let id = h.run().outputs["deployment-id"].clone();
    h.input("step", "finish")
        .input("deployment-id", &id)
        .input("status", "cancelled");
    let run = h.run();
    assert_eq!(run.code, 0, "the step did its work: {}", run.stdout);
    assert_eq!(run.outputs["status"], "cancelled");
    let s = h.state();
    assert_eq!(s.deployments[0].state(), Some("error"));
}

fn post(h: &Harness, id: &str) -> Run {
    h.post(&BTreeMap::from([(
        "deployment-id".to_string(),
        id.to_string(),
    )]))
}

#[test]
fn the_post_step_finishes_a_start_without_finish() {
    let mut h = Harness::new();
    h.input("step", "start");
    pushed(&h);
    let id = h.run().outputs["deployment-id"].clone();
    let run = post(&h, &id);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    let last = s.deployments[0].statuses.last().unwrap();
    assert_eq!(last.state, "error");
    assert_eq!(
        last.description,
        "The job ended before the deployment finished"
    );
}

#[test]
fn the_post_step_reads_the_jobs_outcome_when_it_can() {
    let mut h = Harness::new();
    h.input("step", "start");
    pushed(&h);
    let id = h.run().outputs["deployment-id"].clone();
    h.state().jobs = serde_json::json!([
        { "id": 1, "status": "completed", "runner_name": "other", "steps": [] },
        { "id": 2, "status": "in_progress", "runner_name": "GitHub Actions 7",
          "steps": [ { "name": "deploy", "conclusion": "failure" }, { "name": "post", "conclusion": null } ] }
    ]);
    let run = post(&h, &id);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(h.state().deployments[0].state(), Some("failure"));
}

#[test]
fn the_post_step_after_a_normal_deploy_writes_nothing() {
    let h = Harness::new();
    pushed(&h);
    let run = h.run();
    let id = run.outputs["deployment-id"].clone();
    let writes = h.state().writes().len();
    let run = post(&h, &id);
    assert_eq!(run.code, 0);
    assert_eq!(h.state().writes().len(), writes, "no write call");
    let run = post(&h, "");
    assert_eq!(run.code, 0);
    assert_eq!(h.state().writes().len(), writes);
    assert!(
        run.stdout.contains(
            "post: the main step saved no deployment id and no create key (no STATE_deployment-id or STATE_deployment-key): either it sent no create, or it could not write GITHUB_STATE"
        ),
        "the post step says what it knows: {}",
        run.stdout
    );
    let run = post(&h, "12abc");
    assert_eq!(run.code, 0);
    assert_eq!(h.state().writes().len(), writes);
    assert!(
        run.stdout
            .contains("post: STATE_deployment-id is \"12abc\", which is not a deployment id"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_newer_deploy_supersedes_an_in_progress_one_which_stays_inactive() {
    let mut h = Harness::new();
    h.input("step", "start");
    pushed(&h);
    let old = h.run().outputs["deployment-id"].clone();
    h.input("step", "deploy");
    h.var("GITHUB_RUN_ID", "1658821999");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.contains(&format!(
            "deployment {old} was still in_progress; marked inactive (superseded)"
        )),
        "{}",
        run.stdout
    );
    h.input("step", "finish")
        .input("deployment-id", &old)
        .input("status", "success");
    let run = h.run();
    assert_eq!(run.code, 0);
    assert_eq!(run.outputs["status"], "inactive");
    let s = h.state();
    assert_eq!(
        s.deployments[0].state(),
        Some("inactive"),
        "the old run's finish left it inactive"
    );
    assert_eq!(s.deployments[1].state(), Some("success"));
}

#[test]
fn a_final_status_that_cannot_be_posted_is_an_error_naming_the_deployment() {
    let mut h = Harness::new();
    pushed(&h);
    // The in_progress status passes; the final one fails on every try, for longer than
    // `final-status-timeout`.
    let mut f = fault("POST", "/statuses", 502, 1000);
    f.skip = 1;
    h.fake.fault(f);
    h.input("final-status-timeout", "3s");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run
        .stdout
        .lines()
        .find(|l| l.starts_with("::error::"))
        .unwrap_or_default()
        .to_string();
    assert!(error.contains("could not be posted"), "{error}");
    assert!(
        error.contains(&format!("deployment {}", h.state().deployments[0].id)),
        "{error}"
    );
    // The post step gets another chance once the API recovers.
    h.state().faults.clear();
    let id = run.state["deployment-id"].clone();
    assert_eq!(post(&h, &id).code, 0);
    all_final(&h);
}

/// 200 deploys against the fake with 20% random faults (502 before or after the work, 429,
/// secondary limits of a minute, successes that answer after the read timeout), each followed by
/// its post step with the state the main step saved, as the runner does: zero non-final
/// deployments, and no run with two deployments but one it abandoned and finished. rollout runs on
/// the short clock (`ROLLOUT_TEST_TIME_SCALE=0.01`: a minute's wait is 0.6 s, the read timeout
/// 0.3 s, a late success 0.4 s after the request). Run with
/// `cargo test --release --test faults -- --ignored soak --nocapture`.
#[test]
#[ignore]
fn soak_200_deploys_with_random_faults() {
    let h = Harness::new();
    pushed(&h);
    h.state().chaos = Some(fake_github::Chaos {
        percent: 20,
        seed: 0x5eed_1234_abcd_0001,
        late_ms: 400,
        injected: 0,
    });
    let started = Instant::now();
    let mut codes = BTreeMap::new();
    let mut post_codes = BTreeMap::new();
    for run_id in 0..200 {
        let out = h
            .command(&[])
            .env("GITHUB_RUN_ID", format!("soak-{run_id}"))
            .env("ROLLOUT_TEST_TIME_SCALE", "0.01")
            .output()
            .unwrap();
        *codes.entry(out.status.code().unwrap_or(-1)).or_insert(0) += 1;
        let state =
            parse_file_commands(&std::fs::read_to_string(h.file("state")).unwrap_or_default());
        // The job's other steps take time; by its post step a late success has landed.
        std::thread::sleep(Duration::from_millis(500));
        let out = h
            .post_command(&state)
            .env("GITHUB_RUN_ID", format!("soak-{run_id}"))
            .env("ROLLOUT_TEST_TIME_SCALE", "0.01")
            .output()
            .unwrap();
        *post_codes
            .entry(out.status.code().unwrap_or(-1))
            .or_insert(0) += 1;
    }
    let took = started.elapsed();
    let s = h.state();
    let non_final = s.deployments.iter().filter(|d| !d.is_final()).count();
    let abandoned = |d: &fake_github::Deployment| {
        d.statuses
            .last()
            .is_some_and(|st| st.description == "Abandoned after an ambiguous create")
    };
    let mut per_run: BTreeMap<String, usize> = BTreeMap::new();
    for d in s.deployments.iter().filter(|d| !abandoned(d)) {
        *per_run
            .entry(d.payload["run_id"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
    }
    let duplicates = per_run.values().filter(|n| **n > 1).count();
    for (run, _) in per_run.iter().filter(|(_, n)| **n > 1) {
        for d in s
            .deployments
            .iter()
            .filter(|d| d.payload["run_id"] == run.as_str())
        {
            let statuses: Vec<String> = d
                .statuses
                .iter()
                .map(|st| format!("{} ({})", st.state, st.description))
                .collect();
            println!("run {run}: deployment {} {:?}", d.id, statuses);
        }
    }
    let abandoned = s.deployments.iter().filter(|d| abandoned(d)).count();
    let writes = s.requests.iter().filter(|r| r.is_write()).count();
    println!(
        "soak: {} runs in {:.0} s, exit codes {codes:?}, post steps {post_codes:?}, {} deployments ({abandoned} abandoned after a late create, finished error), {} faults injected, {} requests ({writes} writes), {non_final} non-final, {duplicates} runs with two live deployments",
        200,
        took.as_secs_f64(),
        s.deployments.len(),
        s.chaos.as_ref().map(|c| c.injected).unwrap_or(0),
        s.requests.len(),
    );
    assert_eq!(non_final, 0);
    assert_eq!(duplicates, 0);
}

#[test]
fn a_cancel_during_an_api_outage_still_ends_before_the_runners_kill() {
    let mut h = Harness::new();
    let (child, _) = start_long(&mut h);
    // Every status post from now on is refused with a long retry-after.
    let mut f = fault("POST", "/statuses", 503, 1000);
    f.headers.insert("retry-after".into(), "30".into());
    h.fake.fault(f);
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let run = h.collect(child.wait_with_output().unwrap());
    let took = sent.elapsed();
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}: the runner would have killed it"
    );
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.the_error().contains("could not be posted"),
        "{}",
        run.stdout
    );
    // The saved id lets the post step finish it once the API answers again.
    h.state().faults.clear();
    assert_eq!(post(&h, &run.state["deployment-id"]).code, 0);
    all_final(&h);
}
