"""The course's import rule, enforced inside the worker (untrusted side).

A submission may import the Python standard library and the third-party packages its
homework allows (``Homework.worker_preload``: numpy; numpy and torch for hw6). This
meta-path finder refuses any other top-level package when the import comes from the
student's code, with a message that names the package and what is available. Imports
made by installed code itself (torch importing its own dependencies, the standard
library importing its private modules) pass.

This is the friendly half of the rule: it holds even where the kernel refuses
namespaces. The hard half is the allow-list root (``rootfs.py``), in which packages
that are not allowed do not exist at all.
"""
import importlib
import os
import sys

_IMPORT_MACHINERY = (os.path.dirname(importlib.__file__) + os.sep, "<frozen importlib")


def _installed_code():
    """Folders of installed code: the standard library and the site folders."""
    folders = [os.path.dirname(os.__file__)]
    folders += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return tuple(p.rstrip(os.sep) + os.sep for p in folders)


class ImportGuard:
    """``sys.meta_path`` entry: refuse student imports of packages that are not allowed."""

    def __init__(self, allowed, also_importable=()):
        self.allowed = tuple(allowed)
        self.importable = set(sys.stdlib_module_names) | set(allowed) | set(also_importable)
        self.installed = _installed_code()
        self.here = os.path.abspath(__file__)

    def _from_installed_package(self):
        frame = sys._getframe(2)
        while frame is not None:
            name = frame.f_code.co_filename
            if not name.startswith(_IMPORT_MACHINERY) and name != self.here:
                return name.startswith(self.installed)
            frame = frame.f_back
        return False

    def find_spec(self, fullname, path=None, target=None):
        """None (let the other finders look) unless the import breaks the rule."""
        top = fullname.partition(".")[0]
        if top in self.importable or self._from_installed_package():
            return None
        available = ", ".join(("the Python standard library",) + self.allowed)
        raise ModuleNotFoundError(
            f"No module named '{top}': this homework may import only {available} "
            f"('{top}' is not available while grading)", name=fullname)

    def invalidate_caches(self):
        """Nothing cached."""


def install(allowed, also_importable=()):
    """Put the guard first on ``sys.meta_path`` (once)."""
    if not any(isinstance(f, ImportGuard) for f in sys.meta_path):
        sys.meta_path.insert(0, ImportGuard(allowed, also_importable))
