"""The course files that grading one homework reads, as one zip carried by a job.

A machine that grades (a Dask worker) has the ``grader`` package installed with pip but
not the course: the public and hidden checks, the reference solution, the public data and
the homework's data files. ``course_bundle`` zips them, with the ``grader`` package of the
instructor's machine (so every worker grades with the same code as the instructor), as
the Gradescope autograder does; ``unpack`` writes a bundle once per machine into a private
folder (mode 0700, named by the bundle's hash) and returns that folder, from which
``python -m grader grade`` runs.
"""
import functools
import hashlib
import io
import os
import shutil
import stat
import tempfile
import zipfile

from .homeworks import PROJECT_ROOT

FIXED_TIME = (2020, 1, 1, 0, 0, 0)
EXECUTABLE = 0o100755
REGULAR = 0o100644


def zip_bytes(files, executables=()):
    """A reproducible zip (fixed times, sorted names) of ``files``: {name: bytes, or a
    project-relative path to read}; names in ``executables`` get mode 0755."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in sorted(files.items()):
            if isinstance(data, str):
                with open(os.path.join(PROJECT_ROOT, data), "rb") as fh:
                    data = fh.read()
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.external_attr = (EXECUTABLE if name in executables else REGULAR) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return buffer.getvalue()


@functools.lru_cache(maxsize=None)
def course_bundle(homework_id):
    """The zip (bytes) of what grading ``homework_id`` reads (``autograder.course_files``)."""
    from . import homeworks
    from .commands.autograder import course_files
    hw = homeworks.get(homework_id)
    return zip_bytes({rel.replace(os.sep, "/"): rel for rel in course_files(hw)})


def unpack(bundle, root=None):
    """The folder holding ``bundle`` unpacked (written once per machine and bundle)."""
    digest = hashlib.sha256(bundle).hexdigest()[:24]
    root = root or tempfile.gettempdir()
    folder = os.path.join(root, f"grader-course-{digest}")
    if os.path.isfile(os.path.join(folder, ".complete")):
        if _private(folder):
            return folder
        folder = None  # someone else's folder under that name: never trust it, use our own
    staging = tempfile.mkdtemp(prefix=f".grader-course-{digest}-", dir=root)  # mode 0700
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        for info in z.infolist():
            target = os.path.realpath(os.path.join(staging, info.filename))
            if not target.startswith(os.path.realpath(staging) + os.sep):
                raise ValueError(f"course bundle entry outside its folder: {info.filename}")
        z.extractall(staging)
    open(os.path.join(staging, ".complete"), "w").close()
    if folder is None:
        return staging
    try:
        os.rename(staging, folder)
    except OSError:  # another job of this machine unpacked it first
        shutil.rmtree(staging, ignore_errors=True)
        return folder if _private(folder) else unpack(bundle, tempfile.mkdtemp(dir=root))
    return folder


def _private(folder):
    """Whether ``folder`` is a real directory of this uid that no one else may write."""
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077
