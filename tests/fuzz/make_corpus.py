"""Seeds for the fuzzers: a valid safetensors file written by the reference
implementation (Python's safetensors) with all its truncations and a sample of
header bit flips, a valid model spec, a valid IDX file, and CSV files."""
import json
import os
import random
import struct
import sys

import numpy as np
from safetensors.numpy import save_file


def main(out: str) -> None:
    for name in ("safetensors", "model_spec", "idx", "csv"):
        os.makedirs(f"{out}/{name}", exist_ok=True)
    path = f"{out}/reference.safetensors"
    save_file({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(3, dtype=np.float16)}, path,
              metadata={"format": "seed"})
    data = open(path, "rb").read()
    header_end = 8 + struct.unpack("<Q", data[:8])[0]
    for n in range(len(data) + 1):
        open(f"{out}/safetensors/truncated-{n}", "wb").write(data[:n])
    rng = random.Random(1)
    for i in range(300):
        flipped = bytearray(data)
        flipped[rng.randrange(header_end)] ^= 1 << rng.randrange(8)
        open(f"{out}/safetensors/flip-{i}", "wb").write(bytes(flipped))
    spec = {"format": "trainkit-model", "version": 1,
            "nodes": [{"name": "x", "op": "input", "shape": [4]},
                      {"name": "h", "op": "linear", "inputs": ["x"], "units": 3, "bias": True, "init": "he_normal"},
                      {"name": "a", "op": "gelu", "inputs": ["h"]},
                      {"name": "d", "op": "dropout", "inputs": ["a"], "p": 0.5},
                      {"name": "s", "op": "add", "inputs": ["d", "h"]}],
            "output": {"node": "s", "name": "y"}}
    open(f"{out}/model_spec/valid.json", "w").write(json.dumps(spec))
    csv = 'a,"b, c",label\r\n1,2.5,0\r\n\r\n-1,"4",2\n0.5,1e-3,1\n'
    open(f"{out}/csv/valid.csv", "w").write(csv)
    open(f"{out}/csv/no_header.csv", "w").write("1,2,0\n3,4,1\n")
    open(f"{out}/csv/quoted.csv", "w").write('x,label\n"1""",0\n"2\n3",1\n')
    idx = bytes([0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6])
    open(f"{out}/idx/valid.idx", "wb").write(idx)
    open(f"{out}/idx/i32.idx", "wb").write(bytes([0, 0, 0x0C, 1, 0, 0, 0, 1, 1, 2, 3, 4]))


if __name__ == "__main__":
    main(sys.argv[1])
