//! `soundscribe serve`: the daemon. Sources → engine thread → ZeroMQ publisher, until
//! SIGTERM/SIGINT (or every source has ended), then a drain of everything accepted.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use tracing::{error, info};

use crate::audio::{FrontEnd, SourceStats};
use crate::config::Config;
use crate::engine::captioner::Captioner;
use crate::engine::run::EngineRun;
use crate::publish::http::{sample, HttpServer, RenderMetrics};
use crate::publish::{StatusBoard, StatusProvider};

/// `/healthz` fails when the engine loop has not turned for this long (it turns at least
/// once a second while idle).
const ENGINE_STALL_MS: u64 = 30_000;

/// Prometheus text for the audio counters of every source and the engine's status.
fn render_metrics(
    sources: Vec<(String, Arc<SourceStats>)>,
    status: Arc<StatusBoard>,
) -> RenderMetrics {
    Arc::new(move || {
        let mut out = String::new();
        let snap = status.snapshot();
        out.push_str("# TYPE soundscribe_uptime_seconds gauge\n");
        sample(&mut out, "soundscribe_uptime_seconds", None, snap.uptime_s);
        type Pick = fn(&crate::audio::StatsSnapshot) -> u64;
        let counters: [(&str, Pick); 8] = [
            ("soundscribe_audio_frames_total", |s| s.frames_in),
            ("soundscribe_audio_frames_overrun_total", |s| {
                s.frames_overrun
            }),
            ("soundscribe_audio_xruns_total", |s| s.xruns),
            ("soundscribe_audio_windows_queued_total", |s| {
                s.windows_queued
            }),
            ("soundscribe_audio_windows_dropped_total", |s| {
                s.windows_dropped
            }),
            ("soundscribe_audio_windows_gated_total", |s| s.windows_gated),
            ("soundscribe_audio_gaps_total", |s| s.gaps),
            ("soundscribe_audio_restarts_total", |s| s.restarts),
        ];
        let snaps: Vec<_> = sources.iter().map(|(id, s)| (id, s.snapshot())).collect();
        for (name, pick) in counters {
            out.push_str(&format!("# TYPE {name} counter\n"));
            for (id, snap) in &snaps {
                sample(&mut out, name, Some(id), pick(snap) as f64);
            }
        }
        out.push_str("# TYPE soundscribe_engine_captions_total counter\n");
        for s in &snap.sources {
            sample(
                &mut out,
                "soundscribe_engine_captions_total",
                Some(&s.source),
                s.windows_out as f64,
            );
        }
        out.push_str("# TYPE soundscribe_engine_real_time_factor gauge\n");
        for s in &snap.sources {
            if let Some(rtf) = s.real_time_factor {
                sample(
                    &mut out,
                    "soundscribe_engine_real_time_factor",
                    Some(&s.source),
                    rtf,
                );
            }
        }
        out
    })
}

/// Arguments of `soundscribe serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The TOML configuration (see `config/default.toml`).
    #[arg(long, short)]
    config: PathBuf,
}

/// Tells systemd (when started by it) how the service is doing; no-op otherwise.
fn notify(state: &[sd_notify::NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        let _ = sd_notify::notify(state);
    }
}

pub(super) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let model_dir = config
        .model
        .dir
        .clone()
        .with_context(|| format!("{}: model.dir is not set", args.config.display()))?;
    if config.sources.is_empty() {
        anyhow::bail!("{}: no [[sources]] configured", args.config.display());
    }
    let device = crate::engine::device::select(&config.model)?;
    let captioner = Captioner::load(
        &model_dir,
        device,
        &config.decoding,
        config.decoding.rerank.embedder.as_deref(),
    )?;
    info!(message = "Model loaded.", model = captioner.id(), device = ?device);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("publish")
        .build()
        .context("cannot start the async runtime")?;
    let status = Arc::new(StatusBoard::new());
    for s in &config.sources {
        status.register(s.id());
    }
    let (stop_publisher, publisher_stopped) = tokio::sync::oneshot::channel::<()>();
    let provider: Arc<dyn StatusProvider> = status.clone();
    let started = runtime.block_on(crate::publish::start(&config.publishing, provider, async {
        let _ = publisher_stopped.await;
    }))?;
    info!(message = "Publishing.", endpoints = ?started.endpoints, snapshot = ?started.snapshot_endpoints);

    let (front, mut receivers) = FrontEnd::start(&config, captioner.sample_rate(), true)?;
    let stop = front.stop_flag();
    runtime.spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            error!(message = "Cannot install signal handlers.");
            return;
        };
        tokio::select! {
            _ = term.recv() => info!(message = "SIGTERM: stopping capture and draining."),
            _ = int.recv() => info!(message = "SIGINT: stopping capture and draining."),
        }
        notify(&[sd_notify::NotifyState::Stopping]);
        stop.store(true, Relaxed);
    });
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("captioning"),
    ]);

    let source_stats: Vec<(String, Arc<SourceStats>)> = front
        .sources()
        .iter()
        .map(|s| (s.id.to_string(), s.stats.clone()))
        .collect();
    let started_at = Instant::now();
    let last_beat = Arc::new(AtomicU64::new(0));
    let http = match &config.publishing.metrics_endpoint {
        Some(addr) => {
            let beat = last_beat.clone();
            let health = Arc::new(move || {
                let idle =
                    (started_at.elapsed().as_millis() as u64).saturating_sub(beat.load(Relaxed));
                if idle < ENGINE_STALL_MS {
                    Ok(())
                } else {
                    Err(format!("engine loop idle for {} s", idle / 1000))
                }
            });
            let server = HttpServer::start(
                addr,
                render_metrics(source_stats.clone(), status.clone()),
                health,
            )?;
            info!(message = "Serving /metrics and /healthz.", addr = %server.local_addr());
            Some(server)
        }
        None => None,
    };
    let watchdog = std::env::var_os("WATCHDOG_USEC").is_some();
    let beat = last_beat.clone();
    let heartbeat = move || {
        beat.store(started_at.elapsed().as_millis() as u64, Relaxed);
        if watchdog {
            notify(&[sd_notify::NotifyState::Watchdog]);
        }
    };
    let engine = EngineRun {
        captioner: &captioner,
        batching: &config.engine,
        seed: config.decoding.seed,
        alternatives: config.decoding.rerank.alternatives,
        source_stats: source_stats.into_iter().collect(),
        status: Some(&status),
        heartbeat: &heartbeat,
    };
    let captions = started.captions;
    let result = engine.run(&mut receivers, &mut |caption| {
        if captions.send_blocking(caption).is_err() {
            error!(message = "Publisher stopped; caption not published.");
        }
    });
    // Everything accepted has been handed over: let the publisher flush and close.
    drop(captions);
    let _ = stop_publisher.send(());
    let published = runtime
        .block_on(started.task)
        .context("publisher task failed")?;
    if let Some(server) = http {
        server.stop();
    }
    let mut failed = false;
    for (id, _, r) in front.join() {
        if let Err(e) = r {
            error!(message = "Source failed.", source = %id, error = %e);
            failed = true;
        }
    }
    let published = match published {
        Ok(p) => p.captions,
        Err(e) => {
            error!(message = "Publisher failed.", error = %e);
            failed = true;
            0
        }
    };
    let summary = result?;
    info!(
        message = "Stopped.",
        captioned = summary.captioned,
        gated = summary.gated,
        published
    );
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
