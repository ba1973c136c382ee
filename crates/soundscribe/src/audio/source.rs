//! Source threads: one per configured source, each owning its reader and [`Pipeline`].
//!
//! File and PCM sources read until the end (files optionally paced at real time). Device
//! sources are supervised: when the stream fails (cpal error callback), stalls (no audio for
//! [`STALL`]) or cannot be opened, the thread retries with exponential backoff and, once
//! audio flows again, records the missing time as a gap in stream time. [`FrontEnd`]
//! starts every source of a config and hands back the engine's [`WindowReceivers`].

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use super::device::{DeviceCapture, StreamHealth};
use super::fifo::{is_fifo, FifoStream};
use super::file::FileReader;
use super::pcm::PcmReader;
use super::queue::{QueuePolicy, SourceAdder, SourceStats, WindowReceivers, WindowSender};
use super::window::WindowSpec;
use super::{AudioError, FrameRead, Pipeline, SourceId};
use crate::config::{Config, DeviceSource, SourceConfig, WindowingConfig};

/// A device that delivers nothing for this long is treated as lost and reopened.
pub const STALL: Duration = Duration::from_secs(2);
/// First and longest wait between attempts to reopen a lost device.
pub const BACKOFF: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(10));
/// How often a device source polls its ring (the ring holds seconds, so this is slack).
const POLL: Duration = Duration::from_millis(10);

/// A running source thread.
pub struct SourceHandle {
    /// The source's id.
    pub id: SourceId,
    /// Its live counters.
    pub stats: Arc<SourceStats>,
    /// Stops this source alone (the front end's flag stops every source).
    own_stop: Arc<AtomicBool>,
    thread: JoinHandle<Result<(), AudioError>>,
}

impl SourceHandle {
    /// Whether the thread has ended.
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Asks this source alone to finish its last window and stop.
    pub fn stop(&self) {
        self.own_stop.store(true, Relaxed);
    }

    /// Waits for the thread; its error if it stopped on one.
    pub fn join(self) -> Result<(), AudioError> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err(AudioError::Setup(format!("source {} panicked", self.id))))
    }
}

/// A source's thread body, waiting for its queue.
type Job = Box<dyn FnOnce(WindowSender) -> Result<(), AudioError> + Send>;

/// A source whose input is open and whose settings are checked, not yet running.
pub struct PreparedSource {
    id: SourceId,
    stats: Arc<SourceStats>,
    own_stop: Arc<AtomicBool>,
    policy: QueuePolicy,
    job: Job,
}

impl PreparedSource {
    /// The source's id.
    pub fn id(&self) -> &SourceId {
        &self.id
    }

    /// The counters the source will update once launched.
    pub fn stats(&self) -> &Arc<SourceStats> {
        &self.stats
    }
}

/// Every source of a config, running.
pub struct FrontEnd {
    sources: Vec<SourceHandle>,
    /// Sources stopped while the rest run on (removed by a reload); joined at the end.
    retired: Vec<SourceHandle>,
    stop: Arc<AtomicBool>,
    windowing: WindowingConfig,
    model_rate: u32,
    forward_gated: bool,
}

impl FrontEnd {
    /// Starts every source in `config`, producing windows at `model_rate` Hz. With
    /// `forward_gated`, gated windows are queued too (empty, `gated = true`) for listings.
    /// Live sources drop per `windowing.overflow` when the consumer falls behind; files
    /// read as fast as possible (`realtime = false`) wait for it instead.
    ///
    /// Files are opened before this returns, so a bad file fails here, naming it.
    pub fn start(
        config: &Config,
        model_rate: u32,
        forward_gated: bool,
    ) -> Result<(FrontEnd, WindowReceivers), AudioError> {
        let mut front = FrontEnd {
            sources: Vec::new(),
            retired: Vec::new(),
            stop: Arc::new(AtomicBool::new(false)),
            windowing: config.windowing.clone(),
            model_rate,
            forward_gated,
        };
        let mut receivers = WindowReceivers::new();
        let prepared = config
            .sources
            .iter()
            .map(|src| front.prepare(src))
            .collect::<Result<Vec<_>, _>>()?;
        for p in prepared {
            let sender = receivers.add_source(p.id.clone(), p.policy, p.stats.clone());
            front.launch(p, sender)?;
        }
        Ok((front, receivers))
    }

