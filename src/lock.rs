//! An environment's lock, the pure part: the branch that holds it, the record in its commit's
//! message, and the sentences about it. The GitHub side (taking, releasing, reading) is
//! `github::locks`.
//!
//! A lock is the branch `rollout-lock/<name>`: creating a ref is atomic on GitHub, so of two
//! runs locking at once exactly one wins, and the branch is visible (and deletable) in the
//! repository's branch list without rollout.

use crate::event::Sha;
use crate::text::safe_name;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Every lock branch lives under this prefix, so listing or protecting them is one pattern.
pub const BRANCH_PREFIX: &str = "rollout-lock/";

/// The first line of a lock commit's message.
const SUBJECT: &str = "rollout lock: ";

/// The branch name (without `refs/heads/`) of `environment`'s lock: `rollout-lock/<name>`.
///
/// `<name>` is the environment lower-cased (GitHub compares environment names without case, so
/// `Production` and `production` share one lock), made ref-safe by [`safe_name`], the rule of
/// `{branch}`, which appends a short hash whenever it had to change anything. A name git refuses
/// even in that alphabet (`..` inside, `.lock` at the end) gets its dots collapsed and the hash
/// too, so two environments never share a lock.
pub fn ref_name(environment: &str) -> String {
    let lower = environment.to_lowercase();
    let safe = safe_name(&lower);
    let refused_by_git = |name: &str| name.contains("..") || name.ends_with(".lock");
    if !refused_by_git(&lower) && !refused_by_git(&safe) {
        return format!("{BRANCH_PREFIX}{safe}");
    }
    let mut name = String::with_capacity(safe.len() + 7);
    for c in safe.chars() {
        if !(c == '.' && name.ends_with('.')) {
            name.push(c);
        }
    }
    // `safe_name` hashed what it changed, so the name ends in that hash, not in `.lock`.
    if safe == lower {
        name = format!("{name}-{}", short_hash(&lower));
    }
    format!("{BRANCH_PREFIX}{name}")
}

/// Six hex characters of the name's git blob hash, as [`safe_name`] appends.
fn short_hash(text: &str) -> String {
    git2::Oid::hash_object(git2::ObjectType::Blob, text.as_bytes())
        .map(|oid| oid.to_string()[..6].to_string())
        .unwrap_or_default()
}

/// What taking a lock came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockTaken {
    /// The branch was created: this run holds the lock.
    Taken { commit: Sha },
    /// The lock had expired and this run took it over (a fast-forward from its commit).
    TookOver { commit: Sha, expired: LockRecord },
    /// Someone else holds it (or won the takeover).
    HeldBy(HeldLock),
}

/// A lock branch that exists: its commit and what its message says. An unreadable message
/// (`Err`, a sentence why) still holds the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldLock {
    pub commit: Sha,
    pub record: Result<LockRecord, String>,
}

impl HeldLock {
    /// A lock branch's commit as a read found it (`oid`, `message`): what the rollback history's
    /// request brings back beside the deployments. `None` when `oid` is not a commit sha.
    pub fn from_commit(oid: &str, message: &str) -> Option<HeldLock> {
        Some(HeldLock {
            commit: Sha::parse(oid)?,
            record: LockRecord::from_message(message),
        })
    }

    /// Whether it still stops deploys at `now`: an unreadable record holds (fail closed).
    pub fn holds(&self, now: Timestamp) -> bool {
        self.record.as_ref().map_or(true, |r| !r.is_expired(now))
    }

    /// One sentence for a run this lock stops; an unreadable record is named with its branch, so
    /// the way out is still clear.
    pub fn sentence(&self, environment: &str, now: Timestamp) -> String {
        match &self.record {
            Ok(record) => record.held_sentence(now),
            Err(why) => format!(
                "`{}` is locked by the branch `{}`, but {why}; to unlock it, run `step: unlock` for `{}` or delete that branch",
                one_line(environment),
                ref_name(environment),
                one_line(environment),
            ),
        }
    }
}

/// What a deploy knows of its environment's lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockState {
    /// No lock branch.
    Free,
    /// A lock branch, expired or not ([`HeldLock::holds`] decides).
    Branch(HeldLock),
    /// The read failed after its retries: the sentence why. A deploy fails closed on it.
    Unknown(String),
}

