"""Wire format between the trusted grader and the untrusted worker.

Plain data only, never pickle. A message is a JSON document framed by an
8-byte big-endian length. Values that JSON cannot hold are tagged objects:

- ``{"$nd": <base64 .npy bytes>}``: a numpy array, written and read with
  ``allow_pickle=False`` (object arrays cannot be written at all);
- ``{"$list": <nested list>, "dtype": "float64", "shape": [...]}``: the same
  array in readable form (used for the public data files);
- ``{"$tuple": [...]}``: a tuple; ``{"$map": {...}}``: a dict with str keys.

Arguments may also carry markers that the worker turns into live objects
(see ``worker.py``): ``{"$rng": seed}`` for a ``np.random.Generator``,
``{"$torch_generator": seed}``, ``{"$ref": name}`` for an object kept in the
worker, ``{"$fn": name, "kw": {...}}`` for a helper function of the worker.

This module is imported by both sides: it imports nothing but the standard
library and numpy, and nothing of the grader.
"""
import base64
import io
import json
import struct
import sys

import numpy as np

# Exact integer results (hw5 counts such as 2**10000 - 1) must cross the boundary as
# JSON integers of any length; both sides import this module.
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)

VERSION = 1
HEADER = struct.Struct(">Q")
MARKERS = ("$rng", "$torch_generator", "$ref", "$fn", "$tensor")


class ProtocolError(Exception):
    """A message that is not valid protocol data."""


def _array_to_npy(arr):
    buf = io.BytesIO()
    np.save(buf, np.asarray(arr), allow_pickle=False)  # (ascontiguousarray would make 0-d 1-d)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _npy_to_array(text):
    try:
        return np.load(io.BytesIO(base64.b64decode(text)), allow_pickle=False)
    except Exception as exc:  # malformed bytes from an untrusted peer
        raise ProtocolError(f"bad array payload: {exc}") from None


def encode(value, *, readable=False):
    """Turn plain data (numbers, str, None, lists, tuples, dicts, ndarrays) into JSON-able data.

    ``readable=True`` writes arrays as nested lists (exact for float64, since
    JSON floats round-trip through ``repr``) instead of base64 ``.npy``.
    Raises ``TypeError`` for anything else.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            raise TypeError("object arrays are not plain data")
        if readable:
            return {"$list": value.tolist(), "dtype": value.dtype.str, "shape": list(value.shape)}
        return {"$nd": _array_to_npy(value)}
    if isinstance(value, np.generic):
        return encode(np.asarray(value), readable=readable)
    if isinstance(value, tuple):
        return {"$tuple": [encode(v, readable=readable) for v in value]}
    if isinstance(value, list):
        return [encode(v, readable=readable) for v in value]
    if isinstance(value, dict):
        if any(k.startswith("$") for k in value):
            return dict(value)  # a marker, already plain
        return {"$map": {str(k): encode(v, readable=readable) for k, v in value.items()}}
    raise TypeError(f"cannot encode {type(value).__name__} as plain data")


def decode(data):
    """Inverse of ``encode``. Markers are returned unchanged (as dicts)."""
    if isinstance(data, list):
        return [decode(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "$nd" in data:
        return _npy_to_array(data["$nd"])
    if "$list" in data:
        try:
            arr = np.array(data["$list"], dtype=np.dtype(data["dtype"]))
            return arr.reshape(data["shape"])
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"bad readable array: {exc}") from None
    if "$tuple" in data:
        return tuple(decode(v) for v in data["$tuple"])
    if "$map" in data:
        return {k: decode(v) for k, v in data["$map"].items()}
    if any(k in data for k in MARKERS):
        return data
    raise ProtocolError(f"unknown tagged object with keys {sorted(data)[:5]}")


def dumps(message):
    """Serialize an already-encoded message to bytes."""
    return json.dumps(message, allow_nan=True, separators=(",", ":")).encode("utf-8")


def write_message(stream, message):
    """Write one framed JSON message to a binary stream."""
    body = dumps(message)
    stream.write(HEADER.pack(len(body)) + body)
    stream.flush()


def read_exactly(stream, n):
    """Read exactly n bytes, or raise EOFError."""
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("peer closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def parse_body(body):
    """Parse a message body; any malformed content raises ``ProtocolError``."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed message: {exc}") from None


def read_message(stream, max_bytes):
    """Read one framed message from a binary stream (blocking)."""
    (length,) = HEADER.unpack(read_exactly(stream, HEADER.size))
    if length > max_bytes:
        raise ProtocolError(f"message of {length} bytes exceeds the limit of {max_bytes}")
    return parse_body(read_exactly(stream, length))
