//! Promotion through the binary against the fake: `artifact` recorded and handed on (deploy,
//! rollback), `requires` read in one request before the create (met, never deployed, failed,
//! succeeded once but the newest failed, undone by a rollback, overridden), `step: promote`
//! shipping the source's commit, task and artifact, and the refusals (a bad artifact, an artifact
//! on a promotion, nothing good to promote, a lock on the destination, a fork's event).

use crate::support::*;
use rollout::lock::{ref_name, LockRecord};
use serde_json::{json, Value};

const ARTIFACT: &str = "ghcr.io/acme/app@sha256:0b5c1e1b6a3f";
/// Leaves what the command saw in `$HOME/got`, and the promotion's payload file beside it.
const SHOW: &str = r#"printf '%s\n' "${ROLLOUT_ARTIFACT-unset}" "${ROLLOUT_PROMOTED_FROM-unset}" "$ROLLOUT_TASK" "$(git rev-parse HEAD)" > "$HOME/got"; if [ -n "$ROLLOUT_PROMOTE_PAYLOAD" ]; then cp "$ROLLOUT_PROMOTE_PAYLOAD" "$HOME/promote-payload"; fi"#;

fn got(h: &Harness) -> Vec<String> {
    std::fs::read_to_string(h.file("got"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

/// The GraphQL requests that read a commit's deployments (`requires`).
fn requires_reads(h: &Harness) -> usize {
    graphql_reads_with(h, "object(oid:")
}

/// A deployment of `sha` in `environment` with these statuses (oldest first); returns its id.
fn deployed(h: &Harness, environment: &str, sha: &str, states: &[&str], payload: Value) -> u64 {
    let mut s = h.state();
    let id = s.seed(environment, 1, Some(states[0]), false)[0];
    let d = s.deployments.iter_mut().find(|d| d.id == id).unwrap();
    d.sha = sha.to_string();
    d.git_ref = sha.to_string();
    d.payload = payload;
    let first = d.statuses[0].clone();
    d.statuses[0].log_url = Some("https://github.example.com/octo-org/app/actions/runs/77".into());
    for state in &states[1..] {
        d.statuses.push(fake_github::Status {
            state: state.to_string(),
            log_url: Some("https://github.example.com/octo-org/app/actions/runs/77".into()),
            ..first.clone()
        });
    }
    id
}

fn seed_lock(h: &Harness, environment: &str) {
    let created_at: jiff::Timestamp = "2026-01-01T10:00:00Z".parse().unwrap();
    let lock = LockRecord {
        environment: environment.into(),
        reason: "hubot investigates incident 42".into(),
        actor: "hubot".into(),
        run_url: "https://github.example.com/octo-org/app/actions/runs/99/attempts/1".into(),
        created_at,
        expires_at: None,
    };
    let mut s = h.state();
    let commit = s.seed_commit(&lock.message());
    s.git_refs
        .insert(format!("refs/heads/{}", ref_name(environment)), commit);
}

fn production(h: &Harness) -> Vec<fake_github::Deployment> {
    h.state()
        .deployments
        .iter()
        .filter(|d| d.environment == "production")
        .cloned()
        .collect()
}

// ---- artifact ----

#[test]
fn an_artifact_goes_into_the_payload_and_to_the_command() {
    let mut h = Harness::new();
    h.input("command", SHOW)
        .input("artifact", &format!("  {ARTIFACT}\n"));
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(got(&h)[0], ARTIFACT);
    assert_eq!(got(&h)[1], "unset", "no promotion");
    let d = production(&h);
    assert_eq!(d[0].payload["artifact"], ARTIFACT);
    assert_eq!(requires_reads(&h), 0, "no `requires`, no read");
    no_violations(&h);
    // The decision is in the log, and in what `rollout plan` says.
    assert!(
        run.stdout.contains(&format!("  artifact: {ARTIFACT}\n")),
        "{}",
        run.stdout
    );
    let (code, text) = plan(
        &h.file("event.json"),
        "push",
        &[
            "environments=main: production",
            "command=true",
            &format!("artifact={ARTIFACT}"),
        ],
        Some(&h.workspace),
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("  artifact: {ARTIFACT} (")),
        "{text}"
    );
}

#[test]
fn a_bad_artifact_is_refused_before_any_request() {
    for bad in ["x".repeat(1001), "app:1\napp:2".to_string()] {
        let mut h = Harness::new();
        h.input("artifact", &bad);
        pushed(&h);
        let run = h.run();
        assert_eq!(run.code, 2, "{}", run.stdout);
        assert!(
            run.the_error().contains("input `artifact`"),
            "{}",
            run.stdout
        );
        assert!(h.state().requests.is_empty(), "a request was made");
    }
}

#[test]
fn a_rollback_hands_its_targets_artifact_to_the_command_and_records_it() {
    let mut h = Harness::new();
    let good = h.commit(&[("app.txt", "1\n")], "one");
    let bad = h.commit(&[("app.txt", "2\n")], "two");
    h.chown_workspace();
    let target = deployed(
        &h,
        "production",
        &good,
        &["in_progress", "success"],
        json!({"artifact": "app@sha256:1111"}),
    );
    deployed(
        &h,
        "production",
        &bad,
        &["in_progress", "failure"],
        json!({"artifact": "app@sha256:2222"}),
    );
    h.input("step", "rollback")
        .input("environment", "production")
        .input("command", SHOW)
        .var("GITHUB_SHA", &bad);
    h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let seen = got(&h);
    assert_eq!(seen[0], "app@sha256:1111", "{seen:?}");
    assert_eq!(seen[3], good, "the target's commit was checked out");
    let newest = production(&h).into_iter().last().unwrap();
    assert_eq!(newest.payload["artifact"], "app@sha256:1111");
    assert_eq!(newest.payload["rollback"]["to_deployment"], target);
    no_violations(&h);
}

// ---- requires ----

fn requires_harness() -> (Harness, String) {
    let mut h = Harness::new();
    h.input("command", "touch \"$HOME/ran\"")
        .input("requires", "prod*: staging");
    let sha = pushed(&h);
    (h, sha)
}

fn assert_blocked(h: &Harness, run: &Run, says: &str) {
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    let reason = &run.outputs["skip-reason"];
    assert!(reason.contains(says), "{reason}");
    assert!(reason.contains("override-requires"), "{reason}");
    assert!(run.the_error().contains(says), "{}", run.stdout);
    assert!(run.summary.contains("Blocked by"), "{}", run.summary);
    assert!(!h.file("ran").exists(), "the command ran");
    assert!(production(h).is_empty(), "a deployment was created");
    assert_eq!(requires_reads(h), 1);
    no_violations(h);
}

#[test]
fn requires_met_deploys_after_one_read_before_the_create() {
    let (h, sha) = requires_harness();
    let staged = deployed(&h, "staging", &sha, &["in_progress", "success"], json!({}));
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(h.file("ran").exists());
    assert!(
        run.stdout
            .contains(&format!("succeeded in staging (deployment {staged})")),
        "{}",
        run.stdout
    );
    assert_eq!(requires_reads(&h), 1);
    let s = h.state();
    let read = s
        .requests
        .iter()
        .position(|r| r.path == "/graphql")
        .unwrap();
    let create = s
        .requests
        .iter()
        .position(|r| r.method == "POST" && r.path.ends_with("/deployments"))
        .unwrap();
    assert!(read < create, "the read comes before the create");
    drop(s);
    // The lock came with it: the deploy reads it no second time.
    assert_eq!(graphql_reads_with(&h, "qualifiedName"), 1);
    no_violations(&h);
}

#[test]
fn a_commit_never_deployed_to_staging_is_blocked_before_any_deployment() {
    let (h, sha) = requires_harness();
    // Another commit succeeded there: it is not this one.
    deployed(
        &h,
        "staging",
        &"e".repeat(40),
        &["in_progress", "success"],
        json!({}),
    );
    let run = h.run();
    assert_blocked(
        &h,
        &run,
        &format!(
            "{} has not succeeded in staging: it was never deployed there; deploy it to staging first",
            &sha[..7]
        ),
    );
}

#[test]
fn a_commit_that_failed_in_staging_is_blocked() {
    let (h, sha) = requires_harness();
    let failed = deployed(&h, "staging", &sha, &["in_progress", "failure"], json!({}));
    let run = h.run();
    assert_blocked(
        &h,
        &run,
        &format!(
            "{} has not succeeded in staging: its newest deployment there ({failed}) ended failure",
            &sha[..7]
        ),
    );
}

#[test]
fn a_commit_that_succeeded_once_but_whose_newest_deploy_failed_is_blocked() {
    let (h, sha) = requires_harness();
    deployed(&h, "staging", &sha, &["in_progress", "success"], json!({}));
    let newest = deployed(&h, "staging", &sha, &["in_progress", "failure"], json!({}));
    // A deployment a lock stopped never ran: passed over.
    deployed(&h, "staging", &sha, &["error"], json!({}));
    let run = h.run();
    assert_blocked(
        &h,
        &run,
        &format!("its newest deployment there ({newest}) ended failure"),
    );
}

#[test]
fn a_commit_a_later_rollback_undid_in_staging_is_blocked() {
    let (h, sha) = requires_harness();
    let good = deployed(&h, "staging", &sha, &["in_progress", "success"], json!({}));
    let rollback = deployed(
        &h,
        "staging",
        &"e".repeat(40),
        &["in_progress", "success"],
        json!({"rollback": {"from_deployment": good, "from_sha": sha, "to_deployment": 1}}),
    );
    let run = h.run();
    assert_blocked(
        &h,
        &run,
        &format!("({good}) reached success, but rollback deployment {rollback} undid it"),
    );
}

#[test]
fn override_requires_deploys_anyway_and_records_why() {
    let (mut h, sha) = requires_harness();
    h.input("override-requires", "hotfix for incident 42");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(h.file("ran").exists());
    let d = production(&h);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].payload["requires_override"], "hotfix for incident 42");
    assert!(
        run.summary.contains("Requires overridden")
            && run.summary.contains("hotfix for incident 42")
            && run.summary.contains(&sha[..7]),
        "{}",
        run.summary
    );
    assert!(
        run.stdout
            .contains("`override-requires` lets this deploy through: hotfix for incident 42"),
        "{}",
        run.stdout
    );
    // What a blocked deploy is told to do is moot once it goes ahead.
    assert!(
        !run.stdout.contains("first; `override-requires`"),
        "{}",
        run.stdout
    );
    no_violations(&h);
}

