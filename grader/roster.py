"""The submissions of a class, as batch grading sees them (trusted side).

A class arrives as a folder of per-student folders, a folder of ``.py``/``.ipynb`` files
(one per student, any name), or the zip of Gradescope's "Export Submissions": one folder
per submission plus ``submission_metadata.yml``, which names the submitters (name,
email, student id). ``collect`` turns any of these into ``Submission`` records: which
path to hand to ``intake`` and who it counts for. Nothing here decides which file is
graded (``intake`` does). Untrusted names are bounded: the zip is unpacked safely (no
absolute paths, no ``..``, no links, caps on size, entries and depth), a metadata key
can only name a real folder of the export (never a link, never outside it), links in
the class folder are rejected, and output keys are sanitized.
"""
from __future__ import annotations

import os
import re
import stat
import zipfile
from dataclasses import dataclass, field

from .intake import read_regular
from .submission import SubmissionError

METADATA = "submission_metadata.yml"
MAX_UNPACKED_BYTES = 2 << 30
MAX_FILE_BYTES = 64 << 20
MAX_ZIP_ENTRIES = 200_000
MAX_ZIP_DEPTH = 24          # path components of a zip entry (deeper entries are skipped)
MAX_METADATA_BYTES = 16 << 20


@dataclass(frozen=True)
class Student:
    """One submitter: what the gradebook knows of them (any field may be empty)."""
    id: str
    name: str = ""
    email: str = ""


@dataclass
class Submission:
    """One gradable submission: its ``key`` (its folder under ``OUTDIR/students/``),
    ``origin`` (where it came from, for people), ``path`` (the folder or file to grade;
    None when it cannot be graded), the students it counts for, ``problem`` (why it
    cannot be graded) and ``flags`` (warnings for the gradebook's reason column)."""
    key: str
    origin: str
    path: str | None
    students: list = field(default_factory=list)
    problem: str = ""
    flags: list = field(default_factory=list)


class RosterError(Exception):
    """The submissions cannot be read as a class (the message says why)."""


def safe_key(text):
    """A folder name made of letters, digits and ``._@-`` only (never empty, never hidden)."""
    key = re.sub(r"[^A-Za-z0-9._@-]+", "_", str(text)).strip("._") or "submission"
    return key[:120]


def _link_problem(path, name):
    """Why ``path`` cannot be a submission ('' when it is a real folder or file)."""
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        return f"{name} cannot be read ({exc.strerror})"
    if stat.S_ISLNK(mode):
        return f"{name} is a symbolic link, not a submission: links are never followed"
    return ""


def _from_folder(folder):
    subs = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith("."):
            continue
        problem = _link_problem(path, name)
        if problem:
            stem = name.rsplit(".", 1)[0] if name.endswith((".py", ".ipynb")) else name
            subs.append(Submission(safe_key(stem), path, None, [Student(stem)], problem))
        elif os.path.isdir(path):
            subs.append(Submission(safe_key(name), path, path, [Student(name)]))
        elif name.endswith((".py", ".ipynb")):
            stem = name.rsplit(".", 1)[0]
            subs.append(Submission(safe_key(stem), path, path, [Student(stem)]))
    return subs


