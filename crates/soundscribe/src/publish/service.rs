//! The publishing loop: captions in from the engine thread, heartbeats on a timer, one
//! PUB socket out, and a graceful shutdown that publishes everything already accepted.
//!
//! The engine thread never awaits: it calls [`CaptionSender::send_blocking`] (or
//! [`CaptionSender::try_send`]) on a bounded channel. [`run`] owns the [`Publisher`],
//! assigns per-source sequence numbers (so any jump a subscriber sees is a loss on the
//! wire, never an engine drop), and sends a `status` snapshot every `heartbeat`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::message::Caption;
use super::snapshot::SnapshotServer;
use super::status::StatusProvider;
use super::zmq::Publisher;
use super::PublishError;
use crate::config::PublishingConfig;

/// The engine's end of the caption channel.
#[derive(Debug, Clone)]
pub struct CaptionSender(mpsc::Sender<Caption>);

/// The publisher's end of the caption channel.
#[derive(Debug)]
pub struct CaptionReceiver(mpsc::Receiver<Caption>);

/// The publishing loop has stopped; the caption was not accepted.
#[derive(Debug, thiserror::Error)]
#[error("the publisher has stopped; caption of {0:?} not accepted")]
pub struct ChannelClosed(pub String);

/// A bounded channel holding up to `capacity` captions (at least 1).
pub fn caption_channel(capacity: usize) -> (CaptionSender, CaptionReceiver) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    (CaptionSender(tx), CaptionReceiver(rx))
}

impl CaptionSender {
    /// Hands a caption over, waiting while the channel is full. For the engine thread:
    /// panics if called from inside an async runtime (tokio's rule for blocking sends).
    pub fn send_blocking(&self, caption: Caption) -> Result<(), ChannelClosed> {
        self.0
            .blocking_send(caption)
            .map_err(|e| ChannelClosed(e.0.source))
    }

    /// Hands a caption over if there is room; gives it back when the channel is full or
    /// closed so the caller can count it as dropped.
    pub fn try_send(&self, caption: Caption) -> Result<(), Box<Caption>> {
        self.0.try_send(caption).map_err(|e| match e {
            mpsc::error::TrySendError::Full(c) | mpsc::error::TrySendError::Closed(c) => {
                Box::new(c)
            }
        })
    }

    /// Async hand-over, for callers already on the runtime.
    pub async fn send(&self, caption: Caption) -> Result<(), ChannelClosed> {
        self.0
            .send(caption)
            .await
            .map_err(|e| ChannelClosed(e.0.source))
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
    /// The publishing loop; resolves after shutdown, once everything is closed.
    pub task: tokio::task::JoinHandle<Result<RunSummary, PublishError>>,
}

/// Binds what `config` asks for (PUB endpoints, snapshot endpoints) and spawns [`run`]
/// on the current tokio runtime, heartbeats from `status`. The loop stops when
/// `shutdown` resolves or every [`CaptionSender`] is dropped; the snapshot endpoint
/// closes after it.
pub async fn start(
    config: &PublishingConfig,
    status: Arc<dyn StatusProvider>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Started, PublishError> {
    let publisher = Publisher::from_config(config).await?;
    let snapshot = if config.snapshot_endpoints.is_empty() {
        None
    } else {
        match SnapshotServer::bind(&config.snapshot_endpoints, publisher.last_captions()).await {
            Ok(server) => Some(server),
            Err(e) => {
                publisher.close().await;
                return Err(e);
            }
        }
    };
    let (captions, rx) = caption_channel(config.queue_captions);
    let endpoints = publisher.endpoints().to_vec();
    let snapshot_endpoints = snapshot
        .as_ref()
        .map(|s| s.endpoints().to_vec())
        .unwrap_or_default();
    let heartbeat = Duration::from_secs_f64(config.heartbeat_s);
    let task = tokio::spawn(async move {
        let result = run(publisher, rx, status, heartbeat, shutdown).await;
        if let Some(server) = snapshot {
            server.close().await;
        }
        result
    });
    Ok(Started {
        captions,
        endpoints,
        snapshot_endpoints,
        task,
    })
}

/// Publishes until `shutdown` resolves or every [`CaptionSender`] is dropped, then
/// publishes the captions still in the channel and a last status, and closes the socket.
///
/// A caption that breaks the schema is logged and skipped (the daemon keeps running); a
/// socket error ends the loop with that error.
pub async fn run(
    mut publisher: Publisher,
    mut captions: CaptionReceiver,
    status: Arc<dyn StatusProvider>,
    heartbeat: Duration,
    shutdown: impl Future<Output = ()>,
) -> Result<RunSummary, PublishError> {
    let mut state = LoopState {
        next_seq: HashMap::new(),
        summary: RunSummary::default(),
        status,
    };
    let mut ticker = tokio::time::interval(heartbeat.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    let result = loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break Ok(()),
            caption = captions.0.recv() => match caption {
                Some(caption) => {
                    if let Err(e) = state.caption(&mut publisher, caption).await {
                        break Err(e);
                    }
                }
                None => break Ok(()),
            },
            _ = ticker.tick() => {
                if let Err(e) = state.heartbeat(&mut publisher).await {
                    break Err(e);
                }
            }
        }
    };
    // Drain: every caption the engine managed to hand over still goes out.
    captions.0.close();
    let result = match result {
        Ok(()) => drain(&mut state, &mut publisher, &mut captions).await,
        Err(e) => Err(e),
    };
    publisher.close().await;
    result.map(|()| state.summary)
}

async fn drain(
    state: &mut LoopState,
    publisher: &mut Publisher,
    captions: &mut CaptionReceiver,
) -> Result<(), PublishError> {
    while let Some(caption) = captions.0.recv().await {
        state.caption(publisher, caption).await?;
    }
    state.heartbeat(publisher).await
}

struct LoopState {
    next_seq: HashMap<String, u64>,
    summary: RunSummary,
    status: Arc<dyn StatusProvider>,
}

impl LoopState {
    async fn caption(
        &mut self,
        publisher: &mut Publisher,
        mut caption: Caption,
    ) -> Result<(), PublishError> {
        let next = self.next_seq.entry(caption.source.clone()).or_insert(0);
        caption.seq = *next;
        match publisher.publish_caption(&caption).await {
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

    async fn heartbeat(&mut self, publisher: &mut Publisher) -> Result<(), PublishError> {
        let status = self.status.snapshot();
        match publisher.publish_status(&status).await {
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
