"""PyTorch's side of the CPU benchmark (bench/cpu_bench.sh): the models of
bench/mlp_bench.cc and bench/cnn_bench.cc trained with Adam on the same
synthetic batches, on the CPU, as PyTorch users write it.

  python3 bench/torch_cpu_bench.py [--seconds S] [--threads N]

Prints one line per model, batch and precision (fp32; bf16: autocast on the
CPU, as trainkit's bf16 policy keeps f32 master weights):
  <model> <batch> <precision> <samples/s>
Each step runs forward, backward and Adam and reads the loss (loss.item()),
as tk_trainer_step does."""
import argparse
import time

import torch

nn = torch.nn


def mlp(widths):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def cnn():
    """bench/cnn_bench.cc's model (samples/c/fashion_mnist_cnn.c's CNN)."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Dropout2d(0.1), nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))


# name, builder, input shape per sample, classes, batches, precisions
MODELS = [
    ("mlp 784-256-128-10", lambda: mlp([784, 256, 128, 10]), (784,), 10, (64, 256), ("fp32",)),
    ("quickstart 10-1000-100-10", lambda: mlp([10, 1000, 100, 10]), (10,), 10, (64, 256), ("fp32",)),
    ("cnn", cnn, (1, 28, 28), 10, (64, 256), ("fp32", "bf16")),
]


def samples_per_second(build, sample_shape, classes, batch, precision, seconds):
    torch.manual_seed(0)
    model = build()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = nn.CrossEntropyLoss()
    count = batch
    for size in sample_shape:
        count *= size
    # The same synthetic batch as the trainkit benchmarks.
    x = ((torch.arange(count) * 2654435761) % 1000 / 1000.0 - 0.5).float().reshape((batch,) + sample_shape)
    y = torch.arange(batch) % classes

    def step():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = loss_fn(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(3):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    return steps * batch / (time.perf_counter() - start)


def grid_widths():
    """bench/mlp_bench.cc's grid: 784 inputs, 2 to 4 linears of 256 to 1024 units, 10 classes."""
    for width in (256, 512, 1024):
        for layers in (2, 3, 4):
            yield [784] + [width] * (layers - 1) + [10]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    parser.add_argument("--grid", action="store_true", help="the MLP grid of bench/mlp_grid.sh")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads", flush=True)
    if args.grid:
        for widths in grid_widths():
            for batch in (64, 128, 256, 512, 1024):
                rate = samples_per_second(lambda: mlp(widths), (784,), 10, batch, "fp32", args.seconds)
                print(f"grid {'-'.join(map(str, widths))} {batch} {rate:.0f}", flush=True)
        return
    for name, build, shape, classes, batches, precisions in MODELS:
        for batch in batches:
            for precision in precisions:
                rate = samples_per_second(build, shape, classes, batch, precision, args.seconds)
                print(f"{name} {batch} {precision} {rate:.1f}", flush=True)


if __name__ == "__main__":
    main()
