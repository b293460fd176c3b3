//! End to end: the command's output passes through rollout into the log as it comes, rollout's
//! own lines start lines of their own, and a program or script that is not there is explained
//! in the log while the deployment's status keeps to rollout's own words.

use crate::support::*;
use std::io::Read;
use std::time::{Duration, Instant};

/// Every request body rollout sent to the API, as text.
fn bodies(h: &Harness) -> String {
    h.state()
        .requests
        .iter()
        .filter_map(|r| r.body.as_ref().map(|b| b.to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn final_description(h: &Harness) -> (String, String) {
    let s = h.state();
    let last = s.deployments[0].statuses.last().expect("a final status");
    (last.state.clone(), last.description.clone())
}

#[test]
fn a_program_missing_from_the_image_is_named_with_both_ways_out() {
    let mut h = Harness::new();
    h.input("command", "astro deploy --dags");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr.contains("astro: not found"),
        "the shell's own message reaches the log: {}",
        run.stderr
    );
    let error = run.the_error();
    for part in [
        "exited with code 127",
        "`astro`",
        "not in rollout's image",
        "install it in the command",
        "`step: start`",
        "`step: finish`",
        "https://github.com/rollout-action/rollout/blob/main/docs/forms.md#where-the-command-runs",
    ] {
        assert!(error.contains(part), "{part:?} in {error}");
    }
    let (state, description) = final_description(&h);
    assert_eq!(state, "failure");
    assert!(description.contains("127"), "{description}");
    assert!(description.chars().count() <= 140, "{description}");
    assert!(
        !description.contains("astro") && !description.contains("sh: "),
        "the status quotes nothing the command printed: {description}"
    );
    assert!(!bodies(&h).contains("astro"), "no API body names it");
    assert!(!run.summary.contains("astro"), "{}", run.summary);
    assert_eq!(run.outputs["status"], "failure");
}

#[test]
fn a_script_missing_from_the_workspace_points_at_the_checkout() {
    let mut h = Harness::new();
    h.input("command", "./scripts/deploy.sh --prod");
    h.input("working-directory", "infra");
    h.commit(&[("infra/README.md", "infra\n")], "infra");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    let infra = h.workspace.join("infra").display().to_string();
    for part in [
        "`./scripts/deploy.sh`",
        "not found in the workspace",
        "actions/checkout",
        "`working-directory`",
        infra.as_str(),
    ] {
        assert!(error.contains(part), "{part:?} in {error}");
    }
    assert!(!error.contains("rollout's image"), "{error}");
    let (state, description) = final_description(&h);
    assert_eq!(state, "failure");
    assert!(
        description.contains("missing from the workspace") && !description.contains("deploy.sh"),
        "{description}"
    );
}

#[test]
fn a_script_that_is_not_executable_says_chmod() {
    let mut h = Harness::new();
    h.input("command", "./deploy.sh");
    h.commit(&[("deploy.sh", "#!/bin/sh\necho hi\n")], "no x bit");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    // Even root needs some x bit to execute a file: none is set, so the shell refuses (126).
    let error = run.the_error();
    assert!(error.contains("exited with code 126"), "{error}");
    assert!(error.contains("chmod +x ./deploy.sh"), "{error}");
    assert!(
        error.contains("git update-index --chmod=+x ./deploy.sh"),
        "{error}"
    );
    let (_, description) = final_description(&h);
    assert!(description.contains("not executable"), "{description}");
}

#[test]
fn an_unexplained_127_still_says_what_127_means() {
    let mut h = Harness::new();
    h.input("command", "echo 'something odd' >&2; exit 127");
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1);
    let error = run.the_error();
    assert!(
        error.contains("code 127 after")
            && error.contains("which means a program it runs was not found (see the log)"),
        "{error}"
    );
}

#[test]
fn endgroup_starts_its_own_line_after_output_without_a_newline() {
    let mut h = Harness::new();
    h.input("command", r#"printf '{"ok":true}'"#);
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stdout);
    let lines: Vec<&str> = run.stdout.lines().collect();
    let end = lines
        .iter()
        .position(|l| *l == "::endgroup::")
        .unwrap_or_else(|| panic!("no ::endgroup:: line:\n{}", run.stdout));
    assert_eq!(lines[end - 1], r#"{"ok":true}"#, "{}", run.stdout);
    assert!(!run.stdout.contains("}::endgroup::"));
}

#[test]
fn what_the_command_prints_reaches_no_api_request() {
    let mut h = Harness::new();
    // A deploy tool that prints a credential, then a shell message that would name one.
    h.input(
        "command",
        "echo 'using token=ghp_s3cr3tFromTheDeployTool' >&2; \
         echo 'sh: 1: ghp_alsoS3cr3t: not found' >&2; exit 127",
    );
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("ghp_s3cr3tFromTheDeployTool"),
        "the log has it"
    );
    let sent = bodies(&h);
    assert!(
        !sent.contains("ghp_"),
        "a request body carries command output: {sent}"
    );
    assert!(!run.summary.contains("ghp_"), "{}", run.summary);
    let (state, _) = final_description(&h);
    assert_eq!(state, "failure");
}

#[test]
fn a_preview_comment_never_quotes_the_command() {
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}");
    h.input("command", "wmill sync push");
    let base = h.commit(&[("README.md", "x\n")], "initial");
    git(&h.workspace, &["checkout", "-q", "-b", "feature/x"]);
    let head = h.commit(&[("f/flow.yaml", "x\n")], "flow");
    h.chown_workspace();
    h.event(
        "pull_request",
        &pr_payload("opened", 7, &head, "feature/x", &base, OWNER_REPO, "Flow"),
    );
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.the_error().contains("`wmill`"));
    let s = h.state();
    assert_eq!(s.comments.len(), 1);
    assert!(
        !s.comments[0].body.contains("wmill"),
        "{}",
        s.comments[0].body
    );
}

