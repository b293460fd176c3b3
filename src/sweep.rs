//! Pure: which environments a sweep may touch (the names `preview-environment` could have made,
//! and with `targets` the names `target-environment` makes from them), and what it does with
//! each preview, from its deployments and its pull request's state (CONTRACT.md, "Sweeping
//! previews: `step: sweep`"). No I/O: `steps/sweep.rs` reads and writes.

use crate::event::{Event, Trigger};
use crate::lines::InputError;
use crate::targets::{Targets, DEFAULT_ENVIRONMENT_TEMPLATE};
use crate::text::Template;
use jiff::Timestamp;
use regex::Regex;
use std::time::Duration;

/// A deployment in progress for less than this is a deploy running: its preview is left alone.
pub const RUNNING_GRACE: Duration = Duration::from_secs(86_400);
/// The most writes (statuses, comments, deletions) one sweep makes; the rest wait for the next
/// run. GitHub's limit on content-creating requests is 80 a minute and 500 an hour.
pub const WRITE_LIMIT: usize = 500;
/// The least time between two writes: 75 a minute, under GitHub's 80.
pub const WRITE_SPACING: Duration = Duration::from_millis(800);

/// What a placeholder's capture group holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Group {
    Number,
    Target,
}

/// One shape of preview name: the preview itself, or a target's environment made from it.
#[derive(Debug)]
struct Form {
    regex: Regex,
    groups: Vec<Group>,
}

/// The environment names a sweep may touch.
#[derive(Debug)]
pub struct PreviewNames {
    forms: Vec<Form>,
    targets: Vec<String>,
}

/// An environment a preview template could have made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Preview {
    pub environment: String,
    pub number: u64,
    /// The `targets` line whose environment this is (`ROLLOUT_TARGET`).
    pub target: Option<String>,
}

/// `template` as a regular expression (without anchors), its capture groups in `groups`.
/// Placeholders become what their values can be; `{environment}` is `base` (a target template).
fn pattern(
    template: &str,
    base: Option<&(String, Vec<Group>)>,
    targets: &[String],
) -> (String, Vec<Group>) {
    let (mut out, mut groups) = (String::new(), Vec::new());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&regex::escape(&rest[..open]));
        let after = &rest[open + 1..];
        let name = after.find('}').map(|close| (&after[..close], close));
        let piece = match name {
            Some(("number", _)) => {
                groups.push(Group::Number);
                Some("([0-9]+)".to_string())
            }
            // `{branch}` arrives made safe (`text::safe_name`).
            Some(("branch", _)) => Some("(?:[A-Za-z0-9._-]+)".to_string()),
            Some(("sha", _)) => Some("(?:[0-9a-fA-F]{40})".to_string()),
            Some(("short_sha", _)) => Some("(?:[0-9a-fA-F]{7})".to_string()),
            Some(("environment", _)) => base.map(|(p, g)| {
                groups.extend(g);
                format!("(?:{p})")
            }),
            Some(("target", _)) if !targets.is_empty() => {
                groups.push(Group::Target);
                let names: Vec<String> = targets.iter().map(|t| regex::escape(t)).collect();
                Some(format!("({})", names.join("|")))
            }
            _ => None,
        };
        match (piece, name) {
            (Some(piece), Some((_, close))) => {
                out.push_str(&piece);
                rest = &after[close + 1..];
            }
            _ => {
                out.push_str(&regex::escape("{"));
                rest = after;
            }
        }
    }
    out.push_str(&regex::escape(rest));
    (out, groups)
}

fn sweep_error(input: &'static str, message: impl Into<String>) -> InputError {
    InputError {
        input,
        line: None,
        message: message.into(),
    }
}

impl PreviewNames {
    /// The names `preview` (required, with `{number}`) could have made, and with `targets` the
    /// ones `target_environment` (default `{environment}-{target}`) makes from them.
    pub fn new(
        preview: Option<&Template>,
        targets: &Targets,
        target_environment: Option<&Template>,
    ) -> Result<PreviewNames, InputError> {
        let Some(preview) = preview else {
            return Err(sweep_error(
                "preview-environment",
                "is required for `step: sweep`: give the template your previews are made with (`pr-{number}`), so that only environments it could have made are swept",
            ));
        };
        if !preview.uses("number") {
            return Err(sweep_error(
                "preview-environment",
                format!(
                    "{:?} has no `{{number}}`: `step: sweep` finds each preview's pull request by the number in its name (`pr-{{number}}`)",
                    preview.as_str()
                ),
            ));
        }
        let names: Vec<String> = targets.names().map(str::to_string).collect();
        let base = pattern(preview.as_str(), None, &[]);
        let mut shapes = vec![base.clone()];
        if !names.is_empty() {
            let template = target_environment
                .map(Template::as_str)
                .unwrap_or(DEFAULT_ENVIRONMENT_TEMPLATE);
            shapes.push(pattern(template, Some(&base), &names));
        }
        let mut forms = Vec::new();
        for (text, groups) in shapes {
            let regex = Regex::new(&format!("(?i)^(?:{text})$")).map_err(|e| {
                sweep_error(
                    "preview-environment",
                    format!("could not be read as a name pattern: {e}"),
                )
            })?;
            forms.push(Form { regex, groups });
        }
        Ok(PreviewNames {
            forms,
            targets: names,
        })
    }

