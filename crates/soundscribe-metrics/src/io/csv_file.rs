//! CSV references (`file_name,caption_1..N`) and hypotheses (`file_name,caption`).

use std::path::Path;

use super::{format_err, EvalError, Hypotheses, References};

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

pub(super) fn references_csv(path: &Path, text: &str) -> Result<References, EvalError> {
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

pub(super) fn hypotheses_csv(path: &Path, text: &str) -> Result<Hypotheses, EvalError> {
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
