#!/usr/bin/env bash
# `make demo`: the embedded default model (models/default) captions a bundled recording
# of held-out sounds, offline and then through the daemon: `soundscribe serve` plays the
# recording in real time and publishes on ZeroMQ while `soundscribe tail` prints the
# captions as they arrive. Ends by itself when the recording does.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/soundscribe
work=target/demo
demo=data/demo/demo.wav
mkdir -p "$work"

echo "== soundscribe version"
$bin version
echo
echo "== the default model: models/default (model card: models/default/README.md)"
echo "== the recording: $demo ($(python3 -c "import wave;w=wave.open('$demo');print(round(w.getnframes()/w.getframerate(),1))") s of held-out sounds; data/demo/README.md says what and whose)"
echo
echo "== soundscribe caption (offline; 5 s windows every 2.5 s; 50 sampled candidates reranked, config/default-model.toml)"
$bin --log-level warn caption --format text --config config/default-model.toml "$demo"
echo

echo "== soundscribe serve (real time) + soundscribe tail, on tcp://127.0.0.1:5556"
{
  cat <<TOML
[[sources]]
kind = "file"
id = "demo"
path = "$PWD/$demo"
realtime = true

[publishing]
endpoints = ["tcp://127.0.0.1:5556"]
snapshot_endpoints = ["tcp://127.0.0.1:5557"]
heartbeat_s = 2.0

TOML
  # The model card's decoding, with its paths made absolute (this file lives elsewhere).
  grep -v '^#' config/default-model.toml | sed -e "s|\"\.\./|\"$PWD/|"
} > "$work/serve.toml"
$bin --log-level warn serve --config "$work/serve.toml" &
daemon=$!
trap 'kill $daemon 2>/dev/null || true' EXIT
read -r n limit < <(python3 -c "import wave;w=wave.open('$demo');d=w.getnframes()/w.getframerate();print(max(1,int((d-5.0)//2.5)+1), int(d)+30)")
$bin --log-level warn tail --endpoint tcp://127.0.0.1:5556 --topic caption. --count "$n" --timeout-s "$limit" || true
wait $daemon
trap - EXIT
echo
echo "demo finished: the daemon captioned the recording as it played and exited by itself."
