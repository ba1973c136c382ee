//! soundscribe-metrics: caption metrics equal to coco-caption's (pycocoevalcap 1.2) and `soundscribe eval`.
//!
//! Captions are tokenized like pycocoevalcap ([`ptb`]), then scored in Rust with
//! BLEU-1..4 ([`bleu`]), ROUGE-L ([`rouge`]) and CIDEr-D ([`cider`]); METEOR 1.5 and SPICE
//! are the Java programs everyone uses, called through [`java`] when Java and the jars are
//! present and otherwise reported as unavailable. Learned metrics (SPIDEr-FL, FENSE) plug in
//! through [`learned`]. [`io`] reads reference/hypothesis files, [`report`] holds results.

pub mod bleu;
pub mod cider;
pub mod io;
pub mod java;
pub mod learned;
pub mod meteor;
mod ngram;
pub mod ptb;
pub mod report;
pub mod rouge;
pub mod run;
pub mod spice;

pub use io::{Dataset, EvalError};
pub use report::{Outcome, Report};
pub use run::{evaluate, EvalOptions};
