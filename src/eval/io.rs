//! Reading references and hypotheses for `soundscribe eval`.
//!
//! References: Clotho-style CSV (`file_name,caption_1,...,caption_5`; any number of
//! `caption_N` columns, empty cells skipped) or JSON (`{"id": ["ref", ...]}` or
//! `[{"file_name": "id", "captions": ["ref", ...]}]`). Hypotheses: CSV (`file_name,caption`),
//! JSON (`{"id": "caption"}` or `[{"file_name": "id", "caption": "..."}]`, where `file`,
//! `source` or `id` may name the item and `text` the caption) or JSON lines of such objects
//! (as `soundscribe caption` prints). Every problem is one [`EvalError`] naming the file and,
//! where there is one, the line.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// A bad or unreadable input file.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The file could not be read.
    #[error("{}: cannot read: {cause}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (kept out of the error chain: the message already says it).
        cause: std::io::Error,
    },
    /// The file's content is not what it should be.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Format {
        /// The file.
        path: PathBuf,
        /// 1-based line, when known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

fn format_err(path: &Path, line: Option<usize>, message: impl Into<String>) -> EvalError {
    EvalError::Format {
        path: path.to_owned(),
        line,
        message: message.into(),
    }
}

/// Items with their ids, in file order.
#[derive(Debug, Clone, PartialEq)]
pub struct Captions<T> {
    /// Item ids (`file_name`), unique.
    pub ids: Vec<String>,
    /// One entry per id.
    pub captions: Vec<T>,
    /// 1-based source line of each item (0 when unknown).
    pub lines: Vec<usize>,
    index: HashMap<String, usize>,
}

impl<T> Default for Captions<T> {
    fn default() -> Self {
        Self {
            ids: Vec::new(),
            captions: Vec::new(),
            lines: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T> Captions<T> {
    fn push(&mut self, path: &Path, line: usize, id: String, caption: T) -> Result<(), EvalError> {
        if let Some(&prev) = self.index.get(&id) {
            return Err(format_err(
                path,
                Some(line).filter(|&l| l > 0),
                format!(
                    "duplicate file_name {id:?} (first on line {})",
                    self.lines[prev]
                ),
            ));
        }
        self.index.insert(id.clone(), self.ids.len());
        self.ids.push(id);
        self.captions.push(caption);
        self.lines.push(line);
        Ok(())
    }
}

/// Reference captions: several per item.
pub type References = Captions<Vec<String>>;
/// Hypotheses: one caption per item.
pub type Hypotheses = Captions<String>;

/// Candidates and references paired by id, in the references' order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    /// Item ids.
    pub ids: Vec<String>,
    /// Raw (untokenized) hypothesis per item.
    pub hyps: Vec<String>,
    /// Raw (untokenized) references per item, at least one each.
    pub refs: Vec<Vec<String>>,
}

fn read(path: &Path) -> Result<String, EvalError> {
    std::fs::read_to_string(path).map_err(|cause| EvalError::Read {
        path: path.to_owned(),
        cause,
    })
}

fn is_json(path: &Path, text: &str) -> bool {
    match path.extension().and_then(|e| e.to_str()) {
        Some(e) if e.eq_ignore_ascii_case("csv") => false,
        Some(e) if e.eq_ignore_ascii_case("json") || e.eq_ignore_ascii_case("jsonl") => true,
        _ => matches!(text.trim_start().chars().next(), Some('{' | '[')),
    }
}

/// Reads a references file (CSV or JSON).
pub fn read_references(path: &Path) -> Result<References, EvalError> {
    let text = read(path)?;
    let refs = if is_json(path, &text) {
        references_json(path, &text)?
    } else {
        references_csv(path, &text)?
    };
    if refs.ids.is_empty() {
        return Err(format_err(path, None, "no references in the file"));
    }
    Ok(refs)
}

/// Reads a hypotheses file (CSV, JSON or JSON lines).
pub fn read_hypotheses(path: &Path) -> Result<Hypotheses, EvalError> {
    let text = read(path)?;
    let hyps = if is_json(path, &text) {
        hypotheses_json(path, &text)?
    } else {
        hypotheses_csv(path, &text)?
    };
    if hyps.ids.is_empty() {
        return Err(format_err(path, None, "no hypotheses in the file"));
    }
    Ok(hyps)
}

/// Pairs every hypothesis with its references; an id on one side only is an error.
pub fn pair(
    refs: &References,
    refs_path: &Path,
    hyps: &Hypotheses,
    hyps_path: &Path,
) -> Result<Dataset, EvalError> {
    let by_id: HashMap<&str, usize> = hyps
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let ref_ids: HashMap<&str, usize> = refs
        .ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    if let Some(i) = hyps
        .ids
        .iter()
        .position(|id| !ref_ids.contains_key(id.as_str()))
    {
        return Err(format_err(
            hyps_path,
            Some(hyps.lines[i]).filter(|&l| l > 0),
            format!(
                "hypothesis for {:?} has no references in {}",
                hyps.ids[i],
                refs_path.display()
            ),
        ));
    }
    let missing: Vec<&str> = refs
        .ids
        .iter()
        .filter(|id| !by_id.contains_key(id.as_str()))
        .map(String::as_str)
        .collect();
    if let Some(first) = missing.first() {
        return Err(format_err(
            hyps_path,
            None,
            format!(
                "no hypothesis for {} of the {} items in {} (first: {first:?})",
                missing.len(),
                refs.ids.len(),
                refs_path.display()
            ),
        ));
    }
    let mut data = Dataset::default();
    for (id, rs) in refs.ids.iter().zip(&refs.captions) {
        data.ids.push(id.clone());
        data.hyps.push(hyps.captions[by_id[id.as_str()]].clone());
        data.refs.push(rs.clone());
    }
    Ok(data)
}

fn csv_rows(
    path: &Path,
    text: &str,
) -> Result<(csv::StringRecord, Vec<(usize, csv::StringRecord)>), EvalError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let csv_err = |e: csv::Error| {
        let line = e.position().map(|p| p.line() as usize);
        format_err(path, line, format!("bad CSV: {e}"))
    };
    let headers = reader.headers().map_err(csv_err)?.clone();
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(csv_err)?;
        let line = rec.position().map_or(0, |p| p.line() as usize);
        rows.push((line, rec));
    }
    Ok((headers, rows))
}

