//! What a deploy ships and where it must have succeeded first, as inputs: `artifact`,
//! `requires`, `override-requires`, `from`, and what a promotion records. A leaf below `inputs`
//! and `plan`: the decisions over deployment histories are `promotion`'s.

use crate::lines::{err, glob_error, input_lines, InputError};
// A `requires` value may use every template's placeholders.
use crate::text::{Template, TemplateVars, PLACEHOLDERS};
use globset::{GlobBuilder, GlobMatcher};
use serde_json::{json, Value};

/// The longest `artifact` (characters): an image reference with its digest is ~150.
pub const ARTIFACT_LIMIT: usize = 1000;
/// How many of a commit's deployments in the required environment the check reads (newest
/// first), and how many of that environment's newest deployments it reads for rollbacks.
pub const REQUIRES_PAGE: usize = 100;

/// `artifact`, `requires`, `override-requires` and `from`, parsed apart from the other inputs.
#[derive(Clone, Debug, Default)]
pub struct PromotionInputs {
    /// What this deploy ships: one line, at most [`ARTIFACT_LIMIT`] characters.
    pub artifact: Option<String>,
    pub requires: Vec<RequireRule>,
    /// Why this run deploys although `requires` is not met.
    pub override_requires: Option<String>,
    /// `step: promote`'s source environment.
    pub from: Option<Template>,
}

/// One `requires` line: deploys to an environment matching `pattern` need their commit to have
/// succeeded in `source` (a template).
#[derive(Clone, Debug)]
pub struct RequireRule {
    pub line: usize,
    pub pattern: String,
    pub source: Template,
    matcher: GlobMatcher,
}

impl RequireRule {
    /// The environment this line requires for a deploy with these values (`unit`: the target's
    /// name, for `{target}`).
    pub fn source_with(&self, vars: &TemplateVars<'_>, unit: Option<&str>) -> String {
        match unit {
            Some(name) => self.source.render_for_target(vars, name),
            None => self.source.render(vars),
        }
        .trim()
        .to_string()
    }

    /// `line 2 (`production-*: staging-{target}`)`, for sentences.
    pub fn describe(&self) -> String {
        format!(
            "`requires` line {} (`{}: {}`)",
            self.line,
            self.pattern,
            self.source.as_str()
        )
    }
}

/// The one-line check of `artifact`: at most [`ARTIFACT_LIMIT`] characters, no line break.
pub fn parse_artifact(text: &str) -> Result<String, InputError> {
    let value = text.trim();
    if value.contains(['\n', '\r', '\u{2028}', '\u{2029}']) {
        return Err(err(
            "artifact",
            "holds more than one line; write one line naming what the deploy ships (an image with its digest, `ghcr.io/acme/app@sha256:...`, or a version)",
        ));
    }
    let count = value.chars().count();
    if count > ARTIFACT_LIMIT {
        return Err(err(
            "artifact",
            format!("is {count} characters long; write at most {ARTIFACT_LIMIT} (an image reference with its digest, or a version), and keep anything longer in your registry"),
        ));
    }
    Ok(value.to_string())
}

fn check_placeholders(n: usize, line: &str, value: &str) -> Result<(), InputError> {
    let mut rest = value.replace("{{", "").replace("}}", "");
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(InputError {
                input: "requires",
                line: Some((n, line.to_string())),
                message: format!(
                    "`{{{name}}}` is not a placeholder; use {}",
                    PLACEHOLDERS
                        .iter()
                        .map(|p| format!("`{{{p}}}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        rest = after[close + 1..].to_string();
    }
    Ok(())
}

fn parse_requires(text: &str) -> Result<Vec<RequireRule>, InputError> {
    let mut rules = Vec::new();
    for (n, line) in input_lines("requires", text)? {
        let bad = |message: &str| InputError {
            input: "requires",
            line: Some((n, line.to_string())),
            message: message.to_string(),
        };
        let (pattern, source) = line.split_once(": ").ok_or_else(|| {
            bad("expected `ENVIRONMENT-GLOB: ENVIRONMENT` (a colon and a space between them)")
        })?;
        let (pattern, source) = (pattern.trim(), source.trim());
        if pattern.is_empty() || source.is_empty() {
            return Err(bad(
                "expected `ENVIRONMENT-GLOB: ENVIRONMENT`, with both sides filled in",
            ));
        }
        check_placeholders(n, line, source)?;
        // Environment names are names, not paths, compared without case (as `freeze` does).
        let matcher = GlobBuilder::new(pattern)
            .case_insensitive(true)
            .literal_separator(false)
            .build()
            .map_err(|e| InputError {
                input: "requires",
                line: Some((n, line.to_string())),
                message: glob_error(pattern, &e),
            })?
            .compile_matcher();
        rules.push(RequireRule {
            line: n,
            pattern: pattern.to_string(),
            source: Template::new(source),
            matcher,
        });
    }
    Ok(rules)
}

impl PromotionInputs {
    /// From the raw value of each input (`get`: `None` when empty); `promoting`: the step is
    /// `promote`, which takes no `artifact`.
    pub fn parse<'a>(
        get: impl Fn(&'static str) -> Option<&'a str>,
        promoting: bool,
    ) -> Result<PromotionInputs, InputError> {
        let value = |name| get(name).map(str::trim).filter(|v| !v.is_empty());
        let artifact = get("artifact").map(parse_artifact).transpose()?;
        if promoting && artifact.is_some() {
            return Err(err(
                "artifact",
                "cannot be given to `step: promote`: a promotion ships the artifact its source deployment recorded; remove the input",
            ));
        }
        Ok(PromotionInputs {
            artifact: artifact.filter(|a| !a.is_empty()),
            requires: get("requires")
                .map(parse_requires)
                .transpose()?
                .unwrap_or_default(),
            override_requires: value("override-requires").map(str::to_string),
            from: value("from").map(Template::new),
        })
    }

    /// `{target}` in a `requires` value has no value without `targets`.
    pub fn check(&self, has_targets: bool) -> Result<(), InputError> {
        if has_targets {
            return Ok(());
        }
        match self.requires.iter().find(|r| r.source.uses("target")) {
            Some(rule) => Err(InputError {
                input: "requires",
                line: Some((rule.line, format!("{}: {}", rule.pattern, rule.source.as_str()))),
                message: "uses `{target}`, which has no value without `targets`; name the environment, or list the repository's `targets`".into(),
            }),
            None => Ok(()),
        }
    }

    /// The first `requires` line matching `environment`.
    pub fn rule_for(&self, environment: &str) -> Option<&RequireRule> {
        self.requires
            .iter()
            .find(|r| r.matcher.is_match(environment))
    }
}

/// The artifact a deployment recorded in its payload, when it is one line of text.
pub fn artifact_of(payload: &Value) -> Option<String> {
    payload
        .get("artifact")?
        .as_str()
        .and_then(|a| parse_artifact(a).ok())
        .filter(|a| !a.is_empty())
}

/// What a promotion carries beside an ordinary deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromotionOf {
    pub from_environment: String,
    pub from_deployment: u64,
    /// The source deployment's payload (`ROLLOUT_PROMOTE_PAYLOAD`).
    pub payload: Value,
    /// Who created the source deployment, and its run's log.
    pub creator: String,
    pub log_url: String,
    /// The summary's sentence.
    pub sentence: String,
}

impl PromotionOf {
    /// The key a promotion adds to rollout's usual payload.
    pub fn payload_keys(&self) -> Value {
        json!({
            "promotion": {
                "from_environment": self.from_environment,
                "from_deployment": self.from_deployment,
            }
        })
    }
}
