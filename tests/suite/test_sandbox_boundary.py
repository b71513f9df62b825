"""The trust boundary: what the worker may import, and what may cross as data."""
import ast
import base64
import io
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


def test_a_pickled_array_payload_is_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"evil": 1}], dtype=object), allow_pickle=True)
    payload = {"$nd": base64.b64encode(buf.getvalue()).decode()}
    with pytest.raises(protocol.ProtocolError):
        protocol.decode(payload)
    with pytest.raises(protocol.ProtocolError):
        protocol.decode({"$nd": base64.b64encode(pickle.dumps([1])).decode()})


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
