"""vagrant provider: each node is a Debian 12 VM (vagrant-libvirt) described by the Vagrantfile.

The box is built here (lab/runtime/box.py); libvirtd, the VMs, their networks and Vagrant
itself run in the lab's own namespace (lab/runtime/libvirt_jail.py), under KVM where it
works and TCG where it does not (lab/runtime/accel.py). The VMs come up unprovisioned
(`vagrant up --no-provision`); the same Provisioner then runs lab/provision/*.sh on them as
on namespaces. Commands go over ssh with the configuration `vagrant ssh-config` wrote once,
through one multiplexed connection per VM (a `vagrant ssh` per command costs seconds).
Vagrant boxes name the lab LAN's interface eth1 (eth0 is Vagrant's management network).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import time
from pathlib import Path

from lab import log
from lab.cluster import Cluster, NodeSpec
from lab.errors import LabError
from lab.node import Node, Result
from lab.providers.base import HttpReply, Lab, Provider, port_faults
from lab.provision import HERE as PROVISION_DIR
from lab.runtime import accel, box, image
from lab.runtime.cachelock import cache_lock
from lab.runtime.libvirt_jail import PREFIX, LibvirtJail
from lab.runtime import libvirt_jail

ROOT = Path(__file__).parents[2]  # where the Vagrantfile is
LAN_INTERFACE = "eth1"
LAN_NETWORK = "lvslab-lan"  # the Vagrantfile's libvirt__network_name for the lab LAN
# Run on the VM (as root): the script's output goes to files, not to ssh's channel, so a daemon
# the script starts (and that keeps its inherited stdout) cannot hold the command open.
WRAPPER = ('o=${TMPDIR:-/tmp}/lvslab-cmd-$$.out e=${TMPDIR:-/tmp}/lvslab-cmd-$$.err; /bin/sh -c "$0" >"$o" 2>"$e"; rc=$?; '
           'cat "$o"; cat "$e" >&2; rm -f "$o" "$e"; exit $rc')
UP_ATTEMPTS = 2  # vagrant up, and once more for VMs that did not boot
PROGRESS_WORDS = ("Uploading base box", "Starting domain", "Waiting for machine to boot", "Machine booted",
                  "rror")  # the lines of `vagrant up` shown as progress
SSH_OPTIONS = ("ControlMaster auto", "ControlPersist 30m", "ServerAliveInterval 10", "LogLevel ERROR",
               "ConnectTimeout 30")


def remote_command(script: str, env: dict[str, str]) -> str:
    """The command line ssh runs on the VM (logged in as root): the given environment, /bin/sh -c script."""
    assignments = [f"{k}={v}" for k, v in env.items()]
    return shlex.join(["env", *assignments, "/bin/sh", "-c", WRAPPER, script])


def vagrant_env(jail_folder: Path, box_name: str, driver: str) -> dict[str, str]:
    """Vagrant's environment: its home under the lab's cache, nothing fetched from outside."""
    return {
        "VAGRANT_HOME": str(image.cache_dir() / "vagrant" / "home"),
        "VAGRANT_CHECKPOINT_DISABLE": "1",
        "VAGRANT_BOX_UPDATE_CHECK_DISABLE": "1",
        "VAGRANT_NO_PLUGINS_UPDATE": "1",
        "VAGRANT_DEFAULT_PROVIDER": "libvirt",
        "VAGRANT_DOTFILE_PATH": str(jail_folder / "dot-vagrant"),
        "VAGRANT_CWD": str(ROOT),
        "LVSLAB_HARNESS": "1",
        "LVSLAB_BOX": box_name,
        "LVSLAB_LIBVIRT_DRIVER": driver,
    }


class VagrantNode(Node):
    def __init__(self, spec: NodeSpec, ssh_config: Path, enter: list[str]) -> None:
        super().__init__(spec)
        self.ssh_config = ssh_config
        self.enter = enter

    def _ssh(self, *extra: str) -> list[str]:
        return [*self.enter, "ssh", "-F", str(self.ssh_config), "-o", "BatchMode=yes", *extra, self.name]

    def shell_argv(self) -> list[str]:
        return [*self._ssh("-t"), "bash -l"]

    def _execute(self, script: str, *, stdin: bytes | None, timeout: float, env: dict[str, str]) -> Result:
        argv = [*self._ssh(), remote_command(script, env)]
        started = time.monotonic()
        try:
            proc = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout,
                                  stdin=None if stdin is not None else subprocess.DEVNULL)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as expired:
            rc, out, err = 124, expired.stdout or b"", (expired.stderr or b"") + b"\n[lvslab] timed out"
        return Result(self.name, script, rc, out.decode(errors="replace"), err.decode(errors="replace"),
                      time.monotonic() - started)


class VagrantLab(Lab):
    provider_name = "vagrant"

    def __init__(self, cluster: Cluster, name: str) -> None:
        super().__init__(cluster, name)
        self.jail = LibvirtJail(name)
        self.ssh_config = self.jail.folder / "ssh-config"
        self.accel: accel.Accel | None = None
        self._domains: list[str] = []  # libvirt's domain names, listed by the first fault verb

    def describe(self) -> str:
        how = f", {self.accel.name.upper()}" if self.accel else ""
        return f"vagrant lab {self.name} ({len(self.cluster.nodes)} VMs{how})"

    def _vagrant(self):  # noqa: ANN202 - python-vagrant's Vagrant, imported only when used
        import vagrant

        assert self.accel is not None
        env = {**os.environ, **vagrant_env(self.jail.folder, box.box_name(), self.accel.libvirt_driver)}
        runner = vagrant.Vagrant(root=str(ROOT), env=env, quiet_stdout=False, quiet_stderr=False)
        runner._vagrant_exe = str(self._wrapper())  # every vagrant command runs inside the jail
        return runner

    def _wrapper(self) -> Path:
        wrapper = self.jail.folder / "vagrant-in-jail"
        if not wrapper.exists():
            wrapper.write_text(f"#!/bin/sh\nexec {shlex.join(self.jail.enter())} {shutil.which('vagrant')} \"$@\"\n")
            wrapper.chmod(0o755)
        return wrapper

    # --- start ------------------------------------------------------------------------
    def start(self) -> None:
        self.accel = accel.choose()
        log.info(f"acceleration: {self.accel.name} ({self.accel.why})")
        add_box()
        self.jail.start()
        runner = self._vagrant()
        with log.step(f"lab: vagrant up --no-provision, {len(self.cluster.nodes)} VMs under {self.accel.name.upper()}"):
            self._up(runner)
        config = runner.ssh_config()
        lines = []
        for raw in config.splitlines():
            # The box lets root in with Vagrant's key: no sudo per command (~0.4 s under TCG).
            lines.append("  User root" if raw.strip() == "User vagrant" else raw)
            if raw.startswith("Host "):
                lines += [f"  {option}" for option in SSH_OPTIONS]
                lines.append(f"  ControlPath {self.jail.folder}/ssh-%h")
        self.ssh_config.write_text("\n".join(lines) + "\n")
        for spec in self.cluster.nodes:
            self.nodes[spec.name] = VagrantNode(spec, self.ssh_config, self.jail.enter())
        with log.step(f"network: {self.cluster.interface} of every VM on the lab LAN"):
            self._wire()
        self._record_boots()

    def _up(self, runner) -> None:  # noqa: ANN001 - python-vagrant's Vagrant
        """`vagrant up`, and once more if it fails: a VM that did not boot (Vagrant destroys it)
        is booted again, the others are left running. Not a repair of the cluster under test
        (nothing is provisioned yet); the failed attempt is logged with its evidence, kept in
        the lab's folder, and shown as a figure in the report."""
        for attempt in range(1, UP_ATTEMPTS + 1):
            started = time.monotonic()
            try:
                for line in runner.up(no_provision=True, provider="libvirt", stream_output=True):
                    line = line.rstrip()
                    if any(word in line for word in PROGRESS_WORDS):
                        log.info(line)
                return
            except subprocess.CalledProcessError as error:
                said = (f"vagrant up failed (exit {error.returncode}); libvirtd said:\n"
                        + self.jail.tail("log/libvirtd.log", 12) + "\n" + self._boot_evidence())
                if attempt == UP_ATTEMPTS:
                    raise LabError(said, f"see {self.jail.folder} (console logs under log/qemu/, "
                                         "earlier attempts under log/attempt-N/)") from None
                kept = self.jail.folder / "log" / f"attempt-{attempt}"
                shutil.copytree(self.jail.folder / "log" / "qemu", kept, dirs_exist_ok=True)
                log.info(f"{said}\n(consoles kept in {kept}); booting the VMs that are not up again, once")
                log.timings.append((f"lab: vagrant up attempt {attempt} failed, VMs not up booted again",
                                    time.monotonic() - started))

    def _consoles(self) -> list[Path]:
        """Each VM's serial console log, as libvirt writes it in the jail."""
        return sorted((self.jail.folder / "log" / "qemu").glob("*-console.log"))

    def _boot_evidence(self) -> str:
        """What each VM's serial console last said, and the management network's DHCP leases:
        enough to tell a VM still booting from one that booted without an address."""
        parts = []
        for console in self._consoles():
            parts.append(f"{console.name} (last lines):\n" + self.jail.tail(f"log/qemu/{console.name}", 25))
        for leases in sorted((self.jail.folder / "lib" / "dnsmasq").glob("*.status")):
            parts.append(f"DHCP leases {leases.name}:\n" + self.jail.tail(f"lib/dnsmasq/{leases.name}", 40))
        return "\n".join(parts)

    def _record_boots(self) -> None:
        """Each VM's own boot, as its systemd measured it (kernel + userspace), kept as a figure."""
        for node in self:
            said = node.run("systemd-analyze time").stdout
            match = re.search(r"=\s*(?:(\d+)min\s*)?([\d.]+)s", said)
            if match:
                seconds = int(match[1] or 0) * 60 + float(match[2])
                log.info(f"boot of VM {node.name}: {said.splitlines()[0].strip()}")
                log.timings.append((f"lab: boot of VM {node.name} (systemd-analyze: kernel + userspace)", seconds))

    def _wire(self) -> None:
        hosts = "\n".join(self.cluster.hosts_lines())
        script = (PROVISION_DIR / "lan.sh").read_text()

        def wire(node: Node) -> None:
            env = {"LAB_IFACE": self.cluster.interface, "LAB_PREFIXLEN": str(self.cluster.prefixlen),
                   "LAB_BROADCAST": self.cluster.broadcast,
                   "LAB_ADDRESSES": " ".join((node.spec.address, *node.spec.aliases)), "LAB_HOSTS": hosts,
                   "LAB_HOSTNAME": node.name}
            result = node.run(["bash", "-s"], stdin=script.encode(), env=env)
            if not result.ok:
                raise LabError(f"could not put {node.name} on the lab LAN:\n{result.describe()}")

        with concurrent.futures.ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
            for future in [pool.submit(wire, node) for node in self]:
                future.result()

    # --- use --------------------------------------------------------------------------
    def _client(self) -> VagrantNode:
        client = self.node(self.cluster.by_role("client")[0].name)
        assert isinstance(client, VagrantNode)
        return client

    def http_get(self, url: str, *, timeout: float = 5.0, source: str | None = None,
                 cookies: dict[str, str] | None = None) -> HttpReply:
        # From inside the client VM: the lab LAN is not reachable from (nor routed to) the host.
        client = self._client()
        argv = ["curl", "-sS", "-k", "-i", "-m", str(timeout), "-H", "Connection: close", "-w", "\n%{http_code}"]
        argv += ["--interface", source] if source else []
        argv += ["-b", "; ".join(f"{k}={v}" for k, v in cookies.items())] if cookies else []
        result = client.run([*argv, url], timeout=timeout + 30)
        if result.rc != 0:
            return HttpReply(False, None, "", result.stderr.strip(), result.seconds)
        response, _, status = result.stdout.rpartition("\n")
        head, _, body = response.replace("\r\n", "\n").partition("\n\n")
        jar = dict(line.split(":", 1)[1].strip().split(";", 1)[0].split("=", 1)
                   for line in head.splitlines() if line.lower().startswith("set-cookie:"))
        return HttpReply(True, int(status), body, "", result.seconds, jar)

    def client_socket(self, address: str, port: int, *, source: str | None = None, timeout: float = 10.0,
                      receive_buffer: int | None = None) -> socket.socket:
        from lab.providers.relay import open_relay

        return open_relay(self._client()._ssh(), address, port, source=source, timeout=timeout, receive_buffer=receive_buffer)

    # --- faults (lab/faults.py): the VMs' own hypervisor does them -----------------------
    # libvirt in the lab's jail: `virsh` there, the LAN's bridge and each VM's tap on it there too.
    BOOT_TIMEOUT = 900.0  # one VM's boot under TCG beside four running ones (five booting: 150-300 s)

    def _virsh(self, *argv: str, what: str = "") -> str:
        return self.jail.run(["virsh", "-c", "qemu:///system", *argv], what=what or f"virsh {argv[0]}").stdout

    def _domain(self, node: str) -> str:
        """The node's libvirt domain (vagrant-libvirt names it <project folder>_<machine>); the
        names are listed once: a domain keeps its name through destroy and start."""
        self.node(node)  # an unknown name fails here, as on every provider
        if not self._domains:
            self._domains = self._virsh("list", "--all", "--name").split()
        found = [d for d in self._domains if d.endswith(f"_{node}")]
        if len(found) != 1:
            raise LabError(f"no single libvirt domain for {node} in {self.jail.name}: {found}")
        return found[0]

    def _lan_port(self, node: str) -> tuple[str, str]:
        """(tap device, MAC) of the node's LAN interface, as `virsh domiflist` lists it (the
        device is "-" while the VM is off)."""
        for line in self._virsh("domiflist", self._domain(node)).splitlines():
            fields = line.split()
            if len(fields) == 5 and fields[2] == LAN_NETWORK:
                return fields[0], fields[4]
        raise LabError(f"{node} has no interface on libvirt network {LAN_NETWORK}")

    def freeze(self, node: str) -> int:
        """`virsh suspend`: the whole VM stops, its kernel too, so it answers no ARP and forwards
        nothing (a namespace node's switch port is disabled for that); how many processes it ran."""
        count = len(self.node(node).succeed(["ps", "-e", "--no-headers"]).splitlines())
        self._virsh("suspend", self._domain(node))
        return count

    def thaw(self, node: str) -> None:
        self._virsh("resume", self._domain(node))

    def set_link(self, node: str, *, up: bool) -> None:
        """`virsh domif-setlink`: the guest's LAN NIC loses (or gets back) its carrier."""
        _, mac = self._lan_port(node)
        self._virsh("domif-setlink", self._domain(node), mac, "up" if up else "down")

    def crash(self, node: str) -> None:
        """`virsh destroy`: the power cut (RAM, VIP and IPVS table gone; the disk kept)."""
        self._virsh("destroy", self._domain(node))

    def boot(self, node: str) -> None:
        """`virsh start`, then wait for its ssh: systemd and its rc links decide what else starts."""
        self._virsh("start", self._domain(node))
        try:
            self.node(node).wait_until_succeeds(["true"], timeout=self.BOOT_TIMEOUT, interval=5)
        except AssertionError as failure:
            raise LabError(f"{node} did not answer ssh after `virsh start`: {failure}",
                           f"its serial console: /var/log/libvirt/qemu/{node}-console.log in the jail") from failure

    def isolate(self, nodes: list[str], *, on: bool) -> None:
        """The nodes' taps on the LAN's bridge isolated (the bridge's port isolation, as on netns):
        they lose each other and still reach every other VM."""
        for node in nodes:
            tap, _ = self._lan_port(node)
            self.jail.run(["bridge", "link", "set", "dev", tap, "isolated", "on" if on else "off"],
                          what=f"isolating {node}'s port")

    def shape_lan(self, netem: list[str] | None, nodes: list[str] | None = None) -> None:
        """netem on each VM's tap (the bridge's way out to that VM), as on every netns switch port;
        with `nodes`, on theirs only."""
        for spec in self.cluster.nodes:
            if nodes is not None and spec.name not in nodes:
                continue
            tap, _ = self._lan_port(spec.name)
            if netem is None:
                self.jail.run(["tc", "qdisc", "del", "dev", tap, "root"], check=False)
            else:
                done = self.jail.run(["tc", "qdisc", "replace", "dev", tap, "root", "netem", *netem], check=False)
                if done.returncode != 0:
                    raise LabError(f"netem on {spec.name}'s tap {tap} failed: {done.stderr.strip()}"
                                   + (" (this host's kernel has no sch_netem)" if "kind is unknown" in done.stderr else ""),
                                   "modprobe sch_netem on the host, or run the lossy-LAN scenario with --lab=netns "
                                   "(the microVM's Debian kernel has netem)")

    def faults_in_place(self) -> list[str]:
        """Read from libvirt and the LAN bridge in the jail: a VM paused (frozen) or shut off
        (crashed), a LAN NIC without carrier, its tap isolated or under netem."""
        left = []
        for spec in self.cluster.nodes:
            domain = self._domain(spec.name)
            state = self._virsh("domstate", domain).strip()
            if state != "running":
                left.append(f"{spec.name}'s VM is {state}")
                continue
            tap, mac = self._lan_port(spec.name)
            if self._virsh("domif-getlink", domain, mac).split()[-1:] != ["up"]:
                left.append(f"{spec.name}'s LAN NIC has no carrier (domif-setlink down)")
            links = json.loads(self.jail.run(["ip", "-j", "-d", "link", "show", "dev", tap]).stdout or "[]")
            qdiscs = json.loads(self.jail.run(["tc", "-j", "qdisc", "show", "dev", tap]).stdout or "[]")
            left += port_faults(spec.name, links, qdiscs)
        return left

    def save_evidence(self, folder: Path) -> None:
        """Each VM's serial console (kernel and systemd messages, as libvirt logged them)."""
        for console in self._consoles():
            shutil.copy(console, folder / console.name)

    # --- teardown ---------------------------------------------------------------------
    def destroy(self) -> None:
        # The VMs, libvirtd, its networks and every ssh master live in the jail's namespace:
        # stopping what runs there and removing its folder leaves nothing behind.
        errors = self.jail.destroy()
        if errors:
            raise LabError(f"teardown of {self.name} left things behind:\n" + "\n".join(errors), "run `lvslab clean`")


