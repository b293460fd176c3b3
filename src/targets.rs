//! `targets`: which deployable units of the repository a change affects, where each one deploys
//! and whether that is production. Pure, like [`crate::plan`]: the lifecycle asks, this answers.
//!
//! Each target's share of the changes is a [`Changes`] of its own, so `tasks` and `paths` apply
//! to a target through the same [`crate::plan::decide`] that a repository without targets uses.

use crate::changes::Changes;
use crate::lines::{glob_error, input_lines, path_glob, InputError};
use crate::text::{Template, TemplateVars};
use globset::{GlobSet, GlobSetBuilder};
use std::collections::HashMap;
use std::fmt;

/// `target-environment` when the input is empty.
pub const DEFAULT_ENVIRONMENT_TEMPLATE: &str = "{environment}-{target}";

/// GitHub refuses longer environment names.
const MAX_ENVIRONMENT_CHARS: usize = 255;

/// An error listing the known names stops here, so that 200 targets stay one readable line.
const NAMES_LISTED: usize = 20;

/// One line of `targets`: `NAME: GLOB GLOB...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetSpec {
    /// 1-based, counting blank lines, as the user's editor does.
    pub line: usize,
    pub name: String,
    pub globs: Vec<String>,
}

impl fmt::Display for TargetSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name, self.globs.join(" "))
    }
}

impl TargetSpec {
    /// Every line of `targets` in order; blank and `#` lines are skipped, as in every other line
    /// input. The first bad line is the error.
    pub fn parse_all(text: &str) -> Result<Vec<TargetSpec>, InputError> {
        let mut specs: Vec<TargetSpec> = Vec::new();
        let mut seen = HashMap::new();
        for (number, line) in input_lines("targets", text)? {
            let spec = parse_line(number, line)?;
            check_spec(&spec, line)?;
            check_unique(&specs, &mut seen, &spec, line)?;
            specs.push(spec);
        }
        Ok(specs)
    }
}

fn line_error(number: usize, line: &str, message: impl Into<String>) -> InputError {
    InputError {
        input: "targets",
        line: Some((number, line.to_string())),
        message: message.into(),
    }
}

/// The shape of one line; what the name and the globs say is [`check_spec`]'s.
fn parse_line(number: usize, line: &str) -> Result<TargetSpec, InputError> {
    let Some((name, globs)) = crate::lines::split_pair(line) else {
        // The line is trimmed, so `api: ` with nothing after it arrives as `api:`.
        if let Some(name) = line.strip_suffix(':') {
            return Ok(TargetSpec {
                line: number,
                name: name.trim().to_string(),
                globs: Vec::new(),
            });
        }
        return Err(line_error(
            number,
            line,
            "expected `NAME: GLOB GLOB...` with a colon and a space after the name, e.g. `api: services/api/**`",
        ));
    };
    Ok(TargetSpec {
        line: number,
        name: name.trim().to_string(),
        globs: globs.split_whitespace().map(str::to_string).collect(),
    })
}

/// What one target must be on its own; `line` is what the user wrote, for the message.
fn check_spec(spec: &TargetSpec, line: &str) -> Result<(), InputError> {
    let bad = |message: String| line_error(spec.line, line, message);
    if spec.name.is_empty() {
        return Err(bad(
            "the target has no name; write `NAME: GLOB GLOB...`, e.g. `api: services/api/**`"
                .to_string(),
        ));
    }
    if spec.globs.is_empty() {
        return Err(bad(format!(
            "target `{}` has no glob; list the files that belong to it after the colon, e.g. `{}: services/{}/**`",
            spec.name, spec.name, spec.name
        )));
    }
    for pattern in &spec.globs {
        if let Some(rest) = pattern.strip_prefix('!') {
            return Err(bad(format!(
                "`{pattern}`: the globs of `targets` cannot exclude; list only what belongs to target `{}` (drop `!{rest}`, or exclude it with `paths`)",
                spec.name
            )));
        }
        if let Err(e) = path_glob(pattern) {
            return Err(bad(format!(
                "`{pattern}` of target `{}` is not a valid glob: {}",
                spec.name,
                e.kind()
            )));
        }
    }
    Ok(())
}

