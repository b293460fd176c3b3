//! `step: sweep`: the previews whose pull request closed without a teardown (and, with
//! `preview-expires`, idle ones) torn down, each as a closed pull request's preview is (the
//! parts of `teardown.rs`), from a bulk read: the environments, then each preview's deployments
//! and its pull request's state by alias. Locks and freeze windows never block it.

use super::{teardown::Unfinished, Rollout, DEPLOY_PERMISSION};
use crate::github::{DeploymentClient, PreviewRead};
use crate::plan::Target;
use crate::report::{Report, TargetRow};
use crate::runtime::{self, Untrusted};
use crate::sweep::{self, Preview, PreviewNames, SweepRow, Swept, Verdict, Why};
use crate::text::{Template, TemplateVars};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::time::Instant;

/// What listing the repository's environments needs of a token.
const LIST_PERMISSION: &str = "actions: read";
/// What reading the pull requests needs beside `deployments: read`.
const PULL_PERMISSION: &str = "pull-requests: read";

/// Spaces a run's writes [`sweep::WRITE_SPACING`] apart (on the run's clock) and counts them
/// against [`sweep::WRITE_LIMIT`].
#[derive(Default)]
pub(super) struct Pacer {
    last: Cell<Option<Instant>>,
    count: Cell<usize>,
}

impl Pacer {
    pub(super) async fn wait(&self, client: &DeploymentClient) {
        let spacing = sweep::WRITE_SPACING.mul_f64(client.time_scale());
        if let Some(since) = self.last.get().map(|at| at.elapsed()) {
            if since < spacing {
                tokio::time::sleep(spacing - since).await;
            }
        }
        self.last.set(Some(Instant::now()));
        self.count.set(self.count.get() + 1);
    }

    fn room_for(&self, writes: usize) -> bool {
        self.count.get() + writes <= sweep::WRITE_LIMIT
    }
}

/// A preview torn down: what its sticky comment says.
struct Removed {
    preview: Preview,
    why: Why,
    sha: String,
    done: String,
}

/// The preview's newest deployment's commit, as `ROLLOUT_SHA`.
fn newest_sha(read: &PreviewRead) -> Option<crate::event::Sha> {
    read.deployments
        .iter()
        .find_map(|d| d.sha.as_deref().and_then(crate::event::Sha::parse))
}

