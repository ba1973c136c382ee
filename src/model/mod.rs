//! Neural models, written in tch: the captioners and the sentence embedders used to rerank.

pub mod text;
