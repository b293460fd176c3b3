//! The rollback's history read against the fake's GraphQL: `rollback_history` and `choose`
//! together, counting the requests (one when the target is among the newest 100), with the
//! lock ref read in the same request.

use crate::support::history::*;
use crate::support::*;
use rollout::rollback::{choose_within, RollbackTo};
use serde_json::json;

const LOCK: &str = "refs/heads/rollout-lock/production";

fn read(fake: &Fake, to: &RollbackTo) -> rollout::github::History {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // octocrab's service buffer is spawned where the client is built: inside the runtime.
    rt.block_on(async {
        client(fake, TOKEN)
            .rollback_history("production", LOCK, |h| to.decided_by(h))
            .await
    })
    .unwrap()
}

/// Sets deployment `id`'s commit and appends statuses to it.
fn mark(fake: &Fake, id: u64, sha: char, states: &[&str]) {
    let mut s = fake.state();
    let d = s.deployments.iter_mut().find(|d| d.id == id).unwrap();
    d.sha = sha.to_string().repeat(40);
    let template = d.statuses[0].clone();
    for state in states {
        d.statuses.push(fake_github::Status {
            state: state.to_string(),
            ..template.clone()
        });
    }
}

fn graphql_requests(fake: &Fake) -> usize {
    fake.state().requests_to("POST", "/graphql")
}

#[test]
fn a_target_among_the_newest_100_costs_one_request_with_the_lock_absent() {
    let fake = Fake::start();
    let old = fake.state().seed("production", 150, Some("success"), false);
    let recent = fake
        .state()
        .seed("production", 3, Some("in_progress"), false);
    fake.state().seed("staging", 5, Some("success"), false);
    mark(&fake, old[149], 'a', &["inactive"]);
    mark(&fake, recent[0], 'b', &["failure"]);
    mark(&fake, recent[1], 'c', &["inactive"]);
    mark(&fake, recent[2], 'd', &["failure"]);
    let history = read(&fake, &RollbackTo::Previous);
    assert_eq!((history.requests, graphql_requests(&fake)), (1, 1));
    assert_eq!(history.entries.len(), 100);
    assert_eq!(history.lock, None);
    let choice = choose_within(&history.entries, history.truncated, &RollbackTo::Previous).unwrap();
    assert_eq!((choice.from.id, choice.to.id), (recent[2], old[149]));
    assert!(
        fake.state().violations.is_empty(),
        "{:?}",
        fake.state().violations
    );
}

#[test]
fn an_older_target_pages_on_and_a_lock_is_read_once() {
    let fake = Fake::start();
    let old = fake.state().seed("production", 1, Some("success"), false);
    mark(&fake, old[0], 'a', &["inactive"]);
    let failed = fake.state().seed("production", 250, Some("failure"), false);
    mark(&fake, failed[249], 'f', &[]);
    let lock = fake.state().seed_commit("rollout lock: production\n\n{}");
    fake.state().git_refs.insert(LOCK.into(), lock.clone());
    let history = read(&fake, &RollbackTo::Previous);
    assert_eq!(history.requests, 3, "251 deployments are three pages");
    assert_eq!(history.entries.len(), 251);
    assert_eq!(
        history.lock,
        Some((lock, "rollout lock: production\n\n{}".into()))
    );
    let choice = choose_within(&history.entries, history.truncated, &RollbackTo::Previous).unwrap();
    assert_eq!(choice.to.id, old[0]);
    // By id, the read stops at the page holding an id at or below it.
    let by_id = read(&fake, &RollbackTo::Id(failed[180]));
    assert_eq!(by_id.requests, 1);
}

