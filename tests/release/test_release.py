#!/usr/bin/env python3
"""The release workflow's shell steps, run here: the release tree, the digest written into its
action.yml, the tree committed on the source commit as vX.Y.Z once (a local bare repository as the
remote), the major tag moved through the exact git/ref/ lookup (a fake REST API whose git/refs/
answers prefix matches as GitHub's does), and the anonymous pull check (a fake registry).
Also checks that .github/workflows/release.yml runs these scripts. Usage: python3 tests/release/test_release.py
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
S = ROOT / "scripts"
failures = []


def check(cond, msg):
    print(("ok: " if cond else "FAIL: ") + msg, flush=True)
    if not cond:
        failures.append(msg)


def run(argv, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)


def git(cwd, *args):
    out = run(["git", "-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main", *args], cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def serve(handler):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_address[1]}"


def tree_and_pin(work):
    fake = work / "fake-rollout"
    fake.write_text("#!/bin/sh\necho fake\n")
    tree = work / "tree"
    env = dict(os.environ, ROLLOUT_BIN_AMD64=str(fake), ROLLOUT_BIN_ARM64=str(fake))
    r = run(["bash", S / "release-tree.sh", tree], env=env)
    check(r.returncode == 0, f"release-tree.sh writes a tree ({r.stderr.strip()})")
    for f in ["action.yml", "Dockerfile", "host/action.yml", "host/launcher.js", "bin/linux-amd64/rollout",
              "bin/linux-arm64/rollout", "README.md", "docs/README.md", "LICENSE", "SHA256SUMS"]:
        check((tree / f).is_file(), f"the release tree holds {f}")
    digest = "sha256:" + hashlib.sha256(b"index").hexdigest()
    r = run(["bash", S / "pin-image.sh", tree, "ghcr.io/rollout-action/rollout", digest])
    check(r.returncode == 0, f"pin-image.sh rewrites action.yml ({r.stderr.strip()})")
    text = (tree / "action.yml").read_text()
    check(f"  image: docker://ghcr.io/rollout-action/rollout@{digest}\n" in text, "action.yml names the image by digest")
    check(text.count("image: docker://") == 1 and ":v1" not in text.split("image: docker://")[1].split("\n")[0],
          "no tag is left on the image line")
    check((ROOT / "action.yml").read_text() != text, "main's action.yml is untouched")
    r = run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=tree)
    check(r.returncode == 0, "SHA256SUMS matches the rewritten action.yml")
    for bad in ["sha256:abc", "latest", "sha256:" + "G" * 64]:
        r = run(["bash", S / "pin-image.sh", tree, "ghcr.io/rollout-action/rollout", bad])
        check(r.returncode != 0, f"pin-image.sh refuses the digest {bad!r}")
    return tree


def commit_once(work, tree):
    src = work / "src"
    src.mkdir()
    git(src, "init", "-q")
    (src / "README.md").write_text("source\n")
    git(src, "add", "-A")
    git(src, "commit", "-q", "-m", "source")
    source = git(src, "rev-parse", "HEAD")
    remote = work / "remote.git"
    git(work, "init", "-q", "--bare", str(remote))
    git(src, "push", "-q", str(remote), "main")
    r = run(["bash", S / "release-commit.sh", tree, source, "1.0.0", remote], cwd=src)
    check(r.returncode == 0, f"release-commit.sh pushes v1.0.0 ({r.stderr.strip()[-300:]})")
    commit = r.stdout.strip()
    check(git(remote, "rev-parse", "v1.0.0^{commit}") == commit, "the remote's v1.0.0 is the printed commit")
    check(git(remote, "rev-parse", f"{commit}^1") == source and run(["git", "rev-parse", f"{commit}^2"], cwd=remote).returncode != 0,
          "the release commit's one parent is the source commit")
    files = set(git(remote, "ls-tree", "-r", "--name-only", commit).splitlines())
    check("bin/linux-amd64/rollout" in files and "action.yml" in files and "src" not in {f.split('/')[0] for f in files},
          "the release commit's tree is the release tree")
    mode = git(remote, "ls-tree", commit, "bin/linux-amd64/rollout").split()[0]
    check(mode == "100755", "the binary keeps its executable bit")
    (tree / "README.md").write_text("changed\n")
    r = run(["bash", S / "release-commit.sh", tree, source, "1.0.0", remote], cwd=src)
    check(r.returncode != 0 and "never moved" in r.stderr, "a second release of 1.0.0 fails")
    check(git(remote, "rev-parse", "v1.0.0^{commit}") == commit, "and v1.0.0 did not move")
    return commit


class FakeGit(BaseHTTPRequestHandler):
    """GitHub's git refs: ref/ (singular) exact, refs/ (plural) a prefix match answering an array."""
    refs = {}
    log = []

    def log_message(self, *a):
        pass

    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"{}")

    def do_GET(self):
        FakeGit.log.append(("GET", self.path))
        base = "/repos/o/r/git/"
        if self.path.startswith(base + "ref/"):
            name = "refs/" + self.path[len(base + "ref/"):]
            if name in self.refs:
                return self.reply(200, {"ref": name, "object": {"sha": self.refs[name]}})
            return self.reply(404, {"message": "Not Found"})
        if self.path.startswith(base + "refs/"):
            prefix = "refs/" + self.path[len(base + "refs/"):]
            hits = [{"ref": k, "object": {"sha": v}} for k, v in self.refs.items() if k.startswith(prefix)]
            if prefix in self.refs:
                return self.reply(200, hits[0] if len(hits) == 1 else hits)
            return self.reply(200, hits) if hits else self.reply(404, {"message": "Not Found"})
        self.reply(404, {})

    def do_POST(self):
        b = self.body()
        FakeGit.log.append(("POST", self.path, b))
        if b["ref"] in self.refs:
            return self.reply(422, {"message": "Reference already exists"})
        self.refs[b["ref"]] = b["sha"]
        self.reply(201, {"ref": b["ref"], "object": {"sha": b["sha"]}})

    def do_PATCH(self):
        b = self.body()
        FakeGit.log.append(("PATCH", self.path, b))
        name = "refs/" + self.path.split("/git/refs/", 1)[1]
        if name not in self.refs:
            return self.reply(422, {"message": "Reference does not exist"})
        self.refs[name] = b["sha"]
        self.reply(200, {"ref": name, "object": {"sha": b["sha"]}})


