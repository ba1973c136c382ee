//! The one place messages become bytes and bytes become messages.
//!
//! A payload is a JSON object: `schema_version` and `type` (`"caption"` or `"status"`)
//! followed by the fields of [`Caption`] or [`Status`]. [`encode`] refuses values the schema
//! does not allow (non-finite numbers, windows that end before they start, source ids that
//! cannot be topics); [`decode`] checks the version first, then the shape, then the same
//! value rules, so a subscriber gets one clear [`DecodeError`] for any bad message.

use serde::Serialize;
use serde_json::{Map, Value};

use super::message::{Caption, Message, Status};

/// Version of the payload format; bumped on any incompatible change.
pub const SCHEMA_VERSION: u64 = 1;
/// Captions of source `<id>` go to topic `caption.<id>`.
pub const CAPTION_TOPIC_PREFIX: &str = "caption.";
/// Topic of the heartbeat.
pub const STATUS_TOPIC: &str = "status";

/// The topic for captions of `source`.
pub fn caption_topic(source: &str) -> String {
    format!("{CAPTION_TOPIC_PREFIX}{source}")
}

/// Whether `id` can be a source id: non-empty ASCII letters, digits, `-` or `_` (the rule
/// `config` enforces too, so every configured source can be a topic).
pub fn is_valid_source_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A message ready for the socket: frame 1 is the topic, frame 2 the JSON payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    /// `caption.<id>` or `status`.
    pub topic: String,
    /// UTF-8 JSON, one object.
    pub payload: Vec<u8>,
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot encode {topic} message: {problem}")]
pub struct EncodeError {
    /// The topic it would have gone to.
    pub topic: String,
    /// What is wrong with it.
    pub problem: String,
}

/// Why a received message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Not the two frames `[topic, payload]`.
    #[error("expected 2 frames [topic, payload], got {0}")]
    Frames(usize),
    /// The topic is neither `caption.<id>` nor `status`.
    #[error("unknown topic {0:?}")]
    Topic(String),
    /// The payload is not a JSON object.
    #[error("topic {topic}: payload is not a JSON object: {problem}")]
    Json {
        /// The message's topic.
        topic: String,
        /// The parser's complaint.
        problem: String,
    },
    /// `schema_version` is missing or not the one this build reads.
    #[error("topic {topic}: {problem}")]
    Version {
        /// The message's topic.
        topic: String,
        /// What was found.
        problem: String,
    },
    /// The payload does not match the schema or breaks a value rule.
    #[error("topic {topic}: {problem}")]
    Invalid {
        /// The message's topic.
        topic: String,
        /// The first problem found.
        problem: String,
    },
}

/// Encodes a caption for topic `caption.<source>`.
pub fn encode_caption(caption: &Caption) -> Result<Encoded, EncodeError> {
    let topic = caption_topic(&caption.source);
    check_caption(caption).map_err(|problem| EncodeError {
        topic: topic.clone(),
        problem,
    })?;
    envelope(topic, "caption", caption)
}

/// Encodes a status snapshot for topic `status`.
pub fn encode_status(status: &Status) -> Result<Encoded, EncodeError> {
    let topic = STATUS_TOPIC.to_owned();
    check_status(status).map_err(|problem| EncodeError {
        topic: topic.clone(),
        problem,
    })?;
    envelope(topic, "status", status)
}

/// Encodes either message.
pub fn encode(message: &Message) -> Result<Encoded, EncodeError> {
    match message {
        Message::Caption(c) => encode_caption(c),
        Message::Status(s) => encode_status(s),
    }
}

fn envelope<T: Serialize>(topic: String, kind: &str, body: &T) -> Result<Encoded, EncodeError> {
    let fail = |problem: String| EncodeError {
        topic: topic.clone(),
        problem,
    };
    let Value::Object(fields) = serde_json::to_value(body).map_err(|e| fail(e.to_string()))? else {
        return Err(fail(
            "message did not serialise to a JSON object".to_owned(),
        ));
    };
    let mut object = Map::with_capacity(fields.len() + 2);
    object.insert("schema_version".to_owned(), Value::from(SCHEMA_VERSION));
    object.insert("type".to_owned(), Value::from(kind));
    object.extend(fields);
    let payload = serde_json::to_vec(&Value::Object(object)).map_err(|e| fail(e.to_string()))?;
    Ok(Encoded { topic, payload })
}

/// Decodes the frames of one received message.
pub fn decode_frames<B: AsRef<[u8]>>(frames: &[B]) -> Result<Message, DecodeError> {
    match frames {
        [topic, payload] => decode(topic.as_ref(), payload.as_ref()),
        _ => Err(DecodeError::Frames(frames.len())),
    }
}

