"""Writes a WAV's samples as s16le mono to a FIFO at real-time pace, looping, until killed.

Every `restart_s` seconds it closes the pipe and opens it again, as a restarted capture
program would: the daemon must count a restart and carry on.
"""
import sys
import time
import wave

import numpy as np

fifo, wav_path, restart_s = sys.argv[1], sys.argv[2], float(sys.argv[3])
with wave.open(wav_path) as w:
    rate, channels = w.getframerate(), w.getnchannels()
    pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, channels)
mono = pcm.mean(axis=1).astype("<i2").tobytes()
chunk = rate // 10 * 2  # 100 ms of s16le mono
start = time.monotonic()
sent = 0
while True:
    opened = time.monotonic()
    with open(fifo, "wb", buffering=0) as out:
        pos = 0
        while time.monotonic() - opened < restart_s:
            piece = mono[pos : pos + chunk]
            if len(piece) < chunk:
                pos = 0
                continue
            out.write(piece)
            pos += chunk
            sent += chunk // 2
            lag = start + sent / rate - time.monotonic()
            if lag > 0:
                time.sleep(lag)
    time.sleep(0.5)