#[test]
fn the_same_commit_twice_and_a_rollback_chain_pick_the_contracts_target() {
    let fake = Fake::start();
    let ids = fake.state().seed("production", 5, Some("success"), false);
    mark(&fake, ids[0], 'a', &["inactive"]);
    mark(&fake, ids[1], 'b', &["inactive"]);
    mark(&fake, ids[2], 'b', &["inactive"]);
    mark(&fake, ids[3], 'c', &["inactive"]);
    // The newest is a rollback from C to B: the next one goes to A, past both deploys of B.
    mark(&fake, ids[4], 'b', &[]);
    fake.state()
        .deployments
        .iter_mut()
        .find(|d| d.id == ids[4])
        .unwrap()
        .payload = json!({ "rollback": { "from_deployment": ids[3], "from_sha": "c".repeat(40), "to_deployment": ids[2] } });
    let history = read(&fake, &RollbackTo::Previous);
    assert_eq!(history.entries[0].rollback_from, Some(ids[3]));
    let choice = choose_within(&history.entries, history.truncated, &RollbackTo::Previous).unwrap();
    assert_eq!(choice.to.id, ids[0]);
    let commit_c = RollbackTo::Sha("c".repeat(7));
    let history = read(&fake, &commit_c);
    assert_eq!(
        choose_within(&history.entries, history.truncated, &commit_c)
            .unwrap()
            .to
            .id,
        ids[3]
    );
}

#[test]
fn more_than_1000_deployments_without_a_target_are_truncated_after_ten_requests() {
    let fake = Fake::start();
    fake.state()
        .seed("production", 1005, Some("failure"), false);
    let history = read(&fake, &RollbackTo::Previous);
    assert_eq!(
        (history.requests, history.entries.len(), history.truncated),
        (10, 1000, true)
    );
    let refusal =
        choose_within(&history.entries, history.truncated, &RollbackTo::Previous).unwrap_err();
    assert!(
        refusal.sentence("production").contains("newest 1,000"),
        "{refusal}"
    );
}

/// `step: rollback` through the binary: a repository with commits A, B and C, deployed in that
/// order to production (A and B succeeded, C failed), dispatched on main at C.
fn deployed_abc() -> Abc {
    let mut h = Harness::new();
    let [a, b, c] = commits_abc(&mut h);
    let ids = deployed_with_images(&h, &[&a, &b, &c], "deploy:web");
    add_status(&h.fake, ids[0], "inactive");
    add_status(&h.fake, ids[2], "failure");
    h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    h.var("GITHUB_SHA", &c);
    let seen = h.file("seen").display().to_string();
    h.input("step", "rollback")
        .input("environment", "production")
        .input(
            "command",
            &format!("cat version.txt > '{seen}'; echo \"$ROLLOUT_ROLLBACK_FROM_SHA\" >> '{seen}'; cat \"$ROLLOUT_ROLLBACK_PAYLOAD\" >> '{seen}'"),
        );
    h.chown_workspace();
    Abc {
        h,
        shas: [a, b, c],
        ids,
    }
}

#[test]
fn a_rollback_deploys_the_last_good_commit_checked_out_with_its_task_payload_and_record() {
    let Abc { h, shas, ids } = deployed_abc();
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let created = created_after(&h.fake, ids[2]);
    assert_eq!(created.len(), 1, "one deployment: the rollback's");
    let d = &created[0];
    // Back to B, the newest earlier success, with its task.
    assert_rollback_to(d, &shas[1], ids[1]);
    assert_eq!(d.task, "deploy:web", "the task of the deployment put back");
    assert_eq!(
        d.payload["rollback"],
        json!({ "from_deployment": ids[2], "from_sha": shas[2], "to_deployment": ids[1] })
    );
    let states: Vec<&str> = d.statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["in_progress", "success"]);
    assert_eq!(
        d.statuses[0].description,
        format!("Deploying {}", &shas[1][..7])
    );
    // The command ran in B's files, knew what it replaced, and had B's payload to re-point to.
    let seen = std::fs::read_to_string(h.file("seen")).unwrap();
    let mut lines = seen.lines();
    assert_eq!(lines.next(), Some("B"));
    assert_eq!(lines.next(), Some(shas[2].as_str()));
    let payload: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(
        payload["image"],
        format!("registry.example/web@{}", &shas[1][..7])
    );
    assert_eq!(git(&h.workspace, &["rev-parse", "HEAD"]), shas[1]);
    if nix_is_root() {
        // As in the container form: the checkout's files go back to the runner's user.
        use std::os::unix::fs::MetadataExt;
        let owner = std::fs::metadata(h.workspace.join("version.txt"))
            .unwrap()
            .uid();
        assert_eq!(owner, 1001, "the rolled-back file is the workspace owner's");
    }
    assert_eq!(run.outputs["rollback-of"], ids[2].to_string());
    assert_eq!(run.outputs["sha"], shas[1]);
    assert!(
        run.summary.contains(&format!(
            "rolled back production from {} (deployment {}) to {} (deployment {})",
            &shas[2][..7],
            ids[2],
            &shas[1][..7],
            ids[1]
        )),
        "{}",
        run.summary
    );
    // The history and the lock: one GraphQL request, before the create.
    let s = h.fake.state();
    let create = s
        .requests
        .iter()
        .position(|r| r.method == "POST" && r.path.ends_with("/deployments"))
        .unwrap();
    let before: Vec<&str> = s.requests[..create]
        .iter()
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(before, ["/graphql"], "{before:?}");
    // The deploy took the lock from the history's answer: it was not read a second time.
    let lock_reads = s
        .requests
        .iter()
        .filter(|r| {
            r.body
                .as_ref()
                .is_some_and(|b| b.to_string().contains("rollout-lock/"))
        })
        .count();
    assert_eq!(lock_reads, 1);
    assert!(s.violations.is_empty(), "{:?}", s.violations);
}

