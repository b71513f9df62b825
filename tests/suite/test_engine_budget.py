"""The engine's per-submission budget, interruption, and expected values shared by a class."""
import threading
import time

from grader import engine, homeworks

from .grading import reference_source

HW = homeworks.get("hw1")


def request(path, **kw):
    """The engine's request for the module at ``path`` (public checks unless told)."""
    return engine.ModuleRequest(**{"homework": HW, "module_path": path, "seed": 0,
                                   "include_hidden": False, **kw})


def _module(tmp_path, text):
    path = tmp_path / HW.filename
    path.write_text(text)
    return str(path)


def test_checks_not_started_before_the_deadline_score_zero_as_timeout(tmp_path):
    path = _module(tmp_path, reference_source(HW))
    result = engine.grade(request(path, deadline=time.monotonic() - 1))
    assert result.checks and all(c.status == "timeout" and c.points == 0 for c in result.checks)
    assert "grading budget" in result.checks[0].message


def test_the_deadline_bounds_a_hanging_call(tmp_path):
    path = _module(tmp_path, reference_source(HW) + "\n\ndef gaussian_logpdf(x, mu, Sigma):\n"
                   "    while True:\n        pass\n")
    started = time.monotonic()
    result = engine.grade(request(path, only=("gaussian_logpdf",), deadline=started + 2))
    assert time.monotonic() - started < HW.limits.call_seconds  # not the 10 s call limit
    assert {c.status for c in result.checks} == {"timeout"}


def test_interrupt_all_stops_a_grading_in_progress(tmp_path):
    path = _module(tmp_path, "import time\n\ndef gaussian_logpdf(x, mu, Sigma):\n"
                   "    time.sleep(60)\n")
    outcome = {}

    def run():
        try:
            engine.grade(request(path))
        except engine.GradingInterrupted as exc:
            outcome["raised"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(1.5)
    engine.interrupt_all()
    thread.join(timeout=20)
    engine.resume_grading()
    assert not thread.is_alive() and "raised" in outcome


def test_expected_values_are_computed_once_per_homework_and_seed(monkeypatch, tmp_path):
    calls = []
    original = engine._Expectations._compute

    def counting(self, check):
        calls.append(check.id)
        return original(self, check)

    monkeypatch.setattr(engine._Expectations, "_compute", counting)
    monkeypatch.setattr(engine, "_SHARED_EXPECTATIONS", {})
    path = _module(tmp_path, reference_source(HW))
    first = engine.grade(request(path, seed=12345, include_hidden=True))
    second = engine.grade(request(path, seed=12345, include_hidden=True))
    assert first.score == second.score == first.max_score
    assert len(calls) == len(set(calls)) == len(first.checks)
    engine.grade(request(path, seed=12346, include_hidden=True, only=("gaussian_marginal",)))
    assert len(calls) > len(first.checks)  # another seed: its own expected values
