"""Python binding tests (pytest): the same checks as the Java and C# suites."""
import gc
import os
import pathlib
import threading
import time

import numpy as np
import pytest

import trainkit
from trainkit import capi

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


def reference():
    return open(os.environ["TRAINKIT_REFERENCE"]).read().split()


def test_results_equal_the_c_api():
    expected = reference()
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


def manifest():
    with open(os.environ["TRAINKIT_MANIFEST"]) as lines:
        return [line.split() for line in lines if line.strip()]


def test_every_function_and_enum_value_of_the_header_is_reachable():
    entries = manifest()
    functions = [entry[1] for entry in entries if entry[0] == "function"]
    assert len(functions) > 100
    missing = [name for name in functions if not callable(getattr(capi, name, None))]
    assert not missing, f"not in trainkit.capi: {missing}"
    enums = {}
    for _, c_enum, binding, c_item, item, _, value in (entry for entry in entries if entry[0] == "enum"):
        assert getattr(capi, c_item) == int(value), c_item
        cls = getattr(trainkit, binding)
        assert cls[item] == int(value), f"{binding}.{item}"
        enums.setdefault(binding, set()).add(item)
    for binding, items in enums.items():
        assert set(getattr(trainkit, binding).__members__) == items, binding
    assert len(enums) == 19


def test_a_dataset_from_arrays_trains_to_the_weights_the_c_api_reaches():
    expected = reference()[2]
    with trainkit.Model() as model, reference_trainer(model) as trainer, \
            trainkit.Dataset.from_arrays(INPUTS, LABELS) as dataset, \
            trainkit.Batcher(dataset, 5, shuffle=True, seed=3) as batcher:
        assert len(dataset) == 16 and dataset.sample_shape == (4,)
        for epoch in range(2):
            batcher.reset(epoch)
            while trainer.step_next(batcher) is not None:
                pass
        assert trainer.step_count == 8
        assert sum(float(p) for p in trainer.parameters()) == float(expected)


def test_a_batcher_is_an_iterator_over_one_epoch():
    with trainkit.Dataset.from_arrays(INPUTS, LABELS) as dataset, trainkit.Batcher(dataset, 5, seed=1) as batcher:
        batches = list(batcher)
        assert [len(y) for _, y in batches] == [5, 5, 5, 1]
        rows = np.concatenate([x for x, _ in batches])
        order = np.lexsort(rows.T[::-1])
        np.testing.assert_array_equal(rows[order], INPUTS[np.lexsort(INPUTS.T[::-1])])
        assert list(batcher) == []  # the epoch is over until reset
        batcher.reset(1)
        again = list(batcher)
        assert len(again) == 4 and not all(np.array_equal(a[0], b[0]) for a, b in zip(batches, again))
        assert "batches of 5 over 16 samples" in repr(batcher)


def test_shards_are_equal_so_every_rank_takes_the_same_steps():
    with trainkit.Dataset.from_arrays(INPUTS[:10], LABELS[:10]) as dataset:
        for remainder, batches in ((trainkit.ShardRemainder.PAD, 2), (trainkit.ShardRemainder.DROP, 1)):
            for rank in range(3):
                with trainkit.Batcher(dataset, 3, seed=7) as batcher:
                    batcher.set_shard(rank, 3, remainder)
                    assert len(list(batcher)) == batches
                    assert "shard" in repr(batcher)


def test_strided_fortran_and_converted_arrays_train_as_contiguous_ones():
    strided = np.zeros((16, 8), np.float32)
    strided[:, ::2] = INPUTS
    reversed_view = np.ascontiguousarray(INPUTS[::-1])[::-1]  # negative strides, INPUTS' values
    variants = [np.asfortranarray(INPUTS), strided[:, ::2], INPUTS.astype(np.float64), INPUTS.tolist(),
                reversed_view]
    with trainkit.Model() as model, reference_trainer(model) as plain:
        expected = [plain.step(INPUTS, LABELS) for _ in range(3)]
    for variant in variants:
        with trainkit.Model() as model, reference_trainer(model) as trainer:
            assert [trainer.step(variant, LABELS) for _ in range(3)] == expected


def test_broadcast_arrays_are_copied_by_the_layer_and_refused_by_capi():
    row = np.broadcast_to(INPUTS[:1], (16, 4))  # every row the same, strides (0, 4)
    with trainkit.Model() as model, reference_trainer(model) as broadcast, \
            trainkit.Model() as other, reference_trainer(other) as copied:
        assert broadcast.step(row, LABELS) == copied.step(np.ascontiguousarray(row), LABELS)
        with pytest.raises(ValueError, match="stride"):
            capi.tk_trainer_step(broadcast.handle, row, LABELS)  # would read 16 rows from one


def test_misuse_raises_with_the_native_message():
    with trainkit.Model() as model, reference_trainer(model) as trainer:
        with pytest.raises(trainkit.TrainKitError) as error:
            trainer.step(INPUTS[:, :3], LABELS)  # wrong shape
        assert error.value.status == trainkit.Status.ERROR_SHAPE_MISMATCH
        with pytest.raises(trainkit.TrainKitError):
            trainer.step(INPUTS.reshape(16, 2, 2), LABELS)  # wrong rank
        with pytest.raises(TypeError, match="numbers"):
            trainer.step(np.array(["a"] * 64).reshape(16, 4), LABELS)
        with pytest.raises(TypeError):
            trainer.step(None, LABELS)
        with pytest.raises(TypeError):
            trainer.step(INPUTS, None)
        with pytest.raises(trainkit.TrainKitError) as error:
            trainer.step(INPUTS, LABELS + 5)  # out of range for 3 classes
        assert error.value.status == trainkit.Status.ERROR_INVALID_ARGUMENT
        for label in (2**32 + 1, -2**32 + 2, 2**63 + 1):
            wide = np.array([label] + [0] * 15, dtype=np.uint64 if label > 2**63 else np.int64)
            with pytest.raises(ValueError, match="does not fit in int32"):
                trainer.step(INPUTS, wide)
        with pytest.raises(TypeError, match="int"):
            model.input("y", 4.7)
        with pytest.raises(TypeError, match="int"):
            model.input("y", "784")
        with pytest.raises(trainkit.TrainKitError):
            trainkit._native.call(capi.tk_trainer_step, None, INPUTS, LABELS)  # a NULL handle: a status


