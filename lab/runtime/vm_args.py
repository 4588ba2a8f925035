"""The pytest command line for the microVM: the user's options keep their meaning in there.

The microVM sees this machine's root read-only, with its own scratch /tmp: a file written
inside lands nowhere here unless its folder is shared writable (virtme-ng's --rwdir). So each
path an option writes to is made absolute (the VM's cwd is the same, but the folder to share
must be known) and its folder is shared; every other argument (-x, -k, --maxfail, -p ...)
passes through untouched. A pure function: the plugin feeds it argv and gets argv back.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from lab.errors import LabError

# option -> what it names. "file": pytest writes the file (its folder is shared); "folder":
# written into (shared itself); "recreated": pytest deletes and makes the folder again, which
# it cannot do to a mount point, so its parent is shared.
PATH_OPTIONS = {"--junitxml": "file", "--junit-xml": "file", "--html": "file", "--report-log": "file",
                "--log-file": "file", "--lab-reports": "folder", "--basetemp": "recreated"}
SHAREABLE = re.compile(r"[a-zA-Z0-9_+ /.-]+")  # what virtme-ng accepts in --rwdir


@dataclass(frozen=True)
class VmCommand:
    args: list[str]  # pytest's arguments, paths absolute
    rwdirs: list[Path]  # folders of this machine the VM must be able to write


def _absolute(value: str, cwd: Path) -> Path:
    return Path(os.path.normpath(cwd / os.path.expanduser(os.path.expandvars(value))))


def _shared(path: Path, kind: str) -> Path:
    folder = path if kind == "folder" else path.parent
    if folder == Path("/"):
        raise LabError(f"{path} would need the whole root shared writable with the microVM",
                       "give a path inside a folder, e.g. /tmp/run/junit.xml")
    if not SHAREABLE.fullmatch(str(folder)):
        raise LabError(f"virtme-ng cannot share {folder} with the microVM (only letters, digits, space, _+/.-)",
                       "choose a path without other characters")
    return folder


def vm_pytest_args(args: Sequence[str], cwd: Path, *, always: Sequence[Path] = ()) -> VmCommand:
    """Rewrite `args` (pytest's own invocation) for the microVM; `always` are folders shared anyway
    (the default report folder, the cache). A folder inside another shared one is not shared twice."""
    out: list[str] = []
    folders: list[Path] = [Path(os.path.normpath(p)) for p in always]
    pending: str | None = None
    for index, arg in enumerate(args):
        if pending is not None:  # "--junitxml PATH": this is the PATH
            path = _absolute(arg, cwd)
            folders.append(_shared(path, PATH_OPTIONS[pending]))
            out.append(str(path))
            pending = None
        elif arg == "--":  # only file names after it: nothing more to rewrite
            out.extend(args[index:])
            break
        elif (option := arg.partition("=")[0]) in PATH_OPTIONS and "=" in arg:
            path = _absolute(arg.partition("=")[2], cwd)
            folders.append(_shared(path, PATH_OPTIONS[option]))
            out.append(f"{option}={path}")
        else:
            pending = arg if arg in PATH_OPTIONS else None
            out.append(arg)
    return VmCommand(out, _outermost(folders))


def _outermost(folders: list[Path]) -> list[Path]:
    unique = list(dict.fromkeys(folders))
    return [f for f in unique if not any(o != f and f.is_relative_to(o) for o in unique)]
