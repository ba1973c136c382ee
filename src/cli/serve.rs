//! `soundscribe serve`: the daemon. Sources → engine thread → ZeroMQ publisher, until
//! SIGTERM/SIGINT (or every source has ended), then a drain of everything accepted.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use anyhow::Context;
use tracing::{error, info};

use crate::audio::FrontEnd;
use crate::config::Config;
use crate::engine::captioner::Captioner;
use crate::engine::run::EngineRun;
use crate::publish::{StatusBoard, StatusProvider};

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

    let source_stats = front
        .sources()
        .iter()
        .map(|s| (s.id.to_string(), s.stats.clone()))
        .collect();
    let watchdog = std::env::var_os("WATCHDOG_USEC").is_some();
    let heartbeat = move || {
        if watchdog {
            notify(&[sd_notify::NotifyState::Watchdog]);
        }
    };
    let engine = EngineRun {
        captioner: &captioner,
        batching: &config.engine,
        seed: config.decoding.seed,
        alternatives: config.decoding.rerank.alternatives,
        source_stats,
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
