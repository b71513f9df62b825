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
