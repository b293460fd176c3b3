//! What each fuzz target does with one input; shared by the cargo-fuzz targets and by
//! tests/fuzz_corpus.rs, which replays the kept corpus on the stable toolchain.

use rollout::event::{parse, RunnerRefs};
use rollout::inputs::{Inputs, RawInputs};
use rollout::text::{safe_name, Description, Template, TemplateVars};

/// The event parser, for every event name rollout handles: an event or an error, never a panic.
pub fn event(text: &str) {
    let runner = RunnerRefs {
        sha: Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246".into()),
        git_ref: Some("refs/heads/main".into()),
        repository: Some("octo/app".into()),
    };
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

/// The line-based and other parsed inputs: inputs or one input error, and matching never panics.
pub fn line_inputs(text: &str) {
    for name in [
        "environments",
        "tasks",
        "paths",
        "timeout",
        "payload",
        "skip-commit-pattern",
        "required-contexts",
    ] {
        let mut raw = RawInputs::default();
        raw.set("command", "true");
        raw.set(name, text);
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

/// The template renderer and the name sanitiser: a safe name is always safe and never empty, a
/// description always fits.
pub fn template(text: &str) {
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
    assert!(!name.is_empty() && name.len() <= 255, "{name:?}");
    assert!(Description::new(text).as_str().chars().count() <= Description::MAX_CHARS);
}
