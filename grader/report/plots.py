"""The report's figures: matplotlib (Agg backend), returned as inline SVG text.

Text in the figures is the course's own (exercise names, axis labels), never a student's.
"""
import io

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False,
                     "axes.spines.right": False})
BAR = "#3b6ea8"


def _svg(fig):
    """The figure as an ``<svg>`` element (no XML prologue), then closed."""
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def score_histogram(totals, top):
    """Histogram of the class's total scores (0..``top``)."""
    fig, ax = plt.subplots(figsize=(6.4, 2.6))
    bins = min(40, max(5, int(top) + 1)) if top else 10
    ax.hist(totals, bins=bins, range=(0, top or max(totals, default=1)), color=BAR,
            edgecolor="white")
    ax.set_xlabel(f"total score (of {top:g})" if top else "total score")
    ax.set_ylabel("submissions")
    return _svg(fig)


def exercise_distributions(exercises):
    """One small histogram per exercise: ``exercises`` is [(name, max, [points])]."""
    n = len(exercises)
    cols = min(3, max(1, n))
    rows = -(-n // cols) if n else 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.0 * cols, 2.0 * rows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    for ax, (name, top, points) in zip(axes.flat, exercises):
        fractions = [p / top for p in points] if top else points
        ax.hist(fractions, bins=10, range=(0, 1), color=BAR, edgecolor="white")
        ax.set_title(name, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"fraction of {top:g} points", fontsize=8)
    fig.tight_layout()
    return _svg(fig)


def seconds_histogram(seconds):
    """Histogram of grading time per submission."""
    fig, ax = plt.subplots(figsize=(6.4, 2.2))
    ax.hist(seconds, bins=30, color=BAR, edgecolor="white")
    ax.set_xlabel("grading time per submission (s)")
    ax.set_ylabel("submissions")
    return _svg(fig)
