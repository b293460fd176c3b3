//! The delivery report's figures, pure: DORA's four keys computed from the deployments an
//! environment recorded in a period, by CONTRACT.md's definitions ("Delivery report"), which
//! are rollout's own and read deployments alone (DORA's reports and Google's Four Keys take
//! failures from incidents). The history is read elsewhere (`DeploymentClient::
//! delivery_history`); `delivery_report` renders what this computes.
//!
//! - A **change** is a deployment that ran and is not a rollback, whose outcome is `success` or
//!   `failure`; one that ended `error`, was cancelled or never finished is counted apart.
//! - **Deployment frequency**: changes that reached `success`, in all and per day of the period.
//! - **Lead time**: median and 90th percentile over successful changes, from the deployed
//!   commit's committed date to the change's first `success`.
//! - **Change failure rate**: failed changes (ended `failure`, or reached `success` and a later
//!   rollback names them as `from_deployment`) over changes.
//! - **Time to restore**: median over episodes; an episode starts at a change's failure (its
//!   failure status, or the rollback that undid it) and ends at the environment's next
//!   `success` (a change's or a rollback's). Failures before that success belong to the same
//!   episode: the environment was not restored in between. One still open at the end of the
//!   period is `open_since`, not a duration.
//!
//! A figure with no data is `None` (`null` in JSON), never 0.

use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// The period's default, as `period` says.
pub const DEFAULT_PERIOD: &str = "30d";
/// The longest period: the read stops at 1,000 deployments anyway.
const MAX_PERIOD_DAYS: u64 = 366;
const DAY: i64 = 86_400;
const WEEK: i64 = 7 * DAY;

/// A deployment status's state, as GitHub lists them (`waiting` only in webhooks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusState {
    Success,
    Failure,
    Error,
    Inactive,
    InProgress,
    Queued,
    Pending,
    Other,
}

impl StatusState {
    /// GraphQL's (`SUCCESS`) or REST's (`success`) spelling; anything else is `Other`.
    pub fn parse(text: &str) -> StatusState {
        match text.to_ascii_lowercase().as_str() {
            "success" => StatusState::Success,
            "failure" => StatusState::Failure,
            "error" => StatusState::Error,
            "inactive" => StatusState::Inactive,
            "in_progress" => StatusState::InProgress,
            "queued" => StatusState::Queued,
            "pending" => StatusState::Pending,
            _ => StatusState::Other,
        }
    }
}

/// One status of a deployment, with when it was posted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusAt {
    pub state: StatusState,
    pub at: Timestamp,
}

/// What a rollback's payload says (`"rollback": {"from_deployment", "automatic"}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollbackMark {
    /// The deployment it undid.
    pub from_deployment: Option<u64>,
    /// Made by `on-failure: rollback` (`"automatic": true`).
    pub automatic: bool,
}

impl RollbackMark {
    /// `Some` when the payload has a `rollback` key at all: that is what makes a rollback.
    pub fn of_payload(payload: &Value) -> Option<RollbackMark> {
        let rollback = payload.get("rollback")?;
        Some(RollbackMark {
            from_deployment: rollback.get("from_deployment").and_then(Value::as_u64),
            automatic: rollback.get("automatic").and_then(Value::as_bool) == Some(true),
        })
    }
}

/// One deployment as the report reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployed {
    pub id: u64,
    pub environment: String,
    pub created_at: Timestamp,
    /// The deployed commit's committed date; `None` when GitHub no longer has the commit.
    pub committed_at: Option<Timestamp>,
    pub rollback: Option<RollbackMark>,
    /// In any order.
    pub statuses: Vec<StatusAt>,
}

/// Whether a deployment **ran**: an `in_progress`, `success` or `failure` status, whatever came
/// after (CONTRACT.md, "Rollback"). One with none of these (ended `error` by a lock, or created
/// by a run that could not use it) changed nothing. The report's one reading of "ran": when
/// `history.rs` holds the shared predicate, this delegates to it.
pub fn ran(statuses: &[StatusAt]) -> bool {
    statuses.iter().any(|s| {
        matches!(
            s.state,
            StatusState::InProgress | StatusState::Success | StatusState::Failure
        )
    })
}

