"""Functions that checks hand to student code, built inside the worker.

Some exercises take a function as an argument (``sgd``'s ``grad_fn``,
``log_partition``'s ``energy``). A function cannot cross the boundary as plain
data, so a check names one of the factories below with plain parameters
(``{"$fn": name, "kw": {...}}``) and the worker builds it here. Nothing here is
secret: these are known inputs, like the arrays of a case.
"""
import numpy as np

FACTORIES = {}


def factory(name):
    """Register a factory under ``name``."""
    def register(func):
        FACTORIES[name] = func
        return func
    return register


def make(name, kw):
    """Build the function named ``name`` with keyword parameters ``kw``."""
    if name not in FACTORIES:
        raise KeyError(f"unknown helper function {name!r}")
    return FACTORIES[name](**kw)


@factory("quadratic_energy")
def quadratic_energy(W, b):
    """E(x) = -x^T W x / 2 - b^T x for rows x in {0,1}^n (an Ising/Boltzmann energy)."""
    W = np.asarray(W, dtype=float)
    b = np.asarray(b, dtype=float)

    def energy(X):
        X = np.asarray(X, dtype=float)
        return -0.5 * np.einsum("mi,ij,mj->m", X, W, X) - X @ b

    return energy


@factory("table_energy")
def table_energy(values):
    """E(x) = values[x_0 + 2 x_1 + 4 x_2 + ...] for rows x in {0,1}^n, len(values) = 2^n.

    Any energy on {0,1}^n is such a table; a table lets a check choose every energy
    (magnitudes of 1e4, ties, a single dominant state). Rows must be 0/1 and the
    input 2-D ``(M, n)``, as the spec of ``log_partition`` says.
    """
    values = np.asarray(values, dtype=float).reshape(-1)
    n = int(round(np.log2(values.size)))
    if values.size != 1 << n:
        raise ValueError("table_energy needs 2^n values")
    weights = 1 << np.arange(n)

    def energy(X):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != n:
            raise ValueError(f"energy takes an (M, {n}) array of 0/1 rows; got shape {X.shape}")
        Xf = X.astype(float)
        if np.any((Xf != 0) & (Xf != 1)):
            raise ValueError("energy takes rows of 0s and 1s only")
        return values[(Xf @ weights).astype(np.int64)]

    return energy


class RecordingGradient:
    """``grad_fn(theta, batch)`` of the loss mean_i 1/2 |theta - v_i|^2, recording every call.

    Each row of ``data`` is ``[i, v_i (flattened like theta)]``: column 0 names
    the row, so the record shows which rows every minibatch held. The gradient
    is ``theta - mean_i v_i`` (reshaped like theta). ``calls`` lists
    ``(theta as received, row ids of the batch)`` per call, for the trusted side
    to replay: batches partition each epoch, theta_{k+1} = theta_k - lr * grad_k.
    """

    def __init__(self, shape):
        self.shape = tuple(int(s) for s in shape)
        self.size = int(np.prod(self.shape, dtype=np.int64))
        self.calls = []

    def __call__(self, theta, batch):
        theta = np.array(theta, dtype=float)          # a copy: later in-place updates don't show
        batch = np.asarray(batch)
        if theta.shape != self.shape:
            raise ValueError(f"grad_fn got theta of shape {theta.shape}, expected {self.shape} "
                             "(theta keeps the shape of theta0)")
        if batch.ndim != 2 or batch.shape[1] != 1 + self.size:
            raise TypeError(f"grad_fn(theta, batch) takes batch = data[idx], the rows of data in "
                            f"this minibatch (shape (B, {1 + self.size})); got shape {batch.shape}")
        if batch.shape[0] == 0:
            raise ValueError("grad_fn was called with an empty batch")
        self.calls.append((theta, batch[:, 0].astype(np.int64)))
        values = batch[:, 1:].astype(float)
        return theta - values.mean(axis=0).reshape(self.shape)


@factory("recording_gradient")
def recording_gradient(shape):
    """A fresh ``RecordingGradient`` for parameters of ``shape`` (hw4's ``sgd`` checks)."""
    return RecordingGradient(shape)


