//! PTBLexer rules for quotes, brackets, SGML tags, emoticons, symbols and punctuation. See
//! `lexer.rs` for how rules compete.

use super::chars::{is_alnum, is_misc_symbol, is_quote};
use super::scan::{at, cand, lit, run, Cand, Out};

/// Double quotes (`DBLQUOT`) and single/curly quotes (`QUOTES`), PTB-normalised.
pub fn quote_rules(s: &[char], i: usize) -> Option<Cand> {
    let dbl = if at(s, i, |c| c == '"') {
        1
    } else if lit(s, i, "&quot;") > 0 {
        6
    } else if at(s, i, |c| c == '\'') && at(s, i + 1, |c| c == '\'') {
        2
    } else {
        0
    };
    let left = |j: usize| at(s, j, |c| is_alnum(c) || c == '$');
    if dbl > 0 {
        let probably_left = left(i + dbl);
        return cand(
            dbl + usize::from(probably_left),
            dbl,
            Out::Quotes { probably_left },
        );
    }
    let in_class = |c: char| is_quote(c) && c != '\'' && c != '\u{B4}';
    let q = if at(s, i, in_class) {
        1 + usize::from(at(s, i + 1, in_class))
    } else {
        usize::from(at(s, i, is_quote))
    };
    cand(
        q,
        q,
        Out::Quotes {
            probably_left: false,
        },
    )
}

/// Brackets, `<`/`>`, simple SGML tags, emoticons and stand-alone symbols.
pub fn bracket_symbol(s: &[char], i: usize) -> Option<Cand> {
    let c = *s.get(i)?;
    let text = match c {
        '(' => Some("-LRB-"),
        ')' => Some("-RRB-"),
        '[' => Some("-LSB-"),
        ']' => Some("-RSB-"),
        '{' => Some("-LCB-"),
        '}' => Some("-RCB-"),
        _ => None,
    };
    let mut best = text.and_then(|t| cand(1, 1, Out::Text(t.into())));
    // SMILEY = [<>]?[:;=][\-o\*']?[\(\)DPdpO\\{@\|\[\]] / [^A-Za-z0-9]
    let mut j = i + usize::from(at(s, i, |c| c == '<' || c == '>'));
    if at(s, j, |c| matches!(c, ':' | ';' | '=')) {
        j += 1;
        j += usize::from(at(s, j, |c| matches!(c, '-' | 'o' | '*' | '\'')));
        if at(s, j, |c| "()DPdpO\\{@|[]".contains(c))
            && !at(s, j + 1, |c| c.is_ascii_alphanumeric())
        {
            let text: String = s[i..=j]
                .iter()
                .map(|&c| match c {
                    '(' => "-LRB-".to_string(),
                    ')' => "-RRB-".to_string(),
                    c => c.to_string(),
                })
                .collect();
            best = cand(j + 2 - i, j + 1 - i, Out::Text(text));
        }
    }
    if best.is_some() {
        return best;
    }
    if c == '<' {
        let n = sgml_len(s, i);
        if n > 0 {
            let text: String = s[i..i + n]
                .iter()
                .map(|&c| if c == ' ' { '\u{A0}' } else { c })
                .collect();
            return cand(n, n, Out::Text(text));
        }
        return cand(1, 1, Out::Same);
    }
    if lit(s, i, "&lt;") > 0 {
        return cand(4, 4, Out::Text("<".into()));
    }
    if lit(s, i, "&gt;") > 0 {
        return cand(4, 4, Out::Text(">".into()));
    }
    if c == '>' || is_misc_symbol(c) {
        return cand(1, 1, Out::Same);
    }
    None
}

