//! `verify`, `verify-timeout` and `on-failure`, pure: the inputs, the words of a failed verify,
//! the final status of a deployment that is about to be rolled back, and which deployment an
//! automatic rollback goes back to (or the one sentence saying why it does not). Running the
//! verify command and the rollback itself is `steps::verify`'s business.
//!
//! The automatic rollback is `step: rollback` with `to: previous`, right after the failure, with
//! the failed deployment as the one rolled back from: [`choose`] hands the history to
//! [`crate::rollback::choose`] with the failed deployment in front.

use crate::command::Outcome;
use crate::history::HistoryEntry;
use crate::rollback::{self, Choice, RollbackTo};
use crate::text::Description;
use std::time::Duration;

/// The phase a running verify shows as.
pub const PHASE: &str = "Verifying";

/// A duration as an input would write it: `10m`, `90s`, `1h`.
pub fn duration_words(d: Duration) -> String {
    match d.as_secs() {
        // The test clock shortens limits below a second.
        0 => format!("{}ms", d.as_millis()),
        _ => crate::inputs::show_duration(d),
    }
}

/// How a verify ended, in the few words after `Failed in Verifying: `.
pub fn outcome_words(outcome: &Outcome) -> String {
    match outcome {
        Outcome::TimedOut(limit) => format!("timed out after {}", duration_words(*limit)),
        other => crate::phases::outcome_words(other),
    }
}

/// A failed deployment's final status that names what comes next: `Failed in Verifying: exit 1;
/// rolling back to abc1234`. The phase is cut (with an ellipsis) to fit 140 characters, never
/// the exit or what comes next; without a phase, the end of `detail` is cut.
pub fn then(phase: Option<&str>, words: &str, detail: &str, next: &str) -> String {
    let max = Description::MAX_CHARS;
    let tail = format!("; {next}");
    let tail_len = tail.chars().count();
    let fits = |s: &str| s.chars().count() + tail_len <= max;
    if let Some(phase) = phase.map(str::trim) {
        let whole = format!("Failed in {phase}: {words}");
        if fits(&whole) {
            return whole + &tail;
        }
        let fixed = format!("Failed in …: {words}").chars().count() + tail_len;
        if let Some(room) = max.checked_sub(fixed).filter(|r| *r > 0) {
            let cut: String = phase.chars().take(room).collect();
            return format!("Failed in {cut}…: {words}{tail}");
        }
    }
    if fits(detail) {
        return format!("{detail}{tail}");
    }
    let room = max.saturating_sub(tail_len + 1);
    let cut: String = detail.chars().take(room).collect();
    format!("{cut}…{tail}")
}

/// "rolling back to abc1234", what the failed deployment's final status says comes next.
pub fn rolling_back_to(choice: &Choice) -> String {
    format!("rolling back to {}", choice.to.sha.short())
}

/// What `rollout plan` says of `verify` and `on-failure` for a deploy (`preview`: to a pull
/// request's preview, which is never rolled back). Which deployment a rollback would go back to
/// is the history's to say: offline, the text names that it needs the API.
pub fn plan_lines(
    verify: &crate::inputs::VerifyInputs,
    step: crate::inputs::Step,
    preview: bool,
) -> String {
    use crate::inputs::{OnFailure, Step};
    if !matches!(step, Step::Deploy | Step::Promote) {
        return String::new();
    }
    let mut s = String::new();
    if let Some(command) = &verify.command {
        s.push_str(&format!(
            "  verify: {} (after the command exits 0, shown as the phase {PHASE}; up to {}, else the deploy fails)\n",
            crate::text::Untrusted(command.trim()),
            duration_words(verify.timeout)
        ));
    }
    match (verify.on_failure, preview) {
        (OnFailure::Stop, _) => {}
        (OnFailure::Rollback, true) => s.push_str(
            "  on-failure: rollback does not apply: a pull request's preview is never rolled back; a failed deploy ends `failure`\n",
        ),
        (OnFailure::Rollback, false) => s.push_str(
            "  on-failure: rollback: a failed command or verify rolls the environment back in this run to its newest older deployment that reached success with another commit; which one needs the API (the history is read after the failure), and its commit must be in the clone (`fetch-depth: 0`)\n",
        ),
    }
    s
}

/// Why the environment is not rolled back: each a clause after "not rolled back: ".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoRollback {
    #[error("no deployment of {environment} before this one reached success with another commit{}, so there is nothing to roll back to", if *.truncated { " among its newest 1,000" } else { "" })]
    NothingToRollBackTo {
        environment: String,
        truncated: bool,
    },
    #[error("deployment {id} (commit {short}) ran after this one, so a newer run owns {environment} now")]
    NewerRan {
        environment: String,
        id: u64,
        short: String,
    },
}

