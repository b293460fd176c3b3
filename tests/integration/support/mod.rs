//! Runs the built binary the way the runner runs a container action: GITHUB_* variables, INPUT_*
//! inputs with hyphens kept, a real git workspace owned by another user, the file commands, and
//! the fake GitHub API. Every run checks that the token leaked nowhere.
#![allow(dead_code)]

#[allow(unused_imports)]
pub use fake_github::{Fake, Fault, Grant, State, OWNER_REPO};
pub mod history;
pub mod proxy;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

pub const TOKEN: &str = "ghs_TestToken0123456789DoNotLeak";

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rollout"))
}

pub struct Harness {
    pub fake: Fake,
    pub dir: tempfile::TempDir,
    pub workspace: PathBuf,
    pub inputs: BTreeMap<String, String>,
    pub env: BTreeMap<String, String>,
    pub token: String,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub outputs: BTreeMap<String, String>,
    pub summary: String,
    pub state: BTreeMap<String, String>,
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "safe.directory=*",
            "-c",
            "user.name=Mona",
            "-c",
            "user.email=mona@example.com",
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Parses the runner's `name<<DELIM` file format.
pub fn parse_file_commands(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_string(), value.join("\n"));
        } else if let Some((k, v)) = line.split_once('=') {
            out.insert(k.to_string(), v.to_string());
        }
    }
    out
}

impl Harness {
    pub fn new() -> Harness {
        let fake = Fake::start();
        let dir = tempfile::tempdir().expect("a temp dir");
        let workspace = dir.path().join("workspace");
        std::fs::create_dir_all(&workspace).expect("workspace");
        git(&workspace, &["init", "-q"]);
        let mut h = Harness {
            fake,
            dir,
            workspace,
            inputs: BTreeMap::new(),
            env: BTreeMap::new(),
            token: TOKEN.to_string(),
        };
        h.input("token", TOKEN);
        h.input(
            "environments",
            "main: production\ndev: staging\nrelease/*: staging\nrefs/tags/v*: production",
        );
        h.input("command", "echo deploying $ROLLOUT_ENVIRONMENT");
        h
    }

    pub fn input(&mut self, name: &str, value: &str) -> &mut Harness {
        self.inputs.insert(name.to_string(), value.to_string());
        self
    }

    pub fn var(&mut self, name: &str, value: &str) -> &mut Harness {
        self.env.insert(name.to_string(), value.to_string());
        self
    }

