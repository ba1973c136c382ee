#!/usr/bin/env bash
# Installs libtorch for tch from the PyPI `torch` wheel into .venv, idempotently.
#
#   scripts/setup-torch.sh          CPU libtorch: torch (no deps) + the CUDA runtime and
#                                   CUPTI wheels libtorch_cpu.so links against (~1.2 GB)
#   scripts/setup-torch.sh --cuda   the full wheel set torch pins (~4 GB), for GPU boxes
#
# Nothing outside PyPI is contacted. pip's cache (~/.cache/pip) is reused across runs.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.11.0
CUDA_TOOLKIT_VERSION=13.0.2   # pinned by torch 2.11.0's own metadata
VENV=${VENV:-.venv}
mode=cpu
[ "${1:-}" = "--cuda" ] && mode=cuda

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" 2>/dev/null || {
    echo "setup-torch: python3 -m venv failed; installing python3-venv" >&2
    apt-get install -y -q python3-venv >/dev/null
    python3 -m venv "$VENV"
  }
fi
pip=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

have() { "$VENV/bin/python" - "$@" <<'PY' 2>/dev/null
import importlib.metadata as m, sys
for spec in sys.argv[1:]:
    name, _, ver = spec.partition("==")
    if m.version(name) != ver: sys.exit(1)
PY
}

if ! have "torch==$TORCH_VERSION"; then
  echo "setup-torch: installing torch==$TORCH_VERSION (no deps)"
  "${pip[@]}" install --no-deps "torch==$TORCH_VERSION"
  # torch's small pure-Python requirements, so scripts can `import torch` too.
  "${pip[@]}" install typing-extensions filelock "sympy>=1.13.3" networkx jinja2 fsspec numpy safetensors
fi
if [ "$mode" = cpu ]; then
  # libtorch_cpu.so needs libcudart.so.13 and libcupti.so.13 even without a GPU.
  if ! ls "$VENV"/lib/python3*/site-packages/nvidia/cu13/lib/libcudart.so.13 >/dev/null 2>&1; then
    echo "setup-torch: installing cuda-toolkit[cudart,cupti]==$CUDA_TOOLKIT_VERSION"
    "${pip[@]}" install "cuda-toolkit[cudart,cupti]==$CUDA_TOOLKIT_VERSION"
  fi
else
  echo "setup-torch: installing the full CUDA wheel set pinned by torch==$TORCH_VERSION"
  "${pip[@]}" install "torch==$TORCH_VERSION"
fi
lib=$(echo "$VENV"/lib/python3*/site-packages/torch/lib)
[ -f "$lib/libtorch_cpu.so" ] || { echo "setup-torch: $lib/libtorch_cpu.so missing after install" >&2; exit 1; }
# A stable path for LIBTORCH (.cargo/config.toml), whatever python3's minor version is.
(cd "$VENV" && ln -sfn "$(ls -d lib/python3*/site-packages/torch | head -n 1)" libtorch)
echo "setup-torch: torch $TORCH_VERSION ($mode) ready; LIBTORCH=$VENV/libtorch"
