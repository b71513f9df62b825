"""Round trips through the worker channel: ``Sandbox.call`` of a worker whose ``f(x)`` is ``x``.

Prints, per argument, the median wall time of one call and the CPU time of both sides
(grader and worker) per call, averaged over the calls. Run it from each checkout to
compare two versions, interleaving the runs (the machine is shared and noisy)::

    python bench/channel.py --repeat 200

Nothing here asserts: it prints figures.
"""
import argparse
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402 - after the checkout is on the path

from grader.checks import programs  # noqa: E402
from grader.sandbox.supervisor import Sandbox  # noqa: E402

ECHO = "def f(x):\n    return x\n"


def arguments():
    """The arguments sent, and how many calls each gets relative to ``--repeat``."""
    rng = np.random.default_rng(0)
    return {"an int": (7, 1), "3 floats": (np.array([1.0, 2.0, 3.0]), 1),
            "300x300 float64": (rng.standard_normal((300, 300)), 5),
            "1000 arrays of 3 floats": ([rng.standard_normal(3) for _ in range(1000)], 10)}


def worker_cpu_seconds(pid):
    """User + system CPU time of process ``pid`` (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main(argv=None):
    """Print the round-trip figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="calls per small argument")
    args = parser.parse_args(argv)
    folder = tempfile.mkdtemp()
    path = os.path.join(folder, "echo.py")
    with open(path, "w") as fh:
        fh.write(ECHO)
    print(f"Worker channel round trips ({ROOT})")
    with Sandbox("echo", path) as box:
        assert box.call([programs.call("f", 0)]).ok
        for label, (value, divisor) in arguments().items():
            calls = max(args.repeat // divisor, 10)
            times = []
            cpu, worker = time.process_time(), worker_cpu_seconds(box.proc.pid)
            for _ in range(calls):
                start = time.perf_counter()
                outcome = box.call([programs.call("f", value)])
                times.append(time.perf_counter() - start)
                assert outcome.ok, outcome.message
            cpu = time.process_time() - cpu + worker_cpu_seconds(box.proc.pid) - worker
            print(f"  {label:<26} {statistics.median(times) * 1e3:9.2f} ms median wall "
                  f"{cpu / calls * 1e3:9.2f} ms CPU per call ({calls} calls)")
    os.unlink(path)
    os.rmdir(folder)


if __name__ == "__main__":
    main()
