//! `soundscribe caption` on both model kinds the engine runs: the seed-1 teacher (golden
//! fixture) and the seed-2 release student (golden student-a, converted with a vocabulary).

use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest(p: &str) -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(p)
}

fn soundscribe(args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// 4.5 s of a 16 kHz tone sweep.
fn wav(dir: &Path) -> String {
    let path = dir.join("sweep.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..72_000u32 {
        let t = f64::from(i) / 16_000.0;
        w.write_sample(
            (9000.0 * (2.0 * std::f64::consts::PI * (300.0 + 200.0 * t) * t).sin()) as i16,
        )
        .unwrap();
    }
    w.finalize().unwrap();
    path.display().to_string()
}

fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn captions_files_with_the_teacher() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("teacher");
    let fx = manifest("tests/fixtures/teacher-a");
    let fx = fx.to_str().unwrap();
    soundscribe(&[
        "convert",
        "seed1",
        "--captioner",
        fx,
        "--beats",
        &format!("{fx}/beats.pt"),
        "--out",
        model.to_str().unwrap(),
    ]);
    let file = wav(tmp.path());
    let out = soundscribe(&[
        "caption",
        "--model",
        model.to_str().unwrap(),
        "--window-s",
        "2",
        "--hop-s",
        "1.5",
        "--strategy",
        "beam",
        &file,
    ]);
    let captions = lines(&out);
    // Windows at 0, 1.5, 3.0 (the last one shorter).
    let starts: Vec<f64> = captions
        .iter()
        .map(|c| c["window"]["start_s"].as_f64().unwrap())
        .collect();
    assert_eq!(starts, [0.0, 1.5, 3.0]);
    for c in &captions {
        assert_eq!(c["file"], file.as_str());
        // No tokenizer.json in a converted golden model: ids, marked as such.
        assert!(c["text"].as_str().unwrap().starts_with("<ids "), "{c}");
    }
}

