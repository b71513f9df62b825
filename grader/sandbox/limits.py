"""The limits of one worker process (plain data, standard library only).

Kept apart from ``supervisor.py`` so that ``homeworks.py`` can declare each homework's
limits without importing the sandbox machinery (or numpy) at start-up.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Per-worker limits. ``call_seconds`` (and ``import_seconds``) bound one request: wall
    time minus the time the worker waited for a CPU held by other processes, with a
    wall-clock backstop (``callclock.py``), so that a busy machine does not change a grade."""
    call_seconds: float = 10.0
    import_seconds: float = 30.0
    cpu_seconds: float = 20.0
    memory_bytes: int = 3 << 30
    output_bytes: int = 4000
    file_bytes: int = 64 << 20
    message_bytes: int = 64 << 20   # one answer (one frame per call)
    scratch_bytes: int = 64 << 20   # /tmp, /var/tmp and /dev/shm together
    cpu_seconds_total: int = 3600
    max_processes: int = 64
