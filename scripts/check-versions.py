#!/usr/bin/env python3
"""Holds the one version (Cargo.toml's) and everything that names it to one another:
  Cargo.lock                 the rollout package at that version
  action.yml                 image: docker://IMAGE:vX.Y.Z on main (a release tree's names a digest)
  README.md, docs/*.md, examples/, host/launcher.js, tests/runner/workflows/
                             every `rollout-action/rollout[/host]@vN` is @vMAJOR (a pin by
                             commit, @<40 hex> or the placeholder @<that sha>, is not a version)
  .github/workflows/release.yml
                             pushes IMAGE (its IMAGE: line is action.yml's) and runs this script
                             with its `version` input
Usage: scripts/check-versions.py [--release VERSION] [--self-test]
  --release VERSION  also fails unless VERSION (the release workflow's input) is Cargo.toml's
  --self-test        checks that a mismatch of each kind is caught, on copies in a temporary folder
"""

import re
import shutil
import sys
import tempfile
from pathlib import Path
from checking import conclude

ROOT = Path(__file__).resolve().parents[1]
USES = re.compile(r"(?<![\w./-])rollout-action/rollout(?:/host)?@([^\s`'\"\\)=]+)")
PIN = re.compile(r"[0-9a-f]{40}|<[^>]*")


def cargo_version(root):
    text = (root / "Cargo.toml").read_text()
    package = text.split("[package]", 1)[1].split("\n[", 1)[0]
    m = re.search(r'^version\s*=\s*"([^"]+)"', package, re.M)
    return m.group(1) if m else None


def problems(root, release=None):
    out = []
    version = cargo_version(root)
    if not version or not re.fullmatch(r"\d+\.\d+\.\d+", version):
        return [f"Cargo.toml: [package] version {version!r} is not X.Y.Z"]
    major = "v" + version.split(".")[0]
    if release is not None and release.removeprefix("v") != version:
        out.append(f"the release's version {release!r} is not Cargo.toml's {version}")
    lock = (root / "Cargo.lock").read_text()
    m = re.search(r'\[\[package\]\]\nname = "rollout"\nversion = "([^"]+)"', lock)
    if not m or m.group(1) != version:
        out.append(f"Cargo.lock: rollout {m.group(1) if m else 'missing'}, Cargo.toml says {version}")
    action = (root / "action.yml").read_text()
    images = re.findall(r"^\s*image:\s*docker://(\S+)$", action, re.M)
    image = None
    if len(images) != 1:
        out.append(f"action.yml: {len(images)} `image: docker://` lines, expected 1")
    else:
        image, _, tag = images[0].partition(":")
        if tag != f"v{version}":
            out.append(f"action.yml: image tag {tag!r}, Cargo.toml's version is {version} (want v{version})")
    files = [root / "README.md", root / "host" / "launcher.js"] + sorted((root / "docs").glob("*.md"))
    for folder in ["examples/workflows", "tests/runner/workflows"]:
        files += sorted((root / folder).glob("*.yml"))
    for f in files:
        for n, line in enumerate(f.read_text().splitlines(), 1):
            for ref in USES.findall(line):
                if ref != major and not PIN.fullmatch(ref):
                    out.append(f"{f.relative_to(root)}:{n}: @{ref}, the current major is @{major}")
    wf = (root / ".github" / "workflows" / "release.yml").read_text()
    m = re.search(r"^\s*IMAGE:\s*(\S+)\s*$", wf, re.M)
    if not m or m.group(1) != image:
        out.append(f"release.yml: IMAGE {m.group(1) if m else 'missing'}, action.yml's image is {image}")
    if "scripts/check-versions.py --release" not in wf:
        out.append("release.yml does not run scripts/check-versions.py --release with its version input")
    return out


def self_test():
    def mutate(name, old, new):
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            for rel in ["Cargo.toml", "Cargo.lock", "action.yml", "README.md", "host/launcher.js",
                        ".github/workflows/release.yml"]:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(ROOT / rel, root / rel)
            for folder in ["examples/workflows", "tests/runner/workflows", "docs"]:
                shutil.copytree(ROOT / folder, root / folder)
            assert not problems(root), problems(root)
            p = root / name
            text = p.read_text()
            assert old in text, f"self-test: {old!r} not in {name}"
            p.write_text(text.replace(old, new, 1))
            found = problems(root)
            print(f"{'ok' if found else 'FAIL'}: {name} with {new!r} -> {found[:1]}")
            return bool(found)

    version = cargo_version(ROOT)
    major = version.split(".")[0]
    results = [
        mutate("Cargo.toml", f'version = "{version}"', 'version = "9.9.9"'),
        mutate("action.yml", f":v{version}", ":v0.0.1"),
        mutate("README.md", f"rollout-action/rollout@v{major}", "rollout-action/rollout@v0"),
        mutate("examples/workflows/deploy.yml", f"rollout-action/rollout@v{major}", "rollout-action/rollout@main"),
        mutate("docs/forms.md", f"rollout-action/rollout/host@v{major}", "rollout-action/rollout/host@v0"),
        mutate(".github/workflows/release.yml", "IMAGE: ghcr.io/", "IMAGE: ghcr.io/someone-"),
    ]
    with tempfile.TemporaryDirectory():
        wrong = problems(ROOT, release="0.0.1")
        print(f"{'ok' if wrong else 'FAIL'}: --release 0.0.1 -> {wrong[:1]}")
        results.append(bool(wrong))
    return all(results)


def main(argv):
    release = None
    if "--release" in argv:
        release = argv[argv.index("--release") + 1]
    if "--self-test" in argv and not self_test():
        print("check-versions: a mismatch went unnoticed", file=sys.stderr)
        return 1
    return conclude("check-versions", problems(ROOT, release),
                    f"{cargo_version(ROOT)} everywhere"
                    + (f"; the release input {release} matches" if release else ""))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
