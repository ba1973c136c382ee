//! Live capture through cpal (pinned `=0.18.2`, ALSA host on Linux).
//!
//! The data callback is [`CaptureProducer::push`](super::ring::CaptureProducer::push):
//! `push_slice` of whole frames into a `ringbuf` SPSC ring allocated before the stream
//! starts, plus relaxed atomic counters — no allocation, lock, log or syscall. cpal 0.18
//! reports xruns and stream failures through the error callback, which only sets atomics
//! as well; the source thread reads them and rebuilds the stream (see `source`). The sample format is
//! dispatched once, at build time; conversion to `f32` happens on the source thread.

use std::sync::atomic::{AtomicU8, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{ErrorKind, SampleFormat, StreamConfig};
use serde::Serialize;

use super::queue::SourceStats;
use super::ring::{capture_ring, CaptureConsumer, CaptureSample};
use super::AudioError;

/// Seconds of audio the capture ring holds before frames are counted as overruns.
pub const RING_SECONDS: f64 = 2.0;

/// One input device as cpal lists it.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceInfo {
    /// Name to use in `sources[].device`.
    pub name: String,
    /// cpal's stable id (`host:id`).
    pub id: String,
    /// Whether it is the host's default input.
    pub is_default: bool,
    /// The default input configuration, if the device reports one.
    pub default_config: Option<String>,
    /// Every supported input configuration range.
    pub configs: Vec<String>,
}

/// Lists the default host's input devices with their configurations.
pub fn list_input_devices() -> Result<Vec<DeviceInfo>, AudioError> {
    let host = cpal::default_host();
    let default_id = host.default_input_device().and_then(|d| d.id().ok());
    let devices = host
        .input_devices()
        .map_err(|e| AudioError::device("*", format!("cannot list input devices: {e}")))?;
    let mut out = Vec::new();
    for d in devices {
        let id = d.id().ok();
        let configs = d
            .supported_input_configs()
            .map(|it| summarise(it.collect()))
            .unwrap_or_default();
        out.push(DeviceInfo {
            name: id
                .as_ref()
                .map_or_else(|| d.to_string(), |i| i.id().to_owned()),
            id: id.as_ref().map_or_else(String::new, |i| i.to_string()),
            is_default: id.is_some() && id == default_id,
            default_config: d.default_input_config().ok().map(|c| {
                format!(
                    "{} ch, {} Hz, {}",
                    c.channels(),
                    c.sample_rate(),
                    c.sample_format()
                )
            }),
            configs,
        });
    }
    Ok(out)
}

/// One line per sample format and rate range, with channel counts merged into ranges
/// (ALSA plugins such as `null` report every count from 1 to 64).
fn summarise(mut ranges: Vec<cpal::SupportedStreamConfigRange>) -> Vec<String> {
    ranges.sort_by_key(|r| {
        (
            r.sample_format().to_string(),
            r.min_sample_rate(),
            r.max_sample_rate(),
            r.channels(),
        )
    });
    let mut lines: Vec<(String, u16, u16)> = Vec::new();
    for r in &ranges {
        let key = format!(
            "{} Hz, {}",
            rate_range(r.min_sample_rate(), r.max_sample_rate()),
            r.sample_format()
        );
        match lines.last_mut() {
            Some((k, _, hi)) if *k == key && *hi + 1 == r.channels() => *hi = r.channels(),
            _ => lines.push((key, r.channels(), r.channels())),
        }
    }
    lines
        .into_iter()
        .map(|(key, lo, hi)| {
            if lo == hi {
                format!("{lo} ch, {key}")
            } else {
                format!("{lo}-{hi} ch, {key}")
            }
        })
        .collect()
}

fn rate_range(lo: u32, hi: u32) -> String {
    if lo == hi {
        lo.to_string()
    } else {
        format!("{lo}-{hi}")
    }
}

/// Why a running stream stopped delivering, as the error callback saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamHealth {
    /// No failure reported.
    Running,
    /// The device went away or the stream must be rebuilt.
    Failed(ErrorKind),
}

const HEALTH_OK: u8 = 0;

