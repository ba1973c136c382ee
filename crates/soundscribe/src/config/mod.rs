//! The daemon's configuration: one TOML file, one typed struct per pipeline stage.
//!
//! Every struct denies unknown fields and fills missing ones from documented defaults
//! (`config/default.toml` shows them all). [`Config::load`] parses and validates a file and
//! reports problems as [`ConfigError`]s that name the file, the line and the field.

mod decoding;
mod engine;
mod error;
mod locate;
mod logging;
mod model;
mod publishing;
mod sources;
mod windowing;

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use decoding::{DecodingConfig, DecodingStrategy, RerankConfig};
pub use engine::EngineConfig;
pub use error::{ConfigError, ConfigIssue};
pub use logging::{LogFormat, LoggingConfig};
pub use model::{DeviceChoice, ModelConfig};
pub use publishing::PublishingConfig;
pub use sources::{DeviceSource, FileSource, PcmFormat, PcmSource, SourceConfig};
pub use windowing::{Overflow, WindowingConfig};

/// Reads the TOML file at `path` as a `T`, lets `prepare` adjust it (e.g. resolve relative
/// paths), then validates it; errors name the file and, where they can, line and field.
pub fn load_toml<T: DeserializeOwned>(
    path: &Path,
    prepare: impl FnOnce(&mut T),
    validate: impl FnOnce(&T) -> Vec<ConfigIssue>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::io(path, &e))?;
    parse_toml(&text, path, prepare, validate)
}

/// The most wrongly typed fields reported at once.
const MAX_TYPE_ERRORS: usize = 64;

/// `first`, the parser's error, plus every other field of the wrong type: each one found
/// is taken out of the document and deserialization retried, so a file with several
/// mistakes gets them all in one report (a syntax error still stops at the first).
fn type_errors<T: DeserializeOwned>(
    origin: &Path,
    text: &str,
    first: &toml::de::Error,
) -> ConfigError {
    let mut error = ConfigError::parse(origin, text, first);
    let Ok(mut doc) = text.parse::<toml::Table>() else {
        return error;
    };
    let first_field = error.problems.first().and_then(|p| p.field.clone());
    let mut more = Vec::new();
    for _ in 0..MAX_TYPE_ERRORS {
        let e = match serde_path_to_error::deserialize::<_, T>(toml::Value::Table(doc.clone())) {
            Ok(_) => break,
            Err(e) => e,
        };
        let path = e.path().clone();
        let message = e.into_inner().to_string();
        // A required field taken out by an earlier round is no mistake of the file's.
        if message.starts_with("missing field") && !more.is_empty() {
            break;
        }
        let field = path.to_string();
        if Some(&field) != first_field.as_ref() {
            more.push(ConfigIssue::new(field, message.trim().replace('\n', " ")));
        }
        if !remove_field(&mut doc, &path) {
            break;
        }
    }
    if !more.is_empty() {
        error
            .problems
            .extend(ConfigError::invalid(origin, text, more).problems);
    }
    error
}

/// Takes the field at `path` out of `doc`; false when the path leads nowhere.
fn remove_field(doc: &mut toml::Table, path: &serde_path_to_error::Path) -> bool {
    let segments: Vec<&serde_path_to_error::Segment> = path.iter().collect();
    let mut root = toml::Value::Table(std::mem::take(doc));
    let removed = remove_at(&mut root, &segments);
    if let toml::Value::Table(t) = root {
        *doc = t;
    }
    removed
}

fn remove_at(value: &mut toml::Value, path: &[&serde_path_to_error::Segment]) -> bool {
    use serde_path_to_error::Segment;
    match (path, value) {
        ([Segment::Map { key }], toml::Value::Table(t)) => t.remove(key.as_str()).is_some(),
        ([Segment::Seq { index }], toml::Value::Array(a)) if *index < a.len() => {
            a.remove(*index);
            true
        }
        ([Segment::Map { key }, rest @ ..], toml::Value::Table(t)) => {
            t.get_mut(key.as_str()).is_some_and(|v| remove_at(v, rest))
        }
        ([Segment::Seq { index }, rest @ ..], toml::Value::Array(a)) => {
            a.get_mut(*index).is_some_and(|v| remove_at(v, rest))
        }
        _ => false,
    }
}

