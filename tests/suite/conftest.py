"""Shared fixtures of the project's own test suite."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# The suite runs `python -m grader` and `make check` in subprocesses: none of them may start
# or use a warm grader (tests/suite/test_warm_server.py starts its own, in folders of its own).
os.environ["GRADER_WARM"] = "0"