def test_paths_accept_str_bytes_and_pathlike_and_refuse_none_and_nul():
    base = pathlib.Path(tmp("python-paths"))
    base.mkdir(exist_ok=True)
    with trainkit.Model() as model, reference_trainer(model) as trainer:
        trainer.step(INPUTS, LABELS)
        trainer.save(base / "a.safetensors")
        trainer.save(os.fsencode(base / "b.safetensors"))
        trainer.save(str(base / "c.safetensors"))
        assert sorted(p.name for p in base.iterdir()) == ["a.safetensors", "b.safetensors", "c.safetensors"]
        with pytest.raises(TypeError, match="None"):
            trainer.save(None)
        with pytest.raises(ValueError, match="NUL"):
            trainer.save(str(base / "ok\0.txt"))
        assert not (base / "ok").exists()
        trainer.load(base / "a.safetensors")
        written = trainer.save_keep_last(base / "kept", 1)
        assert written.endswith(".safetensors") and os.path.exists(written)
        # A name that is not UTF-8 (any bytes are a valid Linux file name)
        # reaches the file system byte for byte, as bytes or as the str
        # os.fsdecode makes of it, and comes back the same way.
        raw = os.fsencode(base) + b"/caf\xe9.safetensors"
        trainer.save(raw)
        assert b"caf\xe9.safetensors" in os.listdir(os.fsencode(base))
        trainer.load(os.fsdecode(raw))
        written = trainer.save_keep_last(os.fsencode(base) + b"/\xff", 1)
        assert os.fsencode(written).startswith(os.fsencode(base) + b"/\xff-") and os.path.exists(written)


def test_the_gil_is_released_while_a_step_runs():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2048, 512)).astype(np.float32)
    y = rng.integers(0, 10, 2048).astype(np.int32)
    with trainkit.Model() as model:
        h = model.input("x", 512)
        for _ in range(3):
            h = model.relu(model.linear(h, 1024))
        model.output(model.linear(h, 10))
        with trainkit.TrainerOptions(threads=1) as options, trainkit.Trainer(model, options=options) as trainer:
            trainer.step(x, y)
            ticks = []
            done = threading.Event()

            def count():
                while not done.is_set():
                    ticks.append(time.perf_counter())

            counter = threading.Thread(target=count)
            counter.start()
            time.sleep(0.05)
            start = time.perf_counter()
            trainer.step(x, y)
            end = time.perf_counter()
            done.set()
            counter.join()
    middle = [t for t in ticks if start + 0.2 * (end - start) < t < end - 0.2 * (end - start)]
    assert end - start > 0.05, "the step is too short to tell"
    assert len(middle) > 1000, f"the other thread ran {len(middle)} times during the step's middle"


def test_fp16_step_reports_show_a_skipped_step_when_a_batch_overflows():
    with trainkit.Model() as model:
        x = model.input("x", 4)
        model.output(model.linear(model.tanh(model.linear(x, 8)), 3))
        with trainkit.TrainerOptions(precision=trainkit.Precision.FP16, device=trainkit.Device.CPU) as options, \
                trainkit.Trainer(model, options=options) as trainer:
            report = trainer.step_report(INPUTS, LABELS)
            assert report.applied and not report.skipped and report.loss_scale == 65536.0 and report.step == 1
            huge = INPUTS.copy()
            huge[0, 0] = 6e4
            report = trainer.step_report(huge * 1e4, LABELS)
            assert report.skipped and not report.applied and report.step == 1
            assert trainer.loss_scale()[0] == 32768.0 and trainer.skipped_steps == 1
            report = trainer.step_report(INPUTS, LABELS)
            assert report.applied and report.step == 2 and report.grad_norm > 0


def test_replicas_train_as_one():
    results = []
    for replicas in (1, 2):
        with trainkit.Model() as model:
            x = model.input("x", 4)
            model.output(model.linear(model.tanh(model.linear(x, 8)), 3))
            with trainkit.TrainerOptions(optimizer=trainkit.Optimizer.SGD, learning_rate=0.1, seed=5, threads=1,
                                         replicas=replicas) as options, \
                    trainkit.Trainer(model, options=options) as trainer:
                for _ in range(10):
                    trainer.step(INPUTS, LABELS)
                results.append(trainer.parameters())
    assert np.max(np.abs(results[0] - results[1])) < 1e-5


def test_sync_batch_norm_replicas_train_as_one_and_plain_ones_do_not():
    def train(replicas, sync):
        with trainkit.Model() as model:
            h = model.batch_norm(model.linear(model.input("x", 4), 8, bias=False))
            model.output(model.linear(model.relu(h), 3))
            with trainkit.TrainerOptions(optimizer=trainkit.Optimizer.SGD, learning_rate=0.1, seed=5, threads=1,
                                         replicas=replicas, sync_batch_norm=sync) as options, \
                    trainkit.Trainer(model, options=options) as trainer:
                for _ in range(10):
                    trainer.step(INPUTS, LABELS)
                return trainer.parameters()
    one = train(1, False)
    assert np.max(np.abs(train(3, True) - one)) < 1e-5
    assert np.max(np.abs(train(2, False) - one)) > 1e-4