/// GitHub compares environment names without case, and each target gets an environment named
/// after it, so `api` and `API` are one name. `seen` maps the lower-cased names of `earlier` to
/// their index, and gains `spec`'s.
fn check_unique(
    earlier: &[TargetSpec],
    seen: &mut HashMap<String, usize>,
    spec: &TargetSpec,
    line: &str,
) -> Result<(), InputError> {
    let Some(&first) = seen.get(&spec.name.to_lowercase()) else {
        seen.insert(spec.name.to_lowercase(), earlier.len());
        return Ok(());
    };
    let first = &earlier[first];
    let message = if first.name == spec.name {
        format!(
            "target `{}` is already on line {}; give each target one line (put all its globs on it)",
            spec.name, first.line
        )
    } else {
        format!(
            "target `{}` is `{}` of line {} in other case, and GitHub compares environment names without case, so both would deploy to one environment; give each target its own name",
            spec.name, first.name, first.line
        )
    };
    Err(line_error(spec.line, line, message))
}

/// `targets`, compiled once: every target's globs in one [`GlobSet`], so that a changed file is
/// matched once against all targets rather than once per target.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    specs: Vec<TargetSpec>,
    set: GlobSet,
    /// For each glob of `set`: its target's index in `specs`, and its index in that target's globs.
    owner: Vec<(usize, usize)>,
}

impl Targets {
    /// The `targets` input; empty text gives no targets ([`Targets::is_empty`]).
    pub fn parse(text: &str) -> Result<Targets, InputError> {
        Targets::new(TargetSpec::parse_all(text)?)
    }

