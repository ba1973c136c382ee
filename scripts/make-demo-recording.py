#!/usr/bin/env python3
"""Derives the small files the repository ships from the held-out (test) split of the
dataset that `soundscribe data build` makes: the `make demo` recording (held-out clips
one after another, 0.5 s apart) and the three clips tests/it/default_model.rs captions.
Standard library only.  Usage: scripts/make-demo-recording.py [DATASET_DIR]"""
import json
import os
import sys
import wave

DATASET = sys.argv[1] if len(sys.argv) > 1 else "assets/dataset"
DEMO = [
    "clips/mix_test_00054.wav",  # a woman talks, then a hammer bangs on metal
    "clips/mix_test_00011.wav",  # a horse neighs, then someone plays the violin
    "clips/generated_guitar-025-steel_00_993af44b_0.wav",  # a guitar plays
]
FIXTURES = {
    "horse.wav": "clips/widelands_farm_horse_01_cfc03105_0.wav",
    "violin.wav": "clips/generated_violin-110-fiddle_00_6a8afffa_0.wav",
    "woman.wav": "clips/generated_female-en-scotland-f3_00_d153bfea_0.wav",
}
RATE = 44100

manifest = {}
with open(os.path.join(DATASET, "test.jsonl")) as f:
    for line in f:
        d = json.loads(line)
        manifest[d["audio"]] = d


def frames(path):
    with wave.open(os.path.join(DATASET, path)) as w:
        assert w.getframerate() == RATE and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return w.readframes(w.getnframes())


def write(path, data):
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data)


gap = b"\0\0" * (RATE // 2)
write("data/demo/demo.wav", gap.join(frames(p) for p in DEMO))
with open("data/demo/sources.json", "w") as f:
    json.dump([{"audio": p, **{k: manifest[p][k] for k in ("captions", "meta")}} for p in DEMO], f, indent=1)
for name, p in FIXTURES.items():
    write(os.path.join("tests/fixtures/default-model", name), frames(p))
with open("tests/fixtures/default-model/sources.json", "w") as f:
    json.dump({n: {"audio": p, **{k: manifest[p][k] for k in ("captions", "meta")}} for n, p in FIXTURES.items()}, f, indent=1)
print("wrote data/demo/demo.wav and tests/fixtures/default-model/")
