//! `step: report` and `rollout report`: the delivery report. Reads the matching environments'
//! deployments of the period over GraphQL (the environments' names first when `environment` is
//! a glob), computes the figures (`crate::delivery`) and writes them: the step summary and the
//! output `report` in a job, the table and a text chart (or the JSON) in a terminal. Writes
//! nothing to the API.

use crate::delivery::{self, Delivery, Period};
use crate::delivery_report::{self, Heading};
use crate::github::{ApiError, DeploymentClient};
use crate::runtime::{self, Runtime};
use jiff::Timestamp;

/// The permissions a report needs, said where a read is refused.
const PERMISSIONS: &str =
    "deployments: read`, `contents: read` and (to list the environments a glob matches) `actions: read";

/// `environment` (a glob) and `period`, checked before any request.
pub struct ReportRequest {
    pub pattern: String,
    glob: globset::GlobMatcher,
    /// A plain name: no listing of the environments.
    literal: bool,
    pub period: Period,
    pub period_text: String,
}

impl ReportRequest {
    /// The error names the input (`environment` or `period`) and why.
    pub fn parse(
        environment: Option<&str>,
        period: Option<&str>,
    ) -> Result<ReportRequest, (&'static str, String)> {
        let pattern = environment.unwrap_or("").trim().to_string();
        let (glob, literal) =
            delivery::environment_glob(&pattern).map_err(|e| ("environment", e))?;
        let period_text = period
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .unwrap_or(delivery::DEFAULT_PERIOD)
            .to_string();
        let period = Period::parse(&period_text).map_err(|e| ("period", e))?;
        Ok(ReportRequest {
            pattern,
            glob,
            literal,
            period,
            period_text,
        })
    }
}

/// The figures, and what the reads left to say.
pub struct Gathered {
    pub delivery: Delivery,
    pub notes: Vec<String>,
    /// GraphQL requests made.
    pub requests: usize,
    /// Deployments read.
    pub read: usize,
}

/// Reads and computes the report for the period ending `now`.
pub async fn gather(
    client: &DeploymentClient,
    request: &ReportRequest,
    now: Timestamp,
) -> Result<Gathered, ApiError> {
    let window = request.period.ending(now);
    let mut notes = Vec::new();
    let mut requests = 0;
    let names = if request.literal {
        vec![request.pattern.clone()]
    } else {
        let listed = client
            .environment_names(crate::github::DELIVERY_PAGES)
            .await?;
        requests += listed.requests;
        if listed.truncated {
            notes.push("the repository has more than 1,000 environments; only the first 1,000 (by name) were matched".to_string());
        }
        delivery::matching(&request.glob, &listed.names)
    };
    if names.is_empty() && !request.literal {
        notes.push(format!(
            "no environment of the repository matches `{}`: check the glob against Settings -> Environments",
            crate::runtime::Untrusted(&request.pattern)
        ));
    }
    if names.is_empty() {
        return Ok(Gathered {
            delivery: delivery::report(&[], &[], window),
            notes,
            requests,
            read: 0,
        });
    }
    let history = client.delivery_history(&names, window.from).await?;
    requests += history.requests;
    if let Some(oldest) = history.truncated_at {
        notes.push(format!(
            "the report reads at most 1,000 deployments, and more of them may lie in the period: the figures cover {} to {} only (ask for a shorter `period`)",
            oldest.strftime("%Y-%m-%d %H:%M UTC"),
            window.to.strftime("%Y-%m-%d %H:%M UTC"),
        ));
    }
    Ok(Gathered {
        delivery: delivery::report(&history.deployments, &names, window),
        notes,
        requests,
        read: history.deployments.len(),
    })
}

fn refused(e: &ApiError) -> String {
    e.explain("The delivery report's read of the deployments", PERMISSIONS)
}

/// `step: report`: the summary and the outputs `status` and `report`. Returns the exit code.
pub async fn step(
    client: &DeploymentClient,
    files: &Runtime,
    request: &ReportRequest,
    now: Timestamp,
) -> i32 {
    let gathered = match gather(client, request, now).await {
        Ok(g) => g,
        Err(e) => {
            if let Err(w) = files.set_output("status", "error") {
                tracing::warn!("could not write output status: {w}");
            }
            runtime::error(&refused(&e));
            return 1;
        }
    };
    let heading = Heading {
        pattern: &request.pattern,
        period: &request.period_text,
        notes: &gathered.notes,
    };
    for note in &gathered.notes {
        runtime::warning(note);
    }
    tracing::info!(
        "read {} deployments of {} environments in {} GraphQL requests",
        gathered.read,
        gathered.delivery.environments.len(),
        gathered.requests
    );
    // Environment names are the repository's text: fenced, so none acts as a command.
    runtime::say(&runtime::fenced(
        delivery_report::text(&gathered.delivery, &heading).trim_end(),
    ));
    if let Err(e) = files.append_summary(&delivery_report::markdown(&gathered.delivery, &heading)) {
        tracing::warn!("could not write the step summary: {e}");
    }
    let json = gathered.delivery.to_json().to_string();
    for (name, value) in [("status", "success"), ("report", json.as_str())] {
        if let Err(e) = files.set_output(name, value) {
            runtime::error(&format!(
                "the delivery report could not write its output {name} to GITHUB_OUTPUT: {e}"
            ));
            return 1;
        }
    }
    0
}

/// `rollout report`: the table and text chart, or the JSON, on standard output.
pub async fn command(
    client: &DeploymentClient,
    request: &ReportRequest,
    now: Timestamp,
    json: bool,
) -> i32 {
    match gather(client, request, now).await {
        Ok(g) if json => {
            for note in &g.notes {
                eprintln!("warning: {note}");
            }
            println!("{}", g.delivery.to_json());
            0
        }
        Ok(g) => {
            let heading = Heading {
                pattern: &request.pattern,
                period: &request.period_text,
                notes: &g.notes,
            };
            print!("{}", delivery_report::text(&g.delivery, &heading));
            0
        }
        Err(e) => {
            eprintln!("error: {}", refused(&e));
            1
        }
    }
}
