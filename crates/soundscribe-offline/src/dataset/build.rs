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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

use crate::augment::draw::{below, shuffle};
use crate::augment::mixup::mix;
use crate::dataset::manifest::is_audio;
use crate::dataset::rules::{Rules, RulesError};

/// Output sample rate (the aisfx encoder's).
pub const RATE: u32 = 44_100;
/// Longest clip in seconds.
pub const MAX_CLIP_S: f64 = 10.0;
/// Shortest clip in seconds.
pub const MIN_CLIP_S: f64 = 0.3;
/// Most clips cut from one long file.
pub const MAX_SEGMENTS: usize = 3;
/// Shortest trailing segment of a long file worth keeping, in seconds.
const MIN_TAIL_S: f64 = 3.0;
/// Peak level of every written clip.
const PEAK: f32 = 0.89;
/// Split names in manifest order.
pub const SPLITS: [&str; 3] = ["train", "val", "test"];

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The rule table is unusable.
    #[error(transparent)]
    Rules(#[from] RulesError),
    /// A file or folder could not be read or written.
    #[error("{}: {message}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

fn io_err(path: &Path, message: impl std::fmt::Display) -> BuildError {
    BuildError::Io {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

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

/// One labelled source file.
#[derive(Debug, Clone)]
struct Source {
    package: String,
    inside: String,
    path: PathBuf,
    label: usize,
    unit: String,
}

/// One written clip.
#[derive(Debug, Clone)]
struct Clip {
    audio: String,
    labels: Vec<usize>,
    package: String,
    license: String,
    source: String,
    unit: String,
    frames: usize,
    captions: Vec<String>,
    mix_db: Option<f64>,
}

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
    /// Files skipped as silent or shorter than [`MIN_CLIP_S`].
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

/// Builds the dataset described by `opts`.
pub fn build(opts: &BuildOptions) -> Result<BuildReport, BuildError> {
    let rules = Rules::load(&opts.rules)?;
    let packages = list_packages(&opts.root, opts.packages.as_deref())?;
    let mut report = BuildReport::default();
    let mut sources = Vec::new();
    for p in &packages {
        let dir = opts.root.join(p);
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
    tracing::info!(files = sources.len(), "labelled source files");

    prepare_out(&opts.out)?;
    let clips_dir = opts.out.join("clips");
    let results = decode_all(&sources, &clips_dir, opts.jobs.max(1));
    let mut splits: [Vec<Clip>; 3] = Default::default();
    for (src, result) in sources.iter().zip(results) {
        match result {
            Ok(segments) if segments.is_empty() => report.too_short += 1,
            Ok(segments) => {
                let split = split_of(&rules, src);
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

    // Labels of val/test must be trained on.
    let trained: BTreeSet<usize> = splits[0].iter().map(|c| c.labels[0]).collect();
    for s in 1..3 {
        let mut dropped: BTreeMap<usize, usize> = BTreeMap::new();
        let (keep, drop): (Vec<Clip>, Vec<Clip>) = std::mem::take(&mut splits[s])
            .into_iter()
            .partition(|c| trained.contains(&c.labels[0]));
        for c in drop {
            *dropped.entry(c.labels[0]).or_default() += 1;
            let p = opts.out.join(&c.audio);
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

    for (s, clips) in splits.iter().enumerate() {
        let path = opts.out.join(format!("{}.jsonl", SPLITS[s]));
        let mut text = String::new();
        let r = &mut report.splits[s];
        for c in clips {
            let labels: Vec<&str> = c
                .labels
                .iter()
                .map(|&l| rules.labels[l].name.as_str())
                .collect();
            let mut meta = serde_json::json!({
                "labels": labels,
                "package": c.package,
                "license": c.license,
                "source": c.source,
            });
            if let Some(db) = c.mix_db {
                meta["mix_db"] = serde_json::json!(db);
            }
            let line = serde_json::json!({"audio": c.audio, "captions": c.captions, "meta": meta});
            text.push_str(&line.to_string());
            text.push('\n');
            if c.labels.len() > 1 {
                r.mixed += 1;
            } else {
                r.single += 1;
                r.units.insert(c.unit.clone());
            }
            r.seconds += c.frames as f64 / f64::from(RATE);
            for l in labels {
                *r.labels.entry(l.to_owned()).or_default() += 1;
            }
        }
        std::fs::write(&path, text).map_err(|e| io_err(&path, e))?;
    }
    let summary = opts.out.join("summary.txt");
    std::fs::write(&summary, report.to_string()).map_err(|e| io_err(&summary, e))?;
    Ok(report)
}

fn list_packages(root: &Path, only: Option<&[String]>) -> Result<Vec<String>, BuildError> {
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

/// Clears an earlier build's output; refuses a folder that has `clips/` but no summary.
fn prepare_out(out: &Path) -> Result<(), BuildError> {
    let clips = out.join("clips");
    if clips.exists() {
        if !out.join("summary.txt").exists() {
            return Err(io_err(
                out,
                "has clips/ but no summary.txt: not a dataset folder this command wrote",
            ));
        }
        std::fs::remove_dir_all(&clips).map_err(|e| io_err(&clips, e))?;
        for f in ["train.jsonl", "val.jsonl", "test.jsonl", "summary.txt"] {
            let p = out.join(f);
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| io_err(&p, e))?;
            }
        }
    }
    std::fs::create_dir_all(&clips).map_err(|e| io_err(&clips, e))
}

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

/// A source's clips (`clips/<name>.wav`, frames), or why it failed.
type Clipped = Result<Vec<(String, usize)>, String>;

/// Decodes and writes every source on `jobs` threads; per source, its clips
/// (`clips/<name>.wav`, frames) or why it failed.
fn decode_all(sources: &[Source], clips_dir: &Path, jobs: usize) -> Vec<Clipped> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Clipped>>> = Mutex::new(vec![None; sources.len()]);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(src) = sources.get(i) else {
                    break;
                };
                if i.is_multiple_of(250) {
                    tracing::info!("decoding {i}/{}", sources.len());
                }
                let r = clip_source(src, clips_dir);
                if let Ok(mut guard) = results.lock() {
                    guard[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("not processed".into())))
        .collect()
}

fn clip_source(src: &Source, clips_dir: &Path) -> Clipped {
    let max_in = MAX_CLIP_S * (MAX_SEGMENTS as f64 + 1.0);
    // Decoder errors already name the file.
    let wave = soundscribe::audio::file::decode_mono(&src.path, RATE, Some(max_in))
        .map_err(|e| e.to_string())?;
    let Some((start, end)) = trim_bounds(&wave) else {
        return Ok(Vec::new());
    };
    let wave = &wave[start..end];
    let max = (MAX_CLIP_S * f64::from(RATE)) as usize;
    let min = (MIN_CLIP_S * f64::from(RATE)).ceil() as usize;
    if wave.len() < min {
        return Ok(Vec::new());
    }
    let stem = clip_stem(&src.package, &src.inside);
    let mut out = Vec::new();
    for (k, seg) in wave.chunks(max).take(MAX_SEGMENTS).enumerate() {
        if k > 0 && (seg.len() as f64) < MIN_TAIL_S * f64::from(RATE) {
            break;
        }
        let name = format!("clips/{stem}_{k}.wav");
        let path = clips_dir.join(format!("{stem}_{k}.wav"));
        write_wav(&path, seg).map_err(|e| format!("{}: {e}", path.display()))?;
        out.push((name, seg.len()));
    }
    Ok(out)
}

/// Sample range without leading/trailing silence (10 ms frames more than 45 dB below the
/// loudest frame, or below −70 dBFS), with 10 ms kept either side; `None` when silent.
fn trim_bounds(x: &[f32]) -> Option<(usize, usize)> {
    const HOP: usize = RATE as usize / 100;
    let rms: Vec<f32> = x
        .chunks(HOP)
        .map(|c| (c.iter().map(|v| v * v).sum::<f32>() / c.len() as f32).sqrt())
        .collect();
    let peak = rms.iter().copied().fold(0.0f32, f32::max);
    let floor = 10f32.powf(-70.0 / 20.0);
    if peak < floor {
        return None;
    }
    let thr = (peak * 10f32.powf(-45.0 / 20.0)).max(floor);
    let first = rms.iter().position(|&r| r >= thr)?;
    let last = rms.iter().rposition(|&r| r >= thr)?;
    let start = first.saturating_sub(1) * HOP;
    let end = ((last + 2) * HOP).min(x.len());
    Some((start, end))
}

/// A file-name stem from a package path: readable, unique (FNV-1a hash of the full path).
fn clip_stem(package: &str, inside: &str) -> String {
    let mut hash: u32 = 0x811c_9dc5;
    for b in package.bytes().chain([b'/']).chain(inside.bytes()) {
        hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
    }
    let short = package.split('-').next().unwrap_or(package);
    let file = Path::new(inside)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let parent = Path::new(inside)
        .parent()
        .and_then(|p| p.file_name())
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let clean: String = format!("{short}_{parent}_{file}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect();
    format!("{clean}_{hash:08x}")
}

/// Writes `x` peak-normalised to [`PEAK`] as a 16-bit mono WAV at [`RATE`].
fn write_wav(path: &Path, x: &[f32]) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let peak = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let gain = if peak > 0.0 { PEAK / peak } else { 1.0 };
    let mut w = hound::WavWriter::create(path, spec).map_err(|e| e.to_string())?;
    for &v in x {
        let s = (v * gain * 32767.0).round().clamp(-32768.0, 32767.0) as i16;
        w.write_sample(s).map_err(|e| e.to_string())?;
    }
    w.finalize().map_err(|e| e.to_string())
}

fn read_wav(path: &Path) -> Result<Vec<f32>, BuildError> {
    let mut r = hound::WavReader::open(path).map_err(|e| io_err(path, e))?;
    r.samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32768.0))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io_err(path, e))
}

/// 3–5 distinct phrases (all when fewer), in random order.
fn pick_captions(phrases: &[String], rng: &mut ChaCha8Rng) -> Vec<String> {
    let mut v = phrases.to_vec();
    shuffle(&mut v, rng);
    let k = 3 + below(rng, 3);
    v.truncate(k.min(v.len()));
    v
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

fn make_mixes(
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
