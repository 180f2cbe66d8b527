"""TrainerOptions: every setting of tk_trainer_options, each checked as set."""
from __future__ import annotations

from typing import Any, Dict

from ._enums import Device, Distributed, DType, LossScaling, NonFinite, Optimizer, Precision, Reduction, Schedule
from ._native import Handle, call, capi, extent


class TrainerOptions(Handle):
    """Trainer settings. Each setter checks its value and returns self;
    TrainerOptions(learning_rate=0.1, momentum=(0.9, True)) calls them by
    keyword (a tuple spreads into several arguments)."""

    _destroy = staticmethod(capi.tk_trainer_options_destroy)

    def __init__(self, **settings: Any) -> None:
        super().__init__(call(capi.tk_trainer_options_create))
        self._settings: Dict[str, Any] = {}
        for name, value in settings.items():
            setter = getattr(type(self), name, None)
            if not callable(setter) or name.startswith("_"):
                raise TypeError(f"TrainerOptions has no setting {name!r}")
            setter(self, *(value if isinstance(value, tuple) else (value,)))

    def _set(self, name: str, function: Any, *args: Any) -> "TrainerOptions":
        call(function, self.handle, *args)
        self._settings[name] = args[0] if len(args) == 1 else args
        return self

    def optimizer(self, optimizer: Optimizer) -> "TrainerOptions":
        return self._set("optimizer", capi.tk_trainer_options_set_optimizer, Optimizer(optimizer))

    def learning_rate(self, lr: float) -> "TrainerOptions":
        return self._set("learning_rate", capi.tk_trainer_options_set_learning_rate, float(lr))

    def momentum(self, momentum: float, nesterov: bool = False) -> "TrainerOptions":
        return self._set("momentum", capi.tk_trainer_options_set_momentum, float(momentum), int(nesterov))

    def weight_decay(self, decay: float) -> "TrainerOptions":
        return self._set("weight_decay", capi.tk_trainer_options_set_weight_decay, float(decay))

    def adam(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8) -> "TrainerOptions":
        return self._set("adam", capi.tk_trainer_options_set_adam, float(beta1), float(beta2), float(eps))

    def schedule(self, schedule: Schedule, warmup_steps: int = 0, step_size: int = 1, gamma: float = 0.1,
                 total_steps: int = 0, min_lr: float = 0.0) -> "TrainerOptions":
        return self._set("schedule", capi.tk_trainer_options_set_schedule, Schedule(schedule),
                         extent(warmup_steps, "warmup_steps"), extent(step_size, "step_size"), float(gamma),
                         extent(total_steps, "total_steps"), float(min_lr))

    def clip_norm(self, max_norm: float) -> "TrainerOptions":
        return self._set("clip_norm", capi.tk_trainer_options_set_clip_norm, float(max_norm))

    def accumulation_steps(self, steps: int) -> "TrainerOptions":
        return self._set("accumulation_steps", capi.tk_trainer_options_set_accumulation_steps,
                         extent(steps, "steps"))

    def seed(self, seed: int) -> "TrainerOptions":
        value = extent(seed, "seed")
        if not 0 <= value < 2**64:
            raise ValueError(f"seed {value} is not in [0, 2^64)")
        return self._set("seed", capi.tk_trainer_options_set_seed, value)

    def threads(self, threads: int) -> "TrainerOptions":
        return self._set("threads", capi.tk_trainer_options_set_threads, extent(threads, "threads"))

    def reduction(self, reduction: Reduction) -> "TrainerOptions":
        return self._set("reduction", capi.tk_trainer_options_set_reduction, Reduction(reduction))

    def nonfinite(self, policy: NonFinite) -> "TrainerOptions":
        return self._set("nonfinite", capi.tk_trainer_options_set_nonfinite, NonFinite(policy))

    def device(self, device: Device) -> "TrainerOptions":
        return self._set("device", capi.tk_trainer_options_set_device, Device(device))

    def cuda_device(self, index: int) -> "TrainerOptions":
        return self._set("cuda_device", capi.tk_trainer_options_set_cuda_device, extent(index, "index"))

    def compute_dtype(self, dtype: DType) -> "TrainerOptions":
        return self._set("compute_dtype", capi.tk_trainer_options_set_compute_dtype, DType(dtype))

    def batch_hint(self, rows: int) -> "TrainerOptions":
        return self._set("batch_hint", capi.tk_trainer_options_set_batch_hint, extent(rows, "rows"))

    def memory_limit(self, bytes: int) -> "TrainerOptions":
        value = extent(bytes, "bytes")
        if value < 0:
            raise ValueError(f"memory limit {value} is negative")
        return self._set("memory_limit", capi.tk_trainer_options_set_memory_limit, value)

    def precision(self, precision: Precision) -> "TrainerOptions":
        return self._set("precision", capi.tk_trainer_options_set_precision, Precision(precision))

    def loss_scaling(self, mode: LossScaling, init_scale: float = 65536.0, growth_factor: float = 2.0,
                     backoff_factor: float = 0.5, growth_interval: int = 2000) -> "TrainerOptions":
        return self._set("loss_scaling", capi.tk_trainer_options_set_loss_scaling, LossScaling(mode),
                         float(init_scale), float(growth_factor), float(backoff_factor),
                         extent(growth_interval, "growth_interval"))

    def replicas(self, replicas: int) -> "TrainerOptions":
        """Data parallel in one process: copies of the model on threads (or GPUs)."""
        return self._set("replicas", capi.tk_trainer_options_set_replicas, extent(replicas, "replicas"))

    def sync_batch_norm(self, enabled: bool) -> "TrainerOptions":
        """Data parallel: batch norm normalizes over every replica's rows (CPU replicas)."""
        return self._set("sync_batch_norm", capi.tk_trainer_options_set_sync_batch_norm, int(enabled))

    def decay_bias_and_norm(self, enabled: bool) -> "TrainerOptions":
        """Weight decay on biases and normalization weights too (off by default)."""
        return self._set("decay_bias_and_norm", capi.tk_trainer_options_set_decay_bias_and_norm, int(enabled))

    def distributed(self, mode: Distributed) -> "TrainerOptions":
        """Data parallel across processes: MPI (under mpirun) or NCCL."""
        return self._set("distributed", capi.tk_trainer_options_set_distributed, Distributed(mode))

    def communication_timeout(self, seconds: float) -> "TrainerOptions":
        return self._set("communication_timeout", capi.tk_trainer_options_set_communication_timeout,
                         float(seconds))

    def bucket_bytes(self, bytes: int) -> "TrainerOptions":
        return self._set("bucket_bytes", capi.tk_trainer_options_set_bucket_bytes, extent(bytes, "bytes"))

    def cuda_graphs(self, enabled: bool) -> "TrainerOptions":
        return self._set("cuda_graphs", capi.tk_trainer_options_set_cuda_graphs, int(enabled))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self._settings.items())
        return f"TrainerOptions({shown})" if not self.closed else "<TrainerOptions closed>"