/// The events whose runs a lock's holder deploys through its own lock with: what a person
/// starts by hand (a push, a dispatch, or a re-run of either). A `schedule`, a `workflow_run` or a
/// `pull_request` run is stopped whoever its actor is: nobody chose to ship it now.
pub const HOLDER_EVENTS: [&str; 2] = ["push", "workflow_dispatch"];

/// Who is asking to deploy, as a lock judges it: the run's event (`GITHUB_EVENT_NAME`) and its
/// triggering actor (`GITHUB_TRIGGERING_ACTOR`, else `GITHUB_ACTOR`: a re-run's is who re-ran it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Asker<'a> {
    pub event: &'a str,
    pub actor: &'a str,
}

/// What the locks on the environments a deploy answers to decide for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockVerdict {
    /// It goes ahead. `expired`: one notice each for an expired lock passed. `holder`: the
    /// sentence saying that this run's own actor holds the lock(s) it passed ("production is
    /// locked by you (@mona: incident 42); deploying"), for the log and the summary.
    Go {
        expired: Vec<String>,
        holder: Option<String>,
    },
    /// A lock stops it: the whole sentence (log, `skip-reason`, summary) and the deployment
    /// status's description (140 characters: who and why).
    Held {
        sentence: String,
        description: String,
    },
    /// A lock could not be read: the sentence why. A deploy fails closed on it.
    Unreadable(String),
}

/// Judges a deploy by every lock it answers to (`(environment, what is known of its lock)`: its
/// own environment's and, with `targets`, the one its branch maps to), at `now`, for `asker`,
/// whose run is `doing` (`deploying`, `starting`, `rolling back`) what the holder's sentence says.
/// An unreadable lock wins over a held one, a held one over any that let it through; an expired
/// lock lets everyone through, a held one only its holder ([`LockRecord::lets_through`]); a lock
/// whose record cannot be read lets nobody through.
pub fn judge(
    locks: &[(&str, &LockState)],
    asker: Asker<'_>,
    doing: &str,
    now: Timestamp,
) -> LockVerdict {
    if let Some(why) = locks.iter().find_map(|(_, state)| match state {
        LockState::Unknown(why) => Some(why.clone()),
        _ => None,
    }) {
        return LockVerdict::Unreadable(why);
    }
    let mut expired = Vec::new();
    let mut yours = Vec::new();
    for (environment, state) in locks {
        let LockState::Branch(held) = state else {
            continue;
        };
        match &held.record {
            Ok(record) if !held.holds(now) => expired.push(record.expired_sentence()),
            Ok(record) if record.lets_through(asker) => yours.push(record.yours(environment)),
            Ok(record) => {
                return LockVerdict::Held {
                    sentence: held.sentence(environment, now),
                    description: record.status_description(),
                }
            }
            Err(_) => {
                let sentence = held.sentence(environment, now);
                return LockVerdict::Held {
                    description: sentence.clone(),
                    sentence,
                };
            }
        }
    }
    let holder = (!yours.is_empty()).then(|| format!("{}; {doing}", yours.join("; ")));
    LockVerdict::Go { expired, holder }
}

/// What an unlock came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Released {
    /// The branch was deleted.
    Deleted,
    /// There was no lock to delete.
    NotHeld,
}

/// The permission taking or releasing a lock needs (a `permissions:` entry).
pub const WRITE_PERMISSION: &str = "contents: write";

/// The permission reading a lock needs.
pub const READ_PERMISSION: &str = "contents: read";

/// Who holds an environment, since when, why, and until when: what a lock commit's message
/// carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockRecord {
    pub environment: String,
    pub reason: String,
    pub actor: String,
    pub run_url: String,
    pub created_at: Timestamp,
    /// `None`: until someone unlocks it.
    pub expires_at: Option<Timestamp>,
}

/// The JSON of a lock commit, with exactly the contract's keys in its order.
#[derive(Serialize, Deserialize)]
struct RecordJson {
    environment: String,
    reason: String,
    actor: String,
    run_url: String,
    created_at: String,
    expires_at: Option<String>,
}

