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

/// Non-empty, non-comment lines with their 1-based numbers, read as a YAML user writes them: a
/// line starting with `#` is a comment, and so is everything from a ` #` (a space or tab, then
/// `#`) outside quotes to the end of the line.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let l = l.trim();
            (i + 1, l[..scan(l).end].trim_end())
        })
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
}

/// Where a trimmed line's comment starts (`end`, the line's length without one) and its first
/// `: ` outside quotes. A quote opens a quoted scalar only where one starts: at the start of
/// the line, or of the value after the first `: `.
struct Scan {
    end: usize,
    split: Option<usize>,
}

fn scan(line: &str) -> Scan {
    let bytes = line.as_bytes();
    let blank = |i: usize| bytes.get(i).is_some_and(|b| *b == b' ' || *b == b'\t');
    let (mut quote, mut scalar_start, mut split) = (None, true, None);
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None if scalar_start && (c == b'"' || c == b'\'') => {
                quote = Some(c);
                scalar_start = false;
            }
            None if blank(i) => {
                if bytes.get(i + 1) == Some(&b'#') {
                    return Scan { end: i, split };
                }
            }
            None if c == b':' && split.is_none() && blank(i + 1) => {
                split = Some(i);
                scalar_start = true;
            }
            None => scalar_start = false,
        }
        i += 1;
    }
    Scan {
        end: line.len(),
        split,
    }
}

/// `"text"` or `'text'` without its quotes; anything else as it is.
pub(crate) fn unquote(text: &str) -> &str {
    let text = text.trim();
    for q in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(q).and_then(|t| t.strip_suffix(q)) {
            if !inner.contains(q) {
                return inner;
            }
        }
    }
    text
}

/// `PATTERN: VALUE` split at the first colon followed by a space outside quotes
/// (`deploy:dags: dags/**` is `deploy:dags` and `dags/**`), each side trimmed and unquoted;
/// `None` without such a colon.
pub(crate) fn split_pair(line: &str) -> Option<(&str, &str)> {
    let at = scan(line).split?;
    Some((unquote(&line[..at]), unquote(&line[at + 1..])))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Vec<&str> {
        lines(text).map(|(_, l)| l).collect()
    }

    #[test]
    fn comments_are_yaml_comments() {
        assert_eq!(
            read("main: production # prod\n# all\n  # indented\nrelease/*: staging\t# tab"),
            ["main: production", "release/*: staging"]
        );
        assert_eq!(
            read("main: prod#1"),
            ["main: prod#1"],
            "a # glued to text is text"
        );
        assert_eq!(read("\"a #b\": 'c # d' # e"), ["\"a #b\": 'c # d'"]);
    }

    #[test]
    fn pairs_split_outside_quotes_and_lose_them() {
        assert_eq!(split_pair("main: production"), Some(("main", "production")));
        assert_eq!(
            split_pair("\"main\": \"production\""),
            Some(("main", "production"))
        );
        assert_eq!(split_pair("'a: b': 'c: d'"), Some(("a: b", "c: d")));
        assert_eq!(
            split_pair("deploy:dags: dags/**"),
            Some(("deploy:dags", "dags/**"))
        );
        assert_eq!(split_pair("main:production"), None);
        assert_eq!(
            split_pair("\"main: production\""),
            None,
            "all one quoted text"
        );
        assert_eq!(
            split_pair("it's: x"),
            Some(("it's", "x")),
            "a quote inside a word opens nothing"
        );
        assert_eq!(unquote("\"a\" \"b\""), "\"a\" \"b\"");
        assert_eq!(unquote("'x'"), "x");
    }
}
