//! RF64 (EBU Tech 3306) files under 4 GiB, read as the RIFF/WAVE files they would be: the
//! header is rewritten from the `ds64` chunk, the audio is read unchanged.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use symphonia::core::io::MediaSource;

use super::AudioError;

/// The header of an RF64 file (EBU Tech 3306) rewritten as the RIFF header of the same
/// length that hound reads: `RIFF` and the 32-bit RIFF and data sizes taken from the `ds64`
/// chunk, which becomes a `JUNK` chunk. Everything up to and including the data chunk's
/// header is returned; the audio that follows is read from the file unchanged. Files whose
/// RIFF or data size does not fit in 32 bits (4 GiB or more) are refused.
pub(super) fn rf64_as_riff(
    path: &Path,
    src: &mut (impl Read + Seek),
) -> Result<Vec<u8>, AudioError> {
    /// How far into the file the data chunk may start.
    const MAX_HEADER: u64 = 1 << 20;
    let bad = |what: &str| AudioError::format(path, format!("not a usable RF64 file: {what}"));
    let io = |source| AudioError::Io {
        path: path.to_owned(),
        source,
    };
    src.rewind().map_err(io)?;
    let mut head = Vec::new();
    src.by_ref()
        .take(MAX_HEADER)
        .read_to_end(&mut head)
        .map_err(io)?;
    src.rewind().map_err(io)?;
    let u32_at = |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let u64_at = |b: &[u8], i: usize| u64::from(u32_at(b, i)) | (u64::from(u32_at(b, i + 4)) << 32);
    if head.len() < 12 + 8 + 16 || &head[8..12] != b"WAVE" || &head[12..16] != b"ds64" {
        return Err(bad("no WAVE ds64 chunk at its start"));
    }
    let (riff_size, data_size) = (u64_at(&head, 20), u64_at(&head, 28));
    let too_big = |n: u64| n >= u64::from(u32::MAX);
    if too_big(riff_size) || too_big(data_size) {
        return Err(AudioError::format(
            path,
            format!(
                "unsupported: RF64 file of 4 GiB or more ({data_size} bytes of audio data); \
                 soundscribe reads RF64 files under 4 GiB"
            ),
        ));
    }
    // Walk the chunks to the data chunk's header.
    let mut at = 12usize;
    let data = loop {
        let Some(chunk) = head.get(at..at + 8) else {
            return Err(bad("no data chunk in its first MiB"));
        };
        if &chunk[..4] == b"data" {
            break at;
        }
        let size = u32_at(&head, at + 4) as usize;
        at += 8 + size + (size & 1);
    };
    head.truncate(data + 8);
    head[..4].copy_from_slice(b"RIFF");
    head[4..8].copy_from_slice(&(riff_size as u32).to_le_bytes());
    head[12..16].copy_from_slice(b"JUNK");
    if u32_at(&head, data + 4) == u32::MAX {
        head[data + 4..data + 8].copy_from_slice(&(data_size as u32).to_le_bytes());
    }
    Ok(head)
}

/// A source whose first bytes are replaced by `head` (of the same length): an RF64 file
/// read as RIFF.
pub(super) struct Overlay<R> {
    pub(super) inner: R,
    pub(super) head: Vec<u8>,
    pub(super) pos: u64,
    pub(super) len: u64,
}

impl<R: Read + Seek> Overlay<R> {
    pub(super) fn new(mut inner: R, head: Vec<u8>) -> std::io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        inner.rewind()?;
        Ok(Overlay {
            inner,
            head,
            pos: 0,
            len,
        })
    }
}

impl<R: Read + Seek> Read for Overlay<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = match self.head.get(self.pos as usize..) {
            Some(rest) if !rest.is_empty() => {
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                self.inner.seek(SeekFrom::Start(self.pos + n as u64))?;
                n
            }
            _ => self.inner.read(buf)?,
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Seek> Seek for Overlay<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        // The inner source is always at `pos`.
        self.pos = self.inner.seek(to)?;
        Ok(self.pos)
    }
}

impl<R: Read + Seek + Send + Sync> MediaSource for Overlay<R> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len)
    }
}
