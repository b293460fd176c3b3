//! The line-based inputs (`environments`, `tasks`, `paths`) and the other parsed inputs: any text
//! gives inputs or one input error, and matching never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rollout::inputs::{Inputs, RawInputs};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for name in ["environments", "tasks", "paths", "timeout", "payload", "skip-commit-pattern", "required-contexts"] {
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
});
