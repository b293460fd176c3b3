//! Many targets in one repository (CONTRACT.md "Many targets in one job"): only what changed
//! deploys, each target in its own environment, in one job or one matrix job per target.

use crate::support::*;

const TARGETS: &str =
    "api: services/api/** libs/**\nweb: services/web/** libs/**\nworker: services/worker/**";

/// A push to main that changed the api and the worker, not the web.
fn two_of_three(h: &mut Harness) -> String {
    h.input("targets", TARGETS);
    h.input(
        "command",
        "echo \"$ROLLOUT_TARGET $ROLLOUT_ENVIRONMENT\" >> \"$GITHUB_WORKSPACE/../seen\"; test \"$ROLLOUT_TARGET\" != \"${FAIL_TARGET:-}\"",
    );
    let base = h.commit(
        &[
            ("services/api/a.txt", "1\n"),
            ("services/web/w.txt", "1\n"),
            ("services/worker/k.txt", "1\n"),
        ],
        "initial",
    );
    let sha = h.commit(
        &[
            ("services/api/a.txt", "2\n"),
            ("services/worker/k.txt", "2\n"),
        ],
        "api and worker",
    );
    h.event(
        "push",
        &push_payload("refs/heads/main", &base, &sha, "api and worker"),
    );
    h.chown_workspace();
    sha
}

fn seen(h: &Harness) -> String {
    std::fs::read_to_string(h.dir.path().join("seen")).unwrap_or_default()
}

