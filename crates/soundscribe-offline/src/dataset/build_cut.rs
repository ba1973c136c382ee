//! Cutting labelled source files into clips: decode on worker threads, trim silence, cut
//! into segments of at most [`MAX_CLIP_S`] and write them peak-normalised as 16-bit WAVs.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::dataset::build_common::{MAX_CLIP_S, MAX_SEGMENTS, MIN_CLIP_S, RATE};
use crate::dataset::build_sources::Source;

/// Shortest trailing segment of a long file worth keeping, in seconds.
const MIN_TAIL_S: f64 = 3.0;
/// Peak level of every written clip.
const PEAK: f32 = 0.89;

/// A source's clips (`clips/<name>.wav`, frames), or why it failed.
pub(super) type Clipped = Result<Vec<(String, usize)>, String>;

/// Decodes and writes every source on `jobs` threads; per source, its clips
/// (`clips/<name>.wav`, frames) or why it failed.
pub(super) fn decode_all(sources: &[Source], clips_dir: &Path, jobs: usize) -> Vec<Clipped> {
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
pub(super) fn write_wav(path: &Path, x: &[f32]) -> Result<(), String> {
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
