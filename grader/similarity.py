"""Code similarity across a class: which pairs of submissions share long runs of code.

Evidence for a person, never a grade. Each graded module (a notebook by its code cells,
converted as for grading) is tokenized and fingerprinted by copydetect, which implements
the winnowing fingerprints that MOSS uses: names, comments, docstrings and layout do not
count, only the token sequence does, and the released stub's fingerprints are removed as
boilerplate. All pairs are screened at once by counting their shared fingerprints (one
sparse product, numpy); the pairs that could reach the threshold are then compared by
copydetect itself, which gives the score (the share of each file's tokens covered by
code found in the other) and the matched spans shown in the report.
"""
import concurrent.futures
import csv
import io
import multiprocessing
import os
from dataclasses import dataclass

import numpy as np

NOISE_TOKENS = 25        # a match is at least this many tokens long (copydetect's default)
GUARANTEE_TOKENS = 30    # any match this long is always found (sets the winnowing window)
THRESHOLD = 0.5          # pairs at or above this score are listed
SCREEN_FACTOR = 0.5      # pairs whose shared fingerprints reach this share of the threshold
MAX_SOURCE_BYTES = 2 << 20
CSV_NAME = "similarity.csv"
CSV_COLUMNS = ("a", "b", "score", "share_a", "share_b", "tokens_a", "tokens_b")
COLUMN_CHUNK = 4096
FILES_PER_PROCESS = 100  # a class is split over processes in parts of at least this many


class SimilarityUnavailable(Exception):
    """copydetect is not installed (the message says how to install it)."""


def _copydetect():
    try:
        import copydetect
    except ImportError:
        raise SimilarityUnavailable("code similarity needs the instructor extra: "
                                    "pip install '.[instructor]'") from None
    return copydetect


@dataclass
class Pair:
    """Two submissions and how much of each one's code is found in the other."""
    a: str
    b: str
    share_a: float
    share_b: float
    tokens_a: int
    tokens_b: int
    slices_a: np.ndarray   # 2 × m: starts and ends of the matched spans in a's code
    slices_b: np.ndarray

    @property
    def score(self):
        """The larger share: a copied half of a longer file still shows."""
        return max(self.share_a, self.share_b)


@dataclass
class Document:
    """One submission's code as compared: ``code`` is the text whose spans are shown."""
    key: str
    code: str
    fingerprint: object


def module_code(path, read=None):
    """The Python code of a graded file: a .py as is, a notebook's code cells as a module.

    Returns None when the file is missing, not a regular file, too large or unreadable.
    """
    from .report.outdir import read_text
    from .submission import SubmissionError, notebook_to_module
    text = read_text(path, MAX_SOURCE_BYTES) if read is None else read(path)
    if text is None:
        return None
    if not path.endswith(".ipynb"):
        return text
    try:
        return notebook_to_module(text.encode("utf-8"), os.path.basename(path)).source
    except SubmissionError:
        return None


def fingerprint(code, boilerplate=None):
    """copydetect's fingerprint of Python ``code`` (boilerplate hashes removed)."""
    copydetect = _copydetect()
    return copydetect.CodeFingerprint(
        "submission.py", NOISE_TOKENS, GUARANTEE_TOKENS - NOISE_TOKENS + 1,
        boilerplate=boilerplate, language="python", fp=io.StringIO(code))


def _fingerprinted(items, stub_code):
    """[Document] of ``items`` ((key, code) pairs), the stub's fingerprints removed."""
    boilerplate = np.array(sorted(fingerprint(stub_code).hashes)) if stub_code else None
    docs = []
    for key, code in items:
        try:
            docs.append(Document(key, code, fingerprint(code, boilerplate)))
        except Exception:  # noqa: BLE001 - a file the tokenizer cannot read is not compared
            continue
    return docs


