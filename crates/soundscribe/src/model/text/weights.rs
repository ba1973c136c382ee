//! Loads safetensors weights into a VarStore, reporting every mismatch at once.

use std::collections::HashMap;
use std::path::Path;

use tch::nn::VarStore;

use super::TextEmbedderError;

/// Copies the tensors of `path` into `vs`; every variable must exist with the same shape.
/// Extra tensors in the file (e.g. a pooler the embedder does not use) are ignored.
pub(super) fn load_checked(vs: &mut VarStore, path: &Path) -> Result<(), TextEmbedderError> {
    if !path.exists() {
        return Err(TextEmbedderError::io(
            path,
            std::io::Error::from(std::io::ErrorKind::NotFound),
        ));
    }
    let file: HashMap<String, tch::Tensor> = tch::Tensor::read_safetensors(path)
        .map_err(|source| TextEmbedderError::Torch {
            path: path.to_owned(),
            source,
        })?
        .into_iter()
        .collect();
    let mut problems = Vec::new();
    let mut vars: Vec<_> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, var) in &vars {
        match file.get(name) {
            None => problems.push(format!("missing tensor {name} {:?}", var.size())),
            Some(t) if t.size() != var.size() => problems.push(format!(
                "tensor {name}: file has shape {:?}, model expects {:?}",
                t.size(),
                var.size()
            )),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(TextEmbedderError::Weights {
            path: path.to_owned(),
            problems,
        });
    }
    tch::no_grad(|| {
        for (name, mut var) in vars {
            let src = &file[&name];
            var.copy_(&src.to_kind(var.kind()));
        }
    });
    Ok(())
}
