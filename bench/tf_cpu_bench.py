"""TensorFlow's side of the CPU benchmarks: Keras `fit` (Adam, lr 1e-4, sparse
categorical cross-entropy from logits) on the CPU, on the same synthetic
batches as bench/mlp_bench.cc and bench/cnn_bench.cc, as Keras users write it.

  python3 bench/tf_cpu_bench.py [--seconds S] [--threads N]           the MLP grid (bench/mlp_grid.sh)
  python3 bench/tf_cpu_bench.py --models [--seconds S] [--threads N]  bench/cpu_bench.sh's models

The grid prints "grid <widths> <batch> <samples/s>" per cell; --models prints
"<model> <batch> <precision> <samples/s>" as bench/torch_cpu_bench.py does
(bf16: Keras's mixed_bfloat16 policy, f32 weights and bf16 compute, the
logits in f32). Each epoch is 20 batches from a repeated tf.data batch; the
rate is timed over epochs after a first one that traces and compiles the step."""
import argparse
import os
import time


def synthetic(batch, sample_shape):
    import numpy as np

    count = batch
    for size in sample_shape:
        count *= size
    x = ((np.arange(count, dtype=np.int64) * 2654435761) % 1000 / 1000.0 - 0.5).astype(np.float32)
    return x.reshape((batch,) + tuple(sample_shape)), (np.arange(batch) % 10).astype(np.int32)


def mlp(tf, widths):
    return tf.keras.Sequential([tf.keras.Input((widths[0],))] +
                               [tf.keras.layers.Dense(w, activation="relu") for w in widths[1:-1]] +
                               [tf.keras.layers.Dense(widths[-1], dtype="float32")])


def cnn(tf):
    """bench/cnn_bench.cc's model (samples/c/fashion_mnist_cnn.c's CNN), channels last as Keras has it."""
    layers = tf.keras.layers
    return tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, padding="same", use_bias=False), layers.BatchNormalization(), layers.ReLU(),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", use_bias=False), layers.BatchNormalization(), layers.ReLU(),
        layers.MaxPooling2D(2),
        layers.SpatialDropout2D(0.1), layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.3),
        layers.Dense(10, dtype="float32")])


def samples_per_second(tf, build, sample_shape, batch, precision, seconds):
    tf.keras.mixed_precision.set_global_policy("mixed_bfloat16" if precision == "bf16" else "float32")
    x, y = synthetic(batch, sample_shape)
    model = build()
    model.compile(optimizer=tf.keras.optimizers.Adam(1e-4),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    steps = 20
    data = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)  # trace and compile
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        done += steps
    return done * batch / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    parser.add_argument("--models", action="store_true", help="bench/cpu_bench.sh's models instead of the grid")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if args.threads > 0:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    print(f"# tensorflow {tf.__version__}, intra-op threads {args.threads or 'all'}", flush=True)
    if args.models:
        models = [
            ("mlp 784-256-128-10", lambda: mlp(tf, [784, 256, 128, 10]), (784,), ("fp32",)),
            ("quickstart 10-1000-100-10", lambda: mlp(tf, [10, 1000, 100, 10]), (10,), ("fp32",)),
            ("cnn", lambda: cnn(tf), (28, 28, 1), ("fp32", "bf16")),
        ]
        for name, build, shape, precisions in models:
            for batch in (64, 256):
                for precision in precisions:
                    rate = samples_per_second(tf, build, shape, batch, precision, args.seconds)
                    print(f"{name} {batch} {precision} {rate:.1f}", flush=True)
        return
    for width in (256, 512, 1024):
        for layers in (2, 3, 4):
            widths = [784] + [width] * (layers - 1) + [10]
            for batch in (64, 128, 256, 512, 1024):
                rate = samples_per_second(tf, lambda: mlp(tf, widths), (784,), batch, "fp32", args.seconds)
                print(f"grid {'-'.join(map(str, widths))} {batch} {rate:.0f}", flush=True)


if __name__ == "__main__":
    main()
