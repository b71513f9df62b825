"""Wire format between the trusted grader and the untrusted worker.

Plain data only, never pickle. A message is a frame: an 8-byte big-endian length, then
the body. The body is a JSON document (``json.dumps`` never writes a raw NUL byte) and,
only when the message holds arrays with any bytes, one NUL byte followed by the arrays'
raw bytes, concatenated in the order their references appear in the JSON::

    {"ok":true,"results":[{"$nd":[0,720000],"dtype":"<f8","shape":[300,300]}]} NUL <720000 bytes>

A body without a NUL is plain JSON. Values that JSON cannot hold are tagged objects:

- ``{"$nd": [offset, nbytes], "dtype": "<f8", "shape": [...]}``: a numpy array whose
  C-order bytes are ``binary[offset:offset + nbytes]``; ``encode`` leaves arrays as they
  are and ``dumps`` writes these references (and the bytes), ``parse_body`` turns them
  back into arrays, so ``decode`` sees arrays, never references;
- ``{"$list": <nested list>, "dtype": "float64", "shape": [...]}``: the same
  array in readable form (used for the public data files);
- ``{"$tuple": [...]}``: a tuple; ``{"$map": {...}}``: a dict with str keys;
- ``{"$int": "<hex digits>"}``: an integer too large for 64 bits (hw5's exact counts such
  as 2**10000 - 1 or 256**3072 - 1), in hexadecimal (converted both ways in linear time,
  outside Python's int-digit limit, which stays in force), at most ``INT_HEX_DIGITS``.

Bounds (the trusted side parses what an untrusted worker wrote): a frame is at most
the sandbox's ``message_bytes``; before JSON parsing, the JSON part may hold at most
``MAX_CONTAINERS`` objects/arrays and ``MAX_ITEMS`` commas (a cheap byte count that
bounds the parser's memory and time); plain JSON integers have at most
``PLAIN_INT_DIGITS`` digits and Python's own int-digit limit stays in force; nesting
deeper than ``MAX_DEPTH`` and more than ``MAX_BIG_INT_DIGITS`` tagged hex digits in one
message are refused. An array reference must have exactly the three keys above; its
dtype is a short canonical string (``"<f8"``, ``">i4"``, ``"|b1"``) of kind bool, int,
uint, float or complex (``ARRAY_KINDS``: never object, structured/void, bytes, str or
datetime); its shape a list of at most ``MAX_DIMS`` non-negative ints; ``nbytes`` is
exactly ``prod(shape) * itemsize``; and the references cover the binary part exactly,
one after the other (each ``offset`` is where the previous array ended, the last ends at
the end of the frame), so the arrays built never hold more bytes than the frame. A NUL
with nothing after it is refused. Each array is a fresh, writable copy (never a view of
the frame). Every violation is a ``ProtocolError``: that call's failure.

Arguments may also carry markers that the worker turns into live objects
(see ``worker.py``): ``{"$rng": seed}`` for a ``np.random.Generator``,
``{"$torch_generator": seed}``, ``{"$ref": name}`` for an object kept in the
worker, ``{"$fn": name, "kw": {...}}`` for a helper function of the worker,
``{"$tensor": array}`` for a torch tensor.

This module is imported by both sides: it imports nothing but the standard
library and numpy, and nothing of the grader.
"""
import json
import re
import struct

import numpy as np

VERSION = 2
HEADER = struct.Struct(">Q")
MARKERS = ("$rng", "$torch_generator", "$ref", "$fn", "$tensor")
MAX_CONTAINERS = 200_000
MAX_ITEMS = 2_000_000
MAX_DEPTH = 64
PLAIN_INT_DIGITS = 19          # fits every int64; longer integers travel as {"$int": hex}
INT_HEX_DIGITS = 16384         # 65536 bits: 2**10000 - 1 (2500), 256**3072 - 1 (6144)
MAX_BIG_INT_DIGITS = 1 << 20   # hex digits per message: linear conversion, bounded cost
ARRAY_KINDS = "biufc"          # bool, int, uint, float, complex: fixed-size numbers only
MAX_DIMS = 32
MAX_DIM = 1 << 40              # one axis; a non-empty array is bounded by the frame anyway
_BIG = 1 << 63
_NUL = b"\0"
_ARRAY_KEYS = frozenset(("$nd", "dtype", "shape"))
_DTYPE_FORM = re.compile(r"[<>|][biufc][0-9]{1,2}\Z")  # what ``dtype.str`` writes for them
_DTYPES = {}                   # the dtype strings found valid (29 at most)


