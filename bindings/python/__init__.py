"""trainkit for Python: the idiomatic layer over `trainkit.capi`, which SWIG
generates from capi/trainkit.h (every C function, callable on the `.handle`
of these objects).

Objects own native handles and free them on close(), at the end of a `with`
block, or when garbage collected. Batches come from any buffer-protocol
object (numpy arrays are read in place, any strides); results come back as
numpy arrays. Native errors raise TrainKitError with the C API's status and
message. The GIL is released during native work.
"""
from __future__ import annotations

from typing import Tuple

from ._enums import (CallbackResult, Device, Distributed, DType, FitEnd, FitEventKind, Init, Loss, LossScaling, Monitor, MonitorMode,
                     NonFinite, Normalization, Optimizer, Precision, Reduction, Schedule, ShardRemainder, Status)
from . import capi as capi
from ._native import TrainKitError, c_string, call
from .data import Batcher, Dataset, StreamBatcher
from .fit import FitEvent, FitOptions, FitReport
from .metrics import Metrics
from .model import Model, Node
from .options import TrainerOptions
from .predictor import Predictor
from .trainer import ParameterSettings, StepReport, Trainer

__all__ = ["capi", "TrainKitError", "Status", "DType", "Init", "Loss", "Reduction", "Optimizer", "Schedule",
           "NonFinite", "Device", "Precision", "LossScaling", "Distributed", "Normalization", "ShardRemainder",
           "Model", "Node", "TrainerOptions", "Trainer", "StepReport", "ParameterSettings", "Dataset", "Batcher", "StreamBatcher", "version", "gpu_count",
           "CallbackResult", "Monitor", "MonitorMode", "FitEnd", "FitEventKind", "FitOptions", "FitEvent", "FitReport", "Metrics", "Predictor",
           "gpu_status", "gpu_info"]


def version() -> str:
    """The library version, e.g. "0.2.0"."""
    return str(capi.tk_version())


def gpu_status() -> Tuple[int, str]:
    """(usable CUDA GPUs, why there are none when 0)."""
    reason = bytearray(512)
    count = call(capi.tk_gpu_count, reason)
    return int(count), c_string(reason)


def gpu_count() -> int:
    """CUDA GPUs a trainer can use (0 without the CUDA plugin, a driver or a GPU)."""
    return gpu_status()[0]


def gpu_info(index: int) -> Tuple[str, int, Tuple[int, int]]:
    """(name, memory bytes, compute capability) of GPU `index`."""
    info = capi.GpuInfo()
    call(capi.tk_gpu_info_get, index, info)
    return str(info.name), int(info.memory_bytes), (int(info.compute_major), int(info.compute_minor))
