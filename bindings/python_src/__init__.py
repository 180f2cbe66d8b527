"""trainkit for Python: the idiomatic layer over the SWIG-generated module.

Objects own native handles and free them on close(), at the end of a `with`
block, or when garbage collected; closing twice does nothing and a closed
object raises ValueError. Batches come from any buffer-protocol object
(numpy arrays are used in place when they are C-contiguous with the right
dtype); results come back as numpy arrays. Native errors raise
TrainKitError carrying the C API's status and message.
"""
import enum
import threading

import numpy as np

from . import trainkit_native as _n

__all__ = ["TrainKitError", "Loss", "Optimizer", "Precision", "DType", "Schedule", "Model", "TrainerOptions",
           "Trainer", "Dataset", "Batcher", "version"]


class TrainKitError(RuntimeError):
    """A native error: `status` is the tk_status value, the message the native one."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Loss(enum.IntEnum):
    SOFTMAX_CROSS_ENTROPY = 0
    MSE = 1
    BCE_WITH_LOGITS = 2


class Optimizer(enum.IntEnum):
    SGD = 0
    ADAM = 1
    ADAMW = 2


class Precision(enum.IntEnum):
    FP32 = 0
    FP16 = 1
    BF16 = 2


class Device(enum.IntEnum):
    AUTO = 0  # a CUDA GPU when one can be used, else the CPU (the default)
    CPU = 1
    CUDA = 2  # CUDA GPU 0; an error when none can be used


class DType(enum.IntEnum):
    F32 = 0
    F64 = 1
    F16 = 2
    BF16 = 3
    I32 = 4
    U8 = 5


class Schedule(enum.IntEnum):
    CONSTANT = 0
    STEP = 1
    COSINE = 2


def version():
    return _n.tkb_version()


def gpu_count():
    """CUDA GPUs a trainer can use (0 without the CUDA plugin, a driver or a GPU)."""
    count = _n.tkb_gpu_count()
    if count < 0:
        _check()
    return count


def _check(status=None):
    status = _n.tkb_last_status() if status is None else status
    if status != 0:
        raise TrainKitError(status, _n.tkb_last_message())


def _array(values, dtype):
    """A C-contiguous numpy view (no copy when the input already fits)."""
    return np.ascontiguousarray(values, dtype=dtype)


def _shape(array):
    # Callers keep the result in a local for the whole native call: an
    # address taken from a temporary would dangle once the temporary dies.
    return _array(array.shape, np.int64)


class _Native:
    """Owns one native handle."""

    _destroy = None

    def __init__(self, handle):
        if handle == 0:
            _check()
        self._handle = handle
        self._lock = threading.Lock()

    @property
    def handle(self):
        if self._handle == 0:
            raise ValueError(f"{type(self).__name__} is closed")
        return self._handle

    @property
    def closed(self):
        return self._handle == 0

    def close(self):
        with self._lock:
            handle, self._handle = self._handle, 0
        if handle:
            type(self)._destroy(handle)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_handle", 0):
            self.close()


class Model(_Native):
    """A model under construction: a DAG of named nodes."""

    _destroy = staticmethod(_n.tkb_model_destroy)

    def __init__(self, _handle=None):
        super().__init__(_n.tkb_model_create() if _handle is None else _handle)

    @classmethod
    def from_spec(cls, json_text):
        return cls(_n.tkb_model_from_spec(json_text))

    @classmethod
    def load_spec(cls, path):
        return cls(_n.tkb_model_load_spec(str(path)))

    def _node(self, node):
        _check()
        return node

    def input(self, name, *shape):
        dims = _array(shape, np.int64).ravel()
        if dims.size == 0:
            raise TrainKitError(1, "an input needs at least one extent")
        return self._node(_n.tkb_model_input(self.handle, name, dims.size, dims.ctypes.data))

    def linear(self, node, units):
        return self._node(_n.tkb_model_linear(self.handle, node, units))

    def relu(self, node):
        return self._node(_n.tkb_model_activation(self.handle, node, 0))

    def gelu(self, node):
        return self._node(_n.tkb_model_activation(self.handle, node, 1))

    def tanh(self, node):
        return self._node(_n.tkb_model_activation(self.handle, node, 2))

    def sigmoid(self, node):
        return self._node(_n.tkb_model_activation(self.handle, node, 3))

    def dropout(self, node, p):
        return self._node(_n.tkb_model_dropout(self.handle, node, p))

    def dropout2d(self, node, p):
        return self._node(_n.tkb_model_dropout2d(self.handle, node, p))

    def batch_norm(self, node, eps=1e-5, momentum=0.1):
        return self._node(_n.tkb_model_batch_norm(self.handle, node, eps, momentum))

    def layer_norm(self, node, axes=1, eps=1e-5):
        return self._node(_n.tkb_model_layer_norm(self.handle, node, axes, eps))

    def reshape(self, node, *shape):
        dims = _array(shape, np.int64).ravel()
        return self._node(_n.tkb_model_reshape(self.handle, node, dims.size, dims.ctypes.data))

    def conv2d(self, node, out_channels, kernel, stride=1, padding=0, dilation=1, groups=1, bias=True):
        """2-D convolution over [channels, height, width], square kernel, as PyTorch's Conv2d."""
        return self._node(_n.tkb_model_conv2d(self.handle, node, out_channels, kernel, stride, padding, dilation,
                                              groups, int(bias)))

    def max_pool2d(self, node, kernel, stride=None, padding=0):
        return self._node(_n.tkb_model_pool2d(self.handle, node, 0, kernel, kernel if stride is None else stride,
                                              padding))

    def avg_pool2d(self, node, kernel, stride=None, padding=0):
        return self._node(_n.tkb_model_pool2d(self.handle, node, 1, kernel, kernel if stride is None else stride,
                                              padding))

    def num_parameters(self):
        """Scalar parameters of the model's nodes."""
        count = _n.tkb_model_num_parameters(self.handle)
        if count < 0:
            _check()
        return count

    def global_avg_pool(self, node):
        return self._node(_n.tkb_model_global_avg_pool(self.handle, node))

    def flatten(self, node):
        return self._node(_n.tkb_model_flatten(self.handle, node))

    def add(self, a, b):
        return self._node(_n.tkb_model_add(self.handle, a, b))

    def output(self, node, name="output"):
        _check(_n.tkb_model_output(self.handle, node, name))
        return self

    def save_spec(self, path):
        _check(_n.tkb_model_save_spec(self.handle, str(path)))


