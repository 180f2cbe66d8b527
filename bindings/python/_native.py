"""What every trainkit object shares: the generated C API module, statuses as
exceptions, handle ownership, and the checks on paths and arrays that the C
API cannot make on Python values."""
from __future__ import annotations

import dataclasses
import operator
import os
import threading
from typing import Any, Callable, ClassVar, Dict, Optional, Sequence, Tuple, TypeVar, Union

import numpy as np
import numpy.typing as npt

from . import capi as capi  # SWIG's module: one function per C function
from ._enums import Status

PathLike = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
ArrayLike = npt.ArrayLike


class TrainKitError(RuntimeError):
    """A native error: `status` is the C API's tk_status, the message its own."""

    status: Status

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = Status(status)


def check(status: int) -> None:
    if status != Status.OK:
        raise TrainKitError(status, capi.tk_last_error_message())


def call(function: Callable[..., Any], *args: Any) -> Any:
    """Calls a C API function and returns its out-params: None, one value, or
    a tuple. SWIG returns a bare status, or [status, out...]."""
    result = function(*args)
    if isinstance(result, list):
        check(result[0])
        values = result[1:]
        return values[0] if len(values) == 1 else tuple(values)
    check(result)
    return None


def c_string(buffer: bytearray, decode: Callable[[bytes], str] = bytes.decode) -> str:
    """The NUL-terminated text a C function wrote into `buffer` (UTF-8, or
    a file name with decode=os.fsdecode)."""
    return decode(bytes(buffer.split(b"\0", 1)[0]))


def text(function: Callable[..., Any], *args: Any, capacity: int = 256,
         decode: Callable[[bytes], str] = bytes.decode) -> str:
    """A string a C function writes into a (buffer, capacity) pair."""
    buffer = bytearray(capacity)
    call(function, *args, buffer)
    return c_string(buffer, decode)


def sized_text(function: Callable[..., Any], *args: Any) -> str:
    """A string from a C function that reports its size (NUL included) when
    given no buffer, then fills one of that size."""
    length = call(function, *args, None)
    buffer = bytearray(length)
    call(function, *args, buffer)
    return buffer[: length - 1].decode()


def path(value: PathLike, what: str = "path") -> str:
    """A file path as the C API takes it: str, bytes or os.PathLike; never
    None, and never with an embedded NUL (C would cut the name there). Bytes
    that are not UTF-8 become the str os.fsdecode makes, which the native
    module encodes back to the same bytes."""
    if value is None:
        raise TypeError(f"{what} is None")
    name = os.fsdecode(os.fspath(value))
    if "\0" in name:
        raise ValueError(f"{what} {name!r} contains a NUL character")
    return name


def extent(value: Any, what: str) -> int:
    """An int, never a float or a str that happens to convert."""
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"{what} must be an int, got {type(value).__name__} {value!r}") from None


def shape(values: Sequence[Any], what: str = "shape") -> list[int]:
    return [extent(value, what) for value in values]