#[test]
fn a_deploy_to_an_environment_no_line_covers_reads_nothing_more() {
    let (mut h, _) = requires_harness();
    h.input("requires", "qa: staging");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(requires_reads(&h), 0);
}

// ---- step: promote ----

/// Two commits; staging runs the first (deployment returned), the workspace is at the second.
fn promote_harness() -> (Harness, String, u64) {
    let mut h = Harness::new();
    let staged = h.commit(&[("app.txt", "1\n")], "one");
    let head = h.commit(&[("app.txt", "2\n")], "two");
    h.chown_workspace();
    h.input("step", "promote")
        .input("environment", "production")
        .input("from", "staging")
        .input("command", SHOW)
        .var("GITHUB_SHA", &head);
    h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    let id = deployed(
        &h,
        "staging",
        &staged,
        &["in_progress", "success"],
        json!({"artifact": ARTIFACT, "built_by": "ci"}),
    );
    h.state()
        .deployments
        .iter_mut()
        .find(|d| d.id == id)
        .unwrap()
        .task = "deploy:web".into();
    (h, staged, id)
}

#[test]
fn a_failed_promotion_with_on_failure_rollback_puts_the_destinations_last_good_back() {
    let (mut h, staged, _) = promote_harness();
    let good = h.commit(&[("app.txt", "3\n")], "three");
    h.chown_workspace();
    let live = deployed(
        &h,
        "production",
        &good,
        &["in_progress", "success"],
        json!({"artifact": "registry.example/app@sha256:good"}),
    );
    // The promoted build fails its check; the rollback's passes.
    h.input("command", "true")
        .input("on-failure", "rollback")
        .input(
            "verify",
            "[ \"$ROLLOUT_ARTIFACT\" = registry.example/app@sha256:good ]",
        );
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let d = production(&h);
    assert_eq!(d.len(), 3, "the live one, the promotion and the rollback");
    let (failed, back) = (&d[1], &d[2]);
    assert_eq!(failed.sha, staged);
    assert_eq!(failed.state(), Some("failure"));
    assert_eq!(
        failed.statuses.last().unwrap().description,
        format!(
            "Failed in Verifying: exit 1; rolling back to {}",
            &good[..7]
        )
    );
    assert_eq!(
        (back.sha.as_str(), back.state()),
        (good.as_str(), Some("success"))
    );
    assert_eq!(back.payload["rollback"]["to_deployment"], live);
    assert_eq!(back.payload["rollback"]["automatic"], true);
    assert_eq!(run.outputs["rollback-deployment-id"], back.id.to_string());
    assert_eq!(run.outputs["deployment-id"], failed.id.to_string());
    no_violations(&h);
}

