//! Binding endpoints: ipc path preparation (removing a stale `ipc://` socket file left by a
//! crash, after checking that it is a socket and that nothing listens on it) and clean-up
//! after close (libzmq 4.3.4 leaves the socket file behind), shared by the PUB socket
//! ([`super::Publisher`]) and the snapshot REP socket ([`super::SnapshotServer`]).

use std::path::Path;
use std::time::{Duration, Instant};

/// Readies `endpoint` for binding: for `ipc://PATH`, removes a stale socket file.
pub(super) fn prepare_endpoint(endpoint: &str) -> Result<(), String> {
    match endpoint.strip_prefix("ipc://") {
        Some(path) => {
            if clear_stale_ipc(Path::new(path))? {
                tracing::warn!(%path, "Removed a stale ipc socket file.");
            }
            Ok(())
        }
        None => Ok(()),
    }
}

/// After a socket bound to `endpoints` was closed: removes the socket file of every
/// `ipc://` endpoint once nothing listens on it any more (libzmq closes listeners in its
/// I/O thread, so this waits up to 500 ms for that).
pub(super) fn remove_ipc_files(endpoints: &[String]) {
    for path in endpoints.iter().filter_map(|e| e.strip_prefix("ipc://")) {
        let path = Path::new(path);
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            match clear_stale_ipc(path) {
                Ok(_) => break,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(problem) => {
                    tracing::warn!(path = %path.display(), %problem, "Left an ipc socket file behind.");
                    break;
                }
            }
        }
    }
}

/// Removes `path` if it is a socket file nobody listens on (left by a crash); refuses to
/// touch anything else. `Ok(true)` when it removed the file, `Ok(false)` when there was none.
fn clear_stale_ipc(path: &Path) -> Result<bool, String> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(format!("cannot inspect {}: {e}", path.display())),
    };
    if !meta.file_type().is_socket() {
        return Err(format!(
            "{} exists and is not a socket; not removing it",
            path.display()
        ));
    }
    match std::os::unix::net::UnixStream::connect(path) {
        Ok(_) => Err(format!(
            "{} is in use: another process is listening on it",
            path.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            std::fs::remove_file(path)
                .map_err(|e| format!("cannot remove stale socket {}: {e}", path.display()))?;
            Ok(true)
        }
        Err(e) => Err(format!("cannot probe {}: {e}", path.display())),
    }
}
