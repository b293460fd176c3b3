//! Locks through the binary: `step: lock` and `step: unlock`, and every deploy reading its
//! environment's lock beside the create (a held lock blocks it, an expired one is ignored, an
//! unreadable one fails it closed), one read for all targets; and a preview a freeze window
//! blocks still gets its comment.

use crate::support::*;
use rollout::lock::{ref_name, LockRecord};

/// The command of every test here: leaves a marker when it runs at all.
const MARK: &str = "touch \"$HOME/ran\"";

fn record(environment: &str, actor: &str, created: &str, hours: Option<i64>) -> LockRecord {
    let created_at: jiff::Timestamp = created.parse().unwrap();
    LockRecord {
        environment: environment.into(),
        reason: format!("{actor} investigates incident 42"),
        actor: actor.into(),
        run_url: "https://github.example.com/octo-org/app/actions/runs/99/attempts/1".into(),
        created_at,
        expires_at: hours.map(|h| {
            created_at
                .checked_add(jiff::SignedDuration::from_hours(h))
                .unwrap()
        }),
    }
}

/// Puts a lock branch in the fake's git database, as a `step: lock` elsewhere would have.
fn seed_lock(h: &Harness, lock: &LockRecord) {
    let mut s = h.state();
    let commit = s.seed_commit(&lock.message());
    s.git_refs.insert(
        format!("refs/heads/{}", ref_name(&lock.environment)),
        commit,
    );
}

/// The GraphQL requests that read a lock (`ref(qualifiedName:)`), not the supersede reads.
fn lock_reads(h: &Harness) -> usize {
    graphql_reads_with(h, "qualifiedName")
}

fn deploy_harness() -> Harness {
    let mut h = Harness::new();
    h.input("command", MARK);
    pushed(&h);
    h
}

#[test]
fn a_held_lock_blocks_the_deploy_and_its_deployment_ends_error() {
    let h = deploy_harness();
    let lock = record("Production", "hubot", "2026-01-01T10:00:00Z", None);
    seed_lock(&h, &lock);
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    let reason = &run.outputs["skip-reason"];
    assert!(
        reason.contains("locked by @hubot") && reason.contains("hubot investigates incident 42"),
        "{reason}"
    );
    assert!(reason.contains("until someone unlocks it"), "{reason}");
    assert!(
        !run.outputs.contains_key("deployment-id"),
        "{:?}",
        run.outputs
    );
    assert!(!h.file("ran").exists(), "the command ran");
    assert!(
        run.the_error().contains("locked by @hubot"),
        "{}",
        run.stdout
    );
    assert!(run.summary.contains("Blocked by"), "{}", run.summary);
    assert!(run.summary.contains("a lock"), "{}", run.summary);
    let s = h.state();
    assert_eq!(s.deployments.len(), 1, "created beside the read");
    let d = &s.deployments[0];
    let states: Vec<&str> = d.statuses.iter().map(|st| st.state.as_str()).collect();
    assert_eq!(states, ["error"], "no in_progress before the lock's answer");
    // Who and why fit the Environments page's 140 characters; the rest is in `skip-reason`.
    assert_eq!(
        d.statuses[0].description,
        "Locked by @hubot: \"hubot investigates incident 42\"; no command ran"
    );
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    drop(s);
    assert_eq!(lock_reads(&h), 1);
}

