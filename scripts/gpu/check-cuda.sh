#!/usr/bin/env bash
# GPU-box check (run there with a soundscribe built `--features cuda` in dist/):
#  1. version reports CUDA;  2. teacher parity on CUDA against the golden tensors;
#  3. caption on CUDA equals caption on CPU (greedy);  4. encoder/decoder timings.
# Usage: scripts/gpu/check-cuda.sh BIN OUTDIR   (LD_LIBRARY_PATH must reach torch/lib)
set -euo pipefail
bin=$1; out=$2
py=${PYTHON:-python3}
mkdir -p "$out"
$bin version
$bin convert teacher --checkpoint tests/fixtures/teacher-a/pytorch_model.bin \
  --config tests/fixtures/teacher-a/config.json \
  --conformer-config tests/fixtures/teacher-a/conformer_config.json \
  --beats tests/fixtures/teacher-a/beats.pt --out "$out/model"
for dev in cpu cuda; do
  $bin --log-level warn dump --model "$out/model" --input tests/fixtures/teacher-a/io.safetensors \
    --out "$out/dump-$dev.safetensors" --device $dev
done
$py - "$out" <<'PY'
import sys
from safetensors.torch import load_file
out = sys.argv[1]
golden = load_file("tests/fixtures/teacher-a/io.safetensors")
for dev in ("cpu", "cuda"):
    got = load_file(f"{out}/dump-{dev}.safetensors")
    worst = 0.0
    for name, t in got.items():
        if name not in golden:
            continue
        g = golden[name]
        if g.dtype.is_floating_point:
            scale = max(1.0, g.abs().max().item())
            d = (t.double() - g.double()).abs().max().item() / scale
            worst = max(worst, d)
            print(f"{dev:>4} {name:>16}: max|Δ|/scale = {d:.2e}")
        else:
            print(f"{dev:>4} {name:>16}: {'identical' if (t == g).all() else 'DIFFERENT'}")
    print(f"{dev}: worst relative difference {worst:.2e} ({'PASS' if worst <= 1e-4 else 'FAIL'} at 1e-4)")
PY
$py - "$out/tone.wav" <<'PY'
import sys, wave, struct, math
w = wave.open(sys.argv[1], "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
w.writeframes(b"".join(struct.pack("<h", int(9000*math.sin(2*math.pi*(300+40*(i/16000))*i/16000))) for i in range(16000*12)))
w.close()
PY
for dev in cpu cuda; do
  printf '[model]\ndevice = "%s"\n[windowing]\nwindow_s = 10.0\nhop_s = 2.5\n[decoding]\nstrategy = "greedy"\n' $dev > "$out/$dev.toml"
  /usr/bin/time -f "$dev caption wall %e s" $bin --log-level warn caption --model "$out/model" --config "$out/$dev.toml" "$out/tone.wav" \
    | $py -c 'import sys,json; [print(json.loads(l)["text"]) for l in sys.stdin]' > "$out/caption-$dev.txt"
done
if cmp -s "$out/caption-cpu.txt" "$out/caption-cuda.txt"; then echo "caption cpu == cuda (greedy): PASS"; else echo "caption cpu != cuda:"; diff "$out/caption-cpu.txt" "$out/caption-cuda.txt" || true; fi
