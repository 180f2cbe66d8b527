"""The MiniLM fine-tuning step on the CPU: trainkit against PyTorch eager on
the same cores, in one run. Both take all-MiniLM-L6-v2's body (the same
pretrained weights) with a new 4-class head over masked mean pooling, AdamW,
the same batch of token ids (batch x length, a quarter of it padding), and
the same thread count; each is timed over `steps` steps after two warm-up
steps, alternating rounds so that neither gets the machine's quieter moments.

    python3 bench/minilm_bench.py --threads 2 --batch 16 --length 48
(needs torch and transformers beside the trainkit package on PYTHONPATH)
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples", "python"))
import minilm  # noqa: E402
from step_rounds import report, time_rounds  # noqa: E402
import trainkit  # noqa: E402


def batch(rows: int, length: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1000, 30000, size=(rows, length)).astype(np.int32)
    lengths = rng.integers(length // 2, length + 1, size=rows)
    mask = (np.arange(length)[None, :] < lengths[:, None]).astype(np.float32)
    ids[:, 0] = 101  # [CLS]
    ids = np.where(mask > 0, ids, 0).astype(np.int32)
    labels = rng.integers(0, 4, size=rows).astype(np.int32)
    return ids, mask, labels


def trainkit_stepper(ids, mask, labels, threads):
    model = trainkit.Model()
    x, mask_node, names = minilm.build_encoder(model, ids.shape[1])
    model.output(model.linear(model.op("masked_mean_pool", x, mask_node), 4), "logits")
    options = trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAMW, learning_rate=5e-5, threads=threads)
    trainer = trainkit.Trainer(model, options=options)
    trainer.import_mapped(os.path.join(minilm.model_folder(), "model.safetensors"), names, strict=False)
    inputs = {"ids": ids, "types": np.zeros_like(ids), "mask": mask}
    return lambda: trainer.step(inputs, labels)


def torch_stepper(ids, mask, labels, threads):
    import torch
    from transformers import BertModel
    torch.set_num_threads(threads)
    body = BertModel.from_pretrained(minilm.model_folder(), add_pooling_layer=False, attn_implementation="sdpa")
    head = torch.nn.Linear(384, 4)
    body.train()
    params = list(body.parameters()) + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=5e-5)
    t_ids, t_mask, t_labels = torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(mask), torch.from_numpy(
        labels.astype(np.int64))
    # The same model as trainkit's: no dropout (trainkit's spec has none).
    for module in body.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0

    def step():
        optimizer.zero_grad(set_to_none=True)
        hidden = body(input_ids=t_ids, attention_mask=t_mask).last_hidden_state
        pooled = (hidden * t_mask[..., None]).sum(1) / t_mask.sum(1, keepdim=True)
        loss = torch.nn.functional.cross_entropy(head(pooled), t_labels)
        loss.backward()
        optimizer.step()
        return float(loss)
    return step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=48)
    parser.add_argument("--steps", type=int, default=5, help="steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    ids, mask, labels = batch(args.batch, args.length)
    steppers = {"trainkit": trainkit_stepper(ids, mask, labels, args.threads),
                "pytorch eager": torch_stepper(ids, mask, labels, args.threads)}
    times = time_rounds(steppers, args.steps, args.rounds)
    import torch
    print(f"MiniLM-L6 fine-tuning step, batch {args.batch} x {args.length} tokens, {args.threads} threads, "
          f"torch {torch.__version__}")
    report(times, args.batch * args.length)

if __name__ == "__main__":
    main()
