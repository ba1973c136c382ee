//! The publisher thread: captions in from the engine thread, heartbeats on a timer,
//! snapshot requests answered, one PUB socket out, and a graceful shutdown that publishes
//! everything already accepted.
//!
//! libzmq sockets are not thread-safe, so one thread ([`start`] spawns it, [`run`] is its
//! body) owns the PUB and the snapshot REP socket. The engine thread calls
//! [`CaptionSender::send_blocking`] (or [`CaptionSender::try_send`]) on a bounded channel.
//! The loop assigns per-source sequence numbers (so any jump a subscriber sees is a loss
//! on the wire, never an engine drop), sends a `status` snapshot every `heartbeat`, and
//! stamps a [`Beat`] every turn (at least every [`TURN`]) so the daemon's `/healthz` and
//! watchdog can tell that it still runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

use super::beat::Beat;
use super::message::Caption;
use super::snapshot::SnapshotServer;
use super::status::StatusProvider;
use super::zmq::Publisher;
use super::PublishError;
use crate::config::PublishingConfig;

/// The longest the loop waits before it turns again (stamps its beat, answers snapshot
/// requests): the snapshot endpoint answers within about this long.
pub const TURN: Duration = Duration::from_millis(20);

/// Senders check it before handing a caption over; closing waits until none is halfway
/// through, so a caption is either refused or published, never silently lost.
#[derive(Debug, Default)]
struct Gate {
    closed: AtomicBool,
    in_flight: AtomicUsize,
}

/// The engine's end of the caption channel.
#[derive(Debug, Clone)]
pub struct CaptionSender {
    tx: Sender<Caption>,
    gate: Arc<Gate>,
}

/// The publisher's end of the caption channel.
#[derive(Debug)]
pub struct CaptionReceiver {
    rx: Receiver<Caption>,
    gate: Arc<Gate>,
}

/// The publisher has stopped; the caption was not accepted.
#[derive(Debug, thiserror::Error)]
#[error("the publisher has stopped; caption of {0:?} not accepted")]
pub struct ChannelClosed(pub String);

/// A bounded channel holding up to `capacity` captions (at least 1).
pub fn caption_channel(capacity: usize) -> (CaptionSender, CaptionReceiver) {
    let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
    let gate = Arc::new(Gate::default());
    (
        CaptionSender {
            tx,
            gate: Arc::clone(&gate),
        },
        CaptionReceiver { rx, gate },
    )
}

impl CaptionSender {
    /// Hands a caption over, waiting while the channel is full. Any thread may call it
    /// (no async runtime involved).
    pub fn send_blocking(&self, caption: Caption) -> Result<(), ChannelClosed> {
        self.through_gate(caption, |tx, c| tx.send(c).map_err(|e| Box::new(e.0)))
            .map_err(|c| ChannelClosed(c.source))
    }

    /// Hands a caption over if there is room; gives it back when the channel is full or
    /// closed so the caller can count it as dropped.
    pub fn try_send(&self, caption: Caption) -> Result<(), Box<Caption>> {
        self.through_gate(caption, |tx, c| {
            tx.try_send(c).map_err(|e| match e {
                TrySendError::Full(c) | TrySendError::Disconnected(c) => Box::new(c),
            })
        })
    }

    fn through_gate(
        &self,
        caption: Caption,
        send: impl FnOnce(&Sender<Caption>, Caption) -> Result<(), Box<Caption>>,
    ) -> Result<(), Box<Caption>> {
        self.gate.in_flight.fetch_add(1, SeqCst);
        let result = if self.gate.closed.load(SeqCst) {
            Err(Box::new(caption))
        } else {
            send(&self.tx, caption)
        };
        self.gate.in_flight.fetch_sub(1, SeqCst);
        result
    }
}

