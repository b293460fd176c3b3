//! The poster: runs beside the command, reads the phase file as it grows and posts phases as the
//! [`Scheduler`] allows, one at a time and in order. When the command ends it reads the file a
//! last time, drops the phase not yet sent and waits for the one on the wire, so that the final
//! status, posted after it, stays the deployment's last.

use super::{PhaseFile, PhaseLog, PhaseRecord, PhaseTail, Scheduler, StatusBudget, Take};
use crate::github::{ApiError, DeploymentClient, NewStatus, State};
use crate::signals::Cancel;
use crate::text::Untrusted;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

/// How often the phase file is looked at: a phase shows on GitHub at most every 10 s, so a
/// quarter of a second is both prompt and cheap.
const LOOK_EVERY: Duration = Duration::from_millis(250);

/// How long the command's end waits for a phase on the wire. A status post may retry through a
/// rate limit for minutes; past this the final status goes first, and [`PhasesOutcome::late`]
/// says that it may have to go again.
pub const AWAIT_ON_END: Duration = Duration::from_secs(30);

/// The same after a cancel: the runner kills the job 10 s after its first signal, and the final
/// status needs that time.
pub const AWAIT_ON_CANCEL: Duration = Duration::from_secs(2);

/// Where phase statuses go: GitHub through [`DeploymentClient`], or a recorder in tests.
pub trait PhaseSink: Clone + Send + Sync + 'static {
    fn post_status(
        &self,
        deployment: u64,
        status: NewStatus,
    ) -> impl Future<Output = Result<(), ApiError>> + Send;
}

impl PhaseSink for DeploymentClient {
    fn post_status(
        &self,
        deployment: u64,
        status: NewStatus,
    ) -> impl Future<Output = Result<(), ApiError>> + Send {
        let client = self.clone();
        async move { client.create_status(deployment, &status).await }
    }
}

/// Whether GitHub refused a status because the deployment has 100 already.
pub fn is_status_limit(e: &ApiError) -> bool {
    match e {
        ApiError::Status {
            status: 422,
            message,
            errors,
            ..
        } => [message, errors]
            .iter()
            .any(|text| text.contains("maximum number of statuses")),
        _ => false,
    }
}

/// What the phases of one command run came to.
#[derive(Debug)]
pub struct PhasesOutcome {
    pub record: PhaseRecord,
    /// Phase statuses posted (or attempted: a failed post may have landed).
    pub posted: u32,
    /// A phase status still on the wire after [`AWAIT_ON_END`] (or [`AWAIT_ON_CANCEL`]): it may
    /// land after the final status, so once it is done the final status is posted again.
    pub late: Option<JoinHandle<()>>,
}

/// A gate the first phase waits for: the deploy's own `in_progress` status, which a phase must
/// not overtake.
type Gate = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Posts the phases of one deployment.
pub struct PhasePoster<S: PhaseSink> {
    sink: S,
    deployment: u64,
    log_url: String,
    environment_url: Option<String>,
    budget: StatusBudget,
    cancel: Cancel,
    gate: Option<Gate>,
    spacing: Duration,
    /// How long the command's end waits for a phase on the wire ([`AWAIT_ON_END`]).
    await_on_end: Duration,
}

impl<S: PhaseSink> PhasePoster<S> {
    /// `budget` is the deployment's, shared with every other status posted on it.
    pub fn new(
        sink: S,
        deployment: u64,
        log_url: &str,
        budget: StatusBudget,
        cancel: Cancel,
    ) -> PhasePoster<S> {
        PhasePoster {
            sink,
            deployment,
            log_url: log_url.to_string(),
            environment_url: None,
            budget,
            cancel,
            gate: None,
            spacing: super::MIN_SPACING,
            await_on_end: AWAIT_ON_END,
        }
    }

    pub fn with_environment_url(mut self, url: Option<String>) -> PhasePoster<S> {
        self.environment_url = url;
        self
    }

    /// No phase is posted before `gate` resolves (the deploy's `in_progress` status landing).
    /// It is first polled when the first phase is ready to go, and not at all without one.
    pub fn after(mut self, gate: impl Future<Output = ()> + Send + 'static) -> PhasePoster<S> {
        self.gate = Some(Box::pin(gate));
        self
    }

