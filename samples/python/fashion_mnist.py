"""The C sample's MLP (784-256-128-10, Adam, cosine schedule) on Fashion-MNIST
from Python. Usage: fashion_mnist.py [--epochs N] [--seed N] [--data DIR]"""
import argparse
import time

import trainkit


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    args = parser.parse_args()
    with trainkit.Dataset.load_idx(f"{args.data}/train-images-idx3-ubyte.gz",
                                   f"{args.data}/train-labels-idx1-ubyte.gz") as train, \
            trainkit.Dataset.load_idx(f"{args.data}/t10k-images-idx3-ubyte.gz",
                                      f"{args.data}/t10k-labels-idx1-ubyte.gz") as test, \
            trainkit.Model() as model:
        mean, std = train.stats()
        train.standardize(mean, std)
        test.standardize(mean, std)
        node = model.flatten(model.input("image", 28, 28))
        node = model.relu(model.linear(node, 256))
        node = model.relu(model.linear(node, 128))
        model.output(model.linear(node, 10), "logits")
        steps_per_epoch = (len(train) + 63) // 64
        options = trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAM, learning_rate=1e-3, seed=args.seed,
                                          batch_hint=64)
        options.schedule(trainkit.Schedule.COSINE, total_steps=args.epochs * steps_per_epoch)
        with options, trainkit.Trainer(model, trainkit.Loss.SOFTMAX_CROSS_ENTROPY, options) as trainer, \
                trainkit.Batcher(train, 64, shuffle=True, seed=args.seed) as batcher:
            accuracy = 0.0
            for epoch in range(1, args.epochs + 1):
                start = time.perf_counter()
                losses: list[float] = []
                batcher.reset(epoch - 1)
                while (loss := trainer.step_next(batcher)) is not None:
                    losses.append(loss)
                seconds = time.perf_counter() - start
                test_loss, accuracy = trainer.evaluate(test)
                print(f"epoch {epoch:2d}/{args.epochs}  train loss {sum(losses) / len(losses):.4f}  "
                      f"test loss {test_loss:.4f}  test acc {accuracy:.4f}  {len(train) / seconds:.0f} samples/s",
                      flush=True)
            print(f"test accuracy: {accuracy:.4f}")


if __name__ == "__main__":
    main()
