//! `freeze`: the calendar's stop on deploys. Each line names environments (a glob) and a weekly
//! or dated window in an IANA time zone; [`FreezeRules::check`] says whether a deploy to an
//! environment at a moment falls inside one. Pure: the caller brings the clock.
//!
//! Times are wall-clock times of the window's zone, so `Fri 18:00` stays 18:00 in Berlin across
//! daylight saving changes. A wall time that does not exist (the spring gap) or exists twice (the
//! autumn fold) is resolved the "compatible" way (RFC 5545, Temporal, and jiff's default): a time
//! in a gap moves forward by the gap's length (02:30 becomes 03:30), a time in a fold is its
//! earlier occurrence. So a window's start never lands before the wall time written.

use crate::lines::{input_lines, InputError};
use globset::{GlobBuilder, GlobMatcher};
use jiff::civil::{Date, DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan, ZonedDateTime};

const INPUT: &str = "freeze";

const EXAMPLE: &str =
    "e.g. `production: Fri 18:00 - Mon 08:00 Europe/Berlin` or `prod*: 2026-12-20 - 2027-01-04`";

/// The lines of `freeze`, in order.
#[derive(Clone, Debug, Default)]
pub struct FreezeRules {
    rules: Vec<Rule>,
}

#[derive(Clone, Debug)]
struct Rule {
    line: usize,
    pattern: String,
    matcher: GlobMatcher,
    /// The window as the user wrote it, for sentences.
    written: String,
    window: Window,
    zone: TimeZone,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Window {
    /// From `start` to `end` every week; `end` may fall in the next week (`Fri - Mon`).
    Weekly {
        start: (Weekday, Time),
        end: (Weekday, Time),
    },
    /// Whole days, both included.
    Dated { first: Date, last: Date },
}

/// A deploy that a window stops: which line, and this occurrence of its window.
#[derive(Clone, Debug, PartialEq)]
pub struct Frozen {
    /// 1-based, counting blank lines, as the user's editor does.
    pub line: usize,
    pub pattern: String,
    /// The window as written (zone included when one was written).
    pub window: String,
    /// The start of this occurrence, in the window's zone.
    pub start: ZonedDateTime,
    /// When deploys can resume (exclusive; a dated window ends at midnight after its last day):
    /// the end of the whole run of overlapping or touching windows, of any matching line, that
    /// keeps the environment frozen, in the zone of the window that ends it. `None` when the
    /// windows leave no moment open from then on (weekly lines that together cover the week).
    pub end: Option<ZonedDateTime>,
}

impl Frozen {
    /// One sentence for `skip-reason`: which window, since when, until when, how to lift it.
    pub fn sentence(&self, environment: &str) -> String {
        format!(
            "{}; to deploy anyway, set `override-freeze: REASON` on the step, or change `freeze`",
            self.window_sentence(environment)
        )
    }

    /// Which window, since when and until when, without the way out: what a deploy that
    /// overrode it records.
    pub fn window_sentence(&self, environment: &str) -> String {
        let until = match &self.end {
            Some(end) => format!("until {}", moment(end)),
            None => "with no end: the matching lines of `freeze` leave no moment open after it"
                .to_string(),
        };
        format!(
            "Deploys to `{environment}` are frozen by line {} of `freeze` (`{}: {}`) since {} {until}",
            self.line,
            self.pattern,
            self.window,
            moment(&self.start),
        )
    }
}

/// `Fri 2026-12-18 18:00 CET`: the weekday is what a weekly window is written in.
fn moment(at: &ZonedDateTime) -> String {
    at.strftime("%a %Y-%m-%d %H:%M %Z").to_string()
}

impl FreezeRules {
    /// Parses the `freeze` input; the first bad line is the error.
    pub fn parse(text: &str) -> Result<FreezeRules, InputError> {
        let mut rules = Vec::new();
        for (n, line) in input_lines(INPUT, text)? {
            rules.push(parse_line(n, line)?);
        }
        Ok(FreezeRules { rules })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first line matching `environment` whose window contains `now`, with when deploys
    /// can resume.
    pub fn check(&self, environment: &str, now: Timestamp) -> Option<Frozen> {
        let matching: Vec<&Rule> = self
            .rules
            .iter()
            .filter(|rule| rule.matcher.is_match(environment))
            .collect();
        let (rule, (start, end)) = matching
            .iter()
            .find_map(|rule| Some((*rule, rule.occurrence(now)?)))?;
        Some(Frozen {
            line: rule.line,
            pattern: rule.pattern.clone(),
            window: rule.written.clone(),
            start,
            end: resume(&matching, end),
        })
    }
}

/// When deploys resume after a window that ends at `end`: while a window of any matching line
/// holds at that moment (it overlaps or touches the one before), its end is the new one. `None`
/// when the run goes on past every dated window by more than a week: weekly windows alone that
/// keep it going cover every moment of the week, for ever.
fn resume(matching: &[&Rule], end: ZonedDateTime) -> Option<ZonedDateTime> {
    let last_dated = matching
        .iter()
        .filter_map(|rule| rule.dated_end())
        .map(|z| z.timestamp())
        .max()
        .unwrap_or(end.timestamp())
        .max(end.timestamp());
    let horizon = last_dated
        .checked_add((8 * 24).hours())
        .unwrap_or(Timestamp::MAX);
    let mut end = end;
    loop {
        let at = end.timestamp();
        if at > horizon {
            return None;
        }
        let later = matching
            .iter()
            .filter_map(|rule| rule.occurrence(at))
            .map(|(_, ends)| ends)
            .filter(|ends| ends.timestamp() > at)
            .max_by_key(|ends| ends.timestamp());
        match later {
            Some(later) => end = later,
            None => return Some(end),
        }
    }
}

impl Rule {
    /// A dated window's end (midnight after its last day, in its zone); checked when parsed.
    fn dated_end(&self) -> Option<ZonedDateTime> {
        match &self.window {
            Window::Dated { last, .. } => dated_end(*last, &self.zone),
            Window::Weekly { .. } => None,
        }
    }

