"""The GPT training step on the CPU: trainkit against PyTorch eager on the
same cores, in one run. Both build samples/c/gpt.c's model (a character-level
decoder-only transformer: token embedding and learned positions, pre-norm
blocks of causal attention and a tanh-GELU MLP, final LayerNorm, the output
projection tied to the embedding), start from the same weights (trainkit's
initialisation copied into the PyTorch module), and train with AdamW
(betas 0.9, 0.95, weight decay 0.1 off biases and norms) and gradient
clipping at norm 1 on the same batch of windows, with the same thread count;
each is timed over `steps` steps after two warm-up steps, alternating rounds
so that neither gets the machine's quieter moments. The first losses are
printed side by side: they must agree.

    PYTHONPATH=bazel-bin/bindings/python python3 bench/gpt_bench.py --threads 2
(needs torch beside the trainkit package)
"""
from __future__ import annotations

import argparse
from typing import Dict

import numpy as np

import trainkit
from step_rounds import report, time_rounds


def build(model: trainkit.Model, vocab: int, context: int, dim: int, layers: int, heads: int) -> None:
    ids = model.input_indices("ids", context)
    tokens = model.op("embedding", ids, vocab=vocab, dim=dim)
    model.set_node_name(tokens, "tokens")
    x = model.op("learned_positions", tokens, max_length=context)
    model.set_node_name(x, "positions")
    for layer in range(layers):
        def named(node: int, part: str) -> int:
            model.set_node_name(node, f"block{layer}.{part}")
            return node
        h = named(model.layer_norm(x, 1, 1e-5), "norm1")
        q, k, v = (named(model.linear(h, dim), part) for part in ("query", "key", "value"))
        h = model.op("attention", q, k, v, heads=heads, causal=True)
        x = model.add(x, named(model.linear(h, dim), "attention_out"))
        h = named(model.linear(named(model.layer_norm(x, 1, 1e-5), "norm2"), 4 * dim), "mlp_in")
        x = model.add(x, named(model.linear(model.op("gelu_tanh", h), dim), "mlp_out"))
    x = model.layer_norm(x, 1, 1e-5)
    model.set_node_name(x, "final_norm")
    head = model.op("linear", x, units=vocab, bias=False)
    model.share_parameter(head, "weight", tokens)
    model.output(head, "logits")


def trainkit_stepper(args, ids, targets):
    model = trainkit.Model()
    build(model, args.vocab, args.context, args.dim, args.layers, args.heads)
    options = trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAMW, learning_rate=1e-3, threads=args.threads,
                                      weight_decay=0.1)
    options.adam(0.9, 0.95, 1e-8).clip_norm(1.0)
    trainer = trainkit.Trainer(model, options=options)
    weights = {name: trainer.parameter(name) for name in trainer.parameter_names()}
    return (lambda: trainer.step({"ids": ids}, targets)), weights


def torch_stepper(args, ids, targets, weights: Dict[str, np.ndarray]):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(args.threads)
    dim, heads = args.dim, args.heads

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1, self.norm2 = torch.nn.LayerNorm(dim), torch.nn.LayerNorm(dim)
            self.query, self.key, self.value = (torch.nn.Linear(dim, dim) for _ in range(3))
            self.attention_out = torch.nn.Linear(dim, dim)
            self.mlp_in, self.mlp_out = torch.nn.Linear(dim, 4 * dim), torch.nn.Linear(4 * dim, dim)

        def forward(self, x):
            b, t, _ = x.shape
            h = self.norm1(x)
            q, k, v = (p(h).view(b, t, heads, dim // heads).transpose(1, 2) for p in (self.query, self.key, self.value))
            h = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(b, t, dim)
            x = x + self.attention_out(h)
            return x + self.mlp_out(F.gelu(self.mlp_in(self.norm2(x)), approximate="tanh"))

    class GPT(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tokens = torch.nn.Embedding(args.vocab, dim)
            self.positions = torch.nn.Parameter(torch.zeros(args.context, dim))
            self.blocks = torch.nn.ModuleList(Block() for _ in range(args.layers))
            self.final_norm = torch.nn.LayerNorm(dim)

        def forward(self, ids):
            x = self.tokens(ids) + self.positions
            for block in self.blocks:
                x = block(x)
            return self.final_norm(x) @ self.tokens.weight.T  # tied

    gpt = GPT()
    with torch.no_grad():
        for name, value in weights.items():
            owner, param = name.rsplit(".", 1)
            owner = owner.replace("block", "blocks.", 1) if owner.startswith("block") else owner
            target = gpt.positions if owner == "positions" else gpt.get_submodule(owner).get_parameter(param)
            target.copy_(torch.from_numpy(np.ascontiguousarray(value)))
    # trainkit's default: decay on matrices (embeddings and positions too), none on biases and norms.
    decayed = [p for p in gpt.parameters() if p.dim() == 2]
    others = [p for p in gpt.parameters() if p.dim() != 2]
    optimizer = torch.optim.AdamW([{"params": decayed, "weight_decay": 0.1}, {"params": others, "weight_decay": 0.0}],
                                  lr=1e-3, betas=(0.9, 0.95), eps=1e-8)
    t_ids, t_targets = torch.from_numpy(ids.astype(np.int64)), torch.from_numpy(targets.astype(np.int64))

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        logits = gpt(t_ids)
        loss = F.cross_entropy(logits.reshape(-1, args.vocab), t_targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(gpt.parameters(), 1.0)
        optimizer.step()
        return float(loss.detach())
    return step


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--vocab", type=int, default=114)
    parser.add_argument("--steps", type=int, default=10, help="steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    text = rng.integers(0, args.vocab, size=args.batch * args.context + 1).astype(np.int32)
    ids = text[:-1].reshape(args.batch, args.context)
    targets = text[1:].reshape(args.batch, args.context)
    trainkit_step, weights = trainkit_stepper(args, ids, targets)
    steppers = {"trainkit": trainkit_step, "pytorch eager": torch_stepper(args, ids, targets, weights)}
    first = {name: [step(), step()] for name, step in steppers.items()}
    times = time_rounds(steppers, args.steps, args.rounds)
    import torch
    print(f"GPT step: {args.layers} layers, width {args.dim}, {args.heads} heads, vocab {args.vocab}, "
          f"batch {args.batch} x {args.context} tokens, {args.threads} threads, torch {torch.__version__}")
    print("  first two losses: " + ", ".join(f"{name} {a:.5f} {b:.5f}" for name, (a, b) in first.items()))
    report(times, args.batch * args.context)

if __name__ == "__main__":
    main()
