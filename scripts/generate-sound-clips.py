#!/usr/bin/env python3
"""Renders the generated pseudo-packages of the dataset builder (stdlib only).

* generated-speech/<voice>/NN.wav: espeak-ng speaking everyday sentences, one folder per
  voice (the split unit), voices named *-male-* / *-female-* so the rule table labels them.
* generated-instruments/<label>-<program>/NN.wav: short melodies written as MIDI here and
  rendered by fluidsynth with the FluidR3 GM soundfont (fluid-soundfont-gm), one folder per
  General MIDI program (the split unit).

Deterministic (fixed seed); idempotent (a folder with a .done marker is skipped).
Usage: scripts/generate-sound-clips.py [ROOT]   (default assets/sound-packages)
"""
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = sys.argv[1] if len(sys.argv) > 1 else "assets/sound-packages"

SENTENCES = [
    "Good morning, could you pass me the newspaper please?",
    "The train to the city leaves at half past seven.",
    "I think we should take the umbrella today.",
    "Please turn left at the next traffic light.",
    "Dinner will be ready in about twenty minutes.",
    "Have you seen my keys anywhere in the kitchen?",
    "The meeting has been moved to Thursday afternoon.",
    "Welcome everyone, thank you for coming tonight.",
    "Let me know when you arrive at the station.",
    "The weather forecast says it will rain tomorrow.",
    "We need two more chairs for the guests.",
    "Can you hear me clearly on the other end?",
    "This is the last call for passengers to Berlin.",
    "My brother is coming to visit next weekend.",
    "Remember to water the plants before you leave.",
    "The library closes at six on Saturdays.",
    "Could I have a cup of coffee with milk?",
    "Our next stop is the central market.",
    "The children are playing in the garden.",
    "I will call you back in five minutes.",
    "Please keep your belongings with you at all times.",
    "That was the best concert I have ever been to.",
    "Turn the volume down a little, please.",
    "The doctor will see you in a moment.",
]

# (folder, espeak-ng voice, speed, pitch)
VOICES = [
    ("male-en-us-m1", "en-us+m1", 160, 40),
    ("male-en-gb-m3", "en-gb+m3", 150, 35),
    ("male-en-scotland-m2", "en-gb-scotland+m2", 165, 45),
    ("male-en-caribbean-m4", "en-029+m4", 155, 30),
    ("male-en-rp-m7", "en-gb-x-rp+m7", 170, 50),
    ("female-en-us-f1", "en-us+f1", 160, 55),
    ("female-en-gb-f2", "en-gb+f2", 150, 60),
    ("female-en-scotland-f3", "en-gb-scotland+f3", 165, 50),
    ("female-en-caribbean-f4", "en-029+f4", 155, 65),
    ("female-en-rp-f5", "en-gb-x-rp+f5", 170, 58),
]

# (label, GM program 0-based, folder name)
PROGRAMS = [
    ("piano", 0, "acoustic-grand"), ("piano", 1, "bright-acoustic"),
    ("piano", 2, "electric-grand"), ("piano", 3, "honky-tonk"),
    ("organ", 16, "drawbar"), ("organ", 17, "percussive"), ("organ", 19, "church"),
    ("organ", 20, "reed"),
    ("guitar", 24, "nylon"), ("guitar", 25, "steel"), ("guitar", 26, "jazz"),
    ("guitar", 27, "clean-electric"),
    ("violin", 40, "violin"), ("violin", 110, "fiddle"), ("violin", 41, "viola"),
    ("violin", 48, "string-ensemble"),
    ("flute", 73, "flute"), ("flute", 72, "piccolo"), ("flute", 75, "pan-flute"),
    ("flute", 74, "recorder"),
    ("brass", 56, "trumpet"), ("brass", 59, "muted-trumpet"),
    ("brass", 61, "brass-section"), ("brass", 57, "trombone"),
    ("saxophone", 65, "alto-sax"), ("saxophone", 66, "tenor-sax"),
    ("saxophone", 64, "soprano-sax"), ("saxophone", 67, "baritone-sax"),
    ("plucked", 46, "harp"), ("plucked", 45, "pizzicato"), ("plucked", 104, "sitar"),
    ("plucked", 105, "banjo"),
]
PHRASES_PER_PROGRAM = 10
SOUNDFONTS = [
    os.path.join(ROOT, "fluid-soundfont-gm/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
]
SOUNDFONT = next((p for p in SOUNDFONTS if os.path.exists(p)), SOUNDFONTS[0])


def varlen(n):
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi_file(program, notes, tempo_us=500000, tpq=480):
    """One-track SMF: notes are (start_ticks, dur_ticks, pitch, velocity)."""
    events = []
    for start, dur, pitch, vel in notes:
        events.append((start, 1, bytes([0x90, pitch, vel])))
        events.append((start + dur, 0, bytes([0x80, pitch, 0])))
    events.sort(key=lambda e: (e[0], e[1]))
    track = bytearray()
    track += varlen(0) + b"\xff\x51\x03" + tempo_us.to_bytes(3, "big")
    track += varlen(0) + bytes([0xC0, program])
    now = 0
    for t, _, data in events:
        track += varlen(t - now) + data
        now = t
    track += varlen(tpq) + b"\xff\x2f\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, tpq)
            + b"MTrk" + struct.pack(">I", len(track)) + bytes(track))