    /// The occurrence of the window that contains `now`, if one does.
    fn occurrence(&self, now: Timestamp) -> Option<(ZonedDateTime, ZonedDateTime)> {
        match &self.window {
            Window::Dated { first, last } => {
                let start = first.to_zoned_datetime(self.zone.clone()).ok()?;
                let end = dated_end(*last, &self.zone)?;
                contains(&start, &end, now).then_some((start, end))
            }
            Window::Weekly { start, end } => {
                let local = now.to_zoned_datetime(self.zone.clone()).datetime();
                let back = i64::from(local.weekday().since(start.0));
                let latest_start_day = local.date().checked_sub(back.days()).ok()?;
                let length_days = i64::from(end.0.since(start.0));
                // Equal days: the window wraps the whole week when the end time comes first.
                let length_days = if length_days == 0 && end.1 <= start.1 {
                    7
                } else {
                    length_days
                };
                // The candidate starting this week can lie after `now` (later the same day, or
                // past a fold in real time); the one a week earlier may still be running.
                [-7_i64, 0].into_iter().find_map(|shift| {
                    let day = latest_start_day.checked_add(shift.days()).ok()?;
                    let begins = self.resolve(day.to_datetime(start.1))?;
                    let end_day = day.checked_add(length_days.days()).ok()?;
                    let ends = self.resolve(end_day.to_datetime(end.1))?;
                    contains(&begins, &ends, now).then_some((begins, ends))
                })
            }
        }
    }