#[test]
fn a_target_that_is_current_or_unknown_is_refused_with_nothing_written() {
    let Abc { mut h, shas, ids } = deployed_abc();
    h.input("to", &shas[2][..8]);
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.the_error().contains("is the current deployment"),
        "{}",
        run.the_error()
    );
    h.input("to", "deadbeef");
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.the_error().contains("deadbeef"), "{}", run.the_error());
    assert!(created_after(&h.fake, ids[2]).is_empty());
    let s = h.fake.state();
    assert!(
        s.requests
            .iter()
            .all(|r| r.method == "GET" || r.path == "/graphql"),
        "only reads"
    );
    drop(s);
    assert_eq!(
        git(&h.workspace, &["rev-parse", "HEAD"]),
        shas[2],
        "nothing checked out"
    );
    assert!(!h.file("seen").exists(), "no command ran");
}

#[test]
fn a_held_lock_blocks_the_rollback_before_the_checkout() {
    let Abc { h, shas, ids } = deployed_abc();
    let record = rollout::lock::LockRecord {
        environment: "production".into(),
        reason: "investigating the outage".into(),
        actor: "octocat".into(),
        run_url: "https://github.com/o/r/actions/runs/1".into(),
        created_at: jiff::Timestamp::now(),
        expires_at: None,
    };
    let commit = h.fake.state().seed_commit(&record.message());
    h.fake.state().git_refs.insert(LOCK.into(), commit);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(
        run.outputs["skip-reason"].contains("investigating the outage"),
        "{:?}",
        run.outputs
    );
    assert!(created_after(&h.fake, ids[2]).is_empty());
    assert_eq!(git(&h.workspace, &["rev-parse", "HEAD"]), shas[2]);
    assert!(!h.file("seen").exists(), "no command ran");
}

#[test]
fn a_freeze_window_never_blocks_a_rollback_and_the_log_says_so() {
    let Abc { mut h, shas, ids } = deployed_abc();
    h.input("freeze", "production: 2020-01-01 - 2099-12-31");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("a rollback is never blocked by a freeze window"),
        "{}",
        run.stdout
    );
    // No way out is offered: a rollback needs none.
    assert!(!run.stdout.contains("override-freeze"), "{}", run.stdout);
    assert_eq!(created_after(&h.fake, ids[2])[0].sha, shas[1]);
}

#[test]
fn a_shallow_checkout_names_fetch_depth_and_writes_nothing() {
    let Abc { mut h, ids, .. } = deployed_abc();
    let shallow = h.shallow_clone();
    h.input("working-directory", &shallow.display().to_string());
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.the_error().contains("`fetch-depth: 0`"),
        "{}",
        run.the_error()
    );
    assert!(created_after(&h.fake, ids[2]).is_empty());
}

