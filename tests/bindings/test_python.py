"""Python binding tests (pytest): the same checks as the Java and C# suites."""
import gc
import os

import numpy as np
import pytest

import trainkit

# In f32 arithmetic, as the C reference computes them.
INPUTS = (np.arange(64, dtype=np.int64) * 37 % 17).astype(np.float32) / np.float32(17) - np.float32(0.5)
INPUTS = INPUTS.reshape(16, 4)
LABELS = np.array([i % 3 for i in range(16)], dtype=np.int32)


def reference_trainer(model):
    x = model.input("x", 4)
    h = model.tanh(model.linear(x, 8))
    model.output(model.linear(h, 3), "logits")
    with trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAM, learning_rate=0.05, seed=7, threads=1) as options:
        return trainkit.Trainer(model, trainkit.Loss.SOFTMAX_CROSS_ENTROPY, options)


def tmp(name):
    return os.path.join(os.environ.get("TEST_TMPDIR", "/tmp"), name)


def test_results_equal_the_c_api():
    expected = open(os.environ["TRAINKIT_REFERENCE"]).read().split()
    with trainkit.Model() as model, reference_trainer(model) as trainer:
        for _ in range(20):
            loss = trainer.step(INPUTS, LABELS)
        total = sum(float(p) for p in trainer.parameters())
    assert np.float32(loss) == np.float32(float(expected[0]))
    assert total == float(expected[1])


def test_trains_evaluates_predicts_saves_and_loads():
    path = tmp("python.safetensors")
    with trainkit.Model() as model, reference_trainer(model) as trainer:
        first = trainer.step(INPUTS, LABELS)
        for _ in range(200):
            last = trainer.step(INPUTS, LABELS)
        assert last < first / 2
        loss, accuracy = trainer.evaluate(INPUTS, LABELS)
        assert accuracy > 0.8
        probabilities = trainer.predict(INPUTS, 3, probabilities=True)
        assert probabilities.shape == (16, 3)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
        assert trainer.step_count == 201
        trainer.save(path)
        trained = trainer.parameters()
    with trainkit.Model() as model, reference_trainer(model) as fresh:
        fresh.load(path)
        assert fresh.step_count == 201
        assert np.array_equal(fresh.parameters(), trained)


def test_specs_and_weight_files_round_trip():
    spec, weights = tmp("python-spec.json"), tmp("python-weights.safetensors")
    with trainkit.Model() as model, reference_trainer(model) as trainer:
        trainer.step(INPUTS, LABELS)
        model.save_spec(spec)
        trainer.export_weights(weights, trainkit.DType.F16)
        trained = trainer.parameters()
    with trainkit.Model.load_spec(spec) as rebuilt, trainkit.Trainer(rebuilt) as trainer:
        trainer.import_weights(weights)
        np.testing.assert_array_equal(trainer.parameters(), trained.astype(np.float16).astype(np.float32))
    with pytest.raises(trainkit.TrainKitError) as error:
        trainkit.Model.from_spec('{"format": "other"}')
    assert error.value.status == 1


def test_any_buffer_works_and_float32_arrays_are_not_copied():
    with trainkit.Model() as a, reference_trainer(a) as arrays, trainkit.Model() as b, reference_trainer(b) as lists:
        as_lists = INPUTS.tolist(), LABELS.tolist()
        for _ in range(3):
            assert arrays.step(INPUTS, LABELS) == lists.step(*as_lists)
        view = memoryview(INPUTS)  # the buffer protocol, no numpy on the caller's side
        assert np.shares_memory(np.ascontiguousarray(view, dtype=np.float32), INPUTS)


def test_a_small_cnn_with_batch_norm_trains():
    rng = np.random.default_rng(1)
    images = rng.standard_normal((32, 8, 8)).astype(np.float32)
    labels = (images[:, :4].sum(axis=(1, 2)) > 0).astype(np.int32)
    with trainkit.Model() as model:
        x = model.reshape(model.input("image", 8, 8), 1, 8, 8)
        h = model.max_pool2d(model.relu(model.batch_norm(model.conv2d(x, 4, 3, padding=1, bias=False))), 2)
        h = model.global_avg_pool(model.dropout2d(h, 0.1))
        model.output(model.linear(h, 2), "logits")
        assert model.num_parameters() == 4 * 9 + 2 * 4 + 4 * 2 + 2
        with trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAM, learning_rate=0.05, device=trainkit.Device.CPU) as options:
            with trainkit.Trainer(model, trainkit.Loss.SOFTMAX_CROSS_ENTROPY, options) as trainer:
                first = trainer.step(images, labels)
                for _ in range(30):
                    last = trainer.step(images, labels)
                assert last < first


def test_devices_are_chosen_and_a_missing_gpu_is_a_clear_error():
    gpus = trainkit.gpu_count()
    assert gpus >= 0
    with trainkit.Model() as model:
        x = model.input("x", 4)
        model.output(model.linear(x, 3), "logits")
        with trainkit.TrainerOptions(device=trainkit.Device.CPU) as options:
            with trainkit.Trainer(model, trainkit.Loss.SOFTMAX_CROSS_ENTROPY, options) as trainer:
                assert trainer.step(np.zeros((2, 4), np.float32), np.array([0, 1], np.int32)) > 0
        if gpus == 0:
            with trainkit.TrainerOptions(device=trainkit.Device.CUDA) as options:
                with pytest.raises(trainkit.TrainKitError) as error:
                    trainkit.Trainer(model, trainkit.Loss.SOFTMAX_CROSS_ENTROPY, options)
                assert error.value.status == 9 and "no GPU" in str(error.value)


def test_native_errors_become_exceptions():
    with trainkit.Model() as model, reference_trainer(model) as trainer:
        with pytest.raises(trainkit.TrainKitError) as error:
            trainer.step(np.zeros((3, 5), dtype=np.float32), [0, 1, 2])
        assert error.value.status == 3 and "[batch, 4]" in str(error.value)
        with pytest.raises(trainkit.TrainKitError) as error:
            model.linear(99, 3)
        assert error.value.status == 1
        with pytest.raises(trainkit.TrainKitError, match="learning rate"):
            trainkit.TrainerOptions().learning_rate(-1)
        with pytest.raises(trainkit.TrainKitError) as error:
            trainer.load("/nonexistent/x.safetensors")
        assert error.value.status == 7


def test_closing_twice_is_a_no_op_and_closed_objects_raise():
    model = trainkit.Model()
    trainer = reference_trainer(model)
    trainer.close()
    trainer.close()
    assert trainer.closed
    with pytest.raises(ValueError, match="closed"):
        trainer.step(INPUTS, LABELS)
    model.close()
    model.close()


def resident_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def test_many_cycles_keep_memory_flat_and_collected_objects_do_not_crash():
    cycles = int(os.environ.get("TRAINKIT_CYCLES", "100000"))
    warm = 0
    for i in range(cycles):
        with trainkit.Model() as model, reference_trainer(model) as trainer:
            trainer.step(INPUTS, LABELS)
        if i == cycles // 10:
            warm = resident_kb()
    end = resident_kb()
    assert end - warm < 32 * 1024, f"resident memory grew from {warm} kB to {end} kB"
    for _ in range(2000):
        reference_trainer(trainkit.Model()).step(INPUTS, LABELS)
    gc.collect()
    print(f"cycles {cycles}, resident {warm} kB -> {end} kB")
