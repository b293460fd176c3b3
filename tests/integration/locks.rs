//! Environment locks against the fake's git database, through the client rollout uses: the
//! atomic claim by creating a ref, the fast-forward takeover of an expired lock, unlock, the
//! permission sentences, hostile names, and the one-request read of many locks.

use crate::support::{client, Fake, Grant, TOKEN};
use rollout::event::Sha;
use rollout::lock::{
    ref_name, HeldLock, LockRecord, LockTaken, Released, READ_PERMISSION, WRITE_PERMISSION,
};

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

fn record(environment: &str, actor: &str, created_at: &str, hours: Option<i64>) -> LockRecord {
    let created_at = at(created_at);
    LockRecord {
        environment: environment.into(),
        reason: format!("{actor} investigates \"incident\"\nsecond line"),
        actor: actor.into(),
        run_url: format!(
            "https://github.com/octo-org/app/actions/runs/{}",
            actor.len()
        ),
        created_at,
        expires_at: hours.map(|h| {
            created_at
                .checked_add(jiff::SignedDuration::from_hours(h))
                .unwrap()
        }),
    }
}

/// The fake with a commit whose tree a lock takes, as `GITHUB_SHA` would be.
fn fake_with_head() -> (Fake, Sha) {
    let fake = Fake::start();
    let head = fake.state().seed_commit("the head commit");
    (fake, Sha::parse(&head).unwrap())
}

fn branch_commit(fake: &Fake, environment: &str) -> Option<String> {
    fake.state()
        .git_refs
        .get(&format!("refs/heads/{}", ref_name(environment)))
        .cloned()
}

fn assert_no_violations(fake: &Fake) {
    let violations = fake.state().violations.clone();
    assert!(violations.is_empty(), "{violations:#?}");
}

#[tokio::test]
async fn two_runs_locking_at_once_one_wins_and_the_other_sees_it() {
    let (fake, head) = fake_with_head();
    let c = client(&fake, TOKEN);
    let runs = [
        record("production", "mona", "2026-12-24T10:00:00Z", None),
        record("production", "hubot", "2026-12-24T10:00:00Z", None),
        record("Production", "octocat", "2026-12-24T10:00:00Z", Some(1)),
    ];
    let (a, b, d) = tokio::join!(
        c.take_lock(&runs[0], &head),
        c.take_lock(&runs[1], &head),
        c.take_lock(&runs[2], &head),
    );
    let outcomes = [a.unwrap(), b.unwrap(), d.unwrap()];
    let winners: Vec<usize> = (0..3)
        .filter(|&i| matches!(outcomes[i], LockTaken::Taken { .. }))
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:#?}");
    let winner = winners[0];
    let LockTaken::Taken { commit } = &outcomes[winner] else {
        unreachable!()
    };
    assert_eq!(
        branch_commit(&fake, "production").as_deref(),
        Some(commit.as_str())
    );
    for (i, outcome) in outcomes.iter().enumerate().filter(|(i, _)| *i != winner) {
        match outcome {
            LockTaken::HeldBy(HeldLock {
                commit: held,
                record,
            }) => {
                assert_eq!(held, commit, "run {i} names the winner's commit");
                assert_eq!(record.as_ref().unwrap(), &runs[winner]);
            }
            other => panic!("run {i}: {other:?}"),
        }
    }
    // The lock commit has no parent and the head's tree.
    let state = fake.state();
    let lock = &state.git_commits[commit.as_str()];
    assert!(lock.parents.is_empty());
    assert_eq!(lock.tree, state.git_commits[head.as_str()].tree);
    drop(state);
    assert_no_violations(&fake);
}

