//! `soundscribe listen`: watch a running daemon's captions and status from a terminal.
//!
//! Connects a SUB socket, prints each message as it arrives (a line of text, or the JSON
//! payload with `--json`), and reports on stderr what an operator must know: malformed
//! messages (with the reason) and sequence gaps per source. Ends after `--count` messages,
//! after `--timeout-s`, or on Ctrl-C, with a one-line summary on stderr.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;

use soundscribe::publish::{
    fetch_snapshot, Caption, GapTracker, Message, Received, SeqEvent, SnapshotError, Status,
    Subscriber,
};

/// The longest `--snapshot` waits for its answer.
const SNAPSHOT_WAIT: Duration = Duration::from_secs(10);

/// Arguments of `soundscribe listen`.
#[derive(Debug, clap::Args)]
pub struct ListenArgs {
    /// Publisher endpoint to connect to.
    #[arg(long, default_value = "tcp://127.0.0.1:5556")]
    endpoint: String,
    /// Topic prefix to subscribe to (repeatable), e.g. `caption.` or `caption.mic`;
    /// everything when absent.
    #[arg(long = "topic")]
    topics: Vec<String>,
    /// Stop after this many messages (malformed ones included).
    #[arg(long)]
    count: Option<u64>,
    /// Print each valid payload as one JSON line instead of text.
    #[arg(long)]
    json: bool,
    /// Give up after this many seconds; an error if `--count` was not reached.
    #[arg(long)]
    timeout_s: Option<f64>,
    /// First print the last caption of every source from this snapshot (REP) endpoint,
    /// e.g. tcp://127.0.0.1:5557, so a late start shows something at once.
    #[arg(long)]
    snapshot: Option<String>,
}

#[derive(Debug, Default)]
struct Tally {
    messages: u64,
    captions: u64,
    status: u64,
    malformed: u64,
    gaps: u64,
    missing: u64,
}

pub(super) fn run(args: &ListenArgs) -> anyhow::Result<ExitCode> {
    if let Some(t) = args.timeout_s {
        anyhow::ensure!(
            t.is_finite() && t > 0.0,
            "--timeout-s must be a positive number of seconds, got {t}"
        );
    }
    let interrupted = watch_ctrl_c()?;
    listen(args, &interrupted)
}

/// A flag raised on Ctrl-C (SIGINT), watched by a small thread of its own, so that the
/// blocking receive loop can stop and still print its summary.
fn watch_ctrl_c() -> anyhow::Result<Arc<AtomicBool>> {
    let flag = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("cannot start the signal watcher")?;
    // Registered here, before any message is read, so an early Ctrl-C is not fatal.
    let mut sigint = {
        let _rt = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
            .context("cannot install the SIGINT handler")?
    };
    let raised = Arc::clone(&flag);
    std::thread::Builder::new()
        .name("ctrl-c".into())
        .spawn(move || {
            runtime.block_on(sigint.recv());
            raised.store(true, Relaxed);
        })
        .context("cannot start the signal watcher")?;
    Ok(flag)
}

/// How long one wait for a message lasts before the loop checks Ctrl-C and the deadline.
const POLL: Duration = Duration::from_millis(100);

