//! PTBLexer rules for acronyms and abbreviations, including the ones whose period also
//! ends a sentence. See `lexer.rs` for how rules compete.

use super::chars::{is_digit, is_space};
use super::scan::{at, cand, lit, run, Cand, Out};
use super::symbols::sgml_len;
use super::words::{ABBREV1, ABBREV2, ABBREV3, CASE_FIRST, SENTENCE_STARTERS};

/// `ACRO = [A-Za-z](\.[A-Za-z])*`, length at `i`.
pub(super) fn acro_len(s: &[char], i: usize) -> usize {
    if !at(s, i, |c| c.is_ascii_alphabetic()) {
        return 0;
    }
    let mut j = i + 1;
    while at(s, j, |c| c == '.') && at(s, j + 1, |c| c.is_ascii_alphabetic()) {
        j += 2;
    }
    j - i
}

/// Longest stem from `list` (case-insensitive) at `i`.
pub(super) fn stem_len(s: &[char], i: usize, list: &[&str]) -> usize {
    let upper_first = at(s, i, char::is_uppercase);
    list.iter()
        .filter(|w| upper_first || !CASE_FIRST.contains(w))
        .map(|w| lit(s, i, w))
        .max()
        .unwrap_or(0)
}

/// Acronyms and abbreviations: `ACRONYM` before a sentence starter, `ABBREV1..4`, `ACRO`.
pub fn abbreviation(s: &[char], i: usize) -> Option<Cand> {
    let mut best: Option<Cand> = None;
    let mut offer = |c: Option<Cand>| {
        if let Some(c) = c {
            if best.as_ref().is_none_or(|b| c.total > b.total) {
                best = Some(c);
            }
        }
    };
    let acro = acro_len(s, i);
    if acro > 0 && at(s, i + acro, |c| c == '.') {
        let len = acro + 1;
        // ACRONYM / SPACENLS (StarterWord | SGML) SPACENL: the period also ends the sentence.
        let sp = run(s, i + len, is_space);
        let w = i + len + sp;
        if sp > 0 {
            let mut next = Vec::new();
            if at(s, w, char::is_uppercase) {
                next.extend(SENTENCE_STARTERS.iter().map(|st| lit(s, w, st)));
            }
            if at(s, w, |c| c == '<') {
                next.push(sgml_len(s, w));
            }
            for n in next {
                let end = w + n == s.len(); // the line's newline follows
                if n > 0 && (end || at(s, w + n, is_space)) {
                    let tok = if len == 2 { 1 } else { len };
                    offer(cand(len + sp + n + 1, tok, Out::Same));
                }
            }
        }
        offer(cand(len, len, Out::Same)); // ABBREV2 via ACRO
    }
    let n3 = stem_len(s, i, ABBREV3);
    if n3 > 0 && at(s, i + n3, |c| c == '.') {
        let d = usize::from(at(s, i + n3 + 1, is_space));
        if at(s, i + n3 + 1 + d, is_digit) {
            offer(cand(n3 + 2 + d, n3 + 1, Out::Same));
        }
    }
    let n1 = stem_len(s, i, ABBREV1);
    if n1 > 0 && at(s, i + n1, |c| c == '.') {
        let ctx = (s.len() - (i + n1 + 1)).min(2);
        offer(cand(n1 + 1 + ctx, n1 + 1, Out::Same));
    }
    let n2 = stem_len(s, i, ABBREV2);
    if n2 > 0 && at(s, i + n2, |c| c == '.') {
        offer(cand(n2 + 1, n2 + 1, Out::Same));
    }
    for n in [n2, acro] {
        if n > 0 && at(s, i + n, is_space) {
            offer(cand(n + 1, n, Out::Same)); // ABBREV4/SPACE, ACRO/SPACENL
        }
    }
    best
}
