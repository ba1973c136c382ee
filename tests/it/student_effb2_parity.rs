//! The tch seed-2 student (`Effb2TrmCaptioningModel`: EfficientNet-B2 + 2-layer
//! transformer) equals the authors' PyTorch code on `../shared/golden/student-a/`
//! (55 MB checkpoint, not committed): front end, encoder, teacher-forced logits, KD
//! projection, KV-cache decoding and greedy ids, on CPU in float32.

use std::collections::HashMap;
use std::path::PathBuf;

use soundscribe::features::mel::{mel_filter_bank, LogMel};
use soundscribe::model::load::{load_seed2_dir, LoadedSeed2};
use soundscribe::model::traits::{AudioEncoder, CaptionDecoder};
use soundscribe_offline::convert::seed2::{convert_seed2, Seed2Sources};
use soundscribe_offline::dump::seed2::dump_seed2;
use tch::{Device, Tensor};

use crate::common;
use common::check;

/// `../shared/golden/student-a/` next to the repository; fails loudly when absent.
fn golden_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .join("../shared/golden/student-a");
    assert!(
        dir.join("pytorch_model.bin").is_file() && dir.join("io.safetensors").is_file(),
        "golden student checkpoint missing: expected {}/pytorch_model.bin, config.json and \
         io.safetensors (the seed-2 golden set, see ../shared/golden/README.md; 55 MB, not \
         committed to this repository)",
        dir.display()
    );
    dir
}

fn golden_tensors() -> HashMap<String, Tensor> {
    Tensor::read_safetensors(golden_dir().join("io.safetensors"))
        .unwrap()
        .into_iter()
        .collect()
}

/// The golden student converted with `convert seed2` and loaded from the model directory.
fn converted() -> (LoadedSeed2, tempfile::TempDir) {
    let dir = golden_dir();
    let out = tempfile::tempdir().unwrap();
    let src = Seed2Sources {
        checkpoint: dir.join("pytorch_model.bin"),
        config: dir.join("config.json"),
        vocab: None,
    };
    let report = convert_seed2(&src, out.path()).unwrap();
    eprintln!(
        "converted {} tensors, {} parameters",
        report.written, report.parameters
    );
    (load_seed2_dir(out.path(), Device::Cpu).unwrap(), out)
}

#[test]
fn mel_db_matches_torchaudio() {
    let g = golden_tensors();
    let mel = LogMel::new(Device::Cpu);
    check("mel_db", &mel.forward(&g["wave"]), &g["mel_db"]);
}

#[test]
fn mel_filter_bank_matches_checkpoint_buffer() {
    let state = soundscribe_offline::convert::torch_zip::read_torch_file(
        &golden_dir().join("pytorch_model.bin"),
    )
    .unwrap()
    .state_dict()
    .unwrap();
    let fb = state
        .into_iter()
        .find(|(k, _)| k.ends_with("melspec_extractor.mel_scale.fb"))
        .unwrap()
        .1;
    check("mel fb", &mel_filter_bank(Device::Cpu), &fb);
}

#[test]
fn encoder_matches_golden() {
    let g = golden_tensors();
    let (m, _dir) = converted();
    let t = m.student.encode_trace(&g["wave"]).unwrap();
    check("mel_db", &t.mel_db, &g["mel_db"]);
    check("attn_emb", &t.attn_emb, &g["attn_emb"]);
    check("fc_emb", &t.fc_emb, &g["fc_emb"]);
    assert_eq!(t.attn_emb_len, g["attn_emb_len"], "attn_emb_len");
    check(
        "stdnt_proj",
        &m.student.stdnt_proj(&t.fc_emb),
        &g["stdnt_proj"],
    );
}

#[test]
fn decoder_logits_kv_cache_and_greedy_match_golden() {
    let g = golden_tensors();
    let (m, _dir) = converted();
    let s = &m.student;
    let memory = s.encode(&g["wave"]).unwrap();
    let cap = &g["cap"];
    let l = cap.size()[1] - 1;
    let ids = cap.narrow(1, 0, l);
    let full = s.logits(&memory, 1, &ids).unwrap();
    check("logits", &full, &g["logits"]);

    // KV-cache steps equal full recomputation at every position.
    let mut cache = s.start(&memory, 1, 20).unwrap();
    let stepped: Vec<Tensor> = (0..l)
        .map(|t| s.step(&mut cache, &ids.select(1, t)).unwrap())
        .collect();
    check("kv step logits", &Tensor::stack(&stepped, 1), &full);

    // Greedy decoding as the authors do it (max 20, start 1, stop when all ended).
    let end = s.special_tokens().eos;
    let mut cache = s.start(&memory, 1, 20).unwrap();
    let mut token = Tensor::from_slice(&[s.special_tokens().decoder_start]);
    let mut seq = vec![end; 20];
    for slot in seq.iter_mut() {
        let logits = s.step(&mut cache, &token).unwrap();
        let next = logits.argmax(-1, false);
        *slot = next.int64_value(&[0]);
        if *slot == end {
            break;
        }
        token = next;
    }
    let want: Vec<i64> = Vec::try_from(g["greedy_seq"].flatten(0, -1)).unwrap();
    eprintln!("greedy: {seq:?}");
    assert_eq!(seq, want, "greedy_seq");
}

