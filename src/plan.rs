//! The pure core: `(Event, Inputs, Changes) -> Plan`. No I/O happens here; every rule of what to
//! deploy, where, and why not, lives in this file, and every decision is a sentence in the plan
//! that the log, the summary, the PR comment and `rollout plan` all print the same way.

pub use crate::changes::Changes;
use crate::event::{Event, GitRef, PullRequestKind, Sha, Trigger};
use crate::inputs::Inputs;
use crate::text::Untrusted;
use crate::text::{safe_name, Description, TemplateVars};

/// Pull request actions that (re)deploy a preview.
const PREVIEW_ACTIONS: &[&str] = &["opened", "reopened", "synchronize", "ready_for_review"];

/// Where a deployment goes and what it deploys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub environment: String,
    /// The exact commit; sent as the deployment `ref` (a branch name may have moved since).
    pub sha: Sha,
    /// The branch or tag ref people read, when there is one.
    pub git_ref: Option<GitRef>,
    pub pr_number: Option<u64>,
    /// `None`: let the API decide (true only for an environment named `production`).
    pub production: Option<bool>,
    pub transient: bool,
    /// Why this environment: the rule that matched, in words.
    pub rule: String,
    /// The `targets` line this deploys (`ROLLOUT_TARGET`), when the repository has targets.
    pub unit: Option<String>,
}

