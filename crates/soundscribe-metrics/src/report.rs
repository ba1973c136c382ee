//! Evaluation results: every metric either has scores or says why it is unavailable.
//! Serialised to JSON for `--json` and printed as a table.

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// Corpus and per-item scores of one metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Corpus-level score.
    pub corpus: f64,
    /// Per-item scores, in the report's item order.
    pub per_item: Vec<f64>,
    /// How the number was produced (program, models) when it is not plain Rust.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implementation: Option<String>,
}

/// A metric's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// Computed.
    Scores(Scores),
    /// Not computed, and why (missing Java, jar, models, ...). Never a 0.
    Unavailable {
        /// The reason.
        unavailable: String,
    },
}

impl Outcome {
    /// Scores with no implementation note.
    pub fn rust(corpus: f64, per_item: Vec<f64>) -> Self {
        Self::Scores(Scores {
            corpus,
            per_item,
            implementation: None,
        })
    }

    /// The scores, if computed.
    pub fn scores(&self) -> Option<&Scores> {
        match self {
            Self::Scores(s) => Some(s),
            Self::Unavailable { .. } => None,
        }
    }
}

/// All metrics for one set of items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Number of items scored.
    pub items: usize,
    /// How captions were tokenized before scoring.
    pub tokenizer: String,
    /// Item ids, in the order of every `per_item` list.
    pub ids: Vec<String>,
    /// Metric name → outcome, in display order.
    #[serde(serialize_with = "ordered")]
    pub metrics: Vec<(String, Outcome)>,
}

fn ordered<S: Serializer>(metrics: &[(String, Outcome)], s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(metrics.len()))?;
    for (k, v) in metrics {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

impl Report {
    /// The outcome of metric `name` (`bleu_4`, `cider_d`, `meteor`, ...).
    pub fn get(&self, name: &str) -> Option<&Outcome> {
        self.metrics.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// A plain-text table: metric, corpus score, and a note (implementation or reason).
    pub fn table(&self) -> String {
        let mut out = format!("{} items; tokenizer: {}\n", self.items, self.tokenizer);
        out.push_str(&format!("{:<10} {:>8}  note\n", "metric", "corpus"));
        for (name, outcome) in &self.metrics {
            let line = match outcome {
                Outcome::Scores(s) => format!(
                    "{name:<10} {:>8.4}  {}",
                    s.corpus,
                    s.implementation.as_deref().unwrap_or("")
                ),
                Outcome::Unavailable { unavailable } => {
                    format!("{name:<10} {:>8}  unavailable: {unavailable}", "n/a")
                }
            };
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
