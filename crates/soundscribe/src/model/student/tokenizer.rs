//! The student's tokenizer: byte-level BPE trained on the training captions with the
//! `tokenizers` crate, or a supplied `tokenizer.json`.
//!
//! The trainer starts from all 256 byte symbols (`ByteLevel::alphabet()`). Without that
//! initial alphabet a byte that never occurs in the training captions gets no token,
//! and encoding silently drops it (`tests/student_tokenizer.rs` shows it). Special tokens
//! take ids 0-3 in BART's order: `<s>` (decoder start), `<pad>`, `</s>` (end), `<unk>`.

use std::path::Path;

use tokenizers::models::bpe::{BpeTrainerBuilder, BPE};
use tokenizers::models::TrainerWrapper;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

use crate::model::traits::SpecialTokens;
use crate::model::ModelError;

/// Special tokens in id order.
pub const SPECIAL: [&str; 4] = ["<s>", "<pad>", "</s>", "<unk>"];

/// Trains a byte-level BPE of up to `vocab_size` tokens on `captions`; with
/// `byte_alphabet` false the trainer sees only the bytes that occur (the pitfall above;
/// kept only to demonstrate it).
pub fn train_bpe<S: AsRef<str> + Send>(
    captions: impl Iterator<Item = S> + Send,
    vocab_size: usize,
    byte_alphabet: bool,
) -> Result<Tokenizer, ModelError> {
    let special = SPECIAL.iter().map(|t| AddedToken::from(*t, true)).collect();
    let mut builder = BpeTrainerBuilder::new()
        .vocab_size(vocab_size)
        .min_frequency(2)
        .show_progress(false)
        .special_tokens(special);
    if byte_alphabet {
        builder = builder.initial_alphabet(ByteLevel::alphabet().into_iter().collect());
    }
    let mut trainer: TrainerWrapper = builder.build().into();
    let mut tok = Tokenizer::new(BPE::default());
    tok.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tok.with_decoder(Some(ByteLevel::default()));
    tok.train(&mut trainer, captions)
        .map_err(|e| ModelError::Unsupported(format!("BPE training failed: {e}")))?;
    Ok(tok)
}

/// Loads a supplied `tokenizer.json`; it must define the four special tokens.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer, ModelError> {
    let tok = Tokenizer::from_file(path).map_err(|e| ModelError::file(path, e.to_string()))?;
    special_tokens(&tok).map_err(|m| ModelError::file(path, m))?;
    Ok(tok)
}

/// The decoder's special token ids from the tokenizer's vocabulary.
pub fn special_tokens(tok: &Tokenizer) -> Result<SpecialTokens, String> {
    let id = |t: &str| {
        tok.token_to_id(t)
            .map(i64::from)
            .ok_or_else(|| format!("tokenizer has no {t} token"))
    };
    Ok(SpecialTokens {
        decoder_start: id(SPECIAL[0])?,
        pad: id(SPECIAL[1])?,
        eos: id(SPECIAL[2])?,
    })
}

/// Token ids of `caption` followed by `</s>` (training targets).
pub fn encode_caption(tok: &Tokenizer, caption: &str) -> Result<Vec<i64>, ModelError> {
    let enc = tok
        .encode(caption, false)
        .map_err(|e| ModelError::Input(format!("cannot tokenize {caption:?}: {e}")))?;
    let eos = special_tokens(tok).map_err(ModelError::Unsupported)?.eos;
    Ok(enc
        .get_ids()
        .iter()
        .map(|&i| i64::from(i))
        .chain([eos])
        .collect())
}

/// Text of `ids`, special tokens skipped.
pub fn decode_caption(tok: &Tokenizer, ids: &[i64]) -> Result<String, ModelError> {
    let ids: Vec<u32> = ids.iter().filter_map(|&i| u32::try_from(i).ok()).collect();
    tok.decode(&ids, true)
        .map_err(|e| ModelError::Input(format!("cannot decode {ids:?}: {e}")))
}
