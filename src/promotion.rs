//! Promotion, pure: the inputs `artifact`, `requires`, `override-requires` and `from`; whether a
//! commit has succeeded in the environment a `requires` line names; which deployment of a source
//! environment `step: promote` ships; and the deploy that ships it. The histories are read
//! elsewhere (`DeploymentClient::requires_history`, `rollback_history`); the checkout and the
//! deploy are the steps' business.

use crate::event::Sha;
use crate::history::HistoryEntry;
use crate::plan::{Deploy, Target};
use crate::runtime::Untrusted;
pub use crate::shipping::{artifact_of, parse_artifact, PromotionInputs, PromotionOf, RequireRule};
use crate::text::{safe_name, Description, TemplateVars};

/// "Ran" as CONTRACT.md's "Rollback" defines it, read by [`crate::history`]: promotion's
/// readings of it go through this one name.
pub fn ran(entry: &HistoryEntry) -> bool {
    entry.ran()
}

/// What the required environment says of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Requires {
    /// Its newest deployment there that ran reached success and was not rolled back since.
    Met { deployment: u64 },
    /// What the required environment saw (`fact`), and what to do about it (`advice`).
    NotMet { fact: String, advice: String },
}

impl Requires {
    fn not_met(fact: String, advice: String) -> Requires {
        Requires::NotMet { fact, advice }
    }

    /// The one sentence a blocked deploy says; `None` when met.
    pub fn sentence(&self) -> Option<String> {
        match self {
            Requires::Met { .. } => None,
            Requires::NotMet { fact, advice } => Some(format!("{fact}; {advice}")),
        }
    }
}

/// Whether `sha` has succeeded in `source`: `of_commit` is the commit's deployments there,
/// newest first; `recent` the environment's newest deployments (any commit), where a later
/// rollback naming the commit's deployment as `from_deployment` would be.
pub fn requires_met(
    sha: &Sha,
    source: &str,
    of_commit: &[HistoryEntry],
    recent: &[HistoryEntry],
) -> Requires {
    let short = sha.short();
    let head = format!("{short} has not succeeded in {source}");
    let Some(newest) = of_commit.iter().find(|e| e.sha == *sha && ran(e)) else {
        return Requires::not_met(
            format!("{head}: it was never deployed there"),
            format!("deploy it to {source} first"),
        );
    };
    if !newest.reached_success() {
        let (what, advice) = match newest.latest_state.as_str() {
            "in_progress" | "queued" | "pending" | "waiting" => (
                format!("is still {}", newest.latest_state.replace('_', " ")),
                "wait for it to finish, then deploy again".to_string(),
            ),
            state => (
                format!("ended {state}"),
                format!("deploy a fix to {source} first"),
            ),
        };
        return Requires::not_met(
            format!("{head}: its newest deployment there ({}) {what}", newest.id),
            advice,
        );
    }
    let undone = recent
        .iter()
        .chain(of_commit)
        .find(|e| e.id > newest.id && e.rollback_from == Some(newest.id));
    if let Some(rollback) = undone {
        return Requires::not_met(
            format!(
                "{head}: its newest deployment there ({}) reached success, but rollback deployment {} undid it",
                newest.id, rollback.id
            ),
            format!("deploy a fix to {source} first"),
        );
    }
    Requires::Met {
        deployment: newest.id,
    }
}

/// The way out every blocked sentence ends with.
pub fn way_out() -> &'static str {
    "to deploy anyway, set `override-requires: REASON` on the step"
}

/// The deployment `step: promote` ships: the source's newest deployment that ran, which must
/// have reached success. `Err`: the sentence for exit 2.
pub fn live(history: &[HistoryEntry], source: &str) -> Result<HistoryEntry, String> {
    let Some(newest) = history.iter().find(|e| ran(e)) else {
        return Err(format!(
            "{source} has no deployment that ran, so nothing to promote; deploy to {source} first"
        ));
    };
    if !newest.reached_success() {
        let (state, then) = match newest.latest_state.as_str() {
            "in_progress" | "queued" | "pending" | "waiting" => (
                "is still in progress".to_string(),
                "run the promotion again once it has succeeded".to_string(),
            ),
            state => (
                format!("ended {state}"),
                format!("deploy a fix to {source} (or roll it back) and promote once it succeeds"),
            ),
        };
        return Err(format!(
            "{source}'s newest deployment {} ({}) {state}; nothing good to promote: {then}",
            newest.id,
            newest.sha.short()
        ));
    }
    Ok(newest.clone())
}

