//! Deployments made by a create whose answer was lost: the server can finish a create after the
//! client gave up on it, so one may surface after the run made another. Each one carrying this
//! run's key that the run did not adopt is finished, never left pending.

use crate::github::{DeploymentClient, NewStatus, State};

/// What a sweep saw.
#[derive(Debug, Default)]
pub struct Swept {
    /// Deployments carrying the key, adopted ones included.
    pub found: usize,
    /// The ones it marked `error`.
    pub finished: Vec<u64>,
}

/// Marks `error` every deployment of `sha` that carries `key`, is not in `adopted` and is not
/// `error` yet. `Err`: the lookup itself failed, so nothing is known. Failed writes are logged:
/// this is a sweep after the fact.
pub async fn finish_abandoned(
    client: &DeploymentClient,
    sha: &str,
    environment: Option<&str>,
    key: &str,
    adopted: &[u64],
    log_url: &str,
) -> Result<Swept, crate::github::ApiError> {
    let found = client.with_key(environment, sha, key).await?;
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
        let status = NewStatus::new(State::Error, "Abandoned after an ambiguous create", log_url);
        match client.create_status(d.id, &status).await {
            Ok(()) => {
                let used = if adopted.is_empty() {
                    "this run could not use it".to_string()
                } else {
                    format!(
                        "this run used {}",
                        adopted
                            .iter()
                            .map(u64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                tracing::info!(
                    "deployment {} was made by a create whose answer was lost, and {used}; marked error (abandoned after an ambiguous create)",
                    d.id
                );
                finished.push(d.id);
            }
            Err(e) => tracing::warn!("could not finish abandoned deployment {}: {e}", d.id),
        }
    }
    Ok(Swept {
        found: found.len(),
        finished,
    })
}
