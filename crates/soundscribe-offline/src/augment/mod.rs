//! Data augmentation for training: seeded draws ([`draw`]), mix-up of clips with mixed
//! captions ([`mixup`], optionally written by an LLM endpoint: [`mix_llm`]) and
//! SpecAugment on log-mel features ([`specaugment`]).

pub mod draw;
pub mod mix_llm;
pub mod mixup;
pub mod specaugment;
