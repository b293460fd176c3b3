//! The host form: host/launcher.js run by node, as the runner runs a JavaScript action, in front of
//! the release binary laid out as a release tree holds it (bin/linux-<arch>/rollout next to host/),
//! against the fake GitHub API. Needs `node` on PATH (or NODE naming one); .ci/run installs
//! Debian's nodejs when it is missing.

use crate::support::*;
use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;
use std::collections::BTreeMap;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn node() -> String {
    let node = std::env::var("NODE").unwrap_or_else(|_| "node".into());
    let works = Command::new(&node)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        works,
        "`{node}` does not run: the host form's tests need node (scripts/test.sh installs it: scripts/install-test-tools.sh)"
    );
    node
}

/// The runner's RUNNER_ARCH for this machine.
fn runner_arch() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "ARM64",
        _ => "X64",
    }
}

/// A release tree's host form in the harness's folder: host/ with the launcher files copied (node
/// resolves __dirname through links, so they are real files), bin/ linking the built binary.
fn action(h: &Harness, with_binaries: bool) -> PathBuf {
    let root = h.file("action");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    std::fs::create_dir_all(root.join("host")).expect("host/");
    for f in ["launcher.js", "post.js", "action.yml"] {
        std::fs::copy(repo.join("host").join(f), root.join("host").join(f)).expect("copy host/");
    }
    if with_binaries {
        for arch in ["amd64", "arm64"] {
            let dir = root.join("bin").join(format!("linux-{arch}"));
            std::fs::create_dir_all(&dir).expect("bin/");
            std::os::unix::fs::symlink(bin(), dir.join("rollout")).expect("link the binary");
        }
    }
    root
}

/// The runner's node running `script` of the host form, with the environment the harness gives
/// the binary (`base`), plus RUNNER_OS/RUNNER_ARCH. Output goes to files, so a killed node leaves
/// rollout writing somewhere.
fn launcher(h: &Harness, root: &Path, script: &str, base: &Command) -> Command {
    let mut cmd = Command::new(node());
    cmd.arg(root.join("host").join(script)).env_clear();
    for (k, v) in base.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    if let Some(dir) = base.get_current_dir() {
        cmd.current_dir(dir);
    }
    cmd.env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", runner_arch())
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(h.file("stdout")).expect("stdout file"))
        .stderr(std::fs::File::create(h.file("stderr")).expect("stderr file"));
    cmd
}

/// Waits for node and collects the run (outputs, state, the token check) as the harness does.
fn finish(h: &Harness, mut node: Child) -> Run {
    let status = node.wait().expect("node ends");
    let out = std::process::Output {
        status,
        stdout: std::fs::read(h.file("stdout")).unwrap_or_default(),
        stderr: std::fs::read(h.file("stderr")).unwrap_or_default(),
    };
    h.collect(out)
}

