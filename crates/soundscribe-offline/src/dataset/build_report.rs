//! What a dataset build produced: per-split counts, licenses, skipped files, and the
//! text summary written to `summary.txt`.

use std::collections::{BTreeMap, BTreeSet};

use crate::dataset::build_common::SPLITS;

/// Counts of one split.
#[derive(Debug, Clone, Default)]
pub struct SplitReport {
    /// Single-source clips.
    pub single: usize,
    /// Multi-event clips.
    pub mixed: usize,
    /// Seconds of audio.
    pub seconds: f64,
    /// Clips per label (a mixture counts for each of its labels).
    pub labels: BTreeMap<String, usize>,
    /// Split units (packages or `package:group`) in the split.
    pub units: BTreeSet<String>,
}

/// What a build produced.
#[derive(Debug, Clone, Default)]
pub struct BuildReport {
    /// Per split, in [`SPLITS`] order.
    pub splits: [SplitReport; 3],
    /// License per package used.
    pub licenses: BTreeMap<String, String>,
    /// Labelled files per package.
    pub files: BTreeMap<String, usize>,
    /// Files that could not be decoded (path: why).
    pub failed: Vec<String>,
    /// Files skipped as silent or shorter than [`MIN_CLIP_S`](crate::dataset::build::MIN_CLIP_S).
    pub too_short: usize,
    /// `split: label (n clips)` dropped because the label has no training clip.
    pub dropped: Vec<String>,
}

impl std::fmt::Display for BuildReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "packages (labelled files, license):")?;
        for (p, n) in &self.files {
            let lic = self.licenses.get(p).map(String::as_str).unwrap_or("?");
            writeln!(f, "  {p}: {n} files; {lic}")?;
        }
        let mut total = 0.0;
        for (name, s) in SPLITS.iter().zip(&self.splits) {
            total += s.seconds;
            writeln!(
                f,
                "{name}: {} clips ({} single, {} multi-event), {:.1} min, {} labels, {} units",
                s.single + s.mixed,
                s.single,
                s.mixed,
                s.seconds / 60.0,
                s.labels.len(),
                s.units.len()
            )?;
        }
        writeln!(f, "total: {:.1} min of audio", total / 60.0)?;
        let labels: BTreeSet<&String> = self.splits.iter().flat_map(|s| s.labels.keys()).collect();
        writeln!(
            f,
            "{:<16} {:>6} {:>6} {:>6}",
            "label", "train", "val", "test"
        )?;
        for l in labels {
            let n = |i: usize| self.splits[i].labels.get(l).copied().unwrap_or(0);
            writeln!(f, "{l:<16} {:>6} {:>6} {:>6}", n(0), n(1), n(2))?;
        }
        for d in &self.dropped {
            writeln!(f, "dropped (label not in train): {d}")?;
        }
        writeln!(
            f,
            "skipped: {} silent or too short, {} undecodable",
            self.too_short,
            self.failed.len()
        )?;
        for e in self.failed.iter().take(20) {
            writeln!(f, "  undecodable: {e}")?;
        }
        Ok(())
    }
}