impl CaptionReceiver {
    /// Refuses new captions, then hands every caption already accepted to `each` (also
    /// those of senders blocked on a full channel when it closed).
    fn close_and_drain(
        self,
        mut each: impl FnMut(Caption) -> Result<(), PublishError>,
    ) -> Result<(), PublishError> {
        self.gate.closed.store(true, SeqCst);
        loop {
            // Read before draining: a sender that was in flight has finished its send
            // once the count is 0, so the drain after that sees its caption.
            let settled = self.gate.in_flight.load(SeqCst) == 0;
            // Empty or disconnected: everything that was sent has been taken.
            while let Ok(caption) = self.rx.try_recv() {
                each(caption)?;
            }
            if settled {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Asks the publisher thread to stop (dropping it does too).
#[derive(Debug, Clone)]
pub struct StopHandle(Sender<()>);

/// The publisher thread's end of the stop request.
#[derive(Debug)]
pub struct StopSignal(Receiver<()>);

impl StopSignal {
    /// A connected pair: [`StopHandle::stop`] (or dropping every handle) ends the loop.
    pub fn new() -> (StopHandle, StopSignal) {
        let (tx, rx) = crossbeam_channel::bounded(1);
        (StopHandle(tx), StopSignal(rx))
    }
}

impl StopHandle {
    /// Asks the loop to publish what was accepted, send a last status and close.
    pub fn stop(&self) {
        let _ = self.0.try_send(());
    }
}

/// What the loop did, returned when it stops.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Captions sent on the socket.
    pub captions: u64,
    /// Status heartbeats sent (including the final one).
    pub heartbeats: u64,
    /// Captions rejected by the encoder (logged, skipped).
    pub encode_errors: u64,
    /// Snapshot requests answered.
    pub snapshots: u64,
}

/// The running publisher thread.
#[derive(Debug)]
pub struct PublisherThread(std::thread::JoinHandle<Result<RunSummary, PublishError>>);

impl PublisherThread {
    /// Whether the loop has ended.
    pub fn is_finished(&self) -> bool {
        self.0.is_finished()
    }

    /// Waits for the loop to end (after a stop request, or once every sender is gone).
    pub fn join(self) -> Result<RunSummary, PublishError> {
        self.0
            .join()
            .unwrap_or_else(|_| Err(PublishError::Thread("panicked".into())))
    }
}

/// Everything [`start`] set up.
#[derive(Debug)]
pub struct Started {
    /// Hand captions to the publisher through this (clone it per engine thread).
    pub captions: CaptionSender,
    /// The bound PUB endpoints (tcp port 0 resolved).
    pub endpoints: Vec<String>,
    /// The bound snapshot endpoints (tcp port 0 resolved).
    pub snapshot_endpoints: Vec<String>,
    /// Stamped by the publisher thread every turn (at least every [`TURN`]).
    pub beat: Beat,
    /// Stops the loop.
    pub stop: StopHandle,
    /// The publisher thread; its result comes once everything is closed.
    pub thread: PublisherThread,
}

/// Binds what `config` asks for (PUB endpoints, snapshot endpoints) and starts the
/// publisher thread running [`run`], heartbeats from `status`. The loop stops on
/// [`Started::stop`] or once every [`CaptionSender`] is dropped.
pub fn start(
    config: &PublishingConfig,
    status: Arc<dyn StatusProvider>,
) -> Result<Started, PublishError> {
    let publisher = Publisher::from_config(config)?;
    let snapshot = if config.snapshot_endpoints.is_empty() {
        None
    } else {
        Some(SnapshotServer::bind_in(
            publisher.context(),
            &config.snapshot_endpoints,
            publisher.last_captions(),
            publisher.options(),
        )?)
    };
    let (captions, rx) = caption_channel(config.queue_captions);
    let (stop, stopped) = StopSignal::new();
    let endpoints = publisher.endpoints().to_vec();
    let snapshot_endpoints = snapshot
        .as_ref()
        .map(|s| s.endpoints().to_vec())
        .unwrap_or_default();
    let heartbeat = Duration::from_secs_f64(config.heartbeat_s);
    let beat = Beat::new();
    let thread_beat = beat.clone();
    let thread = std::thread::Builder::new()
        .name("publish".into())
        .spawn(move || {
            run(
                publisher,
                snapshot,
                rx,
                status,
                heartbeat,
                stopped,
                &thread_beat,
            )
        })
        .map_err(|e| PublishError::Thread(format!("cannot start: {e}")))?;
    Ok(Started {
        captions,
        endpoints,
        snapshot_endpoints,
        beat,
        stop,
        thread: PublisherThread(thread),
    })
}

/// Publishes until `stop` fires or every [`CaptionSender`] is dropped, then publishes
/// the captions still in the channel and a last status, and closes the sockets (the PUB
/// socket waits out its linger). Answers snapshot requests and stamps `beat` every turn.
///
/// A caption that breaks the schema is logged and skipped (the daemon keeps running); a
/// socket error ends the loop with that error.
pub fn run(
    mut publisher: Publisher,
    mut snapshot: Option<SnapshotServer>,
    captions: CaptionReceiver,
    status: Arc<dyn StatusProvider>,
    heartbeat: Duration,
    stop: StopSignal,
    beat: &Beat,
) -> Result<RunSummary, PublishError> {
    let mut state = LoopState {
        next_seq: HashMap::new(),
        summary: RunSummary::default(),
        status,
    };
    let heartbeat = heartbeat.max(Duration::from_millis(1));
    let mut next_status = Instant::now();
    let result = loop {
        beat.stamp();
        let now = Instant::now();
        if now >= next_status {
            if let Err(e) = state.heartbeat(&mut publisher) {
                break Err(e);
            }
            next_status = now + heartbeat;
        }
        if let Some(server) = snapshot.as_mut() {
            state.summary.snapshots += server.serve_pending(Duration::ZERO) as u64;
        }
        let wait = next_status.saturating_duration_since(now).min(TURN);
        crossbeam_channel::select! {
            recv(captions.rx) -> caption => match caption {
                Ok(caption) => {
                    if let Err(e) = state.caption(&mut publisher, caption) {
                        break Err(e);
                    }
                }
                Err(_) => break Ok(()),
            },
            recv(stop.0) -> _ => break Ok(()),
            default(wait) => {}
        }
    };
    // Drain: every caption the engine managed to hand over still goes out.
    let result = match result {
        Ok(()) => captions
            .close_and_drain(|caption| state.caption(&mut publisher, caption))
            .and_then(|()| state.heartbeat(&mut publisher)),
        Err(e) => Err(e),
    };
    beat.stamp();
    if let Some(server) = snapshot {
        server.close();
    }
    publisher.close();
    result.map(|()| state.summary)
}

struct LoopState {
    next_seq: HashMap<String, u64>,
    summary: RunSummary,
    status: Arc<dyn StatusProvider>,
}

impl LoopState {
    fn caption(
        &mut self,
        publisher: &mut Publisher,
        mut caption: Caption,
    ) -> Result<(), PublishError> {
        let next = self.next_seq.entry(caption.source.clone()).or_insert(0);
        caption.seq = *next;
        match publisher.publish_caption(&caption) {
            Ok(()) => {
                *next += 1;
                self.summary.captions += 1;
                self.status.caption_published(&caption.source);
                Ok(())
            }
            Err(error @ PublishError::Encode { .. }) => {
                // The number is reused, so subscribers see no gap for a message that
                // never existed.
                self.summary.encode_errors += 1;
                tracing::error!(source = %caption.source, %error, "Skipped a caption that breaks the schema.");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn heartbeat(&mut self, publisher: &mut Publisher) -> Result<(), PublishError> {
        let status = self.status.snapshot();
        match publisher.publish_status(&status) {
            Ok(()) => {
                self.summary.heartbeats += 1;
                Ok(())
            }
            Err(error @ PublishError::Encode { .. }) => {
                self.summary.encode_errors += 1;
                tracing::error!(%error, "Skipped a status that breaks the schema.");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }
}