    /// Posts `spacing` apart instead of 10 s: for tests against a real server.
    pub fn with_spacing(mut self, spacing: Duration) -> PhasePoster<S> {
        self.spacing = spacing;
        self
    }

    /// Every wait of the poster (the 10 s spacing, the 30 s for a phase on the wire) times
    /// `scale`: `ROLLOUT_TEST_TIME_SCALE`, as it shortens every other wait.
    pub fn with_time_scale(mut self, scale: f64) -> PhasePoster<S> {
        self.spacing = super::MIN_SPACING.mul_f64(scale);
        self.await_on_end = AWAIT_ON_END.mul_f64(scale);
        self
    }

    /// Runs `command` with the phases of `file` posted beside it; returns both results once the
    /// command ended and the phase on the wire (if any) is settled.
    pub async fn beside<F: Future>(
        self,
        file: &PhaseFile,
        command: F,
    ) -> (F::Output, PhasesOutcome) {
        let (ended, end_seen) = tokio::sync::oneshot::channel::<()>();
        let started = Instant::now();
        let run = async move {
            let output = command.await;
            let _ = ended.send(());
            output
        };
        let watch = self.run(file.tail(), started, async move {
            let _ = end_seen.await;
        });
        tokio::join!(run, watch)
    }

    /// Reads `tail` until `ended` resolves (the command ended), posting phases as it goes.
    /// `started` is when the command started, for the record's times.
    pub async fn run(
        mut self,
        mut tail: PhaseTail,
        started: Instant,
        ended: impl Future<Output = ()>,
    ) -> PhasesOutcome {
        let mut scheduler = Scheduler::with_spacing(self.spacing);
        let mut log = PhaseLog::new(started);
        let mut wire: Option<JoinHandle<Result<(), ApiError>>> = None;
        let mut wait_until: Option<Instant> = None;
        let mut cancel = self.cancel.clone();
        let mut cancelled = false;
        let mut gate = self.gate.take();
        let mut look = tokio::time::interval(LOOK_EVERY);
        look.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::pin!(ended);
        loop {
            let wanted = scheduler.due(Instant::now());
            // The gate is only awaited once a phase waits for it: a gate that reads from GitHub
            // costs nothing for a command that never writes the file.
            let gated = gate.is_some() && wanted.is_some();
            let due = if gate.is_none() { wanted } else { None };
            tokio::select! {
                biased;
                () = &mut ended => break,
                _ = cancel.fired(), if !cancelled => {
                    cancelled = true;
                    scheduler.stop();
                    wait_until = Some(Instant::now() + AWAIT_ON_CANCEL);
                }
                () = pending_or(gate.as_mut()), if gated => gate = None,
                answer = pending_or(wire.as_mut()), if wire.is_some() => {
                    wire = None;
                    scheduler.landed();
                    self.answered(answer, &mut scheduler);
                }
                () = tokio::time::sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => {
                    match scheduler.take(Instant::now(), &self.budget) {
                        Take::Post(phase) => wire = Some(self.post(&phase)),
                        Take::Spent(spent, phase) => tracing::info!("{}", spent.sentence(&phase)),
                        Take::Wait => {}
                    }
                }
                _ = look.tick() => {
                    for line in tail.poll() {
                        enter(&mut scheduler, &mut log, &line, Instant::now());
                    }
                }
            }
        }
        let ended_at = Instant::now();
        // What the command wrote last, often the phase it failed in: recorded, never posted.
        let ending = scheduler.end();
        for line in tail.finish() {
            enter(&mut scheduler, &mut log, &line, ended_at);
        }
        if let Some(dropped) = ending.dropped {
            tracing::debug!(
                "phase \"{}\" is not posted: the command ended first",
                Untrusted(&dropped)
            );
        }
        let late = match wire {
            Some(mut handle) => {
                let deadline = wait_until.unwrap_or(ended_at + self.await_on_end);
                match tokio::time::timeout_at(deadline, &mut handle).await {
                    Ok(answer) => {
                        self.answered(answer, &mut scheduler);
                        None
                    }
                    Err(_) => {
                        tracing::info!(
                            "a phase status is still on its way to GitHub; the final status goes first, and again once it is settled"
                        );
                        Some(tokio::spawn(async move {
                            let _ = handle.await;
                        }))
                    }
                }
            }
            None => None,
        };
        PhasesOutcome {
            record: log.end(ended_at),
            posted: scheduler.posted(),
            late,
        }
    }

