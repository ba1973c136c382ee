//! Offline training and distillation: optimiser, schedules, losses, augmentation,
//! datasets and resumable checkpoints.

pub mod checkpoint;
pub mod loss;
pub mod optim;
