//! `rollout plan` as users read it, whole, for each step (snapshots in `snapshots/`): what a config
//! check prints is reviewed as text, not by fragments. Commit hashes and temporary paths, which
//! change with every run, are redacted.

use crate::support::*;

/// `rollout plan` for a push to main with `inputs`, redacted.
fn planned(h: &Harness, name: &str, inputs: &[&str]) -> String {
    let (code, text) = plan(&h.file("event.json"), name, inputs, Some(&h.workspace));
    format!("exit {code}\n{text}")
}

fn redacted(f: impl FnOnce()) {
    insta::with_settings!({filters => vec![
        (r"\b[0-9a-f]{40}\b", "[sha]"),
        (r"\b[0-9a-f]{7,12}\b", "[short sha]"),
        (r"/tmp/\.tmp[A-Za-z0-9]+", "[tmp]"),
    ]}, {
        f();
    });
}

#[test]
fn the_plan_of_each_step_reads_whole() {
    let h = Harness::new();
    pushed(&h);
    let base = ["environments=main: production", "command=./deploy.sh"];
    redacted(|| {
        for step in ["deploy", "start", "finish", "deactivate", "plan"] {
            let mut inputs = base.to_vec();
            let step_input = format!("step={step}");
            inputs.push(&step_input);
            if matches!(step, "finish" | "deactivate") {
                inputs.push("deployment-id=42");
                inputs.push("status=success");
            }
            insta::assert_snapshot!(format!("plan_{step}"), planned(&h, "push", &inputs));
        }
        insta::assert_snapshot!(
            "plan_plan_targets",
            planned(
                &h,
                "push",
                &[
                    "environments=main: production",
                    "command=./deploy.sh",
                    "step=plan",
                    "targets=api: services/api/**\nweb: app/**\nworker: worker/**",
                ]
            )
        );
        insta::assert_snapshot!(
            "plan_unmapped",
            planned(&h, "push", &["environments=dev: staging", "command=true"])
        );
    });
}

#[test]
fn the_plan_of_a_preview_and_of_targets_reads_whole() {
    let h = Harness::new();
    let base = h.commit(&[("services/api/a.txt", "1\n")], "initial");
    let head = h.commit(&[("services/api/a.txt", "2\n")], "api change");
    h.event(
        "pull_request",
        &pr_payload("opened", 7, &head, "feature", &base, OWNER_REPO, "Feature"),
    );
    redacted(|| {
        insta::assert_snapshot!(
            "plan_preview",
            planned(
                &h,
                "pull_request",
                &["preview-environment=pr-{number}", "command=./deploy.sh"]
            )
        );
        insta::assert_snapshot!(
            "plan_preview_targets",
            planned(
                &h,
                "pull_request",
                &[
                    "preview-environment=pr-{number}",
                    "command=./deploy.sh",
                    "targets=api: services/api/**\nweb: services/web/**",
                ]
            )
        );
    });
}
