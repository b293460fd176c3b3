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

/// A duration in whole seconds, rounded to the nearest: the phases of a run, each rounded at its
/// start and end, add up to the run's own rounded time (11.6 s + 1.8 s + 0.9 s shows as 12 s +
/// 2 s + 0 s... of a 14 s run, never `11s, 1s, 0s` of one).
pub fn round_secs(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_millis().saturating_add(500) / 1000).unwrap_or(u64::MAX)
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
        self.placeholders().any(|p| p == name)
    }

    /// The names of the placeholders written (`{name}`: letters, digits and `_`), in order;
    /// `{{` and `}}` are literal braces, never the start or end of one.
    pub fn placeholders(&self) -> impl Iterator<Item = &str> {
        pieces(&self.0).filter_map(|piece| match piece {
            Piece::Placeholder(name) => Some(name),
            Piece::Text(_) => None,
        })
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

    /// [`Template::render`], or [`Template::render_for_target`] when there is a target.
    pub fn render_with(&self, vars: &TemplateVars<'_>, target: Option<&str>) -> String {
        let number = vars.number.map(|n| n.to_string()).unwrap_or_default();
        let short_sha: String = vars.sha.chars().take(7).collect();
        let mut out = String::with_capacity(self.0.len() + 32);
        for piece in pieces(&self.0) {
            let value = match piece {
                Piece::Text(text) => Some(text),
                Piece::Placeholder("environment") => Some(vars.environment),
                Piece::Placeholder("branch") => Some(vars.branch),
                Piece::Placeholder("sha") => Some(vars.sha),
                Piece::Placeholder("short_sha") => Some(short_sha.as_str()),
                Piece::Placeholder("number") => Some(number.as_str()),
                Piece::Placeholder("target") => target,
                Piece::Placeholder(_) => None,
            };
            match (value, piece) {
                (Some(value), _) => out.push_str(value),
                (None, Piece::Placeholder(name)) => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
                (None, Piece::Text(_)) => {}
            }
        }
        out
    }
}

/// The placeholders rollout fills, in the order the sentences name them.
pub const PLACEHOLDERS: &[&str] = &[
    "environment",
    "branch",
    "sha",
    "short_sha",
    "number",
    "target",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Piece<'a> {
    /// Literal text (`{{` already read as `{`, `}}` as `}`).
    Text(&'a str),
    /// `{name}`: the name.
    Placeholder(&'a str),
}

/// A template cut into text and placeholders: `{{` is a literal `{`, `}}` a literal `}`, `{name}`
/// (letters, digits, `_`) a placeholder, and any other brace text as written.
fn pieces(text: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        for (brace, escaped) in [("{{", "{"), ("}}", "}")] {
            if let Some(after) = rest.strip_prefix(brace) {
                rest = after;
                return Some(Piece::Text(escaped));
            }
        }
        if let Some(after) = rest.strip_prefix('{') {
            let name_len = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            if name_len > 0 && after[name_len..].starts_with('}') {
                let name = &after[..name_len];
                rest = &after[name_len + 1..];
                return Some(Piece::Placeholder(name));
            }
            let text = &rest[..1];
            rest = after;
            return Some(Piece::Text(text));
        }
        // Text up to the next brace (a lone `}` included).
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let end = rest[first..]
            .find(['{', '}'])
            .map_or(rest.len(), |i| i + first);
        let (text, after) = rest.split_at(end);
        rest = after;
        Some(Piece::Text(text))
    })
}

/// Untrusted text for one log line: line breaks are shown as `\n`, and the two command markers
/// (`::` at a line start, `##[` anywhere) are broken with a zero-width space, so the runner never
/// reads the text as a command. Use it for every value that comes from an event.
pub struct Untrusted<'a>(pub &'a str);

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self
            .0
            .replace('\r', "\\r")
            .replace('\n', "\\n")
            .replace("##[", "##\u{200b}[");
        match text.strip_prefix("::") {
            Some(rest) => write!(f, ":\u{200b}:{rest}"),
            None => f.write_str(&text),
        }
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
    fn double_braces_are_literal_braces() {
        let vars = TemplateVars {
            environment: "prod",
            sha: "abc",
            ..Default::default()
        };
        let t = Template::new("{{environment}}={environment} {{{sha}}} }} {x {} {a-b}");
        assert_eq!(t.render(&vars), "{environment}=prod {abc} } {x {} {a-b}");
        assert_eq!(
            t.placeholders().collect::<Vec<_>>(),
            ["environment", "sha"],
            "an escaped name is no placeholder"
        );
        assert!(!Template::new("{{target}}").uses("target"));
        assert_eq!(
            Template::new("{\"a\": 1}").placeholders().count(),
            0,
            "JSON is text"
        );
    }

    #[test]
    fn phases_rounded_at_both_ends_add_up_to_the_run() {
        let ms = std::time::Duration::from_millis;
        // 11.6 s, 1.8 s and 0.9 s: a 14.3 s run.
        let (a, b, c) = (ms(11_600), ms(1_800), ms(900));
        let shown = [
            round_secs(a),
            round_secs(a + b) - round_secs(a),
            round_secs(a + b + c) - round_secs(a + b),
        ];
        assert_eq!(shown, [12, 1, 1]);
        assert_eq!(shown.iter().sum::<u64>(), round_secs(a + b + c));
        assert_eq!(round_secs(ms(499)), 0);
        assert_eq!(round_secs(ms(500)), 1);
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