#[test]
fn an_overridden_freeze_is_not_said_to_deploy_what_a_lock_blocks() {
    let mut h = deploy_harness();
    h.input(
        "freeze",
        "production: 2000-01-01 - 2199-12-31 Europe/Berlin",
    )
    .input("override-freeze", "hotfix INC-7");
    seed_lock(
        &h,
        &record("production", "hubot", "2026-01-01T10:00:00Z", None),
    );
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(!h.file("ran").exists(), "the command ran");
    assert!(!run.stdout.contains("deployed anyway"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("`override-freeze` lets this deploy through: hotfix INC-7"),
        "{}",
        run.stdout
    );
    assert!(
        !run.summary.contains("Freeze overridden"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("a lock"), "{}", run.summary);
}

#[test]
fn an_expired_lock_is_ignored_and_said_once() {
    let h = deploy_harness();
    seed_lock(
        &h,
        &record("production", "crashed", "2026-01-01T10:00:00Z", Some(1)),
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    assert!(run.outputs.contains_key("deployment-id"));
    assert!(h.file("ran").exists());
    let said = run
        .stdout
        .lines()
        .filter(|l| l.contains("expired at 2026-01-01 11:00 UTC"))
        .count();
    assert_eq!(said, 1, "{}", run.stdout);
    assert_eq!(h.state().deployments[0].state(), Some("success"));
}

#[test]
fn a_lock_read_refused_fails_closed_naming_contents_read() {
    let h = deploy_harness();
    h.state().tokens.insert(TOKEN.into(), Grant::NoContents);
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "error");
    let error = run.the_error();
    assert!(error.contains("`contents: read`"), "{error}");
    assert!(!h.file("ran").exists(), "the command ran");
    let s = h.state();
    assert_eq!(s.deployments.len(), 1);
    assert_eq!(s.deployments[0].state(), Some("error"));
    assert!(
        s.deployments[0]
            .statuses
            .iter()
            .all(|st| st.state != "in_progress"),
        "{:?}",
        s.deployments[0].statuses
    );
}

#[test]
fn with_targets_one_read_serves_every_target_and_only_the_locked_one_is_blocked() {
    let mut h = Harness::new();
    h.input("command", "echo \"$ROLLOUT_TARGET\" >> \"$HOME/ran\"");
    h.input("targets", "web: app/**\napi: app/**\nworker: app/**");
    pushed(&h);
    seed_lock(
        &h,
        &record("production-api", "hubot", "2026-01-01T10:00:00Z", None),
    );
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let results: serde_json::Value = serde_json::from_str(&run.outputs["results"]).unwrap();
    assert_eq!(
        results,
        serde_json::json!({"web": "success", "api": "blocked", "worker": "success"})
    );
    let ran = std::fs::read_to_string(h.file("ran")).unwrap();
    assert_eq!(ran, "web\nworker\n");
    assert_eq!(lock_reads(&h), 1, "one request for every target's lock");
    let s = h.state();
    let api = s.deployments_of("production-api");
    assert_eq!(api.len(), 1);
    assert_eq!(api[0].state(), Some("error"));
    for env in ["production-web", "production-worker"] {
        assert_eq!(s.deployments_of(env)[0].state(), Some("success"), "{env}");
    }
    assert!(run.summary.contains("locked by @hubot"), "{}", run.summary);
}

/// A harness for `step: lock` / `unlock`: a dispatch, and `GITHUB_SHA` a commit the fake has.
fn lock_harness(step: &str) -> Harness {
    let mut h = Harness::new();
    let head = h.state().seed_commit("the head commit");
    h.var("GITHUB_SHA", &head);
    h.input("step", step);
    h.input("environment", "Production");
    h.input("reason", "payments are down");
    h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    h
}

#[test]
fn lock_blocks_deploys_until_unlock() {
    let mut h = lock_harness("lock");
    h.input("lock-expires", "4h");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    assert_eq!(run.outputs["environment"], "Production");
    assert!(
        run.summary.contains("locked by @mona") && run.summary.contains("payments are down"),
        "{}",
        run.summary
    );
    let branch = format!("refs/heads/{}", ref_name("production"));
    let held = {
        let s = h.state();
        let sha = s.git_refs[&branch].clone();
        LockRecord::from_message(&s.git_commits[&sha].message).unwrap()
    };
    assert_eq!(held.actor, "mona");
    assert_eq!(held.reason, "payments are down");
    let hours = held
        .expires_at
        .unwrap()
        .duration_since(held.created_at)
        .as_secs();
    assert_eq!(hours, 4 * 3600);
    // Anyone else's deploy to it now stops.
    h.input("step", "deploy");
    h.input("command", MARK);
    pushed(&h);
    h.var("GITHUB_ACTOR", "hubot");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(!h.file("ran").exists());
    // Unlocked, it deploys.
    h.input("step", "unlock");
    h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    assert!(!h.state().git_refs.contains_key(&branch));
    h.input("step", "deploy");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(h.file("ran").exists());
}

#[test]
fn of_two_lock_steps_at_once_exactly_one_wins() {
    let h = lock_harness("lock");
    // Two people: the holder's own second lock would be "already locked by you".
    let children: Vec<_> = ["mona", "hubot"]
        .into_iter()
        .map(|actor| {
            h.command(&[])
                .env("GITHUB_ACTOR", actor)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut codes: Vec<(i32, String)> = children
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            (
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        })
        .collect();
    codes.sort();
    assert_eq!(codes[0].0, 0, "{}", codes[0].1);
    assert_eq!(codes[1].0, 1, "{}", codes[1].1);
    assert!(
        codes[1]
            .1
            .contains("::error::Not locked: `Production` is locked by @"),
        "{}",
        codes[1].1
    );
    assert_eq!(h.state().git_refs.len(), 1);
}

#[test]
fn the_holder_locking_again_changes_nothing_and_is_told_so() {
    let h = lock_harness("lock");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let before = h.state().git_refs.clone();
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    assert!(
        run.stdout
            .contains("Already locked by you: `Production` is locked by @mona")
            && run.stdout.contains("run `step: unlock`, then `step: lock`"),
        "{}",
        run.stdout
    );
    assert_eq!(h.state().git_refs, before, "the lock was rewritten");
}

#[test]
fn unlock_of_no_lock_is_a_notice() {
    let h = lock_harness("unlock");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(
        run.stdout.contains("::notice::`Production` is not locked"),
        "{}",
        run.stdout
    );
}

#[test]
fn lock_without_contents_write_names_it_in_one_sentence() {
    let h = lock_harness("lock");
    h.state().tokens.insert(TOKEN.into(), Grant::ContentsRead);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(error.contains("`contents: write`"), "{error}");
    assert!(h.state().git_refs.is_empty());
}

#[test]
fn lock_needs_a_reason() {
    let mut h = lock_harness("lock");
    h.input("reason", "");
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.the_error().contains("`reason`"), "{}", run.stdout);
    assert!(h.state().requests.is_empty());
}

#[test]
fn a_frozen_preview_gets_its_comment_and_no_deployment() {
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}");
    h.input("command", MARK);
    h.input("freeze", "pr-*: 2000-01-01 - 2199-12-31");
    let base = h.commit(&[("README.md", "x\n")], "initial");
    let head = h.commit(&[("app/a.txt", "a\n")], "change");
    h.event(
        "pull_request",
        &pr_payload("opened", 7, &head, "feature", &base, OWNER_REPO, "A change"),
    );
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(!h.file("ran").exists());
    let s = h.state();
    assert!(s.deployments.is_empty());
    assert_eq!(s.comments.len(), 1, "{:?}", s.requests);
    let c = &s.comments[0];
    assert_eq!(c.issue, 7);
    assert!(
        c.body.starts_with("<!-- rollout:preview:pr-7 -->"),
        "{}",
        c.body
    );
    assert!(c.body.contains("blocked by a freeze window"), "{}", c.body);
    assert!(c.body.contains("frozen by line 1 of"), "{}", c.body);
    assert!(s.writes().iter().all(|r| r.path.contains("/comments")));
}

#[test]
fn a_frozen_preview_without_comments_makes_no_request() {
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}");
    h.input("comment", "false");
    h.input("freeze", "pr-*: 2000-01-01 - 2199-12-31");
    let base = h.commit(&[("README.md", "x\n")], "initial");
    let head = h.commit(&[("app/a.txt", "a\n")], "change");
    h.event(
        "pull_request",
        &pr_payload("opened", 7, &head, "feature", &base, OWNER_REPO, "A change"),
    );
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(h.state().requests.is_empty());
}

