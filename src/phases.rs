//! Progress phases (CONTRACT.md, "Progress phases"): the command appends the phase it enters to
//! `$ROLLOUT_PHASE_FILE`, and rollout shows it on the deployment as an `in_progress` status.
//!
//! The parts, from pure to I/O: [`Scheduler`] decides which phases become statuses and when (at
//! most one every 10 s, at most 10 a deployment, a newer line replacing an unsent one);
//! [`StatusBudget`] counts every status rollout posts on one deployment so that GitHub's limit of
//! 100 is never reached before the final status; [`PhaseLog`] records each phase's start and
//! duration for the summary and the PR comment, and [`failed_in`] names the phase a failed deploy
//! was in. [`PhaseFile`] is the file the command writes and [`PhaseTail`] reads it as it grows;
//! [`PhasePoster`] runs beside the command and posts through a [`PhaseSink`].
//!
//! A file rather than a marker in the command's output: what a deploy tool prints must not be able
//! to steer rollout, and a phase is the command's own word, never its output.

use crate::command::{signal_name, Outcome};
use crate::text::Description;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

mod file;
mod poster;
pub use file::{PhaseFile, PhaseFileError, PhaseTail, PHASE_FILE_VARIABLE};
pub use poster::{
    is_status_limit, PhasePoster, PhaseSink, PhasesOutcome, AWAIT_ON_CANCEL, AWAIT_ON_END,
};

/// The shortest time between two phase statuses: each is a write against `GITHUB_TOKEN`'s 1,000
/// requests an hour and GitHub's limit on content-creating requests.
pub const MIN_SPACING: Duration = Duration::from_secs(10);

/// The most phase statuses one deployment gets: a ten-target push multiplies them.
pub const MAX_PHASE_STATUSES: u32 = 10;

/// Why phases stopped becoming statuses before the command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spent {
    /// [`MAX_PHASE_STATUSES`] were posted.
    PhaseLimit,
    /// The deployment's [`StatusBudget`] has only the final status's room left.
    DeploymentLimit,
}

impl Spent {
    /// The log's sentence, naming the phase that is not posted.
    pub fn sentence(self, phase: &str) -> String {
        match self {
            Spent::PhaseLimit => format!(
                "phase {phase:?} is not posted on the deployment: rollout posts at most {MAX_PHASE_STATUSES} phases a deployment (later phases are in the log and the summary)"
            ),
            Spent::DeploymentLimit => format!(
                "phase {phase:?} is not posted on the deployment: it is close to GitHub's limit of {} statuses, and the rest is kept for the final status",
                StatusBudget::GITHUB_LIMIT
            ),
        }
    }
}

/// What [`Scheduler::take`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Take {
    /// Post this phase now; it is on the wire until [`Scheduler::landed`].
    Post(String),
    /// Nothing may go now: nothing unsent, one on the wire, or the 10 s are not over.
    Wait,
    /// The unsent phase was dropped, and so will every later one be.
    Spent(Spent, String),
}

/// What is left when the command ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ending {
    /// The phase that was waiting for its turn: dropped, since the final status follows at once.
    pub dropped: Option<String>,
    /// Whether a phase status is on the wire: the final status waits for it, or it could land
    /// after the final status and leave the deployment `in_progress`.
    pub on_the_wire: bool,
}

/// Decides which phases become `in_progress` statuses, and when. Pure: every decision takes the
/// time explicitly, so it is tested without a clock.
#[derive(Clone, Debug)]
pub struct Scheduler {
    spacing: Duration,
    /// The phase the command is in: a line repeating it is not a new phase.
    current: Option<String>,
    /// The newest phase not yet posted; a newer line replaces it.
    unsent: Option<String>,
    /// The phase the deployment shows (or will, once the one on the wire lands).
    shown: Option<String>,
    last_post: Option<Instant>,
    posted: u32,
    on_the_wire: bool,
    spent: Option<Spent>,
    ended: bool,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler::new()
    }
}

impl Scheduler {
    pub fn new() -> Scheduler {
        Scheduler::with_spacing(MIN_SPACING)
    }

    /// A scheduler whose posts are `spacing` apart instead of [`MIN_SPACING`]: for tests that
    /// talk to a real server, where paused time cannot be used.
    pub fn with_spacing(spacing: Duration) -> Scheduler {
        Scheduler {
            spacing,
            current: None,
            unsent: None,
            shown: None,
            last_post: None,
            posted: 0,
            on_the_wire: false,
            spent: None,
            ended: false,
        }
    }

