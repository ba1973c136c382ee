//! Finding and labelling the sound files of extracted packages: which packages, which of
//! their audio files the rules label, and each package's license.

use std::path::{Path, PathBuf};

use crate::dataset::build_common::{io_err, BuildError};
use crate::dataset::build_report::BuildReport;
use crate::dataset::manifest::is_audio;
use crate::dataset::rules::Rules;

/// One labelled source file.
#[derive(Debug, Clone)]
pub(super) struct Source {
    /// Package folder name.
    pub(super) package: String,
    /// Path inside the package, `/`-separated.
    pub(super) inside: String,
    /// Path on disk.
    pub(super) path: PathBuf,
    /// Rule-table label index.
    pub(super) label: usize,
    /// Split unit (package or `package:group`).
    pub(super) unit: String,
}

/// The labelled files of `packages` under `root`, in package then path order; records each
/// package with a labelled file in `report.files` and `report.licenses`.
pub(super) fn label_sources(
    rules: &Rules,
    root: &Path,
    packages: &[String],
    report: &mut BuildReport,
) -> Result<Vec<Source>, BuildError> {
    let mut sources = Vec::new();
    for p in packages {
        let dir = root.join(p);
        let mut files = Vec::new();
        walk(&dir, &mut files).map_err(|e| io_err(&dir, e))?;
        files.sort();
        let mut n = 0;
        for path in files {
            let Ok(rel) = path.strip_prefix(&dir) else {
                continue;
            };
            let inside = rel.to_string_lossy().replace('\\', "/");
            if let Some(label) = rules.label_index(&format!("{p}/{inside}")) {
                let unit = rules.unit_of(p, &inside);
                sources.push(Source {
                    package: p.clone(),
                    inside,
                    path,
                    label,
                    unit,
                });
                n += 1;
            }
        }
        if n == 0 {
            continue;
        }
        report.files.insert(p.clone(), n);
        let license = match rules.packages.get(p).and_then(|r| r.license.clone()) {
            Some(l) => l,
            None => copyright_license(&dir, p),
        };
        report.licenses.insert(p.clone(), license);
    }
    Ok(sources)
}

/// The packages to build from: `only` (sorted, deduplicated, each extracted under `root`),
/// else every package folder under `root`.
pub(super) fn list_packages(
    root: &Path,
    only: Option<&[String]>,
) -> Result<Vec<String>, BuildError> {
    if let Some(only) = only {
        let mut v = only.to_vec();
        v.sort();
        v.dedup();
        for p in &v {
            if !root.join(p).is_dir() {
                return Err(io_err(
                    &root.join(p),
                    format!("package {p} is not extracted (scripts/fetch-sound-packages.sh {p})"),
                ));
            }
        }
        return Ok(v);
    }
    let rd = std::fs::read_dir(root).map_err(|e| io_err(root, e))?;
    let mut v = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| io_err(root, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && name != "debs" && !name.ends_with(".partial") {
            v.push(name);
        }
    }
    v.sort();
    if v.is_empty() {
        return Err(io_err(
            root,
            "no packages (run scripts/fetch-sound-packages.sh)",
        ));
    }
    Ok(v)
}

/// Every audio file under `dir`, not following symlinked folders (so only the package's
/// own files are counted; `train`'s folder walk follows them).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let ft = entry.file_type()?;
        if ft.is_dir() {
            walk(&path, out)?;
        } else if is_audio(&path) && path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

/// The license of a package's sounds: the `Files: *` stanza of its DEP-5 copyright file,
/// else a pointer to the file.
fn copyright_license(dir: &Path, package: &str) -> String {
    let path = dir.join("usr/share/doc").join(package).join("copyright");
    let Ok(text) = std::fs::read_to_string(&path) else {
        tracing::warn!(package, "no copyright file; license unknown");
        return "unknown".into();
    };
    let fallback = format!("see /usr/share/doc/{package}/copyright");
    for stanza in text.split("\n\n") {
        let field = |name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        if field("Files:").as_deref() == Some("*") {
            return match field("License:") {
                Some(l) if !l.is_empty() => format!("{l} ({fallback})"),
                _ => fallback,
            };
        }
    }
    fallback
}
