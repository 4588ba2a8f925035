"""Does the running kernel have IPVS, and are we allowed to use it?"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError

IN_VM_ENV = "LVSLAB_IN_VM"


@dataclass(frozen=True)
class KernelInfo:
    release: str
    has_ipvs: bool
    why: str


def kernel_info() -> KernelInfo:
    release = os.uname().release
    if Path("/proc/net/ip_vs").exists():
        return KernelInfo(release, True, "ip_vs is loaded")
    modules = Path("/lib/modules") / release
    if not modules.is_dir():
        return KernelInfo(release, False, f"no IPVS loaded and no /lib/modules/{release} to load it from")
    if shutil.which("modprobe"):
        probe = subprocess.run(["modprobe", "-n", "ip_vs"], capture_output=True, text=True)
        if probe.returncode == 0:
            return KernelInfo(release, True, "ip_vs module available")
        return KernelInfo(release, False, f"modprobe -n ip_vs: {probe.stderr.strip() or 'not found'}")
    return KernelInfo(release, False, "no IPVS loaded and no modprobe to load it")


def in_microvm() -> bool:
    return os.environ.get(IN_VM_ENV) == "1"


def require_ipvs() -> None:
    info = kernel_info()
    if not info.has_ipvs:
        raise LabError(
            f"kernel {info.release} has no IPVS ({info.why})",
            "let the lab run in its Debian microVM (--lab-kernel=auto or microvm), "
            "or boot a kernel built with CONFIG_IP_VS",
        )
