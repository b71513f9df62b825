"""``python -m grader``: see ``grader/cli.py``."""
import sys

from .threads import limit_blas_threads

limit_blas_threads()  # before cli imports numpy: the grader's own process uses one BLAS thread

from .cli import main  # noqa: E402 - after the thread limit, on purpose

sys.exit(main())
