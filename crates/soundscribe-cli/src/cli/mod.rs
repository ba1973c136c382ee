//! Command-line interface: parses arguments, calls into the library, prints, picks the exit
//! code. No pipeline logic lives here.

mod audio_cmd;
mod baseline;
mod caption;
mod config_cmd;
mod convert;
mod data;
mod docs;
mod dump;
mod eval;
mod listen;
mod serve;
mod train;
mod version;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use soundscribe::config::LogFormat;

/// soundscribe: real-time automated audio captioning.
#[derive(Debug, Parser)]
#[command(name = "soundscribe", version, about, long_about = None, propagate_version = true)]
pub struct Args {
    /// Log format (default: human-readable; `json` for journald and log shippers).
    #[arg(long, global = true, value_enum, env = "SOUNDSCRIBE_LOG_FORMAT")]
    pub log_format: Option<LogFormatArg>,
    /// Log filter, e.g. `info` or `soundscribe=debug` (RUST_LOG wins when set).
    #[arg(long, global = true, default_value = "info")]
    pub log_level: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format` values (the config file's `logging.format`).
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormatArg {
    /// Human-readable lines (coloured on a terminal).
    Human,
    /// One JSON object per line, for journald and log shippers.
    Json,
}

impl From<LogFormatArg> for LogFormat {
    fn from(f: LogFormatArg) -> Self {
        match f {
            LogFormatArg::Human => LogFormat::Human,
            LogFormatArg::Json => LogFormat::Json,
        }
    }
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print versions: soundscribe, tch, the loaded libtorch, and whether CUDA is usable.
    Version(version::VersionArgs),
    /// Configuration files.
    #[command(subcommand)]
    Config(config_cmd::ConfigCommand),
    /// Caption metrics (BLEU, METEOR, ROUGE-L, CIDEr-D, SPICE, ...) of hypotheses vs references.
    Eval(eval::EvalArgs),
    /// Convert foreign checkpoints into a model directory.
    #[command(subcommand)]
    Convert(convert::ConvertCommand),
    /// Run a model directory on inputs and write every intermediate tensor.
    Dump(dump::DumpArgs),
    /// Watch a running daemon: print captions and status as they arrive, report gaps.
    #[command(visible_alias = "tail")]
    Listen(listen::ListenArgs),
    /// Run the daemon: capture, caption and publish on ZeroMQ until SIGTERM.
    Serve(serve::ServeArgs),
    /// Caption audio files offline; one JSON line (the published schema) per window.
    Caption(caption::CaptionArgs),
    /// Audio front end: list capture devices, run sources and print their windows.
    #[command(subcommand)]
    Audio(audio_cmd::AudioCommand),
    /// Train a captioner (student or teacher) on captioned audio; resumable.
    Train(train::TrainArgs),
    /// Distill a student from a teacher (encoder-level and sequence-level KD).
    Distill(train::DistillArgs),
    /// Draw a run's loss and validation curves to a PNG.
    Plot(train::PlotArgs),
    /// Nearest-neighbour retrieval baseline (aisfx embeddings) for a test manifest.
    Baseline(baseline::BaselineArgs),
    /// Build the offline training set from sound packages.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(docs::CompletionsArgs),
    /// Print the man page (roff), e.g. `soundscribe man | man -l -`.
    Man,
}

/// Runs the command line in `std::env::args` and returns the process exit code.
pub fn main() -> ExitCode {
    let args = Args::parse();
    let log_format = args.log_format.map_or(LogFormat::Human, LogFormat::from);
    soundscribe::logging::init(&args.log_level, log_format);
    let result = match args.command {
        Command::Version(a) => version::run(&a),
        Command::Config(c) => config_cmd::run(&c),
        Command::Eval(a) => eval::run(&a),
        Command::Convert(c) => convert::run(&c),
        Command::Dump(a) => dump::run(&a),
        Command::Listen(a) => listen::run(&a),
        Command::Audio(c) => audio_cmd::run(&c),
        Command::Serve(a) => serve::run(&a),
        Command::Caption(a) => caption::run(&a),
        Command::Train(a) => train::train(&a),
        Command::Distill(a) => train::distill(&a),
        Command::Plot(a) => train::plot(&a),
        Command::Baseline(a) => baseline::run(&a),
        Command::Data(c) => data::run(&c),
        Command::Completions(a) => docs::completions(&a),
        Command::Man => docs::man(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            fatal(log_format, &format!("{e:#}"));
            ExitCode::from(2)
        }
    }
}

/// Reports the error that ends the process on stderr: a plain line, or under
/// `--log-format json` one JSON object shaped like the log records (journald and log
/// shippers then parse it like every other line). Written directly, so no log filter
/// can hide it.
fn fatal(format: LogFormat, error: &str) {
    match format {
        LogFormat::Human => eprintln!("soundscribe: error: {error}"),
        LogFormat::Json => {
            let timestamp = time::OffsetDateTime::now_utc()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            let record = serde_json::json!({
                "timestamp": timestamp,
                "level": "ERROR",
                "message": "Fatal error; exiting.",
                "error": error,
                "target": "soundscribe",
            });
            eprintln!("{record}");
        }
    }
}
