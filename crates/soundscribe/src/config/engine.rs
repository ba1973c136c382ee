//! Engine batching settings.

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

/// Dynamic batching of windows across sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Run a batch as soon as this many windows are waiting.
    pub max_batch: usize,
    /// Or when the oldest waiting window has waited this long (milliseconds).
    pub max_wait_ms: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_batch: 8,
            max_wait_ms: 50,
        }
    }
}

impl EngineConfig {
    pub(super) fn validate(&self, at: &str, issues: &mut Vec<ConfigIssue>) {
        if !(1..=256).contains(&self.max_batch) {
            issues.push(ConfigIssue::new(
                format!("{at}.max_batch"),
                format!("must be in [1, 256], got {}", self.max_batch),
            ));
        }
        if self.max_wait_ms > 10_000 {
            issues.push(ConfigIssue::new(
                format!("{at}.max_wait_ms"),
                format!("must be ≤ 10000, got {}", self.max_wait_ms),
            ));
        }
    }
}