/// The deployment an automatic rollback goes back to: `history` (newest first) with `failed` as
/// the one rolled back from (its own entry in the history when there, which knows its payload).
/// A newer deployment that ran since the failed one owns the environment: no rollback then.
pub fn choose(
    environment: &str,
    history: &[HistoryEntry],
    truncated: bool,
    failed: &HistoryEntry,
) -> Result<Choice, NoRollback> {
    if let Some(newer) = history.iter().find(|e| e.id > failed.id && e.ran()) {
        return Err(NoRollback::NewerRan {
            environment: environment.to_string(),
            id: newer.id,
            short: newer.sha.short().to_string(),
        });
    }
    let from = history
        .iter()
        .find(|e| e.id == failed.id)
        .cloned()
        .unwrap_or_else(|| failed.clone());
    // A failed deploy never reached success, whatever the history saw while it ran.
    let mut from = from;
    from.statuses.retain(|s| s != "success");
    from.statuses.push("failure".into());
    let mut list = vec![from];
    list.extend(history.iter().filter(|e| e.id < failed.id).cloned());
    rollback::choose(&list, &RollbackTo::Previous).map_err(|_| NoRollback::NothingToRollBackTo {
        environment: environment.to_string(),
        truncated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::{OnFailure, RawInputs, Step, VerifyInputs};

    #[test]
    fn the_plan_names_the_check_and_whether_a_failure_rolls_back() {
        let both = VerifyInputs::parse(
            &raw(&[
                ("verify", "./check.sh"),
                ("verify-timeout", "90s"),
                ("on-failure", "rollback"),
            ]),
            Step::Deploy,
        )
        .unwrap();
        let text = plan_lines(&both, Step::Deploy, false);
        assert!(text.starts_with("  verify: ./check.sh (after the command exits 0, shown as the phase Verifying; up to 90s"), "{text}");
        assert!(
            text.contains(
                "on-failure: rollback: a failed command or verify rolls the environment back"
            ),
            "{text}"
        );
        let preview = plan_lines(&both, Step::Deploy, true);
        assert!(
            preview.contains("a pull request's preview is never rolled back"),
            "{preview}"
        );
        assert_eq!(
            plan_lines(&both, Step::Plan, false),
            "",
            "step: plan runs nothing"
        );
        assert_eq!(
            plan_lines(&VerifyInputs::default(), Step::Deploy, false),
            ""
        );
    }

    fn raw(pairs: &[(&str, &str)]) -> RawInputs {
        RawInputs::from_env(
            pairs
                .iter()
                .map(|(k, v)| (format!("INPUT_{}", k.to_uppercase()), v.to_string())),
        )
    }

    /// A deployment of the commit `sha` repeated 40 times, with one status.
    fn entry(id: u64, sha: char, state: &str) -> HistoryEntry {
        crate::history::tests::deployed(id, &sha.to_string().repeat(40), &[state])
    }

    #[test]
    fn the_inputs_default_to_no_check_ten_minutes_and_stop() {
        let v = VerifyInputs::parse(&raw(&[]), Step::Deploy).unwrap();
        assert_eq!(v, VerifyInputs::default());
        assert_eq!(v.timeout, Duration::from_secs(600));
        let v = VerifyInputs::parse(
            &raw(&[
                ("verify", "curl -fsS $URL"),
                ("verify-timeout", "90s"),
                ("on-failure", "rollback"),
            ]),
            Step::Deploy,
        )
        .unwrap();
        assert_eq!(v.command.as_deref(), Some("curl -fsS $URL"));
        assert_eq!(v.timeout, Duration::from_secs(90));
        assert_eq!(v.on_failure, OnFailure::Rollback);
        // A rollback verifies too.
        assert!(VerifyInputs::parse(&raw(&[("verify", "true")]), Step::Rollback).is_ok());
    }

    #[test]
    fn bad_values_and_start_or_finish_name_the_input() {
        let e = VerifyInputs::parse(&raw(&[("on-failure", "retry")]), Step::Deploy).unwrap_err();
        assert_eq!(e.input, "on-failure");
        assert!(e.message.contains("`rollback`"), "{}", e.message);
        let e = VerifyInputs::parse(&raw(&[("verify-timeout", "soon")]), Step::Deploy).unwrap_err();
        assert_eq!(e.input, "verify-timeout");
        let e = VerifyInputs::parse(&raw(&[("verify", "true")]), Step::Start).unwrap_err();
        assert_eq!(e.input, "verify");
        assert!(e.message.contains("`step: start`"), "{}", e.message);
        let e = VerifyInputs::parse(&raw(&[("on-failure", "rollback")]), Step::Finish).unwrap_err();
        assert_eq!(e.input, "on-failure");
        assert!(e.message.contains("`step: finish`"), "{}", e.message);
        // `stop` says nothing about a command: fine anywhere.
        assert!(VerifyInputs::parse(&raw(&[("on-failure", "stop")]), Step::Finish).is_ok());
    }

    #[test]
    fn a_timeout_reads_as_it_was_written() {
        assert_eq!(
            outcome_words(&Outcome::TimedOut(Duration::from_secs(600))),
            "timed out after 10m"
        );
        assert_eq!(duration_words(Duration::from_secs(90)), "90s");
        assert_eq!(duration_words(Duration::from_secs(7200)), "2h");
        assert_eq!(outcome_words(&Outcome::Exited(3)), "exit 3");
    }

    #[test]
    fn the_next_step_is_never_cut_the_phase_is() {
        let next = "rolling back to abc1234";
        assert_eq!(
            then(Some("Verifying"), "exit 1", "x", next),
            "Failed in Verifying: exit 1; rolling back to abc1234"
        );
        let long = "p".repeat(200);
        let s = then(Some(&long), "exit 1", "x", next);
        assert_eq!(s.chars().count(), 140, "{s}");
        assert!(
            s.starts_with("Failed in ppp") && s.ends_with("…: exit 1; rolling back to abc1234")
        );
        let s = then(None, "", &"d".repeat(300), next);
        assert_eq!(s.chars().count(), 140, "{s}");
        assert!(s.ends_with("…; rolling back to abc1234"));
        assert_eq!(
            then(None, "", "The command exited with code 2 after 0s", next),
            "The command exited with code 2 after 0s; rolling back to abc1234"
        );
    }

    #[test]
    fn the_failed_deployment_rolls_back_to_the_newest_earlier_success_with_another_commit() {
        let failed = entry(5, 'c', "in_progress");
        let history = vec![
            failed.clone(),
            entry(4, 'c', "success"),
            entry(3, 'e', "failure"),
            entry(2, 'b', "success"),
            entry(1, 'a', "success"),
        ];
        let choice = choose("production", &history, false, &failed).unwrap();
        assert_eq!((choice.from.id, choice.to.id), (5, 2));
        assert!(!choice.from.reached_success());
        // The history read before the failed deployment showed up: it goes in front all the same.
        let choice = choose("production", &history[1..], false, &failed).unwrap();
        assert_eq!((choice.from.id, choice.to.id), (5, 2));
    }

    #[test]
    fn a_first_deploy_or_a_newer_run_means_no_rollback() {
        let failed = entry(5, 'c', "in_progress");
        let e = choose("production", std::slice::from_ref(&failed), false, &failed).unwrap_err();
        assert!(e.to_string().contains("nothing to roll back to"), "{e}");
        let e = choose("production", std::slice::from_ref(&failed), true, &failed).unwrap_err();
        assert!(e.to_string().contains("newest 1,000"), "{e}");
        let newer = vec![
            entry(7, 'd', "failure"),
            failed.clone(),
            entry(1, 'a', "success"),
        ];
        let e = choose("production", &newer, false, &failed).unwrap_err();
        assert_eq!(
            e,
            NoRollback::NewerRan {
                environment: "production".into(),
                id: 7,
                short: "ddddddd".into()
            }
        );
        // A newer deployment that never ran (a lock ended it `error`) owns nothing.
        let errored = vec![
            entry(7, 'd', "error"),
            failed.clone(),
            entry(1, 'a', "success"),
        ];
        assert_eq!(
            choose("production", &errored, false, &failed)
                .unwrap()
                .to
                .id,
            1
        );
    }

    #[test]
    fn what_a_later_rollback_undid_is_passed_over() {
        let failed = entry(9, 'd', "in_progress");
        let mut undo = entry(8, 'b', "success");
        undo.rollback_from = Some(7);
        let history = vec![
            failed.clone(),
            undo,
            entry(7, 'c', "failure"),
            entry(6, 'b', "success"),
            entry(5, 'a', "success"),
        ];
        // From D, the newest earlier success with another commit is the rollback to B.
        assert_eq!(
            choose("production", &history, false, &failed)
                .unwrap()
                .to
                .id,
            8
        );
    }
}
