//! The post step: finishes what the main step left unfinished.

use super::DEPLOY_PERMISSION;
use crate::github::{DeploymentClient, NewStatus, State};
use crate::report::Report;
use crate::runtime::Context;

/// What the main step saved for the post step (`STATE_*`): the deployments it created, the
/// final statuses it posted, and the key of its creates.
#[derive(Debug, Default)]
pub struct Saved {
    pub ids: Vec<u64>,
    /// `id -> state` of each final status the main step posted.
    pub finals: Vec<(u64, State)>,
    /// The run's idempotency key and the sha it deployed, saved before any create was sent.
    pub key: Option<(String, String)>,
    /// A create's answer was lost, or the main step ended before it saved an id.
    pub ambiguous: bool,
}

impl Saved {
    /// `Err`: why there is nothing to finish (which variable was read, and what it held).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Saved, String> {
        // With `targets` the job may have created several deployments: the state lists them all.
        let text = get("STATE_deployment-ids").or_else(|| get("STATE_deployment-id"));
        let key = match (get("STATE_deployment-key"), get("STATE_deployment-sha")) {
            (Some(k), Some(s)) => Some((k, s)),
            _ => None,
        };
        let ids: Vec<u64> = match &text {
            None => Vec::new(),
            Some(text) => text
                .split(',')
                .map(|id| id.trim().parse::<u64>().ok().filter(|n| *n > 0))
                .collect::<Option<Vec<u64>>>()
                .ok_or_else(|| {
                    format!(
                        "STATE_deployment-id is {:?}, which is not a deployment id",
                        crate::runtime::Untrusted(text).to_string()
                    )
                })?,
        };
        if ids.is_empty() && key.is_none() {
            // The main step says so when it made no create (a lock, a skip, a dry run...).
            if let Some(what) = get("STATE_deployment-none") {
                return Err(format!(
                    "the main step ({}) created no deployment",
                    crate::runtime::Untrusted(&what)
                ));
            }
            // An unwritable GITHUB_STATE looks the same as a run that never created: say both.
            return Err(
                "the main step saved no deployment id and no create key (no STATE_deployment-id or STATE_deployment-key): either it sent no create, or it could not write GITHUB_STATE (its log says which); the post step cannot know which deployment to finish"
                    .into(),
            );
        }
        let finals = get("STATE_deployment-finals")
            .unwrap_or_default()
            .split(',')
            .filter_map(|pair| {
                let (id, state) = pair.split_once(':')?;
                let state: State = serde_json::from_value(state.into()).ok()?;
                Some((id.parse().ok()?, state)).filter(|(_, s): &(u64, State)| s.is_final())
            })
            .collect();
        Ok(Saved {
            ambiguous: ids.is_empty() || get("STATE_deployment-ambiguous").is_some(),
            ids,
            finals,
            key,
        })
    }
}

/// The post step: finishes each deployment the main step left unfinished, and any made by a
/// create whose answer was lost. Nothing saved, or all final: no write call at all.
pub async fn post(client: &DeploymentClient, context: &Context, saved: &Saved) -> Vec<Report> {
    let mut reports = Vec::new();
    let mut unknown: Option<String> = None;
    if let (true, Some((key, sha))) = (saved.ambiguous, &saved.key) {
        match sweep(client, context, saved, key, sha).await {
            Ok(swept) if !swept.finished.is_empty() => reports.push(Report {
                status: "error".into(),
                detail: format!(
                    "deployment(s) {} made by a create whose answer was lost marked error (abandoned after an ambiguous create)",
                    swept
                        .finished
                        .iter()
                        .map(u64::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                exit: Some(0),
                ..Report::default()
            }),
            Ok(_) => {}
            Err(e) => {
                unknown = Some(format!(
                    "the main step's create may have made a deployment, but looking for it failed: {}",
                    e.explain("Looking for it", DEPLOY_PERMISSION)
                ))
            }
        }
    }
    for &id in &saved.ids {
        let posted = saved
            .finals
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, state)| *state);
        reports.push(finish_one(client, context, id, posted).await);
    }
    if let Some(why) = unknown {
        reports.push(Report {
            status: "error".into(),
            detail: why,
            exit: Some(1),
            ..Report::default()
        });
    } else if reports.is_empty() {
        reports.push(Report::skipped(format!(
            "the main step saved a create's key, and no deployment carries it after {} looks over {} s; nothing to finish",
            LOOKS.len() + 1,
            LOOKS.iter().sum::<u64>()
        )));
    }
    reports
}