def test_a_shared_weight_is_one_tensor_whose_gradient_sums_its_uses():
    with trainkit.Model() as model:
        x = model.input("x", 4)
        a = model.op("linear", x, units=4, bias=False)
        model.set_node_name(a, "a")
        b = model.op("linear", model.op("tanh", a), units=4, bias=False)
        model.share_parameter(b, "weight", a)
        model.output(b, "y")
        assert model.num_parameters() == 16
        with pytest.raises(trainkit.TrainKitError, match="shared already"):
            model.share_parameter(b, "weight", a)
        options = trainkit.TrainerOptions(optimizer=trainkit.Optimizer.SGD, learning_rate=0.1, threads=1)
        with options, trainkit.Trainer(model, trainkit.Loss.MSE, options) as trainer:
            assert trainer.parameter_names() == ["a.weight"]
            w = trainer.parameter("a.weight").astype(np.float64)
            xs = np.linspace(-1, 1, 8).reshape(2, 4)
            ys = np.zeros((2, 4))
            trainer.step(xs.astype(np.float32), ys.astype(np.float32))
            # y = W tanh(W x); mean squared error over 8 elements: both uses' gradients add.
            h = np.tanh(xs @ w.T)
            y = h @ w.T
            dy = 2 * (y - ys) / y.size
            dh = dy @ w * (1 - h ** 2)
            grad = dy.T @ h + dh.T @ xs
            assert np.max(np.abs(trainer.parameter("a.weight") - (w - 0.1 * grad))) < 1e-5


def test_multi_head_attention_is_named_nodes_and_cls_pool_reads_the_first_token():
    with trainkit.Model() as model:
        x = model.input("x", 5, 8)
        h = model.multi_head_attention(x, 2, causal=True, name="self")
        pooled = model.op("cls_pool", h)
        model.output(pooled, "y")
        assert model.node_name(h) == "self.out" and model.node_shape(pooled) == (8,)
        with pytest.raises(trainkit.TrainKitError, match="3 heads"):
            model.multi_head_attention(x, 3)
        with trainkit.Trainer(model, trainkit.Loss.MSE) as trainer:
            assert trainer.parameter_names() == [f"self.{p}.{w}" for p in ("query", "key", "value", "out")
                                                 for w in ("weight", "bias")]
            xs = np.random.default_rng(1).normal(size=(3, 5, 8)).astype(np.float32)
            # Causal: the first token sees itself alone, so the output is out(value(x_0)).
            p = {n: trainer.parameter(n).astype(np.float64) for n in trainer.parameter_names()}
            v = xs[:, 0].astype(np.float64) @ p["self.value.weight"].T + p["self.value.bias"]
            want = v @ p["self.out.weight"].T + p["self.out.bias"]
            assert np.max(np.abs(trainer.predict(xs) - want)) < 1e-5


def test_several_outputs_come_from_one_forward():
    with trainkit.Model() as model:
        ids = model.input_indices("ids", 4)
        pooled = model.op("mean_pool", model.op("embedding", ids, vocab=6, dim=5))
        model.output(model.linear(pooled, 2), "logits").add_output(pooled, "embedding")
        with trainkit.Trainer(model) as trainer:
            assert [name for name, _ in trainer.outputs] == ["logits", "embedding"]
            tokens = np.array([[1, 2, 3, 4], [5, 5, 0, 1]])
            got = trainer.predict_outputs(tokens, probabilities=True)
            table = trainer.parameter(0)
            np.testing.assert_allclose(got["embedding"], table[tokens].mean(axis=1), atol=1e-6)
            np.testing.assert_allclose(got["logits"].sum(axis=1), 1, atol=1e-6)
            np.testing.assert_allclose(got["logits"], trainer.predict(tokens, probabilities=True), atol=1e-7)
            with trainkit.Predictor.from_trainer(trainer) as predictor:
                again = predictor.predict_outputs({"ids": tokens})
                np.testing.assert_array_equal(again["embedding"], got["embedding"])


def test_generic_ops_settings_parameters_and_properties():
    catalog = trainkit.Model.op_catalog()
    assert "linear" in [op["name"] for op in catalog["ops"]]
    with trainkit.Model() as model:
        x = model.input("x", 4)
        h = model.op("linear", x, units=8, bias=False)
        assert model.node_shape(h) == (8,)
        model.set_node_name(h, "body")
        assert model.node_name(h) == "body"
        model.output(model.op("linear", model.op("silu", h), units=3), "logits")
        with pytest.raises(trainkit.TrainKitError, match="no_such_op"):
            model.op("no_such_op", x)
        with pytest.raises(trainkit.TrainKitError, match="units"):
            model.op("linear", x, units="many")
        assert "linear, silu, linear" in repr(model)
        options = trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAM, learning_rate=0.01, threads=1)
        options.adam(0.8, 0.99, 1e-7).nonfinite(trainkit.NonFinite.SKIP).memory_limit(1 << 30).clip_norm(1.0)
        assert "learning_rate=0.01" in repr(options)
        with options, trainkit.Trainer(model, options=options) as trainer:
            assert trainer.parameter_names() == ["body.weight", "linear_3.weight", "linear_3.bias"]
            weight = trainer.parameter("body.weight")
            assert weight.shape == (8, 4)
            trainer.set_parameter("body.weight", np.zeros((8, 4)))
            assert not trainer.parameter(0).any()
            with pytest.raises(trainkit.TrainKitError):
                trainer.set_parameter(0, np.zeros((4, 8), np.float32))
            trainer.step(INPUTS, LABELS)
            assert trainer.learning_rate == pytest.approx(0.01) and trainer.last_grad_norm > 0
            assert trainer.world == (0, 1) and trainer.device_name == "cpu"
            trainer.set_property("run", "nightly")
            assert trainer.get_property("run") == "nightly"
            with pytest.raises(trainkit.TrainKitError):
                trainer.get_property("missing")
            assert trainer.predict(INPUTS).shape == (16, 3)
            out = np.zeros((16, 3), np.float64)
            assert trainer.predict(INPUTS, probabilities=True, out=out) is out
            np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-6)
            assert "3 tensors" in repr(trainer) and "step 1" in repr(trainer)


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


