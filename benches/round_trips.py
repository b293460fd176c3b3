#!/usr/bin/env python3
"""A deploy's overhead in round trips: the release binary against the standalone fake GitHub API
with every API call taking LATENCY ms (0 and 100), around a command of `true` and of `sleep 1`,
for each path, beside a curl script of the three calls a deploy needs (create, in_progress,
final status, one after another, the command between the last two).

    python3 benches/round_trips.py [--runs N] [--check]

Overhead is (wall - command) / latency: the round trips a path adds to its command. The
critical path is counted the same way from the command's own start and end times: the
sequential API calls before the command starts, and after it ends. --check (what .ci/run
runs) measures only that, at 300 ms a request around `sleep 1` (whole calls only, so rollout's
own work between calls is not counted), and fails when a path has more than CRITICAL allows: a
count, not a time.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from overhead import FAKE, REPO, ROLLOUT, TOKEN, http, workspace  # noqa: E402

# --check's latency a request: long beside rollout's own work, so that work is never a call.
CHECK_LATENCY_MS = 300

# The most sequential API calls each path may have before its command and after it.
CRITICAL = {
    "push-deploy": (1, 1),
    # Phases go beside the command: none of them may add a call before it or after it.
    "push-deploy+phases": (1, 1),
    # A verify that passes: `Verifying` is posted beside it, so nothing is added before or after
    # (the timed window runs from the command's start to the verify's end).
    "push-deploy+verify": (1, 1),
    "pr-preview": (1, 2),
    # Two processes: start must see its in-progress status land before it exits (create, then
    # in_progress beside the supersede read); finish reads the deployment and its statuses at
    # once, then posts the final status.
    "start+finish": (2, 2),
    # The history and the lock in one GraphQL read, then the create: the target is among the
    # newest 100 deployments.
    "rollback": (2, 1),
    # `requires`: the commit's deployments in staging and the lock in one GraphQL read, then the
    # create (issue 39); a deploy without `requires` stays at push-deploy's (1, 1).
    "push-deploy+requires": (2, 1),
    # The source's history and the destination's lock in one GraphQL read, then the create.
    "promote": (2, 1),
}
COMMANDS = {"true": "true", "sleep 1": "sleep 1"}
# The command of the phases path: a phase as it starts (posted while it runs, once the in-progress
# status landed and the deployment's statuses were counted) and one as it ends (dropped: the
# final status follows at once).
PHASED = 'echo "Building image" >> "$ROLLOUT_PHASE_FILE"; {cmd}; echo "Rolling out" >> "$ROLLOUT_PHASE_FILE"'


def now_ns():
    return time.time_ns()


def timed(cmd, times):
    """The user's command, recording its start and end (ns since the epoch) in `times`."""
    return f'date +%s%N >> "{times}"; {cmd}; s=$?; date +%s%N >> "{times}"; exit $s'


def read_times(times):
    with open(times) as f:
        stamps = [int(line) for line in f.read().split()]
    os.remove(times)
    return stamps[0], stamps[-1]


