"""Trainer: a compiled copy of a model with its loss, optimizer and state."""
from __future__ import annotations

import dataclasses
import os
import json
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._enums import DType, Loss, Status
from ._native import (ArrayLike, Handle, PathLike, TrainKitError, c_string, call, capi, extent, handle_or_none, path,
                      sized_text, text)
from ._native import features as as_inputs
from ._native import targets as as_targets
from ._native import InputInfo, input_infos, model_inputs, output_infos, predict_outputs
from .data import Batcher, Dataset, StreamBatcher
from .fit import FitEvent, FitOptions, FitReport, run_fit
from .metrics import Metrics
from .model import Model
from .options import TrainerOptions


@dataclasses.dataclass(frozen=True)
class ParameterSettings:
    """How one parameter tensor trains (tk_trainer_parameter_settings)."""

    frozen: bool
    lr_scale: float  # times the scheduled learning rate
    weight_decay: float


@dataclasses.dataclass(frozen=True)
class StepReport:
    """What one step did (tk_step_report)."""

    applied: bool  # the optimizer updated the weights
    skipped: bool  # the batch was dropped (non-finite under loss scaling or NonFinite.SKIP)
    loss: float  # the batch loss, unscaled
    loss_scale: float  # the scale this step's backward used (1 without loss scaling)
    learning_rate: float  # of the update, when applied
    grad_norm: float  # global norm of the unscaled gradient, when applied
    step: int  # optimizer steps after the call

    @staticmethod
    def of(report: Any) -> "StepReport":
        return StepReport(bool(report.applied), bool(report.skipped), float(report.loss), float(report.loss_scale),
                          float(report.learning_rate), float(report.grad_norm), int(report.step))


