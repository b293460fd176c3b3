//! The workflows the README shows are the example files, byte for byte: the real-runner test
//! (tests/runner/run.py) runs every file in examples/workflows under act, so a snippet that is not
//! a file there is a snippet nothing runs.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every fenced ```yaml block of a Markdown text that is a workflow (has an `on:` key).
fn workflow_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(Vec::new()),
            (Some(lines), "```") => {
                let block = lines.join("\n") + "\n";
                if block.lines().any(|l| l == "on:" || l.starts_with("on: ")) {
                    blocks.push(block);
                }
                current = None;
            }
            (Some(lines), _) => lines.push(line),
            (None, _) => {}
        }
    }
    blocks
}

#[test]
fn every_readme_workflow_is_an_example_file() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut examples = Vec::new();
    for entry in std::fs::read_dir(root().join("examples/workflows")).expect("examples/workflows") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "yml") {
            examples.push(std::fs::read_to_string(&path).expect("an example workflow"));
        }
    }
    let blocks = workflow_blocks(&readme);
    assert!(!blocks.is_empty(), "the README shows no workflow");
    for block in blocks {
        assert!(
            examples.contains(&block),
            "this README workflow is not a file of examples/workflows (copy it there, or the README from there):\n{block}"
        );
    }
}

#[test]
fn blocks_are_found_and_compared_whole() {
    let md = "text\n```yaml\nname: a\non: push\n```\n```yaml\nkey: not a workflow\n```\n";
    assert_eq!(workflow_blocks(md), vec!["name: a\non: push\n".to_string()]);
}
