"""vagrant provider: each node is a Debian 12 VM (vagrant-libvirt) described by the Vagrantfile.

The VMs come up unprovisioned (`vagrant up --no-provision`); the same Provisioner then
runs lab/provision/*.sh on them as on namespaces. Commands go over plain ssh with the
configuration `vagrant ssh-config` wrote once (a `vagrant ssh` per command costs seconds).
Vagrant boxes name the lab LAN's interface eth1 (eth0 is Vagrant's management network).
"""

from __future__ import annotations

import dataclasses
import shlex
import shutil
import subprocess
import time
from pathlib import Path

from lab.cluster import Cluster, NodeSpec
from lab.errors import LabError
from lab.node import Node, Result
from lab.providers.base import HttpReply, Lab, Provider

ROOT = Path(__file__).parents[2]  # where the Vagrantfile is
LAN_INTERFACE = "eth1"


def remote_command(script: str, env: dict[str, str]) -> str:
    """The command line ssh runs on the VM: root, the given environment, /bin/sh -c script."""
    assignments = [f"{k}={v}" for k, v in env.items()]
    return shlex.join(["sudo", "env", *assignments, "/bin/sh", "-c", script])


class VagrantNode(Node):
    def __init__(self, spec: NodeSpec, ssh_config: Path) -> None:
        super().__init__(spec)
        self.ssh_config = ssh_config

    def _execute(self, script: str, *, stdin: bytes | None, timeout: float, env: dict[str, str]) -> Result:
        argv = ["ssh", "-F", str(self.ssh_config), "-o", "BatchMode=yes", self.name, remote_command(script, env)]
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
        import vagrant  # python-vagrant, imported only when this provider is used

        self._vagrant = vagrant.Vagrant(root=str(ROOT), quiet_stdout=False, quiet_stderr=False)
        self.ssh_config = ROOT / ".vagrant" / "lvslab-ssh-config"

    def start(self) -> None:
        self._vagrant.up(no_provision=True)
        self.ssh_config.parent.mkdir(exist_ok=True)
        self.ssh_config.write_text("".join(self._vagrant.ssh_config(vm_name=n.name) for n in self.cluster.nodes))
        for spec in self.cluster.nodes:
            self.nodes[spec.name] = VagrantNode(spec, self.ssh_config)

    def destroy(self) -> None:
        self._vagrant.destroy()

    def http_get(self, url: str, *, timeout: float = 5.0, source: str | None = None,
                 cookies: dict[str, str] | None = None) -> HttpReply:
        # From inside the client VM: the lab LAN is not reachable from (nor routed to) the host.
        client = self.node(self.cluster.by_role("client")[0].name)
        argv = ["curl", "-sS", "-k", "-i", "-m", str(timeout), "-w", "\n%{http_code}"]
        argv += ["--interface", source] if source else []
        argv += ["-b", "; ".join(f"{k}={v}" for k, v in cookies.items())] if cookies else []
        result = client.run([*argv, url], timeout=timeout + 10)
        if result.rc != 0:
            return HttpReply(False, None, "", result.stderr.strip(), result.seconds)
        response, _, status = result.stdout.rpartition("\n")
        head, _, body = response.replace("\r\n", "\n").partition("\n\n")
        jar = dict(line.split(":", 1)[1].strip().split(";", 1)[0].split("=", 1)
                   for line in head.splitlines() if line.lower().startswith("set-cookie:"))
        return HttpReply(True, int(status), body, "", result.seconds, jar)


class VagrantProvider(Provider):
    name = "vagrant"

    def check_host(self) -> None:
        if shutil.which("vagrant") is None:
            raise LabError("vagrant is not installed", "apt-get install vagrant vagrant-libvirt (needs working KVM)")
        if not Path("/dev/kvm").exists():
            raise LabError("no /dev/kvm: the Vagrant lab needs hardware virtualisation",
                           "use --lab=netns (namespaces, in a microVM where the kernel lacks IPVS)")

    def create(self, cluster: Cluster, *, lab_name: str | None = None) -> Lab:
        return VagrantLab(dataclasses.replace(cluster, interface=LAN_INTERFACE), lab_name or "vagrant")