def fit_data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((48, 4)).astype(np.float32)
    y = (x @ np.array([[1, -1, 0], [0, 1, -1], [-1, 0, 1], [1, 1, 1]], dtype=np.float32)).argmax(axis=1)
    return x, y.astype(np.int32)


def test_fit_calls_back_in_order_and_stops_when_asked():
    x, y = fit_data()
    events = []
    with trainkit.Model() as model, reference_trainer(model) as trainer, \
            trainkit.Dataset.from_arrays(x, y) as data, trainkit.Batcher(data, 16, seed=1) as batcher:
        report = trainer.fit(batcher, callback=events.append, epochs=2)
        kinds = [e.kind for e in events]
        step, epoch = trainkit.FitEventKind.STEP, trainkit.FitEventKind.EPOCH
        assert kinds == [step, step, step, epoch] * 2
        assert [e.step for e in events if e.kind == step] == [1, 2, 3, 4, 5, 6]
        assert all(0 <= e.train_accuracy <= 1 for e in events if e.kind == epoch)
        assert report.end == trainkit.FitEnd.COMPLETED and report.steps == 6 and report.epochs_completed == 2
        # A callable returning True stops the fit cleanly after that event.
        report = trainer.fit(batcher, callback=lambda e: e.step == 8, epochs=5)
        assert report.end == trainkit.FitEnd.STOPPED and trainer.step_count == 8


def test_an_exception_in_a_callback_comes_out_of_fit_with_nothing_lost():
    x, y = fit_data()

    def explode(event):
        if event.step == 4:
            raise KeyError("from the callback")

    with trainkit.Model() as model, reference_trainer(model) as trainer, \
            trainkit.Dataset.from_arrays(x, y) as data, trainkit.Batcher(data, 16, seed=1) as batcher:
        with pytest.raises(KeyError, match="from the callback"):
            trainer.fit(batcher, callback=explode, epochs=3)
        assert trainer.step_count == 4
        # The trainer and the cursor are at that step: the fit goes on to the end.
        report = trainer.fit(batcher, epochs=3)
        assert report.end == trainkit.FitEnd.COMPLETED and trainer.step_count == 9


def test_cancel_from_another_thread_ends_fit_with_cancelled():
    x, y = fit_data()
    with trainkit.Model() as model, reference_trainer(model) as trainer, \
            trainkit.Dataset.from_arrays(x, y) as data, trainkit.Batcher(data, 4, seed=1) as batcher:
        started = threading.Event()

        def slow(event):
            started.set()
            time.sleep(0.002)

        canceller = threading.Thread(target=lambda: (started.wait(10), time.sleep(0.02), trainer.cancel()))
        canceller.start()
        with pytest.raises(trainkit.TrainKitError) as error:
            trainer.fit(batcher, callback=slow, epochs=100000)
        canceller.join()
        assert error.value.status == trainkit.Status.ERROR_CANCELLED
        assert 0 < trainer.step_count < 100000 * 12
        assert trainer.evaluate(data)[1] >= 0  # the request was withdrawn


def test_a_stream_batcher_trains_as_the_same_rows_in_a_dataset_and_resumes():
    x, y = fit_data()
    batches = len(x) // 16

    def fill(epoch, batch):
        return None if batch == batches else (x[batch * 16:(batch + 1) * 16].astype(np.float64), y[batch * 16:(batch + 1) * 16])

    with trainkit.Model() as a, trainkit.Model() as b, trainkit.Model() as c, reference_trainer(a) as expected, \
            reference_trainer(b) as streamed, reference_trainer(c) as resumed, trainkit.Dataset.from_arrays(x, y) as data, \
            trainkit.Batcher(data, 16, shuffle=False) as batcher:
        expected.fit(batcher, epochs=3)
        with trainkit.StreamBatcher(fill, [4], 16, batches_per_epoch=batches) as stream:
            events = []
            report = streamed.fit(stream, callback=events.append, epochs=3)
            assert report.end == trainkit.FitEnd.COMPLETED and report.steps == 3 * batches
            assert [e.batch for e in events if e.kind == trainkit.FitEventKind.STEP][:3] == [1, 2, 3]
            assert np.array_equal(streamed.parameters(), expected.parameters())
        # Stopped mid-epoch, saved with the stream's cursor, resumed by a new stream.
        checkpoint = tmp("python-stream.safetensors")
        asked = []
        with trainkit.StreamBatcher(fill, [4], 16) as stream:
            resumed.fit(stream, callback=lambda e: e.step == batches + 1, epochs=3)
            resumed.save(checkpoint, stream)
        with trainkit.StreamBatcher(lambda e, b: (asked.append((e, b)), fill(e, b))[1], [4], 16) as stream:
            resumed.load(checkpoint, stream)
            report = resumed.fit(stream, epochs=3)
        # It prefetched epoch 0 before the load; after it, it went on from batch 1 of epoch 1.
        assert (1, 1) in asked and (1, 0) not in asked and report.steps == 3 * batches - (batches + 1)
        assert np.array_equal(resumed.parameters(), expected.parameters())