/// The environment `rule` requires for a deploy to `target` (`{target}` is its target's name,
/// `{environment}` its environment).
pub fn source_for(rule: &RequireRule, target: &Target) -> String {
    let branch = safe_name(target.branch());
    let vars = TemplateVars {
        environment: &target.environment,
        branch: &branch,
        sha: target.sha.as_str(),
        number: target.pr_number,
    };
    rule.source_with(&vars, target.unit.as_deref())
}

/// The environment `step: promote` takes from: `from`, else the one a `requires` line names for
/// the destination. `None`: neither says.
pub fn source_of(inputs: &crate::inputs::Inputs, destination: &Target) -> Option<String> {
    let promotion = &inputs.promotion;
    let vars = TemplateVars {
        environment: &destination.environment,
        branch: "",
        sha: destination.sha.as_str(),
        number: None,
    };
    let from = match (&promotion.from, &destination.unit) {
        (Some(t), Some(unit)) => Some(t.render_for_target(&vars, unit)),
        (Some(t), None) => Some(t.render(&vars)),
        (None, _) => promotion
            .rule_for(&destination.environment)
            .map(|r| source_for(r, destination)),
    };
    from.map(|f| f.trim().to_string()).filter(|f| !f.is_empty())
}

/// "promoted abc1234 (deployment 77, by @mona, run <url>) from staging to production".
pub fn summary_sentence(destination: &str, source: &str, live: &HistoryEntry) -> String {
    let mut by = format!("deployment {}", live.id);
    if !live.creator.is_empty() {
        by.push_str(&format!(", created by @{}", live.creator));
    }
    if !live.log_url.is_empty() {
        by.push_str(&format!(", run {}", live.log_url));
    }
    format!(
        "promoted {} ({by}) from {source} to {destination}",
        live.sha.short()
    )
}

/// The deploy of a promotion of `live` (the source's live deployment) to `target`'s environment:
/// its commit, task and artifact, the description `Promote abc1234 from staging (deployment 77)`.
/// No branch is named: the commit is the source's, not this run's.
pub fn deploy(
    target: &Target,
    source: &str,
    live: &HistoryEntry,
    inputs: &crate::inputs::Inputs,
) -> Deploy {
    let rule = format!("{}, promoted from {source}", target.rule);
    let (target, environment_url) =
        crate::rollback::at_commit(target.clone(), &live.sha, rule, inputs);
    Deploy {
        task: live.task.clone(),
        task_reason: format!("the task of {source}'s deployment {}", live.id),
        description: Description::new(&format!(
            "Promote {} from {source} (deployment {})",
            live.sha.short(),
            live.id
        )),
        environment_url,
        paths_reason: None,
        freeze_override: None,
        locks: crate::plan::lock_environments(&target.environment, None),
        rollback: None,
        artifact: artifact_of(&live.payload),
        requires_override: None,
        promotion: Some(Box::new(PromotionOf {
            from_environment: source.to_string(),
            from_deployment: live.id,
            payload: live.payload.clone(),
            creator: live.creator.clone(),
            log_url: live.log_url.clone(),
            sentence: summary_sentence(&target.environment, source, live),
        })),
        target,
    }
}

