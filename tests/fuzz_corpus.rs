//! Replays the fuzz corpora and the crashes the fuzzers found (fuzz/) through the same code as the
//! fuzz targets, on the stable toolchain: a regression test for every input the fuzzers kept.

use rollout::event::{parse, RunnerRefs};
use rollout::inputs::{Inputs, RawInputs};
use rollout::text::{safe_name, Description, Template, TemplateVars};
use std::path::Path;

fn inputs_of(target: &str) -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["fuzz/corpus", "fuzz/regressions"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Ok(bytes) = std::fs::read(entry.path()) {
                if let Ok(text) = String::from_utf8(bytes) {
                    out.push(text);
                }
            }
        }
    }
    out
}

#[test]
fn event_corpus() {
    let inputs = inputs_of("event");
    assert!(!inputs.is_empty(), "the corpus is in the repository");
    let runner = RunnerRefs {
        sha: Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246".into()),
        git_ref: Some("refs/heads/main".into()),
        repository: Some("octo/app".into()),
    };
    for text in &inputs {
        for name in [
            "push",
            "workflow_dispatch",
            "workflow_run",
            "pull_request",
            "pull_request_target",
            "release",
        ] {
            if let Ok(event) = parse(name, text, &runner) {
                let _ = rollout::changes::event_basis(&event);
            }
        }
    }
}

#[test]
fn line_inputs_corpus() {
    let inputs = inputs_of("line_inputs");
    assert!(!inputs.is_empty());
    for text in &inputs {
        for name in [
            "environments",
            "tasks",
            "paths",
            "timeout",
            "payload",
            "skip-commit-pattern",
        ] {
            let mut raw = RawInputs::default();
            raw.set("command", "true");
            raw.set(name, text.as_str());
            if let Ok(inputs) = Inputs::parse(&raw) {
                for rule in &inputs.environments {
                    let _ = rule.matches(text, Some(text));
                }
                let _ = inputs.tasks.select(text.lines());
                if let Some(paths) = &inputs.paths {
                    let _ = paths.matches(text);
                }
            }
        }
    }
}

#[test]
fn template_corpus() {
    let inputs = inputs_of("template");
    assert!(
        inputs.iter().any(|t| t.is_empty()),
        "the empty-input crash is kept"
    );
    for text in &inputs {
        let (template, value) = text.split_once('|').unwrap_or((text, "main"));
        let vars = TemplateVars {
            environment: value,
            branch: value,
            sha: value,
            number: Some(7),
        };
        let _ = Template::new(template).render(&vars);
        let name = safe_name(text);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{name:?}"
        );
        assert!(!name.is_empty() && name.len() <= 255);
        assert!(Description::new(text).as_str().chars().count() <= Description::MAX_CHARS);
    }
}
