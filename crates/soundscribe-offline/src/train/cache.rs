//! On-disk caches of tensors computed once per run set-up: caption embeddings (keyed by
//! embedder + text), frozen-encoder outputs and teacher targets (keyed by model + clip).
//!
//! One safetensors file per key, named by a 128-bit FNV-1a hash of the key, written to a
//! temporary name and renamed, so an interrupted run never leaves a torn entry. A file
//! that cannot be read is treated as absent and recomputed (with a warning).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::Tensor;

/// 128-bit FNV-1a of `bytes`, as 32 hex digits: stable across builds and platforms.
pub fn key_hash(bytes: &[u8]) -> String {
    const PRIME: u128 = 0x0000000001000000000000000000013B;
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for &b in bytes {
        h ^= u128::from(b);
        h = h.wrapping_mul(PRIME);
    }
    format!("{h:032x}")
}

/// A folder of named-tensor entries.
#[derive(Debug, Clone)]
pub struct TensorCache {
    dir: PathBuf,
}

impl TensorCache {
    /// The cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        TensorCache { dir: dir.into() }
    }

    /// Where the cache lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir
            .join(format!("{}.safetensors", key_hash(key.as_bytes())))
    }

    /// The tensors stored under `key`, if present and readable.
    pub fn get(&self, key: &str) -> Option<BTreeMap<String, Tensor>> {
        let path = self.path(key);
        if !path.is_file() {
            return None;
        }
        match Tensor::read_safetensors(&path) {
            Ok(t) => Some(t.into_iter().collect()),
            Err(e) => {
                tracing::warn!(
                    message = "Unreadable cache entry; recomputing it.",
                    path = %path.display(),
                    error = %e
                );
                None
            }
        }
    }

    /// Stores `tensors` under `key` atomically.
    pub fn put(&self, key: &str, tensors: &[(&str, &Tensor)]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(key);
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        let named: Vec<(&str, Tensor)> = tensors
            .iter()
            .map(|(n, t)| (*n, t.to_device(tch::Device::Cpu).contiguous()))
            .collect();
        Tensor::write_safetensors(&named, &tmp).map_err(std::io::Error::other)?;
        std::fs::rename(&tmp, &path)
    }
}

/// Text as a u8 tensor (to store strings beside tensors).
pub fn text_tensor(text: &str) -> Tensor {
    Tensor::from_slice(text.as_bytes())
}

/// The string in a u8 tensor written by [`text_tensor`].
pub fn tensor_text(t: &Tensor) -> Option<String> {
    let bytes: Vec<u8> = Vec::<u8>::try_from(t.flatten(0, -1)).ok()?;
    String::from_utf8(bytes).ok()
}

/// What identifies a clip's content for cache keys: path, size, modification time and
/// segment, so an edited file is never served stale outputs.
pub fn clip_key(path: &Path, start: Option<f64>, end: Option<f64>) -> String {
    let meta = std::fs::metadata(path).ok();
    let size = meta.as_ref().map_or(0, |m| m.len());
    let mtime = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{}|{size}|{mtime}|{start:?}|{end:?}", path.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_keys_differ() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TensorCache::new(dir.path().join("c"));
        assert!(cache.get("a").is_none());
        let t = Tensor::from_slice(&[1.0f32, 2.0, 3.0]);
        cache
            .put("a", &[("v", &t), ("s", &text_tensor("a dog barks"))])
            .unwrap();
        let got = cache.get("a").unwrap();
        assert_eq!(
            Vec::<f32>::try_from(&got["v"]).unwrap(),
            vec![1.0, 2.0, 3.0]
        );
        assert_eq!(tensor_text(&got["s"]).unwrap(), "a dog barks");
        assert!(cache.get("b").is_none());
        assert_ne!(key_hash(b"a"), key_hash(b"b"));
        assert_eq!(key_hash(b""), "6c62272e07bb014262b821756295c58d");
    }

    #[test]
    fn a_torn_entry_reads_as_absent() {
        let dir = tempfile::tempdir().unwrap();
        let cache = TensorCache::new(dir.path());
        std::fs::write(cache.path("x"), b"not safetensors").unwrap();
        assert!(cache.get("x").is_none());
    }
}
