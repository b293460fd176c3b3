//! The workflows the README and docs/ show are the example files, byte for byte: the real-runner
//! test (tests/runner/run.py) runs every file in examples/workflows under act, so a snippet that is
//! not a file there is a snippet nothing runs. The README's first workflow, on its first screen, is
//! examples/workflows/quickstart.yml. (A docs/ workflow that is not an example, such as the "before"
//! of docs/migrating.md, is checked by actionlint instead: scripts/check-docs.py, run by .ci/run.)

use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fenced ```yaml block that is a workflow (has an `on:` key): its text, the line its fence
/// opens on (1-based), and the last non-empty line before the fence.
#[derive(Debug, PartialEq)]
struct Block {
    text: String,
    line: usize,
    before: String,
}

fn workflow_blocks(markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String, Vec<&str>)> = None;
    let mut last_text = String::new();
    for (i, line) in markdown.lines().enumerate() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some((i + 1, last_text.clone(), Vec::new())),
            (Some((start, before, lines)), "```") => {
                let text = lines.join("\n") + "\n";
                if text.lines().any(|l| l == "on:" || l.starts_with("on: ")) {
                    blocks.push(Block {
                        text,
                        line: *start,
                        before: before.clone(),
                    });
                }
                current = None;
            }
            (Some((_, _, lines)), _) => lines.push(line),
            (None, l) if !l.trim().is_empty() => last_text = l.to_string(),
            (None, _) => {}
        }
    }
    blocks
}

/// The example a block says it shows: the line before it ends with "`examples/workflows/NAME.yml`:",
/// or names it last in parentheses ("(`examples/workflows/NAME.yml`, on `ubuntu-slim`):").
fn example_named(before: &str) -> Option<String> {
    let rest = before.strip_suffix(':')?;
    let rest = rest.strip_suffix(')').map_or(rest, |r| {
        r.rsplit_once('(')
            .map_or(r, |(_, inside)| inside.split(", ").next().unwrap_or(inside))
    });
    let name = rest
        .trim_end()
        .strip_suffix('`')?
        .rsplit_once("`examples/workflows/")?
        .1;
    (name.ends_with(".yml") && !name.contains('`')).then(|| name.to_string())
}

fn examples() -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(root().join("examples/workflows")).expect("examples/workflows") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "yml") {
            out.push(std::fs::read_to_string(&path).expect("an example workflow"));
        }
    }
    out
}

fn docs_pages() -> Vec<PathBuf> {
    let mut pages: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    pages
}

#[test]
fn every_readme_workflow_is_an_example_file() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let examples = examples();
    let blocks = workflow_blocks(&readme);
    assert!(!blocks.is_empty(), "the README shows no workflow");
    for block in blocks {
        assert!(
            examples.contains(&block.text),
            "this README workflow is not a file of examples/workflows (copy it there, or the README from there):\n{}",
            block.text
        );
    }
}

#[test]
fn the_first_screen_shows_the_quickstart_example_whole() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let quickstart = std::fs::read_to_string(root().join("examples/workflows/quickstart.yml"))
        .expect("examples/workflows/quickstart.yml");
    let first = workflow_blocks(&readme)
        .into_iter()
        .next()
        .expect("the README shows a workflow");
    assert_eq!(
        first.text, quickstart,
        "the README's first workflow is not examples/workflows/quickstart.yml (copy one to the other)"
    );
    let closes = first.line + quickstart.lines().count() + 1;
    assert!(
        closes <= 60,
        "the first workflow ends on line {closes} of README.md, past the first screen (60 lines)"
    );
    let first_screen: String = readme.lines().take(60).collect::<Vec<_>>().join("\n");
    for must in [
        "concurrency:",
        "permissions:",
        "rollout-action/rollout/host@v1",
        "rollout-action/rollout@v1",
        "docs/security.md",
    ] {
        assert!(
            first_screen.contains(must),
            "the README's first 60 lines do not show {must}"
        );
    }
    let lines = readme.lines().count();
    assert!(lines <= 350, "README.md has {lines} lines, more than 350");
}

