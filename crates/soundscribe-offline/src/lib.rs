//! soundscribe offline: everything beside the real-time path.
//!
//! [`dataset`] reads and builds captioned-audio manifests, [`augment`] makes more of them
//! (mix-up, caption mixes, SpecAugment, seeded draws), [`train`] trains and distills
//! captioners, [`convert`] turns foreign checkpoints into model directories, [`dump`]
//! writes a model's intermediate tensors for parity checks, and [`baseline`] is the
//! aisfx nearest-neighbour retrieval baseline.

#![deny(missing_docs)]

pub mod augment;
pub mod baseline;
pub mod convert;
pub mod dataset;
pub mod dump;
pub mod train;
