//! `step: deploy` and `step: start`: plan, create the deployment, mark it in progress, supersede
//! older ones, run the command (deploy only), post the final status.

use super::verify::Judged;
use super::{
    find_changes, newer_deployment, read_url, working_dir, Api, CommandVars, Rollout,
    DEPLOY_PERMISSION, VERSION,
};
use crate::checkout;
use crate::command;
use crate::event::{Event, Trigger};
use crate::github::{Budget, NewDeployment, NewStatus, State};
use crate::inputs::Inputs;
use crate::phases::{phase_rows, PhaseFile, PhasePoster, PhaseRecord, StatusBudget};
use crate::plan::{self, Changes, Decision, Deploy, Destination, Plan, Target};
use crate::report::{Report, TargetRow};
use crate::rollback::RollbackOf;
use crate::runtime::{self, Context, Untrusted};
use crate::targets::Affected;
use serde_json::{json, Value};

/// How far back supersede looks: ten GraphQL reads.
const SUPERSEDE_LIMIT: usize = 1000;

impl Rollout<'_> {
    /// `step: deploy` and `step: start`, to where [`plan::destination`] pointed.
    pub async fn deploy(&self, dest: Destination, run_command: bool) -> Report {
        let with_targets = !self.inputs.targets.is_empty();
        // A closed PR's head may be gone: nothing about it is looked up.
        let changes = match &dest {
            Destination::Teardown(_) => None,
            Destination::Deploy(target) if with_targets || plan::needs_changes(self.inputs) => {
                Some(self.changes_for(target, Api::Client(self.client)).await)
            }
            // Only for `ROLLOUT_CHANGED_FILES`: not worth a request.
            Destination::Deploy(target) if run_command => {
                Some(self.changes_for(target, Api::NotNeeded).await)
            }
            Destination::Deploy(_) => None,
        };
        let unneeded = Changes::Everything {
            reason: "neither `paths` nor `tasks` needs them".into(),
        };
        let plans = plan::plans(
            &dest,
            self.event,
            self.inputs,
            changes.as_ref().unwrap_or(&unneeded),
            self.now,
        );
        if !with_targets {
            return match plans.each.into_iter().next().map(|p| p.decision) {
                Some(Decision::Plan(plan)) => {
                    let mut report = self.run_plan(plan, changes.as_ref(), run_command).await;
                    self.roll_back_failed(&mut report).await;
                    report
                }
                _ => Report::skipped("nothing to deploy"),
            };
        }
        if let Some(affected) = plans.affected.as_ref().filter(|_| !dest.is_teardown()) {
            self.log_affected(affected);
        }
        if let Some(skip) = self.named_target_unaffected(&plans) {
            return skip;
        }
        if !self.inputs.dry_run {
            // One request for every deploying target's lock, beside the first target's create.
            // A target's deploy answers to its own environment's lock and its branch's.
            self.prefetch_locks(
                plans
                    .each
                    .iter()
                    .flat_map(|p| match &p.decision {
                        Decision::Plan(Plan::Deploy(d)) => d.locks.clone(),
                        _ => Vec::new(),
                    })
                    .collect(),
            );
        }
        let mut reports = Vec::new();
        for planned in plans.each {
            let (Some(name), Decision::Plan(plan)) = (planned.name, planned.decision) else {
                continue;
            };
            if let Plan::Teardown(t) = &plan {
                // `teardown-command` runs once for each target that had a preview, not for all.
                if let Ok(list) = self
                    .client
                    .list_deployments(Some(&t.target.environment), None, 1)
                    .await
                {
                    if list.is_empty() {
                        tracing::info!(
                            "target {}: {} has no deployment; nothing to tear down",
                            Untrusted(&name),
                            Untrusted(&t.target.environment)
                        );
                        continue;
                    }
                }
            }
            let own = match &plan {
                Plan::Deploy(_) => changes_of(&plans.affected, &name).or(changes.as_ref()),
                _ => None,
            };
            reports.push((name, self.run_plan(plan, own, run_command).await));
        }
        // Every target deploys first; then each failed one rolls back on its own.
        for (_, report) in reports.iter_mut() {
            self.roll_back_failed(report).await;
        }
        combine(
            dest.target(),
            reports,
            self.context.log_url(),
            self.inputs.target.is_none(),
        )
    }

    /// Logs which targets the change affects, and why each one is or is not.
    pub(super) fn log_affected(&self, affected: &Affected) {
        tracing::info!("targets: {}", Untrusted(&affected.summary()));
        for verdict in &affected.targets {
            tracing::info!(
                "  {}: {}",
                Untrusted(&verdict.name),
                Untrusted(verdict.reason())
            );
        }
    }

    /// The skip of a run whose `target` input names a target the change does not affect.
    pub(super) fn named_target_unaffected(&self, plans: &plan::Plans) -> Option<Report> {
        let name = self.inputs.target.as_ref()?;
        let reason = plans.each.iter().find_map(|p| match &p.decision {
            Decision::Unaffected(reason) if p.name.as_ref() == Some(name) => Some(reason),
            _ => None,
        })?;
        let mut report = self.skip(
            plan::SkipKind::Nothing,
            format!("target `{name}` is not affected by this change: {reason}"),
        );
        report.targets = Some(Vec::new());
        Some(report)
    }

    pub(super) async fn changes_for(&self, target: &Target, api: Api<'_>) -> Changes {
        let changes = find_changes(
            self.event,
            self.inputs,
            &self.context.workspace,
            &target.environment,
            api,
        )
        .await;
        tracing::info!("changes: {}", Untrusted(&changes.describe()));
        changes
    }

    async fn run_plan(&self, plan: Plan, changes: Option<&Changes>, run_command: bool) -> Report {
        match plan {
            Plan::Skip(skip) => self.skip(skip.kind, skip.reason),
            Plan::Teardown(t) => self.teardown(&t).await,
            Plan::Deploy(d) => {
                self.announce(&d);
                self.prefetch_comments(d.target.pr_number);
                if self.inputs.dry_run {
                    return Report::skipped(
                        "dry-run: the plan was printed; nothing was written and no command ran",
                    );
                }
                let mut d = d;
                if let Some(stopped) = self.requires_gate(&mut d).await {
                    return stopped;
                }
                self.run_deploy(&d, changes, run_command).await
            }
        }
    }

    pub(super) fn announce(&self, d: &Deploy) {
        let t = &d.target;
        tracing::info!(
            "deploying {} ({}) to {}",
            Untrusted(&t.label()),
            t.sha,
            Untrusted(&t.environment)
        );
        tracing::info!("  environment: {}", Untrusted(&t.rule));
        tracing::info!(
            "  task: {} ({})",
            Untrusted(&d.task),
            Untrusted(&d.task_reason)
        );
        if let Some(p) = &d.paths_reason {
            tracing::info!("  paths: {}", Untrusted(p));
        }
        match (&d.artifact, &d.promotion) {
            (Some(a), _) => tracing::info!("  artifact: {}", Untrusted(a)),
            (None, Some(_)) => tracing::info!(
                "  artifact: none recorded by the source deployment (`ROLLOUT_ARTIFACT` is not set)"
            ),
            (None, None) => {}
        }
        if let Some(why) = &d.freeze_override {
            runtime::warning(&format!("inside a freeze window: {why}"));
        }
    }

    fn payload(&self, d: &Deploy, key: &str) -> Value {
        let mut payload = Value::Object(self.inputs.payload.clone());
        let message: String = self.event.head_commit.message.chars().take(1000).collect();
        let ours = json!({
            "ref": d.target.git_ref.as_ref().map(|r| r.full()),
            "branch": d.target.git_ref.as_ref().and_then(|r| r.branch_name()),
            "sha": d.target.sha.as_str(),
            "pr": d.target.pr_number,
            "target": d.target.unit,
            "commit_message": message,
            "author": self.event.head_commit.author,
            "event": self.event.name,
            "run_id": self.context.run_id,
            "run_attempt": self.context.run_attempt,
            "job": self.context.job,
            "rollout": { "version": VERSION, "key": key },
        });
        let mut ours = ours;
        if let (Some(reason), Value::Object(map)) = (
            d.freeze_override
                .as_ref()
                .and(self.inputs.override_freeze.as_ref()),
            &mut ours,
        ) {
            map.insert("freeze_override".into(), Value::from(reason.as_str()));
        }
        if let (Some(rollback), Value::Object(map)) = (&d.rollback, &mut ours) {
            if let Value::Object(keys) = rollback.payload_keys() {
                map.extend(keys);
            }
        }
        if let (Some(promotion), Value::Object(map)) = (&d.promotion, &mut ours) {
            if let Value::Object(keys) = promotion.payload_keys() {
                map.extend(keys);
            }
        }
        if let (Some(artifact), Value::Object(map)) = (&d.artifact, &mut ours) {
            map.insert("artifact".into(), Value::from(artifact.as_str()));
        }
        if let (Some(reason), Some(_), Value::Object(map)) = (
            &self.inputs.promotion.override_requires,
            &d.requires_override,
            &mut ours,
        ) {
            map.insert("requires_override".into(), Value::from(reason.as_str()));
        }
        if let (Value::Object(map), Value::Object(ours)) = (&mut payload, ours) {
            map.extend(ours);
        }
        payload
    }

    /// Creates the deployment and marks it in progress; on failure, the report to end with.
    async fn create(&self, d: &Deploy) -> Result<u64, Report> {
        let key = self.key.clone();
        let new = NewDeployment {
            git_ref: d.target.sha.to_string(),
            task: d.task.clone(),
            auto_merge: false,
            required_contexts: self.inputs.required_contexts.clone(),
            payload: self.payload(d, &key),
            environment: d.target.environment.clone(),
            description: d.description.clone(),
            transient_environment: d.target.transient,
            production_environment: d.target.production,
        };
        let mut report = self.base_report(&d.target);
        report.task = d.task.clone();
        // Before the create is sent: if the answer is lost and the run is killed, the post step
        // finds the deployment by this key and finishes it.
        for (name, value) in [
            ("deployment-key", key.as_str()),
            ("deployment-sha", new.git_ref.as_str()),
        ] {
            if let Err(e) = self.runtime.save_state(name, value) {
                tracing::warn!("could not save the create's key for the post step: {e}");
            }
        }
        let deployment = match self.client.create_deployment(&new, &key).await {
            Ok(created) => {
                if created.ambiguous {
                    self.ambiguous.set(true);
                    if let Err(e) = self.runtime.save_state("deployment-ambiguous", "true") {
                        tracing::warn!("could not save the state for the post step: {e}");
                    }
                }
                created.deployment
            }
            Err(e) => {
                if e.is_ambiguous() {
                    // It may still surface: the post step looks for it by the key.
                    self.ambiguous.set(true);
                    if let Err(e) = self.runtime.save_state("deployment-ambiguous", "true") {
                        tracing::warn!("could not save the state for the post step: {e}");
                    }
                }
                if let Some(sig) = self.cancel.signal() {
                    // Cancelled while the create was on the wire: the server may still make the
                    // deployment. Give it the few seconds the runner's window allows, so that
                    // the sweep after this finds and finishes it; the post step looks again.
                    if self.client.has_overtaken_writes() {
                        self.client
                            .settle_overtaken(std::time::Duration::from_secs(5))
                            .await;
                    }
                    report.status = "cancelled".into();
                    report.signal = Some(sig);
                    report.detail = format!(
                        "Cancelled by {} while the deployment was being created; no command ran",
                        command::signal_name(sig)
                    );
                    return Err(report);
                }
                report.status = "failure".into();
                report.detail = e.explain("Creating the deployment", DEPLOY_PERMISSION);
                if matches!(e.status(), Some(403 | 404)) {
                    report
                        .detail
                        .push_str(&permissions_block(d.target.pr_number.is_some()));
                }
                return Err(report);
            }
        };
        let id = deployment.id;
        // First, so that the post step can finish it whatever happens next: with targets, the
        // job creates several, and the state lists them all.
        let all = {
            let mut created = self.created.borrow_mut();
            created.push(id);
            created
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        for (name, value) in [("deployment-id", id.to_string()), ("deployment-ids", all)] {
            if let Err(e) = self.runtime.save_state(name, &value) {
                tracing::warn!("could not save the deployment ids for the post step: {e}");
            }
        }
        tracing::info!(
            "created deployment {id} of {} for {}",
            Untrusted(&d.target.environment),
            d.target.sha
        );
        Ok(id)
    }

    /// The in-progress status, in a task of its own: the command starts without waiting for it,
    /// and the phases and the final status wait for it (statuses stay in order).
    fn mark_in_progress(&self, d: &Deploy, id: u64) -> InProgress {
        let status = NewStatus::new(
            State::InProgress,
            // A commit without a branch (a rollback) is its label already.
            &match (d.target.label(), d.target.sha.short()) {
                (label, short) if label == short => format!("Deploying {short}"),
                (label, short) => format!("Deploying {label} ({short})"),
            },
            &self.context.log_url(),
        );
        let client = self.client.clone();
        let (answered, landed) = tokio::sync::watch::channel(false);
        let answer = tokio::spawn(async move {
            let answer = client.create_status(id, &status).await;
            let _ = answered.send(true);
            answer
        });
        InProgress {
            answer,
            landed,
            // A deployment just created: the in-progress status is its first.
            budget: StatusBudget::already_posted(1),
        }
    }

    /// The poster of deployment `id`'s phases. Its first phase waits for the in-progress status,
    /// then reads how many statuses the deployment holds (others may post on it too: a deploy
    /// tool, a script with the token), so that the budget keeps the final status's room.
    fn phase_poster(
        &self,
        id: u64,
        mut landed: tokio::sync::watch::Receiver<bool>,
        budget: StatusBudget,
    ) -> PhasePoster<crate::github::DeploymentClient> {
        let client = self.client.clone();
        let counted = budget.clone();
        let gate = async move {
            let _ = landed.wait_for(|done| *done).await;
            match client.statuses(id, 100).await {
                Ok(statuses) => counted.at_least(u32::try_from(statuses.len()).unwrap_or(u32::MAX)),
                Err(e) => tracing::debug!(
                    "could not read deployment {id}'s statuses ({e}); its phases count rollout's own statuses only"
                ),
            }
        };
        PhasePoster::new(
            self.client.clone(),
            id,
            &self.context.log_url(),
            budget,
            self.cancel.clone(),
        )
        // `ROLLOUT_TEST_TIME_SCALE` shortens the poster's waits as it does every other.
        .with_time_scale(self.client.time_scale())
        .after(gate)
    }

    /// Waits for the in-progress status; `Err` says why it is not there.
    async fn landed(in_progress: InProgressAnswer) -> Result<(), String> {
        match in_progress.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.explain("Marking the deployment in progress", DEPLOY_PERMISSION)),
            Err(e) => Err(format!("Marking the deployment in progress failed: {e}")),
        }
    }

    /// Marks every older deployment of the environment that is still running inactive: a new
    /// deploy replaces them. One GraphQL read a hundred, newest first, up to
    /// [`SUPERSEDE_LIMIT`] back: a run that died before its final status leaves its deployment
    /// running, and so may the ones before it. Never fails the deploy.
    async fn supersede(&self, environment: &str, ours: u64) {
        let states = match self
            .client
            .deployment_states(environment, Some(SUPERSEDE_LIMIT), Budget::Lookup)
            .await
        {
            Ok(s) => s,
            Err(e) => {
                tracing::info!(
                    "could not read the older deployments' states, so none was superseded ({e}); the deploy goes on"
                );
                return;
            }
        };
        let mut done = std::collections::BTreeSet::new();
        for older in states
            .nodes
            .iter()
            .filter(|n| n.id < ours && n.state.is_running())
        {
            if !done.insert(older.id) {
                continue;
            }
            let status = NewStatus::superseded(Some(ours), "");
            match self.client.create_status(older.id, &status).await {
                Ok(()) => tracing::info!(
                    "deployment {} was still {}; marked inactive (superseded)",
                    older.id,
                    older.state.as_str()
                ),
                Err(e) => tracing::info!("could not supersede deployment {} ({e})", older.id),
            }
        }
        if states.truncated {
            tracing::info!(
                "supersede read the newest {SUPERSEDE_LIMIT} deployments of {} and stopped there; older ones were not checked",
                Untrusted(environment)
            );
        }
    }

    pub(super) async fn run_deploy(
        &self,
        d: &Deploy,
        changes: Option<&Changes>,
        run_command: bool,
    ) -> Report {
        let mut report = self.deploy_one(d, changes, run_command).await;
        report.freeze_override = d.freeze_override.clone();
        report.rollback = d
            .rollback
            .as_ref()
            .map(|r| (r.from_deployment, r.sentence.clone()));
        report.promotion = d
            .promotion
            .as_ref()
            .map(|p| (p.from_deployment, p.sentence.clone()));
        report.requires_override = d.requires_override.clone();
        if self.ambiguous.get() {
            let adopted = self.created.borrow().clone();
            if let Err(e) = super::finish_abandoned(
                self.client,
                d.target.sha.as_str(),
                Some(&d.target.environment),
                &self.key,
                &adopted,
                &self.context.log_url(),
            )
            .await
            {
                tracing::warn!(
                    "could not look for deployments of an ambiguous create ({e}); the post step looks again"
                );
            }
        }
        report
    }

    /// Two round trips on the critical path: the create before the command (the command needs
    /// the id, and a refused create must not run it) and the final status after it. The lock
    /// read goes beside the create; the in-progress status and the supersede scan run while the
    /// command does.
    async fn deploy_one(&self, d: &Deploy, changes: Option<&Changes>, run_command: bool) -> Report {
        let doing = match (&d.rollback, run_command) {
            (Some(_), _) => "rolling back",
            (None, true) => "deploying",
            (None, false) => "starting",
        };
        let (created, verdict) = tokio::join!(self.create(d), self.lock_verdict(&d.locks, doing));
        let id = match created {
            Ok(id) => id,
            Err(report) => return report,
        };
        // Nothing that would tell the world this deployment is going ahead (the command, the
        // in-progress status, supersede, the comment, the `deployment-id` output) before the
        // lock's answer.
        if let Some(report) = self.stopped_by_lock(d, id, &verdict).await {
            return report;
        }
        let holder = match verdict {
            crate::lock::LockVerdict::Go { holder, .. } => holder,
            _ => None,
        };
        // Now rather than at the end: a run killed while the command runs still leaves the id.
        // An automatic rollback's id is its own output: `deployment-id` stays the failed one's.
        if self.inputs.targets.is_empty() {
            let name = match &d.rollback {
                Some(of) if of.automatic => "rollback-deployment-id",
                _ => "deployment-id",
            };
            let _ = self.runtime.set_output(name, &id.to_string());
        }
        let in_progress = self.mark_in_progress(d, id);
        let tidy = async {
            if self.inputs.supersede {
                self.supersede(&d.target.environment, id).await;
            }
        };
        let (mut report, ()) = tokio::join!(
            self.after_create(d, id, changes, run_command, in_progress),
            tidy
        );
        report.lock_holder = holder;
        report
    }

    async fn after_create(
        &self,
        d: &Deploy,
        id: u64,
        changes: Option<&Changes>,
        run_command: bool,
        in_progress: InProgress,
    ) -> Report {
        let mut report = self.base_report(&d.target);
        report.task = d.task.clone();
        report.deployment_id = Some(id);
        let InProgress {
            answer: in_progress,
            landed,
            budget,
        } = in_progress;
        if !run_command {
            if let Err(detail) = Self::landed(in_progress).await {
                if let Some(report) = self.cancelled_before_start(id, &report).await {
                    return report;
                }
                return self.end(id, report, State::Error, &detail, None).await;
            }
            report.status = "started".into();
            report.detail =
                format!("deployment {id} is in progress; finish it with `step: finish`");
            return report;
        }
        if let Some(report) = self.cancelled_before_start(id, &report).await {
            return report;
        }
        let files = match CommandFiles::prepare(changes, d) {
            Ok(files) => files,
            Err(detail) => {
                let _ = Self::landed(in_progress).await;
                return self.end(id, report, State::Error, &detail, None).await;
            }
        };
        let vars = files.vars(id, &report.git_ref, d);
        // The command, then `verify`: the phase poster watches both.
        let run = self.command_then_verify(d, &vars, &files.url);
        let (checked, phases) = match &files.phases {
            Some(file) => {
                let poster = self.phase_poster(id, landed, budget.clone());
                let (checked, phases) = poster.beside(file, run).await;
                (checked, Some(phases))
            }
            None => (run.await, None),
        };
        let (record, late) = match phases {
            Some(p) => (p.record, p.late),
            None => (PhaseRecord::default(), None),
        };
        report.phases = phase_rows(&record);
        report.duration_secs = Some(crate::text::round_secs(checked.took()));
        let url = read_url(&files.url).or_else(|| d.environment_url.clone());
        let judged = self.judge(&checked, &record);
        let ended = Ended {
            in_progress,
            budget,
            late,
        };
        self.settle(d, id, report, judged, url, ended).await
    }

    /// The final status of a deploy whose command (and verify) ran, in order after the
    /// in-progress one; with `on-failure: rollback`, naming the rollback that comes next.
    async fn settle(
        &self,
        d: &Deploy,
        id: u64,
        mut report: Report,
        judged: Judged,
        url: Option<String>,
        ended: Ended,
    ) -> Report {
        let Ended {
            in_progress,
            budget,
            late,
        } = ended;
        if let Some(status) = judged.status {
            report.status = status.into();
            report.signal = judged.signal;
        }
        let state = judged.state;
        let url = if state == State::Success { url } else { None };
        if state == State::Success {
            tracing::info!("deployment {id}: {}", judged.detail);
        }
        // Statuses stay in order: the final one waits for the in-progress one, unless the run
        // was cancelled (then the final status goes at once, and again if that write lands later).
        if self.cancel.signal().is_none() {
            if let Err(why) = Self::landed(in_progress).await {
                runtime::warning(&format!(
                    "deployment {id}: {why}; the final status is posted all the same"
                ));
            }
        }
        let detail = self.next_after_failure(d, id, &judged, &mut report).await;
        // A newer run may have marked this deployment inactive while the command ran: checked
        // beside the final status, not before it, at the price of the final status being true for
        // one round trip before `inactive` is posted again.
        let (mut report, by) = tokio::join!(
            self.end_within(id, report, state, &detail, url, &budget, late),
            self.superseded(id)
        );
        if let Some(by) = by {
            // A newer run owns the environment: it is not rolled back.
            self.rollbacks.borrow_mut().retain(|p| !p.is_of(id));
            let status = NewStatus::superseded(by, &report.log_url);
            if !budget.take_final() {
                runtime::warning(&format!(
                    "deployment {id} was superseded, but marking it inactive again would exceed GitHub's limit of {} statuses",
                    StatusBudget::GITHUB_LIMIT
                ));
            } else if let Err(e) = self.client.create_status(id, &status).await {
                runtime::warning(&format!(
                    "deployment {id} was superseded, but marking it inactive again failed: {e}"
                ));
            }
            // The exit code still tells the command's outcome; the status says what the
            // deployment is.
            report.exit = Some(report.exit_code());
            report.status = "inactive".into();
            report.detail = format!(
                "{} superseded this one while the command ran; it stays inactive ({})",
                newer_deployment(by),
                judged.detail
            );
            return report;
        }
        // The job log's sentence may say more than the status: what the shell could not find,
        // and the whole sentence of how the command ended beside its phase.
        if judged.told != judged.detail {
            report.log_detail = Some(report.detail.replacen(&judged.detail, &judged.told, 1));
        }
        // Why `on-failure: rollback` did not roll back: after the failure, in the same sentence.
        if let Some(why) = report.rolled_back.take() {
            super::verify::note(&mut report, None, why.sentence);
        }
        report
    }

    /// The final status of a run cancelled before its command started; `None` when not cancelled.
    async fn cancelled_before_start(&self, id: u64, report: &Report) -> Option<Report> {
        let sig = self.cancel.signal()?;
        let mut report = report.clone();
        report.status = "cancelled".into();
        report.signal = Some(sig);
        let detail = format!(
            "Cancelled by {} before the command started",
            command::signal_name(sig)
        );
        Some(self.end(id, report, State::Error, &detail, None).await)
    }
}