    /// Opens `src`'s input and checks its windowing (the front end's, with the source's
    /// overrides), without starting anything: a bad file fails here, naming it.
    pub fn prepare(&self, src: &SourceConfig) -> Result<PreparedSource, AudioError> {
        let id: SourceId = src.id().into();
        let (window_s, hop_s) = src.window(&self.windowing);
        let spec = WindowSpec::new(
            self.model_rate,
            window_s,
            hop_s,
            self.windowing.silence_gate_dbfs,
        )?;
        let stats = Arc::new(SourceStats::default());
        // Offline files have no deadline: they wait for the engine instead of dropping.
        let offline = matches!(src, SourceConfig::File(f) if !f.realtime);
        let policy = QueuePolicy {
            capacity: self.windowing.queue_windows,
            overflow: self.windowing.overflow,
            wait_when_full: offline,
            forward_gated: self.forward_gated,
        };
        let own_stop = Arc::new(AtomicBool::new(false));
        let ctx = Ctx {
            id: id.clone(),
            spec,
            stop: self.stop.clone(),
            own_stop: own_stop.clone(),
            stats: stats.clone(),
        };
        let job: Job = match src {
            SourceConfig::File(f) => {
                let reader = FileReader::open(&f.path)?;
                let realtime = f.realtime;
                Box::new(move |sender| run_reader(&ctx, reader, sender, realtime))
            }
            SourceConfig::Pcm(p) if is_fifo(&p.path) => {
                let p = p.clone();
                Box::new(move |sender| {
                    let (stop, own_stop) = (ctx.stop.clone(), ctx.own_stop.clone());
                    let stopped = Box::new(move || stop.load(Relaxed) || own_stop.load(Relaxed));
                    let fifo = FifoStream::open(&p.path, &ctx.id, ctx.stats.clone(), stopped)?;
                    let reader = PcmReader::new(
                        &p.path,
                        Box::new(fifo),
                        p.format,
                        p.sample_rate,
                        p.channels,
                    )?;
                    run_reader(&ctx, reader, sender, false)
                })
            }
            SourceConfig::Pcm(p) => {
                let p = p.clone();
                Box::new(move |sender| {
                    let result = run_reader(&ctx, PcmReader::open(&p)?, sender, false);
                    if result.is_ok() && !ctx.stopped() {
                        tracing::warn!(source = %ctx.id, stream = %p.path.display(), "Raw PCM stream ended; this source stops.");
                    }
                    result
                })
            }
            SourceConfig::Device(d) => {
                let d = d.clone();
                Box::new(move |sender| run_device(&ctx, &d, sender))
            }
        };
        Ok(PreparedSource {
            id,
            stats,
            own_stop,
            policy,
            job,
        })
    }

    /// Starts a prepared source on its own thread, sending to a new queue that `adder`
    /// hands to the running engine.
    pub fn launch_with(
        &mut self,
        p: PreparedSource,
        adder: &SourceAdder,
    ) -> Result<(), AudioError> {
        let sender = adder.add_source(p.id.clone(), p.policy, p.stats.clone());
        self.launch(p, sender)
    }

    fn launch(&mut self, p: PreparedSource, sender: WindowSender) -> Result<(), AudioError> {
        let job = p.job;
        let thread = std::thread::Builder::new()
            .name(format!("audio-{}", p.id))
            .spawn(move || job(sender))
            .map_err(|e| AudioError::Setup(format!("cannot start source thread: {e}")))?;
        self.sources.push(SourceHandle {
            id: p.id,
            stats: p.stats,
            own_stop: p.own_stop,
            thread,
        });
        Ok(())
    }

