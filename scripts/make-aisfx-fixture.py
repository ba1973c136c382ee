#!/usr/bin/env python3
"""Records the aisfx parity fixture: the package's own front end and CNN on test signals.

Runs aisfx 0.1.2's code (librosa front end `aisfx/spectrogram/spectrogram_librosa.py`,
`aisfx/preprocessing.py`, network `aisfx/models/cnn2d.py` loaded the way
`aisfx/inference.py` loads it) on a few deterministic 44.1 kHz signals and writes
inputs and outputs to tests/fixtures/aisfx/aisfx-parity.safetensors:

  sig{i}.wave        (N,)            float32 waveform as written to the WAV the package reads
  sig{i}.mel         (T, 96)         normalised log-mel, time-major
  sig{i}.blocks      (K, 100, 96)    blocks of 100 frames, hop 100, last block zero-padded
                                     (only for some signals, to stay under 2 MB)
  sig{i}.memory      (K, 512, 12)    conv_block4 output before pooling, averaged over freq
  sig{i}.embedding   (K, 512)        the package's own embedding (`get_embedding`)
  sig{i}.conv4       (512, 12, 12)   conv_block4 output before pooling, block `conv4_block`
  sig{i}.conv4_block ()              which block `conv4` is (only for some signals)

Needs a Python with CPU torch, librosa, soundfile, safetensors and the aisfx wheel
(installed with --no-deps; its numpy/librosa pins are not needed):
  /work/refvenv/bin/python scripts/make-aisfx-fixture.py assets/aisfx/checkpoint.pth

Notes on the package: the librosa path returns the mel spectrogram band-major (96, T)
while `blocking` and the network expect time-major (T, 96), as the essentia path
returns; it is transposed here. The checkpoint is `(state_dict, ds_dict)` whose ds_dict
holds numpy scalars, so it is loaded with those numpy globals allow-listed.
"""

import codecs
import os
import sys
import tempfile

import librosa
import numpy as np
import soundfile as sf
import torch
from safetensors.numpy import save_file

from aisfx import inference
from aisfx.models.cnn2d import CrossNet, EmbeddingNet
from aisfx.preprocessing import blocking, spectrogram_normalize
from aisfx.spectrogram.spectrogram_librosa import compute_spectrogram

SR = 44100


def signals():
    """Deterministic test signals at 44.1 kHz (the last has an odd length)."""
    rng = np.random.default_rng(20260211)
    t = np.arange(int(3.4 * SR)) / SR  # 147 frames: a full and a partial block
    tone = 0.5 * np.sin(2 * np.pi * 440.0 * t) + 0.1 * rng.standard_normal(t.size)
    t = np.arange(int(1.0 * SR)) / SR
    chirp = 0.3 * np.sin(2 * np.pi * (100.0 * t + (15000.0 - 100.0) / (2 * 1.0) * t**2))
    click = np.zeros(int(0.5 * SR))
    click[SR // 4 : SR // 4 + 8] = [1.0, -0.8, 0.6, -0.4, 0.3, -0.2, 0.1, -0.05]
    n = 33957  # 0.77 s, odd
    t = np.arange(n) / SR
    odd = 0.2 * rng.standard_normal(n) * np.exp(-3 * t) + 0.05 * np.sin(2 * np.pi * 3000 * t)
    return [tone, chirp, click, odd]


def load_model(path):
    allowed = [np.dtype, codecs.encode]
    core = getattr(np, "_core", None) or np.core
    # The file names numpy 1's path; numpy 2 keeps it as an alias of numpy._core.
    allowed.append((core.multiarray.scalar, "numpy.core.multiarray.scalar"))
    allowed.extend(getattr(np.dtypes, n) for n in dir(np.dtypes) if n.endswith("DType"))
    with torch.serialization.safe_globals(allowed):
        weights, ds_dict = torch.load(path, map_location="cpu", weights_only=True)
    return inference.load_bestModel(weights, ds_dict, "cpu")


def main():
    ckpt = sys.argv[1] if len(sys.argv) > 1 else "assets/aisfx/checkpoint.pth"
    out = sys.argv[2] if len(sys.argv) > 2 else "tests/fixtures/aisfx/aisfx-parity.safetensors"
    model = load_model(ckpt)
    net: EmbeddingNet = model.embedding_net
    assert isinstance(model, CrossNet) and net.pool_type == "max"
    tensors = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i, y in enumerate(signals()):
            wav = os.path.join(tmp, f"sig{i}.wav")
            sf.write(wav, y.astype(np.float32), SR, subtype="FLOAT")
            wave, _ = librosa.load(wav, sr=SR)
            spec = compute_spectrogram(
                filename=wav,
                sr=inference.SAMPLE_RATE,
                block_size=inference.SPEC_BLOCK_LENGTH,
                hop_size=inference.SPEC_HOP_LENGTH,
                n_mels=inference.MEL_BINS,
                f_min=inference.F_MIN,
                f_max=inference.F_MAX,
            )
            mel = spectrogram_normalize(spec, spec_norm="original").T
            blocks = blocking(mel, block_size=inference.EMB_BLOCK_LENGTH, hop_size=100,
                              drop_partial_block=False)
            with torch.no_grad():
                x = torch.tensor(blocks, dtype=torch.float32).unsqueeze(1)
                x = net.conv_block1(x, pool_size=(2, 2), pool_type=net.pool_type)
                x = net.conv_block2(x, pool_size=(2, 2), pool_type=net.pool_type)
                x = net.conv_block3(x, pool_size=(2, 2), pool_type=net.pool_type)
                conv4 = net.conv_block4(x, pool_size=(1, 1), pool_type=net.pool_type)
                memory = conv4.mean(dim=3)
                emb = model.get_embedding(torch.tensor(blocks, dtype=torch.float32))
            assert torch.allclose(emb, memory.max(dim=2).values, atol=1e-6)
            tensors[f"sig{i}.wave"] = wave.astype(np.float32)
            tensors[f"sig{i}.mel"] = mel.astype(np.float32)
            if i in (0, 3):  # the others are their mel zero-padded to one block
                tensors[f"sig{i}.blocks"] = blocks.astype(np.float32)
            tensors[f"sig{i}.memory"] = memory.numpy()
            tensors[f"sig{i}.embedding"] = emb.numpy()
            if i in (0, 3):  # a full block and a zero-padded partial block
                k = 0 if i == 0 else blocks.shape[0] - 1
                tensors[f"sig{i}.conv4"] = conv4[k].numpy()
                tensors[f"sig{i}.conv4_block"] = np.array(k, dtype=np.int64)
            print(f"sig{i}: {wave.size} samples, mel {mel.shape}, blocks {blocks.shape}")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, out,
              metadata={"aisfx": "0.1.2", "librosa": librosa.__version__,
                        "torch": torch.__version__, "numpy": np.__version__})
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
