//! `soundscribe caption`: caption audio files offline, one JSON line per window, text
//! lines, or a subtitle file (WebVTT / SubRip, one file at a time; see
//! `soundscribe::publish::subtitles` for how overlapping windows become cues).
//!
//! Each file is opened on its own: one that cannot be read, or that decodes to no audio, is
//! reported on stderr as `soundscribe: FILE: reason` and the others are captioned. The exit
//! code is 0 when every file was captioned, 1 when some failed, 2 when none could be.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use soundscribe::audio::file::FileReader;
use soundscribe::audio::{FrameRead, FrontEnd};
use soundscribe::config::{Config, DecodingStrategy, FileSource, SourceConfig};
use soundscribe::engine::captioner::Captioner;
use soundscribe::engine::run::EngineRun;
use soundscribe::publish::schema::encode_caption;
use soundscribe::publish::subtitles::{cues, render, CaptionedWindow, SubtitleFormat};

/// Arguments of `soundscribe caption`.
#[derive(Debug, clap::Args)]
pub struct CaptionArgs {
    /// Model directory (`model.json` + `model.safetensors`); default: the embedded
    /// default model (`$SOUNDSCRIBE_MODEL`, else `models/default`).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Output: one JSON line per window (the published schema plus `file`), text lines
    /// `file [start–end s] caption`, or subtitles of one file (`vtt` WebVTT, `srt` SubRip).
    #[arg(long, value_enum, default_value = "json")]
    format: Format,
    /// Audio files (WAV/RF64, AIFF, FLAC, Ogg Vorbis/Opus/FLAC, MP3; see the README). One
    /// that cannot be read is reported and skipped.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Take windowing, decoding and device settings from this config (its sources are ignored).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Window length in seconds (default: the config's).
    #[arg(long)]
    window_s: Option<f64>,
    /// Hop in seconds (default: the config's).
    #[arg(long)]
    hop_s: Option<f64>,
    /// Decoding strategy (default: the config's).
    #[arg(long, value_enum)]
    strategy: Option<Strategy>,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Json,
    Text,
    Vtt,
    Srt,
}

/// `--strategy` values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Strategy {
    Nucleus,
    Beam,
    Greedy,
}