#[test]
fn a_teardown_script_missing_on_close_points_at_the_checkout() {
    let mut h = Harness::new();
    h.input("preview-environment", "pr-{number}");
    h.input("teardown-command", "./scripts/teardown.sh");
    let base = h.commit(&[("README.md", "x\n")], "initial");
    h.chown_workspace();
    let head = "2222222222222222222222222222222222222222";
    h.event(
        "pull_request",
        &pr_payload("closed", 7, head, "feature/x", &base, OWNER_REPO, "Flow"),
    );
    let run = h.run();
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    for part in ["`./scripts/teardown.sh`", "actions/checkout", "`closed`"] {
        assert!(error.contains(part), "{part:?} in {error}");
    }
    assert!(!bodies(&h).contains("teardown.sh"));
}

#[test]
fn a_background_child_holding_stdout_does_not_hang_the_run() {
    let mut h = Harness::new();
    // One sleeper stays in the command's process group, the other leaves it (as a daemon
    // would) and keeps both pipes open; the shell waits until it has left.
    h.input(
        "command",
        "sleep 30 & setsid sh -c 'echo $$ > \"$HOME/escaped\"; exec sleep 30' & \
         while [ ! -s \"$HOME/escaped\" ]; do sleep 0.01; done; echo done",
    );
    pushed(&h);
    let started = Instant::now();
    let run = h.run();
    let took = started.elapsed();
    if let Ok(pid) = std::fs::read_to_string(h.file("escaped")) {
        let _ = std::process::Command::new("kill")
            .args(["-9", pid.trim()])
            .status();
    }
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(took < Duration::from_secs(15), "the run hung for {took:?}");
    assert!(run.stdout.contains("done\n"), "{}", run.stdout);
    assert_eq!(final_description(&h).0, "success");
}

