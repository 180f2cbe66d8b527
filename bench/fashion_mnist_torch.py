"""The job of samples/c/fashion_mnist.c written plainly in PyTorch, for a
wall-clock comparison of the whole program (bench/RESULTS.md): load
the gzip IDX files, standardize with the training set's mean and std, train
784-256-128-10 (ReLU) with Adam (lr 1e-3) under a cosine schedule over every
step, shuffled batches of 64, then print the test accuracy.

  python3 bench/fashion_mnist_torch.py [--epochs N] [--threads N] [--data DIR]"""
import argparse
import gzip
import time

import numpy as np
import torch


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    load = lambda name: idx(f"{args.data}/{name}")
    x_train = torch.from_numpy(load("train-images-idx3-ubyte.gz").astype(np.float32)).reshape(-1, 784)
    y_train = torch.from_numpy(load("train-labels-idx1-ubyte.gz").astype(np.int64))
    x_test = torch.from_numpy(load("t10k-images-idx3-ubyte.gz").astype(np.float32)).reshape(-1, 784)
    y_test = torch.from_numpy(load("t10k-labels-idx1-ubyte.gz").astype(np.int64))
    mean, std = x_train.mean(), x_train.std()
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = 64
    steps = (len(x_train) + batch - 1) // batch
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * steps)
    loss_fn = torch.nn.CrossEntropyLoss()
    for epoch in range(args.epochs):
        start, order, total = time.perf_counter(), torch.randperm(len(x_train)), 0.0
        for s in range(steps):
            rows = order[s * batch:(s + 1) * batch]
            loss = loss_fn(model(x_train[rows]), y_train[rows])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            total += loss.item()
        print(f"epoch {epoch + 1}  train loss {total / steps:.4f}  {time.perf_counter() - start:.1f} s", flush=True)
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(f"test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
