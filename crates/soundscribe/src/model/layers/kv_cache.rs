//! The incremental decoding state shared by the teacher's BART decoder and the student's
//! decoder: self-attention K/V preallocated for `max_len` steps and written in place, and
//! cross-attention K/V computed once per clip and shared by that clip's `per_clip`
//! candidate rows (rows are clip-major).

use tch::{Kind, Tensor};

use crate::model::ModelError;

/// Cross-attention keys and values of one clip batch, computed once per clip.
#[derive(Debug)]
pub struct CrossKv {
    /// Per layer (K, V), each (B, H, S, dh).
    kv: Vec<(Tensor, Tensor)>,
    /// Additive mask (B, 1, 1, S) for padded memory steps, if any.
    mask: Option<Tensor>,
}

impl CrossKv {
    /// Per-layer K/V with the additive mask built from `valid` (B, S), true = real step.
    pub(crate) fn new(kv: Vec<(Tensor, Tensor)>, valid: Option<&Tensor>) -> Self {
        let mask = valid.map(|v| {
            let invalid = v.logical_not().to_kind(Kind::Float) * f64::from(f32::MIN);
            invalid.unsqueeze(1).unsqueeze(1)
        });
        CrossKv { kv, mask }
    }

    /// Layer `i`'s (K, V).
    pub(crate) fn layer(&self, i: usize) -> (&Tensor, &Tensor) {
        let (k, v) = &self.kv[i];
        (k, v)
    }

    /// The additive memory mask, if any step is padding.
    pub(crate) fn mask(&self) -> Option<&Tensor> {
        self.mask.as_ref()
    }

    /// Clips in the batch (B).
    pub(crate) fn clips(&self) -> i64 {
        self.kv.first().map_or(1, |(k, _)| k.size()[0]).max(1)
    }
}

/// Incremental decoding state for `rows` candidate sequences.
#[derive(Debug)]
pub struct KvCache {
    /// Per layer self-attention (K, V), preallocated (N, H, max_len, dh).
    self_kv: Vec<(Tensor, Tensor)>,
    cross: CrossKv,
    per_clip: i64,
    len: i64,
    max_len: i64,
}

impl KvCache {
    /// An empty cache for `per_clip` candidates per clip of `cross`, up to `max_len` steps.
    pub(crate) fn new(cross: CrossKv, per_clip: i64, max_len: i64) -> Result<Self, ModelError> {
        let (b, h, _, dh) = match cross.kv.first() {
            Some((k, _)) => k.size4()?,
            None => return Err(ModelError::Unsupported("decoder without layers".into())),
        };
        let shape = [b * per_clip, h, max_len, dh];
        let opts = (cross.kv[0].0.kind(), cross.kv[0].0.device());
        let self_kv = cross
            .kv
            .iter()
            .map(|_| (Tensor::zeros(shape, opts), Tensor::zeros(shape, opts)))
            .collect();
        Ok(KvCache {
            self_kv,
            cross,
            per_clip,
            len: 0,
            max_len,
        })
    }

    /// Tokens decoded so far (the next step's position).
    pub fn len(&self) -> i64 {
        self.len
    }

    /// True before the first step.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Candidate rows (clips × candidates per clip).
    pub fn rows(&self) -> i64 {
        self.self_kv.first().map_or(0, |(k, _)| k.size()[0])
    }

    /// Candidate rows per clip.
    pub(crate) fn per_clip(&self) -> i64 {
        self.per_clip
    }

    /// The cross-attention K/V.
    pub(crate) fn cross(&self) -> &CrossKv {
        &self.cross
    }

    /// Forgets every step from `len` on (e.g. to decode again from a shared prefix).
    pub fn truncate(&mut self, len: i64) {
        self.len = self.len.min(len.max(0));
    }

    /// Reorders candidate rows (beam search); `rows` must keep each row within its clip.
    pub fn reorder(&mut self, rows: &Tensor) {
        for (k, v) in &mut self.self_kv {
            *k = k.index_select(0, rows);
            *v = v.index_select(0, rows);
        }
    }

    /// Keeps clips `clips` of the cross-attention memory with `per_clip` rows each, row
    /// `r` continuing old row `rows[r]` (see `CaptionDecoder::regroup`).
    pub fn regroup(&mut self, rows: &Tensor, clips: &Tensor, per_clip: i64) {
        self.reorder(rows);
        for (k, v) in &mut self.cross.kv {
            *k = k.index_select(0, clips);
            *v = v.index_select(0, clips);
        }
        self.cross.mask = self.cross.mask.as_ref().map(|m| m.index_select(0, clips));
        self.per_clip = per_clip;
    }

    /// Checks that one more step of `tokens` (N,) fits and returns its position.
    pub(crate) fn next_position(&self, tokens: &Tensor) -> Result<i64, ModelError> {
        if self.len >= self.max_len {
            return Err(ModelError::Input(format!(
                "KV cache full at {} tokens",
                self.max_len
            )));
        }
        if tokens.size() != [self.rows()] {
            return Err(ModelError::Input(format!(
                "step expects {} tokens, got shape {:?}",
                self.rows(),
                tokens.size()
            )));
        }
        Ok(self.len)
    }

    /// Writes layer `i`'s step K/V (N, H, 1, dh) at the current position and returns the
    /// layer's K/V for every step so far.
    pub(crate) fn append(&mut self, i: usize, k: &Tensor, v: &Tensor) -> (Tensor, Tensor) {
        let t = self.len;
        let (ck, cv) = &mut self.self_kv[i];
        ck.narrow(2, t, 1).copy_(k);
        cv.narrow(2, t, 1).copy_(v);
        (ck.narrow(2, 0, t + 1), cv.narrow(2, 0, t + 1))
    }

    /// Ends a step: every layer has been appended.
    pub(crate) fn advance(&mut self) {
        self.len += 1;
    }
}
