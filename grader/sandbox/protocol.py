"""Wire format between the trusted grader and the untrusted worker.

Plain data only, never pickle. A message is a JSON document framed by an
8-byte big-endian length. Values that JSON cannot hold are tagged objects:

- ``{"$nd": <base64 .npy bytes>}``: a numpy array, written and read with
  ``allow_pickle=False`` (object arrays cannot be written at all);
- ``{"$list": <nested list>, "dtype": "float64", "shape": [...]}``: the same
  array in readable form (used for the public data files);
- ``{"$tuple": [...]}``: a tuple; ``{"$map": {...}}``: a dict with str keys;
- ``{"$int": "<hex digits>"}``: an integer too large for 64 bits (hw5's exact counts such
  as 2**10000 - 1 or 256**3072 - 1), in hexadecimal (converted both ways in linear time,
  outside Python's int-digit limit, which stays in force), at most ``INT_HEX_DIGITS``.

Bounds (the trusted side parses what an untrusted worker wrote): a frame is at most
the sandbox's ``message_bytes``; before JSON parsing, a body may hold at most
``MAX_CONTAINERS`` objects/arrays and ``MAX_ITEMS`` commas (a cheap byte count that
bounds the parser's memory and time); plain JSON integers have at most
``PLAIN_INT_DIGITS`` digits and Python's own int-digit limit stays in force; nesting
deeper than ``MAX_DEPTH`` and more than ``MAX_BIG_INT_DIGITS`` tagged hex digits in one
message are refused. Every violation is a ``ProtocolError``: that call's failure.

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

import numpy as np

VERSION = 1
HEADER = struct.Struct(">Q")
MARKERS = ("$rng", "$torch_generator", "$ref", "$fn", "$tensor")
MAX_CONTAINERS = 200_000
MAX_ITEMS = 2_000_000
MAX_DEPTH = 64
PLAIN_INT_DIGITS = 19          # fits every int64; longer integers travel as {"$int": hex}
INT_HEX_DIGITS = 16384         # 65536 bits: 2**10000 - 1 (2500), 256**3072 - 1 (6144)
MAX_BIG_INT_DIGITS = 1 << 20   # hex digits per message: linear conversion, bounded cost
_BIG = 1 << 63


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
    if isinstance(value, int) and not isinstance(value, bool) and not -_BIG <= value < _BIG:
        return {"$int": format(int(value), "x")}  # linear, never hits the decimal digit limit
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
    """Inverse of ``encode``. Markers are returned unchanged (as dicts).

    Raises ``ProtocolError`` for nesting deeper than ``MAX_DEPTH``, an ``$int`` over
    ``INT_DIGITS`` digits, or more than ``MAX_BIG_INT_DIGITS`` such digits in all.
    """
    return _decode(data, 0, [MAX_BIG_INT_DIGITS])


_HEX = frozenset("0123456789abcdef")


def _big_int(text, budget):
    digits = text[1:] if isinstance(text, str) and text.startswith("-") else text
    if not isinstance(digits, str) or not 0 < len(digits) <= INT_HEX_DIGITS or \
            not _HEX.issuperset(digits):
        raise ProtocolError(f"an integer of more than {INT_HEX_DIGITS * 4} bits "
                            "(or not a hexadecimal integer)")
    budget[0] -= len(digits)
    if budget[0] < 0:
        raise ProtocolError(f"more than {MAX_BIG_INT_DIGITS} digits of integers in one answer")
    return int(text, 16)


def _decode(data, depth, budget):
    if depth > MAX_DEPTH:
        raise ProtocolError(f"data nested deeper than {MAX_DEPTH} levels")
    if isinstance(data, list):
        return [_decode(v, depth + 1, budget) for v in data]
    if not isinstance(data, dict):
        return data
    if "$int" in data:
        return _big_int(data["$int"], budget)
    if "$nd" in data:
        return _npy_to_array(data["$nd"])
    if "$list" in data:
        try:
            arr = np.array(data["$list"], dtype=np.dtype(data["dtype"]))
            return arr.reshape(data["shape"])
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"bad readable array: {exc}") from None
    if "$tuple" in data:
        return tuple(_decode(v, depth + 1, budget) for v in _list(data["$tuple"]))
    if "$map" in data:
        if not isinstance(data["$map"], dict):
            raise ProtocolError("a $map that is not an object")
        return {k: _decode(v, depth + 1, budget) for k, v in data["$map"].items()}
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


def _list(value):
    if not isinstance(value, list):
        raise ProtocolError("a tagged sequence that is not a list")
    return value


def _plain_int(text):
    if len(text.lstrip("-")) > PLAIN_INT_DIGITS:
        raise ProtocolError(f"a plain integer of {len(text)} digits (over {PLAIN_INT_DIGITS}: "
                            "long integers travel as tagged hexadecimal strings, at most "
                            f"{INT_HEX_DIGITS * 4} bits)")
    return int(text)


def parse_body(body):
    """Parse a message body within the bounds above; any violation raises ``ProtocolError``.

    The cost is linear in the body's size, which the caller has capped: the byte
    counts are checked before any object is built.
    """
    containers = body.count(b"{") + body.count(b"[")
    if containers > MAX_CONTAINERS:
        raise ProtocolError(f"more than {MAX_CONTAINERS} lists or objects in one answer")
    if body.count(b",") > MAX_ITEMS:
        raise ProtocolError(f"more than {MAX_ITEMS} items in one answer")
    try:
        return json.loads(body.decode("utf-8"), parse_int=_plain_int)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed message: {str(exc)[:200]}") from None


def read_message(stream, max_bytes):
    """Read one framed message from a binary stream (blocking)."""
    (length,) = HEADER.unpack(read_exactly(stream, HEADER.size))
    if length > max_bytes:
        raise ProtocolError(f"message of {length} bytes exceeds the limit of {max_bytes}")
    return parse_body(read_exactly(stream, length))
