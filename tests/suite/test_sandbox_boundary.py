"""The trust boundary: what the worker may import, and what may cross as data."""
import ast
import base64
import io
import json
import os
import pickle
import sys

import numpy as np
import pytest

from grader.sandbox import isolation, protocol, rootfs, supervisor
from grader.checks import programs
from grader.sandbox.supervisor import Sandbox

SANDBOX = os.path.dirname(protocol.__file__)
ALLOWED = {"numpy", "torch", "protocol", "callables", "isolation", "worker", "importguard",
           "rootfs"}


@pytest.mark.parametrize("name", supervisor.TEMPLATE_FILES)
def test_worker_runtime_imports_nothing_of_the_trusted_side(name):
    tree = ast.parse(open(os.path.join(SANDBOX, name), encoding="utf-8").read())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {(node.module or "").split(".")[0]} if node.level == 0 or \
                node.module else {a.name for a in node.names}
    stdlib = set(sys.stdlib_module_names)
    assert imported - stdlib - ALLOWED == set()
    assert "pickle" not in imported and "marshal" not in imported


def test_plain_data_round_trips_exactly():
    value = (np.arange(6.0).reshape(2, 3), [1, 2 ** 10000 - 1, 2.5, None, "s"],
             {"k": np.float64(np.inf)}, np.array(7, dtype=np.int64))
    back = protocol.decode(protocol.parse_body(protocol.dumps(protocol.encode(value))))
    assert np.array_equal(back[0], value[0]) and back[1] == value[1]
    assert back[2]["k"] == np.inf and back[3].dtype == np.int64 and back[3].shape == ()
    readable = protocol.decode(protocol.encode(value, readable=True))
    assert np.array_equal(readable[0], value[0])


def test_object_arrays_cannot_be_sent():
    with pytest.raises(TypeError):
        protocol.encode(np.array([object()], dtype=object))
    for kind in (np.array(["a"]), np.array([b"a"]), np.array(["2020-01-01"], dtype="M8[D]"),
                 np.zeros(2, dtype=[("a", "<f8")])):  # numbers only cross the channel
        with pytest.raises(TypeError):
            protocol.dumps(protocol.encode(kind))


# --- arrays travel as raw bytes after the JSON ---------------------------------------------------

def _wire(value):
    """``value`` sent and received: encoded, written as a frame body, parsed and decoded."""
    return protocol.decode(protocol.parse_body(protocol.dumps(protocol.encode(value))))


def _same_array(back, sent):
    sent = np.asarray(sent)
    assert type(back) is np.ndarray and back.dtype == sent.dtype and back.shape == sent.shape
    assert back.tobytes() == np.ascontiguousarray(sent).tobytes()  # NaN payloads, -0.0 too
    assert back.flags.writeable and back.flags.owndata and back.base is None


ARRAYS = {
    "float64 2-D": np.arange(6.0).reshape(2, 3),
    "nan inf -0": np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324]),
    "big-endian float": np.arange(5, dtype=">f8") / 3,
    "big-endian int": np.arange(-3, 3, dtype=">i4"),
    "big-endian complex": np.array([1 + 2j, np.nan * 1j], dtype=">c16"),
    "0-d": np.array(7.5),
    "0-d int": np.array(-3, dtype=np.int64),
    "transposed": np.arange(12.0).reshape(3, 4).T,
    "strided": np.arange(20, dtype=np.int16)[::3],
    "fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
    "empty": np.zeros((0, 3)),
    "empty 3-D": np.zeros((2, 0, 4), dtype=np.float32),
    "bool": np.array([[True, False], [False, True]]),
    "uint8": np.arange(256, dtype=np.uint8),
    "float16": np.array([1.5, -2.25], dtype=np.float16),
    "complex64": np.array([1 - 1j], dtype=np.complex64),
    "longdouble": np.array([1.0, 1 / 3], dtype=np.longdouble),
    "300x300": np.random.default_rng(0).standard_normal((300, 300)),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_arrays_round_trip_exactly_as_fresh_writable_copies(name):
    sent = ARRAYS[name]
    body = protocol.dumps(protocol.encode(sent))
    back = protocol.decode(protocol.parse_body(body))
    _same_array(back, sent)
    assert body.count(b"\0") >= (1 if sent.nbytes else 0)
    assert len(body) < sent.nbytes + 200  # raw bytes, no base64 or text


def test_numpy_scalars_cross_as_0d_arrays_of_their_dtype():
    for scalar in (np.float32(1.5), np.int64(-2 ** 62), np.bool_(True), np.uint16(7),
                   np.complex64(1 + 2j), np.float32(np.nan), np.float16(-0.0)):
        _same_array(_wire(scalar), scalar)
    back = _wire([np.float64(np.nan), np.float64(-0.0)])  # float subclasses: JSON floats
    assert type(back[0]) is float and np.isnan(back[0]) and str(back[1]) == "-0.0"


