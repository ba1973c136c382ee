//! Offline training and distillation: `config` (the TOML), `data`, `clip`, `loader` and
//! `draw` (datasets, decoding, the deterministic batch plan and its seeded draws), `net`
//! (the trained captioner seen uniformly), `loss`, `distill`, `optim`, `checkpoint`,
//! `cache` (text embeddings, encoder features, teacher targets), `trainer` (the loop),
//! `validate`, `log`, `plot`.

pub mod cache;
pub mod checkpoint;
pub mod clip;
pub mod config;
pub mod data;
pub mod distill;
pub mod draw;
pub mod loader;
pub mod log;
pub mod loss;
pub mod mix_llm;
pub mod mixup;
pub mod net;
pub mod optim;
pub mod plot;
pub mod specaugment;
pub mod trainer;
pub mod validate;