impl Target {
    /// A short label of what is deployed: `main`, `v1.2`, `PR #4`.
    pub fn label(&self) -> String {
        match (self.pr_number, &self.git_ref) {
            (Some(n), _) => format!("PR #{n}"),
            (None, Some(r)) => r.short().to_string(),
            (None, None) => self.sha.short().to_string(),
        }
    }
    pub fn branch(&self) -> &str {
        self.git_ref.as_ref().map(GitRef::short).unwrap_or("")
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deploy {
    pub target: Target,
    pub task: String,
    /// Why this task.
    pub task_reason: String,
    pub description: Description,
    /// Rendered from `environment-url`; a URL the command writes wins over it.
    pub environment_url: Option<String>,
    /// Why the changed files allow this deploy, when `paths` is set.
    pub paths_reason: Option<String>,
    /// Deploying inside a freeze window by `override-freeze`: the window, and the reason given.
    pub freeze_override: Option<String>,
    /// `step: rollback`: what this deploy rolls back from and to.
    pub rollback: Option<Box<RollbackOf>>,
    /// The environments whose lock holds this deploy: its own, and with `targets` the one its
    /// branch maps to (a lock on `production` holds `production-api` too). See
    /// [`lock_environments`].
    pub locks: Vec<String>,
    /// What it ships (`artifact`; a rollback's or a promotion's: the one its target or source
    /// recorded): the payload's `artifact` and the command's `ROLLOUT_ARTIFACT`.
    pub artifact: Option<String>,
    /// `requires` not met, deployed anyway: the sentence, and the `override-requires` reason.
    pub requires_override: Option<String>,
    /// `step: promote`: where this deploy's commit comes from.
    pub promotion: Option<Box<crate::shipping::PromotionOf>>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Teardown {
    pub target: Target,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipKind {
    /// Nothing to do here: exit 0 with a notice.
    Nothing,
    /// The token cannot write (fork or Dependabot PR): exit 0, or a failure with `fail-on-read-only`.
    ReadOnlyToken,
    /// Refused for safety (fork code with a write token): exit 0 with a warning.
    Refused,
    /// A freeze window stops the deploy: status `blocked`, exit 1 (the commit was not deployed).
    Blocked,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skip {
    pub kind: SkipKind,
    pub reason: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
// A run holds one plan a target, so the size of a deploy's plan costs nothing worth a box.
#[allow(clippy::large_enum_variant)]
pub enum Plan {
    Deploy(Deploy),
    Teardown(Teardown),
    Skip(Skip),
}

fn skip(reason: impl Into<String>) -> Skip {
    Skip {
        kind: SkipKind::Nothing,
        reason: reason.into(),
    }
}

fn refuse(kind: SkipKind, reason: impl Into<String>) -> Skip {
    Skip {
        kind,
        reason: reason.into(),
    }
}

/// Where an event points before any file is read: a deploy or a pull request's teardown.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    Deploy(Target),
    /// A closed pull request: its preview (every target's, with `targets`) is torn down.
    Teardown(Target),
}

impl Destination {
    pub fn target(&self) -> &Target {
        match self {
            Destination::Deploy(t) | Destination::Teardown(t) => t,
        }
    }
    pub fn is_teardown(&self) -> bool {
        matches!(self, Destination::Teardown(_))
    }
}

/// The first step of planning, run once per run: where this event would deploy (or tear down),
/// or why not. Needs no file list.
pub fn destination(event: &Event, inputs: &Inputs) -> Result<Destination, Skip> {
    match &event.trigger {
        Trigger::Unhandled => Err(skip(format!(
            "rollout does not deploy on `{}` events (it handles push, workflow_dispatch, workflow_run, pull_request and pull_request_target)",
            event.name
        ))),
        Trigger::Push { deleted: true, git_ref, .. } => Err(skip(format!(
            "the push deleted `{}`; a deleted branch or tag is never deployed",
            git_ref.full()
        ))),
        Trigger::Push { git_ref, sha, .. } | Trigger::Dispatch { git_ref, sha } => {
            branch_target(git_ref.clone(), sha.clone(), inputs).map(Destination::Deploy)
        }
        Trigger::WorkflowRun {
            action,
            conclusion,
            head_branch,
            sha,
            from_fork,
            ..
        } => workflow_run_target(
            action,
            conclusion.as_deref(),
            head_branch.as_deref(),
            sha,
            *from_fork,
            inputs,
        )
        .map(Destination::Deploy),
        Trigger::PullRequest(pr) => preview_target(pr, event.sender.as_deref(), inputs),
    }
}

/// A completed, successful workflow run deploys its head branch as a push would; a fork's run
/// only to the fixed `environment`, and only with `allow-fork-code`.
fn workflow_run_target(
    action: &str,
    conclusion: Option<&str>,
    head_branch: Option<&str>,
    sha: &Sha,
    from_fork: bool,
    inputs: &Inputs,
) -> Result<Target, Skip> {
    if action != "completed" {
        return Err(skip(format!(
            "the workflow run is `{action}`, not `completed`; rollout deploys when it has completed"
        )));
    }
    if conclusion != Some("success") {
        return Err(skip(format!(
            "the workflow run concluded `{}`, not `success`",
            conclusion.unwrap_or("without a conclusion")
        )));
    }
    if from_fork {
        if !inputs.allow_fork_code {
            return Err(refuse(
                SkipKind::Refused,
                "the workflow run comes from a fork: deploying its code with this repository's token and secrets is refused (set `allow-fork-code: true` to allow it)",
            ));
        }
        // A fork's branch called `main` is not this repository's main.
        let Some(env) = inputs.environment.as_ref() else {
            return Err(refuse(
                SkipKind::Refused,
                "the workflow run comes from a fork, whose branch names never map to this repository's environments; set `environment` to deploy fork code",
            ));
        };
        let environment = env.render(&TemplateVars {
            sha: sha.as_str(),
            ..Default::default()
        });
        return Ok(Target {
            environment,
            sha: sha.clone(),
            git_ref: None,
            pr_number: None,
            production: inputs.production,
            transient: inputs.transient.unwrap_or(false),
            rule: "the `environment` input (fork code allowed by `allow-fork-code`)".into(),
            unit: None,
        });
    }
    let Some(branch) = head_branch else {
        return Err(skip("the workflow run names no head branch to map"));
    };
    branch_target(GitRef::branch(branch), sha.clone(), inputs)
}

/// A pull request's preview: deployed on the actions that change its code, torn down when it
/// closes; never from a token that cannot write, never fork code on `pull_request_target`
/// unless allowed.
fn preview_target(
    pr: &crate::event::PullRequest,
    sender: Option<&str>,
    inputs: &Inputs,
) -> Result<Destination, Skip> {
    let fixed = inputs.environment.as_ref();
    let closing = pr.action == "closed";
    if !closing && !PREVIEW_ACTIONS.contains(&pr.action.as_str()) {
        return Err(skip(format!(
            "pull request action `{}` neither deploys nor tears down a preview",
            pr.action
        )));
    }
    let Some(template) = fixed.or(inputs.preview_environment.as_ref()) else {
        return Err(skip(
            "pull requests do not deploy: `preview-environment` is empty (set it, e.g. `pr-{number}`)",
        ));
    };
    let dependabot = pr.author == "dependabot[bot]" || sender == Some("dependabot[bot]");
    match pr.kind {
        PullRequestKind::PullRequest if pr.from_fork || dependabot => {
            let who = if dependabot { "Dependabot" } else { "a fork" };
            return Err(refuse(
                SkipKind::ReadOnlyToken,
                format!("pull request #{} comes from {who}: its token is read-only, so it cannot create deployments", pr.number),
            ));
        }
        PullRequestKind::Target if pr.from_fork && !inputs.allow_fork_code => {
            return Err(refuse(
                SkipKind::Refused,
                format!("pull request #{} comes from a fork: deploying fork code on pull_request_target would hand it this repository's token and secrets (set `allow-fork-code: true` to allow it)", pr.number),
            ));
        }
        _ => {}
    }
    let branch = safe_name(&pr.head_branch);
    let environment = template.render(&TemplateVars {
        environment: "",
        branch: &branch,
        sha: pr.head_sha.as_str(),
        number: Some(pr.number),
    });
    let rule = if fixed.is_some() {
        "the `environment` input".to_string()
    } else {
        format!("`preview-environment` ({})", template.as_str())
    };
    let target = Target {
        environment,
        sha: pr.head_sha.clone(),
        git_ref: Some(GitRef::branch(&pr.head_branch)),
        pr_number: Some(pr.number),
        production: Some(inputs.production.unwrap_or(false)),
        transient: inputs.transient.unwrap_or(true),
        rule,
        unit: None,
    };
    Ok(if closing {
        Destination::Teardown(target)
    } else {
        Destination::Deploy(target)
    })
}

/// A branch or tag (a push, a dispatch, a workflow run of this repository): the `environment`
/// input, else the first line of `environments` that matches.
fn branch_target(git_ref: GitRef, sha: Sha, inputs: &Inputs) -> Result<Target, Skip> {
    let branch = git_ref.branch_name();
    let safe_branch = safe_name(git_ref.short());
    let vars = TemplateVars {
        environment: "",
        branch: &safe_branch,
        sha: sha.as_str(),
        number: None,
    };
    let (environment, rule) = if let Some(env) = inputs.environment.as_ref() {
        (env.render(&vars), "the `environment` input".to_string())
    } else if let Some(rule) = inputs
        .environments
        .iter()
        .find(|r| r.matches(git_ref.full(), branch))
    {
        (
            rule.environment.render(&vars),
            format!(
                "`{}` matched `environments` line {} (`{}: {}`)",
                git_ref.short(),
                rule.line,
                rule.pattern,
                rule.environment.as_str()
            ),
        )
    } else if inputs.environments.is_empty() {
        return Err(skip(
            "no environment is mapped: set `environments` (e.g. `main: production`) or `environment`",
        ));
    } else if let Some(rule) = git_ref.tag_name().and_then(|tag| {
        inputs
            .environments
            .iter()
            .find(|r| r.matches_branch_name(tag))
    }) {
        // `v*: production` on the tag `v1.2.3`: a pattern without `refs/` matches branches only.
        return Err(skip(format!(
            "`{}` is a tag, and `environments` line {} (`{}`) matches branch names only; to deploy tags, write `refs/tags/{}: {}`",
            git_ref.full(),
            rule.line,
            rule.pattern,
            rule.pattern,
            rule.environment.as_str()
        )));
    } else {
        return Err(skip(format!(
            "`{}` matches no line of `environments`, so nothing deploys",
            git_ref.full()
        )));
    };
    if environment.trim().is_empty() {
        return Err(skip(format!("{rule} gives an empty environment name")));
    }
    Ok(Target {
        environment,
        sha,
        git_ref: Some(git_ref),
        pr_number: None,
        production: inputs.production,
        transient: inputs.transient.unwrap_or(false),
        rule,
        unit: None,
    })
}

/// `rollback`, `promote`, `lock` and `unlock` (the steps [`crate::inputs::Step::refuses_forks`]
/// names) act on environments a fork must not steer: an event from a fork (`pull_request_target`
/// of a fork's pull request, `workflow_run` of a fork's run) is refused with one sentence (exit 2),
/// whatever `allow-fork-code` says.
pub fn refuse_fork_event(event: &Event, step: crate::inputs::Step) -> Result<(), String> {
    if !step.refuses_forks() {
        return Ok(());
    }
    let from = match &event.trigger {
        Trigger::PullRequest(pr) if pr.from_fork && pr.kind == PullRequestKind::Target => {
            format!(
                "pull_request_target of pull request #{}, which comes from a fork",
                pr.number
            )
        }
        Trigger::WorkflowRun {
            from_fork: true, ..
        } => "workflow_run of a run from a fork".to_string(),
        _ => return Ok(()),
    };
    // Where the step can run instead: a sweep only from a schedule or a dispatch.
    let instead = match step {
        crate::inputs::Step::Sweep => "`workflow_dispatch` or a `schedule`",
        _ => "`workflow_dispatch` or a push to this repository",
    };
    Err(format!(
        "step: {} refuses the event {from}: it acts on environments a fork must not steer, whatever `allow-fork-code` says; run it from {instead}",
        step.name()
    ))
}

/// Whether the plan needs the changed files (so that nobody computes them for nothing).
pub fn needs_changes(inputs: &Inputs) -> bool {
    inputs.paths.is_some() || (!inputs.tasks.is_empty() && inputs.task.is_none())
}

/// The whole plan of a run without `targets`. `changes` is consulted only for `paths` and `tasks`.
pub fn plan(event: &Event, inputs: &Inputs, changes: &Changes) -> Plan {
    match destination(event, inputs) {
        Ok(Destination::Deploy(target)) => decide(target, event, inputs, changes),
        Ok(Destination::Teardown(target)) => Plan::Teardown(Teardown { target }),
        Err(skip) => Plan::Skip(skip),
    }
}

/// One target's decision: its plan, or why the change does not affect it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(
    clippy::large_enum_variant,
    reason = "one per target, built once per run"
)]
pub enum Decision {
    Plan(Plan),
    Unaffected(String),
}

/// A decision and the `targets` line it is for (`None` without `targets`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    pub name: Option<String>,
    pub decision: Decision,
}

/// Every decision of a run: one unnamed plan without `targets`; with them, one per target the
/// run considers (the `target` input narrows it to one), in the order of the `targets` lines.
#[derive(Clone, Debug)]
pub struct Plans {
    /// With `targets`: what the changes did to each target, to log and print whole.
    pub affected: Option<crate::targets::Affected>,
    pub each: Vec<Planned>,
}

impl Plans {
    /// The names of the targets that would deploy (or tear down).
    pub fn deploying(&self) -> Vec<&str> {
        self.each
            .iter()
            .filter(|p| matches!(p.decision, Decision::Plan(Plan::Deploy(_))))
            .filter_map(|p| p.name.as_deref())
            .collect()
    }
}

/// The second step, the same for a deploy, `step: plan` and `rollout plan`: from where the
/// event points and what changed, each target's plan. A teardown covers every target (the pull
/// request is gone, whatever changed); a deploy each target its changes affect, on its own files.
pub fn plans(
    dest: &Destination,
    event: &Event,
    inputs: &Inputs,
    changes: &Changes,
    now: jiff::Timestamp,
) -> Plans {
    let named = |name: &str| inputs.target.as_deref().is_none_or(|one| one == name);
    if inputs.targets.is_empty() {
        let plan = match dest {
            Destination::Deploy(t) => {
                under_freeze(decide(t.clone(), event, inputs, changes), inputs, now)
            }
            Destination::Teardown(t) => Plan::Teardown(Teardown { target: t.clone() }),
        };
        return Plans {
            affected: None,
            each: vec![Planned {
                name: None,
                decision: Decision::Plan(plan),
            }],
        };
    }
    let base = dest.target();
    if dest.is_teardown() {
        let each = inputs
            .targets
            .names()
            .filter(|n| named(n))
            .map(|name| Planned {
                name: Some(name.to_string()),
                decision: Decision::Plan(Plan::Teardown(Teardown {
                    target: for_target(base, name, inputs),
                })),
            })
            .collect();
        // Every target counts as affected, so `rollout plan` lists them all with the reason.
        let gone = Changes::Everything {
            reason: "the pull request closed; every target's preview is torn down".into(),
        };
        return Plans {
            affected: Some(inputs.targets.affected(&gone)),
            each,
        };
    }
    let affected = inputs.targets.affected(changes);
    let each = affected
        .targets
        .iter()
        .filter(|v| named(&v.name))
        .map(|verdict| Planned {
            name: Some(verdict.name.clone()),
            decision: match verdict.changes() {
                Some(own) => Decision::Plan(under_freeze(
                    held_by_branch_lock(
                        decide(for_target(base, &verdict.name, inputs), event, inputs, own),
                        base,
                    ),
                    inputs,
                    now,
                )),
                None => Decision::Unaffected(verdict.reason().to_string()),
            },
        })
        .collect();
    Plans {
        affected: Some(affected),
        each,
    }
}

/// One target's plan, once [`destination`] found where to deploy: the commit message, `paths` and
/// `tasks` against the changed files, the description and the URL.
pub fn decide(target: Target, event: &Event, inputs: &Inputs, changes: &Changes) -> Plan {
    if let Some(pattern) = &inputs.skip_commit_pattern {
        if let Some(found) = pattern.find(&event.head_commit.message) {
            // The matched text is the commit's, so it is shown as untrusted text, and cut: a
            // pattern such as `.*` can match the whole message.
            let quoted: String = found.as_str().chars().take(80).collect();
            let cut = if quoted.len() < found.as_str().len() {
                "..."
            } else {
                ""
            };
            return Plan::Skip(skip(format!(
                "the head commit message matches `skip-commit-pattern` (`{}`) at \"{}{cut}\"",
                pattern.as_str(),
                Untrusted(&quoted)
            )));
        }
    }
    let paths_reason = match (&inputs.paths, changes) {
        (None, _) => None,
        (Some(_), Changes::Everything { reason }) => Some(format!(
            "`paths` cannot be checked ({reason}), so the deploy goes ahead"
        )),
        (Some(filter), Changes::Files { files, .. }) => {
            match files.iter().find(|f| filter.matches(f)) {
                Some(first) => Some(format!("`{first}` matches `paths`")),
                None => {
                    return Plan::Skip(skip(format!(
                        "none of the {} changed file(s) matches `paths` ({})",
                        files.len(),
                        filter.patterns.join(", ")
                    )))
                }
            }
        }
    };
    let (task, task_reason) = if let Some(task) = &inputs.task {
        (task.clone(), "the `task` input".to_string())
    } else if inputs.tasks.is_empty() {
        ("deploy".to_string(), "the default task".to_string())
    } else {
        match changes {
            Changes::Everything { .. } => (
                "deploy".to_string(),
                "every file counts as changed, so the full `deploy`".to_string(),
            ),
            Changes::Files { files, .. } => {
                match inputs.tasks.select(files.iter().map(String::as_str)) {
                    Some(task) => (
                        task.to_string(),
                        format!(
                            "the first line of `tasks` whose globs cover all {} changed file(s)",
                            files.len()
                        ),
                    ),
                    None => (
                        "deploy".to_string(),
                        "no line of `tasks` covers every changed file, so the full `deploy`"
                            .to_string(),
                    ),
                }
            }
        }
    };
    let vars = TemplateVars {
        environment: &target.environment,
        branch: &safe_name(target.branch()),
        sha: target.sha.as_str(),
        number: target.pr_number,
    };
    // With `targets`, `{target}` is the target's name here too.
    let unit = target.unit.as_deref();
    let description = match &inputs.description {
        Some(t) => Description::new(&t.render_with(&vars, unit)),
        None => Description::new(&event.head_commit.message),
    };
    let environment_url = inputs
        .environment_url
        .as_ref()
        .map(|t| t.render_with(&vars, unit))
        .filter(|u| !u.is_empty());
    Plan::Deploy(Deploy {
        locks: vec![target.environment.clone()],
        target,
        task,
        task_reason,
        description,
        environment_url,
        paths_reason,
        freeze_override: None,
        rollback: None,
        artifact: inputs.promotion.artifact.clone(),
        requires_override: None,
        promotion: None,
    })
}

/// The environments whose lock holds a deploy to `own`: `own`, and `branch` (the environment the
/// branch maps to, of which `own` is a target's) unless it is the same environment (GitHub
/// compares names without case).
pub fn lock_environments(own: &str, branch: Option<&str>) -> Vec<String> {
    let mut locks = vec![own.to_string()];
    if let Some(branch) = branch.filter(|b| b.to_lowercase() != own.to_lowercase()) {
        locks.push(branch.to_string());
    }
    locks
}

/// A target's deploy, also held by a lock on the environment its branch maps to (`base`).
fn held_by_branch_lock(plan: Plan, base: &Target) -> Plan {
    match plan {
        Plan::Deploy(d) => Plan::Deploy(Deploy {
            locks: lock_environments(&d.target.environment, Some(&base.environment)),
            ..d
        }),
        other => other,
    }
}

/// What the `freeze` windows say of a deploy to `environment` at `now`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freeze {
    Open,
    Blocked(Skip),
    /// Inside a window, deployed anyway: the window's sentence and the `override-freeze` reason.
    Overridden(String),
}

/// Whether a freeze window stops a deploy to `environment` at `now`. Pure: the caller reads the
/// clock (`rollout plan --now` gives it).
pub fn freeze(inputs: &Inputs, environment: &str, now: jiff::Timestamp) -> Freeze {
    let Some(frozen) = inputs.freeze.check(environment, now) else {
        return Freeze::Open;
    };
    match &inputs.override_freeze {
        Some(reason) => Freeze::Overridden(format!(
            "{}; `override-freeze` lets this deploy through: {reason}",
            frozen.window_sentence(environment)
        )),
        None => Freeze::Blocked(Skip {
            kind: SkipKind::Blocked,
            reason: frozen.sentence(environment),
        }),
    }
}

/// A freeze window that blocks every environment this run would deploy to, decided from the
/// destination alone, so that a frozen run makes no API request at all. With `targets`, a window
/// that blocks only some of them is decided per target in [`plans`].
pub fn frozen(dest: &Destination, inputs: &Inputs, now: jiff::Timestamp) -> Option<Skip> {
    let Destination::Deploy(base) = dest else {
        return None;
    };
    if inputs.freeze.is_empty() {
        return None;
    }
    let environments: Vec<String> = if inputs.targets.is_empty() {
        vec![base.environment.clone()]
    } else {
        inputs
            .targets
            .names()
            .filter(|n| inputs.target.as_deref().is_none_or(|one| one == *n))
            .map(|n| for_target(base, n, inputs).environment)
            .collect()
    };
    let mut first = None;
    for environment in &environments {
        match freeze(inputs, environment, now) {
            Freeze::Blocked(skip) => {
                first.get_or_insert(skip);
            }
            _ => return None,
        }
    }
    first
}

/// A deploy plan under the freeze windows: blocked, or marked as overriding one.
fn under_freeze(plan: Plan, inputs: &Inputs, now: jiff::Timestamp) -> Plan {
    let Plan::Deploy(mut d) = plan else {
        return plan;
    };
    match freeze(inputs, &d.target.environment, now) {
        Freeze::Open => Plan::Deploy(d),
        Freeze::Blocked(skip) => Plan::Skip(skip),
        Freeze::Overridden(why) => {
            d.freeze_override = Some(why);
            Plan::Deploy(d)
        }
    }
}

/// Where one target of `targets` deploys: the branch's destination with the target's own
/// environment (`target-environment`, default `{environment}-{target}`). A target environment
/// inherits the production flag of the environment the branch maps to: every target of
/// `production` is production, which the API alone would deny `production-api`.
pub fn for_target(base: &Target, name: &str, inputs: &Inputs) -> Target {
    let vars = TemplateVars {
        environment: &base.environment,
        branch: &safe_name(base.branch()),
        sha: base.sha.as_str(),
        number: base.pr_number,
    };
    let environment =
        crate::targets::environment_for(name, &vars, inputs.target_environment.as_ref());
    let production = if base.pr_number.is_some() {
        base.production
    } else {
        Some(crate::targets::target_is_production(
            base.production,
            &base.environment,
        ))
    };
    Target {
        environment,
        production,
        rule: format!("{}, target `{name}`", base.rule),
        unit: Some(name.to_string()),
        ..base.clone()
    }
}

/// What a rollback deploy carries beside an ordinary deploy: where it comes from and the
/// payload of the deployment it puts back (the command gets it as `ROLLOUT_ROLLBACK_PAYLOAD`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollbackOf {
    pub from_deployment: u64,
    pub from_sha: Sha,
    pub to_deployment: u64,
    pub to_payload: serde_json::Value,
    /// The summary's sentence ([`crate::rollback::summary_sentence`]).
    pub sentence: String,
    /// Made by `on-failure: rollback` after a failed deploy, not by `step: rollback`.
    pub automatic: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{CommitInfo, PullRequest};
    use crate::inputs::RawInputs;