def test_an_exception_in_a_stream_fill_comes_out_of_fit_after_its_batches():
    x, y = fit_data()

    def fill(epoch, batch):
        if batch == 2:
            raise OSError("the file went away")
        return x[batch * 16:(batch + 1) * 16], y[batch * 16:(batch + 1) * 16]

    with trainkit.Model() as model, reference_trainer(model) as trainer, \
            trainkit.StreamBatcher(fill, [4], 16, prefetch=1) as stream:
        with pytest.raises(OSError, match="the file went away"):
            trainer.fit(stream, epochs=2)
        assert trainer.step_count == 2
        with pytest.raises(trainkit.TrainKitError):
            trainkit.StreamBatcher(fill, [4], 0)
        with pytest.raises(TypeError):
            trainkit.StreamBatcher(None, [4], 16)


def test_a_stream_fill_may_close_its_own_stream_and_give_f16_features():
    x, y = fit_data()
    streams = []
    made = threading.Event()

    def closing(epoch, batch):
        made.wait(10)  # fill may run before the constructor returns
        streams[0].close()  # closing from inside fill never waits for fill itself
        return x[:16], y[:16]

    stream = trainkit.StreamBatcher(closing, [4], 16)
    streams.append(stream)
    made.set()
    stream._thread.join(10)
    assert not stream._thread.is_alive() and stream.closed

    def half(epoch, batch):
        return None if batch == 3 else (x[batch * 16:(batch + 1) * 16].astype(np.float16), y[batch * 16:(batch + 1) * 16])

    with trainkit.Model() as model, reference_trainer(model) as trainer, \
            trainkit.StreamBatcher(half, [4], 16) as stream:
        assert trainer.fit(stream, epochs=1).steps == 3


def test_early_stopping_keep_best_and_the_learning_rate():
    x, y = fit_data()
    best = tmp("python-best.safetensors")
    with trainkit.Model() as model, reference_trainer(model) as trainer, \
            trainkit.Dataset.from_arrays(x, y) as train, trainkit.Dataset.from_arrays(x, (y + 1) % 3) as rising, \
            trainkit.Batcher(train, 16, seed=1) as batcher:
        events = []
        report = trainer.fit(batcher, callback=events.append, epochs=30, validation=rising,
                             early_stopping=trainkit.Monitor.VAL_LOSS, patience=2, keep_best=best, step_events=0)
        assert report.end == trainkit.FitEnd.EARLY_STOPPED and report.best_epoch == 0
        assert len(events) == 3 and events[0].improved
        assert trainer.evaluate(rising)[0] == events[0].validation_loss
        trainer.set_learning_rate(0.0)
        before = trainer.parameters()
        trainer.step(x[:8], y[:8])
        assert np.array_equal(before, trainer.parameters()) and trainer.learning_rate == 0.0
        with pytest.raises(trainkit.TrainKitError):
            trainer.set_learning_rate(-1.0)


def test_freezing_keeps_a_layer_still_and_groups_set_rates_and_decay():
    x, y = fit_data()
    with trainkit.Model() as model, reference_trainer(model) as trainer, \
            trainkit.Dataset.from_arrays(x, y) as train, trainkit.Batcher(train, 8, seed=1) as batcher:
        names = trainer.parameter_names()
        body = names[0].rsplit(".", 1)[0] + ".*"
        full_memory = trainer.memory_bytes
        assert trainer.freeze(body) == 2
        assert trainer.parameter_settings(names[0]).frozen and not trainer.parameter_settings(names[2]).frozen
        assert trainer.memory_bytes < full_memory
        before = trainer.state_dict()
        trainer.fit(batcher, epochs=2)
        after = trainer.state_dict()
        assert all(np.array_equal(before[n], after[n]) for n in names[:2])
        assert not np.array_equal(before[names[2]], after[names[2]])
        assert trainer.unfreeze(body) == 2
        batcher.reset(0)
        trainer.fit(batcher, epochs=1)
        assert not np.array_equal(after[names[0]], trainer.parameter(names[0]))
        assert trainer.set_param_group("*.bias", lr_scale=0.5, weight_decay=0.1) == 2
        assert trainer.parameter_settings(names[1]) == trainkit.ParameterSettings(False, 0.5, 0.1)
        trainer.set_param_group("*.bias")
        assert trainer.parameter_settings(names[1]) == trainkit.ParameterSettings(False, 1.0, 0.0)
        with pytest.raises(trainkit.TrainKitError, match=names[0]):
            trainer.freeze("encoder.*")
        assert trainer.freeze("*") == 4
        with pytest.raises(trainkit.TrainKitError, match="every parameter is frozen"):
            trainer.step(x[:8], y[:8])
        trainer.unfreeze("*")
        with pytest.raises(trainkit.TrainKitError):
            trainer.set_param_group("*", lr_scale=-1.0)


