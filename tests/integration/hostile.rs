//! Hostile and broken input: workflow-command injection, shell injection, the token, bad inputs
//! and API refusals. Every run also checks (in the shared helper) that the token leaked nowhere.

use crate::support::*;

/// What GitHub's runner would act on in rollout's output: every `::command` line outside a
/// stop-commands fence, except the ones rollout itself uses.
fn live_commands(stdout: &str) -> Vec<String> {
    let mut live = Vec::new();
    let mut fence: Option<String> = None;
    for line in stdout.lines() {
        let trimmed = line.trim_start();
        if let Some(token) = &fence {
            if trimmed == format!("::{token}::") {
                fence = None;
            }
            continue;
        }
        if let Some(token) = trimmed.strip_prefix("::stop-commands::") {
            fence = Some(token.to_string());
            continue;
        }
        if trimmed.contains("##[") {
            live.push(line.to_string());
            continue;
        }
        let Some(rest) = trimmed.strip_prefix("::") else {
            continue;
        };
        let name = rest.split([' ', ':']).next().unwrap_or("");
        match name {
            "group" | "endgroup" | "notice" | "warning" | "error" | "debug" => {
                // rollout's own annotations: their data must be one escaped line.
                if let Some((_, data)) = rest.split_once("::") {
                    if data.contains("INJECTED") && data.contains("::") && data.contains('\n') {
                        live.push(line.to_string());
                    }
                }
            }
            _ => live.push(line.to_string()),
        }
    }
    live
}

/// Nothing in `text` would act as a workflow command on the runner.
fn assert_inert(text: &str) {
    assert_eq!(live_commands(text), Vec::<String>::new(), "{text}");
}

const HOSTILE: &str = "::add-mask::INJECTED\n::set-output name=status::INJECTED\n::stop-commands::abc\n::error::INJECTED\n##[set-output name=x;]INJECTED\n::save-state name=deployment-id::666";

#[test]
fn the_processor_sees_an_injection_when_there_is_one() {
    assert_eq!(
        live_commands("ok\n::add-mask::x\n").len(),
        1,
        "the detector itself works"
    );
    assert_eq!(
        live_commands("::stop-commands::t\n::add-mask::x\n::t::\n").len(),
        0
    );
}

#[test]
fn commit_messages_and_branch_names_full_of_workflow_commands_stay_inert() {
    let mut h = Harness::new();
    h.input("environments", "**: preview-{branch}");
    h.input("environment-url", "https://{branch}.example.com");
    let base = h.commit(&[("a", "1")], "base");
    let sha = h.commit(&[("b", "2")], HOSTILE);
    let git_ref = "refs/heads/::add-mask::INJECTED";
    h.event("push", &push_payload(git_ref, &base, &sha, HOSTILE));
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_inert(&run.stdout);
    assert_eq!(
        run.outputs["status"], "success",
        "no output was set by the message"
    );
    assert!(!run.state.contains_key("deployment-id") || run.state["deployment-id"] != "666");
    let env = &h.state().deployments[0].environment;
    assert!(env.starts_with("preview-add-mask-INJECTED-"), "{env}");
    assert!(env
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)));
}

#[test]
fn pr_titles_full_of_workflow_commands_stay_inert() {
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}");
    let base = h.commit(&[("a", "1")], "base");
    let head = h.commit(&[("b", "2")], "head");
    h.event(
        "pull_request",
        &pr_payload(
            "opened",
            7,
            &head,
            "::error::INJECTED",
            &base,
            OWNER_REPO,
            HOSTILE,
        ),
    );
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_inert(&run.stdout);
    let (code, text) = plan(
        &h.file("event.json"),
        "pull_request",
        &["preview-environment=pr-{number}", "command=true"],
        None,
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("description: :"), "{text}");
    assert_inert(&text);
}

#[test]
fn branches_named_like_shell_code_are_never_run() {
    let mut h = Harness::new();
    h.input("environments", "**: preview-{branch}");
    h.input("environment-url", "https://x.example.com/{branch}");
    h.input("description", "deploy {branch}");
    h.input(
        "command",
        "echo \"deploying $ROLLOUT_REF to $ROLLOUT_ENVIRONMENT\"",
    );
    let base = h.commit(&[("a", "1")], "base");
    let sha = h.commit(&[("b", "2")], "`touch pwned-message`");
    for name in ["$(touch pwned)", "`touch pwned2`", "x;touch pwned3"] {
        h.event(
            "push",
            &push_payload(
                &format!("refs/heads/{name}"),
                &base,
                &sha,
                "`touch pwned-message`",
            ),
        );
        let run = h.run();
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert!(
            run.stdout
                .contains(&format!("deploying refs/heads/{name} to preview-")),
            "{}",
            run.stdout
        );
    }
    for dir in [&h.workspace, &h.dir.path().to_path_buf()] {
        let names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert!(
            !names
                .iter()
                .any(|n| n.to_string_lossy().starts_with("pwned")),
            "{names:?}"
        );
    }
}

