#!/usr/bin/env bash
# Installs the Python packages the tests use into .venv, idempotently:
#   pyzmq       a real libzmq subscriber for tests/it/publish_pyzmq.rs
#   jsonschema  validates published payloads against docs/*-schema.json
#   webvtt-py, srt  real parsers for the subtitles `caption --format vtt|srt` writes
# Run after scripts/setup-torch.sh (which creates .venv). Only PyPI is contacted.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PACKAGES=("pyzmq==27.3.0" "jsonschema==4.26.0" "webvtt-py==0.6.0" "srt==3.5.3")

[ -x "$VENV/bin/python" ] || { echo "setup-python-test-deps: $VENV/bin/python missing; run scripts/setup-torch.sh first" >&2; exit 1; }
if ! "$VENV/bin/python" - "${PACKAGES[@]}" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
for spec in sys.argv[1:]:
    name, _, ver = spec.partition("==")
    if m.version(name) != ver: sys.exit(1)
PY
then
  echo "setup-python-test-deps: installing ${PACKAGES[*]}"
  "$VENV/bin/python" -m pip --disable-pip-version-check -q install "${PACKAGES[@]}"
fi