/// How a deployment ended, for the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Reached `success` (its first), whatever came after (`auto_inactive` turns earlier
    /// successes `inactive`).
    Success(Timestamp),
    /// Ended `failure` without ever reaching `success`: when.
    Failure(Timestamp),
    Error,
    /// `inactive` without a success or failure: cancelled or superseded.
    Cancelled,
    /// No final status: still running, or lost.
    Unfinished,
}

fn first(statuses: &[StatusAt], state: StatusState) -> Option<Timestamp> {
    statuses
        .iter()
        .filter(|s| s.state == state)
        .map(|s| s.at)
        .min()
}

pub fn outcome(statuses: &[StatusAt]) -> Outcome {
    if let Some(at) = first(statuses, StatusState::Success) {
        return Outcome::Success(at);
    }
    if let Some(at) = first(statuses, StatusState::Failure) {
        return Outcome::Failure(at);
    }
    let latest_final = statuses
        .iter()
        .filter(|s| matches!(s.state, StatusState::Error | StatusState::Inactive))
        .max_by_key(|s| s.at);
    match latest_final.map(|s| s.state) {
        Some(StatusState::Error) => Outcome::Error,
        Some(_) => Outcome::Cancelled,
        None => Outcome::Unfinished,
    }
}

/// `period`: how far back the report reads, in days (`30d`), weeks (`12w`) or hours (`48h`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub seconds: i64,
}

impl Period {
    pub fn parse(text: &str) -> Result<Period, String> {
        let value = text.trim();
        let value = if value.is_empty() {
            DEFAULT_PERIOD
        } else {
            value
        };
        let bad = || {
            format!("{value:?} is not a period; write a number of days (`30d`), weeks (`12w`) or hours (`48h`)")
        };
        let split = value
            .char_indices()
            .find(|(_, c)| !c.is_ascii_digit())
            .map_or(value.len(), |(i, _)| i);
        let (digits, unit) = value.split_at(split);
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let seconds = match unit.trim() {
            "d" => n.checked_mul(DAY as u64),
            "w" => n.checked_mul(WEEK as u64),
            "h" => n.checked_mul(3600),
            _ => return Err(bad()),
        };
        match seconds {
            Some(0) => Err(format!(
                "{value:?} is no time at all; a report covers at least an hour (`30d` is the default)"
            )),
            Some(s) if s <= MAX_PERIOD_DAYS * DAY as u64 => Ok(Period { seconds: s as i64 }),
            _ => Err(format!(
                "{value:?} is longer than {MAX_PERIOD_DAYS} days; the report reads at most 1,000 deployments, so ask for a shorter period"
            )),
        }
    }

    /// The days it spans, for per-day rates (a fraction for hours).
    pub fn days(self) -> f64 {
        self.seconds as f64 / DAY as f64
    }

    /// The window ending at `now`.
    pub fn ending(self, now: Timestamp) -> Window {
        let from = now
            .checked_sub(SignedDuration::from_secs(self.seconds))
            .unwrap_or(Timestamp::MIN);
        Window {
            from,
            to: now,
            days: self.days(),
        }
    }
}

/// The period as two moments.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Window {
    pub from: Timestamp,
    pub to: Timestamp,
    pub days: f64,
}

impl Window {
    pub fn contains(&self, at: Timestamp) -> bool {
        self.from <= at && at <= self.to
    }
}

/// Changes in one week of the period, failures apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Week {
    pub start: Timestamp,
    pub changes: usize,
    pub failed: usize,
}