impl LockRecord {
    /// `rollout lock: <environment>`, a blank line, then one JSON object on one line. Times are
    /// RFC 3339 in UTC.
    pub fn message(&self) -> String {
        let json = RecordJson {
            environment: self.environment.clone(),
            reason: self.reason.clone(),
            actor: self.actor.clone(),
            run_url: self.run_url.clone(),
            created_at: self.created_at.to_string(),
            expires_at: self.expires_at.map(|t| t.to_string()),
        };
        // Serialising strings and options into JSON cannot fail; an empty object would still
        // be refused by `from_message`, so a lock is never written that reads as someone else's.
        let body = serde_json::to_string(&json).unwrap_or_default();
        // The subject is for people reading the branch list; the JSON is what is read back, so
        // an environment with a newline cannot break the message's shape.
        format!("{SUBJECT}{}\n\n{body}\n", one_line(&self.environment))
    }

    /// Reads a lock commit's message back. An `Err` is a sentence saying why it is not a lock's
    /// message; the branch exists all the same, so a lock that cannot be read still counts as
    /// HELD, and the caller fails closed (telling the user to unlock or delete the branch).
    pub fn from_message(message: &str) -> Result<LockRecord, String> {
        let message = message.trim_end();
        if !message.starts_with(SUBJECT) {
            return Err(format!(
                "its commit message does not start with `{}`",
                SUBJECT.trim_end()
            ));
        }
        let Some(last) = message.lines().rev().find(|l| !l.trim().is_empty()) else {
            return Err("its commit message is empty".into());
        };
        let json: RecordJson = serde_json::from_str(last.trim())
            .map_err(|e| format!("its commit message does not end in the lock's JSON ({e})"))?;
        let time = |field: &str, text: &str| {
            text.parse::<Timestamp>().map_err(|e| {
                // `+99999-01-01T00:00:00Z` or a year 9999 past the end: a time, just not one
                // that can be read.
                let year = text.trim_start_matches(['+', '-']).split('-').next().unwrap_or("");
                let long_year = year.len() > 4 && year.bytes().all(|b| b.is_ascii_digit());
                if long_year || e.to_string().to_ascii_lowercase().contains("range") {
                    format!("its `{field}` ({text:?}) is out of the range of times rollout reads (the years 0001 to 9999)")
                } else {
                    format!("its `{field}` ({text:?}) is not an RFC 3339 time")
                }
            })
        };
        Ok(LockRecord {
            created_at: time("created_at", &json.created_at)?,
            expires_at: json
                .expires_at
                .as_deref()
                .map(|t| time("expires_at", t))
                .transpose()?,
            environment: json.environment,
            reason: json.reason,
            actor: json.actor,
            run_url: json.run_url,
        })
    }

    /// Expired at its expiry time exactly: a lock of `4h` taken at 10:00 no longer holds at 14:00.
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|end| now >= end)
    }

    /// One sentence for a deploy the lock stops: who, since when, why, until when, how to unlock.
    pub fn held_sentence(&self, now: Timestamp) -> String {
        let until = match self.expires_at {
            Some(end) => format!("until {} (in {})", clock(end), span(now, end)),
            None => "until someone unlocks it".to_string(),
        };
        format!(
            "`{}` is locked by {} since {} ({} ago) because \"{}\", {until}; to unlock it, run `step: unlock` for `{}` or delete the branch `{}`",
            one_line(&self.environment),
            self.holder(),
            clock(self.created_at),
            span(self.created_at, now),
            one_line(&self.reason),
            one_line(&self.environment),
            ref_name(&self.environment),
        )
    }

    /// The deployment status's description (140 characters): who and why first, since GitHub's
    /// Environments page shows no more; the full sentence goes to the log and `skip-reason`.
    pub fn status_description(&self) -> String {
        let actor = one_line(&self.actor);
        let who = if actor.is_empty() {
            "someone".to_string()
        } else {
            format!("@{actor}")
        };
        format!(
            "Locked by {who}: \"{}\"; no command ran",
            one_line(&self.reason)
        )
    }

    /// Whether `asker` is this lock's holder, whom it does not stop: a `push` or
    /// `workflow_dispatch` run (a re-run keeps its event) whose triggering actor is the lock's
    /// `actor`, compared without case as GitHub logins are. Every other event is stopped whoever
    /// its actor; a lock with no actor recorded lets nobody through.
    pub fn lets_through(&self, asker: Asker<'_>) -> bool {
        let (mine, theirs) = (self.actor.trim(), asker.actor.trim());
        HOLDER_EVENTS.contains(&asker.event)
            && !mine.is_empty()
            && mine.eq_ignore_ascii_case(theirs)
    }

    /// "production is locked by you (@mona: incident 42)", of the lock on `environment`.
    fn yours(&self, environment: &str) -> String {
        format!(
            "{} is locked by you (@{}: {})",
            one_line(environment),
            one_line(&self.actor),
            one_line(&self.reason)
        )
    }

    /// Said once when a deploy passes an expired lock.
    pub fn expired_sentence(&self) -> String {
        format!(
            "The lock on `{}` that {} took because \"{}\" expired at {}, so it no longer stops deploys; `step: unlock` deletes its branch `{}`",
            one_line(&self.environment),
            self.holder(),
            one_line(&self.reason),
            self.expires_at.map(clock).unwrap_or_else(|| "an unknown time".into()),
            ref_name(&self.environment),
        )
    }

    fn holder(&self) -> String {
        let actor = one_line(&self.actor);
        let who = if actor.is_empty() {
            "someone".to_string()
        } else {
            format!("@{actor}")
        };
        if self.run_url.is_empty() {
            who
        } else {
            format!("{who} (run {})", one_line(&self.run_url))
        }
    }
}

