//! SPICE 1.0 through the jar pycocoevalcap ships, run as pycocoevalcap's `spice.py` runs it.
//!
//! `java -jar -Xmx8G spice-1.0.jar IN.json -cache DIR -out OUT.json -subset -silent` in the
//! jar's directory, with `IN.json = [{"image_id", "test", "refs"}]`; the score of an item is
//! `scores.All.f`, the corpus score their mean. SPICE parses captions with Stanford CoreNLP
//! 3.6.0, whose jars are not on any package registry: [`super::java::JavaAssets::spice_jar`]
//! says so when they are missing, and SPICE (and SPIDEr) are then reported unavailable.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

/// SPICE for a corpus and for each item.
#[derive(Debug, Clone, PartialEq)]
pub struct SpiceScores {
    /// Mean of the per-item F-scores.
    pub corpus: f64,
    /// Per-item SPICE F-score, in input order.
    pub per_item: Vec<f64>,
}

/// Runs SPICE on tokenized candidates and references.
pub fn score(
    java: &Path,
    jar: &Path,
    cands: &[String],
    refs: &[Vec<String>],
) -> Result<SpiceScores, String> {
    assert_eq!(cands.len(), refs.len(), "one reference list per candidate");
    let dir = jar.parent().unwrap_or(Path::new("."));
    let stamp = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let tmp = std::env::temp_dir();
    let input = tmp.join(format!("soundscribe-spice-in-{stamp}.json"));
    let output = tmp.join(format!("soundscribe-spice-out-{stamp}.json"));
    let items: Vec<Value> = cands
        .iter()
        .zip(refs)
        .enumerate()
        .map(|(i, (c, r))| json!({"image_id": i, "test": c, "refs": r}))
        .collect();
    std::fs::write(
        &input,
        serde_json::to_vec(&items).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("cannot write {}: {e}", input.display()))?;
    let cache = dir.join("cache");
    let _ = std::fs::create_dir_all(&cache);
    let run = Command::new(java)
        .args(["-jar", "-Xmx8G"])
        .arg(jar.file_name().unwrap_or(jar.as_os_str()))
        .arg(&input)
        .arg("-cache")
        .arg(&cache)
        .arg("-out")
        .arg(&output)
        .args(["-subset", "-silent"])
        .current_dir(dir)
        .output();
    let _ = std::fs::remove_file(&input);
    let run = run.map_err(|e| format!("cannot start SPICE: {e}"))?;
    if !run.status.success() {
        let _ = std::fs::remove_file(&output);
        let err = String::from_utf8_lossy(&run.stderr);
        return Err(format!("SPICE failed ({}): {}", run.status, err.trim()));
    }
    let text = std::fs::read_to_string(&output)
        .map_err(|e| format!("cannot read {}: {e}", output.display()));
    let _ = std::fs::remove_file(&output);
    let results: Vec<Value> =
        serde_json::from_str(&text?).map_err(|e| format!("SPICE output: {e}"))?;
    let mut per_item = vec![f64::NAN; cands.len()];
    for r in &results {
        let id = r["image_id"].as_u64().map(|i| i as usize);
        let f = r["scores"]["All"]["f"].as_f64();
        match (id, f) {
            (Some(i), Some(f)) if i < per_item.len() => per_item[i] = f,
            _ => return Err(format!("SPICE output has an unexpected entry: {r}")),
        }
    }
    if let Some(i) = per_item.iter().position(|v| v.is_nan()) {
        return Err(format!("SPICE returned no score for item {i}"));
    }
    let corpus = per_item.iter().sum::<f64>() / per_item.len().max(1) as f64;
    Ok(SpiceScores { corpus, per_item })
}