    /// Compiles targets built elsewhere (a benchmark, a test), with the checks of
    /// [`TargetSpec::parse_all`].
    pub fn new(specs: Vec<TargetSpec>) -> Result<Targets, InputError> {
        let mut builder = GlobSetBuilder::new();
        let mut owner = Vec::new();
        let mut seen = HashMap::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            let line = spec.to_string();
            check_spec(spec, &line)?;
            check_unique(&specs[..index], &mut seen, spec, &line)?;
            for (glob_index, pattern) in spec.globs.iter().enumerate() {
                let glob = path_glob(pattern)
                    .map_err(|e| line_error(spec.line, &line, glob_error(pattern, &e)))?;
                builder.add(glob);
                owner.push((index, glob_index));
            }
        }
        let set = builder.build().map_err(|e| InputError {
            input: "targets",
            line: None,
            message: format!("the globs could not be compiled together: {e}"),
        })?;
        Ok(Targets { specs, set, owner })
    }

    pub fn is_empty(&self) -> bool {
        self.specs.is_empty()
    }
    pub fn len(&self) -> usize {
        self.specs.len()
    }
    /// In the order of the `targets` lines.
    pub fn specs(&self) -> &[TargetSpec] {
        &self.specs
    }
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.specs.iter().map(|s| s.name.as_str())
    }

    /// The `target` input: the line of `targets` it names, by the exact name (a matrix passes the
    /// names back as the `targets` output spelt them).
    pub fn select(&self, name: &str) -> Result<&TargetSpec, InputError> {
        let name = name.trim();
        if let Some(spec) = self.specs.iter().find(|s| s.name == name) {
            return Ok(spec);
        }
        let message = if self.specs.is_empty() {
            format!("`{name}` needs `targets`, which is empty; add a `targets` line `{name}: GLOB GLOB...` or drop `target`")
        } else {
            let hint = self
                .specs
                .iter()
                .find(|s| s.name.to_lowercase() == name.to_lowercase())
                .map(|s| format!(" (names match exactly: did you mean `{}`?)", s.name))
                .unwrap_or_default();
            format!(
                "`{name}` names no line of `targets`{hint}; use one of {}",
                list_names(self.names())
            )
        };
        Err(InputError {
            input: "target",
            line: None,
            message,
        })
    }

    /// Which targets `changes` affects: a target is affected when one of its globs matches a
    /// changed file, and every target is when the changes are unknown.
    pub fn affected(&self, changes: &Changes) -> Affected {
        let (files, source) = match changes {
            Changes::Everything { reason } => {
                let targets = self
                    .specs
                    .iter()
                    .map(|spec| TargetVerdict {
                        name: spec.name.clone(),
                        line: spec.line,
                        verdict: Verdict::Affected {
                            changes: Changes::Everything {
                                reason: reason.clone(),
                            },
                            reason: format!("every target is affected: {reason}"),
                        },
                    })
                    .collect();
                return Affected {
                    targets,
                    unknown: Some(reason.clone()),
                    changed_files: None,
                };
            }
            Changes::Files { files, source } => (files, source),
        };
        let mut own_files: Vec<Vec<String>> = vec![Vec::new(); self.specs.len()];
        // The first file and glob that made each target affected, for the log's sentence.
        let mut first_hit: Vec<Option<(usize, usize)>> = vec![None; self.specs.len()];
        // A file matching several globs of one target is still one file of that target: the
        // last file index each target received (plus one, so zero means none) filters repeats.
        let mut last_file: Vec<usize> = vec![0; self.specs.len()];
        let mut hits = Vec::new();
        for (file_index, file) in files.iter().enumerate() {
            self.set.matches_into(file.as_str(), &mut hits);
            for &glob in &hits {
                let (target, glob_in_target) = self.owner[glob];
                if last_file[target] == file_index + 1 {
                    continue;
                }
                last_file[target] = file_index + 1;
                own_files[target].push(file.clone());
                first_hit[target].get_or_insert((file_index, glob_in_target));
            }
        }
        let targets = self
            .specs
            .iter()
            .zip(own_files)
            .zip(first_hit)
            .map(|((spec, own), first)| {
                let verdict = match first {
                    Some((file_index, glob_in_target)) => Verdict::Affected {
                        reason: format!(
                            "{} of {} changed file(s) match, first `{}` (`{}`)",
                            own.len(),
                            files.len(),
                            files[file_index],
                            spec.globs[glob_in_target]
                        ),
                        changes: Changes::Files {
                            files: own,
                            source: format!("{source}, those matching target `{}`", spec.name),
                        },
                    },
                    None if files.is_empty() => Verdict::Unaffected {
                        reason: format!(
                            "no file changed, so nothing matches {}",
                            list_globs(&spec.globs)
                        ),
                    },
                    None => Verdict::Unaffected {
                        reason: format!("no changed file matches {}", list_globs(&spec.globs)),
                    },
                };
                TargetVerdict {
                    name: spec.name.clone(),
                    line: spec.line,
                    verdict,
                }
            })
            .collect();
        Affected {
            targets,
            unknown: None,
            changed_files: Some(files.len()),
        }
    }

    /// Each target's environment, in the order of the lines, or the bad input that two share one
    /// (compared without case, as GitHub does), that one is empty or that one is too long.
    /// `base.environment` is the environment the branch maps to.
    pub fn environments(
        &self,
        base: &TemplateVars<'_>,
        template: Option<&Template>,
    ) -> Result<Vec<String>, InputError> {
        self.render_environments(base, template, Length::Check)
    }

    fn render_environments(
        &self,
        base: &TemplateVars<'_>,
        template: Option<&Template>,
        length: Length,
    ) -> Result<Vec<String>, InputError> {
        let bad = |message: String| InputError {
            input: "target-environment",
            line: None,
            message,
        };
        let mut environments = Vec::with_capacity(self.specs.len());
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(self.specs.len());
        for (index, spec) in self.specs.iter().enumerate() {
            let environment = environment_for(&spec.name, base, template);
            if environment.trim().is_empty() {
                return Err(bad(format!(
                    "gives target `{}` an empty environment name; put `{{target}}` in `target-environment`, e.g. `{DEFAULT_ENVIRONMENT_TEMPLATE}`",
                    spec.name
                )));
            }
            if length == Length::Check && environment.chars().count() > MAX_ENVIRONMENT_CHARS {
                return Err(bad(format!(
                    "gives target `{}` the environment `{environment}`, longer than the {MAX_ENVIRONMENT_CHARS} characters GitHub allows; shorten `target-environment` or the target's name",
                    spec.name
                )));
            }
            if let Some(&first) = seen.get(&environment.to_lowercase()) {
                let other = &self.specs[first];
                let fix = if template.is_some_and(|t| !t.uses("target")) {
                    format!("put `{{target}}` in `target-environment`, e.g. `{DEFAULT_ENVIRONMENT_TEMPLATE}`")
                } else {
                    "give the targets names that differ by more than case".to_string()
                };
                return Err(bad(format!(
                    "targets `{}` (line {}) and `{}` (line {}) would both deploy to environment `{}` (GitHub compares environment names without case); {fix}",
                    other.name, other.line, spec.name, spec.line, environments[first]
                )));
            }
            seen.insert(environment.to_lowercase(), index);
            environments.push(environment);
        }
        Ok(environments)
    }

    /// [`Targets::environments`] before the branch's environment is known (bad input is checked
    /// up front, whatever the event): the other values stay as their `{names}`, which is also what
    /// an error shows. Length depends on the real values, so [`Targets::environments`] checks it.
    pub fn check_environment_template(
        &self,
        template: Option<&Template>,
    ) -> Result<(), InputError> {
        let placeholders = TemplateVars {
            environment: "{environment}",
            branch: "{branch}",
            sha: "{sha}",
            number: None,
        };
        self.render_environments(&placeholders, template, Length::Ignore)
            .map(drop)
    }
}