def _positive_strides(array: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Broadcast (zero-stride) and reversed (negative-stride) arrays as a
    contiguous copy; every other layout is read in place."""
    if any(stride <= 0 for stride, extent in zip(array.strides, array.shape) if extent > 1):
        return np.ascontiguousarray(array)
    return array


def features(values: ArrayLike) -> npt.NDArray[Any]:
    """Float inputs as an array the C API reads in place: float arrays (f32,
    f64, f16, any strides) as they are, everything else as f32."""
    array = _positive_strides(np.asarray(values))
    if array.dtype.kind == "f" and array.dtype.itemsize in (2, 4, 8) and array.dtype.isnative:
        return array
    if array.dtype.kind not in "biuf":
        raise TypeError(f"inputs must be numbers, got dtype {array.dtype}")
    return array.astype(np.float32)


def targets(values: ArrayLike) -> npt.NDArray[Any]:
    """Class indices as int32 (refused, never wrapped, when one does not fit)
    or float targets as f32."""
    array = _positive_strides(np.asarray(values))
    if array.dtype.kind in "iu":
        if array.dtype != np.int32 and array.size:
            low, high = int(array.min()), int(array.max())
            if low < np.iinfo(np.int32).min or high > np.iinfo(np.int32).max:
                bad = low if low < np.iinfo(np.int32).min else high
                raise ValueError(f"class index {bad} does not fit in int32")
        return array.astype(np.int32, copy=False)
    if array.dtype.kind in "bf":
        return array.astype(np.float32, copy=False)
    raise TypeError(f"targets must be class indices or numbers, got dtype {array.dtype}")


def indices(values: ArrayLike, what: str) -> npt.NDArray[np.int32]:
    """Token ids (or any indices) as int32, refused rather than rounded or
    wrapped: a float array, or an id that does not fit, is an error."""
    array = _positive_strides(np.asarray(values))
    if array.dtype.kind not in "iu":
        raise TypeError(f"input '{what}' takes integer indices, got dtype {array.dtype}")
    return targets(array)


@dataclasses.dataclass(frozen=True)
class InputInfo:
    """One model input: its name, whether it takes int32 indices (token
    ids) or floats, and its per-sample shape."""

    name: str
    indices: bool
    shape: Tuple[int, ...]


def input_infos(count_function: Callable[..., Any], info_function: Callable[..., Any],
                handle: Any) -> Tuple[InputInfo, ...]:
    """The inputs of a trainer or predictor, in the order it takes them."""
    infos = []
    for index in range(int(call(count_function, handle))):
        name = bytearray(256)
        extents = np.zeros(8, dtype=np.int64)
        is_indices, rank = call(info_function, handle, index, name, extents)
        infos.append(InputInfo(c_string(name), bool(is_indices), tuple(int(e) for e in extents[:rank])))
    return tuple(infos)


def output_infos(count_function: Callable[..., Any], info_function: Callable[..., Any],
                 handle: Any) -> Tuple[Tuple[str, Tuple[int, ...]], ...]:
    """The outputs of a trainer or predictor: (name, per-sample shape), the loss's first."""
    infos = []
    for index in range(int(call(count_function, handle))):
        name = bytearray(256)
        extents = np.zeros(8, dtype=np.int64)
        rank = call(info_function, handle, index, name, extents)
        infos.append((c_string(name), tuple(int(e) for e in extents[:rank])))
    return tuple(infos)


def predict_outputs(function: Callable[..., Any], handle: Any, outputs: Sequence[Tuple[str, Tuple[int, ...]]],
                    arrays: Sequence[npt.NDArray[Any]], probabilities: bool) -> Dict[str, npt.NDArray[np.float32]]:
    """Every output of one forward, by name (new f32 arrays)."""
    rows = arrays[0].shape[0]
    results = [np.empty((rows, *shape), dtype=np.float32) for _, shape in outputs]
    call(function, handle, list(arrays), int(probabilities), results)
    return {name: result for (name, _), result in zip(outputs, results)}


def model_inputs(infos: Sequence[InputInfo], inputs: Any) -> list[npt.NDArray[Any]]:
    """One array per model input, each converted for its kind: from a dict
    by input name, a list or tuple in input order, or (one input) an array."""
    if isinstance(inputs, dict):
        unknown = sorted(set(map(str, inputs)) - {info.name for info in infos})
        if unknown:
            raise KeyError(f"no model input named {unknown[0]!r} (inputs: {[info.name for info in infos]})")
        missing = [info.name for info in infos if info.name not in inputs]
        if missing:
            raise KeyError(f"model input {missing[0]!r} is not given")
        values = [inputs[info.name] for info in infos]
    elif len(infos) > 1:
        if not isinstance(inputs, (list, tuple)):
            raise TypeError(f"the model takes {len(infos)} inputs {[info.name for info in infos]}: "
                            "give a dict by name or a list in that order")
        if len(inputs) != len(infos):
            raise ValueError(f"the model takes {len(infos)} inputs, got {len(inputs)}")
        values = list(inputs)
    else:
        values = [inputs]
    return [indices(value, info.name) if info.indices else features(value) for value, info in zip(values, infos)]


H = TypeVar("H", bound="Handle")


class Handle:
    """Owns one native handle: freed by close(), at the end of a `with`
    block, or when garbage collected. Closing twice does nothing; a closed
    object raises ValueError when used."""

    _destroy: ClassVar[Callable[[Any], None]]

    def __init__(self, handle: Any) -> None:
        self._handle: Optional[Any] = handle
        self._lock = threading.Lock()

    @property
    def handle(self) -> Any:
        """The C API handle, for calling any `trainkit.capi` function on it."""
        handle = self._handle
        if handle is None:
            raise ValueError(f"{type(self).__name__} is closed")
        return handle

    @property
    def closed(self) -> bool:
        return self._handle is None

    def close(self) -> None:
        with self._lock:
            handle, self._handle = self._handle, None
        if handle is not None:
            type(self)._destroy(handle)

    def __enter__(self: H) -> H:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_handle", None) is not None:
            self.close()


def handle_or_none(value: Optional[Handle]) -> Any:
    return None if value is None else value.handle


def view_shape(view: Any) -> Tuple[int, ...]:
    return tuple(view.extent(axis) for axis in range(view.rank))


_NUMPY_DTYPES = {0: np.float32, 1: np.float64, 2: np.float16, 3: np.uint16, 4: np.int32, 5: np.uint8}


def view_array(view: Any) -> npt.NDArray[Any]:
    """A copy of a native view's memory (bf16 comes back as its uint16 bits)."""
    return np.frombuffer(view.memory(), dtype=_NUMPY_DTYPES[view.dtype]).reshape(view_shape(view)).copy()
