//! Shared by the training tests: a generated dataset of four sound classes with templated
//! captions, the converted aisfx encoder and the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const RATE: u32 = 44_100;

pub fn root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_soundscribe"))
}

/// A tiny deterministic generator (the test must not depend on the crate's RNG).
pub struct Lcg(pub u64);
impl Lcg {
    pub fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

pub const CLASSES: [(&str, [&str; 3]); 4] = [
    (
        "beep",
        [
            "a high pitched beep sounds",
            "a beep rings at a high pitch",
            "a high tone beeps steadily",
        ],
    ),
    (
        "hum",
        [
            "a low hum drones",
            "a deep hum continues",
            "a low pitched hum fills the room",
        ],
    ),
    (
        "hiss",
        [
            "a loud hiss of noise",
            "static noise hisses",
            "a steady hiss of white noise",
        ],
    ),
    (
        "click",
        [
            "rhythmic clicking",
            "a clock clicks regularly",
            "steady clicks repeat",
        ],
    ),
];

pub fn signal(class: usize, seconds: f32, rng: &mut Lcg) -> Vec<f32> {
    let n = (seconds * RATE as f32) as usize;
    let amp = 0.2 + 0.2 * (rng.next() + 1.0);
    let f0 = 1.0 + 0.1 * rng.next();
    (0..n)
        .map(|i| {
            let t = i as f32 / RATE as f32;
            let tau = 2.0 * std::f32::consts::PI * t;
            amp * match class {
                0 => (tau * 3000.0 * f0).sin(),
                1 => 0.7 * (tau * 110.0 * f0).sin() + 0.3 * (tau * 220.0 * f0).sin(),
                2 => rng.next(),
                _ => {
                    let phase = (t * 5.0 * f0).fract();
                    if phase < 0.004 {
                        1.0
                    } else {
                        0.02 * rng.next()
                    }
                }
            }
        })
        .collect()
}

pub fn write_wav(path: &Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32767.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

/// Writes `train.jsonl` (10 clips per class) and `val.jsonl` (3 per class).
pub fn dataset(dir: &Path) {
    let mut rng = Lcg(42);
    for (split, per_class) in [("train", 10), ("val", 3)] {
        let mut lines = String::new();
        for (c, (name, caps)) in CLASSES.iter().enumerate() {
            for k in 0..per_class {
                let secs = 1.0 + (rng.next() + 1.0) * 0.5;
                let file = format!("{split}-{name}-{k}.wav");
                write_wav(&dir.join(&file), &signal(c, secs, &mut rng));
                lines.push_str(&serde_json::json!({"audio": file, "captions": caps}).to_string());
                lines.push('\n');
            }
        }
        std::fs::write(dir.join(format!("{split}.jsonl")), lines).unwrap();
    }
}

/// A temporary work directory holding the generated dataset in `data/` and, with
/// `aisfx`, the converted aisfx encoder in `aisfx/`.
pub fn workspace(aisfx: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("data")).unwrap();
    dataset(&dir.path().join("data"));
    if aisfx {
        convert_aisfx(&dir.path().join("aisfx"));
    }
    dir
}

pub fn convert_aisfx(out: &Path) {
    let ck = root().join("assets/aisfx/checkpoint.pth");
    assert!(
        ck.is_file(),
        "{}: run `make setup` (scripts/fetch-aisfx.sh)",
        ck.display()
    );
    let st = Command::new(bin())
        .args(["convert", "aisfx", "--checkpoint"])
        .arg(&ck)
        .arg("--out")
        .arg(out)
        .status()
        .unwrap();
    assert!(st.success());
}

/// Asserts that a finished command succeeded, showing its stderr if not.
pub fn check(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The JSON lines of a command's output.
pub fn json_lines(bytes: &[u8]) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The records of `kind` (`train` or `val`) in `run/log.jsonl`.
pub fn log_records(run: &Path, kind: &str) -> Vec<serde_json::Value> {
    json_lines(&std::fs::read(run.join("log.jsonl")).unwrap())
        .into_iter()
        .filter(|v| v["kind"] == kind)
        .collect()
}

/// The head of a tiny-student training config: seed, one libtorch thread, a new student on
/// the converted aisfx encoder in `aisfx/` (CNN frozen), the generated data in `data/`.
pub fn tiny_student_toml(seed: u64, max_positions: u32, embed_dim: u32) -> String {
    format!(
        r#"seed = {seed}
threads = 1

[model]
kind = "student"
aisfx = "aisfx"
freeze = ["encoder.cnn"]
bpe_vocab_size = 300

[model.student]
d_model = 128
layers = 2
heads = 4
ffn_dim = 256
max_positions = {max_positions}
embed_dim = {embed_dim}
max_window_s = 10.0

[data]
train = [{{ format = "jsonl", path = "data/train.jsonl" }}]
val = [{{ format = "jsonl", path = "data/val.jsonl" }}]
cache_dir = "cache"
"#
    )
}