fn gone(pid: i32) -> bool {
    kill(Pid::from_raw(pid), None).is_err()
        || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

fn pid_in(h: &Harness, name: &str) -> i32 {
    let path = h.file(name);
    wait_until(name, Duration::from_secs(20), || {
        std::fs::read_to_string(&path).is_ok_and(|t| t.trim().parse::<i32>().is_ok())
    });
    std::fs::read_to_string(&path)
        .expect("pid file")
        .trim()
        .parse()
        .expect("a pid")
}

/// The long command: its shell's parent is rollout, its own pid leads its process group, and a
/// grandchild sleeps. Returns (rollout, the command's shell, the grandchild).
const LONG: &str = "echo $PPID > \"$HOME/rollout\"; echo $$ > \"$HOME/shell\"; sleep 60 & echo $! > \"$HOME/child\"; wait";

fn start_long(h: &mut Harness, root: &Path, own_group: bool) -> (Child, i32, i32, i32) {
    h.input("command", LONG);
    pushed(h);
    let mut cmd = launcher(h, root, "launcher.js", &h.command(&[]));
    if own_group {
        cmd.process_group(0);
    }
    let node = cmd.spawn().expect("node starts");
    let grandchild = pid_in(h, "child");
    wait_until("the in_progress status", Duration::from_secs(20), || {
        h.state()
            .deployments
            .first()
            .and_then(|d| d.statuses.last())
            .is_some_and(|s| s.state == "in_progress")
    });
    (node, pid_in(h, "rollout"), pid_in(h, "shell"), grandchild)
}

#[test]
fn a_push_deploys_through_the_launcher_with_outputs_and_the_exit_code() {
    let mut h = Harness::new();
    h.input(
        "command",
        "env > \"$HOME/command-env\"; echo deployed-by-host",
    );
    let sha = pushed(&h);
    let root = action(&h, true);
    let node = launcher(&h, &root, "launcher.js", &h.command(&[]))
        .spawn()
        .expect("node starts");
    let run = finish(&h, node);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
    assert_eq!(run.outputs["sha"], sha);
    assert!(
        run.stdout.contains("deployed-by-host"),
        "the command's output passes through: {}",
        run.stdout
    );
    let s = h.state();
    assert_eq!(s.deployments[0].state(), Some("success"));
    drop(s);
    let env = std::fs::read_to_string(h.file("command-env")).expect("the command ran");
    assert!(
        !env.contains("ROLLOUT_LAUNCHER_PID"),
        "the launcher's variable reached the command"
    );
    assert!(
        !env.contains("INPUT_TOKEN") && !env.contains(TOKEN),
        "the token reached the command"
    );
    assert!(env.contains("ROLLOUT_DEPLOYMENT_ID="), "{env}");

    // A tool the runner lacks: the sentence is about the job's PATH, not rollout's image.
    h.input("command", "rollout-test-no-such-tool deploy");
    let node = launcher(&h, &root, "launcher.js", &h.command(&[]))
        .spawn()
        .expect("node starts");
    let run = finish(&h, node);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let error = run.the_error();
    assert!(
        error.contains("`rollout-test-no-such-tool` was not found on the job's PATH")
            && !error.contains("rollout's image")
            && !error.contains("step: start"),
        "{error}"
    );
    assert!(
        h.state().deployments[1]
            .statuses
            .last()
            .is_some_and(|s| s.description.contains("not installed on the runner")),
        "{:?}",
        h.state().deployments[1].statuses
    );

    // rollout's own exit codes come through: a failing command is 1, a bad input 2.
    h.input("command", "exit 7");
    let node = launcher(&h, &root, "launcher.js", &h.command(&[]))
        .spawn()
        .expect("node starts");
    assert_eq!(finish(&h, node).code, 1);
    h.input("since", "yesterday");
    let node = launcher(&h, &root, "launcher.js", &h.command(&[]))
        .spawn()
        .expect("node starts");
    let run = finish(&h, node);
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(run.the_error().contains("since"), "{}", run.stdout);
}

#[test]
fn sigint_to_the_launcher_during_a_long_command_posts_the_final_status_and_exits_130() {
    let mut h = Harness::new();
    let root = action(&h, true);
    let (node, rollout, shell, grandchild) = start_long(&mut h, &root, false);
    let pid = Pid::from_raw(node.id() as i32);
    let sent = Instant::now();
    // The runner's order: SIGINT, then SIGTERM (7.5 s later there; sooner here).
    kill(pid, Signal::SIGINT).expect("SIGINT to node");
    std::thread::sleep(Duration::from_millis(200));
    let _ = kill(pid, Signal::SIGTERM);
    let run = finish(&h, node);
    let took = sent.elapsed();
    assert_eq!(run.code, 130, "the first signal counts: {}", run.stdout);
    assert!(
        took < Duration::from_millis(7500),
        "took {took:?}: the runner sends SIGTERM after 7.5 s and kills at 10"
    );
    assert_eq!(run.outputs["status"], "cancelled");
    let s = h.state();
    let last = s.deployments[0].statuses.last().expect("a status");
    assert_eq!(last.state, "error");
    assert!(last.description.contains("SIGINT"), "{}", last.description);
    drop(s);
    wait_until("no process left behind", Duration::from_secs(5), || {
        gone(rollout) && gone(shell) && gone(grandchild)
    });
}

#[test]
fn a_killed_node_still_leaves_rollout_to_post_its_final_status() {
    let mut h = Harness::new();
    let root = action(&h, true);
    let (mut node, rollout, shell, grandchild) = start_long(&mut h, &root, false);
    assert_ne!(rollout, node.id() as i32);
    // The runner's last resort: SIGKILL to node alone.
    node.kill().expect("SIGKILL to node");
    let status = node.wait().expect("node ends");
    assert_eq!(status.signal(), Some(9));
    wait_until(
        "rollout to post the final status after node was killed",
        Duration::from_secs(10),
        || {
            h.state().deployments[0]
                .statuses
                .last()
                .is_some_and(|s| s.state == "error" && s.description.contains("SIGTERM"))
        },
    );
    wait_until("no process left behind", Duration::from_secs(5), || {
        gone(rollout) && gone(shell) && gone(grandchild)
    });
}

#[test]
fn the_post_step_finishes_a_deployment_a_killed_main_step_left() {
    let mut h = Harness::new();
    let root = action(&h, true);
    let (node, rollout, shell, grandchild) = start_long(&mut h, &root, true);
    // Node and rollout die at once, with no chance to post anything (a lost runner); the command
    // is in its own process group and goes with it too.
    killpg(Pid::from_raw(node.id() as i32), Signal::SIGKILL).expect("SIGKILL to the group");
    let _ = killpg(Pid::from_raw(shell), Signal::SIGKILL);
    let main = finish(&h, node);
    assert_eq!(main.code, -1, "node was killed");
    wait_until(
        "the killed main step's processes to go",
        Duration::from_secs(5),
        || gone(rollout) && gone(shell) && gone(grandchild),
    );
    assert_eq!(
        h.state().deployments[0]
            .statuses
            .last()
            .map(|s| s.state.clone()),
        Some("in_progress".to_string()),
        "the main step was killed before its final status"
    );
    let saved: BTreeMap<String, String> = parse_file_commands(
        &std::fs::read_to_string(h.file("state")).expect("the main step saved its state"),
    );
    assert!(saved.contains_key("deployment-id"), "{saved:?}");
    let post = launcher(&h, &root, "post.js", &h.post_command(&saved))
        .spawn()
        .expect("node starts");
    let run = finish(&h, post);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let s = h.state();
    assert_eq!(s.deployments.len(), 1);
    let last = s.deployments[0].statuses.last().expect("a status");
    assert_eq!(last.state, "error", "{}", run.stdout);
    assert_eq!(
        last.description,
        "The job ended before the deployment finished"
    );
}

#[test]
fn another_os_or_architecture_stops_with_one_sentence_naming_what_works() {
    let mut h = Harness::new();
    pushed(&h);
    let root = action(&h, true);
    for (os, arch) in [("macOS", "ARM64"), ("Windows", "X64"), ("Linux", "ARM")] {
        h.input("command", "touch \"$HOME/ran\"");
        let node = launcher(&h, &root, "launcher.js", &h.command(&[]))
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .spawn()
            .expect("node starts");
        let run = finish(&h, node);
        assert_eq!(run.code, 1, "{os} {arch}: {}", run.stdout);
        let error = run.the_error();
        assert!(
            error.contains("Linux x64 and arm64") && error.contains(&format!("{os} {arch}")),
            "{error}"
        );
        assert!(
            error.ends_with('.') && !error.contains(". "),
            "one sentence: {error}"
        );
        assert!(!h.file("ran").exists(), "{os} {arch}: the command ran");
    }
    assert!(h.state().requests.is_empty(), "the API was called");
}

#[test]
fn a_tree_without_the_binary_names_the_release_tags() {
    let h = Harness::new();
    pushed(&h);
    let root = action(&h, false);
    let node = launcher(&h, &root, "launcher.js", &h.command(&[]))
        .spawn()
        .expect("node starts");
    let run = finish(&h, node);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let error = run.the_error();
    assert!(
        error.contains("release tags") && error.contains("rollout/host@v1"),
        "{error}"
    );
}

#[test]
fn rollout_started_by_a_launcher_that_is_already_gone_does_nothing() {
    let h = Harness::new();
    pushed(&h);
    // As if node had died before rollout asked for PR_SET_PDEATHSIG: its parent is not the pid
    // the launcher named.
    let run = h.run_with(|c| {
        c.env("ROLLOUT_LAUNCHER_PID", "999999999");
    });
    assert_eq!(run.code, 143, "{}", run.stdout);
    assert!(h.state().requests.is_empty(), "the API was called");
    // Named correctly (the test is the parent), rollout deploys.
    let run = h.run_with(|c| {
        c.env("ROLLOUT_LAUNCHER_PID", std::process::id().to_string());
    });
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn an_empty_truncated_or_foreign_binary_is_one_sentence_and_nothing_runs() {
    let mut h = Harness::new();
    pushed(&h);
    h.input("command", "touch \"$HOME/ran\"");
    let real = std::fs::read(bin()).expect("the built binary");
    let mut foreign = real.clone();
    // The ELF header's e_machine: the other architecture's.
    let other: u16 = if runner_arch() == "X64" { 183 } else { 62 };
    foreign[18..20].copy_from_slice(&other.to_le_bytes());
    let half = real[..real.len() / 2].to_vec();
    for (what, bytes, needle) in [
        ("empty", Vec::new(), "is empty"),
        ("truncated", half, "is truncated"),
        ("foreign", foreign, "is built for"),
        (
            "a script",
            b"#!/bin/sh\necho hi\n".to_vec(),
            "is not a Linux program",
        ),
    ] {
        let root = action(&h, true);
        let arch = if runner_arch() == "X64" {
            "amd64"
        } else {
            "arm64"
        };
        let file = root
            .join("bin")
            .join(format!("linux-{arch}"))
            .join("rollout");
        std::fs::remove_file(&file).expect("unlink");
        std::fs::write(&file, &bytes).expect("write the damaged binary");
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("chmod");
        let node = launcher(&h, &root, "launcher.js", &h.command(&[]))
            .spawn()
            .expect("node starts");
        let run = finish(&h, node);
        assert_eq!(run.code, 1, "{what}: {}{}", run.stdout, run.stderr);
        let error = run.the_error();
        assert!(error.contains(needle), "{what}: {error}");
        assert!(
            error.ends_with('.') && !error.contains(". "),
            "{what}: one sentence: {error}"
        );
        assert!(
            run.stderr.trim().is_empty(),
            "{what}: no shell noise: {}",
            run.stderr
        );
        assert!(!h.file("ran").exists(), "{what}: the command ran");
        std::fs::remove_dir_all(&root).expect("clean the tree");
    }
    assert!(h.state().requests.is_empty(), "the API was called");
}

#[test]
fn runner_arch_in_lower_case_is_read_as_the_runner_writes_it() {
    let h = Harness::new();
    pushed(&h);
    let root = action(&h, true);
    let node = launcher(&h, &root, "launcher.js", &h.command(&[]))
        .env("RUNNER_ARCH", runner_arch().to_lowercase())
        .env("RUNNER_OS", "linux")
        .spawn()
        .expect("node starts");
    let run = finish(&h, node);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.outputs["status"], "success");
}
