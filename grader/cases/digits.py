"""The binarized 8x8 digits of HW6, loaded on the trusted side.

``data/digits_train.npz`` ships to students; ``tests/hidden/data/digits_heldout.npz``
stays with the grader (``Homework.grader_data_files``): no held-out image is an exact copy
of a training image (``data/make_digits.py``).
"""
import functools
import os

import numpy as np

from ..homeworks import PROJECT_ROOT

TRAIN_PATH = os.path.join(PROJECT_ROOT, "data", "digits_train.npz")
HELDOUT_PATH = os.path.join(PROJECT_ROOT, "tests", "hidden", "data", "digits_heldout.npz")


@functools.lru_cache(maxsize=2)
def _load(path, key):
    with np.load(path) as data:
        array = data[key].astype(np.float32)
    array.setflags(write=False)
    return array


def load_train():
    """The training digits (shipped to students): ``(1400, 64)`` float32 of 0. and 1. (read-only)."""
    return _load(TRAIN_PATH, "x_train")


def load_heldout():
    """The held-out digits (kept with the grader, never shipped): ``(379, 64)`` float32 (read-only)."""
    return _load(HELDOUT_PATH, "x_heldout")


def relabel(x, seed):
    """``x`` with a per-seed random set of pixel positions flipped (0 ↔ 1), as float32.

    The same mask for every row of one grading: a bit flip at fixed positions changes no
    model class's capacity (a logistic conditional absorbs it), but keeps a copy of the
    public digits embedded in a submission from matching the graded rows (a submission that
    estimates the mask from the pixel frequencies of the training data it is given could
    undo it: the held-out split's own secrecy is what protects it). Every seed draws its own
    mask.
    """
    x = np.asarray(x, dtype=np.float32)
    mask = np.random.default_rng([int(seed), 0xD161]).integers(0, 2, x.shape[-1])
    return np.abs(x - mask.astype(np.float32))
