//! [`Bound`]: a [`CaptionDecoder`] bound to one encoded batch, as the [`StepModel`] that
//! decoding is written against.
//!
//! Decoders keep cross-attention keys and values once per clip, shared by that clip's
//! rows, which needs the same number of rows for every clip. Hypotheses, though, finish at
//! different times. So the cache holds `per_clip` = the largest number of live hypotheses
//! of any clip; a clip with fewer fills its spare rows with copies of one of its live rows
//! (their outputs are ignored), and clips with no live hypothesis leave the cache. Every
//! time hypotheses finish the cache is regrouped, so finished work stops costing compute.

use tch::{Device, Kind, Tensor};

use super::StepModel;
use crate::model::traits::{CaptionDecoder, Memory};
use crate::model::ModelError;

/// A decoder and the memory of the clips it decodes.
pub struct Bound<'a, D> {
    decoder: &'a D,
    memory: &'a Memory,
    max_len: i64,
}

impl<'a, D: CaptionDecoder> Bound<'a, D> {
    /// Binds `decoder` to `memory`; decoding may run up to `max_len` tokens.
    pub fn new(decoder: &'a D, memory: &'a Memory, max_len: usize) -> Self {
        Bound {
            decoder,
            memory,
            max_len: max_len as i64,
        }
    }
}

/// Cache plus the map from live hypotheses to cache rows.
pub struct BoundState<C> {
    cache: C,
    /// Batch clip of each cache clip slot, in cache order.
    clips: Vec<usize>,
    per_clip: usize,
    /// Cache row of each live hypothesis.
    row_of: Vec<usize>,
    /// Batch clip of each live hypothesis.
    clip_of: Vec<usize>,
    /// For every cache row, the live hypothesis whose token feeds it.
    feed: Tensor,
    /// `row_of` as a tensor on the device, to gather logits.
    gather: Tensor,
}

fn index(v: &[usize], device: Device) -> Tensor {
    Tensor::from_slice(&v.iter().map(|&x| x as i64).collect::<Vec<_>>()).to_device(device)
}

/// A clip-major layout for hypotheses `clip_of`: the clips that have any, the rows per
/// clip, each hypothesis's row, and for each row the hypothesis feeding it.
struct Layout {
    clips: Vec<usize>,
    per_clip: usize,
    row_of: Vec<usize>,
    feed: Vec<usize>,
}

fn layout(clip_of: &[usize]) -> Result<Layout, ModelError> {
    let mut clips: Vec<usize> = Vec::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (h, &c) in clip_of.iter().enumerate() {
        if clips.last() != Some(&c) {
            if clips.contains(&c) {
                return Err(ModelError::Input(
                    "hypotheses must stay grouped by clip".into(),
                ));
            }
            clips.push(c);
            groups.push(Vec::new());
        }
        groups.last_mut().expect("pushed").push(h);
    }
    let per_clip = groups.iter().map(Vec::len).max().unwrap_or(0);
    let mut row_of = vec![0; clip_of.len()];
    let mut feed = Vec::with_capacity(clips.len() * per_clip);
    for (slot, group) in groups.iter().enumerate() {
        for j in 0..per_clip {
            let h = group.get(j).copied().unwrap_or(group[0]);
            if j < group.len() {
                row_of[h] = slot * per_clip + j;
            }
            feed.push(h);
        }
    }
    Ok(Layout {
        clips,
        per_clip,
        row_of,
        feed,
    })
}

impl<D: CaptionDecoder> StepModel for Bound<'_, D> {
    type State = BoundState<D::Cache>;

    fn start_token(&self) -> i64 {
        self.decoder.special_tokens().decoder_start
    }
    fn eos_token(&self) -> i64 {
        self.decoder.special_tokens().eos
    }
    fn pad_token(&self) -> i64 {
        self.decoder.special_tokens().pad
    }
    fn num_clips(&self) -> i64 {
        self.memory.states.size()[0]
    }
    fn device(&self) -> Device {
        self.memory.states.device()
    }

    fn begin(&self, rows: &[usize]) -> Result<Self::State, ModelError> {
        let b = self.num_clips() as usize;
        if let Some(&bad) = rows.iter().find(|&&c| c >= b) {
            return Err(ModelError::Input(format!(
                "hypothesis reads clip {bad} of a batch of {b}"
            )));
        }
        let l = layout(rows)?;
        let device = self.device();
        let mut cache = self
            .decoder
            .start(self.memory, l.per_clip as i64, self.max_len)?;
        if l.clips.len() != b {
            // Rows of a fresh cache are all alike: any row of the clip will do.
            let src: Vec<usize> = l
                .clips
                .iter()
                .flat_map(|&c| std::iter::repeat_n(c * l.per_clip, l.per_clip))
                .collect();
            self.decoder.regroup(
                &mut cache,
                &index(&src, device),
                &index(&l.clips, device),
                l.per_clip as i64,
            );
        }
        Ok(BoundState {
            cache,
            clips: l.clips,
            per_clip: l.per_clip,
            gather: index(&l.row_of, device),
            row_of: l.row_of,
            clip_of: rows.to_vec(),
            feed: index(&l.feed, device),
        })
    }

    fn step(&self, state: &mut Self::State, tokens: &Tensor) -> Result<Tensor, ModelError> {
        let all = tokens.to_kind(Kind::Int64).index_select(0, &state.feed);
        let logits = self.decoder.step(&mut state.cache, &all)?;
        Ok(logits.index_select(0, &state.gather))
    }

    fn select(&self, state: &mut Self::State, keep: &[usize]) -> Result<(), ModelError> {
        if keep.iter().copied().eq(0..state.row_of.len()) {
            return Ok(());
        }
        let clip_of: Vec<usize> = keep.iter().map(|&h| state.clip_of[h]).collect();
        let l = layout(&clip_of)?;
        let device = self.device();
        let slot_of = |c: usize| {
            state
                .clips
                .iter()
                .position(|&x| x == c)
                .expect("live clip is cached")
        };
        // New row r continues the old row of the hypothesis that feeds it.
        let src: Vec<usize> = l.feed.iter().map(|&h| state.row_of[keep[h]]).collect();
        let slots: Vec<usize> = l.clips.iter().map(|&c| slot_of(c)).collect();
        self.decoder.regroup(
            &mut state.cache,
            &index(&src, device),
            &index(&slots, device),
            l.per_clip as i64,
        );
        state.clips = l.clips;
        state.per_clip = l.per_clip;
        state.gather = index(&l.row_of, device);
        state.row_of = l.row_of;
        state.clip_of = clip_of;
        state.feed = index(&l.feed, device);
        Ok(())
    }

    fn logits(&self, rows: &[usize], tokens: &Tensor) -> Result<Tensor, ModelError> {
        let idx = index(rows, self.device());
        let sub = Memory {
            states: self.memory.states.index_select(0, &idx),
            valid: self.memory.valid.index_select(0, &idx),
            clip_embed: None,
        };
        self.decoder.logits(&sub, 1, tokens)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_pads_short_clips_with_copies_of_a_live_row() {
        let l = layout(&[0, 0, 0, 2, 3, 3]).unwrap();
        assert_eq!(l.clips, [0, 2, 3]);
        assert_eq!(l.per_clip, 3);
        assert_eq!(l.row_of, [0, 1, 2, 3, 6, 7]);
        assert_eq!(l.feed, [0, 1, 2, 3, 3, 3, 4, 5, 4]);
    }

    #[test]
    fn layout_rejects_interleaved_clips() {
        assert!(layout(&[0, 1, 0]).is_err());
        assert_eq!(layout(&[]).unwrap().per_clip, 0);
    }
}