    /// A wall time of the zone as a moment: "compatible" (see the module's comment).
    fn resolve(&self, wall: DateTime) -> Option<ZonedDateTime> {
        self.zone
            .to_ambiguous_zoned_datetime(wall)
            .compatible()
            .ok()
    }
}

/// Midnight after `last` in `zone`: `None` past what jiff can represent (about 9999-12-30).
fn dated_end(last: Date, zone: &TimeZone) -> Option<ZonedDateTime> {
    last.tomorrow().ok()?.to_zoned_datetime(zone.clone()).ok()
}

fn contains(start: &ZonedDateTime, end: &ZonedDateTime, now: Timestamp) -> bool {
    start.timestamp() <= now && now < end.timestamp()
}

fn parse_line(n: usize, line: &str) -> Result<Rule, InputError> {
    let bad = |message: String| InputError {
        input: INPUT,
        line: Some((n, line.to_string())),
        message,
    };
    let Some((pattern, written)) = crate::lines::split_pair(line) else {
        return Err(bad(format!(
            "expected `ENVIRONMENT-GLOB: WINDOW` (a colon and a space between them), {EXAMPLE}"
        )));
    };
    if pattern.is_empty() || written.is_empty() {
        return Err(bad(format!(
            "expected `ENVIRONMENT-GLOB: WINDOW`, with both sides filled in, {EXAMPLE}"
        )));
    }
    // Environment names are names, not paths: `*` crosses `/` too. GitHub compares them without
    // case, and so does the glob.
    let matcher = GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
        .map_err(|e| bad(crate::lines::glob_error(pattern, &e)))?
        .compile_matcher();
    let (window, zone_name) = parse_window(written).map_err(bad)?;
    let zone = TimeZone::get(&zone_name).map_err(|_| {
        bad(format!(
            "`{zone_name}` is not an IANA time zone; write one such as `Europe/Berlin` or `America/New_York` after the window (without one, the window is in UTC), {EXAMPLE}"
        ))
    })?;
    if let Window::Dated { first, last } = &window {
        let starts = first.to_zoned_datetime(zone.clone()).is_ok();
        if !starts || dated_end(*last, &zone).is_none() {
            return Err(bad(format!(
                "the window ends at midnight after {last} in {zone_name}, past the last moment rollout can reckon with (9999-12-30 22:00 UTC), so it could never be checked; end it earlier (to stop deploys for good, use `step: lock`), {EXAMPLE}"
            )));
        }
    }
    Ok(Rule {
        line: n,
        pattern: pattern.to_string(),
        matcher,
        written: written.split_whitespace().collect::<Vec<_>>().join(" "),
        window,
        zone,
    })
}

/// `Fri 18:00 - Mon 08:00 [ZONE]` or `2026-12-20 - 2027-01-04 [ZONE]`; the zone's name is
/// checked by the caller.
fn parse_window(text: &str) -> Result<(Window, String), String> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let Some(dash) = words.iter().position(|w| *w == "-") else {
        return Err(format!(
            "a window is `START - END` with a space on each side of the `-`, {EXAMPLE}"
        ));
    };
    let (left, right) = (&words[..dash], &words[dash + 1..]);
    match left {
        [day, time] => {
            let (end_words, zone) = split_zone(right, 2);
            let [end_day, end_time] = end_words else {
                return Err(format!(
                    "a weekly window ends with a day and a time (`Mon 08:00`), then optionally a time zone, {EXAMPLE}"
                ));
            };
            let start = (weekday(day)?, clock(time)?);
            let end = (weekday(end_day)?, clock(end_time)?);
            if start == end {
                return Err(format!(
                    "the window starts and ends at the same time, so it is empty (or the whole week: write no line, or `Mon 00:00 - Sun 23:59`), {EXAMPLE}"
                ));
            }
            Ok((Window::Weekly { start, end }, zone))
        }
        [first] if weekday(first).is_ok() => Err(format!(
            "a weekly window needs a time after each day (`Fri 18:00 - Mon 08:00`), {EXAMPLE}"
        )),
        [first] => {
            let (end_words, zone) = split_zone(right, 1);
            let [last] = end_words else {
                return Err(format!(
                    "a dated window ends with one date (`2027-01-04`), then optionally a time zone, {EXAMPLE}"
                ));
            };
            let (first, last) = (date(first)?, date(last)?);
            if last < first {
                return Err(format!(
                    "the window ends ({last}) before it starts ({first}); write the earlier date first, {EXAMPLE}"
                ));
            }
            Ok((Window::Dated { first, last }, zone))
        }
        _ => Err(format!(
            "a window starts with a day and a time (`Fri 18:00`) or with a date (`2026-12-20`), {EXAMPLE}"
        )),
    }
}

/// The end's words and the zone: one word more than the end takes is the zone.
fn split_zone<'a>(words: &'a [&'a str], end_len: usize) -> (&'a [&'a str], String) {
    if words.len() == end_len + 1 {
        (&words[..end_len], words[end_len].to_string())
    } else {
        (words, "UTC".to_string())
    }
}

fn weekday(word: &str) -> Result<Weekday, String> {
    let lower = word.to_ascii_lowercase();
    let days = [
        ("mon", "monday", Weekday::Monday),
        ("tue", "tuesday", Weekday::Tuesday),
        ("wed", "wednesday", Weekday::Wednesday),
        ("thu", "thursday", Weekday::Thursday),
        ("fri", "friday", Weekday::Friday),
        ("sat", "saturday", Weekday::Saturday),
        ("sun", "sunday", Weekday::Sunday),
    ];
    days.iter()
        .find(|(short, long, _)| lower == *short || lower == *long)
        .map(|(_, _, day)| *day)
        .ok_or_else(|| {
            format!("`{word}` is not a day; write one of Mon Tue Wed Thu Fri Sat Sun, {EXAMPLE}")
        })
}

/// `HH:MM`, 24-hour.
fn clock(word: &str) -> Result<Time, String> {
    let bad = || {
        format!("`{word}` is not a time of day; write 24-hour `HH:MM` such as `08:00` or `18:30`, {EXAMPLE}")
    };
    let (h, m) = word.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || m.len() != 2 || !digits(m) {
        return Err(bad());
    }
    let (h, m) = (
        h.parse::<i8>().map_err(|_| bad())?,
        m.parse::<i8>().map_err(|_| bad())?,
    );
    Time::new(h, m, 0, 0).map_err(|_| bad())
}

/// `YYYY-MM-DD`, a day that exists.
fn date(word: &str) -> Result<Date, String> {
    let bad =
        || format!("`{word}` is not a date; write `YYYY-MM-DD` such as `2026-12-20`, {EXAMPLE}");
    let parts: Vec<&str> = word.split('-').collect();
    let [y, m, d] = parts[..] else {
        return Err(bad());
    };
    let digits = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return Err(bad());
    }
    let number = |s: &str| s.parse::<i16>().map_err(|_| bad());
    let (y, m, d) = (number(y)?, number(m)?, number(d)?);
    Date::new(y, m as i8, d as i8).map_err(|_| bad())
}

/// The time `rollout plan --now` takes: RFC 3339 with its offset (`2026-12-24T10:00:00Z`).
pub fn parse_now(text: &str) -> Result<Timestamp, String> {
    text.trim().parse::<Timestamp>().map_err(|_| {
        format!(
            "`--now {text}` is not a time: write it in RFC 3339 with its offset, such as `2026-12-24T10:00:00Z` or `2026-12-24T11:00:00+01:00`"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn rules(text: &str) -> FreezeRules {
        FreezeRules::parse(text).unwrap()
    }

    fn frozen(text: &str, env: &str, now: &str) -> Option<Frozen> {
        rules(text).check(env, at(now))
    }

    fn error(text: &str) -> InputError {
        FreezeRules::parse(text).unwrap_err()
    }

    fn is_frozen(text: &str, now: &str) -> bool {
        frozen(text, "production", now).is_some()
    }

    #[test]
    fn a_weekly_window_that_wraps_the_week_holds_from_friday_evening_to_monday_morning() {
        let line = "production: Fri 18:00 - Mon 08:00";
        // 2026-12-18 is a Friday.
        assert!(!is_frozen(line, "2026-12-18T17:59:59Z"));
        assert!(is_frozen(line, "2026-12-18T18:00:00Z"));
        assert!(is_frozen(line, "2026-12-20T12:00:00Z"));
        assert!(is_frozen(line, "2026-12-21T07:59:59Z"));
        assert!(!is_frozen(line, "2026-12-21T08:00:00Z"));
        assert!(!is_frozen(line, "2026-12-23T12:00:00Z"));
        let f = frozen(line, "production", "2026-12-20T12:00:00Z").unwrap();
        assert_eq!(f.start.timestamp(), at("2026-12-18T18:00:00Z"));
        assert_eq!(
            f.end.clone().unwrap().timestamp(),
            at("2026-12-21T08:00:00Z")
        );
    }

    #[test]
    fn a_weekly_window_on_one_day_and_one_that_wraps_almost_the_whole_week() {
        let short = "production: Wed 10:00 - Wed 12:00";
        assert!(is_frozen(short, "2026-12-16T11:00:00Z"));
        assert!(!is_frozen(short, "2026-12-16T12:00:00Z"));
        assert!(!is_frozen(short, "2026-12-17T11:00:00Z"));
        // End before start on the same day: it runs through the week to the next Wednesday.
        let long = "production: Wed 12:00 - Wed 10:00";
        assert!(is_frozen(long, "2026-12-16T12:00:00Z"));
        assert!(is_frozen(long, "2026-12-20T00:00:00Z"));
        assert!(is_frozen(long, "2026-12-23T09:59:59Z"));
        assert!(!is_frozen(long, "2026-12-23T10:00:00Z"));
        assert!(!is_frozen(long, "2026-12-23T11:59:59Z"));
    }

    #[test]
    fn berlin_spring_forward_a_window_inside_the_night_of_the_change() {
        // 2026-03-29: at 02:00 CET the clocks jump to 03:00 CEST.
        let line = "production: Sun 01:00 - Sun 04:00 Europe/Berlin";
        // 01:00 CET is 00:00 UTC; 04:00 CEST is 02:00 UTC: two real hours.
        assert!(!is_frozen(line, "2026-03-28T23:59:59Z"));
        assert!(is_frozen(line, "2026-03-29T00:00:00Z"));
        assert!(is_frozen(line, "2026-03-29T01:59:59Z"));
        assert!(!is_frozen(line, "2026-03-29T02:00:00Z"));
        // A week later, both ends in CEST: 23:00 and 02:00 UTC, three hours.
        assert!(is_frozen(line, "2026-04-04T23:00:00Z"));
        assert!(!is_frozen(line, "2026-04-04T22:59:59Z"));
    }

    #[test]
    fn berlin_a_start_in_the_spring_gap_moves_forward_by_the_gap() {
        // 02:30 does not exist on 2026-03-29 in Berlin: "compatible" makes it 03:30 CEST.
        let line = "production: Sun 02:30 - Sun 04:00 Europe/Berlin";
        assert!(!is_frozen(line, "2026-03-29T01:29:59Z"));
        assert!(is_frozen(line, "2026-03-29T01:30:00Z"));
        let f = frozen(line, "production", "2026-03-29T01:45:00Z").unwrap();
        assert_eq!(f.start.strftime("%H:%M %Z").to_string(), "03:30 CEST");
        assert!(!is_frozen(line, "2026-03-29T02:00:00Z"));
    }

    #[test]
    fn berlin_fall_back_a_start_in_the_fold_is_its_first_occurrence() {
        // 2026-10-25: at 03:00 CEST the clocks go back to 02:00 CET; 02:30 happens twice.
        let line = "production: Sun 02:30 - Sun 05:00 Europe/Berlin";
        // The first 02:30 (CEST) is 00:30 UTC; 05:00 CET is 04:00 UTC.
        assert!(!is_frozen(line, "2026-10-25T00:29:59Z"));
        assert!(is_frozen(line, "2026-10-25T00:30:00Z"));
        // The second 02:15 (CET, 01:15 UTC) reads earlier on the wall than 02:30, but is
        // after the start in real time.
        assert!(is_frozen(line, "2026-10-25T01:15:00Z"));
        assert!(is_frozen(line, "2026-10-25T03:59:59Z"));
        assert!(!is_frozen(line, "2026-10-25T04:00:00Z"));
    }

    #[test]
    fn a_weekend_window_keeps_its_wall_times_across_berlins_changes() {
        let line = "production: Fri 18:00 - Mon 08:00 Europe/Berlin";
        // Spring: starts Fri 2026-03-27 18:00 CET (17:00 UTC), ends Mon 03-30 08:00 CEST (06:00 UTC).
        assert!(!is_frozen(line, "2026-03-27T16:59:59Z"));
        assert!(is_frozen(line, "2026-03-27T17:00:00Z"));
        assert!(is_frozen(line, "2026-03-30T05:59:59Z"));
        assert!(!is_frozen(line, "2026-03-30T06:00:00Z"));
        // Autumn: starts Fri 2026-10-23 18:00 CEST (16:00 UTC), ends Mon 10-26 08:00 CET (07:00 UTC).
        assert!(!is_frozen(line, "2026-10-23T15:59:59Z"));
        assert!(is_frozen(line, "2026-10-23T16:00:00Z"));
        assert!(is_frozen(line, "2026-10-26T06:59:59Z"));
        assert!(!is_frozen(line, "2026-10-26T07:00:00Z"));
    }

    #[test]
    fn new_york_spring_forward_and_fall_back() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT. The window's 01:00 EST is 06:00 UTC and
        // its 04:00 EDT is 08:00 UTC.
        let line = "production: Sun 01:00 - Sun 04:00 America/New_York";
        assert!(!is_frozen(line, "2026-03-08T05:59:59Z"));
        assert!(is_frozen(line, "2026-03-08T06:00:00Z"));
        assert!(is_frozen(line, "2026-03-08T07:59:59Z"));
        assert!(!is_frozen(line, "2026-03-08T08:00:00Z"));
        // 2026-11-01: 02:00 EDT goes back to 01:00 EST; 01:00 EDT (the first) is 05:00 UTC,
        // 04:00 EST is 09:00 UTC: four real hours.
        assert!(!is_frozen(line, "2026-11-01T04:59:59Z"));
        assert!(is_frozen(line, "2026-11-01T05:00:00Z"));
        assert!(is_frozen(line, "2026-11-01T08:59:59Z"));
        assert!(!is_frozen(line, "2026-11-01T09:00:00Z"));
        let f = frozen(line, "production", "2026-11-01T06:30:00Z").unwrap();
        assert_eq!(f.start.strftime("%H:%M %Z").to_string(), "01:00 EDT");
        assert_eq!(
            f.end.clone().unwrap().strftime("%H:%M %Z").to_string(),
            "04:00 EST"
        );
    }

    #[test]
    fn new_york_evening_window_follows_the_wall_clock() {
        let line = "production: Fri 17:00 - Sat 09:00 America/New_York";
        // Before the change (EST, UTC-5) and after it (EDT, UTC-4).
        assert!(is_frozen(line, "2026-03-06T22:00:00Z"));
        assert!(!is_frozen(line, "2026-03-06T21:59:59Z"));
        assert!(is_frozen(line, "2026-03-13T21:00:00Z"));
        assert!(!is_frozen(line, "2026-03-13T20:59:59Z"));
    }

    #[test]
    fn a_dated_window_covers_whole_days_in_its_zone() {
        let line = "production: 2026-12-20 - 2027-01-04 Europe/Berlin";
        // Midnight in Berlin (CET) is 23:00 UTC the day before.
        assert!(!is_frozen(line, "2026-12-19T22:59:59Z"));
        assert!(is_frozen(line, "2026-12-19T23:00:00Z"));
        assert!(
            is_frozen(line, "2027-01-04T22:59:59Z"),
            "the end day is included"
        );
        assert!(
            !is_frozen(line, "2027-01-04T23:00:00Z"),
            "the next midnight is out"
        );
        let f = frozen(line, "production", "2026-12-24T10:00:00Z").unwrap();
        assert_eq!(
            f.start.to_string(),
            "2026-12-20T00:00:00+01:00[Europe/Berlin]"
        );
        assert_eq!(
            f.end.clone().unwrap().to_string(),
            "2027-01-05T00:00:00+01:00[Europe/Berlin]"
        );
    }

    #[test]
    fn a_dated_window_of_one_day_in_utc() {
        let line = "production: 2026-12-24 - 2026-12-24";
        assert!(!is_frozen(line, "2026-12-23T23:59:59Z"));
        assert!(is_frozen(line, "2026-12-24T00:00:00Z"));
        assert!(is_frozen(line, "2026-12-24T23:59:59Z"));
        assert!(!is_frozen(line, "2026-12-25T00:00:00Z"));
    }

    #[test]
    fn environments_match_by_glob_without_case() {
        let r = rules("prod*: 2026-12-20 - 2026-12-31\nreview/*: 2026-12-20 - 2026-12-31");
        let now = at("2026-12-24T10:00:00Z");
        assert!(r.check("production", now).is_some());
        assert!(r.check("Production-EU", now).is_some());
        assert!(r.check("PROD", now).is_some());
        assert!(r.check("Review/PR-4", now).is_some());
        assert!(r.check("staging", now).is_none());
        assert!(r.check("preprod", now).is_none());
    }

    #[test]
    fn the_first_matching_line_whose_window_holds_wins() {
        let r = rules(
            "# the holidays\nstaging: 2026-12-20 - 2026-12-31\n\nprod*: Thu 00:00 - Fri 00:00\nproduction: 2026-12-20 - 2026-12-31\n*: 2026-12-01 - 2026-12-31",
        );
        // 2026-12-24 is a Thursday: line 4 holds, before line 5.
        let f = r.check("production", at("2026-12-24T10:00:00Z")).unwrap();
        assert_eq!((f.line, f.pattern.as_str()), (4, "prod*"));
        assert_eq!(f.window, "Thu 00:00 - Fri 00:00");
        // On the Friday line 4 does not hold, so line 5 does.
        let f = r.check("production", at("2026-12-25T10:00:00Z")).unwrap();
        assert_eq!(f.line, 5);
        let f = r.check("qa", at("2026-12-05T10:00:00Z")).unwrap();
        assert_eq!(f.line, 6);
        assert!(r.check("qa", at("2027-01-05T10:00:00Z")).is_none());
    }

    #[test]
    fn the_sentence_names_the_line_the_times_and_the_ways_out() {
        let r = rules("production: Fri 18:00 - Mon 08:00 Europe/Berlin");
        let f = r.check("production", at("2026-12-19T12:00:00Z")).unwrap();
        assert_eq!(
            f.sentence("production"),
            "Deploys to `production` are frozen by line 1 of `freeze` (`production: Fri 18:00 - Mon 08:00 Europe/Berlin`) since Fri 2026-12-18 18:00 CET until Mon 2026-12-21 08:00 CET; to deploy anyway, set `override-freeze: REASON` on the step, or change `freeze`"
        );
    }

    #[test]
    fn empty_input_freezes_nothing() {
        let r = rules("\n# nothing yet\n");
        assert!(r.is_empty());
        assert!(r.check("production", at("2026-12-24T10:00:00Z")).is_none());
        assert!(!rules("*: Mon 00:00 - Tue 00:00").is_empty());
    }

    #[test]
    fn day_names_may_be_long_or_any_case() {
        let r = rules("production: friday 18:00 - MON 08:00");
        assert!(r.check("production", at("2026-12-19T12:00:00Z")).is_some());
    }

    #[test]
    fn every_bad_line_says_which_what_and_how() {
        let cases = [
            ("production Fri 18:00 - Mon 08:00", "colon and a space"),
            ("production: Fry 18:00 - Mon 08:00", "`Fry` is not a day"),
            (
                "production: Fri 18:00 - Mon 8am",
                "`8am` is not a time of day",
            ),
            (
                "production: Fri 24:00 - Mon 08:00",
                "`24:00` is not a time of day",
            ),
            (
                "production: Fri 18:60 - Mon 08:00",
                "`18:60` is not a time of day",
            ),
            (
                "production: Fri 18:00 - Mon 08:00 Europe/Berln",
                "`Europe/Berln` is not an IANA time zone",
            ),
            (
                "production: 2027-01-04 - 2026-12-20",
                "ends (2026-12-20) before it starts (2027-01-04)",
            ),
            (
                "production: 2026-02-30 - 2026-03-01",
                "`2026-02-30` is not a date",
            ),
            (
                "production: 2026-12-20-2027-01-04",
                "space on each side of the `-`",
            ),
            (
                "production: Fri 18:00 - Fri 18:00",
                "starts and ends at the same time",
            ),
            (
                "production: Fri 18:00 - 2027-01-04",
                "ends with a day and a time",
            ),
            ("production: 2026-12-20 - Mon 08:00", "`Mon` is not a date"),
            (
                "production: 2026-12-20 - 2026-12-21 Europe/Berlin x",
                "ends with one date",
            ),
            ("production: Fri - Mon", "needs a time after each day"),
            (
                "production: Fri 18:00 Sat - Mon 08:00",
                "starts with a day and a time",
            ),
            (
                "production: Fri 18:00 - Mon 08:00 Europe/Berlin extra",
                "ends with a day and a time",
            ),
            ("[prod: Fri 18:00 - Mon 08:00", "is not a valid glob"),
            ("- production: Fri 18:00 - Mon 08:00", "not a YAML list"),
        ];
        for (line, expected) in cases {
            let e = error(&format!("# calendar\n{line}"));
            assert_eq!(e.input, "freeze");
            assert_eq!(e.line, Some((2, line.to_string())), "{line}");
            assert!(e.message.contains(expected), "{line}: {}", e.message);
            if !expected.contains("YAML") && !expected.contains("glob") {
                assert!(
                    e.message.contains("e.g. `production:"),
                    "{line}: {}",
                    e.message
                );
            }
        }
    }

    fn until(text: &str, now: &str) -> Option<String> {
        frozen(text, "production", now)
            .unwrap()
            .end
            .map(|end| end.timestamp().to_string())
    }

    #[test]
    fn a_weekly_window_inside_a_dated_one_resumes_when_the_dated_one_ends() {
        // The case: line 1 matches first and ends Mon 2026-12-28, but line 2 holds then.
        let text = "production: Fri 18:00 - Mon 08:00\nproduction: 2026-12-20 - 2027-01-04";
        let f = frozen(text, "production", "2026-12-26T12:00:00Z").unwrap();
        assert_eq!(
            f.line, 1,
            "the sentence still names the first line that matched"
        );
        assert_eq!(f.start.timestamp(), at("2026-12-25T18:00:00Z"));
        assert_eq!(
            f.end.clone().unwrap().timestamp(),
            at("2027-01-05T00:00:00Z")
        );
        assert!(f
            .sentence("production")
            .contains("since Fri 2026-12-25 18:00 UTC until Tue 2027-01-05 00:00 UTC"));
        // Before the dated window begins, the weekly one ends on its own.
        assert_eq!(
            until(text, "2026-12-12T12:00:00Z").as_deref(),
            Some("2026-12-14T08:00:00Z")
        );
    }

    #[test]
    fn a_dated_window_that_a_weekly_one_touches_or_overlaps_resumes_at_the_weekly_end() {
        // Dated ends Sat 2026-12-26 00:00, inside Fri 18:00 - Mon 08:00.
        let text = "production: 2026-12-20 - 2026-12-25\nproduction: Fri 18:00 - Mon 08:00";
        assert_eq!(
            until(text, "2026-12-22T12:00:00Z").as_deref(),
            Some("2026-12-28T08:00:00Z")
        );
        // Touching: one ends at the moment the next begins.
        let text = "production: Fri 18:00 - Sat 00:00\nproduction: Sat 00:00 - Mon 08:00";
        assert_eq!(
            until(text, "2026-12-18T19:00:00Z").as_deref(),
            Some("2026-12-21T08:00:00Z")
        );
        // A gap of a minute is a moment to deploy in: the first window's end stands.
        let text = "production: Fri 18:00 - Sat 00:00\nproduction: Sat 00:01 - Mon 08:00";
        assert_eq!(
            until(text, "2026-12-18T19:00:00Z").as_deref(),
            Some("2026-12-19T00:00:00Z")
        );
    }

    #[test]
    fn only_lines_matching_the_environment_extend_the_run() {
        let text = "production: Fri 18:00 - Mon 08:00\nstaging: 2026-12-20 - 2027-01-04\nprod*: Mon 08:00 - Mon 09:00";
        assert_eq!(
            until(text, "2026-12-26T12:00:00Z").as_deref(),
            Some("2026-12-28T09:00:00Z")
        );
    }

    #[test]
    fn the_run_of_windows_crosses_daylight_saving_changes_and_zones() {
        // Spring, Berlin: 02:30 does not exist on 2026-03-29; both lines resolve it to 03:30
        // CEST, so they still touch, and the run ends at 06:00 CEST (04:00 UTC).
        let text = "production: Sat 00:00 - Sun 02:30 Europe/Berlin\nproduction: Sun 02:30 - Sun 06:00 Europe/Berlin";
        assert_eq!(
            until(text, "2026-03-28T12:00:00Z").as_deref(),
            Some("2026-03-29T04:00:00Z")
        );
        // Autumn, Berlin: a dated day ends at Sun 2026-10-25 00:00 CEST, and a weekly window
        // runs on through the fold to 05:00 CET (04:00 UTC).
        let text = "production: 2026-10-24 - 2026-10-24 Europe/Berlin\nproduction: Sun 00:00 - Sun 05:00 Europe/Berlin";
        let f = frozen(text, "production", "2026-10-24T12:00:00Z").unwrap();
        let end = f.end.clone().unwrap();
        assert_eq!(end.timestamp(), at("2026-10-25T04:00:00Z"));
        assert_eq!(end.strftime("%H:%M %Z").to_string(), "05:00 CET");
        // Lines in different zones: a UTC day, then New York's evening (18:00 EST is 23:00 UTC,
        // before the UTC day ends) to 09:00 EST.
        let text = "production: 2026-12-24 - 2026-12-24\nproduction: Thu 18:00 - Fri 09:00 America/New_York";
        let f = frozen(text, "production", "2026-12-24T12:00:00Z").unwrap();
        let end = f.end.clone().unwrap();
        assert_eq!(end.timestamp(), at("2026-12-25T14:00:00Z"));
        assert!(f
            .sentence("production")
            .contains("until Fri 2026-12-25 09:00 EST"));
    }

    #[test]
    fn weekly_windows_that_cover_the_whole_week_have_no_end() {
        let text = "production: Mon 00:00 - Thu 00:00\nproduction: Thu 00:00 - Mon 00:00";
        let f = frozen(text, "production", "2026-12-24T12:00:00Z").unwrap();
        assert_eq!(f.end, None);
        assert!(f.sentence("production").contains("with no end"));
        // After a long dated window too: the run goes on past it.
        let text = format!("{text}\nproduction: 2026-12-01 - 2027-06-30");
        assert_eq!(until(&text, "2026-12-24T12:00:00Z"), None);
        // Leave one minute open, and the run ends there.
        let text = "production: Mon 00:00 - Thu 00:00\nproduction: Thu 00:00 - Sun 23:59";
        assert_eq!(
            until(text, "2026-12-24T12:00:00Z").as_deref(),
            Some("2026-12-27T23:59:00Z")
        );
    }

    #[test]
    fn a_dated_window_past_what_can_be_reckoned_with_is_bad_input() {
        // The last representable moment is 9999-12-30 22:00 UTC: a window whose end (midnight
        // after its last day, in its zone) lies past it is refused, never read as no window.
        for line in [
            "production: 2026-12-20 - 9999-12-30",
            "production: 2026-12-20 - 9999-12-31",
            "production: 9999-12-31 - 9999-12-31",
            "production: 2026-12-20 - 9999-12-30 America/New_York",
        ] {
            let e = error(line);
            assert_eq!(e.line, Some((1, line.to_string())));
            assert!(
                e.message
                    .contains("past the last moment rollout can reckon with"),
                "{line}: {}",
                e.message
            );
        }
        // Just inside the edge: accepted, and it blocks.
        let line = "production: 2026-12-20 - 9999-12-29";
        assert!(is_frozen(line, "2026-12-24T10:00:00Z"));
        assert!(is_frozen(line, "9999-12-29T23:59:59Z"));
        assert_eq!(
            until(line, "2026-12-24T10:00:00Z").as_deref(),
            Some("9999-12-30T00:00:00Z")
        );
        // East of UTC, the 30th's midnight after comes before the edge.
        let line = "production: 2026-12-20 - 9999-12-30 Pacific/Kiritimati";
        assert!(is_frozen(line, "9999-12-30T09:59:59Z"));
        assert!(!is_frozen(line, "9999-12-30T10:00:00Z"));
        // A weekly window near the edge ends the run where it can.
        let line = "production: 2026-12-20 - 9999-12-29\nproduction: Wed 00:00 - Thu 00:00";
        assert!(is_frozen(line, "2026-12-24T10:00:00Z"));
    }

    #[test]
    fn now_is_rfc3339_with_an_offset() {
        assert_eq!(
            parse_now("2026-12-24T10:00:00Z").unwrap(),
            at("2026-12-24T10:00:00Z")
        );
        assert_eq!(
            parse_now("2026-12-24T11:00:00+01:00").unwrap(),
            at("2026-12-24T10:00:00Z")
        );
        let e = parse_now("2026-12-24 10:00").unwrap_err();
        assert!(
            e.contains("`--now 2026-12-24 10:00` is not a time") && e.contains("RFC 3339"),
            "{e}"
        );
        assert!(parse_now("tomorrow").is_err());
    }
}
