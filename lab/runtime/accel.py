"""KVM when it works, TCG when it does not: decided by trying, not by /dev/kvm existing.

On the development machines /dev/kvm exists but qemu aborts with `-accel kvm -cpu host`
("failed to set MSR") and hangs with other CPU models. So the probe boots the microVM's
kernel under KVM with no root filesystem: it panics at once and, with -no-reboot, qemu
exits 0 within a second or two. Anything else (an error, a hang past the timeout) is TCG.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ACCEL_ENV = "LVSLAB_ACCEL"  # "kvm" or "tcg": forces the choice (and carries it into the microVM)
PROBE_TIMEOUT = 30.0


@dataclass(frozen=True)
class Accel:
    name: str  # "kvm" | "tcg"
    why: str

    @property
    def libvirt_driver(self) -> str:
        return "kvm" if self.name == "kvm" else "qemu"


def probe_argv(kernel: Path) -> list[str]:
    return ["qemu-system-x86_64", "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults", "-display", "none",
            "-no-reboot", "-kernel", str(kernel), "-append", "panic=-1 console=ttyS0 root=/dev/nonexistent"]


_chosen: list[Accel] = []


def choose(kernel: Path | None = None) -> Accel:
    """The acceleration to use, probed once per process."""
    if not _chosen:
        _chosen.append(_probe(kernel))
    return _chosen[0]


def _probe(kernel: Path | None) -> Accel:
    forced = os.environ.get(ACCEL_ENV)
    if forced in ("kvm", "tcg"):
        return Accel(forced, f"{ACCEL_ENV}={forced}")
    if not Path("/dev/kvm").exists():
        return Accel("tcg", "no /dev/kvm")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return Accel("tcg", "/dev/kvm is not usable by this user")
    if shutil.which("qemu-system-x86_64") is None:
        return Accel("tcg", "no qemu-system-x86_64 to try KVM with")
    if kernel is None:
        from lab.runtime.microvm import ensure_kernel

        kernel = ensure_kernel()
    try:
        proc = subprocess.run(probe_argv(kernel), capture_output=True, text=True, timeout=PROBE_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return Accel("tcg", f"/dev/kvm exists but a KVM guest did not finish a {PROBE_TIMEOUT:.0f} s probe boot")
    if proc.returncode != 0:
        said = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        return Accel("tcg", f"/dev/kvm exists but qemu -accel kvm failed: {said}")
    return Accel("kvm", "a KVM guest booted (probe)")