    /// A line the command wrote. Returns the phase it entered (the line's text cut to GitHub's
    /// 140 characters), or `None` for a blank line or one repeating the current phase.
    pub fn offer(&mut self, line: &str) -> Option<String> {
        let text = Description::new(line).as_str().to_string();
        if text.is_empty() || self.current.as_deref() == Some(text.as_str()) {
            return None;
        }
        self.current = Some(text.clone());
        if !self.ended {
            // Back to the phase the deployment already shows: nothing to post.
            self.unsent = (self.shown.as_deref() != Some(text.as_str())).then(|| text.clone());
        }
        Some(text)
    }

    /// When the unsent phase may be posted, at `now` or later; `None` when there is nothing to
    /// post or one is on the wire (statuses go one at a time, in order).
    pub fn due(&self, now: Instant) -> Option<Instant> {
        if self.unsent.is_none() || self.on_the_wire || self.ended {
            return None;
        }
        Some(match self.last_post {
            Some(last) => (last + self.spacing).max(now),
            None => now,
        })
    }

    /// The phase to post at `now`, if one may go. A post takes one status from `budget`.
    pub fn take(&mut self, now: Instant, budget: &StatusBudget) -> Take {
        match self.due(now) {
            Some(due) if due <= now => {}
            _ => return Take::Wait,
        }
        let Some(phase) = self.unsent.take() else {
            return Take::Wait;
        };
        let spent = if self.posted >= MAX_PHASE_STATUSES {
            Some(Spent::PhaseLimit)
        } else if !budget.try_take() {
            Some(Spent::DeploymentLimit)
        } else {
            None
        };
        if let Some(spent) = spent {
            self.spent = Some(spent);
            self.ended = true;
            return Take::Spent(spent, phase);
        }
        self.posted += 1;
        self.last_post = Some(now);
        self.on_the_wire = true;
        self.shown = Some(phase.clone());
        Take::Post(phase)
    }

    /// The phase on the wire got its answer (whatever it was).
    pub fn landed(&mut self) {
        self.on_the_wire = false;
    }

    /// No more phase statuses (GitHub refused one, or the run was cancelled); lines are still
    /// read as phases for the record.
    pub fn stop(&mut self) {
        self.ended = true;
        self.unsent = None;
    }

    /// The command ended: the unsent phase is dropped.
    pub fn end(&mut self) -> Ending {
        self.ended = true;
        Ending {
            dropped: self.unsent.take(),
            on_the_wire: self.on_the_wire,
        }
    }

    /// Phase statuses taken so far (sent, or on the wire).
    pub fn posted(&self) -> u32 {
        self.posted
    }

    pub fn spent(&self) -> Option<Spent> {
        self.spent
    }
}

/// The statuses rollout has posted on one deployment (in progress, supersede, re-sends, phases,
/// final), shared by everything that posts on it. GitHub refuses a deployment's 101st status
/// ("This deployment has reached the maximum number of statuses"); the budget keeps
/// [`StatusBudget::KEPT_FOR_FINAL`] of them for the final status whatever else was posted.
#[derive(Clone, Debug, Default)]
pub struct StatusBudget(Arc<AtomicU32>);

impl StatusBudget {
    pub const GITHUB_LIMIT: u32 = 100;
    /// The final status, its re-send when a write a cancel overtook lands after it, and
    /// `inactive` again when a newer run superseded the deployment while its command ran.
    pub const KEPT_FOR_FINAL: u32 = 3;

    /// A deployment rollout just created: no status yet.
    pub fn new() -> StatusBudget {
        StatusBudget::default()
    }

    /// A deployment that already has `count` statuses (`step: finish` of one `step: start` made).
    pub fn already_posted(count: u32) -> StatusBudget {
        StatusBudget(Arc::new(AtomicU32::new(count)))
    }

    /// Takes one status that is not final; `false` leaves only the final status's room.
    pub fn try_take(&self) -> bool {
        self.take_below(Self::GITHUB_LIMIT - Self::KEPT_FOR_FINAL)
    }

    /// Takes one status for the final status or its re-send; `false` only when GitHub would
    /// refuse it.
    pub fn take_final(&self) -> bool {
        self.take_below(Self::GITHUB_LIMIT)
    }

