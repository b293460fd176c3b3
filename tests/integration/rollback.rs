//! The rollback's history read against the fake's GraphQL: `rollback_history` and `choose`
//! together, counting the requests (one when the target is among the newest 100), with the
//! lock ref read in the same request.

use crate::support::*;
use rollout::github::{DeploymentClient, RetryPolicy};
use rollout::inputs::Token;
use rollout::rollback::{choose_within, RollbackTo};
use serde_json::json;

const LOCK: &str = "refs/heads/rollout-lock/production";

fn client(fake: &Fake) -> DeploymentClient {
    DeploymentClient::new(
        &fake.url(),
        OWNER_REPO,
        &Token::new(TOKEN.into()),
        RetryPolicy::default(),
        None,
    )
    .unwrap()
    .with_graphql_url(&fake.url(), &format!("{}/graphql", fake.url()))
}

fn read(fake: &Fake, to: &RollbackTo) -> rollout::github::History {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // octocrab's service buffer is spawned where the client is built: inside the runtime.
    rt.block_on(async {
        client(fake)
            .rollback_history("production", LOCK, |h| to.decided_by(h))
            .await
    })
    .unwrap()
}

/// Sets deployment `id`'s commit and appends statuses to it.
fn mark(fake: &Fake, id: u64, sha: char, states: &[&str]) {
    let mut s = fake.state();
    let d = s.deployments.iter_mut().find(|d| d.id == id).unwrap();
    d.sha = sha.to_string().repeat(40);
    let template = d.statuses[0].clone();
    for state in states {
        d.statuses.push(fake_github::Status {
            state: state.to_string(),
            ..template.clone()
        });
    }
}

fn graphql_requests(fake: &Fake) -> usize {
    fake.state().requests_to("POST", "/graphql")
}

#[test]
fn a_target_among_the_newest_100_costs_one_request_with_the_lock_absent() {
    let fake = Fake::start();
    let old = fake.state().seed("production", 150, Some("success"), false);
    let recent = fake
        .state()
        .seed("production", 3, Some("in_progress"), false);
    fake.state().seed("staging", 5, Some("success"), false);
    mark(&fake, old[149], 'a', &["inactive"]);
    mark(&fake, recent[0], 'b', &["failure"]);
    mark(&fake, recent[1], 'c', &["inactive"]);
    mark(&fake, recent[2], 'd', &["failure"]);
    let history = read(&fake, &RollbackTo::Previous);
    assert_eq!((history.requests, graphql_requests(&fake)), (1, 1));
    assert_eq!(history.entries.len(), 100);
    assert_eq!(history.lock, None);
    let choice = choose_within(&history.entries, history.truncated, &RollbackTo::Previous).unwrap();
    assert_eq!((choice.from.id, choice.to.id), (recent[2], old[149]));
    assert!(
        fake.state().violations.is_empty(),
        "{:?}",
        fake.state().violations
    );
}

#[test]
fn an_older_target_pages_on_and_a_lock_is_read_once() {
    let fake = Fake::start();
    let old = fake.state().seed("production", 1, Some("success"), false);
    mark(&fake, old[0], 'a', &["inactive"]);
    let failed = fake.state().seed("production", 250, Some("failure"), false);
    mark(&fake, failed[249], 'f', &[]);
    let lock = fake.state().seed_commit("rollout lock: production\n\n{}");
    fake.state().git_refs.insert(LOCK.into(), lock.clone());
    let history = read(&fake, &RollbackTo::Previous);
    assert_eq!(history.requests, 3, "251 deployments are three pages");
    assert_eq!(history.entries.len(), 251);
    assert_eq!(
        history.lock,
        Some((lock, "rollout lock: production\n\n{}".into()))
    );
    let choice = choose_within(&history.entries, history.truncated, &RollbackTo::Previous).unwrap();
    assert_eq!(choice.to.id, old[0]);
    // By id, the read stops at the page holding an id at or below it.
    let by_id = read(&fake, &RollbackTo::Id(failed[180]));
    assert_eq!(by_id.requests, 1);
}

#[test]
fn the_same_commit_twice_and_a_rollback_chain_pick_the_contracts_target() {
    let fake = Fake::start();
    let ids = fake.state().seed("production", 5, Some("success"), false);
    mark(&fake, ids[0], 'a', &["inactive"]);
    mark(&fake, ids[1], 'b', &["inactive"]);
    mark(&fake, ids[2], 'b', &["inactive"]);
    mark(&fake, ids[3], 'c', &["inactive"]);
    // The newest is a rollback from C to B: the next one goes to A, past both deploys of B.
    mark(&fake, ids[4], 'b', &[]);
    fake.state()
        .deployments
        .iter_mut()
        .find(|d| d.id == ids[4])
        .unwrap()
        .payload = json!({ "rollback": { "from_deployment": ids[3], "from_sha": "c".repeat(40), "to_deployment": ids[2] } });
    let history = read(&fake, &RollbackTo::Previous);
    assert_eq!(history.entries[0].rollback_from, Some(ids[3]));
    let choice = choose_within(&history.entries, history.truncated, &RollbackTo::Previous).unwrap();
    assert_eq!(choice.to.id, ids[0]);
    let commit_c = RollbackTo::Sha("c".repeat(7));
    let history = read(&fake, &commit_c);
    assert_eq!(
        choose_within(&history.entries, history.truncated, &commit_c)
            .unwrap()
            .to
            .id,
        ids[3]
    );
}

#[test]
fn more_than_1000_deployments_without_a_target_are_truncated_after_ten_requests() {
    let fake = Fake::start();
    fake.state()
        .seed("production", 1005, Some("failure"), false);
    let history = read(&fake, &RollbackTo::Previous);
    assert_eq!(
        (history.requests, history.entries.len(), history.truncated),
        (10, 1000, true)
    );
    let refusal =
        choose_within(&history.entries, history.truncated, &RollbackTo::Previous).unwrap_err();
    assert!(
        refusal.sentence("production").contains("newest 1,000"),
        "{refusal}"
    );
}
