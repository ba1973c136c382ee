//! `soundscribe serve`: the daemon. Sources → engine thread → ZeroMQ publisher thread,
//! until SIGTERM/SIGINT (or every source has ended), then a drain of everything accepted.
//! SIGHUP re-reads the config file ([`super::reload`]). Liveness (`/healthz`, the systemd
//! watchdog) requires both the engine loop and the publisher thread to have turned
//! recently. A small tokio runtime is kept for the signal handlers only.

use std::path::Path;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::{error, info};

use super::metrics::render_metrics;
use super::notify::{notify, reloading};
use super::reload::{check_for_serve, Reloader};
use super::DaemonError;
use crate::audio::FrontEnd;
use crate::config::Config;
use crate::engine::captioner::Captioner;
use crate::engine::run::{EngineRun, SourceRegistry};
use crate::publish::http::HttpServer;
use crate::publish::{Beat, StatusBoard, StatusProvider};

/// `/healthz` fails when the engine loop has not turned for this long (it turns at least
/// once a second while idle).
const ENGINE_STALL: Duration = Duration::from_secs(30);

/// `/healthz` fails, and the watchdog is not fed, when the publisher thread has not
/// turned for this long (it turns at least every 20 ms).
const PUBLISHER_STALL: Duration = Duration::from_secs(5);

/// `Ok` while both loops turn; otherwise which one stalled and for how long.
fn liveness(engine: &Beat, publisher: &Beat) -> Result<(), String> {
    let (engine, publisher) = (engine.age(), publisher.age());
    if engine >= ENGINE_STALL {
        Err(format!("engine loop idle for {} s", engine.as_secs()))
    } else if publisher >= PUBLISHER_STALL {
        Err(format!(
            "publisher thread idle for {} s",
            publisher.as_secs()
        ))
    } else {
        Ok(())
    }
}

/// Runs the daemon on the config file `path` until SIGTERM/SIGINT (or every source has
/// ended) and the drain; `Ok(false)` when a source or the publisher failed meanwhile.
pub fn run(path: &Path) -> Result<bool, DaemonError> {
    let config = Config::load(path).map_err(|e| DaemonError::Config(e.to_string()))?;
    check_for_serve(path, &config).map_err(DaemonError::Config)?;
    let model_dir = config.model.dir.clone().unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("signals")
        .build()
        .map_err(|e| DaemonError::io("cannot start the async runtime", e))?;
    // SIGHUP's default action kills the process: take it over before the (slow) model
    // load. A reload asked for meanwhile runs once the daemon is up.
    let mut hup = {
        let _rt = runtime.enter();
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .map_err(|e| DaemonError::io("cannot install the SIGHUP handler", e))?
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
    let provider: Arc<dyn StatusProvider> = status.clone();
    let started = crate::publish::start(&config.publishing, provider)?;
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
        return Err(DaemonError::Setup("cannot install signal handlers".into()));
    };
    let mut reloader = Reloader {
        path: path.to_owned(),
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
        .map_err(|e| DaemonError::io("cannot start the reload thread", e))?;
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

    let engine_beat = Beat::new();
    let publisher_beat = started.beat.clone();
    let http = match &config.publishing.metrics_endpoint {
        Some(addr) => {
            let (engine, publisher) = (engine_beat.clone(), publisher_beat.clone());
            let health = Arc::new(move || liveness(&engine, &publisher));
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
    let heartbeat = move || {
        engine_beat.stamp();
        // Fed only while the publisher turns too: a daemon whose captions no longer go
        // out is not healthy, however busy its engine is.
        if watchdog && liveness(&engine_beat, &publisher_beat).is_ok() {
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
    started.stop.stop();
    let published = started.thread.join();
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
    Ok(!failed)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Instant;

    use super::*;

    fn aged(age: Duration) -> Beat {
        Beat::stamped_at(Instant::now().checked_sub(age).unwrap())
    }

    #[test]
    fn liveness_needs_both_the_engine_and_the_publisher_to_turn() {
        let fresh = Beat::new();
        assert!(liveness(&fresh, &fresh).is_ok());
        let err = liveness(&fresh, &aged(Duration::from_secs(6))).unwrap_err();
        assert_eq!(err, "publisher thread idle for 6 s");
        let err = liveness(&aged(Duration::from_secs(31)), &fresh).unwrap_err();
        assert_eq!(err, "engine loop idle for 31 s");
        // A busy engine does not hide a stuck publisher, nor the other way round.
        assert!(liveness(&aged(Duration::from_secs(29)), &fresh).is_ok());
        assert!(liveness(&fresh, &aged(Duration::from_secs(4))).is_ok());
    }
}
