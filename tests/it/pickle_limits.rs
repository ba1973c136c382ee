//! The safe pickle reader's limits: a hostile `torch.save` checkpoint (deep nesting, one
//! list reused through the memo) gets a clear error naming the file, never a stack overflow
//! or runaway memory; real checkpoints stay far below the limits and load as before.
//!
//! The hostile tests fail on the reader without limits; checked by running this file's
//! tests built against it, in a subshell under `ulimit -v 4000000`: 200,000 nested lists
//! aborted the test binary ("has overflowed its stack": the returned value's recursive
//! Debug/Drop), the CLI child died of SIGABRT the same way, and the memo bomb doubled its
//! list until allocation failed ("memory allocation of 80 bytes failed", abort) — without
//! the ulimit it heads for 2^41 values. With the limits the bomb stops after 10^7 values,
//! ~330 MB above the test binary's baseline, in about 3 s (debug build).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use soundscribe_offline::convert::torch_zip::{read_torch_file, PickleValue};
use tch::{Kind, Tensor};

use crate::common::fixture_dir;

/// Writes a `torch.save`-layout zip: `archive/data.pkl`, `archive/byteorder` and one
/// `archive/data/<key>` entry per storage.
fn torch_zip(dir: &Path, name: &str, pickle: &[u8], storages: &[(&str, &[u8])]) -> PathBuf {
    let path = dir.join(name);
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let opts =
        zip::write::FileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("archive/data.pkl", opts).unwrap();
    zip.write_all(pickle).unwrap();
    zip.start_file("archive/byteorder", opts).unwrap();
    zip.write_all(b"little").unwrap();
    for (key, bytes) in storages {
        zip.start_file(format!("archive/data/{key}"), opts).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// `[[[...[]...]]]`, `n` lists deep: n EMPTY_LISTs, then n - 1 APPENDs (each moves the top
/// list into the one below it), 400 KB for n = 200,000.
fn nested_lists(n: usize) -> Vec<u8> {
    let mut p = b"\x80\x02".to_vec();
    p.extend(std::iter::repeat_n(b']', n));
    p.extend(std::iter::repeat_n(b'a', n - 1));
    p.push(b'.');
    p
}

/// A few hundred bytes that double one list 40 times through the memo: `L = []`, then 40 ×
/// `L = (L, L)` (GET 0, GET 0, TUPLE2, PUT 0). Shared in Python (41 objects); a reader that
/// copies memo entries builds 2^41 values.
fn memo_bomb() -> Vec<u8> {
    let mut p = b"\x80\x02]q\x00".to_vec();
    for _ in 0..40 {
        p.extend_from_slice(b"h\x00h\x00\x86q\x00");
    }
    p.push(b'.');
    p
}

#[test]
fn two_hundred_thousand_nested_lists_are_refused_without_overflowing_the_stack() {
    let tmp = tempfile::tempdir().unwrap();
    let path = torch_zip(tmp.path(), "deep.bin", &nested_lists(200_000), &[]);
    let err = read_torch_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("deep.bin") && err.contains("pickle nests deeper than 100 levels"),
        "{err}"
    );
}

#[test]
fn cli_convert_names_the_deep_checkpoint_and_exits_normally() {
    let fx = fixture_dir();
    let tmp = tempfile::tempdir().unwrap();
    let ckpt = torch_zip(tmp.path(), "deep.bin", &nested_lists(200_000), &[]);
    let p = |name: &str| fx.join(name).display().to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_soundscribe"))
        .args(["convert", "teacher", "--checkpoint"])
        .arg(&ckpt)
        .args(["--config", &p("config.json")])
        .args(["--conformer-config", &p("conformer_config.json")])
        .args(["--beats", &p("beats.pt")])
        .arg("--out")
        .arg(tmp.path().join("model"))
        .output()
        .expect("run soundscribe");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A stack overflow kills the process by a signal: no exit code.
    assert!(
        out.status.code().is_some_and(|c| c != 0),
        "{:?}: {stderr}",
        out.status
    );
    assert!(
        stderr.contains("deep.bin") && stderr.contains("pickle nests deeper than 100 levels"),
        "{stderr}"
    );
}

#[test]
fn a_list_reused_through_the_memo_is_refused_quickly() {
    let tmp = tempfile::tempdir().unwrap();
    let bomb = memo_bomb();
    assert!(bomb.len() < 2048, "{} bytes", bomb.len());
    let path = torch_zip(tmp.path(), "bomb.bin", &bomb, &[]);
    let start = Instant::now();
    let err = read_torch_file(&path).unwrap_err().to_string();
    assert!(
        err.contains("bomb.bin")
            && err.contains("pickle expands to more than 10000000 values (memo reuse)"),
        "{err}"
    );
    // The limit stops it after 10^7 copied values (~330 MB); 2^41 would never end.
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "{:?}",
        start.elapsed()
    );
}

