//! Maps between byte spans in a TOML text and dotted field paths (`sources[1].path`).
//!
//! serde reports *where* a parse failed and validation reports *which field* is wrong;
//! users need both, so each is recovered from the other with toml_edit's spans.

use std::ops::Range;

use toml_edit::{Document, Item, Table, Value};

/// 1-based line and column of byte offset `at` in `text`.
pub fn line_col(text: &str, at: usize) -> (usize, usize) {
    let at = at.min(text.len());
    let before = &text[..at];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// The dotted path of the innermost key whose key or value span contains `span`.
pub fn field_at(text: &str, span: Range<usize>) -> Option<String> {
    let doc = Document::parse(text).ok()?;
    let mut best: Option<(usize, String)> = None;
    walk_table(
        doc.as_table(),
        String::new(),
        &mut |path, key_span, item_span| {
            for s in [key_span, item_span].into_iter().flatten() {
                if s.start <= span.start && span.start < s.end.max(s.start + 1) {
                    let len = s.end - s.start;
                    if best.as_ref().is_none_or(|(l, _)| len <= *l) {
                        best = Some((len, path.to_owned()));
                    }
                }
            }
        },
    );
    best.map(|(_, p)| p)
}

/// The span of the value (or table header) at dotted `path`, if the file spells it out.
pub fn span_of(text: &str, path: &str) -> Option<Range<usize>> {
    let doc = Document::parse(text).ok()?;
    let mut found = None;
    let mut parent = None;
    let parent_path = path.rsplit_once('.').map(|(p, _)| p.to_owned());
    walk_table(
        doc.as_table(),
        String::new(),
        &mut |p, key_span, item_span| {
            if p == path {
                found = key_span.or(item_span);
            } else if parent_path.as_deref() == Some(p) && parent.is_none() {
                parent = key_span.or(item_span);
            }
        },
    );
    found.or(parent)
}

type Visit<'a> = dyn FnMut(&str, Option<Range<usize>>, Option<Range<usize>>) + 'a;

fn walk_table(table: &Table, prefix: String, visit: &mut Visit<'_>) {
    for (key, item) in table.iter() {
        let path = if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        };
        let key_span = table.key(key).and_then(|k| k.span());
        walk_item(item, path, key_span, visit);
    }
}

fn walk_item(item: &Item, path: String, key_span: Option<Range<usize>>, visit: &mut Visit<'_>) {
    match item {
        Item::Table(t) => {
            visit(&path, key_span.clone(), t.span());
            walk_table(t, path, visit);
        }
        Item::ArrayOfTables(a) => {
            for (i, t) in a.iter().enumerate() {
                let p = format!("{path}[{i}]");
                visit(&p, t.span(), t.span());
                walk_table(t, p, visit);
            }
        }
        Item::Value(v) => walk_value(v, path, key_span, visit),
        Item::None => {}
    }
}

fn walk_value(value: &Value, path: String, key_span: Option<Range<usize>>, visit: &mut Visit<'_>) {
    visit(&path, key_span, value.span());
    match value {
        Value::InlineTable(t) => {
            for (k, v) in t.iter() {
                let ks = t.key(k).and_then(|k| k.span());
                walk_value(v, format!("{path}.{k}"), ks, visit);
            }
        }
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                walk_value(v, format!("{path}[{i}]"), None, visit);
            }
        }
        _ => {}
    }
}
