//! The delivery report as people read it: the step summary (a Markdown table of the four keys
//! per environment, and a Mermaid `xychart-beta` of changes per week with failures apart, which
//! GitHub renders in Markdown) and the terminal's text (the same table, and a bar chart in
//! characters). Pure text from [`crate::delivery::Delivery`]; the deploy's summary is
//! `report.rs`'s.

use crate::delivery::{Delivery, Figures, Week};
use jiff::Timestamp;

/// What `environment` asked for and the notes the read left (a period that reached further
/// than the read, environments left unread).
pub struct Heading<'a> {
    pub pattern: &'a str,
    pub period: &'a str,
    pub notes: &'a [String],
}

/// `45s`, `12m`, `3h 5m`, `2d 4h`.
pub fn human(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => match (s % 3600) / 60 {
            0 => format!("{}h", s / 3600),
            m => format!("{}h {m}m", s / 3600),
        },
        _ => match (s % 86_400) / 3600 {
            0 => format!("{}d", s / 86_400),
            h => format!("{}d {h}h", s / 86_400),
        },
    }
}

fn minute(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M UTC").to_string()
}

fn day(t: Timestamp) -> String {
    t.strftime("%m-%d").to_string()
}

/// The cells of one environment's row, without the name.
fn cells(f: &Figures) -> [String; 7] {
    let none = || "–".to_string();
    let restore = match (f.time_to_restore_median, f.open_since) {
        (Some(m), None) => human(m),
        (Some(m), Some(open)) => format!("{} (open since {})", human(m), minute(open)),
        (None, Some(open)) => format!("open since {}", minute(open)),
        (None, None) => none(),
    };
    [
        format!("{} ({:.2}/day)", f.deployments, f.per_day),
        f.lead_time_median.map_or_else(none, human),
        f.lead_time_p90.map_or_else(none, human),
        f.change_failure_rate.map_or_else(none, |r| {
            format!("{:.0}% ({} of {})", r * 100.0, f.failed_changes, f.changes)
        }),
        restore,
        match f.automatic_rollbacks {
            0 => f.rollbacks.to_string(),
            a => format!("{} ({a} automatic)", f.rollbacks),
        },
        f.errors.to_string(),
    ]
}

const COLUMNS: [&str; 8] = [
    "Environment",
    "Deployments",
    "Lead time (median)",
    "Lead time (p90)",
    "Change failure rate",
    "Time to restore (median)",
    "Rollbacks",
    "Errors",
];

/// A Markdown table cell holding text from the repository (an environment's name).
fn cell(text: &str) -> String {
    format!("`{}`", text.replace('`', "'").replace('|', "\\|"))
}

