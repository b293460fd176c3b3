//! Bad input that used to reach GitHub or be silently accepted (issue 36): each is exit 2 with one
//! sentence naming the input and the fix, before any request; and lines read as a YAML user
//! writes them.

use crate::support::*;

/// Exit 2, one `::error::` sentence holding `needle`, and no request made.
fn refused(h: &Harness, needle: &str) {
    let run = h.run();
    assert_eq!(run.code, 2, "{}", run.stdout);
    let error = run.the_error();
    assert!(error.contains(needle), "{error}");
    assert!(
        h.state().requests.is_empty(),
        "nothing reaches the API: {:?}",
        h.state().requests
    );
}

#[test]
fn a_working_directory_that_does_not_exist_is_refused_before_any_request() {
    let mut h = Harness::new();
    pushed(&h);
    h.input("working-directory", "services/web");
    refused(&h, "input `working-directory` (services/web) names ");
    std::fs::write(h.workspace.join("file"), "x").unwrap();
    h.input("working-directory", "file");
    refused(&h, "which is a file, not a folder");
    std::fs::create_dir_all(h.workspace.join("services/web")).unwrap();
    h.input("working-directory", "services/web");
    h.input("command", "test \"$(basename \"$PWD\")\" = web");
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn an_unknown_placeholder_is_refused_naming_the_ones_rollout_fills() {
    for (input, value) in [
        ("environment", "prod-{env}"),
        ("environment-url", "https://{actor}.example.com"),
        ("description", "deployed by {actor}"),
    ] {
        let mut h = Harness::new();
        pushed(&h);
        h.input(input, value);
        refused(&h, &format!("input `{input}`"));
        let run = h.run();
        let error = run.the_error();
        assert!(
            error.contains("is not a placeholder of rollout")
                && error.contains(
                    "`{environment}` `{branch}` `{sha}` `{short_sha}` `{number}` `{target}`"
                ),
            "{error}"
        );
    }
}

#[test]
fn number_on_a_push_is_refused_and_literal_braces_are_kept() {
    let mut h = Harness::new();
    let before = pushed(&h);
    h.input("environments", "main: pr-{number}");
    refused(&h, "`{number}` has no value here");
    h.input("environments", "main: production");
    h.input("environment-url", "https://x/{number}");
    refused(&h, "`{number}` has no value in this run");
    // `{{` and `}}` are literal braces; a commit message is never a template.
    h.input("environment-url", "https://x/{{number}}/{environment}");
    let sha = h.commit(&[("b.txt", "b")], "ship {env} and {number}");
    h.event(
        "push",
        &push_payload("refs/heads/main", &before, &sha, "ship {env} and {number}"),
    );
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let state = h.state();
    let d = state.deployments.last().unwrap();
    assert_eq!(d.description.as_deref(), Some("ship {env} and {number}"));
    assert_eq!(
        run.outputs["environment-url"],
        "https://x/{number}/production"
    );
}

#[test]
fn number_in_a_preview_template_deploys_on_a_pull_request() {
    let mut h = Harness::new();
    let base = h.commit(&[("README.md", "hello\n")], "initial");
    let sha = h.commit(&[("app/x", "1")], "feat");
    h.input("preview-environment", "pr-{number}");
    h.input("environment-url", "https://pr-{number}.example.com");
    h.event(
        "pull_request",
        &pr_payload("opened", 7, &sha, "feat", &base, OWNER_REPO, "Feat"),
    );
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["environment"], "pr-7");
    assert_eq!(run.outputs["environment-url"], "https://pr-7.example.com");
}

#[test]
fn a_lock_for_ten_thousand_years_is_refused_before_any_request() {
    let mut h = Harness::new();
    h.input("step", "lock");
    h.input("environment", "production");
    h.input("reason", "incident");
    h.input("lock-expires", "99999999d");
    h.var("GITHUB_SHA", &"a".repeat(40));
    h.event("workflow_dispatch", &dispatch_payload("refs/heads/main"));
    refused(
        &h,
        "input `lock-expires`: \"99999999d\" is longer than a lock can last",
    );
}

#[test]
fn lines_read_as_yaml_comments_and_quotes() {
    let mut h = Harness::new();
    pushed(&h);
    h.input(
        "environments",
        "# where each branch goes\n\"main\": production # prod\nrelease/*: 'staging # eu'",
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["environment"], "production");
    assert_eq!(h.state().deployments[0].environment, "production");
}

#[test]
fn a_branch_pattern_on_a_tag_push_skips_suggesting_refs_tags() {
    let mut h = Harness::new();
    let sha = h.commit(&[("a", "1")], "v1.2.3");
    h.input("environments", "v*: production");
    h.event(
        "push",
        &push_payload("refs/tags/v1.2.3", ZERO, &sha, "v1.2.3"),
    );
    h.chown_workspace();
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.outputs["status"], "skipped");
    let reason = &run.outputs["skip-reason"];
    assert!(
        reason.contains("`refs/tags/v1.2.3` is a tag")
            && reason.contains("write `refs/tags/v*: production`"),
        "{reason}"
    );
    assert!(h.state().deployments.is_empty());
}
