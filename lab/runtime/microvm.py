"""Run a command (the pytest session) inside a microVM booted on Debian's kernel.

This machine's kernel has no IPVS, so virtme-ng boots Debian's generic kernel (under KVM
where it works, else TCG: lab/runtime/accel.py) with this machine's root shared read-only over 9p, the node
image attached as a read-only virtio disk, and the folders the run writes (reports/, pytest's
cache, the paths given to pytest: lab/runtime/vm_args.py) writable. The VM has no network
device: the lab's traffic never leaves it.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

from lab import log
from lab.errors import LabError
from lab.proc import owner_alive, owner_record, starttime
from lab.runtime import accel, image, pyimage, releases
from lab.runtime.cachelock import cache_lock
from lab.runtime.detect import IN_VM_ENV

RUN_DIR = Path("/run/lvslab")  # the VM's process group is recorded here for `lvslab clean`
KERNEL_META = "linux-image-amd64"  # Debian's generic flavour: -cloud-amd64 has no 9p
HERE = Path(__file__).parent


def _kernel_package(release: releases.Release) -> str:
    releases.apt_update(release)
    proc = subprocess.run(["apt-cache", *releases.apt_options(release), "depends", KERNEL_META],
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("Depends: linux-image-"):
            return line.split()[1]
    raise LabError(f"cannot resolve {KERNEL_META} of {release.name} with apt-cache: "
                   f"{proc.stderr.strip() or proc.stdout.strip()}",
                   "run `apt-get update` (the microVM boots Debian's kernel package)")


def ensure_kernel() -> Path:
    """The release's Debian kernel, extracted (not installed) into the cache, modules indexed.
    Returns vmlinuz."""
    release = releases.current()
    kernels = image.cache_dir() / "kernel" / release.name

    def cached() -> Path | None:
        found = sorted(kernels.glob("linux-image-*/root/boot/vmlinuz-*"))
        return found[-1] if found and not os.environ.get("LVSLAB_KERNEL_REFRESH") else None

    if kernel := cached():
        return kernel
    with cache_lock(f"kernel-{release.name}"):
        if kernel := cached():  # another run built it while this one waited
            return kernel
        package = _kernel_package(release)
        folder = kernels / package
        with log.step(f"microVM kernel: {package} ({release.title})"):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            got = subprocess.run(["apt-get", *releases.apt_options(release), "download", package], cwd=folder,
                                 capture_output=True, text=True)
            debs = sorted(folder.glob("*.deb"))
            if got.returncode != 0 or not debs:
                raise LabError(f"apt-get download {package} failed: {got.stderr.strip()}", "run `apt-get update`")
            partial = folder / "root.partial"
            subprocess.run(["dpkg", "-x", str(debs[-1]), str(partial)], check=True)
            # Debian 13's kernel package keeps its modules in /usr/lib/modules (merged /usr)
            base = partial / "usr" if (partial / "usr/lib/modules").is_dir() else partial
            subprocess.run(["depmod", "-b", str(base), package.removeprefix("linux-image-")], check=True)
            debs[-1].unlink()
            partial.rename(folder / "root")
    return next((folder / "root/boot").glob("vmlinuz-*"))


def check_host() -> None:
    missing = [(tool, pkg) for tool, pkg in (("qemu-system-x86_64", "qemu-system-x86"), ("udevadm", "udev"),
                                              ("mkfs.ext4", "e2fsprogs"), ("mmdebstrap", "mmdebstrap"),
                                              ("busybox", "busybox-static"))  # virtme-ng builds its initramfs with it
               if shutil.which(tool) is None]
    if missing:
        raise LabError("the microVM needs " + ", ".join(t for t, _ in missing),
                       "apt-get install " + " ".join(p for _, p in missing) + " (or run `./run.sh setup`)")
    if _vng() is None:
        raise LabError("virtme-ng (vng) is not installed", "pip install virtme-ng (or run `./run.sh setup`)")
    if os.geteuid() != 0:
        raise LabError("the lab needs root (namespaces, mounts, IPVS inside the microVM)", "run it as root")


def _vng() -> str | None:
    beside_python = Path(sys.executable).parent / "vng"
    return str(beside_python) if beside_python.exists() else shutil.which("vng")


def vm_argv(command: list[str], *, kernel: Path, disk: Path, rwdirs: list[Path], memory: str, cpus: int,
            env: dict[str, str], extra_qemu: tuple[str, ...] = (), kvm: bool = False,
            python_disk: Path | None = None) -> list[str]:
    """The exact vng invocation (also printed, so a run can be reproduced by hand). The node image
    is the first disk (/dev/vda), the harness's Python the second (/dev/vdb: lab/runtime/pyimage.py)."""
    entry = ["env", *(f"{k}={v}" for k, v in env.items()), "/bin/sh", str(HERE / "vm-entry.sh"), *command]
    argv = [_vng() or "vng", "--run", str(kernel), *([] if kvm else ["--disable-kvm"]), "--force-9p",
            "--memory", memory, "--cpus", str(cpus),
            # "=" form: argparse would take a separate "-drive ..." for an option of its own
            f"--qemu-opts=-drive file={disk},if=virtio,format=raw,readonly=on"]
    if python_disk is not None:
        argv += [f"--qemu-opts=-drive file={python_disk},if=virtio,format=raw,readonly=on"]
    for folder in rwdirs:
        argv += [f"--rwdir={folder.resolve()}"]
    argv += [f"--qemu-opts={option}" for option in extra_qemu]
    return argv + ["--exec", shlex.join(entry)]


CPUS_ENV = "LVSLAB_VM_CPUS"


