//! The tch seed-2 student (`Effb2TrmCaptioningModel`: EfficientNet-B2 + 2-layer
//! transformer) equals the authors' PyTorch code on `../shared/golden/student-a/`
//! (55 MB checkpoint, not committed): front end, encoder, teacher-forced logits, KD
//! projection, KV-cache decoding and greedy ids, on CPU in float32.

use std::collections::HashMap;
use std::path::PathBuf;

use soundscribe::features::mel::{mel_filter_bank, LogMel};
use tch::{Device, Kind, Tensor};

/// `../shared/golden/student-a/` next to the repository; fails loudly when absent.
fn golden_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/golden/student-a");
    assert!(
        dir.join("pytorch_model.bin").is_file() && dir.join("io.safetensors").is_file(),
        "golden student checkpoint missing: expected {}/pytorch_model.bin, config.json and \
         io.safetensors (the seed-2 golden set, see ../shared/golden/README.md; 55 MB, not \
         committed to this repository)",
        dir.display()
    );
    dir
}

fn golden_tensors() -> HashMap<String, Tensor> {
    Tensor::read_safetensors(golden_dir().join("io.safetensors"))
        .unwrap()
        .into_iter()
        .collect()
}

/// Asserts max |Δ| ≤ 1e-4 · max(1, max |expected|) and returns max |Δ|.
fn check(name: &str, got: &Tensor, want: &Tensor) -> f64 {
    assert_eq!(got.size(), want.size(), "{name}: shape");
    let diff = (got.to_kind(Kind::Double) - want.to_kind(Kind::Double))
        .abs()
        .max()
        .double_value(&[]);
    let scale = want.abs().max().double_value(&[]).max(1.0);
    eprintln!("{name:>16}: max |Δ| = {diff:.3e} (scale {scale:.3})");
    assert!(
        diff <= 1e-4 * scale,
        "{name}: max |Δ| = {diff:e} > 1e-4 · {scale}"
    );
    diff
}

#[test]
fn mel_db_matches_torchaudio() {
    let g = golden_tensors();
    let mel = LogMel::new(Device::Cpu);
    check("mel_db", &mel.forward(&g["wave"]), &g["mel_db"]);
}

#[test]
fn mel_filter_bank_matches_checkpoint_buffer() {
    let state =
        soundscribe::model::torch_zip::read_torch_file(&golden_dir().join("pytorch_model.bin"))
            .unwrap()
            .state_dict()
            .unwrap();
    let fb = state
        .into_iter()
        .find(|(k, _)| k.ends_with("melspec_extractor.mel_scale.fb"))
        .unwrap()
        .1;
    check("mel fb", &mel_filter_bank(Device::Cpu), &fb);
}
