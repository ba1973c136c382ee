//! The messages soundscribe publishes: one [`Caption`] per captioned window and a periodic
//! [`Status`]. These structs *are* the wire format (their serde derives are the only place
//! field names are chosen); [`super::schema`] adds the `schema_version` envelope, checks the
//! values and turns them into bytes. `docs/caption-schema.json` and
//! `docs/status-schema.json` describe the same shapes for subscribers in other languages.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// One caption for one window of one source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Caption {
    /// Source id (the `<id>` of topic `caption.<id>`).
    pub source: String,
    /// Per-source sequence number: 0, 1, 2, ... for the captions published for this source
    /// since the publisher started. A jump means captions were lost on the way to the
    /// subscriber; windows the engine dropped are counted in `flags.dropped_before` instead.
    pub seq: u64,
    /// The audio window the caption describes.
    pub window: WindowSpan,
    /// The chosen caption (empty when the window was silence-gated).
    pub text: String,
    /// Score of `text` after reranking (higher is better).
    pub score: f64,
    /// Runner-up captions, best first.
    pub alternatives: Vec<Alternative>,
    /// Identifier of the model that produced the caption.
    pub model: String,
    /// Where the time went, in milliseconds.
    pub latency_ms: Latency,
    /// Conditions worth knowing about this window.
    pub flags: CaptionFlags,
}

/// An audio window, both in stream time and in wall-clock (UTC) time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowSpan {
    /// Window start, seconds since the source started.
    pub start_s: f64,
    /// Window end, seconds since the source started.
    pub end_s: f64,
    /// Wall-clock time of the window start (RFC 3339, UTC, microseconds).
    #[serde(with = "utc")]
    pub start_utc: SystemTime,
    /// Wall-clock time of the window end (RFC 3339, UTC, microseconds).
    #[serde(with = "utc")]
    pub end_utc: SystemTime,
}

/// A candidate caption that lost the reranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// The candidate text.
    pub text: String,
    /// Its combined reranking score (same scale as [`Caption::score`]).
    pub score: f64,
    /// Length-normalised log-likelihood under the decoder, when known.
    pub log_likelihood: Option<f64>,
    /// Cosine similarity between audio and text embeddings, when known.
    pub similarity: Option<f64>,
}

/// Latency breakdown of one window, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Latency {
    /// Waiting in the source queue and the batcher.
    pub queue: f64,
    /// Feature extraction (fbank / mel).
    pub features: f64,
    /// Audio encoder forward pass.
    pub encoder: f64,
    /// Caption decoding (sampling or beam search).
    pub decode: f64,
    /// Reranking of the candidates.
    pub rerank: f64,
    /// Window end to hand-over to the publisher.
    pub total: f64,
}

/// Per-caption flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionFlags {
    /// The window was quieter than the silence gate; no model ran and `text` is empty.
    pub silence_gated: bool,
    /// Windows of this source the engine dropped (queue full) since the previous caption.
    pub dropped_before: u64,
}

/// The periodic `status` heartbeat.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// Seconds since the publisher started.
    pub uptime_s: f64,
    /// Wall-clock time the snapshot was taken (RFC 3339, UTC).
    #[serde(with = "utc")]
    pub time_utc: SystemTime,
    /// One entry per source, sorted by id.
    pub sources: Vec<SourceStatus>,
}

/// Counters of one source since start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceStatus {
    /// Source id.
    pub source: String,
    /// Windows the source handed to the engine.
    pub windows_in: u64,
    /// Captions published for this source.
    pub windows_out: u64,
    /// Windows dropped before captioning (queue full, drop-oldest).
    pub windows_dropped: u64,
    /// Processing time over audio time captioned (below 1 keeps up with real time);
    /// `null` before the first window.
    pub real_time_factor: Option<f64>,
}

/// Either message, as read off the socket.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// A `caption.<id>` message.
    Caption(Caption),
    /// A `status` message.
    Status(Status),
}

/// RFC 3339 UTC timestamps with exactly six fractional digits, e.g.
/// `2026-11-24T09:15:24.123456Z`. Parsing accepts any RFC 3339 offset.
mod utc {
    use std::time::SystemTime;

    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    use time::OffsetDateTime;

    pub(super) fn serialize<S: Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
        let fmt = format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        );
        // Checked conversion: `OffsetDateTime::from(SystemTime)` panics out of range.
        let nanos = match t.duration_since(SystemTime::UNIX_EPOCH) {
            Ok(d) => i128::try_from(d.as_nanos()).unwrap_or(i128::MAX),
            Err(e) => -i128::try_from(e.duration().as_nanos()).unwrap_or(i128::MAX),
        };
        let text = OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map_err(serde::ser::Error::custom)?
            .format(&fmt)
            .map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(d)?;
        let t = OffsetDateTime::parse(&text, &Rfc3339)
            .map_err(|e| D::Error::custom(format!("{text:?} is not an RFC 3339 time: {e}")))?;
        Ok(t.into())
    }
}
