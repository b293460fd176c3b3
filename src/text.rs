//! Values with GitHub's limits built in: a status description GitHub accepts, an environment name
//! that is safe to derive from a branch, and the templates of the inputs.

use std::fmt;

/// A deployment or status description: at most 140 characters, or GitHub answers 422.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Description(String);

impl Description {
    pub const MAX_CHARS: usize = 140;

    /// Keeps the first line only, and cuts on a character boundary with an ellipsis when too long.
    /// A control character (a lone `\r`, a tab, an escape, NUL) or a Unicode line separator
    /// becomes a space: GitHub shows the text on one line, and a summary table must not break.
    pub fn new(text: &str) -> Description {
        let first = text.lines().next().unwrap_or("");
        let spaced: String = first
            .chars()
            .map(|c| {
                if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let line = spaced.trim();
        if line.chars().count() <= Self::MAX_CHARS {
            return Description(line.to_string());
        }
        let mut cut: String = line.chars().take(Self::MAX_CHARS - 1).collect();
        cut.push('…');
        Description(cut)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Description {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// GitHub accepts environment names up to 255 characters; rollout keeps derived parts shorter so
/// that a prefix such as `preview-` still fits.
const MAX_DERIVED: usize = 200;

/// Turns untrusted text (a branch name) into `[A-Za-z0-9._-]`. When anything had to change, a
/// short hash of the original is appended, so `feature/x` and `feature-x` stay distinct.
pub fn safe_name(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        let keep = c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let c = if keep { c } else { '-' };
        if c == '-' && out.ends_with('-') {
            continue;
        }
        out.push(c);
    }
    let mut out = out.trim_matches(|c| c == '-' || c == '.').to_string();
    // An empty result (an empty branch) gets the hash alone: a name is never empty.
    let changed = out != raw || out.len() > MAX_DERIVED || out.is_empty();
    if changed {
        out.truncate(MAX_DERIVED);
        let hash = git2::Oid::hash_object(git2::ObjectType::Blob, raw.as_bytes())
            .map(|oid| oid.to_string()[..6].to_string())
            .unwrap_or_default();
        if out.is_empty() {
            out = hash;
        } else {
            out = format!("{out}-{hash}");
        }
    }
    out
}

/// The values a template may name. Nothing else is replaced and nothing is evaluated.
#[derive(Clone, Debug, Default)]
pub struct TemplateVars<'a> {
    pub environment: &'a str,
    pub branch: &'a str,
    pub sha: &'a str,
    pub number: Option<u64>,
}

/// A user's template such as `pr-{number}` or `https://{environment}.example.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template(String);

impl Template {
    pub fn new(text: impl Into<String>) -> Template {
        Template(text.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn uses(&self, name: &str) -> bool {
        self.0.contains(&format!("{{{name}}}"))
    }

    /// Replaces `{environment}`, `{branch}`, `{sha}`, `{short_sha}` and `{number}`; any other
    /// braces stay as written. One pass, so a value containing `{sha}` is never expanded again.
    pub fn render(&self, vars: &TemplateVars<'_>) -> String {
        self.render_with(vars, None)
    }

    /// [`Template::render`] for one target of `targets`: `{target}` is its name too. A separate
    /// method, not a `TemplateVars` field, so that templates outside targets keep `{target}` as
    /// written.
    pub fn render_for_target(&self, vars: &TemplateVars<'_>, target: &str) -> String {
        self.render_with(vars, Some(target))
    }

    fn render_with(&self, vars: &TemplateVars<'_>, target: Option<&str>) -> String {
        let number = vars.number.map(|n| n.to_string()).unwrap_or_default();
        let short_sha: String = vars.sha.chars().take(7).collect();
        let mut out = String::with_capacity(self.0.len() + 32);
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let replaced = after.find('}').and_then(|close| {
                let value = match &after[..close] {
                    "environment" => vars.environment,
                    "branch" => vars.branch,
                    "sha" => vars.sha,
                    "short_sha" => &short_sha,
                    "number" => &number,
                    "target" => target?,
                    _ => return None,
                };
                Some((value, close))
            });
            match replaced {
                Some((value, close)) => {
                    out.push_str(value);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_descriptions_pass_unchanged() {
        assert_eq!(
            Description::new("Deploy 1234567").as_str(),
            "Deploy 1234567"
        );
    }

    #[test]
    fn only_the_first_line_is_kept() {
        assert_eq!(Description::new("title\n\nbody").as_str(), "title");
    }

    #[test]
    fn long_non_ascii_text_is_cut_on_a_character_boundary() {
        let text = "ü€😀".repeat(100);
        let d = Description::new(&text);
        assert_eq!(d.as_str().chars().count(), Description::MAX_CHARS);
        assert!(d.as_str().ends_with('…'));
        assert!(d.as_str().starts_with("ü€😀"));
    }

    #[test]
    fn exactly_140_characters_are_kept_whole() {
        let text = "é".repeat(140);
        assert_eq!(Description::new(&text).as_str(), text);
    }

    #[test]
    fn safe_names_keep_clean_branches_as_they_are() {
        assert_eq!(safe_name("main"), "main");
        assert_eq!(safe_name("release-1.2_x"), "release-1.2_x");
    }

    #[test]
    fn safe_names_do_not_collide() {
        let a = safe_name("feature/x");
        let b = safe_name("fix/x");
        let c = safe_name("feature-x");
        assert!(a.starts_with("feature-x-"), "{a}");
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, safe_name("feature/x"), "stable");
    }

    #[test]
    fn safe_names_strip_shell_and_are_bounded() {
        let n = safe_name("$(touch pwned)`id`");
        assert!(
            n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)),
            "{n}"
        );
        let long = safe_name(&"a/".repeat(500));
        assert!(long.len() <= 255, "{}", long.len());
        assert!(!safe_name("///").is_empty());
        // Found by the template fuzz target: an empty branch gave an empty name.
        assert!(!safe_name("").is_empty());
    }

    #[test]
    fn templates_replace_known_names_only() {
        let vars = TemplateVars {
            environment: "pr-4",
            branch: "feat",
            sha: "0123456789abcdef0123456789abcdef01234567",
            number: Some(4),
        };
        let t = Template::new("https://{environment}.x/{short_sha}/{number}/{other}/{sha");
        assert_eq!(t.render(&vars), "https://pr-4.x/0123456/4/{other}/{sha");
    }

    #[test]
    fn target_is_replaced_only_for_a_target() {
        let vars = TemplateVars {
            environment: "production",
            ..Default::default()
        };
        let t = Template::new("{environment}-{target}");
        assert_eq!(t.render(&vars), "production-{target}");
        assert_eq!(t.render_for_target(&vars, "api"), "production-api");
        assert_eq!(
            Template::new("{target}").render_for_target(&vars, "{environment}"),
            "{environment}",
            "one pass: a target name is never expanded"
        );
    }

    #[test]
    fn templates_never_expand_values_twice() {
        let vars = TemplateVars {
            branch: "{sha}$(id)",
            sha: "s",
            ..Default::default()
        };
        assert_eq!(Template::new("b={branch}").render(&vars), "b={sha}$(id)");
    }

    #[test]
    fn a_description_holds_no_control_character_or_line_separator() {
        let d = Description::new("Migrating\rdb\u{1b}[31m\u{0}x\u{2028}y\tz\nsecond line");
        assert_eq!(d.as_str(), "Migrating db [31m x y z");
        assert!(!d.as_str().chars().any(char::is_control));
    }
}
