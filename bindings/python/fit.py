"""fit: epochs of training with validation, early stopping, checkpoints,
reduce-on-plateau and a time budget, calling a Python callable per event on
the calling thread (through tk_fit_begin / tk_fit_next)."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Optional

from ._enums import FitEnd, FitEventKind, Monitor, MonitorMode
from ._native import Handle, PathLike, call, capi, extent, path
from .data import Batcher, Dataset


@dataclasses.dataclass(frozen=True)
class FitEvent:
    """A step (kind STEP) or an epoch's end (kind EPOCH); see tk_fit_event."""

    kind: FitEventKind
    step: int
    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float
    learning_rate: float
    loss_scale: float
    samples_per_second: float
    skipped: bool
    has_validation: bool
    train_loss: float
    validation_loss: float
    validation_accuracy: float
    seconds: float
    improved: bool
    train_accuracy: float  # epoch: of its training forwards; NaN without accuracy

    @staticmethod
    def of(e: Any) -> "FitEvent":
        return FitEvent(FitEventKind(e.kind), int(e.step), int(e.epoch), int(e.epochs), int(e.batch), int(e.batches),
                        float(e.loss), float(e.learning_rate), float(e.loss_scale), float(e.samples_per_second),
                        bool(e.skipped), bool(e.has_validation), float(e.train_loss), float(e.validation_loss),
                        float(e.validation_accuracy), float(e.seconds), bool(e.improved), float(e.train_accuracy))


@dataclasses.dataclass(frozen=True)
class FitReport:
    """How a fit ended (tk_fit_report)."""

    end: FitEnd
    epochs_completed: int
    steps: int
    best_epoch: int  # -1 without keep_best
    best_value: float
    learning_rate: float
    seconds: float

    @staticmethod
    def of(r: Any) -> "FitReport":
        return FitReport(FitEnd(r.end), int(r.epochs_completed), int(r.steps), int(r.best_epoch),
                         float(r.best_value), float(r.learning_rate), float(r.seconds))


class FitOptions(Handle):
    """What a fit does besides stepping (tk_fit_options_*); see Trainer.fit."""

    _destroy = staticmethod(capi.tk_fit_options_destroy)

    def __init__(self, epochs: int = 1, validation: Optional[Dataset] = None, validation_batch: int = 256,
                 early_stopping: Optional[Monitor] = None, patience: int = 0, min_delta: float = 0.0,
                 early_stopping_mode: MonitorMode = MonitorMode.AUTO,
                 reduce_on_plateau: Optional[Monitor] = None, factor: float = 0.1, plateau_patience: int = 0,
                 cooldown: int = 0, min_lr: float = 0.0, plateau_mode: MonitorMode = MonitorMode.AUTO,
                 keep_best: Optional[PathLike] = None, best_monitor: Monitor = Monitor.VAL_LOSS,
                 best_mode: MonitorMode = MonitorMode.AUTO, keep_last: Optional[PathLike] = None, keep: int = 1,
                 time_budget: float = 0.0, step_events: int = 1) -> None:
        super().__init__(call(capi.tk_fit_options_create))
        call(capi.tk_fit_options_set_epochs, self.handle, extent(epochs, "epochs"))
        if validation is not None:
            call(capi.tk_fit_options_set_validation, self.handle, validation.handle, extent(validation_batch, "batch"))
            self._validation = validation  # the options keep it alive natively; this keeps the handle open
        if early_stopping is not None:
            call(capi.tk_fit_options_set_early_stopping, self.handle, Monitor(early_stopping),
                 MonitorMode(early_stopping_mode),
                 int(patience), float(min_delta))
        if reduce_on_plateau is not None:
            call(capi.tk_fit_options_set_reduce_on_plateau, self.handle, Monitor(reduce_on_plateau),
                 MonitorMode(plateau_mode), float(factor), int(plateau_patience), int(cooldown), float(min_lr))
        if keep_best is not None:
            call(capi.tk_fit_options_set_keep_best, self.handle, path(keep_best, "keep_best"), Monitor(best_monitor),
                 MonitorMode(best_mode))
        if keep_last is not None:
            call(capi.tk_fit_options_set_keep_last, self.handle, path(keep_last, "keep_last"), int(keep))
        call(capi.tk_fit_options_set_time_budget, self.handle, float(time_budget))
        call(capi.tk_fit_options_set_step_events, self.handle, int(step_events))


class _Fit(Handle):
    _destroy = staticmethod(capi.tk_fit_destroy)


def run_fit(trainer_handle: Any, batcher: Batcher, options: FitOptions,
            callback: Optional[Callable[[FitEvent], Optional[bool]]]) -> FitReport:
    """The loop behind Trainer.fit: a callback returning True stops the fit
    cleanly; one that raises ends it, and the exception comes out of fit
    with the trainer at the last completed step."""
    event = capi.FitEvent()
    with _Fit(call(capi.tk_fit_begin, trainer_handle, batcher.handle, options.handle)) as fit:
        while call(capi.tk_fit_next, fit.handle, event):
            if callback is not None and callback(FitEvent.of(event)) is True:
                call(capi.tk_fit_stop, fit.handle)
        report = capi.FitReport()
        call(capi.tk_fit_get_report, fit.handle, report)
        return FitReport.of(report)

