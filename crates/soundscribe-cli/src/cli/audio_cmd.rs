//! `soundscribe audio devices` and `soundscribe audio windows`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::UNIX_EPOCH;

use anyhow::Context;
use clap::{Args, Subcommand};

use soundscribe::audio::{device, FrontEnd, Window};
use soundscribe::config::{Config, FileSource, SourceConfig};

/// `soundscribe audio ...`
#[derive(Debug, Subcommand)]
pub enum AudioCommand {
    /// List capture devices (cpal, ALSA host) with their input configurations.
    Devices {
        /// One JSON object per device instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run the audio front end and print every window: source, seq, start/end in stream
    /// seconds, RMS dBFS, gated. Counters per source go to stderr at the end.
    Windows(WindowsArgs),
}

/// Arguments of `soundscribe audio windows`.
#[derive(Debug, Args)]
pub struct WindowsArgs {
    /// An audio file (WAV, FLAC, Ogg Vorbis, MP3), read as fast as possible.
    #[arg(required_unless_present = "config", conflicts_with = "config")]
    pub file: Option<PathBuf>,
    /// Run the sources of this config instead (devices, files, PCM streams).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Model sample rate the windows are resampled to.
    #[arg(long, default_value_t = 16_000)]
    pub rate: u32,
    /// Override `windowing.window_s`.
    #[arg(long)]
    pub window_s: Option<f64>,
    /// Override `windowing.hop_s`.
    #[arg(long)]
    pub hop_s: Option<f64>,
    /// Override `windowing.silence_gate_dbfs`.
    #[arg(long, allow_hyphen_values = true)]
    pub gate_dbfs: Option<f64>,
    /// Stop after this many windows (live sources run until interrupted otherwise).
    #[arg(long)]
    pub max_windows: Option<u64>,
    /// One JSON object per window instead of text.
    #[arg(long)]
    pub json: bool,
}

pub(super) fn run(cmd: &AudioCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        AudioCommand::Devices { json } => devices(*json),
        AudioCommand::Windows(a) => windows(a),
    }
}

fn devices(json: bool) -> anyhow::Result<ExitCode> {
    let list = device::list_input_devices()?;
    let mut out = std::io::stdout().lock();
    for d in &list {
        if json {
            writeln!(out, "{}", serde_json::to_string(d)?)?;
            continue;
        }
        let mark = if d.is_default { " (default)" } else { "" };
        writeln!(out, "{}{mark}  [{}]", d.name, d.id)?;
        if let Some(c) = &d.default_config {
            writeln!(out, "    default: {c}")?;
        }
        for c in &d.configs {
            writeln!(out, "    supports: {c}")?;
        }
    }
    if list.is_empty() {
        eprintln!("no input devices found");
    }
    Ok(ExitCode::SUCCESS)
}

fn build_config(a: &WindowsArgs) -> anyhow::Result<Result<Config, ExitCode>> {
    let mut config = match (&a.config, &a.file) {
        (Some(path), _) => match Config::load(path) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{e}");
                return Ok(Err(ExitCode::from(1)));
            }
        },
        (None, Some(file)) => Config {
            sources: vec![SourceConfig::File(FileSource {
                id: "file".into(),
                path: file.clone(),
                realtime: false,
                window_s: None,
                hop_s: None,
            })],
            ..Config::default()
        },
        (None, None) => anyhow::bail!("give a FILE or --config"),
    };
    if let Some(w) = a.window_s {
        config.windowing.window_s = w;
    }
    if let Some(h) = a.hop_s {
        config.windowing.hop_s = h;
    }
    if a.gate_dbfs.is_some() {
        config.windowing.silence_gate_dbfs = a.gate_dbfs;
    }
    let issues = config.validate();
    if !issues.is_empty() {
        for i in issues {
            eprintln!("{}: {}", i.field, i.message);
        }
        return Ok(Err(ExitCode::from(1)));
    }
    Ok(Ok(config))
}

fn windows(a: &WindowsArgs) -> anyhow::Result<ExitCode> {
    let config = match build_config(a)? {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let (front, mut rx) = FrontEnd::start(&config, a.rate, true)?;
    let mut out = std::io::stdout().lock();
    if !a.json {
        writeln!(out, "source\tseq\tstart_s\tend_s\trms_dbfs\tgated")?;
    }
    let mut count = 0u64;
    while let Some(w) = rx.recv() {
        print_window(&mut out, &w, a.json).context("writing to stdout")?;
        count += 1;
        if a.max_windows.is_some_and(|m| count >= m) {
            break;
        }
    }
    front.stop();
    drop(rx);
    let mut failed = false;
    for (id, stats, result) in front.join() {
        let s = stats.snapshot();
        eprintln!(
            "{id}: frames_in={} overrun={} xruns={} nonfinite={} clipped={} samples={} windows: queued={} dropped={} gated={} gaps={} ({:.3} s)",
            s.frames_in,
            s.frames_overrun,
            s.xruns,
            s.nonfinite_samples,
            s.clipped_samples,
            s.samples_produced,
            s.windows_queued,
            s.windows_dropped,
            s.windows_gated,
            s.gaps,
            s.gap_samples as f64 / f64::from(a.rate),
        );
        if let Err(e) = result {
            eprintln!("soundscribe: {id}: {e}");
            failed = true;
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_window(out: &mut impl Write, w: &Window, json: bool) -> std::io::Result<()> {
    if json {
        let wall = w
            .wall
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        let v = serde_json::json!({
            "source": &*w.source,
            "seq": w.seq,
            "start_s": w.start.seconds(),
            "end_s": w.end.seconds(),
            "start_sample": w.start.sample,
            "end_sample": w.end.sample,
            "rate": w.start.rate,
            "wall_unix_s": wall,
            "rms_dbfs": if w.rms_dbfs.is_finite() { Some(w.rms_dbfs) } else { None },
            "gated": w.gated,
        });
        writeln!(out, "{v}")
    } else {
        writeln!(
            out,
            "{}\t{}\t{:.6}\t{:.6}\t{:.1}\t{}",
            w.source,
            w.seq,
            w.start.seconds(),
            w.end.seconds(),
            w.rms_dbfs,
            if w.gated { "gated" } else { "-" }
        )
    }
}
