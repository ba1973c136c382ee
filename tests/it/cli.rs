//! The `soundscribe` binary as a user runs it.

use std::process::Command;

fn soundscribe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run soundscribe")
}

fn manifest(path: &str) -> String {
    format!("{}/{path}", concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

#[test]
fn version_prints_libtorch_2_11() {
    let out = soundscribe(&["version"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("libtorch    2.11.0"), "{text}");
    assert!(text.contains("tch         0.24.0"), "{text}");
    assert!(text.contains("cuda"), "{text}");

    let out = soundscribe(&["version", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["libtorch"].as_str().unwrap().starts_with("2.11.0"));
    assert!(v["cuda_available"].is_boolean());
}

#[test]
fn config_check_accepts_the_default_config() {
    let out = soundscribe(&["config", "check", &manifest("config/default.toml")]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("[windowing]") && text.contains("window_s = 10.0"),
        "{text}"
    );
}

#[test]
fn every_example_config_checks() {
    for entry in std::fs::read_dir(manifest("config")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("train-") && name.ends_with(".toml") {
            // Training recipes are `soundscribe train` configs, not daemon configs.
            if let Err(e) = soundscribe_offline::train::config::TrainConfig::load(&path) {
                panic!("{e}");
            }
        } else if path.extension().is_some_and(|e| e == "toml") {
            let out = soundscribe(&["config", "check", "--quiet", path.to_str().unwrap()]);
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn config_check_rejects_a_broken_config_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.toml");
    std::fs::write(
        &path,
        "[engine]\nmax_batch = 8\n\n[windowing]\nhop_s = -1.0\n",
    )
    .unwrap();
    let out = soundscribe(&["config", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains(&format!("{}:5:1: windowing.hop_s:", path.display())),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn json_logs_are_json_lines() {
    let out = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(["--log-format", "json", "--log-level", "debug", "version"])
        .env("RUST_LOG", "trace")
        .output()
        .unwrap();
    assert!(out.status.success());
    for line in String::from_utf8(out.stderr).unwrap().lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v.get("level").is_some());
    }
}

#[test]
fn unknown_subcommand_fails_with_usage() {
    let out = soundscribe(&["frobnicate"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Usage"));
}

#[test]
fn convert_seed1_reads_the_release_directory_layout() {
    let out = tempfile::tempdir().unwrap();
    let dir = manifest("tests/fixtures/teacher-a");
    let result = soundscribe(&[
        "convert",
        "seed1",
        "--captioner",
        &dir,
        "--beats",
        &format!("{dir}/beats.pt"),
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    assert!(
        out.path().join("model.json").is_file() && out.path().join("model.safetensors").is_file()
    );
    let missing = soundscribe(&[
        "convert",
        "seed1",
        "--captioner",
        "/nonexistent",
        "--beats",
        "x.pt",
        "--out",
        "/tmp/x",
    ]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/"));
}
