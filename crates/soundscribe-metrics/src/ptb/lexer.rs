//! A longest-match scanner with the token rules of Stanford's PTBLexer (CoreNLP 3.4.1).
//!
//! Like the JFlex original, every rule is tried at the current position, the longest match
//! wins (trailing context counts towards the length, as in JFlex) and ties go to the rule
//! listed first. A rule may return fewer characters than it matched (JFlex `yypushback`):
//! "cannot" matches whole and yields "can", leaving "not" for the next token.
//! Characters no rule covers are deleted, as the lexer's default `untokenizable` option does.
//! The rules cover English text; rare token classes of the original (SGML attributes over
//! several lines, phone numbers, emoticon variants) are simplified.

use super::abbrev::abbreviation;
use super::chars::{is_apos, is_apos_etc, is_digit, is_letter, is_space, latex_quotes};
use super::numbers::{currency, number_rules};
use super::scan::{at, cand, lit, run, Cand, Out};
use super::symbols::{bracket_symbol, punctuation, quote_rules};
use super::things::thing;
use super::web::web;
use super::words::{APOSTROPHE_WORDS, ASSIMILATIONS};

/// Splits one line into PTB tokens, original case.
pub fn lex(line: &str) -> Vec<String> {
    let s: Vec<char> = line.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if is_space(s[i]) {
            i += 1;
            continue;
        }
        match best(&s, i) {
            Some(c) => {
                let raw: String = s[i..i + c.tok].iter().collect();
                tokens.push(match c.out {
                    Out::Same => raw,
                    Out::Text(t) => t,
                    Out::Quotes { probably_left } => latex_quotes(&raw, probably_left),
                });
                i += c.tok;
            }
            None => i += 1, // untokenizable: deleted
        }
    }
    tokens
}

/// A lexer rule: the match at a position, if any.
type Rule = fn(&[char], usize) -> Option<Cand>;

/// The winning rule at `i`: longest total match, first rule on ties.
fn best(s: &[char], i: usize) -> Option<Cand> {
    let rules: [Rule; 13] = [
        assimilation,
        dash_entity,
        word_rules,
        apostrophe_word,
        web,
        clitic,
        number_rules,
        currency,
        abbreviation,
        quote_rules,
        bracket_symbol,
        punctuation,
        thing,
    ];
    let mut best: Option<Cand> = None;
    for rule in rules {
        if let Some(c) = rule(s, i) {
            if c.tok > 0 && best.as_ref().is_none_or(|b| c.total > b.total) {
                best = Some(c);
            }
        }
    }
    best
}

/// `[^\p{Alpha}]` trailing context; `\p{Alpha}` is ASCII in the JFlex that built 3.4.1, and
/// the end of a caption counts as its newline.
fn not_alpha_or_end(s: &[char], i: usize) -> bool {
    !at(s, i, |c| c.is_ascii_alphabetic())
}

/// `WORD = LETTER (LETTER|DIGIT)* ([.!?] LETTER (LETTER|DIGIT)*)*`
fn word_len(s: &[char], i: usize) -> usize {
    if !at(s, i, is_letter) {
        return 0;
    }
    let mut j = i + run(s, i, |c| is_letter(c) || is_digit(c));
    while at(s, j, |c| matches!(c, '.' | '!' | '?')) && at(s, j + 1, is_letter) {
        j += 1 + run(s, j + 1, |c| is_letter(c) || is_digit(c));
    }
    j - i
}

/// `REDAUX = APOS ([msd] | re | ve | ll)`
fn redaux_len(s: &[char], i: usize) -> usize {
    if !at(s, i, is_apos) {
        return 0;
    }
    for suffix in ["re", "ve", "ll", "m", "s", "d"] {
        let n = lit(s, i + 1, suffix);
        if n > 0 {
            return 1 + n;
        }
    }
    0
}

/// `SREDAUX = n APOSETCETERA t`
fn sredaux_len(s: &[char], i: usize) -> usize {
    if lit(s, i, "n") == 1 && at(s, i + 1, is_apos_etc) && lit(s, i + 2, "t") == 1 {
        3
    } else {
        0
    }
}

fn assimilation(s: &[char], i: usize) -> Option<Cand> {
    ASSIMILATIONS.iter().find_map(|&(w, back)| {
        let n = lit(s, i, w);
        cand(n, n.saturating_sub(back), Out::Same)
    })
}

