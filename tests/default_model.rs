//! The embedded default model (models/default) captions held-out clips of three distinct
//! classes — a real horse recording (widelands-data), a violin (FluidR3_GM) and a woman's
//! voice (espeak-ng), none of them seen in training (whole packages, programs and voices
//! were held out) — with captions that name them, through `soundscribe caption` with the
//! decoding it ships with (config/default-model.toml) and without `--model` (the default
//! directory is found on its own).

use std::path::PathBuf;

mod train_common;

use std::process::Command;
use train_common::{check, json_lines};

#[test]
fn the_default_model_names_three_held_out_sounds() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let embedder = root.join("assets/text/all-MiniLM-L6-v2");
    assert!(
        embedder.is_dir(),
        "{}: run `make setup`",
        embedder.display()
    );
    let fixtures = root.join("tests/fixtures/default-model");
    let out = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .current_dir(&root)
        .args([
            "caption",
            "--config",
            "config/default-model.toml",
            "--window-s",
            "10",
            "--hop-s",
            "10",
        ])
        .args(["horse", "violin", "woman"].map(|n| fixtures.join(format!("{n}.wav"))))
        .output()
        .unwrap();
    check(&out);
    let lines: Vec<serde_json::Value> = json_lines(&out.stdout);
    assert_eq!(lines.len(), 3, "one window per clip");
    for (name, words) in [
        ("horse", ["horse", "neigh"]),
        ("violin", ["violin", "fiddle"]),
        ("woman", ["woman", "female"]),
    ] {
        let line = lines
            .iter()
            .find(|v| {
                v["file"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("{name}.wav"))
            })
            .unwrap();
        let text = line["text"].as_str().unwrap();
        eprintln!("{name}: {text:?}");
        assert!(
            words.iter().any(|w| text.contains(w)),
            "{name}.wav: {text:?}"
        );
        assert_eq!(line["model"], "default");
    }
}
