//! PTBLexer rules for hyphenated and compound "things": `HTHING`, `THING`, `THING3`,
//! `THINGA` and the fixed `TBSPEC` forms. See `lexer.rs` for how rules compete.

use super::abbrev::{acro_len, stem_len};
use super::chars::{is_alnum, is_apos_etc};
use super::scan::{at, cand, lit, run, Cand, Out};

/// `-LRB-`-style escapes and a few fixed forms (`TBSPEC`).
pub fn tbspec(s: &[char], i: usize) -> Option<Cand> {
    let forms = [
        "-rrb-", "-lrb-", "-rcb-", "-lcb-", "-rsb-", "-lsb-", "c.d.s", "pro-", "anti-", "s&p-500",
        "s&ls", "cap'n", "c'est",
    ];
    let n = stem_len(s, i, &forms);
    cand(n, n, Out::Same)
}

/// `HTHING` (hyphenated words), `THING` (alphanumeric runs, `o'clock`) and `THING3`
/// (`and/or`).
pub fn thing(s: &[char], i: usize) -> Option<Cand> {
    let mut best = tbspec(s, i);
    let mut offer = |total: usize, tok: usize, out: Out| {
        if tok > 0 && best.as_ref().is_none_or(|b| total > b.total) {
            best = cand(total, tok, out);
        }
    };
    if !at(s, i, is_alnum) {
        return best;
    }
    let quotes = || Out::Quotes {
        probably_left: false,
    };
    let h = hthing_len(s, i);
    offer(h, h, Out::Same);
    // HTHING\./INSENTP: "U.S.-based.," keeps its period.
    if h > 0 && at(s, i + h, |c| c == '.') && at(s, i + h + 1, |c| matches!(c, ',' | ';' | ':')) {
        offer(h + 2, h + 1, Out::Same);
    }
    let t = thing_len(s, i);
    offer(t, t, quotes());
    // THING\./INSENTP (active in 3.4.1): "1end.," keeps its period.
    if t > 0 && at(s, i + t, |c| c == '.') && at(s, i + t + 1, |c| matches!(c, ',' | ';' | ':')) {
        offer(t + 2, t + 1, quotes());
    }
    let t3 = thing3_len(s, i);
    offer(t3, t3, Out::Same);
    let a = thinga_len(s, i);
    if a > 0 {
        let text: String = s[i..i + a].iter().collect();
        offer(
            a,
            a,
            Out::Text(text.replace("&amp;", "&").replace("&AMP;", "&")),
        );
    }
    best
}

/// `THINGA = [A-Z]+ (([+&] | &amp;) [A-Z]+)+` ("AT&T", "A+B").
fn thinga_len(s: &[char], i: usize) -> usize {
    let upper = |c: char| c.is_ascii_uppercase();
    let mut j = i + run(s, i, upper);
    if j == i {
        return 0;
    }
    let start = j;
    loop {
        let sep = if at(s, j, |c| c == '+' || c == '&') {
            if lit(s, j, "&amp;") == 5 {
                5
            } else {
                1
            }
        } else {
            0
        };
        let n = if sep > 0 { run(s, j + sep, upper) } else { 0 };
        if n == 0 {
            break;
        }
        j += sep + n;
    }
    if j > start {
        j - i
    } else {
        0
    }
}

/// `HTHING = [A-Za-z0-9][A-Za-z0-9.,\u00AD]* (-([A-Za-z0-9\u00AD]+ | ACRO2\.))+`
/// (ASCII only in CoreNLP 3.4.1: "caféU.S.-based" is not one token).
fn hthing_len(s: &[char], i: usize) -> usize {
    let ascii = |c: char| c.is_ascii_alphanumeric();
    if !at(s, i, ascii) {
        return 0;
    }
    let mut j = i + 1 + run(s, i + 1, |c| ascii(c) || matches!(c, '.' | ',' | '\u{AD}'));
    let start = j;
    while at(s, j, |c| c == '-') {
        let mut part = run(s, j + 1, |c| ascii(c) || c == '\u{AD}');
        let acro = acro2_len(s, j + 1);
        if acro > 0 && at(s, j + 1 + acro, |c| c == '.') {
            part = part.max(acro + 1);
        }
        if part == 0 {
            break;
        }
        j += 1 + part;
    }
    if j > start {
        j - i
    } else {
        0
    }
}

/// `ACRO2 = [A-Za-z](\.[A-Za-z])+`
fn acro2_len(s: &[char], i: usize) -> usize {
    let n = acro_len(s, i);
    if n >= 3 {
        n
    } else {
        0
    }
}

/// `THING = (dol APOS alnum)? alnum+ (HYPHEN (dol APOS alnum)? alnum+)*` (3.4.1: no numbers
/// with separators inside; "3.5-inch" is an `HTHING`).
fn thing_len(s: &[char], i: usize) -> usize {
    let part = |j: usize| -> usize {
        let p = if at(s, j, |c| "dDoOlL".contains(c))
            && at(s, j + 1, is_apos_etc)
            && at(s, j + 2, is_alnum)
        {
            3
        } else {
            0
        };
        let a = run(s, j + p, is_alnum);
        if a == 0 && p == 0 {
            0
        } else {
            p + a
        }
    };
    let first = part(i);
    if first == 0 {
        return 0;
    }
    let mut j = i + first;
    while at(s, j, |c| {
        matches!(c, '-' | '_' | '\u{58A}' | '\u{2010}' | '\u{2011}')
    }) {
        let p = part(j + 1);
        if p == 0 {
            break;
        }
        j += 1 + p;
    }
    j - i
}

/// `THING3 = alnum+ (-alpha+){0,2} (\\?/ alnum+ (-alpha+){0,2}){1,2}`
fn thing3_len(s: &[char], i: usize) -> usize {
    // \p{Alpha} and \p{Digit} are ASCII classes in the JFlex that built 3.4.1.
    let seg = |j: usize| -> usize {
        let a = run(s, j, |c| c.is_ascii_alphanumeric());
        if a == 0 {
            return 0;
        }
        let mut k = j + a;
        for _ in 0..2 {
            if at(s, k, |c| c == '-') && at(s, k + 1, |c| c.is_ascii_alphabetic()) {
                k += 1 + run(s, k + 1, |c| c.is_ascii_alphabetic());
            }
        }
        k - j
    };
    let mut k = i + seg(i);
    let mut slashes = 0;
    while slashes < 2 {
        let sl = if at(s, k, |c| c == '\\') && at(s, k + 1, |c| c == '/') {
            2
        } else {
            usize::from(at(s, k, |c| c == '/'))
        };
        let g = if sl > 0 { seg(k + sl) } else { 0 };
        if g == 0 {
            break;
        }
        k += sl + g;
        slashes += 1;
    }
    if slashes > 0 {
        k - i
    } else {
        0
    }
}