fn kind_code(k: ErrorKind) -> u8 {
    match k {
        ErrorKind::DeviceNotAvailable => 1,
        ErrorKind::StreamInvalidated => 2,
        ErrorKind::HostUnavailable => 3,
        ErrorKind::DeviceBusy => 4,
        ErrorKind::PermissionDenied => 5,
        ErrorKind::ResourceExhausted => 6,
        _ => 7,
    }
}

fn code_kind(c: u8) -> ErrorKind {
    match c {
        1 => ErrorKind::DeviceNotAvailable,
        2 => ErrorKind::StreamInvalidated,
        3 => ErrorKind::HostUnavailable,
        4 => ErrorKind::DeviceBusy,
        5 => ErrorKind::PermissionDenied,
        6 => ErrorKind::ResourceExhausted,
        _ => ErrorKind::BackendError,
    }
}

/// A running capture stream. Lives on the source thread that opened it.
pub struct DeviceCapture {
    name: String,
    _stream: cpal::Stream,
    ring: CaptureConsumer,
    rate: u32,
    channels: u16,
    health: Arc<AtomicU8>,
}

impl DeviceCapture {
    /// Opens `device` (the host default when `None`) at the requested rate and channel
    /// count (the device's defaults when `None`) and starts capturing into a fresh ring.
    pub fn open(
        device: Option<&str>,
        rate: Option<u32>,
        channels: Option<u16>,
        stats: Arc<SourceStats>,
    ) -> Result<Self, AudioError> {
        let name = device.unwrap_or("default").to_owned();
        let host = cpal::default_host();
        let dev = find_device(&host, device).ok_or_else(|| {
            AudioError::device(
                &name,
                "no such input device (see `soundscribe audio devices`)",
            )
        })?;
        let (config, format) =
            pick_config(&dev, rate, channels).map_err(|e| AudioError::device(&name, e))?;
        let health = Arc::new(AtomicU8::new(HEALTH_OK));
        // Ask for 100 ms periods: capture latency hardly matters next to multi-second
        // windows, and a deep device buffer survives a starved thread (with the default two
        // short periods, pipewire-alsa loses audio without reporting an xrun). Devices that
        // refuse get their default.
        let deep = StreamConfig {
            buffer_size: cpal::BufferSize::Fixed((config.sample_rate / 10).max(64)),
            ..config
        };
        let (stream, ring) = build_any(&dev, &deep, format, &stats, &health)
            .or_else(|e| {
                tracing::debug!(device = %name, error = %e, "100 ms periods refused; using the device default.");
                build_any(&dev, &config, format, &stats, &health)
            })
            .map_err(|e| AudioError::device(&name, format!("cannot open capture stream: {e}")))?;
        stream
            .play()
            .map_err(|e| AudioError::device(&name, format!("cannot start capture: {e}")))?;
        tracing::info!(
            device = %name,
            rate = config.sample_rate,
            channels = config.channels,
            format = %format,
            "Capture stream started."
        );
        Ok(DeviceCapture {
            name,
            _stream: stream,
            ring,
            rate: config.sample_rate,
            channels: config.channels,
            health,
        })
    }

    /// Capture rate in Hz.
    pub fn rate(&self) -> u32 {
        self.rate
    }

    /// Channels per frame.
    pub fn channels(&self) -> u16 {
        self.channels
    }

    /// The configured device name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Moves up to `max_frames` captured frames into `buf` (cleared first) without waiting.
    pub fn read(&mut self, buf: &mut Vec<f32>, max_frames: usize) -> usize {
        self.ring.read(buf, max_frames)
    }

    /// Stops the stream (no callback runs after this returns) and hands back the ring, so
    /// the audio still in it can be drained instead of lost.
    pub fn stop(self) -> CaptureConsumer {
        drop(self._stream);
        self.ring
    }

    /// Whether the error callback has reported a failure.
    pub fn health(&self) -> StreamHealth {
        match self.health.load(Relaxed) {
            HEALTH_OK => StreamHealth::Running,
            c => StreamHealth::Failed(code_kind(c)),
        }
    }
}

fn find_device(host: &cpal::Host, wanted: Option<&str>) -> Option<cpal::Device> {
    let Some(wanted) = wanted else {
        return host.default_input_device();
    };
    let matches = |d: &cpal::Device| {
        d.id()
            .is_ok_and(|i| i.id() == wanted || i.to_string() == wanted)
            || d.description().is_ok_and(|desc| desc.name() == wanted)
    };
    if let Some(d) = host.input_devices().ok()?.find(matches) {
        return Some(d);
    }
    // ALSA PCM names that are not hinted (e.g. `hw:0,0`).
    host.device_by_id(&cpal::DeviceId::new(host.id(), wanted))
}

