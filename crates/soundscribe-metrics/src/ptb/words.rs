//! Word lists of Stanford's PTBLexer (CoreNLP 3.4.1): abbreviations and the words after
//! which an acronym's period also ends the sentence. Literal strings in the lexer are
//! case-insensitive; entries marked `case_first` in the lexer also need an upper-case first
//! letter.

/// ABBREV1 stems (followed by a period): months, days, states, company words, etc.
pub const ABBREV1: &[&str] = &[
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon",
    "tue", "tues", "wed", "thu", "thurs", "fri", "ala", "ariz", "az", "ark", "calif", "colo",
    "conn", "ct", "dak", "del", "fla", "ga", "ill", "ind", "kan", "kans", "ky", "la", "mass", "md",
    "mich", "minn", "miss", "mo", "mont", "neb", "nev", "okla", "ore", "pa", "penn", "tenn", "tex",
    "va", "vt", "wash", "wis", "wisc", "wyo", "inc", "co", "cos", "corp", "pty", "ptys", "pte",
    "ptes", "ltd", "plc", "rt", "bancorp", "bhd", "assn", "univ", "intl", "sys", "tel", "est",
    "ext", "sq", "jr", "bros", "ed.d", "ph.d", "esq", "etc", "al", "seq", "bldg",
];

/// ABBREV2/ABBREV4 stems: titles and other abbreviations usually followed by a capital.
pub const ABBREV2: &[&str] = &[
    "mr", "mrs", "ms", "miss", "dr", "drs", "prof", "profs", "sen", "sens", "rep", "reps", "atty",
    "attys", "lt", "col", "gen", "messrs", "gov", "govs", "adm", "rev", "maj", "sgt", "cpl", "pvt",
    "capt", "st", "ste", "ave", "pres", "lieut", "hon", "brig", "cmdr", "comdr", "pfc", "spc",
    "supt", "supts", "det", "mt", "ft", "adj", "adv", "asst", "assoc", "ens", "insp", "mlle",
    "mme", "msgr", "sfc", "sr", "vs", "v", "alex", "wm", "jos", "cie", "a.k.a", "cf", "treas",
    "ph", "invt", "elec", "natl", "mfg", "mtg", "dept", "blvd", "rd",
];

/// ABBREV3 stems: abbreviations recognised only before a number ("fig. 3", "ca. 1900").
pub const ABBREV3: &[&str] = &[
    "ca", "fig", "figs", "prop", "no", "nos", "art", "bldg", "pp", "op",
];

/// Stems that are abbreviations only with an upper-case first letter ("Ore." but "ore .").
pub const CASE_FIRST: &[&str] = &[
    "az", "ark", "del", "ill", "la", "mass", "miss", "ore", "pa", "tex", "wash",
];

/// Words after which an acronym's final period also ends the sentence ("the U.S. The ...").
pub const SENTENCE_STARTERS: &[&str] = &[
    "about",
    "according",
    "additionally",
    "after",
    "an",
    "a",
    "as",
    "at",
    "but",
    "did",
    "during",
    "earlier",
    "he",
    "her",
    "here",
    "how",
    "however",
    "if",
    "in",
    "it",
    "last",
    "many",
    "more",
    "mr.",
    "ms.",
    "now",
    "once",
    "one",
    "other",
    "our",
    "she",
    "since",
    "so",
    "some",
    "such",
    "that",
    "the",
    "their",
    "then",
    "there",
    "these",
    "they",
    "this",
    "we",
    "when",
    "while",
    "what",
    "who",
    "why",
    "yet",
    "you",
];

/// Words the lexer splits ("cannot" → "can not", "gonna" → "gon na"), with how many
/// characters go to the second token.
pub const ASSIMILATIONS: &[(&str, usize)] = &[
    ("cannot", 3),
    ("'twas", 3),
    ("'tis", 2),
    ("gonna", 2),
    ("gotta", 2),
    ("lemme", 2),
    ("gimme", 2),
    ("wanna", 2),
];

/// Whole-word forms with an apostrophe kept as one token.
pub const APOSTROPHE_WORDS: &[&str] = &[
    "'em",
    "'cause",
    "'til",
    "'till",
    "cont'd",
    "cont'd.",
    "nor'easter",
    "c'mon",
    "e'er",
    "s'mores",
    "ev'ry",
    "li'l",
    "nat'l",
    "dunkin'",
    "somethin'",
    "ol'",
];
