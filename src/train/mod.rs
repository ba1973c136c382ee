//! Offline training and distillation: optimiser, schedules, losses, augmentation,
//! datasets and resumable checkpoints.

pub mod checkpoint;
pub mod data;
pub mod loss;
pub mod mixup;
pub mod optim;
pub mod specaugment;
