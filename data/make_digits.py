"""Regenerate HW6's digits from the copy that scikit-learn bundles.

Writes ``data/digits_train.npz`` (shipped to students) and
``tests/hidden/data/digits_heldout.npz`` (kept with the grader: never in a student
release). Run once by an instructor, never at grading time (scikit-learn is not a
dependency of the grader):

    python -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python data/make_digits.py

The 1797 8x8 images of ``sklearn.datasets.load_digits`` hold grey levels
0..16. A pixel becomes 1 when its level is > 7 (``THRESHOLD``), else 0; each
image is flattened row by row into 64 binary values. A permutation drawn from
``np.random.default_rng(SEED)`` fixes the split: the first ``N_TRAIN`` images
are the training set, the remaining 397 are held out, minus every held-out image
that is an exact copy of a training image or of an earlier held-out image
(``split``): a model that memorizes its training data must not meet the same
image when it is graded. Labels are kept for curiosity; the models ignore them.
"""
import os
import sys

import numpy as np

THRESHOLD = 7
SEED = 0
N_TRAIN = 1400
HERE = os.path.dirname(os.path.abspath(__file__))
TRAIN_PATH = os.path.join(HERE, "digits_train.npz")
HELDOUT_PATH = os.path.join(os.path.dirname(HERE), "tests", "hidden", "data", "digits_heldout.npz")


def binarize(images, threshold=THRESHOLD):
    """(N, 8, 8) grey levels 0..16 -> (N, 64) uint8 in {0, 1} (pixel > threshold)."""
    return (np.asarray(images).reshape(len(images), -1) > threshold).astype(np.uint8)


def split(x, y, seed=SEED, n_train=N_TRAIN):
    """``(x_train, y_train, x_heldout, y_heldout)``: a seeded permutation cut at ``n_train``;
    held-out images equal to a training image or to an earlier held-out image are dropped."""
    order = np.random.default_rng(seed).permutation(len(x))
    train, rest = order[:n_train], order[n_train:]
    seen = {row.tobytes() for row in x[train]}
    heldout = []
    for i in rest:
        key = x[i].tobytes()
        if key not in seen:
            seen.add(key)
            heldout.append(i)
    heldout = np.array(heldout, dtype=np.int64)
    return x[train], y[train], x[heldout], y[heldout]


def write(x, y, train_path=TRAIN_PATH, heldout_path=HELDOUT_PATH):
    """Split the binarized images ``x`` (labels ``y``) and write both npz files."""
    x_train, y_train, x_heldout, y_heldout = split(x, y)
    np.savez_compressed(train_path, x_train=x_train, y_train=y_train)
    os.makedirs(os.path.dirname(heldout_path), exist_ok=True)
    np.savez_compressed(heldout_path, x_heldout=x_heldout, y_heldout=y_heldout)
    print(f"wrote {train_path} ({len(x_train)} images) and {heldout_path} ({len(x_heldout)} "
          f"held-out images, {len(x) - len(x_train) - len(x_heldout)} copies dropped); "
          f"{x.mean():.3f} of pixels on")


def main():
    """Load scikit-learn's bundled digits, binarize, split, and write the npz files."""
    from sklearn.datasets import load_digits  # instructor-only dependency

    digits = load_digits()
    write(binarize(digits.images), digits.target.astype(np.uint8))
    return 0


if __name__ == "__main__":
    sys.exit(main())