/// The in-progress status's answer, on its way.
type InProgressAnswer = tokio::task::JoinHandle<Result<(), crate::github::ApiError>>;

/// What the final status waits for and is counted in: the in-progress status, the budget of
/// the deployment's statuses, and a phase status still on the wire.
struct Ended {
    in_progress: InProgressAnswer,
    budget: StatusBudget,
    late: Option<tokio::task::JoinHandle<()>>,
}

/// The in-progress status on its way, and the count of the deployment's statuses that every
/// later one (phases, the final status, its re-sends) is taken from.
struct InProgress {
    answer: InProgressAnswer,
    /// True once the answer came: the first phase status waits for it.
    landed: tokio::sync::watch::Receiver<bool>,
    budget: StatusBudget,
}

/// `The command exited` as the rest of a sentence: `the command exited`.
pub(super) fn lower_first(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// `verify-checkout` for a deploy to `target`: `Err` with the sentence when the checkout is the
/// pull request's test-merge commit (exit 2, before anything is written); otherwise the finding
/// is logged and the deploy goes on.
pub fn verify_checkout(
    event: &Event,
    inputs: &Inputs,
    context: &Context,
    target: &Target,
) -> Result<(), String> {
    if !inputs.verify_checkout {
        return Ok(());
    }
    let pr = match &event.trigger {
        Trigger::PullRequest(pr) => Some(checkout::PullRequestHead {
            kind: pr.kind,
            number: pr.number,
            runner_sha: Some(context.sha.as_str()).filter(|s| !s.is_empty()),
        }),
        _ => None,
    };
    let verdict = checkout::verify(&working_dir(inputs, context), &target.sha, pr);
    match verdict {
        checkout::Verdict::TestMerge { .. } => return Err(verdict.sentence()),
        checkout::Verdict::Differs { .. } => runtime::warning(&verdict.sentence()),
        _ => tracing::info!("{}", Untrusted(&verdict.sentence())),
    }
    Ok(())
}

/// A target's own changed files (its `ROLLOUT_CHANGED_FILES`).
fn changes_of<'a>(affected: &'a Option<Affected>, name: &str) -> Option<&'a Changes> {
    affected.as_ref()?.get(name)?.changes()
}

