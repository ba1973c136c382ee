//! `soundscribe data build`: sound files under `root/<package>/` → labelled 44.1 kHz mono
//! clips in `out/clips/` plus `train.jsonl`, `val.jsonl` and `test.jsonl`.
//!
//! Files are labelled by the [`Rules`], decoded, mixed down to mono and resampled
//! ([`soundscribe::audio::file::decode_mono`]), trimmed of leading/trailing silence, cut into clips of at
//! most 10 s (up to [`MAX_SEGMENTS`] per file; shorter than 0.3 s is skipped) and peak
//! normalised. Whole split units (packages, or `package:group`) go to one split, so
//! near-duplicate neighbours never cross splits. Multi-event clips mix 2–3 clips of one
//! split ([`crate::augment::mixup::mix`]) or play them one after another, with captions that
//! say so. Everything is deterministic given the seed: sorted file lists, per-clip work
//! that does not depend on the thread, and one [`ChaCha8Rng`] for every random choice.
//!
//! This file runs the steps and is the public face; the work is in the sibling files
//! `build_sources` (listing and labelling package files), `build_cut` (decoding and
//! cutting clips), `build_split` (the split by unit), `build_mix` (multi-event clips),
//! `build_output` (manifests and summary), with `build_common` (limits, error, clip
//! record) and `build_report` (the report), whose public items are re-exported here.

use std::path::PathBuf;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::augment::draw::{below, shuffle};
use crate::dataset::build_cut::decode_all;
use crate::dataset::build_mix::make_mixes;
use crate::dataset::build_output::{prepare_out, write_manifests};
use crate::dataset::build_sources::{label_sources, list_packages};
use crate::dataset::build_split::{assign_splits, drop_untrained};
use crate::dataset::rules::Rules;

pub use crate::dataset::build_common::{
    BuildError, MAX_CLIP_S, MAX_SEGMENTS, MIN_CLIP_S, RATE, SPLITS,
};
pub use crate::dataset::build_report::{BuildReport, SplitReport};

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The rule table.
    pub rules: PathBuf,
    /// Folder with one extracted package per subfolder.
    pub root: PathBuf,
    /// Output folder (gets `clips/`, the manifests and `summary.txt`).
    pub out: PathBuf,
    /// Only these packages (default: every folder under `root`).
    pub packages: Option<Vec<String>>,
    /// Seed of every random choice.
    pub seed: u64,
    /// Multi-event clips per split, as a fraction of its single-source clips.
    pub mix_fraction: f64,
    /// Worker threads for decoding.
    pub jobs: usize,
}

/// Builds the dataset described by `opts`.
pub fn build(opts: &BuildOptions) -> Result<BuildReport, BuildError> {
    let rules = Rules::load(&opts.rules)?;
    let packages = list_packages(&opts.root, opts.packages.as_deref())?;
    let mut report = BuildReport::default();
    let sources = label_sources(&rules, &opts.root, &packages, &mut report)?;
    tracing::info!(files = sources.len(), "labelled source files");

    prepare_out(&opts.out)?;
    let clips_dir = opts.out.join("clips");
    let results = decode_all(&sources, &clips_dir, opts.jobs.max(1));
    let mut splits = assign_splits(&rules, &sources, results, &mut report);
    drop_untrained(&rules, &mut splits, &opts.out, &mut report)?;

    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    for clips in splits.iter_mut() {
        for c in clips.iter_mut() {
            c.captions = pick_captions(&rules.labels[c.labels[0]].captions, &mut rng);
        }
    }
    for (s, clips) in splits.iter_mut().enumerate() {
        let n = (opts.mix_fraction * clips.len() as f64).round() as usize;
        let mixes = make_mixes(&rules, clips, n, SPLITS[s], &opts.out, &mut rng)?;
        clips.extend(mixes);
    }

    write_manifests(&rules, &splits, &opts.out, &mut report)?;
    Ok(report)
}

/// 3–5 distinct phrases (all when fewer), in random order.
fn pick_captions(phrases: &[String], rng: &mut ChaCha8Rng) -> Vec<String> {
    let mut v = phrases.to_vec();
    shuffle(&mut v, rng);
    let k = 3 + below(rng, 3);
    v.truncate(k.min(v.len()));
    v
}
