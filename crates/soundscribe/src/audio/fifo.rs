//! A named pipe read as one endless stream: when its writer goes away (ffmpeg restarted,
//! a recorder crashed), the pipe is reopened and the next writer's audio continues the
//! source. Each reopening is counted in `restarts` and logged; nothing ends the stream
//! but the source being stopped.
//!
//! The pipe is opened non-blocking and waited on with `poll(2)` in short slices, so a
//! stop request is noticed within [`POLL_MS`] even while no writer is connected.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use super::{AudioError, SourceStats};

/// How long one wait for data lasts before the stop flag is checked again.
pub const POLL_MS: i32 = 100;

/// Whether `path` is a named pipe (FIFO).
pub fn is_fifo(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

/// A FIFO that outlives its writers.
pub struct FifoStream {
    path: PathBuf,
    source: String,
    file: File,
    stats: Arc<SourceStats>,
    stopped: Box<dyn Fn() -> bool + Send>,
}

fn open_nonblocking(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
}

impl FifoStream {
    /// Opens the FIFO at `path` for source `source` (never waits for a writer); reopenings
    /// are counted in `stats.restarts`; reads end once `stopped` returns true.
    pub fn open(
        path: &Path,
        source: &str,
        stats: Arc<SourceStats>,
        stopped: Box<dyn Fn() -> bool + Send>,
    ) -> Result<FifoStream, AudioError> {
        let file = open_nonblocking(path).map_err(|source| AudioError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(FifoStream {
            path: path.to_owned(),
            source: source.to_owned(),
            file,
            stats,
            stopped,
        })
    }

    /// The writer has gone: count it, say so, and wait for the next one on a fresh open
    /// (a reader that has seen its writer leave is told "hang-up" forever after).
    fn writer_left(&mut self) -> std::io::Result<()> {
        self.stats.restarts.fetch_add(1, Relaxed);
        tracing::warn!(
            source = %self.source,
            fifo = %self.path.display(),
            "The FIFO's writer went away; reopened, waiting for the next writer."
        );
        self.file = open_nonblocking(&self.path)?;
        Ok(())
    }
}

impl Read for FifoStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if (self.stopped)() {
                return Ok(0);
            }
            let mut fd = libc::pollfd {
                fd: self.file.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, owned by this frame, for the duration of the call.
            let ready = unsafe { libc::poll(&mut fd, 1, POLL_MS) };
            if ready < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            if ready == 0 {
                continue;
            }
            if fd.revents & libc::POLLIN != 0 {
                match self.file.read(buf) {
                    Ok(0) => self.writer_left()?,
                    Ok(n) => return Ok(n),
                    Err(e)
                        if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                    Err(e) => return Err(e),
                }
            } else if fd.revents & (libc::POLLHUP | libc::POLLERR) != 0 {
                self.writer_left()?;
            }
        }
    }
}
