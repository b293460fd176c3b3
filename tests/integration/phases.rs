//! Progress phases against the fake GitHub: a real command appends phases to its phase file, the
//! poster posts them on a real deployment beside it, and the final status comes last; the fake
//! refuses a deployment's 101st status as GitHub does, and the status budget never asks for it.

use crate::support::{Fake, OWNER_REPO, TOKEN};
use rollout::command::{self, CommandSpec};
use rollout::github::{ApiError, DeploymentClient, NewDeployment, NewStatus, RetryPolicy, State};
use rollout::inputs::Token;
use rollout::phases::{
    failed_in, is_status_limit, outcome_words, PhaseFile, PhasePoster, StatusBudget,
};
use rollout::signals::Cancel;
use rollout::text::Description;
use std::time::Duration;

const LOG: &str = "https://github.example.com/octo-org/app/actions/runs/1/job/2";

/// Far below GitHub's 10 s, so the test takes seconds; far above a loaded machine's jitter.
const SPACING: Duration = Duration::from_millis(1200);

fn client(fake: &Fake) -> DeploymentClient {
    DeploymentClient::new(
        &fake.url(),
        OWNER_REPO,
        &Token::new(TOKEN.into()),
        RetryPolicy::default(),
        None,
    )
    .unwrap()
}

async fn deployment(client: &DeploymentClient, key: &str) -> u64 {
    let new = NewDeployment {
        git_ref: "1".repeat(40),
        task: "deploy".into(),
        auto_merge: false,
        required_contexts: Vec::new(),
        payload: serde_json::json!({ "rollout": { "key": key } }),
        environment: "production".into(),
        description: Description::new("ship"),
        transient_environment: false,
        production_environment: None,
    };
    client
        .create_deployment(&new, key)
        .await
        .unwrap()
        .deployment
        .id
}

fn statuses(fake: &Fake, id: u64) -> Vec<(String, String)> {
    let state = fake.state();
    let d = state.deployments.iter().find(|d| d.id == id).unwrap();
    d.statuses
        .iter()
        .map(|s| (s.state.clone(), s.description.clone()))
        .collect()
}

fn spec(file: &PhaseFile, script: &str) -> CommandSpec {
    CommandSpec {
        script: script.into(),
        dir: std::env::temp_dir(),
        set: vec![file.variable()],
        remove: Vec::new(),
        timeout: None,
    }
}

