//! Resumable training checkpoints: model and optimiser tensors as safetensors plus a JSON
//! state, written atomically, the last K kept.
//!
//! A checkpoint is the directory `RUN/checkpoints/step-NNNNNNNN/` holding `model.safetensors`,
//! `optimizer.safetensors` and `state.json`. It is written under a temporary name, every
//! file and the directory are fsynced, and only then renamed into place, so a crash (even
//! `kill -9`) mid-write leaves the previous checkpoints intact and the partial one ignored.
//! Old checkpoints are renamed out of the `step-` namespace before they are deleted, so a
//! crash mid-prune never leaves a `step-N` with files missing.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;
use serde::{Deserialize, Serialize};
use tch::Tensor;

/// Why a checkpoint could not be written or read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CheckpointError {
    /// The file or directory at fault.
    pub path: PathBuf,
    /// What went wrong.
    pub message: String,
}

fn err(path: &Path, message: impl std::fmt::Display) -> CheckpointError {
    CheckpointError {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// A ChaCha8 generator's exact position, so a resumed run draws the same numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// The 32-byte seed, hex.
    pub seed: String,
    /// Stream number.
    pub stream: u64,
    /// Position in the stream, in 32-bit words (decimal string: it is a u128).
    pub word_pos: String,
}

impl RngState {
    /// Captures `rng`.
    pub fn of(rng: &ChaCha8Rng) -> Self {
        RngState {
            seed: rng.get_seed().iter().map(|b| format!("{b:02x}")).collect(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// Rebuilds the generator; `None` if the fields are malformed.
    pub fn restore(&self) -> Option<ChaCha8Rng> {
        if self.seed.len() != 64 {
            return None;
        }
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(self.seed.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        let mut rng = ChaCha8Rng::from_seed(seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(self.word_pos.parse().ok()?);
        Some(rng)
    }
}

/// Everything about a run besides tensors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Optimiser updates completed.
    pub step: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// Named random generators (data order, augmentation, ...).
    pub rngs: std::collections::BTreeMap<String, RngState>,
    /// The run's configuration, as given.
    pub config: serde_json::Value,
    /// Latest metrics (validation loss, CIDEr-D, ...).
    pub metrics: std::collections::BTreeMap<String, f64>,
}

/// A loaded checkpoint.
pub struct Checkpoint {
    /// Where it was read from.
    pub dir: PathBuf,
    /// Model tensors by checkpoint name.
    pub model: Vec<(String, Tensor)>,
    /// Optimiser tensors.
    pub optimizer: Vec<(String, Tensor)>,
    /// The JSON state.
    pub state: TrainState,
}

/// The checkpoints of one run.
#[derive(Debug, Clone)]
pub struct Checkpoints {
    root: PathBuf,
    keep_last: usize,
}

const PREFIX: &str = "step-";
const TMP_PREFIX: &str = ".partial-";
const TRASH_PREFIX: &str = ".removing-";

impl Checkpoints {
    /// Checkpoints under `root`, keeping the newest `keep_last` (at least 1).
    pub fn new(root: impl Into<PathBuf>, keep_last: usize) -> Self {
        Checkpoints {
            root: root.into(),
            keep_last: keep_last.max(1),
        }
    }

    /// Writes a checkpoint for `state.step` atomically and prunes old ones; returns its dir.
    pub fn save(
        &self,
        model: &[(String, Tensor)],
        optimizer: &[(String, Tensor)],
        state: &TrainState,
    ) -> Result<PathBuf, CheckpointError> {
        fs::create_dir_all(&self.root).map_err(|e| err(&self.root, e))?;
        let name = format!("{PREFIX}{:08}", state.step);
        let tmp = self.scratch(TMP_PREFIX, &name);
        let _ = fs::remove_dir_all(&tmp);
        fs::create_dir(&tmp).map_err(|e| err(&tmp, e))?;
        if let Err(e) = write_all(&tmp, model, optimizer, state) {
            // A full disk or a vanished device: leave no half-written directory behind to
            // pile up at every checkpoint while the run goes on.
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        let dest = self.root.join(&name);
        if dest.exists() {
            self.remove(&dest)?;
        }
        fs::rename(&tmp, &dest).map_err(|e| err(&dest, e))?;
        sync(&self.root)?;
        self.prune()?;
        Ok(dest)
    }

    /// Complete checkpoints, oldest first.
    pub fn list(&self) -> Result<Vec<PathBuf>, CheckpointError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(err(&self.root, e)),
        };
        let mut steps: Vec<(u64, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let step = name.strip_prefix(PREFIX)?.parse().ok()?;
                Some((step, e.path()))
            })
            .collect();
        steps.sort();
        Ok(steps.into_iter().map(|(_, p)| p).collect())
    }

    /// The newest complete checkpoint, if any.
    pub fn latest(&self) -> Result<Option<PathBuf>, CheckpointError> {
        Ok(self.list()?.pop())
    }

    /// This process's scratch directory `PREFIX NAME -PID` for checkpoint `name`.
    fn scratch(&self, prefix: &str, name: &str) -> PathBuf {
        self.root
            .join(format!("{prefix}{name}{}", scratch_suffix()))
    }

    /// Removes all but the newest `keep_last` checkpoints, and partial ones left by crashes.
    fn prune(&self) -> Result<(), CheckpointError> {
        let all = self.list()?;
        for old in &all[..all.len().saturating_sub(self.keep_last)] {
            self.remove(old)?;
        }
        let ours = scratch_suffix();
        for e in fs::read_dir(&self.root)
            .map_err(|e| err(&self.root, e))?
            .filter_map(Result::ok)
        {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_partial = name.starts_with(TMP_PREFIX) || name.starts_with(TRASH_PREFIX);
            if is_partial && !name.ends_with(&ours) {
                let _ = fs::remove_dir_all(e.path());
            }
        }
        Ok(())
    }

    /// Deletes checkpoint `dir` by first renaming it out of the `step-` namespace, so a kill
    /// mid-delete leaves a `.removing-` directory that the next prune clears, never a
    /// `step-N` with files missing.
    fn remove(&self, dir: &Path) -> Result<(), CheckpointError> {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        let trash = self.scratch(TRASH_PREFIX, &name);
        let _ = fs::remove_dir_all(&trash);
        fs::rename(dir, &trash).map_err(|e| err(dir, e))?;
        fs::remove_dir_all(&trash).map_err(|e| err(&trash, e))
    }
}

/// Writes the three files of a checkpoint into `dir` and syncs them and the directory.
fn write_all(
    dir: &Path,
    model: &[(String, Tensor)],
    optimizer: &[(String, Tensor)],
    state: &TrainState,
) -> Result<(), CheckpointError> {
    write_tensors(&dir.join("model.safetensors"), model)?;
    write_tensors(&dir.join("optimizer.safetensors"), optimizer)?;
    let json = serde_json::to_vec_pretty(state).map_err(|e| err(dir, e))?;
    let state_path = dir.join("state.json");
    fs::write(&state_path, json).map_err(|e| err(&state_path, e))?;
    sync(&state_path)?;
    sync(dir)
}

/// Ends the names of this process's scratch directories, so prune leaves its own alone.
fn scratch_suffix() -> String {
    format!("-{}", std::process::id())
}

/// Reads the checkpoint in `dir`.
pub fn load(dir: &Path) -> Result<Checkpoint, CheckpointError> {
    let read = |name: &str| -> Result<Vec<(String, Tensor)>, CheckpointError> {
        let p = dir.join(name);
        if !p.exists() {
            return Err(err(&p, "missing"));
        }
        Tensor::read_safetensors(&p).map_err(|e| err(&p, e))
    };
    let state_path = dir.join("state.json");
    let text = fs::read_to_string(&state_path).map_err(|e| err(&state_path, e))?;
    let state = serde_json::from_str(&text).map_err(|e| err(&state_path, e))?;
    Ok(Checkpoint {
        dir: dir.to_owned(),
        model: read("model.safetensors")?,
        optimizer: read("optimizer.safetensors")?,
        state,
    })
}

fn write_tensors(path: &Path, tensors: &[(String, Tensor)]) -> Result<(), CheckpointError> {
    let cpu: Vec<(String, Tensor)> = tensors
        .iter()
        .map(|(n, t)| {
            (
                n.clone(),
                t.detach().to_device(tch::Device::Cpu).contiguous(),
            )
        })
        .collect();
    Tensor::write_safetensors(&cpu, path).map_err(|e| err(path, e))?;
    sync(path)
}

fn sync(path: &Path) -> Result<(), CheckpointError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| err(path, format!("fsync: {e}")))
}
