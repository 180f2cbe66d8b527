"""all-MiniLM-L6-v2 in trainkit: the published weights load through the name
map into the trainkit model of its architecture, and the sentence
embeddings match those of the reference implementation (committed in
minilm_reference.json by make_minilm_reference.py)."""
import json
import os
import sys

import numpy as np
import pytest

import trainkit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.environ["TRAINKIT_SAMPLES"])
import minilm  # noqa: E402  (samples/python/minilm.py)
from minilm_sentences import SENTENCES  # noqa: E402


def reference():
    with open(os.path.join(HERE, "minilm_reference.json")) as f:
        data = json.load(f)
    assert data["sentences"] == SENTENCES, "minilm_reference.json is stale: rerun make_minilm_reference.py"
    return np.array(data["embeddings"], dtype=np.float64)


def test_embeddings_match_the_reference_implementation():
    expected = reference()
    got = minilm.embed(SENTENCES, threads=2).astype(np.float64)
    assert got.shape == expected.shape == (len(SENTENCES), 384)
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    worst = np.abs(got - expected).max()
    print(f"cosine min {cosine.min():.8f}, max abs difference {worst:.2e}")
    assert cosine.min() >= 0.9999, cosine
    assert worst <= 1e-4, worst


def test_the_pretrained_file_fits_and_only_the_pooler_is_left():
    model, names = minilm.build_embedder(16)
    weights = os.path.join(minilm.model_folder(), "model.safetensors")
    with model, trainkit.Trainer(model, trainkit.Loss.MSE) as trainer:
        with pytest.raises(trainkit.TrainKitError, match="which nothing takes"):
            trainer.import_mapped(weights, names)
        report = trainer.import_mapped(weights, names, strict=False)
        assert report["missing"] == [] and report["mismatched"] == []
        assert sorted(report["loaded"]) == sorted(trainer.parameter_names())
        assert sorted(report["unexpected"]) == ["embeddings.position_ids", "pooler.dense.bias", "pooler.dense.weight"]
        assert trainer.num_parameters() == 22_565_376  # 22.7M less the pooler (384 x 384 + 384)


def test_padding_and_batch_neighbours_change_no_embedding():
    alone = [minilm.embed([s])[0] for s in SENTENCES[:3]]
    together = minilm.embed(SENTENCES[:3] + SENTENCES[-1:])
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a, b, atol=2e-6)


def test_one_epoch_of_fine_tuning_on_fortunes_learns_the_classes():
    import re
    import subprocess
    sample = os.path.join(os.environ["TRAINKIT_SAMPLES"], "minilm_finetune.py")
    run = subprocess.run([sys.executable, sample, "--epochs", "1", "--threads", "2"], capture_output=True, text=True,
                         timeout=900)
    print(run.stdout)
    assert run.returncode == 0, run.stderr
    found = re.search(r"test accuracy ([0-9.]+) -> ([0-9.]+) after", run.stdout)
    assert found, run.stdout
    before, after = float(found.group(1)), float(found.group(2))
    assert before < 0.45, before  # a new head over 4 classes: near chance
    assert after >= 0.75, after
    assert "new: head.weight, head.bias" in run.stdout


def test_the_c_sample_embeds_token_ids_from_a_file_like_the_reference(tmp_path):
    import subprocess
    spec = os.path.join(os.environ["TRAINKIT_SPECS"], "minilm_l6.json")
    names = os.path.join(os.environ["TRAINKIT_SPECS"], "minilm_l6_names.json")
    # The committed spec and name map are what minilm.py builds.
    model, built_names = minilm.build_embedder(64)
    with model, open(spec) as f:
        assert json.loads(f.read()) == json.loads(model.spec()), "samples/specs/minilm_l6.json is stale"
    with open(names) as f:
        assert json.load(f) == built_names
    tokens = tmp_path / "tokens.txt"
    subprocess.run([sys.executable, os.path.join(os.environ["TRAINKIT_SAMPLES"], "minilm.py"), "--tokens",
                    str(tokens), *SENTENCES], check=True)
    run = subprocess.run([os.environ["TRAINKIT_MINILM_C"], spec, names,
                          os.path.join(minilm.model_folder(), "model.safetensors"), str(tokens)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = [line.split(":")[1].split() for line in run.stdout.splitlines() if line.startswith("embedding ")]
    got = np.array(rows, dtype=np.float64)
    expected = reference()
    assert got.shape == expected.shape
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert cosine.min() >= 0.9999 and np.abs(got - expected).max() <= 1e-4, (cosine.min(), np.abs(got - expected).max())
    assert "cosine similarities:" in run.stdout
