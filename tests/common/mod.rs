//! Shared helpers for the teacher integration tests: the golden fixture and its sources.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use soundscribe::model::convert_teacher::TeacherSources;

/// `tests/fixtures/teacher-a` (a copy of `../shared/golden/teacher-a/`); fails loudly if absent.
pub fn fixture_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/teacher-a");
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
