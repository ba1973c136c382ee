//! `soundscribe baseline` (aisfx nearest-neighbour retrieval) on the generated four-class
//! dataset, scored by `soundscribe eval` from the references it writes.

use std::process::Command;

use crate::train_common;

use train_common::{bin, check, json_lines, workspace};

#[test]
fn the_retrieval_baseline_finds_same_class_neighbours_and_scores_with_eval() {
    let dir = workspace(true);
    let d = dir.path();
    let out = Command::new(bin())
        .args(["baseline", "--aisfx"])
        .arg(d.join("aisfx"))
        .arg("--train")
        .arg(d.join("data/train.jsonl"))
        .arg("--test")
        .arg(d.join("data/val.jsonl"))
        .arg("--refs-out")
        .arg(d.join("refs.json"))
        .output()
        .unwrap();
    check(&out);
    std::fs::write(d.join("hyps.jsonl"), &out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = json_lines(&out.stdout);
    assert_eq!(lines.len(), 12);
    let right = lines
        .iter()
        .filter(|v| {
            let file = v["file"].as_str().unwrap();
            let class = file
                .rsplit('/')
                .next()
                .unwrap()
                .split('-')
                .nth(1)
                .unwrap()
                .to_owned();
            train_common::CLASSES
                .iter()
                .find(|(n, _)| *n == class)
                .unwrap()
                .1
                .contains(&v["text"].as_str().unwrap())
        })
        .count();
    eprintln!("baseline: {right}/12 held-out clips get a caption of their class");
    assert!(right >= 10, "{right}/12");
    let eval = Command::new(bin())
        .args(["eval", "--no-java", "--json", "-", "--refs"])
        .arg(d.join("refs.json"))
        .arg("--hyps")
        .arg(d.join("hyps.jsonl"))
        .output()
        .unwrap();
    check(&eval);
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    let cider = report["metrics"]["cider_d"]["corpus"].as_f64().unwrap();
    eprintln!("baseline CIDEr-D {cider:.3}");
    assert!(cider > 1.0, "{cider}");
}