def phrase(rng, label):
    scale = [0, 2, 4, 5, 7, 9, 11, 12, 14, 16]
    base = {"piano": 60, "organ": 55, "guitar": 52, "violin": 67, "flute": 74,
            "brass": 62, "saxophone": 58, "plucked": 60}[label] + rng.choice([-2, 0, 3, 5])
    notes, t, tpq = [], 0, 480
    chords = label in ("piano", "organ", "guitar", "plucked") and rng.random() < 0.5
    for _ in range(rng.randint(6, 12)):
        dur = rng.choice([tpq // 2, tpq // 2, tpq, tpq, tpq * 3 // 2, tpq * 2])
        deg = rng.randrange(len(scale) - 4)
        vel = rng.randint(70, 115)
        notes.append((t, dur, base + scale[deg], vel))
        if chords:
            notes.append((t, dur, base + scale[deg + 2], vel - 10))
            notes.append((t, dur, base + scale[deg + 4], vel - 10))
        t += dur
    tempo = rng.choice([400000, 500000, 600000])
    return notes, tempo


def render_instruments():
    top = os.path.join(ROOT, "generated-instruments")
    rng = random.Random(20261130)
    for label, program, name in PROGRAMS:
        folder = os.path.join(top, f"{label}-{program:03d}-{name}")
        plans = [phrase(rng, label) for _ in range(PHRASES_PER_PROGRAM)]
        if os.path.exists(os.path.join(folder, ".done")):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        with tempfile.TemporaryDirectory() as tmp:
            for i, (notes, tempo) in enumerate(plans):
                mid = os.path.join(tmp, f"{i:02d}.mid")
                with open(mid, "wb") as f:
                    f.write(midi_file(program, notes, tempo))
                out = os.path.join(folder, f"{i:02d}.wav")
                subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.8", "-r", "44100",
                                "-F", out, SOUNDFONT, mid], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open(os.path.join(folder, ".done"), "w").close()
        print(f"generate-sound-clips: {folder}")


def render_speech():
    top = os.path.join(ROOT, "generated-speech")
    for idx, (name, voice, speed, pitch) in enumerate(VOICES):
        folder = os.path.join(top, name)
        if os.path.exists(os.path.join(folder, ".done")):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        rng = random.Random(1000 + idx)
        for i, text in enumerate(SENTENCES):
            out = os.path.join(folder, f"{i:02d}.wav")
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed + rng.randint(-10, 10)),
                            "-p", str(pitch), "-w", out, text], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        open(os.path.join(folder, ".done"), "w").close()
        print(f"generate-sound-clips: {folder}")


if __name__ == "__main__":
    for tool in ("espeak-ng", "fluidsynth"):
        if shutil.which(tool) is None:
            sys.exit(f"generate-sound-clips: {tool} is not installed (make setup)")
    if not os.path.exists(SOUNDFONT):
        sys.exit(f"generate-sound-clips: {SOUNDFONT} missing (scripts/fetch-sound-packages.sh fluid-soundfont-gm)")
    render_speech()
    render_instruments()