#[test]
fn rollout_plan_says_what_a_rollback_cannot_know_offline_and_what_it_would_do() {
    let h = Harness::new();
    // `rollout plan` runs without the runner's GITHUB_SHA, which a dispatch needs: a push.
    let (a, b) = ("a".repeat(40), "b".repeat(40));
    let event = h.event("push", &push_payload("refs/heads/main", &a, &b, "ship"));
    let (code, text) = plan(
        &event,
        "push",
        &[
            "step=rollback",
            "environment=Production",
            "to=48",
            "command=./deploy.sh",
            "freeze=Production: 2020-01-01 - 2099-12-31",
        ],
        None,
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("step: rollback of Production"), "{text}");
    assert!(text.contains("the deployment `48` names"), "{text}");
    assert!(text.contains("history: unknown offline"), "{text}");
    assert!(text.contains("`rollout-lock/production`"), "{text}");
    assert!(text.contains("never blocked by a freeze window"), "{text}");
    assert!(!text.contains("override-freeze"), "{text}");
    assert!(text.contains("command: ./deploy.sh"), "{text}");
}

#[test]
fn with_targets_the_named_target_rolls_back_in_its_own_environment() {
    let Abc { mut h, shas, ids } = deployed_abc();
    // The history above is production's; the target's environment is production-web.
    for &id in &ids {
        let mut s = h.fake.state();
        let d = s.deployments.iter_mut().find(|d| d.id == id).unwrap();
        d.environment = "production-web".into();
    }
    h.fake.state().seed("production", 2, Some("success"), false);
    h.input("targets", "api: api/**\nweb: web/**")
        .input("target", "web");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let newest = h.fake.state().deployments.last().cloned().unwrap();
    assert_eq!(
        (newest.environment.as_str(), newest.sha.as_str()),
        ("production-web", shas[1].as_str())
    );
    assert_eq!(run.outputs["rollback-of"], ids[2].to_string());
    // Without `target`, a repository with targets does not say which one to roll back.
    h.inputs.remove("target");
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.the_error().contains("`step: rollback`"),
        "{}",
        run.the_error()
    );
}

#[test]
fn a_failed_rollback_says_so_and_naming_its_target_again_retries_it() {
    let Abc { mut h, shas, ids } = deployed_abc();
    h.input("command", "exit 3");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.summary.contains(&format!(
            "did not roll back production from {} (deployment {})",
            &shas[2][..7],
            ids[2]
        )),
        "{}",
        run.summary
    );
    assert!(!run.summary.contains("| rolled back"), "{}", run.summary);
    // The environment is not running B: naming B's deployment again is a retry.
    git(&h.workspace, &["checkout", "-q", &shas[2]]);
    h.input("command", "true").input("to", &ids[1].to_string());
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let newest = h.fake.state().deployments.last().cloned().unwrap();
    assert_eq!(newest.sha, shas[1]);
    assert!(
        run.summary.contains("| rolled back production from"),
        "{}",
        run.summary
    );
}

fn seed_lock(h: &Harness, environment: &str, actor: &str) {
    let record = rollout::lock::LockRecord {
        environment: environment.into(),
        reason: "incident 42".into(),
        actor: actor.into(),
        run_url: "https://github.com/o/r/actions/runs/1".into(),
        created_at: jiff::Timestamp::now(),
        expires_at: None,
    };
    let commit = h.fake.state().seed_commit(&record.message());
    h.fake.state().git_refs.insert(
        format!("refs/heads/{}", rollout::lock::ref_name(environment)),
        commit,
    );
}

#[test]
fn the_lock_holder_rolls_back_without_unlocking_and_the_log_says_so() {
    // The harness's dispatch is mona's, who holds production's lock.
    let Abc { h, shas, ids } = deployed_abc();
    seed_lock(&h, "production", "mona");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["rollback-of"], ids[2].to_string());
    assert_eq!(created_after(&h.fake, ids[2])[0].sha, shas[1]);
    let said = "production is locked by you (@mona: incident 42); rolling back";
    assert!(
        run.stdout.contains(&format!("::notice::{said}")),
        "{}",
        run.stdout
    );
    assert!(run.summary.contains(said), "{}", run.summary);
    // Someone else's dispatch is stopped before anything is written.
    let Abc { mut h, ids, .. } = deployed_abc();
    seed_lock(&h, "production", "mona");
    h.var("GITHUB_ACTOR", "hubot");
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(created_after(&h.fake, ids[2]).is_empty());
}