    const A: &str = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

    fn inputs(pairs: &[(&str, &str)]) -> Inputs {
        let mut raw = RawInputs::default();
        raw.set("command", "true");
        raw.set(
            "environments",
            "main: production\ndev: staging\nrelease/*: staging\nrefs/tags/v*: production",
        );
        for (k, v) in pairs {
            raw.set(k, *v);
        }
        Inputs::parse(&raw).unwrap()
    }

    fn event(trigger: Trigger) -> Event {
        Event {
            name: "push".into(),
            trigger,
            head_commit: CommitInfo {
                message: "feat: ship it\n\nbody".into(),
                author: Some("mona".into()),
            },
            sender: Some("mona".into()),
            default_branch: Some("main".into()),
        }
    }

    fn push(r: &str) -> Event {
        event(Trigger::Push {
            git_ref: GitRef::new(r),
            sha: Sha::parse(A).unwrap(),
            before: None,
            forced: false,
            deleted: false,
        })
    }

    fn pr(action: &str, from_fork: bool, kind: PullRequestKind) -> Event {
        let mut e = event(Trigger::PullRequest(PullRequest {
            kind,
            action: action.into(),
            number: 42,
            title: "t".into(),
            head_sha: Sha::parse(A).unwrap(),
            head_branch: "feature/x".into(),
            base_branch: "main".into(),
            base_sha: None,
            from_fork,
            merged: false,
            author: "mona".into(),
        }));
        e.name = "pull_request".into();
        e
    }

