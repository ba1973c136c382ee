//! A small loopback HTTP endpoint for operators: Prometheus text at `/metrics`, liveness
//! at `/healthz` (200 while the engine loop is turning, 503 when it has stalled).
//!
//! What to report is injected as closures, so this module knows nothing of audio or the
//! model. It runs on its own thread (tiny_http) and stops on [`HttpServer::stop`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Renders the Prometheus text exposition.
pub type RenderMetrics = Arc<dyn Fn() -> String + Send + Sync>;
/// Says whether the service is healthy, and why not.
pub type CheckHealth = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Why the HTTP endpoint could not start.
#[derive(Debug, thiserror::Error)]
#[error("metrics endpoint {addr}: {message}")]
pub struct HttpError {
    /// The address asked for.
    pub addr: String,
    /// What went wrong.
    pub message: String,
}

/// The running endpoint.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    addr: SocketAddr,
}

impl HttpServer {
    /// Binds `addr` (e.g. `127.0.0.1:9184`, port 0 for any) and serves until stopped.
    pub fn start(
        addr: &str,
        metrics: RenderMetrics,
        health: CheckHealth,
    ) -> Result<HttpServer, HttpError> {
        let err = |message: String| HttpError {
            addr: addr.to_owned(),
            message,
        };
        let server = Arc::new(tiny_http::Server::http(addr).map_err(|e| err(e.to_string()))?);
        let bound = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| err("not an IP address".into()))?;
        let s = server.clone();
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                for request in s.incoming_requests() {
                    let (status, body, kind) = match (request.method(), request.url()) {
                        (tiny_http::Method::Get, "/metrics") => {
                            (200, metrics(), "text/plain; version=0.0.4")
                        }
                        (tiny_http::Method::Get, "/healthz") => match health() {
                            Ok(()) => (200, "ok\n".to_owned(), "text/plain"),
                            Err(why) => (503, format!("{why}\n"), "text/plain"),
                        },
                        _ => (404, "not found\n".to_owned(), "text/plain"),
                    };
                    let mut response =
                        tiny_http::Response::from_string(body).with_status_code(status);
                    if let Ok(header) = tiny_http::Header::from_bytes("Content-Type", kind) {
                        response = response.with_header(header);
                    }
                    if let Err(e) = request.respond(response) {
                        tracing::debug!(message = "HTTP client went away.", error = %e);
                    }
                }
            })
            .map_err(|e| err(format!("cannot start thread: {e}")))?;
        Ok(HttpServer {
            server,
            thread: Some(thread),
            addr: bound,
        })
    }

    /// The bound address (port 0 resolved).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops serving and joins the thread.
    pub fn stop(mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Appends one Prometheus sample line, with `source` as the only label.
pub fn sample(out: &mut String, name: &str, source: Option<&str>, value: f64) {
    use std::fmt::Write;
    let _ = match source {
        Some(s) => writeln!(
            out,
            "{name}{{source=\"{}\"}} {value}",
            s.replace(['\\', '"', '\n'], "_")
        ),
        None => writeln!(out, "{name} {value}"),
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    fn get(addr: SocketAddr, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn serves_metrics_and_health_on_loopback() {
        let healthy = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let h = healthy.clone();
        let server = HttpServer::start(
            "127.0.0.1:0",
            Arc::new(|| {
                let mut s = String::new();
                sample(&mut s, "soundscribe_x_total", Some("mic\"1"), 3.0);
                s
            }),
            Arc::new(move || {
                if h.load(std::sync::atomic::Ordering::Relaxed) {
                    Ok(())
                } else {
                    Err("stalled".into())
                }
            }),
        )
        .unwrap();
        let addr = server.local_addr();
        let m = get(addr, "/metrics");
        assert!(m.starts_with("HTTP/1.") && m.contains(" 200 "), "{m}");
        assert!(m.contains("soundscribe_x_total{source=\"mic_1\"} 3"), "{m}");
        assert!(get(addr, "/healthz").contains(" 200 "));
        healthy.store(false, std::sync::atomic::Ordering::Relaxed);
        let h = get(addr, "/healthz");
        assert!(h.contains(" 503 ") && h.contains("stalled"), "{h}");
        assert!(get(addr, "/nope").contains(" 404 "));
        server.stop();
    }

    #[test]
    fn a_taken_port_is_a_clear_error() {
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = busy.local_addr().unwrap().to_string();
        let e = HttpServer::start(&addr, Arc::new(String::new), Arc::new(|| Ok(())))
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .starts_with(&format!("metrics endpoint {addr}:")),
            "{e}"
        );
    }
}
