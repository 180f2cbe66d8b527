"""Metrics of a trained model over a dataset (tk_trainer_metrics)."""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclasses.dataclass(frozen=True)
class Metrics:
    """Loss, accuracy, top-k accuracy, per-class precision / recall / F1 and
    their macro means, the confusion matrix (rows: true class), MSE and MAE;
    NaN where a metric does not apply (accuracy of an MSE model)."""

    samples: int
    loss: float
    accuracy: float
    top_k: int
    top_k_accuracy: float
    classes: int
    macro_precision: float
    macro_recall: float
    macro_f1: float
    mse: float
    mae: float
    confusion: npt.NDArray[np.int64]  # [classes, classes]
    precision: npt.NDArray[np.float64]  # [classes]
    recall: npt.NDArray[np.float64]
    f1: npt.NDArray[np.float64]

    @staticmethod
    def of(m: Any, confusion: npt.NDArray[np.float64], per_class: npt.NDArray[np.float64]) -> "Metrics":
        return Metrics(int(m.samples), float(m.loss), float(m.accuracy), int(m.top_k), float(m.top_k_accuracy),
                       int(m.classes), float(m.macro_precision), float(m.macro_recall), float(m.macro_f1),
                       float(m.mse), float(m.mae), confusion.astype(np.int64), per_class[0].copy(),
                       per_class[1].copy(), per_class[2].copy())
