//! The pre-generated mixes file format: JSONL lines `{"captions": [A, B], "mix": "..."}`,
//! read by [`super::mixup::MixCaptioner::from_jsonl`] and written (as its answer cache) by
//! [`super::mix_llm::MixEndpoint`].

/// One line of a pre-generated mixes file (JSONL), also the endpoint's answer cache.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct MixLine {
    /// The two clips' captions.
    pub captions: [String; 2],
    /// A caption of their mix.
    pub mix: String,
}
