//! PTBLexer rules for numbers, fractions and currency signs. See `lexer.rs` for how rules
//! compete.

use super::chars::{is_digit, is_space};
use super::scan::{at, cand, run, Cand, Out};

/// `NUM = DIGIT*([.:,]DIGIT+)+ | DIGIT+([.:,]DIGIT+)*` (3.4.1 allows a leading `:`).
fn num_len(s: &[char], i: usize) -> usize {
    let groups = |mut j: usize, seps: &str| {
        while at(s, j, |c| seps.contains(c)) && at(s, j + 1, is_digit) {
            j += 1 + run(s, j + 1, is_digit);
        }
        j
    };
    let lead = run(s, i, is_digit);
    let a = {
        let j = groups(i + lead, ".:,");
        if j > i + lead {
            j - i
        } else {
            0
        }
    };
    let b = if lead > 0 {
        groups(i + lead, ".:,") - i
    } else {
        0
    };
    a.max(b)
}

/// `NUMBER`, `FRAC`, `FRAC2`, `DATE`.
pub fn number_rules(s: &[char], i: usize) -> Option<Cand> {
    let sign = usize::from(at(s, i, |c| c == '-' || c == '+'));
    let n = num_len(s, i + sign);
    let mut best = if n > 0 {
        cand(sign + n, sign + n, Out::Same)
    } else {
        None
    };
    // FRAC = (DIGIT{1,4}[- \u00A0])? DIGIT{1,4} (\\?/|\u2044) DIGIT{1,4}
    let frac_at = |j: usize| -> usize {
        let a = run(s, j, is_digit);
        if !(1..=4).contains(&a) {
            return 0;
        }
        let mut k = j + a;
        if at(s, k, |c| c == '\\') && at(s, k + 1, |c| c == '/') {
            k += 2;
        } else if at(s, k, |c| c == '/' || c == '\u{2044}') {
            k += 1;
        } else {
            return 0;
        }
        let b = run(s, k, is_digit);
        if (1..=4).contains(&b) {
            k + b - j
        } else {
            0
        }
    };
    let mut frac = frac_at(i);
    let whole = run(s, i, is_digit);
    if (1..=4).contains(&whole) && at(s, i + whole, |c| matches!(c, '-' | ' ' | '\u{A0}')) {
        let rest = frac_at(i + whole + 1);
        if rest > 0 {
            frac = frac.max(whole + 1 + rest);
        }
    }
    if frac > 0 && best.as_ref().is_none_or(|b| frac > b.total) {
        let text: String = s[i..i + frac]
            .iter()
            .map(|&c| if c == ' ' { '\u{A0}' } else { c })
            .collect();
        best = cand(frac, frac, Out::Text(text));
    }
    // TBSPEC2 = APOS DIGIT DIGIT / SPACENL ("'95")
    if at(s, i, super::chars::is_apos)
        && at(s, i + 1, |c| c.is_ascii_digit())
        && at(s, i + 2, |c| c.is_ascii_digit())
        && (i + 3 == s.len() || at(s, i + 3, is_space))
        && best.as_ref().is_none_or(|b| 4 > b.total)
    {
        best = cand(4, 3, Out::Same);
    }
    if best.is_none() {
        let frac2 = match s.get(i) {
            Some('\u{BC}') => Some("1/4"),
            Some('\u{BD}') => Some("1/2"),
            Some('\u{BE}') => Some("3/4"),
            Some('\u{2153}') => Some("1/3"),
            Some('\u{2154}') => Some("2/3"),
            Some('\u{2155}'..='\u{215E}') => Some(""),
            _ => None,
        };
        if let Some(f) = frac2 {
            let out = if f.is_empty() {
                Out::Same
            } else {
                Out::Text(f.into())
            };
            best = cand(1, 1, out);
        }
    }
    best
}

/// `DOLSIGN = [A-Z]*\$ | #` and `DOLSIGN2` (cent, pound, euro, ...; PTB-normalised).
pub fn currency(s: &[char], i: usize) -> Option<Cand> {
    let caps = run(s, i, |c| c.is_ascii_uppercase());
    if at(s, i + caps, |c| c == '$') {
        return cand(caps + 1, caps + 1, Out::Same);
    }
    let text = match s.get(i)? {
        '#' => return cand(1, 1, Out::Same),
        '\u{A2}' => "cents",
        '\u{A3}' => "#",
        '\u{80}' | '\u{20AC}' => "$",
        '\u{A4}' | '\u{A5}' | '\u{20A0}' | '\u{20AA}' | '\u{20B9}' | '\u{60B}' | '\u{E3F}'
        | '\u{20A4}' | '\u{FFE0}' | '\u{FFE1}' | '\u{FFE5}' | '\u{FFE6}' => {
            return cand(1, 1, Out::Same)
        }
        _ => return None,
    };
    cand(1, 1, Out::Text(text.into()))
}
