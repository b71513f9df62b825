"""``report``: the class report (``report.html``) of a batch folder, optionally with code
similarity (``similarity.csv``). Reads only what the batch wrote; changes no grade."""
import sys

from ..report import OutdirError


def add_arguments(parser):
    """The options of ``report``."""
    parser.add_argument("outdir", metavar="OUTDIR", help="the --out folder of a batch run")
    add_similarity(parser)


def add_similarity(parser):
    """``--similarity`` and ``--similarity-threshold`` (shared with ``batch``)."""
    parser.add_argument("--similarity", action="store_true",
                        help="also compare every pair of submissions' code (copydetect, the "
                        "released stub as boilerplate) → similarity.csv and a report section")
    parser.add_argument("--similarity-threshold", type=float, default=None, metavar="SCORE",
                        help="list pairs whose score (share of a file's code found in the "
                        "other, 0..1) reaches SCORE (default 0.5)")


def write(outdir, args):
    """Build the report of ``outdir`` with the similarity options of ``args``; returns its
    path. Missing extras or a folder that is no batch raise the CLI's one-line errors."""
    from ..report import build
    from ..roster import RosterError
    from ..similarity import SimilarityUnavailable
    try:
        return build(outdir, similarity=getattr(args, "similarity", False),
                     threshold=getattr(args, "similarity_threshold", None))
    except (OutdirError, SimilarityUnavailable) as exc:
        raise RosterError(str(exc)) from None
    except ImportError as exc:
        raise RosterError(f"the report needs the instructor extra ({exc.name} is missing): "
                          "pip install '.[instructor]'") from None


def after_batch(outdir, args):
    """The batch's last step: write the report, or say on stderr why it could not (the
    grades are written either way, so this never fails the batch)."""
    from ..roster import RosterError
    try:
        print(f"wrote {write(outdir, args)}")
    except RosterError as exc:
        print(f"report not written: {exc}", file=sys.stderr)


def run(args):
    """Run ``python -m grader report``; returns the exit code."""
    path = write(args.outdir, args)
    print(f"wrote {path}")
    return 0
