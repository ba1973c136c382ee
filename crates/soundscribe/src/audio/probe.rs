//! What an audio file is, from its first bytes, and what every reader shares: reading a
//! prefix, naming formats soundscribe does not read, and guarding third-party decoders.

use std::io::{Read, Seek};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use super::AudioError;

pub(super) fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

pub(super) fn is_wav(magic: &[u8]) -> bool {
    magic.starts_with(b"RIFF") || magic.starts_with(b"RIFX")
}

/// The first 12 bytes of `src` (fewer if it is shorter); `src` is left at its start.
pub(super) fn peek(src: &mut (impl Read + Seek)) -> std::io::Result<Vec<u8>> {
    let mut magic = vec![0u8; 12];
    src.rewind()?;
    let n = read_up_to(src, &mut magic)?;
    magic.truncate(n);
    src.rewind()?;
    Ok(magic)
}

/// What soundscribe reads, for errors about what it does not.
pub(super) const SUPPORTED: &str =
    "WAV/RF64, AIFF/AIFF-C, FLAC, Ogg Vorbis, Ogg Opus, Ogg FLAC and MP3";

/// The name of a format symphonia does not read here, from a file's first bytes.
pub(super) fn unsupported_format(magic: &[u8]) -> Option<&'static str> {
    let free_format_mp3 = magic.len() >= 3
        && magic[0] == 0xff
        && magic[1] & 0xe0 == 0xe0
        && (magic[1] >> 1) & 3 == 1
        && magic[2] >> 4 == 0;
    if free_format_mp3 {
        Some("free-format MP3 (bit-rate index 0; ffmpeg refuses it too)")
    } else if magic.get(4..8) == Some(b"ftyp") {
        Some("MP4/M4A (AAC, ALAC)")
    } else if magic.starts_with(&[0x1a, 0x45, 0xdf, 0xa3]) {
        Some("Matroska/WebM")
    } else if magic.starts_with(b"caff") {
        Some("Core Audio Format (CAF)")
    } else if magic.starts_with(b"wvpk") {
        Some("WavPack")
    } else if magic.starts_with(b"MAC ") {
        Some("Monkey's Audio")
    } else if magic.starts_with(b"#!AMR") {
        Some("AMR")
    } else if magic.len() >= 2 && magic[0] == 0xff && magic[1] & 0xf6 == 0xf0 {
        Some("AAC in ADTS")
    } else {
        None
    }
}

/// Runs third-party decoder code so that a panic on a malformed file becomes an error.
pub(super) fn guarded<T>(
    path: &Path,
    f: impl FnOnce() -> Result<T, AudioError>,
) -> Result<T, AudioError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        Err(AudioError::format(
            path,
            "the decoder failed on malformed data",
        ))
    })
}
