//! Environment locks as steps see them: `step: lock` and `step: unlock`, and what a deploy makes
//! of its environment's lock. The lock is read beside the create (with `targets`, one request for
//! every target's environment), kept in [`Rollout::locks`] so that each target (and a rollback,
//! whose history request brings the lock along) finds its answer without asking again.

use super::Rollout;
use crate::event::Sha;
use crate::github::{ApiError, State};
use crate::lock::{
    judge, ref_name, Asker, HeldLock, LockRecord, LockState, LockTaken, LockVerdict, Released,
    READ_PERMISSION, WRITE_PERMISSION,
};
use crate::plan::{self, Deploy, Destination};
use crate::report::Report;
use crate::runtime::{self, Untrusted};
use crate::text::TemplateVars;

/// The lock read every target of a run shares, on its way: the environments asked about, in the
/// order of the answer.
pub type LockRead = tokio::task::JoinHandle<(Vec<String>, Result<Vec<Option<HeldLock>>, ApiError>)>;

/// What [`Report::blocked_by`] says of a lock.
pub(super) const BY_LOCK: &str = "a lock";

/// GitHub compares environment names without case, and so does the lock's branch.
fn key(environment: &str) -> String {
    environment.to_lowercase()
}

/// A lock branch's commit (oid, message) as a read before the create brought it along.
pub(super) fn lock_state_of(environment: &str, lock: Option<&(String, String)>) -> LockState {
    match lock {
        None => LockState::Free,
        Some((oid, message)) => match HeldLock::from_commit(oid, message) {
            Some(held) => LockState::Branch(held),
            None => LockState::Unknown(format!(
                "the branch `{}` exists but points at no commit rollout can read, so deploys to `{environment}` stay stopped; delete the branch (or run `step: unlock`) to lift it",
                ref_name(environment)
            )),
        },
    }
}