    fn post(&self, phase: &str) -> JoinHandle<Result<(), ApiError>> {
        let status = NewStatus::new(State::InProgress, phase, &self.log_url)
            .with_environment_url(self.environment_url.clone());
        let sink = self.sink.clone();
        let deployment = self.deployment;
        tokio::spawn(async move { sink.post_status(deployment, status).await })
    }

    /// A phase status's answer. A refusal ends the phases: the next would be refused the same
    /// way, and each costs a write.
    fn answered(
        &self,
        answer: Result<Result<(), ApiError>, tokio::task::JoinError>,
        scheduler: &mut Scheduler,
    ) {
        let error = match answer {
            Ok(Ok(())) => return,
            Ok(Err(ApiError::Cancelled { .. })) => return,
            Ok(Err(e)) if is_status_limit(&e) => format!(
                "deployment {} has reached GitHub's limit of {} statuses; no more phases are posted on it",
                self.deployment,
                StatusBudget::GITHUB_LIMIT
            ),
            Ok(Err(e)) => format!(
                "{}; no more phases are posted on deployment {}",
                e.explain("Posting a phase status", "deployments: write"),
                self.deployment
            ),
            Err(e) => format!("posting a phase status stopped: {e}"),
        };
        tracing::warn!("{error}");
        scheduler.stop();
    }
}

/// A new line of the phase file: the log marks each phase once.
fn enter(scheduler: &mut Scheduler, log: &mut PhaseLog, line: &str, at: Instant) {
    if let Some(phase) = scheduler.offer(line) {
        tracing::info!("phase: {}", Untrusted(&phase));
        log.enter(phase, at);
    }
}