    /// The preview `environment` is, if a template could have made it. GitHub compares names
    /// without case; so does this.
    pub fn preview(&self, environment: &str) -> Option<Preview> {
        for (index, form) in self.forms.iter().enumerate() {
            let Some(caps) = form.regex.captures(environment) else {
                continue;
            };
            let (mut number, mut target, mut agree) = (None::<u64>, None, true);
            for (i, group) in form.groups.iter().enumerate() {
                let text = caps.get(i + 1).map(|m| m.as_str()).unwrap_or("");
                match group {
                    Group::Number => {
                        let n = text
                            .parse::<u64>()
                            .ok()
                            .filter(|n| *n > 0 && !text.starts_with('0'));
                        agree &= n.is_some() && (number.is_none() || number == n);
                        number = number.or(n);
                    }
                    Group::Target => {
                        target = self
                            .targets
                            .iter()
                            .find(|t| t.eq_ignore_ascii_case(text))
                            .cloned();
                    }
                }
            }
            let Some(number) = number.filter(|_| agree) else {
                continue;
            };
            if index > 0 && target.is_none() {
                continue;
            }
            return Some(Preview {
                environment: environment.to_string(),
                number,
                target,
            });
        }
        None
    }
}

/// One deployment of a preview, as the sweep reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deployment {
    pub id: u64,
    pub sha: Option<String>,
    pub created_at: Option<Timestamp>,
    /// `inactive` (or `destroyed`) already.
    pub inactive: bool,
    /// Not final yet (queued, pending, in progress, waiting).
    pub running: bool,
}

/// The state of the pull request a preview's number names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PullState {
    Open,
    Closed,
    Merged,
    /// The number names no pull request (an issue, or nothing).
    Missing,
}

/// Why a preview is swept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// Its pull request is closed (or merged) and its teardown never ran.
    Closed,
    /// Its newest deployment is older than `preview-expires`.
    Expired(Duration),
}

impl Why {
    /// The sentence the summary and the sticky comment say.
    pub fn sentence(self) -> String {
        match self {
            Why::Closed => "closed without a teardown".to_string(),
            Why::Expired(after) => format!(
                "expired after {} without a deploy; push to bring it back",
                span(after)
            ),
        }
    }
}

/// What the sweep does with one preview.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Sweep(Why),
    /// Every deployment is inactive: done, never touched again (and not listed).
    Done,
    /// A deployment in progress for less than a day: a deploy is running.
    Running(u64),
    /// Its pull request is open and it is not expired.
    Open,
    /// The number names no pull request: left alone and listed.
    NoPullRequest,
}

impl Verdict {
    /// Why a preview left alone is left alone, as the summary says it.
    pub fn sentence(&self) -> String {
        match self {
            Verdict::Sweep(why) => why.sentence(),
            Verdict::Done => "every deployment is inactive already".into(),
            Verdict::Running(id) => {
                format!("deployment {id} is in progress (for less than a day); left alone")
            }
            Verdict::Open => "the pull request is open and the preview not expired".into(),
            Verdict::NoPullRequest => "its number names no pull request; left alone".into(),
        }
    }
}

/// What to do with a preview: `deployments` newest first, `expires` the `preview-expires`.
pub fn judge(
    deployments: &[Deployment],
    pull: PullState,
    expires: Option<Duration>,
    now: Timestamp,
) -> Verdict {
    if deployments.iter().all(|d| d.inactive) {
        return Verdict::Done;
    }
    let age = |d: &Deployment| d.created_at.map(|at| now.duration_since(at).unsigned_abs());
    // An unknown age counts as a young one: a deploy that may be running is never swept.
    if let Some(d) = deployments
        .iter()
        .find(|d| d.running && age(d).is_none_or(|a| a < RUNNING_GRACE))
    {
        return Verdict::Running(d.id);
    }
    match pull {
        PullState::Missing => Verdict::NoPullRequest,
        PullState::Closed | PullState::Merged => Verdict::Sweep(Why::Closed),
        PullState::Open => match (expires, deployments.first().and_then(age)) {
            (Some(limit), Some(idle)) if idle > limit => Verdict::Sweep(Why::Expired(limit)),
            _ => Verdict::Open,
        },
    }
}

