"""Predictor: inference alone (no gradients, no optimizer state), safe to call
from several threads at once (tk_predictor_*)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Tuple

import numpy as np
import numpy.typing as npt

from ._enums import Loss
from ._native import Handle, PathLike, call, capi, path
from ._native import InputInfo, input_infos, model_inputs, output_infos, predict_outputs
from .model import Model


class Predictor(Handle):
    """The weights of a trainer (as they are when made) or of an exported
    weights file, in f32 on the CPU. predict() releases the GIL, so Python
    threads predicting at once run in parallel, each with the results it
    would get alone."""

    _destroy = staticmethod(capi.tk_predictor_destroy)

    def __init__(self, handle: Any) -> None:
        super().__init__(handle)
        extents = np.zeros(8, dtype=np.int64)
        rank = call(capi.tk_predictor_output_shape, self.handle, extents)
        self.output_shape: Tuple[int, ...] = tuple(int(e) for e in extents[:rank])
        self.inputs: Tuple[InputInfo, ...] = input_infos(capi.tk_predictor_input_count,
                                                          capi.tk_predictor_input_info, self.handle)
        # (name, per-sample shape) of every output, the loss's first.
        self.outputs = output_infos(capi.tk_predictor_output_count, capi.tk_predictor_output_info, self.handle)

    @classmethod
    def from_trainer(cls, trainer: Any, threads: int = 0) -> "Predictor":
        return cls(call(capi.tk_predictor_create, trainer.handle, int(threads)))

    @classmethod
    def load(cls, model: Model, weights: PathLike, loss: Loss = Loss.SOFTMAX_CROSS_ENTROPY,
             threads: int = 0) -> "Predictor":
        """A model (from its spec) with the weights of tk_trainer_export_weights."""
        return cls(call(capi.tk_predictor_load, model.handle, Loss(loss), path(weights, "weights"), int(threads)))

    def predict(self, inputs: Any, probabilities: bool = False,
                out: Optional[npt.NDArray[Any]] = None) -> npt.NDArray[Any]:
        """Outputs [batch, output shape]: logits, or probabilities. A model of
        several inputs takes a dict by input name or a list in input order."""
        arrays = model_inputs(self.inputs, inputs)
        if out is None:
            out = np.empty((arrays[0].shape[0], *self.output_shape), dtype=np.float32)
        if len(arrays) == 1:
            call(capi.tk_predictor_predict, self.handle, arrays[0], int(probabilities), out)
        else:
            call(capi.tk_predictor_predict_inputs, self.handle, arrays, int(probabilities), out)
        return out

    def predict_outputs(self, inputs: Any, probabilities: bool = False) -> Dict[str, npt.NDArray[np.float32]]:
        """Every output of one forward by name: the loss's (logits, or
        probabilities) and those added with Model.add_output."""
        return predict_outputs(capi.tk_predictor_predict_outputs, self.handle, self.outputs,
                               model_inputs(self.inputs, inputs), probabilities)

    @property
    def memory(self) -> int:
        """Bytes held: weights, state and the activation arenas made so far."""
        return int(call(capi.tk_predictor_memory, self.handle))
