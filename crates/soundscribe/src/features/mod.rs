//! Feature extraction as tch ops (CPU or GPU): waveform tensors in, model inputs out.

pub mod aisfx_mel;
pub mod kaldi_fbank;
pub mod mel;
