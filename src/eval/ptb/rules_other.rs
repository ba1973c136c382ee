//! PTBLexer rules for numbers, currency, abbreviations, quotes, brackets, punctuation and
//! hyphenated "things". See `lexer.rs` for how rules compete.

use super::chars::{is_alnum, is_apos_etc, is_digit, is_misc_symbol, is_quote, is_space};
use super::lexer::{at, cand, lit, run, Cand, Out};
use super::words::{ABBREV1, ABBREV2, ABBREV3, CASE_FIRST, SENTENCE_STARTERS};

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

/// `ACRO = [A-Za-z](\.[A-Za-z])*`, length at `i`.
fn acro_len(s: &[char], i: usize) -> usize {
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
fn stem_len(s: &[char], i: usize, list: &[&str]) -> usize {
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
fn sgml_len(s: &[char], i: usize) -> usize {
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
