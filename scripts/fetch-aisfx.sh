#!/usr/bin/env bash
# Fetches the aisfx CNN-8 sound-effects encoder (the student's encoder) from PyPI,
# idempotently: assets/aisfx/checkpoint.pth (aisfx 0.1.2, weights CC BY 4.0).
# Only `pip download --no-deps` is used: nothing is installed, the package's numpy/librosa
# pins are not needed, and the wheel is unpacked with zipfile (no code from it runs).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
[ -x "$PY" ] || PY=python3
dest=assets/aisfx
dl=assets/pip-downloads
mkdir -p "$dest" "$dl"

if [ ! -f "$dest/.complete" ]; then
  echo "fetch-aisfx: aisfx==0.1.2 checkpoint.pth"
  "$PY" -m pip --disable-pip-version-check download -q --no-deps -d "$dl" aisfx==0.1.2
  whl=$(ls "$dl"/aisfx-0.1.2-*.whl | head -n1)
  "$PY" - "$whl" "$dest" <<'PY'
import sys, zipfile, os
whl, out = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    data = z.read("aisfx/models/checkpoint.pth")
with open(os.path.join(out, "checkpoint.pth"), "wb") as f:
    f.write(data)
PY
  touch "$dest/.complete"
fi