/// A harness with an ordinary push to main.
fn main_push() -> Harness {
    let h = Harness::new();
    let base = h.commit(&[("a", "1")], "base");
    let sha = h.commit(&[("b", "2")], "x");
    h.event("push", &push_payload("refs/heads/main", &base, &sha, "x"));
    h
}

fn bad_input(setup: impl FnOnce(&mut Harness), needle: &str) {
    let mut h = main_push();
    setup(&mut h);
    let run = h.run();
    assert_eq!(run.code, 2, "{needle}: {}", run.stdout);
    let error = run.the_error();
    assert!(error.contains(needle), "{needle} not in {}", error);
    assert!(h.state().requests.is_empty(), "nothing reaches the API");
}

#[test]
fn every_bad_input_is_one_sentence_and_exit_2() {
    // The event file.
    bad_input(
        |h| {
            h.var("GITHUB_EVENT_PATH", "/nonexistent/event.json");
        },
        "the event file /nonexistent/event.json could not be read",
    );
    for (content, needle) in [
        ("{not json", "is not valid JSON"),
        (r#"{"ref":"refs/heads/main"}"#, "has no `after`"),
    ] {
        bad_input(
            |h| std::fs::write(h.file("event.json"), content).unwrap(),
            needle,
        );
    }
    // The inputs, one at a time.
    for (name, value, needle) in [
        (
            "environments",
            "main production",
            "input `environments` line 1",
        ),
        ("tasks", "deploy dags/**", "input `tasks` line 1"),
        ("paths", "src/[x", "input `paths` line 1"),
        (
            "skip-commit-pattern",
            "(unclosed",
            "input `skip-commit-pattern`: is not a valid regular expression",
        ),
        ("step", "ship", "input `step`: \"ship\" is not a step"),
        (
            "payload",
            "[1, 2]",
            "input `payload`: must be a JSON object",
        ),
        (
            "timeout",
            "forever",
            "input `timeout`: \"forever\" is not a duration",
        ),
        ("token", "", "input `token` is empty"),
        ("dry-run", "maybe", "input `dry-run`"),
        ("verify-checkout", "maybe", "input `verify-checkout`"),
        (
            "environments",
            "- main: production",
            "input `environments` line 1 (\"- main: production\"): the lines of `environments` are plain text, not a YAML list; write `main: production` without the leading `- `",
        ),
        (
            "tasks",
            "- deploy: **",
            "input `tasks` line 1 (\"- deploy: **\"): the lines of `tasks` are plain text, not a YAML list; write `deploy: **` without the leading `- `",
        ),
        (
            "paths",
            "app/**\n- lib/**",
            "input `paths` line 2 (\"- lib/**\"): the lines of `paths` are plain text, not a YAML list; write `lib/**` without the leading `- `",
        ),
    ] {
        bad_input(
            |h| {
                h.input(name, value);
            },
            needle,
        );
    }
    bad_input(
        |h| {
            h.input("step", "finish").input("status", "success");
        },
        "input `deployment-id`: is required for `step: finish`",
    );
    bad_input(
        |h| {
            h.inputs.remove("command");
        },
        "input `command`: is required",
    );
}

fn refused(setup: impl FnOnce(&mut Harness), needle: &str) -> Run {
    let mut h = main_push();
    setup(&mut h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(error.contains(needle), "{needle} not in {}", error);
    assert!(h.state().deployments.iter().all(|d| d.is_final()));
    run
}

#[test]
fn api_refusals_are_one_sentence_each() {
    refused(
        |h| h.fake.grant(TOKEN, Grant::Bad),
        "GitHub refused the token (401); it is invalid or expired",
    );
    let run = refused(
        |h| h.fake.grant(TOKEN, Grant::NoDeployments),
        "give the job `permissions:` with `deployments: write`",
    );
    assert!(
        run.stdout
            .contains("%0A  permissions:%0A    deployments: write"),
        "the block is shown"
    );
    refused(
        |h| {
            h.fake.fault(Fault {
                body: serde_json::json!({"message": "Not Found"}),
                ..fault("POST", "/deployments", 404, 1)
            })
        },
        "GitHub answered 404 (Not Found); the token lacks access",
    );
    refused(
        |h| {
            h.state().pending_check = Some("ci/build".into());
            h.input("required-contexts", "ci/build");
        },
        "GitHub answered 409 (Conflict: Commit status checks failed",
    );
    refused(
        |h| h.state().known_shas = Some(vec!["f".repeat(40)]),
        "GitHub rejected a field (422: No ref found for",
    );
}

#[test]
fn a_202_from_create_is_an_error_that_says_why() {
    let h = main_push();
    h.fake.fault(Fault {
        body: serde_json::json!({"message": "Auto-merged main into topic-branch on deployment."}),
        ..fault("POST", "/deployments", 202, 1)
    });
    let run = h.run();
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("answered 202 to the deployment create"),
        "{}",
        run.stdout
    );
    assert!(h.state().deployments.is_empty());
}

#[test]
fn outputs_with_newlines_cannot_forge_other_outputs() {
    let h = Harness::new();
    let base = h.commit(&[("a", "1")], "base");
    let sha = h.commit(&[("b", "2")], "x");
    h.event(
        "push",
        &push_payload(
            "refs/heads/feature\nstatus<<EOF\npwned\nEOF",
            &base,
            &sha,
            "x",
        ),
    );
    let run = h.run();
    assert_eq!(run.code, 0);
    assert_eq!(run.outputs["status"], "skipped");
    assert!(
        run.outputs["skip-reason"].contains("pwned"),
        "the value is kept whole inside its delimiter"
    );
}

#[test]
fn bytes_that_are_not_utf8_in_the_environment_neither_panic_nor_change() {
    use std::os::unix::ffi::OsStrExt;
    let mut h = main_push();
    h.input(
        "command",
        "printf %s \"$NOT_TEXT\" | od -An -tx1 | tr -d ' \\n' > \"$GITHUB_WORKSPACE/../seen\"",
    );
    let bytes = std::ffi::OsStr::from_bytes(b"caf\xe9 \xff");
    let run = h.run_with(|cmd| {
        cmd.env("NOT_TEXT", bytes);
    });
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let seen = std::fs::read_to_string(h.dir.path().join("seen")).unwrap_or_default();
    assert_eq!(
        seen, "636166e920ff",
        "the command inherits the bytes untouched"
    );
    // An input that is not text is a bad input that names it, not its value.
    let run = h.run_with(|cmd| {
        cmd.env("INPUT_DESCRIPTION", bytes);
    });
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.the_error()
            .contains("input `description` is not valid UTF-8"),
        "{}",
        run.stdout
    );
}