#[test]
fn rollout_plan_says_what_lock_and_unlock_would_do_and_that_a_deploy_reads_the_lock() {
    let h = Harness::new();
    pushed(&h);
    let event = h.file("event.json");
    let (code, text) = plan(
        &event,
        "push",
        &[
            "step=lock",
            "environment=Prod EU",
            "reason=payments are down",
        ],
        None,
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.starts_with("lock: Prod EU would be locked")
            && text.contains(&ref_name("Prod EU"))
            && text.contains("until `step: unlock`"),
        "{text}"
    );
    let (code, text) = plan(
        &event,
        "push",
        &["step=unlock", "environment=production"],
        None,
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.starts_with("unlock: the lock of production"), "{text}");
    let (code, text) = plan(
        &event,
        "push",
        &["command=true", "environment=production"],
        None,
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("note: a lock on the environment would block it"),
        "{text}"
    );
}

#[test]
fn a_lock_never_blocks_a_teardown_or_a_finish_and_neither_reads_it() {
    // A preview, then its environment locked, then the pull request closed.
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}");
    h.input("teardown-command", "touch \"$HOME/torn-down\"");
    let base = h.commit(&[("README.md", "x\n")], "initial");
    let head = h.commit(&[("app/a.txt", "a\n")], "change");
    let event = |action: &str| pr_payload(action, 7, &head, "feature", &base, OWNER_REPO, "A");
    h.event("pull_request", &event("opened"));
    h.chown_workspace();
    assert_eq!(h.run().code, 0);
    seed_lock(&h, &record("pr-7", "mona", "2026-01-01T10:00:00Z", None));
    let reads = lock_reads(&h);
    h.event("pull_request", &event("closed"));
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "inactive");
    assert!(h.file("torn-down").exists());
    assert_eq!(lock_reads(&h), reads, "a teardown reads no lock");

    // `step: start` is blocked; the `finish` of a deployment started before the lock is not.
    let mut h = Harness::new();
    h.input("step", "start");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let id = run.outputs["deployment-id"].clone();
    seed_lock(
        &h,
        &record("production", "hubot", "2026-01-01T10:00:00Z", None),
    );
    let blocked = h.run();
    assert_eq!(blocked.code, 1, "{}", blocked.stdout);
    assert_eq!(blocked.outputs["status"], "blocked");
    let reads = lock_reads(&h);
    h.input("step", "finish");
    h.input("deployment-id", &id);
    h.input("status", "success");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(lock_reads(&h), reads, "a finish reads no lock");
    let s = h.state();
    let started = s
        .deployments
        .iter()
        .find(|d| d.id.to_string() == id)
        .unwrap();
    assert_eq!(started.state(), Some("success"));
    assert_eq!(s.deployments.last().unwrap().state(), Some("error"));
}