class TrainerOptions(_Native):
    """Trainer settings; each setter checks its value and returns self."""

    _destroy = staticmethod(_n.tkb_options_destroy)

    def __init__(self, **settings):
        super().__init__(_n.tkb_options_create())
        for name, value in settings.items():
            getattr(self, name)(*(value if isinstance(value, tuple) else (value,)))

    def _set(self, status):
        _check(status)
        return self

    def optimizer(self, optimizer):
        return self._set(_n.tkb_options_set_optimizer(self.handle, int(optimizer)))

    def learning_rate(self, lr):
        return self._set(_n.tkb_options_set_learning_rate(self.handle, lr))

    def momentum(self, momentum, nesterov=False):
        return self._set(_n.tkb_options_set_momentum(self.handle, momentum, int(nesterov)))

    def weight_decay(self, decay):
        return self._set(_n.tkb_options_set_weight_decay(self.handle, decay))

    def schedule(self, schedule, warmup_steps=0, step_size=1, gamma=0.1, total_steps=0, min_lr=0.0):
        return self._set(_n.tkb_options_set_schedule(self.handle, int(schedule), warmup_steps, step_size, gamma,
                                                     total_steps, min_lr))

    def clip_norm(self, max_norm):
        return self._set(_n.tkb_options_set_clip_norm(self.handle, max_norm))

    def accumulation_steps(self, steps):
        return self._set(_n.tkb_options_set_accumulation_steps(self.handle, steps))

    def seed(self, seed):
        return self._set(_n.tkb_options_set_seed(self.handle, seed))

    def threads(self, threads):
        return self._set(_n.tkb_options_set_threads(self.handle, threads))

    def precision(self, precision):
        return self._set(_n.tkb_options_set_precision(self.handle, int(precision)))

    def device(self, device):
        return self._set(_n.tkb_options_set_device(self.handle, int(device)))

    def cuda_device(self, index):
        return self._set(_n.tkb_options_set_cuda_device(self.handle, index))

    def batch_hint(self, rows):
        return self._set(_n.tkb_options_set_batch_hint(self.handle, rows))


class Dataset(_Native):
    """A dataset in native memory."""

    _destroy = staticmethod(_n.tkb_dataset_destroy)

    @classmethod
    def load_idx(cls, images_path, labels_path):
        return cls(_n.tkb_dataset_load_idx(str(images_path), str(labels_path)))

    def __len__(self):
        size = _n.tkb_dataset_size(self.handle)
        _check()
        return size

    def stats(self):
        out = np.zeros(2)
        _check(_n.tkb_dataset_stats(self.handle, out.ctypes.data))
        return float(out[0]), float(out[1])

    def standardize(self, mean, std):
        _check(_n.tkb_dataset_normalize(self.handle, 1, mean, std))