impl Rollout<'_> {
    /// Records what a read elsewhere found of `environment`'s lock (the rollback's history request
    /// reads it with the deployments), so the deploy does not read it again.
    pub fn know_lock(&self, environment: &str, state: LockState) {
        self.locks.borrow_mut().insert(key(environment), state);
    }

    /// The lock a read before the create brought along (the rollback's history, the promotion's
    /// source history, `requires`' read): recorded, so the deploy does not read it again, and
    /// when it holds the environment, the blocked report (no deployment was created).
    pub(super) async fn lock_before_create(
        &self,
        environment: &str,
        lock: Option<&(String, String)>,
        locks: &[String],
        doing: &str,
    ) -> Result<(), Box<Report>> {
        self.know_lock(environment, lock_state_of(environment, lock));
        // Judged as the deploy's own read is: the holder goes through, anyone else's lock stops it.
        match self.lock_verdict(locks, doing).await {
            LockVerdict::Held { sentence, .. } | LockVerdict::Unreadable(sentence) => {
                let mut report = self.skip(plan::SkipKind::Blocked, sentence);
                report.environment = environment.to_string();
                report.blocked_by = Some(BY_LOCK.into());
                Err(Box::new(report))
            }
            LockVerdict::Go { .. } => Ok(()),
        }
    }

    /// Starts reading the locks of `environments` in one request, at once, so that it runs beside
    /// the first target's create and every target finds its answer in [`Rollout::locks`].
    pub(super) fn prefetch_locks(&self, environments: Vec<String>) {
        let known = self.locks.borrow();
        let mut wanted: Vec<String> = Vec::new();
        for environment in environments {
            if !known.contains_key(&key(&environment))
                && !wanted.iter().any(|w| key(w) == key(&environment))
            {
                wanted.push(environment);
            }
        }
        drop(known);
        if wanted.is_empty() {
            return;
        }
        let client = self.client.clone();
        *self.lock_read.borrow_mut() = Some(tokio::spawn(async move {
            let names: Vec<&str> = wanted.iter().map(String::as_str).collect();
            let answer = client.read_locks(&names).await;
            (wanted, answer)
        }));
    }

    /// `environment`'s lock: what is known already, the shared read's answer, or one read of its
    /// own. A read that failed after the usual lookup retries is [`LockState::Unknown`].
    pub(super) async fn lock_state(&self, environment: &str) -> LockState {
        if let Some(known) = self.locks.borrow().get(&key(environment)) {
            return known.clone();
        }
        let pending = self.lock_read.borrow_mut().take();
        let (environments, answer) = match pending {
            Some(task) => match task.await {
                Ok(done) => done,
                Err(e) => (
                    vec![environment.to_string()],
                    Err(ApiError::Decode {
                        method: http::Method::POST,
                        path: "/graphql".into(),
                        detail: format!("the lock read stopped: {e}"),
                    }),
                ),
            },
            None => (
                vec![environment.to_string()],
                self.client.read_locks(&[environment]).await,
            ),
        };
        match answer {
            Ok(locks) => {
                for (name, lock) in environments.iter().zip(locks) {
                    let state = lock.map_or(LockState::Free, LockState::Branch);
                    self.know_lock(name, state);
                }
            }
            Err(e) => {
                let names = environments
                    .iter()
                    .map(|e| format!("`{e}`"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let doing = if environments.len() == 1 {
                    format!("Reading the lock of {names}")
                } else {
                    format!("Reading the locks of {names}")
                };
                // A lock exists to stop deploys: one that cannot be read stops them too.
                let why = format!(
                    "{}; a deploy that cannot see its environment's lock does not go ahead",
                    e.explain(&doing, READ_PERMISSION)
                );
                for name in &environments {
                    self.know_lock(name, LockState::Unknown(why.clone()));
                }
            }
        }
        let known = self.locks.borrow().get(&key(environment)).cloned();
        // The shared read asked for every deploying target, so this is only reached by one it
        // did not know of.
        match known {
            Some(state) => state,
            None => Box::pin(self.lock_state(environment)).await,
        }
    }

    /// What the locks of `environments` (a deploy's [`Deploy::locks`]) decide for this run, whose
    /// command is `doing` (`deploying`, `starting`, `rolling back`): each lock's state as known,
    /// from the shared read, or from one read of its own.
    pub(super) async fn lock_verdict(&self, environments: &[String], doing: &str) -> LockVerdict {
        let mut states = Vec::with_capacity(environments.len());
        for environment in environments {
            states.push(self.lock_state(environment).await);
        }
        let locks: Vec<(&str, &LockState)> = environments
            .iter()
            .map(String::as_str)
            .zip(states.iter())
            .collect();
        judge(&locks, self.asker(), doing, self.now)
    }

    /// This run as a lock judges it: its event and triggering actor.
    pub(super) fn asker(&self) -> Asker<'_> {
        Asker {
            event: &self.event.name,
            actor: &self.context.actor,
        }
    }

    /// The deployment `id`, created beside the lock read, when a lock stops it: it ends `error`
    /// with the lock's sentence (no command ran) and the report is `blocked`, with no
    /// `deployment-id` output. A read that failed ends it `error` too (fail closed). `None`: go
    /// on, having said once each expired lock passed and that the holder's own lock let it through.
    pub(super) async fn stopped_by_lock(
        &self,
        d: &Deploy,
        id: u64,
        verdict: &LockVerdict,
    ) -> Option<Report> {
        let environment = &d.target.environment;
        let mut report = self.base_report(&d.target);
        report.task = d.task.clone();
        let (sentence, description) = match verdict {
            LockVerdict::Go { expired, holder } => {
                for said in expired {
                    runtime::notice(said);
                }
                if let Some(said) = holder {
                    runtime::notice(said);
                }
                return None;
            }
            LockVerdict::Held {
                sentence,
                description,
            } => (sentence.clone(), description.clone()),
            LockVerdict::Unreadable(why) => {
                return Some(self.end(id, report, State::Error, why, None).await);
            }
        };
        report.status = "blocked".into();
        report.blocked_by = Some(BY_LOCK.into());
        let mut report = self.end(id, report, State::Error, &description, None).await;
        // `skip-reason`, the summary and the log get the whole sentence: since when, until
        // when, how to unlock.
        if report.status == "blocked" {
            report.detail = sentence;
        }
        // The lock may be another environment's (the one the branch maps to, over its targets).
        tracing::info!(
            "deployment {id} of {} ended error: {}",
            Untrusted(environment),
            Untrusted(&description)
        );
        // The deployment exists (GitHub sent its events), but nothing was deployed: no later step
        // may take it for this run's deployment.
        report.deployment_id = None;
        Some(report)
    }

    /// The environment `step: lock` and `step: unlock` name: the `environment` input, with the
    /// run's commit for `{sha}` (there is no branch or pull request to name).
    fn lock_environment(&self) -> Option<String> {
        let template = self.inputs.environment.as_ref()?;
        let environment = template.render(&TemplateVars {
            sha: &self.context.sha,
            ..TemplateVars::default()
        });
        Some(environment.trim().to_string()).filter(|e| !e.is_empty())
    }

    fn lock_report(&self, environment: &str) -> Report {
        Report {
            environment: environment.to_string(),
            log_url: self.context.log_url(),
            ..Report::default()
        }
    }

    /// `step: lock`: takes `environment`'s lock with a commit of `tree_of`'s tree. Held by someone
    /// else is `blocked` (exit 1) naming the holder; an expired lock is taken over.
    pub async fn lock(&self, tree_of: &Sha) -> Report {
        let Some(environment) = self.lock_environment() else {
            return failed(
                Report::default(),
                "input `environment` is empty once rendered: name the environment to lock".into(),
            );
        };
        let mut report = self.lock_report(&environment);
        let expires_at = match self.inputs.lock_expires {
            None => None,
            Some(after) => match jiff::SignedDuration::try_from(after)
                .ok()
                .and_then(|span| self.now.checked_add(span).ok())
            {
                Some(end) => Some(end),
                None => {
                    return failed(
                        report,
                        "input `lock-expires` is too long to be a time; give hours or days (`4h`, `72h`)".into(),
                    )
                }
            },
        };
        let record = LockRecord {
            environment: environment.clone(),
            reason: self.inputs.reason.clone().unwrap_or_default(),
            actor: self.context.actor.clone(),
            run_url: self.context.log_url(),
            created_at: self.now,
            expires_at,
        };
        if self.inputs.dry_run {
            return Report::skipped(format!(
                "dry-run: would lock `{environment}` (branch `{}`); nothing was written",
                ref_name(&environment)
            ));
        }
        let taken = match self.client.take_lock(&record, tree_of).await {
            Ok(taken) => taken,
            // Reading the run's commit, whose tree the lock commit takes: no permission is missing.
            Err(crate::github::ApiError::Status {
                status: 404 | 422,
                path,
                ..
            }) if path.ends_with(&format!("/git/commits/{tree_of}")) => {
                return failed(
                    report,
                    format!("Locking `{environment}`: GitHub does not know the run's commit {tree_of} (GITHUB_SHA), whose tree the lock commit takes; run `step: lock` in a job of this repository, on a commit pushed to it"),
                );
            }
            Err(e) => {
                let doing = format!("Locking `{environment}`");
                return failed(report, e.explain(&doing, WRITE_PERMISSION));
            }
        };
        match taken {
            LockTaken::Taken { commit } => {
                tracing::info!(
                    "created the branch {} at {commit}",
                    Untrusted(&ref_name(&environment))
                );
            }
            LockTaken::TookOver { commit, expired } => {
                runtime::notice(&expired.expired_sentence());
                tracing::info!(
                    "took the expired lock over: the branch {} now points at {commit}",
                    Untrusted(&ref_name(&environment))
                );
            }
            // The holder locking again (a re-run of the lock workflow): their lock stands as it
            // was, which is what they asked for; a change of reason or expiry is unlock, then lock.
            LockTaken::HeldBy(holder)
                if holder
                    .record
                    .as_ref()
                    .is_ok_and(|r| r.actor.eq_ignore_ascii_case(&self.context.actor)) =>
            {
                report.status = "success".into();
                report.detail = format!(
                    "Already locked by you: {}; nothing changed (to change its reason or expiry, run `step: unlock`, then `step: lock`)",
                    holder.sentence(&environment, self.now)
                );
                return report;
            }
            LockTaken::HeldBy(holder) => {
                report.status = "blocked".into();
                report.blocked_by = Some(BY_LOCK.into());
                report.detail = format!("Not locked: {}", holder.sentence(&environment, self.now));
                return report;
            }
        }
        report.status = "success".into();
        report.detail = record.held_sentence(self.now);
        report
    }

    /// `step: unlock`: deletes `environment`'s lock branch; no lock is a notice, exit 0.
    pub async fn unlock(&self) -> Report {
        let Some(environment) = self.lock_environment() else {
            return failed(
                Report::default(),
                "input `environment` is empty once rendered: name the environment to unlock".into(),
            );
        };
        let report = self.lock_report(&environment);
        let branch = ref_name(&environment);
        if self.inputs.dry_run {
            return Report::skipped(format!(
                "dry-run: would unlock `{environment}` (delete the branch `{branch}`); nothing was written"
            ));
        }
        match self.client.release_lock(&environment).await {
            Ok(Released::Deleted) => Report {
                status: "success".into(),
                detail: format!(
                    "Unlocked `{environment}`: deleted the branch `{branch}`; deploys to it go ahead again"
                ),
                ..report
            },
            Ok(Released::NotHeld) => {
                let why = format!(
                    "`{environment}` is not locked (there is no branch `{branch}`); nothing to unlock"
                );
                runtime::notice(&why);
                Report {
                    status: "skipped".into(),
                    detail: why,
                    ..report
                }
            }
            Err(e) => failed(
                report,
                e.explain(&format!("Unlocking `{environment}`"), WRITE_PERMISSION),
            ),
        }
    }
}

fn failed(report: Report, detail: String) -> Report {
    Report {
        status: "error".into(),
        detail,
        ..report
    }
}

/// The report of a preview a freeze window blocked, filled in enough for its sticky comment
/// (pull request, environment, commit) when one is to be written; `None` when no comment is.
pub fn frozen_preview(
    dest: &Destination,
    inputs: &crate::inputs::Inputs,
    report: &Report,
) -> Option<Report> {
    let base = dest.target();
    let number = base.pr_number?;
    if !inputs.comment.unwrap_or(true) || inputs.dry_run {
        return None;
    }
    let mut report = report.clone();
    report.pr_number = Some(number);
    report.sha = base.sha.to_string();
    match (&inputs.target, inputs.targets.is_empty()) {
        (_, true) => report.environment = base.environment.clone(),
        // A matrix job's one target keeps a comment of its own.
        (Some(name), false) => {
            report.environment = plan::for_target(base, name, inputs).environment
        }
        // One job's targets share the preview's comment.
        (None, false) => report.group_environment = base.environment.clone(),
    }
    Some(report)
}