impl Rollout<'_> {
    /// `step: sweep`: read, judge, tear down what is due, and list every preview.
    pub async fn sweep(&self) -> Report {
        let mut report = Report {
            log_url: self.context.log_url(),
            sweep: Some(Swept::default()),
            ..Report::default()
        };
        let names = match PreviewNames::new(
            self.inputs.preview_environment.as_ref(),
            &self.inputs.targets,
            self.inputs.target_environment.as_ref(),
        ) {
            Ok(names) => names,
            Err(e) => return failed(report, e.to_string()),
        };
        let (environments, listed) = match self
            .client
            .environment_names(crate::github::SWEEP_ENVIRONMENT_PAGES)
            .await
        {
            Ok(found) => (found.names, found.requests),
            Err(e) => {
                let told = e.explain("Listing the repository's environments", LIST_PERMISSION);
                return failed(report, format!("{told}; nothing was swept"));
            }
        };
        let previews: Vec<Preview> = environments
            .iter()
            .filter_map(|e| names.preview(e))
            .collect();
        let pairs: Vec<(String, u64)> = previews
            .iter()
            .map(|p| (p.environment.clone(), p.number))
            .collect();
        let read = match self.client.sweep_read(&pairs).await {
            Ok(read) => read,
            Err(e) => {
                let told = e.explain(
                    "Reading the previews' deployments and pull requests",
                    &format!("{DEPLOY_PERMISSION}` and `{PULL_PERMISSION}"),
                );
                return failed(report, format!("{told}; nothing was swept"));
            }
        };
        tracing::info!(
            "{} environment(s), {} of them previews, read in {} GraphQL request(s)",
            environments.len(),
            previews.len(),
            listed + read.requests
        );
        let (swept, failures) = self.sweep_previews(previews, &read.previews).await;
        report.detail = summary_sentence(&swept, &failures, self.inputs.dry_run);
        report.status = if failures.is_empty() {
            "success"
        } else {
            "failure"
        }
        .into();
        report.sweep = Some(swept);
        tracing::info!("{}", Untrusted(&report.detail));
        report
    }

    /// Judges each preview and sweeps those due, then writes each pull request's comment: what
    /// was done, and the previews that were due but not swept, with why.
    async fn sweep_previews(
        &self,
        previews: Vec<Preview>,
        read: &BTreeMap<String, PreviewRead>,
    ) -> (Swept, Vec<(String, String)>) {
        let (mut swept, mut failures) = (Swept::default(), Vec::new());
        let (pacer, cannot_delete) = (Pacer::default(), Cell::new(false));
        let mut removed: Vec<Removed> = Vec::new();
        for preview in previews {
            let Some(r) = read.get(&preview.environment) else {
                continue;
            };
            let verdict = sweep::judge(
                &r.deployments,
                r.pull,
                self.inputs.preview_expires,
                self.now,
            );
            let mut row = SweepRow {
                environment: preview.environment.clone(),
                number: preview.number,
                why: verdict.sentence(),
                done: "left alone".into(),
            };
            let why = match verdict {
                Verdict::Done => {
                    swept.done += 1;
                    continue;
                }
                Verdict::Sweep(why) => why,
                _ => {
                    swept.rows.push(row);
                    continue;
                }
            };
            if self.cancel.signal().is_some() {
                row.done = "not reached: the run was cancelled".into();
            } else {
                match self
                    .sweep_one(&preview, r, why, &pacer, &cannot_delete)
                    .await
                {
                    Ok(Some(done)) => {
                        row.done = done.clone();
                        swept.swept.push(preview.environment.clone());
                        removed.push(Removed {
                            sha: newest_sha(r).map(|s| s.to_string()).unwrap_or_default(),
                            preview,
                            why,
                            done,
                        });
                    }
                    Ok(None) if self.inputs.dry_run => {
                        row.done = dry_run_sentence(self, r, preview.number);
                        tracing::info!(
                            "{} (pull request #{}): {}; {}",
                            Untrusted(&preview.environment),
                            preview.number,
                            why.sentence(),
                            row.done
                        );
                    }
                    Ok(None) => {
                        row.done = format!(
                            "left for the next run: this run's {} writes are spent",
                            sweep::WRITE_LIMIT
                        )
                    }
                    Err(detail) => {
                        tracing::warn!(
                            "{}: {}",
                            Untrusted(&preview.environment),
                            Untrusted(&detail)
                        );
                        failures.push((preview.environment.clone(), detail.clone()));
                        row.done = detail;
                    }
                }
            }
            swept.rows.push(row);
        }
        self.comment_removed(&removed, &pacer).await;
        (swept, failures)
    }

    /// Tears one preview down: `Ok(Some(what was done))`, `Ok(None)` when nothing was written
    /// (a dry run, or no writes left this run), `Err` when it failed (what it left as it was).
    async fn sweep_one(
        &self,
        preview: &Preview,
        read: &PreviewRead,
        why: Why,
        pacer: &Pacer,
        cannot_delete: &Cell<bool>,
    ) -> Result<Option<String>, String> {
        let comment = self.inputs.comment.unwrap_or(true);
        let writes = sweep::writes_for(&read.deployments, comment, self.inputs.delete_environment);
        if self.inputs.dry_run || !pacer.room_for(writes) {
            return Ok(None);
        }
        tracing::info!(
            "sweeping {} (pull request #{}): {}",
            Untrusted(&preview.environment),
            preview.number,
            why.sentence()
        );
        let Some(sha) = newest_sha(read) else {
            return Err("its deployments name no commit, so its teardown has no ROLLOUT_SHA; left as it was".into());
        };
        let target = Target {
            environment: preview.environment.clone(),
            sha,
            git_ref: None,
            pr_number: Some(preview.number),
            production: Some(false),
            transient: true,
            rule: "swept".into(),
            unit: preview.target.clone(),
        };
        let newest = read.deployments.first().map(|d| d.id);
        let mut done = String::new();
        if let Some(finished) = self.teardown_command(&target, newest).await {
            if !finished.outcome.success() {
                let mut failed = Report::default();
                self.teardown_failed(&mut failed, &finished);
                if let Some(told) = &failed.log_detail {
                    tracing::error!("{}", Untrusted(told));
                }
                return Err(failed.detail);
            }
            done.push_str("teardown command ran; ");
        }
        let description = match why {
            Why::Closed => format!("Pull request #{} closed; swept", preview.number),
            Why::Expired(after) => format!("Expired after {} without a deploy", sweep::span(after)),
        };
        let nodes: Vec<(u64, bool)> = read
            .deployments
            .iter()
            .map(|d| (d.id, d.inactive))
            .collect();
        let log_url = self.context.log_url();
        let (written, already) = self
            .mark_inactive(
                &preview.environment,
                &nodes,
                &description,
                &log_url,
                Some(pacer),
            )
            .await
            .map_err(|Unfinished(detail)| detail)?;
        done.push_str(&format!(
            "{written} deployment(s) marked inactive ({already} already were)"
        ));
        if self.inputs.delete_environment {
            done.push_str(
                &self
                    .sweep_delete(&preview.environment, pacer, cannot_delete)
                    .await,
            );
        }
        Ok(Some(done))
    }

    /// `delete-environment: true` in a sweep: once the token is found unable to delete (not an
    /// admin's), the run says so once and tries no further deletion.
    async fn sweep_delete(&self, environment: &str, pacer: &Pacer, cannot: &Cell<bool>) -> String {
        if cannot.get() {
            return "; the environment was not deleted: the token cannot delete environments (that takes an admin's token)".into();
        }
        pacer.wait(self.client).await;
        match self.delete_preview_environment(environment).await {
            Ok(()) => "; the environment was deleted".into(),
            Err(sentence) => {
                let cannot_delete = sentence.contains("admin rights");
                if cannot_delete {
                    cannot.set(true);
                }
                runtime::warning(&sentence);
                // The pull request's comment is read where the run's warning is not.
                if cannot_delete {
                    "; the environment was not deleted: the token cannot delete environments (that takes an admin's token)".into()
                } else {
                    "; the environment was not deleted (the run's log says why)".into()
                }
            }
        }
    }

    /// Each pull request's sticky comment says why its preview went: one comment per pull
    /// request, its targets as rows.
    async fn comment_removed(&self, removed: &[Removed], pacer: &Pacer) {
        if !self.inputs.comment.unwrap_or(true) {
            return;
        }
        let mut by_number: BTreeMap<u64, Vec<&Removed>> = BTreeMap::new();
        for r in removed {
            by_number.entry(r.preview.number).or_default().push(r);
        }
        for (number, group) in by_number {
            let Some(first) = group.first() else {
                continue;
            };
            let mut report = Report {
                status: "inactive".into(),
                environment: first.preview.environment.clone(),
                pr_number: Some(number),
                sha: first.sha.clone(),
                log_url: self.context.log_url(),
                removed_because: Some(first.why.sentence()),
                detail: first.done.clone(),
                ..Report::default()
            };
            if first.preview.target.is_some() {
                report.group_environment = self.base_preview(number);
                report.rows = group
                    .iter()
                    .map(|r| TargetRow {
                        target: r.preview.target.clone().unwrap_or_default(),
                        status: "inactive".into(),
                        environment: r.preview.environment.clone(),
                        detail: r.done.clone(),
                        ..TargetRow::default()
                    })
                    .collect();
            }
            pacer.wait(self.client).await;
            self.comment(&report).await;
        }
    }

    /// The preview a pull request's targets were made from (`pr-7` for `pr-7-api`): its comment
    /// is kept under that name.
    fn base_preview(&self, number: u64) -> String {
        let vars = TemplateVars {
            number: Some(number),
            ..TemplateVars::default()
        };
        self.inputs
            .preview_environment
            .as_ref()
            .map(|t: &Template| t.render(&vars))
            .unwrap_or_default()
    }
}

