//! One reading of an environment's deployment history, pure: what a deployment's statuses say
//! it did, shared by every feature that looks back (rollback, `requires`, promote, sweep, the
//! report). Each asks here; none re-reads statuses its own way.
//!
//! A history is a slice of [`HistoryEntry`], **newest first**, as the GraphQL read returns it
//! (`github::History`). The words of the contract, each one function:
//! - a deployment **ran** ([`HistoryEntry::ran`]) when it has an `in_progress`, `success` or
//!   `failure` status, whatever came after; one without (ended `error` by a lock, or created by a
//!   run that could not use it) changed nothing and is passed over;
//! - it **reached success** ([`HistoryEntry::reached_success`]) when a `success` is among its
//!   statuses: GitHub's `auto_inactive` later adds `inactive` to earlier successes;
//! - the **newest that ran** ([`newest_that_ran`]) is what the environment runs now (or failed to);
//! - a rollback records `from_deployment` (and `from_sha`) in its payload ([`rollback_from`]), and
//!   what a later rollback left is **undone** ([`undone`]);
//! - the **last good one** before a deployment ([`last_good_before`]) is the newest older one that
//!   reached success with another commit and that no later rollback undid.

use crate::event::Sha;
use serde_json::Value;

/// How far back a history is read: 10 GraphQL pages of 100.
pub const HISTORY_LIMIT: usize = 1000;

/// The status states that say a deployment's command ran (or its job's steps did).
const RAN: [&str; 3] = ["in_progress", "success", "failure"];

/// One deployment of an environment, as a history read found it.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryEntry {
    /// The REST id (GraphQL's `databaseId`). Ids grow with creation time.
    pub id: u64,
    pub sha: Sha,
    pub task: String,
    /// Its payload; `{}` when it was none or not a JSON object.
    pub payload: Value,
    pub created_at: String,
    /// The states of its statuses as read, lower-cased (`in_progress`, `success`, `inactive`...),
    /// in any order.
    pub statuses: Vec<String>,
    /// GitHub's `DeploymentState`, lower-cased (`active`, `inactive`, `failure`, `error`...).
    pub latest_state: String,
    /// The deployment this one rolled back from, when it is a rollback rollout made (its
    /// payload's `rollback.from_deployment`).
    pub rollback_from: Option<u64>,
    /// Who created it (GitHub's `creator.login`); empty when not read.
    pub creator: String,
    /// The log of the run that posted its newest status that names one; empty when none did.
    pub log_url: String,
}

impl HistoryEntry {
    /// Whether it ran: an `in_progress`, `success` or `failure` status, whatever came after (or a
    /// latest state that is one of them, should the status list have been cut short). One that
    /// never ran changed nothing: it is passed over wherever the contract says "ran".
    pub fn ran(&self) -> bool {
        self.reached_success()
            || self.statuses.iter().any(|s| RAN.contains(&s.as_str()))
            || RAN.contains(&self.latest_state.as_str())
    }

    /// Whether a `success` is among its statuses, whatever came after it (`inactive` from a later
    /// success, with `auto_inactive`). `active` and `success` as the latest state count too.
    pub fn reached_success(&self) -> bool {
        self.statuses.iter().any(|s| s == "success")
            || matches!(self.latest_state.as_str(), "active" | "success")
    }

    /// The commit a rollback left (`rollback.from_sha` in its payload), when this is one.
    pub fn rollback_from_sha(&self) -> Option<&str> {
        self.payload.pointer("/rollback/from_sha")?.as_str()
    }
}

/// The deployment a rollback's payload names as the one it rolled back from.
pub fn rollback_from(payload: &Value) -> Option<u64> {
    payload.pointer("/rollback/from_deployment")?.as_u64()
}

/// The newest deployment that ran: what the environment runs now, or failed to. Deployments
/// newer than it never ran (a lock stopped them), so they changed nothing.
pub fn newest_that_ran(history: &[HistoryEntry]) -> Option<&HistoryEntry> {
    history.iter().find(|e| e.ran())
}

/// Whether a rollback newer than `entry` undid it: a rollback that ran and names `entry` as its
/// `from_deployment`, or left `entry`'s commit (a rollback undoes the commit as well as the
/// deployment). Deploy A, B, C, then roll back from C to B (R1): C is undone. Roll back again
/// from R1 to A (R2): R1 and commit B are undone, so both deployments of B are. A rollback counts
/// whatever its outcome, once it ran: a failed one still says its team judged the commit it left
/// bad; one a lock stopped said nothing.
pub fn undone(history: &[HistoryEntry], entry: &HistoryEntry) -> bool {
    let newer = history
        .iter()
        .position(|e| e.id == entry.id)
        .map_or(&history[..0], |i| &history[..i]);
    newer.iter().filter(|r| r.ran()).any(|rollback| {
        rollback.rollback_from.is_some_and(|undid| {
            undid == entry.id || left_commit(history, rollback, undid) == Some(entry.sha.as_str())
        })
    })
}

