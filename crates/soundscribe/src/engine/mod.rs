//! The inference engine: one thread per device owns the model; windows arrive through a
//! bounded channel, are batched dynamically and run through features → encoder → decoding
//! → reranking.

pub mod batcher;
pub mod captioner;
pub mod device;
pub mod run;

/// Where the embedded default model lives: `$SOUNDSCRIBE_MODEL`, else `models/default`
/// in the working directory, else the one in the source tree this binary was built from.
pub fn default_model_dir() -> Option<std::path::PathBuf> {
    let candidates = [
        std::env::var_os("SOUNDSCRIBE_MODEL").map(std::path::PathBuf::from),
        Some(std::path::PathBuf::from("models/default")),
        Some(
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
                .join("models/default"),
        ),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.join(crate::model::checkpoint::MODEL_JSON).is_file())
}
