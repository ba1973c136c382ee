//! Logging settings.

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal).
    Human,
    /// One JSON object per line, for journald and log shippers.
    Json,
}

/// Log level and format; `RUST_LOG` overrides `level`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// An env-filter directive, e.g. `info` or `soundscribe=debug,warn`.
    pub level: String,
    /// `human` or `json`.
    pub format: LogFormat,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            level: "info".to_owned(),
            format: LogFormat::Human,
        }
    }
}

impl LoggingConfig {
    pub(super) fn validate(&self, at: &str, issues: &mut Vec<ConfigIssue>) {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.level) {
            issues.push(ConfigIssue::new(
                format!("{at}.level"),
                format!("not a valid filter: {e}"),
            ));
        }
    }
}