fn listen(args: &ListenArgs, interrupted: &AtomicBool) -> anyhow::Result<ExitCode> {
    let topics = if args.topics.is_empty() {
        vec![String::new()]
    } else {
        args.topics.clone()
    };
    let deadline = args
        .timeout_s
        .map(|t| Instant::now() + Duration::from_secs_f64(t));
    let left = || deadline.map(|d| d.saturating_duration_since(Instant::now()));
    let mut tally = Tally::default();
    let mut gaps = GapTracker::new();
    let mut work = || -> anyhow::Result<&'static str> {
        let mut sub = Subscriber::connect(&args.endpoint, &topics)
            .with_context(|| format!("cannot connect to {}", args.endpoint))?;
        tracing::info!(endpoint = %args.endpoint, ?topics, "Listening (libzmq connects in the background).");
        if let Some(snapshot) = &args.snapshot {
            let wait = left().map_or(SNAPSHOT_WAIT, |l| l.min(SNAPSHOT_WAIT));
            let last = match fetch_snapshot(snapshot, wait) {
                Err(SnapshotError::Timeout(..)) if left().is_some_and(|l| l.is_zero()) => {
                    return Ok("timeout")
                }
                r => r?,
            };
            for received in last
                .iter()
                .filter(|r| topics.iter().any(|t| r.topic.starts_with(t.as_str())))
            {
                report(received, args.json, &mut tally, &mut gaps).context("writing to stdout")?;
            }
        }
        while args.count.is_none_or(|n| tally.messages < n) {
            if interrupted.load(Relaxed) {
                return Ok("interrupted");
            }
            let wait = match left() {
                Some(l) if l.is_zero() => return Ok("timeout"),
                Some(l) => l.min(POLL),
                None => POLL,
            };
            let Some(received) = sub
                .recv_timeout(wait)
                .with_context(|| format!("receiving from {}", args.endpoint))?
            else {
                continue;
            };
            match report(&received, args.json, &mut tally, &mut gaps) {
                Ok(()) => {}
                // `listen | head`: the reader has gone, which is a normal way to stop.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => break,
                Err(e) => return Err(e).context("writing to stdout"),
            }
        }
        sub.close();
        Ok("done")
    };
    let outcome = work();
    let done = outcome?;
    eprintln!(
        "listen: {} messages ({} captions, {} status), {} malformed, {} gaps ({} captions missing)",
        tally.messages, tally.captions, tally.status, tally.malformed, tally.gaps, tally.missing
    );
    match (done, args.count) {
        ("timeout", Some(n)) => {
            eprintln!(
                "soundscribe: error: timed out after {} s with {} of {n} messages from {}",
                args.timeout_s.unwrap_or_default(),
                tally.messages,
                args.endpoint
            );
            Ok(ExitCode::FAILURE)
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn report(
    r: &Received,
    json: bool,
    tally: &mut Tally,
    gaps: &mut GapTracker,
) -> std::io::Result<()> {
    if let Ok(Message::Caption(c)) = &r.message {
        let event = gaps.observe(&c.source, c.seq);
        match event {
            // Already printed (in the snapshot, then live): not a new message.
            SeqEvent::Repeat => return Ok(()),
            SeqEvent::Gap { expected, got } => {
                tally.gaps += 1;
                tally.missing += event.missing();
                eprintln!(
                    "listen: gap on caption.{}: expected seq {expected}, got {got} ({} missing)",
                    c.source,
                    event.missing()
                );
            }
            SeqEvent::Restart { last, got } => eprintln!(
                "listen: caption.{} restarted: seq {got} after {last}",
                c.source
            ),
            SeqEvent::First | SeqEvent::InOrder => {}
        }
    }
    tally.messages += 1;
    let mut out = std::io::stdout().lock();
    match &r.message {
        Err(e) => {
            tally.malformed += 1;
            eprintln!("listen: malformed message: {e}");
        }
        Ok(message) => {
            match message {
                Message::Caption(_) => tally.captions += 1,
                Message::Status(_) => tally.status += 1,
            }
            if json {
                // The payload was valid JSON (decode checked it); print it on one line.
                let payload = r.frames.get(1).map(Vec::as_slice).unwrap_or_default();
                out.write_all(payload)?;
                out.write_all(b"\n")?;
            } else {
                writeln!(out, "{}", render(message))?;
            }
        }
    }
    out.flush()?;
    Ok(())
}

fn render(message: &Message) -> String {
    match message {
        Message::Caption(c) => render_caption(c),
        Message::Status(s) => render_status(s),
    }
}

fn render_caption(c: &Caption) -> String {
    let gated = if c.flags.silence_gated {
        " [silence]"
    } else {
        ""
    };
    let dropped = match c.flags.dropped_before {
        0 => String::new(),
        n => format!(" [{n} dropped before]"),
    };
    format!(
        "{} caption.{} #{} {:.1}-{:.1}s {:?} score {:.3} latency {:.0} ms{gated}{dropped}",
        clock(c.window.end_utc),
        c.source,
        c.seq,
        c.window.start_s,
        c.window.end_s,
        c.text,
        c.score,
        c.latency_ms.total
    )
}

fn render_status(s: &Status) -> String {
    let mut line = format!("{} status uptime {:.0}s", clock(s.time_utc), s.uptime_s);
    for src in &s.sources {
        let rtf = src
            .real_time_factor
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.2}"));
        line.push_str(&format!(
            " | {} in {} out {} dropped {} rtf {rtf}",
            src.source, src.windows_in, src.windows_out, src.windows_dropped
        ));
    }
    line
}

/// `HH:MM:SS.mmm` UTC of `t`.
fn clock(t: SystemTime) -> String {
    let since = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600 % 24,
        secs / 60 % 60,
        secs % 60,
        since.subsec_millis()
    )
}