    fn files(list: &[&str]) -> Changes {
        Changes::Files {
            files: list.iter().map(|s| s.to_string()).collect(),
            source: "test".into(),
        }
    }

    fn all() -> Changes {
        Changes::Everything {
            reason: "test".into(),
        }
    }

    fn deploy(p: Plan) -> Deploy {
        match p {
            Plan::Deploy(d) => d,
            other => panic!("expected a deploy, got {other:?}"),
        }
    }

    fn skipped(p: Plan) -> Skip {
        match p {
            Plan::Skip(s) => s,
            other => panic!("expected a skip, got {other:?}"),
        }
    }

    #[test]
    fn main_maps_to_production_with_the_exact_sha() {
        let d = deploy(plan(&push("refs/heads/main"), &inputs(&[]), &all()));
        assert_eq!(d.target.environment, "production");
        assert_eq!(d.target.sha.as_str(), A);
        assert_eq!(d.task, "deploy");
        assert_eq!(d.description.as_str(), "feat: ship it");
        assert!(d.target.rule.contains("line 1"), "{}", d.target.rule);
        assert_eq!(d.target.production, None, "left to the API");
        assert!(!d.target.transient);
    }

    #[test]
    fn first_matching_line_wins_and_globs_match_release_branches() {
        let d = deploy(plan(&push("refs/heads/release/2.0"), &inputs(&[]), &all()));
        assert_eq!(d.target.environment, "staging");
        assert!(d.target.rule.contains("line 3"));
    }

