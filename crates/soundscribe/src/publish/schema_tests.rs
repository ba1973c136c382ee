//! Tests of the payload encoding: round trips, version checks, value rules.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::publish::message::{
    Alternative, CaptionFlags, Latency, SourceStatus, Status, WindowSpan,
};

fn at(micros: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_micros(micros)
}

fn caption() -> Caption {
    Caption {
        source: "mic".to_owned(),
        seq: 7,
        window: WindowSpan {
            start_s: 10.0,
            end_s: 20.0,
            start_utc: at(1_790_000_000_000_000),
            end_utc: at(1_790_000_010_000_000),
        },
        text: "a dog barks while cars pass by".to_owned(),
        score: 0.42,
        alternatives: vec![Alternative {
            text: "a dog barks".to_owned(),
            score: 0.40,
            log_likelihood: Some(-1.25),
            similarity: None,
        }],
        model: "student-effb2".to_owned(),
        latency_ms: Latency {
            queue: 1.0,
            features: 2.0,
            encoder: 30.0,
            decode: 50.0,
            rerank: 5.0,
            total: 88.0,
        },
        flags: CaptionFlags {
            silence_gated: false,
            dropped_before: 2,
        },
    }
}

fn payload(e: &Encoded) -> Value {
    serde_json::from_slice(&e.payload).unwrap()
}

#[test]
fn caption_payload_has_version_type_and_utc_times() {
    let e = encode_caption(&caption()).unwrap();
    assert_eq!(e.topic, "caption.mic");
    let v = payload(&e);
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["type"], "caption");
    assert_eq!(v["window"]["start_utc"], "2026-09-21T14:13:20.000000Z");
    assert_eq!(v["flags"]["dropped_before"], 2);
    assert_eq!(v["alternatives"][0]["similarity"], Value::Null);
}

#[test]
fn wrong_or_missing_version_is_named() {
    let e = encode_caption(&caption()).unwrap();
    let mut v = payload(&e);
    v["schema_version"] = Value::from(2);
    let err = decode(b"caption.mic", v.to_string().as_bytes()).unwrap_err();
    assert!(matches!(err, DecodeError::Version { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("schema_version 2 is not supported"),
        "{err}"
    );
    v.as_object_mut().unwrap().remove("schema_version");
    let err = decode(b"caption.mic", v.to_string().as_bytes()).unwrap_err();
    assert!(
        err.to_string().contains("schema_version is missing"),
        "{err}"
    );
}

#[test]
fn malformed_payloads_get_one_clear_error() {
    let good = payload(&encode_caption(&caption()).unwrap());
    let cases: Vec<(&[u8], Vec<u8>, &str)> = vec![
        (b"caption.mic", b"not json".to_vec(), "not a JSON object"),
        (
            b"caption.mic",
            b"[1,2]".to_vec(),
            "top level is not an object",
        ),
        (b"weather", good.to_string().into_bytes(), "unknown topic"),
        (
            b"caption.other",
            good.to_string().into_bytes(),
            "does not match the topic",
        ),
        (
            b"status",
            good.to_string().into_bytes(),
            "expected \"status\"",
        ),
        (
            b"caption.mic",
            good.to_string()
                .replace("\"seq\":7", "\"seq\":-1")
                .into_bytes(),
            "seq",
        ),
        (
            b"caption.mic",
            good.to_string()
                .replace("\"text\":", "\"txt\":")
                .into_bytes(),
            "txt",
        ),
        (
            b"caption.mic",
            good.to_string()
                .replace("\"end_s\":20.0", "\"end_s\":5.0")
                .into_bytes(),
            "window.end_s must be at least 10",
        ),
        (
            b"caption.mic",
            good.to_string()
                .replace("2026-09-21T14:13:20", "yesterday")
                .into_bytes(),
            "not an RFC 3339 time",
        ),
    ];
    for (topic, payload, expected) in cases {
        let err = decode(topic, &payload).unwrap_err().to_string();
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
    }
    assert_eq!(
        decode_frames(&[b"status"]).unwrap_err(),
        DecodeError::Frames(1)
    );
}

#[test]
fn encoder_refuses_values_the_schema_forbids() {
    let mut c = caption();
    c.score = f64::NAN;
    assert!(encode_caption(&c).unwrap_err().problem.contains("score"));
    let mut c = caption();
    c.source = "mic 2".to_owned();
    assert!(encode_caption(&c).is_err());
    let mut c = caption();
    c.latency_ms.total = -1.0;
    assert!(encode_caption(&c)
        .unwrap_err()
        .problem
        .contains("latency_ms.total"));
    let s = Status {
        uptime_s: f64::INFINITY,
        time_utc: at(0),
        sources: vec![],
    };
    assert!(encode_status(&s).is_err());
}

fn arb_time() -> impl Strategy<Value = SystemTime> {
    // Microsecond resolution: what the wire format carries. Up to year 2096.
    (0u64..4_000_000_000_000_000).prop_map(at)
}

fn arb_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        -1e9f64..1e9,
        Just(0.0),
        Just(-0.0),
        Just(f64::MIN_POSITIVE),
        Just(1e300)
    ]
}

fn arb_nonneg() -> impl Strategy<Value = f64> {
    prop_oneof![0.0f64..1e7, Just(0.0), Just(1e300)]
}

