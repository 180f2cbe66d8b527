"""Reads trainkit's exported weights with the safetensors and numpy packages
and checks them against the values the C API reported."""
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def main(folder: str) -> int:
    expected = json.load(open(f"{folder}/expected.json"))
    f32 = load_file(f"{folder}/weights-f32.safetensors")
    f16 = load_file(f"{folder}/weights-f16.safetensors")
    assert sorted(f32) == sorted(expected), (sorted(f32), sorted(expected))
    for name, want in expected.items():
        values = np.array(want["values"], dtype=np.float32).reshape(want["shape"])
        assert f32[name].dtype == np.float32 and f32[name].shape == values.shape, name
        assert np.array_equal(f32[name], values), f"{name}: f32 values differ"
        # numpy rounds to nearest-even, as trainkit does: the halves must match bit for bit.
        assert f16[name].dtype == np.float16, name
        assert np.array_equal(f16[name], values.astype(np.float16)), f"{name}: f16 values differ"
    with safe_open(f"{folder}/weights-f32.safetensors", framework="numpy") as handle:
        metadata = handle.metadata()
    assert metadata["format"] == "trainkit-weights"
    spec = json.loads(metadata["model_spec"])
    assert spec["format"] == "trainkit-model" and spec["output"]["name"] == "logits", spec
    print(f"read {len(expected)} tensors with safetensors {__import__('safetensors').__version__}, numpy {np.__version__}: equal")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