def load_metadata(path):
    """{submission folder: [Student]} from Gradescope's ``submission_metadata.yml``.

    The file is written by Ruby: keys look like ``:submitters:`` and values may carry
    Ruby tags (``!ruby/object:BigDecimal``); unknown tags are read as plain data.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        """Safe loading that reads any unknown tag as the plain node under it."""

    def plain(loader, suffix, node):
        if isinstance(node, yaml.MappingNode):
            return loader.construct_mapping(node, deep=True)
        if isinstance(node, yaml.SequenceNode):
            return loader.construct_sequence(node, deep=True)
        return loader.construct_scalar(node)

    Loader.add_multi_constructor("!", plain)
    Loader.add_multi_constructor("tag:", plain)
    try:
        text = read_regular(path, limit=MAX_METADATA_BYTES).decode("utf-8")
        data = yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    except (SubmissionError, UnicodeDecodeError) as exc:
        raise RosterError(f"{path}: {exc}; export the submissions from Gradescope again") \
            from None
    except RecursionError:
        raise RosterError(f"{path} is nested too deeply to be Gradescope's metadata") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise RosterError(f"{path} is not valid YAML{where}: "
                          f"{getattr(exc, 'problem', None) or type(exc).__name__}; export the "
                          "submissions from Gradescope again") from None
    if not isinstance(data, dict):
        raise RosterError(f"{path} is not a mapping of submission folders; export the "
                          "submissions from Gradescope again")
    out = {}
    for folder, info in data.items():
        people = []
        info = info if isinstance(info, dict) else {}
        for who in _get(info, "submitters") or []:
            who = who if isinstance(who, dict) else {}
            name, email = str(_get(who, "name") or ""), str(_get(who, "email") or "")
            sid = str(_get(who, "sid") or "") or email or str(folder)
            people.append(Student(sid, name, email))
        out[str(folder)] = people or [Student(str(folder))]
    return out


def _get(mapping, key):
    for k in (f":{key}", key, f":{key}:"):
        if k in mapping:
            return mapping[k]
    return None


def unpack_zip(path, dest):
    """Extract the zip at ``path`` into ``dest`` safely; returns {skipped entry: why}.

    Entries that are absolute, climb with ``..``, are links or special files, nest deeper
    than ``MAX_ZIP_DEPTH`` or exceed the size caps are skipped (and listed, so that the
    row of the submission they belong to can say so); more than ``MAX_ZIP_ENTRIES``
    entries is an error.
    """
    total, skipped = 0, {}
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise RosterError(f"{path} is not a readable zip file ({exc})") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ZIP_ENTRIES:
            raise RosterError(f"{path} has more than {MAX_ZIP_ENTRIES} entries: is it really "
                              "a Gradescope export?")
        for info in infos:
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            kind = (info.external_attr >> 16) & 0o170000
            special = kind not in (0, stat.S_IFREG, stat.S_IFDIR)  # links, FIFOs, devices
            if not parts or name.startswith("/") or ".." in parts or "\0" in name:
                continue  # names nothing inside the export: no submission to tell
            if special or len(parts) > MAX_ZIP_DEPTH:
                why = ("a symbolic link or special file" if special
                       else f"nested more than {MAX_ZIP_DEPTH} levels")
                skipped["/".join(parts[:MAX_ZIP_DEPTH])] = why
                continue
            target = os.path.join(dest, *parts)
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            total += info.file_size
            if info.file_size > MAX_FILE_BYTES or total > MAX_UNPACKED_BYTES:
                skipped["/".join(parts)] = "too large"
                continue
            try:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with archive.open(info) as src, open(target, "wb") as out:
                    out.write(src.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES])
            except (OSError, zipfile.BadZipFile, NotImplementedError, RuntimeError):
                skipped["/".join(parts)] = "not extractable"
    return skipped


def _metadata_root(folder):
    """The shallowest folder (at most two levels down) that holds ``submission_metadata.yml``."""
    level = [folder]
    for _ in range(3):
        deeper = []
        for here in level:
            if os.path.isfile(os.path.join(here, METADATA)) and \
                    not os.path.islink(os.path.join(here, METADATA)):
                return here
            try:
                with os.scandir(here) as it:
                    deeper += sorted(e.path for e in it if e.is_dir(follow_symlinks=False))
            except OSError:
                continue
        level = deeper
    return None


def _key_problem(key):
    """Why a metadata key cannot name a folder of the export ('' when it can)."""
    if not key or key in (".", "..") or "/" in key or "\\" in key or "\0" in key \
            or os.path.isabs(key):
        return (f"submission_metadata.yml names {key[:80]!r}, which is not a folder name of "
                "the export: not graded")
    return ""


def _from_metadata(root):
    """Submissions of an export: every listed folder, and the unlisted ones, flagged."""
    people = load_metadata(os.path.join(root, METADATA))
    subs = []
    for name in sorted(people):
        path = os.path.join(root, name)
        problem = _key_problem(name)
        if not problem and not os.path.lexists(path):
            problem = f"{METADATA} lists {name}, but the export has no such folder"
        if not problem:
            problem = _link_problem(path, name)
        if not problem and not os.path.isdir(path):
            problem = f"{name} in the export is not a folder"
        subs.append(Submission(safe_key(name), path if not problem else name,
                               None if problem else path, people[name], problem))
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if entry in people or entry.startswith(".") or entry == METADATA:
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            subs.append(Submission(safe_key(entry), path, path, [Student(entry)],
                                   flags=[f"{entry} is not listed in {METADATA}: graded, but "
                                          "check who it belongs to"]))
    return subs


def _flag_skipped(subs, skipped, root):
    """Add to each submission's flags the zip entries of its folder that were not unpacked."""
    prefix = "" if root == "." else root.replace(os.sep, "/") + "/"
    for sub in subs:
        mine = prefix + os.path.basename(sub.origin) + "/"
        for entry, why in skipped.items():
            if entry.startswith(mine):
                shown = entry[len(mine):]
                shown = shown if len(shown) <= 80 else shown[:40] + "…" + shown[-30:]
                sub.flags.append(f"{shown} was not unpacked from the export ({why})")
                if len(sub.flags) > 5:
                    break


def collect(source, scratch):
    """All ``Submission``s of ``source`` (a class folder or a Gradescope export zip).

    ``scratch`` is an empty folder the caller owns, used to unpack a zip. Raises
    ``RosterError`` for what makes the whole class unreadable (a malformed metadata file,
    not a zip, nothing found).
    """
    if not os.path.exists(source):
        raise FileNotFoundError(f"submissions {source} do not exist")
    folder, skipped = source, {}
    if os.path.isfile(source):
        if not zipfile.is_zipfile(source):
            if source.endswith((".py", ".ipynb")):
                raise RosterError(f"{source} is one file: use `python -m grader grade` for one "
                                  "submission, or give the folder that holds the class's files")
            raise RosterError(f"{source} is neither a folder nor a zip file")
        skipped = unpack_zip(source, scratch)
        folder = scratch
    root = _metadata_root(folder)
    subs = _from_folder(folder) if root is None else _from_metadata(root)
    _flag_skipped(subs, skipped, os.path.relpath(root or folder, folder))
    keys = set()
    for sub in subs:  # two inputs that sanitize to one key must not share an output folder
        base, n = sub.key, 1
        while sub.key in keys:
            n += 1
            sub.key = f"{base}-{n}"
        keys.add(sub.key)
    if not subs:
        raise RosterError(f"no submissions found in {source}: expected per-student folders, "
                          ".py/.ipynb files, or a Gradescope export zip")
    return subs
