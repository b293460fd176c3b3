//! `step: rollback`'s decision, pure: which deployment of an environment is rolled back from and
//! which one it goes back to, from the environment's deployment history (newest first), or the one
//! sentence saying why nothing can be. The history is read elsewhere (`DeploymentClient::
//! rollback_history`); the checkout and the deploy are the steps' business.
//!
//! The rules are the contract's, read through [`crate::history`]: the deployment rolled back from
//! is the newest one that *ran* (deployments a lock stopped changed nothing and are passed over);
//! a target must have *reached* `success` and have another commit than the current one. `to:
//! previous` is the history's last good one, which also skips what a later rollback undid, so
//! that a second rollback goes further back instead of returning to the deploy the first one
//! left.

use crate::history::{last_good_before, newest_that_ran, HistoryEntry, HISTORY_LIMIT};
use crate::inputs::Inputs;
pub use crate::inputs::RollbackTo;
pub use crate::plan::RollbackOf;
use crate::plan::{Deploy, Target};
use crate::text::Untrusted;
use crate::text::{Description, TemplateVars};
use serde_json::{json, Value};
use std::collections::BTreeSet;

impl RollbackTo {
    /// Whether `history` (newest first, as read so far) already decides this target, so older
    /// pages need not be read. Deployment ids grow with creation time, so once an id at or below
    /// the one asked for has been read, that deployment has been read too or does not exist.
    pub fn decided_by(&self, history: &[HistoryEntry]) -> bool {
        let id_decided = |id: u64| history.iter().any(|e| e.id <= id);
        let good_commit = |prefix: &str| {
            history
                .iter()
                .any(|e| e.reached_success() && e.sha.as_str().starts_with(prefix))
        };
        match self {
            RollbackTo::Previous => previous(history).is_some(),
            RollbackTo::Id(id) => id_decided(*id),
            RollbackTo::Sha(prefix) => good_commit(prefix),
            RollbackTo::ShaOrId { prefix, id } => {
                id_decided(*id) && (history.iter().any(|e| e.id == *id) || good_commit(prefix))
            }
        }
    }
}

/// From the newest deployment back to an older, good one.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    pub from: HistoryEntry,
    pub to: HistoryEntry,
}

/// Why there is nothing to roll back to: each a clause completing "cannot roll back ENV: ".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("it has no deployments, so there is nothing to roll back")]
    NoDeployments,
    #[error("none of its {0} deployment(s) read ran (each lacks an `in_progress`, `success` or `failure` status, as when a lock stopped it), so nothing was deployed that could be rolled back")]
    NoneRan(usize),
    #[error("nothing to roll back to: no deployment before the current one ({from}, commit {}) reached success with another commit that no later rollback undid; name the one to go back to with `to:` (a deployment id or commit sha from the repository's Environments page)", short(.from_sha))]
    NothingToRollBackTo { from: u64, from_sha: String },
    #[error("`to: {0}` names no deployment of it: check the deployment id or commit on the repository's Environments page")]
    NoSuchDeployment(RollbackTo),
    #[error("deployment {id} (commit {}) never reached success, and a rollback goes only to a deployment that did", short(.sha))]
    NeverSucceeded { id: u64, sha: String },
    #[error("{}", same_commit(*.id, .sha, *.from))]
    SameCommit { id: u64, sha: String, from: u64 },
    #[error("`to: {prefix}` is the start of more than one deployed commit ({}): write more of the sha", .shas.join(", "))]
    AmbiguousPrefix { prefix: String, shas: Vec<String> },
    #[error("`to: {value}` is both deployment {value} and the start of commit {sha}: write the full sha of the commit you mean (for that deployment, its own commit)")]
    AmbiguousShaOrId { value: String, sha: String },
    #[error("what `to: {0}` asks for is not among its newest 1,000 deployments, which is as far back as rollout reads: name a newer deployment or commit")]
    Truncated(RollbackTo),
}