pub(super) fn run(args: &CaptionArgs) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(p) => Config::load(p).map_err(|e| anyhow::anyhow!("{e}"))?,
        None => Config::default(),
    };
    if let Some(w) = args.window_s {
        config.windowing.window_s = w;
    }
    if let Some(h) = args.hop_s {
        config.windowing.hop_s = h;
    }
    if let Some(s) = args.strategy {
        config.decoding.strategy = match s {
            Strategy::Nucleus => DecodingStrategy::Nucleus,
            Strategy::Beam => DecodingStrategy::Beam,
            Strategy::Greedy => DecodingStrategy::Greedy,
        };
    }
    let subtitles = match args.format {
        Format::Vtt => Some(SubtitleFormat::WebVtt),
        Format::Srt => Some(SubtitleFormat::Srt),
        _ => None,
    };
    if subtitles.is_some() && args.files.len() != 1 {
        anyhow::bail!(
            "--format vtt/srt writes the subtitles of one file; {} files were given",
            args.files.len()
        );
    }
    // Open every file on its own: a bad one is reported and skipped, not fatal to the rest.
    let mut failed = 0usize;
    let mut readable = Vec::new();
    for (i, path) in args.files.iter().enumerate() {
        match check_file(path) {
            Ok(()) => readable.push((i, path)),
            Err(reason) => {
                eprintln!("soundscribe: {reason}");
                failed += 1;
            }
        }
    }
    if readable.is_empty() {
        if args.files.len() > 1 {
            eprintln!(
                "soundscribe: none of the {} files could be captioned",
                args.files.len()
            );
        }
        return Ok(ExitCode::from(2));
    }
    config.sources = readable
        .iter()
        .map(|&(i, path)| {
            SourceConfig::File(FileSource {
                id: format!("file{i}"),
                path: path.clone(),
                realtime: false,
                window_s: None,
                hop_s: None,
            })
        })
        .collect();
    let issues = config.validate();
    if let Some(first) = issues.first() {
        anyhow::bail!("{}: {}", first.field, first.message);
    }
    let model = match &args.model {
        Some(m) => m.clone(),
        None => soundscribe::engine::default_model_dir().ok_or_else(|| {
            anyhow::anyhow!(
                "no --model given and no default model found (SOUNDSCRIBE_MODEL or models/default)"
            )
        })?,
    };
    let device = soundscribe::engine::device::select(&config.model)?;
    let captioner = Captioner::load(
        &model,
        device,
        &config.decoding,
        config.decoding.rerank.embedder.as_deref(),
    )?;
    let (front, mut receivers) = FrontEnd::start(&config, captioner.sample_rate(), false)?;
    let names: HashMap<String, String> = args
        .files
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("file{i}"), p.display().to_string()))
        .collect();
    let source_stats = front
        .sources()
        .iter()
        .map(|s| (s.id.to_string(), s.stats.clone()))
        .collect();
    let engine = EngineRun {
        captioner: &captioner,
        batching: &config.engine,
        seed: config.decoding.seed,
        alternatives: config.decoding.rerank.alternatives,
        source_stats,
        status: None,
        heartbeat: &|| {},
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut write_error = None;
    let mut windows = Vec::new();
    let summary = engine.run(&mut receivers, &mut |caption| {
        if write_error.is_some() {
            return;
        }
        let file = names.get(&caption.source).cloned().unwrap_or_default();
        let result = match args.format {
            Format::Vtt | Format::Srt => {
                windows.push(CaptionedWindow {
                    start_s: caption.window.start_s,
                    end_s: caption.window.end_s,
                    text: caption.text.clone(),
                });
                Ok(())
            }
            Format::Text => writeln!(
                out,
                "{file} [{:7.2}–{:7.2} s] {}",
                caption.window.start_s, caption.window.end_s, caption.text
            ),
            Format::Json => match encode_caption(&caption) {
                Ok(encoded) => {
                    // The wire payload plus the file it came from.
                    let mut v: serde_json::Value =
                        serde_json::from_slice(&encoded.payload).unwrap_or_default();
                    v["file"] = serde_json::Value::String(file);
                    writeln!(out, "{v}")
                }
                Err(e) => writeln!(std::io::stderr(), "soundscribe: {e}"),
            },
        };
        if let Err(e) = result {
            write_error = Some(e);
        }
    })?;
    for (id, stats, result) in front.join() {
        let file = names.get(&*id).cloned().unwrap_or_default();
        match result {
            // The error names the file.
            Err(e) => {
                eprintln!("soundscribe: {e}");
                failed += 1;
            }
            Ok(()) if stats.snapshot().frames_in == 0 => {
                eprintln!("soundscribe: {file}: {NO_AUDIO}");
                failed += 1;
            }
            Ok(()) => {}
        }
    }
    if let (Some(format), None) = (subtitles, &write_error) {
        if let Err(e) = out.write_all(render(format, &cues(&windows)).as_bytes()) {
            write_error = Some(e);
        }
    }
    if let Some(e) = write_error {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    tracing::info!(
        message = "Captioning finished.",
        windows = summary.captioned,
        batches = summary.batches,
        failed_files = failed
    );
    Ok(match failed {
        0 => ExitCode::SUCCESS,
        n if n < args.files.len() => ExitCode::from(1),
        _ => ExitCode::from(2),
    })
}

/// Why a file that opens is still not captioned.
const NO_AUDIO: &str = "no audio: the file decodes to no samples";

/// Opens `path` and decodes its first samples; the reason, naming the file, when it cannot
/// be captioned.
fn check_file(path: &Path) -> Result<(), String> {
    let mut reader = FileReader::open(path).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    match reader.read_frames(&mut buf, 1) {
        Ok(0) => Err(format!("{}: {NO_AUDIO}", path.display())),
        Ok(_) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}
