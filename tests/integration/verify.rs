//! `verify`, `verify-timeout` and `on-failure: rollback` through the binary, against the fake and
//! a real git repository: commits A, B and C; A and B deployed to production with success; the
//! push of C deploys it, and a failure rolls production back to B in the same run.

use crate::support::history::*;
use crate::support::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::json;
use std::time::{Duration, Instant};

/// A, B and C committed, A and B deployed with success (A then marked inactive, as GitHub's
/// `auto_inactive` does), and C pushed to main. The command records what it deployed and edits a
/// tracked file, as a build might.
fn pushed_abc() -> Abc {
    let mut h = Harness::new();
    let [a, b, c] = commits_abc(&mut h);
    let ids = deployed_with_images(&h, &[&a, &b], "deploy");
    add_status(&h.fake, ids[0], "inactive");
    h.event("push", &push_payload("refs/heads/main", &b, &c, "C"));
    let seen = h.file("seen").display().to_string();
    h.input("supersede", "false").input(
        "command",
        &format!(
            "v=$(cat version.txt); echo \"deploy $v sha=$ROLLOUT_SHA from=$ROLLOUT_ROLLBACK_FROM_SHA\" >> '{seen}'; echo built >> version.txt"
        ),
    );
    h.chown_workspace();
    Abc {
        h,
        shas: [a, b, c],
        ids,
    }
}

fn states(d: &fake_github::Deployment) -> Vec<&str> {
    d.statuses.iter().map(|s| s.state.as_str()).collect()
}

fn last_description(d: &fake_github::Deployment) -> String {
    d.statuses.last().unwrap().description.clone()
}

