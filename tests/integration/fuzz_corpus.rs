//! Replays the fuzz corpora and the crashes the fuzzers found (fuzz/) through the fuzz targets'
//! own harness, on the stable toolchain: a regression test for every input the fuzzers kept.

#[path = "../../fuzz/harness.rs"]
mod harness;

use std::path::Path;

fn inputs_of(target: &str) -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["fuzz/corpus", "fuzz/regressions"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir).join(target);
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.flatten() {
            if let Ok(text) = std::fs::read(entry.path()).map(String::from_utf8) {
                out.extend(text.ok());
            }
        }
    }
    out
}

#[test]
fn event_corpus() {
    let inputs = inputs_of("event");
    assert!(inputs.len() > 100, "the corpus is in the repository");
    inputs.iter().for_each(|t| harness::event(t));
}

#[test]
fn line_inputs_corpus() {
    let inputs = inputs_of("line_inputs");
    assert!(inputs.len() > 100);
    inputs.iter().for_each(|t| harness::line_inputs(t));
}

#[test]
fn template_corpus() {
    let inputs = inputs_of("template");
    assert!(
        inputs.iter().any(|t| t.is_empty()),
        "the empty-input crash is kept"
    );
    inputs.iter().for_each(|t| harness::template(t));
}