#[tokio::test]
async fn phases_reach_the_deployment_in_order_and_the_final_status_names_the_last() {
    let fake = Fake::start();
    let client = client(&fake);
    let id = deployment(&client, "phases-1").await;
    let budget = StatusBudget::new();
    assert!(budget.try_take());
    client
        .create_status(id, &NewStatus::new(State::InProgress, "Deploying", LOG))
        .await
        .unwrap();
    let file = PhaseFile::create().unwrap();
    let script = r#"
        p="$ROLLOUT_PHASE_FILE"
        echo 'Building image' >> "$p"; sleep 2
        echo 'Pushing' >> "$p"; sleep 0.4
        echo 'Rolling out' >> "$p"; sleep 0.4
        echo 'Smoke test' >> "$p"; sleep 1.2
        printf 'Migrating database' >> "$p"
        exit 3
    "#;
    let poster = PhasePoster::new(client.clone(), id, LOG, budget.clone(), Cancel::never())
        .with_spacing(SPACING);
    let mut cancel = Cancel::never();
    let (finished, phases) = poster
        .beside(&file, command::run(&spec(&file, script), &mut cancel))
        .await;
    assert!(phases.late.is_none());
    let record: Vec<&str> = phases
        .record
        .phases
        .iter()
        .map(|p| p.text.as_str())
        .collect();
    assert_eq!(
        record,
        [
            "Building image",
            "Pushing",
            "Rolling out",
            "Smoke test",
            "Migrating database"
        ]
    );
    let description = failed_in(
        phases.record.ended_in().unwrap_or_default(),
        &outcome_words(&finished.outcome),
    );
    assert!(budget.take_final());
    client
        .create_status(id, &NewStatus::new(State::Failure, &description, LOG))
        .await
        .unwrap();

    let statuses = statuses(&fake, id);
    assert_eq!(statuses.len() as u32, budget.posted(), "{statuses:?}");
    assert_eq!(statuses[0], ("in_progress".into(), "Deploying".into()));
    assert_eq!(
        statuses.last().unwrap(),
        &(
            "failure".into(),
            "Failed in Migrating database: exit 3".into()
        )
    );
    let posted: Vec<&str> = statuses[1..statuses.len() - 1]
        .iter()
        .map(|(state, description)| {
            assert_eq!(state, "in_progress");
            description.as_str()
        })
        .collect();
    // The first line goes at once; lines within one spacing leave the newest; the line written
    // as the command ended is never posted.
    assert_eq!(posted.first(), Some(&"Building image"), "{posted:?}");
    assert_eq!(posted.last(), Some(&"Smoke test"), "{posted:?}");
    assert!(posted.contains(&"Pushing"), "{posted:?}");
    let order = ["Building image", "Pushing", "Rolling out", "Smoke test"];
    let positions: Vec<usize> = posted
        .iter()
        .map(|p| order.iter().position(|o| o == p).unwrap())
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{posted:?}");
    assert!(
        posted.len() < order.len(),
        "Rolling out was replaced: {posted:?}"
    );

    // The spacing itself is the scheduler's and the poster's, tested on a paused clock
    // (src/phases.rs): arrival times here would measure the machine's load, not rollout.
    assert!(fake.state().violations.is_empty());
}

#[tokio::test]
async fn the_budget_keeps_a_full_deployment_from_its_101st_status() {
    let fake = Fake::start();
    let client = client(&fake);
    let id = deployment(&client, "phases-2").await;
    let budget = StatusBudget::new();
    for n in 0..95 {
        assert!(budget.try_take());
        client
            .create_status(
                id,
                &NewStatus::new(State::InProgress, &format!("re-send {n}"), LOG),
            )
            .await
            .unwrap();
    }
    let file = PhaseFile::create().unwrap();
    let script = r#"
        for phase in one two three four; do
            echo "$phase" >> "$ROLLOUT_PHASE_FILE"; sleep 1.5
        done
    "#;
    let poster = PhasePoster::new(client.clone(), id, LOG, budget.clone(), Cancel::never())
        .with_spacing(SPACING);
    let mut cancel = Cancel::never();
    let (finished, phases) = poster
        .beside(&file, command::run(&spec(&file, script), &mut cancel))
        .await;
    assert!(finished.outcome.success());
    assert_eq!(phases.posted, 2, "95 + 2 leaves the final status its room");
    assert_eq!(phases.record.phases.len(), 4);
    assert!(budget.take_final());
    client
        .create_status(id, &NewStatus::new(State::Success, "Deployed in 6s", LOG))
        .await
        .unwrap();
    let statuses = statuses(&fake, id);
    assert_eq!(statuses.len(), 98);
    assert_eq!(statuses[95].1, "one");
    assert_eq!(statuses[97].0, "success");

    // Two more fill the deployment; GitHub (and the fake) refuse the next one.
    for _ in 0..2 {
        assert!(budget.take_final());
        client
            .create_status(id, &NewStatus::new(State::Success, "again", LOG))
            .await
            .unwrap();
    }
    assert!(!budget.take_final(), "rollout never asks for a 101st");
    let refused = client
        .create_status(id, &NewStatus::new(State::Success, "101st", LOG))
        .await
        .unwrap_err();
    assert!(is_status_limit(&refused), "{refused}");
    assert!(matches!(refused, ApiError::Status { status: 422, .. }));
    assert!(
        refused.to_string().contains("GitHub answered 422"),
        "{refused}"
    );
    assert_eq!(self::statuses(&fake, id).len(), 100);
}