class ProtocolError(Exception):
    """A message that is not valid protocol data."""


def _sendable(arr):
    """``arr`` if its dtype may cross the channel as raw bytes, else ``TypeError``."""
    if arr.dtype.kind not in ARRAY_KINDS:
        raise TypeError(f"arrays of dtype {str(arr.dtype)[:40]} are not plain data (numbers "
                        "only: bool, integer, float, complex)")
    return arr


def _dtype(text):
    """The numpy dtype named by ``text`` from an untrusted peer, or ``ProtocolError``."""
    dtype = _DTYPES.get(text) if isinstance(text, str) else None
    if dtype is not None:
        return dtype
    if not isinstance(text, str) or not _DTYPE_FORM.match(text):
        raise ProtocolError(f"an array dtype that is not a short number dtype: {str(text)[:40]!r}")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise ProtocolError(f"an unknown array dtype {text!r}") from None
    if dtype.str != text or dtype.kind not in ARRAY_KINDS:
        raise ProtocolError(f"an array dtype {text!r} that is not canonical")
    _DTYPES[text] = dtype
    return dtype


def _natural(value, limit):
    return type(value) is int and 0 <= value <= limit


class _ArrayReader:
    """Turns array references into arrays, reading the frame's binary part in order."""

    def __init__(self, binary):
        self.binary = binary
        self.cursor = 0

    def hook(self, obj):
        """``json.loads``'s ``object_hook``: references become arrays, other objects stay."""
        return self.array(obj) if "$nd" in obj else obj

    def array(self, ref):
        if ref.keys() != _ARRAY_KEYS:
            raise ProtocolError(f"an array reference with keys {sorted(ref)[:5]}")
        span, shape, dtype = ref["$nd"], ref["shape"], _dtype(ref["dtype"])
        if type(span) is not list or len(span) != 2:
            raise ProtocolError("an array reference whose $nd is not [offset, nbytes]")
        offset, nbytes = span
        if type(offset) is not int or offset != self.cursor or \
                not _natural(nbytes, len(self.binary) - offset):
            raise ProtocolError(f"array bytes at {str(offset)[:20]} (size {str(nbytes)[:20]}) "
                                f"that do not follow the previous array (at {self.cursor}) "
                                f"within the {len(self.binary)} bytes sent")
        if type(shape) is not list or len(shape) > MAX_DIMS:
            raise ProtocolError(f"an array shape that is not a list of at most {MAX_DIMS} ints")
        count = 1
        for n in shape:
            if not _natural(n, MAX_DIM):
                raise ProtocolError(f"an array dimension that is not an integer in "
                                    f"[0, {MAX_DIM}]")
            count *= n
        if count * dtype.itemsize != nbytes:
            raise ProtocolError(f"an array of shape {shape} and dtype {dtype.str} "
                                f"in {nbytes} bytes")
        self.cursor += nbytes
        try:
            if not nbytes:
                return np.empty(shape, dtype)
            # A copy: owned and writable, never a view of the frame.
            return np.ndarray(shape, dtype, self.binary, offset).copy()
        except (ValueError, TypeError, MemoryError) as exc:
            raise ProtocolError(f"bad array: {str(exc)[:200]}") from None