def test_metrics_csv_and_split():
    x, y = fit_data()
    csv = tmp("python.csv")
    with open(csv, "w") as f:
        f.write("a,b,c,d,label\n")
        for row, label in zip(x, y):
            f.write(",".join(f"{v:.9g}" for v in row) + f",{label}\n")
    with trainkit.Dataset.load_csv(csv, label="label") as data, trainkit.Model() as model, \
            reference_trainer(model) as trainer, trainkit.Batcher(data, 16, seed=1) as batcher:
        assert len(data) == 48 and data.sample_shape == (4,)
        trainer.fit(batcher, epochs=20)
        m = trainer.metrics(data, batch_size=10, top_k=2)
        predicted = trainer.predict(x).argmax(axis=1)
        expected = np.zeros((3, 3), dtype=np.int64)
        np.add.at(expected, (y, predicted), 1)
        assert np.array_equal(m.confusion, expected)
        assert m.accuracy == pytest.approx((predicted == y).mean())
        assert m.top_k_accuracy >= m.accuracy and m.classes == 3
        recall = np.diag(expected) / expected.sum(axis=1)
        np.testing.assert_allclose(m.recall, recall)
        first, rest = data.split(40)
        with first, rest:
            assert len(first) == 40 and len(rest) == 8
    with open(csv, "a") as f:
        f.write("1,2,x,4,0\n")
    with pytest.raises(trainkit.TrainKitError, match="line 50, column 3"):
        trainkit.Dataset.load_csv(csv, label="label")


def test_a_csv_of_features_alone_is_predicted_and_not_trained_on():
    x, y = fit_data()
    labelled, unlabelled = tmp("python-labelled.csv"), tmp("python-features.csv")
    with open(labelled, "w") as a, open(unlabelled, "w") as f:
        a.write("f0,f1,f2,f3,label\n")
        f.write("f0,f1,f2,f3\n")
        for row, label in zip(x, y):
            values = ",".join(repr(float(v)) for v in row)
            a.write(f"{values},{label}\n")
            f.write(values + "\n")
    with trainkit.Model() as model, reference_trainer(model) as trainer, \
            trainkit.Dataset.load_csv(labelled, label="label") as data, \
            trainkit.Dataset.load_csv_features(unlabelled) as features, \
            trainkit.Dataset.load_csv_features(labelled, skip="label") as again:
        assert data.has_targets and not features.has_targets and not again.has_targets
        assert len(again) == len(x) and again.sample_shape == (4,)
        with trainkit.Batcher(features, len(x), shuffle=False) as batches:
            (inputs, targets), = list(batches)
        assert targets.shape == (len(x), 0)
        assert np.array_equal(trainer.predict(inputs), trainer.predict(x))
        with pytest.raises(trainkit.TrainKitError, match="no targets"):
            trainer.evaluate(features)
        with pytest.raises(trainkit.TrainKitError, match="no targets"), trainkit.Batcher(features, 8) as batcher:
            trainer.fit(batcher, epochs=1)


def test_a_predictor_serves_four_threads_with_the_trainers_outputs():
    x, y = fit_data()
    weights = tmp("python-predictor.safetensors")
    with trainkit.Model() as model, reference_trainer(model) as trainer:
        for _ in range(20):
            trainer.step(x, y)
        expected = trainer.predict(x)
        trainer.export_weights(weights)
        with trainkit.Predictor.from_trainer(trainer, threads=1) as predictor, \
                trainkit.Predictor.load(model, weights, threads=1) as loaded:
            # Packed weights (oneDNN) against the trainer's (BLAS): equal to float rounding.
            got = predictor.predict(x)
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
            assert np.array_equal(loaded.predict(x), got)
            assert predictor.output_shape == (3,) and predictor.memory > 0
            alone = [predictor.predict(x[i * 8:i * 8 + 8 + i], probabilities=True) for i in range(4)]
            mismatches = [0] * 4

            def serve(i):
                for _ in range(30):
                    mismatches[i] += not np.array_equal(predictor.predict(x[i * 8:i * 8 + 8 + i], True), alone[i])

            threads = [threading.Thread(target=serve, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert mismatches == [0] * 4
            with pytest.raises(trainkit.TrainKitError):
                predictor.predict(np.zeros((2, 5), dtype=np.float32))


def token_samples(rng, count, seq=6, vocab=12, mark=5):
    """Ids in [1, vocab) with a padded tail (id 0, mask 0); the class says
    whether token `mark` is among the real ones."""
    lengths = rng.integers(2, seq + 1, size=count)
    ids = rng.integers(1, vocab, size=(count, seq))
    ids[ids == mark] = mark + 1
    ids[::2, 0] = mark
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.float32)
    ids = np.where(mask > 0, ids, 0).astype(np.int64)  # int64 on purpose: converted to int32
    return ids, mask, (ids == mark).any(axis=1).astype(np.int32)


def test_token_ids_and_a_mask_train_as_two_named_inputs():
    rng = np.random.default_rng(4)
    ids, mask, labels = token_samples(rng, 2048)
    test_ids, test_mask, test_labels = token_samples(rng, 256)
    options = trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAM, learning_rate=3e-3, seed=3, threads=1)
    with trainkit.Model() as model:
        x = model.op("embedding", model.input_indices("ids", 6), vocab=12, dim=16, padding_index=0)
        m = model.input("mask", 6)
        h = model.relu(model.linear(model.op("masked_mean_pool", x, m), 32))
        model.output(model.linear(h, 2), "logits")
        with trainkit.Trainer(model, options=options) as trainer:
            assert [(i.name, i.indices, i.shape) for i in trainer.inputs] == [("ids", True, (6,)),
                                                                              ("mask", False, (6,))]
            for step in range(200):
                at = (step * 32) % 2048
                batch = slice(at, at + 32)
                trainer.step({"mask": mask[batch], "ids": ids[batch]}, labels[batch])
            loss, accuracy = trainer.evaluate([test_ids, test_mask], test_labels)
            assert accuracy >= 0.95, accuracy
            by_name = trainer.predict({"ids": test_ids, "mask": test_mask})
            assert np.array_equal(by_name, trainer.predict((test_ids, test_mask)))
            # Padding changes nothing: other ids behind the mask, the same outputs.
            noise = np.where(test_mask > 0, test_ids, rng.integers(1, 12, size=test_ids.shape))
            np.testing.assert_allclose(trainer.predict([noise, test_mask]), by_name, rtol=1e-6, atol=1e-6)
            with trainkit.Predictor.from_trainer(trainer, threads=1) as predictor:
                assert [i.name for i in predictor.inputs] == ["ids", "mask"]
                np.testing.assert_allclose(predictor.predict({"ids": test_ids, "mask": test_mask}), by_name,
                                           rtol=1e-5, atol=1e-5)
            before = trainer.parameters()
            with pytest.raises(TypeError, match="integer indices"):
                trainer.step([test_ids.astype(np.float32), test_mask], test_labels)
            with pytest.raises(KeyError, match="'mask' is not given"):
                trainer.step({"ids": test_ids}, test_labels)
            with pytest.raises(KeyError, match="no model input named 'tokens'"):
                trainer.step({"ids": test_ids, "mask": test_mask, "tokens": test_ids}, test_labels)
            with pytest.raises(ValueError, match="takes 2 inputs, got 1"):
                trainer.step([test_ids], test_labels)
            with pytest.raises(TypeError, match="one input"):
                trainer.step_async([test_ids, test_mask], test_labels)
            bad = test_ids.copy()
            bad[3, 1] = 12
            with pytest.raises(trainkit.TrainKitError, match=r"outside \[0, 12\)"):
                trainer.step([bad, test_mask], test_labels)
            with pytest.raises(ValueError, match="does not fit in int32"):
                trainer.step([test_ids + 2**40, test_mask], test_labels)
            assert np.array_equal(trainer.parameters(), before)


