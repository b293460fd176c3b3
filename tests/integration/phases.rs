//! Progress phases against the fake GitHub: a real command appends phases to its phase file, the
//! poster posts them on a real deployment beside it, and the final status comes last; the fake
//! refuses a deployment's 101st status as GitHub does, and the status budget never asks for it.
//! The first tests drive the poster directly; the `deploy_` ones run the real binary.

use crate::support::{client, fault, pushed, wait_until, Fake, Harness, OWNER_REPO, TOKEN};
use rollout::command::{self, CommandSpec};
use rollout::github::{ApiError, DeploymentClient, NewDeployment, NewStatus, State};
use rollout::phases::{
    failed_in, is_status_limit, outcome_words, PhaseFile, PhasePoster, StatusBudget,
};
use rollout::signals::Cancel;
use rollout::text::Description;
use std::time::Duration;

const LOG: &str = "https://github.example.com/octo-org/app/actions/runs/1/job/2";

/// Far below GitHub's 10 s, so the test takes seconds; far above a loaded machine's jitter.
const SPACING: Duration = Duration::from_millis(1200);

async fn deployment(client: &DeploymentClient, key: &str) -> u64 {
    let new = NewDeployment {
        git_ref: "1".repeat(40),
        task: "deploy".into(),
        auto_merge: false,
        required_contexts: Vec::new(),
        payload: serde_json::json!({ "rollout": { "key": key } }),
        environment: "production".into(),
        description: Description::new("ship"),
        transient_environment: false,
        production_environment: None,
    };
    client
        .create_deployment(&new, key)
        .await
        .unwrap()
        .deployment
        .id
}

fn statuses(fake: &Fake, id: u64) -> Vec<(String, String)> {
    let state = fake.state();
    let d = state.deployments.iter().find(|d| d.id == id).unwrap();
    d.statuses
        .iter()
        .map(|s| (s.state.clone(), s.description.clone()))
        .collect()
}

fn spec(file: &PhaseFile, script: &str) -> CommandSpec {
    CommandSpec {
        script: script.into(),
        dir: std::env::temp_dir(),
        set: vec![file.variable()],
        remove: Vec::new(),
        timeout: None,
    }
}

