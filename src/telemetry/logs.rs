//! Logging: one line per event on stderr, plain text or JSON, colour only
//! on a terminal, with a filter that can change while running (the admin
//! endpoint's `/log-level`, through tracing-subscriber's reload layer).

use std::io::IsTerminal;
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use serde::{Deserialize, Serialize};
use tracing_subscriber::field::MakeExt;
use tracing_subscriber::fmt::format::{Writer, debug_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, fmt, reload};

/// The filter when neither `--log-level` (its variable, `[log] level`) nor
/// `RUST_LOG` says otherwise.
pub const DEFAULT_LEVEL: &str = "info";

/// How each log line is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `2026-01-01T00:00:00Z  INFO target: message key=value`.
    #[default]
    Plain,
    /// One JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Plain => "plain",
            LogFormat::Json => "json",
        }
    }
}

/// What [`init`] installs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogSettings {
    /// An `EnvFilter` directive.
    pub filter: String,
    pub format: LogFormat,
}

/// A filter directive that does not parse (`EnvFilter`'s syntax).
#[derive(Debug, thiserror::Error)]
#[error("invalid log filter {directive:?}: {reason}")]
pub struct BadFilter {
    pub directive: String,
    pub reason: String,
}

/// Parses `directive` as an `EnvFilter` (`info`, `switchyard=debug,kube=warn`).
pub fn parse_filter(directive: &str) -> Result<EnvFilter, BadFilter> {
    EnvFilter::builder()
        .parse(directive.trim())
        .map_err(|e| BadFilter {
            directive: directive.to_owned(),
            reason: e.to_string(),
        })
}

/// The filter to install: `configured` (flag, variable or file) if given,
/// else `RUST_LOG` if set, else `default`.
pub fn choose_filter(configured: Option<&str>, rust_log: Option<&str>, default: &str) -> String {
    configured
        .or(rust_log.filter(|v| !v.trim().is_empty()))
        .unwrap_or(default)
        .trim()
        .to_owned()
}

/// The installed filter, readable and replaceable while running.
#[derive(Clone)]
pub struct LogLevel {
    reload: reload::Handle<EnvFilter, Registry>,
    current: Arc<RwLock<String>>,
}

impl LogLevel {
    /// The directive in force.
    pub fn current(&self) -> String {
        self.current.read().clone()
    }

    /// Replaces the filter; a directive that does not parse changes nothing.
    pub fn set(&self, directive: &str) -> Result<(), BadFilter> {
        let filter = parse_filter(directive)?;
        let mut current = self.current.write();
        self.reload.reload(filter).map_err(|e| BadFilter {
            directive: directive.to_owned(),
            reason: e.to_string(),
        })?;
        *current = directive.trim().to_owned();
        Ok(())
    }
}

static INSTALLED: OnceLock<LogLevel> = OnceLock::new();

/// The process's filter control, once [`init`] has run.
pub fn installed() -> Option<LogLevel> {
    INSTALLED.get().cloned()
}

/// Whether [`init`] has run.
pub fn is_initialised() -> bool {
    INSTALLED.get().is_some()
}

/// Installs the global subscriber: stderr, `format`, filtered by `filter`.
/// A second call changes nothing and returns the first one's control.
pub fn init(filter: &str, format: LogFormat) -> Result<LogLevel, BadFilter> {
    if let Some(installed) = INSTALLED.get() {
        return Ok(installed.clone());
    }
    let (layer, reload) = reload::Layer::new(parse_filter(filter)?);
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let registry = tracing_subscriber::registry().with(layer);
    let installed = match format {
        LogFormat::Plain => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(ansi)
                    .fmt_fields(one_line_fields()),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(
                fmt::layer()
                    .json()
                    .with_writer(std::io::stderr)
                    .with_current_span(true)
                    .with_span_list(false),
            )
            .try_init(),
    };
    let control = LogLevel {
        reload,
        current: Arc::new(RwLock::new(filter.trim().to_owned())),
    };
    // With another subscriber already installed (a test harness's), that
    // one stays: this control then reads the directive and refuses changes
    // (the reload layer is not in use).
    let _ = installed;
    Ok(INSTALLED.get_or_init(|| control).clone())
}

/// Plain-text fields, each value on the event's one line: newlines and
/// other control characters in values (a TOML error's snippet, a
/// multi-line error chain) are escaped as `\n`, `\t`, ...
fn one_line_fields() -> impl for<'w> fmt::FormatFields<'w> + 'static {
    debug_fn(
        |writer: &mut Writer<'_>, field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
            let text = one_line(&format!("{value:?}"));
            if field.name() == "message" {
                write!(writer, "{text}")
            } else {
                write!(writer, "{}={text}", field.name())
            }
        },
    )
    .delimited(" ")
}

/// `text` with line breaks and other control characters escaped.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_level_wins_over_rust_log_which_wins_over_the_default() {
        assert_eq!(choose_filter(Some("debug"), Some("warn"), "info"), "debug");
        assert_eq!(choose_filter(None, Some("warn"), "info"), "warn");
        assert_eq!(choose_filter(None, Some(" "), "info"), "info");
        assert_eq!(choose_filter(None, None, "info"), "info");
    }

    #[test]
    fn bad_filters_name_the_directive() {
        assert!(parse_filter("switchyard=debug,kube=warn").is_ok());
        let err = parse_filter("switchyard=loud").unwrap_err().to_string();
        assert!(err.contains("switchyard=loud"), "{err}");
    }

    #[test]
    fn multi_line_values_become_one_line() {
        let toml = "TOML parse error at line 2, column 1\n  |\n2 | lisen = 1\n  | ^^^^^\n";
        let line = one_line(toml);
        assert!(!line.contains('\n'), "{line}");
        assert_eq!(
            line,
            "TOML parse error at line 2, column 1\\n  |\\n2 | lisen = 1\\n  | ^^^^^\\n"
        );
        assert_eq!(one_line("a\tb\u{1b}[0m"), "a\\tb\\u{1b}[0m");
    }
}