impl Refusal {
    /// The one sentence a user reads.
    pub fn sentence(&self, environment: &str) -> String {
        format!("cannot roll back {environment}: {self}")
    }
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn same_commit(id: u64, sha: &str, from: u64) -> String {
    if id == from {
        format!(
            "deployment {id} (commit {}) is the current deployment, not an earlier one",
            short(sha)
        )
    } else {
        format!(
            "deployment {id} deployed commit {}, the commit of the current deployment {from}, which is running it; nothing to roll back",
            short(sha)
        )
    }
}

/// [`choose_within`] over a history read to its end.
pub fn choose(history: &[HistoryEntry], to: &RollbackTo) -> Result<Choice, Refusal> {
    choose_within(history, false, to)
}

/// The deployment to roll back from (the newest) and the one to roll back to, from `history`
/// (newest first). `truncated`: older deployments exist that were not read, so a target not
/// found may be among them.
///
/// A value that is both a sha prefix and a deployment id (`ShaOrId`) is ambiguous only when the
/// history holds both a deployment with that id and a deployment whose commit starts with it;
/// when only one exists it means that one. A sha prefix that matches several deployments of the
/// same commit means the newest of them that reached success; one that matches two commits is
/// ambiguous. Both are judged within the deployments read.
pub fn choose_within(
    history: &[HistoryEntry],
    truncated: bool,
    to: &RollbackTo,
) -> Result<Choice, Refusal> {
    let unread = |refusal: Refusal| {
        if truncated && !to.decided_by(history) {
            Refusal::Truncated(to.clone())
        } else {
            refusal
        }
    };
    if history.is_empty() {
        return Err(Refusal::NoDeployments);
    }
    // What the environment runs (or failed to): deployments a lock stopped changed nothing.
    let Some(from) = newest_that_ran(history) else {
        return Err(unread(Refusal::NoneRan(history.len())));
    };
    let target = match to {
        RollbackTo::Previous => previous(history).ok_or_else(|| {
            unread(Refusal::NothingToRollBackTo {
                from: from.id,
                from_sha: from.sha.to_string(),
            })
        })?,
        RollbackTo::Id(id) => {
            by_id(history, *id).ok_or_else(|| unread(Refusal::NoSuchDeployment(to.clone())))?
        }
        RollbackTo::Sha(prefix) => by_prefix(history, prefix)?
            .ok_or_else(|| unread(Refusal::NoSuchDeployment(to.clone())))?,
        RollbackTo::ShaOrId { prefix, id } => {
            match (by_id(history, *id), by_prefix(history, prefix)?) {
                (Some(_), Some(commit)) => {
                    return Err(Refusal::AmbiguousShaOrId {
                        value: prefix.clone(),
                        sha: commit.sha.to_string(),
                    })
                }
                (Some(one), None) | (None, Some(one)) => one,
                (None, None) => return Err(unread(Refusal::NoSuchDeployment(to.clone()))),
            }
        }
    };
    // The current commit is refused while it runs; a named deployment of it is a retry when its
    // newest attempt (a failed deploy, or a failed rollback) did not reach success.
    let retry =
        !matches!(to, RollbackTo::Previous) && !from.reached_success() && target.id != from.id;
    if target.sha == from.sha && !retry {
        return Err(Refusal::SameCommit {
            id: target.id,
            sha: target.sha.to_string(),
            from: from.id,
        });
    }
    if !target.reached_success() {
        return Err(Refusal::NeverSucceeded {
            id: target.id,
            sha: target.sha.to_string(),
        });
    }
    Ok(Choice {
        from: from.clone(),
        to: target.clone(),
    })
}

fn by_id(history: &[HistoryEntry], id: u64) -> Option<&HistoryEntry> {
    history.iter().find(|e| e.id == id)
}

/// The deployment a sha prefix names: the newest of its commit that reached success, or (to be
/// refused as never successful) the newest of its commit. `None`: no commit starts with it.
fn by_prefix<'h>(
    history: &'h [HistoryEntry],
    prefix: &str,
) -> Result<Option<&'h HistoryEntry>, Refusal> {
    let matches: Vec<&HistoryEntry> = history
        .iter()
        .filter(|e| e.sha.as_str().starts_with(prefix))
        .collect();
    let commits: BTreeSet<&str> = matches.iter().map(|e| e.sha.as_str()).collect();
    if commits.len() > 1 {
        return Err(Refusal::AmbiguousPrefix {
            prefix: prefix.to_string(),
            // In full: their short forms may be the same seven digits.
            shas: commits.into_iter().map(str::to_string).collect(),
        });
    }
    Ok(matches
        .iter()
        .find(|e| e.reached_success())
        .or(matches.first())
        .copied())
}

/// `to: previous`: the history's last good deployment before the newest that ran (see
/// [`crate::history::undone`] for what a rollback undoes). Deploy A, B, C, then roll back from C
/// to B (R1): the next rollback starts at R1, skips C (R1 undid it) and B (the current commit),
/// and goes to A. Roll back again from R1 to A (R2) and the next one finds nothing: R2 undid
/// commit B, R1 undid C, and A is current.
fn previous(history: &[HistoryEntry]) -> Option<&HistoryEntry> {
    last_good_before(history, newest_that_ran(history)?)
}

/// Where a rollback goes back: the destination's environment, or with `targets` the own
/// environment of the target `target` names.
pub fn target_of(base: &Target, inputs: &Inputs) -> Target {
    match &inputs.target {
        Some(name) => crate::plan::for_target(base, name, inputs),
        None => base.clone(),
    }
}

