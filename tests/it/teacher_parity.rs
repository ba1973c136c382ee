//! The tch teacher equals the seed's PyTorch code: every tensor of the golden file
//! `tests/fixtures/teacher-a/io.safetensors` (a copy of `../shared/golden/teacher-a/`),
//! reached through `convert teacher` + loading the model directory, on CPU in float32.

use std::collections::HashMap;

use soundscribe::model::load::{load_model_dir, LoadedModel};
use soundscribe::model::teacher::Teacher;
use soundscribe::model::traits::{AudioEncoder, CaptionDecoder};
use soundscribe_offline::convert::teacher::convert_teacher;
use soundscribe_offline::dump::greedy_ids;
use tch::{Device, Kind, Tensor};

use crate::common;
use common::{check, fixture_dir, sources};

/// The golden tensors and the model converted from the fixture.
struct Golden {
    tensors: HashMap<String, Tensor>,
    model: LoadedModel,
    _out: tempfile::TempDir,
}

fn golden() -> Golden {
    let dir = fixture_dir();
    let out = tempfile::tempdir().unwrap();
    convert_teacher(&sources(&dir), out.path()).unwrap();
    let model = load_model_dir(out.path(), Device::Cpu).unwrap();
    let tensors = Tensor::read_safetensors(dir.join("io.safetensors"))
        .unwrap()
        .into_iter()
        .collect();
    Golden {
        tensors,
        model,
        _out: out,
    }
}

#[test]
fn encoder_matches_golden_tensors() {
    let g = golden();
    let trace = g.model.teacher.encode_trace(&g.tensors["wave"]).unwrap();
    check("fbank", &trace.fbank, &g.tensors["fbank"]);
    assert_eq!(
        trace.beats_layers.len(),
        3,
        "layers 0..=encoder_repr_layer_idx"
    );
    for (i, h) in trace.beats_layers.iter().enumerate() {
        let name = format!("beats_layer_{i}");
        check(&name, h, &g.tensors[&name]);
    }
    check("downsampled", &trace.downsampled, &g.tensors["downsampled"]);
    check("encoder_out", &trace.encoder_out, &g.tensors["encoder_out"]);
    let embed = trace.memory.clip_embed.as_ref().unwrap();
    check("audio_embed", embed, &g.tensors["audio_embed"]);
}

#[test]
fn decoder_logits_nll_and_greedy_match_golden() {
    let g = golden();
    let teacher = &g.model.teacher;
    let memory = teacher.encode(&g.tensors["wave"]).unwrap();
    let logits = teacher
        .logits(&memory, 1, &g.tensors["dec_input_ids"])
        .unwrap();
    check("logits", &logits, &g.tensors["logits"]);
    let nll = Teacher::nll(&logits, &g.tensors["labels"]);
    check("nll", &nll, &g.tensors["nll"]);

    let ids = tch::no_grad(|| greedy_ids(teacher, &memory, 20)).unwrap();
    assert_eq!(
        Vec::<i64>::try_from(ids.flatten(0, -1)).unwrap(),
        Vec::<i64>::try_from(g.tensors["greedy_ids"].flatten(0, -1)).unwrap(),
        "greedy ids"
    );
    let prefix = ids.narrow(1, 0, 20);
    let full = teacher.logits(&memory, 1, &prefix).unwrap();
    check("greedy_logits", &full, &g.tensors["greedy_logits"]);
}

#[test]
fn kv_cache_steps_equal_full_recomputation() {
    let g = golden();
    let teacher = &g.model.teacher;
    let memory = teacher.encode(&g.tensors["wave"]).unwrap();
    let ids = &g.tensors["greedy_ids"];
    let steps = ids.size()[1] - 1;
    // Three candidates per clip share one cross-attention K/V (clip-major rows).
    let per_clip = 3;
    let rows = ids.repeat_interleave_self_int(per_clip, 0, None);
    let full = teacher
        .logits(&memory, per_clip, &rows.narrow(1, 0, steps))
        .unwrap();
    let mut cache = teacher.start(&memory, per_clip, steps).unwrap();
    let mut max_diff = 0f64;
    for t in 0..steps {
        let step = teacher.step(&mut cache, &rows.select(1, t)).unwrap();
        let want = full.select(1, t);
        let d = (step - &want).abs().max().double_value(&[]);
        max_diff = max_diff.max(d);
    }
    eprintln!("KV cache vs full recomputation: max |Δ| = {max_diff:.3e}");
    assert!(max_diff <= 1e-4, "KV-cache logits differ by {max_diff}");
    let full_one = teacher
        .logits(&memory, 1, &ids.narrow(1, 0, steps))
        .unwrap();
    let d = (full.index_select(0, &Tensor::from_slice(&[0i64, 3])) - full_one)
        .abs()
        .max()
        .double_value(&[]);
    assert!(d <= 1e-5, "shared cross-attention changes logits by {d}");
}

#[test]
fn window_longer_than_cross_positions_is_rejected() {
    let g = golden();
    let teacher = &g.model.teacher;
    let max = teacher.max_window_samples();
    let too_long = Tensor::zeros([1, max + 160], (Kind::Float, Device::Cpu));
    let err = teacher.encode(&too_long).unwrap_err().to_string();
    assert!(err.contains("outside what the teacher accepts"), "{err}");
    let cfg = teacher.config();
    assert!(cfg.memory_steps(max) <= cfg.captioner.max_cross_position_embeddings);
    assert!(cfg.memory_steps(max + 160) > cfg.captioner.max_cross_position_embeddings);
    let too_short = Tensor::zeros(
        [1, teacher.min_window_samples() - 1],
        (Kind::Float, Device::Cpu),
    );
    assert!(teacher.encode(&too_short).is_err());
    assert!(cfg.memory_steps(teacher.min_window_samples()) >= 1);
}

#[test]
fn reordered_cache_rows_continue_like_their_sources() {
    let g = golden();
    let teacher = &g.model.teacher;
    let memory = teacher.encode(&g.tensors["wave"]).unwrap();
    // Two different prefixes per clip (rows clip-major), swapped after 5 steps.
    let ids = &g.tensors["greedy_ids"];
    let a = ids.narrow(1, 0, 8);
    let b = ids.narrow(1, 1, 8);
    let rows = Tensor::stack(&[a.get(0), b.get(0), a.get(1), b.get(1)], 0);
    let mut cache = teacher.start(&memory, 2, 8).unwrap();
    for t in 0..5 {
        let _ = teacher.step(&mut cache, &rows.select(1, t)).unwrap();
    }
    let swap = Tensor::from_slice(&[1i64, 0, 3, 2]);
    teacher.reorder(&mut cache, &swap);
    let swapped = rows.index_select(0, &swap);
    let step = teacher.step(&mut cache, &swapped.select(1, 5)).unwrap();
    let full = teacher
        .logits(&memory, 2, &swapped.narrow(1, 0, 6))
        .unwrap();
    let d = (step - full.select(1, 5)).abs().max().double_value(&[]);
    assert!(d <= 1e-4, "reordered cache differs by {d}");
}
