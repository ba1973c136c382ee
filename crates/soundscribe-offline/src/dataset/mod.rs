//! Captioned audio for training and evaluation: [`manifest`] reads JSONL manifests and
//! folders, [`clip`] decodes one clip to model-rate mono; the offline training-set
//! builder ([`build`], with the reviewed rule table [`rules`]) labels sound files of Debian
//! packages (and generated speech/instrument clips), cuts them into clips, mixes
//! multi-event clips and writes manifests split by package.

pub mod build;
pub mod clip;
pub mod manifest;
pub mod rules;
