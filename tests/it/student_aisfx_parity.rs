//! The tch aisfx front end and CNN equal the package's own PyTorch/librosa code: every
//! tensor of `tests/fixtures/aisfx/aisfx-parity.safetensors` (written by
//! `scripts/make-aisfx-fixture.py`), reached through `convert aisfx` of the real
//! checkpoint (`scripts/fetch-aisfx.sh`, run by `make setup`) and loading the result.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use soundscribe::features::aisfx_mel::{blocks, AisfxMel, BLOCK_FRAMES};
use soundscribe::model::student::aisfx::{embedding_from_memory, AisfxCnn};
use soundscribe_offline::convert::aisfx::{convert_aisfx, load_aisfx};
use tch::{nn, Device, Tensor};

use crate::common;
use common::check;

const SIGNALS: usize = 4;

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn checkpoint() -> PathBuf {
    let p = repo().join("assets/aisfx/checkpoint.pth");
    assert!(
        p.exists(),
        "{} is missing: run scripts/fetch-aisfx.sh (part of `make setup`)",
        p.display()
    );
    p
}

fn fixture() -> HashMap<String, Tensor> {
    let p = repo().join("tests/fixtures/aisfx/aisfx-parity.safetensors");
    Tensor::read_safetensors(p).unwrap().into_iter().collect()
}

fn model(out: &Path) -> (nn::VarStore, AisfxCnn) {
    convert_aisfx(&checkpoint(), out).unwrap();
    let mut vs = nn::VarStore::new(Device::Cpu);
    let cnn = load_aisfx(out, &mut vs).unwrap();
    (vs, cnn)
}

#[test]
fn mel_and_blocks_match_librosa() {
    let f = fixture();
    let mel = AisfxMel::new(Device::Cpu);
    for i in 0..SIGNALS {
        let wave = &f[&format!("sig{i}.wave")];
        let got = mel.forward(&wave.unsqueeze(0));
        check(
            &format!("sig{i}.mel"),
            &got.squeeze_dim(0),
            &f[&format!("sig{i}.mel")],
        );
        if let Some(want) = f.get(&format!("sig{i}.blocks")) {
            let (b, _) = blocks(&got, BLOCK_FRAMES, BLOCK_FRAMES, false);
            check(&format!("sig{i}.blocks"), &b, want);
        }
    }
}

#[test]
fn network_matches_the_package_from_its_own_mel() {
    let f = fixture();
    let out = tempfile::tempdir().unwrap();
    let (_vs, cnn) = model(out.path());
    let _guard = tch::no_grad_guard();
    for i in 0..SIGNALS {
        let mel = f[&format!("sig{i}.mel")].unsqueeze(0);
        let (b, _) = blocks(&mel, BLOCK_FRAMES, BLOCK_FRAMES, false);
        if let Some(k) = f.get(&format!("sig{i}.conv4_block")) {
            let k = k.int64_value(&[]);
            let conv4 = cnn.conv_block4(&b.narrow(0, k, 1)).unwrap();
            check(
                &format!("sig{i}.conv4"),
                &conv4.squeeze_dim(0),
                &f[&format!("sig{i}.conv4")],
            );
        }
        let memory = cnn.memory(&b).unwrap();
        check(
            &format!("sig{i}.memory"),
            &memory,
            &f[&format!("sig{i}.memory")],
        );
        check(
            &format!("sig{i}.embedding"),
            &embedding_from_memory(&memory),
            &f[&format!("sig{i}.embedding")],
        );
    }
}

#[test]
fn waveform_to_embedding_matches_the_package_end_to_end() {
    let f = fixture();
    let out = tempfile::tempdir().unwrap();
    let (_vs, cnn) = model(out.path());
    let mel = AisfxMel::new(Device::Cpu);
    let _guard = tch::no_grad_guard();
    for i in 0..SIGNALS {
        let m = mel.forward(&f[&format!("sig{i}.wave")].unsqueeze(0));
        let (b, _) = blocks(&m, BLOCK_FRAMES, BLOCK_FRAMES, false);
        let memory = cnn.memory(&b).unwrap();
        check(
            &format!("e2e sig{i}.memory"),
            &memory,
            &f[&format!("sig{i}.memory")],
        );
        check(
            &format!("e2e sig{i}.embed"),
            &cnn.embedding(&b).unwrap(),
            &f[&format!("sig{i}.embedding")],
        );
    }
}

#[test]
fn conversion_keeps_every_encoder_tensor_and_drops_the_heads() {
    let out = tempfile::tempdir().unwrap();
    let report = convert_aisfx(&checkpoint(), out.path()).unwrap();
    // 4 blocks × (2 convs + 2 BNs × 4 tensors).
    assert_eq!(report.written, 40);
    assert!(report.dropped.iter().any(|d| d.starts_with("fc.")));
    assert!(report
        .dropped
        .iter()
        .all(|d| !d.contains("conv_block") || d.contains("num_batches")));
    eprintln!("aisfx encoder: {} parameters", report.parameters);
}

#[test]
fn a_bad_checkpoint_is_one_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let garbage = dir.path().join("checkpoint.pth");
    std::fs::write(&garbage, b"not a zip").unwrap();
    let err = convert_aisfx(&garbage, &out).unwrap_err().to_string();
    assert!(
        err.contains("checkpoint.pth") && err.contains("not a torch zip"),
        "{err}"
    );

    // A real torch checkpoint of another model (the teacher fixture's BEATs {cfg, model}).
    let wrong = repo().join("tests/fixtures/teacher-a/beats.pt");
    let err = convert_aisfx(&wrong, &out).unwrap_err().to_string();
    assert!(
        err.contains("beats.pt") && err.contains("not an aisfx"),
        "{err}"
    );
    assert!(!out.join("aisfx.safetensors").exists());
}