#[test]
fn a_dry_run_promotion_says_what_and_which_build_it_would_ship_and_writes_nothing() {
    let (mut h, staged, _) = promote_harness();
    h.input("dry-run", "true");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "skipped");
    for said in [&run.outputs["skip-reason"], &run.stdout] {
        assert!(
            said.contains(&format!("dry-run: would check {staged} out")),
            "{said}"
        );
    }
    assert!(
        run.stdout.contains(&format!("  artifact: {ARTIFACT}")),
        "{}",
        run.stdout
    );
    assert!(production(&h).is_empty());
    assert!(!h.file("got").exists(), "the command ran");
    assert!(
        h.state()
            .requests
            .iter()
            .all(|r| r.method == "POST" && r.path == "/graphql"),
        "a dry run wrote"
    );
}

#[test]
fn a_promotion_checks_out_and_ships_the_sources_commit_task_and_artifact() {
    let (h, staged, source) = promote_harness();
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let seen = got(&h);
    assert_eq!(
        seen,
        [ARTIFACT, "staging", "deploy:web", staged.as_str()],
        "artifact, source, task, HEAD"
    );
    let payload: Value =
        serde_json::from_str(&std::fs::read_to_string(h.file("promote-payload")).unwrap()).unwrap();
    assert_eq!(payload["built_by"], "ci");
    let d = production(&h);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].sha, staged);
    assert_eq!(d[0].task, "deploy:web");
    assert_eq!(d[0].payload["artifact"], ARTIFACT);
    assert_eq!(
        d[0].payload["promotion"],
        json!({"from_environment": "staging", "from_deployment": source})
    );
    assert_eq!(
        d[0].description.as_deref(),
        Some(
            format!(
                "Promote {} from staging (deployment {source})",
                &staged[..7]
            )
            .as_str()
        )
    );
    assert_eq!(run.outputs["promoted-from"], source.to_string());
    assert_eq!(run.outputs["sha"], staged);
    // Who made the build, and where it ran.
    for text in [&run.summary, &run.stdout] {
        assert!(
            text.contains("github-actions") && text.contains("actions/runs/77"),
            "{text}"
        );
    }
    // One read before the create: the source's history with the destination's lock.
    let s = h.state();
    let before_create: Vec<&fake_github::Request> = s
        .requests
        .iter()
        .take_while(|r| !(r.method == "POST" && r.path.ends_with("/deployments")))
        .collect();
    assert_eq!(
        before_create.len(),
        1,
        "{:?}",
        before_create.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert_eq!(before_create[0].path, "/graphql");
    drop(s);
    no_violations(&h);
}

