"""The worker's filesystem: an allow-list root built from nothing (trusted side).

A worker does not get the host's filesystem with some folders covered; it gets an
empty tmpfs into which exactly these are bound read-only, at their host paths:

- the interpreter and its standard library (any ``site-packages`` inside it masked);
- the third-party packages the homework allows (``Homework.worker_preload``) and the
  packages they import themselves (torch's own dependencies), nothing else of the
  environment (not the grader, not other packages);
- the shared libraries that the template process has mapped, and ``ld.so.cache``;
- nothing of the worker runtime's folder: its modules are imported before the pivot;
- a minimal ``/dev`` (null, zero, full, random, urandom, the ``/proc/self/fd`` links).

That read-only part (the *skeleton*) is built once per template, in the template's own
mount namespace (``build_skeleton``). Each worker then adds only its private parts
(``enter``): one size-capped tmpfs serving ``/tmp``, ``/var/tmp`` and ``/dev/shm``, its
submission folder at ``/submission``, a fresh ``/proc`` of its own PID namespace, and
``pivot_root`` into the result. Everything private lives in the worker's mount namespace
and vanishes with its last process.

Only the standard library here (it runs in the template before any student code).
"""
import os
import re
import site
import sys

try:
    from .isolation import (MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY,
                            MS_REC, MS_REMOUNT, mount, pivot_root, umount)
except ImportError:  # the template's copy, imported standalone
    from isolation import (MNT_DETACH, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY,
                           MS_REC, MS_REMOUNT, mount, pivot_root, umount)

SUBMISSION = "/submission"
SCRATCH_DIRS = ("/tmp", "/var/tmp", "/dev/shm")
DEVICES = ("null", "zero", "full", "random", "urandom")
DEV_LINKS = {"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1",
             "stderr": "/proc/self/fd/2"}
EXTRA_FILES = ("/etc/ld.so.cache",)
_MASKED = ("site-packages", "dist-packages")


def _site_dirs():
    dirs = set(site.getsitepackages() if hasattr(site, "getsitepackages") else [])
    dirs |= {p for p in sys.path if p.endswith(_MASKED)}
    return sorted(os.path.abspath(d) for d in dirs if os.path.isdir(d))


def _inside(folder, path):
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _top_level_of(path, site_dirs):
    """The top-level name of a module file under a site folder, or None."""
    for folder in site_dirs:
        if _inside(folder, path) and path != folder:
            first = path[len(folder):].lstrip("/").split("/", 1)[0]
            return first[:-3] if first.endswith(".py") else first.split(".", 1)[0]
    return None


