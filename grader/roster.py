"""The submissions of a class, as batch grading sees them (trusted side).

A class arrives as a folder of per-student folders, a folder of ``.py``/``.ipynb`` files
(one per student, any name), or the zip of Gradescope's "Export Submissions": one folder
per submission plus ``submission_metadata.yml``, which names the submitters (name,
email, student id). ``collect`` turns any of these into ``Submission`` records; the zip
is unpacked safely (no absolute paths, no ``..``, no links, size-capped).
"""
import hashlib
import os
import re
import zipfile
from dataclasses import dataclass, field

METADATA = "submission_metadata.yml"
MAX_UNPACKED_BYTES = 2 << 30
MAX_FILE_BYTES = 64 << 20


@dataclass(frozen=True)
class Student:
    """One submitter: what the gradebook knows of them (any field may be empty)."""
    id: str
    name: str = ""
    email: str = ""


@dataclass
class Submission:
    """One gradable submission: its key (folder name in the output), the module file to
    grade (None when there is none) and the students it counts for."""
    key: str
    origin: str
    module_path: str | None
    students: list = field(default_factory=list)
    reason: str = ""

    def content(self):
        """The bytes of the module file (None when there is none)."""
        if self.module_path is None:
            return None
        with open(self.module_path, "rb") as fh:
            return fh.read()

    @property
    def kind(self):
        """``.py`` or ``.ipynb``: the suffix the graded copy must have."""
        return ".ipynb" if self.module_path and self.module_path.endswith(".ipynb") else ".py"

    def sha256(self):
        """Hash of what is graded (kind and bytes); the resume key with the seed."""
        digest = hashlib.sha256(self.kind.encode())
        digest.update(self.content() or b"<no module: " + self.reason.encode() + b">")
        return digest.hexdigest()


class RosterError(Exception):
    """The submissions cannot be read as a class (the message says why)."""


def safe_key(text):
    """A folder name made of letters, digits and ``._@-`` only (never empty, never hidden)."""
    key = re.sub(r"[^A-Za-z0-9._@-]+", "_", str(text)).strip("._") or "submission"
    return key[:120]


def find_module(hw, folder):
    """The shallowest ``hwN_topic.py`` (preferred) or ``hwN_topic.ipynb`` under ``folder``."""
    best = None
    for here, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__MACOSX")))
        depth = os.path.relpath(here, folder).count(os.sep)
        for rank, name in enumerate((hw.filename, hw.module + ".ipynb")):
            path = os.path.join(here, name)
            if name in files and (best is None or (depth, rank) < best[0]):
                best = ((depth, rank), path)
    return best[1] if best else None


def _from_folder(hw, folder):
    subs = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.startswith("."):
            continue
        if os.path.isdir(path):
            module = find_module(hw, path)
            reason = "" if module else (f"no {hw.filename} or {hw.module}.ipynb in the "
                                        "submission")
            subs.append(Submission(safe_key(name), path, module, [Student(name)], reason))
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
    with open(path, encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise RosterError(f"{path} is not a mapping of submission folders")
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
    """Extract the zip at ``path`` into ``dest`` safely; returns ``dest``."""
    total = 0
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise RosterError(f"{path} is not a readable zip file ({exc})") from None
    with archive:
        for info in archive.infolist():
            name = info.filename.replace("\\", "/")
            parts = [p for p in name.split("/") if p not in ("", ".")]
            is_link = (info.external_attr >> 16) & 0o170000 == 0o120000
            if not parts or name.startswith("/") or ".." in parts or is_link:
                continue
            target = os.path.join(dest, *parts)
            if info.is_dir():
                os.makedirs(target, exist_ok=True)
                continue
            total += info.file_size
            if info.file_size > MAX_FILE_BYTES or total > MAX_UNPACKED_BYTES:
                continue
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with archive.open(info) as src, open(target, "wb") as out:
                out.write(src.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES])
    return dest


def _metadata_root(folder):
    """The shallowest folder under ``folder`` that holds ``submission_metadata.yml``."""
    for here, dirs, files in os.walk(folder):
        dirs.sort()
        if METADATA in files:
            return here
    return None


def collect(hw, source, scratch):
    """All ``Submission``s of ``source`` (folder or Gradescope zip) for homework ``hw``.

    ``scratch`` is an empty folder the caller owns, used to unpack a zip.
    """
    if not os.path.exists(source):
        raise FileNotFoundError(f"submissions {source} do not exist")
    folder = source
    if os.path.isfile(source):
        if not zipfile.is_zipfile(source):
            if source.endswith((".py", ".ipynb")):
                raise RosterError(f"{source} is one file: use `python -m grader grade` for one "
                                  "submission, or give the folder that holds the class's files")
            raise RosterError(f"{source} is neither a folder nor a zip file")
        folder = unpack_zip(source, scratch)
    root = _metadata_root(folder)
    if root is None:
        subs = _from_folder(hw, folder)
    else:
        people = load_metadata(os.path.join(root, METADATA))
        subs = []
        for name in sorted(people):
            path = os.path.join(root, name)
            module = find_module(hw, path) if os.path.isdir(path) else None
            reason = "" if module else (f"no {hw.filename} or {hw.module}.ipynb in the "
                                        "submission")
            subs.append(Submission(safe_key(name), path, module, people[name], reason))
    for sub in subs:  # a module no student writes: not worth reading into memory
        if sub.module_path and os.path.getsize(sub.module_path) > MAX_FILE_BYTES:
            sub.module_path = None
            sub.reason = f"the module is larger than {MAX_FILE_BYTES >> 20} MiB"
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
