#!/usr/bin/env python3
"""rollout's overhead, end to end: the release binary against the standalone fake GitHub API on
loopback, with `command: true`, for each path; beside it the floor, the same HTTP calls made by
curl from a shell script. Reports median wall time, CPU time and peak memory (getrusage of the
child, from wait4) and the number of HTTP requests of each path.

    python3 benches/overhead.py [--runs N] [--quick] [--check benches/requests.txt]

--check fails when a path makes more requests than the file allows (a count, not a time).
"""
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROLLOUT = os.path.join(ROOT, "target/release/rollout")
FAKE = os.path.join(ROOT, "target/release/fake-github")
MEASURE = os.path.join(ROOT, "target/release/measure")
REPO = "octo-org/app"
TOKEN = "ghs_benchmark"


def http(api, method, path, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"}
    if token:
        headers.update({"authorization": f"Bearer {token}", "accept": "application/vnd.github+json",
                        "x-github-api-version": "2022-11-28"})
    req = urllib.request.Request(api + path, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else None


def git(ws, *args):
    subprocess.run(["git", "-C", ws, "-c", "user.name=b", "-c", "user.email=b@example.com", *args], check=True, capture_output=True)


def workspace(tmp):
    ws = os.path.join(tmp, "ws")
    os.makedirs(ws)
    git(ws, "init", "-q", "-b", "main")
    git(ws, "commit", "-q", "--allow-empty", "-m", "base")
    before = subprocess.run(["git", "-C", ws, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    with open(os.path.join(ws, "app.txt"), "w") as f:
        f.write("v2\n")
    git(ws, "add", "app.txt")
    git(ws, "commit", "-q", "-m", "ship it")
    sha = subprocess.run(["git", "-C", ws, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    return ws, before, sha


def measure(argv, env, cwd):
    """Runs a child under `measure` (crates/fake-github), returns (wall seconds, cpu seconds,
    peak RSS KiB, exit code)."""
    p = subprocess.run([MEASURE, *argv], env=env, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"measure failed: {p.stderr}")
    wall, user, system, rss, code = p.stdout.split()
    return int(wall) / 1e6, (int(user) + int(system)) / 1e6, int(rss), int(code)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--quick", action="store_true", help="3 runs a path, for CI")
    ap.add_argument("--check", help="a file of `path max-requests` lines")
    args = ap.parse_args()
    runs = 3 if args.quick else args.runs

    tmp = tempfile.mkdtemp(prefix="rollout-bench-")
    fake = subprocess.Popen([FAKE], stdout=subprocess.PIPE, text=True)
    try:
        api = fake.stdout.readline().strip()
        ws, before, sha = workspace(tmp)
        files = os.path.join(tmp, "files")
        os.makedirs(files)
        event = os.path.join(tmp, "event.json")
        base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
            "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPO, "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": api, "GITHUB_RUN_ID": "1", "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "deploy",
            "GITHUB_WORKSPACE": ws, "GITHUB_EVENT_PATH": event, "GITHUB_SHA": sha,
            "GITHUB_OUTPUT": os.path.join(files, "output"), "GITHUB_STATE": os.path.join(files, "state"),
            "GITHUB_STEP_SUMMARY": os.path.join(files, "summary"),
            "INPUT_TOKEN": TOKEN, "INPUT_COMMAND": "true", "INPUT_ENVIRONMENTS": "main: production",
        }
        push = {"ref": "refs/heads/main", "before": before, "after": sha, "forced": False, "deleted": False,
                "head_commit": {"message": "ship it", "author": {"username": "b"}},
                "repository": {"full_name": REPO, "default_branch": "main"}}
        pr = {"action": "synchronize", "number": 5,
              "pull_request": {"number": 5, "title": "t", "user": {"login": "b"},
                               "head": {"sha": sha, "ref": "feature", "repo": {"full_name": REPO}},
                               "base": {"sha": before, "ref": "main", "repo": {"full_name": REPO}}},
              "repository": {"full_name": REPO}}

        def rollout(name, payload, extra):
            with open(event, "w") as f:
                json.dump(payload, f)
            env = dict(base_env, GITHUB_EVENT_NAME=name, **extra)
            return [([ROLLOUT], env)]

        def start_finish():
            return rollout("push", push, {"INPUT_STEP": "start"}) + ["finish"]

        paths = {
            "push-deploy": lambda: rollout("push", push, {}),
            "skip-unmapped": lambda: rollout("push", dict(push, ref="refs/heads/feature/x"), {}),
            "pr-preview": lambda: rollout("pull_request", pr, {"INPUT_PREVIEW-ENVIRONMENT": "pr-{number}"}),
            "start+finish": start_finish,
        }
        results = {}
        for path, setup in paths.items():
            samples = []
            requests = None
            http(api, "POST", "/_fake/reset")
            for i in range(runs + 1):
                # The first run warms caches and leaves a predecessor to supersede; not counted.
                seen = len(http(api, "GET", "/_fake/state")["requests"])
                steps = setup()
                wall = cpu = 0.0
                rss = 0
                for step in steps:
                    if step == "finish":
                        out = open(os.path.join(files, "output")).read()
                        dep = out.split("deployment-id<<", 1)[1].split("\n")[1]
                        env = dict(base_env, GITHUB_EVENT_NAME="push", INPUT_STEP="finish",
                                   **{"INPUT_DEPLOYMENT-ID": dep, "INPUT_STATUS": "success"})
                        step = ([ROLLOUT], env)
                    else:
                        for f in os.listdir(files):
                            os.remove(os.path.join(files, f))
                    argv, env = step
                    w, c, r, code = measure(argv, env, ws)
                    if code != 0:
                        out = subprocess.run(argv, env=env, cwd=ws, capture_output=True, text=True).stdout
                        sys.exit(f"{path}: rollout exited {code}:\n{out}")
                    wall, cpu, rss = wall + w, cpu + c, max(rss, r)
                state = http(api, "GET", "/_fake/state")
                calls = [f"{r['method']} {r['path'].split('?')[0]}" for r in state["requests"][seen:]
                         if not r["path"].startswith("/_fake")]
                if i == 0:
                    continue
                if requests is None:
                    requests = calls
                elif len(calls) != len(requests):
                    sys.exit(f"{path}: request count changed between runs: {requests} vs {calls}")
                samples.append((wall, cpu, rss))
            results[path] = {
                "wall_ms": statistics.median(s[0] for s in samples) * 1000,
                "cpu_ms": statistics.median(s[1] for s in samples) * 1000,
                "rss_mib": max(s[2] for s in samples) / 1024,
                "requests": len(requests),
                "calls": requests,
            }

        # The floor: the push deploy's HTTP calls from curl in one shell script.
        floor_samples = []
        auth = f"Authorization: Bearer {TOKEN}"
        script = os.path.join(tmp, "floor.sh")
        with open(script, "w") as f:
            f.write(f"""set -e
h1='Accept: application/vnd.github+json'; h2='X-GitHub-Api-Version: 2022-11-28'; h3='{auth}'
base='{api}/repos/{REPO}'
id=$(curl -sf -H "$h1" -H "$h2" -H "$h3" -d '{{"ref":"{sha}","task":"deploy","auto_merge":false,"required_contexts":[],"payload":{{}},"environment":"production","description":"ship it","transient_environment":false}}' "$base/deployments" | sed -n 's/.*"id":\\([0-9]*\\).*/\\1/p' | head -n1)
curl -sf -o /dev/null -H "$h1" -H "$h2" -H "$h3" -d '{{"query":"query($owner: String!, $name: String!, $l0: String!) {{ repository(owner: $owner, name: $name) {{ l0: ref(qualifiedName: $l0) {{ target {{ ... on Commit {{ oid message }} }} }} }} }}","variables":{{"owner":"{REPO.split('/')[0]}","name":"{REPO.split('/')[1]}","l0":"refs/heads/rollout-lock/production"}}}}' "{api}/graphql"
curl -sf -o /dev/null -H "$h1" -H "$h2" -H "$h3" -d '{{"state":"in_progress","description":"Deploying"}}' "$base/deployments/$id/statuses"
curl -sf -o /dev/null -H "$h1" -H "$h2" -H "$h3" -d '{{"query":"query($owner: String!, $name: String!, $environment: String!, $after: String) {{ repository(owner: $owner, name: $name) {{ deployments(environments: [$environment], first: 100, after: $after, orderBy: {{field: CREATED_AT, direction: DESC}}) {{ pageInfo {{ hasNextPage endCursor }} nodes {{ databaseId state }} }} }} }}","variables":{{"owner":"{REPO.split('/')[0]}","name":"{REPO.split('/')[1]}","environment":"production","after":null}}}}' "{api}/graphql"
true
curl -sf -o /dev/null -H "$h1" -H "$h2" -H "$h3" "$base/deployments/$id/statuses?per_page=1"
curl -sf -o /dev/null -H "$h1" -H "$h2" -H "$h3" -d '{{"state":"success","description":"Deployed"}}' "$base/deployments/$id/statuses"
""")
        floor_requests = None
        for i in range(runs + 1):
            http(api, "POST", "/_fake/reset")
            w, c, r, code = measure(["sh", script], dict(os.environ), tmp)
            if code != 0:
                sys.exit(f"the curl floor failed ({code})")
            floor_requests = len(http(api, "GET", "/_fake/state")["requests"])
            if i > 0:
                floor_samples.append((w, c, r))
        floor = {
            "wall_ms": statistics.median(s[0] for s in floor_samples) * 1000,
            "cpu_ms": statistics.median(s[1] for s in floor_samples) * 1000,
            "rss_mib": max(s[2] for s in floor_samples) / 1024,
            "requests": floor_requests,
        }

        size = os.path.getsize(ROLLOUT) / (1024 * 1024)
        print(f"rollout overhead, {runs} runs a path (median wall and CPU, peak RSS), binary {size:.1f} MiB")
        print(f"{'path':<16}{'wall ms':>10}{'cpu ms':>10}{'peak MiB':>10}{'requests':>10}")
        for path, r in results.items():
            print(f"{path:<16}{r['wall_ms']:>10.1f}{r['cpu_ms']:>10.1f}{r['rss_mib']:>10.1f}{r['requests']:>10}")
        print(f"{'curl floor':<16}{floor['wall_ms']:>10.1f}{floor['cpu_ms']:>10.1f}{floor['rss_mib']:>10.1f}{floor['requests']:>10}  (push-deploy's calls)")
        print(f"push-deploy / floor (wall): {results['push-deploy']['wall_ms'] / floor['wall_ms']:.2f}x")
        for path, r in results.items():
            print(f"  {path}: " + ", ".join(r["calls"]) if r["calls"] else f"  {path}: no request")

        if args.check:
            limits = {}
            for line in open(args.check):
                line = line.split("#", 1)[0].strip()
                if line:
                    name, n = line.rsplit(None, 1)
                    limits[name] = int(n)
            bad = [f"{p} makes {r['requests']} requests, at most {limits[p]} allowed"
                   for p, r in results.items() if p in limits and r["requests"] > limits[p]]
            missing = [p for p in results if p not in limits]
            if bad or missing:
                sys.exit("request counts grew: " + "; ".join(bad + [f"{p} has no limit" for p in missing]))
            print(f"request counts: {len(results)} passed, 0 failed")
    finally:
        fake.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
