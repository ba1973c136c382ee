//! Greedy decoding: the most likely token at every step (sampling's degenerate case).

use tch::Kind;

use super::{step_loop, Limits, Sequence, StepModel};
use crate::model::ModelError;

/// Decodes one sequence per clip by arg-max, with the length and n-gram constraints.
pub fn greedy<M: StepModel>(model: &M, limits: &Limits) -> Result<Vec<Sequence>, ModelError> {
    let clips: Vec<usize> = (0..model.num_clips() as usize).collect();
    step_loop::run(model, &clips, limits, &mut |scores, _live| {
        let logprobs = scores.log_softmax(-1, Kind::Float);
        let (best, next) = logprobs.max_dim(-1, false);
        (next, best)
    })
}
