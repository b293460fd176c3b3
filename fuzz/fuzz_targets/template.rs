//! The template renderer and the name sanitiser: never a panic, never an evaluated value, and a
//! safe name is always safe.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rollout::text::{safe_name, Description, Template, TemplateVars};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (template, value) = text.split_once('|').unwrap_or((text, "main"));
    let vars = TemplateVars { environment: value, branch: value, sha: value, number: Some(7) };
    let _ = Template::new(template).render(&vars);
    let name = safe_name(text);
    assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)), "{name:?}");
    assert!(name.len() <= 255);
    assert!(!name.is_empty());
    let d = Description::new(text);
    assert!(d.as_str().chars().count() <= Description::MAX_CHARS);
});
