//! Offline training and distillation: `config` (the TOML), `loader` (the deterministic
//! batch plan over a [`crate::dataset`]), `net`
//! (the trained captioner seen uniformly), `loss`, `distill`, `optim`, `checkpoint`,
//! `cache` (text embeddings, encoder features, teacher targets), `trainer` (the loop),
//! `validate`, `log`, `plot`.

pub mod cache;
pub mod checkpoint;
pub mod config;
mod config_check;
pub mod distill;
pub mod loader;
pub mod log;
pub mod loss;
pub mod model;
pub mod net;
pub mod optim;
pub mod plot;
pub mod progress;
mod step;
pub mod trainer;
pub mod validate;