    #[test]
    fn tags_map_through_full_ref_patterns() {
        let d = deploy(plan(&push("refs/tags/v1.2.3"), &inputs(&[]), &all()));
        assert_eq!(d.target.environment, "production");
        assert_eq!(d.target.label(), "v1.2.3");
    }

    #[test]
    fn unmapped_branches_skip_with_the_ref_named() {
        let s = skipped(plan(&push("refs/heads/feature/a"), &inputs(&[]), &all()));
        assert_eq!(s.kind, SkipKind::Nothing);
        assert!(s.reason.contains("refs/heads/feature/a"), "{}", s.reason);
    }

    #[test]
    fn no_mapping_at_all_says_what_to_set() {
        let mut raw = RawInputs::default();
        raw.set("command", "true");
        let s = skipped(plan(
            &push("refs/heads/main"),
            &Inputs::parse(&raw).unwrap(),
            &all(),
        ));
        assert!(s.reason.contains("set `environments`"), "{}", s.reason);
    }

    #[test]
    fn the_environment_input_overrides_the_mapping() {
        let d = deploy(plan(
            &push("refs/heads/anything"),
            &inputs(&[("environment", "qa-{branch}")]),
            &all(),
        ));
        assert_eq!(d.target.environment, "qa-anything");
    }

    #[test]
    fn deleted_refs_never_deploy() {
        let e = event(Trigger::Push {
            git_ref: GitRef::branch("main"),
            sha: Sha::parse(&"0".repeat(40)).unwrap(),
            before: None,
            forced: false,
            deleted: true,
        });
        assert!(skipped(plan(&e, &inputs(&[]), &all()))
            .reason
            .contains("deleted"));
    }

