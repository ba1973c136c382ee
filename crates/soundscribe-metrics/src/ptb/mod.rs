//! PTB tokenization as coco-caption's `PTBTokenizer` does it before scoring.
//!
//! pycocoevalcap runs Stanford CoreNLP 3.4.1's `PTBTokenizer -preserveLines -lowerCase` over
//! all captions and then drops the tokens in [`PUNCTUATIONS`]. This module does the same in
//! Rust: [`lexer`] reproduces the PTBLexer rules (longest match, same normalisations:
//! `(` → `-LRB-`, curly quotes → `` ` ``/`'`, `½` → `1/2`, `cannot` → `can not`, ...), then
//! tokens are lower-cased and filtered. Faithful quirks of the original are kept: lower-casing
//! happens after lexing, so `-LRB-` becomes `-lrb-`, which the (upper-case) removal list no
//! longer matches, and it stays in the tokenized caption.

mod abbrev;
mod chars;
mod lexer;
mod numbers;
mod scan;
mod symbols;
mod things;
mod web;
mod words;

/// Tokens pycocoevalcap removes after tokenization (compared after lower-casing).
pub const PUNCTUATIONS: &[&str] = &[
    "''", "'", "``", "`", "-LRB-", "-RRB-", "-LCB-", "-RCB-", ".", "?", "!", ",", ":", "-", "--",
    "...", ";",
];

/// PTB tokens of one line of text, original case, before punctuation removal.
pub fn ptb_tokens(text: &str) -> Vec<String> {
    lexer::lex(text)
}

/// Tokenizes one caption exactly as pycocoevalcap does: PTB tokens, lower-cased, without
/// [`PUNCTUATIONS`], joined by single spaces. Newlines inside the caption become spaces.
pub fn tokenize(caption: &str) -> String {
    let line = caption.replace(['\n', '\r'], " ");
    let mut out = String::with_capacity(line.len());
    for tok in lexer::lex(&line) {
        let lower = tok.to_lowercase();
        if PUNCTUATIONS.contains(&lower.as_str()) {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&lower);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_style_sentences() {
        assert_eq!(
            tokenize("It's raining hard on a roof."),
            "it 's raining hard on a roof"
        );
        assert_eq!(
            tokenize("A vehicle's engine idles, then revs."),
            "a vehicle 's engine idles then revs"
        );
        assert_eq!(tokenize("Fast-moving water."), "fast-moving water");
    }

    #[test]
    fn ptb_normalisations() {
        assert_eq!(tokenize("can't cannot gonna"), "ca n't can not gon na");
        assert_eq!(tokenize("a (red) car"), "a -lrb- red -rrb- car");
        assert_eq!(tokenize("He said \"hi\"."), "he said hi");
        assert_eq!(tokenize("the U.S. The"), "the u.s. the");
        assert_eq!(tokenize(""), "");
    }
}
