"""Dataset (samples in native memory), Batcher (seeded mini-batches) and
StreamBatcher (batches a Python function produces while training runs)."""
from __future__ import annotations

import threading
from typing import Any, Callable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import numpy.typing as npt

from ._enums import DType, Normalization, ShardRemainder
from ._native import (ArrayLike, Handle, PathLike, call, capi, extent, features, path, shape, targets,
                      view_array)


class Dataset(Handle):
    """Samples and targets in native memory: from IDX files, or copied from
    the caller's arrays (any buffer: numpy, memoryview, array.array)."""

    _destroy = staticmethod(capi.tk_dataset_destroy)

    @classmethod
    def load_idx(cls, images_path: PathLike, labels_path: PathLike) -> "Dataset":
        """Images and labels from IDX files (MNIST format, plain or .gz)."""
        return cls(call(capi.tk_dataset_load_idx, path(images_path, "images_path"), path(labels_path, "labels_path")))

    @classmethod
    def from_arrays(cls, samples: ArrayLike, labels: ArrayLike) -> "Dataset":
        """Copies features [N, ...] (f32, f64 or u8; any strides) and targets:
        class indices [N] or float values [N, ...]."""
        array = np.asarray(samples)
        x = array if array.dtype == np.uint8 else features(array)
        return cls(call(capi.tk_dataset_create, x, targets(labels)))

    @classmethod
    def load_csv(cls, csv_path: PathLike, label: Optional[str] = None, header: bool = True,
                 class_labels: bool = True) -> "Dataset":
        """Numeric feature columns and a label column (a header name or a 0-based
        index; default the last). Malformed rows raise with line and column."""
        return cls(call(capi.tk_dataset_load_csv, path(csv_path, "csv_path"), "" if label is None else str(label),
                        int(header), int(class_labels)))

    @classmethod
    def load_csv_features(cls, csv_path: PathLike, skip: Optional[str] = None, header: bool = True) -> "Dataset":
        """A CSV file's features alone, for prediction: every column but `skip`
        when the header names it (a training file predicted again). It has no
        targets: training and evaluation on it raise."""
        return cls(call(capi.tk_dataset_load_csv_features, path(csv_path, "csv_path"), "" if skip is None else str(skip),
                        int(header)))

    @property
    def has_targets(self) -> bool:
        """False for features alone (Dataset.load_csv_features)."""
        return bool(call(capi.tk_dataset_has_targets, self.handle))

    def split(self, first_count: int) -> Tuple["Dataset", "Dataset"]:
        """Copies of the first `first_count` samples and of the rest."""
        first, rest = call(capi.tk_dataset_split, self.handle, extent(first_count, "first_count"))
        return Dataset(first), Dataset(rest)

    def __len__(self) -> int:
        return int(call(capi.tk_dataset_size, self.handle))

    @property
    def sample_shape(self) -> Tuple[int, ...]:
        extents = np.zeros(8, dtype=np.int64)
        rank = call(capi.tk_dataset_sample_shape, self.handle, extents)
        return tuple(int(e) for e in extents[:rank])

    def stats(self) -> Tuple[float, float]:
        """The mean and standard deviation of all features."""
        mean, std = call(capi.tk_dataset_stats, self.handle)
        return float(mean), float(std)

    def standardize(self, mean: float, std: float) -> None:
        """(x - mean) / std, in place."""
        call(capi.tk_dataset_normalize, self.handle, Normalization.MEAN_STD, float(mean), float(std))

    def normalize_unit_range(self) -> None:
        """(x - min) / (max - min) over the dataset, in place."""
        call(capi.tk_dataset_normalize, self.handle, Normalization.UNIT_RANGE, 0.0, 1.0)

    def __repr__(self) -> str:
        if self.closed:
            return "<Dataset closed>"
        return f"<Dataset: {len(self)} samples of shape {list(self.sample_shape)}>"