/// Whether [`Targets::render_environments`] checks GitHub's length limit: placeholders are not
/// the real values' length.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Length {
    Check,
    Ignore,
}

/// The environment of `target`: `target-environment` (default `{environment}-{target}`) with
/// `base.environment` the environment the branch maps to and `{target}` the target's name. The
/// name is used as written, like an `environments` value: it is the repository owner's text,
/// not a branch name (`{branch}` arrives already made safe in `base`), and GitHub accepts `/`.
pub fn environment_for(
    target: &str,
    base: &TemplateVars<'_>,
    template: Option<&Template>,
) -> String {
    match template {
        Some(template) => template.render_for_target(base, target),
        None => Template::new(DEFAULT_ENVIRONMENT_TEMPLATE).render_for_target(base, target),
    }
}

/// Whether a target environment is production. It inherits the flag of the environment the
/// branch maps to, explicitly: the API's own default (true only for an environment named
/// `production`) would call `production-api` not production. `base_production` is what the
/// branch's deploy would send (`production` input, or `false` for previews); `None` means the
/// API's rule. GitHub compares environment names without case, so `Production` counts too.
pub fn target_is_production(base_production: Option<bool>, base_environment: &str) -> bool {
    base_production.unwrap_or_else(|| base_environment.trim().eq_ignore_ascii_case("production"))
}

/// What [`Targets::affected`] found, for every target in the order of the `targets` lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Affected {
    pub targets: Vec<TargetVerdict>,
    /// Why the changes are unknown, when they are (then every target is affected).
    pub unknown: Option<String>,
    /// How many files changed, when known.
    changed_files: Option<usize>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetVerdict {
    pub name: String,
    pub line: usize,
    pub verdict: Verdict,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `changes` is the target's own share, for its `tasks` and `paths`: the changed files its
    /// globs match, or everything when the changes are unknown.
    Affected {
        changes: Changes,
        reason: String,
    },
    Unaffected {
        reason: String,
    },
}

impl TargetVerdict {
    pub fn is_affected(&self) -> bool {
        matches!(self.verdict, Verdict::Affected { .. })
    }
    /// One sentence: why the target deploys, or why it is skipped.
    pub fn reason(&self) -> &str {
        match &self.verdict {
            Verdict::Affected { reason, .. } | Verdict::Unaffected { reason } => reason,
        }
    }
    /// The target's own changes, when it is affected.
    pub fn changes(&self) -> Option<&Changes> {
        match &self.verdict {
            Verdict::Affected { changes, .. } => Some(changes),
            Verdict::Unaffected { .. } => None,
        }
    }
}

impl Affected {
    /// The affected targets, in the order of the lines.
    pub fn affected(&self) -> impl Iterator<Item = &TargetVerdict> {
        self.targets.iter().filter(|t| t.is_affected())
    }
    /// The affected targets' names: the `targets` output, ready for `strategy.matrix`.
    pub fn names(&self) -> Vec<&str> {
        self.affected().map(|t| t.name.as_str()).collect()
    }
    pub fn get(&self, name: &str) -> Option<&TargetVerdict> {
        self.targets.iter().find(|t| t.name == name)
    }
    /// The log's one line about all targets.
    pub fn summary(&self) -> String {
        if let Some(reason) = &self.unknown {
            return format!("every target is affected: {reason}");
        }
        let names = self.names();
        let files = self.changed_files.unwrap_or(0);
        match names.len() {
            0 => format!(
                "no target is affected: none of the {files} changed file(s) matches the globs of `targets`"
            ),
            n => format!(
                "{n} of {} target(s) affected by {files} changed file(s): {}",
                self.targets.len(),
                list_names(names.into_iter())
            ),
        }
    }
}

