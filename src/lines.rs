//! Line-based inputs, below every parser of them: the error each returns, the lines (blank and
//! `#` lines skipped, a YAML list item refused), and the path glob they all compile.

use globset::{Glob, GlobBuilder};

/// A bad input: which one, which line, what is wrong and what to write instead.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("input `{input}`{}: {message}", line_suffix(.line))]
pub struct InputError {
    pub input: &'static str,
    pub line: Option<(usize, String)>,
    pub message: String,
}

fn line_suffix(line: &Option<(usize, String)>) -> String {
    match line {
        Some((n, text)) => format!(" line {n} ({text:?})"),
        None => String::new(),
    }
}

pub(crate) fn err(input: &'static str, message: impl Into<String>) -> InputError {
    InputError {
        input,
        line: None,
        message: message.into(),
    }
}

/// Path globs are segment-aware: `*` stays inside one segment, `dags/**` does not match
/// `src/dags_old/x`.
pub fn path_glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

/// Non-empty, non-comment lines with their 1-based numbers.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// The lines of a line-based input, refusing a line written as a YAML list item (`- main:
/// production`): YAML-minded users write that, and it would silently match nothing (no branch,
/// task, context or file path starts with `- `).
pub(crate) fn input_lines<'a>(
    input: &'static str,
    text: &'a str,
) -> Result<Vec<(usize, &'a str)>, InputError> {
    lines(text)
        .map(|(n, line)| match line.strip_prefix('-') {
            Some(rest) if rest.is_empty() || rest.starts_with([' ', '\t']) => Err(InputError {
                input,
                line: Some((n, line.to_string())),
                message: format!(
                    "the lines of `{input}` are plain text, not a YAML list; write `{}` without the leading `- `",
                    rest.trim()
                ),
            }),
            _ => Ok((n, line)),
        })
        .collect()
}

/// The sentence for a pattern that is not a glob.
pub(crate) fn glob_error(pattern: &str, e: &globset::Error) -> String {
    format!("`{pattern}` is not a valid glob: {}", e.kind())
}