def _requirement_name(text):
    """The distribution named by a requirement line, or None for an optional extra."""
    if "extra ==" in text.replace('"', "'").replace("extra==", "extra =="):
        return None
    name = re.split(r"[ ;<>=!~\[(]", text.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower() or None


def _installed_entries(allowed):
    """Site-packages entries of the distributions of ``allowed`` and of all they require."""
    from importlib import metadata
    queue = list(allowed)  # numpy and torch are distributed under their import names
    seen, entries = set(), set()
    while queue:
        name = re.sub(r"[-_.]+", "-", queue.pop()).lower()
        if name in seen:
            continue
        seen.add(name)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        record = dist.read_text("RECORD") or ""  # a plain scan: torch lists 15000 files
        entries |= {line.split("/", 1)[0].split(",", 1)[0] for line in record.splitlines()}
        queue += [n for n in map(_requirement_name, dist.requires or ()) if n]
    return {e for e in entries if e and e not in ("..", "__pycache__") and not e.endswith(".pth")}


def package_paths(allowed):
    """The site-packages entries of the allowed packages and of their own dependencies
    (declared, or imported when the template imported ``allowed``)."""
    site_dirs = _site_dirs()
    names = set(allowed)
    for module in list(sys.modules.values()):
        origin = getattr(module, "__file__", None)
        top = _top_level_of(os.path.abspath(origin), site_dirs) if origin else None
        if top and not top.startswith("_"):  # not .pth shims such as _distutils_hack
            names.add(top)
    entries = _installed_entries(sorted(names))
    paths = []
    for folder in site_dirs:
        for entry in sorted(os.listdir(folder)):
            stem = entry[:-3] if entry.endswith(".py") else entry
            stem = stem[:-5] if stem.endswith(".libs") else stem
            if entry in entries or stem in names:
                paths.append(os.path.join(folder, entry))
    return paths


def mapped_libraries():
    """Files the current process has mapped (its shared libraries), from /proc/self/maps."""
    found = set()
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split(None, 5)
                if len(parts) == 6 and parts[5].startswith("/") and \
                        not parts[5].rstrip().endswith("(deleted)"):
                    found.add(parts[5].rstrip("\n"))
    except OSError:
        pass
    return sorted(p for p in found if os.path.isfile(p))


def elf_interpreter(path):
    """The dynamic loader an ELF executable names (PT_INTERP), or None."""
    import struct
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:  # 64-bit little-endian
                return None
            phoff, = struct.unpack_from("<Q", head, 0x20)
            phentsize, phnum = struct.unpack_from("<HH", head, 0x36)
            for i in range(min(phnum, 64)):
                fh.seek(phoff + i * phentsize)
                kind, _, offset, _, _, size = struct.unpack("<IIQQQQ", fh.read(40))
                if kind == 3:  # PT_INTERP
                    fh.seek(offset)
                    return fh.read(min(size, 4096)).rstrip(b"\0").decode()
    except (OSError, struct.error, UnicodeDecodeError):
        return None
    return None


def allow_list(allowed):
    """Every host path the worker may see (read-only), for the packages ``allowed``."""
    stdlib = os.path.dirname(os.__file__)
    paths = [stdlib, sys.executable, os.path.join(sys.prefix, "pyvenv.cfg")]
    loader = elf_interpreter(os.path.realpath(sys.executable))
    paths += [loader] if loader else []
    paths += package_paths(allowed)
    paths += mapped_libraries()
    paths += [p for p in EXTRA_FILES]
    return [p for p in dict.fromkeys(os.path.abspath(p) for p in paths) if os.path.lexists(p)]


def resolve(paths):
    """(symlinks to recreate {path: link text}, real files and folders to bind)."""
    links, reals = {}, set()
    for path in paths:
        _resolve(path, links, reals, 0)
    outer = []
    for real in sorted(reals):
        if not any(_inside(kept, real) for kept in outer):
            outer.append(real)
    links = {k: v for k, v in links.items() if not any(_inside(b, k) for b in outer)}
    return links, outer


def _resolve(path, links, reals, depth):
    if depth > 40:
        return
    parts = [p for p in path.split("/") if p]
    current = "/"
    for i, part in enumerate(parts):
        host = os.path.join(current, part)
        if os.path.islink(host):
            text = os.readlink(host)
            links[host] = text
            target = os.path.normpath(os.path.join(current, text))
            _resolve(os.path.join(target, *parts[i + 1:]), links, reals, depth + 1)
            return
        current = host
    if os.path.exists(current):
        reals.add(current)


def _makedirs_traversable(folder):
    """``os.makedirs`` whose new folders every uid may traverse, whatever the umask (workers
    run with 077, and their uid must enter what is bound on top of their scratch)."""
    missing = []
    while folder and not os.path.exists(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for path in reversed(missing):
        os.mkdir(path)
        os.chmod(path, 0o755)


def _bind_read_only(source, target, flags=MS_NOSUID | MS_NODEV):
    if os.path.isdir(source):
        _makedirs_traversable(target)
    else:
        _makedirs_traversable(os.path.dirname(target))
        if not os.path.exists(target):
            open(target, "w").close()
    mount(source, target, None, MS_BIND | MS_REC)
    mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | flags)


# Allowed paths that lie under a scratch folder (a checkout or venv under /tmp): the
# per-worker scratch tmpfs covers them, so ``enter`` binds them again on top of it. Set by
# ``build_skeleton`` in the template (``adopt_skeleton`` in its warm fork); its forked
# workers inherit it.
_UNDER_SCRATCH = []


def _bind_allowed(path, target):
    """Bind the allowed ``path`` read-only at ``target + path``, masking an interpreter's own
    site-packages inside it (only the allowed packages are bound there)."""
    _bind_read_only(path, target + path)
    if os.path.isdir(path):
        for name in _MASKED:
            inner = os.path.join(path, name)
            if os.path.isdir(inner) and not os.path.islink(inner):
                mount("tmpfs", target + inner, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY,
                      "size=4k,mode=755")


def build_skeleton(target, paths):
    """Fill the empty folder ``target`` with the read-only part of a worker's root.

    Must run in a private mount namespace (the template's): the mounts are invisible
    outside it. Returns the list of what was bound, for the report.
    """
    mount("tmpfs", target, "tmpfs", MS_NOSUID, "size=1m,mode=755")
    links, binds = resolve(paths)
    for path in binds:
        _bind_allowed(path, target)
    adopt_skeleton(binds)
    for path, text in sorted(links.items()):
        os.makedirs(os.path.dirname(target + path), mode=0o755, exist_ok=True)
        if not os.path.lexists(target + path):
            os.symlink(text, target + path)
    for folder in SCRATCH_DIRS + ("/proc", SUBMISSION, "/dev"):
        os.makedirs(target + folder, mode=0o755, exist_ok=True)
    gpus = sorted(n for n in os.listdir("/dev") if n.startswith("nvidia"))  # --device cuda
    for name in DEVICES + tuple(gpus):
        if os.path.exists("/dev/" + name) and not os.path.isdir("/dev/" + name):
            _bind_read_only("/dev/" + name, f"{target}/dev/{name}", MS_NOSUID)
    for name, text in DEV_LINKS.items():
        os.symlink(text, f"{target}/dev/{name}")
    mount(None, target, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID, "size=1m,mode=755")
    return binds


def adopt_skeleton(binds):
    """Serve workers from a skeleton that another process of this mount namespace built with
    ``build_skeleton`` (which returned ``binds``): a fork of the template made before it."""
    _UNDER_SCRATCH[:] = [p for p in binds if any(_inside(d, p) for d in SCRATCH_DIRS)]


def uncovered(paths, allowed):
    """The paths of ``paths`` that are none of ``allowed`` (host paths: an allow-list, or what
    was bound) and lie in none of them."""
    allowed = {p.rstrip("/") or "/" for p in allowed}
    missing = []
    for path in paths:
        probe = os.path.abspath(path)
        while probe not in allowed and probe != "/":
            probe = os.path.dirname(probe)
        if probe not in allowed:
            missing.append(path)
    return missing


def enter(skeleton, submission, scratch_bytes, uid):
    """Per worker, in its own mount and PID namespaces: add the private parts, pivot into it.

    ``submission`` (a host folder that the worker owns) appears read-only at /submission;
    one tmpfs of ``scratch_bytes`` serves /tmp, /var/tmp and /dev/shm (and is HOME): all
    the worker can write is capped, and private.
    """
    scratch = skeleton + SUBMISSION  # a mount point that is free until the submission arrives
    mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV,
          f"size={max(scratch_bytes, 1 << 20)},mode=755,nr_inodes=4096")
    for folder in SCRATCH_DIRS:
        inner = os.path.join(scratch, folder.strip("/").replace("/", "-"))
        os.mkdir(inner)
        os.chmod(inner, 0o1777)
        if uid is not None:
            os.chown(inner, uid, uid)
        mount(inner, skeleton + folder, None, MS_BIND)
    umount(scratch, MNT_DETACH)
    for path in _UNDER_SCRATCH:  # allowed files under /tmp stay visible, read-only, on top
        _bind_allowed(path, skeleton)
    mount(submission, skeleton + SUBMISSION, None, MS_BIND)  # read-only: writes go to /tmp
    mount(None, skeleton + SUBMISSION, None,
          MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    mount("proc", skeleton + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.chdir(skeleton)
    pivot_root(".", ".")
    umount(".", MNT_DETACH)  # the host's root, stacked under ours by pivot_root(".", ".")
    os.chdir("/")
