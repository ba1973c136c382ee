//! The inference engine: one thread per device owns the model; windows arrive through a
//! bounded channel, are batched dynamically and run through features → encoder → decoding
//! → reranking.

pub mod batcher;
pub mod captioner;
pub mod device;
pub mod run;
