//! Data augmentation for training: seeded draws ([`draw`]), mix-up of clips with mixed
//! captions ([`mixup`], optionally written by an LLM endpoint: [`mix_llm`]; pre-generated
//! mixes and the endpoint's cache share one file format: [`mixes_file`]) and SpecAugment on
//! log-mel features ([`specaugment`]).

pub mod draw;
pub mod mix_llm;
pub mod mixes_file;
pub mod mixup;
pub mod specaugment;