/// The commit a rollback left: the sha of the deployment it names, read from the history, or
/// from its payload when that deployment is older than what was read.
fn left_commit<'h>(
    history: &'h [HistoryEntry],
    rollback: &'h HistoryEntry,
    undid: u64,
) -> Option<&'h str> {
    history
        .iter()
        .find(|e| e.id == undid)
        .map(|e| e.sha.as_str())
        .or_else(|| rollback.rollback_from_sha())
}

/// The last good deployment before `from`: the newest one older than it that reached success,
/// with another commit than `from`'s, that no rollback newer than it undid ([`undone`]). `None`
/// when there is none among `history`, or `from` is not in it.
pub fn last_good_before<'h>(
    history: &'h [HistoryEntry],
    from: &HistoryEntry,
) -> Option<&'h HistoryEntry> {
    let start = history.iter().position(|e| e.id == from.id)?;
    history[start + 1..]
        .iter()
        .find(|e| e.reached_success() && e.sha != from.sha && !undone(history, e))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub const A: &str = "aaaaaaa1aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    pub const B: &str = "bbbbbbb2bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    pub const C: &str = "ccccccc3cccccccccccccccccccccccccccccccc";
    pub const D: &str = "ddddddd4dddddddddddddddddddddddddddddddd";

    /// One deployment; `statuses` oldest first, as they were posted (none: `pending`).
    pub fn deployed(id: u64, sha: &str, statuses: &[&str]) -> HistoryEntry {
        HistoryEntry {
            id,
            sha: Sha::parse(sha).unwrap(),
            task: "deploy".into(),
            payload: json!({}),
            created_at: format!("2026-11-{:02}T00:00:00Z", id % 28 + 1),
            statuses: statuses.iter().map(|s| s.to_string()).collect(),
            latest_state: match statuses.last().copied() {
                Some("success") => "active",
                Some(last) => last,
                None => "pending",
            }
            .to_string(),
            rollback_from: None,
            creator: String::new(),
            log_url: String::new(),
        }
    }

    /// A rollback rollout made, from deployment `from` (of commit `from_sha`).
    pub fn rolled_back(
        id: u64,
        sha: &str,
        from: u64,
        from_sha: &str,
        statuses: &[&str],
    ) -> HistoryEntry {
        let mut e = deployed(id, sha, statuses);
        e.payload = json!({ "rollback": { "from_deployment": from, "from_sha": from_sha, "to_deployment": 0 } });
        e.rollback_from = rollback_from(&e.payload);
        e
    }

    /// A, B and C deployed; R1 rolled back from C to B, then R2 from R1 to A (newest first).
    pub fn two_rollbacks() -> Vec<HistoryEntry> {
        newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success", "inactive"]),
            deployed(3, C, &["success", "inactive"]),
            rolled_back(4, B, 3, C, &["success", "inactive"]),
            rolled_back(5, A, 4, B, &["success"]),
        ])
    }

    /// Newest first, as GitHub's history is read; written oldest first for reading.
    pub fn newest_first(mut oldest_first: Vec<HistoryEntry>) -> Vec<HistoryEntry> {
        oldest_first.reverse();
        oldest_first
    }

    #[test]
    fn a_deployment_ran_with_an_in_progress_success_or_failure_whatever_came_after() {
        for statuses in [
            &["in_progress"][..],
            &["in_progress", "error"],
            &["success"],
            &["success", "inactive"],
            &["failure"],
            &["queued", "in_progress", "failure", "inactive"],
        ] {
            assert!(deployed(1, A, statuses).ran(), "{statuses:?}");
        }
        for statuses in [
            &[][..],
            &["error"],
            &["pending", "error"],
            &["queued", "inactive"],
        ] {
            assert!(!deployed(1, A, statuses).ran(), "{statuses:?}");
        }
        // The latest state alone says so when the statuses were cut short.
        let cut = HistoryEntry {
            statuses: Vec::new(),
            latest_state: "failure".into(),
            ..deployed(1, A, &[])
        };
        assert!(cut.ran() && !cut.reached_success());
    }

    #[test]
    fn reached_success_is_a_success_among_its_statuses_or_an_active_state() {
        assert!(deployed(1, A, &["in_progress", "success", "inactive"]).reached_success());
        assert!(!deployed(1, A, &["in_progress", "failure"]).reached_success());
        assert!(!deployed(1, A, &["error"]).reached_success());
        let active = HistoryEntry {
            statuses: Vec::new(),
            latest_state: "active".into(),
            ..deployed(1, A, &[])
        };
        assert!(active.reached_success() && active.ran());
    }

    #[test]
    fn the_newest_that_ran_passes_over_what_a_lock_stopped() {
        // Deploy A, deploy B, lock, push C (blocked: error), unlock.
        let history = newest_first(vec![
            deployed(1, A, &["in_progress", "success", "inactive"]),
            deployed(2, B, &["in_progress", "success"]),
            deployed(3, C, &["error"]),
        ]);
        assert_eq!(newest_that_ran(&history).map(|e| e.id), Some(2));
        assert_eq!(newest_that_ran(&history[..1]), None, "only C: nothing ran");
        assert_eq!(newest_that_ran(&[]), None);
        // A failed deploy ran: it is what the environment failed to run.
        let failed = newest_first(vec![
            deployed(1, A, &["success"]),
            deployed(2, B, &["in_progress", "failure"]),
        ]);
        assert_eq!(newest_that_ran(&failed).map(|e| e.id), Some(2));
    }

    #[test]
    fn a_rollback_undoes_the_deployment_it_left_and_its_commit() {
        let history = two_rollbacks();
        let by_id = |id: u64| history.iter().find(|e| e.id == id).unwrap();
        assert!(undone(&history, by_id(3)), "R1 left C");
        assert!(undone(&history, by_id(4)), "R2 left R1");
        assert!(undone(&history, by_id(2)), "R2 left commit B");
        assert!(!undone(&history, by_id(1)));
        assert!(!undone(&history, by_id(5)), "nothing newer");
        // Only newer rollbacks undo: B deployed again after R1 is not undone by it.
        let again = newest_first(vec![
            deployed(1, A, &["success"]),
            deployed(2, B, &["success"]),
            rolled_back(3, A, 2, B, &["success"]),
            deployed(4, B, &["success"]),
        ]);
        assert!(!undone(&again, &again[0]));
        assert!(undone(&again, &again[2]));
    }

    #[test]
    fn a_rollback_a_lock_stopped_undid_nothing() {
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success"]),
            rolled_back(3, A, 2, B, &["error"]),
        ]);
        assert!(!undone(&history, &history[1]));
        // A failed one ran, and counts.
        let failed = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success"]),
            rolled_back(3, A, 2, B, &["in_progress", "failure"]),
        ]);
        assert!(undone(&failed, &failed[1]));
    }

    #[test]
    fn a_rollback_whose_source_is_older_than_the_read_names_its_commit_by_payload() {
        let history = newest_first(vec![
            deployed(2, A, &["success", "inactive"]),
            rolled_back(3, B, 1, A, &["success"]),
        ]);
        assert!(undone(&history, &history[1]), "from_sha names commit A");
        assert_eq!(history[0].rollback_from_sha(), Some(A));
        assert_eq!(history[1].rollback_from_sha(), None);
    }

    #[test]
    fn the_last_good_one_is_older_successful_of_another_commit_and_not_undone() {
        let history = newest_first(vec![
            deployed(1, A, &["success", "inactive"]),
            deployed(2, B, &["success", "inactive"]),
            deployed(3, B, &["failure"]),
            deployed(4, C, &["in_progress", "failure"]),
            deployed(5, D, &["error"]),
        ]);
        let from = newest_that_ran(&history).unwrap();
        assert_eq!(from.id, 4);
        assert_eq!(last_good_before(&history, from).map(|e| e.id), Some(2));
        assert_eq!(
            last_good_before(&history, &history[3]).map(|e| e.id),
            Some(1),
            "before B's deployment 2, another commit"
        );
        assert_eq!(last_good_before(&history, &history[4]), None);
        let stranger = deployed(9, A, &["success"]);
        assert_eq!(last_good_before(&history, &stranger), None);
    }

    #[test]
    fn payload_records_are_read_back() {
        assert_eq!(
            rollback_from(&json!({"rollback": {"from_deployment": 52}})),
            Some(52)
        );
        assert_eq!(
            rollback_from(&json!({"rollback": {"from_deployment": "52"}})),
            None
        );
        assert_eq!(rollback_from(&json!({})), None);
    }
}
