//! Chooses the libtorch device from `model.device` and sets libtorch's thread count.

use tch::Device;
use tracing::{info, warn};

use crate::config::{DeviceChoice, ModelConfig};

/// Why the configured device cannot be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeviceError {
    /// `model.device` is not a recognised spelling.
    #[error("model.device {0:?} is not one of auto, cpu, cuda, cuda:N")]
    Invalid(String),
    /// A CUDA device was asked for explicitly but is not there.
    #[error("model.device = {asked:?}, but {found} CUDA device(s) are available")]
    Unavailable {
        /// What the config asked for.
        asked: String,
        /// CUDA devices libtorch sees.
        found: i64,
    },
}

/// Resolves `cfg.device` against what libtorch sees; `auto` falls back to CPU with a log line.
pub fn select(cfg: &ModelConfig) -> Result<Device, DeviceError> {
    let choice = cfg
        .device_choice()
        .ok_or_else(|| DeviceError::Invalid(cfg.device.clone()))?;
    let found = if tch::Cuda::is_available() {
        tch::Cuda::device_count()
    } else {
        0
    };
    let device = resolve(choice, found).ok_or(DeviceError::Unavailable {
        asked: cfg.device.clone(),
        found,
    })?;
    if choice == DeviceChoice::Auto && device == Device::Cpu {
        warn!(message = "No CUDA device available; running on CPU.");
    }
    if cfg.intra_op_threads > 0 {
        tch::set_num_threads(cfg.intra_op_threads as i32);
    }
    info!(message = "Engine device selected.", device = ?device, intra_op_threads = tch::get_num_threads());
    Ok(device)
}

/// The device for `choice` when `found` CUDA devices exist; `None` if it is not there.
pub fn resolve(choice: DeviceChoice, found: i64) -> Option<Device> {
    match choice {
        DeviceChoice::Cpu => Some(Device::Cpu),
        DeviceChoice::Auto => Some(if found > 0 {
            Device::Cuda(0)
        } else {
            Device::Cpu
        }),
        DeviceChoice::Cuda(i) if (i as i64) < found => Some(Device::Cuda(i)),
        DeviceChoice::Cuda(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolution_follows_availability() {
        assert_eq!(resolve(DeviceChoice::Auto, 0), Some(Device::Cpu));
        assert_eq!(resolve(DeviceChoice::Auto, 2), Some(Device::Cuda(0)));
        assert_eq!(resolve(DeviceChoice::Cpu, 2), Some(Device::Cpu));
        assert_eq!(resolve(DeviceChoice::Cuda(1), 2), Some(Device::Cuda(1)));
        assert_eq!(resolve(DeviceChoice::Cuda(2), 2), None);
        assert_eq!(resolve(DeviceChoice::Cuda(0), 0), None);
    }

    #[test]
    fn explicit_cuda_without_a_gpu_is_a_clear_error() {
        if tch::Cuda::is_available() {
            return; // only meaningful on a CPU box
        }
        let cfg = ModelConfig {
            device: "cuda:0".into(),
            ..Default::default()
        };
        assert_eq!(
            select(&cfg),
            Err(DeviceError::Unavailable {
                asked: "cuda:0".into(),
                found: 0
            })
        );
        let cfg = ModelConfig {
            device: "auto".into(),
            ..Default::default()
        };
        assert_eq!(select(&cfg), Ok(Device::Cpu));
    }
}
