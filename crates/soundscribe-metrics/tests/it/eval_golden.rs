//! Parity with pycocoevalcap 1.2 on `tests/fixtures/metrics-a.json` (a copy of
//! `../shared/golden/metrics-a/metrics-a.json`): tokens, BLEU-1..4, ROUGE-L, CIDEr-D and
//! METEOR, corpus and per item.

use serde_json::Value;
use soundscribe_metrics::{bleu, cider, ptb, rouge};

struct Golden {
    refs: Vec<Vec<String>>,
    cands: Vec<String>,
    scores: Value,
}

fn golden() -> Golden {
    let path = concat!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/../.."),
        "/tests/fixtures/metrics-a.json"
    );
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    Golden {
        refs: v["refs"].as_array().unwrap().iter().map(strings).collect(),
        cands: strings(&v["cands"]),
        scores: v["scores"].clone(),
    }
}

fn tokenized(g: &Golden) -> (Vec<String>, Vec<Vec<String>>) {
    let cands = g.cands.iter().map(|c| ptb::tokenize(c)).collect();
    let refs = g
        .refs
        .iter()
        .map(|rs| rs.iter().map(|r| ptb::tokenize(r)).collect())
        .collect();
    (cands, refs)
}

fn expect(g: &Golden, metric: &str, corpus: f64, per_item: &[f64], tol: f64) {
    let want = &g.scores[metric];
    let wc = want["corpus"].as_f64().unwrap();
    assert!(
        (corpus - wc).abs() <= tol,
        "{metric} corpus: got {corpus}, want {wc}"
    );
    let wp = want["per_item"].as_array().unwrap();
    assert_eq!(wp.len(), per_item.len(), "{metric}: item count");
    for (i, (got, want)) in per_item.iter().zip(wp).enumerate() {
        let want = want.as_f64().unwrap();
        assert!(
            (got - want).abs() <= tol,
            "{metric} item {i}: got {got}, want {want}"
        );
    }
}

#[test]
fn tokens_match_corenlp_3_4_1() {
    let g = golden();
    let (cands, refs) = tokenized(&g);
    for (i, c) in cands.iter().enumerate() {
        let want = g.scores["tokenized_cands"][i.to_string()][0]
            .as_str()
            .unwrap();
        assert_eq!(c, want, "candidate {i}");
    }
    for (i, rs) in refs.iter().enumerate() {
        for (j, r) in rs.iter().enumerate() {
            let want = g.scores["tokenized_refs"][i.to_string()][j]
                .as_str()
                .unwrap();
            assert_eq!(r, want, "reference {i}.{j}");
        }
    }
}

#[test]
fn bleu_rouge_cider_match_pycocoevalcap() {
    let g = golden();
    let (cands, refs) = tokenized(&g);
    let b = bleu::score(&cands, &refs);
    for k in 0..4 {
        let per: Vec<f64> = b.per_item.iter().map(|p| p[k]).collect();
        expect(&g, &format!("bleu_{}", k + 1), b.corpus[k], &per, 1e-6);
    }
    let r = rouge::score(&cands, &refs);
    expect(&g, "rouge_l", r.corpus, &r.per_item, 1e-6);
    let c = cider::score(&cands, &refs);
    expect(&g, "cider_d", c.corpus, &c.per_item, 1e-6);
}

/// Java and the METEOR jar, or why not. Under CI (`CI` set) their absence is a failure:
/// `make test` fetches the jar, so a missing one means the set-up is broken.
fn meteor_setup() -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    use soundscribe_metrics::java::{find_java, JavaAssets};
    let found = find_java().and_then(|java| Ok((java, JavaAssets::locate().meteor_jar()?)));
    match found {
        Ok(pair) => Some(pair),
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("METEOR golden test cannot run under CI: {why}")
        }
        Err(why) => {
            eprintln!("SKIP meteor_matches_pycocoevalcap: {why}");
            None
        }
    }
}

#[test]
fn meteor_matches_pycocoevalcap() {
    let Some((java, jar)) = meteor_setup() else {
        return;
    };
    let g = golden();
    let (cands, refs) = tokenized(&g);
    let mut meteor = soundscribe_metrics::meteor::Meteor::spawn(&java, &jar).unwrap();
    let m = meteor.score(&cands, &refs).unwrap();
    expect(&g, "meteor", m.corpus, &m.per_item, 1e-4);
    // The process stays usable for a second batch, as pycocoevalcap's does.
    let again = meteor.score(&cands[..2], &refs[..2]).unwrap();
    assert_eq!(again.per_item, m.per_item[..2]);
}
