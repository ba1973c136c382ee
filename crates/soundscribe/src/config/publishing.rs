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
    /// channel between the engine thread and the publisher thread).
    pub queue_captions: usize,
    /// Messages queued per subscriber on the PUB socket (ZMQ_SNDHWM); beyond that a
    /// subscriber that does not keep up loses messages (a `seq` jump), the others do not.
    pub send_hwm: i32,
    /// Largest message frame, in bytes, any publishing socket accepts from a peer
    /// (ZMQ_MAXMSGSIZE: subscriptions on the PUB socket, requests on the snapshot socket);
    /// a peer that announces a bigger one is disconnected.
    pub max_message_bytes: i64,
    /// Allow binding tcp endpoints that are not loopback. ZeroMQ traffic here is neither
    /// authenticated nor encrypted, so anyone who can reach the port reads every caption.
    pub allow_insecure: bool,
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
            send_hwm: 1000,
            max_message_bytes: 65_536,
            allow_insecure: false,
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
        if self.send_hwm < 1 {
            issues.push(ConfigIssue::new(
                format!("{at}.send_hwm"),
                format!(
                    "must be at least 1 (0 would mean unbounded), got {}",
                    self.send_hwm
                ),
            ));
        }
        if !(256..=16 << 20).contains(&self.max_message_bytes) {
            issues.push(ConfigIssue::new(
                format!("{at}.max_message_bytes"),
                format!("must be in [256, 16777216], got {}", self.max_message_bytes),
            ));
        }
        if !self.allow_insecure {
            for (list, endpoints) in [
                ("endpoints", &self.endpoints),
                ("snapshot_endpoints", &self.snapshot_endpoints),
            ] {
                for (i, e) in endpoints.iter().enumerate() {
                    if tcp_host(e).is_some_and(|h| !is_loopback(h)) {
                        issues.push(ConfigIssue::new(
                            format!("{at}.{list}[{i}]"),
                            format!(
                                "{e:?} is reachable beyond this machine and ZeroMQ sends it \
                                 unauthenticated and unencrypted; set \
                                 publishing.allow_insecure = true to accept that"
                            ),
                        ));
                    }
                }
            }
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

/// The host of a `tcp://HOST:PORT` endpoint (brackets of an IPv6 address removed).
fn tcp_host(endpoint: &str) -> Option<&str> {
    let rest = endpoint.strip_prefix("tcp://")?;
    let (host, _port) = rest.rsplit_once(':')?;
    Some(host.trim_start_matches('[').trim_end_matches(']'))
}

/// Whether `host` (an IP address, `localhost`, `*` or an interface name) is loopback
/// only; anything unknown counts as reachable from outside.
fn is_loopback(host: &str) -> bool {
    host == "localhost"
        || host == "lo"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

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
            send_hwm: 0,
            max_message_bytes: 10,
            allow_insecure: false,
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
                "publishing.send_hwm",
                "publishing.max_message_bytes",
                "publishing.linger_ms",
            ]
        );
        let mut issues = Vec::new();
        PublishingConfig::default().validate("publishing", &mut issues);
        assert!(issues.is_empty(), "{issues:?}");
    }

    #[test]
    fn non_loopback_tcp_needs_allow_insecure() {
        let mut config = PublishingConfig {
            endpoints: vec![
                "tcp://0.0.0.0:5556".to_owned(),
                "tcp://[::1]:5558".to_owned(),
                "ipc:///tmp/c.sock".to_owned(),
            ],
            snapshot_endpoints: vec!["tcp://*:5557".to_owned(), "tcp://localhost:5559".to_owned()],
            ..PublishingConfig::default()
        };
        let mut issues = Vec::new();
        config.validate("publishing", &mut issues);
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "publishing.endpoints[0]",
                "publishing.snapshot_endpoints[0]"
            ]
        );
        assert!(
            issues[0].message.contains("allow_insecure = true"),
            "{issues:?}"
        );
        config.allow_insecure = true;
        let mut issues = Vec::new();
        config.validate("publishing", &mut issues);
        assert!(issues.is_empty(), "{issues:?}");
    }
}