#[tokio::test]
async fn phases_reach_the_deployment_in_order_and_the_final_status_names_the_last() {
    let fake = Fake::start();
    let client = client(&fake, TOKEN);
    let id = deployment(&client, "phases-1").await;
    let budget = StatusBudget::new();
    assert!(budget.try_take());
    client
        .create_status(id, &NewStatus::new(State::InProgress, "Deploying", LOG))
        .await
        .unwrap();
    let file = PhaseFile::create().unwrap();
    let script = r#"
        p="$ROLLOUT_PHASE_FILE"
        echo 'Building image' >> "$p"; sleep 2
        echo 'Pushing' >> "$p"; sleep 0.4
        echo 'Rolling out' >> "$p"; sleep 0.4
        echo 'Smoke test' >> "$p"; sleep 1.2
        printf 'Migrating database' >> "$p"
        exit 3
    "#;
    let poster = PhasePoster::new(client.clone(), id, LOG, budget.clone(), Cancel::never())
        .with_spacing(SPACING);
    let mut cancel = Cancel::never();
    let (finished, phases) = poster
        .beside(&file, command::run(&spec(&file, script), &mut cancel))
        .await;
    assert!(phases.late.is_none());
    let record: Vec<&str> = phases
        .record
        .phases
        .iter()
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(
        record,
        [
            "Building image",
            "Pushing",
            "Rolling out",
            "Smoke test",
            "Migrating database"
        ]
    );
    let description = failed_in(
        phases.record.ended_in().unwrap_or_default(),
        &outcome_words(&finished.outcome),
    );
    assert!(budget.take_final());
    client
        .create_status(id, &NewStatus::new(State::Failure, &description, LOG))
        .await
        .unwrap();

    let statuses = statuses(&fake, id);
    assert_eq!(statuses.len() as u32, budget.posted(), "{statuses:?}");
    assert_eq!(statuses[0], ("in_progress".into(), "Deploying".into()));
    assert_eq!(
        statuses.last().unwrap(),
        &(
            "failure".into(),
            "Failed in Migrating database: exit 3".into()
        )
    );
    let posted: Vec<&str> = statuses[1..statuses.len() - 1]
        .iter()
        .map(|(state, description)| {
            assert_eq!(state, "in_progress");
            description.as_str()
        })
        .collect();
    // The first line goes at once; lines within one spacing leave the newest; the line written
    // as the command ended is never posted.
    assert_eq!(posted.first(), Some(&"Building image"), "{posted:?}");
    assert_eq!(posted.last(), Some(&"Smoke test"), "{posted:?}");
    assert!(posted.contains(&"Pushing"), "{posted:?}");
    let order = ["Building image", "Pushing", "Rolling out", "Smoke test"];
    let positions: Vec<usize> = posted
        .iter()
        .map(|p| order.iter().position(|o| o == p).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{posted:?}");
    assert!(
        posted.len() < order.len(),
        "Rolling out was replaced: {posted:?}"
    );

    // The spacing itself is the scheduler's and the poster's, tested on a paused clock
    // (src/phases.rs): arrival times here would measure the machine's load, not rollout.
    assert!(fake.state().violations.is_empty());
}

#[tokio::test]
async fn the_budget_keeps_a_full_deployment_from_its_101st_status() {
    let fake = Fake::start();
    let client = client(&fake, TOKEN);
    let id = deployment(&client, "phases-2").await;
    let budget = StatusBudget::new();
    for n in 0..95 {
        assert!(budget.try_take());
        client
            .create_status(
                id,
                &NewStatus::new(State::InProgress, &format!("re-send {n}"), LOG),
            )
            .await
            .unwrap();
    }
    let file = PhaseFile::create().unwrap();
    let script = r#"
        for phase in one two three four; do
            echo "$phase" >> "$ROLLOUT_PHASE_FILE"; sleep 1.5
        done
    "#;
    let poster = PhasePoster::new(client.clone(), id, LOG, budget.clone(), Cancel::never())
        .with_spacing(SPACING);
    let mut cancel = Cancel::never();
    let (finished, phases) = poster
        .beside(&file, command::run(&spec(&file, script), &mut cancel))
        .await;
    assert!(finished.outcome.success());
    assert_eq!(phases.posted, 2, "95 + 2 leaves the final status its room");
    assert_eq!(phases.record.phases.len(), 4);
    assert!(budget.take_final());
    client
        .create_status(id, &NewStatus::new(State::Success, "Deployed in 6s", LOG))
        .await
        .unwrap();
    let statuses = statuses(&fake, id);
    assert_eq!(statuses.len(), 98);
    assert_eq!(statuses[95].1, "one");
    assert_eq!(statuses[97].0, "success");

    // Two more fill the deployment; GitHub (and the fake) refuse the next one.
    for _ in 0..2 {
        assert!(budget.take_final());
        client
            .create_status(id, &NewStatus::new(State::Success, "again", LOG))
            .await
            .unwrap();
    }
    assert!(!budget.take_final(), "rollout never asks for a 101st");
    let refused = client
        .create_status(id, &NewStatus::new(State::Success, "101st", LOG))
        .await
        .unwrap_err();
    assert!(is_status_limit(&refused), "{refused}");
    assert!(matches!(refused, ApiError::Status { status: 422, .. }));
    assert!(
        refused.to_string().contains("GitHub answered 422"),
        "{refused}"
    );
    assert_eq!(self::statuses(&fake, id).len(), 100);
}

/// `ROLLOUT_TEST_TIME_SCALE` for the binary: the 10 s between phase statuses become 1 s.
const SCALE: &str = "0.1";

/// The (state, description) of the one deployment's statuses, oldest first.
fn the_statuses(h: &Harness) -> Vec<(String, String)> {
    let s = h.state();
    assert_eq!(s.deployments.len(), 1);
    s.deployments[0]
        .statuses
        .iter()
        .map(|st| (st.state.clone(), st.description.clone()))
        .collect()
}

/// A push deploy of `command` with no supersede read, whose statuses are the phases' alone.
fn phased(command: &str) -> Harness {
    let mut h = Harness::new();
    h.input("supersede", "false");
    h.input("command", command);
    h
}

fn pair(state: &str, description: &str) -> (String, String) {
    (state.to_string(), description.to_string())
}

#[test]
fn deploy_posts_each_phase_between_in_progress_and_the_final_status() {
    let mut h = Harness::new();
    h.input("supersede", "false");
    h.var("ROLLOUT_TEST_TIME_SCALE", SCALE);
    // Two spacings between lines: each phase gets its own status, however loaded the machine.
    h.input(
        "command",
        r#"p="$ROLLOUT_PHASE_FILE"
           echo 'Building image' >> "$p"; sleep 2
           echo 'Pushing image' >> "$p"; sleep 2
           echo 'Rolling out' >> "$p"; sleep 2"#,
    );
    let sha = pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let deploying = format!("Deploying main ({})", &sha[..7]);
    let mut statuses = the_statuses(&h);
    let (last, description) = statuses.pop().unwrap();
    assert_eq!(last, "success");
    assert!(description.starts_with("Deployed in "), "{description}");
    assert_eq!(
        statuses,
        [
            pair("in_progress", &deploying),
            pair("in_progress", "Building image"),
            pair("in_progress", "Pushing image"),
            pair("in_progress", "Rolling out"),
        ]
    );
    let s = h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let log = "https://github.example.com/octo-org/app/actions/runs/1658821493/attempts/2";
    assert!(s.deployments[0]
        .statuses
        .iter()
        .all(|st| st.log_url.as_deref() == Some(log)));
    drop(s);
    // The summary's table, in order; the log marks each phase once.
    let rows: Vec<&str> = run
        .summary
        .lines()
        .filter(|l| l.starts_with("| ") && l.ends_with("s |") && l.contains(" | +"))
        .collect();
    assert!(
        run.summary.contains("| Phase | Start | Duration |"),
        "{}",
        run.summary
    );
    assert_eq!(rows.len(), 3, "{}", run.summary);
    // Each phase is rounded at its start and end, so the durations add up to the run's own.
    let (phases, total) = phase_and_run_seconds(&run.summary);
    assert_eq!(phases.iter().sum::<u64>(), total, "{}", run.summary);
    for (row, phase) in rows
        .iter()
        .zip(["Building image", "Pushing image", "Rolling out"])
    {
        assert!(row.starts_with(&format!("| {phase} | +")), "{row}");
    }
    // Its start is two seconds of sleep after the first line, on however loaded a machine.
    assert!(
        ["| Pushing image | +2s |", "| Pushing image | +3s |"]
            .iter()
            .any(|r| rows[1].starts_with(r)),
        "{}",
        rows[1]
    );
    for phase in ["Building image", "Pushing image", "Rolling out"] {
        assert_eq!(
            run.stdout.matches(&format!("phase: {phase}\n")).count(),
            1,
            "{}",
            run.stdout
        );
    }
}

#[test]
fn deploy_failing_in_a_phase_names_it_in_the_final_status() {
    let h = phased(
        r#"echo 'Building image' >> "$ROLLOUT_PHASE_FILE"; sleep 0.3
           echo 'Migrating database' >> "$ROLLOUT_PHASE_FILE"
           echo 'the database said no' >&2; exit 4"#,
    );
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let statuses = the_statuses(&h);
    assert_eq!(
        statuses.last(),
        Some(&pair("failure", "Failed in Migrating database: exit 4"))
    );
    // Between the first and the last: only phases, in the order written; the line the command
    // wrote as it failed may be cut short by the end, never posted after it.
    let between: Vec<&str> = statuses[1..statuses.len() - 1]
        .iter()
        .map(|(state, d)| {
            assert_eq!(state, "in_progress");
            d.as_str()
        })
        .collect();
    assert!(
        ["Building image", "Migrating database"].starts_with(&between),
        "{between:?}"
    );
    assert_eq!(run.outputs["status"], "failure");
    assert!(
        run.summary
            .contains("| Result | Failed in Migrating database: exit 4 |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("| Migrating database | +"),
        "{}",
        run.summary
    );
    // The job log says the whole sentence beside the phase; the API never gets the output.
    assert!(
        run.the_error().starts_with(
            "::error::Failed in Migrating database: the command exited with code 4 after"
        ),
        "{}",
        run.stdout
    );
    assert!(!statuses.iter().any(|(_, d)| d.contains("said no")));

    // A phase longer than GitHub's 140 characters: the description is cut in the phase.
    let h = phased(r#"printf 'Migrating %0200d' 0 >> "$ROLLOUT_PHASE_FILE"; exit 1"#);
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let (state, description) = the_statuses(&h).pop().unwrap();
    assert_eq!(state, "failure");
    assert_eq!(description.chars().count(), 140, "{description}");
    assert!(
        description.starts_with("Failed in Migrating 000"),
        "{description}"
    );
    assert!(description.ends_with("…: exit 1"), "{description}");
    assert!(h.state().violations.is_empty());
}

#[test]
fn deploy_whose_command_never_writes_its_phase_file_posts_what_it_always_did() {
    let mut h = Harness::new();
    // The file is there, empty, for the command to append to.
    h.input(
        "command",
        r#"test -f "$ROLLOUT_PHASE_FILE" && test ! -s "$ROLLOUT_PHASE_FILE""#,
    );
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let states: Vec<String> = the_statuses(&h).into_iter().map(|(s, _)| s).collect();
    assert_eq!(states, ["in_progress", "success"]);
    let s = h.state();
    let id = s.deployments[0].id;
    // One read of its statuses, the supersede check beside the final status: no phase gate read.
    let reads = s
        .requests
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains(&format!("/deployments/{id}/statuses")))
        .count();
    assert_eq!(reads, 1, "{:#?}", s.requests);
    assert_eq!(s.status_writes(id), 2);
    drop(s);
    assert!(!run.summary.contains("| Phase |"), "{}", run.summary);
    assert!(!run.stdout.contains("phase:"), "{}", run.stdout);
}

#[test]
fn deploy_on_a_deployment_near_githubs_limit_keeps_room_for_the_final_status() {
    let mut h = Harness::new();
    h.input("supersede", "false");
    h.var("ROLLOUT_TEST_TIME_SCALE", SCALE);
    let go = h.file("go");
    h.var("PHASES_GO", go.to_str().unwrap());
    // Its phases wait until the deployment holds 96 statuses: others posted on it meanwhile.
    h.input(
        "command",
        r#"while [ ! -e "$PHASES_GO" ]; do sleep 0.05; done
           for phase in one two three four; do
             echo "$phase" >> "$ROLLOUT_PHASE_FILE"; sleep 1.5
           done"#,
    );
    pushed(&h);
    let child = h
        .command(&[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the in-progress status", Duration::from_secs(30), || {
        h.state()
            .deployments
            .first()
            .is_some_and(|d| !d.statuses.is_empty())
    });
    {
        let mut s = h.state();
        let d = &mut s.deployments[0];
        let template = d.statuses[0].clone();
        for n in 0..95 {
            d.statuses.push(fake_github::Status {
                id: 1_000_000 + n,
                state: "in_progress".into(),
                description: format!("someone else's {n}"),
                ..template.clone()
            });
        }
        assert_eq!(d.statuses.len(), 96);
    }
    std::fs::write(&go, "").unwrap();
    let run = h.collect(child.wait_with_output().unwrap());
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let statuses = the_statuses(&h);
    // One phase fits beside the final status's room (97); the rest would have reached 100 and
    // left the final status refused.
    assert_eq!(statuses.len(), 98, "{:?}", &statuses[96..]);
    assert_eq!(statuses[96], pair("in_progress", "one"));
    assert_eq!(statuses[97].0, "success");
    let s = h.state();
    assert!(
        s.requests.iter().all(|r| r.status != 422),
        "GitHub was asked for more statuses than it keeps"
    );
    drop(s);
    assert!(
        run.stdout
            .contains("close to GitHub's limit of 100 statuses"),
        "{}",
        run.stdout
    );
    // Every phase is still in the summary.
    for phase in ["one", "two", "three", "four"] {
        assert!(
            run.summary.contains(&format!("| {phase} | +")),
            "{}",
            run.summary
        );
    }
}

#[test]
fn deploy_cancelled_with_a_phase_on_the_wire_posts_its_final_status_in_time() {
    let h = phased(r#"echo 'Building image' >> "$ROLLOUT_PHASE_FILE"; sleep 60"#);
    pushed(&h);
    // The phase status lands at once, but its answer takes 20 s to come back.
    let mut slow = fault("POST", "/statuses", 0, 1);
    slow.after = true;
    slow.skip = 1;
    slow.delay_ms = 20_000;
    h.fake.fault(slow);
    let child = h
        .command(&[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the phase status", Duration::from_secs(30), || {
        h.state()
            .deployments
            .first()
            .is_some_and(|d| d.statuses.iter().any(|s| s.description == "Building image"))
    });
    let sent = std::time::Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let run = h.collect(child.wait_with_output().unwrap());
    let took = sent.elapsed();
    // The runner kills the job 10 s after its first signal.
    assert!(took < Duration::from_secs(9), "took {took:?}");
    assert_eq!(run.code, 130, "{}", run.stdout);
    let statuses = the_statuses(&h);
    assert_eq!(statuses[1], pair("in_progress", "Building image"));
    let (state, description) = statuses.last().unwrap();
    assert_eq!(state, "error");
    assert!(
        description.starts_with("Cancelled in Building image: SIGINT after "),
        "a cancel names its phase: {description}"
    );
}

#[test]
fn the_post_step_never_asks_for_a_full_deployments_101st_status() {
    let h = Harness::new();
    let (full, room) = {
        let mut s = h.state();
        let ids = s.seed("production", 2, Some("in_progress"), false);
        let d = s.deployments.iter_mut().find(|d| d.id == ids[0]).unwrap();
        let template = d.statuses[0].clone();
        for n in 1..100 {
            d.statuses.push(fake_github::Status {
                id: 2_000_000 + n,
                ..template.clone()
            });
        }
        (ids[0], ids[1])
    };
    let state = [
        ("deployment-ids".to_string(), format!("{full},{room}")),
        (
            "deployment-finals".to_string(),
            format!("{full}:success,{room}:success"),
        ),
    ]
    .into_iter()
    .collect();
    let run = h.post(&state);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.the_error().contains(&format!(
            "deployment {full} is not final, but it has 100 statuses, GitHub's limit"
        )),
        "{}",
        run.stdout
    );
    let s = h.state();
    assert_eq!(s.status_writes(full), 0, "the 101st is never asked for");
    assert!(s.requests.iter().all(|r| r.status != 422));
    // The other one, with room, gets its final status again.
    assert_eq!(s.status_writes(room), 1);
    let other = s.deployments.iter().find(|d| d.id == room).unwrap();
    assert_eq!(other.state(), Some("success"));
}

#[test]
fn deploy_of_a_preview_shows_its_phases_in_the_sticky_comment() {
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}");
    h.input("supersede", "false");
    h.input(
        "command",
        r#"echo 'Building preview' >> "$ROLLOUT_PHASE_FILE"; sleep 0.3
           echo 'Starting preview' >> "$ROLLOUT_PHASE_FILE""#,
    );
    let base = h.commit(&[("README.md", "x\n")], "initial");
    crate::support::git(&h.workspace, &["checkout", "-q", "-b", "feature/reports"]);
    let head = h.commit(&[("app.txt", "v2\n")], "add reports");
    h.chown_workspace();
    h.event(
        "pull_request",
        &crate::support::pr_payload(
            "opened",
            42,
            &head,
            "feature/reports",
            &base,
            OWNER_REPO,
            "Add reports",
        ),
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert_eq!(s.comments.len(), 1);
    let body = &s.comments[0].body;
    assert!(body.contains("| Phase | Start | Duration |"), "{body}");
    let building = body.find("| Building preview | +0s |");
    let starting = body.find("| Starting preview | +");
    assert!(
        building.is_some() && building < starting,
        "each phase, in order: {body}"
    );
}

#[test]
fn deploy_with_a_phase_landing_after_the_final_status_posts_the_final_status_again() {
    let mut h = Harness::new();
    h.input("supersede", "false");
    // 0.1: the phase on the wire is awaited 3 s after the command ends, and a retry-after of
    // 50 s is a 5 s wait.
    h.var("ROLLOUT_TEST_TIME_SCALE", SCALE);
    h.input(
        "command",
        r#"echo 'Migrating database' >> "$ROLLOUT_PHASE_FILE"; sleep 0.5"#,
    );
    pushed(&h);
    // The phase's post meets a secondary rate limit: its retry lands after the final status.
    let mut limited = fault("POST", "/statuses", 403, 1);
    limited.skip = 1;
    limited.headers.insert("retry-after".into(), "50".into());
    limited.body = serde_json::json!({
        "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
    });
    h.fake.fault(limited);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let states: Vec<(String, String)> = the_statuses(&h)
        .into_iter()
        .map(|(state, description)| {
            let shown = if description.starts_with("Deployed in ") {
                "Deployed".to_string()
            } else {
                description
            };
            (state, shown)
        })
        .collect();
    let deploying = states[0].1.clone();
    assert_eq!(
        states,
        [
            pair("in_progress", &deploying),
            pair("success", "Deployed"),
            pair("in_progress", "Migrating database"),
            pair("success", "Deployed"),
        ],
        "the final status goes again, so the deployment ends as it did"
    );
    assert!(
        run.stdout.contains("the final status was posted again"),
        "{}",
        run.stdout
    );
}

/// The command's own files replaced by FIFOs: `rm "$F"; mkfifo "$F"`.
const FIFOS: &str = r#"rm -f "$ROLLOUT_PHASE_FILE" "$ROLLOUT_URL_FILE"
    mkfifo "$ROLLOUT_PHASE_FILE" "$ROLLOUT_URL_FILE""#;

/// rollout started, then `signal` (if any) once the command has put its FIFOs in place; its run,
/// and how long it took after the FIFOs were there. A rollout that is still running after 30 s
/// hung: it is killed and the test fails, rather than hanging the suite.
fn bounded(
    h: &Harness,
    signal: Option<nix::sys::signal::Signal>,
) -> (crate::support::Run, Duration) {
    let mut child = h
        .command(&[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let marker = h.file("fifos-made");
    wait_until("the command's FIFOs", Duration::from_secs(30), || {
        marker.exists()
    });
    let since = std::time::Instant::now();
    if let Some(signal) = signal {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
    }
    while child.try_wait().unwrap().is_none() {
        if since.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "rollout hung on the FIFOs:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = since.elapsed();
    (h.collect(child.wait_with_output().unwrap()), took)
}

fn fifo_command(h: &mut Harness, rest: &str) {
    let marker = h.file("fifos-made");
    h.input(
        "command",
        &format!("{FIFOS}\n    touch '{}'\n    {rest}", marker.display()),
    );
}

#[test]
fn deploy_whose_phase_file_becomes_a_fifo_still_times_out_and_posts_its_final_status() {
    let mut h = phased("");
    h.input("timeout", "2s");
    fifo_command(&mut h, "sleep 60");
    pushed(&h);
    let (run, took) = bounded(&h, None);
    assert!(took < Duration::from_secs(15), "took {took:?}");
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let statuses = the_statuses(&h);
    let (state, description) = statuses.last().unwrap();
    assert_eq!(state, "failure", "{statuses:?}");
    assert!(
        description.contains("timed out") && description.contains("2s"),
        "{description}"
    );
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    assert_eq!(
        run.outputs.get("status").map(String::as_str),
        Some("failure")
    );
    assert!(
        run.stdout.contains("is not a regular file (a FIFO)"),
        "{}",
        run.stdout
    );
}

#[test]
fn deploy_whose_phase_file_becomes_a_fifo_still_answers_sigterm() {
    let mut h = phased("");
    fifo_command(&mut h, "sleep 60");
    pushed(&h);
    let (run, took) = bounded(&h, Some(nix::sys::signal::Signal::SIGTERM));
    // The runner kills the job 10 s after its first signal.
    assert!(took < Duration::from_secs(9), "took {took:?}");
    assert_eq!(run.code, 143, "{}\n{}", run.stdout, run.stderr);
    let statuses = the_statuses(&h);
    let (state, description) = statuses.last().unwrap();
    assert_eq!(state, "error", "{statuses:?}");
    assert!(
        description.starts_with("Cancelled by SIGTERM"),
        "{description}"
    );
}

#[test]
fn deploy_whose_phase_and_url_files_become_fifos_succeeds_without_them() {
    let mut h = phased("");
    h.input("environment-url", "https://example.com/fallback");
    fifo_command(&mut h, "echo deployed");
    pushed(&h);
    let (run, _) = bounded(&h, None);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let statuses = the_statuses(&h);
    assert_eq!(statuses.len(), 2, "{statuses:?}");
    let (state, description) = statuses.last().unwrap();
    assert_eq!(state, "success", "{statuses:?}");
    assert!(description.starts_with("Deployed in "), "{description}");
    // The URL file was a FIFO: ignored with a warning, and the input's URL stands.
    assert!(
        run.stdout.contains("ignoring ROLLOUT_URL_FILE") && run.stdout.contains("(a FIFO)"),
        "{}",
        run.stdout
    );
    let s = h.state();
    assert_eq!(
        s.deployments[0]
            .statuses
            .last()
            .unwrap()
            .environment_url
            .as_deref(),
        Some("https://example.com/fallback")
    );
    assert!(s.violations.is_empty(), "{:?}", s.violations);
}

/// The phase table's durations and the run's Duration row, in whole seconds.
fn phase_and_run_seconds(summary: &str) -> (Vec<u64>, u64) {
    let seconds = |cell: &str| -> u64 {
        cell.trim()
            .trim_end_matches('s')
            .parse()
            .unwrap_or_else(|_| panic!("{cell:?} is not whole seconds"))
    };
    let phases = summary
        .lines()
        .filter(|l| l.starts_with("| ") && l.ends_with("s |") && l.contains(" | +"))
        .map(|row| seconds(row.trim_matches('|').rsplit('|').next().unwrap_or("")))
        .collect();
    let run = summary
        .lines()
        .find_map(|l| l.strip_prefix("| Duration | "))
        .map(|cell| seconds(cell.trim_end_matches('|')))
        .unwrap_or_else(|| panic!("no Duration row:\n{summary}"));
    (phases, run)
}

#[test]
fn phase_durations_add_up_to_the_run() {
    // Three phases of about 1.6 s: cut to whole seconds each would show 1s, 1s, 1s of a 5 s run.
    let h = phased(
        r#"p="$ROLLOUT_PHASE_FILE"
           echo 'One' >> "$p"; sleep 1.6
           echo 'Two' >> "$p"; sleep 1.6
           echo 'Three' >> "$p"; sleep 1.6"#,
    );
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let (phases, total) = phase_and_run_seconds(&run.summary);
    assert_eq!(phases.len(), 3, "{}", run.summary);
    assert_eq!(phases.iter().sum::<u64>(), total, "{}", run.summary);
}