fn seen(h: &Harness) -> Vec<String> {
    std::fs::read_to_string(h.file("seen"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_verify_that_passes_sees_the_url_and_the_command_s_environment() {
    let mut h = Harness::new();
    let got = h.file("verify-env").display().to_string();
    h.input("supersede", "false")
        .input("environment-url", "https://{environment}.example.com")
        .input(
            "verify",
            &format!("echo \"$ROLLOUT_ENVIRONMENT_URL $ROLLOUT_ENVIRONMENT $ROLLOUT_DEPLOYMENT_ID $(pwd)\" > '{got}'"),
        );
    let sha = pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let d = h.state().deployments[0].clone();
    let st = states(&d);
    assert_eq!(st.first(), Some(&"in_progress"));
    assert_eq!(st.last(), Some(&"success"));
    // Between them at most the `Verifying` phase.
    for s in &d.statuses[1..d.statuses.len() - 1] {
        assert_eq!(
            (s.state.as_str(), s.description.as_str()),
            ("in_progress", "Verifying")
        );
    }
    let env = std::fs::read_to_string(h.file("verify-env")).unwrap();
    assert_eq!(
        env.trim(),
        format!(
            "https://production.example.com production {} {}",
            d.id,
            h.workspace.display()
        )
    );
    assert_eq!(run.outputs["status"], "success");
    assert_eq!(run.outputs["sha"], sha);
    assert!(!run.outputs.contains_key("rollback-deployment-id"));
    no_violations(&h);
}

#[test]
fn a_verify_that_fails_fails_the_deploy_in_verifying() {
    let mut h = Harness::new();
    h.input("supersede", "false")
        .input("verify", "echo unhealthy >&2; exit 3");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let d = h.state().deployments[0].clone();
    assert_eq!(states(&d).last(), Some(&"failure"));
    assert_eq!(last_description(&d), "Failed in Verifying: exit 3");
    assert_eq!(run.outputs["status"], "failure");
    assert!(
        run.summary.contains("Failed in Verifying: exit 3"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("Verifying"),
        "the phase row: {}",
        run.summary
    );
    // `on-failure` is `stop` by default: one deployment, no history read.
    assert_eq!(h.state().deployments.len(), 1);
    // A failing command never starts the verify.
    let verified = format!("touch '{}'", h.file("verified").display());
    h.input("command", "exit 2").input("verify", &verified);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(!h.file("verified").exists());
    no_violations(&h);
}

#[test]
fn a_verify_past_its_timeout_is_killed_and_says_so() {
    let mut h = Harness::new();
    h.input("supersede", "false")
        .input("verify", "sleep 60")
        .input("verify-timeout", "2s");
    pushed(&h);
    let started = Instant::now();
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let d = h.state().deployments[0].clone();
    assert_eq!(
        last_description(&d),
        "Failed in Verifying: timed out after 2s"
    );
    // The log names the limit to raise: the check's own.
    assert!(
        run.stdout
            .contains("ran longer than the 2s `verify-timeout`"),
        "{}",
        run.stdout
    );
}

#[test]
fn step_start_or_finish_with_verify_or_on_failure_rollback_is_bad_input() {
    let mut h = Harness::new();
    pushed(&h);
    h.input("step", "start").input("verify", "true");
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.the_error().contains("`verify`") || run.the_error().contains("verify"),
        "{}",
        run.the_error()
    );
    h.inputs.remove("verify");
    h.input("step", "finish")
        .input("status", "success")
        .input("deployment-id", "7")
        .input("on-failure", "rollback");
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.the_error().contains("on-failure"),
        "{}",
        run.the_error()
    );
    assert!(
        h.state().requests.is_empty(),
        "nothing was asked of the API"
    );
}

#[test]
fn a_failed_verify_rolls_back_to_the_last_good_commit_in_the_same_run() {
    let Abc { mut h, shas, ids } = pushed_abc();
    // Healthy only at B.
    h.input("verify", "grep -q '^B$' version.txt")
        .input("on-failure", "rollback");
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let created = created_after(&h.fake, ids[1]);
    assert_eq!(created.len(), 2, "the failed deployment and its rollback");
    let (failed, rollback) = (&created[0], &created[1]);
    assert_eq!(failed.sha, shas[2]);
    assert_eq!(states(failed).last(), Some(&"failure"));
    assert_eq!(
        last_description(failed),
        format!(
            "Failed in Verifying: exit 1; rolling back to {}",
            &shas[1][..7]
        )
    );
    assert_rollback_to(rollback, &shas[1], ids[1]);
    assert_eq!(
        rollback.payload["rollback"],
        json!({ "from_deployment": failed.id, "from_sha": shas[2], "to_deployment": ids[1], "automatic": true })
    );
    assert_eq!(states(rollback).first(), Some(&"in_progress"));
    assert_eq!(states(rollback).last(), Some(&"success"));
    // What ran at which commit: C's command, then B's with the rollback variables.
    assert_eq!(
        seen(&h),
        [
            format!("deploy C sha={} from=", shas[2]),
            format!("deploy B sha={} from={}", shas[1], shas[2]),
        ]
    );
    // The run's own commit is checked out again, on its branch, without what the commands built.
    assert_eq!(git(&h.workspace, &["rev-parse", "HEAD"]), shas[2]);
    assert_eq!(
        git(&h.workspace, &["symbolic-ref", "--short", "HEAD"]),
        "main"
    );
    assert_eq!(
        std::fs::read_to_string(h.workspace.join("version.txt")).unwrap(),
        "C\n"
    );
    // Outputs: the failed deployment, and the rollback beside it.
    assert_eq!(run.outputs["status"], "failure");
    assert_eq!(run.outputs["deployment-id"], failed.id.to_string());
    assert_eq!(run.outputs["sha"], shas[2]);
    assert_eq!(
        run.outputs["rollback-deployment-id"],
        rollback.id.to_string()
    );
    assert!(!run.outputs.contains_key("rollback-of"));
    let put_back = format!("rolled back to {} (deployment {})", &shas[1][..7], ids[1]);
    assert!(
        run.summary.contains(&format!(
            "| On failure | {put_back}; rollback deployment {} |",
            rollback.id
        )),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("Failed in Verifying: exit 1"),
        "{}",
        run.summary
    );
    assert!(run.the_error().contains(&put_back), "{}", run.the_error());
    // The order of writes: the failed deployment's final status before the rollback's create,
    // and one GraphQL read between the failure and that final status.
    let s = h.fake.state();
    let final_status = s
        .requests
        .iter()
        .position(|r| {
            r.method == "POST"
                && r.path
                    .ends_with(&format!("/deployments/{}/statuses", failed.id))
                && r.body.as_ref().is_some_and(|b| b["state"] == "failure")
        })
        .unwrap();
    let creates: Vec<usize> = s
        .requests
        .iter()
        .enumerate()
        .filter(|(_, r)| r.method == "POST" && r.path.ends_with("/deployments"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(creates.len(), 2);
    assert!(creates[1] > final_status, "the failed one is final first");
    let history_reads = s
        .requests
        .iter()
        .filter(|r| {
            r.path == "/graphql"
                && r.body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains("lockRef"))
        })
        .count();
    assert_eq!(history_reads, 1, "one read of history and lock");
    assert!(s.violations.is_empty(), "{:?}", s.violations);
}

#[test]
fn a_failed_command_rolls_back_and_the_status_names_what_comes_next() {
    let Abc { mut h, shas, ids } = pushed_abc();
    let seen = h.file("seen").display().to_string();
    h.input(
        "command",
        &format!("v=$(cat version.txt); echo \"deploy $v\" >> '{seen}'; [ \"$v\" = B ]"),
    )
    .input("on-failure", "rollback");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let created = created_after(&h.fake, ids[1]);
    assert_eq!(created.len(), 2, "{created:?}");
    let description = last_description(&created[0]);
    assert!(
        description.starts_with("The command exited with code 1")
            && description.ends_with(&format!("; rolling back to {}", &shas[1][..7])),
        "{description}"
    );
    assert_eq!(created[1].sha, shas[1]);
    assert_eq!(states(&created[1]).last(), Some(&"success"));
    assert_eq!(seen_lines(&h), ["deploy C", "deploy B"]);
    assert_eq!(
        run.outputs["rollback-deployment-id"],
        created[1].id.to_string()
    );
    no_violations(&h);
}

fn seen_lines(h: &Harness) -> Vec<String> {
    seen(h)
}

#[test]
fn a_first_deploy_has_nothing_to_roll_back_to() {
    let mut h = Harness::new();
    h.input("supersede", "false")
        .input("command", "exit 4")
        .input("on-failure", "rollback");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let s = h.state();
    assert_eq!(s.deployments.len(), 1, "no rollback deployment");
    let d = &s.deployments[0];
    assert_eq!(d.statuses.last().unwrap().state, "failure");
    assert!(!d
        .statuses
        .last()
        .unwrap()
        .description
        .contains("rolling back"));
    drop(s);
    assert!(
        run.the_error().contains("nothing to roll back to"),
        "{}",
        run.the_error()
    );
    assert!(!run.outputs.contains_key("rollback-deployment-id"));
}

#[test]
fn a_rollback_that_fails_too_is_never_rolled_back_itself() {
    let Abc { mut h, shas, ids } = pushed_abc();
    h.input("verify", "exit 5").input("on-failure", "rollback");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let created = created_after(&h.fake, ids[1]);
    assert_eq!(created.len(), 2, "no rollback of the rollback: {created:?}");
    assert_eq!(created[1].sha, shas[1]);
    assert_eq!(last_description(&created[1]), "Failed in Verifying: exit 5");
    assert_eq!(run.outputs["status"], "failure");
    assert_eq!(
        run.outputs["rollback-deployment-id"],
        created[1].id.to_string()
    );
    assert!(
        run.the_error().contains("failed too"),
        "{}",
        run.the_error()
    );
    assert_eq!(git(&h.workspace, &["rev-parse", "HEAD"]), shas[2]);
}

#[test]
fn a_preview_never_rolls_back() {
    let mut h = Harness::new();
    let base = h.commit(&[("README.md", "hello\n")], "initial");
    let head = h.commit(&[("app/main.txt", "v2\n")], "change");
    h.event(
        "pull_request",
        &pr_payload(
            "synchronize",
            7,
            &head,
            "feature",
            &base,
            OWNER_REPO,
            "change",
        ),
    );
    h.chown_workspace();
    h.input("preview-environment", "pr-{number}")
        .input("supersede", "false")
        .input("comment", "false")
        .input("verify", "exit 1")
        .input("on-failure", "rollback");
    let ids = h.fake.state().seed("pr-7", 1, Some("success"), true);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let created = created_after(&h.fake, ids[0]);
    assert_eq!(created.len(), 1);
    assert_eq!(last_description(&created[0]), "Failed in Verifying: exit 1");
    assert!(!run.outputs.contains_key("rollback-deployment-id"));
}

#[test]
fn a_cancel_during_the_rollback_leaves_both_deployments_final() {
    let Abc { mut h, shas, ids } = pushed_abc();
    let started = h.file("rollback-started").display().to_string();
    h.input(
        "command",
        &format!("if grep -q '^B$' version.txt; then touch '{started}'; sleep 30; else exit 1; fi"),
    )
    .input("on-failure", "rollback");
    let child = h.command(&[]).spawn().unwrap();
    wait_until("the rollback's command", Duration::from_secs(30), || {
        h.file("rollback-started").exists()
    });
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).unwrap();
    let out = child.wait_with_output().unwrap();
    let run = h.collect(out);
    let created = created_after(&h.fake, ids[1]);
    assert_eq!(created.len(), 2);
    assert_eq!(states(&created[0]).last(), Some(&"failure"));
    let last = *states(&created[1]).last().unwrap();
    assert!(
        ["error", "failure"].contains(&last),
        "{:?}",
        states(&created[1])
    );
    assert_eq!(created[1].sha, shas[1]);
    assert_eq!(run.code, 128 + 15, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "failure");
    assert_eq!(
        run.outputs["rollback-deployment-id"],
        created[1].id.to_string()
    );
    assert_eq!(git(&h.workspace, &["rev-parse", "HEAD"]), shas[2]);
}

/// Runs the push of C with a command that fails after `during` has changed the world.
fn failing_while(h: &mut Harness, during: impl FnOnce(&Harness)) -> Run {
    let started = h.file("started").display().to_string();
    let go = h.file("go").display().to_string();
    h.input(
        "command",
        &format!("touch '{started}'; while [ ! -e '{go}' ]; do sleep 0.1; done; exit 1"),
    )
    .input("on-failure", "rollback");
    let child = h
        .command(&[])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the command", Duration::from_secs(30), || {
        h.file("started").exists()
    });
    during(h);
    std::fs::write(h.file("go"), "").unwrap();
    let out = child.wait_with_output().unwrap();
    h.collect(out)
}