#[tokio::test]
async fn an_expired_lock_of_a_run_that_died_is_taken_over_by_exactly_one_of_two_runs() {
    let (fake, head) = fake_with_head();
    let c = client(&fake, TOKEN);
    let died = record("production", "crashed", "2026-12-24T10:00:00Z", Some(1));
    let LockTaken::Taken { commit: old } = c.take_lock(&died, &head).await.unwrap() else {
        panic!("the first lock is taken")
    };
    // Still within its hour, it holds.
    let early = record("production", "early", "2026-12-24T10:59:59Z", None);
    match c.take_lock(&early, &head).await.unwrap() {
        LockTaken::HeldBy(held) => assert_eq!(held.record.unwrap(), died),
        other => panic!("{other:?}"),
    }
    let first = record("production", "first", "2026-12-24T11:00:00Z", None);
    let second = record("production", "second", "2026-12-24T11:00:00Z", None);
    let (a, b) = tokio::join!(c.take_lock(&first, &head), c.take_lock(&second, &head));
    let outcomes = [a.unwrap(), b.unwrap()];
    let took: Vec<&LockTaken> = outcomes
        .iter()
        .filter(|o| matches!(o, LockTaken::TookOver { .. }))
        .collect();
    assert_eq!(took.len(), 1, "{outcomes:#?}");
    let LockTaken::TookOver { commit, expired } = took[0] else {
        unreachable!()
    };
    assert_eq!(expired, &died);
    assert_eq!(
        branch_commit(&fake, "production").as_deref(),
        Some(commit.as_str())
    );
    assert_eq!(
        fake.state().git_commits[commit.as_str()].parents,
        vec![old.to_string()],
        "a fast-forward from the expired lock's commit"
    );
    let loser = outcomes
        .iter()
        .find(|o| matches!(o, LockTaken::HeldBy(_)))
        .expect("the other run is told who holds it");
    let LockTaken::HeldBy(held) = loser else {
        unreachable!()
    };
    assert_eq!(&held.commit, commit);
    let winner = held.record.as_ref().unwrap();
    assert!(winner.actor == "first" || winner.actor == "second");
    // No run forced the ref: every update asked for a fast-forward.
    let state = fake.state();
    assert!(state
        .requests
        .iter()
        .filter(|r| r.method == "PATCH")
        .all(|r| r.body.as_ref().unwrap()["force"] == false));
    drop(state);
    assert_no_violations(&fake);
}

#[tokio::test]
async fn unlock_deletes_the_branch_and_a_missing_lock_is_not_held() {
    let (fake, head) = fake_with_head();
    let c = client(&fake, TOKEN);
    assert_eq!(
        c.release_lock("production").await.unwrap(),
        Released::NotHeld
    );
    let r = record("production", "mona", "2026-12-24T10:00:00Z", None);
    assert!(matches!(
        c.take_lock(&r, &head).await.unwrap(),
        LockTaken::Taken { .. }
    ));
    assert_eq!(
        c.release_lock("PRODUCTION").await.unwrap(),
        Released::Deleted
    );
    assert_eq!(branch_commit(&fake, "production"), None);
    assert_eq!(
        c.release_lock("production").await.unwrap(),
        Released::NotHeld
    );
    // Unlocked, it can be taken again.
    assert!(matches!(
        c.take_lock(&r, &head).await.unwrap(),
        LockTaken::Taken { .. }
    ));
    assert_no_violations(&fake);
}

#[tokio::test]
async fn a_token_without_contents_write_gets_one_sentence_naming_it() {
    let (fake, head) = fake_with_head();
    fake.state()
        .tokens
        .insert(TOKEN.into(), Grant::ContentsRead);
    let c = client(&fake, TOKEN);
    let r = record("production", "mona", "2026-12-24T10:00:00Z", None);
    let e = c.take_lock(&r, &head).await.unwrap_err();
    let told = e.explain("Locking `production`", WRITE_PERMISSION);
    assert!(
        told.contains("`contents: write`") && told.contains("403"),
        "{told}"
    );
    assert!(!told.contains('\n'), "{told}");
    let e = c.release_lock("production").await.unwrap_err();
    assert!(e
        .explain("Unlocking", WRITE_PERMISSION)
        .contains("`contents: write`"));
    // Reading needs only contents: read, which this token has.
    assert_eq!(c.read_locks(&["production"]).await.unwrap(), vec![None]);
    assert_eq!(branch_commit(&fake, "production"), None);
}