    fn take_below(&self, limit: u32) -> bool {
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < limit).then_some(n + 1)
            })
            .is_ok()
    }

    /// The deployment has at least `count` statuses (read back from GitHub): statuses that
    /// someone else posted on it count against GitHub's limit as much as rollout's own.
    pub fn at_least(&self, count: u32) {
        self.0.fetch_max(count, Ordering::SeqCst);
    }

    /// Statuses taken so far.
    pub fn posted(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The most phases a record keeps: the summary has 1 MiB, and a command writing a line a
/// millisecond must not fill it. The phase the command ended in is always kept.
pub const MAX_RECORDED: usize = 50;

/// One phase of a deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Phase {
    pub text: String,
    /// Since the command started.
    pub start: Duration,
    /// Until the next phase started, or the command ended.
    pub duration: Duration,
}

/// The phases of one command run, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PhaseRecord {
    pub phases: Vec<Phase>,
    /// Phases left out between the kept ones and the last ([`MAX_RECORDED`]).
    pub omitted: usize,
}

impl PhaseRecord {
    /// The phase the command was in when it ended.
    pub fn ended_in(&self) -> Option<&str> {
        self.phases.last().map(|p| p.text.as_str())
    }
}

/// Collects phases as the command enters them.
#[derive(Clone, Debug)]
pub struct PhaseLog {
    started: Instant,
    entered: Vec<(String, Instant)>,
    /// Past [`MAX_RECORDED`]: when the first left-out phase started, how many are left out, and
    /// the newest.
    overflow: Option<(Instant, usize, String, Instant)>,
}

impl PhaseLog {
    /// `started`: when the command started.
    pub fn new(started: Instant) -> PhaseLog {
        PhaseLog {
            started,
            entered: Vec::new(),
            overflow: None,
        }
    }

    pub fn enter(&mut self, text: String, at: Instant) {
        if self.entered.len() < MAX_RECORDED - 1 {
            self.entered.push((text, at));
            return;
        }
        self.overflow = Some(match self.overflow.take() {
            None => (at, 0, text, at),
            Some((first, skipped, _, _)) => (first, skipped + 1, text, at),
        });
    }

    /// The record, the last phase ending at `ended` (when the command ended).
    pub fn end(self, ended: Instant) -> PhaseRecord {
        let since = |at: Instant| at.saturating_duration_since(self.started);
        let cut_off = self.overflow.as_ref().map(|(first, ..)| *first);
        let mut phases = Vec::with_capacity(self.entered.len() + 1);
        for (i, (text, at)) in self.entered.iter().enumerate() {
            let until = self
                .entered
                .get(i + 1)
                .map(|(_, next)| *next)
                .or(cut_off)
                .unwrap_or(ended);
            phases.push(Phase {
                text: text.clone(),
                start: since(*at),
                duration: until.saturating_duration_since(*at),
            });
        }
        let mut omitted = 0;
        if let Some((_, skipped, text, at)) = self.overflow {
            omitted = skipped;
            phases.push(Phase {
                text,
                start: since(at),
                duration: ended.saturating_duration_since(at),
            });
        }
        PhaseRecord { phases, omitted }
    }
}

/// A failed deploy's final description: `Failed in Migrating database: exit 1`. The phase is cut
/// (with an ellipsis) so that the whole fits GitHub's 140 characters; `exit` is kept whole when
/// it leaves room for a phase at all.
pub fn failed_in(phase: &str, exit: &str) -> String {
    in_phase("Failed in", phase, exit)
}

/// `Cancelled in migrate: SIGINT after 12s`, within the 140 characters as [`failed_in`].
pub fn cancelled_in(phase: &str, how: &str) -> String {
    in_phase("Cancelled in", phase, how)
}

fn in_phase(what: &str, phase: &str, exit: &str) -> String {
    let phase = phase.trim();
    let whole = format!("{what} {phase}: {exit}");
    let length = whole.chars().count();
    if length <= Description::MAX_CHARS {
        return whole;
    }
    let room =
        Description::MAX_CHARS as isize - (length as isize - phase.chars().count() as isize) - 1;
    if room < 1 {
        return Description::new(&whole).as_str().to_string();
    }
    let cut: String = phase.chars().take(room as usize).collect();
    format!("{what} {cut}…: {exit}")
}