#[test]
fn a_lock_taken_by_someone_else_meanwhile_stops_the_rollback() {
    let Abc { mut h, ids, .. } = pushed_abc();
    let run = failing_while(&mut h, |h| {
        let record = rollout::lock::LockRecord {
            environment: "production".into(),
            reason: "investigating the outage".into(),
            actor: "octocat".into(),
            run_url: "https://github.com/o/r/actions/runs/1".into(),
            created_at: jiff::Timestamp::now(),
            expires_at: None,
        };
        let commit = h.fake.state().seed_commit(&record.message());
        h.fake
            .state()
            .git_refs
            .insert("refs/heads/rollout-lock/production".into(), commit);
    });
    assert_eq!(run.code, 1, "{}", run.stdout);
    let created = created_after(&h.fake, ids[1]);
    assert_eq!(created.len(), 1, "no rollback");
    assert!(!last_description(&created[0]).contains("rolling back"));
    assert!(
        run.the_error().contains("not rolled back")
            && run.the_error().contains("investigating the outage"),
        "{}",
        run.the_error()
    );
}

#[test]
fn a_newer_deployment_that_ran_meanwhile_owns_the_environment() {
    let Abc { mut h, ids, .. } = pushed_abc();
    let run = failing_while(&mut h, |h| {
        h.fake
            .state()
            .seed("production", 1, Some("in_progress"), false);
    });
    assert_eq!(run.code, 1, "{}", run.stdout);
    let created = created_after(&h.fake, ids[1]);
    // The failed one and the newer one seeded meanwhile; no rollback.
    assert_eq!(created.len(), 2, "{created:?}");
    assert!(
        run.the_error().contains("a newer run owns production"),
        "{}",
        run.the_error()
    );
}

