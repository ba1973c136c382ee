//! Offline training-set builder: labels sound files of Debian packages (and generated
//! speech/instrument clips) by a reviewed rule table, cuts them into clips, mixes
//! multi-event clips and writes JSONL manifests split by package.

pub mod build;
pub mod rules;
