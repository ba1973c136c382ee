//! Publishing settings: ZeroMQ endpoints and the status heartbeat.

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

/// Where captions and status messages go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishingConfig {
    /// ZeroMQ PUB endpoints to bind (`tcp://HOST:PORT` or `ipc://PATH`).
    pub endpoints: Vec<String>,
    /// ZeroMQ REP endpoints answering `snapshot` with the last caption of every source,
    /// for subscribers that join late; empty to disable.
    pub snapshot_endpoints: Vec<String>,
    /// Seconds between `status` heartbeats.
    pub heartbeat_s: f64,
    /// Captions the engine may hand over before the publisher catches up (bounded
    /// channel between the engine thread and the async publisher).
    pub queue_captions: usize,
    /// On shutdown, milliseconds to wait for queued messages to reach subscribers
    /// before the socket is closed (messages still queued after that are lost).
    pub linger_ms: u64,
    /// `HOST:PORT` for Prometheus `/metrics` and `/healthz` (keep it on loopback); off
    /// when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_endpoint: Option<String>,
}

impl Default for PublishingConfig {
    fn default() -> Self {
        PublishingConfig {
            endpoints: vec!["tcp://127.0.0.1:5556".to_owned()],
            snapshot_endpoints: vec!["tcp://127.0.0.1:5557".to_owned()],
            heartbeat_s: 5.0,
            queue_captions: 256,
            linger_ms: 500,
            metrics_endpoint: None,
        }
    }
}

impl PublishingConfig {
    pub(super) fn validate(&self, at: &str, issues: &mut Vec<ConfigIssue>) {
        if let Some(m) = &self.metrics_endpoint {
            if m.parse::<std::net::SocketAddr>().is_err() {
                issues.push(ConfigIssue::new(
                    format!("{at}.metrics_endpoint"),
                    format!("expected IP:PORT such as \"127.0.0.1:9184\", got {m:?}"),
                ));
            }
        }
        if self.endpoints.is_empty() {
            issues.push(ConfigIssue::new(
                format!("{at}.endpoints"),
                "at least one endpoint is needed",
            ));
        }
        check_endpoints(&format!("{at}.endpoints"), &self.endpoints, issues);
        check_endpoints(
            &format!("{at}.snapshot_endpoints"),
            &self.snapshot_endpoints,
            issues,
        );
        for (i, e) in self.snapshot_endpoints.iter().enumerate() {
            if self.endpoints.contains(e) {
                issues.push(ConfigIssue::new(
                    format!("{at}.snapshot_endpoints[{i}]"),
                    format!("{e:?} is also in endpoints; each endpoint can be bound once"),
                ));
            }
        }
        if !(MIN_HEARTBEAT_S..=3600.0).contains(&self.heartbeat_s) {
            issues.push(ConfigIssue::new(
                format!("{at}.heartbeat_s"),
                format!(
                    "must be in [{MIN_HEARTBEAT_S}, 3600], got {}",
                    self.heartbeat_s
                ),
            ));
        }
        if !(1..=MAX_QUEUE_CAPTIONS).contains(&self.queue_captions) {
            issues.push(ConfigIssue::new(
                format!("{at}.queue_captions"),
                format!(
                    "must be in [1, {MAX_QUEUE_CAPTIONS}], got {}",
                    self.queue_captions
                ),
            ));
        }
        if self.linger_ms > 60_000 {
            issues.push(ConfigIssue::new(
                format!("{at}.linger_ms"),
                format!("must be at most 60000 (one minute), got {}", self.linger_ms),
            ));
        }
    }
}

/// The shortest status heartbeat period (one a millisecond already floods subscribers).
pub const MIN_HEARTBEAT_S: f64 = 0.001;
/// The most captions the engine may hand over ahead of the publisher.
pub const MAX_QUEUE_CAPTIONS: usize = 65_536;

/// Each endpoint must be `tcp://HOST:PORT` or `ipc://PATH`, and appear once.
fn check_endpoints(at: &str, endpoints: &[String], issues: &mut Vec<ConfigIssue>) {
    for (i, e) in endpoints.iter().enumerate() {
        if endpoints[..i].contains(e) {
            issues.push(ConfigIssue::new(
                format!("{at}[{i}]"),
                format!("{e:?} is listed twice; each endpoint can be bound once"),
            ));
        }
        let ok = match e.split_once("://") {
            Some(("tcp", rest)) => rest
                .rsplit_once(':')
                .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()),
            Some(("ipc", rest)) => !rest.is_empty(),
            _ => false,
        };
        if !ok {
            issues.push(ConfigIssue::new(
                format!("{at}[{i}]"),
                format!("expected tcp://HOST:PORT or ipc://PATH, got {e:?}"),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let config = PublishingConfig {
            endpoints: vec!["tcp://127.0.0.1:5556".to_owned(), "udp://x:1".to_owned()],
            snapshot_endpoints: vec!["tcp://127.0.0.1:5556".to_owned(), "ipc://".to_owned()],
            heartbeat_s: 0.0,
            queue_captions: 0,
            linger_ms: 120_000,
            metrics_endpoint: Some("localhost".to_owned()),
        };
        let mut issues = Vec::new();
        config.validate("publishing", &mut issues);
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "publishing.metrics_endpoint",
                "publishing.endpoints[1]",
                "publishing.snapshot_endpoints[1]",
                "publishing.snapshot_endpoints[0]",
                "publishing.heartbeat_s",
                "publishing.queue_captions",
                "publishing.linger_ms",
            ]
        );
        let mut issues = Vec::new();
        PublishingConfig::default().validate("publishing", &mut issues);
        assert!(issues.is_empty(), "{issues:?}");
    }
}
