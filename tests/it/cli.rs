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

/// `config check` tells training configs from daemon ones (it used to refuse every
/// training recipe with "unknown field 'checkpoint'").
#[test]
fn config_check_knows_training_configs() {
    for name in ["config/train-default.toml", "config/train-clotho.toml"] {
        let out = soundscribe(&["config", "check", &manifest(name)]);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.starts_with("# effective training configuration"),
            "{text}"
        );
    }
    let out = soundscribe(&[
        "config",
        "check",
        "--kind",
        "train",
        &manifest("config/default.toml"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("default.toml"));
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

/// A fatal error under `--log-format json` is a JSON record too (it used to be a plain
/// line that journald's JSON readers could not parse), and no log filter hides it.
#[test]
fn fatal_errors_are_json_under_json_logging() {
    let out = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args([
            "--log-format",
            "json",
            "--log-level",
            "off",
            "serve",
            "--config",
        ])
        .arg("/nonexistent/soundscribe.toml")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let last = err.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(last).unwrap_or_else(|e| panic!("{e}: {err}"));
    assert_eq!(v["level"], "ERROR", "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/soundscribe.toml"),
        "{v}"
    );
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

/// The shipped unit is hardened (it rated 6.8 MEDIUM: no system-call filter, capability
/// bounding set or address-family restriction) and still verifies once the binary it
/// names exists (checked on a copy pointing at the built binary).
#[test]
fn systemd_unit_is_hardened_and_verifies() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("not run: systemd-analyze is not installed");
        return;
    }
    let unit = manifest("systemd/soundscribe.service");
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", &unit])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let level: f64 = text
        .lines()
        .find_map(|l| l.split("exposure level for soundscribe.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(level <= 2.5, "exposure {level}:\n{text}");

    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("soundscribe.service");
    let body = std::fs::read_to_string(&unit).unwrap().replace(
        "/usr/local/bin/soundscribe",
        env!("CARGO_BIN_EXE_soundscribe"),
    );
    std::fs::write(&copy, body).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    let own: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("soundscribe.service"))
        .collect();
    assert!(out.status.success() && own.is_empty(), "{err}");
}

/// Shell completions and the man page come from the same argument definitions; bash
/// loads the script and registers it, groff renders the page without complaint.
#[test]
fn completions_and_man_page_are_accepted_by_their_readers() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("soundscribe.bash");
    std::fs::write(&script, soundscribe(&["completions", "bash"]).stdout).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source {} && complete -p soundscribe",
            script.display()
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("-F _soundscribe soundscribe"));

    let page = dir.path().join("soundscribe.1");
    std::fs::write(&page, soundscribe(&["man"]).stdout).unwrap();
    let Ok(out) = Command::new("groff")
        .args(["-man", "-Tutf8", "-P-cbou"])
        .arg(&page)
        .output()
    else {
        eprintln!("not run: groff is not installed");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for section in ["NAME", "SYNOPSIS", "SUBCOMMANDS", "serve", "caption"] {
        assert!(text.contains(section), "{section} missing:\n{text}");
    }
}