#[tokio::test]
async fn a_lock_read_refused_names_contents_read() {
    let (fake, _) = fake_with_head();
    fake.state().tokens.insert(TOKEN.into(), Grant::NoContents);
    let c = client(&fake, TOKEN);
    let e = c.read_locks(&["production"]).await.unwrap_err();
    let told = e.explain("Reading the lock of `production`", READ_PERMISSION);
    assert!(told.contains("`contents: read`"), "{told}");
    assert_eq!(
        fake.state().requests_to("POST", "/graphql"),
        1,
        "a refusal is not retried"
    );
}

#[tokio::test]
async fn names_with_spaces_and_unicode_lock_apart() {
    let (fake, head) = fake_with_head();
    let c = client(&fake, TOKEN);
    let names = [
        "Prod EU 🚀",
        "prod-eu",
        "prod/eu",
        "prod..eu",
        "db.lock",
        "生产",
    ];
    for name in names {
        let r = record(name, "mona", "2026-12-24T10:00:00Z", None);
        let taken = c.take_lock(&r, &head).await.unwrap();
        assert!(
            matches!(taken, LockTaken::Taken { .. }),
            "{name}: {taken:?}"
        );
    }
    assert_eq!(fake.state().git_refs.len(), names.len());
    let read = c.read_locks(&names).await.unwrap();
    for (name, lock) in names.iter().zip(&read) {
        let lock = lock.as_ref().unwrap_or_else(|| panic!("{name} is locked"));
        assert_eq!(lock.record.as_ref().unwrap().environment, *name);
    }
    // GitHub compares environment names without case: so does the lock.
    let r = record("prod eu 🚀", "hubot", "2026-12-24T10:00:00Z", None);
    assert!(matches!(
        c.take_lock(&r, &head).await.unwrap(),
        LockTaken::HeldBy(_)
    ));
    for name in names {
        assert_eq!(
            c.release_lock(name).await.unwrap(),
            Released::Deleted,
            "{name}"
        );
    }
    assert!(fake.state().git_refs.is_empty());
    assert_no_violations(&fake);
}

#[tokio::test]
async fn one_request_reads_every_environments_lock() {
    let (fake, head) = fake_with_head();
    let c = client(&fake, TOKEN);
    let held = record("api-production", "mona", "2026-12-24T10:00:00Z", Some(4));
    c.take_lock(&held, &head).await.unwrap();
    // A branch of that name whose commit is not a lock's still holds, unreadable.
    {
        let mut state = fake.state();
        let stray = state.seed_commit("Merge branch 'main'");
        state
            .git_refs
            .insert(format!("refs/heads/{}", ref_name("web-production")), stray);
    }
    let before = fake.state().requests_to("POST", "/graphql");
    let environments = [
        "api-production",
        "web-production",
        "worker-production",
        "quote\"name\\{}",
        "$(id)",
    ];
    let read = c.read_locks(&environments).await.unwrap();
    assert_eq!(fake.state().requests_to("POST", "/graphql") - before, 1);
    assert_eq!(read.len(), environments.len());
    assert_eq!(read[0].as_ref().unwrap().record.as_ref().unwrap(), &held);
    let unreadable = read[1].as_ref().unwrap().record.as_ref().unwrap_err();
    assert!(
        unreadable.contains("does not start with `rollout lock:`"),
        "{unreadable}"
    );
    assert!(read[2..].iter().all(Option::is_none), "{read:?}");
    // The names went as variables, never into the query's text.
    let query = fake
        .state()
        .requests
        .iter()
        .rev()
        .find(|r| r.path == "/graphql")
        .and_then(|r| r.body.as_ref())
        .unwrap()["query"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !query.contains("production") && !query.contains("$(id)"),
        "{query}"
    );
    assert!(c.read_locks(&[]).await.unwrap().is_empty());
    assert_eq!(
        fake.state().requests_to("POST", "/graphql") - before,
        1,
        "none for no environment"
    );
    assert_no_violations(&fake);
}
