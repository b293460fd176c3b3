//! `step: deactivate`: deployments marked inactive on request.

use super::{Rollout, DEPLOY_PERMISSION};
use crate::github::{NewStatus, State};
use crate::plan::{self};
use crate::report::Report;

impl Rollout<'_> {
    /// `step: deactivate`: one deployment, or every deployment of the environment, inactive.
    pub async fn deactivate(&self) -> Report {
        let log_url = self.context.log_url();
        let (ids, environment) = match self.inputs.deployment_id {
            Some(id) => (vec![id], String::new()),
            None => {
                let target = match plan::destination(self.event, self.inputs) {
                    Ok(dest) => dest.target().clone(),
                    Err(s) => return self.skip(s.kind, s.reason),
                };
                match self
                    .client
                    .list_deployments(Some(&target.environment), None, 10)
                    .await
                {
                    Ok(list) => (list.into_iter().map(|d| d.id).collect(), target.environment),
                    Err(e) => {
                        return Report {
                            status: "failure".into(),
                            detail: e.explain("Listing the deployments", DEPLOY_PERMISSION),
                            ..Report::default()
                        }
                    }
                }
            }
        };
        // Without `deployment-id`, a deployment that is inactive already is left as it is.
        let mut already = 0;
        let mut ids = ids;
        if self.inputs.deployment_id.is_none() {
            let mut live = Vec::new();
            for id in ids {
                match self.client.latest_status(id).await {
                    Ok(Some(s)) if s.state == State::Inactive => already += 1,
                    _ => live.push(id),
                }
            }
            ids = live;
        }
        for id in &ids {
            let status = NewStatus::new(State::Inactive, "Deactivated", &log_url);
            if let Err(e) = self.client.create_status(*id, &status).await {
                return Report {
                    status: "failure".into(),
                    detail: e.explain(&format!("Deactivating deployment {id}"), DEPLOY_PERMISSION),
                    ..Report::default()
                };
            }
        }
        Report {
            status: "inactive".into(),
            detail: if already > 0 {
                format!(
                    "{} deployment(s) marked inactive; {already} already were",
                    ids.len()
                )
            } else {
                format!("{} deployment(s) marked inactive", ids.len())
            },
            environment,
            deployment_id: (ids.len() == 1).then(|| ids[0]),
            log_url,
            ..Report::default()
        }
    }
}