/// Decodes one `[topic, payload]` message, checking version, shape and values.
pub fn decode(topic: &[u8], payload: &[u8]) -> Result<Message, DecodeError> {
    let topic = String::from_utf8_lossy(topic).into_owned();
    let kind = if topic == STATUS_TOPIC {
        "status"
    } else if topic
        .strip_prefix(CAPTION_TOPIC_PREFIX)
        .is_some_and(is_valid_source_id)
    {
        "caption"
    } else {
        return Err(DecodeError::Topic(topic));
    };
    let value: Value = serde_json::from_slice(payload).map_err(|e| DecodeError::Json {
        topic: topic.clone(),
        problem: e.to_string(),
    })?;
    let Value::Object(mut object) = value else {
        return Err(DecodeError::Json {
            topic,
            problem: "the top level is not an object".to_owned(),
        });
    };
    let version = object.remove("schema_version");
    if version.as_ref().and_then(Value::as_u64) != Some(SCHEMA_VERSION) {
        let problem = match version {
            None => "schema_version is missing".to_owned(),
            Some(v) => {
                format!("schema_version {v} is not supported (this build reads {SCHEMA_VERSION})")
            }
        };
        return Err(DecodeError::Version { topic, problem });
    }
    let invalid = |problem: String| DecodeError::Invalid {
        topic: topic.clone(),
        problem,
    };
    match object.remove("type") {
        Some(Value::String(t)) if t == kind => {}
        Some(t) => return Err(invalid(format!("type is {t}, expected \"{kind}\""))),
        None => return Err(invalid("type is missing".to_owned())),
    }
    let body = Value::Object(object);
    if kind == "status" {
        let status: Status = from_value(body).map_err(invalid)?;
        check_status(&status).map_err(invalid)?;
        Ok(Message::Status(status))
    } else {
        let caption: Caption = from_value(body).map_err(invalid)?;
        check_caption(&caption).map_err(invalid)?;
        if topic[CAPTION_TOPIC_PREFIX.len()..] != caption.source {
            return Err(invalid(format!(
                "source {:?} does not match the topic",
                caption.source
            )));
        }
        Ok(Message::Caption(caption))
    }
}

/// Deserialises `value`, naming the offending field (`window.end_utc: ...`) on error.
fn from_value<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if path == "." {
            inner.to_string()
        } else {
            format!("{path}: {inner}")
        }
    })
}

/// Value rules for captions that JSON types alone do not express.
fn check_caption(c: &Caption) -> Result<(), String> {
    if !is_valid_source_id(&c.source) {
        return Err(format!(
            "source {:?} must be non-empty ASCII letters, digits, '-' or '_'",
            c.source
        ));
    }
    let w = &c.window;
    finite_at_least("window.start_s", w.start_s, 0.0)?;
    finite_at_least("window.end_s", w.end_s, w.start_s)?;
    if w.end_utc < w.start_utc {
        return Err("window.end_utc is before window.start_utc".to_owned());
    }
    finite("score", c.score)?;
    for (i, a) in c.alternatives.iter().enumerate() {
        finite(&format!("alternatives[{i}].score"), a.score)?;
        if let Some(x) = a.log_likelihood {
            finite(&format!("alternatives[{i}].log_likelihood"), x)?;
        }
        if let Some(x) = a.similarity {
            finite(&format!("alternatives[{i}].similarity"), x)?;
        }
    }
    let l = &c.latency_ms;
    for (name, v) in [
        ("queue", l.queue),
        ("features", l.features),
        ("encoder", l.encoder),
        ("decode", l.decode),
        ("rerank", l.rerank),
        ("total", l.total),
    ] {
        finite_at_least(&format!("latency_ms.{name}"), v, 0.0)?;
    }
    Ok(())
}

/// Value rules for status snapshots.
fn check_status(s: &Status) -> Result<(), String> {
    finite_at_least("uptime_s", s.uptime_s, 0.0)?;
    for (i, src) in s.sources.iter().enumerate() {
        if !is_valid_source_id(&src.source) {
            return Err(format!(
                "sources[{i}].source {:?} is not a valid id",
                src.source
            ));
        }
        if let Some(rtf) = src.real_time_factor {
            finite_at_least(&format!("sources[{i}].real_time_factor"), rtf, 0.0)?;
        }
    }
    Ok(())
}

fn finite(name: &str, v: f64) -> Result<(), String> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(format!("{name} must be a finite number, got {v}"))
    }
}

fn finite_at_least(name: &str, v: f64, min: f64) -> Result<(), String> {
    finite(name, v)?;
    if v < min {
        return Err(format!("{name} must be at least {min}, got {v}"));
    }
    Ok(())
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
