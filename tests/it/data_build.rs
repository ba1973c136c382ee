//! `soundscribe data build` on one small real package (sound-theme-freedesktop, fetched by
//! `scripts/fetch-sound-packages.sh` when absent) and a tiny rule table: a valid manifest
//! (every clip exists, 44.1 kHz mono 16-bit, captions, metadata), splits disjoint by unit,
//! val/test labels trained on, readable by `Dataset::jsonl`, and the same bytes twice.
//! Bad rule tables are one error naming the file.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use soundscribe_offline::dataset::build::{build, BuildOptions, SPLITS};
use soundscribe_offline::dataset::manifest::Dataset;
use soundscribe_offline::dataset::rules::Rules;

const PKG: &str = "sound-theme-freedesktop";

/// Units are the first letter of the file name: `a` (audio-channel-*, spoken) is held out
/// for test, `d` (device-*, dialog-*) for val.
const RULES: &str = r#"
[split]
test = ["sound-theme-freedesktop:a"]
val = ["sound-theme-freedesktop:d"]
[packages."sound-theme-freedesktop"]
group = '/stereo/([a-z])[^/]*$'
[[label]]
name = "speech"
captions = ["a voice speaks", "someone says a few words", "a person talks briefly"]
match = ['/audio-channel-']
[[label]]
name = "phone"
captions = ["a phone rings", "a telephone is ringing", "a phone beeps"]
match = ['/phone-']
[[label]]
name = "bell"
captions = ["a bell rings", "a bell chimes", "a small bell rings out"]
match = ['/(bell|alarm-clock-elapsed|complete)\.oga$']
[[label]]
name = "chime"
captions = ["a chime sounds", "a short tone plays", "an electronic chime rings", "a bell-like tone sounds"]
match = ['\.oga$']
"#;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// The package's root folder, fetched when absent; `None` (skip) only without a network.
fn packages_root() -> Option<PathBuf> {
    let root = repo().join("assets/sound-packages");
    if root.join(PKG).join(".extracted").exists() {
        return Some(root);
    }
    let out = Command::new(repo().join("scripts/fetch-sound-packages.sh"))
        .arg(PKG)
        .output()
        .expect("run scripts/fetch-sound-packages.sh");
    if out.status.success() {
        return Some(root);
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let offline = [
        "Temporary failure resolving",
        "Could not resolve",
        "Failed to fetch",
        "Unable to connect",
        "Network is unreachable",
    ];
    if offline.iter().any(|m| err.contains(m)) {
        eprintln!("SKIPPED: {PKG} could not be downloaded (no network):\n{err}");
        return None;
    }
    panic!("scripts/fetch-sound-packages.sh {PKG} failed:\n{err}");
}

fn run_build(
    root: &Path,
    rules: &Path,
    out: &Path,
) -> soundscribe_offline::dataset::build::BuildReport {
    build(&BuildOptions {
        rules: rules.to_owned(),
        root: root.to_owned(),
        out: out.to_owned(),
        packages: Some(vec![PKG.into()]),
        seed: 7,
        mix_fraction: 0.5,
        jobs: 2,
    })
    .unwrap()
}

fn unit_of(source: &str) -> String {
    let name = source.rsplit('/').next().unwrap();
    name[..1].to_owned()
}

#[test]
fn builds_a_valid_deterministic_manifest() {
    let Some(root) = packages_root() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let rules = tmp.path().join("rules.toml");
    std::fs::write(&rules, RULES).unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let report = run_build(&root, &rules, &a);
    run_build(&root, &rules, &b);

    let mut units: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut labels: Vec<BTreeSet<String>> = vec![BTreeSet::new(); 3];
    let mut mixed = 0;
    for (s, split) in SPLITS.iter().enumerate() {
        let manifest = a.join(format!("{split}.jsonl"));
        let text = std::fs::read_to_string(&manifest).unwrap();
        let again = std::fs::read_to_string(b.join(format!("{split}.jsonl"))).unwrap();
        assert_eq!(text, again, "{split}.jsonl differs between two builds");
        assert!(!text.is_empty(), "{split}.jsonl is empty");
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let audio = v["audio"].as_str().unwrap();
            assert!(audio.starts_with("clips/"), "{audio}");
            let wav = a.join(audio);
            let r = hound::WavReader::open(&wav).unwrap();
            let spec = r.spec();
            assert_eq!(
                (spec.sample_rate, spec.channels, spec.bits_per_sample),
                (44_100, 1, 16)
            );
            let secs = f64::from(r.duration()) / 44_100.0;
            assert!((0.3..=10.0 + 1e-6).contains(&secs), "{audio}: {secs} s");
            assert_eq!(
                std::fs::read(&wav).unwrap(),
                std::fs::read(b.join(audio)).unwrap(),
                "{audio} differs between two builds"
            );
            let captions = v["captions"].as_array().unwrap();
            assert!((3..=5).contains(&captions.len()), "{line}");
            assert!(captions
                .iter()
                .all(|c| !c.as_str().unwrap().trim().is_empty()));
            let meta = &v["meta"];
            let ls: Vec<&str> = meta["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap())
                .collect();
            assert!(!ls.is_empty());
            assert_eq!(meta["package"], PKG);
            assert!(!meta["license"].as_str().unwrap().is_empty());
            if ls.len() > 1 {
                mixed += 1;
                let joined = captions[0].as_str().unwrap();
                assert!(
                    [" while ", " as ", " and ", " then "]
                        .iter()
                        .any(|w| joined.contains(w)),
                    "mixture caption does not say so: {joined}"
                );
            } else {
                let source = meta["source"].as_str().unwrap();
                assert!(root.join(source).is_file(), "{source}");
                units
                    .entry(unit_of(source))
                    .or_default()
                    .insert(split.to_string());
                labels[s].insert(ls[0].to_owned());
            }
        }
        let ds = Dataset::jsonl(&manifest).unwrap();
        assert!(ds.missing.is_empty(), "{:?}", ds.missing);
        assert_eq!(ds.items.len(), text.lines().count());
    }
    assert!(mixed > 0, "no multi-event clips");
    for (unit, splits) in &units {
        assert_eq!(splits.len(), 1, "unit {unit} is in splits {splits:?}");
    }
    assert_eq!(units["a"], BTreeSet::from(["test".to_string()]));
    assert_eq!(units["d"], BTreeSet::from(["val".to_string()]));
    for s in 1..3 {
        assert!(
            labels[s].is_subset(&labels[0]),
            "{} labels {:?} not all in train {:?}",
            SPLITS[s],
            labels[s],
            labels[0]
        );
    }
    // "speech" only occurs in the held-out test unit, so the builder drops it from test.
    assert!(!labels[0].contains("speech"));
    assert!(
        report.dropped.iter().any(|d| d.contains("speech")),
        "{report}"
    );
    assert!(report.to_string().contains("label"));
}

#[test]
fn bad_rule_tables_are_one_error_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        (RULES.replace(r"'\.oga$'", "'(oga'"), "bad regex"),
        (
            RULES.replace(
                r#"["a phone rings", "a telephone is ringing", "a phone beeps"]"#,
                "[]",
            ),
            "needs at least 3 caption phrases",
        ),
        (
            RULES.replace("\"a phone beeps\"", "\" \""),
            "empty caption phrase",
        ),
        (RULES.replace("[[label]]", "[[labels]]"), "bad TOML"),
        (String::new(), "no [[label]] rules"),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let path = tmp.path().join(format!("rules-{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let err = Rules::load(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: ", path.display())) && err.contains(want),
            "case {i}: {err}"
        );
        let out = tmp.path().join(format!("out-{i}"));
        let err = build(&BuildOptions {
            rules: path.clone(),
            root: tmp.path().to_owned(),
            out,
            packages: None,
            seed: 0,
            mix_fraction: 0.0,
            jobs: 1,
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains(want), "case {i} via build: {err}");
    }
    let missing = tmp.path().join("nope.toml");
    let err = Rules::load(&missing).unwrap_err().to_string();
    assert!(err.starts_with(&missing.display().to_string()), "{err}");
}

#[test]
fn cli_names_a_missing_package() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(["data", "build", "--rules"])
        .arg(repo().join("data/rules.toml"))
        .arg("--root")
        .arg(tmp.path())
        .arg("--out")
        .arg(tmp.path().join("out"))
        .args(["--packages", "no-such-package"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no-such-package") && err.contains("fetch-sound-packages.sh"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
