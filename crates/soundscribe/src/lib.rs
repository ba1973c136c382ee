//! soundscribe: real-time automated audio captioning, the runtime.
//!
//! Read top-down along the data path: [`audio`] sources → windows, [`features`] →
//! [`model`] → [`decode`] (candidates and reranking), run batched by the [`engine`],
//! handed to [`publish`] (ZeroMQ, snapshot, metrics); [`daemon`] wires them into
//! `soundscribe serve`. [`config`] is the typed TOML every stage reads. Training,
//! conversion and metrics live in the sibling crates `soundscribe-offline` and
//! `soundscribe-metrics`.

#![deny(missing_docs)]

pub mod audio;
pub mod config;
pub mod daemon;
pub mod decode;
pub mod engine;
pub mod features;
pub mod logging;
pub mod model;
pub mod publish;
pub mod torch_info;
