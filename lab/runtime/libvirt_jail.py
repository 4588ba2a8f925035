"""libvirt and Vagrant in a jail of the lab's own: a network namespace with no way out, and a
mount namespace where libvirt's folders are private to this lab.

    netns lvslab-vg-XXXX (only lo at first)         mount namespace (private)
      keeper process (sleep)  ◄── nsenter -n -m ──   /etc/libvirt      ← JAIL/etc  (qemu runs as root)
      virtlogd, libvirtd (started here)              /run/libvirt      ← tmpfs
      qemu (the VMs), dnsmasq (management DHCP)      /var/lib/libvirt  ← JAIL/lib  (storage pool)
      vagrant, ssh (run here by the provider)        /var/log/libvirt, /var/cache/libvirt ← JAIL/...

The management network and the lab LAN are libvirt networks inside that namespace, which
has no interface to the host's: nothing a VM sends leaves it. A system libvirtd on the host
(if any) is neither used nor disturbed. Everything the jail runs lives in its network
namespace, so teardown (and `lvslab clean` after a kill -9) kills `ip netns pids NAME` and
removes the namespace: no VM, network, daemon or mount is left behind.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from pyroute2 import IPRoute, netns

from lab import log
from lab.errors import LabError
from lab.proc import owner_alive, owner_record, starttime
from lab.runtime import image

PREFIX = "lvslab-vg-"
RUN_DIR = Path("/run/lvslab")
PRIVATE = {"etc": "/etc/libvirt", "lib": "/var/lib/libvirt", "log": "/var/log/libvirt", "cache": "/var/cache/libvirt"}
QEMU_CONF = """
# lvs-ha-lab: this libvirtd is the lab's own (its own mount and network namespace).
# qemu runs as root so it can read the box's kernel in the lab's cache under /root.
user = "root"
group = "root"
dynamic_ownership = 0
security_driver = "none"
"""
KEEPER = """set -e
for sub in etc lib log cache; do mkdir -p "$1/$sub"; done
mount -t tmpfs -o mode=0755 lvslab-libvirt-run /run/libvirt
mount --bind "$1/etc" /etc/libvirt
mount --bind "$1/lib" /var/lib/libvirt
mount --bind "$1/log" /var/log/libvirt
mount --bind "$1/cache" /var/cache/libvirt
ip link set lo up
touch "$1/ready"
exec sleep infinity
"""
TOOLS = {"libvirtd": "libvirt-daemon-system", "virtlogd": "libvirt-daemon-system", "virsh": "libvirt-clients",
         "qemu-img": "qemu-utils", "dnsmasq": "dnsmasq-base", "iptables": "iptables", "nsenter": "util-linux"}


def check_host() -> None:
    missing = sorted({pkg for tool, pkg in TOOLS.items() if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()})
    if missing:
        raise LabError(f"the Vagrant lab's libvirt needs Debian packages: {' '.join(missing)}",
                       "run `./run.sh setup` (or apt-get install --no-install-recommends vagrant vagrant-libvirt "
                       "libvirt-daemon-system libvirt-daemon-driver-qemu qemu-utils dnsmasq-base iptables)")
    if os.geteuid() != 0:
        raise LabError("the Vagrant lab needs root (its own network namespace and libvirtd)", "run it as root")


class LibvirtJail:
    def __init__(self, name: str) -> None:
        if not name.startswith(PREFIX):
            raise LabError(f"jail name {name!r} must start with {PREFIX!r}")
        self.name = name
        self.folder = image.cache_dir() / "vagrant" / "labs" / name  # on disk: VM disks live here
        self.record = RUN_DIR / f"{name}.json"
        self.keeper: int | None = None

    # --- start ------------------------------------------------------------------------
    def start(self) -> None:
        check_host()
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        self._save({"name": self.name, "folder": str(self.folder), **owner_record()})
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder.mkdir(parents=True)
        self._private_config()
        for mountpoint in PRIVATE.values():
            Path(mountpoint).mkdir(parents=True, exist_ok=True)
        Path("/run/libvirt").mkdir(parents=True, exist_ok=True)
        netns.create(self.name)
        with log.step(f"libvirt jail: namespace {self.name}, private libvirt folders, libvirtd"):
            console = (self.folder / "keeper.log").open("wb")
            proc = subprocess.Popen(["ip", "netns", "exec", self.name, "unshare", "--mount", "--propagation", "private",
                                     "--", "sh", "-c", KEEPER, "keeper", str(self.folder)],
                                    stdin=subprocess.DEVNULL, stdout=console, stderr=console, start_new_session=True)
            deadline = time.monotonic() + 30
            while not (self.folder / "ready").exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise LabError(f"the libvirt jail did not start:\n{(self.folder / 'keeper.log').read_text()}",
                                   "check that this kernel allows network and mount namespaces")
                time.sleep(0.05)
            self.keeper = proc.pid
            self._save({"keeper": proc.pid, "keeper_start": starttime(proc.pid)})
            self.run(["virtlogd", "-d", "-p", "/run/libvirt/virtlogd.pid"], what="start virtlogd")
            self.run(["libvirtd", "-d", "-p", "/run/libvirt/libvirtd.pid"], what="start libvirtd")
            deadline = time.monotonic() + 60
            while self.run(["virsh", "-c", "qemu:///system", "version"], check=False).returncode != 0:
                if time.monotonic() > deadline:
                    raise LabError("libvirtd in the lab's namespace did not answer within 60 s:\n"
                                   + self.tail("log/libvirtd.log"), "see " + str(self.folder))
                time.sleep(0.5)

    def _private_config(self) -> None:
        etc = self.folder / "etc"
        (etc / "qemu" / "networks" / "autostart").mkdir(parents=True)
        (etc / "storage" / "autostart").mkdir(parents=True)
        for conf in Path("/etc/libvirt").glob("*.conf"):  # the package's defaults, no host definitions
            shutil.copy(conf, etc / conf.name)
        with (etc / "qemu.conf").open("a") as qemu_conf:
            qemu_conf.write(QEMU_CONF)
        with (etc / "libvirtd.conf").open("a") as conf:
            conf.write('\nlog_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n')
        for sub in ("images", "qemu", "dnsmasq", "network", "boot"):
            (self.folder / "lib" / sub).mkdir(parents=True)

    def _save(self, update: dict) -> None:
        state = json.loads(self.record.read_text()) if self.record.is_file() else {}
        state.update(update)
        partial = self.record.with_suffix(".partial")
        partial.write_text(json.dumps(state, indent=2))
        os.replace(partial, self.record)

    def tail(self, relative: str, lines: int = 30) -> str:
        path = self.folder / relative
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.is_file() else "(no log)"

    # --- use --------------------------------------------------------------------------
    def enter(self) -> list[str]:
        """The argv prefix that runs a command inside the jail (its network and mount namespaces)."""
        if self.keeper is None:
            raise LabError(f"libvirt jail {self.name} is not running")
        return ["nsenter", "-t", str(self.keeper), "-n", "-m", "--"]

    def run(self, argv: list[str], *, what: str = "", check: bool = True, timeout: float = 120,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        proc = subprocess.run([*self.enter(), *argv], capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=env)
        if check and proc.returncode != 0:
            raise LabError(f"{what or argv[0]} failed in {self.name} (exit {proc.returncode}):\n"
                           f"{proc.stderr.strip() or proc.stdout.strip()}", "see " + str(self.folder))
        return proc

    def interfaces(self) -> list[str]:
        with IPRoute(netns=self.name) as ipr:
            return sorted(link.get_attr("IFLA_IFNAME") for link in ipr.get_links())

    # --- teardown ---------------------------------------------------------------------
    def destroy(self) -> list[str]:
        errors = destroy_namespace(self.name)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.record.unlink(missing_ok=True)
        self.keeper = None
        return errors


def namespace_pids(name: str) -> list[int]:
    proc = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
    return [int(p) for p in proc.stdout.split()]


def destroy_namespace(name: str, timeout: float = 30) -> list[str]:
    """Stop everything that runs in the jail's namespace (VMs, libvirtd, dnsmasq, vagrant, keeper)."""
    if name not in netns.listnetns():
        return []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in namespace_pids(name):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + (10 if sig == signal.SIGTERM else timeout)
        while namespace_pids(name) and time.monotonic() < deadline:
            for pid in namespace_pids(name):
                try:
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
            time.sleep(0.2)
        if not namespace_pids(name):
            break
    left = namespace_pids(name)
    try:
        netns.remove(name)
    except OSError as exc:
        return [f"netns {name}: {exc}"]
    return [f"netns {name}: processes {left} still alive after SIGKILL"] if left else []


def clean_all(force: bool = False) -> list[str]:
    """What a killed run left: jails whose owner is dead (all with force)."""
    report: list[str] = []
    live: set[str] = set()
    handled: set[str] = set()
    for record in sorted(RUN_DIR.glob(f"{PREFIX}*.json")) if RUN_DIR.is_dir() else []:
        state = json.loads(record.read_text())
        handled.add(state["name"])
        if owner_alive(state) and not force:
            live.add(state["name"])
            report.append(f"left Vagrant lab {state['name']} alone: its run (pid {state['owner']}) is still going")
            continue
        report.append(f"Vagrant lab {state['name']}: stopping its VMs, libvirtd and namespace")
        report += destroy_namespace(state["name"])
        shutil.rmtree(state.get("folder", ""), ignore_errors=True) if state.get("folder") else None
        record.unlink(missing_ok=True)
    for name in netns.listnetns():  # a jail whose record was lost (killed before it was written)
        if name.startswith(PREFIX) and name not in handled:
            report += destroy_namespace(name)
            report.append(f"removed netns {name}")
    return report