# --- torch models: helpers that act on a model without dispatching through its methods ----------
# A submission may override any method of its own class (``apply``, ``parameters``, ``to``,
# ``state_dict``...); what the grader does to a model must not depend on them. These walk the
# module tree through ``nn.Module``'s own storage (``_modules``, ``_parameters``, ``_buffers``),
# read with ``object.__getattribute__`` so that no override is consulted. The checks still
# verify the effect from what the model outputs: a helper here can be patched from inside the
# worker, so nothing it reports is believed.

def _storage(module, name):
    import torch  # only models built with torch reach here
    if not isinstance(module, torch.nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
    table = object.__getattribute__(module, name)
    return table if isinstance(table, dict) else {}


def _modules(module, prefix="", seen=None):
    """``(qualified prefix, module)`` for the model and every submodule, each once."""
    seen = set() if seen is None else seen
    if id(module) in seen:
        return
    seen.add(id(module))
    yield prefix, module
    for name, child in list(_storage(module, "_modules").items()):
        if child is not None:
            yield from _modules(child, f"{prefix}{name}.", seen)


def _tensors(module, kind):
    """``(qualified name, owning dict, key)`` for every parameter or buffer (``kind``) of the tree."""
    for prefix, sub in _modules(module):
        table = _storage(sub, kind)
        for key, value in list(table.items()):
            if value is not None:
                yield prefix + key, table, key


@factory("scale_parameters")
def scale_parameters(factor):
    """For ``module.apply``: multiply the module's own parameters by ``factor`` (in place).

    Dispatches through the model's ``apply``, which a submission can override: prefer
    ``scale_model``, called as a step of its own.
    """
    def scale(module):
        import torch  # only models built with torch reach here
        with torch.no_grad():
            for p in module.parameters(recurse=False):
                p.mul_(factor)
    return scale


@factory("scale_model")
def scale_model(factor):
    """``scale(model)``: multiply every parameter of the model by ``factor``, in place.

    Scaling keeps every zero (so masks and the autoregressive property) and
    makes a freshly initialized model's logits large: sharper distributions
    for the sampling tests, extreme logits for the log-likelihood tests.
    """
    def scale(model):
        import torch
        done = set()
        with torch.no_grad():
            for _, table, key in _tensors(model, "_parameters"):
                if id(table[key]) not in done:
                    done.add(id(table[key]))
                    table[key].mul_(factor)
        return model
    return scale


@factory("move_to")
def move_to(device):
    """``move(model)``: the model with every parameter and buffer on ``device`` (in place)."""
    def move(model):
        import torch
        with torch.no_grad():
            for _, table, key in _tensors(model, "_parameters"):
                table[key].data = table[key].data.to(device)
            for _, table, key in _tensors(model, "_buffers"):
                table[key] = table[key].to(device)
        return model
    return move


@factory("snapshot")
def snapshot():
    """``take(model)``: ``{name: detached copy}`` of every parameter and buffer of the model."""
    def take(model):
        return {name: table[key].detach().clone()
                for kind in ("_parameters", "_buffers")
                for name, table, key in _tensors(model, kind)}
    return take


@factory("restore")
def restore(state):
    """``load(model)``: copy the tensors of ``state`` (a ``snapshot``) into a fresh model of the
    same class, by name, and put it in evaluation mode (``training = False`` on every module,
    as ``model.eval()`` would); the model must have exactly the snapshot's parameters and
    buffers."""
    def load(model):
        import torch
        entries = {name: (table, key) for kind in ("_parameters", "_buffers")
                   for name, table, key in _tensors(model, kind)}
        if set(entries) != set(state):
            missing = sorted(set(state) ^ set(entries))[:3]
            raise ValueError("a freshly constructed model does not have the parameters and "
                             f"buffers of the trained one (differ: {missing}): build the same "
                             "modules in __init__ for the same arguments")
        with torch.no_grad():
            for name, (table, key) in entries.items():
                saved = state[name]
                if tuple(table[key].shape) != tuple(saved.shape):
                    raise ValueError(f"{name} has shape {tuple(table[key].shape)} in a fresh "
                                     f"model and {tuple(saved.shape)} after training")
                if isinstance(table[key], torch.nn.Parameter):
                    table[key].data = saved.clone()
                else:
                    table[key] = saved.clone()
        for _, sub in _modules(model):
            object.__setattr__(sub, "training", False)
        return model
    return load
