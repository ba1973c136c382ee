use std::path::Path;

use super::*;

fn load(text: &str) -> Result<Config, ConfigError> {
    Config::from_toml(text, Path::new("test.toml"))
}

#[test]
fn default_toml_parses_and_validates() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("config/default.toml");
    let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(!config.sources.is_empty());
    // The documented defaults are the built-in defaults.
    assert_eq!(config.windowing, WindowingConfig::default());
    assert_eq!(config.decoding, DecodingConfig::default());
    assert_eq!(config.engine, EngineConfig::default());
    assert_eq!(config.publishing, PublishingConfig::default());
    assert_eq!(config.logging, LoggingConfig::default());
}

#[test]
fn empty_file_is_all_defaults() {
    assert_eq!(load("").unwrap(), Config::default());
}

#[test]
fn unknown_field_names_line_and_field() {
    let err = load("[windowing]\nwindow_s = 10.0\nhop = 2.5\n").unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("test.toml:3:"), "{msg}");
    assert!(msg.contains("hop"), "{msg}");
    assert!(msg.contains("unknown field"), "{msg}");
}

#[test]
fn wrong_type_names_line_and_field() {
    let err = load("[engine]\nmax_batch = \"eight\"\n").unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("test.toml:2:"), "{msg}");
    assert!(msg.contains("engine.max_batch"), "{msg}");
}

#[test]
fn syntax_error_names_line() {
    let err = load("[engine\nmax_batch = 8\n").unwrap_err();
    assert!(err.to_string().starts_with("test.toml:1:"), "{err}");
}

#[test]
fn validation_reports_every_problem_with_lines() {
    let text = "[windowing]\nwindow_s = 10.0\nhop_s = 12.0\n\n[decoding]\ntop_p = 1.5\n";
    let err = load(text).unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("test.toml:3:1: windowing.hop_s: must be in [0.01, window_s = 10]"),
        "{msg}"
    );
    assert!(msg.contains("test.toml:6:1: decoding.top_p"), "{msg}");
}

#[test]
fn binding_beyond_loopback_needs_allow_insecure() {
    let text = "[publishing]\nendpoints = [\"tcp://0.0.0.0:5556\"]\n";
    let msg = load(text).unwrap_err().to_string();
    assert!(
        msg.starts_with("test.toml:2:")
            && msg.contains(" publishing.endpoints[0]: \"tcp://0.0.0.0:5556\" is reachable"),
        "{msg}"
    );
    assert!(msg.contains("publishing.allow_insecure = true"), "{msg}");
    let allowed = format!("{text}allow_insecure = true\n");
    let config = load(&allowed).unwrap_or_else(|e| panic!("{e}"));
    assert!(config.publishing.allow_insecure);
}

#[test]
fn sources_are_tagged_and_checked() {
    let text = r#"
[[sources]]
kind = "file"
id = "a"
path = "x.wav"

[[sources]]
kind = "pcm"
id = "a"
path = "-"
format = "s16le"
sample_rate = 48000
channels = 0
"#;
    let err = load(text).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("test.toml:13:1: sources[1].channels"), "{msg}");
    assert!(msg.contains("sources[1].id: duplicate source id"), "{msg}");
}

#[test]
fn unknown_source_kind_is_an_error() {
    let err = load("[[sources]]\nkind = \"radio\"\nid = \"x\"\n").unwrap_err();
    assert!(err.to_string().contains("radio"), "{err}");
}

#[test]
fn effective_config_round_trips() {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("config/default.toml");
    let config = Config::load(&path).unwrap();
    let again = load(&config.to_toml()).unwrap();
    assert_eq!(config, again);
}

#[test]
fn unreadable_file_names_the_file() {
    let err = Config::load(Path::new("/nonexistent/soundscribe.toml")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("/nonexistent/soundscribe.toml: cannot read file"),
        "{err}"
    );
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        // Arbitrary text never panics the parser and every error names the file.
        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            if let Err(e) = load(&text) {
                prop_assert!(e.to_string().starts_with("test.toml"));
            }
        }

        // Any TOML-ish line soup built from real keys parses or fails cleanly.
        #[test]
        fn key_soup_never_panics(lines in proptest::collection::vec(
            ("(windowing|engine|decoding|publishing|model|logging)",
             "(window_s|hop_s|max_batch|top_p|endpoints|device|level|x)",
             "(1|-1|1\\.5|\"a\"|\\[\\]|true|nan)"), 0..6)) {
            let text: String = lines.iter()
                .map(|(t, k, v)| format!("[{t}]\n{k} = {v}\n"))
                .collect();
            let _ = load(&text);
        }
    }
}

/// Values a campaign found `config check` accepting and `serve` then choking on: a 480 GB
/// queue, a hop that never advances, one-sample windows, a heartbeat flood, an endpoint
/// bound twice. Every one is refused, all in one report.
#[test]
fn absurd_numbers_are_refused_all_at_once() {
    let text = r#"[windowing]
window_s = 1e-5
hop_s = 1e-9
queue_windows = 4000000000

[publishing]
endpoints = ["tcp://127.0.0.1:5556", "tcp://127.0.0.1:5556"]
heartbeat_s = 1e-12
queue_captions = 100000000
"#;
    let err = load(text).unwrap_err();
    let msg = err.to_string();
    for (line, field) in [
        (2, "windowing.window_s"),
        (3, "windowing.hop_s"),
        (4, "windowing.queue_windows"),
        (7, "publishing.endpoints[1]"),
        (8, "publishing.heartbeat_s"),
        (9, "publishing.queue_captions"),
    ] {
        assert!(
            msg.lines()
                .any(|l| l.starts_with(&format!("test.toml:{line}:"))
                    && l.contains(&format!(" {field}: "))),
            "{field} at line {line} not reported:\n{msg}"
        );
    }
    assert_eq!(err.problems.len(), 6, "{msg}");
}

/// Fields of the wrong type are all reported, not only the first.
#[test]
fn every_wrongly_typed_field_is_reported() {
    let text = "[windowing]\nwindow_s = \"ten\"\n\n[engine]\nmax_batch = \"eight\"\n\n[publishing]\nheartbeat_s = true\n";
    let err = load(text).unwrap_err();
    let msg = err.to_string();
    for (line, field) in [
        (2, "windowing.window_s"),
        (5, "engine.max_batch"),
        (8, "publishing.heartbeat_s"),
    ] {
        assert!(
            msg.lines()
                .any(|l| l.starts_with(&format!("test.toml:{line}:")) && l.contains(field)),
            "{field} at line {line} not reported:\n{msg}"
        );
    }
    assert_eq!(err.problems.len(), 3, "{msg}");
}
