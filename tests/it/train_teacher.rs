//! `soundscribe train` on the seed-1 teacher: the golden fixture (converted from its
//! release files) with a BPE tokenizer of its 512-token vocabulary trained on the captions
//! (BART's special-token order), BEATs frozen as in the seed, Conformer + BART decoder
//! trained with cross-entropy (the fixture's 64-d audio embedding matches no sentence
//! embedder, so InfoNCE is off here; the student test covers it).

use std::process::Command;

use crate::common;
use crate::train_common;

use soundscribe::model::student::tokenizer::train_bpe;
use soundscribe_offline::convert::teacher::convert_teacher;
use train_common::{bin, check, log_records, workspace, CLASSES};

#[test]
fn the_teacher_trains_with_beats_frozen_and_its_export_captions() {
    let dir = workspace(false);
    let d = dir.path();
    let teacher = d.join("teacher");
    convert_teacher(&common::sources(&common::fixture_dir()), &teacher).unwrap();
    let captions = CLASSES.iter().flat_map(|(_, c)| c.iter().copied());
    let tok = train_bpe(captions, 512, true).unwrap();
    tok.save(teacher.join("tokenizer.json"), false).unwrap();

    let cfg = d.join("teacher.toml");
    std::fs::write(
        &cfg,
        r#"seed = 1
threads = 1
[model]
kind = "teacher"
init = "teacher"
[data]
train = [{ format = "jsonl", path = "data/train.jsonl" }]
val = [{ format = "jsonl", path = "data/val.jsonl" }]
encoder_cache = false
[optim]
lr = 1e-3
batch_size = 4
accumulation = 2
warmup_steps = 5
max_steps = 60
[loss]
infonce_weight = 0.0
[validate]
every_steps = 30
metric = "loss"
[validate.decoding]
strategy = "greedy"
max_length = 20
[checkpoint]
every_steps = 30
log_every = 10
"#,
    )
    .unwrap();
    let run = d.join("run");
    let out = Command::new(bin())
        .args(["train", "--no-progress", "--config"])
        .arg(&cfg)
        .arg("--run-dir")
        .arg(&run)
        .output()
        .unwrap();
    check(&out);
    let vals: Vec<f64> = log_records(&run, "val")
        .into_iter()
        .map(|v| v["metrics"]["loss"].as_f64().unwrap())
        .collect();
    eprintln!("teacher validation loss (steps 0, 30, 60): {vals:.3?}");
    assert!(
        vals[2] < 0.6 * vals[0],
        "validation loss must fall: {vals:?}"
    );

    // BEATs (`encoder.*`) is untouched; the Conformer moved.
    let before: std::collections::HashMap<String, tch::Tensor> =
        tch::Tensor::read_safetensors(teacher.join("model.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    let after = tch::Tensor::read_safetensors(run.join("final/model.safetensors")).unwrap();
    let mut moved = 0;
    for (name, t) in &after {
        if name.starts_with("encoder.") {
            assert!(
                t.equal(&before[name]),
                "{name} changed: BEATs must stay frozen"
            );
        } else if !t.equal(&before[name]) {
            moved += 1;
        }
    }
    assert!(moved > 10, "only {moved} tensors were trained");

    // The last validation scored the network as it ended, Conformer included: a run that
    // starts from the exported model scores the same before its first update.
    let again = d.join("again.toml");
    let text = std::fs::read_to_string(&cfg)
        .unwrap()
        .replace("init = \"teacher\"", "init = \"run/final\"")
        .replace("max_steps = 60", "max_steps = 1");
    std::fs::write(&again, text).unwrap();
    let out = Command::new(bin())
        .args(["train", "--no-progress", "--config"])
        .arg(&again)
        .arg("--run-dir")
        .arg(d.join("again"))
        .output()
        .unwrap();
    check(&out);
    let start = log_records(&d.join("again"), "val")[0]["metrics"]["loss"]
        .as_f64()
        .unwrap();
    assert!(
        (start - vals[2]).abs() < 1e-4,
        "final validation loss {} but the exported model scores {start}",
        vals[2]
    );

    let out = Command::new(bin())
        .args(["caption", "--strategy", "greedy", "--model"])
        .arg(run.join("final"))
        .arg(d.join("data/val-hum-0.wav"))
        .output()
        .unwrap();
    check(&out);
    let line: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    let text = line["text"].as_str().unwrap();
    eprintln!("trained teacher on a held-out hum: {text:?}");
    assert!(
        !text.starts_with("<ids"),
        "the exported teacher carries its tokenizer"
    );
}
