"""The binarized 8x8 digits of HW6 (``data/digits_binary.npz``), loaded on the trusted side."""
import functools
import os

import numpy as np

from ..homeworks import PROJECT_ROOT

PATH = os.path.join(PROJECT_ROOT, "data", "digits_binary.npz")


@functools.lru_cache(maxsize=1)
def load():
    """``(x_train (1400, 64), x_test (397, 64))`` float32 arrays of 0. and 1. (cached, read-only)."""
    with np.load(PATH) as data:
        arrays = tuple(data[k].astype(np.float32) for k in ("x_train", "x_test"))
    for a in arrays:
        a.setflags(write=False)
    return arrays


def load_train():
    """The training digits (shipped to students): ``(N_train, 64)`` float32 of 0. and 1."""
    return load()[0]


def load_heldout():
    """The held-out digits (kept with the grader, never shipped): ``(N_test, 64)`` float32."""
    return load()[1]


def relabel(x, seed):
    """``x`` with a per-seed random set of pixel positions flipped (0 ↔ 1), as float32.

    The same mask for every row of one grading: a bit flip at fixed positions changes no
    model class's capacity (a logistic conditional absorbs it), but makes copies of the
    public digits embedded in a submission useless. Every seed draws its own mask.
    """
    x = np.asarray(x, dtype=np.float32)
    mask = np.random.default_rng([int(seed), 0xD161]).integers(0, 2, x.shape[-1])
    return np.abs(x - mask.astype(np.float32))
