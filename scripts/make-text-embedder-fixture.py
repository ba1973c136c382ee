"""Records sentence-transformers' own embeddings as the reference for our tch embedders.

Run once (needs a Python with torch, sentence-transformers and safetensors; the project's
.venv deliberately lacks a working torch):
    python scripts/make-text-embedder-fixture.py assets/text tests/fixtures/text-embedders
Writes sentences.json and one <model>.safetensors (float32 "embeddings", (N, dim)) per model.
"""
import json
import sys
from pathlib import Path

import sentence_transformers
import torch
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer

SENTENCES = [
    "a dog barks while cars pass by",
    "A dog is barking loudly.",
    "rain falls on a tin roof",
    "birds chirp in the distance as wind blows",
    "a man speaks and then a door slams",
    "footsteps approach on gravel",
    "a bell rings, then footsteps approach",
    "water runs from a faucet into a sink",
    "an engine idles and a horn honks twice",
    "people talk and laugh in a crowded room",
    "a cat meows",
    "thunder rumbles while heavy rain falls",
    "a piano plays a slow melody",
    "someone types on a keyboard quickly",
    "a baby cries and a woman speaks softly",
    "sirens wail as traffic passes",
    "café noise: cups clink, people chatter",
    "ÜBER-LOUD machinery whirs!!! 123",
    "a",
    "a very long caption about a busy street where many cars and buses pass by, "
    "horns honk, people talk, a dog barks, birds sing and a train rumbles in the distance",
]


def main():
    assets, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    (out / "sentences.json").write_text(json.dumps(SENTENCES, ensure_ascii=False, indent=1) + "\n")
    torch.manual_seed(0)
    for name in ["all-MiniLM-L6-v2", "all-mpnet-base-v2"]:
        model = SentenceTransformer(str(assets / name), device="cpu")
        emb = model.encode(SENTENCES, convert_to_tensor=True, batch_size=8).float().contiguous()
        save_file(
            {"embeddings": emb},
            str(out / f"{name}.safetensors"),
            metadata={
                "sentence_transformers": sentence_transformers.__version__,
                "torch": torch.__version__,
            },
        )
        print(name, tuple(emb.shape))


if __name__ == "__main__":
    main()
