"""Regenerate ``data/digits_binary.npz`` from the digits that scikit-learn bundles.

Run once by an instructor, never at grading time (scikit-learn is not a
dependency of the grader):

    python -m venv /tmp/skl && /tmp/skl/bin/pip install scikit-learn
    /tmp/skl/bin/python data/make_digits.py

The 1797 8x8 images of ``sklearn.datasets.load_digits`` hold grey levels
0..16. A pixel becomes 1 when its level is > 7 (``THRESHOLD``), else 0; each
image is flattened row by row into 64 binary values. A permutation drawn from
``np.random.default_rng(SEED)`` fixes the split: the first ``N_TRAIN`` images
are the training set, the remaining 397 the test set. The output is a
compressed npz with ``x_train (1400, 64) uint8``, ``y_train (1400,) uint8``,
``x_test (397, 64) uint8`` and ``y_test (397,) uint8`` (labels are kept for
curiosity; the homework models ignore them).
"""
import os
import sys

import numpy as np

THRESHOLD = 7
SEED = 0
N_TRAIN = 1400
HERE = os.path.dirname(os.path.abspath(__file__))


def binarize(images, threshold=THRESHOLD):
    """(N, 8, 8) grey levels 0..16 -> (N, 64) uint8 in {0, 1} (pixel > threshold)."""
    return (np.asarray(images).reshape(len(images), -1) > threshold).astype(np.uint8)


def main(out=os.path.join(HERE, "digits_binary.npz")):
    """Load scikit-learn's bundled digits, binarize, split, and write the npz file."""
    from sklearn.datasets import load_digits  # instructor-only dependency

    digits = load_digits()
    x = binarize(digits.images)
    y = digits.target.astype(np.uint8)
    order = np.random.default_rng(SEED).permutation(len(x))
    train, test = order[:N_TRAIN], order[N_TRAIN:]
    np.savez_compressed(out, x_train=x[train], y_train=y[train], x_test=x[test], y_test=y[test])
    print(f"wrote {out}: {len(train)} train, {len(test)} test images, "
          f"{x.mean():.3f} of pixels on")
    return 0


if __name__ == "__main__":
    sys.exit(main())
