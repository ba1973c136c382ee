//! JSON references and hypotheses, and JSON lines of hypotheses.

use std::path::Path;

use serde_json::Value;

use super::{format_err, EvalError, Hypotheses, References};

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

pub(super) fn references_json(path: &Path, text: &str) -> Result<References, EvalError> {
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

pub(super) fn hypotheses_json(path: &Path, text: &str) -> Result<Hypotheses, EvalError> {
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