/// One environment's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Figures {
    /// Changes: ran, not a rollback, ended `success` or `failure`.
    pub changes: usize,
    /// Changes that reached `success`.
    pub deployments: usize,
    pub per_day: f64,
    pub lead_time_median: Option<i64>,
    pub lead_time_p90: Option<i64>,
    pub failed_changes: usize,
    pub change_failure_rate: Option<f64>,
    pub time_to_restore_median: Option<i64>,
    /// Closed episodes the median is over.
    pub episodes: usize,
    pub open_since: Option<Timestamp>,
    pub rollbacks: usize,
    pub automatic_rollbacks: usize,
    /// Deployments that ended `error` (a lock's block included: they ran or not).
    pub errors: usize,
    /// Non-rollbacks that ran and were cancelled, or never finished: counted apart.
    pub cancelled: usize,
    pub unfinished: usize,
    pub weeks: Vec<Week>,
}

/// The report: each environment's figures over one window.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivery {
    pub window: Window,
    pub environments: BTreeMap<String, Figures>,
}

/// Median (the mean of the middle two for an even count, to the second below) and 90th
/// percentile (nearest rank) of `values`; `None` for none.
pub fn median_p90(values: &mut [i64]) -> (Option<i64>, Option<i64>) {
    if values.is_empty() {
        return (None, None);
    }
    values.sort_unstable();
    let n = values.len();
    let median = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]).div_euclid(2)
    };
    let rank = (n * 9).div_ceil(10).max(1);
    (Some(median), Some(values[rank - 1]))
}

fn seconds_between(from: Timestamp, to: Timestamp) -> i64 {
    to.duration_since(from).as_secs()
}

/// Every environment's figures from `history` (any order, any environments): `environments`
/// lists the ones reported, each present even without a deployment in the window. A deployment
/// belongs to the window by its creation time.
pub fn report(history: &[Deployed], environments: &[String], window: Window) -> Delivery {
    let mut by_environment: BTreeMap<String, Vec<&Deployed>> = environments
        .iter()
        .map(|e| (e.clone(), Vec::new()))
        .collect();
    for d in history.iter().filter(|d| window.contains(d.created_at)) {
        // GitHub compares environment names without case: a deployment to `Production` is
        // one of `production`'s.
        let name = environments
            .iter()
            .find(|e| e.eq_ignore_ascii_case(&d.environment))
            .unwrap_or(&d.environment);
        by_environment.entry(name.clone()).or_default().push(d);
    }
    let environments = by_environment
        .into_iter()
        .map(|(name, deployments)| (name, figures(&deployments, &window)))
        .collect();
    Delivery {
        window,
        environments,
    }
}

