//! Reading references and hypotheses for `soundscribe eval`.
//!
//! References: Clotho-style CSV (`file_name,caption_1,...,caption_5`; any number of
//! `caption_N` columns, empty cells skipped) or JSON (`{"id": ["ref", ...]}` or
//! `[{"file_name": "id", "captions": ["ref", ...]}]`). Hypotheses: CSV (`file_name,caption`),
//! JSON (`{"id": "caption"}` or `[{"file_name": "id", "caption": "..."}]`, where `file`,
//! `source` or `id` may name the item and `text` the caption) or JSON lines of such objects
//! (as `soundscribe caption` prints). Every problem is one [`EvalError`] naming the file and,
//! where there is one, the line.

mod csv_file;
mod json_file;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use csv_file::{hypotheses_csv, references_csv};
use json_file::{hypotheses_json, references_json};

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

pub(super) fn format_err(
    path: &Path,
    line: Option<usize>,
    message: impl Into<String>,
) -> EvalError {
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
    pub(super) fn push(
        &mut self,
        path: &Path,
        line: usize,
        id: String,
        caption: T,
    ) -> Result<(), EvalError> {
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

/// The file's text, without a UTF-8 byte-order mark (spreadsheet exports add one).
fn read(path: &Path) -> Result<String, EvalError> {
    let text = std::fs::read_to_string(path).map_err(|cause| EvalError::Read {
        path: path.to_owned(),
        cause,
    })?;
    Ok(match text.strip_prefix('\u{FEFF}') {
        Some(rest) => rest.to_string(),
        None => text,
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
    read_items(path, "references", references_json, references_csv)
}

/// Reads a hypotheses file (CSV, JSON or JSON lines).
pub fn read_hypotheses(path: &Path) -> Result<Hypotheses, EvalError> {
    read_items(path, "hypotheses", hypotheses_json, hypotheses_csv)
}

type Parser<T> = fn(&Path, &str) -> Result<Captions<T>, EvalError>;

fn read_items<T>(
    path: &Path,
    what: &str,
    json: Parser<T>,
    csv: Parser<T>,
) -> Result<Captions<T>, EvalError> {
    let text = read(path)?;
    let parse = if is_json(path, &text) { json } else { csv };
    let items = parse(path, &text)?;
    if items.ids.is_empty() {
        return Err(format_err(path, None, format!("no {what} in the file")));
    }
    Ok(items)
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
