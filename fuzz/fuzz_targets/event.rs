//! The event parser, for every event name rollout handles: any bytes give an event or an error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rollout::event::{parse, RunnerRefs};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let runner = RunnerRefs {
        sha: Some("6113728f27ae82c7b1a177c8d03f9e96e0adf246".into()),
        git_ref: Some("refs/heads/main".into()),
        repository: Some("octo/app".into()),
    };
    for name in ["push", "workflow_dispatch", "workflow_run", "pull_request", "pull_request_target", "release"] {
        if let Ok(event) = parse(name, text, &runner) {
            let _ = rollout::changes::event_basis(&event);
        }
    }
});
