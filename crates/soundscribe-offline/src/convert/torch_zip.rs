//! A safe reader for `torch.save` files (zip archive + pickle), without Python.
//!
//! The pickle goes through the restricted stack machine in `pickle`, which refuses every
//! global but plain containers and tensor storages, so no code from the file ever runs,
//! and stops at its limits (nesting depth, values and string bytes made, memo copies
//! included; tensor copies beyond the storages), so a hostile file gets an error naming it
//! rather than a stack overflow or runaway memory.
//! This reads the captioner's flat `state_dict` and BEATs' nested
//! `{"cfg": dict, "model": state_dict}` alike.
//!
//! Format reference: `torch/serialization.py` (`_save`, `_load`).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use tch::Tensor;

use crate::convert::pickle::unpickle;
pub use crate::convert::pickle::value::PickleValue;
use crate::convert::pickle::value::StorageRef;

/// Why a torch file could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct TorchFileError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

/// Reads a `torch.save` zip file into plain values and CPU tensors.
pub fn read_torch_file(path: &Path) -> Result<PickleValue, TorchFileError> {
    let err = |message: String| TorchFileError {
        path: path.to_owned(),
        message,
    };
    let file = File::open(path).map_err(|e| err(format!("cannot open: {e}")))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| {
        err(format!(
            "not a torch zip checkpoint ({e}); legacy (pre-1.6) torch.save files are not supported"
        ))
    })?;
    let pkl_name = zip
        .file_names()
        .find(|n| n.ends_with("/data.pkl") && n.matches('/').count() == 1)
        .map(str::to_owned)
        .ok_or_else(|| err("no <archive>/data.pkl entry: not a torch.save checkpoint".into()))?;
    let prefix = pkl_name.trim_end_matches("data.pkl").to_owned();
    if let Ok(mut f) = zip.by_name(&format!("{prefix}byteorder")) {
        let mut order = String::new();
        f.read_to_string(&mut order)
            .map_err(|e| err(format!("cannot read byteorder: {e}")))?;
        if order.trim() != "little" {
            return Err(err(format!("byte order {order:?} is not supported")));
        }
    }
    let mut pickle = Vec::new();
    zip.by_name(&pkl_name)
        .and_then(|mut f| f.read_to_end(&mut pickle).map_err(Into::into))
        .map_err(|e| err(format!("cannot read {pkl_name}: {e}")))?;
    let mut storages: HashMap<String, Tensor> = HashMap::new();
    let mut load_storage = |s: &StorageRef| -> Result<Tensor, String> {
        if let Some(t) = storages.get(&s.key) {
            return Ok(t.shallow_clone());
        }
        let name = format!("{prefix}data/{}", s.key);
        let mut bytes = Vec::new();
        zip.by_name(&name)
            .and_then(|mut f| f.read_to_end(&mut bytes).map_err(Into::into))
            .map_err(|e| format!("cannot read storage {name}: {e}"))?;
        let elem = s.kind.elt_size_in_bytes();
        if s.numel < 0 || bytes.len() != s.numel as usize * elem {
            return Err(format!(
                "storage {name} has {} bytes, expected {} elements of {elem} bytes",
                bytes.len(),
                s.numel
            ));
        }
        let t = Tensor::f_from_data_size(&bytes, &[s.numel], s.kind)
            .map_err(|e| format!("storage {name}: {e}"))?;
        storages.insert(s.key.clone(), t.shallow_clone());
        Ok(t)
    };
    unpickle(&pickle, &mut load_storage)
        .map_err(|m| err(format!("unsupported or malformed pickle: {m}")))
}