#[test]
fn a_dry_run_lock_or_unlock_writes_nothing() {
    for step in ["lock", "unlock"] {
        let mut h = lock_harness(step);
        h.input("dry-run", "true");
        if step == "unlock" {
            seed_lock(
                &h,
                &record("production", "alice", "2026-12-04T10:00:00Z", None),
            );
        }
        let refs_before = h.state().git_refs.clone();
        let run = h.run();
        assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
        assert_eq!(run.outputs["status"], "skipped");
        assert!(
            run.outputs["skip-reason"].starts_with(&format!("dry-run: would {step} `Production`")),
            "{:?}",
            run.outputs
        );
        let s = h.state();
        assert_eq!(
            s.git_refs, refs_before,
            "{step}: the lock branch is as it was"
        );
        assert!(
            s.requests
                .iter()
                .all(|r| r.method == "GET" || r.path == "/graphql"),
            "{step}: a write went out: {:?}",
            s.requests
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect::<Vec<_>>()
        );
    }
}

/// The `::notice::` lines of a run's log.
fn notice_lines(run: &Run) -> Vec<&str> {
    run.stdout
        .lines()
        .filter(|l| l.starts_with("::notice::"))
        .collect()
}

#[test]
fn the_lock_holders_own_push_deploys_through_it_and_says_so() {
    // The harness's runs are mona's (`GITHUB_ACTOR`), who took this lock.
    let mut h = deploy_harness();
    seed_lock(
        &h,
        &record("production", "mona", "2026-01-01T10:00:00Z", None),
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    assert!(h.file("ran").exists(), "the holder's command ran");
    let said = "production is locked by you (@mona: mona investigates incident 42); deploying";
    assert_eq!(
        notice_lines(&run)
            .iter()
            .filter(|l| l.contains(said))
            .count(),
        1,
        "{}",
        run.stdout
    );
    assert!(run.summary.contains("| Lock |"), "{}", run.summary);
    assert!(run.summary.contains(said), "{}", run.summary);
    assert_eq!(h.state().deployments[0].state(), Some("success"));

    // A re-run someone else started: its triggering actor is not the holder.
    std::fs::remove_file(h.file("ran")).unwrap();
    h.var("GITHUB_TRIGGERING_ACTOR", "hubot");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(!h.file("ran").exists());

    // The holder re-running someone else's push: the triggering actor decides, without case.
    h.var("GITHUB_ACTOR", "hubot");
    h.var("GITHUB_TRIGGERING_ACTOR", "MONA");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(h.file("ran").exists());
}

#[test]
fn a_lock_stops_every_other_event_of_its_holder() {
    let h = deploy_harness();
    seed_lock(
        &h,
        &record("production", "mona", "2026-01-01T10:00:00Z", None),
    );
    let sha = git(&h.workspace, &["rev-parse", "HEAD"]);
    // A workflow_run on main, though mona (the holder) caused it.
    h.event(
        "workflow_run",
        &workflow_run_payload("success", &sha, "main", OWNER_REPO),
    );
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(
        run.outputs["skip-reason"].contains("locked by @mona"),
        "{:?}",
        run.outputs
    );
    assert!(!h.file("ran").exists());
    assert!(!run.stdout.contains("locked by you"), "{}", run.stdout);
}

#[test]
fn the_holders_start_goes_ahead_and_a_lock_records_the_triggering_actor() {
    let mut h = lock_harness("lock");
    // A re-run of someone else's workflow by hubot: the lock is hubot's.
    h.var("GITHUB_TRIGGERING_ACTOR", "hubot");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let held = {
        let s = h.state();
        let sha = s.git_refs[&format!("refs/heads/{}", ref_name("production"))].clone();
        LockRecord::from_message(&s.git_commits[&sha].message).unwrap()
    };
    assert_eq!(held.actor, "hubot");
    // hubot's `step: start` goes ahead, saying so; mona's (the harness's actor) does not.
    h.input("step", "start");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "started");
    assert!(
        run.stdout
            .contains("Production is locked by you (@hubot: payments are down); starting"),
        "{}",
        run.stdout
    );
    h.env.remove("GITHUB_TRIGGERING_ACTOR");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "blocked");
}

