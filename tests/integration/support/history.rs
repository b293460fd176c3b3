//! A production history to roll back or verify against: commits A, B and C in the workspace and
//! deployments of them in the fake, each recording the image it shipped.

use super::Harness;
use fake_github::{Deployment, Fake, Status};
use serde_json::json;

/// A history of A, B and C: the harness, the three commits, and the deployments made of them
/// (oldest first).
pub struct Abc {
    pub h: Harness,
    pub shas: [String; 3],
    pub ids: Vec<u64>,
}

/// Three commits, each setting `version.txt` to A, B and C.
pub fn commits_abc(h: &mut Harness) -> [String; 3] {
    ["A", "B", "C"].map(|v| h.commit(&[("version.txt", &format!("{v}\n"))], v))
}

/// One deployment of production for each of `shas`, in that order, each with a `success` status,
/// the task `task` and the payload `{"image": "registry.example/web@<short sha>"}`.
pub fn deployed_with_images(h: &Harness, shas: &[&String], task: &str) -> Vec<u64> {
    let ids = h
        .fake
        .state()
        .seed("production", shas.len(), Some("success"), false);
    for (id, sha) in ids.iter().zip(shas) {
        let mut s = h.fake.state();
        let d = s.deployments.iter_mut().find(|d| d.id == *id).unwrap();
        d.sha = sha.to_string();
        d.git_ref = sha.to_string();
        d.task = task.into();
        d.payload = json!({ "image": format!("registry.example/web@{}", &sha[..7]) });
    }
    ids
}

/// One more status on deployment `id`, like its first (`inactive` as GitHub's `auto_inactive`
/// writes it, or a late `failure`).
pub fn add_status(fake: &Fake, id: u64, state: &str) {
    let mut s = fake.state();
    let d = s.deployments.iter_mut().find(|d| d.id == id).unwrap();
    let template = d.statuses[0].clone();
    d.statuses.push(Status {
        state: state.to_string(),
        ..template
    });
}

/// The deployments the run created: those after the newest seeded one.
pub fn created_after(fake: &Fake, newest_seeded: u64) -> Vec<Deployment> {
    fake.state()
        .deployments
        .iter()
        .filter(|d| d.id > newest_seeded)
        .cloned()
        .collect()
}

/// `d` is a rollback to commit `sha`, deployment `to`: its ref and description say so.
pub fn assert_rollback_to(d: &Deployment, sha: &str, to: u64) {
    assert_eq!(d.sha, sha, "the commit put back");
    assert_eq!(
        d.description.as_deref(),
        Some(&*format!("Rollback to {} (deployment {to})", &sha[..7]))
    );
}
