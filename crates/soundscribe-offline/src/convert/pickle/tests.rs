//! Unit tests of the stack machine: plain data, refused globals, the limits, fuzzing.

use proptest::prelude::*;

use super::*;

fn parse(bytes: &[u8]) -> Result<PickleValue, String> {
    parse_within(bytes, Limits::DEFAULT)
}

fn parse_within(bytes: &[u8], limits: Limits) -> Result<PickleValue, String> {
    let mut load = |s: &StorageRef| -> Result<Tensor, String> {
        Ok(Tensor::zeros(
            [s.numel.clamp(0, 1 << 16)],
            (s.kind, tch::Device::Cpu),
        ))
    };
    Unpickler::new(bytes, limits).run(&mut load)
}

/// `pickle.dumps({"a": [1, 2.5, True, None], "b": "x", "c": -300}, protocol=2)`.
const PLAIN: &[u8] = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00\x88NeX\x01\x00\x00\x00bq\x03X\x01\x00\x00\x00xq\x04X\x01\x00\x00\x00cq\x05J\xd4\xfe\xff\xffu.";

/// `n` nested lists: n EMPTY_LISTs, then n - 1 APPENDs.
fn nested_lists(n: usize) -> Vec<u8> {
    let mut p = b"\x80\x02".to_vec();
    p.extend(std::iter::repeat_n(b']', n));
    p.extend(std::iter::repeat_n(b'a', n - 1));
    p.push(b'.');
    p
}

#[test]
fn nesting_past_the_depth_limit_is_refused_before_it_is_built() {
    let err = parse(&nested_lists(200_000)).unwrap_err();
    assert_eq!(err, "pickle nests deeper than 100 levels");
    let err = parse(&nested_lists(101)).unwrap_err();
    assert_eq!(err, "pickle nests deeper than 100 levels");
    // Each way of putting a value in a container counts: TUPLE1, SETITEM, APPENDS,
    // SETITEMS (the value is PUT to the memo, then its copy GOT into the container).
    let wraps: [&[u8]; 4] = [
        b"\x85",
        b"q\x01}K\x00h\x01s",
        b"q\x01](h\x01e",
        b"q\x01}(K\x00h\x01u",
    ];
    let wrapped = |n: usize, shift: usize| {
        let mut p = b"\x80\x02N".to_vec();
        for i in 0..n {
            p.extend_from_slice(wraps[(i + shift) % 4]);
        }
        p.push(b'.');
        p
    };
    for shift in 0..4 {
        // `None` wrapped n times is n + 1 deep.
        assert!(parse(&wrapped(99, shift)).is_ok(), "shift {shift}");
        let err = parse(&wrapped(100, shift)).unwrap_err();
        assert_eq!(err, "pickle nests deeper than 100 levels", "shift {shift}");
    }
}

/// The deepest value allowed must survive `PickleValue`'s recursive `Clone`, `Debug`,
/// `Drop` and `to_json` (and serde over that JSON) on a thread stack far smaller than a
/// test thread's 2 MiB. Measured in a debug build: depth 1000 needs ~2 MiB for
/// `to_json` (~1 MiB for `Clone`), depth 100 under 256 KiB.
#[test]
fn the_deepest_allowed_value_is_safe_to_walk_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(512 << 10)
        .spawn(|| {
            let mut p = nested_lists(100);
            // PUT and GET the whole chain: two deep clones inside the reader.
            p.pop();
            p.extend_from_slice(b"q\x00h\x00.");
            let v = parse(&p).unwrap();
            let copy = v.clone();
            let json = copy.to_json().unwrap();
            assert!(format!("{copy:?}").starts_with("List([List(["));
            #[derive(serde::Deserialize)]
            struct Cfg {
                #[allow(dead_code)]
                x: Option<i64>,
            }
            let cfg = serde_json::json!({ "deep": json });
            assert!(serde_json::from_value::<Cfg>(cfg).is_ok());
            drop((v, copy));
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn memo_reuse_is_refused_before_it_is_copied() {
    // L = []; 40 × L = (L, L): 2^41 values if copied.
    let mut p = b"\x80\x02]q\x00".to_vec();
    for _ in 0..40 {
        p.extend_from_slice(b"h\x00h\x00\x86q\x00");
    }
    p.push(b'.');
    let limits = Limits {
        max_values: 10_000,
        ..Limits::DEFAULT
    };
    let err = parse_within(&p, limits).unwrap_err();
    assert_eq!(err, "pickle expands to more than 10000 values (memo reuse)");

    // One 64 KiB string pushed 40 times through the memo.
    let mut p = b"\x80\x02X\x00\x00\x01\x00".to_vec();
    p.extend(std::iter::repeat_n(b'x', 1 << 16));
    p.extend_from_slice(b"q\x00");
    for _ in 0..40 {
        p.extend_from_slice(b"h\x00");
    }
    p.push(b'.');
    let limits = Limits {
        max_string_bytes: 2 << 20,
        ..Limits::DEFAULT
    };
    let err = parse_within(&p, limits).unwrap_err();
    assert_eq!(
        err,
        "pickle expands to more than 2 MiB of strings (memo reuse)"
    );
    assert!(parse(&p).is_ok());
}

/// `_rebuild_tensor_v2` of a 1-element FloatStorage viewed as `[n]` with `stride`.
fn strided_view(n: u32, stride: u8) -> Vec<u8> {
    let mut p = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((\x8c\x07storage".to_vec();
    p.extend_from_slice(b"ctorch\nFloatStorage\n\x8c\x010\x8c\x03cpuK\x01tQK\x00J");
    p.extend_from_slice(&n.to_le_bytes());
    p.extend_from_slice(&[0x85, b'K', stride, 0x85, 0x89, b't', b'R', b'.']);
    p
}

#[test]
fn stride_zero_views_may_not_copy_past_the_allowance() {
    let limits = Limits {
        max_extra_copy_bytes: 1 << 20,
        ..Limits::DEFAULT
    };
    // 2^30 floats (4 GiB) from a 4-byte storage: refused before `contiguous()`.
    let err = parse_within(&strided_view(1 << 30, 0), limits).unwrap_err();
    assert!(
        err.contains("tensor views copy more than 1 MiB beyond the archive's 0 MiB"),
        "{err}"
    );
    let PickleValue::Tensor(t) = parse_within(&strided_view(1000, 0), limits).unwrap() else {
        panic!("not a tensor");
    };
    assert_eq!(t.0.size(), [1000]);
    // A contiguous view is no copy at all.
    assert!(parse_within(&strided_view(1, 1), limits).is_ok());
}

#[test]
fn plain_data_round_trips_to_json() {
    let v = parse(PLAIN).unwrap().to_json().unwrap();
    assert_eq!(
        v,
        serde_json::json!({"a": [1, 2.5, true, null], "b": "x", "c": -300})
    );
}

#[test]
fn globals_outside_the_allow_list_are_refused() {
    let err = parse(b"\x80\x02cbuiltins\neval\nq\x00.").unwrap_err();
    assert!(
        err.contains("refusing to load global builtins.eval"),
        "{err}"
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse(&bytes);
    }

    #[test]
    fn corrupted_pickles_never_panic(pos in 0usize..PLAIN.len(), byte in any::<u8>(), cut in 0usize..=PLAIN.len()) {
        let mut bytes = PLAIN.to_vec();
        bytes[pos] = byte;
        let _ = parse(&bytes);
        let _ = parse(&PLAIN[..cut]);
    }
}