class Batcher(Handle):
    """Mini-batches over a Dataset; with shuffle each epoch's order is a fixed
    function of (seed, epoch). Iterating yields (features, targets) copies
    of the batches left in this epoch; Trainer.step_next trains on them
    without a copy."""

    _destroy = staticmethod(capi.tk_batcher_destroy)

    def __init__(self, dataset: Dataset, batch_size: int, shuffle: bool = True, seed: int = 0,
                 drop_last: bool = False) -> None:
        super().__init__(call(capi.tk_batcher_create, dataset.handle, extent(batch_size, "batch_size"), int(shuffle),
                              extent(seed, "seed"), int(drop_last)))
        self.dataset = dataset  # kept alive: the batcher reads it
        self._settings = (batch_size, shuffle, seed, drop_last)
        self._epoch = 0
        self._shard: Optional[Tuple[int, int]] = None

    def reset(self, epoch: int) -> None:
        """Restarts at the first batch of `epoch`."""
        call(capi.tk_batcher_reset, self.handle, extent(epoch, "epoch"))
        self._epoch = epoch

    def set_shard(self, rank: int, count: int, remainder: ShardRemainder = ShardRemainder.PAD) -> None:
        """Serves only this rank's share of every epoch. The shares are equal,
        so every rank takes the same number of steps: the remainder is padded
        with repeats (PAD) or left out (DROP)."""
        call(capi.tk_batcher_set_shard_ex, self.handle, extent(rank, "rank"), extent(count, "count"),
             ShardRemainder(remainder))
        self._shard = (rank, count)

    def _next_views(self) -> Optional[Tuple[Any, Any]]:
        """The next batch as native views, or None at the end of the epoch.
        The views point into the batcher's memory: use them before the next
        call on it (Trainer.step_next and iteration do)."""
        features_view, targets_view, has_batch = call(capi.tk_batcher_next, self.handle)
        return (features_view, targets_view) if has_batch else None

    def __iter__(self) -> Iterator[Tuple[npt.NDArray[Any], npt.NDArray[Any]]]:
        """(features, targets) of each batch left in this epoch; a dataset of
        features alone gives targets of shape [rows, 0]."""
        while (views := self._next_views()) is not None:
            x = view_array(views[0])
            y = view_array(views[1]) if len(views[1].memory()) else np.empty((x.shape[0], 0), dtype=np.float32)
            yield x, y

    def __repr__(self) -> str:
        if self.closed:
            return "<Batcher closed>"
        batch_size, shuffle, seed, drop_last = self._settings
        shard = f", shard {self._shard[0]} of {self._shard[1]}" if self._shard else ""
        return (f"<Batcher: batches of {batch_size} over {len(self.dataset)} samples, "
                f"{'shuffled with seed ' + str(seed) if shuffle else 'in order'}"
                f"{', dropping a short last batch' if drop_last else ''}{shard}, epoch {self._epoch}>")


# fill(epoch, batch) -> (features, targets) for that batch, or None when the epoch has ended.
FillFunction = Callable[[int, int], Optional[Tuple[ArrayLike, ArrayLike]]]


class _Shared:
    """A stream handle held by two: the StreamBatcher and its producer
    thread. Whichever lets go last destroys it, so closing never waits for a
    fill (from the garbage collector, or from inside fill itself)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self._holders = 2
        self._lock = threading.Lock()

    def release(self) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            capi.tk_batcher_destroy(self.handle)


def _stream_features(values: ArrayLike) -> Any:
    array = features(values)
    return array.astype(np.float32) if array.dtype == np.float16 else array  # streams take f32, f64 or u8


def _produce(shared: _Shared, fill: FillFunction, errors: List[BaseException]) -> None:
    """The producer thread: asks which batch is wanted, calls fill, hands the
    arrays over (copied into the batcher's slot). Holds the shared handle,
    never the StreamBatcher, so that one can still be garbage collected."""
    handle = shared.handle
    try:
        while True:
            epoch, batch, _, _, is_open = call(capi.tk_batcher_stream_request, handle)
            if not is_open:
                return
            try:
                produced = fill(int(epoch), int(batch))
                if produced is None:
                    call(capi.tk_batcher_stream_supply_copy, handle, None, None)
                else:
                    call(capi.tk_batcher_stream_supply_copy, handle, _stream_features(produced[0]),
                         targets(produced[1]))
            except BaseException as error:  # noqa: B036 - any failure of fill ends the stream
                errors.append(error)
                call(capi.tk_batcher_stream_fail, handle, f"{type(error).__name__}: {error}")
                return
    finally:
        shared.release()


class StreamBatcher(Batcher):
    """Batches that `fill(epoch, batch)` produces on a background thread while
    training runs, for data that never sits in memory whole: it returns the
    batch's (features, targets) arrays, at most batch_size rows, or None when
    the epoch has ended. Only `prefetch` batches are produced ahead. After a
    reset or a checkpoint load, fill is asked for the batch to go on from, so
    a fill that can seek resumes exactly. An exception in fill ends the fit
    once the batches before it are trained, and comes out of Trainer.fit.

    Targets are class indices (`target_shape` None) or float values of
    `target_shape` per sample. `batches_per_epoch` gives progress a total."""

    def __init__(self, fill: FillFunction, sample_shape: Sequence[int], batch_size: int,
                 target_shape: Optional[Sequence[int]] = None, prefetch: int = 2,
                 batches_per_epoch: int = 0) -> None:
        if not callable(fill):
            raise TypeError(f"fill must be callable, got {type(fill).__name__}")
        sample = shape(sample_shape, "sample_shape")
        target = shape(target_shape, "target_shape") if target_shape is not None else []
        dtype = DType.I32 if target_shape is None else DType.F32
        Handle.__init__(self, call(capi.tk_batcher_create_stream, sample, dtype, target,
                                   extent(batch_size, "batch_size"), extent(prefetch, "prefetch"),
                                   extent(batches_per_epoch, "batches_per_epoch"), None, None))
        self._settings = (batch_size, False, 0, False)
        self._epoch = 0
        self._shard = None
        self.errors: List[BaseException] = []  # what fill raised
        self._shared = _Shared(self.handle)
        self._thread = threading.Thread(target=_produce, args=(self._shared, fill, self.errors),
                                        name="trainkit-stream", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Closes the stream: the producer thread stops after its current fill
        and frees the batcher then. Never waits, so fill itself may call it."""
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            call(capi.tk_batcher_stream_close, handle)
            self._shared.release()

    def __repr__(self) -> str:
        if self.closed:
            return "<StreamBatcher closed>"
        return f"<StreamBatcher: batches of {self._settings[0]} from {self._thread.name}>"