#[test]
fn with_targets_a_lock_on_the_branchs_environment_holds_every_target_in_one_read() {
    let mut h = Harness::new();
    h.input("command", "echo \"$ROLLOUT_TARGET\" >> \"$HOME/ran\"");
    h.input("targets", "web: app/**\napi: app/**");
    pushed(&h);
    seed_lock(
        &h,
        &record("production", "hubot", "2026-01-01T10:00:00Z", None),
    );
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let results: serde_json::Value = serde_json::from_str(&run.outputs["results"]).unwrap();
    assert_eq!(
        results,
        serde_json::json!({"web": "blocked", "api": "blocked"})
    );
    assert!(!h.file("ran").exists(), "no target's command ran");
    assert_eq!(lock_reads(&h), 1, "one request reads both kinds of lock");
    {
        let s = h.state();
        for env in ["production-web", "production-api"] {
            let d = s.deployments_of(env);
            assert_eq!(d.len(), 1, "{env}");
            assert_eq!(d[0].state(), Some("error"), "{env}");
            assert_eq!(
                d[0].statuses[0].description,
                "Locked by @hubot: \"hubot investigates incident 42\"; no command ran"
            );
        }
        // The one read asked for the targets' locks and the branch's.
        let read = s
            .requests
            .iter()
            .find(|r| {
                r.path == "/graphql"
                    && r.body
                        .as_ref()
                        .is_some_and(|b| b.to_string().contains("qualifiedName"))
            })
            .and_then(|r| r.body.clone())
            .unwrap();
        let asked: Vec<&str> = read["variables"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with('l'))
            .filter_map(|(_, v)| v.as_str())
            .collect();
        for env in ["production-web", "production-api", "production"] {
            let branch = format!("refs/heads/{}", ref_name(env));
            assert!(asked.contains(&branch.as_str()), "{asked:?}");
        }
        assert_eq!(asked.len(), 3, "{asked:?}");
    }
    assert!(run.summary.contains("locked by @hubot"), "{}", run.summary);

    // The holder's own push goes through both, and says so once.
    h.var("GITHUB_ACTOR", "hubot");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let results: serde_json::Value = serde_json::from_str(&run.outputs["results"]).unwrap();
    assert_eq!(
        results,
        serde_json::json!({"web": "success", "api": "success"})
    );
    assert_eq!(
        std::fs::read_to_string(h.file("ran")).unwrap(),
        "web\napi\n"
    );
    let said = "production is locked by you (@hubot: hubot investigates incident 42); deploying";
    assert!(run.summary.contains(said), "{}", run.summary);
    assert_eq!(run.summary.matches(said).count(), 1, "{}", run.summary);
}

