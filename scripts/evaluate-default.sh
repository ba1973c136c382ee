#!/usr/bin/env bash
# Evaluates the default model against the retrieval baseline on the held-out packages of
# the dataset (`soundscribe data build` output in assets/dataset): the exact commands
# behind the metrics table in models/default/README.md.
#   scripts/evaluate-default.sh [MODEL_DIR] [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${SOUNDSCRIBE:-target/release/soundscribe}
model=${1:-models/default}
out=${2:-target/eval-default}
ds=assets/dataset
mkdir -p "$out"
[ -d assets/aisfx-model ] || $bin convert aisfx --checkpoint assets/aisfx/checkpoint.pth --out assets/aisfx-model
# One caption per clip: every test clip is at most 10 s, so one 10 s window covers it.
# Decoding: the seed-1 method (50 nucleus samples, T 0.5, top-p 0.95, reranked by
# 0.3·log-likelihood + 0.7·cosine with all-MiniLM-L6-v2), chosen on the val split.
cat > "$out/caption.toml" <<TOML
[windowing]
window_s = 10.0
hop_s = 10.0
[decoding]
strategy = "nucleus"
num_candidates = 50
temperature = 0.5
top_p = 0.95
max_length = 30
min_length = 2
no_repeat_ngram_size = 3
[decoding.rerank]
embedder = "$PWD/assets/text/all-MiniLM-L6-v2"
llh_weight = 0.3
cosine_weight = 0.7
TOML
$bin --log-level warn baseline --aisfx assets/aisfx-model --train $ds/train.jsonl --test $ds/test.jsonl \
  --refs-out "$out/refs.json" > "$out/baseline.jsonl"
mapfile -t files < <(python3 -c "
import json, sys
for l in open('$ds/test.jsonl'):
    print('$ds/' + json.loads(l)['audio'])")
$bin --log-level warn caption --model "$model" --config "$out/caption.toml" "${files[@]}" > "$out/model.jsonl"
echo "== retrieval baseline (nearest aisfx neighbour's caption)"
$bin eval --refs "$out/refs.json" --hyps "$out/baseline.jsonl" --json "$out/baseline-report.json"
echo "== $model"
$bin eval --refs "$out/refs.json" --hyps "$out/model.jsonl" --json "$out/model-report.json"
