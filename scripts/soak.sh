#!/usr/bin/env bash
# Soak test (not in CI): the release daemon for DURATION_S seconds (default 3600) with
# 4 real-time raw-PCM streams through FIFOs (each writer restarts every 5 minutes), the
# default model at config/default-model.toml's decoding, subscriber churn, a stalled
# subscriber and a SIGHUP reload every minute. Samples the daemon's RSS each minute and
# ends with captions published against windows accepted (they must be equal).
#   scripts/soak.sh [DURATION_S]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-3600}
bin=target/release/soundscribe
py=.venv/bin/python
[ -x "$bin" ] || cargo build --locked --release
work=$(mktemp -d /tmp/soundscribe-soak.XXXXXX)
port=$((20000 + RANDOM % 20000))
metrics_port=$((port + 1))
endpoint="tcp://127.0.0.1:$port"
root=$PWD
{
  for i in 1 2 3 4; do
    mkfifo "$work/s$i.fifo"
    cat <<TOML
[[sources]]
kind = "pcm"
id = "s$i"
path = "$work/s$i.fifo"
format = "s16le"
sample_rate = 44100
channels = 1

TOML
  done
  cat <<TOML
[publishing]
endpoints = ["$endpoint"]
snapshot_endpoints = []
heartbeat_s = 5.0
metrics_endpoint = "127.0.0.1:$metrics_port"

TOML
  grep -v '^#' config/default-model.toml | sed -e "s|\"\.\./|\"$root/|"
} > "$work/soak.toml"
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; }
trap cleanup EXIT
"$bin" --log-format json serve --config "$work/soak.toml" > "$work/daemon.log" 2>&1 &
daemon=$!
for i in 1 2 3 4; do
  $py scripts/soak/feed.py "$work/s$i.fifo" data/demo/demo.wav 300 &
  pids+=($!)
done
sleep 20 # the model loads
$py scripts/soak/clients.py "$endpoint" "$duration" 20 > "$work/clients.json" &
clients=$!
rss() { awk '/VmRSS/ {print $2}' "/proc/$daemon/status"; }
first_rss=$(rss)
echo "soak: ${duration} s, daemon pid $daemon, work dir $work; RSS at start ${first_rss} kB"
elapsed=0
while [ "$elapsed" -lt "$duration" ]; do
  sleep 60
  elapsed=$((elapsed + 60))
  kill -HUP "$daemon"
  echo "soak: t=${elapsed}s RSS $(rss) kB"
done
last_rss=$(rss)
kill "${pids[@]}" 2>/dev/null || true
sleep 2
metrics=$(curl -s "http://127.0.0.1:$metrics_port/metrics" || true)
kill -TERM "$daemon"
wait "$daemon" || true
wait "$clients" || true
accepted=$(grep -o '"captioned":[0-9]*' "$work/daemon.log" | tail -1 | cut -d: -f2)
published=$(grep -o '"published":[0-9]*' "$work/daemon.log" | tail -1 | cut -d: -f2)
echo "soak: RSS first ${first_rss} kB, last ${last_rss} kB"
echo "soak: windows accepted (captioned) ${accepted:-?}, captions published ${published:-?}"
echo "soak: restarts: $(echo "$metrics" | grep '^soundscribe_audio_restarts_total' | tr '\n' ' ')"
echo "soak: dropped: $(echo "$metrics" | grep '^soundscribe_audio_windows_dropped_total' | tr '\n' ' ')"
echo "soak: subscribers: $(cat "$work/clients.json")"
if [ -n "${accepted:-}" ] && [ "$accepted" = "${published:-}" ]; then
  echo "soak: OK (every accepted window was published)"
else
  echo "soak: MISMATCH"; exit 1
fi
