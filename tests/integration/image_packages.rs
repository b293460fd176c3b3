//! The packages rollout's image carries are listed twice: in the Dockerfile's `apt-get install`
//! (the image itself, built here by tests/container/image.sh as written) and in image.sh's
//! PACKAGES, which the real-runner test's job image gets from debootstrap. The two lists must agree.

use std::collections::BTreeSet;
use std::path::Path;

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The packages after `apt-get install` in the Dockerfile's last stage, options dropped.
fn dockerfile_packages(text: &str) -> BTreeSet<String> {
    let last_stage = text.rsplit("\nFROM ").next().unwrap_or(text);
    let joined = last_stage.replace("\\\n", " ");
    let install = joined
        .lines()
        .find_map(|l| {
            l.split_once("apt-get install")
                .map(|(_, rest)| rest.to_string())
        })
        .expect("the Dockerfile's final stage runs apt-get install");
    install
        .split("&&")
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .filter(|w| !w.starts_with('-'))
        .map(str::to_string)
        .collect()
}

/// The `PACKAGES="..."` list of tests/container/image.sh.
fn image_script_packages(text: &str) -> BTreeSet<String> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("PACKAGES=\""))
        .expect("tests/container/image.sh sets PACKAGES=\"...\"");
    line.trim_end_matches('"')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_dockerfile_and_the_test_image_carry_the_same_packages() {
    let docker = dockerfile_packages(&read("Dockerfile"));
    let script = image_script_packages(&read("tests/container/image.sh"));
    assert_eq!(
        docker, script,
        "Dockerfile (left) and tests/container/image.sh (right) list different packages"
    );
    for tool in [
        "bash",
        "ca-certificates",
        "curl",
        "git",
        "jq",
        "openssh-client",
    ] {
        assert!(
            docker.contains(tool),
            "the image lacks {tool}, which CONTRACT.md promises"
        );
    }
}

#[test]
fn the_parsers_see_a_difference() {
    let docker = dockerfile_packages(
        "FROM a AS b\nRUN apt-get install x\nFROM c\nRUN apt-get update \\\n    && apt-get install -y --no-install-recommends git jq \\\n    && rm -rf x\n",
    );
    assert_eq!(
        docker,
        BTreeSet::from(["git".to_string(), "jq".to_string()])
    );
    let script = image_script_packages("x\nPACKAGES=\"git curl\"\n");
    assert_ne!(docker, script);
}