/// Waits between the post step's looks for a create the main step lost: a server can finish a
/// create seconds after the client gave up on it (a cancel mid-create), and the post step may
/// run at once.
const LOOKS: [u64; 4] = [1, 2, 4, 8];

/// Finishes what a lost create made. When the main step adopted nothing, nothing carrying the
/// key may have surfaced yet: it looks again with backoff before concluding none landed.
async fn sweep(
    client: &DeploymentClient,
    context: &Context,
    saved: &Saved,
    key: &str,
    sha: &str,
) -> Result<super::abandoned::Swept, crate::github::ApiError> {
    let log_url = context.log_url();
    let mut swept = super::finish_abandoned(client, sha, None, key, &saved.ids, &log_url).await?;
    if !saved.ids.is_empty() {
        return Ok(swept);
    }
    for wait in LOOKS {
        if swept.found > 0 {
            break;
        }
        tracing::info!(
            "no deployment carries the main step's key yet; looking again in {wait} s (a create can land late)"
        );
        client.sleep(std::time::Duration::from_secs(wait)).await;
        swept = super::finish_abandoned(client, sha, None, key, &saved.ids, &log_url).await?;
    }
    Ok(swept)
}

/// One deployment: left as it is when final; else the main step's final state again when it
/// posted one (a status that was on the wire landed after it), else the job's outcome.
async fn finish_one(
    client: &DeploymentClient,
    context: &Context,
    id: u64,
    posted: Option<State>,
) -> Report {
    // The newest hundred in the one read the post step makes anyway: how many there are says
    // whether GitHub would take one more (it keeps 100 a deployment).
    let statuses = match client.statuses(id, 100).await {
        Ok(s) => s,
        Err(e) => {
            return Report {
                status: "error".into(),
                detail: e.explain(&format!("Reading deployment {id}"), DEPLOY_PERMISSION),
                deployment_id: Some(id),
                exit: Some(1),
                ..Report::default()
            }
        }
    };
    let count = statuses.len();
    let latest = statuses.into_iter().next();
    if let Some(s) = &latest {
        if s.state.is_final() {
            return Report {
                status: "skipped".into(),
                detail: format!("deployment {id} is already final ({})", s.state.as_str()),
                deployment_id: Some(id),
                ..Report::default()
            };
        }
    }
    let (state, detail) = match posted {
        Some(state) => (
            state,
            format!(
                "{} again: a status the main step sent earlier landed after its final one",
                state.as_str()
            ),
        ),
        None => match job_outcome(client, context).await {
            Some(true) => (State::Success, "The job's steps succeeded".to_string()),
            Some(false) => (State::Failure, "A step of the job failed".to_string()),
            None => (
                State::Error,
                "The job ended before the deployment finished".to_string(),
            ),
        },
    };
    if count >= crate::phases::StatusBudget::GITHUB_LIMIT as usize {
        return Report {
            status: "error".into(),
            detail: format!(
                "deployment {id} is not final, but it has {count} statuses, GitHub's limit: no status can be added to it"
            ),
            deployment_id: Some(id),
            exit: Some(1),
            ..Report::default()
        };
    }
    let log_url = latest
        .and_then(|s| s.log_url)
        .unwrap_or_else(|| context.log_url());
    let status = NewStatus::new(state, &detail, &log_url);
    match client.create_status(id, &status).await {
        Ok(()) => Report {
            status: state.as_str().into(),
            detail: format!("deployment {id} marked {}: {detail}", state.as_str()),
            deployment_id: Some(id),
            exit: Some(0),
            ..Report::default()
        },
        Err(e) => Report {
            status: "error".into(),
            detail: e.explain(&format!("Finishing deployment {id}"), DEPLOY_PERMISSION),
            deployment_id: Some(id),
            exit: Some(1),
            ..Report::default()
        },
    }
}

/// Whether the job's completed steps all succeeded, from the jobs API, matched by runner name.
async fn job_outcome(client: &DeploymentClient, context: &Context) -> Option<bool> {
    if context.run_id.is_empty() || context.runner_name.is_empty() {
        return None;
    }
    let jobs = client
        .list_jobs(&context.run_id, &context.run_attempt)
        .await
        .ok()?;
    let job = jobs.iter().find(|j| {
        j.runner_name.as_deref() == Some(context.runner_name.as_str()) && j.status != "completed"
    })?;
    let done: Vec<_> = job
        .steps
        .iter()
        .filter_map(|s| s.conclusion.as_deref())
        .collect();
    if done.is_empty() {
        return None;
    }
    Some(done.iter().all(|c| matches!(*c, "success" | "skipped")))
}
