//! `soundscribe audio ...` as a user runs it: real files through the real front end.

use std::path::Path;
use std::process::Command;

fn soundscribe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run soundscribe")
}

/// 3 s of silence then 4 s of a 440 Hz tone, 22.05 kHz stereo.
fn write_clip(path: &Path) {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 22_050,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..22_050 * 7 {
        let v = if i < 22_050 * 3 {
            0.0
        } else {
            0.4 * (2.0 * std::f64::consts::PI * 440.0 * f64::from(i) / 22_050.0).sin()
        };
        let s = (v * 32767.0) as i16;
        w.write_sample(s).unwrap();
        w.write_sample(s).unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn windows_lists_every_window_with_exact_times_and_gate() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("clip.wav");
    write_clip(&wav);
    let out = soundscribe(&[
        "audio",
        "windows",
        wav.to_str().unwrap(),
        "--window-s",
        "2",
        "--hop-s",
        "1.5",
        "--gate-dbfs",
        "-50",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    // Starts every 1.5 s; the last window runs to the end of the 7 s clip.
    let starts: Vec<&str> = rows.iter().map(|r| r[2]).collect();
    assert_eq!(
        starts,
        ["0.000000", "1.500000", "3.000000", "4.500000", "6.000000"],
        "{text}"
    );
    assert_eq!(rows.last().unwrap()[3], "7.000000", "{text}");
    // The first window is silent and gated; the others carry the tone (~ -11 dBFS).
    assert_eq!(rows[0][5], "gated", "{text}");
    assert_eq!(rows[1][5], "-", "{text}");
    assert_eq!(rows[3][5], "-", "{text}");
    let level: f64 = rows[3][4].parse().unwrap();
    assert!(
        (level - (20.0 * (0.4f64 / 2f64.sqrt()).log10())).abs() < 0.2,
        "{text}"
    );
    assert!(stderr.contains("gated=1"), "{stderr}");

    let out = soundscribe(&[
        "audio",
        "windows",
        wav.to_str().unwrap(),
        "--json",
        "--max-windows",
        "1",
    ]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], "file");
    assert_eq!(v["end_sample"], 112_000); // the 7 s clip is shorter than one 10 s window
}

#[test]
fn bad_files_fail_with_their_name_and_no_panic() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"RIFF....WAVEnot really").unwrap();
    let out = soundscribe(&["audio", "windows", junk.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("junk.wav: not a usable WAV file"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");

    let wav = dir.path().join("cut.wav");
    write_clip(&wav);
    let bytes = std::fs::read(&wav).unwrap();
    std::fs::write(&wav, &bytes[..bytes.len() / 2]).unwrap();
    let out = soundscribe(&["audio", "windows", wav.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cut.wav: truncated"), "{stderr}");
    // The audio before the cut was still windowed.
    assert!(String::from_utf8_lossy(&out.stdout).lines().count() >= 2);
}

#[test]
fn devices_lists_without_failing() {
    let out = soundscribe(&["audio", "devices", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["name"].is_string());
    }
}

#[test]
fn example_config_checks() {
    let path = format!(
        "{}/config/file-example.toml",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../..")
    );
    let out = soundscribe(&["config", "check", "--quiet", &path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