/// One environment's figures from its deployments of the window.
pub fn figures(deployments: &[&Deployed], window: &Window) -> Figures {
    let mut list: Vec<&Deployed> = deployments.to_vec();
    list.sort_by_key(|d| (d.created_at, d.id));
    let ran_list: Vec<&Deployed> = list.iter().copied().filter(|d| ran(&d.statuses)).collect();
    // A rollback that ran undid its `from_deployment`: when it started.
    let mut undone: BTreeMap<u64, Timestamp> = BTreeMap::new();
    for d in &ran_list {
        if let Some(from) = d.rollback.and_then(|r| r.from_deployment) {
            let at = undone.entry(from).or_insert(d.created_at);
            *at = (*at).min(d.created_at);
        }
    }
    let mut f = Figures {
        changes: 0,
        deployments: 0,
        per_day: 0.0,
        lead_time_median: None,
        lead_time_p90: None,
        failed_changes: 0,
        change_failure_rate: None,
        time_to_restore_median: None,
        episodes: 0,
        open_since: None,
        rollbacks: 0,
        automatic_rollbacks: 0,
        errors: list
            .iter()
            .filter(|d| outcome(&d.statuses) == Outcome::Error)
            .count(),
        cancelled: 0,
        unfinished: 0,
        weeks: weeks(window),
    };
    let mut lead_times = Vec::new();
    // When each failure began, and every success that restores.
    let mut failures: Vec<Timestamp> = Vec::new();
    let mut successes: Vec<Timestamp> = Vec::new();
    for d in &ran_list {
        let result = outcome(&d.statuses);
        if let Outcome::Success(at) = result {
            successes.push(at);
        }
        if let Some(mark) = d.rollback {
            f.rollbacks += 1;
            f.automatic_rollbacks += usize::from(mark.automatic);
            continue;
        }
        let failed_at = match result {
            Outcome::Success(at) => {
                f.deployments += 1;
                if let Some(committed) = d.committed_at {
                    lead_times.push(seconds_between(committed, at).max(0));
                }
                undone.get(&d.id).copied()
            }
            Outcome::Failure(at) => Some(undone.get(&d.id).map_or(at, |u| (*u).min(at))),
            Outcome::Cancelled => {
                f.cancelled += 1;
                continue;
            }
            Outcome::Unfinished => {
                f.unfinished += 1;
                continue;
            }
            Outcome::Error => continue,
        };
        f.changes += 1;
        let week = week_of(window, d.created_at);
        if let Some(w) = week.and_then(|i| f.weeks.get_mut(i)) {
            w.changes += 1;
        }
        if let Some(at) = failed_at {
            f.failed_changes += 1;
            failures.push(at);
            if let Some(w) = week.and_then(|i| f.weeks.get_mut(i)) {
                w.failed += 1;
            }
        }
    }
    f.per_day = f.deployments as f64 / window.days;
    (f.lead_time_median, f.lead_time_p90) = median_p90(&mut lead_times);
    f.change_failure_rate = (f.changes > 0).then(|| f.failed_changes as f64 / f.changes as f64);
    let (mut restores, open_since) = episodes(failures, successes);
    f.episodes = restores.len();
    f.time_to_restore_median = median_p90(&mut restores).0;
    f.open_since = open_since;
    f
}

/// Time to restore: each episode's length in seconds, and when the one still open began.
fn episodes(
    mut failures: Vec<Timestamp>,
    mut successes: Vec<Timestamp>,
) -> (Vec<i64>, Option<Timestamp>) {
    failures.sort_unstable();
    successes.sort_unstable();
    let mut lengths = Vec::new();
    let mut restored_at: Option<Timestamp> = None;
    for start in failures {
        // A failure before the last episode's restore belongs to that episode.
        if restored_at.is_some_and(|r| start < r) {
            continue;
        }
        match successes.iter().find(|s| **s > start) {
            Some(end) => {
                lengths.push(seconds_between(start, *end));
                restored_at = Some(*end);
            }
            None => return (lengths, Some(start)),
        }
    }
    (lengths, None)
}

/// The window's weeks, from its start: the last one may be shorter.
fn weeks(window: &Window) -> Vec<Week> {
    let span = seconds_between(window.from, window.to).max(0);
    let count = (span + WEEK - 1) / WEEK;
    (0..count.max(1))
        .map(|k| Week {
            start: window
                .from
                .checked_add(SignedDuration::from_secs(k * WEEK))
                .unwrap_or(window.from),
            changes: 0,
            failed: 0,
        })
        .collect()
}

fn week_of(window: &Window, at: Timestamp) -> Option<usize> {
    let offset = seconds_between(window.from, at);
    (offset >= 0).then_some((offset / WEEK) as usize)
}

fn rounded(value: f64, places: i32) -> Value {
    let scale = 10f64.powi(places);
    json!((value * scale).round() / scale)
}

impl Figures {
    /// The contract's figures of one environment as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "changes": self.changes,
            "deployments": self.deployments,
            "per_day": rounded(self.per_day, 3),
            "lead_time_s": { "median": self.lead_time_median, "p90": self.lead_time_p90 },
            "change_failure_rate": self.change_failure_rate.map(|r| rounded(r, 4)),
            "time_to_restore_s": { "median": self.time_to_restore_median },
            "open_since": self.open_since.map(|t| t.to_string()),
            "rollbacks": self.rollbacks,
            "automatic_rollbacks": self.automatic_rollbacks,
            "errors": self.errors,
            // Counted apart: never a success or a failure.
            "cancelled": self.cancelled,
            "unfinished": self.unfinished,
        })
    }
}

