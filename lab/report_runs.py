"""Each lab run's own report folder, and `reports/latest` pointing to the newest.

Two runs on one machine (two pytest sessions, or a pytest run beside `lvslab up`) must not write
the same files: by default each run writes to `reports/runs/<time>-<pid>/`, and `reports/latest`
is a symlink replaced atomically (a new link renamed over the old) as the run starts and as it
ends, so it never points to an older, greener run than the newest one. A folder given with
`--lab-reports` is used as it is.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

RUNS = "runs"
LATEST = "latest"
# What runs wrote straight into reports/ before each had its own folder.
LEGACY = ("tutorial-report.md", "tutorial-report.html", "junit.xml", "lab.log", "evidence")


def new_run_folder(base: Path) -> Path:
    """A fresh folder for this run under base/runs/ (base is usually reports/)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = base / RUNS / f"{stamp}-{os.getpid()}"
    folder.mkdir(parents=True)
    _file_legacy(base)
    return folder


def base_of(folder: Path) -> Path:
    """The folder to share with the microVM: reports/ for a run folder, else the folder itself."""
    return folder.parent.parent if folder.parent.name == RUNS else folder


def point_latest(folder: Path) -> None:
    """base/latest -> runs/<folder>, when folder is a run folder; nothing otherwise."""
    if folder.parent.name != RUNS:
        return
    base = folder.parent.parent
    link = base / f".{LATEST}-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(Path(RUNS) / folder.name)
    os.replace(link, base / LATEST)


def _file_legacy(base: Path) -> None:
    """A report written straight into reports/ by an older version is moved into runs/, so no
    stale (and perhaps green) report stays where people used to look."""
    found = [base / name for name in LEGACY if (base / name).exists() and not (base / name).is_symlink()]
    if not found:
        return
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(max(p.stat().st_mtime for p in found)))
    target = base / RUNS / f"{stamp}-before-per-run-folders"
    target.mkdir(parents=True, exist_ok=True)
    for path in found:
        shutil.move(str(path), str(target / path.name))
