//! Changed-file detection and task selection on a large repository, beside `git diff --name-only`.
//!
//! Builds a synthetic repository of 100,000 files (100 folders of 1,000), a second commit that
//! changes 10,000 of them, and measures (median of 7 runs):
//! - rollout's two-tree diff (`changes::local`, what a push deploy does),
//! - task selection over the 10,000 changed paths with 50 `tasks` patterns (one compiled set),
//! - target selection over the same paths with 200 `targets` of 5 globs each, and `rollout plan`
//!   (the release binary, end to end: event, inputs, local diff, 200 targets' decisions),
//! - `git diff --name-only A B` on the same repository.
//!
//! Run: `cargo bench --bench changes` (figures in BENCHMARKS.md).

// A benchmark sets up its own data: a failure there is a broken benchmark, not a user's input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use rollout::changes::{self, Basis, Local};
use rollout::event::Sha;
use rollout::inputs::{Inputs, RawInputs};
use std::process::Command;
use std::time::{Duration, Instant};

const FOLDERS: usize = 100;
const FILES: usize = 1_000;
const CHANGED_FOLDERS: usize = 10;

fn build(repo: &git2::Repository, version: &str) -> git2::Oid {
    let mut root = repo.treebuilder(None).expect("treebuilder");
    for d in 0..FOLDERS {
        let mut folder = repo.treebuilder(None).expect("treebuilder");
        for f in 0..FILES {
            let v = if d < CHANGED_FOLDERS { version } else { "v1" };
            let blob = repo
                .blob(format!("{d}-{f}-{v}\n").as_bytes())
                .expect("blob");
            folder
                .insert(format!("file{f:04}.txt"), blob, 0o100644)
                .expect("insert");
        }
        let tree = folder.write().expect("tree");
        root.insert(format!("mod{d:03}"), tree, 0o040000)
            .expect("insert");
    }
    let tree = repo.find_tree(root.write().expect("root")).expect("tree");
    let sig = git2::Signature::now("bench", "bench@example.com").expect("signature");
    let parents: Vec<git2::Commit> = repo
        .head()
        .ok()
        .and_then(|h| h.peel_to_commit().ok())
        .into_iter()
        .collect();
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(Some("HEAD"), &sig, &sig, version, &tree, &parents)
        .expect("commit")
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut samples = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        samples.push(start.elapsed());
    }
    (median(samples), last.expect("at least one run"))
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    // A work tree's repository, with nothing checked out: rollout reads only objects.
    let repo = git2::Repository::init(dir.path()).expect("init");
    let a = build(&repo, "v1");
    let b = build(&repo, "v2");
    println!(
        "built {} files, {} changed, in {:.1}s",
        FOLDERS * FILES,
        CHANGED_FOLDERS * FILES,
        started.elapsed().as_secs_f64()
    );

    let basis = Basis::Trees {
        base: Sha::parse(&a.to_string()).expect("sha"),
        head: Sha::parse(&b.to_string()).expect("sha"),
        why: "bench".into(),
    };
    let (diff, files) = time(7, || match changes::local(&repo, &basis) {
        Local::Files(f) => f,
        Local::Missing(why) => panic!("{why}"),
    });
    assert_eq!(files.len(), CHANGED_FOLDERS * FILES);

    let mut raw = RawInputs::default();
    raw.set("command", "true");
    let mut lines: Vec<String> = (0..49)
        .map(|i| format!("task{i}: mod{:03}/** docs/{i}/**", 50 + i))
        .collect();
    lines.push("deploy:mods: mod0*/**".into());
    raw.set("tasks", lines.join("\n"));
    let inputs = Inputs::parse(&raw).expect("inputs");
    let (select, task) = time(7, || {
        inputs
            .tasks
            .select(files.iter().map(String::as_str))
            .map(str::to_string)
    });
    assert_eq!(task.as_deref(), Some("deploy:mods"));

    // 200 targets of 5 globs; those of the 10 changed folders whose own file is in them are
    // affected (20 of them).
    let lines: Vec<String> = (0..200)
        .map(|i| {
            format!(
                "t{i}: svc{i}/** mod{:03}/sub{i}/** lib{i}/**/*.rs docs/{i}/** mod{:03}/file{:04}.txt",
                i % 100,
                i % 100,
                i
            )
        })
        .collect();
    let targets = lines.join("\n");
    raw.set("targets", targets.clone());
    let with_targets = Inputs::parse(&raw).expect("inputs with targets");
    let changed = rollout::plan::Changes::Files {
        files: files.clone(),
        source: "bench".into(),
    };
    let (targets_select, affected) = time(7, || with_targets.targets.affected(&changed));
    assert_eq!(affected.names().len(), 20, "{}", affected.summary());

    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        serde_json::json!({
            "ref": "refs/heads/main",
            "before": a.to_string(),
            "after": b.to_string(),
            "repository": {"full_name": "bench/bench"},
            "head_commit": {"id": b.to_string(), "message": "v2"},
        })
        .to_string(),
    )
    .expect("event");
    let (plan, printed) = time(7, || {
        let out = Command::new(env!("CARGO_BIN_EXE_rollout"))
            .arg("plan")
            .arg("--event")
            .arg(&event)
            .args(["--event-name", "push", "--workspace"])
            .arg(dir.path())
            .args(["--input", "environments=main: production"])
            .args(["--input", "command=./deploy.sh"])
            .arg("--input")
            .arg(format!("targets={targets}"))
            .env_clear()
            .output()
            .expect("rollout plan runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    });
    assert!(
        printed.starts_with("targets: 20 of 200 target(s) affected by 10000 changed file(s)"),
        "{}",
        printed.lines().next().unwrap_or_default()
    );

    let (git, count) = time(7, || {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(repo.path())
            .args(["diff", "--name-only", &a.to_string(), &b.to_string()])
            .output()
            .expect("git runs");
        out.stdout.iter().filter(|b| **b == b'\n').count()
    });
    assert_eq!(count, files.len());

    println!(
        "changed-file detection (rollout, git2 tree diff): {:>8.1} ms",
        diff.as_secs_f64() * 1e3
    );
    println!(
        "task selection, 50 patterns over 10,000 paths:    {:>8.1} ms",
        select.as_secs_f64() * 1e3
    );
    println!(
        "target selection, 200 targets x 5 globs, 10,000 paths: {:>8.1} ms",
        targets_select.as_secs_f64() * 1e3
    );
    println!(
        "rollout plan (release binary), 200 targets, 10,000-file change: {:>8.1} ms",
        plan.as_secs_f64() * 1e3
    );
    println!(
        "git diff --name-only (git {}):          {:>8.1} ms",
        git_version(),
        git.as_secs_f64() * 1e3
    );
}

fn git_version() -> String {
    Command::new("git")
        .arg("--version")
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .trim_start_matches("git version ")
                .to_string()
        })
        .unwrap_or_default()
}