/// `a`, `b` or `c`.
fn list_globs(globs: &[String]) -> String {
    let quoted: Vec<String> = globs.iter().map(|g| format!("`{g}`")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// `a`, `b`, `c`, cut short after [`NAMES_LISTED`].
fn list_names<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    let mut listed: Vec<String> = names
        .iter()
        .take(NAMES_LISTED)
        .map(|n| format!("`{n}`"))
        .collect();
    if names.len() > NAMES_LISTED {
        listed.push(format!("and {} more", names.len() - NAMES_LISTED));
    }
    listed.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: &str = "api: services/api/** libs/shared/**\nweb: services/web/** libs/shared/**\nworker: services/worker/**";

    fn targets(text: &str) -> Targets {
        Targets::parse(text).expect("valid targets")
    }

    fn parse_error(text: &str) -> InputError {
        Targets::parse(text).expect_err("invalid targets")
    }

    fn files(list: &[&str]) -> Changes {
        Changes::Files {
            files: list.iter().map(|s| s.to_string()).collect(),
            source: "compare API a...b".into(),
        }
    }

    fn own_files(affected: &Affected, name: &str) -> Vec<String> {
        affected
            .get(name)
            .and_then(TargetVerdict::changes)
            .map(|c| c.files().to_vec())
            .unwrap_or_default()
    }

    fn base(environment: &str) -> TemplateVars<'_> {
        TemplateVars {
            environment,
            branch: "main",
            sha: "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
            number: None,
        }
    }

    // Parsing.

    #[test]
    fn lines_give_names_and_globs_in_order() {
        let t =
            targets("\n  api: services/api/**   libs/**  \n# a comment\n\ndeploy:dags: dags/**\n");
        assert_eq!(
            t.specs(),
            [
                TargetSpec {
                    line: 2,
                    name: "api".into(),
                    globs: vec!["services/api/**".into(), "libs/**".into()],
                },
                TargetSpec {
                    line: 5,
                    name: "deploy:dags".into(),
                    globs: vec!["dags/**".into()],
                },
            ]
        );
        assert_eq!(t.len(), 2);
        assert!(Targets::parse("").expect("empty").is_empty());
        assert!(Targets::parse(" \n\n").expect("blank").is_empty());
    }

    #[test]
    fn a_line_without_colon_space_is_named_with_its_fix() {
        let e = parse_error("api: services/api/**\nweb:services/web/**");
        assert_eq!(e.input, "targets");
        assert_eq!(e.line, Some((2, "web:services/web/**".into())));
        let text = e.to_string();
        assert!(text.starts_with("input `targets` line 2"), "{text}");
        assert!(
            text.contains("a colon and a space after the name"),
            "{text}"
        );
        assert!(parse_error("just-a-name")
            .to_string()
            .contains("`NAME: GLOB GLOB...`"));
    }

    #[test]
    fn an_empty_name_is_refused() {
        let e = parse_error(": services/api/**");
        assert_eq!(e.line.as_ref().map(|l| l.0), Some(1));
        assert!(e.message.contains("has no name"), "{e}");
        assert!(parse_error(":").message.contains("has no name"));
    }

    #[test]
    fn a_target_without_a_glob_is_refused() {
        for text in ["api:", "api:   ", "x: a/**\napi: \t "] {
            let e = parse_error(text);
            assert!(
                e.message.starts_with("target `api` has no glob"),
                "{text:?}: {e}"
            );
            assert!(e.message.contains("e.g. `api: services/api/**`"), "{e}");
        }
    }

    #[test]
    fn an_invalid_glob_is_named() {
        let e = parse_error("api: services/api/** services/[api");
        assert_eq!(e.line.as_ref().map(|l| l.0), Some(1));
        assert!(
            e.message
                .starts_with("`services/[api` of target `api` is not a valid glob"),
            "{e}"
        );
    }

    #[test]
    fn an_exclusion_is_refused_rather_than_matching_nothing() {
        let e = parse_error("api: services/api/** !services/api/docs/**");
        assert!(e.message.contains("cannot exclude"), "{e}");
        assert!(e.message.contains("`paths`"), "{e}");
    }

    #[test]
    fn a_duplicate_name_is_refused_even_in_other_case() {
        let e = parse_error("api: a/**\nweb: w/**\napi: b/**");
        assert_eq!(e.line, Some((3, "api: b/**".into())));
        assert!(e.message.contains("already on line 1"), "{e}");
        let e = parse_error("api: a/**\nAPI: b/**");
        assert_eq!(e.line.as_ref().map(|l| l.0), Some(2));
        assert!(e.message.contains("`API` is `api` of line 1"), "{e}");
        assert!(e.message.contains("without case"), "{e}");
    }

    #[test]
    fn a_yaml_list_item_is_named_with_its_fix() {
        let e = parse_error("- api: services/api/**");
        assert_eq!(e.input, "targets");
        // One sentence for every line input (`lines`), with the line to write instead.
        assert!(
            e.message
                .ends_with("write `api: services/api/**` without the leading `- `"),
            "{e}"
        );
        assert!(parse_error("-").message.contains("leading `- `"));
    }

    #[test]
    fn specs_built_in_code_get_the_same_checks() {
        let spec = |name: &str, globs: &[&str]| TargetSpec {
            line: 1,
            name: name.into(),
            globs: globs.iter().map(|g| g.to_string()).collect(),
        };
        assert!(Targets::new(vec![spec("api", &[])]).is_err());
        assert!(Targets::new(vec![spec("", &["a/**"])]).is_err());
        assert!(Targets::new(vec![spec("api", &["a/[x"])]).is_err());
        assert!(Targets::new(vec![spec("api", &["a/**"]), spec("Api", &["b/**"])]).is_err());
        assert_eq!(
            Targets::new(vec![spec("api", &["a/**"])])
                .expect("valid")
                .len(),
            1
        );
    }

    // Which targets a change affects.

    #[test]
    fn two_of_three_targets_changed() {
        let t = targets(THREE);
        let a = t.affected(&files(&[
            "services/api/main.rs",
            "services/web/index.ts",
            "README.md",
        ]));
        assert_eq!(a.names(), ["api", "web"]);
        assert_eq!(own_files(&a, "api"), ["services/api/main.rs"]);
        assert_eq!(own_files(&a, "web"), ["services/web/index.ts"]);
        let api = a.get("api").expect("api");
        assert_eq!(
            api.reason(),
            "1 of 3 changed file(s) match, first `services/api/main.rs` (`services/api/**`)"
        );
        let worker = a.get("worker").expect("worker");
        assert!(!worker.is_affected());
        assert_eq!(
            worker.reason(),
            "no changed file matches `services/worker/**`"
        );
        assert_eq!(a.unknown, None);
        assert_eq!(
            a.summary(),
            "2 of 3 target(s) affected by 3 changed file(s): `api`, `web`"
        );
    }

    #[test]
    fn a_file_matching_two_targets_is_each_ones_file() {
        let t = targets(THREE);
        let a = t.affected(&files(&["libs/shared/util.py", "services/api/x.py"]));
        assert_eq!(a.names(), ["api", "web"]);
        assert_eq!(
            own_files(&a, "api"),
            ["libs/shared/util.py", "services/api/x.py"]
        );
        assert_eq!(own_files(&a, "web"), ["libs/shared/util.py"]);
    }

    #[test]
    fn a_file_matching_two_globs_of_one_target_counts_once() {
        let t = targets("api: services/** services/api/** **/*.rs");
        let a = t.affected(&files(&["services/api/main.rs"]));
        assert_eq!(own_files(&a, "api"), ["services/api/main.rs"]);
    }

    #[test]
    fn no_target_changed() {
        let t = targets(THREE);
        let a = t.affected(&files(&["README.md", "docs/index.md"]));
        assert!(a.names().is_empty());
        assert_eq!(a.affected().count(), 0);
        assert_eq!(
            a.get("api").map(TargetVerdict::reason),
            Some("no changed file matches `services/api/**` or `libs/shared/**`")
        );
        assert_eq!(
            a.summary(),
            "no target is affected: none of the 2 changed file(s) matches the globs of `targets`"
        );
        let empty = t.affected(&files(&[]));
        assert!(empty.names().is_empty());
        assert!(empty
            .get("worker")
            .is_some_and(|w| w.reason().starts_with("no file changed")));
    }

    #[test]
    fn deleted_and_renamed_paths_are_just_paths() {
        // The change lists a rename as its old and its new path, and a deletion as its path.
        let t = targets(THREE);
        let a = t.affected(&files(&[
            "services/api/old_name.py",
            "services/web/new_name.py",
            "services/worker/deleted.py",
        ]));
        assert_eq!(a.names(), ["api", "web", "worker"]);
        assert_eq!(own_files(&a, "worker"), ["services/worker/deleted.py"]);
    }

    #[test]
    fn globs_are_segment_aware_like_tasks_and_paths() {
        let t = targets("dags: dags/**\nmodels: models/*.sql");
        let a = t.affected(&files(&["src/dags_old/x.py", "models/a/b.sql"]));
        assert!(a.names().is_empty(), "{:?}", a.names());
    }

    #[test]
    fn unknown_changes_affect_every_target_with_the_reason() {
        let t = targets(THREE);
        let reason = "the push created a new branch, which has no base to compare with";
        let a = t.affected(&Changes::Everything {
            reason: reason.into(),
        });
        assert_eq!(a.names(), ["api", "web", "worker"]);
        assert_eq!(a.unknown.as_deref(), Some(reason));
        assert_eq!(a.summary(), format!("every target is affected: {reason}"));
        for verdict in &a.targets {
            assert_eq!(
                verdict.changes(),
                Some(&Changes::Everything {
                    reason: reason.into()
                })
            );
            assert_eq!(
                verdict.reason(),
                format!("every target is affected: {reason}")
            );
        }
    }

    #[test]
    fn each_target_gets_its_own_changes_for_tasks_and_paths() {
        let t = targets(THREE);
        let a = t.affected(&files(&[
            "services/api/a",
            "services/web/b",
            "services/api/c",
        ]));
        assert_eq!(
            a.get("api").and_then(TargetVerdict::changes),
            Some(&Changes::Files {
                files: vec!["services/api/a".into(), "services/api/c".into()],
                source: "compare API a...b, those matching target `api`".into(),
            })
        );
    }

    #[test]
    fn the_order_follows_the_lines_not_the_files() {
        let t = targets("c: c/**\na: a/**\nb: b/**");
        let a = t.affected(&files(&["b/1", "a/1", "c/1"]));
        assert_eq!(a.names(), ["c", "a", "b"]);
        assert_eq!(
            a.targets.iter().map(|v| v.line).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }

    #[test]
    fn two_hundred_targets_over_ten_thousand_files() {
        let text: String = (0..200)
            .map(|t| {
                format!(
                    "t{t}: svc/t{t}/** lib/t{t}/**/*.py conf/t{t}.yaml docs/t{t}/*.md **/t{t}.lock\n"
                )
            })
            .collect();
        let changed: Vec<String> = (0..10_000)
            .map(|i| format!("svc/t{}/src/file{i}.rs", i % 50))
            .collect();
        let start = std::time::Instant::now();
        let t = targets(&text);
        let compiled = start.elapsed();
        let a = t.affected(&Changes::Files {
            files: changed,
            source: "bench".into(),
        });
        let matched = start.elapsed() - compiled;
        eprintln!("200 targets x 5 globs: compile {compiled:?}, 10,000 files {matched:?}");
        assert_eq!(a.names().len(), 50);
        assert_eq!(own_files(&a, "t7").len(), 200);
        assert!(!a.get("t50").is_some_and(TargetVerdict::is_affected));
    }

    // The `target` input.

    #[test]
    fn select_finds_the_exact_name() {
        let t = targets(THREE);
        assert_eq!(t.select("web").map(|s| s.line), Ok(2));
        assert_eq!(t.select(" worker ").map(|s| s.line), Ok(3));
    }

    #[test]
    fn select_names_the_known_targets_otherwise() {
        let t = targets(THREE);
        let e = t.select("db").expect_err("unknown");
        assert_eq!(e.input, "target");
        assert_eq!(
            e.to_string(),
            "input `target`: `db` names no line of `targets`; use one of `api`, `web`, `worker`"
        );
        let e = t.select("API").expect_err("case differs");
        assert!(e.message.contains("did you mean `api`?"), "{e}");
        let none = Targets::default().select("api").expect_err("no targets");
        assert!(none.message.contains("`targets`, which is empty"), "{none}");
        let many = targets(
            &(0..30)
                .map(|i| format!("t{i}: t{i}/**\n"))
                .collect::<String>(),
        );
        let e = many.select("x").expect_err("unknown");
        assert!(e.message.ends_with("`t19`, and 10 more"), "{e}");
    }

    // Environments.

    #[test]
    fn the_default_environment_is_environment_dash_target() {
        let t = targets(THREE);
        assert_eq!(
            t.environments(&base("production"), None),
            Ok(vec![
                "production-api".to_string(),
                "production-web".into(),
                "production-worker".into()
            ])
        );
        assert_eq!(environment_for("api", &base("pr-7"), None), "pr-7-api");
        assert_eq!(t.check_environment_template(None), Ok(()));
    }

    #[test]
    fn a_custom_template_sees_the_other_values_too() {
        let template = Template::new("{target}.{environment}.{short_sha}");
        assert_eq!(
            environment_for("api", &base("staging"), Some(&template)),
            "api.staging.6113728"
        );
        let preview = TemplateVars {
            number: Some(7),
            ..base("")
        };
        assert_eq!(
            environment_for(
                "api",
                &preview,
                Some(&Template::new("pr-{number}-{target}"))
            ),
            "pr-7-api"
        );
    }

    #[test]
    fn a_template_without_target_is_a_collision() {
        let t = targets(THREE);
        let template = Template::new("{environment}");
        let e = t
            .environments(&base("production"), Some(&template))
            .expect_err("collision");
        assert_eq!(e.input, "target-environment");
        assert_eq!(
            e.to_string(),
            "input `target-environment`: targets `api` (line 1) and `web` (line 2) would both deploy to environment `production` (GitHub compares environment names without case); put `{target}` in `target-environment`, e.g. `{environment}-{target}`"
        );
        let up_front = t
            .check_environment_template(Some(&template))
            .expect_err("checked before the environment is known");
        assert!(
            up_front.message.contains("environment `{environment}`"),
            "{up_front}"
        );
    }

    #[test]
    fn names_differing_only_in_case_collide() {
        // Parsing refuses `api` and `API` already; the environment check stands on its own.
        let spec = |line: usize, name: &str| TargetSpec {
            line,
            name: name.into(),
            globs: vec!["a/**".into()],
        };
        let t = Targets {
            specs: vec![spec(1, "api"), spec(2, "API")],
            ..Targets::default()
        };
        let e = t
            .environments(&base("production"), None)
            .expect_err("collision");
        assert!(
            e.message.starts_with(
                "targets `api` (line 1) and `API` (line 2) would both deploy to environment `production-api`"
            ),
            "{e}"
        );
        assert!(e.message.ends_with("differ by more than case"), "{e}");
        // A template with a fixed part in other case is the same environment too.
        let t = targets("api: a/**\nweb: w/**");
        let template = Template::new("{environment}-Svc");
        assert!(t
            .environments(&base("prod"), Some(&template))
            .is_err_and(|e| e.message.contains("`prod-Svc`")));
    }

    #[test]
    fn a_slash_in_a_target_environment_is_kept() {
        // As with `environments` values, the name is used as written; the API client encodes it.
        let t = targets("svc/api: services/api/**\nweb: services/web/**");
        let template = Template::new("{environment}/{target}");
        assert_eq!(
            t.environments(&base("production"), Some(&template)),
            Ok(vec![
                "production/svc/api".to_string(),
                "production/web".into()
            ])
        );
        assert_eq!(
            environment_for("svc/api", &base("pr-7"), None),
            "pr-7-svc/api"
        );
    }

    #[test]
    fn empty_and_overlong_environments_are_bad_input() {
        let one = targets("api: a/**");
        let e = one
            .environments(&base("production"), Some(&Template::new("{number}")))
            .expect_err("empty");
        assert!(e.message.contains("empty environment name"), "{e}");
        let long_name = "x".repeat(252);
        let e = one
            .environments(&base(&long_name), None)
            .expect_err("too long");
        assert!(e.message.contains("255 characters"), "{e}");
        assert_eq!(one.check_environment_template(None), Ok(()));
    }

    // Production.

    #[test]
    fn every_target_of_production_is_production() {
        assert!(target_is_production(None, "production"));
        assert!(target_is_production(None, "Production"));
    }

    #[test]
    fn targets_of_other_environments_are_not() {
        assert!(!target_is_production(None, "staging"));
        assert!(!target_is_production(None, "production-eu"));
        assert!(!target_is_production(None, "pr-7"));
    }

    #[test]
    fn an_explicit_production_input_wins() {
        assert!(target_is_production(Some(true), "staging"));
        assert!(!target_is_production(Some(false), "production"));
    }
}
