//! Captioned audio for training and evaluation: [`manifest`] reads JSONL manifests and
//! folders, [`clip`] decodes one clip to model-rate mono; the offline training-set
//! builder ([`build`], with the reviewed rule table [`rules`]) labels sound files of Debian
//! packages (and generated speech/instrument clips), cuts them into clips, mixes
//! multi-event clips and writes manifests split by package. The builder's steps live in
//! private sibling files, re-exported through [`build`] where public: `build_common`
//! (limits, error, clip record), `build_report`, `build_sources` (listing and labelling
//! package files), `build_cut` (decoding and cutting), `build_split` (the split by unit),
//! `build_mix` (multi-event clips) and `build_output` (manifests and summary).

pub mod build;
mod build_common;
mod build_cut;
mod build_mix;
mod build_output;
mod build_report;
mod build_sources;
mod build_split;
pub mod clip;
pub mod manifest;
pub mod rules;