#[test]
fn the_command_cannot_read_the_token_or_the_runners_credentials_from_its_parent() {
    let mut h = Harness::new();
    h.var("ACTIONS_RUNTIME_TOKEN", "runtime-SECRET-0001");
    h.var("ACTIONS_RUNTIME_URL", "https://pipelines.example/SECRET/");
    h.var("ACTIONS_CACHE_URL", "https://artifactcache.example/SECRET/");
    h.var("ACTIONS_RESULTS_URL", "https://results-receiver.example/");
    h.var("token", &h.token.clone());
    h.input(
        "command",
        r#"tr '\0' '\n' < /proc/$PPID/environ > "$HOME/parent-env"; env > "$HOME/own-env""#,
    );
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        run.outputs["status"], "success",
        "the token still reached the API"
    );
    let parent = std::fs::read_to_string(h.file("parent-env")).expect("the command read it");
    let own = std::fs::read_to_string(h.file("own-env")).expect("the command wrote it");
    assert!(
        parent.contains("GITHUB_REPOSITORY="),
        "the parent's block was read: {parent}"
    );
    for secret in [h.token.as_str(), "runtime-SECRET-0001", "SECRET/"] {
        assert!(
            !parent.contains(secret),
            "{secret} in the parent's block:\n{parent}"
        );
        assert!(
            !own.contains(secret),
            "{secret} in the command's environment:\n{own}"
        );
    }
    assert!(
        parent.contains("INPUT_TOKEN=****"),
        "overwritten in place: {parent}"
    );
    for name in [
        "ACTIONS_RUNTIME_TOKEN",
        "ACTIONS_RUNTIME_URL",
        "ACTIONS_CACHE_URL",
        "ACTIONS_RESULTS_URL",
        "INPUT_TOKEN=",
    ] {
        assert!(
            !own.contains(name),
            "{name} in the command's environment:\n{own}"
        );
    }
}

#[test]
fn a_stop_commands_the_command_leaves_open_is_resumed_before_rolloutss_own_lines() {
    let mut h = Harness::new();
    h.input(
        "command",
        "echo '::stop-commands::c0ffee42'; echo done; exit 3",
    );
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let stop = lines
        .iter()
        .position(|l| *l == "::stop-commands::c0ffee42")
        .expect("the command's line");
    let resume = lines
        .iter()
        .position(|l| *l == "::c0ffee42::")
        .expect("rollout resumed");
    let error = lines
        .iter()
        .position(|l| l.starts_with("::error::"))
        .expect("rollout's error");
    // As the runner reads it: the fence the command opened ends before rollout's closing error.
    assert!(stop < resume && resume < error, "{}", run.stdout);

    // A command that resumes on its own gets no second resume; one that names a command as its
    // token never stopped anything (the runner refuses such tokens).
    for script in [
        "echo '::stop-commands::abc123'; echo x; echo '::abc123::'",
        "echo '::stop-commands::warning' >&2",
    ] {
        let mut h = Harness::new();
        h.input("command", script);
        pushed(&h);
        let run = h.run();
        assert_eq!(run.code, 0, "{}", run.stdout);
        assert!(
            !run.stdout.contains("rollout resumed them"),
            "{script}: {}",
            run.stdout
        );
    }

    // On stderr, and without a final newline, it silences the runner all the same.
    let mut h = Harness::new();
    h.input("command", "printf '::stop-commands::zz9' >&2");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.lines().any(|l| l == "::zz9::"), "{}", run.stdout);
}