/// The environments whose lock holds a rollback: where it goes back ([`target_of`]) and, for a
/// target of `targets`, the environment the branch maps to.
pub fn lock_environments(base: &Target, inputs: &Inputs) -> Vec<String> {
    crate::plan::lock_environments(
        &target_of(base, inputs).environment,
        inputs.target.as_ref().map(|_| base.environment.as_str()),
    )
}

/// `rollout plan` for `step: rollback`: what it cannot know offline (the history) and what it
/// would do with it.
pub fn plan_text(base: &Target, inputs: &Inputs, now: jiff::Timestamp) -> String {
    let target = target_of(base, inputs);
    let environment = &target.environment;
    let wanted = match &inputs.to {
        RollbackTo::Previous => "the newest earlier deployment that reached `success`, with another commit than the newest, and not undone by a later rollback".to_string(),
        to => format!("the deployment `{to}` names, which must have reached `success`"),
    };
    let mut s = format!(
        "step: rollback of {} ({})\n  to: {wanted}\n",
        Untrusted(environment),
        Untrusted(&target.rule)
    );
    s.push_str(&format!(
        "  history: unknown offline; the run reads {}'s deployments with their statuses and its lock (branch `{}`) in one GraphQL request, one more for each further 100, at most {HISTORY_LIMIT} back\n",
        Untrusted(environment),
        crate::lock::ref_name(environment)
    ));
    if let Some(frozen) = inputs.freeze.check(environment, now) {
        s.push_str(&format!(
            "  freeze: {}; a rollback is never blocked by a freeze window\n",
            frozen.window_sentence(environment)
        ));
    }
    s.push_str("  then: checks that commit out (`git checkout --detach`) in the repository holding `working-directory`, and deploys it with the task of the deployment it goes back to, described `Rollback to <short sha> (deployment <id>)`; a held lock blocks it\n");
    s.push_str(&format!(
        "  command: {}\n",
        Untrusted(inputs.command.as_deref().unwrap_or(""))
    ));
    s
}

/// The deploy of a rollback to `base`'s environment (or, with `targets`, to the own environment of
/// the target `target` names, which a lock on `base`'s holds too): the chosen deployment's commit
/// and task, the description `Rollback to <short sha> (deployment <id>)`, the `environment-url`
/// template rendered for that commit. No branch is named: the commit is usually no branch's tip
/// any more. Freeze windows are not consulted: a rollback is how an incident is fixed.
pub fn deploy(base: &Target, choice: &Choice, inputs: &Inputs) -> Deploy {
    let target = target_of(base, inputs);
    let locks = lock_environments(base, inputs);
    let rule = format!("{}, rolled back", target.rule);
    let (target, environment_url) = at_commit(target, &choice.to.sha, rule, inputs);
    Deploy {
        task: choice.to.task.clone(),
        task_reason: format!("the task of deployment {}", choice.to.id),
        description: Description::new(&description(choice)),
        environment_url,
        paths_reason: None,
        freeze_override: None,
        locks,
        // The build the target deployment shipped, so a rollback can re-point instead of
        // rebuilding; recorded again in the rollback's own payload.
        artifact: crate::shipping::artifact_of(&choice.to.payload),
        requires_override: None,
        promotion: None,
        rollback: Some(Box::new(RollbackOf {
            from_deployment: choice.from.id,
            from_sha: choice.from.sha.clone(),
            to_deployment: choice.to.id,
            to_payload: choice.to.payload.clone(),
            sentence: summary_sentence(&target.environment, choice),
            automatic: false,
        })),
        target,
    }
}

/// `target` at an earlier deployment's commit (a rollback's, a promotion's), on no branch: the
/// commit is usually no branch's tip any more. With it, `environment-url` rendered for that commit.
pub fn at_commit(
    target: Target,
    sha: &crate::event::Sha,
    rule: String,
    inputs: &Inputs,
) -> (Target, Option<String>) {
    let target = Target {
        sha: sha.clone(),
        git_ref: None,
        rule,
        ..target
    };
    let vars = TemplateVars {
        environment: &target.environment,
        branch: "",
        sha: target.sha.as_str(),
        number: target.pr_number,
    };
    let environment_url = inputs
        .environment_url
        .as_ref()
        .map(|t| t.render_with(&vars, target.unit.as_deref()))
        .filter(|u| !u.is_empty());
    (target, environment_url)
}

/// The deployment's description: `Rollback to <short sha> (deployment <id>)`.
pub fn description(choice: &Choice) -> String {
    format!(
        "Rollback to {} (deployment {})",
        choice.to.sha.short(),
        choice.to.id
    )
}

