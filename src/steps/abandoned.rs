//! Deployments made by a create whose answer was lost: the server can finish a create after the
//! client gave up on it, so one may surface after the run made another. Each one carrying this
//! run's key that the run did not adopt is finished, never left pending.

use crate::github::{DeploymentClient, NewStatus, State};
use crate::text::Description;

/// Marks `error` every deployment of `sha` that carries `key`, is not in `adopted` and is not
/// `error` yet; returns their ids. Errors are logged: this is a sweep after the fact.
pub async fn finish_abandoned(
    client: &DeploymentClient,
    sha: &str,
    environment: Option<&str>,
    key: &str,
    adopted: &[u64],
    log_url: &str,
) -> Vec<u64> {
    let found = match client.with_key(environment, sha, key).await {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("could not look for deployments of an ambiguous create: {e}");
            return Vec::new();
        }
    };
    let mut finished = Vec::new();
    for d in found.iter().filter(|d| !adopted.contains(&d.id)) {
        // Already `error` is as finished as it gets. Any other state, final ones included, gets
        // the truth: this run's own supersede scan may have seen the late deployment as an older
        // running one and marked it inactive, which would read as a deploy that happened.
        match client.latest_status(d.id).await {
            Ok(Some(latest)) if latest.state == State::Error => continue,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("could not read deployment {}: {e}", d.id);
                continue;
            }
        }
        let status = NewStatus {
            state: State::Error,
            description: Description::new("Abandoned after an ambiguous create"),
            log_url: Some(log_url.to_string()).filter(|u| !u.is_empty()),
            environment_url: None,
            auto_inactive: None,
        };
        match client.create_status(d.id, &status).await {
            Ok(()) => {
                tracing::info!(
                    "deployment {} was made by a create whose answer was lost, and this run used another; marked error (abandoned after an ambiguous create)",
                    d.id
                );
                finished.push(d.id);
            }
            Err(e) => tracing::warn!("could not finish abandoned deployment {}: {e}", d.id),
        }
    }
    finished
}