/// `rollout plan` for `step: promote`: what it cannot know offline (the source's history) and
/// what it would do with it.
pub fn plan_text(base: &Target, inputs: &crate::inputs::Inputs, now: jiff::Timestamp) -> String {
    let target = crate::rollback::target_of(base, inputs);
    let environment = &target.environment;
    let mut s = format!(
        "step: promote to {} ({})\n",
        Untrusted(environment),
        Untrusted(&target.rule)
    );
    let whence = match &inputs.promotion.from {
        Some(_) => String::new(),
        None => format!(" (`requires`: {} needs it)", Untrusted(environment)),
    };
    match source_of(inputs, &target) {
        Some(source) => s.push_str(&format!(
            "  from: {}{whence}\n  source history: unknown offline; the run reads {}'s deployments with their statuses and {}'s lock (branch `{}`) in one GraphQL request; the newest deployment that ran must have reached `success`, else nothing is promoted (exit 2)\n",
            Untrusted(&source),
            Untrusted(&source),
            Untrusted(environment),
            crate::lock::ref_name(environment)
        )),
        None => s.push_str("  from: none: set `from` (or a `requires` line for the destination); the run stops with exit 2\n"),
    }
    if let crate::plan::Freeze::Blocked(skip) = crate::plan::freeze(inputs, environment, now) {
        s.push_str(&format!("  freeze: {}\n", skip.reason));
    }
    s.push_str("  then: checks the source's commit out (`git checkout --detach`) in the repository holding `working-directory`, and deploys it with the source deployment's task and `artifact` (`ROLLOUT_ARTIFACT`), described `Promote <short sha> from <source> (deployment <id>)`; a held lock blocks it\n");
    s.push_str(&format!(
        "  command: {}\n",
        Untrusted(inputs.command.as_deref().unwrap_or(""))
    ));
    s.push_str(&crate::verify::plan_lines(
        &inputs.verify,
        inputs.step,
        target.pr_number.is_some(),
    ));
    s
}

