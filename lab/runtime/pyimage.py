"""The harness's Python on a disk of its own inside the microVM.

The microVM sees this machine's root over 9p with no cache (virtme-ng's root mount), and under
TCG every stat and open is a round trip through an emulated virtio queue: in the microVM
`import pytest` took 19 s, `import pyroute2` 27 s and `pytest --collect-only scenarios/` 60 s,
before any test ran (python3 -c pass: 2-5 s). So the interpreter, its standard library and the
venv are copied to a read-only ext4 image (as the node image is: a block device, read once into
the guest's page cache) and bind-mounted over the same paths by vm-entry.sh. The project's own
code stays on 9p (editable install): a few files, always current.

The image is named by what it holds (each tree's path and the names, sizes and mtimes of what
is in it and in site-packages), so a package installed into the venv makes a new one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from lab import log
from lab.errors import LabError
from lab.runtime.cachelock import cache_lock
from lab.runtime.image import cache_dir

BINDS_FILE = "binds"  # in the image: "NAME TARGET" per line, what vm-entry.sh bind-mounts where


def trees() -> dict[str, Path]:
    """What the image holds, by its name in the image: folders and single files, at their real paths."""
    found = {"venv": Path(sys.prefix), "stdlib": Path(sysconfig.get_paths()["stdlib"])}
    interpreter = Path(sys.executable).resolve()
    found["interpreter"] = interpreter
    libdir, soname = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME")
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and libdir and soname and (Path(libdir) / soname).is_file():
        found["libpython"] = (Path(libdir) / soname).resolve()
    if found["venv"] == Path(sys.base_prefix):  # not a venv: site-packages is in the standard library's tree
        del found["venv"]
    return found


def _fingerprint(path: Path) -> list[str]:
    entries = [path]
    if path.is_dir():
        entries += sorted(path.iterdir())
        entries += sorted(p for site in path.glob("lib/python3*/site-packages") for p in site.iterdir())
    return [f"{p} {s.st_size} {s.st_mtime_ns}" for p in entries for s in [p.lstat()]]


def image_path() -> Path:
    digest = hashlib.sha256()
    for name, path in sorted(trees().items()):
        digest.update(f"{name}\n".encode())
        digest.update("\n".join(_fingerprint(path)).encode())
    return cache_dir() / f"python-{digest.hexdigest()[:12]}.ext4"


def ensure() -> Path:
    """The image for this Python, built if missing (a few seconds: a copy and mke2fs -d)."""
    path = image_path()
    if path.is_file():
        return path
    with cache_lock("python-image"):
        if path.is_file():
            return path
        with log.step(f"the harness's Python as a disk for the microVM ({path.name})"):
            _build(path)
    return path


def _build(path: Path) -> None:
    staging = path.with_suffix(".staging")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    binds, found = [], trees()
    try:
        for name, source in found.items():
            if source.is_dir():
                # the base interpreter's own site-packages is not the venv's (include-system-site-packages off)
                skip = name == "stdlib" and "venv" in found
                shutil.copytree(source, staging / name, symlinks=True,
                                ignore=shutil.ignore_patterns("site-packages") if skip else None)
            else:
                shutil.copy2(source, staging / name)
            binds.append(f"{name} {source}")
        (staging / BINDS_FILE).write_text("\n".join(binds) + "\n")
        size = sum(f.lstat().st_size for f in staging.rglob("*"))
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        megabytes = size * 13 // 10 // 2**20 + 64
        proc = subprocess.run(["mke2fs", "-q", "-F", "-t", "ext4", "-L", "lvslab-python", "-d", str(staging),
                               str(partial), f"{megabytes}M"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise LabError(f"mke2fs could not make the Python disk: {proc.stderr.strip()}",
                           "./run.sh setup installs e2fsprogs")
        os.replace(partial, path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for old in path.parent.glob("python-*.ext4"):  # earlier venvs' images, unused for a day
        if old != path and time.time() - old.stat().st_atime > 86400:
            old.unlink(missing_ok=True)
