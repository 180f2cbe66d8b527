"""TensorFlow's side of the MLP grid (bench/mlp_grid.sh): the grid's models
trained with Keras `fit` (Adam, lr 1e-4, sparse categorical cross-entropy
from logits) on the CPU, on the same synthetic batch as bench/mlp_bench.cc,
as Keras users write it.

  python3 bench/tf_cpu_bench.py [--seconds S] [--threads N]

Prints "grid <widths> <batch> <samples/s>" per cell. Each epoch is `steps`
batches from a repeated tf.data batch; the rate is timed over epochs after a
first one that traces and compiles the step."""
import argparse
import os
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=0, help="0: all cores")
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import numpy as np
    import tensorflow as tf

    if args.threads > 0:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    print(f"# tensorflow {tf.__version__}, intra-op threads {args.threads or 'all'}", flush=True)
    for width in (256, 512, 1024):
        for layers in (2, 3, 4):
            widths = [784] + [width] * (layers - 1) + [10]
            for batch in (64, 128, 256, 512, 1024):
                count = batch * 784
                x = ((np.arange(count, dtype=np.int64) * 2654435761) % 1000 / 1000.0 - 0.5).astype(np.float32)
                x = x.reshape(batch, 784)
                y = (np.arange(batch) % 10).astype(np.int32)
                model = tf.keras.Sequential([tf.keras.Input((784,))] +
                                            [tf.keras.layers.Dense(w, activation="relu") for w in widths[1:-1]] +
                                            [tf.keras.layers.Dense(10)])
                model.compile(optimizer=tf.keras.optimizers.Adam(1e-4),
                              loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
                steps = 20
                data = tf.data.Dataset.from_tensors((x, y)).repeat()
                model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)  # trace and compile
                done, start = 0, time.perf_counter()
                while time.perf_counter() - start < args.seconds:
                    model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
                    done += steps
                rate = done * batch / (time.perf_counter() - start)
                print(f"grid {'-'.join(map(str, widths))} {batch} {rate:.0f}", flush=True)


if __name__ == "__main__":
    main()
