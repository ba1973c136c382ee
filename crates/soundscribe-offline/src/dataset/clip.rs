//! Reading one training clip: decode the file, average the channels, resample to the
//! model's rate and cut the requested segment.

use std::path::Path;

use soundscribe::audio::file::decode_mono;
use soundscribe::audio::AudioError;

/// The mono samples of `path` at `rate` Hz, from `start` to `end` seconds when given.
/// An empty result (a silent header-only file, or a segment past the end) is an error.
pub fn load_clip(
    path: &Path,
    rate: u32,
    start: Option<f64>,
    end: Option<f64>,
) -> Result<Vec<f32>, AudioError> {
    let mut out = decode_mono(path, rate, None)?;
    let at = |s: f64| ((s.max(0.0) * f64::from(rate)).round() as usize).min(out.len());
    let from = start.map_or(0, at);
    let to = end.map_or(out.len(), at);
    if to <= from {
        return Err(AudioError::Format {
            path: path.to_owned(),
            problem: format!(
                "no audio in the segment {}..{} s (the file has {:.2} s)",
                start.unwrap_or(0.0),
                end.map_or("end".to_owned(), |e| e.to_string()),
                out.len() as f64 / f64::from(rate)
            ),
        });
    }
    out.truncate(to);
    out.drain(..from);
    Ok(out)
}
