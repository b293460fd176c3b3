//! `step: finish`: the job's status on a deployment `step: start` opened.

use super::{newer_deployment, Rollout, DEPLOY_PERMISSION};
use crate::github::State;
use crate::inputs::JobStatus;
use crate::report::Report;

impl Rollout<'_> {
    /// `step: finish`: the final status of a deployment started by `step: start`.
    /// `from_event`: the target the run's event maps to (the one `step: start` deployed), which
    /// fills `{branch}` and `{number}` in `environment-url` as start filled them.
    pub async fn finish(&self, from_event: Option<&crate::plan::Target>) -> Report {
        let (Some(id), Some(job)) = (self.inputs.deployment_id, self.inputs.status) else {
            return Report {
                status: "error".into(),
                detail: "`step: finish` needs `deployment-id` and `status`".into(),
                ..Report::default()
            };
        };
        let mut report = Report {
            log_url: self.context.log_url(),
            deployment_id: Some(id),
            ..Report::default()
        };
        // Read first, both at once: a deployment superseded by a newer run must stay inactive,
        // and the environment and sha make the outputs and the URL template.
        let (deployment, superseded) =
            tokio::join!(self.client.get_deployment(id), self.superseded(id));
        match deployment {
            Ok(dep) => {
                report.environment = dep.environment;
                report.sha = dep.sha;
            }
            Err(e) => {
                report.status = "error".into();
                report.detail = e.explain(&format!("Reading deployment {id}"), DEPLOY_PERMISSION);
                return report;
            }
        }
        if let Some(by) = superseded {
            report.status = "inactive".into();
            report.detail = format!(
                "deployment {id} was superseded by {}; it stays inactive",
                newer_deployment(by)
            );
            return report;
        }
        let branch = from_event.map(|t| crate::text::safe_name(t.branch()));
        let url = self.inputs.environment_url.as_ref().map(|t| {
            t.render_with(
                &crate::text::TemplateVars {
                    environment: &report.environment,
                    sha: &report.sha,
                    branch: branch.as_deref().unwrap_or_default(),
                    number: from_event.and_then(|t| t.pr_number),
                },
                self.inputs.target.as_deref(),
            )
        });
        let (state, status, detail) = match job {
            JobStatus::Success => (
                State::Success,
                "success",
                "The job's deploy steps succeeded",
            ),
            JobStatus::Failure => (State::Failure, "failure", "The job's deploy steps failed"),
            JobStatus::Cancelled => (State::Error, "cancelled", "The job was cancelled"),
        };
        report.status = status.into();
        let url = if state == State::Success {
            url.filter(|u| !u.is_empty())
        } else {
            None
        };
        let mut report = self.end(id, report, state, detail, url).await;
        if report.status == status {
            // The job's outcome is reported; the step itself did its work.
            report.exit = Some(0);
        }
        report
    }
}
