//! One evaluation: tokenize, score with every metric, collect a [`Report`].

use super::io::Dataset;
use super::java::{find_java, JavaAssets};
use super::learned::{self, FluencyDetector, SentenceEmbedder};
use super::meteor::Meteor;
use super::report::{Outcome, Report, Scores};
use super::{bleu, cider, ptb, rouge, spice};

/// Description of the tokenizer, recorded in every report.
pub const TOKENIZER: &str =
    "PTB (CoreNLP 3.4.1 PTBTokenizer rules, lower-cased, pycocoevalcap punctuation removed; Rust)";

const NO_DETECTOR: &str = "no fluency-error detector configured (published SPIDEr-FL/FENSE \
     use echecker_clotho_audiocaps_base)";
const NO_EMBEDDER: &str =
    "no sentence embedder configured (published FENSE uses paraphrase-TinyBERT-L6-v2)";

/// What to run besides the Rust metrics.
#[derive(Default)]
pub struct EvalOptions {
    /// Where the METEOR/SPICE jars are; `None` skips the Java metrics.
    pub java_assets: Option<JavaAssets>,
    /// Fluency-error detector for SPIDEr-FL and FENSE.
    pub fluency: Option<Box<dyn FluencyDetector>>,
    /// Sentence embedder for FENSE.
    pub embedder: Option<Box<dyn SentenceEmbedder>>,
}

/// Scores `data` with every metric; the ones that cannot run say why.
pub fn evaluate(data: &Dataset, opts: &EvalOptions) -> Report {
    let hyps: Vec<String> = data.hyps.iter().map(|h| ptb::tokenize(h)).collect();
    let refs: Vec<Vec<String>> = data
        .refs
        .iter()
        .map(|rs| rs.iter().map(|r| ptb::tokenize(r)).collect())
        .collect();
    let mut metrics = Vec::new();

    let b = bleu::score(&hyps, &refs);
    for k in 0..bleu::N {
        let per: Vec<f64> = b.per_item.iter().map(|p| p[k]).collect();
        metrics.push((format!("bleu_{}", k + 1), Outcome::rust(b.corpus[k], per)));
    }
    let r = rouge::score(&hyps, &refs);
    metrics.push(("rouge_l".into(), Outcome::rust(r.corpus, r.per_item)));
    let c = cider::score(&hyps, &refs);
    metrics.push((
        "cider_d".into(),
        Outcome::rust(c.corpus, c.per_item.clone()),
    ));

    let java = match &opts.java_assets {
        None => Err("Java metrics disabled (--no-java)".to_string()),
        Some(assets) => find_java().map(|j| (j, assets)),
    };
    let meteor = java.clone().and_then(|(j, assets)| {
        let jar = assets.meteor_jar()?;
        let s = Meteor::spawn(&j, &jar)?.score(&hyps, &refs)?;
        Ok(scored(
            s.corpus,
            s.per_item,
            "meteor-1.5.jar (pycocoevalcap 1.2) -l en -norm",
        ))
    });
    metrics.push(("meteor".into(), meteor.unwrap_or_else(unavailable)));
    let spice = java.and_then(|(j, assets)| {
        let jar = assets.spice_jar()?;
        spice::score(&j, &jar, &hyps, &refs)
    });
    let spider_per = match spice {
        Ok(s) => {
            let per: Vec<f64> = c
                .per_item
                .iter()
                .zip(&s.per_item)
                .map(|(c, s)| (c + s) / 2.0)
                .collect();
            metrics.push((
                "spice".into(),
                scored(s.corpus, s.per_item, "spice-1.0.jar (pycocoevalcap 1.2)"),
            ));
            metrics.push((
                "spider".into(),
                Outcome::rust((c.corpus + s.corpus) / 2.0, per.clone()),
            ));
            Ok(per)
        }
        Err(e) => {
            metrics.push(("spice".into(), unavailable(e.clone())));
            metrics.push((
                "spider".into(),
                unavailable("needs SPICE (unavailable)".into()),
            ));
            Err("needs SPIDEr, which needs SPICE (unavailable)".to_string())
        }
    };

    let fl = match (&opts.fluency, spider_per) {
        (_, Err(e)) => Err(e),
        (None, Ok(_)) => Err(NO_DETECTOR.to_string()),
        (Some(d), Ok(per)) => learned::spider_fl(d.as_ref(), &data.hyps, &per),
    };
    metrics.push(("spider_fl".into(), fl.map_or_else(unavailable, with_models)));
    let fense = match (&opts.embedder, &opts.fluency) {
        (Some(e), Some(d)) => learned::fense(e.as_ref(), d.as_ref(), &data.hyps, &data.refs),
        _ => Err(format!("{NO_EMBEDDER}; {NO_DETECTOR}")),
    };
    metrics.push(("fense".into(), fense.map_or_else(unavailable, with_models)));

    Report {
        items: data.ids.len(),
        tokenizer: TOKENIZER.into(),
        ids: data.ids.clone(),
        metrics,
    }
}

fn scored(corpus: f64, per_item: Vec<f64>, implementation: &str) -> Outcome {
    Outcome::Scores(Scores {
        corpus,
        per_item,
        implementation: Some(implementation.into()),
    })
}

fn with_models(l: learned::LearnedScores) -> Outcome {
    let models = l.models.join(" + ");
    scored(l.corpus, l.per_item, &format!("models: {models}"))
}

fn unavailable(reason: String) -> Outcome {
    Outcome::Unavailable {
        unavailable: reason,
    }
}
