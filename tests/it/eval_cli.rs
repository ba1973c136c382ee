//! `soundscribe eval` end to end on small files in a temporary directory.

use std::path::Path;
use std::process::{Command, Output};

fn eval(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .arg("eval")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run soundscribe")
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

const REFS_CSV: &str = "file_name,caption_1,caption_2,caption_3,caption_4,caption_5
a.wav,A dog barks.,A dog is barking loudly.,\"Dogs bark, then stop.\",A barking dog.,The dog barks twice.
b.wav,Rain falls on a roof.,Heavy rain on a tin roof.,It's raining hard.,Raindrops hit a roof.,Rain pours down.
c.wav,Birds chirp in the trees.,Birds are singing.,Several birds tweet.,A bird chirps.,Birds sing at dawn.
";

#[test]
fn csv_in_table_and_json_out() {
    let dir = tempfile::tempdir().unwrap();
    // A byte-order mark, as spreadsheet exports write, is not part of the first column name.
    let refs = write(dir.path(), "refs.csv", &format!("\u{FEFF}{REFS_CSV}"));
    let hyps = write(
        dir.path(),
        "hyps.csv",
        "file_name,caption\nb.wav,rain is falling on a roof\na.wav,a dog barks\nc.wav,\n",
    );
    let out_json = dir.path().join("out.json");
    let out = eval(&[
        "--refs",
        &refs,
        "--hyps",
        &hyps,
        "--no-java",
        "--json",
        out_json.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("cider_d"), "{stdout}");
    assert!(
        stdout.contains("meteor") && stdout.contains("unavailable"),
        "{stdout}"
    );

    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_json).unwrap()).unwrap();
    assert_eq!(v["items"], 3);
    assert_eq!(v["ids"], serde_json::json!(["a.wav", "b.wav", "c.wav"]));
    let bleu1 = &v["metrics"]["bleu_1"];
    assert_eq!(bleu1["per_item"].as_array().unwrap().len(), 3);
    // "a dog barks" is a prefix of a reference: every unigram matches.
    assert!(bleu1["per_item"][0].as_f64().unwrap() > 0.5);
    // The empty hypothesis scores 0, not NaN.
    assert_eq!(v["metrics"]["rouge_l"]["per_item"][2].as_f64(), Some(0.0));
    assert!(v["metrics"]["meteor"]["unavailable"]
        .as_str()
        .unwrap()
        .contains("--no-java"));
    assert!(v["metrics"]["spider"]["unavailable"].is_string());
}

#[test]
fn json_references_and_json_lines_hypotheses() {
    let dir = tempfile::tempdir().unwrap();
    let refs = write(
        dir.path(),
        "refs.json",
        r#"[{"file_name": "x", "captions": ["a cat meows", "a cat is meowing"]},
            {"file_name": "y", "captions": ["a car passes", "a vehicle drives by"]}]"#,
    );
    let hyps = write(
        dir.path(),
        "hyps.jsonl",
        "{\"source\": \"y\", \"text\": \"a car drives by\"}\n{\"source\": \"x\", \"text\": \"a cat meows\"}\n",
    );
    let out = eval(&["--refs", &refs, "--hyps", &hyps, "--no-java", "--json", "-"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ids"], serde_json::json!(["x", "y"]));
    assert!((v["metrics"]["rouge_l"]["per_item"][0].as_f64().unwrap() - 1.0).abs() < 1e-12);
}

#[test]
fn bad_inputs_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let refs = write(d, "refs.csv", REFS_CSV);
    let hyps = write(
        d,
        "hyps.csv",
        "file_name,caption\na.wav,x\nb.wav,y\nc.wav,z\n",
    );
    let nowhere = d.join("nowhere.csv").to_str().unwrap().to_string();
    // (references, hypotheses, what the one error line must say)
    let cases: Vec<(String, String, Vec<&str>)> = vec![
        (
            refs.clone(),
            write(d, "nocol.csv", "file_name,text\na.wav,x\n"),
            vec!["nocol.csv:1", "missing column \"caption\""],
        ),
        (
            refs.clone(),
            write(
                d,
                "norefs.csv",
                "file_name,caption\na.wav,x\nb.wav,y\nc.wav,z\nd.wav,w\n",
            ),
            vec!["norefs.csv:5", "\"d.wav\" has no references"],
        ),
        (
            refs.clone(),
            write(d, "missing.csv", "file_name,caption\na.wav,x\n"),
            vec!["missing.csv", "no hypothesis for 2 of the 3"],
        ),
        (
            refs.clone(),
            write(d, "dup.csv", "file_name,caption\na.wav,x\na.wav,y\n"),
            vec!["dup.csv:3", "duplicate"],
        ),
        (
            write(d, "ragged.csv", "file_name,caption_1\na.wav,x,extra\n"),
            hyps.clone(),
            vec!["ragged.csv:2", "bad CSV"],
        ),
        (
            write(d, "bad.json", "{\"a.wav\": [\"x\"],\n \"b.wav\": 3}"),
            hyps.clone(),
            vec!["bad.json", "\"b.wav\""],
        ),
        (
            nowhere,
            hyps.clone(),
            vec!["nowhere.csv: cannot read: No such file"],
        ),
    ];
    for (r, h, want) in cases {
        let out = eval(&["--refs", &r, "--hyps", &h, "--no-java"]);
        assert!(!out.status.success(), "{r} {h} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "one clear error line: {err}");
        for w in want {
            assert!(err.contains(w), "{err} should contain {w}");
        }
    }
}
