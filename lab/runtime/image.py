"""The node image: one Debian root filesystem per release (bookworm by default, --lab-release),
built once with mmdebstrap, cached, reused.

It is rebuilt only when its recipe (suite, variant, package list) changes: the recipe's
hash names the cache folder. The microVM gets it as a read-only ext4 disk (guest page
cache, not 9p: fork+exec under TCG is twice as fast from it).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from lab import log
from lab.errors import LabError
from lab.runtime import releases
from lab.runtime.cachelock import cache_lock

VARIANT = "minbase"
# The tutorial's software from Debian (bookworm: see docs/bookworm-differences.md), today's stacks that
# replace heartbeat (--lab-stack, lab/stacks/), plus what a node needs to boot in namespaces
# (tini reaps orphans; busybox gives a syslogd). The Vagrant box has the same set (box.py).
STACK_PACKAGES = {
    "heartbeat": ["heartbeat", "ldirectord", "resource-agents", "cluster-glue"],
    "keepalived": ["keepalived"],
    "pacemaker": ["pacemaker", "pacemaker-cli-utils", "corosync", "ldirectord", "resource-agents"],
}
PACKAGES = sorted({
    *(p for packages in STACK_PACKAGES.values() for p in packages),
    "ipvsadm", "libwww-perl",
    "apache2", "ssl-cert", "openssl",
    "iproute2", "ifupdown", "arping", "curl", "kmod", "procps", "psmisc", "iputils-ping",
    "netcat-openbsd", "tini", "busybox",
})
RECIPE_VERSION = 1
IMAGE_ENV = "LVSLAB_IMAGE"


def cache_dir() -> Path:
    # Not under /var/cache: virtme-ng mounts a tmpfs there inside the microVM.
    return Path(os.environ.get("LVSLAB_CACHE", "~/.cache/lvs-ha-lab")).expanduser()


def suite() -> str:
    """The Debian suite of this process's release (--lab-release)."""
    return releases.current().name


def recipe() -> dict:
    return {"suite": suite(), "variant": VARIANT, "packages": PACKAGES, "version": RECIPE_VERSION}


def image_dir() -> Path:
    digest = hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir() / f"image-{suite()}-{digest}"


def ensure_image() -> Path:
    """The image's root directory, built if missing. Returns e.g. ~/.cache/lvs-ha-lab/image-.../root."""
    folder = image_dir()
    root = folder / "root"
    if (folder / "built.json").is_file():
        return root
    with cache_lock(folder.name):
        if (folder / "built.json").is_file():
            return root
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / "root.partial"
        started = time.monotonic()
        mmdebstrap(PACKAGES, partial)
        shutil.rmtree(root, ignore_errors=True)
        partial.rename(root)
        built = {"seconds": round(time.monotonic() - started, 1), **recipe()}
        (folder / "built.json").write_text(json.dumps(built, indent=2))
    return root


def mmdebstrap(packages: list[str], target: Path, customize: tuple[str, ...] = ()) -> None:
    """Debian's suite of this release with these packages into the folder `target` (replaced), progress shown.
    `customize`: mmdebstrap customize hooks (shell, "$1" is the root; /proc, /sys, /dev mounted)."""
    if shutil.which("mmdebstrap") is None:
        raise LabError("mmdebstrap is not installed (it builds the node image and the box)", "apt-get install mmdebstrap")
    if os.geteuid() != 0:
        raise LabError("building the node image needs root", "run as root")
    shutil.rmtree(target, ignore_errors=True)
    argv = ["mmdebstrap", f"--variant={VARIANT}", f"--include={','.join(packages)}",
            *(f"--customize-hook={hook}" for hook in customize), suite(), str(target),
            str(releases.sources_file(releases.current()))]
    with log.step(f"mmdebstrap {suite()} with {len(packages)} packages into {target}"):
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tail: list[str] = []
        assert proc.stdout is not None
        for line in proc.stdout:
            tail = (tail + [line.rstrip()])[-30:]
            if line.startswith("I: "):
                log.info(line.rstrip())
        if proc.wait() != 0:
            raise LabError("mmdebstrap failed:\n" + "\n".join(tail),
                           "check the network to the Debian mirror and `apt-get update` on this machine")


def ensure_ext4() -> Path:
    """The image as a read-only ext4 disk for the microVM."""
    root = ensure_image()
    disk = image_dir() / "root.ext4"
    if disk.is_file():
        return disk
    used = int(subprocess.run(["du", "-sb", str(root)], capture_output=True, text=True, check=True).stdout.split()[0])
    size_mb = used * 13 // 10 // 2**20 + 128
    partial = disk.with_suffix(".partial")
    with cache_lock(f"{image_dir().name}-ext4"), log.step(f"node image: ext4 disk of {size_mb} MiB for the microVM"):
        if disk.is_file():
            return disk
        proc = subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-L", "lvslab", "-d", str(root),
                               str(partial), f"{size_mb}M"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise LabError(f"mkfs.ext4 failed: {proc.stderr}", "apt-get install e2fsprogs (1.47 or newer)")
        partial.rename(disk)
    return disk


def image_root() -> Path:
    """Where the nodes' lower layer is: the microVM's mounted disk, or the cached folder."""
    mounted = os.environ.get(IMAGE_ENV)
    return Path(mounted) if mounted else ensure_image()


def build_seconds() -> float | None:
    built = image_dir() / "built.json"
    return json.loads(built.read_text())["seconds"] if built.is_file() else None
