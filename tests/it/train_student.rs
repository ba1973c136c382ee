//! `soundscribe train` end to end on real components: the real aisfx CNN-8 (frozen, from
//! the PyPI package), the real all-MiniLM-L6-v2 caption embeddings for InfoNCE, a BPE
//! trained on the captions, a generated dataset of four sound classes (high beeps, low
//! hums, hissing noise, clicking) with templated captions, validation with decoding and
//! CIDEr-D, and the exported model captioning held-out clips through `soundscribe caption`.
//! Then `kill -9` mid-run and `--resume` end with the same parameters as an uninterrupted
//! run.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::train_common;

use train_common::{
    bin, check, json_lines, log_records, root, tiny_student_toml, workspace, CLASSES,
};

fn config(dir: &Path, max_steps: u64, every: u64) -> PathBuf {
    let embedder = root().join("assets/text/all-MiniLM-L6-v2");
    assert!(
        embedder.is_dir(),
        "{}: run `make setup` (scripts/fetch-text-embedders.sh)",
        embedder.display()
    );
    let head = tiny_student_toml(3, 24, 384);
    let text = format!(
        r#"{head}workers = 2

[optim]
lr = 1e-3
batch_size = 8
accumulation = 1
warmup_steps = 20
max_steps = {max_steps}
weight_decay = 1e-3

[loss]
label_smoothing = 0.1
infonce_weight = 0.5
temperature = 0.5
text_embedder = {embedder:?}

[validate]
every_steps = {every}
metric = "cider_d"
[validate.decoding]
strategy = "greedy"
max_length = 20

[checkpoint]
every_steps = 10
keep_last = 3
log_every = 10
"#
    );
    let p = dir.join(format!("train-{max_steps}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

fn train(cfg: &Path, run: &Path, extra: &[&str]) -> std::process::Output {
    let out = Command::new(bin())
        .args(["train", "--no-progress", "--config"])
        .arg(cfg)
        .arg("--run-dir")
        .arg(run)
        .args(extra)
        .output()
        .unwrap();
    check(&out);
    out
}

#[test]
fn a_tiny_student_learns_to_name_four_sound_classes() {
    let dir = workspace(true);
    let d = dir.path();
    let cfg = config(d, 300, 60);
    let run = d.join("run");
    train(&cfg, &run, &[]);

    let vals = log_records(&run, "val");
    assert_eq!(
        vals.len(),
        6,
        "validation before training, then every 60 updates"
    );
    let loss = |v: &serde_json::Value| v["metrics"]["loss"].as_f64().unwrap();
    let first = loss(&vals[0]);
    let last = loss(&vals[vals.len() - 1]);
    eprintln!(
        "validation loss {first:.3} → {last:.3}; CIDEr-D {} → {}",
        vals[0]["metrics"]["cider_d"], vals[5]["metrics"]["cider_d"]
    );
    assert!(
        last < 0.6 * first,
        "validation loss must fall: {first} → {last}"
    );
    for f in ["model.json", "model.safetensors", "tokenizer.json"] {
        assert!(run.join("final").join(f).is_file(), "final/{f}");
        assert!(run.join("best").join(f).is_file(), "best/{f}");
    }
    let spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("final/model.json")).unwrap()).unwrap();
    assert_eq!(spec["kind"], "student");

    // The exported model, loaded by the engine, names each held-out clip's class.
    let held_out: Vec<PathBuf> = CLASSES
        .iter()
        .map(|(n, _)| d.join(format!("data/val-{n}-0.wav")))
        .collect();
    let out = Command::new(bin())
        .args(["caption", "--strategy", "greedy", "--model"])
        .arg(run.join("best"))
        .args(&held_out)
        .output()
        .unwrap();
    check(&out);
    let lines: Vec<serde_json::Value> = json_lines(&out.stdout);
    assert!(!lines.is_empty());
    for (file, (name, _)) in held_out.iter().zip(CLASSES) {
        let caps: Vec<&str> = lines
            .iter()
            .filter(|v| v["file"] == file.display().to_string())
            .map(|v| v["text"].as_str().unwrap())
            .collect();
        eprintln!("{name}: {caps:?}");
        assert!(!caps.is_empty(), "no caption for {}", file.display());
        assert!(
            caps.iter().all(|c| c.contains(name)),
            "{}: {caps:?} should name {name}",
            file.display()
        );
    }

    // Curves render.
    let st = Command::new(bin()).arg("plot").arg(&run).status().unwrap();
    assert!(st.success());
    assert!(std::fs::metadata(run.join("curves.png")).unwrap().len() > 1000);
}

#[test]
fn kill_9_then_resume_ends_with_the_parameters_of_an_uninterrupted_run() {
    let dir = workspace(true);
    let d = dir.path();
    // 100 steps after the kill point: slack for a loaded machine to deliver the SIGKILL in time.
    let cfg = config(d, 120, 1000);

    let straight = d.join("straight");
    train(&cfg, &straight, &[]);

    // Killed with SIGKILL once its step-20 checkpoint exists (it keeps going until then).
    let broken = d.join("broken");
    let mut child = Command::new(bin())
        .args(["train", "--no-progress", "--config"])
        .arg(&cfg)
        .arg("--run-dir")
        .arg(&broken)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(600);
    while !broken.join("checkpoints/step-00000020").is_dir() {
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    child.wait().unwrap();
    assert!(!broken.join("final").exists(), "killed before the end");

    // A plain restart refuses to overwrite; --resume continues.
    let refused = Command::new(bin())
        .args(["train", "--no-progress", "--config"])
        .arg(&cfg)
        .arg("--run-dir")
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--resume"));
    train(&cfg, &broken, &["--resume"]);

    let a = tch::Tensor::read_safetensors(straight.join("final/model.safetensors")).unwrap();
    let b: std::collections::HashMap<String, tch::Tensor> =
        tch::Tensor::read_safetensors(broken.join("final/model.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(a.len(), b.len());
    for (name, t) in &a {
        assert!(t.equal(&b[name]), "{name} differs after kill + resume");
    }
}

#[test]
fn audio_side_augmentation_turns_the_encoder_cache_off_and_trains() {
    let dir = workspace(true);
    let d = dir.path();
    let base = std::fs::read_to_string(config(d, 20, 1000)).unwrap();
    let cfg = d.join("augment.toml");
    std::fs::write(
        &cfg,
        base.replace(
            "[optim]",
            "[augment]\nspecaugment = { freq_masks = 2, max_freq_width = 24, time_masks = 2, max_time_fraction = 0.1 }\nmixup_prob = 0.5\n\n[optim]",
        ),
    )
    .unwrap();
    let run = d.join("run");
    let out = train(&cfg, &run, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("used=false") && err.contains("audio-side augmentation is on"),
        "{err}"
    );
    let losses: Vec<f64> = log_records(&run, "train")
        .iter()
        .map(|v| v["loss"].as_f64().unwrap())
        .collect();
    eprintln!("augmented training loss: {losses:.3?}");
    assert!(losses.iter().all(|l| l.is_finite()));
    assert!(losses[losses.len() - 1] < losses[0], "{losses:?}");
}
