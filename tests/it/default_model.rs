//! The embedded default model (models/default) captions held-out clips of three distinct
//! classes — a real horse recording (widelands-data), a violin (FluidR3_GM) and a woman's
//! voice (espeak-ng), none of them seen in training (whole packages, programs and voices
//! were held out) — with captions that name them, through `soundscribe caption` with the
//! decoding it ships with (config/default-model.toml) and without `--model` (the default
//! directory is found on its own).

use std::path::PathBuf;

use crate::train_common;

use std::process::Command;
use train_common::{check, json_lines};

#[test]
fn the_default_model_names_three_held_out_sounds() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
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

#[test]
fn dump_writes_every_intermediate_tensor_of_the_default_model() {
    let dir = tempfile::tempdir().unwrap();
    // 2 s is 201 frames: the third 100-frame block is nearly all padding, so some steps
    // are invalid (and some outputs are views that must be written contiguously).
    let n = 44_100 * 2;
    let wave = tch::Tensor::from_slice(
        &(0..n)
            .map(|i| (i as f32 * 0.05).sin() * 0.3)
            .collect::<Vec<f32>>(),
    )
    .view([1, n as i64]);
    let ids = tch::Tensor::from_slice(&[0i64, 5, 6, 7]).view([1, 4]);
    let input = dir.path().join("in.safetensors");
    tch::Tensor::write_safetensors(&[("wave", wave), ("dec_input_ids", ids)], &input).unwrap();
    let out = dir.path().join("out.safetensors");
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let run = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(["dump", "--model"])
        .arg(root.join("models/default"))
        .arg("--input")
        .arg(&input)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    check(&run);
    let got: std::collections::HashMap<String, tch::Tensor> = tch::Tensor::read_safetensors(&out)
        .unwrap()
        .into_iter()
        .collect();
    let mut names: Vec<&str> = got.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "clip_embed",
            "encoder_out",
            "logits",
            "memory",
            "memory_valid"
        ]
    );
    let steps = got["memory"].size()[1];
    assert_eq!(got["memory"].size(), [1, steps, 512]);
    assert_eq!(got["memory_valid"].size(), [1, steps]);
    let valid = i64::try_from(got["memory_valid"].sum(tch::Kind::Int64)).unwrap();
    assert!(0 < valid && valid < steps, "{valid} of {steps} steps valid");
    assert_eq!(got["encoder_out"].size()[..2], [1, steps]);
    assert_eq!(got["logits"].size()[..2], [1, 4]);
}