def test_many_arrays_nested_in_containers_keep_their_places():
    rng = np.random.default_rng(1)
    small = [rng.standard_normal(3) for _ in range(1000)]
    value = (small, {"x": ARRAYS["big-endian int"], "y": [ARRAYS["empty"], 3]}, "s")
    back = _wire(value)
    assert isinstance(back, tuple) and len(back[0]) == 1000
    for got, sent in zip(back[0], small):
        _same_array(got, sent)
    _same_array(back[1]["x"], value[1]["x"])
    _same_array(back[1]["y"][0], value[1]["y"][0])
    assert back[1]["y"][1] == 3 and back[2] == "s"


def test_a_message_without_arrays_is_plain_json():
    message = {"ok": True, "results": protocol.encode([1, 2.5, "a\x00b", None, (1,)])}
    body = protocol.dumps(message)
    assert b"\0" not in body and json.loads(body) == message
    assert protocol.parse_body(body) == message


def test_a_tensor_marker_carries_its_array():
    steps = protocol.encode([programs.call("f", programs.tensor([[1, 2], [3, 4]]))])
    sent = protocol.decode(protocol.parse_body(protocol.dumps(steps)))
    marker = sent[0]["args"][0]
    assert marker["device"] == "cpu"
    _same_array(protocol.decode(marker["$tensor"]), np.array([[1, 2], [3, 4]], np.float32))


def test_array_bytes_do_not_count_against_the_json_bounds():
    braces = np.full(protocol.MAX_ITEMS + protocol.MAX_CONTAINERS * 3, ord(","), np.uint8)
    braces[::10] = ord("{")  # over both counts, were they counted
    _same_array(_wire([braces])[0], braces)
    body = b"[" + b"{}," * 300_000 + b"{}]\0" + bytes(8)  # the JSON part is still counted
    with pytest.raises(protocol.ProtocolError, match="objects"):
        protocol.parse_body(body)


def _frame(refs, binary):
    """A hand-written frame body: ``refs`` as the JSON part, then NUL and ``binary`` (if any)."""
    text = json.dumps({"ok": True, "results": refs}).encode()
    return text + b"\0" + binary if binary else text


def _ref(offset=0, nbytes=24, dtype="<f8", shape=(3,), **extra):
    return {"$nd": [offset, nbytes], "dtype": dtype,
            "shape": list(shape) if isinstance(shape, tuple) else shape, **extra}


