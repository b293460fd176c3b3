//! tracing -> the job log: info lines as plain text, warnings and errors as annotations, debug
//! detail (only with `RUNNER_DEBUG=1`) as `::debug::` lines.

use crate::runtime::escape_data;
use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

struct ActionsFormat;

impl<S, N> FormatEvent<S, N> for ActionsFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut message = String::new();
        ctx.format_fields(Writer::new(&mut message), event)?;
        match *event.metadata().level() {
            Level::ERROR => writeln!(writer, "::error::{}", escape_data(&message)),
            Level::WARN => writeln!(writer, "::warning::{}", escape_data(&message)),
            Level::INFO => writeln!(writer, "{message}"),
            _ => writeln!(writer, "::debug::{}", escape_data(&message)),
        }
    }
}

/// Logs rollout's own events only: the HTTP stack reports through rollout's errors, never by itself.
pub fn init(debug: bool) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let own = if debug { Level::DEBUG } else { Level::INFO };
    let filter = Targets::new().with_target("rollout", own);
    let layer = tracing_subscriber::fmt::layer()
        .event_format(ActionsFormat)
        .with_writer(|| {
            // A line the command left open would swallow this one (and an annotation with it).
            crate::runtime::end_open_line();
            std::io::stdout()
        });
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}
