"""The binary format of a block: up to BLOCK_POINTS consecutive points of one series in one
value, the same bytes on SQLite and PostgreSQL.

    header   version (u8) = 1, flags (u8), count (u32)          6 bytes, big-endian
    columns  step offsets from the block's first step  int64[count]   unless DENSE_STEPS
             values                                     float64[count]
             epochs (NO_EPOCH for none)                 int32[count]   or int32 once if ONE_EPOCH
             wall times                                 float64[count]
             attempts                                   int32[count]   or once if ONE_WRITER
             seqs                                       int64[count]   or once if ONE_WRITER

Every number is big-endian, so PostgreSQL can write an uncompressed block itself
(`int8send`, `float8send`, `int4send`; bench/metric_scale.py seeds blocks that way). With
ZLIB the columns are byte-shuffled (all first bytes of a column, then all second bytes, ...)
and deflated, which is what the ingester writes: a noisy float column then costs ~7 bytes a
value and the slowly changing columns next to nothing. Values are stored bit for bit, so NaN,
+inf and -inf come back as they went in.
"""

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from server.metrics.columns import PointColumns

FORMAT_VERSION = 1
BLOCK_POINTS = 256
"""Points per block: ~2-4 KB compressed, small enough to stay in the row (no TOAST), large
enough that a row's own overhead is a fraction of a byte per point."""

DENSE_STEPS = 1
ONE_EPOCH = 2
ONE_WRITER = 4
ZLIB = 8

_HEADER = struct.Struct(">BBI")


class BlockFormatError(ValueError):
    """Bytes that are not a block this code can read."""


@dataclass(frozen=True)
class _Column:
    name: str
    dtype: str
    single_flag: int = 0
    """The flag under which the column is stored once instead of per point."""


_COLUMNS = (
    _Column("step", ">i8"),
    _Column("value", ">f8"),
    _Column("epoch", ">i4", ONE_EPOCH),
    _Column("wall_time", ">f8"),
    _Column("attempt", ">i4", ONE_WRITER),
    _Column("seq", ">i8", ONE_WRITER),
)


def encode_block(points: PointColumns, *, compress: bool = True) -> bytes:
    """The block of `points` (sorted by step, each step once, at least one point)."""
    n = len(points)
    if not n:
        raise ValueError("a block holds at least one point")
    first = int(points.step[0])
    offsets = points.step - first
    flags = ZLIB if compress else 0
    if offsets[-1] == n - 1:  # strictly increasing and n long: exactly first, first+1, ...
        flags |= DENSE_STEPS
    if (points.epoch == points.epoch[0]).all():
        flags |= ONE_EPOCH
    if (points.attempt == points.attempt[0]).all() and (points.seq == points.seq[0]).all():
        flags |= ONE_WRITER
    parts: list[bytes] = []
    for column in _COLUMNS:
        if column.name == "step":
            if flags & DENSE_STEPS:
                continue
            array = offsets
        else:
            array = getattr(points, column.name)
        if flags & column.single_flag:
            array = array[:1]
        data = np.ascontiguousarray(array, dtype=column.dtype)
        parts.append(_shuffle(data) if compress else data.tobytes())
    body = b"".join(parts)
    if compress:
        body = zlib.compress(body, 1)
    return _HEADER.pack(FORMAT_VERSION, flags, n) + body


def decode_block(data: bytes, first_step: int) -> PointColumns:
    """The points of a block whose first step is `first_step`."""
    if len(data) < _HEADER.size:
        raise BlockFormatError(f"a block is at least {_HEADER.size} bytes, got {len(data)}")
    version, flags, n = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise BlockFormatError(f"block format version {version} is not {FORMAT_VERSION}")
    body = memoryview(data)[_HEADER.size :]
    if flags & ZLIB:
        body = memoryview(zlib.decompress(body))
    arrays: dict[str, np.ndarray] = {}
    offset = 0
    for column in _COLUMNS:
        if column.name == "step" and flags & DENSE_STEPS:
            arrays["step"] = np.arange(first_step, first_step + n, dtype=np.int64)
            continue
        count = 1 if flags & column.single_flag else n
        size = np.dtype(column.dtype).itemsize * count
        raw = body[offset : offset + size]
        if len(raw) != size:
            raise BlockFormatError("block is shorter than its header says")
        offset += size
        if flags & ZLIB:
            array = _unshuffle(raw, column.dtype, count)
        else:
            array = np.frombuffer(raw, dtype=column.dtype)
        native = array.astype(column.dtype.replace(">", "="))
        arrays[column.name] = np.broadcast_to(native, n) if count == 1 and n > 1 else native
    step = arrays["step"] if flags & DENSE_STEPS else arrays["step"].astype(np.int64) + first_step
    return PointColumns(
        step=step.astype(np.int64, copy=False),
        value=arrays["value"].astype(np.float64, copy=False),
        epoch=arrays["epoch"].astype(np.int64),
        wall_time=arrays["wall_time"].astype(np.float64, copy=False),
        attempt=arrays["attempt"].astype(np.int64),
        seq=arrays["seq"].astype(np.int64),
    )


def _shuffle(array: np.ndarray) -> bytes:
    return array.view(np.uint8).reshape(-1, array.dtype.itemsize).T.tobytes()


def _unshuffle(raw: memoryview, dtype: str, count: int) -> np.ndarray:
    width = np.dtype(dtype).itemsize
    lanes = np.frombuffer(raw, dtype=np.uint8).reshape(width, count)
    return np.ascontiguousarray(lanes.T).view(dtype).reshape(count)