/// Chooses a stream config: requested rate/channels when given, else the device default;
/// `f32` preferred, then the integer formats.
fn pick_config(
    dev: &cpal::Device,
    rate: Option<u32>,
    channels: Option<u16>,
) -> Result<(StreamConfig, SampleFormat), String> {
    let default = dev.default_input_config().ok();
    if rate.is_none() && channels.is_none() {
        if let Some(d) = default {
            return Ok((d.config(), d.sample_format()));
        }
    }
    let ranges: Vec<_> = dev
        .supported_input_configs()
        .map_err(|e| format!("cannot query configurations: {e}"))?
        .collect();
    let want_ch = channels.or(default.as_ref().map(|d| d.channels()));
    let want_rate = rate.or(default.as_ref().map(|d| d.sample_rate()));
    let rank = |f: SampleFormat| match f {
        SampleFormat::F32 => 0,
        SampleFormat::I16 => 1,
        SampleFormat::I32 => 2,
        _ => 3,
    };
    let best = ranges
        .iter()
        .filter(|r| want_ch.is_none_or(|c| r.channels() == c))
        .filter(|r| {
            want_rate.is_none_or(|s| (r.min_sample_rate()..=r.max_sample_rate()).contains(&s))
        })
        .min_by_key(|r| rank(r.sample_format()))
        .ok_or_else(|| {
            format!(
                "no input configuration with {} channels at {} Hz",
                want_ch.map_or("any".into(), |c| c.to_string()),
                want_rate.map_or("any".into(), |r| r.to_string())
            )
        })?;
    let cfg = match want_rate {
        Some(r) => best.with_sample_rate(r),
        None => best.with_max_sample_rate(),
    };
    Ok((cfg.config(), cfg.sample_format()))
}

/// Builds the stream for the device's sample format (dispatched once, here).
fn build_any(
    dev: &cpal::Device,
    config: &StreamConfig,
    format: SampleFormat,
    stats: &Arc<SourceStats>,
    health: &Arc<AtomicU8>,
) -> Result<(cpal::Stream, CaptureConsumer), cpal::Error> {
    match format {
        SampleFormat::F32 => build::<f32>(dev, config, stats, health),
        SampleFormat::I16 => build::<i16>(dev, config, stats, health),
        SampleFormat::I32 => build::<i32>(dev, config, stats, health),
        SampleFormat::U8 => build::<u8>(dev, config, stats, health),
        SampleFormat::I8 => build::<i8>(dev, config, stats, health),
        SampleFormat::U16 => build::<u16>(dev, config, stats, health),
        SampleFormat::U32 => build::<u32>(dev, config, stats, health),
        SampleFormat::F64 => build::<f64>(dev, config, stats, health),
        other => Err(cpal::Error::with_message(
            ErrorKind::UnsupportedConfig,
            format!("unsupported sample format {other}"),
        )),
    }
}

fn build<T>(
    dev: &cpal::Device,
    config: &StreamConfig,
    stats: &Arc<SourceStats>,
    health: &Arc<AtomicU8>,
) -> Result<(cpal::Stream, CaptureConsumer), cpal::Error>
where
    T: CaptureSample,
{
    let frames = (f64::from(config.sample_rate) * RING_SECONDS).ceil() as usize;
    let (mut producer, consumer) = capture_ring::<T>(frames, config.channels, stats.clone());
    let err_stats = stats.clone();
    let err_health = health.clone();
    let stream = dev.build_input_stream::<T, _, _>(
        *config,
        move |data: &[T], _: &cpal::InputCallbackInfo| producer.push(data),
        move |err: cpal::Error| match err.kind() {
            ErrorKind::Xrun => {
                err_stats.xruns.fetch_add(1, Relaxed);
            }
            ErrorKind::DeviceChanged | ErrorKind::RealtimeDenied => {}
            k => err_health.store(kind_code(k), Relaxed),
        },
        Some(Duration::from_secs(5)),
    )?;
    Ok((stream, consumer))
}
