//! PTBLexer rules for URLs, e-mail addresses, @names, #hashtags and programming-language
//! names, in CoreNLP 3.4.1's forms. See `lexer.rs` for how rules compete.

use super::chars::{is_letter, is_space};
use super::scan::{at, cand, lit, run, Cand, Out};

/// URLs, e-mail addresses, @names and #hashtags.
pub(super) fn web(s: &[char], i: usize) -> Option<Cand> {
    let n = [full_url(s, i), likely_url(s, i), email(s, i), twitter(s, i)]
        .into_iter()
        .max()
        .unwrap_or(0);
    cand(n, n, Out::Same)
}

/// `FULLURL = (ftp|svn|http|https|mailto)://[^ "<>|()]+[^ "<>|.!?(){},-]` (3.4.1's form).
fn full_url(s: &[char], i: usize) -> usize {
    let mut n = 0;
    for scheme in ["http://", "https://", "ftp://", "svn://", "mailto://"] {
        let p = lit(s, i, scheme);
        if p > 0 {
            let body = run(s, i + p, |c| !is_space(c) && !"\"<>|(){}".contains(c));
            let ok_last = |c: char| !".!?(){},-".contains(c);
            if let Some(last) = (1..body).rev().find(|&k| ok_last(s[i + p + k])) {
                n = n.max(p + last + 1);
            }
        }
    }
    n
}

/// `LIKELYURL`: `www.` host with a 2-4 letter TLD, or lower-case labels ending in
/// `.com|.net|.org|.edu` (the original's class `[^...,-_$]` is a range that excludes digits,
/// capitals, `-` and `_`), optionally with a `/path` of two or more characters.
fn likely_url(s: &[char], i: usize) -> usize {
    let www_label = |c: char| !is_space(c) && !"\"<>|.!?(){},".contains(c);
    let plain_label =
        |c: char| !is_space(c) && !"\"`'<>|.!?(){}$".contains(c) && !(','..='_').contains(&c);
    let mut host = 0;
    if lit(s, i, "www.") == 4 {
        // (label\.)+ [a-zA-Z]{2,4}: try every label end, keep the longest valid one.
        let mut k = i + 4;
        loop {
            let l = run(s, k, www_label);
            if l == 0 || !at(s, k + l, |c| c == '.') {
                break;
            }
            k += l + 1;
            let tld = run(s, k, |c| c.is_ascii_alphabetic());
            if (2..=4).contains(&tld) {
                host = host.max(k + tld - i);
            }
        }
    }
    let mut k = i;
    loop {
        let l = run(s, k, plain_label);
        if l == 0 || !at(s, k + l, |c| c == '.') {
            break;
        }
        k += l + 1;
        for tld in ["com", "net", "org", "edu"] {
            if lit(s, k, tld) == 3 && s[k..k + 3].iter().all(char::is_ascii_lowercase) {
                host = host.max(k + 3 - i);
            }
        }
    }
    if host == 0 {
        return 0;
    }
    let p = i + host;
    if at(s, p, |c| c == '/') {
        let body = run(s, p + 1, |c| !is_space(c) && !"\"<>|()".contains(c));
        let ok_last = |c: char| !".!?(){},-".contains(c);
        if let Some(last) = (1..body).rev().find(|&k| ok_last(s[p + 1 + k])) {
            return host + 2 + last;
        }
    }
    host
}

/// `EMAIL = [a-zA-Z0-9][^ ...]*@([^ ....]+\.)*[^ ....]+` (CoreNLP 3.4.1's loose form: the
/// local part may hold anything but spaces and brackets, the domain is dot-separated labels).
fn email(s: &[char], i: usize) -> usize {
    // Optional `<`/`&lt;` before and `>`/`&gt;` after.
    let open = if at(s, i, |c| c == '<') {
        1
    } else {
        lit(s, i, "&lt;")
    };
    let n = open + email_body(s, i + open);
    if n == open {
        return 0;
    }
    n + if at(s, i + n, |c| c == '>') {
        1
    } else {
        lit(s, i + n, "&gt;")
    }
}

fn email_body(s: &[char], i: usize) -> usize {
    if !at(s, i, |c| c.is_ascii_alphanumeric()) {
        return 0;
    }
    let allowed = |c: char| !is_space(c) && !"\"<>|(){}".contains(c);
    let r = run(s, i, allowed);
    let mut best = 0;
    for k in (i + 1..i + r).filter(|&k| s[k] == '@') {
        let mut j = k + 1;
        loop {
            let l = run(s, j, |c| allowed(c) && c != '.');
            if l == 0 {
                break;
            }
            best = best.max(j + l - i);
            if !at(s, j + l, |c| c == '.') {
                break;
            }
            j += l + 1;
        }
    }
    best
}

/// `TWITTER`: `@name` or `#hashtag`.
fn twitter(s: &[char], i: usize) -> usize {
    let mut n = 0;
    if at(s, i, |c| c == '@' || c == '\u{FF20}')
        && at(s, i + 1, |c| c.is_ascii_alphabetic() || c == '_')
    {
        n = 1 + run(s, i + 1, |c| c.is_ascii_alphanumeric() || c == '_');
    }
    // #hashtag: letters only in 3.4.1 ("#tag100km" is "#tag" "100km").
    if at(s, i, |c| c == '#' || c == '\u{FF03}') {
        let l = run(s, i + 1, is_letter);
        if l >= 1 {
            n = n.max(1 + l);
        }
    }
    // PROG_LANGS: c++, c#, f#.
    for lang in ["c++", "c#", "f#"] {
        n = n.max(lit(s, i, lang));
    }
    n
}
