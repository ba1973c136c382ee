//! The scanning primitives the rules are written with: a rule's match ([`Cand`], [`Out`],
//! built with [`cand`]) and the character tests over a `&[char]` line ([`lit`], [`run`],
//! [`at`]). The rules (`abbrev.rs`, `numbers.rs`, ...) and `lexer.rs` import these; this file
//! imports no rule.

use super::chars::is_apos_etc;

/// What a rule produces.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Out {
    /// The matched text itself.
    Same,
    /// A normalised form.
    Text(String),
    /// Quote normalisation of the matched text.
    Quotes { probably_left: bool },
}

/// A rule's match: total length (with trailing context), token length, output.
pub(super) struct Cand {
    pub(super) total: usize,
    pub(super) tok: usize,
    pub(super) out: Out,
}

/// A rule's match of `total` characters yielding the first `tok` as `out`; none when `tok`
/// is 0.
pub(super) fn cand(total: usize, tok: usize, out: Out) -> Option<Cand> {
    (tok > 0).then_some(Cand { total, tok, out })
}

/// Case-insensitive literal at `i` (an `'` in the literal matches any apostrophe).
pub(super) fn lit(s: &[char], i: usize, word: &str) -> usize {
    let mut j = i;
    for w in word.chars() {
        let Some(&c) = s.get(j) else { return 0 };
        let ok = if w == '\'' {
            is_apos_etc(c)
        } else {
            c.to_lowercase().eq(w.to_lowercase())
        };
        if !ok {
            return 0;
        }
        j += 1;
    }
    j - i
}

/// How many characters from `i` on satisfy `pred` (0 past the end).
pub(super) fn run(s: &[char], i: usize, pred: impl Fn(char) -> bool) -> usize {
    s[i.min(s.len())..].iter().take_while(|&&c| pred(c)).count()
}

/// Whether the character at `i` exists and satisfies `pred`.
pub(super) fn at(s: &[char], i: usize, pred: impl Fn(char) -> bool) -> bool {
    s.get(i).is_some_and(|&c| pred(c))
}
