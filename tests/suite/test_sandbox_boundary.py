"""The trust boundary: what the worker may import, and what may cross as data."""
import ast
import base64
import io
import os
import pickle
import sys

import numpy as np
import pytest

from grader.sandbox import protocol, supervisor

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
            imported |= {(node.module or "").split(".")[0]} if node.level == 0 else \
                {a.name for a in node.names}
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
