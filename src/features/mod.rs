//! Feature extraction as tch ops (CPU or GPU): waveform tensors in, model inputs out.

pub mod kaldi_fbank;
pub mod mel;
