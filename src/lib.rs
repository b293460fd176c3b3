//! rollout: a GitHub container action that turns events into GitHub Deployments.
//!
//! The pipeline, one module each: [`event`] and [`inputs`] read the outside world once, [`plan`]
//! decides (pure, with [`targets`]; [`history`] reads a deployment history the same way for
//! every feature), [`changes`], [`checkout`], [`github`] (over [`transport`]),
//! [`command`] and [`runtime`] are the adapters, and [`steps`] is the only place that sequences
//! them. [`report`] turns results into text.

pub mod changes;
pub mod checkout;
pub mod command;
pub mod delivery;
pub mod delivery_report;
pub mod environ;
pub mod event;
pub mod freeze;
pub mod github;
pub mod history;
pub mod inputs;
pub mod lines;
pub mod lock;
pub mod logging;
pub mod phases;
pub mod plan;
pub mod promotion;
pub mod regular;
pub mod report;
pub mod rollback;
pub mod runtime;
pub mod shipping;
pub mod signals;
pub mod steps;
pub mod sweep;
pub mod targets;
pub mod text;
pub mod transport;
pub mod verify;