fn column(path: &Path, headers: &csv::StringRecord, name: &str) -> Result<usize, EvalError> {
    headers.iter().position(|h| h == name).ok_or_else(|| {
        let have: Vec<&str> = headers.iter().collect();
        format_err(
            path,
            Some(1),
            format!("missing column {name:?} (header has {have:?})"),
        )
    })
}

fn references_csv(path: &Path, text: &str) -> Result<References, EvalError> {
    let (headers, rows) = csv_rows(path, text)?;
    let id_col = column(path, &headers, "file_name")?;
    let mut caption_cols: Vec<(u32, usize)> = headers
        .iter()
        .enumerate()
        .filter_map(|(i, h)| h.strip_prefix("caption_")?.parse().ok().map(|n| (n, i)))
        .collect();
    caption_cols.sort_unstable();
    if caption_cols.is_empty() {
        return Err(format_err(
            path,
            Some(1),
            "missing columns caption_1..caption_N",
        ));
    }
    let mut refs = References::default();
    for (line, rec) in rows {
        let id = rec.get(id_col).unwrap_or("").trim().to_string();
        if id.is_empty() {
            return Err(format_err(path, Some(line), "empty file_name"));
        }
        let caps: Vec<String> = caption_cols
            .iter()
            .filter_map(|&(_, c)| {
                rec.get(c)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
            })
            .collect();
        if caps.is_empty() {
            return Err(format_err(
                path,
                Some(line),
                format!("no reference caption for {id:?}"),
            ));
        }
        refs.push(path, line, id, caps)?;
    }
    Ok(refs)
}

fn hypotheses_csv(path: &Path, text: &str) -> Result<Hypotheses, EvalError> {
    let (headers, rows) = csv_rows(path, text)?;
    let id_col = column(path, &headers, "file_name")?;
    let cap_col = column(path, &headers, "caption")?;
    let mut hyps = Hypotheses::default();
    for (line, rec) in rows {
        let id = rec.get(id_col).unwrap_or("").trim().to_string();
        if id.is_empty() {
            return Err(format_err(path, Some(line), "empty file_name"));
        }
        let cap = rec.get(cap_col).unwrap_or("").trim().to_string();
        hyps.push(path, line, id, cap)?;
    }
    Ok(hyps)
}

fn parse_json(path: &Path, text: &str) -> Result<Value, EvalError> {
    serde_json::from_str(text)
        .map_err(|e| format_err(path, Some(e.line()), format!("bad JSON: {e}")))
}

