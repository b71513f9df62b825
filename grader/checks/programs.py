"""The one builder of worker programs: the steps a check sends to the sandboxed worker.

A program is a list of plain-data steps (``sandbox/worker.py`` documents what the worker
does with each). Checks build them only through these functions, never by writing the
dicts by hand, so the wire vocabulary has one owner::

    [seed_global(3),
     call("sgd", grad, theta0, data, rng(seed), save_args="args"),
     value("grad", attr="calls")]

Arguments are plain data (numbers, lists, tuples, dicts with str keys, ndarrays) or the
markers built here (``rng``, ``torch_generator``, ``tensor``, ``ref``, ``fn``), which the
worker turns into live objects. ``DEVICE`` (from ``registry``) may stand anywhere for the
device the run grades on; the engine resolves it before sending.
"""


def call(target, *args, save=None, save_args=None, **kwargs):
    """Call ``target`` (a function name of the student's module, or a ``method(...)`` target)
    with ``args``/``kwargs``. Its value is returned, or kept in the worker under ``save``;
    ``save_args`` keeps the live argument list (to show later whether the call mutated it)."""
    step = {"call": target, "args": list(args), "kwargs": dict(kwargs)}
    if save is not None:
        step["save"] = save
    if save_args is not None:
        step["save_args"] = save_args
    return step


def method(ref_key, attr):
    """The target ``ref_key.attr``: a method of an object saved in the worker."""
    return {"$ref": ref_key, "attr": attr}


def value(key, *, attr=None, index=None):
    """Return the saved object ``key`` (or its attribute ``attr``, or its item ``index``)."""
    step = {"value": key}
    if attr is not None:
        step["attr"] = attr
    if index is not None:
        step["index"] = index
    return step


def seed_global(seed):
    """Seed Python's, numpy's and torch's global generators in the worker (checks use it to
    prove that a submission ignores global random state)."""
    return {"seed_global": int(seed)}


# --- argument markers --------------------------------------------------------------------------

def rng(seed):
    """A fresh ``np.random.Generator`` seeded with ``seed`` (built on each side on its own)."""
    return {"$rng": int(seed)}


def torch_generator(seed, device="cpu"):
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    return {"$torch_generator": int(seed), "device": device}


def tensor(array, device="cpu", dtype="float32"):
    """A torch tensor on ``device`` holding ``array`` (its bytes sent after the JSON)."""
    import numpy as np

    from ..sandbox import protocol
    return {"$tensor": protocol.encode(np.asarray(array, dtype=dtype)), "device": device}


def ref(key):
    """The object saved in the worker under ``key``, as an argument."""
    return {"$ref": key}


def fn(name, *, save=None, **kw):
    """A helper function of ``sandbox/callables.py`` built in the worker with parameters ``kw``
    (plain data); ``save`` also keeps it under that key (to read back what it recorded)."""
    marker = {"$fn": name, "kw": dict(kw)}
    if save is not None:
        marker["save"] = save
    return marker