/// Deploy A, deploy B, lock, push C (blocked: its deployment ends `error`, no command ran),
/// unlock, roll back: B is what runs, so the rollback goes from B back to A.
#[test]
fn a_rollback_after_a_blocked_deploy_rolls_back_what_runs() {
    let mut h = Harness::new();
    h.input("command", "cat version.txt >> \"$HOME/deployed\"");
    let base = h.commit(&[("README.md", "x\n")], "initial");
    let a = h.commit(&[("version.txt", "A\n")], "A");
    let b = h.commit(&[("version.txt", "B\n")], "B");
    let c = h.commit(&[("version.txt", "C\n")], "C");
    h.chown_workspace();
    let push = |before: &str, after: &str, label: &str| {
        git(&h.workspace, &["checkout", "-q", after]);
        h.event(
            "push",
            &push_payload("refs/heads/main", before, after, label),
        );
        h.run()
    };
    assert_eq!(push(&base, &a, "A").code, 0);
    assert_eq!(push(&a, &b, "B").code, 0);
    // hubot locks production; mona's push of C is stopped.
    seed_lock(&h, "production", "hubot");
    let blocked = push(&b, &c, "C");
    assert_eq!(blocked.code, 1, "{}", blocked.stdout);
    assert_eq!(blocked.outputs["status"], "blocked");
    // Unlocked: the branch goes.
    h.fake.state().git_refs.clear();
    let ids: Vec<u64> = h.fake.state().deployments.iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), 3);
    h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    h.var("GITHUB_SHA", &c);
    h.input("step", "rollback")
        .input("environment", "production");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.outputs["rollback-of"],
        ids[1].to_string(),
        "from B, not C"
    );
    assert_eq!(run.outputs["sha"], a);
    assert!(
        run.summary.contains(&format!(
            "rolled back production from {} (deployment {}) to {} (deployment {})",
            &b[..7],
            ids[1],
            &a[..7],
            ids[0]
        )),
        "{}",
        run.summary
    );
    let deployed = std::fs::read_to_string(h.file("deployed")).unwrap();
    assert_eq!(deployed, "A\nB\nA\n", "C never ran; A runs again");
    let newest = h.fake.state().deployments.last().cloned().unwrap();
    assert_eq!(
        newest.payload["rollback"],
        json!({ "from_deployment": ids[1], "from_sha": b, "to_deployment": ids[0] })
    );
}

#[test]
fn a_history_answer_lacking_the_lock_fails_closed_with_nothing_written() {
    let Abc { h, shas, ids } = deployed_abc();
    h.fake.fault(Fault {
        drop: vec!["/data/repository/lock".into()],
        ..fault("POST", "/graphql", 0, 1)
    });
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.the_error().contains("lacks `lock`"),
        "{}",
        run.the_error()
    );
    assert!(created_after(&h.fake, ids[2]).is_empty());
    assert_eq!(git(&h.workspace, &["rev-parse", "HEAD"]), shas[2]);
    assert!(!h.file("seen").exists(), "no command ran");
}

#[test]
fn with_targets_a_lock_on_the_branchs_environment_holds_a_targets_rollback() {
    let Abc { mut h, ids, .. } = deployed_abc();
    for &id in &ids {
        let mut s = h.fake.state();
        let d = s.deployments.iter_mut().find(|d| d.id == id).unwrap();
        d.environment = "production-web".into();
    }
    h.input("targets", "api: api/**\nweb: web/**")
        .input("target", "web");
    seed_lock(&h, "production", "hubot");
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(
        run.outputs["skip-reason"].contains("locked by @hubot"),
        "{:?}",
        run.outputs
    );
    assert!(created_after(&h.fake, ids[2]).is_empty());
    assert!(!h.file("seen").exists(), "no command ran");
}