#[test]
fn a_clone_without_the_target_commit_names_fetch_depth() {
    let Abc { mut h, ids, .. } = pushed_abc();
    let shallow = h.shallow_clone();
    h.input("working-directory", &shallow.display().to_string())
        .input("command", "exit 1")
        .input("on-failure", "rollback");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(created_after(&h.fake, ids[1]).len(), 1, "no rollback");
    assert!(
        run.the_error().contains("`fetch-depth: 0`"),
        "{}",
        run.the_error()
    );
}

#[test]
fn rollout_plan_names_the_check_and_the_rollback_it_cannot_choose_offline() {
    let h = Harness::new();
    pushed(&h);
    let event = h.file("event.json");
    let inputs = [
        "environments=main: production",
        "command=./deploy.sh",
        "verify=curl -fsS \"$ROLLOUT_ENVIRONMENT_URL/health\"",
        "verify-timeout=2m",
        "on-failure=rollback",
    ];
    let (code, text) = plan(&event, "push", &inputs, Some(&h.workspace));
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("verify: curl -fsS \"$ROLLOUT_ENVIRONMENT_URL/health\" (after the command exits 0, shown as the phase Verifying; up to 2m"),
        "{text}"
    );
    assert!(
        text.contains(
            "on-failure: rollback: a failed command or verify rolls the environment back"
        ),
        "{text}"
    );
    assert!(text.contains("needs the API"), "{text}");
    assert!(h.state().requests.is_empty(), "rollout plan made a request");
    // Without them, the plan says nothing of either.
    let (_, text) = plan(&event, "push", &inputs[..2], Some(&h.workspace));
    assert!(
        !text.contains("verify") && !text.contains("on-failure"),
        "{text}"
    );
}
