//! `soundscribe serve`: the daemon. Sources → engine thread → ZeroMQ publisher, until
//! SIGTERM/SIGINT (or every source has ended), then a drain of everything accepted.
//! SIGHUP re-reads the config file ([`super::reload`]).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Context;
use tracing::{error, info};

use super::reload::{check_for_serve, Reloader};
use crate::audio::FrontEnd;
use crate::config::Config;
use crate::engine::captioner::Captioner;
use crate::engine::run::{EngineRun, SourceRegistry};
use crate::publish::http::{sample, HttpServer, RenderMetrics};
use crate::publish::{StatusBoard, StatusProvider};

/// `/healthz` fails when the engine loop has not turned for this long (it turns at least
/// once a second while idle).
const ENGINE_STALL_MS: u64 = 30_000;

/// Prometheus text for the audio counters of every source and the engine's status.
fn render_metrics(sources: SourceRegistry, status: Arc<StatusBoard>) -> RenderMetrics {
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
        let snaps: Vec<_> = sources
            .entries()
            .into_iter()
            .map(|(id, s)| (id, s.snapshot()))
            .collect();
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

/// `RELOADING=1` with the `MONOTONIC_USEC=` that `Type=notify-reload` units require.
fn reloading() -> Vec<sd_notify::NotifyState<'static>> {
    let mut state = vec![sd_notify::NotifyState::Reloading];
    if let Ok(now) = sd_notify::NotifyState::monotonic_usec_now() {
        state.push(now);
    }
    state
}

/// Tells systemd (when started by it) how the service is doing; no-op otherwise.
fn notify(state: &[sd_notify::NotifyState]) {
    if std::env::var_os("NOTIFY_SOCKET").is_some() {
        let _ = sd_notify::notify(state);
    }
}

pub(super) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let config = Config::load(&args.config).map_err(|e| anyhow::anyhow!("{e}"))?;
    check_for_serve(&args.config, &config).map_err(|e| anyhow::anyhow!("{e}"))?;
    let model_dir = config.model.dir.clone().unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("publish")
        .build()
        .context("cannot start the async runtime")?;
    // SIGHUP's default action kills the process: take it over before the (slow) model
    // load. A reload asked for meanwhile runs once the daemon is up.
    let mut hup = {
        let _rt = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot install the SIGHUP handler")?
    };
    let device = crate::engine::device::select(&config.model)?;
    let captioner = Captioner::load(
        &model_dir,
        device,
        &config.decoding,
        config.decoding.rerank.embedder.as_deref(),
    )?;
    info!(message = "Model loaded.", model = captioner.id(), device = ?device);

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
    let registry: SourceRegistry = front
        .sources()
        .iter()
        .map(|s| (s.id.to_string(), s.stats.clone()))
        .collect();
    let front = Arc::new(Mutex::new(Some(front)));
    let signals = {
        use tokio::signal::unix::{signal, SignalKind};
        let _rt = runtime.enter();
        (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        )
    };
    let (Ok(mut term), Ok(mut int)) = signals else {
        anyhow::bail!("cannot install signal handlers");
    };
    let mut reloader = Reloader {
        path: args.config.clone(),
        running: config.clone(),
        front: front.clone(),
        adder: receivers.adder(),
        registry: registry.clone(),
        status: status.clone(),
        stop: stop.clone(),
    };
    let (reload_tx, reload_rx) = std::sync::mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("reload".into())
        .spawn(move || {
            while reload_rx.recv().is_ok() {
                notify(&reloading());
                reloader.reload();
                notify(&[
                    sd_notify::NotifyState::Ready,
                    sd_notify::NotifyState::Status("captioning"),
                ]);
            }
        })
        .context("cannot start the reload thread")?;
    runtime.spawn(async move {
        loop {
            tokio::select! {
                _ = term.recv() => info!(message = "SIGTERM: stopping capture and draining."),
                _ = int.recv() => info!(message = "SIGINT: stopping capture and draining."),
                _ = hup.recv() => {
                    info!(message = "SIGHUP: reloading the configuration.");
                    let _ = reload_tx.send(());
                    continue;
                }
            }
            break;
        }
        notify(&[sd_notify::NotifyState::Stopping]);
        stop.store(true, Relaxed);
    });
    notify(&[
        sd_notify::NotifyState::Ready,
        sd_notify::NotifyState::Status("captioning"),
    ]);

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
                render_metrics(registry.clone(), status.clone()),
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
        source_stats: registry,
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
    let front = front.lock().unwrap_or_else(|e| e.into_inner()).take();
    for (id, _, r) in front.map(FrontEnd::join).unwrap_or_default() {
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