impl RollbackOf {
    /// The keys a rollback adds to rollout's usual payload; a later rollback reads
    /// `from_deployment` back ([`rollback_from`]) to go further back.
    pub fn payload_keys(&self) -> Value {
        let mut keys = json!({
            "from_deployment": self.from_deployment,
            "from_sha": self.from_sha.as_str(),
            "to_deployment": self.to_deployment,
        });
        if let (true, Value::Object(map)) = (self.automatic, &mut keys) {
            map.insert("automatic".into(), Value::Bool(true));
        }
        json!({ "rollback": keys })
    }
}

/// "rolled back production from C (deployment 52) to A (deployment 48)", for the summary.
pub fn summary_sentence(environment: &str, choice: &Choice) -> String {
    format!(
        "rolled back {environment} from {} (deployment {}) to {} (deployment {})",
        choice.from.sha.short(),
        choice.from.id,
        choice.to.sha.short(),
        choice.to.id
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Sha;

    use crate::history::rollback_from;
    use crate::history::tests::{deployed, newest_first, rolled_back, two_rollbacks, A, B, C, D};

    fn target(history: &[HistoryEntry], to: &RollbackTo) -> Result<u64, Refusal> {
        choose(history, to).map(|c| c.to.id)
    }

    fn previous_of(history: &[HistoryEntry]) -> Result<u64, Refusal> {
        target(history, &RollbackTo::Previous)
    }

    #[test]
    fn to_is_previous_a_sha_prefix_an_id_or_both() {
        assert_eq!(RollbackTo::parse(""), Ok(RollbackTo::Previous));
        assert_eq!(RollbackTo::parse(" previous\n"), Ok(RollbackTo::Previous));
        assert_eq!(RollbackTo::parse("Previous"), Ok(RollbackTo::Previous));
        assert_eq!(
            RollbackTo::parse("ABCDEF1"),
            Ok(RollbackTo::Sha("abcdef1".into()))
        );
        assert_eq!(RollbackTo::parse(A), Ok(RollbackTo::Sha(A.into())));
        let sha256 = "e".repeat(64);
        assert_eq!(RollbackTo::parse(&sha256), Ok(RollbackTo::Sha(sha256)));
        assert_eq!(RollbackTo::parse("48"), Ok(RollbackTo::Id(48)));
        assert_eq!(RollbackTo::parse("123456"), Ok(RollbackTo::Id(123456)));
        assert_eq!(
            RollbackTo::parse("2345678901"),
            Ok(RollbackTo::ShaOrId {
                prefix: "2345678901".into(),
                id: 2345678901
            })
        );
        assert_eq!(
            RollbackTo::parse("0123456"),
            Ok(RollbackTo::Sha("0123456".into())),
            "a leading zero is a sha's, never an id's"
        );
        // Too long for a u64 but a sha prefix all the same.
        let digits = "1".repeat(30);
        assert_eq!(RollbackTo::parse(&digits), Ok(RollbackTo::Sha(digits)));
    }

    #[test]
    fn bad_values_of_to_get_one_sentence_naming_what_is_allowed() {
        for (bad, says) in [
            ("abc12", "too short for a commit"),
            ("main", "neither `previous`"),
            ("HEAD~1", "neither `previous`"),
            ("-3", "neither `previous`"),
            (&"f".repeat(65), "neither `previous`"),
            ("abc 1234", "neither `previous`"),
        ] {
            let e = RollbackTo::parse(bad).unwrap_err();
            assert_eq!(e.input, "to");
            assert!(e.message.contains(says), "{bad}: {e}");
            assert!(e.message.contains(bad.trim()), "{bad}: {e}");
        }
    }

    #[test]
    fn previous_is_the_newest_older_success_with_another_commit() {
        let history = newest_first(vec![
            deployed(1, A, &["in_progress", "success", "inactive"]),
            deployed(2, B, &["in_progress", "success"]),
            deployed(3, C, &["in_progress", "failure"]),
        ]);
        let choice = choose(&history, &RollbackTo::Previous).unwrap();
        assert_eq!((choice.from.id, choice.to.id), (3, 2));
    }

    #[test]
    fn the_current_deployment_is_the_newest_that_ran_in_whatever_state_it_ended() {
        for ran in [
            &["success"][..],
            &["failure"],
            &["in_progress"],
            &["in_progress", "error"],
            &["in_progress", "inactive"],
        ] {
            let history = newest_first(vec![deployed(1, A, &["success"]), deployed(2, B, ran)]);
            let choice = choose(&history, &RollbackTo::Previous).unwrap();
            assert_eq!((choice.from.id, choice.to.id), (2, 1), "{ran:?}");
        }
        // One that never ran (a lock stopped it, or its run could not use it) is passed over:
        // A is current, and there is nothing before it.
        for never in [&["error"][..], &["pending"], &["inactive"], &[]] {
            let history = newest_first(vec![deployed(1, A, &["success"]), deployed(2, B, never)]);
            assert_eq!(
                previous_of(&history),
                Err(Refusal::NothingToRollBackTo {
                    from: 1,
                    from_sha: A.into()
                }),
                "{never:?}"
            );
        }
    }

    #[test]
    fn a_success_later_marked_inactive_still_reached_success() {
        // auto_inactive marks the earlier success inactive once a newer one succeeds.
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success"]),
        ]);
        assert_eq!(previous_of(&history), Ok(1));
    }

    #[test]
    fn failures_errors_and_unfinished_deployments_are_skipped() {
        let history = newest_first(vec![
            deployed(1, A, &["in_progress", "success", "inactive"]),
            deployed(2, B, &["in_progress", "failure"]),
            deployed(3, C, &["error"]),
            deployed(4, D, &["queued"]),
            deployed(5, B, &["in_progress", "inactive"]),
            deployed(6, C, &["success"]),
        ]);
        assert_eq!(previous_of(&history), Ok(1));
    }

    #[test]
    fn supersede_chains_end_in_inactive_without_success_and_are_skipped() {
        // A deploy superseded while running ends inactive without ever succeeding.
        let history = newest_first(vec![
            deployed(1, A, &["success"]),
            deployed(2, B, &["in_progress", "inactive"]),
            deployed(3, C, &["in_progress", "inactive"]),
            deployed(4, D, &["in_progress", "failure"]),
        ]);
        assert_eq!(previous_of(&history), Ok(1));
        assert_eq!(
            target(&history, &RollbackTo::Id(3)),
            Err(Refusal::NeverSucceeded {
                id: 3,
                sha: C.into()
            })
        );
    }

    #[test]
    fn the_same_commit_deployed_again_is_not_a_rollback_target() {
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success", "inactive"]),
            deployed(3, B, &["success"]),
        ]);
        // Deployment 2 is B again, the current commit: rolling back to it would change nothing.
        assert_eq!(previous_of(&history), Ok(1));
    }

    #[test]
    fn a_commit_deployed_twice_is_found_by_its_newest_success() {
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success", "inactive"]),
            deployed(3, A, &["success", "inactive"]),
            deployed(4, A, &["failure"]),
            deployed(5, C, &["success"]),
        ]);
        assert_eq!(target(&history, &RollbackTo::Sha("aaaaaaa1".into())), Ok(3));
        assert_eq!(target(&history, &RollbackTo::Sha(A.into())), Ok(3));
        assert_eq!(
            previous_of(&history),
            Ok(3),
            "the newer of the two successes of A"
        );
    }

    #[test]
    fn a_second_rollback_goes_further_back() {
        // Deploy A, B, C; roll back from C to B (R1): the next rollback goes to A, never to C.
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success", "inactive"]),
            deployed(3, C, &["success", "inactive"]),
            rolled_back(4, B, 3, C, &["success"]),
        ]);
        let choice = choose(&history, &RollbackTo::Previous).unwrap();
        assert_eq!((choice.from.id, choice.to.id), (4, 1));
        // Without the rollback's record, C (3) would be the target.
        let mut plain = history.clone();
        plain[0].rollback_from = None;
        plain[0].payload = json!({});
        assert_eq!(previous_of(&plain), Ok(3));
    }

    #[test]
    fn a_rollback_undoes_the_commit_as_well_as_the_deployment() {
        // A, B, C; R1 from C to B; R2 from R1 to A: R2 undid commit B, so B (2) is no target
        // although no rollback names deployment 2 itself.
        let history = two_rollbacks();
        assert_eq!(
            previous_of(&history),
            Err(Refusal::NothingToRollBackTo {
                from: 5,
                from_sha: A.into()
            })
        );
        // A deploy after the rollbacks starts a new chain: its previous is R2's commit.
        let mut later = history.clone();
        later.insert(0, deployed(6, D, &["failure"]));
        assert_eq!(previous_of(&later), Ok(5));
        // An explicit target is the user's choice, undone or not.
        assert_eq!(target(&history, &RollbackTo::Id(2)), Ok(2));
        assert_eq!(target(&history, &RollbackTo::Id(3)), Ok(3));
    }

    #[test]
    fn a_commit_redeployed_after_its_rollback_is_a_target_again() {
        // B was rolled back (R1), then deployed again (4): only rollbacks newer than a candidate
        // undo it.
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success", "inactive"]),
            rolled_back(3, A, 2, B, &["success", "inactive"]),
            deployed(4, B, &["success", "inactive"]),
            deployed(5, C, &["failure"]),
        ]);
        assert_eq!(previous_of(&history), Ok(4));
    }

    #[test]
    fn a_rollback_whose_target_is_older_than_the_read_is_known_by_its_payload() {
        // R (3) rolled back from deployment 1, which is not in the history read: its payload's
        // from_sha still marks commit A undone.
        let history = newest_first(vec![
            deployed(2, A, &["success", "inactive"]),
            rolled_back(3, B, 1, A, &["success", "inactive"]),
            deployed(4, C, &["failure"]),
        ]);
        assert_eq!(previous_of(&history), Ok(3));
        let history = newest_first(vec![
            deployed(2, A, &["success", "inactive"]),
            rolled_back(3, C, 1, A, &["success"]),
        ]);
        assert_eq!(
            previous_of(&history),
            Err(Refusal::NothingToRollBackTo {
                from: 3,
                from_sha: C.into()
            })
        );
    }

    #[test]
    fn an_id_must_name_a_successful_deployment_of_another_commit() {
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["failure"]),
            deployed(3, A, &["success", "inactive"]),
            deployed(4, C, &["success"]),
        ]);
        assert_eq!(target(&history, &RollbackTo::Id(1)), Ok(1));
        assert_eq!(
            target(&history, &RollbackTo::Id(2)),
            Err(Refusal::NeverSucceeded {
                id: 2,
                sha: B.into()
            })
        );
        assert_eq!(
            target(&history, &RollbackTo::Id(9)),
            Err(Refusal::NoSuchDeployment(RollbackTo::Id(9)))
        );
        assert_eq!(
            target(&history, &RollbackTo::Id(4)),
            Err(Refusal::SameCommit {
                id: 4,
                sha: C.into(),
                from: 4
            })
        );
    }

    #[test]
    fn the_current_commit_is_refused_however_it_is_named() {
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success", "inactive"]),
            deployed(3, B, &["success"]),
        ]);
        let same = Err(Refusal::SameCommit {
            id: 2,
            sha: B.into(),
            from: 3,
        });
        assert_eq!(target(&history, &RollbackTo::Id(2)), same);
        // By its commit, the newest deployment of B that succeeded is the current one.
        assert_eq!(
            target(&history, &RollbackTo::Sha("bbbbbbb".into())),
            Err(Refusal::SameCommit {
                id: 3,
                sha: B.into(),
                from: 3,
            })
        );
    }

    /// A rollback to B that failed (or a deploy of B that failed) leaves B's commit newest but not
    /// running: naming B's good deployment again retries it; `previous` still goes further back.
    #[test]
    fn a_named_deployment_of_a_failed_newest_commit_is_a_retry() {
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success", "inactive"]),
            deployed(3, C, &["failure"]),
            rolled_back(4, B, 3, C, &["in_progress", "failure"]),
        ]);
        assert_eq!(target(&history, &RollbackTo::Id(2)), Ok(2));
        assert_eq!(target(&history, &RollbackTo::Sha("bbbbbbb".into())), Ok(2));
        assert_eq!(target(&history, &RollbackTo::Previous), Ok(1));
        assert_eq!(
            target(&history, &RollbackTo::Id(4)),
            Err(Refusal::SameCommit {
                id: 4,
                sha: B.into(),
                from: 4
            })
        );
    }

    #[test]
    fn a_prefix_of_two_commits_is_ambiguous_and_one_of_none_names_nothing() {
        let a2 = "aaaaaaa1ffffffffffffffffffffffffffffffff";
        let history = newest_first(vec![
            deployed(1, A, &["success"]),
            deployed(2, a2, &["success"]),
            deployed(3, C, &["success"]),
        ]);
        assert_eq!(
            target(&history, &RollbackTo::Sha("aaaaaaa1".into())),
            Err(Refusal::AmbiguousPrefix {
                prefix: "aaaaaaa1".into(),
                shas: vec![A.into(), a2.into()]
            })
        );
        assert_eq!(
            target(&history, &RollbackTo::Sha("aaaaaaa1a".into())),
            Ok(1)
        );
        assert_eq!(
            target(&history, &RollbackTo::Sha("1234567".into())),
            Err(Refusal::NoSuchDeployment(RollbackTo::Sha("1234567".into())))
        );
    }

    #[test]
    fn digits_are_ambiguous_only_when_both_a_deployment_and_a_commit_exist() {
        let digits = "1234567890123456789012345678901234567890";
        let both = RollbackTo::ShaOrId {
            prefix: "1234567".into(),
            id: 1234567,
        };
        let history = newest_first(vec![
            deployed(1234567, A, &["success", "inactive"]),
            deployed(1234570, digits, &["success", "inactive"]),
            deployed(1234580, C, &["failure"]),
        ]);
        assert_eq!(
            target(&history, &both),
            Err(Refusal::AmbiguousShaOrId {
                value: "1234567".into(),
                sha: digits.into()
            })
        );
        // Only the deployment: it is the id.
        let only_id = newest_first(vec![
            deployed(1234567, A, &["success", "inactive"]),
            deployed(1234580, C, &["failure"]),
        ]);
        assert_eq!(target(&only_id, &both), Ok(1234567));
        // Only the commit: it is the sha.
        let only_sha = newest_first(vec![
            deployed(1234570, digits, &["success", "inactive"]),
            deployed(1234580, C, &["failure"]),
        ]);
        assert_eq!(target(&only_sha, &both), Ok(1234570));
        assert_eq!(
            target(&history[..1], &both),
            Err(Refusal::NoSuchDeployment(both.clone()))
        );
    }

    #[test]
    fn an_empty_history_or_a_single_deployment_has_nothing_to_roll_back_to() {
        assert_eq!(previous_of(&[]), Err(Refusal::NoDeployments));
        assert_eq!(target(&[], &RollbackTo::Id(1)), Err(Refusal::NoDeployments));
        let one = vec![deployed(1, A, &["success"])];
        assert_eq!(
            previous_of(&one),
            Err(Refusal::NothingToRollBackTo {
                from: 1,
                from_sha: A.into()
            })
        );
        let never = newest_first(vec![
            deployed(1, A, &["failure"]),
            deployed(2, B, &["error"]),
        ]);
        assert_eq!(
            previous_of(&never),
            Err(Refusal::NothingToRollBackTo {
                from: 1,
                from_sha: A.into()
            }),
            "B never ran: the newest that ran is A"
        );
        let none_ran = newest_first(vec![deployed(1, A, &["error"]), deployed(2, B, &[])]);
        assert_eq!(previous_of(&none_ran), Err(Refusal::NoneRan(2)));
        assert_eq!(
            choose_within(&none_ran, true, &RollbackTo::Previous),
            Err(Refusal::Truncated(RollbackTo::Previous)),
            "older ones may have run"
        );
    }

    /// Deploy A, deploy B, lock, push C (blocked: its deployment ends `error`, no command ran),
    /// unlock, roll back: B is what runs, so the rollback goes from B to A, not from C to B.
    #[test]
    fn deployments_a_lock_stopped_are_passed_over() {
        let history = newest_first(vec![
            deployed(1, A, &["in_progress", "success", "inactive"]),
            deployed(2, B, &["in_progress", "success"]),
            deployed(3, C, &["error"]),
        ]);
        let choice = choose(&history, &RollbackTo::Previous).unwrap();
        assert_eq!((choice.from.id, choice.to.id), (2, 1));
        // B's commit is current: naming it is refused as it would be without C.
        assert_eq!(
            target(&history, &RollbackTo::Id(2)),
            Err(Refusal::SameCommit {
                id: 2,
                sha: B.into(),
                from: 2
            })
        );
        // C never reached success: it is no target either.
        assert_eq!(
            target(&history, &RollbackTo::Id(3)),
            Err(Refusal::NeverSucceeded {
                id: 3,
                sha: C.into()
            })
        );
        // A rollback a lock stopped undid nothing: the next one still goes from B to A.
        let mut stopped = history.clone();
        stopped.insert(0, rolled_back(4, A, 2, B, &["error"]));
        let choice = choose(&stopped, &RollbackTo::Previous).unwrap();
        assert_eq!((choice.from.id, choice.to.id), (2, 1));
        // The read goes on past pages where nothing ran.
        assert!(!RollbackTo::Previous.decided_by(&stopped[..2]));
        assert!(RollbackTo::Previous.decided_by(&stopped));
    }

    #[test]
    fn a_target_not_found_in_a_truncated_history_says_so() {
        let history = newest_first(vec![
            deployed(5, A, &["failure"]),
            deployed(6, B, &["success"]),
        ]);
        for to in [
            RollbackTo::Previous,
            RollbackTo::Id(2),
            RollbackTo::Sha("ccccccc".into()),
        ] {
            assert_eq!(
                choose_within(&history, true, &to),
                Err(Refusal::Truncated(to.clone()))
            );
        }
        // An id newer than the oldest one read is absent, not unread.
        assert_eq!(
            choose_within(&history, true, &RollbackTo::Id(9)),
            Err(Refusal::NoSuchDeployment(RollbackTo::Id(9)))
        );
        // A deployment that was read is judged, truncated or not.
        assert_eq!(
            choose_within(&history, true, &RollbackTo::Id(5)),
            Err(Refusal::NeverSucceeded {
                id: 5,
                sha: A.into()
            })
        );
    }

    #[test]
    fn each_refusal_is_one_sentence_naming_the_environment() {
        let refusals = [
            Refusal::NoDeployments,
            Refusal::NothingToRollBackTo {
                from: 52,
                from_sha: C.into(),
            },
            Refusal::NoSuchDeployment(RollbackTo::Id(48)),
            Refusal::NeverSucceeded {
                id: 48,
                sha: A.into(),
            },
            Refusal::SameCommit {
                id: 48,
                sha: A.into(),
                from: 52,
            },
            Refusal::SameCommit {
                id: 52,
                sha: A.into(),
                from: 52,
            },
            Refusal::AmbiguousPrefix {
                prefix: "aaaaaaa".into(),
                shas: vec!["aaaaaaa".into(); 2],
            },
            Refusal::AmbiguousShaOrId {
                value: "1234567".into(),
                sha: A.into(),
            },
            Refusal::Truncated(RollbackTo::Previous),
            Refusal::NoneRan(3),
        ];
        let mut seen = BTreeSet::new();
        for r in &refusals {
            let s = r.sentence("production");
            assert!(s.starts_with("cannot roll back production: "), "{s}");
            assert!(!s.contains(". ") && !s.ends_with('.'), "one sentence: {s}");
            assert!(seen.insert(s.clone()), "each says something else: {s}");
        }
        assert!(refusals[1].to_string().contains("52, commit ccccccc"));
        assert!(refusals[3]
            .to_string()
            .contains("deployment 48 (commit aaaaaaa)"));
        assert!(refusals[5]
            .to_string()
            .contains("is the current deployment"));
    }

    #[test]
    fn the_rollback_is_described_and_recorded() {
        let history = newest_first(vec![
            HistoryEntry {
                task: "deploy:web".into(),
                ..deployed(48, A, &["success", "inactive"])
            },
            deployed(52, C, &["failure"]),
        ]);
        let choice = choose(&history, &RollbackTo::Previous).unwrap();
        assert_eq!(description(&choice), "Rollback to aaaaaaa (deployment 48)");
        assert_eq!(choice.to.task, "deploy:web");
        let mut raw = crate::inputs::RawInputs::default();
        raw.set("command", "true");
        raw.set("environment-url", "https://{sha}.example.com");
        let inputs = Inputs::parse(&raw).unwrap();
        let production = Target {
            environment: "production".into(),
            sha: Sha::parse(C).unwrap(),
            git_ref: None,
            pr_number: None,
            production: None,
            transient: false,
            rule: "the `environment` input".into(),
            unit: None,
        };
        let d = deploy(&production, &choice, &inputs);
        assert_eq!(
            d.target.sha.as_str(),
            A,
            "the deployment's ref is the target's commit"
        );
        assert_eq!(d.task, "deploy:web");
        assert_eq!(d.locks, ["production"]);
        assert_eq!(
            d.description.as_str(),
            "Rollback to aaaaaaa (deployment 48)"
        );
        assert_eq!(
            d.environment_url.as_deref(),
            Some(&*format!("https://{A}.example.com"))
        );
        let of = d.rollback.unwrap();
        let keys = of.payload_keys();
        assert_eq!(
            keys,
            json!({ "rollback": { "from_deployment": 52, "from_sha": C, "to_deployment": 48 } })
        );
        assert_eq!(
            rollback_from(&keys),
            Some(52),
            "a later rollback reads it back"
        );
        assert_eq!(
            summary_sentence("production", &choice),
            "rolled back production from ccccccc (deployment 52) to aaaaaaa (deployment 48)"
        );
    }

    #[test]
    fn the_history_read_stops_once_it_decides_the_target() {
        let page = newest_first(vec![
            deployed(41, A, &["success", "inactive"]),
            deployed(42, B, &["failure"]),
            deployed(43, C, &["failure"]),
        ]);
        assert!(RollbackTo::Previous.decided_by(&page));
        assert!(
            !RollbackTo::Previous.decided_by(&page[..2]),
            "no success yet"
        );
        assert!(RollbackTo::Id(42).decided_by(&page));
        assert!(!RollbackTo::Id(7).decided_by(&page[..0]));
        assert!(!RollbackTo::Id(7).decided_by(&page), "7 may be older");
        assert!(
            RollbackTo::Id(100).decided_by(&page),
            "newer than all: absent"
        );
        assert!(RollbackTo::Sha("aaaaaaa".into()).decided_by(&page));
        assert!(
            !RollbackTo::Sha("bbbbbbb".into()).decided_by(&page),
            "B failed here; an older success of B may follow"
        );
        let both = |id| RollbackTo::ShaOrId {
            prefix: "1234567".into(),
            id,
        };
        assert!(both(42).decided_by(&page), "the id is there");
        assert!(!both(7).decided_by(&page), "neither decided");
        assert!(!both(40).decided_by(&page), "no such id, and no commit yet");
    }
}
