//! `rollout plan`: what a run would do and why, from the event file, the inputs and the local
//! git repository alone. No API call and no token: what needs the API, the text names.

use super::{find_changes, Api};
use crate::event::Event;
use crate::inputs::{Inputs, Step};
use crate::plan::{self, Changes, Destination, Plan};
use crate::report;
use crate::verify;
use std::path::Path;

/// The plan as text, exactly as `rollout plan` prints it.
pub async fn plan_text(
    event: &Event,
    inputs: &Inputs,
    workspace: &Path,
    now: jiff::Timestamp,
) -> String {
    // `finish` and `deactivate` decide nothing about the event's change: they say what they
    // would write, and only that.
    if let Err(refused) = plan::refuse_fork_event(event, inputs.step) {
        return format!("refused (exit 2): {refused}\n");
    }
    if let Some(text) = report::own_step_plan(event, inputs) {
        return text;
    }
    let dest = match plan::destination(event, inputs) {
        Ok(dest) => dest,
        Err(skip) => return report::plan_text(&Plan::Skip(skip), None, &[]),
    };
    if inputs.step == Step::Rollback {
        return crate::rollback::plan_text(dest.target(), inputs, now);
    }
    if inputs.step == Step::Promote {
        return crate::promotion::plan_text(dest.target(), inputs, now);
    }
    // Changes from local git only; what needs the API, the plan names. A closed pull request
    // tears down whatever changed.
    let changes = match &dest {
        Destination::Teardown(_) => None,
        Destination::Deploy(target) => {
            Some(find_changes(event, inputs, workspace, &target.environment, Api::Plan).await)
        }
    };
    let unknown = Changes::Everything {
        reason: "the pull request closed".into(),
    };
    let plans = plan::plans(
        &dest,
        event,
        inputs,
        changes.as_ref().unwrap_or(&unknown),
        now,
    );
    let deploys = !dest.is_teardown();
    let mut notes = Vec::new();
    let with_targets = !inputs.targets.is_empty();
    if inputs.supersede && inputs.step != Step::Plan && deploys {
        let whose = if with_targets {
            "each target's environment"
        } else {
            "the environment"
        };
        if with_targets || has_deploy(&plans) {
            notes.push(format!("older in-progress deployments of {whose} would be marked inactive (`supersede`); which ones needs the API"));
        }
    }
    if deploys && inputs.step != Step::Plan && (with_targets || has_deploy(&plans)) {
        let whose = if with_targets {
            "a target's environment or on the environment its branch maps to would block that target"
        } else {
            "the environment would block it"
        };
        notes.push(format!(
            "a lock on {whose}; whether one is held needs the API (it is read beside the create)"
        ));
    }
    notes.extend(preview_notes(&dest, inputs));
    if deploys && matches!(inputs.step, Step::Deploy | Step::Start) {
        for planned in &plans.each {
            if let plan::Decision::Plan(Plan::Deploy(d)) = &planned.decision {
                notes.extend(crate::promotion::requires_note(inputs, &d.target));
            }
        }
    }
    if with_targets {
        let mut text = report::targets_plan_text(&plans, changes.as_ref(), &notes);
        if deploys {
            // `step: plan` exists for its `targets` output: the matrix a later job runs, which
            // leaves out what a freeze window blocks, as the step does.
            let (names, frozen) = deploying_and_frozen(&plans);
            text.push_str(&report::step_lines(inputs, Some(&names)));
            if inputs.step == Step::Plan && names.is_empty() && !frozen.is_empty() {
                text.push_str(&format!(
                    "  the step would end `blocked` (exit 1): every target that would deploy is frozen ({})\n",
                    frozen.join(", ")
                ));
            }
            text.push_str(&verify::plan_lines(&inputs.verify, inputs.step, false));
        }
        return text;
    }
    let Some(plan::Planned {
        decision: plan::Decision::Plan(the_plan),
        ..
    }) = plans.each.first()
    else {
        return String::new();
    };
    let mut text = report::plan_text(the_plan, changes.as_ref(), &notes);
    if let Plan::Deploy(deploy) = the_plan {
        text.push_str(&report::step_lines(inputs, None));
        let preview = deploy.target.pr_number.is_some();
        text.push_str(&verify::plan_lines(&inputs.verify, inputs.step, preview));
    }
    text
}

/// The targets that would deploy, and those a freeze window blocks.
fn deploying_and_frozen(plans: &plan::Plans) -> (Vec<&str>, Vec<&str>) {
    let (mut deploying, mut frozen) = (Vec::new(), Vec::new());
    for planned in &plans.each {
        let name = planned.name.as_deref().unwrap_or_default();
        match &planned.decision {
            plan::Decision::Plan(Plan::Deploy(_)) => deploying.push(name),
            plan::Decision::Plan(Plan::Skip(skip)) if skip.kind == plan::SkipKind::Blocked => {
                frozen.push(name)
            }
            _ => {}
        }
    }
    (deploying, frozen)
}

/// Whether the one plan of a run without `targets` deploys.
fn has_deploy(plans: &plan::Plans) -> bool {
    plans
        .each
        .iter()
        .any(|p| matches!(p.decision, plan::Decision::Plan(Plan::Deploy(_))))
}

/// What a pull request's run writes besides its deployment: the sticky comment, and on close the
/// `teardown-command` it runs.
fn preview_notes(dest: &Destination, inputs: &Inputs) -> Vec<String> {
    let target = dest.target();
    let Some(number) = target.pr_number else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    if dest.is_teardown() {
        match &inputs.teardown_command {
            Some(command) => notes.push(format!(
                "teardown-command would run first: {}",
                command.trim()
            )),
            None => notes.push(
                "no `teardown-command` is set: the preview's deployments are only marked inactive"
                    .to_string(),
            ),
        }
    }
    if inputs.comment.unwrap_or(true) && inputs.step != Step::Plan {
        notes.push(format!(
            "the sticky comment on pull request #{number} would be {} (`comment`)",
            if dest.is_teardown() {
                "updated to say the preview is gone"
            } else {
                "created or updated with the preview's status and link"
            }
        ));
    }
    notes
}