fn failed(mut report: Report, detail: String) -> Report {
    report.status = "failure".into();
    report.detail = detail;
    report
}

/// What a dry run would have done to a preview.
fn dry_run_sentence(rollout: &Rollout<'_>, read: &PreviewRead, number: u64) -> String {
    let live = read.deployments.iter().filter(|d| !d.inactive).count();
    let mut does = Vec::new();
    if rollout.inputs.teardown_command.is_some() {
        does.push("run the teardown command".to_string());
    }
    does.push(format!("mark {live} deployment(s) inactive"));
    if rollout.inputs.delete_environment {
        does.push("delete the environment".into());
    }
    if rollout.inputs.comment.unwrap_or(true) {
        does.push(format!("say so on pull request #{number}"));
    }
    let last = does.pop().unwrap_or_default();
    if does.is_empty() {
        format!("dry run: would {last}")
    } else {
        format!("dry run: would {} and {last}", does.join(", "))
    }
}

/// The run's one sentence: what was swept, what failed.
/// `failures`: each preview that was due but not swept, with why (its own sentence: a failed
/// teardown leaves the preview as it was; a refused write says what the token lacks).
fn summary_sentence(swept: &Swept, failures: &[(String, String)], dry_run: bool) -> String {
    let listed = swept.rows.len();
    let mut s = if dry_run {
        let due = swept
            .rows
            .iter()
            .filter(|r| r.done.starts_with("dry run"))
            .count();
        format!("dry run: {due} preview(s) would be swept; nothing was written and no command ran")
    } else if swept.swept.is_empty() && failures.is_empty() {
        format!("nothing to sweep ({listed} preview(s) with a live deployment listed)")
    } else if swept.swept.is_empty() {
        format!("swept nothing ({listed} preview(s) with a live deployment listed)")
    } else {
        format!(
            "swept {} preview(s): {}",
            swept.swept.len(),
            swept.swept.join(", ")
        )
    };
    if !failures.is_empty() {
        let each: Vec<String> = failures
            .iter()
            .map(|(environment, why)| format!("{environment} ({why})"))
            .collect();
        s.push_str(&format!("; not swept: {}", each.join(", ")));
    }
    s
}
