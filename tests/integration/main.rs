//! rollout's integration tests, one binary: each module is an area (the real binary against the
//! fake GitHub API, real git, real signals, a real proxy), sharing `support`. One binary links the
//! crate once, where a binary per file linked it seventeen times.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod api_faults;
mod bad_input;
mod changes;
mod checkout;
mod command;
mod delivery;
mod deploy;
mod faults;
mod freeze;
mod fuzz_corpus;
mod github_faults;
mod host;
mod hostile;
mod image_packages;
mod inputs_list;
mod locked_deploys;
mod locks;
mod network;
mod phases;
mod plan_text;
mod preview;
mod promotion;
mod readme_workflows;
mod rollback;
mod round_trips;
mod sentences;
mod sweep;
mod targets;
mod verify;