#[test]
fn two_of_three_targets_changed_deploy_in_their_own_environments() {
    let mut h = Harness::new();
    let sha = two_of_three(&mut h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    let envs: Vec<_> = s
        .deployments
        .iter()
        .map(|d| d.environment.as_str())
        .collect();
    assert_eq!(envs, ["production-api", "production-worker"]);
    for d in &s.deployments {
        assert_eq!(d.git_ref, sha);
        // The API alone would say false for `production-api`.
        assert!(
            d.production_environment,
            "{} inherits production",
            d.environment
        );
        let states: Vec<_> = d.statuses.iter().map(|s| s.state.as_str()).collect();
        assert_eq!(states, ["in_progress", "success"]);
    }
    assert_eq!(
        seen(&h),
        "api production-api\nworker production-worker\n",
        "the command ran once per affected target with ROLLOUT_TARGET"
    );
    assert_eq!(run.outputs["targets"], r#"["api","worker"]"#);
    assert_eq!(
        run.outputs["results"],
        r#"{"api":"success","worker":"success"}"#
    );
    assert_eq!(run.outputs["status"], "success");
    assert!(
        !run.outputs.contains_key("deployment-id"),
        "two deployments: no single id"
    );
    assert!(
        run.stdout.contains("web: no changed file matches"),
        "{}",
        run.stdout
    );
    let ids = &run.state["deployment-ids"];
    let listed: Vec<String> = s.deployments.iter().map(|d| d.id.to_string()).collect();
    assert_eq!(ids, &listed.join(","), "the post step's state lists both");
}

#[test]
fn staging_targets_are_not_production() {
    let mut h = Harness::new();
    h.input("targets", TARGETS);
    let base = h.commit(&[("services/api/a.txt", "1\n")], "initial");
    let sha = h.commit(&[("services/api/a.txt", "2\n")], "api");
    h.event("push", &push_payload("refs/heads/dev", &base, &sha, "api"));
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    assert_eq!(s.deployments.len(), 1);
    assert_eq!(s.deployments[0].environment, "staging-api");
    assert!(!s.deployments[0].production_environment);
    assert_eq!(
        run.outputs["deployment-id"],
        s.deployments[0].id.to_string()
    );
}

#[test]
fn one_target_failing_does_not_stop_the_others() {
    let mut h = Harness::new();
    two_of_three(&mut h);
    h.var("FAIL_TARGET", "api");
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    let finals: Vec<_> = s
        .deployments
        .iter()
        .map(|d| {
            (
                d.environment.as_str(),
                d.statuses.last().map(|s| s.state.as_str()),
            )
        })
        .collect();
    assert_eq!(
        finals,
        [
            ("production-api", Some("failure")),
            ("production-worker", Some("success"))
        ]
    );
    assert_eq!(
        run.outputs["results"],
        r#"{"api":"failure","worker":"success"}"#
    );
    assert_eq!(run.outputs["status"], "failure");
}

#[test]
fn step_plan_sets_the_targets_output_and_writes_nothing() {
    let mut h = Harness::new();
    two_of_three(&mut h);
    h.input("step", "plan");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["targets"], r#"["api","worker"]"#);
    assert!(h.state().writes().is_empty(), "{:?}", h.state().writes());
    assert!(seen(&h).is_empty(), "no command ran");
}

#[test]
fn step_plan_whose_outputs_cannot_be_written_fails() {
    // A later job's `fromJSON(needs.plan.outputs.targets)` would fail far away on nothing.
    let mut h = Harness::new();
    two_of_three(&mut h);
    h.input("step", "plan");
    let unwritable = h.dir.path().join("no-such-dir").join("output");
    let run = h.run_with(|cmd| {
        cmd.env("GITHUB_OUTPUT", &unwritable);
    });
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let error = run.the_error();
    assert!(
        error.contains("could not write its outputs to GITHUB_OUTPUT"),
        "{error}"
    );
    assert!(h.state().writes().is_empty());
}

#[test]
fn step_plan_on_an_unmapped_branch_gives_an_empty_matrix() {
    let mut h = Harness::new();
    h.input("targets", TARGETS).input("step", "plan");
    let base = h.commit(&[("services/api/a.txt", "1\n")], "initial");
    let sha = h.commit(&[("services/api/a.txt", "2\n")], "api");
    h.event(
        "push",
        &push_payload("refs/heads/feature/x", &base, &sha, "api"),
    );
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["targets"], "[]");
    assert!(h.state().requests.is_empty());
}

#[test]
fn a_matrix_job_deploys_its_one_target() {
    let mut h = Harness::new();
    two_of_three(&mut h);
    h.input("target", "worker");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    assert_eq!(s.deployments.len(), 1);
    assert_eq!(s.deployments[0].environment, "production-worker");
    assert_eq!(
        run.outputs["deployment-id"],
        s.deployments[0].id.to_string()
    );
    assert_eq!(run.outputs["environment"], "production-worker");
    assert_eq!(seen(&h), "worker production-worker\n");
}

#[test]
fn a_matrix_job_whose_target_did_not_change_skips_with_the_reason() {
    let mut h = Harness::new();
    two_of_three(&mut h);
    h.input("target", "web");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(
        run.outputs["skip-reason"].contains("target `web` is not affected"),
        "{:?}",
        run.outputs
    );
    assert!(h.state().writes().is_empty());
}

#[test]
fn unknown_changes_affect_every_target() {
    let mut h = Harness::new();
    h.input("targets", TARGETS);
    let sha = h.commit(&[("services/api/a.txt", "1\n")], "first");
    // A force push whose `before` is not here: what changed cannot be known locally, and a
    // compare from the merge base would miss the discarded commits.
    let mut event = push_payload("refs/heads/main", &"1".repeat(40), &sha, "first");
    event["forced"] = serde_json::Value::Bool(true);
    h.event("push", &event);
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["targets"], r#"["api","web","worker"]"#);
    assert!(
        run.stdout.contains("every target is affected"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_target_environment_with_a_slash_works() {
    let mut h = Harness::new();
    two_of_three(&mut h);
    h.input("target-environment", "{environment}/svc/{target}")
        .input("target", "api");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    assert_eq!(s.deployments[0].environment, "production/svc/api");
    assert!(s.violations.is_empty(), "{:?}", s.violations);
}

#[test]
fn previews_per_target_and_their_teardown() {
    let mut h = Harness::new();
    h.input("targets", TARGETS)
        .input("preview-environment", "pr-{number}")
        .input("comment", "false")
        .input(
            "teardown-command",
            "echo \"down $ROLLOUT_TARGET $ROLLOUT_ENVIRONMENT\" >> \"$GITHUB_WORKSPACE/../seen\"",
        );
    let base = h.commit(
        &[("services/api/a.txt", "1\n"), ("services/web/w.txt", "1\n")],
        "initial",
    );
    let head = h.commit(&[("services/api/a.txt", "2\n")], "api");
    h.event(
        "pull_request",
        &pr_payload("opened", 7, &head, "feature/api", &base, OWNER_REPO, "api"),
    );
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    {
        let s = h.state();
        let envs: Vec<_> = s
            .deployments
            .iter()
            .map(|d| d.environment.as_str())
            .collect();
        assert_eq!(envs, ["pr-7-api"]);
        assert!(!s.deployments[0].production_environment);
        assert!(s.deployments[0].transient_environment);
    }
    h.event(
        "pull_request",
        &pr_payload("closed", 7, &head, "feature/api", &base, OWNER_REPO, "api"),
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    assert_eq!(
        s.deployments[0].statuses.last().map(|s| s.state.as_str()),
        Some("inactive")
    );
    assert_eq!(
        seen(&h),
        "down api pr-7-api\n",
        "the teardown ran once, for the one target that had a preview"
    );
}

#[test]
fn bad_target_inputs_are_refused_before_any_request() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("targets", TARGETS), ("target", "db")], "input `target`"),
        (&[("target", "api")], "`targets` is empty"),
        (&[("targets", "api: a/**\nAPI: b/**")], "input `targets`"),
        (&[("targets", "api:")], "input `targets`"),
        (
            &[
                ("targets", TARGETS),
                ("target-environment", "{environment}-svc"),
            ],
            "{target}",
        ),
        (&[("targets", TARGETS), ("step", "start")], "input `target`"),
    ];
    for (inputs, want) in cases {
        let mut h = Harness::new();
        for (k, v) in *inputs {
            h.input(k, v);
        }
        pushed(&h);
        let run = h.run();
        assert_eq!(run.code, 2, "{inputs:?}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.the_error().contains(want),
            "{inputs:?}: {}",
            run.the_error()
        );
        assert!(h.state().requests.is_empty(), "{inputs:?}");
    }
}

#[test]
fn the_post_step_finishes_every_deployment_of_the_job() {
    let mut h = Harness::new();
    two_of_three(&mut h);
    h.input("step", "start").input("target", "api");
    let first = h.run();
    assert_eq!(first.code, 0, "{}\n{}", first.stdout, first.stderr);
    h.input("target", "worker");
    let second = h.run();
    assert_eq!(second.code, 0, "{}\n{}", second.stdout, second.stderr);
    let ids: Vec<String> = h
        .state()
        .deployments
        .iter()
        .map(|d| d.id.to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    let post = h.run_with(|c| {
        c.arg("post").env("STATE_deployment-ids", ids.join(","));
    });
    assert_eq!(post.code, 0, "{}\n{}", post.stdout, post.stderr);
    let s = h.state();
    for d in &s.deployments {
        assert!(d.is_final(), "{} left {:?}", d.id, d.state());
    }
}

#[test]
fn the_summary_has_one_row_per_target() {
    let mut h = Harness::new();
    two_of_three(&mut h);
    h.var("FAIL_TARGET", "worker");
    let run = h.run();
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    let row = |name: &str, env: &str| {
        let line = run
            .summary
            .lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{}", run.summary));
        let id = s
            .deployments
            .iter()
            .find(|d| d.environment == env)
            .map(|d| d.id.to_string())
            .unwrap_or_else(|| panic!("no deployment to {env}"));
        assert!(line.contains(&format!("`{env}`")), "{line}");
        assert!(line.contains(&format!("| {id} |")), "{line}");
        line.to_string()
    };
    assert!(row("api", "production-api").contains("✅ success"));
    let worker = row("worker", "production-worker");
    assert!(worker.contains("❌ failure"), "{worker}");
    assert!(worker.contains("exited with code 1"), "{worker}");
    assert!(
        !run.summary.contains("| web |"),
        "an unaffected target has no row:\n{}",
        run.summary
    );
}

#[test]
fn one_job_preview_keeps_one_comment_with_a_row_per_target() {
    let mut h = Harness::new();
    h.input("targets", TARGETS)
        .input("preview-environment", "pr-{number}");
    let base = h.commit(
        &[("services/api/a.txt", "1\n"), ("services/web/w.txt", "1\n")],
        "initial",
    );
    let head = h.commit(&[("libs/shared.txt", "2\n")], "a shared library");
    h.event(
        "pull_request",
        &pr_payload(
            "opened",
            7,
            &head,
            "feature/libs",
            &base,
            OWNER_REPO,
            "libs",
        ),
    );
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    {
        let s = h.state();
        assert_eq!(s.comments.len(), 1, "one comment for the job's targets");
        let body = &s.comments[0].body;
        assert!(body.starts_with("<!-- rollout:preview:pr-7 -->"), "{body}");
        for (name, env) in [("api", "pr-7-api"), ("web", "pr-7-web")] {
            let line = body
                .lines()
                .find(|l| l.starts_with(&format!("| {name} |")))
                .unwrap_or_else(|| panic!("no row for {name}:\n{body}"));
            assert!(line.contains(&format!("`{env}`")), "{line}");
            assert!(line.contains("success"), "{line}");
        }
        assert!(!body.contains("| worker |"), "{body}");
    }
    // The close updates the same comment: every row says its preview is gone.
    h.event(
        "pull_request",
        &pr_payload(
            "closed",
            7,
            &head,
            "feature/libs",
            &base,
            OWNER_REPO,
            "libs",
        ),
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    assert_eq!(s.comments.len(), 1, "{:?}", s.comments);
    let body = &s.comments[0].body;
    assert_eq!(
        body.lines().filter(|l| l.contains("💤 inactive")).count(),
        2,
        "{body}"
    );
}

#[test]
fn rollout_plan_prints_each_targets_decision() {
    let mut h = Harness::new();
    two_of_three(&mut h);
    let event = h.dir.path().join("event.json");
    let inputs = [
        format!("targets={TARGETS}"),
        "environments=main: production".to_string(),
        "command=./deploy.sh".to_string(),
    ];
    let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let (code, text) = plan(&event, "push", &inputs, Some(&h.workspace));
    assert_eq!(code, 0, "{text}");
    assert!(
        text.starts_with("targets: 2 of 3 target(s) affected"),
        "{text}"
    );
    let section = |name: &str| {
        let start = text
            .find(&format!("target {name}:\n"))
            .unwrap_or_else(|| panic!("no section for {name}:\n{text}"));
        let rest = &text[start..];
        let end = rest[1..].find("\ntarget ").map_or(rest.len(), |i| i + 1);
        rest[..end].to_string()
    };
    assert!(
        section("api").contains("  deploy: ") && section("api").contains("to production-api"),
        "{text}"
    );
    assert!(section("worker").contains("to production-worker"), "{text}");
    assert!(section("web").contains("  not affected: "), "{text}");
    // The `target` input narrows it to one.
    let mut one = inputs.clone();
    one.push("target=web");
    let (code, text) = plan(&event, "push", &one, Some(&h.workspace));
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("target web:\n  not affected"), "{text}");
    assert!(!text.contains("target api:"), "{text}");
}