impl Delivery {
    /// The output `report`: `{"period": {"from", "to"}, "environments": {NAME: figures}}`.
    pub fn to_json(&self) -> Value {
        let environments: Map<String, Value> = self
            .environments
            .iter()
            .map(|(name, f)| (name.clone(), f.to_json()))
            .collect();
        json!({
            "period": { "from": whole_seconds(self.window.from), "to": whole_seconds(self.window.to) },
            "environments": environments,
        })
    }
}

/// A moment as RFC 3339 in whole seconds, as every other time of the report is.
fn whole_seconds(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// The environments a glob (`production*`) picks among `names`, compared without case as
/// GitHub compares environment names; each once, in `names`' order.
pub fn matching(glob: &globset::GlobMatcher, names: &[String]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    names
        .iter()
        .filter(|n| glob.is_match(n.as_str()) && seen.insert(n.to_lowercase()))
        .cloned()
        .collect()
}

/// `environment` as a glob: case-insensitive, `*` crossing `/` as environment names have no
/// path structure. `None` (a literal name) when it holds no glob character, so no listing of
/// the repository's environments is needed.
pub fn environment_glob(text: &str) -> Result<(globset::GlobMatcher, bool), String> {
    let pattern = text.trim();
    if pattern.is_empty() {
        return Err(
            "is required: name the environments to report on, a glob such as `production*`".into(),
        );
    }
    let glob = globset::GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
        .map_err(|e| {
            format!(
                "{pattern:?} is not a glob ({}); write a name or a pattern such as `production*`",
                e.kind()
            )
        })?;
    let literal = !pattern.contains(['*', '?', '[', '{']);
    Ok((glob.compile_matcher(), literal))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: &str = "2026-11-01T00:00:00Z";

    fn at(hours: i64) -> Timestamp {
        T0.parse::<Timestamp>().unwrap() + SignedDuration::from_hours(hours)
    }

    /// A 30-day window from T0.
    fn window() -> Window {
        Period::parse("30d").unwrap().ending(at(30 * 24))
    }

    fn status(state: &str, hours: i64) -> StatusAt {
        StatusAt {
            state: StatusState::parse(state),
            at: at(hours),
        }
    }

    /// A change created at `hours`, committed `lead` hours before, with `states` posted an hour
    /// apart from its creation (`in_progress` first).
    fn change(id: u64, hours: i64, lead: i64, states: &[&str]) -> Deployed {
        Deployed {
            id,
            environment: "production".into(),
            created_at: at(hours),
            committed_at: Some(at(hours - lead)),
            rollback: None,
            statuses: states
                .iter()
                .enumerate()
                .map(|(i, s)| status(s, hours + i as i64 + 1))
                .collect(),
        }
    }

    fn rollback(id: u64, hours: i64, from: u64, automatic: bool, states: &[&str]) -> Deployed {
        Deployed {
            rollback: Some(RollbackMark {
                from_deployment: Some(from),
                automatic,
            }),
            ..change(id, hours, 100, states)
        }
    }

    fn one(history: &[Deployed]) -> Figures {
        let d = report(history, &["production".to_string()], window());
        d.environments["production"].clone()
    }

    #[test]
    fn ran_means_in_progress_success_or_failure_whatever_came_after() {
        for (states, expected) in [
            (&["in_progress", "error"][..], true),
            (&["success", "inactive"], true),
            (&["failure"], true),
            (&["error"], false),
            (&["queued", "pending", "inactive"], false),
            (&[], false),
        ] {
            let s: Vec<StatusAt> = states.iter().map(|s| status(s, 1)).collect();
            assert_eq!(ran(&s), expected, "{states:?}");
        }
    }

    #[test]
    fn outcomes_follow_the_first_success_then_failure_then_the_last_final() {
        let s = |list: &[(&str, i64)]| -> Vec<StatusAt> {
            list.iter().map(|(st, h)| status(st, *h)).collect()
        };
        assert_eq!(
            outcome(&s(&[("in_progress", 1), ("success", 2), ("inactive", 9)])),
            Outcome::Success(at(2))
        );
        assert_eq!(
            outcome(&s(&[("in_progress", 1), ("failure", 3)])),
            Outcome::Failure(at(3))
        );
        assert_eq!(
            outcome(&s(&[("in_progress", 1), ("error", 3)])),
            Outcome::Error
        );
        assert_eq!(
            outcome(&s(&[("in_progress", 1), ("inactive", 3)])),
            Outcome::Cancelled
        );
        assert_eq!(outcome(&s(&[("in_progress", 1)])), Outcome::Unfinished);
    }

    #[test]
    fn periods_are_days_weeks_or_hours_and_bad_ones_name_the_fix() {
        assert_eq!(Period::parse("").unwrap().seconds, 30 * DAY);
        assert_eq!(Period::parse("30d").unwrap().seconds, 30 * DAY);
        assert_eq!(Period::parse(" 2w ").unwrap().seconds, 14 * DAY);
        assert_eq!(Period::parse("48h").unwrap().days(), 2.0);
        for bad in ["30", "d", "30 days", "-1d", "1y"] {
            assert!(Period::parse(bad).unwrap_err().contains("`30d`"), "{bad}");
        }
        assert!(Period::parse("0d").unwrap_err().contains("no time"));
        assert!(Period::parse("400d").unwrap_err().contains("366 days"));
    }

    #[test]
    fn an_empty_period_has_counts_of_zero_and_no_rates() {
        let f = one(&[]);
        assert_eq!((f.changes, f.deployments, f.per_day), (0, 0, 0.0));
        assert_eq!((f.lead_time_median, f.lead_time_p90), (None, None));
        assert_eq!(f.change_failure_rate, None);
        assert_eq!((f.time_to_restore_median, f.open_since), (None, None));
        assert_eq!(f.weeks.len(), 5, "30 days are 4 weeks and 2 days");
        let json = f.to_json();
        assert_eq!(json["change_failure_rate"], Value::Null);
        assert_eq!(json["lead_time_s"], json!({"median": null, "p90": null}));
        assert_eq!(json["time_to_restore_s"], json!({"median": null}));
    }

    #[test]
    fn no_failures_is_a_rate_of_zero_and_no_restore() {
        let history = [
            change(1, 10, 2, &["in_progress", "success", "inactive"]),
            change(2, 40, 4, &["in_progress", "success", "inactive"]),
            change(3, 100, 6, &["in_progress", "success"]),
        ];
        let f = one(&history);
        assert_eq!((f.changes, f.deployments), (3, 3));
        assert!((f.per_day - 0.1).abs() < 1e-9, "{}", f.per_day);
        assert_eq!(f.change_failure_rate, Some(0.0));
        assert_eq!(f.time_to_restore_median, None);
        assert_eq!(f.open_since, None);
        // Each first success comes two hours after creation: lead + 2h.
        assert_eq!(f.lead_time_median, Some(6 * 3600));
        assert_eq!(f.lead_time_p90, Some(8 * 3600));
        assert_eq!(f.weeks[0].changes, 3);
    }

    #[test]
    fn lead_time_median_and_p90_over_ten_changes() {
        let history: Vec<Deployed> = (1..=10)
            .map(|i| change(i, i as i64 * 10, i as i64, &["in_progress", "success"]))
            .collect();
        let f = one(&history);
        // Lead times are i + 2 hours: 3..=12; median (7+8)/2, p90 the 9th: 11.
        assert_eq!(f.lead_time_median, Some(7 * 3600 + 1800));
        assert_eq!(f.lead_time_p90, Some(11 * 3600));
        let mut v = vec![5, 1, 3];
        assert_eq!(median_p90(&mut v), (Some(3), Some(5)));
        assert_eq!(median_p90(&mut []), (None, None));
        assert_eq!(median_p90(&mut [7]), (Some(7), Some(7)));
    }

    #[test]
    fn a_change_without_its_commit_counts_but_has_no_lead_time() {
        let mut c = change(1, 10, 2, &["in_progress", "success"]);
        c.committed_at = None;
        let f = one(&[c]);
        assert_eq!((f.deployments, f.lead_time_median), (1, None));
    }

    #[test]
    fn failures_and_rollbacks_make_the_rate_and_the_episodes() {
        let history = [
            // 1 ok; 2 fails at 21h; 3 restores at 32h (an 11h episode).
            change(1, 0, 1, &["in_progress", "success", "inactive"]),
            change(2, 20, 1, &["in_progress"]).with(status("failure", 21)),
            change(3, 30, 1, &["in_progress", "success", "inactive"]),
            // 4 succeeds at 102h, a manual rollback to 3 starts at 110h and succeeds at 112h.
            change(4, 100, 1, &["in_progress", "success", "inactive"]),
            rollback(5, 110, 4, false, &["in_progress", "success"]),
        ];
        let f = one(&history);
        assert_eq!((f.changes, f.deployments, f.failed_changes), (4, 3, 2));
        assert_eq!(f.change_failure_rate, Some(0.5));
        assert_eq!((f.rollbacks, f.automatic_rollbacks), (1, 0));
        // Episodes: 21h -> 32h (11h) and 110h -> 112h (2h): median 6.5h.
        assert_eq!(f.episodes, 2);
        assert_eq!(f.time_to_restore_median, Some(6 * 3600 + 1800));
        assert_eq!(f.open_since, None);
        assert_eq!(f.weeks[0].changes, 4);
        assert_eq!(f.weeks[0].failed, 2);
        // 4 reached success: its lead time counts, although a rollback undid it.
        assert_eq!(f.lead_time_p90, Some(3 * 3600));
    }

    #[test]
    fn an_automatic_rollback_of_a_failed_change_is_one_failure_and_one_episode() {
        let history = [
            change(1, 0, 1, &["in_progress", "success", "inactive"]),
            // 2 fails at 13h (verify), its automatic rollback starts then and succeeds at 15h.
            change(2, 10, 1, &["in_progress", "in_progress", "failure"]),
            rollback(3, 13, 2, true, &["in_progress", "success"]),
        ];
        let f = one(&history);
        assert_eq!((f.changes, f.failed_changes), (2, 1));
        assert_eq!((f.rollbacks, f.automatic_rollbacks), (1, 1));
        assert_eq!(f.episodes, 1);
        assert_eq!(f.time_to_restore_median, Some(2 * 3600));
    }

    #[test]
    fn failures_before_a_restore_are_one_episode() {
        let history = [
            change(1, 10, 1, &["in_progress", "failure"]),
            change(2, 20, 1, &["in_progress", "failure"]),
            change(3, 30, 1, &["in_progress", "success"]),
        ];
        let f = one(&history);
        assert_eq!(f.failed_changes, 2);
        assert_eq!(f.episodes, 1);
        // From 1's failure at 12h to 3's success at 32h.
        assert_eq!(f.time_to_restore_median, Some(20 * 3600));
    }

    #[test]
    fn an_episode_open_at_the_end_is_open_since_not_a_duration() {
        let history = [
            change(1, 10, 1, &["in_progress", "success"]),
            change(2, 200, 1, &["in_progress", "failure"]),
            change(3, 300, 1, &["in_progress", "failure"]),
        ];
        let f = one(&history);
        assert_eq!(f.time_to_restore_median, None);
        assert_eq!(f.open_since, Some(at(202)));
        assert_eq!(f.to_json()["open_since"], json!("2026-11-09T10:00:00Z"));
        assert_eq!(f.change_failure_rate, Some(2.0 / 3.0));
        assert_eq!(f.to_json()["change_failure_rate"], json!(0.6667));
    }

    #[test]
    fn blocked_errors_cancelled_and_unfinished_deploys_are_no_changes() {
        let history = [
            // Blocked by a lock: never ran, ended error.
            change(1, 10, 1, &["error"]),
            // Ran, then error (rollout could not finish).
            change(2, 20, 1, &["in_progress", "error"]),
            // Cancelled (inactive) and lost (still in progress).
            change(3, 30, 1, &["in_progress", "inactive"]),
            change(4, 40, 1, &["in_progress"]),
            // Never ran at all.
            change(5, 50, 1, &["queued"]),
            change(6, 60, 1, &["in_progress", "success"]),
        ];
        let f = one(&history);
        assert_eq!((f.changes, f.deployments), (1, 1));
        assert_eq!(f.errors, 2, "both deployments that ended error");
        assert_eq!((f.cancelled, f.unfinished), (1, 1));
        assert_eq!(f.change_failure_rate, Some(0.0));
    }

    #[test]
    fn a_rollback_that_never_ran_undoes_nothing() {
        let history = [
            change(1, 10, 1, &["in_progress", "success"]),
            rollback(2, 20, 1, false, &["error"]),
        ];
        let f = one(&history);
        assert_eq!((f.failed_changes, f.rollbacks), (0, 0));
        assert_eq!(f.errors, 1);
    }

    #[test]
    fn a_failed_rollback_does_not_restore() {
        let history = [
            change(1, 10, 1, &["in_progress", "failure"]),
            rollback(2, 20, 1, false, &["in_progress", "failure"]),
        ];
        let f = one(&history);
        assert_eq!((f.failed_changes, f.rollbacks), (1, 1));
        assert_eq!(f.open_since, Some(at(12)));
    }

    #[test]
    fn deployments_outside_the_window_and_other_environments_are_apart() {
        let mut staging = change(2, 10, 1, &["in_progress", "failure"]);
        staging.environment = "staging".into();
        let history = [
            change(1, -5, 1, &["in_progress", "failure"]),
            staging,
            change(3, 10, 1, &["in_progress", "success"]),
        ];
        let d = report(
            &history,
            &["production".to_string(), "production-eu".to_string()],
            window(),
        );
        assert_eq!(d.environments["production"].changes, 1);
        assert_eq!(d.environments["production"].failed_changes, 0);
        assert_eq!(d.environments["staging"].failed_changes, 1);
        assert_eq!(d.environments["production-eu"].changes, 0);
        let json = d.to_json();
        assert_eq!(json["period"]["from"], "2026-11-01T00:00:00Z");
        assert_eq!(json["period"]["to"], "2026-12-01T00:00:00Z");
        assert_eq!(json["environments"]["production"]["per_day"], json!(0.033));
        assert_eq!(
            json["environments"]["production-eu"]["lead_time_s"]["median"],
            Value::Null
        );
    }

    #[test]
    fn rollback_marks_come_from_the_payload() {
        assert_eq!(RollbackMark::of_payload(&json!({"ref": "x"})), None);
        assert_eq!(
            RollbackMark::of_payload(
                &json!({"rollback": {"from_deployment": 4, "automatic": true}})
            ),
            Some(RollbackMark {
                from_deployment: Some(4),
                automatic: true
            })
        );
        assert_eq!(
            RollbackMark::of_payload(&json!({"rollback": "yes"})),
            Some(RollbackMark {
                from_deployment: None,
                automatic: false
            })
        );
    }

    #[test]
    fn globs_match_without_case_and_literals_need_no_listing() {
        let (g, literal) = environment_glob("production*").unwrap();
        assert!(!literal);
        let names: Vec<String> = ["Production", "production-eu", "staging", "PRODUCTION"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(matching(&g, &names), ["Production", "production-eu"]);
        let (g, literal) = environment_glob("prod/eu").unwrap();
        assert!(literal && g.is_match("prod/eu"));
        assert!(environment_glob("").is_err());
        assert!(environment_glob("prod[")
            .unwrap_err()
            .contains("not a glob"));
    }

    impl Deployed {
        fn with(mut self, s: StatusAt) -> Deployed {
            self.statuses.push(s);
            self
        }
    }
}