/// Awaits `future`, or never when there is none (a `select!` branch that is off).
async fn pending_or<F: Future + Unpin>(future: Option<&mut F>) -> F::Output {
    match future {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::super::MIN_SPACING;
    use super::*;
    use http::Method;
    use std::io::Write;
    use std::path::Path;
    use std::sync::{Arc, Mutex};
    use tokio::sync::watch;

    #[derive(Clone, Debug)]
    struct Post {
        phase: String,
        sent: Duration,
        answered: Duration,
    }

    /// A sink that takes `latency` to answer and records each post's times since `t0`; posts
    /// past `refuse_from` get GitHub's answer to a deployment's 101st status.
    #[derive(Clone)]
    struct Recorder {
        t0: Instant,
        latency: Duration,
        refuse_from: usize,
        posts: Arc<Mutex<Vec<Post>>>,
        at_once: Arc<Mutex<(u32, u32)>>,
    }

    impl Recorder {
        fn new(latency: Duration) -> Recorder {
            Recorder {
                t0: Instant::now(),
                latency,
                refuse_from: usize::MAX,
                posts: Arc::default(),
                at_once: Arc::default(),
            }
        }
        fn posts(&self) -> Vec<Post> {
            self.posts.lock().unwrap().clone()
        }
        fn phases(&self) -> Vec<String> {
            self.posts().into_iter().map(|p| p.phase).collect()
        }
        /// The most posts that were on the wire together.
        fn most_at_once(&self) -> u32 {
            self.at_once.lock().unwrap().1
        }
    }

    impl PhaseSink for Recorder {
        fn post_status(
            &self,
            deployment: u64,
            status: NewStatus,
        ) -> impl Future<Output = Result<(), ApiError>> + Send {
            let me = self.clone();
            async move {
                assert_eq!(deployment, 7);
                assert_eq!(status.state, State::InProgress);
                assert_eq!(status.log_url.as_deref(), Some("https://x/run"));
                {
                    let mut n = me.at_once.lock().unwrap();
                    n.0 += 1;
                    n.1 = n.1.max(n.0);
                }
                let sent = me.t0.elapsed();
                tokio::time::sleep(me.latency).await;
                me.at_once.lock().unwrap().0 -= 1;
                let mut posts = me.posts.lock().unwrap();
                if posts.len() >= me.refuse_from {
                    return Err(ApiError::Status {
                        status: 422,
                        method: Method::POST,
                        path: "/repos/o/r/deployments/7/statuses".into(),
                        message: "Validation Failed".into(),
                        errors: "This deployment has reached the maximum number of statuses".into(),
                        rate_limited: false,
                    });
                }
                posts.push(Post {
                    phase: status.description.as_str().to_string(),
                    sent,
                    answered: me.t0.elapsed(),
                });
                Ok(())
            }
        }
    }

    enum Act {
        Append(&'static str),
        AppendOwned(String),
        Truncate(&'static str),
        Delete,
        Cancel,
    }

    /// A command that does `acts` at their second, then ends at `end`; runs it with a poster
    /// and returns the outcome and when (seconds) the poster returned.
    async fn run(
        sink: &Recorder,
        poster: impl FnOnce(PhasePoster<Recorder>) -> PhasePoster<Recorder>,
        acts: Vec<(f64, Act)>,
        end: f64,
    ) -> (PhasesOutcome, f64) {
        let file = PhaseFile::create().unwrap();
        let path = file.path().to_path_buf();
        let (tx, rx) = watch::channel(None);
        let t0 = sink.t0;
        let poster = poster(PhasePoster::new(
            sink.clone(),
            7,
            "https://x/run",
            StatusBudget::new(),
            Cancel::new(rx),
        ));
        let command = async move {
            for (at, act) in acts {
                tokio::time::sleep_until(t0 + Duration::from_secs_f64(at)).await;
                match act {
                    Act::Append(text) => append(&path, text.as_bytes()),
                    Act::AppendOwned(text) => append(&path, text.as_bytes()),
                    Act::Truncate(text) => std::fs::write(&path, text).unwrap(),
                    Act::Delete => std::fs::remove_file(&path).unwrap(),
                    Act::Cancel => tx.send(Some(2)).unwrap(),
                }
            }
            tokio::time::sleep_until(t0 + Duration::from_secs_f64(end)).await;
        };
        let ((), outcome) = poster.beside(&file, command).await;
        (outcome, t0.elapsed().as_secs_f64())
    }

    fn append(path: &Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    fn texts(outcome: &PhasesOutcome) -> Vec<&str> {
        outcome
            .record
            .phases
            .iter()
            .map(|p| p.text.as_str())
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn a_file_never_written_gives_no_phases_and_no_posts() {
        let sink = Recorder::new(Duration::from_millis(100));
        let (outcome, returned) = run(&sink, |p| p, vec![], 30.0).await;
        assert!(outcome.record.phases.is_empty());
        assert_eq!(outcome.posted, 0);
        assert!(sink.posts().is_empty());
        assert!(outcome.late.is_none());
        assert!(returned < 30.5, "{returned}");
    }

    #[tokio::test(start_paused = true)]
    async fn lines_in_one_window_post_the_first_and_then_the_newest_in_order() {
        let sink = Recorder::new(Duration::from_millis(300));
        let (outcome, _) = run(
            &sink,
            |p| p,
            vec![
                (0.0, Act::Append("Building image\n")),
                (1.0, Act::Append("Pushing layer 1\nPushing layer 2\n")),
                (2.0, Act::Append("Rolling out\n")),
            ],
            25.0,
        )
        .await;
        assert_eq!(sink.phases(), ["Building image", "Rolling out"]);
        let posts = sink.posts();
        let gap = posts[1].sent - posts[0].sent;
        assert!(
            gap >= MIN_SPACING && gap < MIN_SPACING + Duration::from_secs(1),
            "{gap:?}"
        );
        assert_eq!(sink.most_at_once(), 1);
        assert_eq!(outcome.posted, 2);
        assert_eq!(
            texts(&outcome),
            [
                "Building image",
                "Pushing layer 1",
                "Pushing layer 2",
                "Rolling out"
            ]
        );
        let last = &outcome.record.phases[3];
        assert!(
            (last.start + last.duration).as_secs_f64() > 24.9,
            "the last phase lasts until the command ends: {last:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_longer_than_140_characters_is_posted_cut() {
        let sink = Recorder::new(Duration::from_millis(10));
        let long = format!("{}\n", "Übertragung läuft ".repeat(20));
        let (outcome, _) = run(&sink, |p| p, vec![(0.0, Act::AppendOwned(long))], 2.0).await;
        let posted = sink.phases();
        assert_eq!(posted.len(), 1);
        assert_eq!(posted[0].chars().count(), 140);
        assert!(posted[0].starts_with("Übertragung läuft Über"));
        assert_eq!(texts(&outcome), [posted[0].as_str()]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_truncated_file_goes_on_and_the_unsent_phase_is_dropped_at_the_end() {
        let sink = Recorder::new(Duration::from_millis(10));
        let (outcome, _) = run(
            &sink,
            |p| p,
            vec![
                (0.0, Act::Append("Building\n")),
                (5.0, Act::Truncate("Migrating\n")),
            ],
            8.0,
        )
        .await;
        assert_eq!(texts(&outcome), ["Building", "Migrating"]);
        assert_eq!(
            sink.phases(),
            ["Building"],
            "Migrating's turn came after the end"
        );
        assert_eq!(outcome.record.ended_in(), Some("Migrating"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deleted_file_ends_the_phases_without_an_error() {
        let sink = Recorder::new(Duration::from_millis(10));
        let (outcome, _) = run(
            &sink,
            |p| p,
            vec![(0.0, Act::Append("Building\n")), (3.0, Act::Delete)],
            30.0,
        )
        .await;
        assert_eq!(texts(&outcome), ["Building"]);
        assert_eq!(sink.phases(), ["Building"]);
        assert!(outcome.late.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn the_last_line_without_a_line_break_is_the_phase_the_command_ended_in() {
        let sink = Recorder::new(Duration::from_millis(10));
        let (outcome, _) = run(
            &sink,
            |p| p,
            vec![
                (0.0, Act::Append("Building\n")),
                (20.0, Act::Append("Migrating database")),
            ],
            20.1,
        )
        .await;
        assert_eq!(outcome.record.ended_in(), Some("Migrating database"));
        assert_eq!(sink.phases(), ["Building"]);
        assert_eq!(
            super::super::failed_in(outcome.record.ended_in().unwrap_or(""), "exit 1"),
            "Failed in Migrating database: exit 1"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_phase_on_the_wire_is_awaited_before_returning() {
        let sink = Recorder::new(Duration::from_secs(5));
        let (outcome, returned) =
            run(&sink, |p| p, vec![(0.0, Act::Append("Building\n"))], 1.0).await;
        let posts = sink.posts();
        assert_eq!(posts.len(), 1);
        assert!(
            returned >= posts[0].answered.as_secs_f64(),
            "returned at {returned}s, before the answer at {:?}",
            posts[0].answered
        );
        assert!(outcome.late.is_none());
        let phase = &outcome.record.phases[0];
        assert!(
            (phase.start + phase.duration).as_secs_f64() < 1.1,
            "the record ends with the command, not with the post: {phase:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_phase_on_the_wire_too_long_is_handed_back_as_late() {
        let sink = Recorder::new(Duration::from_secs(100));
        let (outcome, returned) =
            run(&sink, |p| p, vec![(0.0, Act::Append("Building\n"))], 1.0).await;
        let expected = 1.0 + AWAIT_ON_END.as_secs_f64();
        assert!((expected..expected + 0.5).contains(&returned), "{returned}");
        let late = outcome.late.expect("the post is still on the wire");
        assert!(sink.posts().is_empty());
        late.await.unwrap();
        assert_eq!(sink.phases(), ["Building"], "it went on and landed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_stops_posting_and_waits_a_bounded_time() {
        let sink = Recorder::new(Duration::from_secs(60));
        let (outcome, returned) = run(
            &sink,
            |p| p,
            vec![
                (0.0, Act::Append("Building\n")),
                (1.0, Act::Cancel),
                (12.0, Act::Append("Cleaning up\n")),
            ],
            15.0,
        )
        .await;
        assert!(
            returned < 15.5,
            "the cancel's wait is long over: {returned}"
        );
        assert!(outcome.late.is_some());
        assert_eq!(outcome.posted, 1, "nothing posted after the cancel");
        assert_eq!(texts(&outcome), ["Building", "Cleaning up"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancel_waits_for_a_quick_phase_on_the_wire() {
        let sink = Recorder::new(Duration::from_millis(1500));
        let (outcome, _) = run(
            &sink,
            |p| p,
            vec![(0.0, Act::Append("Building\n")), (0.5, Act::Cancel)],
            0.6,
        )
        .await;
        assert!(outcome.late.is_none());
        assert_eq!(sink.phases(), ["Building"]);
    }

    #[tokio::test(start_paused = true)]
    async fn ten_phase_statuses_at_most() {
        let sink = Recorder::new(Duration::from_millis(10));
        let acts = (0..15)
            .map(|i| (i as f64 * 11.0, Act::AppendOwned(format!("step {i}\n"))))
            .collect();
        let (outcome, _) = run(&sink, |p| p, acts, 170.0).await;
        assert_eq!(sink.phases().len(), 10);
        assert_eq!(sink.phases().last().map(String::as_str), Some("step 9"));
        assert_eq!(outcome.record.phases.len(), 15);
    }

    #[tokio::test(start_paused = true)]
    async fn github_refusing_a_status_ends_the_posts() {
        let mut sink = Recorder::new(Duration::from_millis(10));
        sink.refuse_from = 1;
        let (outcome, _) = run(
            &sink,
            |p| p,
            vec![
                (0.0, Act::Append("one\n")),
                (11.0, Act::Append("two\n")),
                (22.0, Act::Append("three\n")),
            ],
            40.0,
        )
        .await;
        assert_eq!(sink.phases(), ["one"]);
        assert_eq!(
            outcome.posted, 2,
            "the refused one counts: it was asked for"
        );
        assert_eq!(texts(&outcome), ["one", "two", "three"]);
    }

    #[tokio::test(start_paused = true)]
    async fn no_phase_overtakes_the_gate() {
        let sink = Recorder::new(Duration::from_millis(10));
        let gate = tokio::time::sleep(Duration::from_secs(4));
        run(
            &sink,
            |p| p.after(gate),
            vec![(0.0, Act::Append("Building\n"))],
            8.0,
        )
        .await;
        let posts = sink.posts();
        assert_eq!(posts.len(), 1);
        assert!(posts[0].sent >= Duration::from_secs(4), "{posts:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_gate_is_not_started_while_no_phase_waits() {
        let sink = Recorder::new(Duration::from_millis(10));
        let started = Arc::new(Mutex::new(None::<Duration>));
        let t0 = sink.t0;
        let seen = started.clone();
        let gate = async move {
            *seen.lock().unwrap() = Some(t0.elapsed());
        };
        run(
            &sink,
            |p| p.after(gate),
            vec![(3.0, Act::Append("Building\n"))],
            6.0,
        )
        .await;
        let at = started
            .lock()
            .unwrap()
            .expect("the gate ran once a phase waited");
        assert!(at >= Duration::from_secs(3), "started at {at:?}");
        assert_eq!(sink.phases(), ["Building"]);

        let sink = Recorder::new(Duration::from_millis(10));
        let started = Arc::new(Mutex::new(false));
        let seen = started.clone();
        run(
            &sink,
            |p| p.after(async move { *seen.lock().unwrap() = true }),
            vec![],
            6.0,
        )
        .await;
        assert!(!*started.lock().unwrap(), "no phase, no gate");
    }

    #[test]
    fn the_status_limit_is_told_apart_from_other_refusals() {
        let refusal = |message: &str, errors: &str| ApiError::Status {
            status: 422,
            method: Method::POST,
            path: "/x".into(),
            message: message.into(),
            errors: errors.into(),
            rate_limited: false,
        };
        assert!(is_status_limit(&refusal(
            "This deployment has reached the maximum number of statuses",
            ""
        )));
        assert!(is_status_limit(&refusal(
            "Validation Failed",
            "This deployment has reached the maximum number of statuses"
        )));
        assert!(!is_status_limit(&refusal(
            "Validation Failed",
            "description is too long"
        )));
    }
}