def documents(sources, stub_code="", jobs=None):
    """[Document] for ``sources`` ({key: code}) in their order, with ``stub_code`` as
    boilerplate. Tokenizing (the slow part) runs in ``jobs`` processes for big classes.

    copydetect hashes k-grams with Python's ``hash()``, salted per process, and winnowing
    keeps the smallest hashes: fingerprints, and so scores near the threshold, would change
    from run to run and could not be compared across processes. They are always made in
    pool processes that share one fixed salt (``PYTHONHASHSEED``, read when they start)."""
    items = list(sources.items())
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(items) // FILES_PER_PROCESS))
    chunks = [items[i::jobs] for i in range(jobs)]
    context = multiprocessing.get_context("spawn")  # the caller may have threads: no fork
    salt = os.environ.get("PYTHONHASHSEED")
    os.environ["PYTHONHASHSEED"] = "0"
    try:
        with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=context) as pool:
            parts = list(pool.map(_fingerprinted, chunks, [stub_code] * jobs))
    finally:
        if salt is None:
            del os.environ["PYTHONHASHSEED"]
        else:
            os.environ["PYTHONHASHSEED"] = salt
    order = {key: i for i, (key, _) in enumerate(items)}
    return sorted((d for part in parts for d in part), key=lambda d: order[d.key])


def shared_fingerprints(docs):
    """(n × n int matrix of fingerprints shared by each pair, fingerprints per document)."""
    sets = [np.fromiter(d.fingerprint.hashes, dtype=np.int64, count=len(d.fingerprint.hashes))
            for d in docs]
    sizes = np.array([len(s) for s in sets])
    shared = np.zeros((len(docs), len(docs)), dtype=np.float32)
    if not sets or not sizes.sum():
        return shared.astype(np.int64), sizes
    owners = np.repeat(np.arange(len(docs)), sizes)
    hashes = np.concatenate(sets)
    values, column, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    keep = counts[column] >= 2        # a fingerprint of one document matches no pair
    owners, column = owners[keep], column[keep]
    columns = np.unique(column)
    column = np.searchsorted(columns, column)
    for start in range(0, len(columns), COLUMN_CHUNK):
        inside = (column >= start) & (column < start + COLUMN_CHUNK)
        block = np.zeros((len(docs), min(COLUMN_CHUNK, len(columns) - start)), np.float32)
        block[owners[inside], column[inside] - start] = 1.0
        shared += block @ block.T
    return np.rint(shared).astype(np.int64), sizes


def candidate_pairs(docs, threshold=THRESHOLD):
    """Index pairs (i < j) whose shared fingerprints could reach ``threshold``."""
    shared, sizes = shared_fingerprints(docs)
    smaller = np.maximum(np.minimum.outer(sizes, sizes), 1)
    share = shared / smaller
    i, j = np.nonzero(np.triu(share >= threshold * SCREEN_FACTOR, k=1) & (shared > 0))
    return list(zip(i.tolist(), j.tolist()))


def compare(a, b):
    """copydetect's comparison of two documents as a ``Pair``."""
    copydetect = _copydetect()
    overlap, (share_a, share_b), (slices_a, slices_b) = copydetect.compare_files(
        a.fingerprint, b.fingerprint)
    return Pair(a.key, b.key, float(share_a), float(share_b),
                len(a.fingerprint.filtered_code), len(b.fingerprint.filtered_code),
                np.asarray(slices_a, dtype=int).reshape(2, -1),
                np.asarray(slices_b, dtype=int).reshape(2, -1))


def highlighted(code, slices):
    """``code`` as escaped HTML markup with the matched spans ``slices`` in ``<mark>``."""
    from markupsafe import Markup, escape
    if slices.size == 0:
        return escape(code)
    text, _ = _copydetect().utils.highlight_overlap(code, slices, "<mark>", "</mark>",
                                                     escape_html=True)
    return Markup(text)


def similar_pairs(sources, stub_code="", threshold=THRESHOLD, jobs=None):
    """(pairs of ``sources`` ({key: code}) scoring at least ``threshold``, highest first;
    the compared documents)."""
    docs = documents(sources, stub_code, jobs)
    pairs = [compare(docs[i], docs[j]) for i, j in candidate_pairs(docs, threshold)]
    pairs = [p for p in pairs if p.score >= threshold]
    return sorted(pairs, key=lambda p: (-p.score, p.a, p.b)), docs


def csv_text(pairs):
    """``similarity.csv``: one row per pair at or above the threshold."""
    from .reporters.gradebook import _cell  # keys that look like formulas are quoted
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in pairs:
        writer.writerow([_cell(p.a), _cell(p.b), f"{p.score:.3f}", f"{p.share_a:.3f}",
                         f"{p.share_b:.3f}", p.tokens_a, p.tokens_b])
    return buffer.getvalue()