class Batcher(_Native):
    """Seeded, shuffled mini-batches over a Dataset."""

    _destroy = staticmethod(_n.tkb_batcher_destroy)

    def __init__(self, dataset, batch_size, shuffle=True, seed=0, drop_last=False):
        super().__init__(_n.tkb_batcher_create(dataset.handle, batch_size, int(shuffle), seed, int(drop_last)))
        self.dataset = dataset  # kept alive: the batcher reads it

    def reset(self, epoch):
        _check(_n.tkb_batcher_reset(self.handle, epoch))


class Trainer(_Native):
    """Trains a compiled copy of a model. Not for use from two threads at once."""

    _destroy = staticmethod(_n.tkb_trainer_destroy)

    def __init__(self, model, loss=Loss.SOFTMAX_CROSS_ENTROPY, options=None):
        super().__init__(_n.tkb_trainer_create(model.handle, int(loss), options.handle if options else 0))

    @staticmethod
    def _targets(targets):
        array = np.asarray(targets)
        if np.issubdtype(array.dtype, np.integer):
            return _array(array, np.int32), DType.I32
        return _array(array, np.float32), DType.F32

    def step(self, inputs, targets):
        """One training step; returns the batch loss."""
        x = _array(inputs, np.float32)
        y, y_dtype = self._targets(targets)
        x_shape, y_shape = _shape(x), _shape(y)
        loss = _n.tkb_trainer_step(self.handle, x.ctypes.data, int(DType.F32), x.ndim, x_shape.ctypes.data,
                                   y.ctypes.data, int(y_dtype), y.ndim, y_shape.ctypes.data)
        _check()
        return loss

    def step_next(self, batcher):
        """Steps on the batcher's next batch: the loss, or None at the end of the epoch."""
        out = np.zeros(1)
        result = _n.tkb_trainer_step_next(self.handle, batcher.handle, out.ctypes.data)
        _check()
        return float(out[0]) if result == 1 else None

    def evaluate(self, inputs, targets=None, batch_size=1000):
        """(loss, accuracy) on a batch, or on a whole Dataset."""
        out = np.zeros(2)
        if isinstance(inputs, Dataset):
            _check(_n.tkb_trainer_evaluate_dataset(self.handle, inputs.handle, batch_size, out.ctypes.data))
        else:
            x = _array(inputs, np.float32)
            y, y_dtype = self._targets(targets)
            x_shape, y_shape = _shape(x), _shape(y)
            _check(_n.tkb_trainer_evaluate(self.handle, x.ctypes.data, int(DType.F32), x.ndim, x_shape.ctypes.data,
                                           y.ctypes.data, int(y_dtype), y.ndim, y_shape.ctypes.data,
                                           out.ctypes.data))
        return float(out[0]), float(out[1])

    def predict(self, inputs, outputs_per_sample, probabilities=False):
        """Logits (or probabilities) as a numpy array [batch, outputs_per_sample]."""
        x = _array(inputs, np.float32)
        out = np.empty((x.shape[0], outputs_per_sample), dtype=np.float32)
        x_shape, out_shape = _shape(x), _shape(out)
        _check(_n.tkb_trainer_predict(self.handle, x.ctypes.data, int(DType.F32), x.ndim, x_shape.ctypes.data,
                                      int(probabilities), out.ctypes.data, int(DType.F32), 2, out_shape.ctypes.data))
        return out

    @property
    def step_count(self):
        steps = _n.tkb_trainer_step_count(self.handle)
        _check()
        return steps

    def parameters(self):
        count = _n.tkb_trainer_num_parameters(self.handle)
        _check()
        out = np.empty(count, dtype=np.float32)
        _check(_n.tkb_trainer_copy_parameters(self.handle, out.ctypes.data, count))
        return out

    def save(self, path, cursor=None):
        _check(_n.tkb_trainer_save(self.handle, str(path), cursor.handle if cursor else 0))

    def load(self, path, cursor=None):
        _check(_n.tkb_trainer_load(self.handle, str(path), cursor.handle if cursor else 0))

    def export_weights(self, path, dtype=DType.F32):
        _check(_n.tkb_trainer_export_weights(self.handle, str(path), int(dtype)))

    def import_weights(self, path):
        _check(_n.tkb_trainer_import_weights(self.handle, str(path)))