class Bench:
    def __init__(self, api, tmp):
        self.api = api
        self.tmp = tmp
        self.ws, self.before, self.sha = workspace(tmp)
        self.files = os.path.join(tmp, "files")
        os.makedirs(self.files)
        self.event = os.path.join(tmp, "event.json")
        self.times = os.path.join(tmp, "times")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
            "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": REPO, "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_API_URL": api, "GITHUB_GRAPHQL_URL": api + "/graphql", "GITHUB_RUN_ID": "1",
            "GITHUB_RUN_ATTEMPT": "1", "GITHUB_JOB": "deploy", "GITHUB_WORKSPACE": self.ws,
            "GITHUB_EVENT_PATH": self.event, "GITHUB_SHA": self.sha,
            "GITHUB_OUTPUT": os.path.join(self.files, "output"), "GITHUB_STATE": os.path.join(self.files, "state"),
            "GITHUB_STEP_SUMMARY": os.path.join(self.files, "summary"),
            "INPUT_TOKEN": TOKEN, "INPUT_ENVIRONMENTS": "main: production",
        }
        self.push = {"ref": "refs/heads/main", "before": self.before, "after": self.sha, "forced": False,
                     "deleted": False, "head_commit": {"message": "ship it", "author": {"username": "b"}},
                     "repository": {"full_name": REPO, "default_branch": "main"}}

    def pr(self, action):
        return {"action": action, "number": 5,
                "pull_request": {"number": 5, "title": "t", "user": {"login": "b"}, "merged": False,
                                 "head": {"sha": self.sha, "ref": "feature", "repo": {"full_name": REPO}},
                                 "base": {"sha": self.before, "ref": "main", "repo": {"full_name": REPO}}},
                "repository": {"full_name": REPO}}

    def rollout(self, name, payload, inputs):
        with open(self.event, "w") as f:
            json.dump(payload, f)
        for f in os.listdir(self.files):
            os.remove(os.path.join(self.files, f))
        env = dict(self.env, GITHUB_EVENT_NAME=name, **inputs)
        p = subprocess.run([ROLLOUT], env=env, cwd=self.ws, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"rollout exited {p.returncode}:\n{p.stdout}\n{p.stderr}")
        return p.stdout

    def output(self, name):
        text = open(os.path.join(self.files, "output")).read()
        return text.split(f"{name}<<", 1)[1].split("\n")[1]

    def run(self, path, cmd):
        """One timed run of `path`: (wall ns, command start ns, command end ns, process start, end)."""
        if path == "push-deploy+phases":
            cmd = PHASED.format(cmd=cmd)
        wrapped = timed(cmd, self.times)
        verify = {}
        if path == "push-deploy+verify":
            # The command's start stamp, then the verify's end stamp: the window is both.
            wrapped = f'date +%s%N >> "{self.times}"; {cmd}'
            verify = {"INPUT_VERIFY": f'sleep 0.5; date +%s%N >> "{self.times}"'}
        preview = {"INPUT_PREVIEW-ENVIRONMENT": "pr-{number}"}
        if path == "rollback":
            # The history to roll back in, not timed: `before` succeeded, then `sha` failed.
            self.seed_history()
        if path == "push-deploy+requires":
            # The pushed commit succeeded in staging, not timed.
            self.seed_deployment("staging", self.sha, "success")
        if path == "promote":
            # Staging runs `before`, not timed: it is what is promoted.
            self.seed_deployment("staging", self.before, "success")
        if path == "teardown":
            # The preview to tear down, not timed.
            self.rollout("pull_request", self.pr("synchronize"), dict(preview, INPUT_COMMAND="true"))
        t0 = now_ns()
        if path in ("push-deploy", "push-deploy+phases", "push-deploy+verify"):
            self.rollout("push", self.push, {"INPUT_COMMAND": wrapped, **verify})
        elif path == "pr-preview":
            self.rollout("pull_request", self.pr("synchronize"), dict(preview, INPUT_COMMAND=wrapped))
        elif path == "teardown":
            self.rollout("pull_request", self.pr("closed"),
                         dict(preview, INPUT_COMMAND="true", **{"INPUT_TEARDOWN-COMMAND": wrapped}))
        elif path == "start+finish":
            self.rollout("push", self.push, {"INPUT_STEP": "start"})
            dep = self.output("deployment-id")
            subprocess.run(["sh", "-c", wrapped], check=True)
            self.rollout("push", self.push, {"INPUT_STEP": "finish", "INPUT_DEPLOYMENT-ID": dep,
                                             "INPUT_STATUS": "success"})
        elif path == "rollback":
            self.rollout("push", self.push, {"INPUT_STEP": "rollback", "INPUT_ENVIRONMENT": "production",
                                             "INPUT_COMMAND": wrapped})
            # Back to the pushed commit for the next run (the rollback left HEAD detached).
            subprocess.run(["git", "-C", self.ws, "checkout", "-q", "main"], check=True)
        elif path == "push-deploy+requires":
            self.rollout("push", self.push, {"INPUT_COMMAND": wrapped, "INPUT_REQUIRES": "production: staging"})
        elif path == "promote":
            self.rollout("workflow_dispatch", {"ref": "refs/heads/main", "repository": {"full_name": REPO}},
                         {"INPUT_STEP": "promote", "INPUT_ENVIRONMENT": "production",
                          "INPUT_FROM": "staging", "INPUT_COMMAND": wrapped})
            subprocess.run(["git", "-C", self.ws, "checkout", "-q", "main"], check=True)
        elif path == "curl (3 calls)":
            self.curl(wrapped)
        t1 = now_ns()
        start, end = read_times(self.times)
        return t1 - t0, start, end, t0, t1

    def seed_history(self):
        for sha, state in ((self.before, "success"), (self.sha, "failure")):
            self.seed_deployment("production", sha, state)

    def seed_deployment(self, environment, sha, state):
        d = http(self.api, "POST", f"/repos/{REPO}/deployments", {
            "ref": sha, "environment": environment, "task": "deploy", "auto_merge": False,
            "required_contexts": [], "payload": {}}, token=TOKEN)
        http(self.api, "POST", f"/repos/{REPO}/deployments/{d['id']}/statuses", {"state": state}, token=TOKEN)

    def curl(self, wrapped):
        auth = f"Authorization: Bearer {TOKEN}"
        script = f"""set -e
h1='Accept: application/vnd.github+json'; h2='X-GitHub-Api-Version: 2022-11-28'; h3='{auth}'
base='{self.api}/repos/{REPO}'
id=$(curl -sf -H "$h1" -H "$h2" -H "$h3" -d '{{"ref":"{self.sha}","task":"deploy","auto_merge":false,"required_contexts":[],"payload":{{}},"environment":"production","description":"ship it","transient_environment":false}}' "$base/deployments" | sed -n 's/.*"id":\\([0-9]*\\).*/\\1/p' | head -n1)
curl -sf -o /dev/null -H "$h1" -H "$h2" -H "$h3" -d '{{"state":"in_progress","description":"Deploying"}}' "$base/deployments/$id/statuses"
( {wrapped} )
curl -sf -o /dev/null -H "$h1" -H "$h2" -H "$h3" -d '{{"state":"success","description":"Deployed"}}' "$base/deployments/$id/statuses"
"""
        subprocess.run(["sh", "-c", script], check=True, cwd=self.tmp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--check", action="store_true", help="count the critical path at 300 ms a request (CI)")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rollout-rt-")
    fake = subprocess.Popen([FAKE], stdout=subprocess.PIPE, text=True)
    try:
        api = fake.stdout.readline().strip()
        bench = Bench(api, tmp)
        if args.check:
            # A count, not a time: each call takes CHECK_LATENCY_MS, and the whole calls that fit
            # in a stretch are counted (floor), so rollout's own work between them (a git
            # checkout, on a loaded machine) never reads as one more call unless it takes as
            # long as a call.
            http(api, "POST", "/_fake/latency", {"ms": CHECK_LATENCY_MS})
            failed = []
            for path, (most_before, most_after) in CRITICAL.items():
                bench.run(path, "true")  # warm-up: leaves a deployment to supersede
                _, start, end, t0, t1 = bench.run(path, "sleep 1")
                per_call = CHECK_LATENCY_MS * 1e6
                before, after = int((start - t0) // per_call), int((t1 - end) // per_call)
                print(f"{path}: {before} sequential API call(s) before the command, {after} after "
                      f"(at most {most_before} and {most_after})")
                if before > most_before or after > most_after:
                    failed.append(path)
            if failed:
                sys.exit("the critical path grew: " + ", ".join(failed))
            return
        paths = ["push-deploy", "push-deploy+phases", "push-deploy+verify", "pr-preview", "start+finish", "teardown",
                 "rollback", "push-deploy+requires", "promote", "curl (3 calls)"]
        print(f"round trips of overhead, (wall - command) / latency, median of {args.runs} runs")
        print(f"{'path':<20}{'command':<10}{'0 ms: ms':>10}{'100 ms: RT':>12}{'before':>8}{'after':>7}")
        for path in paths:
            for label, cmd in COMMANDS.items():
                row = []
                for latency in (0, 100):
                    http(api, "POST", "/_fake/reset")
                    http(api, "POST", "/_fake/latency", {"ms": latency})
                    bench.run(path, cmd)
                    samples = [bench.run(path, cmd) for _ in range(args.runs)]
                    over = statistics.median((w - (e - s)) for w, s, e, _, _ in samples)
                    before = statistics.median((s - t0) for _, s, _, t0, _ in samples)
                    after = statistics.median((t1 - e) for _, _, e, _, t1 in samples)
                    row.append((over, before, after, latency))
                (o0, _, _, _), (o1, b1, a1, _) = row
                print(f"{path:<20}{label:<10}{o0 / 1e6:>10.1f}{o1 / 100e6:>12.2f}{b1 / 100e6:>8.2f}{a1 / 100e6:>7.2f}")
    finally:
        fake.kill()
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    main()
