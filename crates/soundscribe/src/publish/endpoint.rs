//! Binding endpoints: ipc path preparation (removing a stale `ipc://` socket file left by a
//! crash, after checking that it is a socket and that nothing listens on it), shared by the
//! PUB socket ([`super::Publisher`]) and the snapshot REP socket ([`super::SnapshotServer`]).

use std::path::Path;

/// Readies `endpoint` for binding: for `ipc://PATH`, removes a stale socket file.
pub(super) fn prepare_endpoint(endpoint: &str) -> Result<(), String> {
    match endpoint.strip_prefix("ipc://") {
        Some(path) => clear_stale_ipc(Path::new(path)),
        None => Ok(()),
    }
}

/// Removes `path` if it is a socket file nobody listens on (left by a crash); refuses to
/// touch anything else.
fn clear_stale_ipc(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::FileTypeExt;
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
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
            tracing::warn!(path = %path.display(), "Removed a stale ipc socket file.");
            Ok(())
        }
        Err(e) => Err(format!("cannot probe {}: {e}", path.display())),
    }
}
