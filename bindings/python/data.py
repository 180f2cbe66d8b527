"""Dataset (samples in native memory) and Batcher (seeded mini-batches)."""
from __future__ import annotations

from typing import Any, Iterator, Optional, Tuple

import numpy as np
import numpy.typing as npt

from ._enums import Normalization, ShardRemainder
from ._native import ArrayLike, Handle, PathLike, call, capi, extent, features, path, targets, view_array


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
        while (views := self._next_views()) is not None:
            yield view_array(views[0]), view_array(views[1])

    def __repr__(self) -> str:
        if self.closed:
            return "<Batcher closed>"
        batch_size, shuffle, seed, drop_last = self._settings
        shard = f", shard {self._shard[0]} of {self._shard[1]}" if self._shard else ""
        return (f"<Batcher: batches of {batch_size} over {len(self.dataset)} samples, "
                f"{'shuffled with seed ' + str(seed) if shuffle else 'in order'}"
                f"{', dropping a short last batch' if drop_last else ''}{shard}, epoch {self._epoch}>")
