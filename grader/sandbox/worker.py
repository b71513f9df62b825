"""The untrusted side: a process that imports one student module and runs calls.

Started by ``supervisor.py`` as a copy outside the project tree, with ``python
-I`` and only its own folder on ``sys.path``: it cannot import the grader, the
reference solutions or the checks. It reads requests from one pipe and writes
answers to another (``protocol.py`` framing, plain data only); the student's
prints go to the captured stdout/stderr, never to the channel.

Requests:
- ``{"op": "import"}``: import the student module named at start-up.
- ``{"op": "run", "steps": [...], "cpu_seconds": s}``: run the steps in order.
  A step is one of
  - ``{"call": name | {"$ref": key, "attr": method} | {"$fn": helper, "kw": {...}},
    "args": [...], "kwargs": {...}, "save": key | None, "save_args": key | None}``: call
    a function of the module (or a method of a saved object, or a helper of
    ``callables.py``); its value is returned, or kept under
    ``save``; ``save_args`` keeps the live argument list (to show later whether
    the call mutated its inputs);
  - ``{"value": key, "attr": name | None, "index": i | None}``: return a saved
    object (or its attribute, or one item of it) as plain data;
  - ``{"seed_global": k}``: seed Python's, numpy's and torch's global generators
    (checks use it to prove that a submission ignores global state).

Answers: ``{"ok": true, "results": [...]}`` (one plain value per step that is
not saved) or ``{"ok": false, "error": {...}}``.
"""
import importlib.util
import json
import os
import random
import resource
import sys
import traceback

try:
    from . import protocol, callables, importguard
except ImportError:  # started standalone by the supervisor
    import protocol
    import callables
    import importguard

import numpy as np

# Keep our own references before student code can monkeypatch module attributes.
_asarray = np.asarray
_ndarray = np.ndarray
_generic = np.generic
_default_rng = np.random.default_rng
_encode = protocol.encode
_write = protocol.write_message
_read = protocol.read_message
_ARRAY_KINDS = protocol.ARRAY_KINDS

MAX_REQUEST_BYTES = 1 << 30
RUNTIME_MODULES = ("worker", "protocol", "callables", "importguard", "isolation", "rootfs",
                   "zygote")
MAX_MESSAGE_CHARS = 2000
PIPE_BYTES = 1 << 20  # Linux's default /proc/sys/fs/pipe-max-size for unprivileged users


class _ReturnedNonData(Exception):
    pass


def _torch():
    return sys.modules.get("torch")


def to_plain(value, depth=0):
    """Convert what student code returned into plain data, or raise ``_ReturnedNonData``."""
    if depth > 20:
        raise _ReturnedNonData("nesting deeper than 20 levels")
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy().copy()
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, (_ndarray, _generic)):
        arr = _asarray(value)
        if arr.dtype.kind not in _ARRAY_KINDS:  # what the channel carries: numbers only
            raise _ReturnedNonData("an array of Python objects (dtype=object)"
                                   if arr.dtype.kind == "O" else
                                   f"an array of dtype {str(arr.dtype)[:40]}")
        return arr.copy()
    kind = type(value)  # type() cannot be faked by a ``__class__`` property
    if issubclass(kind, (tuple, list)):
        # Subclasses (a namedtuple) convert item by item through the base class's own
        # methods: an overridden __iter__, __len__ or __getitem__ is never called.
        base = tuple if issubclass(kind, tuple) else list
        items = [to_plain(base.__getitem__(value, i), depth + 1)
                 for i in range(base.__len__(value))]
        return tuple(items) if base is tuple else items
    if isinstance(value, (int, float)):  # subclasses: take the plain value
        return int(value) if isinstance(value, int) else float(value)
    try:
        arr = _asarray(value, dtype=float)
    except Exception:
        raise _ReturnedNonData(f"an object of type {type(value).__name__}") from None
    if type(arr) is not _ndarray:
        raise _ReturnedNonData(f"an object of type {type(value).__name__}")
    return arr.copy()


def _torch_generator(spec):
    torch = _torch() or importlib.import_module("torch")
    device = spec.get("device", "cpu")
    gen = torch.Generator(device=device)
    gen.manual_seed(int(spec["$torch_generator"]))
    return gen


def _tensor(spec):
    torch = _torch() or importlib.import_module("torch")
    arr = protocol.decode(spec["$tensor"])
    return torch.as_tensor(arr, device=spec.get("device", "cpu"))