    /// Stops the running source `id` alone (it finishes its last window, the others run
    /// on); false if no such source runs. It is joined by [`FrontEnd::join`].
    pub fn retire(&mut self, id: &str) -> bool {
        let Some(i) = self.sources.iter().position(|h| &*h.id == id) else {
            return false;
        };
        let handle = self.sources.remove(i);
        handle.stop();
        self.retired.push(handle);
        true
    }

    /// The running sources.
    pub fn sources(&self) -> &[SourceHandle] {
        &self.sources
    }

    /// Asks every source to finish its last window and stop.
    pub fn stop(&self) {
        self.stop.store(true, Relaxed);
    }

    /// A flag that stops every source when set (for signal handlers).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    /// Waits for every source (retired ones first); each one's id, final counters and
    /// result.
    pub fn join(self) -> Vec<(SourceId, Arc<SourceStats>, Result<(), AudioError>)> {
        self.retired
            .into_iter()
            .chain(self.sources)
            .map(|h| {
                let (id, stats) = (h.id.clone(), h.stats.clone());
                (id, stats, h.join())
            })
            .collect()
    }
}

struct Ctx {
    id: SourceId,
    spec: WindowSpec,
    /// Every source's stop flag.
    stop: Arc<AtomicBool>,
    /// This source's own.
    own_stop: Arc<AtomicBool>,
    stats: Arc<SourceStats>,
}

impl Ctx {
    fn stopped(&self) -> bool {
        self.stop.load(Relaxed) || self.own_stop.load(Relaxed)
    }
}

/// The consumer leaving is a normal way for a source to end.
fn closed_is_ok(r: Result<(), AudioError>) -> Result<(), AudioError> {
    match r {
        Err(AudioError::Closed) => Ok(()),
        other => other,
    }
}

fn run_reader(
    ctx: &Ctx,
    mut reader: impl FrameRead,
    sender: WindowSender,
    realtime: bool,
) -> Result<(), AudioError> {
    let rate = reader.rate();
    let mut pipeline = Pipeline::new(ctx.id.clone(), rate, reader.channels(), ctx.spec, sender)?;
    // Paced or live input in 10 ms pieces; offline files in bigger ones.
    let chunk = if realtime {
        (rate as usize / 100).max(1)
    } else {
        8192
    };
    let mut buf = Vec::new();
    let mut total = 0u64;
    let t0 = Instant::now();
    let mut anchored = false;
    let result = loop {
        if ctx.stopped() {
            break Ok(());
        }
        let n = match reader.read_frames(&mut buf, chunk) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        if !anchored {
            pipeline.anchor_wall(SystemTime::now());
            anchored = true;
        }
        ctx.stats.frames_in.fetch_add(n as u64, Relaxed);
        total += n as u64;
        if let Err(e) = pipeline.push(&buf) {
            break Err(e);
        }
        if realtime {
            let due = t0 + Duration::from_secs_f64(total as f64 / f64::from(rate));
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
    };
    // Whatever stopped the reader, the audio read so far still becomes windows.
    let finished = pipeline.finish();
    closed_is_ok(result.and(finished))
}

/// Why a device stream stopped.
enum Ended {
    Stopped,
    Lost(String),
}

fn run_device(ctx: &Ctx, cfg: &DeviceSource, sender: WindowSender) -> Result<(), AudioError> {
    let mut sender = Some(sender);
    let mut pipeline: Option<Pipeline> = None;
    let mut last_audio: Option<Instant> = None;
    let mut backoff = BACKOFF.0;
    let mut opened_before = false;
    let name = cfg.device.as_deref().unwrap_or("default");
    let result = loop {
        if ctx.stopped() {
            break Ok(());
        }
        let capture = match DeviceCapture::open(
            cfg.device.as_deref(),
            cfg.sample_rate,
            cfg.channels,
            ctx.stats.clone(),
        ) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(source = %ctx.id, error = %e, retry_s = backoff.as_secs_f64(), "Cannot open capture device; retrying.");
                sleep_unless_stopped(ctx, backoff);
                backoff = (backoff * 2).min(BACKOFF.1);
                continue;
            }
        };
        if opened_before {
            ctx.stats.restarts.fetch_add(1, Relaxed);
        }
        opened_before = true;
        match capture_loop(ctx, capture, &mut pipeline, &mut sender, &mut last_audio) {
            Ok(Ended::Stopped) => break Ok(()),
            Ok(Ended::Lost(why)) => {
                tracing::warn!(source = %ctx.id, device = name, reason = %why, "Capture device lost; reopening.");
                backoff = BACKOFF.0;
                sleep_unless_stopped(ctx, backoff);
            }
            Err(e) => break Err(e),
        }
    };
    let finished = pipeline.as_mut().map_or(Ok(()), |p| p.finish());
    closed_is_ok(result.and(finished))
}