LONG = "<" + "f" * 10_000
MALFORMED = {
    "object dtype": ([_ref(nbytes=8, dtype="|O", shape=[1])], bytes(8)),
    "O": ([_ref(nbytes=8, dtype="O", shape=[1])], bytes(8)),
    "void": ([_ref(nbytes=8, dtype="|V8", shape=[1])], bytes(8)),
    "structured": ([_ref(nbytes=8, dtype="[('a', '<f8')]", shape=[1])], bytes(8)),
    "structured list": ([_ref(nbytes=8, dtype=[["a", "<f8"]], shape=[1])], bytes(8)),
    "str dtype": ([_ref(nbytes=8, dtype="<U2", shape=[1])], bytes(8)),
    "bytes dtype": ([_ref(nbytes=8, dtype="|S8", shape=[1])], bytes(8)),
    "datetime": ([_ref(nbytes=8, dtype="<M8[ns]", shape=[1])], bytes(8)),
    "very long dtype": ([_ref(dtype=LONG)], bytes(24)),
    "non-canonical dtype": ([_ref(dtype="=f8")], bytes(24)),
    "unknown size": ([_ref(dtype="<f3")], bytes(24)),
    "dtype not a string": ([_ref(dtype=8)], bytes(24)),
    "shape/nbytes mismatch": ([_ref(nbytes=16)], bytes(16)),
    "shape over nbytes": ([_ref(shape=[4])], bytes(24)),
    "negative dim": ([_ref(shape=[-3])], bytes(24)),
    "float dim": ([_ref(shape=[3.0])], bytes(24)),
    "bool dim": ([_ref(nbytes=8, shape=[True])], bytes(8)),
    "shape not a list": ([_ref(shape="3")], bytes(24)),
    "too many dims": ([_ref(nbytes=8, shape=[1] * 40)], bytes(8)),
    "huge dim": ([_ref(nbytes=0, shape=[0, 2 ** 50])], b""),
    "too big when empty": ([_ref(nbytes=0, shape=[0] + [2 ** 40] * 3)], b""),
    "offset outside": ([_ref(offset=100)], bytes(24)),
    "negative offset": ([_ref(offset=-8)], bytes(24)),
    "negative nbytes": ([_ref(nbytes=-24)], bytes(24)),
    "past the end": ([_ref(nbytes=32, shape=[4])], bytes(24)),
    "gap before": ([_ref(offset=8)], bytes(32)),
    "overlapping": ([_ref(), _ref()], bytes(24)),  # 2 arrays from 1 array's bytes
    "bytes left over": ([_ref()], bytes(32)),
    "no reference": ([1, 2], bytes(24)),
    "offset not an int": ([_ref(offset=0.0)], bytes(24)),
    "offset a bool": ([_ref(nbytes=8, shape=[1]), _ref(offset=True, nbytes=8, shape=[1])],
                      bytes(16)),
    "$nd a string": ([{"$nd": "AAAA", "dtype": "<f8", "shape": [3]}], bytes(24)),
    "$nd too long": ([{"$nd": [0, 24, 5], "dtype": "<f8", "shape": [3]}], bytes(24)),
    "missing shape": ([{"$nd": [0, 24], "dtype": "<f8"}], bytes(24)),
    "extra key": ([_ref(order="F")], bytes(24)),
    "pickle": ([_ref(nbytes=len(pickle.dumps([1])), dtype="|O", shape=[1])], pickle.dumps([1])),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_array_references_are_refused(name):
    refs, binary = MALFORMED[name]
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(protocol.parse_body(_frame(refs, binary))["results"])


def test_a_nul_with_nothing_after_it_is_refused():
    for refs in ([1], [_ref(nbytes=0, shape=[0])]):
        body = _frame(refs, b"")
        assert protocol.parse_body(body)
        with pytest.raises(protocol.ProtocolError, match="NUL"):
            protocol.parse_body(body + b"\0")


def test_the_well_formed_frame_that_the_malformed_ones_vary_is_accepted():
    back = protocol.parse_body(_frame([_ref()], np.arange(3.0).tobytes()))["results"]
    _same_array(back[0], np.arange(3.0))
    empty = protocol.parse_body(json.dumps([_ref(nbytes=0, shape=[0, 3])]).encode())
    _same_array(empty[0], np.zeros((0, 3)))


ECHO = """
import numpy as np
def f(x):
    return x
def words():
    return np.array(["a", "b"])
def forged():
    import protocol
    protocol.dumps = lambda message: (b'{"ok":true,"results":[{"$nd":[0,8],"dtype":"|O",'
                                      b'"shape":[1]}]}\\0' + bytes(8))
    return 1
"""


def test_arrays_cross_the_worker_channel_exactly(tmp_path):
    path = tmp_path / "echo.py"
    path.write_text(ECHO)
    sent = [ARRAYS[name] for name in sorted(ARRAYS)] + [np.float32(2.5), np.int8(-1)]
    with Sandbox("echo", str(path)) as box:
        out = box.call([programs.call("f", a) for a in sent])
        assert out.ok, out.message
        for back, array in zip(out.results, sent):
            _same_array(back, array)
        words = box.call([programs.call("words")])
        assert words.status == "error" and "dtype <U1" in words.message, words.message
        assert box.call([programs.call("f", 3)]).results == [3]
        forged = box.call([programs.call("forged")])
    assert forged.status == "garbage" and "dtype" in forged.message, forged.message


def test_a_pickled_array_payload_is_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    for payload in (base64.b64encode(buf.getvalue()).decode(),  # the former .npy form
                    base64.b64encode(pickle.dumps([1])).decode()):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode({"$nd": payload})
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_body(json.dumps({"$nd": payload}).encode())


def test_an_array_reference_that_escapes_resolution_is_refused_by_decode():
    body = b'{"ok":true,"results":[{"\\u0024nd":[0,24],"dtype":"<f8","shape":[3]}]}'
    message = protocol.parse_body(body)
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(message["results"])


def test_unknown_tags_and_oversized_messages_are_refused():
    with pytest.raises(protocol.ProtocolError):
        protocol.decode({"$pickle": "x"})
    stream = io.BytesIO(protocol.HEADER.pack(10 ** 12) + b"{}")
    with pytest.raises(protocol.ProtocolError):
        protocol.read_message(stream, max_bytes=1 << 20)


# --- the channel's bounds: each is a ProtocolError (that call's failure), never a crash -------

@pytest.mark.parametrize("body", [
    b"[" + b"9" * 2_000_000 + b"]",                      # an integer of 2e6 digits
    b"[" + b"{}," * 300_000 + b"{}]",                    # too many objects
    b"[" + b"1," * 2_100_000 + b"1]",                    # too many items
    b"[" * 5000 + b"]" * 5000,                           # nesting the parser refuses
    b"\xff\xfe",                                         # not UTF-8
])
def test_frames_over_the_bounds_are_refused_before_they_cost_much(body):
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(protocol.parse_body(body))


def test_nesting_is_capped_while_decoding():
    nested = protocol.parse_body(b"[" * 900 + b"]" * 900)
    with pytest.raises(protocol.ProtocolError, match="deeper"):
        protocol.decode(nested)
    assert protocol.decode(protocol.parse_body(b"[" * 40 + b"]" * 40))


def test_exact_big_integers_cross_tagged_with_a_digit_cap():
    for big in (2 ** 10000 - 1, 256 ** 3072 - 1, 2 ** 63, -(2 ** 64)):
        wire = protocol.parse_body(protocol.dumps(protocol.encode([big, -big])))
        assert protocol.decode(wire) == [big, -big]
    with pytest.raises(protocol.ProtocolError):
        protocol.decode({"$int": "f" * (protocol.INT_HEX_DIGITS + 1)})
    with pytest.raises(protocol.ProtocolError):
        protocol.decode([{"$int": "f" * 16000}] * 100)  # 1.6e6 digits in one answer
    for bad in ("12x", "", "-", " 1", "0x1f", 5):
        with pytest.raises(protocol.ProtocolError):
            protocol.decode({"$int": bad})
    assert sys.get_int_max_str_digits() != 0  # the trusted side keeps Python's limit


# --- the allow-list root, seen from inside ------------------------------------------------------

WALK = '''
import os
def walk():
    seen = []
    for folder, dirs, files in os.walk("/"):
        if folder in ("/proc", "/dev"):
            dirs[:] = []
            seen += [os.path.join(folder, f) for f in os.listdir(folder)]
            continue
        if len(seen) > 50000:
            break
        dirs.sort()
        seen.append(folder)
        seen += [os.path.join(folder, f) for f in files]
    return seen
'''


@pytest.mark.skipif(not isolation.probe().namespaces, reason="kernel namespaces unavailable here")
def test_a_worker_sees_nothing_of_the_host_outside_its_allow_list(tmp_path):
    from grader.homeworks import PROJECT_ROOT
    path = tmp_path / "walker.py"
    path.write_text(WALK)
    with Sandbox("walker", str(path)) as box:
        assert box.start().ok
        out = box.call([programs.call("walk")])
    assert out.ok, out.message
    seen = out.results[0]
    links, binds = rootfs.resolve(rootfs.allow_list(["numpy"]))
    allowed = set(binds) | set(links) | set(rootfs.SCRATCH_DIRS) | {rootfs.SUBMISSION}
    ancestors = {os.path.dirname(p) for p in allowed}
    while any(os.path.dirname(a) not in ancestors for a in ancestors):
        ancestors |= {os.path.dirname(a) for a in ancestors}

    def permitted(p):
        return p in ancestors or p == "/proc" or p.startswith("/proc/") or \
            p.startswith("/dev/") or any(p == a or p.startswith(a.rstrip("/") + "/")
                                         for a in allowed)
    outside = [p for p in seen if not permitted(p)]
    assert outside == [], outside[:20]
    for gone in ("/home", "/etc/passwd", os.path.expanduser("~/.ssh"), str(tmp_path),
                 *(os.path.join(PROJECT_ROOT, d) for d in ("solutions", "tests", "grader",
                                                           ".git", "assignments"))):
        assert gone not in seen, gone
    pids = sorted(int(p.split("/")[2]) for p in seen
                  if p.count("/") == 2 and p.split("/")[2].isdigit())
    assert pids == [1]  # its own PID namespace
    assert "/submission/walker.py" in seen
    assert not any("site-packages/grader" in p or "site-packages/scipy" in p for p in seen)


def test_a_program_frames_its_steps_once_per_cpu_budget():
    """A ``Program`` (one case's steps, shared by a whole class) is framed once per budget:
    asked again for the same budget it gives the same bytes; a new budget reframes it."""
    steps = [programs.call("f", np.arange(6.0).reshape(2, 3), 7)]
    program = supervisor.Program(steps)
    first = program.frame(2.5)
    assert program.frame(2.5) is first
    other = program.frame(4.0)
    for frame, budget in ((first, 2.5), (other, 4.0)):
        (length,) = protocol.HEADER.unpack(frame[:protocol.HEADER.size])
        request = protocol.parse_body(frame[protocol.HEADER.size:])
        assert length == len(frame) - protocol.HEADER.size
        assert request["op"] == "run" and request["cpu_seconds"] == budget
        args = protocol.decode(request["steps"])[0]["args"]
        assert np.array_equal(args[0], np.arange(6.0).reshape(2, 3)) and args[1] == 7
