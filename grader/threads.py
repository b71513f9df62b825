"""One BLAS thread in the grader's own process (the trusted side).

The grader computes expected values (numpy's BLAS, torch's CPU kernels) while a batch
runs several jobs at once and the machine's cores belong to those jobs and their workers;
a multi-threaded BLAS there only adds contention (under load, one HW1 grading with one
BLAS thread took 0.59x the wall time of the default). The thread count of a BLAS library is read from
the environment when the library loads, so ``limit_blas_threads`` must run before numpy
or torch is imported: ``python -m grader`` calls it first. Workers are not affected: the
sandbox gives each worker an environment of its own (one thread too).
"""
import os

BLAS_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                         "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def limit_blas_threads(environ=os.environ):
    """Set every BLAS library's thread count to 1 in ``environ`` (before numpy loads)."""
    for name in BLAS_THREAD_VARIABLES:
        environ[name] = "1"