    #[test]
    fn dispatch_deploys_its_ref() {
        let e = event(Trigger::Dispatch {
            git_ref: GitRef::branch("dev"),
            sha: Sha::parse(A).unwrap(),
        });
        assert_eq!(
            deploy(plan(&e, &inputs(&[]), &all())).target.environment,
            "staging"
        );
    }

    fn run(conclusion: &str, from_fork: bool) -> Event {
        event(Trigger::WorkflowRun {
            action: "completed".into(),
            conclusion: Some(conclusion.into()),
            head_branch: Some("main".into()),
            sha: Sha::parse(A).unwrap(),
            from_fork,
            workflow: "CI".into(),
        })
    }

    #[test]
    fn workflow_run_deploys_only_successful_runs_of_this_repository() {
        assert_eq!(
            deploy(plan(&run("success", false), &inputs(&[]), &all()))
                .target
                .environment,
            "production"
        );
        assert!(skipped(plan(&run("failure", false), &inputs(&[]), &all()))
            .reason
            .contains("failure"));
        let s = skipped(plan(&run("success", true), &inputs(&[]), &all()));
        assert_eq!(s.kind, SkipKind::Refused);
    }

    #[test]
    fn a_forks_main_never_maps_to_production() {
        let s = skipped(plan(
            &run("success", true),
            &inputs(&[("allow-fork-code", "true")]),
            &all(),
        ));
        assert_eq!(s.kind, SkipKind::Refused);
        let d = deploy(plan(
            &run("success", true),
            &inputs(&[("allow-fork-code", "true"), ("environment", "fork-check")]),
            &all(),
        ));
        assert_eq!(d.target.environment, "fork-check");
    }

    #[test]
    fn unhandled_events_skip_with_their_name() {
        let mut e = push("refs/heads/main");
        e.trigger = Trigger::Unhandled;
        e.name = "issues".into();
        assert!(skipped(plan(&e, &inputs(&[]), &all()))
            .reason
            .contains("`issues`"));
    }

    #[test]
    fn previews_get_one_transient_environment_per_pr() {
        let i = inputs(&[("preview-environment", "pr-{number}")]);
        let d = deploy(plan(
            &pr("opened", false, PullRequestKind::PullRequest),
            &i,
            &all(),
        ));
        assert_eq!(d.target.environment, "pr-42");
        assert!(d.target.transient);
        assert_eq!(d.target.production, Some(false));
        assert_eq!(d.target.pr_number, Some(42));
        assert_eq!(d.target.sha.as_str(), A);
    }

