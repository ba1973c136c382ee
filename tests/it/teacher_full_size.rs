//! The full-size seed-1 configuration ([`TeacherConfig::release`]; absent keys take
//! transformers' defaults, e.g. 16 decoder heads) builds with random weights, has the
//! expected number of parameters, and runs a 10 s window end to end.

use soundscribe::model::teacher::{Teacher, TeacherConfig};
use soundscribe::model::traits::{AudioEncoder, CaptionDecoder};
use tch::{nn, Device, Kind, Tensor};

/// Parameters (not buffers) the model must have, block by block, written out by hand.
fn expected_parameters() -> i64 {
    let lin = |i: i64, o: i64| i * o + o;
    let ln = |d: i64| 2 * d;
    let (d, f, h) = (768, 3072, 12);
    let beats_layer = 4 * lin(d, d) + lin(d / h, 8) + h + 2 * ln(d) + lin(d, f) + lin(f, d);
    let beats = 512 * 16 * 16
        + ln(512)
        + lin(512, d)
        + (d * (d / 16) * 128 + d)
        + ln(d)
        + 320 * h
        + 10 * beats_layer;
    let downsample = d * d * 4 + d;
    let ffn = lin(d, 1536) + lin(1536, d);
    let conv_module = ln(d) + d * 2 * d + d * 31 + 2 * d + d * d;
    let conformer_layer =
        2 * (ln(d) + ffn) + ln(d) + 4 * lin(d, d) + d * d + 2 * d + conv_module + ln(d);
    let conformer = 2 * conformer_layer + ln(d);
    let cross_positions = 514 * d;
    let v = 50265;
    let dec_layer = 2 * 4 * lin(d, d) + 3 * ln(d) + lin(d, f) + lin(f, d);
    let decoder = v * d + 130 * d + ln(d) + 6 * dec_layer + v * d + v;
    let embed_mlp = d * f + 2 * f + f * d;
    beats + downsample + conformer + cross_positions + decoder + embed_mlp
}

#[test]
fn full_size_teacher_builds_and_runs_a_10_s_window() {
    let cfg = TeacherConfig::release();
    let vs = nn::VarStore::new(Device::Cpu);
    let teacher = Teacher::new(vs.root(), &cfg).unwrap();
    let params: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    assert_eq!(params, expected_parameters());
    // The release counts ~217 M: lm_head shares embed_tokens there (−38.6 M), and it also
    // holds BEATs layers 11–12 (+14.2 M), the unused Conformer pos_conv_embed (+4.7 M)
    // and BEATs' AudioSet head (+0.4 M), none of which inference builds.
    eprintln!("full-size teacher: {params} parameters");

    let max = teacher.max_window_samples();
    assert!(
        (30.8..31.0).contains(&(max as f64 / 16000.0)),
        "max window {max}"
    );

    let wave = Tensor::randn([1, 160_000], (Kind::Float, Device::Cpu)) * 0.1;
    let memory = teacher.encode(&wave).unwrap();
    // 998 frames → 62 × 8 = 496 BEATs tokens → (496 − 4) / 3 + 1 = 165 memory steps.
    assert_eq!(memory.states.size(), [1, 165, 768]);
    assert_eq!(memory.clip_embed.as_ref().unwrap().size(), [1, 768]);
    let mut cache = teacher.start(&memory, 2, 4).unwrap();
    let logits = teacher
        .step(&mut cache, &Tensor::from_slice(&[2i64, 2]))
        .unwrap();
    assert_eq!(logits.size(), [2, 50265]);
    assert!(bool::try_from(logits.isfinite().all()).unwrap());
}