def add_box() -> None:
    """The lab's box in the lab's VAGRANT_HOME, built and added if missing."""
    name = box.box_name()
    env = vagrant_env(Path("/"), name, "qemu")
    added = Path(env["VAGRANT_HOME"]) / "boxes" / name.replace("/", "-VAGRANTSLASH-")
    if added.is_dir():
        return
    path = box.ensure_box()
    with cache_lock("vagrant-box-add"):
        if added.is_dir():
            return
        with log.step(f"vagrant box add {name} (from {path})"):
            proc = subprocess.run(["vagrant", "box", "add", "--force", "--name", name, str(path)],
                                  env={**os.environ, **env}, capture_output=True, text=True, stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                raise LabError(f"vagrant box add failed:\n{proc.stderr.strip() or proc.stdout.strip()}",
                               f"remove {path.parent} to rebuild the box")


class VagrantProvider(Provider):
    name = "vagrant"

    def check_host(self) -> None:
        if os.geteuid() != 0:
            raise LabError("the Vagrant lab needs root (its own network namespace and libvirtd)",
                           "run it as root, e.g. `sudo pytest scenarios/ --lab=vagrant`")
        if shutil.which("vagrant") is None:
            raise LabError("vagrant is not installed",
                           "run `./run.sh setup`, or apt-get install --no-install-recommends vagrant vagrant-libvirt")
        plugins = Path("/usr/share/rubygems-integration/all/gems")
        if not list(plugins.glob("vagrant-libvirt-*")) and not _plugin_listed():
            raise LabError("the vagrant-libvirt plugin is not installed", "apt-get install vagrant-libvirt")
        libvirt_jail.check_host()
        if shutil.which("qemu-system-x86_64") is None:
            raise LabError("qemu-system-x86_64 is missing", "apt-get install qemu-system-x86")

    def create(self, cluster: Cluster, *, lab_name: str | None = None) -> Lab:
        name = lab_name or f"{PREFIX}{secrets.token_hex(2)}"
        if not name.startswith(PREFIX):
            raise LabError(f"Vagrant lab name {name!r} must start with {PREFIX!r}", f"use e.g. {PREFIX}mine")
        return VagrantLab(dataclasses.replace(cluster, interface=LAN_INTERFACE), name)


def _plugin_listed() -> bool:
    proc = subprocess.run(["vagrant", "plugin", "list"], capture_output=True, text=True,
                          env={**os.environ, "VAGRANT_CHECKPOINT_DISABLE": "1"})
    return "vagrant-libvirt" in proc.stdout
