//! The changed files of a deploy: local git first, then the compare API, else everything, with
//! the reason each time.

use crate::changes::{self, Basis, Local};
use crate::event::{Event, Trigger};
use crate::github::{ApiError, Budget, DeploymentClient, DeploymentState};
use crate::inputs::{Inputs, Since};
use crate::plan::Changes;
use crate::runtime::Untrusted;

/// The compare API lists at most 300 files: that many means the list was cut.
const COMPARE_LIMIT: usize = 300;

/// Whether [`find_changes`] may ask the API, and if not, why not: the reason is part of what the
/// log says, and a sentence about `rollout plan` has no place in a real run's log.
#[derive(Clone, Copy)]
pub enum Api<'a> {
    Client(&'a DeploymentClient),
    /// `rollout plan`: it makes no API call.
    Plan,
    /// A real run whose changed files only fill `ROLLOUT_CHANGED_FILES`: not worth a request.
    NotNeeded,
}

impl<'a> Api<'a> {
    fn client(self) -> Option<&'a DeploymentClient> {
        match self {
            Api::Client(c) => Some(c),
            Api::Plan | Api::NotNeeded => None,
        }
    }

    /// Why the API is not asked, finishing a sentence.
    fn not_asked(self) -> &'static str {
        match self {
            Api::Plan => "`rollout plan` makes no API call",
            Api::NotNeeded | Api::Client(_) => {
                "neither `paths` nor `tasks` needs the changed files, so the API is not asked"
            }
        }
    }
}

/// The changed files for `target`, from local git, else the compare API (when `api` allows),
/// else everything with the reason.
pub async fn find_changes(
    event: &Event,
    inputs: &Inputs,
    workspace: &std::path::Path,
    environment: &str,
    api: Api<'_>,
) -> Changes {
    // A new tag has no `before`, and the default branch often holds the very commit it tags:
    // what it brings is what changed since the environment last deployed.
    let new_tag = matches!(&event.trigger, Trigger::Push { before: None, git_ref, .. } if git_ref.tag_name().is_some());
    let since = if new_tag {
        Since::LastDeployment
    } else {
        inputs.since
    };
    let why_since = if new_tag { "a new tag, so " } else { "" };
    let basis = match (since, api.client()) {
        (Since::LastDeployment, Some(client)) => {
            let last = last_successful_sha(client, environment).await;
            match (last, plan_head(event)) {
                (Ok(Some(base)), Some(head)) if base == *head => {
                    return Changes::Files {
                        files: Vec::new(),
                        source: format!(
                        "{why_since}the last successful deployment of {environment} is this commit"
                    ),
                    }
                }
                (Ok(Some(base)), Some(head)) => Basis::Trees {
                    why: format!(
                        "{why_since}since {}, the last successful deployment of {environment}",
                        base.short()
                    ),
                    base,
                    head: head.clone(),
                },
                (Ok(Some(_)), None) => changes::event_basis(event),
                (Ok(None), _) => Basis::None {
                    why: format!("{why_since}{environment} has no successful deployment yet"),
                },
                (Err(e), _) => Basis::None {
                    why: format!("{why_since}the last deployment could not be read ({e})"),
                },
            }
        }
        (Since::LastDeployment, None) => Basis::None {
            why: format!(
                "{} needs the last deployment from the API, and {}",
                if new_tag {
                    "a new tag's change"
                } else {
                    "`since: last-deployment`"
                },
                api.not_asked()
            ),
        },
        (Since::Event, _) => changes::event_basis(event),
    };
    let local = match changes::open(workspace) {
        Ok(repo) => changes::local(&repo, &basis),
        Err(e) => Local::Missing(e),
    };
    let missing = match local {
        Local::Files(files) => {
            let why = match &basis {
                Basis::Trees { why, .. } | Basis::MergeBase { why, .. } | Basis::None { why } => {
                    why
                }
            };
            return Changes::Files {
                files,
                source: format!("{why}, from local git"),
            };
        }
        Local::Missing(reason) => reason,
    };
    let (base, head) = match &basis {
        Basis::None { why } => {
            return Changes::Everything {
                reason: why.clone(),
            }
        }
        Basis::Trees { base, head, .. } => {
            if matches!(event.trigger, Trigger::Push { forced: true, .. }) {
                return Changes::Everything {
                    reason: format!("a force push, and {missing}: a compare from the merge base would miss the discarded commits"),
                };
            }
            (base.as_str().to_string(), head.clone())
        }
        Basis::MergeBase { base, head, .. } => (base.clone(), head.clone()),
    };
    let Some(client) = api.client() else {
        return Changes::Everything {
            reason: format!(
                "{missing}; the compare API would tell, but {}",
                api.not_asked()
            ),
        };
    };
    tracing::info!("{missing}; asking the compare API");
    from_compare(client, &base, &head, &missing).await
}

/// The changed files from the compare API, when local git could not tell (`missing` says why).
async fn from_compare(
    client: &crate::github::DeploymentClient,
    base: &str,
    head: &crate::event::Sha,
    missing: &str,
) -> Changes {
    match client.compare(base, head.as_str()).await {
        Ok(c) if c.files.len() >= COMPARE_LIMIT => Changes::Everything {
            reason: format!(
                "the compare API listed {} files, its limit, so the list is cut",
                c.files.len()
            ),
        },
        Ok(c) => {
            let mut files: Vec<String> = c
                .files
                .into_iter()
                .flat_map(|f| std::iter::once(f.filename).chain(f.previous_filename))
                .collect();
            files.sort();
            files.dedup();
            Changes::Files {
                files,
                source: format!("compare API {}...{}", Untrusted(base), head.short()),
            }
        }
        // A 404 here most often means GitHub does not know the base any more (a force push
        // dropped it, or its branch was deleted); it also means no access. Both are said.
        Err(e) if e.status() == Some(404) => Changes::Everything {
            reason: format!(
                "{missing}, and the compare API answered 404 for {}...{}: GitHub no longer has the base commit (a force push or a deleted branch drops it), or the token lacks `contents: read`",
                Untrusted(base),
                head.short()
            ),
        },
        Err(e) => Changes::Everything {
            reason: format!(
                "{missing}, and the compare API failed ({})",
                e.explain("the compare", "contents: read")
            ),
        },
    }
}

fn plan_head(event: &Event) -> Option<&crate::event::Sha> {
    match &event.trigger {
        Trigger::Push { sha, .. }
        | Trigger::Dispatch { sha, .. }
        | Trigger::WorkflowRun { sha, .. } => Some(sha),
        Trigger::PullRequest(pr) => Some(&pr.head_sha),
        Trigger::Unhandled => None,
    }
}

/// The sha of the newest deployment of `environment` whose latest status is success.
async fn last_successful_sha(
    client: &DeploymentClient,
    environment: &str,
) -> Result<Option<crate::event::Sha>, ApiError> {
    // One GraphQL read of the newest 100, where REST needs a status read per deployment.
    let states = client
        .deployment_states(environment, Some(100), Budget::Ordinary)
        .await?;
    Ok(states
        .nodes
        .into_iter()
        .find(|n| matches!(n.state, DeploymentState::Active | DeploymentState::Success))
        .and_then(|n| n.sha))
}