/// What Mermaid reads safely in a quoted title.
fn mermaid_text(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_alphanumeric() || " -_./:".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn period_line(d: &Delivery, heading: &Heading, pattern: &str) -> String {
    format!(
        "{} over the last {} ({} to {})",
        pattern,
        heading.period,
        minute(d.window.from),
        minute(d.window.to)
    )
}

/// The step summary.
pub fn markdown(d: &Delivery, heading: &Heading) -> String {
    let mut out = format!(
        "## Delivery report\n\n{}\n\n",
        period_line(d, heading, &cell(heading.pattern))
    );
    for note in heading.notes {
        out.push_str(&format!("> [!WARNING]\n> {note}\n\n"));
    }
    if d.environments.is_empty() {
        out.push_str(&format!(
            "No environment of the repository matches {}.\n",
            cell(heading.pattern)
        ));
        return out;
    }
    out.push_str(&format!("| {} |\n", COLUMNS.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(COLUMNS.len())));
    for (name, f) in &d.environments {
        out.push_str(&format!("| {} | {} |\n", cell(name), cells(f).join(" | ")));
    }
    out.push_str(
        "\nA change is a deployment that ran and is not a rollback, ending `success` or `failure`; \
         a failed change ended `failure` or was undone by a later rollback. \
         Time to restore runs from a failure to the environment's next success.\n",
    );
    for (name, f) in &d.environments {
        out.push_str(&mermaid(name, &f.weeks));
    }
    out
}

/// Changes per week: the bars are all changes, the bars in front the failed ones.
fn mermaid(name: &str, weeks: &[Week]) -> String {
    let labels: Vec<String> = weeks
        .iter()
        .map(|w| format!("\"{}\"", day(w.start)))
        .collect();
    let changes: Vec<String> = weeks.iter().map(|w| w.changes.to_string()).collect();
    let failed: Vec<String> = weeks.iter().map(|w| w.failed.to_string()).collect();
    let top = weeks.iter().map(|w| w.changes).max().unwrap_or(0).max(1);
    format!(
        "\n```mermaid\nxychart-beta\n    title \"{}: changes per week (front bars: failed)\"\n    x-axis [{}]\n    y-axis \"changes\" 0 --> {top}\n    bar [{}]\n    bar [{}]\n```\n",
        mermaid_text(name),
        labels.join(", "),
        changes.join(", "),
        failed.join(", ")
    )
}

fn pad(text: &str, width: usize) -> String {
    let n = text.chars().count();
    format!("{text}{}", " ".repeat(width.saturating_sub(n)))
}

/// The terminal's report: the table, then each environment's weeks as bars.
pub fn text(d: &Delivery, heading: &Heading) -> String {
    let mut out = format!(
        "Delivery report: {}\n",
        period_line(d, heading, heading.pattern)
    );
    for note in heading.notes {
        out.push_str(&format!("warning: {note}\n"));
    }
    if d.environments.is_empty() {
        out.push_str(&format!(
            "No environment of the repository matches {}.\n",
            heading.pattern
        ));
        return out;
    }
    let rows: Vec<Vec<String>> = d
        .environments
        .iter()
        .map(|(name, f)| {
            let mut row = vec![name.clone()];
            row.extend(cells(f));
            row
        })
        .collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([COLUMNS[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| -> String {
        let parts: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| pad(c, *w)).collect();
        format!("{}\n", parts.join("  ").trim_end())
    };
    out.push('\n');
    out.push_str(&line(COLUMNS.iter().map(|c| c.to_string()).collect()));
    for row in rows {
        out.push_str(&line(row));
    }
    for (name, f) in &d.environments {
        out.push_str(&text_chart(name, &f.weeks));
    }
    out
}

/// One line a week: `#` a change that succeeded, `x` one that failed, scaled to 40 columns.
fn text_chart(name: &str, weeks: &[Week]) -> String {
    let top = weeks.iter().map(|w| w.changes).max().unwrap_or(0);
    let mut out = format!("\n{name}: changes per week (# succeeded, x failed)\n");
    for w in weeks {
        let scale = |n: usize| {
            if top <= 40 {
                n
            } else {
                (n * 40).div_ceil(top)
            }
        };
        let failed = scale(w.failed);
        let ok = scale(w.changes).saturating_sub(failed);
        out.push_str(&format!(
            "  {}  {}{} {}{}\n",
            day(w.start),
            "#".repeat(ok),
            "x".repeat(failed),
            w.changes,
            if w.failed > 0 {
                format!(" ({} failed)", w.failed)
            } else {
                String::new()
            }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::{report, Deployed, Period, StatusAt, StatusState};
    use jiff::SignedDuration;

    fn at(hours: i64) -> Timestamp {
        "2026-11-01T00:00:00Z".parse::<Timestamp>().unwrap() + SignedDuration::from_hours(hours)
    }

    fn deployed(id: u64, env: &str, hours: i64, end: &str) -> Deployed {
        Deployed {
            id,
            environment: env.into(),
            created_at: at(hours),
            committed_at: Some(at(hours - 3)),
            rollback: None,
            statuses: vec![
                StatusAt {
                    state: StatusState::InProgress,
                    at: at(hours),
                },
                StatusAt {
                    state: StatusState::parse(end),
                    at: at(hours + 1),
                },
            ],
        }
    }

    fn sample() -> Delivery {
        let history = [
            deployed(1, "production", 10, "success"),
            deployed(2, "production", 30, "failure"),
            deployed(3, "production", 200, "success"),
            deployed(4, "production|eu", 20, "failure"),
        ];
        let names = ["production".to_string(), "production|eu".to_string()];
        report(
            &history,
            &names,
            Period::parse("14d").unwrap().ending(at(14 * 24)),
        )
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(45), "45s");
        assert_eq!(human(720), "12m");
        assert_eq!(human(3600), "1h");
        assert_eq!(human(3 * 3600 + 300), "3h 5m");
        assert_eq!(human(2 * 86_400 + 4 * 3600 + 59), "2d 4h");
        assert_eq!(human(-5), "0s");
    }

    #[test]
    fn the_summary_is_a_table_and_a_chart_per_environment() {
        let heading = Heading {
            pattern: "production*",
            period: "14d",
            notes: &["the period reaches further back than 1,000 deployments".to_string()],
        };
        insta::assert_snapshot!(markdown(&sample(), &heading));
    }

    #[test]
    fn the_terminal_gets_the_table_and_bars() {
        let heading = Heading {
            pattern: "production*",
            period: "14d",
            notes: &[],
        };
        insta::assert_snapshot!(text(&sample(), &heading));
    }

    #[test]
    fn no_matching_environment_is_said() {
        let d = report(&[], &[], Period::parse("1w").unwrap().ending(at(0)));
        let heading = Heading {
            pattern: "prod*",
            period: "1w",
            notes: &[],
        };
        assert!(
            markdown(&d, &heading).contains("No environment of the repository matches `prod*`.")
        );
        assert!(text(&d, &heading).contains("No environment of the repository matches prod*."));
    }
}
