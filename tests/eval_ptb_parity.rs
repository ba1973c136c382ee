//! The Rust PTB tokenizer against the real one: Stanford CoreNLP 3.4.1's PTBTokenizer,
//! run as pycocoevalcap runs it (`-preserveLines -lowerCase`), on
//! `tests/fixtures/ptb-corpus.txt` (captions plus deliberately awkward text). Compared after
//! pycocoevalcap's punctuation removal, i.e. on what the metrics see.
//!
//! Needs Java and `assets/pycocoevalcap-1.2/tokenizer/stanford-corenlp-3.4.1.jar`
//! (`scripts/fetch-eval-assets.sh`); fails under CI without them, skips loudly otherwise.

use std::process::Command;

use soundscribe::eval::java::{find_java, JavaAssets};
use soundscribe::eval::ptb::{tokenize, PUNCTUATIONS};

#[test]
fn rust_tokenizer_equals_corenlp_3_4_1() {
    let found = find_java().and_then(|j| Ok((j, JavaAssets::locate().corenlp_3_4_1_jar()?)));
    let (java, jar) = match found {
        Ok(x) => x,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("PTB parity test cannot run under CI: {why}")
        }
        Err(why) => {
            eprintln!("SKIP rust_tokenizer_equals_corenlp_3_4_1: {why}");
            return;
        }
    };
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ptb-corpus.txt");
    let out = Command::new(java)
        .arg("-cp")
        .arg(&jar)
        .args([
            "edu.stanford.nlp.process.PTBTokenizer",
            "-preserveLines",
            "-lowerCase",
            corpus,
        ])
        .output()
        .expect("run CoreNLP PTBTokenizer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let java_lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    let text = std::fs::read_to_string(corpus).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        java_lines.len(),
        lines.len(),
        "one output line per input line"
    );
    let mut failures = Vec::new();
    for (n, (line, want)) in lines.iter().zip(&java_lines).enumerate() {
        // pycocoevalcap's filtering of the Java output.
        let want: Vec<&str> = want
            .trim_end()
            .split(' ')
            .filter(|w| !PUNCTUATIONS.contains(w))
            .collect();
        let want = want.join(" ");
        let got = tokenize(line);
        if got != want {
            failures.push(format!(
                "line {}: {line:?}\n  java: {want}\n  rust: {got}",
                n + 1
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} lines differ:\n{}",
        failures.len(),
        lines.len(),
        failures.join("\n")
    );
}