fn capture_loop(
    ctx: &Ctx,
    mut cap: DeviceCapture,
    pipeline: &mut Option<Pipeline>,
    sender: &mut Option<WindowSender>,
    last_audio: &mut Option<Instant>,
) -> Result<Ended, AudioError> {
    let mut buf = Vec::new();
    let max_frames = (cap.rate() as usize / 10).max(1);
    let opened = Instant::now();
    let mut flowing = false;
    let ended = loop {
        if ctx.stopped() {
            break Ended::Stopped;
        }
        let n = cap.read(&mut buf, max_frames);
        if n == 0 {
            if let StreamHealth::Failed(kind) = cap.health() {
                break Ended::Lost(kind.to_string());
            }
            let quiet_since = if flowing {
                last_audio.unwrap_or(opened)
            } else {
                opened
            };
            if quiet_since.elapsed() > STALL {
                break Ended::Lost(format!("no audio for {} s", STALL.as_secs()));
            }
            std::thread::sleep(POLL);
            continue;
        }
        if !flowing {
            flowing = true;
            start_segment(ctx, &cap, n, pipeline, sender, last_audio)?;
        }
        *last_audio = Some(Instant::now());
        if let Some(p) = pipeline.as_mut() {
            p.push(&buf)?;
        }
    };
    // Stop the callback, then take what it left in the ring: nothing captured is lost.
    let mut ring = cap.stop();
    if let Some(p) = pipeline.as_mut() {
        while ring.read(&mut buf, max_frames) > 0 {
            p.push(&buf)?;
        }
    }
    Ok(ended)
}

/// First audio of a stream: creates the pipeline, or records the gap since the last stream.
fn start_segment(
    ctx: &Ctx,
    cap: &DeviceCapture,
    frames: usize,
    pipeline: &mut Option<Pipeline>,
    sender: &mut Option<WindowSender>,
    last_audio: &Option<Instant>,
) -> Result<(), AudioError> {
    let now = Instant::now();
    let held = Duration::from_secs_f64(frames as f64 / f64::from(cap.rate()));
    let first_wall = SystemTime::now()
        .checked_sub(held)
        .unwrap_or_else(SystemTime::now);
    match (pipeline.as_mut(), sender.take()) {
        (Some(p), _) => {
            // Wall-clock estimate of the audio that never arrived.
            let first_instant = now.checked_sub(held).unwrap_or(now);
            let missing = last_audio
                .map(|t| first_instant.saturating_duration_since(t))
                .unwrap_or_default();
            p.gap(missing, first_wall, cap.rate(), cap.channels())?;
            tracing::info!(
                source = %ctx.id,
                gap_s = missing.as_secs_f64(),
                "Capture resumed; gap recorded in stream time."
            );
        }
        (None, Some(s)) => {
            let mut p = Pipeline::new(ctx.id.clone(), cap.rate(), cap.channels(), ctx.spec, s)?;
            p.anchor_wall(first_wall);
            *pipeline = Some(p);
        }
        (None, None) => return Err(AudioError::Setup("source lost its queue".into())),
    }
    Ok(())
}

fn sleep_unless_stopped(ctx: &Ctx, d: Duration) {
    let until = Instant::now() + d;
    while !ctx.stopped() {
        let Some(left) = until.checked_duration_since(Instant::now()) else {
            return;
        };
        std::thread::sleep(left.min(Duration::from_millis(50)));
    }
}