#[test]
fn a_bash_curl_jq_script_streams_its_progress_as_it_goes() {
    for tool in ["bash", "curl", "jq"] {
        let found = std::process::Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            eprintln!("no {tool} on this machine; skipped (the container test covers the image)");
            return;
        }
    }
    let mut h = Harness::new();
    h.input("command", "./deploy.sh");
    h.commit(
        &[
            (
                "release.json",
                "{\"version\":\"1.4.2\",\"targets\":[\"a\",\"b\"]}\n",
            ),
            (
                "deploy.sh",
                "#!/usr/bin/env bash\n\
                 set -euo pipefail\n\
                 version=$(curl -fsS \"file://$PWD/release.json\" | jq -r .version)\n\
                 echo \"deploying $version\"\n\
                 printf 'uploading 50%%'\n\
                 while [ ! -e \"$HOME/go\" ]; do sleep 0.02; done\n\
                 printf '\\ruploading 100%%\\n'\n\
                 jq -n --arg v \"$version\" '{ok: true, version: $v}' -c\n",
            ),
        ],
        "deploy script",
    );
    std::fs::set_permissions(
        h.workspace.join("deploy.sh"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    pushed(&h);
    let mut child = h
        .command(&[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rollout starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    // The half-drawn progress line must show while the script still waits: it is forwarded
    // as it comes, not when a newline or the end arrives.
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !String::from_utf8_lossy(&seen).contains("uploading 50%") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => seen.extend(chunk),
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "the progress never reached the log while the script ran:\n{}",
                    String::from_utf8_lossy(&seen)
                );
            }
        }
    }
    std::fs::write(h.file("go"), "").expect("go");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().expect("rollout ends");
    let _ = reader.join();
    seen.extend(rx.try_iter().flatten());
    let out = String::from_utf8_lossy(&seen).into_owned();
    assert_eq!(status.code(), Some(0), "{out}\n{stderr}");
    assert!(out.contains("deploying 1.4.2\n"), "{out}");
    assert!(
        out.contains("uploading 50%\ruploading 100%\n"),
        "bytes pass unchanged: {out}"
    );
    assert!(
        out.contains("{\"ok\":true,\"version\":\"1.4.2\"}\n::endgroup::\n"),
        "{out}"
    );
    assert_eq!(final_description(&h).0, "success");
}

#[test]
fn a_flood_on_both_streams_arrives_whole() {
    let mut h = Harness::new();
    // Both pipes full at once: a reader that waited on one would deadlock the other.
    h.input(
        "command",
        "yes err | head -n 100000 >&2 & yes out | head -n 100000; wait; printf last",
    );
    pushed(&h);
    let run = h.run();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.lines().filter(|l| *l == "out").count(), 100_000);
    assert_eq!(run.stderr.lines().filter(|l| *l == "err").count(), 100_000);
    assert!(
        run.stdout.contains("\nlast\n::endgroup::\n"),
        "the tail is kept"
    );
}

#[test]
fn a_cancel_keeps_the_output_so_far_and_still_closes_the_group() {
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;
    let mut h = Harness::new();
    h.input(
        "command",
        "printf 'working'; echo $$ > \"$HOME/started\"; exec sleep 60",
    );
    pushed(&h);
    let child = h
        .command(&[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rollout starts");
    let started = h.file("started");
    wait_until("the command to start", Duration::from_secs(20), || {
        std::fs::read_to_string(&started).is_ok_and(|t| !t.trim().is_empty())
    });
    let sent = Instant::now();
    kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM).expect("signal");
    let run = h.collect(child.wait_with_output().expect("rollout ends"));
    assert!(sent.elapsed() < Duration::from_secs(10));
    assert_eq!(run.code, 143, "{}", run.stdout);
    assert!(
        run.stdout.lines().any(|l| l == "working"),
        "the open line is ended before rollout's own: {}",
        run.stdout
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("received SIGTERM")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.lines().any(|l| l == "::endgroup::"),
        "{}",
        run.stdout
    );
    assert_eq!(final_description(&h).0, "error");
}