    #[test]
    fn preview_branch_names_are_sanitised() {
        let i = inputs(&[("preview-environment", "preview-{branch}")]);
        let d = deploy(plan(
            &pr("synchronize", false, PullRequestKind::PullRequest),
            &i,
            &all(),
        ));
        assert!(
            d.target.environment.starts_with("preview-feature-x-"),
            "{}",
            d.target.environment
        );
    }

    #[test]
    fn closing_a_pr_tears_down_and_other_actions_skip() {
        let i = inputs(&[("preview-environment", "pr-{number}")]);
        assert!(matches!(
            plan(
                &pr("closed", false, PullRequestKind::PullRequest),
                &i,
                &all()
            ),
            Plan::Teardown(_)
        ));
        assert!(skipped(plan(
            &pr("labeled", false, PullRequestKind::PullRequest),
            &i,
            &all()
        ))
        .reason
        .contains("labeled"));
    }

    #[test]
    fn prs_do_not_deploy_without_a_preview_template() {
        let s = skipped(plan(
            &pr("opened", false, PullRequestKind::PullRequest),
            &inputs(&[]),
            &all(),
        ));
        assert!(s.reason.contains("preview-environment"));
    }

    #[test]
    fn fork_and_dependabot_prs_have_read_only_tokens() {
        let i = inputs(&[("preview-environment", "pr-{number}")]);
        let s = skipped(plan(
            &pr("opened", true, PullRequestKind::PullRequest),
            &i,
            &all(),
        ));
        assert_eq!(s.kind, SkipKind::ReadOnlyToken);
        let mut e = pr("opened", false, PullRequestKind::PullRequest);
        e.sender = Some("dependabot[bot]".into());
        assert_eq!(skipped(plan(&e, &i, &all())).kind, SkipKind::ReadOnlyToken);
    }

    #[test]
    fn pull_request_target_from_a_fork_is_refused_unless_allowed() {
        let i = inputs(&[("preview-environment", "pr-{number}")]);
        let e = pr("opened", true, PullRequestKind::Target);
        assert_eq!(skipped(plan(&e, &i, &all())).kind, SkipKind::Refused);
        let i = inputs(&[
            ("preview-environment", "pr-{number}"),
            ("allow-fork-code", "true"),
        ]);
        assert_eq!(deploy(plan(&e, &i, &all())).target.environment, "pr-42");
    }

    #[test]
    fn a_forks_event_is_refused_by_the_steps_that_steer_environments_with_where_to_run_them() {
        use crate::inputs::Step;
        let e = pr("opened", true, PullRequestKind::Target);
        let sweep = refuse_fork_event(&e, Step::Sweep).unwrap_err();
        assert!(
            sweep.ends_with("run it from `workflow_dispatch` or a `schedule`"),
            "{sweep}"
        );
        let rollback = refuse_fork_event(&e, Step::Rollback).unwrap_err();
        assert!(
            rollback.ends_with("or a push to this repository"),
            "{rollback}"
        );
        assert_eq!(refuse_fork_event(&e, Step::Deploy), Ok(()));
        let own = pr("opened", false, PullRequestKind::Target);
        assert_eq!(refuse_fork_event(&own, Step::Sweep), Ok(()));
    }