def test_another_tools_weights_load_through_a_name_map():
    from safetensors.numpy import save_file
    rng = np.random.default_rng(9)
    body = rng.standard_normal((8, 4)).astype(np.float32)  # [out, in], as trainkit keeps it
    bias = rng.standard_normal(8).astype(np.float32)
    norm = rng.standard_normal(8).astype(np.float16)
    other = tmp("python-other-tool.safetensors")
    # Another tool's names; its dense kernel stored [in, out]; an I64 table and a head it does not share.
    save_file({"encoder.dense.kernel": np.ascontiguousarray(body.T), "encoder.dense.bias": bias,
               "encoder.norm.gamma": norm, "position_ids": np.arange(6, dtype=np.int64)[None, :],
               "pooler.weight": np.ones((3, 3), dtype=np.float32)}, other)
    with trainkit.Model() as model:
        h = model.input("x", 4)
        h = model.linear(h, 8)
        h = model.layer_norm(h)
        model.output(model.linear(h, 3), "logits")
        spec = model.spec()
        with trainkit.Trainer(model) as trainer:
            names = trainer.parameter_names()
            dense, dense_bias, norm_weight = names[0], names[1], names[2]
            head = names[4]
            mapping = {dense: ("encoder.dense.kernel", True), dense_bias: "encoder.dense.bias",
                       norm_weight: "encoder.norm.gamma"}
            before = trainer.parameters()
            # Strict: the head and the norm bias are missing, the file has extra tensors.
            with pytest.raises(trainkit.TrainKitError, match="missing; import non-strictly"):
                trainer.import_mapped(other, mapping)
            # A map entry naming a tensor the file lacks, or one that does not fit transposed or not.
            with pytest.raises(trainkit.TrainKitError, match="has no tensor 'encoder.dense.w'"):
                trainer.import_mapped(other, {dense: "encoder.dense.w"}, strict=False)
            with pytest.raises(trainkit.TrainKitError, match=r"is \[4, 8\], but"):
                trainer.import_mapped(other, {dense: "encoder.dense.kernel"}, strict=False)
            with pytest.raises(trainkit.TrainKitError, match="only a 2-D tensor can be transposed"):
                trainer.import_mapped(other, {dense_bias: ("encoder.dense.bias", True)}, strict=False)
            with pytest.raises(trainkit.TrainKitError, match="I64, not a float dtype"):
                trainer.import_mapped(other, {dense_bias: "position_ids"}, strict=False)
            with pytest.raises(trainkit.TrainKitError, match="which the model lacks"):
                trainer.import_mapped(other, {"no_such.weight": "encoder.dense.bias"}, strict=False)
            bad_map = '{"%s": {"name": "encoder.dense.bias", "flip": true}}' % dense_bias
            assert capi.tk_trainer_import_weights_mapped(trainer.handle, other, bad_map, 0) != 0
            assert "unknown field 'flip'" in capi.tk_last_error_message()
            head_before = trainer.parameter(head)
            assert np.array_equal(trainer.parameters(), before)
            report = trainer.import_mapped(other, mapping, strict=False)
            assert sorted(report["loaded"]) == sorted([dense, dense_bias, norm_weight])
            assert set(report["missing"]) == set(names) - {dense, dense_bias, norm_weight}
            assert sorted(report["unexpected"]) == ["pooler.weight", "position_ids"]
            assert report["mismatched"] == []
            assert np.array_equal(trainer.parameter(dense), body)
            assert np.array_equal(trainer.parameter(dense_bias), bias)
            assert np.array_equal(trainer.parameter(norm_weight), norm.astype(np.float32))
            assert np.array_equal(trainer.parameter(head), head_before)
    # A same-named tensor of another shape, non-strict: reported and left alone.
    save_file({"logits_w": np.zeros((5, 8), dtype=np.float32)}, other)
    with trainkit.Model.from_spec(spec) as model, trainkit.Trainer(model) as trainer:
        head = trainer.parameter_names()[4]
        kept = trainer.parameter(head)
        report = trainer.import_mapped(other, {}, strict=False)
        assert report["loaded"] == [] and report["unexpected"] == ["logits_w"]
        save_file({head: np.zeros((5, 8), dtype=np.float32)}, other)
        report = trainer.import_mapped(other, strict=False)
        assert report["mismatched"] == [{"name": head, "file_name": head, "expected": [3, 8], "found": [5, 8]}]
        assert np.array_equal(trainer.parameter(head), kept)
        with pytest.raises(trainkit.TrainKitError, match=r"is \[5, 8\], but"):
            trainer.import_mapped(other)