/// `rollout plan`'s line for a deploy to `environment` that a `requires` line covers.
pub fn requires_note(inputs: &crate::inputs::Inputs, target: &Target) -> Option<String> {
    let rule = inputs.promotion.rule_for(&target.environment)?;
    let source = source_for(rule, target);
    let then = match &inputs.promotion.override_requires {
        Some(reason) => {
            format!("when it has not, the deploy goes ahead anyway (`override-requires`: {reason})")
        }
        None => "when it has not, the deploy is blocked (no deployment, exit 1)".into(),
    };
    Some(format!(
        "requires: {} (from {}): whether {} has succeeded in {} is unknown offline; the run reads it with the lock in one GraphQL request before the create; {then}",
        Untrusted(&target.environment),
        rule.describe(),
        target.sha.short(),
        Untrusted(&source),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inputs::RawInputs;
    use crate::lines::InputError;
    use serde_json::json;

    use crate::history::tests::{deployed, A, B};

    /// A deployment of `sha` by mona, who the log names as the source's creator.
    fn entry(id: u64, sha: &str, statuses: &[&str]) -> HistoryEntry {
        HistoryEntry {
            creator: "mona".into(),
            ..deployed(id, sha, statuses)
        }
    }

    fn parse(pairs: &[(&str, &str)], promoting: bool) -> Result<PromotionInputs, InputError> {
        let get = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .filter(|v| !v.trim().is_empty())
        };
        PromotionInputs::parse(get, promoting)
    }

    fn raw(pairs: &[(&str, &str)]) -> RawInputs {
        let mut r = RawInputs::default();
        for (k, v) in pairs {
            r.set(k, *v);
        }
        r
    }

    fn sha(s: &str) -> Sha {
        Sha::parse(s).unwrap()
    }

    #[test]
    fn an_artifact_is_one_line_of_at_most_a_thousand_characters() {
        assert_eq!(
            parse_artifact("  ghcr.io/acme/app@sha256:abc\n").unwrap(),
            "ghcr.io/acme/app@sha256:abc"
        );
        assert!(parse_artifact(&"x".repeat(1000)).is_ok());
        let long = parse_artifact(&"x".repeat(1001)).unwrap_err();
        assert_eq!(long.input, "artifact");
        assert!(long.message.contains("1001 characters"), "{long}");
        let two = parse_artifact("a\nb").unwrap_err();
        assert!(two.message.contains("more than one line"), "{two}");
        assert!(parse_artifact("a\rb").is_err());
        assert!(parse_artifact("a\u{2028}b").is_err());
    }

    #[test]
    fn promote_refuses_an_artifact_input() {
        let e = parse(&[("artifact", "app:1")], true).unwrap_err();
        assert_eq!(e.input, "artifact");
        assert!(e.message.contains("step: promote"), "{e}");
        assert!(parse(&[("artifact", "app:1")], false).is_ok());
    }

    #[test]
    fn requires_lines_match_without_case_and_render_their_template() {
        let p = parse(
            &[(
                "requires",
                "production-*: staging-{target}\nProduction: staging\n",
            )],
            false,
        )
        .unwrap();
        assert_eq!(p.requires.len(), 2);
        let target = Target {
            environment: "production-api".into(),
            sha: sha(A),
            git_ref: None,
            pr_number: None,
            production: None,
            transient: false,
            rule: String::new(),
            unit: Some("api".into()),
        };
        let rule = p.rule_for("production-api").unwrap();
        assert_eq!(source_for(rule, &target), "staging-api");
        assert_eq!(p.rule_for("PRODUCTION").unwrap().line, 2);
        assert!(p.rule_for("staging").is_none());
    }

    #[test]
    fn bad_requires_lines_name_the_line_and_the_fix() {
        for (text, says) in [
            ("production", "ENVIRONMENT-GLOB: ENVIRONMENT"),
            ("production: staging-{env}", "`{env}` is not a placeholder"),
            ("- production: staging", "not a YAML list"),
            ("prod[: staging", "not a valid glob"),
        ] {
            let e = parse(&[("requires", text)], false).unwrap_err();
            assert_eq!(e.input, "requires", "{text}");
            assert!(e.to_string().contains(says), "{text}: {e}");
        }
        let p = parse(&[("requires", "prod: staging-{target}")], false).unwrap();
        let e = p.check(false).unwrap_err();
        assert!(e.message.contains("without `targets`"), "{e}");
        // Literal braces are not placeholders.
        assert!(parse(&[("requires", "prod: st{{x}}")], false).is_ok());
    }

    #[test]
    fn requires_is_met_by_the_newest_run_that_succeeded() {
        let history = vec![
            entry(9, A, &["error"]),
            entry(7, A, &["in_progress", "success", "inactive"]),
        ];
        assert_eq!(
            requires_met(&sha(A), "staging", &history, &[]),
            Requires::Met { deployment: 7 },
            "one that never ran (a lock's error) is passed over"
        );
    }

    #[test]
    fn requires_is_not_met_with_a_sentence_for_each_reason() {
        let never = requires_met(&sha(A), "staging", &[], &[]);
        assert_eq!(
            never.sentence().as_deref(),
            Some("aaaaaaa has not succeeded in staging: it was never deployed there; deploy it to staging first")
        );
        let failed = requires_met(
            &sha(A),
            "staging",
            &[entry(77, A, &["in_progress", "failure"])],
            &[],
        );
        let Some(s) = failed.sentence() else { panic!() };
        assert!(
            s.starts_with("aaaaaaa has not succeeded in staging: its newest deployment there (77) ended failure"),
            "{s}"
        );
        // Succeeded once, but the newest attempt failed.
        let newest_failed = requires_met(
            &sha(A),
            "staging",
            &[
                entry(80, A, &["in_progress", "failure"]),
                entry(77, A, &["in_progress", "success"]),
            ],
            &[],
        );
        assert!(newest_failed
            .sentence()
            .is_some_and(|s| s.contains("(80) ended failure")));
        let running = requires_met(&sha(A), "staging", &[entry(81, A, &["in_progress"])], &[]);
        assert!(running
            .sentence()
            .is_some_and(|s| s.contains("still in progress")));
        // Undone by a later rollback of the environment (to another commit).
        let mut rollback = entry(90, B, &["in_progress", "success"]);
        rollback.rollback_from = Some(77);
        let undone = requires_met(
            &sha(A),
            "staging",
            &[entry(77, A, &["in_progress", "success"])],
            &[rollback.clone()],
        );
        assert!(
            undone
                .sentence()
                .is_some_and(|s| s.contains("rollback deployment 90 undid it")),
            "{undone:?}"
        );
        // A rollback of an older deployment does not undo it.
        rollback.rollback_from = Some(70);
        assert_eq!(
            requires_met(
                &sha(A),
                "staging",
                &[entry(77, A, &["in_progress", "success"])],
                &[rollback]
            ),
            Requires::Met { deployment: 77 }
        );
    }

    #[test]
    fn the_live_deployment_is_the_newest_that_ran_and_must_have_succeeded() {
        let good = vec![
            entry(82, B, &["error"]),
            entry(80, A, &["in_progress", "success", "inactive"]),
        ];
        assert_eq!(live(&good, "staging").unwrap().id, 80);
        let bad = vec![
            entry(80, B, &["in_progress", "failure"]),
            entry(77, A, &["in_progress", "success"]),
        ];
        assert_eq!(
            live(&bad, "staging").unwrap_err(),
            "staging's newest deployment 80 (bbbbbbb) ended failure; nothing good to promote: deploy a fix to staging (or roll it back) and promote once it succeeds"
        );
        assert!(live(&[], "staging")
            .unwrap_err()
            .contains("no deployment that ran"));
    }

    #[test]
    fn a_promotion_ships_the_sources_commit_task_and_artifact() {
        let mut source = entry(77, A, &["in_progress", "success"]);
        source.task = "deploy:web".into();
        source.payload = json!({"artifact": "ghcr.io/acme/app@sha256:1"});
        source.log_url = "https://github.example.com/run/1".into();
        let base = Target {
            environment: "production".into(),
            sha: sha(B),
            git_ref: Some(crate::event::GitRef::branch("main")),
            pr_number: None,
            production: Some(true),
            transient: false,
            rule: "the `environment` input".into(),
            unit: None,
        };
        let mut r = raw(&[
            ("command", "true"),
            ("environment", "production"),
            ("step", "promote"),
        ]);
        r.set("from", "staging");
        let inputs = crate::inputs::Inputs::parse(&r).unwrap();
        assert_eq!(source_of(&inputs, &base).as_deref(), Some("staging"));
        let d = deploy(&base, "staging", &source, &inputs);
        assert_eq!(d.target.sha, sha(A));
        assert_eq!(d.target.git_ref, None);
        assert_eq!(d.task, "deploy:web");
        assert_eq!(d.artifact.as_deref(), Some("ghcr.io/acme/app@sha256:1"));
        assert_eq!(
            d.description.as_str(),
            "Promote aaaaaaa from staging (deployment 77)"
        );
        let p = d.promotion.unwrap();
        assert_eq!(
            p.payload_keys(),
            json!({"promotion": {"from_environment": "staging", "from_deployment": 77}})
        );
        assert_eq!(
            p.sentence,
            "promoted aaaaaaa (deployment 77, created by @mona, run https://github.example.com/run/1) from staging to production"
        );
    }

    #[test]
    fn without_from_the_source_is_the_requires_line_of_the_destination() {
        let r = raw(&[
            ("command", "true"),
            ("environment", "production"),
            ("step", "promote"),
            ("requires", "prod*: staging"),
        ]);
        let inputs = crate::inputs::Inputs::parse(&r).unwrap();
        let base = Target {
            environment: "production".into(),
            sha: sha(B),
            git_ref: None,
            pr_number: None,
            production: None,
            transient: false,
            rule: String::new(),
            unit: None,
        };
        assert_eq!(source_of(&inputs, &base).as_deref(), Some("staging"));
        let other = Target {
            environment: "qa".into(),
            ..base
        };
        assert_eq!(source_of(&inputs, &other), None);
    }

    #[test]
    fn an_artifact_recorded_in_a_payload_is_read_back_only_as_one_line() {
        assert_eq!(
            artifact_of(&json!({"artifact": "app:1"})).as_deref(),
            Some("app:1")
        );
        assert_eq!(artifact_of(&json!({"artifact": "a\nb"})), None);
        assert_eq!(artifact_of(&json!({"artifact": 3})), None);
        assert_eq!(artifact_of(&json!({})), None);
    }
}
