//! Character classes of Stanford's PTBLexer, as predicates over `char`.
//!
//! JFlex's `[:letter:]` is Java's `Character.isLetter`, `[:digit:]` is
//! `Character.isDigit` (decimal digits only); Rust's `is_alphabetic` is a close superset of
//! the first, and digits are restricted to decimal ones here.

/// Horizontal space or newline: never part of a token.
pub fn is_space(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t' | '\u{A0}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{3000}'
                | '\r'
                | '\n'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{0B}'
                | '\u{0C}'
                | '\u{85}'
    )
}

/// A decimal digit (Unicode category Nd, approximated: superscripts and fractions excluded).
pub fn is_digit(c: char) -> bool {
    c.is_ascii_digit()
        || (c.is_numeric()
            && u32::from(c) > 0xFF
            && !matches!(c, '\u{2070}'..='\u{218F}' | '\u{2460}'..='\u{24FF}' | '\u{2776}'..='\u{2793}'))
}

/// `[:letter:]`, plus the soft hyphen the lexer allows inside words.
pub fn is_letter(c: char) -> bool {
    (c.is_alphabetic() && !is_digit(c)) || c == '\u{AD}'
}

/// `\p{Alpha}` or `\p{Digit}`.
pub fn is_alnum(c: char) -> bool {
    c.is_alphabetic() || is_digit(c)
}

/// An apostrophe (`APOS`): straight, right curly, CP1252 right quote, acute accent.
pub fn is_apos(c: char) -> bool {
    matches!(c, '\'' | '\u{92}' | '\u{2019}' | '\u{B4}')
}

/// `APOSETCETERA`: an apostrophe or a character that wrongly stands for one inside words.
pub fn is_apos_etc(c: char) -> bool {
    is_apos(c) || matches!(c, '`' | '\u{91}' | '\u{2018}' | '\u{201B}')
}

/// Characters the lexer reads as opening or closing quotes (`QUOTES`).
pub fn is_quote(c: char) -> bool {
    is_apos(c)
        || matches!(c, '`' | '\u{2018}'..='\u{201F}' | '\u{82}' | '\u{84}' | '\u{91}'..='\u{94}'
            | '\u{2039}' | '\u{203A}' | '\u{AB}' | '\u{BB}')
}

/// Stand-alone symbols that become one-character tokens (`MISCSYMBOL`, approximated).
pub fn is_misc_symbol(c: char) -> bool {
    matches!(c, '+' | '%' | '&' | '~' | '^' | '|' | '\\' | '\u{A6}'..='\u{A9}' | '\u{AC}'
        | '\u{AE}'..='\u{BA}' | '\u{D7}' | '\u{F7}' | '\u{2016}' | '\u{2017}' | '\u{2020}'..='\u{2025}'
        | '\u{2030}'..='\u{2038}' | '\u{203B}'..='\u{2044}' | '\u{207A}'..='\u{207F}'
        | '\u{208A}'..='\u{208E}' | '\u{2100}'..='\u{214F}' | '\u{2190}'..='\u{21FF}'
        | '\u{2200}'..='\u{2BFF}' | '\u{3001}'..='\u{3006}' | '\u{3008}'..='\u{3020}' | '\u{30FB}'
        | '\u{FF01}'..='\u{FF0F}' | '\u{FF1A}'..='\u{FF20}' | '\u{FF3B}'..='\u{FF40}'
        | '\u{FF5B}'..='\u{FF65}')
}

/// PTB3 "latex quotes" for a token that is not known to open a quotation: apostrophes and
/// right quotes become `'`/`''`, left quotes `` ` ``/` `` `.
pub fn latex_quotes(tok: &str, probably_left: bool) -> String {
    let double = if probably_left { "``" } else { "''" };
    let single = if probably_left { "`" } else { "'" };
    let mut out = String::with_capacity(tok.len() + 2);
    for c in tok.chars() {
        match c {
            '"' => out.push_str(double),
            '\'' => out.push_str(single),
            '\u{82}' | '\u{8B}' | '\u{91}' | '\u{2018}' | '\u{201A}' | '\u{201B}' | '\u{2039}' => {
                out.push('`')
            }
            '\u{92}' | '\u{9B}' | '\u{B4}' | '\u{2019}' | '\u{203A}' => out.push('\''),
            '\u{84}' | '\u{93}' | '\u{201C}' | '\u{201E}' | '\u{AB}' => out.push_str("``"),
            '\u{94}' | '\u{201D}' | '\u{BB}' => out.push_str("''"),
            _ => out.push(c),
        }
    }
    out
}
