//! `soundscribe convert half`: a model directory with its floating-point weights stored as
//! float16 (loading copies them back into float32 variables).

use std::path::Path;

use tch::{Kind, Tensor};

use soundscribe::model::checkpoint::{ModelSpec, MODEL_WEIGHTS};
use soundscribe::model::ModelError;

/// Copies the model directory `dir` to `out` with floating-point weights stored as
/// float16 (loading copies them into float32 variables). Returns (tensors, bytes written).
pub fn convert_half(dir: &Path, out: &Path) -> Result<(usize, u64), ModelError> {
    ModelSpec::read(dir)?;
    let src = dir.join(MODEL_WEIGHTS);
    let tensors = Tensor::read_safetensors(&src)
        .map_err(|e| ModelError::file(&src, format!("cannot read safetensors: {e}")))?;
    std::fs::create_dir_all(out)
        .map_err(|e| ModelError::file(out, format!("cannot create: {e}")))?;
    let entries = std::fs::read_dir(dir).map_err(|e| ModelError::file(dir, e.to_string()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_file() && entry.file_name() != MODEL_WEIGHTS {
            std::fs::copy(&path, out.join(entry.file_name()))
                .map_err(|e| ModelError::file(&path, format!("cannot copy: {e}")))?;
        }
    }
    let half: Vec<(String, Tensor)> = tensors
        .into_iter()
        .map(|(n, t)| {
            let t = if t.is_floating_point() {
                t.to_kind(Kind::Half)
            } else {
                t
            };
            (n, t)
        })
        .collect();
    let dest = out.join(MODEL_WEIGHTS);
    Tensor::write_safetensors(&half, &dest)
        .map_err(|e| ModelError::file(&dest, format!("cannot write: {e}")))?;
    let bytes = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
    Ok((half.len(), bytes))
}