#[test]
fn a_promotion_from_an_environment_whose_newest_deploy_failed_is_refused() {
    let (h, _, _) = promote_harness();
    let failed = deployed(
        &h,
        "staging",
        &"d".repeat(40),
        &["in_progress", "failure"],
        json!({}),
    );
    let run = h.run();
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.the_error().contains(&format!(
            "staging's newest deployment {failed} (ddddddd) ended failure; nothing good to promote"
        )),
        "{}",
        run.stdout
    );
    assert!(production(&h).is_empty());
    assert!(!h.file("got").exists());
}

#[test]
fn an_artifact_input_on_a_promotion_is_refused() {
    let (mut h, _, _) = promote_harness();
    h.input("artifact", "app:9");
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.the_error().contains("input `artifact`"),
        "{}",
        run.stdout
    );
    assert!(h.state().requests.is_empty());
}

#[test]
fn a_lock_on_the_destination_blocks_a_promotion_before_any_deployment() {
    let (h, _, _) = promote_harness();
    seed_lock(&h, "production");
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "blocked");
    assert!(run.outputs["skip-reason"].contains("locked by @hubot"));
    assert!(production(&h).is_empty());
    assert!(!h.file("got").exists());
    assert_eq!(h.state().requests_to("POST", "/graphql"), 1);
}

#[test]
fn without_from_a_promotion_takes_the_environment_requires_names() {
    let (mut h, staged, _) = promote_harness();
    h.input("from", "").input("requires", "production: staging");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(production(&h)[0].sha, staged);
}

#[test]
fn steps_that_steer_environments_refuse_a_forks_pull_request_target() {
    for step in ["promote", "rollback", "lock", "unlock"] {
        let mut h = Harness::new();
        let base = h.commit(&[("a", "1")], "base");
        let head = h.commit(&[("a", "2")], "head");
        h.input("step", step)
            .input("environment", "production")
            .input("from", "staging")
            .input("reason", "r")
            .input("allow-fork-code", "true")
            .var("GITHUB_SHA", &head);
        h.event(
            "pull_request_target",
            &pr_payload("opened", 7, &head, "feature", &base, "mallory/app", "x"),
        );
        let run = h.run();
        assert_eq!(run.code, 2, "{step}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.the_error().contains("comes from a fork"),
            "{step}: {}",
            run.stdout
        );
        assert!(h.state().requests.is_empty(), "{step}: a request was made");
    }
}

#[test]
fn rollout_plan_says_what_promote_and_requires_cannot_know_offline() {
    let h = Harness::new();
    let sha = pushed(&h);
    let event = h.file("event.json");
    let (code, text) = plan(
        &event,
        "push",
        &[
            "environments=main: production",
            "command=true",
            "requires=production: staging",
        ],
        Some(&h.workspace),
    );
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!(
            "whether {} has succeeded in staging is unknown offline",
            &sha[..7]
        )),
        "{text}"
    );
    let (code, text) = plan(
        &event,
        "push",
        &[
            "environment=production",
            "command=true",
            "step=promote",
            "from=staging",
        ],
        Some(&h.workspace),
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("step: promote to production"), "{text}");
    assert!(text.contains("source history: unknown offline"), "{text}");
}