fn arb_caption() -> impl Strategy<Value = Caption> {
    let alt = (
        ".*",
        arb_f64(),
        proptest::option::of(arb_f64()),
        proptest::option::of(arb_f64()),
    )
        .prop_map(|(text, score, log_likelihood, similarity)| Alternative {
            text,
            score,
            log_likelihood,
            similarity,
        });
    (
        ("[A-Za-z0-9_-]{1,12}", any::<u64>(), ".*", arb_f64(), ".*"),
        (arb_nonneg(), 0.0f64..30.0, arb_time(), 0u64..60_000_000),
        proptest::collection::vec(alt, 0..4),
        proptest::array::uniform6(arb_nonneg()),
        (any::<bool>(), any::<u64>()),
    )
        .prop_map(
            |(
                (source, seq, text, score, model),
                (start_s, len_s, start, len_us),
                alternatives,
                l,
                (gated, dropped),
            )| {
                Caption {
                    source,
                    seq,
                    window: WindowSpan {
                        start_s,
                        end_s: start_s + len_s,
                        start_utc: start,
                        end_utc: start + Duration::from_micros(len_us),
                    },
                    text,
                    score,
                    alternatives,
                    model,
                    latency_ms: Latency {
                        queue: l[0],
                        features: l[1],
                        encoder: l[2],
                        decode: l[3],
                        rerank: l[4],
                        total: l[5],
                    },
                    flags: CaptionFlags {
                        silence_gated: gated,
                        dropped_before: dropped,
                    },
                }
            },
        )
}

fn arb_status() -> impl Strategy<Value = Status> {
    let source = (
        "[A-Za-z0-9_-]{1,12}",
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        proptest::option::of(arb_nonneg()),
    )
        .prop_map(
            |(source, windows_in, windows_out, windows_dropped, real_time_factor)| SourceStatus {
                source,
                windows_in,
                windows_out,
                windows_dropped,
                real_time_factor,
            },
        );
    (
        arb_nonneg(),
        arb_time(),
        proptest::collection::vec(source, 0..5),
    )
        .prop_map(|(uptime_s, time_utc, sources)| Status {
            uptime_s,
            time_utc,
            sources,
        })
}

proptest! {
    #[test]
    fn caption_round_trips(c in arb_caption()) {
        let e = encode_caption(&c).unwrap();
        prop_assert_eq!(decode(e.topic.as_bytes(), &e.payload).unwrap(), Message::Caption(c));
    }

    #[test]
    fn status_round_trips(s in arb_status()) {
        let e = encode_status(&s).unwrap();
        prop_assert_eq!(decode(e.topic.as_bytes(), &e.payload).unwrap(), Message::Status(s));
    }

    #[test]
    fn decode_never_panics_on_garbage(topic in proptest::collection::vec(any::<u8>(), 0..20),
                                      payload in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = decode(&topic, &payload);
    }

    #[test]
    fn decode_never_panics_on_damaged_payloads(c in arb_caption(), cut in any::<prop::sample::Index>(),
                                              byte in any::<u8>()) {
        let e = encode_caption(&c).unwrap();
        let mut damaged = e.payload.clone();
        let i = cut.index(damaged.len());
        damaged[i] = byte;
        let _ = decode(e.topic.as_bytes(), &damaged);
        let _ = decode(e.topic.as_bytes(), &e.payload[..i]);
    }
}

/// docs/*-schema.json must describe what the encoder writes (the pyzmq test validates
/// payloads against them; this catches drift without Python).
#[test]
fn docs_schemas_match_the_encoder() {
    let docs = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join("docs");
    let status = Status {
        uptime_s: 1.0,
        time_utc: at(0),
        sources: vec![SourceStatus {
            source: "mic".to_owned(),
            windows_in: 1,
            windows_out: 1,
            windows_dropped: 0,
            real_time_factor: Some(0.1),
        }],
    };
    let cases = [
        (
            "caption-schema.json",
            payload(&encode_caption(&caption()).unwrap()),
        ),
        (
            "status-schema.json",
            payload(&encode_status(&status).unwrap()),
        ),
    ];
    for (file, payload) in cases {
        let text = std::fs::read_to_string(docs.join(file)).unwrap();
        let schema: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            schema["properties"]["schema_version"]["const"],
            SCHEMA_VERSION
        );
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        check_keys(file, &schema, &payload);
    }
}

/// Every object in `payload` has exactly the `required` keys its schema node lists.
fn check_keys(at: &str, schema: &Value, payload: &Value) {
    match payload {
        Value::Object(fields) => {
            let mut required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap_or_else(|| panic!("{at}: no required list"))
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let mut keys: Vec<&str> = fields.keys().map(String::as_str).collect();
            required.sort_unstable();
            keys.sort_unstable();
            assert_eq!(required, keys, "{at}");
            assert_eq!(schema["additionalProperties"], false, "{at}");
            for (k, v) in fields {
                let node = &schema["properties"][k];
                if node.get("properties").is_some() || node.get("items").is_some() {
                    check_keys(&format!("{at}.{k}"), node, v);
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                check_keys(&format!("{at}[{i}]"), &schema["items"], v);
            }
        }
        _ => {}
    }
}
