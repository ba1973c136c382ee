//! A [`StepModel`] adapter that ignores the KV cache and recomputes every step from the
//! full prefix with teacher-forced [`StepModel::logits`]. Slow; it is the reference that a
//! model's cached decoding must reproduce.

use tch::{Kind, Tensor};

use super::StepModel;
use crate::model::ModelError;

/// Decodes `M` by full recomputation at every step.
pub struct Recompute<'a, M>(pub &'a M);

/// Prefixes decoded so far and the clip each hypothesis reads.
pub struct PrefixState {
    rows: Vec<usize>,
    prefix: Option<Tensor>,
}

impl<M: StepModel> StepModel for Recompute<'_, M> {
    type State = PrefixState;

    fn start_token(&self) -> i64 {
        self.0.start_token()
    }
    fn eos_token(&self) -> i64 {
        self.0.eos_token()
    }
    fn pad_token(&self) -> i64 {
        self.0.pad_token()
    }
    fn num_clips(&self) -> i64 {
        self.0.num_clips()
    }
    fn device(&self) -> tch::Device {
        self.0.device()
    }

    fn begin(&self, rows: &[usize]) -> Result<PrefixState, ModelError> {
        Ok(PrefixState {
            rows: rows.to_vec(),
            prefix: None,
        })
    }

    fn step(&self, state: &mut PrefixState, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let col = tokens.to_kind(Kind::Int64).unsqueeze(1);
        let prefix = match state.prefix.take() {
            Some(p) => Tensor::cat(&[p, col], 1),
            None => col,
        };
        let logits = self.0.logits(&state.rows, &prefix)?;
        let last = prefix.size()[1] - 1;
        state.prefix = Some(prefix);
        Ok(logits.select(1, last))
    }

    fn select(&self, state: &mut PrefixState, keep: &[usize]) -> Result<(), ModelError> {
        state.rows = keep.iter().map(|&k| state.rows[k]).collect();
        let idx: Vec<i64> = keep.iter().map(|&k| k as i64).collect();
        let idx = Tensor::from_slice(&idx).to_device(self.device());
        state.prefix = state.prefix.take().map(|p| p.index_select(0, &idx));
        Ok(())
    }

    fn logits(&self, rows: &[usize], tokens: &Tensor) -> Result<Tensor, ModelError> {
        self.0.logits(rows, tokens)
    }
}
