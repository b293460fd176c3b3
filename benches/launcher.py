#!/usr/bin/env python3
"""What the host form's launcher adds to a push deploy: the release binary alone against the
standalone fake GitHub API (`command: true`), beside the same deploy started as the runner starts
the host form (`node host/launcher.js` from a release tree written by scripts/release-tree.sh),
beside node's own start-up (`node -e 0`), which every JavaScript action pays. The three run in
turn, round after round, so a busy moment of the machine touches all three alike. Wall and CPU
times are medians (the `measure` helper: wait4 on the child).

    python3 benches/launcher.py [--runs N] [--check] [--compare DIR]

--check fails unless the launcher adds at most 100 ms to the push deploy (node's start-up
included) and at most 30 ms beyond node's start-up (issue 27's goal).
--compare DIR also measures, for the binary, the host form and the JavaScript action in DIR (a
checkout of bobheadxi/deployments at a tag: `node DIR/dist/index.js` with `step: start`), the
time from spawning the process to the first API request reaching the fake: the start-up a job
pays before anything happens.
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE = os.path.join(ROOT, "target/release/fake-github")
MEASURE = os.path.join(ROOT, "target/release/measure")
REPO = "octo-org/app"


def git(ws, *args):
    return subprocess.run(["git", "-C", ws, "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
                          check=True, capture_output=True, text=True).stdout.strip()


def measure(argv, env, cwd):
    p = subprocess.run([MEASURE, *argv], env=env, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"measure failed: {p.stderr}")
    wall, user, system, _rss, code = p.stdout.split()
    return int(wall) / 1e3, (int(user) + int(system)) / 1e3, int(code)


def first_request(api, env, ws, sha, forms, node, args):
    """Median ms from spawning each form to the first API request the fake received."""
    starts = {
        "binary alone": (forms["binary alone"], env),
        "host form (node + launcher)": (forms["host form (node + launcher)"], env),
        "bobheadxi/deployments (node)": ([node, os.path.join(args.compare, "dist", "index.js")],
                                         dict(env, GITHUB_REF="refs/heads/main", INPUT_STEP="start",
                                              INPUT_ENV="production")),
    }
    samples = {name: [] for name in starts}
    for i in range(args.runs + 1):
        for name, (argv, e) in starts.items():
            urllib.request.urlopen(urllib.request.Request(f"{api}/_fake/reset", method="POST", data=b"")).close()
            t0 = time.time() * 1000
            subprocess.run(argv, env=e, cwd=ws, capture_output=True)
            requests = json.load(urllib.request.urlopen(f"{api}/_fake/state"))["requests"]
            if not requests:
                sys.exit(f"{name} made no API request")
            if i > 0:
                samples[name].append(min(r["at_ms"] for r in requests) - t0)
    print("from spawning the process to its first API request (median ms):")
    for name, s in samples.items():
        print(f"  {name:<32}{statistics.median(s):>8.1f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--compare", help="a checkout of bobheadxi/deployments (its dist/index.js)")
    args = ap.parse_args()
    node = shutil.which("node")
    if node is None:
        sys.exit("node is not installed (apt-get install nodejs)")
    tmp = tempfile.mkdtemp(prefix="rollout-launcher-bench-")
    fake = subprocess.Popen([FAKE], stdout=subprocess.PIPE, text=True)
    try:
        api = fake.stdout.readline().strip()
        tree = os.path.join(tmp, "tree")
        subprocess.run(["bash", os.path.join(ROOT, "scripts/release-tree.sh"), tree], check=True,
                       capture_output=True)
        arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, "amd64")
        binary = os.path.join(tree, "bin", f"linux-{arch}", "rollout")
        ws = os.path.join(tmp, "ws")
        os.makedirs(ws)
        git(ws, "init", "-q", "-b", "main")
        git(ws, "commit", "-q", "--allow-empty", "-m", "base")
        before = git(ws, "rev-parse", "HEAD")
        git(ws, "commit", "-q", "--allow-empty", "-m", "ship it")
        sha = git(ws, "rev-parse", "HEAD")
        files = os.path.join(tmp, "files")
        os.makedirs(files)
        event = os.path.join(tmp, "event.json")
        with open(event, "w") as f:
            json.dump({"ref": "refs/heads/main", "before": before, "after": sha, "forced": False,
                       "deleted": False, "head_commit": {"message": "ship it", "author": {"username": "b"}},
                       "repository": {"full_name": REPO, "default_branch": "main"}}, f)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": REPO, "GITHUB_SERVER_URL": "https://github.com", "GITHUB_API_URL": api,
            "GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "deploy", "GITHUB_WORKSPACE": ws,
            "GITHUB_EVENT_PATH": event, "GITHUB_EVENT_NAME": "push", "GITHUB_SHA": sha,
            "GITHUB_OUTPUT": os.path.join(files, "output"), "GITHUB_STATE": os.path.join(files, "state"),
            "GITHUB_STEP_SUMMARY": os.path.join(files, "summary"), "RUNNER_OS": "Linux",
            "RUNNER_ARCH": {"amd64": "X64", "arm64": "ARM64"}[arch],
            "INPUT_TOKEN": "ghs_benchmark", "INPUT_COMMAND": "true", "INPUT_ENVIRONMENTS": "main: production",
        }
        forms = {
            "node -e 0": [node, "-e", "0"],
            "binary alone": [binary],
            "host form (node + launcher)": [node, os.path.join(tree, "host", "launcher.js")],
        }
        samples = {name: [] for name in forms}
        for i in range(args.runs + 1):
            for name, argv in forms.items():
                for f in os.listdir(files):
                    os.remove(os.path.join(files, f))
                wall, cpu, code = measure(argv, env, ws)
                if code != 0:
                    sys.exit(f"{name} exited {code}")
                if name != "node -e 0" and "status<<" not in open(os.path.join(files, "output")).read():
                    sys.exit(f"{name} wrote no outputs")
                if i > 0:  # the first round warms caches
                    samples[name].append((wall, cpu))
        med = {n: (statistics.median(w for w, _ in s), statistics.median(c for _, c in s))
               for n, s in samples.items()}
        print(f"push deploy, {args.runs} rounds, medians (node {subprocess.run([node, '--version'], capture_output=True, text=True).stdout.strip()})")
        print(f"{'':<30}{'wall ms':>10}{'cpu ms':>10}")
        for n, (w, c) in med.items():
            print(f"{n:<30}{w:>10.1f}{c:>10.1f}")
        added = med["host form (node + launcher)"][0] - med["binary alone"][0]
        beyond = added - med["node -e 0"][0]
        print(f"the launcher adds {added:.1f} ms to a push deploy, node's start-up included; "
              f"{beyond:.1f} ms beyond node's start-up")
        req = urllib.request.urlopen(f"{api}/_fake/state")
        violations = json.load(req)["violations"]
        if violations:
            sys.exit(f"requests broke GitHub's schema: {violations}")
        if args.compare:
            first_request(api, env, ws, sha, forms, node, args)
        if args.check:
            bad = []
            if added > 100:
                bad.append(f"adds {added:.1f} ms (goal: at most 100)")
            if beyond > 30:
                bad.append(f"{beyond:.1f} ms beyond node's start-up (goal: at most 30)")
            if bad:
                sys.exit("launcher: " + "; ".join(bad))
            print("launcher goals: 2 passed, 0 failed")
    finally:
        fake.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
