//! What libtorch this process runs on: version, location, CUDA availability.

use std::path::PathBuf;

/// The libtorch version the crate was built against (from the wheel's `version.py`).
pub const BUILD_LIBTORCH_VERSION: &str = env!("SOUNDSCRIBE_LIBTORCH_BUILD_VERSION");

/// A snapshot of the loaded libtorch.
#[derive(Debug, Clone)]
pub struct TorchInfo {
    /// Version of the libtorch actually loaded (e.g. `2.11.0+cu130`).
    pub version: String,
    /// Directory of the loaded `libtorch_cpu.so`, when it can be found.
    pub lib_dir: Option<PathBuf>,
    /// Whether a CUDA device is usable.
    pub cuda_available: bool,
    /// Number of CUDA devices.
    pub cuda_devices: usize,
    /// Whether cuDNN is usable.
    pub cudnn_available: bool,
}

impl TorchInfo {
    /// Inspects the running process (initialises libtorch if it was not already).
    pub fn current() -> TorchInfo {
        // Touch libtorch first so its libraries are mapped.
        let cuda_available = tch::Cuda::is_available();
        let cuda_devices = if cuda_available {
            tch::Cuda::device_count().max(0) as usize
        } else {
            0
        };
        let cudnn_available = tch::Cuda::cudnn_is_available();
        let lib_dir = loaded_libtorch_dir();
        let version = lib_dir
            .as_ref()
            .and_then(|d| std::fs::read_to_string(d.join("../version.py")).ok())
            .and_then(|t| parse_version_py(&t))
            .unwrap_or_else(|| BUILD_LIBTORCH_VERSION.to_owned());
        TorchInfo {
            version,
            lib_dir,
            cuda_available,
            cuda_devices,
            cudnn_available,
        }
    }
}

/// The directory holding the `libtorch_cpu.so` mapped into this process (Linux only).
fn loaded_libtorch_dir() -> Option<PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .find(|p| p.ends_with("/libtorch_cpu.so"))
        .and_then(|p| PathBuf::from(p).parent().map(PathBuf::from))
}

/// Extracts `__version__` from torch's `version.py`.
fn parse_version_py(text: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix("__version__ = "))
        .map(|v| v.trim().trim_matches(['\'', '"']).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_version_py() {
        let t = "x = 1\n__version__ = '2.11.0+cu130'\ndebug = False\n";
        assert_eq!(parse_version_py(t).as_deref(), Some("2.11.0+cu130"));
        assert_eq!(parse_version_py("nothing"), None);
    }

    #[test]
    fn loaded_libtorch_is_2_11() {
        let info = TorchInfo::current();
        assert!(info.version.starts_with("2.11.0"), "{info:?}");
        assert!(
            info.lib_dir.is_some(),
            "libtorch_cpu.so not mapped: {info:?}"
        );
    }
}