def vm_cpus() -> int:
    """The microVM's vCPUs: one per host core, or LVSLAB_VM_CPUS (under TCG each vCPU is a host
    thread; fewer vCPUs leave cores to a second run beside it)."""
    wanted = os.environ.get(CPUS_ENV, "")
    if wanted and not (wanted.isdigit() and int(wanted) > 0):
        raise LabError(f"{CPUS_ENV}={wanted!r} is not a number of vCPUs", f"set {CPUS_ENV}=1 (or unset it)")
    return int(wanted) if wanted else os.cpu_count() or 2


def serial_ports(ports: dict[str, Path]) -> tuple[str, ...]:
    """QEMU options for virtio-serial ports, each a unix socket on this machine (lvslab up's channels)."""
    options = ["-device virtio-serial-pci,id=lvsser"]
    for index, (name, path) in enumerate(ports.items()):
        options += [f"-chardev socket,id=lvsctl{index},path={path},server=on,wait=off",
                    f"-device virtserialport,bus=lvsser.0,chardev=lvsctl{index},name={name}"]
    return tuple(options)


def _prepare(command: list[str], *, cwd: Path, rwdirs: list[Path], why: str, memory: str,
             extra_qemu: tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    check_host()
    disk = image.ensure_ext4()
    python_disk = pyimage.ensure()
    kernel = ensure_kernel()
    for folder in rwdirs:
        folder.mkdir(parents=True, exist_ok=True)
    acceleration = accel.choose(kernel)
    log.info(f"microVM acceleration: {acceleration.name} ({acceleration.why})")
    why = f"{why}; microVM under {acceleration.name.upper()}: {acceleration.why}"
    env = {IN_VM_ENV: "1", accel.ACCEL_ENV: acceleration.name, "LVSLAB_CWD": str(cwd), "LVSLAB_WHY": why, "LVSLAB_CACHE": str(image.cache_dir()),
           releases.RELEASE_ENV: releases.current().name,
           "PATH": f"{Path(sys.executable).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    argv = vm_argv(command, kernel=kernel, disk=disk, python_disk=python_disk, rwdirs=rwdirs, memory=memory,
                   cpus=vm_cpus(), env=env, extra_qemu=extra_qemu, kvm=acceleration.name == "kvm")
    log.info(f"microVM: {shlex.join(argv)}")
    vng_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    return argv, vng_env


def start_background(command: list[str], *, cwd: Path, console: Path, ports: dict[str, Path], why: str,
                     memory: str = "4G") -> int:
    """Boot a microVM that outlives this process (lvslab up); returns its process group's PID."""
    argv, vng_env = _prepare(command, cwd=cwd, rwdirs=[], why=why, memory=memory, extra_qemu=serial_ports(ports))
    with console.open("ab") as out:  # O_APPEND: qemu and vng write through separate descriptors
        proc = subprocess.Popen(argv, env=vng_env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    _record_vm(proc.pid)
    return proc.pid


def run_in_vm(command: list[str], *, cwd: Path, rwdirs: list[Path], why: str, timeout: float,
              memory: str = "4G") -> int:
    """Prepare image and kernel, boot, stream the command's output, return its exit code."""
    argv, vng_env = _prepare(command, cwd=cwd, rwdirs=rwdirs, why=why, memory=memory)
    started = time.monotonic()
    # qemu reopens /proc/self/fd/1 and 2 as files with O_TRUNC: a log this run writes into
    # (`./run.sh test > log`) would lose all that came before the VM. Through a pipe it cannot.
    piped = any(stat.S_ISREG(os.fstat(fd).st_mode) for fd in (1, 2))
    proc = subprocess.Popen(argv, env=vng_env, stdin=subprocess.DEVNULL, start_new_session=True,
                            stdout=subprocess.PIPE if piped else None, stderr=subprocess.STDOUT if piped else None)
    copier = threading.Thread(target=_copy_to_stdout, args=(proc.stdout,), daemon=True) if piped else None
    if copier:
        copier.start()
    record = _record_vm(proc.pid)

    def terminated(signum: int, frame: object) -> None:  # e.g. a CI timeout: stop the VM too
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        log.info(f"microVM: still running after {timeout:.0f} s: stopping it (watchdog)")
        return 124
    except KeyboardInterrupt:
        log.info("microVM: interrupted: stopping it")
        return 130
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        signal.signal(signal.SIGTERM, previous)
        record.unlink(missing_ok=True)
        if copier:
            copier.join(timeout=10)
        log.info(f"microVM: stopped after {time.monotonic() - started:.0f} s")



def _copy_to_stdout(stream: IO[bytes]) -> None:
    sys.stdout.flush()
    out = sys.stdout.buffer
    while chunk := stream.read1(65536):  # type: ignore[attr-defined]
        out.write(chunk)
        out.flush()


def _record_vm(pid: int) -> Path:
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    record = RUN_DIR / f"microvm-{pid}.json"
    record.write_text(json.dumps({"pid": pid, "starttime": starttime(pid), **owner_record()}))
    return record


def stop_recorded_vms(force: bool = False) -> list[str]:
    """Stop microVMs whose pytest was killed before it could stop them (lvslab clean)."""
    stopped = []
    for record in sorted(RUN_DIR.glob("microvm-*.json")) if RUN_DIR.is_dir() else []:
        vm = json.loads(record.read_text())
        if owner_alive(vm) and not force:
            stopped.append(f"left microVM {vm['pid']} alone: its run (pid {vm['owner']}) is still going (--force)")
            continue
        if starttime(vm["pid"]) == vm["starttime"]:
            os.killpg(vm["pid"], signal.SIGKILL)
            stopped.append(f"stopped microVM process group {vm['pid']}")
        record.unlink(missing_ok=True)
    return stopped
