//! A small loopback HTTP endpoint for operators: Prometheus text at `/metrics`, liveness
//! at `/healthz` (200 while the engine loop is turning, 503 when it has stalled).
//!
//! What to report is injected as closures, so this module knows nothing of audio or the
//! model. One thread serves every connection with non-blocking sockets: it answers one
//! request per connection and closes it. A client gets [`CLIENT_TIMEOUT`] to send its
//! request and [`MAX_REQUEST`] bytes for it, and at most [`MAX_CONNECTIONS`] are open at
//! once (the oldest is closed to admit a new one), so idle or hostile clients cost
//! neither threads nor memory, and cannot keep a scrape from being answered.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Renders the Prometheus text exposition.
pub type RenderMetrics = Arc<dyn Fn() -> String + Send + Sync>;
/// Says whether the service is healthy, and why not.
pub type CheckHealth = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Connections held open at once.
pub const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send its request (and to read the answer).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(2);
/// The longest request head read; anything longer is answered 431 and closed.
pub const MAX_REQUEST: usize = 8 * 1024;
/// How long the serving thread sleeps when nothing happened.
const IDLE_POLL: Duration = Duration::from_millis(5);

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
    stop: Arc<AtomicBool>,
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
        let listener = TcpListener::bind(addr).map_err(|e| err(e.to_string()))?;
        let bound = listener.local_addr().map_err(|e| err(e.to_string()))?;
        // Non-blocking accept: one thread serves every connection and notices a stop.
        listener
            .set_nonblocking(true)
            .map_err(|e| err(e.to_string()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || serve(&listener, &s, &metrics, &health))
            .map_err(|e| err(format!("cannot start thread: {e}")))?;
        Ok(HttpServer {
            stop,
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
        self.stop.store(true, Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One open connection: its socket, what it sent so far, and when it must be done.
struct Client {
    stream: TcpStream,
    head: Vec<u8>,
    deadline: Instant,
}

fn serve(listener: &TcpListener, stop: &AtomicBool, metrics: &RenderMetrics, health: &CheckHealth) {
    let mut clients: VecDeque<Client> = VecDeque::new();
    let mut buf = [0u8; 1024];
    while !stop.load(Relaxed) {
        let mut busy = false;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    busy = true;
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    if clients.len() >= MAX_CONNECTIONS {
                        clients.pop_front(); // the oldest waits longest for nothing
                    }
                    clients.push_back(Client {
                        stream,
                        head: Vec::new(),
                        deadline: Instant::now() + CLIENT_TIMEOUT,
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    tracing::warn!(message = "Cannot accept an HTTP connection.", error = %e);
                    break;
                }
            }
        }
        let now = Instant::now();
        clients.retain_mut(|c| {
            let done = match c.stream.read(&mut buf) {
                Ok(0) => Some(!c.head.is_empty()), // closed: answer a bare request line
                Ok(n) => {
                    busy = true;
                    let room = MAX_REQUEST.saturating_sub(c.head.len());
                    c.head.extend_from_slice(&buf[..n.min(room)]);
                    // A whole head, or as much as is ever read (answered 431).
                    (head_complete(&c.head) || c.head.len() >= MAX_REQUEST).then_some(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                Err(_) => Some(false),
            };
            match done {
                Some(true) => {
                    if let Err(e) = respond(&mut c.stream, &c.head, metrics, health) {
                        tracing::debug!(message = "HTTP client dropped.", error = %e);
                    }
                    false
                }
                Some(false) => false,
                None => now < c.deadline,
            }
        });
        if !busy {
            std::thread::sleep(IDLE_POLL);
        }
    }
}

fn head_complete(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

/// Answers the request whose head is `head` (cut at [`MAX_REQUEST`]) and closes.
fn respond(
    stream: &mut TcpStream,
    head: &[u8],
    metrics: &RenderMetrics,
    health: &CheckHealth,
) -> std::io::Result<()> {
    let (status, body, kind) = if !head_complete(head) && head.len() >= MAX_REQUEST {
        (431, "request too large\n".to_owned(), "text/plain")
    } else {
        let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = String::from_utf8_lossy(line);
        let mut parts = line.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some("GET"), Some("/metrics")) => (200, metrics(), "text/plain; version=0.0.4"),
            (Some("GET"), Some("/healthz")) => match health() {
                Ok(()) => (200, "ok\n".to_owned(), "text/plain"),
                Err(why) => (503, format!("{why}\n"), "text/plain"),
            },
            (Some("GET"), Some(_)) => (404, "not found\n".to_owned(), "text/plain"),
            _ => (405, "only GET is served\n".to_owned(), "text/plain"),
        }
    };
    let reason = match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Service Unavailable",
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    // Small answers: a blocking write with a deadline, so a client that never reads
    // cannot hold the thread for longer than that.
    stream.set_nonblocking(false)?;
    stream.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    stream.write_all(response.as_bytes())?;
    stream.flush()
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

    /// Idle connections cost neither a thread each nor a stall: with 300 clients that
    /// connect and say nothing still open, a real scrape is answered (tiny_http held a
    /// thread per idle connection: 300 idle clients, 256 threads).
    #[test]
    fn idle_connections_hold_no_threads_and_block_no_scrape() {
        let server =
            HttpServer::start("127.0.0.1:0", Arc::new(String::new), Arc::new(|| Ok(()))).unwrap();
        let addr = server.local_addr();
        let threads = || std::fs::read_dir("/proc/self/task").unwrap().count();
        let before = threads();
        let idle: Vec<_> = (0..300)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        // Other tests of this binary start threads too: allow for them, not for 300.
        assert!(
            threads() < before + 50,
            "{} threads with idle clients, {before} before",
            threads()
        );
        assert!(get(addr, "/healthz").contains(" 200 "));
        // An endless request head is refused, not buffered.
        let mut big = std::net::TcpStream::connect(addr).unwrap();
        let _ = big.write_all(&vec![b'a'; MAX_REQUEST]);
        let mut answer = String::new();
        let _ = big.read_to_string(&mut answer);
        assert!(answer.contains(" 431 "), "{answer}");
        drop(idle);
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