/// [`load_toml`] on `text` already read; `origin` names the file in error messages.
fn parse_toml<T: DeserializeOwned>(
    text: &str,
    origin: &Path,
    prepare: impl FnOnce(&mut T),
    validate: impl FnOnce(&T) -> Vec<ConfigIssue>,
) -> Result<T, ConfigError> {
    let mut value: T = toml::from_str(text).map_err(|e| type_errors::<T>(origin, text, &e))?;
    prepare(&mut value);
    let issues = validate(&value);
    if issues.is_empty() {
        Ok(value)
    } else {
        Err(ConfigError::invalid(origin, text, issues))
    }
}

/// The whole configuration of `soundscribe serve`, as read from one TOML file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Audio inputs; several may run at once, each with its own `id`.
    pub sources: Vec<SourceConfig>,
    /// Default windowing for every source (sources may override `window_s`/`hop_s`).
    pub windowing: WindowingConfig,
    /// Which captioning model to load and where to run it.
    pub model: ModelConfig,
    /// How captions are decoded and reranked.
    pub decoding: DecodingConfig,
    /// Dynamic batching of windows across sources.
    pub engine: EngineConfig,
    /// Where captions and status messages are published.
    pub publishing: PublishingConfig,
    /// Log level and format.
    pub logging: LoggingConfig,
}

impl Config {
    /// Reads, parses and validates the TOML file at `path`.
    /// Relative paths in it (model, embedder, input files) are resolved against the
    /// file's own folder, so a config works whatever the current directory (`/` under
    /// systemd).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let base = path.parent().unwrap_or(Path::new("")).to_owned();
        load_toml(
            path,
            |c: &mut Config| c.resolve_paths(&base),
            Config::validate,
        )
    }

    /// Makes every relative path in the config (except `-`, stdin) relative to `base`.
    pub fn resolve_paths(&mut self, base: &Path) {
        let fix = |p: &mut std::path::PathBuf| {
            if p.is_relative() && p.as_os_str() != "-" && !p.as_os_str().is_empty() {
                *p = base.join(&*p);
            }
        };
        if let Some(dir) = self.model.dir.as_mut() {
            fix(dir);
        }
        if let Some(e) = self.decoding.rerank.embedder.as_mut() {
            fix(e);
        }
        for s in &mut self.sources {
            match s {
                SourceConfig::File(f) => fix(&mut f.path),
                SourceConfig::Pcm(p) => fix(&mut p.path),
                SourceConfig::Device(_) => {}
            }
        }
    }

    /// Parses and validates TOML `text`; `origin` names the file in error messages.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        parse_toml(text, origin, |_| {}, Config::validate)
    }

    /// Checks what types alone cannot; returns every problem found, not just the first.
    pub fn validate(&self) -> Vec<ConfigIssue> {
        let mut issues = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            source.validate(&format!("sources[{i}]"), &self.windowing, &mut issues);
            if !seen.insert(source.id()) {
                issues.push(ConfigIssue::new(
                    format!("sources[{i}].id"),
                    format!("duplicate source id {:?}", source.id()),
                ));
            }
        }
        self.windowing.validate("windowing", &mut issues);
        self.model.validate("model", &mut issues);
        self.decoding.validate_into("decoding", &mut issues);
        self.engine.validate("engine", &mut issues);
        self.publishing.validate("publishing", &mut issues);
        self.logging.validate("logging", &mut issues);
        issues
    }

    /// The effective configuration (defaults filled in) as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}\n"))
    }
}

#[cfg(test)]
mod tests;
