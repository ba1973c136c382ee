//! Shared helpers for the model integration tests: the teacher's golden fixture and its
//! sources, and the golden-tensor tolerance check.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use soundscribe_offline::convert::teacher::TeacherSources;
use tch::{Kind, Tensor};

/// `tests/fixtures/teacher-a` (a copy of `../shared/golden/teacher-a/`); fails loudly if absent.
pub fn fixture_dir() -> PathBuf {
    let dir =
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("tests/fixtures/teacher-a");
    for f in [
        "io.safetensors",
        "pytorch_model.bin",
        "beats.pt",
        "config.json",
        "conformer_config.json",
    ] {
        assert!(
            dir.join(f).is_file(),
            "golden fixture missing: {} (copy ../shared/golden/teacher-a/ there)",
            dir.join(f).display()
        );
    }
    dir
}

/// The release files of the fixture.
pub fn sources(dir: &Path) -> TeacherSources {
    TeacherSources {
        checkpoint: dir.join("pytorch_model.bin"),
        config: dir.join("config.json"),
        conformer_config: dir.join("conformer_config.json"),
        beats: dir.join("beats.pt"),
    }
}

/// Asserts max |Δ| ≤ 1e-4 · max(1, max |expected|) and returns max |Δ|.
pub fn check(name: &str, got: &Tensor, want: &Tensor) -> f64 {
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
