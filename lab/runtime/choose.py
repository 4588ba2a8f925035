"""Decide where the lab's nodes run: on this kernel, or in the Debian microVM."""

from __future__ import annotations

import os
from dataclasses import dataclass

from lab.errors import LabError
from lab.runtime import detect, microvm

KERNEL_CHOICES = ("auto", "host", "microvm")


@dataclass(frozen=True)
class KernelChoice:
    where: str  # "host" | "microvm"
    why: str


def choose_kernel(option: str) -> KernelChoice:
    info = detect.kernel_info()
    if detect.in_microvm():
        return KernelChoice("host", os.environ.get("LVSLAB_WHY", "inside the lab's microVM"))
    if option == "host":
        detect.require_ipvs()
        if os.geteuid() != 0:
            raise LabError("the lab on this kernel needs root", "run as root")
        return KernelChoice("host", f"--lab-kernel=host; IPVS: {info.why}")
    if option == "auto" and info.has_ipvs and os.geteuid() == 0:
        return KernelChoice("host", f"this kernel has IPVS ({info.why})")
    # Here: no usable IPVS, or IPVS but not root. Say which, never "no IPVS" on a kernel that has it.
    if info.has_ipvs:
        here, fix_here = f"kernel {info.release} has IPVS ({info.why}) but the lab on it needs root", "run as root"
    else:
        here, fix_here = f"kernel {info.release} has no usable IPVS ({info.why})", ""
    try:
        microvm.check_host()
    except LabError as error:
        if option == "microvm":
            raise
        fix = f"{fix_here}, or let the microVM start: {error.fix}" if fix_here else error.fix
        raise LabError(f"cannot run the lab here: {here}, and the microVM cannot start: {error.what}", fix) from None
    if option == "microvm":
        reason = "--lab-kernel=microvm"
    else:
        reason = here if info.has_ipvs else f"kernel {info.release} has no IPVS ({info.why})"
    return KernelChoice("microvm", f"Debian microVM: {reason}")
