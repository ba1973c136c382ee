//! The Rust PTB tokenizer against the real one: Stanford CoreNLP 3.4.1's PTBTokenizer,
//! run as pycocoevalcap runs it (`-preserveLines -lowerCase`), on
//! `tests/fixtures/ptb-corpus.txt` (captions plus deliberately awkward text). Compared after
//! pycocoevalcap's punctuation removal, i.e. on what the metrics see.
//!
//! Needs Java and `assets/pycocoevalcap-1.2/tokenizer/stanford-corenlp-3.4.1.jar`
//! (`scripts/fetch-eval-assets.sh`); fails under CI without them, skips loudly otherwise.

use std::path::{Path, PathBuf};
use std::process::Command;

use soundscribe_metrics::java::{find_java, JavaAssets};
use soundscribe_metrics::ptb::{tokenize, PUNCTUATIONS};

/// Java and the CoreNLP 3.4.1 jar, or `None` after printing why (a panic under CI).
fn corenlp(test: &str) -> Option<(PathBuf, PathBuf)> {
    let found = find_java().and_then(|j| Ok((j, JavaAssets::locate().corenlp_3_4_1_jar()?)));
    match found {
        Ok(x) => Some(x),
        Err(why) if std::env::var_os("CI").is_some() => panic!("{test} cannot run under CI: {why}"),
        Err(why) => {
            eprintln!("SKIP {test}: {why}");
            None
        }
    }
}

/// Tokenizes every line of `corpus` with the jar and with Rust; returns the differences.
fn differences(java: &Path, jar: &Path, corpus: &Path) -> (usize, Vec<String>) {
    let out = Command::new(java)
        .arg("-cp")
        .arg(jar)
        .args([
            "edu.stanford.nlp.process.PTBTokenizer",
            "-preserveLines",
            "-lowerCase",
        ])
        .arg(corpus)
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
    (lines.len(), failures)
}

#[test]
fn rust_tokenizer_equals_corenlp_3_4_1() {
    let Some((java, jar)) = corenlp("rust_tokenizer_equals_corenlp_3_4_1") else {
        return;
    };
    let corpus = Path::new(concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "/tests/fixtures/ptb-corpus.txt"
    ));
    let (n, failures) = differences(&java, &jar, corpus);
    assert!(
        failures.is_empty(),
        "{} of {n} lines differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Pieces of text that exercise the lexer's rules, glued at random.
const PIECES: &[&str] = &[
    "a",
    "the",
    "dog",
    "Dog",
    "barks",
    "cars",
    "pass",
    "by",
    "it's",
    "can't",
    "won't",
    "don't",
    "isn't",
    "dog's",
    "dogs'",
    "people's",
    "rock'n'roll",
    "'n'",
    "o'clock",
    "O'Neill",
    "y'all",
    "'90s",
    "'em",
    "cannot",
    "gonna",
    "wanna",
    "U.S.",
    "Mr.",
    "Dr.",
    "etc.",
    "e.g.",
    "i.e.",
    "a.m.",
    "p.m.",
    "No.",
    "fig.",
    "approx.",
    "St.",
    "Inc.",
    "vs.",
    "x-ray",
    "well-known",
    "3-4",
    "10-year-old",
    "co-op",
    "re-enter",
    "non-stop",
    "1.5",
    "1,000",
    "-3",
    "+4",
    "12:30",
    "3/4",
    "1 1/2",
    "\u{bd}",
    "2nd",
    "100km",
    "5ft",
    "$5",
    "\u{a3}3",
    "\u{20ac}4",
    "\u{a2}5",
    "50%",
    "#1",
    "#tag",
    "@user",
    "AT&T",
    "A+B",
    "and/or",
    "km/h",
    "www.example.com",
    "http://example.com/x",
    "me@example.com",
    ":)",
    ":-(",
    ";)",
    ":D",
    "...",
    "..",
    "....",
    "\u{2026}",
    "--",
    "---",
    "\u{2013}",
    "\u{2014}",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "`",
    "``",
    "''",
    "\u{201c}",
    "\u{201d}",
    "\u{2018}",
    "\u{2019}",
    "\u{ab}",
    "\u{bb}",
    ",",
    ";",
    ":",
    "!",
    "?",
    "?!",
    "!!!",
    ".",
    "-",
    "*",
    "**",
    "=",
    "/",
    "\\",
    "&",
    "&amp;",
    "na\u{ef}ve",
    "caf\u{e9}",
    "\u{fc}ber",
    "\u{b0}C",
    "x\u{b2}",
    "I",
    "I.",
    "C.",
    "Vitamin",
    "The",
    "This",
    "He",
    "We",
    "It",
    "Ore.",
    "ore.",
    "Miss.",
    "Jan.",
    "Sept.",
    "Co.",
    "Ltd.",
    "don'ts",
    "ain't",
    "shan't",
    "'tis",
    "'twas",
    "lemme",
    "gotta",
    "dunno",
    "Shi'ite",
    "l'amour",
    "d'Angelo",
    "'cause",
    "'til",
    "c'mon",
    "cont'd",
    "li'l",
    "E!",
    "Yahoo!",
    "hi!there",
    "wait...what",
    "ok..",
    "end.",
    "end.,",
    "word.;",
    "3.5-inch",
    "2.5mm",
    "U.S.-based",
    "mid-1990s",
    "anti-",
    "pro-",
    "<b>",
    "</b>",
    "<",
    ">",
    "&lt;",
    "_",
    "__",
    "@",
    "##",
    "~",
    "^",
    "|",
    "+",
    "%",
    "\u{a7}",
    "\u{a9}",
    "\u{d7}",
    "\u{2192}",
];

#[test]
fn rust_tokenizer_equals_corenlp_on_generated_text() {
    let Some((java, jar)) = corenlp("rust_tokenizer_equals_corenlp_on_generated_text") else {
        return;
    };
    // Another seed explores other combinations: SOUNDSCRIBE_PTB_SEED=n cargo test ...
    let mut state = std::env::var("SOUNDSCRIBE_PTB_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|&v| v != 0)
        .unwrap_or(0x2545_F491_4F6C_DD1D);
    let mut below = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let mut text = String::new();
    for _ in 0..600 {
        let words = 1 + below(12);
        let mut line = String::new();
        for w in 0..words {
            line.push_str(PIECES[below(PIECES.len())]);
            if w + 1 < words {
                line.push_str(["", " ", " ", " ", "  "][below(5)]);
            }
        }
        line.push_str(["", ".", "!", "?", "...", " ."][below(6)]);
        text.push_str(line.trim());
        text.push('\n');
    }
    let dir = tempfile::tempdir().unwrap();
    let corpus = dir.path().join("generated.txt");
    std::fs::write(&corpus, text).unwrap();
    let (n, failures) = differences(&java, &jar, &corpus);
    assert!(
        failures.is_empty(),
        "{} of {n} lines differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
