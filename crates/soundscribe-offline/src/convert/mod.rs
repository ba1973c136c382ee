//! `soundscribe convert`: foreign checkpoints → model directories, once, never at load
//! time. [`teacher`], [`seed2`] and [`aisfx`] read PyTorch files through the safe
//! zip-pickle reader ([`torch_zip`] over [`pickle`]), which runs no pickled code;
//! [`half`] stores a model directory's weights as float16.

pub mod aisfx;
pub mod half;
pub mod pickle;
pub mod seed2;
pub mod teacher;
pub mod torch_zip;