const ID_KEYS: [&str; 4] = ["file_name", "file", "source", "id"];

fn id_of(path: &Path, line: Option<usize>, v: &Value) -> Result<String, EvalError> {
    for k in ID_KEYS {
        match v.get(k) {
            Some(Value::String(s)) if !s.trim().is_empty() => return Ok(s.trim().to_string()),
            Some(Value::Number(n)) => return Ok(n.to_string()),
            _ => {}
        }
    }
    Err(format_err(
        path,
        line,
        format!("entry has no file_name (or file/source/id): {v}"),
    ))
}

fn string_list(
    path: &Path,
    line: Option<usize>,
    id: &str,
    v: &Value,
) -> Result<Vec<String>, EvalError> {
    let list = v.as_array().ok_or_else(|| {
        format_err(
            path,
            line,
            format!("references of {id:?} are not a list of strings"),
        )
    })?;
    let mut out = Vec::new();
    for s in list {
        let s = s.as_str().ok_or_else(|| {
            format_err(
                path,
                line,
                format!("reference of {id:?} is not a string: {s}"),
            )
        })?;
        if !s.trim().is_empty() {
            out.push(s.trim().to_string());
        }
    }
    if out.is_empty() {
        return Err(format_err(
            path,
            line,
            format!("no reference caption for {id:?}"),
        ));
    }
    Ok(out)
}

fn references_json(path: &Path, text: &str) -> Result<References, EvalError> {
    let mut refs = References::default();
    match parse_json(path, text)? {
        Value::Object(map) => {
            for (id, v) in map {
                let caps = string_list(path, None, &id, &v)?;
                refs.push(path, 0, id, caps)?;
            }
        }
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                let id = id_of(path, None, item).map_err(|e| with_entry(e, n))?;
                let caps = item
                    .get("captions")
                    .map(|v| string_list(path, None, &id, v))
                    .unwrap_or_else(|| {
                        Err(format_err(
                            path,
                            None,
                            format!("entry {n} ({id:?}) has no \"captions\" list"),
                        ))
                    })?;
                refs.push(path, 0, id, caps)?;
            }
        }
        _ => {
            return Err(format_err(
                path,
                None,
                "expected a JSON object or array of references",
            ))
        }
    }
    Ok(refs)
}

fn with_entry(e: EvalError, n: usize) -> EvalError {
    match e {
        EvalError::Format {
            path,
            line,
            message,
        } => EvalError::Format {
            path,
            line,
            message: format!("entry {n}: {message}"),
        },
        other => other,
    }
}

fn hypothesis_of(
    path: &Path,
    line: Option<usize>,
    v: &Value,
) -> Result<(String, String), EvalError> {
    let id = id_of(path, line, v)?;
    let cap = ["caption", "text"]
        .iter()
        .find_map(|k| v.get(*k).and_then(Value::as_str))
        .ok_or_else(|| {
            format_err(
                path,
                line,
                format!("entry for {id:?} has no \"caption\" (or \"text\") string"),
            )
        })?;
    Ok((id, cap.trim().to_string()))
}

fn hypotheses_json(path: &Path, text: &str) -> Result<Hypotheses, EvalError> {
    let mut hyps = Hypotheses::default();
    let jsonl = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl"))
        || (text.trim_start().starts_with('{') && serde_json::from_str::<Value>(text).is_err());
    if jsonl {
        for (i, l) in text.lines().enumerate() {
            if l.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(l)
                .map_err(|e| format_err(path, Some(i + 1), format!("bad JSON line: {e}")))?;
            let (id, cap) = hypothesis_of(path, Some(i + 1), &v)?;
            hyps.push(path, i + 1, id, cap)?;
        }
        return Ok(hyps);
    }
    match parse_json(path, text)? {
        Value::Object(map) => {
            for (id, v) in map {
                let cap = v.as_str().ok_or_else(|| {
                    format_err(path, None, format!("hypothesis of {id:?} is not a string"))
                })?;
                hyps.push(path, 0, id, cap.trim().to_string())?;
            }
        }
        Value::Array(items) => {
            for (n, item) in items.iter().enumerate() {
                let (id, cap) = hypothesis_of(path, None, item).map_err(|e| with_entry(e, n))?;
                hyps.push(path, 0, id, cap)?;
            }
        }
        _ => {
            return Err(format_err(
                path,
                None,
                "expected a JSON object or array of hypotheses",
            ))
        }
    }
    Ok(hyps)
}
