//! End to end: a push (or dispatch, or workflow run) becomes a GitHub Deployment with honest
//! statuses, against the fake API, run as the runner runs a container action.

use crate::support::*;
use serde_json::Value;

fn pushed(h: &Harness, git_ref: &str, message: &str) -> String {
    let base = h.commit(&[("README.md", "hello\n")], "initial");
    let sha = h.commit(&[("app/main.txt", "v2\n")], message);
    h.event("push", &push_payload(git_ref, &base, &sha, message));
    h.chown_workspace();
    sha
}

#[test]
fn a_push_to_main_deploys_the_exact_commit_to_production() {
    let mut h = Harness::new();
    h.input(
        "environment-url",
        "https://{environment}.example.com/{short_sha}",
    );
    let sha = pushed(&h, "refs/heads/main", "feat: ship it\n\nlonger body");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let s = h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
    assert_eq!(s.deployments.len(), 1);
    let d = &s.deployments[0];
    assert_eq!(d.git_ref, sha, "the sha is sent as the ref");
    assert_eq!(d.environment, "production");
    assert_eq!(d.task, "deploy");
    assert_eq!(d.auto_merge, Some(false));
    assert_eq!(d.required_contexts, Some(vec![]));
    assert_eq!(d.description.as_deref(), Some("feat: ship it"));
    let p = fake_github::payload_map(d);
    assert_eq!(p["branch"], "main");
    assert_eq!(p["ref"], "refs/heads/main");
    assert_eq!(p["commit_message"], "feat: ship it\n\nlonger body");
    assert_eq!(p["author"], "mona");
    assert_eq!(p["run_id"], "1658821493");
    assert_eq!(p["run_attempt"], "2");
    assert_eq!(p["rollout"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(p["rollout"]["key"]
        .as_str()
        .is_some_and(|k| k.starts_with("1658821493-2-deploy-")));
    let states: Vec<_> = d.statuses.iter().map(|s| s.state.as_str()).collect();
    assert_eq!(states, ["in_progress", "success"]);
    let log = "https://github.example.com/octo-org/app/actions/runs/1658821493/attempts/2";
    assert!(d.statuses.iter().all(|s| s.log_url.as_deref() == Some(log)));
    let url = format!("https://production.example.com/{}", &sha[..7]);
    assert_eq!(d.statuses[1].environment_url.as_deref(), Some(url.as_str()));
    assert_eq!(run.outputs["status"], "success");
    assert_eq!(run.outputs["deployment-id"], d.id.to_string());
    assert_eq!(run.outputs["environment"], "production");
    assert_eq!(run.outputs["environment-url"], url);
    assert_eq!(run.outputs["log-url"], log);
    assert_eq!(run.outputs["ref"], "refs/heads/main");
    assert_eq!(run.outputs["sha"], sha);
    assert_eq!(run.outputs["task"], "deploy");
    assert_eq!(run.state["deployment-id"], d.id.to_string());
    assert!(
        run.summary.contains("| Environment | production |"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains(&sha[..12]));
    assert!(run.stdout.contains("::group::rollout: deploy (production)"));
    assert!(
        run.stdout.contains("deploying production"),
        "the command's output streams into the log"
    );
    assert!(
        run.stdout.contains("matched `environments` line 1"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_failing_command_fails_the_deployment_without_its_output() {
    let mut h = Harness::new();
    h.input("command", "echo 'secret-ish output'; exit 3");
    pushed(&h, "refs/heads/main", "fix");
    let run = h.run();
    assert_eq!(run.code, 1);
    let s = h.state();
    let d = &s.deployments[0];
    let last = d.statuses.last().unwrap();
    assert_eq!(last.state, "failure");
    assert!(
        last.description
            .starts_with("The command exited with code 3 after"),
        "{}",
        last.description
    );
    assert!(!last.description.contains("secret-ish"));
    assert_eq!(last.environment_url, None);
    assert_eq!(run.outputs["status"], "failure");
    assert!(
        run.stdout
            .contains("::error::The command exited with code 3"),
        "{}",
        run.stdout
    );
}

#[test]
fn an_unmapped_branch_skips_without_writing() {
    let h = Harness::new();
    pushed(&h, "refs/heads/feature/x", "wip");
    let run = h.run();
    assert_eq!(run.code, 0);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(
        run.outputs["skip-reason"].contains("refs/heads/feature/x"),
        "{:?}",
        run.outputs
    );
    assert!(run.stdout.contains("::notice::skipped:"));
    assert!(h.state().writes().is_empty());
    assert!(
        run.summary
            .contains("`refs/heads/feature/x` matches no line of `environments`"),
        "the summary renders code as code: {}",
        run.summary
    );
    assert!(!run.summary.contains("&#96;"), "{}", run.summary);
}

#[test]
fn release_branches_map_through_globs() {
    let h = Harness::new();
    pushed(&h, "refs/heads/release/2.0", "release");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(h.state().deployments[0].environment, "staging");
    assert_eq!(run.outputs["ref"], "refs/heads/release/2.0");
}

#[test]
fn tags_map_through_full_ref_patterns() {
    let h = Harness::new();
    let sha = pushed(&h, "refs/tags/v1.2.3", "release 1.2.3");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert_eq!(s.deployments[0].environment, "production");
    assert_eq!(s.deployments[0].git_ref, sha);
    assert_eq!(
        fake_github::payload_map(&s.deployments[0])["ref"],
        "refs/tags/v1.2.3"
    );
}

#[test]
fn a_deleted_branch_is_never_deployed() {
    let h = Harness::new();
    let sha = h.commit(&[("a", "1")], "one");
    h.event("push", &push_payload("refs/heads/main", &sha, ZERO, ""));
    let run = h.run();
    assert_eq!(run.code, 0);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(run.outputs["skip-reason"].contains("deleted"));
    assert!(h.state().requests.is_empty());
}

#[test]
fn workflow_dispatch_deploys_to_the_fixed_environment() {
    let mut h = Harness::new();
    let sha = h.commit(&[("a", "1")], "one");
    h.input("environment", "qa");
    h.var("GITHUB_SHA", &sha);
    h.var("GITHUB_REF", "refs/heads/some-branch");
    h.event(
        "workflow_dispatch",
        &dispatch_payload("refs/heads/some-branch"),
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert_eq!(s.deployments[0].environment, "qa");
    assert_eq!(s.deployments[0].git_ref, sha);
}

#[test]
fn a_successful_workflow_run_deploys_its_head_sha() {
    let h = Harness::new();
    let sha = h.commit(&[("a", "1")], "one");
    h.event(
        "workflow_run",
        &workflow_run_payload("success", &sha, "dev", OWNER_REPO),
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert_eq!(s.deployments[0].environment, "staging");
    assert_eq!(s.deployments[0].git_ref, sha);
}

#[test]
fn a_forks_workflow_run_named_main_is_refused() {
    let h = Harness::new();
    let sha = h.commit(&[("a", "1")], "one");
    h.event(
        "workflow_run",
        &workflow_run_payload("success", &sha, "main", "evil/app"),
    );
    let run = h.run();
    assert_eq!(run.code, 0);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(
        run.stdout
            .contains("::warning::skipped: the workflow run comes from a fork"),
        "{}",
        run.stdout
    );
    assert!(h.state().requests.is_empty());
}

#[test]
fn a_long_non_ascii_commit_message_is_cut_to_what_github_accepts() {
    let h = Harness::new();
    let message = "Déploiement 🚀 ".repeat(20) + &"é".repeat(50);
    assert!(message.chars().count() >= 300);
    pushed(&h, "refs/heads/main", &message);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let s = h.state();
    assert!(s.violations.is_empty());
    let d = s.deployments[0].description.clone().unwrap();
    assert_eq!(d.chars().count(), 140);
    assert!(d.starts_with("Déploiement 🚀"));
    assert!(s.requests.iter().all(|r| r.status < 400), "no 422");
}

#[test]
fn git_works_inside_the_command_although_another_user_owns_the_workspace() {
    let mut h = Harness::new();
    h.input(
        "command",
        "git status --porcelain && git rev-parse HEAD > \"$HOME/head\"",
    );
    let sha = pushed(&h, "refs/heads/main", "x");
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(std::fs::read_to_string(h.file("head")).unwrap().trim(), sha);
}

#[test]
fn the_command_gets_the_contract_environment_and_never_the_token() {
    let mut h = Harness::new();
    h.input("command", "env > \"$HOME/env\"; cat \"$ROLLOUT_CHANGED_FILES\" > \"$HOME/changed\"; echo https://from-command.example.com > \"$ROLLOUT_URL_FILE\"");
    h.input("environment-url", "https://from-input.example.com");
    let sha = pushed(&h, "refs/heads/main", "x");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let env = std::fs::read_to_string(h.file("env")).unwrap();
    assert!(!env.contains(TOKEN), "the token reached the command");
    assert!(!env.contains("INPUT_TOKEN"));
    let id = h.state().deployments[0].id;
    for line in [
        "ROLLOUT_ENVIRONMENT=production".to_string(),
        format!("ROLLOUT_DEPLOYMENT_ID={id}"),
        "ROLLOUT_REF=refs/heads/main".to_string(),
        format!("ROLLOUT_SHA={sha}"),
        "ROLLOUT_TASK=deploy".to_string(),
        "GIT_CONFIG_KEY_0=safe.directory".to_string(),
        format!("GIT_CONFIG_VALUE_0={}", h.workspace.display()),
    ] {
        assert!(env.lines().any(|l| l == line), "missing {line}");
    }
    assert_eq!(
        std::fs::read_to_string(h.file("changed")).unwrap(),
        "app/main.txt\n"
    );
    assert_eq!(
        run.outputs["environment-url"], "https://from-command.example.com",
        "the command's URL wins"
    );
}

#[test]
fn the_runners_copies_of_the_token_are_removed_and_the_users_own_variables_stay() {
    let mut h = Harness::new();
    h.input("command", "env > \"$HOME/env\"");
    // act exports each input under its bare name too; GH_TOKEN and GITHUB_TOKEN are the user's.
    h.var("token", TOKEN);
    h.var("GH_TOKEN", TOKEN);
    h.var("GITHUB_TOKEN", "ghs_TheUsersOwnChoice");
    pushed(&h, "refs/heads/main", "x");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let env = std::fs::read_to_string(h.file("env")).unwrap();
    let lines: Vec<&str> = env.lines().collect();
    assert!(
        !lines.iter().any(|l| l.starts_with("INPUT_TOKEN=")),
        "INPUT_TOKEN reached the command"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("token=")),
        "the bare `token` reached the command"
    );
    assert!(
        lines.contains(&format!("GH_TOKEN={TOKEN}").as_str()),
        "GH_TOKEN stays"
    );
    assert!(
        lines.contains(&"GITHUB_TOKEN=ghs_TheUsersOwnChoice"),
        "GITHUB_TOKEN stays without `pass-token`"
    );
    // A bare `token` that is not the token is the user's own variable.
    h.var("token", "not-the-token");
    assert_eq!(h.run().code, 0);
    let env = std::fs::read_to_string(h.file("env")).unwrap();
    assert!(env.lines().any(|l| l == "token=not-the-token"), "{env}");
}

#[test]
fn pass_token_hands_the_token_over_as_github_token() {
    let mut h = Harness::new();
    h.input("pass-token", "true");
    h.input(
        "command",
        "test \"$GITHUB_TOKEN\" = \"$EXPECTED\" && test -z \"${INPUT_TOKEN+set}\"",
    );
    h.var("EXPECTED", TOKEN);
    pushed(&h, "refs/heads/main", "x");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn invalid_environment_lines_exit_2_naming_the_line() {
    for (text, needle) in [
        (
            "main: production\nmain:production",
            "input `environments` line 2 (\"main:production\")",
        ),
        ("feat/[x: preview", "`feat/[x` is not a valid glob"),
        ("main:", "input `environments` line 1"),
    ] {
        let mut h = Harness::new();
        h.input("environments", text);
        pushed(&h, "refs/heads/main", "x");
        let run = h.run();
        assert_eq!(run.code, 2, "{text}");
        let error = run.the_error();
        assert!(error.contains(needle), "{}", error);
        assert!(h.state().requests.is_empty(), "nothing reaches the API");
    }
}

#[test]
fn required_contexts_are_sent_empty_unless_given() {
    let mut h = Harness::new();
    h.state().pending_check = Some("ci/build".into());
    pushed(&h, "refs/heads/main", "x");
    assert_eq!(h.run().code, 0, "[] passes a pending check");
    h.input("required-contexts", "ci/build");
    let run = h.run();
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("409"), "{}", run.stdout);
    assert!(run.stdout.contains("required-contexts"), "{}", run.stdout);
}

#[test]
fn user_payload_is_merged_and_rollouts_keys_win() {
    let mut h = Harness::new();
    h.input("payload", r#"{"team": "web", "sha": "not-this"}"#);
    let sha = pushed(&h, "refs/heads/main", "x");
    assert_eq!(h.run().code, 0);
    let p = fake_github::payload_map(&h.state().deployments[0]);
    assert_eq!(p["team"], "web");
    assert_eq!(p["sha"], Value::String(sha));
}

#[test]
fn dry_run_plans_without_writing() {
    let mut h = Harness::new();
    h.input("dry-run", "true");
    h.input("command", "touch \"$HOME/ran\"");
    pushed(&h, "refs/heads/main", "x");
    let run = h.run();
    assert_eq!(run.code, 0);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(h.state().writes().is_empty());
    assert!(!h.file("ran").exists());
    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("dry run:"),
        "the first log line says it is a dry run: {}",
        run.stdout
    );
}

#[test]
fn unknown_events_are_a_notice_and_a_skip() {
    let h = Harness::new();
    h.event("issues", &serde_json::json!({"action": "opened"}));
    let run = h.run();
    assert_eq!(run.code, 0);
    assert!(
        run.stdout
            .contains("::notice::skipped: rollout does not deploy on `issues` events"),
        "{}",
        run.stdout
    );
    assert!(h.state().requests.is_empty());
}

#[test]
fn runner_debug_shows_each_api_call_but_never_the_token() {
    let mut h = Harness::new();
    h.var("RUNNER_DEBUG", "1");
    pushed(&h, "refs/heads/main", "x");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("::debug::POST /repos/octo-org/app/deployments -> 201"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.to_lowercase().contains("authorization"));
    let quiet = Harness::new();
    pushed(&quiet, "refs/heads/main", "x");
    assert!(!quiet.run().stdout.contains("::debug::"));
}

#[test]
fn deactivate_marks_one_deployment_or_a_whole_environment_inactive() {
    let mut h = Harness::new();
    pushed(&h, "refs/heads/main", "x");
    assert_eq!(h.run().code, 0);
    assert_eq!(h.run().code, 0);
    let first = h.state().deployments[0].id.to_string();
    h.inputs.remove("command");
    h.input("step", "deactivate").input("deployment-id", &first);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "inactive");
    {
        let s = h.state();
        assert_eq!(s.deployments[0].state(), Some("inactive"));
        assert_eq!(s.deployments[1].state(), Some("success"));
    }
    h.inputs.remove("deployment-id");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["environment"], "production");
    assert!(h
        .state()
        .deployments
        .iter()
        .all(|d| d.state() == Some("inactive")));
}
