"""Fine-tunes the pretrained all-MiniLM-L6-v2 body (see minilm.py) with a new
classification head on a labelled text set made from Debian's `fortunes`:
each fortune file is a class, each fortune a sample. Reports the test
accuracy before and after, and the time per step.

    python3 samples/python/minilm_finetune.py --classes computers food love science --epochs 1
"""
from __future__ import annotations

import argparse
import os
import random
import time
from typing import List, Sequence, Tuple

import numpy as np

import minilm
import trainkit

FORTUNES = "/usr/share/games/fortunes"


def fortunes(classes: Sequence[str], per_class: int, seed: int) -> List[Tuple[str, int]]:
    """(text, class) pairs: up to per_class fortunes of each file, shuffled."""
    samples: List[Tuple[str, int]] = []
    rng = random.Random(seed)
    for label, name in enumerate(classes):
        with open(os.path.join(FORTUNES, name), encoding="utf-8", errors="replace") as f:
            texts = [" ".join(t.split()) for t in f.read().split("\n%\n")]
        texts = [t for t in texts if t]
        rng.shuffle(texts)
        samples += [(t, label) for t in texts[:per_class]]
    rng.shuffle(samples)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", nargs="+", default=["computers", "food", "love", "science"])
    parser.add_argument("--per-class", type=int, default=140, help="fortunes taken from each file")
    parser.add_argument("--length", type=int, default=48, help="tokens per sample (longer ones are cut)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--lr", type=float, default=5e-5, help="the body's rate; the head's is 20x")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--model", default="", help="folder with model.safetensors and tokenizer.json")
    args = parser.parse_args()

    folder = args.model or minilm.model_folder()
    samples = fortunes(args.classes, args.per_class, seed=1)
    test_count = len(samples) // 5
    tokens = minilm.Tokens(folder, [t for t, _ in samples], args.length)
    labels = np.array([c for _, c in samples], dtype=np.int32)
    train, test = slice(test_count, len(samples)), slice(0, test_count)
    print(f"{len(samples) - test_count} training and {test_count} test fortunes of {len(args.classes)} classes "
          f"({', '.join(args.classes)}), {args.length} tokens each")

    model = trainkit.Model()
    x, mask, names = minilm.build_encoder(model, args.length)
    head = model.linear(model.op("masked_mean_pool", x, mask), len(args.classes))
    model.set_node_name(head, "head")
    model.output(head, "logits")
    options = trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAMW, learning_rate=args.lr, seed=2,
                                      weight_decay=0.01, **({"threads": args.threads} if args.threads else {}))
    with model, options, trainkit.Trainer(model, options=options) as trainer:
        report = trainer.import_mapped(os.path.join(folder, "model.safetensors"), names, strict=False)
        print(f"pretrained: {len(report['loaded'])} tensors loaded, new: {', '.join(report['missing'])}, "
              f"left in the file: {', '.join(report['unexpected'])}")
        trainer.set_param_group("head.*", lr_scale=20.0)
        _, before = trainer.evaluate(tokens.inputs(test), labels[test])
        print(f"test accuracy before fine-tuning: {before:.4f}")
        rows = np.arange(train.start, train.stop)
        steps, seconds = 0, 0.0
        for epoch in range(1, args.epochs + 1):
            np.random.default_rng(epoch).shuffle(rows)
            losses = []
            for at in range(0, len(rows) - args.batch + 1, args.batch):
                batch = rows[at:at + args.batch]
                start = time.perf_counter()
                losses.append(trainer.step(tokens.inputs(batch), labels[batch]))
                seconds += time.perf_counter() - start
                steps += 1
                if steps % 10 == 0:
                    print(f"  epoch {epoch} step {steps}: loss {np.mean(losses[-10:]):.4f}, "
                          f"{seconds / steps * 1000:.0f} ms/step", flush=True)
            _, accuracy = trainer.evaluate(tokens.inputs(test), labels[test])
            print(f"epoch {epoch}: train loss {np.mean(losses):.4f}, test accuracy {accuracy:.4f}")
        print(f"test accuracy {before:.4f} -> {accuracy:.4f} after {steps} steps of {args.batch} "
              f"({seconds / max(steps, 1) * 1000:.0f} ms per step on the CPU)")


if __name__ == "__main__":
    main()