/// `OrderedDict(w=<2x3 float view>, w_t=w.t(), b=w)` in `torch.save`'s pickle dialect, with
/// memo PUTs as torch writes them and `b` a memo GET of `w`'s tensor.
fn small_state_dict_pickle() -> Vec<u8> {
    fn s(p: &mut Vec<u8>, text: &str) {
        p.push(b'X');
        p.extend_from_slice(&(text.len() as u32).to_le_bytes());
        p.extend_from_slice(text.as_bytes());
    }
    fn put(p: &mut Vec<u8>, i: u8) {
        p.extend_from_slice(&[b'q', i]);
    }
    /// `_rebuild_tensor_v2(storage "0", 0, size, stride, False, OrderedDict())`.
    fn tensor(p: &mut Vec<u8>, memo: &mut u8, size: [u8; 2], stride: [u8; 2]) {
        let mut next = || {
            *memo += 1;
            *memo
        };
        p.extend_from_slice(b"ctorch._utils\n_rebuild_tensor_v2\n");
        put(p, next());
        p.extend_from_slice(b"((");
        s(p, "storage");
        put(p, next());
        p.extend_from_slice(b"ctorch\nFloatStorage\n");
        put(p, next());
        s(p, "0");
        put(p, next());
        s(p, "cpu");
        put(p, next());
        p.extend_from_slice(b"K\x06t");
        put(p, next());
        p.extend_from_slice(b"QK\x00");
        p.extend_from_slice(&[b'K', size[0], b'K', size[1], 0x86]);
        put(p, next());
        p.extend_from_slice(&[b'K', stride[0], b'K', stride[1], 0x86]);
        put(p, next());
        p.extend_from_slice(b"\x89ccollections\nOrderedDict\n");
        put(p, next());
        p.extend_from_slice(b")R");
        put(p, next());
        p.push(b't');
        put(p, next());
        p.push(b'R');
        put(p, next());
    }
    let mut p = b"\x80\x02ccollections\nOrderedDict\nq\x00)R".to_vec();
    let mut memo = 0u8;
    memo += 1;
    put(&mut p, memo);
    p.push(b'(');
    s(&mut p, "w");
    tensor(&mut p, &mut memo, [2, 3], [3, 1]);
    let w = memo;
    s(&mut p, "w_t");
    tensor(&mut p, &mut memo, [3, 2], [1, 3]);
    s(&mut p, "b");
    p.extend_from_slice(&[b'h', w]);
    p.extend_from_slice(b"u}b.");
    p
}

#[test]
fn a_small_state_dict_still_loads() {
    let tmp = tempfile::tempdir().unwrap();
    let data: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let path = torch_zip(
        tmp.path(),
        "small.bin",
        &small_state_dict_pickle(),
        &[("0", &data)],
    );
    let state = read_torch_file(&path).unwrap().state_dict().unwrap();
    let names: Vec<&str> = state.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["w", "w_t", "b"]);
    let w = Tensor::arange(6, (Kind::Float, tch::Device::Cpu)).view([2, 3]);
    assert!(state[0].1.equal(&w));
    assert!(state[1].1.equal(&w.tr()) && state[1].1.is_contiguous());
    assert!(state[2].1.equal(&w));
}

#[test]
fn the_real_fixture_checkpoints_stay_within_the_limits() {
    let fx = fixture_dir();
    let state = read_torch_file(&fx.join("pytorch_model.bin"))
        .unwrap()
        .state_dict()
        .unwrap();
    assert!(state.len() > 100, "{} tensors", state.len());
    let beats = read_torch_file(&fx.join("beats.pt")).unwrap();
    assert!(beats.get("cfg").unwrap().to_json().is_ok());
    let model = beats.get("model").unwrap().state_dict().unwrap();
    assert!(!model.is_empty());
    assert!(matches!(beats, PickleValue::Dict(_)));
}
