//! One list of inputs: action.yml's `inputs:`, the inputs the code reads (`inputs::KNOWN`), and the
//! first column of docs/reference.md's "## Inputs" table (written from action.yml by
//! scripts/reference.py, whose `--check` holds the rest of the page to action.yml). A runner only
//! warns about an input the action does not declare, so a drift between the three shows nowhere else.

use std::collections::BTreeSet;
use std::path::Path;

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The keys under the top-level `inputs:` of action.yml: the lines indented by exactly two spaces
/// that end the key with a colon, until the next top-level key.
fn action_inputs(yaml: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut inside = false;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            inside = line.trim_end() == "inputs:";
            continue;
        }
        let Some(rest) = line.strip_prefix("  ") else {
            continue;
        };
        if inside && !rest.starts_with([' ', '#']) {
            if let Some((key, _)) = rest.split_once(':') {
                names.insert(key.trim().trim_matches(['"', '\'']).to_string());
            }
        }
    }
    names
}

/// The names in backticks in the first column of the table under "## Inputs" (a row may name
/// two: "| `production`, `transient` | ...").
fn reference_inputs(reference: &str) -> BTreeSet<String> {
    let section = reference
        .split("\n## ")
        .find(|s| s.starts_with("Inputs\n"))
        .expect("docs/reference.md has a \"## Inputs\" section");
    let mut names = BTreeSet::new();
    for line in section.lines().filter(|l| l.starts_with('|')) {
        let first = line.trim_start_matches('|').split('|').next().unwrap_or("");
        if first.trim() == "input" || first.trim().starts_with("---") {
            continue;
        }
        names.extend(
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .filter(|n| !n.is_empty()),
        );
    }
    names
}

fn differences(lists: &[(&str, &BTreeSet<String>)]) -> Vec<String> {
    let all: BTreeSet<&String> = lists.iter().flat_map(|(_, l)| l.iter()).collect();
    let mut out = Vec::new();
    for name in all {
        let missing: Vec<&str> = lists
            .iter()
            .filter(|(_, l)| !l.contains(name))
            .map(|(where_, _)| *where_)
            .collect();
        if !missing.is_empty() {
            out.push(format!(
                "`{name}` is missing from {}",
                missing.join(" and ")
            ));
        }
    }
    out
}

#[test]
fn action_yml_the_code_and_the_reference_name_the_same_inputs() {
    let action = action_inputs(&read("action.yml"));
    let code: BTreeSet<String> = rollout::inputs::KNOWN
        .iter()
        .map(|s| s.to_string())
        .collect();
    let reference = reference_inputs(&read("docs/reference.md"));
    assert!(action.contains("token") && reference.contains("transient"));
    let diff = differences(&[
        ("action.yml", &action),
        ("inputs::KNOWN", &code),
        ("docs/reference.md's inputs table", &reference),
    ]);
    assert!(
        diff.is_empty(),
        "the input lists differ:\n{}",
        diff.join("\n")
    );
}

#[test]
fn the_comparison_sees_a_drift() {
    let yaml = "name: x\ninputs:\n  token:\n    description: t\n  dry-run:\n    default: \"false\"\noutputs:\n  status:\n    description: s\n";
    assert_eq!(
        action_inputs(yaml),
        BTreeSet::from(["token".to_string(), "dry-run".to_string()])
    );
    let reference = "# Inputs and outputs\n\n## Inputs\n\n| input | default | meaning |\n|---|---|---|\n| `token` | `${{ github.token }}` | t |\n| `production`, `transient` | x | `true` |\n\n## Outputs\n| `status` | x |\n";
    assert_eq!(
        reference_inputs(reference),
        BTreeSet::from([
            "token".to_string(),
            "production".to_string(),
            "transient".to_string()
        ])
    );
    let a = BTreeSet::from(["token".to_string(), "dry-run".to_string()]);
    let b = BTreeSet::from(["token".to_string()]);
    assert_eq!(
        differences(&[("action.yml", &a), ("docs/reference.md", &b)]),
        vec!["`dry-run` is missing from docs/reference.md".to_string()]
    );
}

/// The text of a top-level section of action.yml (`inputs:`, `outputs:`): its lines until the
/// next top-level key.
fn section<'a>(yaml: &'a str, key: &str) -> Vec<&'a str> {
    let mut lines = Vec::new();
    let mut inside = false;
    for line in yaml.lines() {
        if !line.starts_with(' ') && !line.trim().is_empty() {
            inside = line.trim_end() == format!("{key}:");
            continue;
        }
        if inside {
            lines.push(line);
        }
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    lines
}

/// The host form (host/action.yml) takes the same inputs and sets the same outputs as the
/// container form, text for text (names, defaults, descriptions): one list in two files.
#[test]
fn the_host_form_declares_the_same_inputs_and_outputs_as_the_container_form() {
    let container = read("action.yml");
    let host = read("host/action.yml");
    assert!(
        host.contains("using: node24"),
        "host/action.yml is the JavaScript action"
    );
    let code: BTreeSet<String> = rollout::inputs::KNOWN
        .iter()
        .map(|s| s.to_string())
        .collect();
    let diff = differences(&[
        ("host/action.yml", &action_inputs(&host)),
        ("inputs::KNOWN", &code),
    ]);
    assert!(
        diff.is_empty(),
        "the input lists differ:\n{}",
        diff.join("\n")
    );
    for key in ["inputs", "outputs"] {
        let (c, h) = (section(&container, key), section(&host, key));
        assert!(c.len() > 10, "action.yml has an `{key}:` section");
        let first = c.iter().zip(&h).position(|(a, b)| a != b);
        assert!(
            c == h,
            "the `{key}:` sections of action.yml and host/action.yml differ (copy the section from action.yml); first difference at its line {}: {:?} vs {:?}",
            first.unwrap_or(c.len().min(h.len())) + 1,
            first.map(|i| c[i]).or(c.get(h.len()).copied()),
            first.map(|i| h[i]).or(h.get(c.len()).copied()),
        );
    }
}

#[test]
fn a_changed_default_in_one_form_is_a_difference() {
    let a = "name: a\ninputs:\n  since:\n    default: event\noutputs:\n  status:\n    description: s\nruns:\n  using: docker\n";
    let b = a.replace("default: event", "default: last-deployment");
    assert_eq!(section(a, "inputs"), vec!["  since:", "    default: event"]);
    assert_ne!(section(a, "inputs"), section(&b, "inputs"));
    assert_eq!(section(a, "outputs"), section(&b, "outputs"));
}
