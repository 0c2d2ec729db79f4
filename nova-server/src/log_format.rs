//! The format of the server's log lines: tracing-subscriber's default
//! ("full") format with [`LogClock`]'s timestamps, the access log's line
//! written without going through its general machinery.
//!
//! The access log writes one line for every request, and formatting it the
//! general way (each field name painted through `nu_ansi_term` even with
//! colours off, each value through a `Debug` wrapper) was the larger part of
//! what the line cost, more than the token check and the router of a
//! request together. Its line is written here directly, byte for byte as the
//! general formatter writes it; every other line goes to that formatter.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{Format, Full, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::access_log::ACCESS_LOG_TARGET;
use crate::LogClock;

/// A [`FormatEvent`] that writes what tracing-subscriber's default format
/// with [`LogClock`] writes, the access log's lines at a fraction of the
/// cost.
///
/// ```
/// use nova_server::LogFormat;
///
/// let subscriber = tracing_subscriber::fmt()
///     .with_ansi(false)
///     .event_format(LogFormat::default())
///     .finish();
/// # drop(subscriber);
/// ```
#[derive(Debug, Clone)]
pub struct LogFormat {
    full: Format<Full, LogClock>,
}

impl Default for LogFormat {
    fn default() -> Self {
        LogFormat {
            full: tracing_subscriber::fmt::format().with_timer(LogClock),
        }
    }
}

impl<S, N> FormatEvent<S, N> for LogFormat
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
        let meta = event.metadata();
        // Colours, and the spans a line is written in, are the general
        // formatter's to write; the edge logs outside every span.
        if meta.target() != ACCESS_LOG_TARGET
            || writer.has_ansi_escapes()
            || ctx.event_scope().is_some()
        {
            return self.full.format_event(ctx, writer, event);
        }
        if LogClock.format_time(&mut writer).is_err() {
            writer.write_str("<unknown time>")?;
        }
        writer.write_char(' ')?;
        writer.write_str(level_text(meta.level()))?;
        writer.write_char(' ')?;
        writer.write_str(meta.target())?;
        writer.write_str(": ")?;
        let mut fields = PlainFields {
            writer: &mut writer,
            first: true,
            result: Ok(()),
        };
        event.record(&mut fields);
        fields.result?;
        writer.write_char('\n')
    }
}

/// A level as the default format writes it without colours: right-aligned
/// in five characters.
fn level_text(level: &Level) -> &'static str {
    match *level {
        Level::TRACE => "TRACE",
        Level::DEBUG => "DEBUG",
        Level::INFO => " INFO",
        Level::WARN => " WARN",
        _ => "ERROR",
    }
}

/// Writes fields as tracing-subscriber's default field formatter does
/// without colours: separated by spaces, the message alone, every other
/// field as `name=value` with the value's `Debug` form. The message is not
/// escaped as the default formatter escapes it: the only event written here
/// is the access log's, whose message is a fixed word.
struct PlainFields<'a, 'w> {
    writer: &'a mut Writer<'w>,
    first: bool,
    result: fmt::Result,
}

impl PlainFields<'_, '_> {
    /// Starts a field: a space before every one but the first, then its
    /// name and `=` unless it is the message. False if writing failed.
    fn start(&mut self, field: &Field) -> bool {
        if self.result.is_err() {
            return false;
        }
        if self.first {
            self.first = false;
        } else {
            self.result = self.writer.write_char(' ');
        }
        let name = field.name();
        if name != "message" {
            let name = name.strip_prefix("r#").unwrap_or(name);
            self.result = self
                .result
                .and_then(|()| self.writer.write_str(name))
                .and_then(|()| self.writer.write_char('='));
        }
        self.result.is_ok()
    }
}

impl Visit for PlainFields<'_, '_> {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.start(field) {
            self.result = write_decimal(self.writer, value, false);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.start(field) {
            self.result = write_decimal(self.writer, value.unsigned_abs(), value < 0);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // As the default formatter: the message as it is, other text quoted.
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if self.start(field) {
            self.result = write!(self.writer, "{value:?}");
        }
    }
}

/// Writes `value` in decimal, after a minus sign if `negative`, without the
/// general formatting machinery.
fn write_decimal(writer: &mut impl fmt::Write, mut value: u64, negative: bool) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if negative {
        writer.write_char('-')?;
    }
    // Only ASCII digits were written.
    writer.write_str(std::str::from_utf8(&digits[start..]).unwrap_or("0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    /// Lines written to memory.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Captured {
        /// Every line without its timestamp, which differs between runs.
        fn lines(&self) -> Vec<String> {
            String::from_utf8(self.0.lock().unwrap().clone())
                .unwrap()
                .lines()
                .map(|line| line.split_once(' ').unwrap().1.to_owned())
                .collect()
        }
    }

    /// The lines a few events make: the access log's (with and without a
    /// request id, inside and outside a span) and others.
    fn log_some_events() {
        let method = http::Method::GET;
        let id = "req-1b4e28ba-2fa1-11d2-883f-0016d3cca427";
        crate::access_log::log_request(
            &method,
            "/instances/abc",
            http::StatusCode::OK,
            &http::HeaderMap::new(),
            std::time::Duration::from_micros(37),
        );
        let mut headers = http::HeaderMap::new();
        headers.insert(nova_filters::OPENSTACK_REQUEST_ID, id.parse().unwrap());
        crate::access_log::log_request(
            &http::Method::from_bytes(b"PURGE").unwrap(),
            "/",
            http::StatusCode::FORBIDDEN,
            &headers,
            std::time::Duration::from_secs(3),
        );
        tracing::info!(count = 3u64, delta = -2i64, name = "x", "some other line");
        let span = tracing::info_span!("request", request_id = %id);
        let _entered = span.enter();
        crate::access_log::log_request(
            &method,
            "/v2.1/servers",
            http::StatusCode::NOT_FOUND,
            &headers,
            std::time::Duration::ZERO,
        );
        tracing::warn!(reason = %"none", "inside a span");
    }

    fn lines_with<E>(format: E) -> Vec<String>
    where
        E: FormatEvent<
                tracing_subscriber::Registry,
                tracing_subscriber::fmt::format::DefaultFields,
            > + Send
            + Sync
            + 'static,
    {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(captured.clone())
            .event_format(format)
            .finish();
        tracing::subscriber::with_default(subscriber, log_some_events);
        captured.lines()
    }

    #[test]
    fn lines_are_written_byte_for_byte_as_the_default_format_writes_them() {
        let ours = lines_with(LogFormat::default());
        let default = lines_with(tracing_subscriber::fmt::format().with_timer(LogClock));
        assert_eq!(ours.len(), 5, "{ours:#?}");
        assert_eq!(ours, default);
        assert_eq!(
            ours[0],
            " INFO nova::access: request method=GET path=/instances/abc status=200 latency_us=37"
        );
    }

    #[test]
    fn numbers_are_written_in_decimal() {
        for (value, negative, text) in [
            (0, false, "0"),
            (7, false, "7"),
            (1_234_567_890, false, "1234567890"),
            (u64::MAX, false, "18446744073709551615"),
            (i64::MIN.unsigned_abs(), true, "-9223372036854775808"),
        ] {
            let mut out = String::new();
            write_decimal(&mut out, value, negative).unwrap();
            assert_eq!(out, text);
        }
    }
}
