//! Model selection: which model directory to load and on which device.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::ConfigIssue;

/// Which captioning model to run and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Model directory (`model.json` + `model.safetensors` + `tokenizer.json`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// `auto` (first CUDA device if present, else CPU), `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// libtorch intra-op threads; 0 keeps libtorch's default.
    pub intra_op_threads: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            dir: None,
            device: "auto".to_owned(),
            intra_op_threads: 0,
        }
    }
}

/// A parsed `model.device` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// CUDA device 0 when available, otherwise CPU.
    Auto,
    /// Always CPU.
    Cpu,
    /// CUDA device with this index.
    Cuda(usize),
}

impl ModelConfig {
    /// Parses `device`; `None` when it is not one of the accepted spellings.
    pub fn device_choice(&self) -> Option<DeviceChoice> {
        match self.device.as_str() {
            "auto" => Some(DeviceChoice::Auto),
            "cpu" => Some(DeviceChoice::Cpu),
            "cuda" => Some(DeviceChoice::Cuda(0)),
            other => other
                .strip_prefix("cuda:")?
                .parse()
                .ok()
                .map(DeviceChoice::Cuda),
        }
    }

    pub(super) fn validate(&self, at: &str, issues: &mut Vec<ConfigIssue>) {
        if self.device_choice().is_none() {
            issues.push(ConfigIssue::new(
                format!("{at}.device"),
                format!(
                    "expected \"auto\", \"cpu\", \"cuda\" or \"cuda:N\", got {:?}",
                    self.device
                ),
            ));
        }
        if let Some(dir) = &self.dir {
            if dir.as_os_str().is_empty() {
                issues.push(ConfigIssue::new(format!("{at}.dir"), "must not be empty"));
            }
        }
    }
}
