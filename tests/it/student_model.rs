//! The student through the shared traits: its KV-cached decoding equals recomputation
//! (also after `reorder`/`regroup`), and its encoder memory is the aisfx memory sequence
//! of the real checkpoint (checked against the package fixture).

use std::path::PathBuf;

use soundscribe::model::student::decoder::StudentDecoderConfig;
use soundscribe::model::student::{Student, StudentConfig};
use soundscribe::model::traits::{AudioEncoder, CaptionDecoder, Memory};
use soundscribe_offline::convert::aisfx::{convert_aisfx, load_aisfx_into};
use tch::{nn, Device, Kind, Tensor};

use crate::common;
use common::check;

const VOCAB: i64 = 50;

fn config() -> StudentConfig {
    let decoder: StudentDecoderConfig = serde_json::from_value(serde_json::json!({
        "vocab_size": VOCAB, "decoder_start_token_id": 0, "eos_token_id": 2, "pad_token_id": 1
    }))
    .unwrap();
    StudentConfig {
        encoder: Default::default(),
        decoder,
        embed_dim: 64,
        max_window_samples: 10 * 44_100,
    }
}

fn student(seed: i64) -> (nn::VarStore, Student) {
    tch::manual_seed(seed);
    let vs = nn::VarStore::new(Device::Cpu);
    let s = Student::new(vs.root(), &config(), Device::Cpu).unwrap();
    (vs, s)
}

/// Random memory for `b` clips of 20 steps, the last `pad` steps of clip 0 invalid.
fn memory(b: i64, pad: i64) -> Memory {
    let states = Tensor::randn([b, 20, 256], (Kind::Float, Device::Cpu));
    let valid = Tensor::ones([b, 20], (Kind::Bool, Device::Cpu));
    let _ = valid.get(0).narrow(0, 20 - pad, pad).fill_(0);
    Memory {
        states,
        valid,
        clip_embed: None,
    }
}

#[test]
fn cached_steps_equal_full_recomputation() {
    let (_vs, s) = student(1);
    let _guard = tch::no_grad_guard();
    let (clips, per_clip, len) = (2, 3, 7);
    let mem = memory(clips, 5);
    let ids = Tensor::randint(VOCAB, [clips * per_clip, len], (Kind::Int64, Device::Cpu));
    let full = s.logits(&mem, per_clip, &ids).unwrap();
    let mut cache = s.start(&mem, per_clip, len).unwrap();
    let steps: Vec<Tensor> = (0..len)
        .map(|t| s.step(&mut cache, &ids.select(1, t)).unwrap())
        .collect();
    let d = check("cached logits", &Tensor::stack(&steps, 1), &full);
    assert!(d < 1e-5, "{d}");
    assert!(
        s.step(&mut cache, &ids.select(1, 0)).is_err(),
        "cache is full"
    );
}

#[test]
fn regrouped_cache_continues_the_selected_rows() {
    let (_vs, s) = student(2);
    let _guard = tch::no_grad_guard();
    let (clips, per_clip, len) = (2, 3, 6);
    let mem = memory(clips, 3);
    let ids = Tensor::randint(VOCAB, [clips * per_clip, len], (Kind::Int64, Device::Cpu));
    let mut cache = s.start(&mem, per_clip, len).unwrap();
    for t in 0..3 {
        let _ = s.step(&mut cache, &ids.select(1, t)).unwrap();
    }
    // Keep only clip 1, as two rows continuing old rows 5 and 3.
    let rows = Tensor::from_slice(&[5i64, 3]);
    s.regroup(&mut cache, &rows, &Tensor::from_slice(&[1i64]), 2);
    let kept = ids.index_select(0, &rows);
    let steps: Vec<Tensor> = (3..len)
        .map(|t| s.step(&mut cache, &kept.select(1, t)).unwrap())
        .collect();
    let one = Memory {
        states: mem.states.narrow(0, 1, 1),
        valid: mem.valid.narrow(0, 1, 1),
        clip_embed: None,
    };
    let full = s.logits(&one, 2, &kept).unwrap().narrow(1, 3, len - 3);
    let d = check("regrouped logits", &Tensor::stack(&steps, 1), &full);
    assert!(d < 1e-5, "{d}");
}

#[test]
fn encoder_memory_is_the_aisfx_sequence_of_the_real_checkpoint() {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    let out = tempfile::tempdir().unwrap();
    convert_aisfx(&root.join("assets/aisfx/checkpoint.pth"), out.path())
        .expect("assets/aisfx/checkpoint.pth: run scripts/fetch-aisfx.sh (make setup)");
    let (mut vs, s) = student(3);
    load_aisfx_into(&mut vs, "encoder.cnn", out.path()).unwrap();
    let f: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(root.join("tests/fixtures/aisfx/aisfx-parity.safetensors"))
            .unwrap()
            .into_iter()
            .collect();
    let _guard = tch::no_grad_guard();
    let wave = f["sig0.wave"].unsqueeze(0); // 147 frames: 2 blocks, the second partial
    let (memory, valid) = s.aisfx_memory(&wave).unwrap();
    let want = f["sig0.memory"].permute([0, 2, 1]).reshape([1, 24, 512]);
    check("student memory", &memory, &want);
    // Block 1 starts at frame 100; its steps start every 8 frames, real up to frame 146.
    assert_eq!(valid.sum(Kind::Int64).int64_value(&[]), 12 + 6);

    let enc = s.encode(&wave).unwrap();
    assert_eq!(enc.states.size(), [1, 24, 256]);
    assert_eq!(enc.clip_embed.as_ref().unwrap().size(), [1, 64]);
    let too_short = Tensor::zeros([1, 100], (Kind::Float, Device::Cpu));
    assert!(s.encode(&too_short).is_err());
    // Decoding runs on the real encoder output through the shared traits.
    let mut cache = s.start(&enc, 2, 4).unwrap();
    let start = Tensor::full(
        [2],
        s.special_tokens().decoder_start,
        (Kind::Int64, Device::Cpu),
    );
    assert_eq!(s.step(&mut cache, &start).unwrap().size(), [2, VOCAB]);
}