def test_a_loss_per_token_leaves_ignored_targets_out_of_the_mean():
    rng = np.random.default_rng(11)
    vocab, length = 7, 5
    ids = rng.integers(0, vocab, size=(64, length)).astype(np.int32)
    targets = ((ids + 1) % vocab).astype(np.int32)  # next token: the id plus one
    targets[:, -2:][rng.random((64, 2)) < 0.5] = -100  # left out, as padding would be
    options = trainkit.TrainerOptions(optimizer=trainkit.Optimizer.ADAM, learning_rate=0.05, seed=1, threads=1)
    with trainkit.Model() as model:
        x = model.op("embedding", model.input_indices("ids", length), vocab=vocab, dim=8)
        model.output(model.linear(x, vocab), "logits")
        with options, trainkit.Trainer(model, options=options) as trainer:
            assert trainer.output_shape == (length, vocab)

            def reference(logits):
                shifted = logits - logits.max(-1, keepdims=True)
                log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
                keep = targets >= 0
                picked = np.take_along_axis(log_p, np.where(keep, targets, 0)[..., None], -1)[..., 0]
                accuracy = ((logits.argmax(-1) == targets) & keep).sum() / keep.sum()
                return -(picked * keep).sum() / keep.sum(), accuracy

            loss, accuracy = trainer.evaluate(ids, targets)
            want_loss, want_accuracy = reference(trainer.predict(ids).astype(np.float64))
            assert abs(loss - want_loss) < 1e-5 and abs(accuracy - want_accuracy) < 1e-12
            for _ in range(60):
                trainer.step(ids, targets)
            loss, accuracy = trainer.evaluate(ids, targets)
            want_loss, want_accuracy = reference(trainer.predict(ids).astype(np.float64))
            assert abs(loss - want_loss) < 1e-5 and abs(accuracy - want_accuracy) < 1e-12
            assert accuracy == 1.0 and loss < 0.1, (loss, accuracy)
            probabilities = trainer.predict(ids, probabilities=True)
            np.testing.assert_allclose(probabilities.sum(-1), 1, rtol=1e-5)
            # Every target left out: a zero loss.
            assert trainer.step(ids, np.full_like(targets, -100)) == 0.0
            before = trainer.parameters()
            bad = targets.copy()
            bad[2, 1] = vocab
            with pytest.raises(trainkit.TrainKitError, match=r"outside \[0, 7\) \(-100 leaves a target out\)"):
                trainer.step(ids, bad)
            with pytest.raises(trainkit.TrainKitError, match="shape"):
                trainer.step(ids, targets[:, :3])
            with pytest.raises(trainkit.TrainKitError, match="a loss per token"):
                with trainkit.Dataset.from_arrays(ids.astype(np.float32), targets[:, 0]) as data:
                    trainer.metrics(data)
            assert np.allclose(trainer.parameters(), before, atol=0)


def test_split_by_slices_and_concat_round_trip_and_bad_axes_are_refused():
    x = np.random.default_rng(3).standard_normal((4, 3, 6)).astype(np.float32)
    with trainkit.Model() as model:
        inp = model.input("x", 3, 6)
        parts = [model.op("slice", inp, axis=-1, start=s, length=n) for s, n in ((0, 2), (2, 1), (3, 3))]
        joined = model.op("concat", model.op("concat", parts[0], parts[1], axis=1), parts[2], axis=-1)
        rows = model.op("concat", model.op("slice", joined, axis=0, start=1, length=2),
                        model.op("slice", joined, axis=0, start=0, length=1), axis=0)
        model.output(model.reshape(rows, 18), "out")
        assert model.node_shape(joined) == (3, 6)
        with pytest.raises(trainkit.TrainKitError, match="runs past"):
            model.op("slice", inp, axis=1, start=4, length=3)
        with pytest.raises(trainkit.TrainKitError, match="needs equal other extents"):
            model.op("concat", inp, parts[0], axis=0)
        with pytest.raises(trainkit.TrainKitError, match="axis 2 is outside"):
            model.op("concat", inp, inp, axis=2)
        with pytest.raises(trainkit.TrainKitError, match="length >= 1"):
            model.op("slice", inp, start=0, length=0)
        with trainkit.Trainer(model, trainkit.Loss.MSE) as trainer:
            out = trainer.predict(x).reshape(4, 3, 6)
            assert np.array_equal(out, x[:, [1, 2, 0], :])


def test_gelu_tanh_is_gpt2s_approximation_of_gelu():
    from math import erf
    x = np.linspace(-6, 6, 97, dtype=np.float32)[None, :]
    with trainkit.Model() as model:
        inp = model.input("x", 97)
        model.output(model.op("gelu_tanh", inp), "y")
        with trainkit.Trainer(model, trainkit.Loss.MSE) as trainer:
            got = trainer.predict(x)[0].astype(np.float64)
    v = x[0].astype(np.float64)
    want = 0.5 * v * (1 + np.tanh(np.sqrt(2 / np.pi) * (v + 0.044715 * v ** 3)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    exact = np.array([0.5 * t * (1 + erf(t / np.sqrt(2))) for t in v])
    assert 1e-5 < np.abs(got - exact).max() < 1e-3  # an approximation, and a close one