def major_tag():
    srv, url = serve(FakeGit)
    env = dict(os.environ, GH_TOKEN="t", GITHUB_API_URL=url)
    old, new = "a" * 40, "b" * 40
    # v1 missing, v1.0.0 present: a plural lookup would find v1.0.0 and PATCH a v1 that does not exist.
    FakeGit.refs = {"refs/tags/v1.0.0": old}
    r = run(["bash", S / "move-major-tag.sh", "o/r", "1.0.0", old], env=env)
    check(r.returncode == 0 and FakeGit.refs.get("refs/tags/v1") == old, f"v1 is created when missing ({r.stderr.strip()})")
    check(("GET", "/repos/o/r/git/ref/tags/v1") in FakeGit.log, "the lookup is git/ref/tags/v1 (singular)")
    FakeGit.refs["refs/tags/v1.1.0"] = new
    r = run(["bash", S / "move-major-tag.sh", "o/r", "1.1.0", new], env=env)
    check(r.returncode == 0 and FakeGit.refs["refs/tags/v1"] == new, f"v1 moves to the new release ({r.stderr.strip()})")
    check(any(e[0] == "PATCH" and e[2].get("force") is True for e in FakeGit.log), "the move is a forced PATCH")
    check(FakeGit.refs["refs/tags/v1.0.0"] == old, "v1.0.0 itself is never touched")
    r = run(["bash", S / "move-major-tag.sh", "o/r", "2.0.0", "not-a-sha"], env=env)
    check(r.returncode != 0, "a bad sha is refused")
    # Before anything is built: a released version stops the run; v1 existing does not.
    r = run(["bash", S / "check-new-version.sh", "o/r", "1.1.0"], env=env)
    check(r.returncode != 0 and "released already" in r.stderr, "check-new-version.sh stops a re-release of 1.1.0")
    r = run(["bash", S / "check-new-version.sh", "o/r", "1.2.0"], env=env)
    check(r.returncode == 0, f"check-new-version.sh lets 1.2.0 through ({r.stderr.strip()})")
    r = run(["bash", S / "check-new-version.sh", "o/r", "1"], env=env)
    check(r.returncode != 0, "check-new-version.sh wants X.Y.Z")
    srv.shutdown()


class FakeRegistry(BaseHTTPRequestHandler):
    public = True

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.startswith("/token?"):
            if FakeRegistry.public:
                data = b'{"token":"anon"}'
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            else:
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
            return
        self.send_response(404)
        self.end_headers()

    def do_HEAD(self):
        ok = FakeRegistry.public and self.headers.get("Authorization") == "Bearer anon" and "/manifests/sha256:" in self.path
        self.send_response(200 if ok else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()


def public_image():
    srv, url = serve(FakeRegistry)
    env = dict(os.environ, REGISTRY_URL=url)
    digest = "sha256:" + "c" * 64
    FakeRegistry.public = True
    r = run(["bash", S / "check-public-image.sh", "ghcr.io/rollout-action/rollout", digest], env=env)
    check(r.returncode == 0, f"a public image passes ({r.stderr.strip()})")
    FakeRegistry.public = False
    r = run(["bash", S / "check-public-image.sh", "ghcr.io/rollout-action/rollout", digest], env=env)
    check(r.returncode != 0 and "https://github.com/orgs/rollout-action/packages/container/rollout/settings" in r.stderr,
          "a private image fails naming the package's settings page")
    srv.shutdown()


def workflow_uses_the_scripts():
    wf = (ROOT / ".github" / "workflows" / "release.yml").read_text()
    for script in ["scripts/release-tree.sh", "scripts/pin-image.sh", "scripts/check-public-image.sh",
                   "scripts/release-commit.sh", "scripts/move-major-tag.sh", "scripts/check-versions.py",
                   "scripts/check-new-version.sh"]:
        check(script in wf, f"release.yml runs {script}")
    check("workflow_dispatch" in wf and "git/refs/tags" not in wf, "release.yml is started by hand and reads no git/refs/ prefix")


def main():
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        tree = tree_and_pin(work)
        commit_once(work, tree)
    major_tag()
    public_image()
    workflow_uses_the_scripts()
    print(f"release scripts: {'FAILED: ' + '; '.join(failures) if failures else 'all passed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