/// A command's outcome in the few words [`failed_in`] puts after the phase.
pub fn outcome_words(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Exited(code) => format!("exit {code}"),
        Outcome::Killed(sig) => format!("killed by {}", signal_name(*sig)),
        Outcome::TimedOut(limit) => format!("timed out after {}s", limit.as_secs()),
        Outcome::Cancelled(sig) => format!("cancelled by {}", signal_name(*sig)),
        Outcome::NotStarted(_) => "the command did not start".to_string(),
    }
}

/// One phase as the step summary and the PR comment show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhaseRow {
    pub phase: String,
    /// Since the command started: `+1m 05s`.
    pub start: String,
    pub duration: String,
}

/// The rows of a record, with a last row saying how many phases were left out, if any.
pub fn phase_rows(record: &PhaseRecord) -> Vec<PhaseRow> {
    let mut rows: Vec<PhaseRow> = record
        .phases
        .iter()
        .map(|p| {
            // Rounded at both ends, so that the durations add up to the run's.
            let from = crate::text::round_secs(p.start);
            let to = crate::text::round_secs(p.start + p.duration);
            PhaseRow {
                phase: p.text.clone(),
                start: format!("+{}", span(Duration::from_secs(from))),
                duration: span(Duration::from_secs(to.saturating_sub(from))),
            }
        })
        .collect();
    if record.omitted > 0 {
        // Before the phase the command ended in, where the left-out ones were.
        let at = rows.len().saturating_sub(1);
        rows.insert(
            at,
            PhaseRow {
                phase: format!("({} more phases)", record.omitted),
                start: String::new(),
                duration: String::new(),
            },
        );
    }
    rows
}

