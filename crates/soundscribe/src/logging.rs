//! Process-wide `tracing` set-up: env-filter, human lines on a terminal, JSON lines on request.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber; `RUST_LOG` takes precedence over `level`.
///
/// Logs go to stderr so stdout stays free for command output. Calling it twice is harmless.
pub fn init(level: &str, format: LogFormat) {
    // symphonia logs every Ogg stream it opens at INFO; keep that out of the default.
    let quiet = "symphonia_core=warn,symphonia_format_ogg=warn,symphonia_codec_vorbis=warn,\
                 symphonia_bundle_mp3=warn,symphonia_bundle_flac=warn";
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(format!("{level},{quiet}")))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Human => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    // Already initialised (tests, repeated calls): keep the first subscriber.
    let _ = result;
}