#[test]
fn a_docs_workflow_that_names_its_example_is_that_example() {
    let pages = docs_pages();
    assert!(pages.len() > 5, "docs/ holds its pages");
    let mut shown = 0;
    for page in pages {
        let text = std::fs::read_to_string(&page).expect("a docs page");
        for block in workflow_blocks(&text) {
            let Some(name) = example_named(&block.before) else {
                continue;
            };
            let path = root().join("examples/workflows").join(&name);
            let example = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{} names {name}: {e}", page.display()));
            assert!(
                block.text == example,
                "{}:{}: the workflow shown as examples/workflows/{name} is not that file (copy one to the other)",
                page.display(),
                block.line
            );
            shown += 1;
        }
    }
    assert!(shown >= 5, "docs/ shows only {shown} example files");
}

#[test]
fn blocks_are_found_and_compared_whole() {
    let md = "text\n`examples/workflows/a.yml`:\n\n```yaml\nname: a\non: push\n```\n```yaml\nkey: not a workflow\n```\n";
    assert_eq!(
        workflow_blocks(md),
        vec![Block {
            text: "name: a\non: push\n".to_string(),
            line: 4,
            before: "`examples/workflows/a.yml`:".to_string()
        }]
    );
    assert_eq!(
        example_named("`examples/workflows/a.yml`:").as_deref(),
        Some("a.yml")
    );
    assert_eq!(
        example_named("The host form (`examples/workflows/windmill.yml`, on `ubuntu-slim`):")
            .as_deref(),
        Some("windmill.yml")
    );
    assert_eq!(
        example_named("the deploy is `examples/workflows/deploy.yml`'s):"),
        None
    );
    assert_eq!(example_named("a freeze window:"), None);
}

/// Whether an example deploys (runs a command, or opens or rolls back a deployment), and whether it
/// has a `concurrency:` key (a comment naming it does not count).
fn deploys_and_queues(workflow: &str) -> (bool, bool) {
    let keys: Vec<&str> = workflow
        .lines()
        .map(str::trim_start)
        .filter(|l| !l.starts_with('#'))
        .collect();
    let deploys = keys
        .iter()
        .any(|l| l.starts_with("command:") || *l == "step: start" || *l == "step: rollback");
    let queues = keys.iter().any(|l| l.starts_with("concurrency:"));
    (deploys, queues)
}

#[test]
fn every_example_that_deploys_has_concurrency() {
    let mut deploying = 0;
    for entry in std::fs::read_dir(root().join("examples/workflows")).expect("examples/workflows") {
        let path = entry.expect("a directory entry").path();
        let text = std::fs::read_to_string(&path).expect("an example workflow");
        let (deploys, queues) = deploys_and_queues(&text);
        if deploys {
            deploying += 1;
            assert!(
                queues,
                "{} deploys without `concurrency:` (two runs of it could interleave)",
                path.display()
            );
        }
    }
    assert!(deploying >= 8, "only {deploying} examples deploy");
    assert_eq!(
        deploys_and_queues("on: push\n# concurrency: none\njobs:\n  a:\n    steps:\n      - with:\n          command: x\n"),
        (true, false)
    );
    assert_eq!(
        deploys_and_queues("on: push\nconcurrency:\n  group: g\njobs: {}\n"),
        (false, true)
    );
}

/// The page an error message links to (exit 127 in the container form) has the heading its anchor
/// names: a docs page moved or a heading renamed breaks the link every such error prints.
#[test]
fn the_link_an_error_prints_names_a_heading_of_its_page() {
    let url = rollout::command::WHERE_THE_COMMAND_RUNS;
    let rest = url
        .strip_prefix("https://github.com/rollout-action/rollout/blob/main/")
        .expect("a link into this repository's main branch");
    let (path, anchor) = rest.split_once('#').expect("a link with an anchor");
    let page = std::fs::read_to_string(root().join(path))
        .unwrap_or_else(|e| panic!("{url} names {path}: {e}"));
    let anchors: Vec<String> = page
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| {
            h.to_lowercase()
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == ' ' || *c == '-')
                .collect::<String>()
                .replace(' ', "-")
        })
        .collect();
    assert!(
        anchors.iter().any(|a| a == anchor),
        "{path} has no `##` heading whose anchor is #{anchor}: {anchors:?}"
    );
}
