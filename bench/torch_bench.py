"""PyTorch's side of the GPU benchmark (bench/gpu_bench.sh): the models of
bench/gpu_bench.cc trained with Adam on random data, as PyTorch users write it.

  python3 bench/torch_bench.py [--seconds S] [--models a1,a2,b,c,cnn] [--modes eager,compile]

Prints per model and mode (eager: autocast + GradScaler for fp16, autocast
alone for bf16; compile: the same under torch.compile; queued: eager without
reading the loss each step, so steps queue up on the GPU, as trainkit's
tk_trainer_step_async; GradScaler still reads its overflow flag each step):
  <model> <mode> <steps/s>
and for model b the cuBLAS rate of its own GEMM shapes (forward, input and
weight gradients) in bf16:
  b cublas_gflops <GFLOP/s>
Each step copies the batch from pinned host memory and reads the loss back
(loss.item()), as trainkit's tk_trainer_step does, except in queued mode."""
import argparse
import time

import torch

CNN = "cnn"  # the Fashion-MNIST CNN, channels-last, bf16 autocast

MODELS = {
    "a1": ([10, 1000, 100, 10], 1024, torch.float16),
    "a2": ([10, 1000, 100, 10], 16384, torch.float16),
    "b": ([4096, 4096, 4096, 4096, 4096], 8192, torch.bfloat16),
    "c": ([784, 256, 128, 10], 128, torch.float32),
    "cnn": (CNN, 256, torch.bfloat16),
}


def build_cnn():
    """bench/gpu_bench.cc's CNN: two conv/BN/ReLU/pool blocks, 128 units, 10 classes."""
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))
    return model.cuda().to(memory_format=torch.channels_last)


def build(widths):
    if widths == CNN:
        return build_cnn()
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers).cuda()


def steps_per_second(widths, batch, dtype, compile_model, seconds, queued=False):
    model = build(widths)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    shape, classes = ((batch, 1, 28, 28), 10) if widths == CNN else ((batch, widths[0]), widths[-1])
    count = 1
    for size in shape:
        count *= size
    x_host = (torch.arange(count) % 1000 / 1000.0 - 0.5).reshape(shape).pin_memory()
    y_host = (torch.arange(batch) % classes).pin_memory()
    forward = torch.compile(model) if compile_model else model
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        x = x_host.cuda(non_blocking=True)
        if widths == CNN:
            x = x.contiguous(memory_format=torch.channels_last)
        y = y_host.cuda(non_blocking=True)
        with torch.autocast("cuda", dtype=dtype, enabled=dtype != torch.float32):
            loss = loss_fn(forward(x), y)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        return None if queued else loss.item()

    for _ in range(20 if compile_model else 10):
        step()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        steps += 1
    torch.cuda.synchronize()
    return steps / (time.perf_counter() - start)


def cublas_gflops(widths, batch, seconds):
    """bf16 GEMM rate over model b's three products per layer."""
    flops, elapsed = 0.0, 0.0
    for i in range(len(widths) - 1):
        fan_in, fan_out = widths[i], widths[i + 1]
        x = torch.randn(batch, fan_in, device="cuda", dtype=torch.bfloat16)
        w = torch.randn(fan_out, fan_in, device="cuda", dtype=torch.bfloat16)
        dy = torch.randn(batch, fan_out, device="cuda", dtype=torch.bfloat16)
        products = [lambda: x @ w.t(), lambda: dy @ w, lambda: dy.t() @ x]
        for product in products:
            for _ in range(3):
                product()
            torch.cuda.synchronize()
            reps, start = 0, time.perf_counter()
            while time.perf_counter() - start < seconds / 12:
                product()
                reps += 1
            torch.cuda.synchronize()
            elapsed += (time.perf_counter() - start) / reps
            flops += 2.0 * batch * fan_in * fan_out
    return flops / elapsed / 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--models", default="a1,a2,b,c,cnn")
    parser.add_argument("--modes", default="eager,compile")
    args = parser.parse_args()
    print(f"# torch {torch.__version__} on {torch.cuda.get_device_name(0)}", flush=True)
    for name in args.models.split(","):
        widths, batch, dtype = MODELS[name]
        for mode in args.modes.split(","):
            rate = steps_per_second(widths, batch, dtype, mode == "compile", args.seconds, mode == "queued")
            print(f"{name} {mode} {rate:.2f}", flush=True)
        if name == "b":
            print(f"b cublas_gflops {cublas_gflops(widths, batch, args.seconds):.1f}", flush=True)


if __name__ == "__main__":
    main()