#[test]
fn dump_and_authors_beam3_match_golden() {
    let g = golden_tensors();
    let (m, _dir) = converted();
    let mut inputs = HashMap::new();
    inputs.insert("wave".to_owned(), g["wave"].shallow_clone());
    inputs.insert("cap".to_owned(), g["cap"].shallow_clone());
    let dumped: HashMap<String, Tensor> = dump_seed2(&m.student, &inputs)
        .unwrap()
        .into_iter()
        .collect();
    eprintln!("beam3: {}", dumped["beam3_seq"]);
    assert_eq!(dumped["beam3_seq"], g["beam3_seq"], "beam3_seq");
    for name in ["mel_db", "attn_emb", "fc_emb", "logits", "stdnt_proj"] {
        check(&format!("dump {name}"), &dumped[name], &g[name]);
    }
    assert_eq!(dumped["attn_emb_len"], g["attn_emb_len"]);
}

#[test]
fn convert_cli_writes_vocab_and_rejects_bad_inputs() {
    let dir = golden_dir();
    let tmp = tempfile::tempdir().unwrap();
    let words: Vec<String> = (0..4981).map(|i| format!("w{i}")).collect();
    let vocab = tmp.path().join("vocab.txt");
    std::fs::write(&vocab, words.join("\n")).unwrap();
    let out = tmp.path().join("model");
    let run = |vocab: &std::path::Path, ckpt: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_soundscribe"))
            .args(["convert", "seed2", "--checkpoint"])
            .arg(dir.join(ckpt))
            .arg("--config")
            .arg(dir.join("config.json"))
            .arg("--vocab")
            .arg(vocab)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap()
    };
    let ok = run(&vocab, "pytorch_model.bin");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let written: Vec<String> =
        serde_json::from_str(&std::fs::read_to_string(out.join("vocab.json")).unwrap()).unwrap();
    assert_eq!(written, words);
    load_seed2_dir(&out, Device::Cpu).unwrap();

    let short = tmp.path().join("short.json");
    std::fs::write(&short, r#"["<pad>", "<start>", "<end>"]"#).unwrap();
    let bad = run(&short, "pytorch_model.bin");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("3 words") && err.contains("short.json"),
        "{err}"
    );

    let bad = run(&vocab, "config.json");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        !bad.status.success() && err.contains("config.json"),
        "{err}"
    );
}

#[test]
fn batched_clips_equal_clips_alone_and_regroup_keeps_rows() {
    let g = golden_tensors();
    let (m, _dir) = converted();
    let s = &m.student;
    let a = g["wave"].get(0);
    let b = a.flip([0]) * 0.01; // much quieter: torchaudio's batch-wide top_db would clip it
    let both = s.encode(&Tensor::stack(&[&a, &b], 0)).unwrap();
    for (i, w) in [&a, &b].into_iter().enumerate() {
        let alone = s.encode(&w.unsqueeze(0)).unwrap();
        check(
            &format!("attn_emb[{i}]"),
            &both.states.get(i as i64),
            &alone.states.get(0),
        );
    }

    // 2 clips × 2 rows; after 3 steps keep only clip 1, rows swapped, and step once more.
    let ids =
        Tensor::from_slice(&[1i64, 5, 9, 7, 1, 6, 8, 3, 1, 4, 4, 4, 1, 10, 11, 12]).view([4, 4]);
    let mut cache = s.start(&both, 2, 8).unwrap();
    for t in 0..3 {
        let _ = s.step(&mut cache, &ids.select(1, t)).unwrap();
    }
    let rows = Tensor::from_slice(&[3i64, 2]);
    s.regroup(&mut cache, &rows, &Tensor::from_slice(&[1i64]), 2);
    let last = s
        .step(&mut cache, &ids.index_select(0, &rows).select(1, 3))
        .unwrap();
    let clip1 = s.encode(&b.unsqueeze(0)).unwrap();
    let full = s.logits(&clip1, 2, &ids.index_select(0, &rows)).unwrap();
    check("regrouped step", &last, &full.select(1, 3));
}