#[test]
fn a_lock_answer_lacking_its_alias_or_field_fails_the_deploy_closed() {
    // A proxy (or cache) that hands over the data without the alias asked for.
    let faults: Vec<(&str, Fault)> = vec![
        (
            "an empty repository",
            Fault {
                body: serde_json::json!({"data": {"repository": {}}}),
                ..fault("POST", "/graphql", 200, 1)
            },
        ),
        (
            "the alias dropped",
            Fault {
                drop: vec!["/data/repository/l0".into()],
                ..fault("POST", "/graphql", 0, 1)
            },
        ),
    ];
    for (what, f) in faults {
        let h = deploy_harness();
        h.fake.fault(f);
        let run = h.run();
        assert_eq!(run.code, 1, "{what}: {}\n{}", run.stdout, run.stderr);
        assert_eq!(run.outputs["status"], "error", "{what}");
        let error = run.the_error();
        assert!(
            error.contains("lacks `l0`") && error.contains("does not go ahead"),
            "{what}: {error}"
        );
        assert!(!h.file("ran").exists(), "{what}: the command ran");
        let s = h.state();
        assert_eq!(s.deployments.len(), 1, "{what}");
        let states: Vec<&str> = s.deployments[0]
            .statuses
            .iter()
            .map(|st| st.state.as_str())
            .collect();
        assert_eq!(states, ["error"], "{what}: no in_progress");
    }
    // A lock branch whose answer lost its target's `oid`: unreadable too.
    let h = deploy_harness();
    seed_lock(
        &h,
        &record("production", "hubot", "2026-01-01T10:00:00Z", None),
    );
    h.fake.fault(Fault {
        drop: vec!["/data/repository/l0/target/oid".into()],
        ..fault("POST", "/graphql", 0, 1)
    });
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "error");
    assert!(
        run.the_error().contains("lacks the `oid` field"),
        "{}",
        run.the_error()
    );
    assert!(!h.file("ran").exists());
}

#[test]
fn with_targets_a_missing_alias_fails_every_target_closed() {
    let mut h = Harness::new();
    h.input("command", "echo \"$ROLLOUT_TARGET\" >> \"$HOME/ran\"");
    h.input("targets", "web: app/**\napi: app/**");
    pushed(&h);
    // l0..l1 are the targets' locks, l2 the branch's: the answer loses the last one.
    h.fake.fault(Fault {
        drop: vec!["/data/repository/l2".into()],
        ..fault("POST", "/graphql", 0, 1)
    });
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let results: serde_json::Value = serde_json::from_str(&run.outputs["results"]).unwrap();
    assert_eq!(results, serde_json::json!({"web": "error", "api": "error"}));
    assert!(!h.file("ran").exists(), "no target's command ran");
    let s = h.state();
    assert!(s
        .deployments
        .iter()
        .all(|d| d.statuses.iter().all(|st| st.state != "in_progress")));
}