/// One report for several targets: the one target's own when exactly one ran, else a summary;
/// failed when any failed, with `targets` and `results` for the outputs.
fn combine(
    base: &Target,
    reports: Vec<(String, Report)>,
    log_url: String,
    one_job: bool,
) -> Report {
    let names: Vec<String> = reports.iter().map(|(n, _)| n.clone()).collect();
    let rows: Vec<TargetRow> = reports.iter().map(|(n, r)| TargetRow::of(n, r)).collect();
    let mut report = if reports.len() == 1 {
        reports
            .into_iter()
            .map(|(_, r)| r)
            .next()
            .unwrap_or_default()
    } else {
        let worst = [
            "error",
            "failure",
            "cancelled",
            "blocked",
            "inactive",
            "success",
            "started",
            "skipped",
        ]
        .into_iter()
        .find(|s| rows.iter().any(|r| r.status == *s))
        .unwrap_or("skipped");
        let detail = if reports.is_empty() {
            "no target is affected by this change".to_string()
        } else {
            reports
                .iter()
                .map(|(n, r)| format!("{n}: {} ({})", r.status, r.detail))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let signal = reports.iter().find_map(|(_, r)| r.signal);
        // Targets that went through the holder's own lock say it once each way it was said.
        let mut yours: Vec<&str> = Vec::new();
        for said in reports.iter().filter_map(|(_, r)| r.lock_holder.as_deref()) {
            if !yours.contains(&said) {
                yours.push(said);
            }
        }
        let exit = if reports.iter().any(|(_, r)| r.exit_code() != 0) {
            Some(
                reports
                    .iter()
                    .map(|(_, r)| r.exit_code())
                    .max()
                    .unwrap_or(1),
            )
        } else {
            None
        };
        Report {
            status: worst.into(),
            detail,
            sha: base.sha.to_string(),
            git_ref: base
                .git_ref
                .as_ref()
                .map(|r| r.full().to_string())
                .unwrap_or_default(),
            log_url,
            pr_number: base.pr_number,
            signal,
            exit,
            lock_holder: (!yours.is_empty()).then(|| yours.join("; ")),
            ..Report::default()
        }
    };
    report.targets = Some(names);
    report.rows = rows;
    if one_job {
        report.group_environment = base.environment.clone();
    }
    report
}

/// The files a deploy's command gets beside its variables, in a scratch folder that goes when
/// this does: the changed-file list, the file it may write its URL to, the phase file, and for a
/// rollback the payload of the deployment it puts back.
struct CommandFiles {
    _dir: tempfile::TempDir,
    changed: std::path::PathBuf,
    url: std::path::PathBuf,
    rollback_payload: std::path::PathBuf,
    promote_payload: std::path::PathBuf,
    /// `None` when it could not be made: the deploy goes on without phases.
    phases: Option<PhaseFile>,
}

impl CommandFiles {
    /// `Err`: the sentence the deployment ends `error` with (no scratch folder, no command).
    fn prepare(changes: Option<&Changes>, d: &Deploy) -> Result<Self, String> {
        let rollback: Option<&RollbackOf> = d.rollback.as_deref();
        let dir = tempfile::Builder::new()
            .prefix("rollout-")
            .tempdir()
            .map_err(|e| format!("could not create a scratch folder for the command: {e}"))?;
        let changed = dir.path().join("changed-files");
        let listed = changes.map(|c| c.files().join("\n")).unwrap_or_default();
        let listed = if listed.is_empty() {
            listed
        } else {
            listed + "\n"
        };
        if let Err(e) = std::fs::write(&changed, listed) {
            tracing::warn!("could not write the changed-files list: {e}");
        }
        let rollback_payload = dir.path().join("rollback-payload.json");
        if let Some(r) = rollback {
            if let Err(e) = std::fs::write(&rollback_payload, r.to_payload.to_string()) {
                tracing::warn!("could not write the rolled-back deployment's payload: {e}");
            }
        }
        let promote_payload = dir.path().join("promote-payload.json");
        if let Some(p) = &d.promotion {
            if let Err(e) = std::fs::write(&promote_payload, p.payload.to_string()) {
                tracing::warn!("could not write the source deployment's payload: {e}");
            }
        }
        let phases = PhaseFile::create_in(dir.path())
            .map_err(|e| tracing::warn!("{e}; the command's phases are not shown"))
            .ok();
        Ok(CommandFiles {
            url: dir.path().join("environment-url"),
            changed,
            rollback_payload,
            promote_payload,
            phases,
            _dir: dir,
        })
    }

    fn vars<'a>(&'a self, id: u64, git_ref: &'a str, d: &'a Deploy) -> CommandVars<'a> {
        let rollback = d.rollback.as_deref();
        let promotion = d.promotion.as_deref();
        CommandVars {
            artifact: d.artifact.as_deref(),
            promoted_from: promotion.map(|p| p.from_environment.as_str()),
            promote_payload: promotion.map(|_| self.promote_payload.as_path()),
            deployment_id: Some(id),
            git_ref: Some(git_ref),
            changed_files: Some(&self.changed),
            url_file: Some(&self.url),
            rollback_from_sha: rollback.map(|r| r.from_sha.as_str()),
            rollback_payload: rollback.map(|_| self.rollback_payload.as_path()),
            phase_file: self.phases.as_ref().map(PhaseFile::path),
        }
    }
}

/// The `permissions:` a deploy job grants, for the run's own event: `pull-requests: write` only
/// where a pull request's sticky comment is written, and `actions: read` for the post step,
/// which reads the job's outcome.
pub fn permissions_block(pull_request: bool) -> String {
    let mut block = String::from("\n  permissions:\n    deployments: write\n    contents: read");
    if pull_request {
        block.push_str("\n    pull-requests: write");
    }
    block.push_str("\n    actions: read");
    block
}
