#!/usr/bin/env bash
# The main job on the embedded defaults, as far as the pipeline exists today.
# It never prints a caption that a model did not produce.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/soundscribe
echo "== soundscribe version"
$bin version
echo
echo "== soundscribe config check config/default.toml"
$bin config check config/default.toml