/// A duration as people read it in a table: `42s`, `3m 05s`, `1h 02m 03s`.
fn span(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m {sec:02}s"),
        (h, min, sec) => format!("{h}h {min:02}m {sec:02}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    /// Feeds `lines` at their offsets from `t0`, taking whatever may go at each moment and
    /// answering each post at once; returns the posts with their offsets.
    fn replay(
        scheduler: &mut Scheduler,
        budget: &StatusBudget,
        t0: Instant,
        lines: &[(u64, &str)],
        until: u64,
    ) -> Vec<(u64, String)> {
        let mut posts = Vec::new();
        let mut lines = lines.iter().peekable();
        for second in 0..=until {
            let now = t0 + secs(second);
            while let Some((_, line)) = lines.next_if(|(at, _)| *at == second) {
                scheduler.offer(line);
            }
            if let Take::Post(p) = scheduler.take(now, budget) {
                posts.push((second, p));
                scheduler.landed();
            }
        }
        posts
    }

    #[test]
    fn many_lines_in_one_window_become_one_status_the_newest() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let budget = StatusBudget::new();
        let posts = replay(
            &mut s,
            &budget,
            t0,
            &[
                (0, "Building image"),
                (1, "Pushing layer 1"),
                (2, "Pushing layer 2"),
                (3, "Pushing layer 3"),
                (4, "Rolling out"),
            ],
            30,
        );
        assert_eq!(
            posts,
            vec![(0, "Building image".into()), (10, "Rolling out".into())]
        );
        assert_eq!(budget.posted(), 2);
    }

    #[test]
    fn a_post_waits_for_the_one_on_the_wire_however_long_it_takes() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let budget = StatusBudget::new();
        s.offer("Building");
        assert_eq!(s.take(t0, &budget), Take::Post("Building".into()));
        s.offer("Pushing");
        assert_eq!(s.due(t0 + secs(20)), None, "one on the wire");
        assert_eq!(s.take(t0 + secs(20), &budget), Take::Wait);
        s.landed();
        assert_eq!(s.due(t0 + secs(20)), Some(t0 + secs(20)));
        assert_eq!(s.take(t0 + secs(20), &budget), Take::Post("Pushing".into()));
    }

    #[test]
    fn posts_keep_the_order_of_the_lines() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let posts = replay(
            &mut s,
            &StatusBudget::new(),
            t0,
            &[(0, "one"), (12, "two"), (25, "three"), (40, "four")],
            60,
        );
        let texts: Vec<&str> = posts.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(texts, ["one", "two", "three", "four"]);
        let times: Vec<u64> = posts.iter().map(|(t, _)| *t).collect();
        assert_eq!(times, [0, 12, 25, 40]);
    }

    #[test]
    fn at_most_ten_phase_statuses_a_deployment() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let budget = StatusBudget::new();
        let lines: Vec<(u64, String)> = (0..15).map(|i| (i * 10, format!("step {i}"))).collect();
        let borrowed: Vec<(u64, &str)> = lines.iter().map(|(t, l)| (*t, l.as_str())).collect();
        let posts = replay(&mut s, &budget, t0, &borrowed, 200);
        assert_eq!(posts.len(), MAX_PHASE_STATUSES as usize);
        assert_eq!(posts.last().map(|(_, p)| p.as_str()), Some("step 9"));
        assert_eq!(s.spent(), Some(Spent::PhaseLimit));
        assert_eq!(budget.posted(), 10, "the refused one took nothing");
        // The record still sees every phase.
        assert_eq!(s.offer("step 99"), Some("step 99".into()));
    }

    #[test]
    fn phases_stop_where_the_deployment_budget_keeps_the_final_status() {
        let t0 = Instant::now();
        let budget = StatusBudget::already_posted(
            StatusBudget::GITHUB_LIMIT - StatusBudget::KEPT_FOR_FINAL - 2,
        );
        let mut s = Scheduler::new();
        let posts = replay(
            &mut s,
            &budget,
            t0,
            &[(0, "a"), (10, "b"), (20, "c"), (30, "d")],
            40,
        );
        assert_eq!(posts.len(), 2);
        assert_eq!(s.spent(), Some(Spent::DeploymentLimit));
        for _ in 0..StatusBudget::KEPT_FOR_FINAL {
            assert!(budget.take_final());
        }
        assert!(!budget.take_final(), "the 101st status is never asked for");
        assert_eq!(budget.posted(), StatusBudget::GITHUB_LIMIT);
    }

    #[test]
    fn statuses_read_back_raise_the_count_but_never_lower_it() {
        let budget = StatusBudget::new();
        assert!(budget.try_take());
        budget.at_least(96);
        assert_eq!(budget.posted(), 96);
        budget.at_least(5);
        assert_eq!(
            budget.posted(),
            96,
            "a shorter read does not give room back"
        );
        assert!(budget.try_take());
        assert!(!budget.try_take(), "97 leaves only the final status's room");
        assert!(budget.take_final());
    }

    #[test]
    fn a_budget_shared_by_clones_counts_every_status_once() {
        let budget = StatusBudget::new();
        let other = budget.clone();
        let taken = (0..200)
            .filter(|i| {
                if i % 2 == 0 {
                    budget.try_take()
                } else {
                    other.try_take()
                }
            })
            .count() as u32;
        assert_eq!(
            taken,
            StatusBudget::GITHUB_LIMIT - StatusBudget::KEPT_FOR_FINAL
        );
        assert_eq!(other.posted(), taken);
    }

    #[test]
    fn long_multibyte_phases_are_cut_to_140_characters_on_a_boundary() {
        let mut s = Scheduler::new();
        let line = "Déploiement 🚀 ".repeat(20);
        let phase = s.offer(&line).unwrap_or_default();
        assert_eq!(phase.chars().count(), 140);
        assert!(phase.ends_with('…'), "{phase}");
        assert!(line.starts_with(phase.trim_end_matches('…')));
    }

    #[test]
    fn blank_lines_and_the_current_phase_are_not_phases() {
        let mut s = Scheduler::new();
        assert_eq!(s.offer("   "), None);
        assert_eq!(s.offer(""), None);
        assert_eq!(s.offer("Building\r"), Some("Building".into()));
        assert_eq!(s.offer("  Building "), None);
        assert_eq!(s.offer("Pushing"), Some("Pushing".into()));
        assert_eq!(s.offer("Building"), Some("Building".into()));
    }

    #[test]
    fn returning_to_the_phase_on_show_posts_nothing() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let budget = StatusBudget::new();
        s.offer("Building");
        assert_eq!(s.take(t0, &budget), Take::Post("Building".into()));
        s.landed();
        s.offer("Pushing");
        s.offer("Building");
        assert_eq!(s.take(t0 + secs(10), &budget), Take::Wait);
        assert_eq!(budget.posted(), 1);
    }

    #[test]
    fn the_end_drops_the_unsent_phase_and_names_the_one_on_the_wire() {
        let t0 = Instant::now();
        let mut s = Scheduler::new();
        let budget = StatusBudget::new();
        s.offer("Building");
        assert_eq!(s.take(t0, &budget), Take::Post("Building".into()));
        s.offer("Pushing");
        assert_eq!(
            s.end(),
            Ending {
                dropped: Some("Pushing".into()),
                on_the_wire: true
            }
        );
        s.offer("Late");
        s.landed();
        assert_eq!(s.take(t0 + secs(60), &budget), Take::Wait);
    }

    #[test]
    fn the_record_gives_each_phase_its_start_and_duration() {
        let t0 = Instant::now();
        let mut log = PhaseLog::new(t0);
        log.enter("Building".into(), t0 + secs(2));
        log.enter("Pushing".into(), t0 + secs(65));
        let record = log.end(t0 + secs(3700));
        assert_eq!(record.ended_in(), Some("Pushing"));
        assert_eq!(
            record.phases,
            vec![
                Phase {
                    text: "Building".into(),
                    start: secs(2),
                    duration: secs(63)
                },
                Phase {
                    text: "Pushing".into(),
                    start: secs(65),
                    duration: secs(3635)
                },
            ]
        );
        let rows = phase_rows(&record);
        assert_eq!(
            (rows[0].start.as_str(), rows[0].duration.as_str()),
            ("+2s", "1m 03s")
        );
        assert_eq!(
            (rows[1].start.as_str(), rows[1].duration.as_str()),
            ("+1m 05s", "1h 00m 35s")
        );
    }

    #[test]
    fn a_flood_of_phases_keeps_the_first_ones_and_the_last() {
        let t0 = Instant::now();
        let mut log = PhaseLog::new(t0);
        for i in 0..500u64 {
            log.enter(format!("p{i}"), t0 + secs(i));
        }
        let record = log.end(t0 + secs(1000));
        assert_eq!(record.phases.len(), MAX_RECORDED);
        assert_eq!(record.omitted, 500 - MAX_RECORDED);
        let kept_last = &record.phases[MAX_RECORDED - 2];
        assert_eq!(kept_last.text, format!("p{}", MAX_RECORDED - 2));
        assert_eq!(
            kept_last.duration,
            secs(1),
            "ends where the left-out ones begin"
        );
        assert_eq!(record.ended_in(), Some("p499"));
        assert_eq!(record.phases[MAX_RECORDED - 1].duration, secs(501));
        let rows = phase_rows(&record);
        assert_eq!(rows.len(), MAX_RECORDED + 1);
        assert_eq!(rows[MAX_RECORDED - 1].phase, "(450 more phases)");
        assert_eq!(rows[MAX_RECORDED].phase, "p499");
    }

    #[test]
    fn the_summary_table_shows_each_phase_and_escapes_its_text() {
        let t0 = Instant::now();
        let mut log = PhaseLog::new(t0);
        log.enter("Build | push <b>".into(), t0);
        log.enter("Roll out".into(), t0 + secs(42));
        let table = crate::report::phase_table(&phase_rows(&log.end(t0 + secs(50))));
        assert_eq!(
            table,
            "| Phase | Start | Duration |\n|---|---|---|\n\
             | Build &#124; push &#60;b&#62; | +0s | 42s |\n\
             | Roll out | +42s | 8s |\n\n"
        );
        assert_eq!(crate::report::phase_table(&[]), "");
    }

    #[test]
    fn failed_in_names_the_phase_and_fits_140_characters() {
        assert_eq!(
            failed_in("Migrating database", "exit 1"),
            "Failed in Migrating database: exit 1"
        );
        let long = "Migrer la base de données ✨ ".repeat(10);
        let d = failed_in(&long, "exit 1");
        assert_eq!(d.chars().count(), 140, "{d}");
        assert!(d.starts_with("Failed in Migrer"), "{d}");
        assert!(d.ends_with("…: exit 1"), "{d}");
        let d = failed_in(&long, &"x".repeat(200));
        assert!(d.chars().count() <= 140, "{d}");
        let d = failed_in(&"é".repeat(140), "timed out after 90s");
        assert_eq!(d.chars().count(), 140, "{d}");
    }

    #[test]
    fn outcomes_in_few_words() {
        assert_eq!(outcome_words(&Outcome::Exited(1)), "exit 1");
        assert_eq!(
            outcome_words(&Outcome::TimedOut(secs(90))),
            "timed out after 90s"
        );
        assert_eq!(outcome_words(&Outcome::Killed(9)), "killed by SIGKILL");
    }
}