class Worker:
    def __init__(self, module_name, module_path, channel_in, channel_out):
        self.module_name = module_name
        self.module_path = module_path
        self.channel_in = channel_in
        self.channel_out = channel_out
        self.module = None
        self.saved = {}

    # --- arguments -------------------------------------------------------
    def live(self, value):
        """Turn decoded plain data and markers into the objects a call receives."""
        if isinstance(value, list):
            return [self.live(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.live(v) for v in value)
        if isinstance(value, dict):
            if "$rng" in value:
                return _default_rng(int(value["$rng"]))
            if "$torch_generator" in value:
                return _torch_generator(value)
            if "$tensor" in value:
                return _tensor(value)
            if "$ref" in value:
                return self.saved[value["$ref"]]
            if "$fn" in value:
                fn = callables.make(value["$fn"], self.live(value.get("kw", {})))
                if value.get("save"):
                    self.saved[value["save"]] = fn
                return fn
            return {k: self.live(v) for k, v in value.items()}
        return value  # arrays too: each request's are fresh, parsed from its own frame

    def target(self, call):
        if isinstance(call, dict):
            if "$fn" in call:  # a helper of callables.py, e.g. one that acts on a saved model
                return self.live(call)
            return getattr(self.saved[call["$ref"]], call["attr"])
        if not hasattr(self.module, call):
            raise AttributeError(f"the submission defines no '{call}'")
        return getattr(self.module, call)

    # --- requests --------------------------------------------------------
    def do_import(self):
        spec = importlib.util.spec_from_file_location(self.module_name, self.module_path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[self.module_name] = module
        spec.loader.exec_module(module)
        self.module = module
        return []

    def do_run(self, request):
        cpu = request.get("cpu_seconds")
        if cpu:
            used = resource.getrusage(resource.RUSAGE_SELF).ru_utime
            soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
            want = int(used + cpu) + 1
            if hard != resource.RLIM_INFINITY:
                want = min(want, hard)
            resource.setrlimit(resource.RLIMIT_CPU, (want, hard))
        results = []
        for step in protocol.decode(request["steps"]):
            if "seed_global" in step:
                seed = int(step["seed_global"])
                random.seed(seed)
                np.random.seed(seed)
                if _torch() is not None:
                    _torch().manual_seed(seed)
                continue
            if "value" in step:
                value = self.saved[step["value"]]
                if step.get("attr"):
                    value = getattr(value, step["attr"])
                if step.get("index") is not None:
                    value = value[step["index"]]
                results.append(to_plain(value))
                continue
            func = self.target(step["call"])
            args = self.live(step.get("args", []))
            if step.get("save_args"):
                self.saved[step["save_args"]] = args
            value = func(*args, **self.live(step.get("kwargs", {})))
            if step.get("save"):
                self.saved[step["save"]] = value
            else:
                results.append(to_plain(value))
        return results

    def answer(self, message):
        _write(self.channel_out, message)

    def error(self, exc):
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == self.module_path]
        where = "".join(traceback.format_list(frames[-5:]))
        text = f"{type(exc).__name__}: {exc}"
        if len(text) > MAX_MESSAGE_CHARS:
            text = text[:MAX_MESSAGE_CHARS] + " …[truncated]"
        return {
            "ok": False,
            "error": {
                "type": type(exc).__name__,
                "message": text,
                "where": where[-MAX_MESSAGE_CHARS:],
                "not_implemented": isinstance(exc, NotImplementedError),
                "memory": isinstance(exc, MemoryError),
                "non_data": isinstance(exc, _ReturnedNonData),
                # Every class along the exception's MRO, qualified ("builtins.ValueError"),
                # so that a judge can require a ValueError and accept its subclasses.
                "types": _type_names(exc),
            },
        }

    def serve(self):
        while True:
            try:
                request = _read(self.channel_in, MAX_REQUEST_BYTES)
            except EOFError:
                return
            try:
                if request["op"] == "import":
                    results = self.do_import()
                else:
                    results = self.do_run(request)
                message = {"ok": True, "results": _encode(results)}
            except SystemExit as exc:
                message = self.error(RuntimeError(f"called sys.exit({exc.code!r})"))
                message["error"]["type"] = "SystemExit"
            except _ReturnedNonData as exc:
                message = self.error(exc)
                message["error"]["message"] = f"returned {exc}, not numbers or arrays"
            except BaseException as exc:  # noqa: BLE001 - everything from student code is reported
                message = self.error(exc)
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()  # so the supervisor reads this call's prints with its answer
                except Exception:  # noqa: BLE001 - student code may have replaced the streams
                    pass
            try:
                self.answer(message)
            except TypeError as exc:  # a value that slipped past to_plain
                self.answer({"ok": False, "error": {"type": "TypeError", "message": str(exc),
                                                    "where": "", "not_implemented": False,
                                                    "memory": False, "non_data": True}})


def _type_names(exc):
    """Qualified names of the classes of ``exc`` along its MRO, most derived first."""
    try:
        return [f"{c.__module__}.{c.__qualname__}" for c in type(exc).__mro__][:20]
    except Exception:  # noqa: BLE001 - a student class with odd attributes
        return [type(exc).__name__]


def _widen_pipe(fd):
    """Let one write carry a 1 MiB frame (the default 64 KiB pipe splits a 300x300 array
    into a dozen reads, each a wake-up of the other side)."""
    try:
        import fcntl
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, AttributeError, OSError):  # not Linux, or over the user's pipe quota
        pass


def run(config):
    """Serve requests for the module and channels named in ``config`` until the channel closes."""
    for fd in (config["fd_in"], config["fd_out"]):
        _widen_pipe(fd)
    channel_in = os.fdopen(config["fd_in"], "rb", buffering=0)
    channel_out = os.fdopen(config["fd_out"], "wb", buffering=0)
    submission_dir = os.path.dirname(config["module_path"])
    sys.path.insert(0, submission_dir)
    os.chdir(submission_dir)
    importguard.install(config.get("allowed", ("numpy",)),
                        (config["module_name"],) + RUNTIME_MODULES)
    Worker(config["module_name"], config["module_path"], channel_in, channel_out).serve()


def main():
    """Entry point of a freshly started worker: the config is the last argument (JSON)."""
    run(json.loads(sys.argv[-1]))


if __name__ == "__main__":
    main()