/// `SGML`: `<!...>`, `<?...>`, `</name>` or `<name attr="v" attr2=v2 flag />` on one line.
pub(super) fn sgml_len(s: &[char], i: usize) -> usize {
    let name = |j: usize| {
        if at(s, j, |c| c.is_ascii_alphabetic()) {
            1 + run(s, j + 1, |c| {
                c.is_ascii_alphanumeric() || "_:.-".contains(c)
            })
        } else {
            0
        }
    };
    let close = |j: usize| {
        let j = j + run(s, j, |c| c == ' ');
        if at(s, j, |c| c == '>') {
            j + 1 - i
        } else {
            0
        }
    };
    if at(s, i + 1, |c| c == '!' || c == '?')
        && at(s, i + 2, |c| c.is_ascii_alphabetic() || c == '-')
    {
        let body = run(s, i + 2, |c| !matches!(c, '>' | '\r' | '\n'));
        return if at(s, i + 2 + body, |c| c == '>') {
            body + 3
        } else {
            0
        };
    }
    if at(s, i + 1, |c| c == '/') {
        let n = name(i + 2);
        return if n > 0 { close(i + 2 + n) } else { 0 };
    }
    let n = name(i + 1);
    if n == 0 {
        return 0;
    }
    let mut j = i + 1 + n;
    loop {
        let sp = run(s, j, |c| c == ' ');
        let a = if sp > 0 { name(j + sp) } else { 0 };
        if a == 0 {
            break;
        }
        let mut k = j + sp + a;
        let eq = k + run(s, k, |c| c == ' ');
        if at(s, eq, |c| c == '=') {
            let v = eq + 1 + run(s, eq + 1, |c| c == ' ');
            let q = s.get(v).copied();
            let value = match q {
                Some(q @ ('\'' | '"')) => {
                    let body = run(s, v + 1, |c| c != q);
                    if at(s, v + 1 + body, |c| c == q) {
                        body + 2
                    } else {
                        0
                    }
                }
                _ => name(v),
            };
            if value > 0 {
                k = v + value;
            }
        }
        j = k;
    }
    let j = j + run(s, j, |c| c == ' ');
    close(j + usize::from(at(s, j, |c| c == '/')))
}

/// Hyphens, ellipses, footnote marks, asterisks, in-sentence and final punctuation.
pub fn punctuation(s: &[char], i: usize) -> Option<Cand> {
    let c = *s.get(i)?;
    let same = |n: usize| cand(n, n, Out::Same);
    match c {
        '-' => {
            let n = run(s, i, |c| c == '-');
            if (3..=4).contains(&n) {
                cand(n, n, Out::Text("--".into()))
            } else {
                same(n)
            }
        }
        '.' => {
            let n = run(s, i, |c| c == '.');
            if n >= 3 {
                return cand(n, n, Out::Text("...".into()));
            }
            // SPACEDLDOTS = \.[ \u00A0](\.[ \u00A0])+\.
            let mut j = i;
            while at(s, j, |c| c == '.') && at(s, j + 1, |c| c == ' ' || c == '\u{A0}') {
                j += 2;
            }
            if j - i >= 4 && at(s, j, |c| c == '.') {
                return cand(j + 1 - i, j + 1 - i, Out::Text("...".into()));
            }
            same(1)
        }
        '\u{85}' | '\u{2026}' => cand(1, 1, Out::Text("...".into())),
        '@' | '#' | '_' | '*' => same(run(s, i, |x| x == c)),
        '\\' if at(s, i + 1, |c| c == '*') => {
            // ASTS also takes up to three escaped asterisks: \* \*\* \*\*\*
            let mut n = 2;
            while n < 6 && at(s, i + n, |c| c == '\\') && at(s, i + n + 1, |c| c == '*') {
                n += 2;
            }
            same(n)
        }
        ',' | ';' | ':' | '\u{3001}' | '=' | '/' => same(1),
        '?' | '!' => same(run(s, i, |c| c == '?' || c == '!')),
        '\u{A1}'
        | '\u{BF}'
        | '\u{37E}'
        | '\u{589}'
        | '\u{61F}'
        | '\u{6D4}'
        | '\u{700}'..='\u{702}'
        | '\u{7FA}'
        | '\u{3002}' => same(1),
        _ => None,
    }
}
