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
    whole = top and float(top).is_integer() and top <= 60
    bins = [x - 0.5 for x in range(int(top) + 2)] if whole else 40
    ax.hist(totals, bins=bins, range=None if whole else (0, top or max(totals)), color=BAR,
            edgecolor="white")
    ax.set_xlabel(f"total score (of {top:g})" if top else "total score")
    ax.set_ylabel("submissions")
    return _svg(fig)


BINS = (("none", "#c8553d"), ("under half", "#f2a541"), ("half or more", "#9dc3e6"),
        ("full", "#3b6ea8"))


def exercise_distributions(exercises):
    """Per exercise, the share of submissions with none, under half, half or more, and all
    of its points (stacked bars, one per exercise): ``exercises`` is [(name, max, [points])]."""
    height = 0.6 + 0.32 * len(exercises)
    fig, ax = plt.subplots(figsize=(7.2, height))
    names = [name for name, _, _ in exercises][::-1]
    shares = []
    for _, top, points in exercises[::-1]:
        f = [p / top if top else 0.0 for p in points] or [0.0]
        n = len(f)
        shares.append([sum(x <= 0 for x in f) / n, sum(0 < x < 0.5 for x in f) / n,
                       sum(0.5 <= x < 1 for x in f) / n, sum(x >= 1 for x in f) / n])
    left = [0.0] * len(names)
    for b, (label, colour) in enumerate(BINS):
        widths = [row[b] for row in shares]
        ax.barh(names, widths, left=left, color=colour, label=label, height=0.7)
        left = [l + w for l, w in zip(left, widths)]
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of submissions, by fraction of the exercise's points")
    ax.legend(ncol=4, loc="lower left", bbox_to_anchor=(0, 1.0), frameon=False, fontsize=8)
    return _svg(fig)


def seconds_histogram(seconds):
    """Histogram of grading time per submission."""
    fig, ax = plt.subplots(figsize=(6.4, 2.2))
    ax.hist(seconds, bins=30, color=BAR, edgecolor="white")
    ax.set_xlabel("grading time per submission (s)")
    ax.set_ylabel("submissions")
    return _svg(fig)