/// Text from a lock's JSON for a one-line sentence: control characters (newlines included) become
/// spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2026-12-24 10:00 UTC`.
fn clock(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

/// A rough length for people: `45 s`, `12 min`, `3 h 5 min`, `2 days 4 h`.
fn span(from: Timestamp, to: Timestamp) -> String {
    let secs = to.duration_since(from).as_secs().max(0);
    let (days, hours, mins) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (days, hours, mins) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (1, h, _) => format!("1 day {h} h"),
        (d, h, _) => format!("{d} days {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::process::Command;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn record() -> LockRecord {
        LockRecord {
            environment: "production".into(),
            reason: "incident 42: payments are down".into(),
            actor: "mona".into(),
            run_url: "https://github.com/octo-org/app/actions/runs/7".into(),
            created_at: at("2026-12-24T10:00:00Z"),
            expires_at: Some(at("2026-12-24T14:00:00Z")),
        }
    }

    #[test]
    fn clean_names_are_kept_lower_cased() {
        assert_eq!(ref_name("production"), "rollout-lock/production");
        assert_eq!(ref_name("Production"), "rollout-lock/production");
        assert_eq!(ref_name("pr-4.preview_eu"), "rollout-lock/pr-4.preview_eu");
    }

    #[test]
    fn names_git_refuses_get_a_hash_and_stay_apart() {
        let dots = ref_name("a..b");
        assert!(
            dots.starts_with("rollout-lock/a.b-") && !dots.contains(".."),
            "{dots}"
        );
        assert_ne!(dots, ref_name("a.b"));
        let lock = ref_name("db.lock");
        assert!(lock.starts_with("rollout-lock/db.lock-"), "{lock}");
        assert_ne!(ref_name("a..b"), ref_name("a...b"));
    }

    /// Every name git's own `check-ref-format` accepts as a branch, and no two alike.
    #[test]
    fn hostile_names_make_valid_distinct_refs() {
        let mut names: Vec<String> = [
            "production",
            "Production EU",
            "production eu",
            "production-eu",
            "production/eu",
            "production\\eu",
            "prod..eu",
            "prod...eu",
            "prod.eu",
            "x.lock",
            "x.LOCK",
            "x.lock.lock",
            ".lock",
            "..",
            ".",
            "@",
            "@{-1}",
            "a@{b",
            "~^:?*[\\",
            "a~1",
            "a^2",
            "a:b",
            "what?",
            "all*",
            "[x]",
            ".hidden",
            "-dash",
            "--",
            "trailing.",
            "trailing/",
            "/leading",
            "a//b",
            "tab\there",
            "nl\nhere",
            "nul\0here",
            "del\u{7f}",
            "",
            " ",
            "ünïcödé",
            "生产",
            "🚀 prod",
            "Ω",
            "ω",
            "ß",
            "SS",
            "preview/pr-1",
            "preview-pr-1",
            "review\u{200b}app",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        names.push("x".repeat(300));
        names.push(format!("{}y", "x".repeat(299)));
        let mut refs = Vec::new();
        for name in &names {
            let r = ref_name(name);
            let out = Command::new("git")
                .args(["check-ref-format", &format!("refs/heads/{r}")])
                .output()
                .unwrap();
            assert!(out.status.success(), "{name:?} -> {r:?} is not a valid ref");
            let branch = Command::new("git")
                .args(["check-ref-format", "--branch", &r])
                .output()
                .unwrap();
            assert!(
                branch.status.success(),
                "{name:?} -> {r:?} is not a branch name"
            );
            refs.push((name.to_lowercase(), r));
        }
        // Names equal without case share a lock, as GitHub's environments do; no others.
        let distinct_names: HashSet<&String> = refs.iter().map(|(n, _)| n).collect();
        let distinct_refs: HashSet<&String> = refs.iter().map(|(_, r)| r).collect();
        assert_eq!(distinct_names.len(), distinct_refs.len(), "{refs:#?}");
    }

    #[test]
    fn a_record_round_trips_through_its_message() {
        let r = record();
        let m = r.message();
        assert!(m.starts_with("rollout lock: production\n\n{"), "{m}");
        let json: serde_json::Value = serde_json::from_str(m.lines().nth(2).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "environment": "production",
                "reason": "incident 42: payments are down",
                "actor": "mona",
                "run_url": "https://github.com/octo-org/app/actions/runs/7",
                "created_at": "2026-12-24T10:00:00Z",
                "expires_at": "2026-12-24T14:00:00Z",
            })
        );
        assert_eq!(LockRecord::from_message(&m).unwrap(), r);
        assert_eq!(LockRecord::from_message(m.trim_end()).unwrap(), r);
        assert_eq!(LockRecord::from_message(&format!("{m}\n\n")).unwrap(), r);
    }

    #[test]
    fn no_expiry_is_null() {
        let r = LockRecord {
            expires_at: None,
            ..record()
        };
        let m = r.message();
        assert!(m.contains(r#""expires_at":null"#), "{m}");
        assert_eq!(LockRecord::from_message(&m).unwrap(), r);
    }

    #[test]
    fn hostile_text_round_trips_and_sentences_stay_one_line() {
        let r = LockRecord {
            environment: "prod\n\nrollout lock: staging".into(),
            reason: "quote \" backslash \\ newline\n{\"json\": true}\r\ttab ünïcödé 🚀 \u{0}"
                .into(),
            actor: "eve\nmallory".into(),
            run_url: "https://x/\"".into(),
            created_at: at("2026-12-24T10:00:00.123456789Z"),
            expires_at: None,
        };
        let m = r.message();
        assert!(
            m.starts_with("rollout lock: prod rollout lock: staging\n\n"),
            "{m}"
        );
        assert_eq!(LockRecord::from_message(&m).unwrap(), r);
        for s in [
            r.held_sentence(at("2026-12-24T11:00:00Z")),
            r.expired_sentence(),
        ] {
            assert!(!s.chars().any(char::is_control), "{s:?}");
        }
    }

    #[test]
    fn messages_that_are_not_a_locks_say_why() {
        let e = LockRecord::from_message("Merge branch 'main'\n\n{}").unwrap_err();
        assert!(e.contains("does not start with `rollout lock:`"), "{e}");
        let e = LockRecord::from_message("rollout lock: production\n\nnot json").unwrap_err();
        assert!(e.contains("does not end in the lock's JSON"), "{e}");
        let m = record()
            .message()
            .replace("2026-12-24T14:00:00Z", "tomorrow");
        let e = LockRecord::from_message(&m).unwrap_err();
        assert!(e.contains("`expires_at` (\"tomorrow\")"), "{e}");
        assert!(e.contains("not an RFC 3339 time"), "{e}");
        for past_the_end in ["+99999-01-01T00:00:00Z", "99999-01-01T00:00:00Z"] {
            let m = record()
                .message()
                .replace("2026-12-24T14:00:00Z", past_the_end);
            let e = LockRecord::from_message(&m).unwrap_err();
            assert!(
                e.contains("is out of the range of times") && !e.contains("RFC 3339"),
                "{e}"
            );
        }
        let e =
            LockRecord::from_message("rollout lock: production\n\n{\"reason\":\"x\"}").unwrap_err();
        assert!(e.contains("missing field"), "{e}");
    }

    #[test]
    fn expiry_starts_at_the_exact_second() {
        let r = record();
        assert!(!r.is_expired(at("2026-12-24T13:59:59Z")));
        assert!(r.is_expired(at("2026-12-24T14:00:00Z")));
        assert!(r.is_expired(at("2027-01-01T00:00:00Z")));
        let forever = LockRecord {
            expires_at: None,
            ..record()
        };
        assert!(!forever.is_expired(at("2100-01-01T00:00:00Z")));
    }

    #[test]
    fn the_held_sentence_says_who_when_why_until_and_how() {
        let s = record().held_sentence(at("2026-12-24T11:30:00Z"));
        assert_eq!(
            s,
            "`production` is locked by @mona (run https://github.com/octo-org/app/actions/runs/7) since 2026-12-24 10:00 UTC (1 h 30 min ago) because \"incident 42: payments are down\", until 2026-12-24 14:00 UTC (in 2 h 30 min); to unlock it, run `step: unlock` for `production` or delete the branch `rollout-lock/production`"
        );
        let forever = LockRecord {
            expires_at: None,
            environment: "Prod EU".into(),
            ..record()
        };
        let s = forever.held_sentence(at("2026-12-26T12:00:00Z"));
        assert!(s.contains("(2 days 2 h ago)"), "{s}");
        assert!(s.contains("until someone unlocks it"), "{s}");
        assert!(s.contains(&format!("`{}`", ref_name("Prod EU"))), "{s}");
    }

    #[test]
    fn the_expired_sentence_says_when_it_ended() {
        assert_eq!(
            record().expired_sentence(),
            "The lock on `production` that @mona (run https://github.com/octo-org/app/actions/runs/7) took because \"incident 42: payments are down\" expired at 2026-12-24 14:00 UTC, so it no longer stops deploys; `step: unlock` deletes its branch `rollout-lock/production`"
        );
    }

    #[test]
    fn a_branch_holds_until_its_expiry_and_an_unreadable_one_always() {
        let sha = "c0ffee0000000000000000000000000000000001";
        let held = HeldLock::from_commit(sha, &record().message()).unwrap();
        assert!(held.holds(at("2026-12-24T13:59:59Z")));
        assert!(!held.holds(at("2026-12-24T14:00:00Z")));
        assert_eq!(
            held.sentence("production", at("2026-12-24T11:30:00Z")),
            record().held_sentence(at("2026-12-24T11:30:00Z"))
        );
        let stray = HeldLock::from_commit(sha, "Merge branch 'main'").unwrap();
        assert!(stray.holds(at("2100-01-01T00:00:00Z")));
        let s = stray.sentence("Prod EU", at("2026-12-24T11:30:00Z"));
        assert!(
            s.contains(&format!("`{}`", ref_name("Prod EU")))
                && s.contains("does not start with `rollout lock:`"),
            "{s}"
        );
        assert_eq!(HeldLock::from_commit("not a sha", "x"), None);
    }

    fn branch(r: LockRecord) -> LockState {
        LockState::Branch(HeldLock {
            commit: Sha::parse("c0ffee0000000000000000000000000000000001").unwrap(),
            record: Ok(r),
        })
    }

    fn asker<'a>(event: &'a str, actor: &'a str) -> Asker<'a> {
        Asker { event, actor }
    }

    #[test]
    fn a_lock_lets_through_its_holders_push_or_dispatch_only() {
        let r = record();
        for (event, actor) in [
            ("push", "mona"),
            ("workflow_dispatch", "mona"),
            ("push", "Mona"),
            ("workflow_dispatch", " MONA "),
        ] {
            assert!(r.lets_through(asker(event, actor)), "{event} {actor}");
        }
        for (event, actor) in [
            ("push", "hubot"),
            ("push", "mona2"),
            ("push", ""),
            ("schedule", "mona"),
            ("workflow_run", "mona"),
            ("pull_request", "mona"),
            ("pull_request_target", "mona"),
            ("repository_dispatch", "mona"),
            ("Push", "mona"),
        ] {
            assert!(!r.lets_through(asker(event, actor)), "{event} {actor}");
        }
        let nobody = LockRecord {
            actor: String::new(),
            ..record()
        };
        assert!(!nobody.lets_through(asker("push", "")));
    }

    #[test]
    fn the_verdict_lets_the_holder_through_and_says_so() {
        let now = at("2026-12-24T11:00:00Z");
        let held = branch(record());
        let locks = [("production", &held)];
        assert_eq!(
            judge(&locks, asker("push", "mona"), "deploying", now),
            LockVerdict::Go {
                expired: vec![],
                holder: Some(
                    "production is locked by you (@mona: incident 42: payments are down); deploying"
                        .into()
                ),
            }
        );
        match judge(&locks, asker("schedule", "mona"), "deploying", now) {
            LockVerdict::Held {
                sentence,
                description,
            } => {
                assert_eq!(sentence, record().held_sentence(now));
                assert_eq!(description, record().status_description());
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            judge(&locks, asker("push", "hubot"), "deploying", now),
            LockVerdict::Held { .. }
        ));
    }

    #[test]
    fn the_verdict_over_two_locks_needs_both_to_let_it_through() {
        let now = at("2026-12-24T11:00:00Z");
        let free = LockState::Free;
        let mine = branch(record());
        let theirs = branch(LockRecord {
            environment: "production-api".into(),
            actor: "hubot".into(),
            ..record()
        });
        let expired = branch(LockRecord {
            environment: "production-api".into(),
            actor: "hubot".into(),
            expires_at: Some(at("2026-12-24T10:30:00Z")),
            ..record()
        });
        let unreadable = LockState::Unknown("the read failed".into());
        let mona = asker("push", "mona");
        // Free and free: nothing to say.
        assert_eq!(
            judge(
                &[("production-api", &free), ("production", &free)],
                mona,
                "deploying",
                now
            ),
            LockVerdict::Go {
                expired: vec![],
                holder: None
            }
        );
        // The branch's environment locked by someone else holds the target.
        match judge(
            &[("production-api", &free), ("production", &theirs)],
            mona,
            "deploying",
            now,
        ) {
            LockVerdict::Held { sentence, .. } => {
                assert!(sentence.contains("@hubot"), "{sentence}")
            }
            other => panic!("{other:?}"),
        }
        // Mine on one, someone else's on the other: held.
        assert!(matches!(
            judge(
                &[("production-api", &theirs), ("production", &mine)],
                mona,
                "deploying",
                now
            ),
            LockVerdict::Held { .. }
        ));
        // Mine and an expired one: through, with both said.
        match judge(
            &[("production-api", &expired), ("production", &mine)],
            mona,
            "starting",
            now,
        ) {
            LockVerdict::Go { expired, holder } => {
                assert_eq!(expired.len(), 1);
                assert!(
                    expired[0].contains("expired at 2026-12-24 10:30 UTC"),
                    "{expired:?}"
                );
                assert_eq!(
                    holder.as_deref(),
                    Some("production is locked by you (@mona: incident 42: payments are down); starting")
                );
            }
            other => panic!("{other:?}"),
        }
        // Anything unreadable fails closed, even beside the holder's own lock.
        assert_eq!(
            judge(
                &[("production-api", &unreadable), ("production", &mine)],
                mona,
                "deploying",
                now
            ),
            LockVerdict::Unreadable("the read failed".into())
        );
        // A record nobody can read lets nobody through, its holder neither.
        let stray = LockState::Branch(
            HeldLock::from_commit(
                "c0ffee0000000000000000000000000000000001",
                "Merge branch 'main'",
            )
            .unwrap(),
        );
        match judge(&[("production", &stray)], mona, "deploying", now) {
            LockVerdict::Held {
                sentence,
                description,
            } => {
                assert_eq!(sentence, description);
                assert!(sentence.contains("rollout-lock/production"), "{sentence}");
            }
            other => panic!("{other:?}"),
        }
    }
}