def encode(value, *, readable=False):
    """Turn plain data (numbers, str, None, lists, tuples, dicts, ndarrays) into data that
    ``dumps`` can write.

    Arrays (and numpy scalars, as 0-d arrays) are left as arrays, by reference: ``dumps``
    writes their bytes after the JSON, so encode and send before changing them. Only
    bool, integer, float and complex arrays can be sent. ``readable=True`` writes arrays
    as nested lists (exact for float64, since JSON floats round-trip through ``repr``):
    JSON-able data for the public data files. Raises ``TypeError`` for anything else.
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
        return _sendable(value)
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
    """Inverse of ``encode``. Markers and arrays are returned unchanged.

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
    if "$nd" in data:  # parse_body resolves every reference it reads
        raise ProtocolError("an array reference outside a frame's JSON")
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
    """Serialize an already-encoded message to a frame body (bytes): the JSON, then, when
    the arrays in it hold any bytes, a NUL byte and their bytes."""
    chunks = []
    end = 0

    def reference(obj):
        nonlocal end
        if type(obj) is not np.ndarray:
            if not isinstance(obj, (np.ndarray, np.generic)):
                raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
            obj = np.asarray(obj)
        ref = {"$nd": [end, obj.nbytes], "dtype": _sendable(obj).dtype.str,
               "shape": list(obj.shape)}
        chunks.append(obj if obj.flags.c_contiguous else obj.tobytes())  # C order
        end += obj.nbytes
        return ref

    text = json.dumps(message, allow_nan=True, separators=(",", ":"),
                      default=reference).encode("utf-8")
    if not end:
        return text
    return b"".join([text, _NUL, *chunks])


def write_message(stream, message):
    """Write one framed message to a binary stream."""
    body = dumps(message)
    frame = memoryview(HEADER.pack(len(body)) + body)
    while frame:  # a raw stream may write less than asked (a signal in between)
        frame = frame[stream.write(frame):]
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
    if len(text) > PLAIN_INT_DIGITS and len(text.lstrip("-")) > PLAIN_INT_DIGITS:
        raise ProtocolError(f"a plain integer of {len(text)} digits (over {PLAIN_INT_DIGITS}: "
                            "long integers travel as tagged hexadecimal strings, at most "
                            f"{INT_HEX_DIGITS * 4} bits)")
    return int(text)


def parse_body(body):
    """Parse a frame body within the bounds above; any violation raises ``ProtocolError``.

    Array references become arrays here. The cost is linear in the body's size, which
    the caller has capped: the byte counts are checked before any object is built.
    """
    cut = body.find(_NUL)
    text, binary = (body, b"") if cut < 0 else (body[:cut], memoryview(body)[cut + 1:])
    if cut >= 0 and not binary:
        raise ProtocolError("a NUL byte with no array bytes after it")
    containers = text.count(b"{") + text.count(b"[")
    if containers > MAX_CONTAINERS:
        raise ProtocolError(f"more than {MAX_CONTAINERS} lists or objects in one answer")
    if text.count(b",") > MAX_ITEMS:
        raise ProtocolError(f"more than {MAX_ITEMS} items in one answer")
    # A reference's key is always written as "$nd": a JSON without it has none to resolve
    # (one spelled with escapes stays a dict, which ``decode`` refuses).
    arrays = _ArrayReader(binary) if b'"$nd"' in text else None
    try:
        data = json.loads(text.decode("utf-8"), parse_int=_plain_int,
                          object_hook=arrays.hook if arrays else None)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed message: {str(exc)[:200]}") from None
    if len(binary) != (arrays.cursor if arrays else 0):
        raise ProtocolError(f"{len(binary)} bytes of arrays sent but "
                            f"{arrays.cursor if arrays else 0} referenced")
    return data


def read_message(stream, max_bytes):
    """Read one framed message from a binary stream (blocking)."""
    (length,) = HEADER.unpack(read_exactly(stream, HEADER.size))
    if length > max_bytes:
        raise ProtocolError(f"message of {length} bytes exceeds the limit of {max_bytes}")
    return parse_body(read_exactly(stream, length))
