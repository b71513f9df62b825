"""Where a batch's CPU goes, per HW1 submission (``make bench``; Linux, reads ``/proc``).

Grades N copies of the reference one at a time in this process (the local executor's
path without its thread pool) and prints the CPU per submission of this process (the
trusted side: cases, judging, the channel), of the worker template, and of its workers
(forked, run and reaped by the template). Then replays the requests that one grading
sent through ``worker.Worker`` in forks of a process that imported numpy, with no sandbox
and no grader: what the submission's own calls cost in a fresh process, the floor of a
worker. Prints; asserts nothing. ``python bench/batch_cost.py [N]``
"""
import os
import resource
import statistics
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from grader.threads import limit_blas_threads  # noqa: E402

limit_blas_threads()

from grader import engine, homeworks  # noqa: E402
from grader.sandbox import forkserver, protocol, supervisor  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def row(label, value, note=""):
    print(f"  {label:<58} {value:>14}  {note}")


def process_cpu(pid):
    """(own, reaped children's) CPU seconds of ``pid``."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(x) / TICKS for x in fields[11:15])
    return utime + stime, cutime + cstime


def own_cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def graded_per_submission(hw, source, n):
    """(this process, template, workers) CPU seconds per grading of ``source``, and the
    request frames that one grading sent to its worker."""
    frames = []
    send = supervisor.Sandbox._request

    def recording(self, frame, seconds):
        frames.append(bytes(frame[protocol.HEADER.size:]))
        return send(self, frame, seconds)

    def one():
        result = engine.grade(engine.ModuleRequest(homework=hw, module_path=source, seed=1))
        if result.score != result.max_score:
            raise SystemExit(f"the reference scored {result.score} of {result.max_score}")

    supervisor.Sandbox._request = recording
    try:
        one()  # the expected values, the template, the first worker
    finally:
        supervisor.Sandbox._request = send
    template = forkserver.server_for(sys.executable, hw.worker_preload, forkserver.base_env(),
                                     forkserver.template_files()).proc.pid
    mine, (theirs, reaped) = own_cpu(), process_cpu(template)
    for _ in range(n):
        one()
    after, (theirs_after, reaped_after) = own_cpu(), process_cpu(template)
    return ((after - mine) / n, (theirs_after - theirs) / n, (reaped_after - reaped) / n,
            frames)


def replayed_in_forks(hw, source, frames, repeat=15):
    """Median CPU seconds of the requests ``frames`` run by ``worker.Worker`` in a fresh fork
    of this process (numpy imported, no sandbox), and in this process once warm."""
    sys.path.insert(0, os.path.join(ROOT, "grader", "sandbox"))
    import worker  # the worker's own module, as the template runs it

    def run_all():
        served = worker.Worker(hw.module, source, None, None)
        served.do_import()
        for body in frames:
            request = protocol.parse_body(body)
            if request["op"] != "import":
                protocol.dumps({"ok": True, "results": protocol.encode(served.do_run(request))})
        sys.modules.pop(hw.module, None)

    fresh = []
    for _ in range(repeat):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            run_all()
            os.write(write, repr(own_cpu()).encode())
            os._exit(0)
        os.close(write)
        fresh.append(float(os.read(read, 64).decode()))
        os.close(read)
        os.waitpid(pid, 0)
    run_all()
    warm = []
    for _ in range(repeat):
        start = own_cpu()
        run_all()
        warm.append(own_cpu() - start)
    return statistics.median(fresh), statistics.median(warm)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    hw = homeworks.get("hw1")
    source = os.path.join(ROOT, "solutions", hw.filename)
    if not forkserver.enabled():
        row("where a submission's CPU goes", "skipped", "worker templates are off")
        return
    grader_cpu, template_cpu, workers_cpu, frames = graded_per_submission(hw, source, n)
    total = grader_cpu + template_cpu + workers_cpu
    row(f"HW1 reference, one at a time ({n}): CPU per submission", f"{total * 1000:.0f} ms",
        f"grader {grader_cpu * 1000:.0f} + template {template_cpu * 1000:.0f} + "
        f"workers {workers_cpu * 1000:.0f} ms; {len(frames)} requests")
    fresh, warm = replayed_in_forks(hw, source, frames)
    row("  its calls alone, in a fresh fork of a numpy process", f"{fresh * 1000:.0f} ms",
        f"{warm * 1000:.0f} ms in a process that ran them before; no sandbox, no grader")


if __name__ == "__main__":
    main()