class Trainer(Handle):
    """Trains a compiled copy of a model (the model may be closed after).
    Batches are any arrays: float inputs are read in place (any strides);
    class indices that do not fit in int32 are refused. The GIL is released
    during every native call, so other Python threads run while a step
    does. Not for use from two threads at once."""

    _destroy = staticmethod(capi.tk_trainer_destroy)

    def __init__(self, model: Model, loss: Loss = Loss.SOFTMAX_CROSS_ENTROPY,
                 options: Optional[TrainerOptions] = None) -> None:
        super().__init__(call(capi.tk_trainer_create, model.handle, Loss(loss), handle_or_none(options)))
        self.loss = Loss(loss)
        spec = json.loads(model.spec())
        names = [node["name"] for node in spec.get("nodes", [])]
        output = spec.get("output", {}).get("node")
        self.output_shape = model.node_shape(names.index(output)) if output in names else ()
        self._report = capi.StepReport()
        self.inputs: Tuple[InputInfo, ...] = input_infos(capi.tk_trainer_input_count, capi.tk_trainer_input_info,
                                                          self.handle)
        # (name, per-sample shape) of every output, the loss's first.
        self.outputs = output_infos(capi.tk_trainer_output_count, capi.tk_trainer_output_info, self.handle)

    def _one_input(self, inputs: Any, what: str) -> npt.NDArray[Any]:
        arrays = model_inputs(self.inputs, inputs)
        if len(arrays) != 1:
            raise TypeError(f"{what} takes a model of one input; this one has {len(self.inputs)}: use step_report()")
        return arrays[0]

    # ---- Training ----------------------------------------------------------

    def step(self, inputs: Any, targets: ArrayLike) -> float:
        """One training step on a batch; returns the batch loss (before the
        update). A model of several inputs takes a dict by input name or a
        list in input order; token-id inputs take integer arrays (as int32)."""
        arrays = model_inputs(self.inputs, inputs)
        if len(arrays) == 1:
            return float(call(capi.tk_trainer_step, self.handle, arrays[0], as_targets(targets)))
        call(capi.tk_trainer_step_inputs, self.handle, arrays, as_targets(targets), self._report)
        return float(self._report.loss)

    def step_report(self, inputs: ArrayLike, targets: ArrayLike) -> StepReport:
        """tk_trainer_step with a full report (skipped steps under fp16 show here)."""
        arrays = model_inputs(self.inputs, inputs)
        if len(arrays) == 1:
            call(capi.tk_trainer_step_report, self.handle, arrays[0], as_targets(targets), self._report)
        else:
            call(capi.tk_trainer_step_inputs, self.handle, arrays, as_targets(targets), self._report)
        return StepReport.of(self._report)

    def step_async(self, inputs: ArrayLike, targets: ArrayLike) -> None:
        """Queues a step (on a GPU, overlapping the next batch's copy); see wait()."""
        call(capi.tk_trainer_step_async, self.handle, self._one_input(inputs, "step_async"), as_targets(targets))

    def wait(self) -> StepReport:
        """Waits for queued steps and reports the last one."""
        call(capi.tk_trainer_wait, self.handle, self._report)
        return StepReport.of(self._report)

    def step_next(self, batcher: Batcher) -> Optional[float]:
        """Steps on the batcher's next batch without copying it: the loss, or
        None at the end of the epoch."""
        views = batcher._next_views()
        if views is None:
            return None
        return float(call(capi.tk_trainer_step, self.handle, views[0], views[1]))

    def fit(self, batcher: Batcher, options: Optional[FitOptions] = None,
            callback: Optional[Callable[[FitEvent], Optional[bool]]] = None, **settings: Any) -> FitReport:
        """Epochs over the batcher from its cursor (see FitOptions, or pass its
        settings as keywords: epochs=10, validation=dataset, ...). `callback`
        gets each FitEvent on this thread; returning True stops the fit cleanly,
        raising ends it and the exception comes out of fit, with the trainer
        at the last completed step (so does one a StreamBatcher's fill raises). cancel() from another thread ends it with
        a TrainKitError of status CANCELLED."""
        if options is not None and settings:
            raise TypeError("give FitOptions or keyword settings, not both")
        try:
            if options is None:
                with FitOptions(**settings) as made:
                    return run_fit(self.handle, batcher, made, callback)
            return run_fit(self.handle, batcher, options, callback)
        except TrainKitError as error:
            # A StreamBatcher's fill raised: that exception, not the stream's status.
            if isinstance(batcher, StreamBatcher) and batcher.errors and error.status == Status.ERROR_IO:
                raise batcher.errors[-1] from error
            raise

    def set_learning_rate(self, learning_rate: float) -> None:
        """The base rate (what the schedule scales), from the next step on."""
        call(capi.tk_trainer_set_learning_rate, self.handle, float(learning_rate))

    def cancel(self) -> None:
        """Ends a fit, evaluate or metrics call running on another thread at its
        next step; callable from any thread (see tk_trainer_cancel)."""
        call(capi.tk_trainer_cancel, self.handle)

    def clear_cancel(self) -> None:
        call(capi.tk_trainer_clear_cancel, self.handle)

    # ---- Evaluation and prediction -------------------------------------------

    def metrics(self, dataset: Dataset, batch_size: int = 1000, top_k: int = 5) -> Metrics:
        """Metrics over the dataset; top_k is capped at the number of classes."""
        m = capi.Metrics()
        classes = int(call(capi.tk_trainer_metric_classes, self.handle))
        confusion = np.zeros((classes, classes), dtype=np.float64)
        per_class = np.zeros((3, classes), dtype=np.float64)
        k = max(1, min(int(top_k), classes)) if classes else 1
        call(capi.tk_trainer_metrics, self.handle, dataset.handle, extent(batch_size, "batch_size"), k, m,
             confusion if classes else None, per_class if classes else None)
        return Metrics.of(m, confusion, per_class)

    def evaluate(self, inputs: Union[Any, Dataset], targets: Optional[ArrayLike] = None,
                 batch_size: int = 1000) -> Tuple[float, float]:
        """(loss, accuracy) on a batch, or on a whole Dataset in batches."""
        if isinstance(inputs, Dataset):
            loss, accuracy = call(capi.tk_trainer_evaluate_dataset, self.handle, inputs.handle,
                                  extent(batch_size, "batch_size"))
        else:
            if targets is None:
                raise TypeError("evaluate on a batch needs its targets")
            arrays = model_inputs(self.inputs, inputs)
            if len(arrays) == 1:
                loss, accuracy = call(capi.tk_trainer_evaluate, self.handle, arrays[0], as_targets(targets))
            else:
                loss, accuracy = call(capi.tk_trainer_evaluate_inputs, self.handle, arrays, as_targets(targets))
        return float(loss), float(accuracy)

    def predict(self, inputs: Any, outputs_per_sample: Optional[int] = None, probabilities: bool = False,
                out: Optional[npt.NDArray[Any]] = None) -> npt.NDArray[Any]:
        """Outputs [batch, output shape] (logits, or probabilities): into `out`
        (f32 or f64) when given, else a new f32 array."""
        arrays = model_inputs(self.inputs, inputs)
        if out is None:
            x = arrays[0]
            per_sample = self.output_shape if outputs_per_sample is None else (extent(outputs_per_sample, "outputs"),)
            out = np.empty((x.shape[0], *per_sample) if x.ndim else per_sample, dtype=np.float32)
        if len(arrays) == 1:
            call(capi.tk_trainer_predict, self.handle, arrays[0], int(probabilities), out)
        else:
            call(capi.tk_trainer_predict_inputs, self.handle, arrays, int(probabilities), out)
        return out

    def predict_outputs(self, inputs: Any, probabilities: bool = False) -> Dict[str, npt.NDArray[np.float32]]:
        """Every output of one forward by name: the loss's (logits, or
        probabilities) and those added with Model.add_output."""
        return predict_outputs(capi.tk_trainer_predict_outputs, self.handle, self.outputs,
                               model_inputs(self.inputs, inputs), probabilities)

    # ---- State ---------------------------------------------------------------------

    @property
    def step_count(self) -> int:
        """Optimizer steps so far."""
        return int(call(capi.tk_trainer_step_count, self.handle))

    @property
    def skipped_steps(self) -> int:
        return int(call(capi.tk_trainer_skipped_steps, self.handle))

    @property
    def learning_rate(self) -> float:
        """The learning rate the next update will use."""
        return float(call(capi.tk_trainer_learning_rate, self.handle))

    @property
    def last_grad_norm(self) -> float:
        return float(call(capi.tk_trainer_last_grad_norm, self.handle))

    def loss_scale(self) -> Tuple[float, int, int]:
        """(scale, clean steps since its last change, steps skipped)."""
        scale, tracker, skipped = call(capi.tk_trainer_loss_scale, self.handle)
        return float(scale), int(tracker), int(skipped)

    @property
    def world(self) -> Tuple[int, int]:
        """(rank, world size): (0, 1) unless distributed."""
        rank, size = call(capi.tk_trainer_world, self.handle)
        return int(rank), int(size)

    @property
    def device_name(self) -> str:
        return text(capi.tk_trainer_device_name, self.handle)

    # ---- Parameters ----------------------------------------------------------------

    def parameter_names(self) -> List[str]:
        """Parameter tensors in model order, named "<node>.<param>"."""
        return [self._parameter_info(i)[0] for i in range(call(capi.tk_trainer_num_parameter_tensors, self.handle))]

    def _parameter_info(self, index: int) -> Tuple[str, Tuple[int, ...]]:
        name, extents = bytearray(256), np.zeros(8, dtype=np.int64)
        rank = call(capi.tk_trainer_parameter_info, self.handle, index, name, extents)
        return c_string(name), tuple(int(e) for e in extents[:rank])

    def _index(self, tensor: Union[int, str]) -> int:
        if isinstance(tensor, str):
            names = self.parameter_names()
            if tensor not in names:
                raise KeyError(f"no parameter tensor {tensor!r}; the model has {names}")
            return names.index(tensor)
        return extent(tensor, "a parameter index")

    def parameter(self, tensor: Union[int, str]) -> npt.NDArray[np.float32]:
        """A copy of one parameter tensor (by index or name), f32."""
        index = self._index(tensor)
        out = np.empty(self._parameter_info(index)[1], dtype=np.float32)
        call(capi.tk_trainer_get_parameter, self.handle, index, out)
        return out

    def set_parameter(self, tensor: Union[int, str], values: ArrayLike) -> None:
        """Replaces one parameter tensor (f32, f64 or f16, of its shape)."""
        call(capi.tk_trainer_set_parameter, self.handle, self._index(tensor), as_inputs(values))

    def state_dict(self) -> Dict[str, npt.NDArray[np.float32]]:
        """Every parameter tensor by name (copies)."""
        return {name: self.parameter(i) for i, name in enumerate(self.parameter_names())}

    def freeze(self, pattern: str) -> int:
        """Freezes the tensors whose names match a shell glob ("encoder_*", "*.bias"):
        no gradients, no optimizer moments. Returns how many matched (none: an error)."""
        return int(call(capi.tk_trainer_freeze, self.handle, pattern))

    def unfreeze(self, pattern: str) -> int:
        """Trains the matching tensors again, with fresh optimizer moments."""
        return int(call(capi.tk_trainer_unfreeze, self.handle, pattern))

    def set_param_group(self, pattern: str, lr_scale: float = 1.0, weight_decay: Optional[float] = None) -> int:
        """The matching tensors train at lr_scale times the scheduled rate, with their own
        weight decay (None: the default, which spares biases and norms)."""
        decay = float("nan") if weight_decay is None else float(weight_decay)
        return int(call(capi.tk_trainer_set_param_group, self.handle, pattern, float(lr_scale), decay))

    def parameter_settings(self, tensor: Union[int, str]) -> ParameterSettings:
        frozen, lr_scale, weight_decay = call(capi.tk_trainer_parameter_settings, self.handle, self._index(tensor))
        return ParameterSettings(bool(frozen), float(lr_scale), float(weight_decay))

    @property
    def memory_bytes(self) -> int:
        """Device memory the trainer holds now: weights, gradients, moments, activations."""
        return int(call(capi.tk_trainer_memory, self.handle))

    def num_parameters(self) -> int:
        return int(call(capi.tk_trainer_num_parameters, self.handle))

    def parameters(self) -> npt.NDArray[np.float32]:
        """All parameters as one f32 array, in tensor order."""
        out = np.empty(self.num_parameters(), dtype=np.float32)
        call(capi.tk_trainer_copy_parameters, self.handle, out)
        return out

    # ---- Files -----------------------------------------------------------------------

    def save(self, checkpoint: PathLike, cursor: Optional[Batcher] = None) -> None:
        """A checkpoint (safetensors), with the batcher's position when given; atomic."""
        call(capi.tk_trainer_save, self.handle, path(checkpoint), handle_or_none(cursor))

    def save_keep_last(self, prefix: PathLike, keep: int, cursor: Optional[Batcher] = None) -> str:
        """Saves "<prefix>-<step>.safetensors" and deletes the oldest beyond `keep`; the path written."""
        return text(capi.tk_trainer_save_keep_last, self.handle, path(prefix, "prefix"), extent(keep, "keep"),
                    handle_or_none(cursor), capacity=4096, decode=os.fsdecode)

    def load(self, checkpoint: PathLike, cursor: Optional[Batcher] = None) -> None:
        """Restores a checkpoint (and the batcher's position); on any error nothing changes."""
        call(capi.tk_trainer_load, self.handle, path(checkpoint), handle_or_none(cursor))

    def export_weights(self, weights: PathLike, dtype: DType = DType.F32) -> None:
        call(capi.tk_trainer_export_weights, self.handle, path(weights), DType(dtype))

    def import_weights(self, weights: PathLike) -> None:
        call(capi.tk_trainer_import_weights, self.handle, path(weights))

    def import_mapped(self, weights: PathLike, names: Optional[Dict[str, Union[str, Tuple[str, bool]]]] = None,
                      strict: bool = True) -> Dict[str, Any]:
        """Loads another tool's safetensors file through `names` (trainkit name
        -> the file's name, or (file name, transpose)); names left out are
        looked up as they are. strict=False keeps the trainer's values for
        tensors the file lacks or holds in another shape (a new head) and
        ignores the file's extra tensors. Returns the report: loaded, missing,
        unexpected, mismatched. Nothing changes on an error."""
        mapping: Dict[str, Any] = {}
        for name, source in (names or {}).items():
            if isinstance(source, tuple):
                mapping[name] = {"name": source[0], "transpose": bool(source[1])}
            else:
                mapping[name] = source
        call(capi.tk_trainer_import_weights_mapped, self.handle, path(weights, "weights"),
             json.dumps(mapping) if names is not None else None, int(strict))
        report: Dict[str, Any] = json.loads(sized_text(capi.tk_trainer_import_report, self.handle))
        return report

    def set_property(self, key: str, value: str) -> None:
        """A string pair saved with checkpoints."""
        call(capi.tk_trainer_set_property, self.handle, key, value)

    def get_property(self, key: str) -> str:
        return sized_text(capi.tk_trainer_get_property, self.handle, key)

    def __repr__(self) -> str:
        if self.closed:
            return "<Trainer closed>"
        return (f"<Trainer on {self.device_name}: {self.loss.name}, output {list(self.output_shape)}, "
                f"{self.num_parameters()} parameters in {len(self.parameter_names())} tensors, "
                f"step {self.step_count}, learning rate {self.learning_rate:g}>")