    /// Writes files and commits them; returns the new sha.
    pub fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, content) in files {
            let p = self.workspace.join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("dirs");
            }
            std::fs::write(p, content).expect("write");
        }
        git(&self.workspace, &["add", "-A"]);
        git(
            &self.workspace,
            &["commit", "-q", "--allow-empty", "-m", message],
        );
        git(&self.workspace, &["rev-parse", "HEAD"])
    }

    /// Gives the workspace to another user, as the runner's uid 1001 owns it in a container.
    pub fn chown_workspace(&self) {
        if nix_is_root() {
            let status = Command::new("chown")
                .args(["-R", "1001:1001"])
                .arg(&self.workspace)
                .status()
                .expect("chown");
            assert!(status.success());
        }
    }

    /// `git clone --depth 1` of the workspace, as actions/checkout leaves it, owned by the
    /// runner's user like the workspace.
    pub fn shallow_clone(&self) -> PathBuf {
        let dest = self.dir.path().join("shallow");
        // git clears GIT_CONFIG_* for a local clone's upload-pack, so the source (owned by
        // another user) is trusted through a global config of the clone's own, not the HOME
        // rollout's command sees.
        let home = self.dir.path().join("clone-home");
        std::fs::create_dir_all(&home).expect("a HOME for the clone");
        std::fs::write(home.join(".gitconfig"), "[safe]\n\tdirectory = *\n").expect("gitconfig");
        let url = format!("file://{}", self.workspace.display());
        let out = Command::new("git")
            .args(["clone", "-q", "--depth", "1", &url])
            .arg(&dest)
            .env("HOME", &home)
            .output()
            .expect("git clone runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(dest.join(".git/shallow").exists(), "a shallow clone");
        if nix_is_root() {
            let status = Command::new("chown")
                .args(["-R", "1001:1001"])
                .arg(&dest)
                .status()
                .expect("chown");
            assert!(status.success());
        }
        dest
    }

    pub fn event(&self, name: &str, payload: &Value) -> PathBuf {
        let path = self.dir.path().join("event.json");
        std::fs::write(&path, serde_json::to_vec_pretty(payload).expect("json"))
            .expect("event file");
        self.write_name(name);
        path
    }

    fn write_name(&self, name: &str) {
        std::fs::write(self.dir.path().join("event-name"), name).expect("event name");
    }

    pub fn run(&self) -> Run {
        self.run_with(|_| {})
    }

    pub fn run_with(&self, adjust: impl FnOnce(&mut Command)) -> Run {
        let mut cmd = self.command(&[]);
        adjust(&mut cmd);
        let out = cmd.output().expect("rollout runs");
        self.collect(out)
    }

    /// The command as the runner would start it, not yet run.
    pub fn command(&self, args: &[&str]) -> Command {
        let files = self.dir.path();
        for f in ["output", "summary", "state"] {
            let _ = std::fs::remove_file(files.join(f));
        }
        let name =
            std::fs::read_to_string(files.join("event-name")).unwrap_or_else(|_| "push".into());
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", files)
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("GITHUB_EVENT_NAME", name)
            .env("GITHUB_EVENT_PATH", files.join("event.json"))
            .env("GITHUB_REPOSITORY", OWNER_REPO)
            .env("GITHUB_SERVER_URL", "https://github.example.com")
            .env("GITHUB_API_URL", self.fake.url())
            .env("GITHUB_GRAPHQL_URL", format!("{}/graphql", self.fake.url()))
            .env("GITHUB_RUN_ID", "1658821493")
            .env("GITHUB_RUN_ATTEMPT", "2")
            .env("GITHUB_JOB", "deploy")
            .env("GITHUB_ACTOR", "mona")
            .env("RUNNER_NAME", "GitHub Actions 7")
            .env("GITHUB_WORKSPACE", &self.workspace)
            .env("GITHUB_OUTPUT", files.join("output"))
            .env("GITHUB_STEP_SUMMARY", files.join("summary"))
            .env("GITHUB_STATE", files.join("state"))
            .current_dir(&self.workspace)
            .stdin(Stdio::null());
        for (k, v) in &self.inputs {
            cmd.env(format!("INPUT_{}", k.to_ascii_uppercase()), v);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// The post step as the runner starts it, with the main step's saved state as `STATE_*`.
    pub fn post_command(&self, state: &BTreeMap<String, String>) -> Command {
        let mut cmd = self.command(&["post"]);
        for (k, v) in state {
            cmd.env(format!("STATE_{k}"), v);
        }
        cmd
    }

    /// Runs the post step with the main step's saved state.
    pub fn post(&self, state: &BTreeMap<String, String>) -> Run {
        let out = self
            .post_command(state)
            .output()
            .expect("rollout post runs");
        self.collect(out)
    }

    pub fn collect(&self, out: std::process::Output) -> Run {
        let files = self.dir.path();
        let read = |f: &str| std::fs::read_to_string(files.join(f)).unwrap_or_default();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            outputs: parse_file_commands(&read("output")),
            summary: read("summary"),
            state: parse_file_commands(&read("state")),
        };
        self.assert_no_token_leak(&run);
        run
    }

    /// The token appears nowhere but in the Authorization header.
    pub fn assert_no_token_leak(&self, run: &Run) {
        let t = &self.token;
        assert!(!run.stdout.contains(t), "token in stdout:\n{}", run.stdout);
        assert!(!run.stderr.contains(t), "token in stderr:\n{}", run.stderr);
        assert!(!run.summary.contains(t), "token in the summary");
        assert!(
            !run.outputs.values().any(|v| v.contains(t)),
            "token in outputs"
        );
        let state = self.fake.state();
        for r in &state.requests {
            if let Some(body) = &r.body {
                assert!(
                    !body.to_string().contains(t),
                    "token in a request body: {} {}",
                    r.method,
                    r.path
                );
            }
            assert!(!r.path.contains(t), "token in a path");
        }
    }

    pub fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.fake.state()
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

pub fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

// ---- payloads shaped after GitHub's webhook examples ----

pub const ZERO: &str = "0000000000000000000000000000000000000000";

fn repository() -> Value {
    json!({
        "id": 186853002, "node_id": "MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=", "name": "app",
        "full_name": OWNER_REPO, "private": false, "default_branch": "main",
        "owner": { "login": "octo-org", "id": 21031067, "type": "Organization" },
        "html_url": format!("https://github.com/{OWNER_REPO}"),
        "created_at": 1557933565, "pushed_at": 1557933657
    })
}

pub fn push_payload(git_ref: &str, before: &str, after: &str, message: &str) -> Value {
    json!({
        "ref": git_ref,
        "before": before,
        "after": after,
        "created": before == ZERO,
        "deleted": after == ZERO,
        "forced": false,
        "base_ref": null,
        "compare": format!("https://github.com/{OWNER_REPO}/compare/{}...{}", &before[..12], &after[..12]),
        "commits": [],
        "head_commit": if after == ZERO { Value::Null } else { json!({
            "id": after, "tree_id": after, "distinct": true, "message": message,
            "timestamp": "2026-11-21T00:00:00Z",
            "author": { "name": "Mona Lisa", "email": "mona@example.com", "username": "mona" },
            "committer": { "name": "GitHub", "email": "noreply@github.com", "username": "web-flow" }
        }) },
        "repository": repository(),
        "pusher": { "name": "mona", "email": "mona@example.com" },
        "sender": { "login": "mona", "id": 1, "type": "User" }
    })
}

pub fn dispatch_payload(git_ref: &str) -> Value {
    json!({
        "inputs": { "name": "Mona the Octocat" },
        "ref": git_ref,
        "repository": repository(),
        "sender": { "login": "mona", "id": 1, "type": "User" },
        "workflow": ".github/workflows/deploy.yml"
    })
}

pub fn workflow_run_payload(
    conclusion: &str,
    head_sha: &str,
    head_branch: &str,
    head_repo: &str,
) -> Value {
    json!({
        "action": "completed",
        "workflow_run": {
            "id": 30433642, "name": "Build", "event": "push", "status": "completed",
            "conclusion": conclusion, "head_sha": head_sha, "head_branch": head_branch,
            "head_commit": { "id": head_sha, "message": "build: the thing", "author": { "name": "Mona", "email": "m@example.com" } },
            "head_repository": { "full_name": head_repo },
            "repository": { "full_name": OWNER_REPO }
        },
        "repository": repository(),
        "sender": { "login": "mona", "id": 1, "type": "User" }
    })
}

pub fn pr_payload(
    action: &str,
    number: u64,
    head_sha: &str,
    head_ref: &str,
    base_sha: &str,
    head_repo: &str,
    title: &str,
) -> Value {
    json!({
        "action": action,
        "number": number,
        "pull_request": {
            "url": format!("https://api.github.com/repos/{OWNER_REPO}/pulls/{number}"),
            "id": 279147437, "number": number, "state": if action == "closed" { "closed" } else { "open" },
            "title": title, "body": null, "draft": false, "merged": false,
            "user": { "login": "mona", "id": 1, "type": "User" },
            "head": { "label": format!("x:{head_ref}"), "ref": head_ref, "sha": head_sha,
                      "repo": { "full_name": head_repo, "name": "app" } },
            "base": { "label": "octo-org:main", "ref": "main", "sha": base_sha,
                      "repo": { "full_name": OWNER_REPO, "name": "app" } }
        },
        "repository": repository(),
        "sender": { "login": "mona", "id": 1, "type": "User" }
    })
}

pub fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

impl Run {
    /// The one `::error::` line of the run; fails the test when there is not exactly one.
    pub fn the_error(&self) -> &str {
        let errors: Vec<&str> = self
            .stdout
            .lines()
            .filter(|l| l.starts_with("::error::"))
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "expected one error sentence:\n{}",
            self.stdout
        );
        errors[0]
    }
}

/// A fault for the next `times` requests of `method` to paths containing `path`.
pub fn fault(method: &str, path: &str, status: u16, times: u32) -> Fault {
    Fault {
        method: method.into(),
        path: path.into(),
        status,
        headers: BTreeMap::new(),
        body: Value::Null,
        times,
        after: false,
        delay_ms: 0,
        skip: 0,
        raw: None,
        linger_ms: 0,
        drop: Vec::new(),
    }
}

/// `rollout plan` on an event file, with no runner environment at all; returns (exit code, stdout).
pub fn plan(event: &Path, name: &str, inputs: &[&str], workspace: Option<&Path>) -> (i32, String) {
    let mut cmd = Command::new(bin());
    cmd.arg("plan")
        .arg("--event")
        .arg(event)
        .args(["--event-name", name]);
    for input in inputs {
        cmd.args(["--input", input]);
    }
    if let Some(ws) = workspace {
        cmd.arg("--workspace").arg(ws);
    }
    let out = cmd.env_clear().output().expect("rollout plan runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Every request the run made was one GitHub accepts (the fake checks each against GitHub's
/// request schema).
pub fn no_violations(h: &Harness) {
    let s = h.state();
    assert!(s.violations.is_empty(), "{:?}", s.violations);
}

/// The GraphQL requests whose query contains `text` (`qualifiedName`: a lock read; `object(oid:`:
/// a commit's deployments, as `requires` reads them).
pub fn graphql_reads_with(h: &Harness, text: &str) -> usize {
    h.state()
        .requests
        .iter()
        .filter(|r| r.path == "/graphql")
        .filter(|r| {
            r.body
                .as_ref()
                .and_then(|b| b["query"].as_str())
                .is_some_and(|q| q.contains(text))
        })
        .count()
}

/// The ordinary push: two commits on main, the event for the second, the workspace owned by the
/// runner's user. Returns the pushed sha.
pub fn pushed(h: &Harness) -> String {
    let base = h.commit(&[("README.md", "hello\n")], "initial");
    let sha = h.commit(&[("app/main.txt", "v2\n")], "ship");
    h.event(
        "push",
        &push_payload("refs/heads/main", &base, &sha, "ship"),
    );
    h.chown_workspace();
    sha
}

/// A client of the fake, as the binary builds one, for tests that call the API layer directly.
/// Its clock runs four times faster; not faster, since the fake's first GraphQL answer parses
/// GitHub's 1.2 MB schema (a debug build takes a while) within the scaled read timeout.
pub fn client(fake: &Fake, token: &str) -> rollout::github::DeploymentClient {
    let policy = rollout::github::RetryPolicy {
        time_scale: 0.25,
        ..Default::default()
    };
    rollout::github::DeploymentClient::new(
        &format!("http://{}", fake.addr),
        OWNER_REPO,
        &rollout::inputs::Token::new(token.to_string()),
        policy,
        None,
    )
    .expect("a client of the fake")
}
