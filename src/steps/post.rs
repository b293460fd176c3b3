//! The post step: finishes what the main step left unfinished.

use super::{Context, DEPLOY_PERMISSION};
use crate::github::{DeploymentClient, NewStatus, State};
use crate::report::Report;
use crate::text::Description;

/// The post step: finishes a deployment that the main step left unfinished. Nothing saved, or
/// already final: no write call at all.
pub async fn post(client: &DeploymentClient, context: &Context, saved: Option<u64>) -> Report {
    let Some(id) = saved else {
        return Report::skipped(
            "no saved deployment id (STATE_deployment-id is not set); nothing to finish",
        );
    };
    let latest = match client.latest_status(id).await {
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
    let (state, detail) = match job_outcome(client, context).await {
        Some(true) => (State::Success, "The job's steps succeeded".to_string()),
        Some(false) => (State::Failure, "A step of the job failed".to_string()),
        None => (
            State::Error,
            "The job ended before the deployment finished".to_string(),
        ),
    };
    let status = NewStatus {
        state,
        description: Description::new(&detail),
        log_url: latest
            .and_then(|s| s.log_url)
            .or_else(|| Some(context.log_url()).filter(|u| !u.is_empty())),
        environment_url: None,
        auto_inactive: None,
    };
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
