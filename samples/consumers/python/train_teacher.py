"""A program of one's own against the installed wheel (no path into trainkit's source tree)."""
import numpy as np

import trainkit

FEATURES, CLASSES, TRAIN, TEST, BATCH = 8, 4, 4096, 1024, 64

rng = np.random.default_rng(7)
teacher = rng.uniform(-1, 1, (CLASSES, FEATURES)).astype(np.float32)
features = rng.uniform(-1, 1, (TRAIN + TEST, FEATURES)).astype(np.float32)
labels = np.argmax(features @ teacher.T, axis=1).astype(np.int32)

with trainkit.Model() as model:
    node = model.relu(model.linear(model.input("x", FEATURES), 64))
    model.output(model.linear(node, CLASSES), "logits")
    with trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAM, learning_rate=0.01, seed=1) as options, \
            trainkit.Trainer(model, trainkit.Loss.SOFTMAX_CROSS_ENTROPY, options) as trainer:
        for epoch in range(15):
            for start in range(0, TRAIN, BATCH):
                trainer.step(features[start:start + BATCH], labels[start:start + BATCH])
        _, accuracy = trainer.evaluate(features[TRAIN:], labels[TRAIN:])
        print(f"trainkit {trainkit.version()}: accuracy {accuracy:.4f}")