fn dash_entity(s: &[char], i: usize) -> Option<Cand> {
    if at(s, i, |c| {
        matches!(
            c,
            '\u{96}' | '\u{97}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
        )
    }) {
        return cand(1, 1, Out::Text("--".into()));
    }
    for (entity, text) in [
        ("&mdash;", "--"),
        ("&ndash;", "--"),
        ("&md;", "--"),
        ("&amp;", "&"),
    ] {
        let n = lit(s, i, entity);
        if n > 0 {
            return cand(n, n, Out::Text(text.into()));
        }
    }
    None
}

/// `WORD/REDAUX`, `SWORD/SREDAUX`, `WORD`, `WORD\./INSENTP`.
fn word_rules(s: &[char], i: usize) -> Option<Cand> {
    let w = word_len(s, i);
    let mut best = cand(w, w, Out::Same);
    let r = redaux_len(s, i + w);
    if w > 0 && r > 0 {
        best = cand(w + r, w, Out::Same);
    }
    // SWORD: ASCII letters (3.4.1) ending in a letter other than n, followed by n't.
    let alpha = run(s, i, |c| c.is_ascii_alphabetic());
    if alpha >= 2 {
        let p = i + alpha - 1;
        let before_n = s[p - 1];
        if sredaux_len(s, p) == 3 && !matches!(before_n, 'n' | 'N') && before_n.is_alphabetic() {
            let c = Cand {
                total: alpha + 2,
                tok: alpha - 1,
                out: Out::Same,
            };
            if best.as_ref().is_none_or(|b| c.total > b.total) {
                best = Some(c);
            }
        }
    }
    if w > 0
        && at(s, i + w, |c| c == '.')
        && at(s, i + w + 1, |c| matches!(c, ',' | ';' | ':'))
        && best.as_ref().is_none_or(|b| w + 2 > b.total)
    {
        best = cand(w + 2, w + 1, Out::Same);
    }
    best
}

/// `APOWORD` and `APOWORD2`: words with an inner or leading apostrophe kept whole.
fn apostrophe_word(s: &[char], i: usize) -> Option<Cand> {
    let quotes = Out::Quotes {
        probably_left: false,
    };
    let mut n = 0;
    for w in APOSTROPHE_WORDS {
        n = n.max(lit(s, i, w));
    }
    if at(s, i, is_apos) {
        // 'n' anywhere; 'n only before a non-letter (CoreNLP 3.4.1: "'Neill" is ` Neill).
        if lit(s, i + 1, "n") == 1 {
            if at(s, i + 2, is_apos) {
                n = n.max(3);
            } else if !at(s, i + 2, is_letter) {
                n = n.max(2);
            }
        }
        if at(s, i + 1, |c| ('2'..='9').contains(&c)) && lit(s, i + 2, "0s") == 2 {
            n = n.max(4);
        }
    }
    if at(s, i, |c| "lLdDjJ".contains(c)) && at(s, i + 1, is_apos) {
        n = n.max(2);
    }
    // [A-HJ-XZn] APOSETCETERA letter{2,}
    if at(s, i, |c| matches!(c, 'A'..='H' | 'J'..='X' | 'Z' | 'n')) && at(s, i + 1, is_apos_etc) {
        let l = run(s, i + 2, is_letter);
        if l >= 2 {
            n = n.max(2 + l);
        }
    }
    // letter+ vowel APOSETCETERA [aeiouA-Z] letter*
    let l = run(s, i, is_letter);
    if l >= 2
        && "aeiouyAEIOUY".contains(s[i + l - 1])
        && at(s, i + l, is_apos_etc)
        && at(s, i + l + 1, |c| {
            "aeiou".contains(c) || c.is_ascii_uppercase()
        })
    {
        n = n.max(l + 2 + run(s, i + l + 2, is_letter));
    }
    if at(s, i, |c| c == 'O') && at(s, i + 1, is_apos_etc) && lit(s, i + 2, "o") == 1 {
        n = n.max(3);
    }
    if n > 0 {
        return cand(n, n, quotes);
    }
    // APOWORD2: y' before a letter ("y'all").
    if lit(s, i, "y") == 1 && at(s, i + 1, is_apos) && at(s, i + 2, is_letter) {
        return cand(3, 2, Out::Same);
    }
    None
}

/// `REDAUX` and `SREDAUX` standing alone before a non-letter ("it 's", "n't").
fn clitic(s: &[char], i: usize) -> Option<Cand> {
    let quotes = Out::Quotes {
        probably_left: false,
    };
    let r = redaux_len(s, i);
    if r > 0 && not_alpha_or_end(s, i + r) {
        return cand(r + 1, r, quotes);
    }
    let n = sredaux_len(s, i);
    if n > 0 && not_alpha_or_end(s, i + n) {
        return cand(n + 1, n, quotes);
    }
    None
}
