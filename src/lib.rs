//! soundscribe: real-time automated audio captioning.
//!
//! Audio sources → windowing → engine (features → model → decoding → reranking) →
//! publishing, with offline training and evaluation beside it. Each module is one stage;
//! see the README's map of `src/`.

#![deny(missing_docs)]

pub mod audio;
pub mod cli;
pub mod config;
pub mod data;
pub mod decode;
pub mod engine;
pub mod eval;
pub mod features;
pub mod logging;
pub mod model;
pub mod publish;
pub mod torch_info;
pub mod train;
