//! Splitting by unit: every clip of a source goes to the split its package or
//! `package:group` is held out for (else train), and val/test clips whose label has no
//! training clip are dropped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::dataset::build_common::{io_err, BuildError, Clip, SPLITS};
use crate::dataset::build_cut::Clipped;
use crate::dataset::build_report::BuildReport;
use crate::dataset::build_sources::Source;
use crate::dataset::rules::Rules;

/// The clips of every source, by split in [`SPLITS`] order; counts silent or too short
/// sources in `report.too_short` and undecodable ones in `report.failed`.
pub(super) fn assign_splits(
    rules: &Rules,
    sources: &[Source],
    results: Vec<Clipped>,
    report: &mut BuildReport,
) -> [Vec<Clip>; 3] {
    let mut splits: [Vec<Clip>; 3] = Default::default();
    for (src, result) in sources.iter().zip(results) {
        match result {
            Ok(segments) if segments.is_empty() => report.too_short += 1,
            Ok(segments) => {
                let split = split_of(rules, src);
                for (audio, frames) in segments {
                    splits[split].push(Clip {
                        audio,
                        labels: vec![src.label],
                        package: src.package.clone(),
                        license: report.licenses[&src.package].clone(),
                        source: format!("{}/{}", src.package, src.inside),
                        unit: src.unit.clone(),
                        frames,
                        captions: Vec::new(),
                        mix_db: None,
                    });
                }
            }
            Err(e) => report.failed.push(e),
        }
    }
    splits
}

/// Removes val/test clips (and their files under `out`) whose label has no training clip,
/// noting them in `report.dropped`.
pub(super) fn drop_untrained(
    rules: &Rules,
    splits: &mut [Vec<Clip>; 3],
    out: &Path,
    report: &mut BuildReport,
) -> Result<(), BuildError> {
    // Labels of val/test must be trained on.
    let trained: BTreeSet<usize> = splits[0].iter().map(|c| c.labels[0]).collect();
    for s in 1..3 {
        let mut dropped: BTreeMap<usize, usize> = BTreeMap::new();
        let (keep, drop): (Vec<Clip>, Vec<Clip>) = std::mem::take(&mut splits[s])
            .into_iter()
            .partition(|c| trained.contains(&c.labels[0]));
        for c in drop {
            *dropped.entry(c.labels[0]).or_default() += 1;
            let p = out.join(&c.audio);
            std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
        }
        for (l, n) in dropped {
            report.dropped.push(format!(
                "{}: {} ({n} clips)",
                SPLITS[s], rules.labels[l].name
            ));
        }
        splits[s] = keep;
    }
    Ok(())
}

/// The split (index into [`SPLITS`]) of a source: test or val when its unit or package is
/// held out for it, else train.
fn split_of(rules: &Rules, src: &Source) -> usize {
    let held = |set: &BTreeSet<String>| set.contains(&src.unit) || set.contains(&src.package);
    if held(&rules.test) {
        2
    } else if held(&rules.val) {
        1
    } else {
        0
    }
}
