//! Building blocks the decoders share: multi-head attention over packed projections and
//! the incremental-decoding KV cache.

pub mod attention;
pub mod kv_cache;