    #[test]
    fn skip_commit_pattern_skips() {
        let s = skipped(plan(
            &push("refs/heads/main"),
            &inputs(&[("skip-commit-pattern", "^feat:")]),
            &all(),
        ));
        assert!(s.reason.contains("skip-commit-pattern"));
        assert!(s.reason.ends_with("at \"feat:\""), "{}", s.reason);
        let mut e = push("refs/heads/main");
        e.head_commit.message = "chore: x\n::add-mask::y [skip deploy]".into();
        let s = skipped(plan(
            &e,
            &inputs(&[("skip-commit-pattern", r"(?s)x.*\]")]),
            &all(),
        ));
        assert!(
            s.reason.ends_with(r#"at "x\n::add-mask::y [skip deploy]""#),
            "the match is quoted, its line break shown as text: {}",
            s.reason
        );
        deploy(plan(
            &push("refs/heads/main"),
            &inputs(&[("skip-commit-pattern", r"\[WM\]")]),
            &all(),
        ));
    }

    #[test]
    fn paths_skip_when_nothing_relevant_changed() {
        let i = inputs(&[("paths", "app/**")]);
        let s = skipped(plan(
            &push("refs/heads/main"),
            &i,
            &files(&["docs/readme.md"]),
        ));
        assert!(
            s.reason.contains("none of the 1 changed file(s)"),
            "{}",
            s.reason
        );
        let d = deploy(plan(
            &push("refs/heads/main"),
            &i,
            &files(&["docs/x", "app/y"]),
        ));
        assert_eq!(d.paths_reason.as_deref(), Some("`app/y` matches `paths`"));
        let d = deploy(plan(&push("refs/heads/main"), &i, &all()));
        assert!(d.paths_reason.unwrap().contains("cannot be checked"));
    }

    #[test]
    fn tasks_follow_the_changed_files() {
        let i = inputs(&[("tasks", "deploy:dags: dags/**\ndeploy: **")]);
        let p = |c| deploy(plan(&push("refs/heads/main"), &i, &c)).task;
        assert_eq!(p(files(&["dags/a.py"])), "deploy:dags");
        assert_eq!(p(files(&["dags/a.py", "requirements.txt"])), "deploy");
        assert_eq!(p(files(&["src/dags_old/x"])), "deploy");
        assert_eq!(p(all()), "deploy");
        let forced = inputs(&[("tasks", "deploy:dags: dags/**"), ("task", "deploy:image")]);
        assert_eq!(
            deploy(plan(&push("refs/heads/main"), &forced, &files(&["dags/a"]))).task,
            "deploy:image"
        );
    }

    #[test]
    fn description_and_url_templates() {
        let i = inputs(&[
            ("description", "{branch} at {short_sha}"),
            ("environment-url", "https://{environment}.example.com"),
        ]);
        let d = deploy(plan(&push("refs/heads/main"), &i, &all()));
        assert_eq!(d.description.as_str(), "main at 6113728");
        assert_eq!(
            d.environment_url.as_deref(),
            Some("https://production.example.com")
        );
    }

    #[test]
    fn changes_are_needed_only_for_paths_and_tasks() {
        assert!(!needs_changes(&inputs(&[])));
        assert!(needs_changes(&inputs(&[("paths", "a/**")])));
        assert!(needs_changes(&inputs(&[("tasks", "x: a/**")])));
        assert!(!needs_changes(&inputs(&[
            ("tasks", "x: a/**"),
            ("task", "y")
        ])));
    }

    const NOW: jiff::Timestamp = jiff::Timestamp::UNIX_EPOCH;

    fn dest(event: &Event, inputs: &Inputs) -> Destination {
        destination(event, inputs).unwrap()
    }

    fn decided(p: &Planned) -> &Plan {
        match &p.decision {
            Decision::Plan(plan) => plan,
            other => panic!("expected a plan, got {other:?}"),
        }
    }

    #[test]
    fn without_targets_there_is_one_unnamed_plan() {
        let (e, i) = (push("refs/heads/main"), inputs(&[]));
        let plans = plans(&dest(&e, &i), &e, &i, &all(), NOW);
        assert!(plans.affected.is_none());
        assert_eq!(plans.each.len(), 1);
        assert_eq!(plans.each[0].name, None);
        assert_eq!(decided(&plans.each[0]), &plan(&e, &i, &all()));
    }

    #[test]
    fn each_target_is_decided_on_its_own_files_in_the_order_of_its_lines() {
        let i = inputs(&[
            ("targets", "web: web/**\napi: api/**\ndocs: docs/**"),
            ("paths", "api/**\nweb/src/**"),
        ]);
        let e = push("refs/heads/main");
        let plans = plans(
            &dest(&e, &i),
            &e,
            &i,
            &files(&["web/README.md", "api/main.rs"]),
            NOW,
        );
        let names: Vec<_> = plans.each.iter().map(|p| p.name.as_deref()).collect();
        assert_eq!(names, [Some("web"), Some("api"), Some("docs")]);
        // web changed, but only a file `paths` leaves out: its own files decide, not api's.
        assert!(matches!(decided(&plans.each[0]), Plan::Skip(_)));
        let api = deploy(decided(&plans.each[1]).clone());
        assert_eq!(api.target.environment, "production-api");
        assert_eq!(api.target.unit.as_deref(), Some("api"));
        assert_eq!(
            api.locks,
            ["production-api", "production"],
            "held by its own lock and by its branch's environment's"
        );
        assert!(
            matches!(&plans.each[2].decision, Decision::Unaffected(r) if r.contains("docs/**"))
        );
        assert_eq!(plans.deploying(), ["api"]);
    }

    #[test]
    fn a_deploy_answers_to_its_own_lock_and_a_targets_to_its_branchs_too() {
        let (e, i) = (push("refs/heads/main"), inputs(&[]));
        assert_eq!(deploy(plan(&e, &i, &all())).locks, ["production"]);
        assert_eq!(
            lock_environments("production-api", Some("production")),
            ["production-api", "production"]
        );
        // One environment, named twice in two cases, is one lock.
        assert_eq!(
            lock_environments("Production", Some("production")),
            ["Production"]
        );
        assert_eq!(lock_environments("staging", None), ["staging"]);
    }

    #[test]
    fn the_target_input_narrows_the_plans_to_one() {
        let i = inputs(&[("targets", "web: web/**\napi: api/**"), ("target", "api")]);
        let e = push("refs/heads/main");
        let plans = plans(&dest(&e, &i), &e, &i, &files(&["web/a"]), NOW);
        assert_eq!(plans.each.len(), 1);
        assert_eq!(plans.each[0].name.as_deref(), Some("api"));
        assert!(matches!(plans.each[0].decision, Decision::Unaffected(_)));
    }

    #[test]
    fn a_closed_pull_request_tears_down_every_target_whatever_changed() {
        let i = inputs(&[
            ("targets", "web: web/**\napi: api/**"),
            ("preview-environment", "pr-{number}"),
        ]);
        let e = pr("closed", false, PullRequestKind::PullRequest);
        let d = dest(&e, &i);
        assert!(d.is_teardown());
        let plans = plans(&d, &e, &i, &files(&[]), NOW);
        let torn: Vec<_> = plans
            .each
            .iter()
            .map(|p| match decided(p) {
                Plan::Teardown(t) => t.target.environment.clone(),
                other => panic!("expected a teardown, got {other:?}"),
            })
            .collect();
        assert_eq!(torn, ["pr-42-web", "pr-42-api"]);
    }
}