/// The writes sweeping a preview takes: one status per live deployment, its comment, and its
/// deletion.
pub fn writes_for(deployments: &[Deployment], comment: bool, delete: bool) -> usize {
    deployments.iter().filter(|d| !d.inactive).count() + usize::from(comment) + usize::from(delete)
}

/// `14 days`, `1 day`, `12 hours`, `90 minutes`, `45 seconds`.
pub fn span(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = if s.is_multiple_of(86_400) {
        (s / 86_400, "day")
    } else if s.is_multiple_of(3600) {
        (s / 3600, "hour")
    } else if s.is_multiple_of(60) {
        (s / 60, "minute")
    } else {
        (s, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `rollback`, `promote`, `sweep`, `lock` and `unlock` refuse an event from a fork
/// (`pull_request_target` of a fork's pull request, `workflow_run` of a fork's run), whatever
/// `allow-fork-code` says: they act on environments a fork must not steer. The sentence, or
/// `None` when the event is not a fork's.
pub fn refuse_fork(event: &Event, step: &str) -> Option<String> {
    let fork = match &event.trigger {
        Trigger::PullRequest(pr) => pr.from_fork,
        Trigger::WorkflowRun { from_fork, .. } => *from_fork,
        _ => false,
    };
    fork.then(|| {
        format!(
            "step: {step} refuses this {} event: it comes from a fork, and `step: {step}` acts on environments a fork must not steer (whatever `allow-fork-code` says); run it from `workflow_dispatch` or a `schedule`",
            event.name
        )
    })
}

/// A sweep runs from a `schedule` or a `workflow_dispatch`; any other event is bad input.
pub fn check_event(event: &Event) -> Result<(), String> {
    match event.name.as_str() {
        "schedule" | "workflow_dispatch" => Ok(()),
        other => Err(format!(
            "step: sweep runs from a `schedule` or `workflow_dispatch` event, not {other:?}: give it a workflow of its own (`on: schedule: - cron: \"0 3 * * *\"` and `workflow_dispatch:`)"
        )),
    }
}

/// One preview's line in the summary.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepRow {
    pub environment: String,
    pub number: u64,
    /// Why it was swept or left alone.
    pub why: String,
    /// What was done (or would be, in a dry run).
    pub done: String,
}

/// What a sweep did: every preview it listed, and the environments it tore down (output `swept`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub rows: Vec<SweepRow>,
    pub swept: Vec<String>,
    /// Previews that were judged done (all inactive); counted, not listed.
    pub done: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(preview: &str, targets: &str, target_env: Option<&str>) -> PreviewNames {
        PreviewNames::new(
            Some(&Template::new(preview)),
            &Targets::parse(targets).unwrap(),
            target_env.map(Template::new).as_ref(),
        )
        .unwrap()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn dep(id: u64, created: &str, inactive: bool, running: bool) -> Deployment {
        Deployment {
            id,
            sha: Some("a".repeat(40)),
            created_at: Some(at(created)),
            inactive,
            running,
        }
    }

    #[test]
    fn only_names_the_template_could_make_are_previews() {
        let n = names("pr-{number}", "", None);
        assert_eq!(
            n.preview("pr-42"),
            Some(Preview {
                environment: "pr-42".into(),
                number: 42,
                target: None
            })
        );
        assert_eq!(
            n.preview("PR-7").map(|p| p.number),
            Some(7),
            "GitHub ignores case"
        );
        for not in [
            "production",
            "pr-",
            "pr-x",
            "pr-42-api",
            "xpr-42",
            "pr-042",
            "pr-0",
            "staging-pr-4",
        ] {
            assert_eq!(n.preview(not), None, "{not}");
        }
    }

    #[test]
    fn literal_text_is_not_a_pattern() {
        let n = names("pr.{number}", "", None);
        assert!(n.preview("pr.5").is_some());
        assert!(n.preview("prx5").is_none(), "the dot is a dot");
        let n = names("{number}-{branch}", "", None);
        assert_eq!(n.preview("12-feature-x").map(|p| p.number), Some(12));
        assert!(
            n.preview("12-feature/x").is_none(),
            "a branch arrives made safe"
        );
    }

    #[test]
    fn a_number_twice_must_agree() {
        let n = names("pr-{number}-{number}", "", None);
        assert_eq!(n.preview("pr-3-3").map(|p| p.number), Some(3));
        assert_eq!(n.preview("pr-3-4"), None);
    }

    #[test]
    fn targets_environments_are_previews_with_their_target() {
        let n = names("pr-{number}", "api: api/**\nweb: web/**", None);
        assert_eq!(
            n.preview("pr-7-api"),
            Some(Preview {
                environment: "pr-7-api".into(),
                number: 7,
                target: Some("api".into())
            })
        );
        assert_eq!(n.preview("pr-7").map(|p| p.target), Some(None));
        assert_eq!(n.preview("pr-7-db"), None, "not a target");
        let n = names("pr-{number}", "api: api/**", Some("{target}.{environment}"));
        assert_eq!(
            n.preview("api.pr-9").and_then(|p| p.target),
            Some("api".into())
        );
        assert_eq!(n.preview("pr-9-api"), None);
    }

    #[test]
    fn the_template_is_required_with_its_number() {
        let none = PreviewNames::new(None, &Targets::default(), None).unwrap_err();
        assert_eq!(none.input, "preview-environment");
        let fixed = PreviewNames::new(Some(&Template::new("preview")), &Targets::default(), None)
            .unwrap_err();
        assert!(fixed.message.contains("{number}"), "{}", fixed.message);
    }

    const NOW: &str = "2026-12-07T12:00:00Z";

    #[test]
    fn a_closed_pull_requests_live_preview_is_swept() {
        let d = [
            dep(2, "2026-12-06T00:00:00Z", false, false),
            dep(1, "2026-12-01T00:00:00Z", true, false),
        ];
        for state in [PullState::Closed, PullState::Merged] {
            assert_eq!(judge(&d, state, None, at(NOW)), Verdict::Sweep(Why::Closed));
        }
        assert_eq!(judge(&d, PullState::Open, None, at(NOW)), Verdict::Open);
    }

    #[test]
    fn a_preview_whose_deployments_are_all_inactive_is_done() {
        let d = [dep(2, "2026-12-06T00:00:00Z", true, false)];
        assert_eq!(judge(&d, PullState::Closed, None, at(NOW)), Verdict::Done);
        assert_eq!(judge(&[], PullState::Closed, None, at(NOW)), Verdict::Done);
    }

    #[test]
    fn an_idle_preview_expires_by_its_newest_deployment() {
        let days = |n: u64| Some(Duration::from_secs(n * 86_400));
        let idle = [
            dep(2, "2026-11-20T00:00:00Z", false, false),
            dep(1, "2026-11-01T00:00:00Z", false, false),
        ];
        assert_eq!(
            judge(&idle, PullState::Open, days(14), at(NOW)),
            Verdict::Sweep(Why::Expired(Duration::from_secs(14 * 86_400)))
        );
        assert_eq!(
            judge(&idle, PullState::Open, days(30), at(NOW)),
            Verdict::Open
        );
        assert_eq!(judge(&idle, PullState::Open, None, at(NOW)), Verdict::Open);
        let recent = [
            dep(3, "2026-12-06T00:00:00Z", true, false),
            dep(1, "2026-11-01T00:00:00Z", false, false),
        ];
        assert_eq!(
            judge(&recent, PullState::Open, days(14), at(NOW)),
            Verdict::Open,
            "the newest deployment counts, inactive or not"
        );
    }

    #[test]
    fn a_deploy_running_for_less_than_a_day_holds_the_preview() {
        let running = [dep(2, "2026-12-07T06:00:00Z", false, true)];
        assert_eq!(
            judge(&running, PullState::Closed, None, at(NOW)),
            Verdict::Running(2)
        );
        let stuck = [dep(2, "2026-12-05T06:00:00Z", false, true)];
        assert_eq!(
            judge(&stuck, PullState::Closed, None, at(NOW)),
            Verdict::Sweep(Why::Closed)
        );
        let unknown = [Deployment {
            created_at: None,
            ..dep(2, NOW, false, true)
        }];
        assert_eq!(
            judge(&unknown, PullState::Closed, None, at(NOW)),
            Verdict::Running(2)
        );
    }

    #[test]
    fn a_number_that_names_no_pull_request_is_left_alone() {
        let d = [dep(2, "2026-01-01T00:00:00Z", false, false)];
        assert_eq!(
            judge(
                &d,
                PullState::Missing,
                Some(Duration::from_secs(60)),
                at(NOW)
            ),
            Verdict::NoPullRequest
        );
    }

    #[test]
    fn reasons_read_as_the_contract_says() {
        assert_eq!(Why::Closed.sentence(), "closed without a teardown");
        assert_eq!(
            Why::Expired(Duration::from_secs(14 * 86_400)).sentence(),
            "expired after 14 days without a deploy; push to bring it back"
        );
        assert_eq!(span(Duration::from_secs(86_400)), "1 day");
        assert_eq!(span(Duration::from_secs(7200)), "2 hours");
        assert_eq!(span(Duration::from_secs(90)), "90 seconds");
    }

    #[test]
    fn writes_count_live_statuses_the_comment_and_the_deletion() {
        let d = [
            dep(3, NOW, false, false),
            dep(2, NOW, true, false),
            dep(1, NOW, false, false),
        ];
        assert_eq!(writes_for(&d, true, true), 4);
        assert_eq!(writes_for(&d, false, false), 2);
    }
}