#[test]
fn captions_files_with_the_seed2_student_and_its_vocabulary() {
    let golden = manifest("../shared/golden/student-a");
    assert!(
        golden.join("pytorch_model.bin").is_file(),
        "{} missing (shared golden files)",
        golden.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    // A stand-in word list of the right size: index i is "w<i>".
    let vocab = tmp.path().join("vocab.txt");
    std::fs::write(
        &vocab,
        (0..4981).map(|i| format!("w{i}\n")).collect::<String>(),
    )
    .unwrap();
    let model = tmp.path().join("seed2");
    soundscribe(&[
        "convert",
        "seed2",
        "--checkpoint",
        golden.join("pytorch_model.bin").to_str().unwrap(),
        "--config",
        golden.join("config.json").to_str().unwrap(),
        "--vocab",
        vocab.to_str().unwrap(),
        "--out",
        model.to_str().unwrap(),
    ]);
    let file = wav(tmp.path());
    let cfg = tmp.path().join("beam3.toml");
    std::fs::write(&cfg, "[decoding]\nstrategy = \"beam\"\nnum_beams = 3\nmax_length = 20\n[windowing]\nwindow_s = 4.5\nhop_s = 4.5\n").unwrap();
    let out = soundscribe(&[
        "caption",
        "--model",
        model.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
        &file,
    ]);
    let captions = lines(&out);
    assert_eq!(captions.len(), 1);
    let text = captions[0]["text"].as_str().unwrap();
    assert!(
        !text.is_empty() && text.split(' ').all(|w| w.starts_with('w')),
        "{text}"
    );
    assert_eq!(captions[0]["model"], "seed2");
}

fn caption_default_model(files: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(["caption", "--window-s", "2", "--hop-s", "2"])
        .args(files)
        .env_remove("RUST_LOG")
        .env_remove("SOUNDSCRIBE_MODEL")
        .output()
        .unwrap()
}

#[test]
fn caption_reports_a_bad_file_and_captions_the_others() {
    let tmp = tempfile::tempdir().unwrap();
    let good = wav(tmp.path());
    let other = tmp.path().join("other.wav");
    std::fs::copy(&good, &other).unwrap();
    let other = other.display().to_string();
    let broken = tmp.path().join("broken.mp3");
    std::fs::write(&broken, b"ID3\x03\0\0\0\0\0\x0anot audio at all").unwrap();
    let broken = broken.display().to_string();
    let out = caption_default_model(&[&good, &broken, &other]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let files: Vec<String> = lines(&out)
        .iter()
        .map(|c| c["file"].as_str().unwrap().to_string())
        .collect();
    assert!(files.contains(&good) && files.contains(&other), "{files:?}");
    assert!(!files.contains(&broken), "{files:?}");
    assert!(
        stderr.contains(&format!("soundscribe: {broken}: ")),
        "{stderr}"
    );
}

#[test]
fn caption_fails_a_header_only_wav_and_a_run_with_nothing_captioned() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    hound::WavWriter::create(&empty, spec)
        .unwrap()
        .finalize()
        .unwrap();
    let empty = empty.display().to_string();
    let missing = tmp.path().join("missing.flac").display().to_string();
    let out = caption_default_model(&[&empty, &missing]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains(&format!("soundscribe: {empty}: no audio")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("soundscribe: {missing}: ")),
        "{stderr}"
    );
}

/// A model whose weights are NaN (a corrupt download, relabelled dtypes) is an error that
/// names the model, and `caption` fails: before, every window was skipped with "score must
/// be a finite number" and the run exited 0 having captioned nothing.
#[test]
fn a_model_computing_nan_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("broken-model");
    std::fs::create_dir(&model).unwrap();
    let source = manifest("models/default");
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        if entry.path().is_file() {
            std::fs::copy(entry.path(), model.join(entry.file_name())).unwrap();
        }
    }
    let weights = model.join("model.safetensors");
    let tensors: Vec<(String, tch::Tensor)> = tch::Tensor::read_safetensors(&weights)
        .unwrap()
        .into_iter()
        .map(|(name, t)| {
            let t = if t.is_floating_point() {
                t.full_like(f64::NAN)
            } else {
                t
            };
            (name, t)
        })
        .collect();
    tch::Tensor::write_safetensors(&tensors, &weights).unwrap();
    let file = wav(tmp.path());
    let out = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(["caption", "--model", model.to_str().unwrap(), &file])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "exit 0 with a NaN model: {err}");
    assert!(
        err.contains("broken-model") && err.contains("non-finite"),
        "{err}"
    );
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `caption --format vtt|srt` writes subtitles that real parsers (webvtt-py, srt from
/// PyPI) read back: cues in order, not overlapping, covering the recording, each a caption.
#[test]
fn subtitles_of_a_recording_parse_as_webvtt_and_srt() {
    let root = manifest("");
    let python = root.join(".venv/bin/python");
    let demo = root.join("data/demo/demo.wav");
    let check = r#"
import sys, webvtt, srt
path, kind, duration = sys.argv[1], sys.argv[2], float(sys.argv[3])
def secs(stamp):
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)
if kind == "vtt":
    cues = [(secs(c.start), secs(c.end), c.text) for c in webvtt.read(path)]
else:
    cues = [(s.start.total_seconds(), s.end.total_seconds(), s.content)
            for s in srt.parse(open(path).read())]
assert cues, "no cues"
prev_end = 0.0
for start, end, text in cues:
    assert start >= prev_end - 1e-6 and end > start and text.strip(), (start, end, text)
    prev_end = end
assert cues[0][0] == 0.0 and abs(cues[-1][1] - duration) < 0.01, cues
print(len(cues))
"#;
    for (format, ext) in [("vtt", "vtt"), ("srt", "srt")] {
        let out = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
            .current_dir(&root)
            .args(["--log-level", "warn", "caption", "--format", format])
            .args(["--config", "config/default-model.toml"])
            .arg(&demo)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(format!("demo.{ext}"));
        std::fs::write(&file, &out.stdout).unwrap();
        let parsed = Command::new(&python)
            .args(["-c", check])
            .arg(&file)
            .arg(format)
            .arg("15.38")
            .output()
            .unwrap();
        assert!(
            parsed.status.success(),
            "{format}: {}\n{}",
            String::from_utf8_lossy(&parsed.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
