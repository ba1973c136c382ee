//! Multi-event clips: 2–3 clips of distinct labels from one split, overlapped
//! ([`crate::augment::mixup::mix`]) or played one after another, with captions that say so.

use std::collections::BTreeMap;
use std::path::Path;

use rand_chacha::ChaCha8Rng;

use crate::augment::draw::below;
use crate::augment::mixup::mix;
use crate::dataset::build_common::{io_err, BuildError, Clip, MAX_CLIP_S, RATE};
use crate::dataset::build_cut::write_wav;
use crate::dataset::rules::Rules;

/// Reads a clip this build wrote back as samples in [-1, 1).
fn read_wav(path: &Path) -> Result<Vec<f32>, BuildError> {
    let mut r = hound::WavReader::open(path).map_err(|e| io_err(path, e))?;
    r.samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32768.0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io_err(path, e))
}

/// How a multi-event clip is put together.
#[derive(Clone, Copy)]
enum MixKind {
    /// Two sources at once.
    Overlap,
    /// One source, then another.
    Sequence,
    /// Two at once, then a third.
    OverlapThen,
}

/// `n` multi-event clips from the single-source `clips` of one split (none when they have
/// fewer than 3 labels), written as `clips/mix_<split>_<i>.wav` under `out`.
pub(super) fn make_mixes(
    rules: &Rules,
    clips: &[Clip],
    n: usize,
    split: &str,
    out: &Path,
    rng: &mut ChaCha8Rng,
) -> Result<Vec<Clip>, BuildError> {
    // Each label's clips, in clip order; labels in ascending order.
    let mut by_label: BTreeMap<usize, Vec<&Clip>> = BTreeMap::new();
    for c in clips {
        by_label.entry(c.labels[0]).or_default().push(c);
    }
    let pool: Vec<(usize, Vec<&Clip>)> = by_label.into_iter().collect();
    if pool.len() < 3 || n == 0 {
        return Ok(Vec::new());
    }
    let max = (MAX_CLIP_S * f64::from(RATE)) as usize;
    let mut mixes = Vec::new();
    for i in 0..n {
        let kind = match below(rng, 10) {
            0..=4 => MixKind::Overlap,
            5..=7 => MixKind::Sequence,
            _ => MixKind::OverlapThen,
        };
        let count = if matches!(kind, MixKind::OverlapThen) {
            3
        } else {
            2
        };
        // Distinct labels, drawn label-first so rare labels are mixed too.
        let mut chosen: Vec<&Clip> = Vec::new();
        while chosen.len() < count {
            let (l, of) = &pool[below(rng, pool.len())];
            if chosen.iter().any(|c| c.labels[0] == *l) {
                continue;
            }
            chosen.push(of[below(rng, of.len())]);
        }
        let waves = chosen
            .iter()
            .map(|c| read_wav(&out.join(&c.audio)))
            .collect::<Result<Vec<_>, _>>()?;
        let ratio_db = [-6.0, -3.0, 0.0, 3.0, 6.0, 10.0][below(rng, 6)];
        let gap = (f64::from(RATE) * (0.2 + 0.6 * below(rng, 100) as f64 / 100.0)) as usize;
        let overlap = |a: &[f32], b: &[f32], rng: &mut ChaCha8Rng| {
            let room = a.len().abs_diff(b.len());
            let offset = below(rng, room + 1);
            mix(a, b, ratio_db, offset).0
        };
        let sequence = |a: &[f32], b: &[f32]| {
            // b gets at least half the room (or what a leaves), a the rest.
            let room = max.saturating_sub(gap);
            let b_take = b
                .len()
                .min(room / 2)
                .max(room.saturating_sub(a.len()).min(b.len()));
            let a_take = a.len().min(room - b_take);
            let mut v = a[..a_take].to_vec();
            v.resize(v.len() + gap, 0.0);
            v.extend_from_slice(&b[..b_take]);
            v
        };
        let wave = match kind {
            MixKind::Overlap => overlap(&waves[0], &waves[1], rng),
            MixKind::Sequence => sequence(&waves[0], &waves[1]),
            MixKind::OverlapThen => {
                let first = overlap(&waves[0], &waves[1], rng);
                sequence(&first, &waves[2])
            }
        };
        let wave = &wave[..wave.len().min(max)];
        let name = format!("clips/mix_{split}_{i:05}.wav");
        let path = out.join(&name);
        write_wav(&path, wave).map_err(|e| io_err(&path, e))?;
        let phrases: Vec<&[String]> = chosen
            .iter()
            .map(|c| rules.labels[c.labels[0]].captions.as_slice())
            .collect();
        let captions = mix_captions(kind, &phrases, rng);
        let mut packages: Vec<&str> = chosen.iter().map(|c| c.package.as_str()).collect();
        packages.sort();
        packages.dedup();
        let mut licenses: Vec<&str> = Vec::new();
        for c in &chosen {
            if !licenses.contains(&c.license.as_str()) {
                licenses.push(&c.license);
            }
        }
        mixes.push(Clip {
            audio: name,
            labels: chosen.iter().map(|c| c.labels[0]).collect(),
            package: packages.join("+"),
            license: licenses.join(" | "),
            source: chosen
                .iter()
                .map(|c| c.audio.as_str())
                .collect::<Vec<_>>()
                .join(" + "),
            unit: String::new(),
            frames: wave.len(),
            captions,
            mix_db: Some(ratio_db),
        });
    }
    Ok(mixes)
}

/// Four captions for a multi-event clip from the sources' phrases (clauses).
fn mix_captions(kind: MixKind, phrases: &[&[String]], rng: &mut ChaCha8Rng) -> Vec<String> {
    const OVERLAP: [&str; 4] = [
        "{a} while {b}",
        "{b} while {a}",
        "{a} as {b}",
        "{a} and {b}",
    ];
    const SEQUENCE: [&str; 3] = ["{a}, then {b}", "{a} and then {b}", "first {a}, then {b}"];
    const THEN3: [&str; 4] = [
        "{a} while {b}, then {c}",
        "{b} while {a}, and then {c}",
        "{a} and {b}, then {c}",
        "{a} as {b}, and afterwards {c}",
    ];
    let templates: &[&str] = match kind {
        MixKind::Overlap => &OVERLAP,
        MixKind::Sequence => &SEQUENCE,
        MixKind::OverlapThen => &THEN3,
    };
    let mut out = Vec::new();
    for t in templates {
        let mut s = (*t).to_owned();
        for (key, p) in ["{a}", "{b}", "{c}"].iter().zip(phrases) {
            s = s.replace(key, &p[below(rng, p.len())]);
        }
        if !out.contains(&s) {
            out.push(s);
        }
    }
    out
}
