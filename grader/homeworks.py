"""The homeworks the grader knows: module names, check files, limits.

Cheap to import (standard library only, no numpy, no sandbox machinery): the command
line reads a homework's ``worker_preload`` and ``limits`` before the heavy imports.
"""
import importlib
import os
import sys
from dataclasses import dataclass, field

from .sandbox.limits import Limits

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclass(frozen=True)
class Homework:
    """One homework: ``hw1`` is graded from the student's ``hw1_gaussians.py``."""
    id: str
    module: str
    title: str
    limits: Limits = field(default_factory=Limits)
    needs_torch: bool = False  # the trusted side or the student needs torch (CPU wheel)
    data_files: tuple = ()  # project files its checks read (shipped with releases, autograders)
    grader_data_files: tuple = ()  # files only the grader reads (autograders, never releases)
    worker_preload: tuple = ("numpy",)  # imported once by the worker template (torch: hw6 only)

    @property
    def filename(self):
        return self.module + ".py"

    def check_modules(self, include_hidden):
        """Dotted names of the check files: public always, hidden when asked."""
        names = [f"tests.public.{self.module}"]
        if include_hidden:
            names.append(f"tests.hidden.{self.module}")
        return names


_HW6 = Homework("hw6", "hw6_autoregressive", "Tiny autoregressive models: FVSBN and MADE (torch)",
                Limits(call_seconds=20.0, import_seconds=60.0, cpu_seconds=60.0,
                       memory_bytes=6 << 30),
                worker_preload=("numpy", "torch"), needs_torch=True,
                data_files=("data/digits_train.npz", "data/README.md"),
                grader_data_files=("tests/hidden/data/digits_heldout.npz",))

HOMEWORKS = {hw.id: hw for hw in (
    Homework("hw1", "hw1_gaussians", "Gaussians: marginals, conditionals, mixtures",
             Limits(call_seconds=10.0, memory_bytes=2 << 30)),
    Homework("hw2", "hw2_information", "Information theory: entropy, KL, mutual information",
             Limits(call_seconds=10.0, memory_bytes=2 << 30)),
    Homework("hw3", "hw3_mle", "Maximum likelihood: log-likelihood, gradients, MLE",
             Limits(call_seconds=10.0, memory_bytes=2 << 30), needs_torch=True),
    Homework("hw4", "hw4_sgd", "Stochastic gradient descent", Limits(memory_bytes=2 << 30)),
    Homework("hw5", "hw5_structure", "Structure: parameter counting", Limits(memory_bytes=2 << 30)),
    _HW6,
    # HW7's VAE trains on hw6's digits: the same files ship (training split) and stay with the
    # grader (held-out split), whatever hw6 declares them to be.
    Homework("hw7", "hw7_latent", "Latent-variable models: EM, the ELBO, a tiny VAE (torch)",
             Limits(call_seconds=20.0, import_seconds=60.0, cpu_seconds=60.0,
                    memory_bytes=6 << 30),
             worker_preload=("numpy", "torch"), needs_torch=True,
             data_files=_HW6.data_files, grader_data_files=_HW6.grader_data_files),
    Homework("hw8", "hw8_energy", "Energy-based models: a Boltzmann machine",
             Limits(call_seconds=10.0, memory_bytes=2 << 30), needs_torch=True),
)}


class UnknownHomework(KeyError):
    """A homework id that the grader does not know."""


def get(homework_id):
    """The ``Homework`` for an id like ``hw1`` (or a module name like ``hw1_gaussians``)."""
    for hw in HOMEWORKS.values():
        if homework_id in (hw.id, hw.module):
            return hw
    raise UnknownHomework(f"unknown homework {homework_id!r}; known: {', '.join(HOMEWORKS)}")


def _importable_project():
    if PROJECT_ROOT not in sys.path:
        sys.path.insert(0, PROJECT_ROOT)


def load_checks(hw, include_hidden):
    """All ``Check`` objects of a homework, public first."""
    _importable_project()
    checks = []
    for name in hw.check_modules(include_hidden):
        checks.extend(importlib.import_module(name).checks.checks)
    return checks


def load_reference(hw):
    """The reference solution module (trusted side only)."""
    _importable_project()
    return importlib.import_module(f"solutions.{hw.module}")
