import json
import os
import shlex
import subprocess
import time

import pytest

from lab.errors import LabError
from lab.providers import PROVIDERS, get_provider
from lab.providers.base import Provider, port_faults
from lab.providers.vagrant import WRAPPER, remote_command


def test_unknown_provider_says_which_exist():
    with pytest.raises(LabError) as error:
        get_provider("docker")
    assert error.value.fix == "use one of: netns, vagrant (e.g. --lab=netns)"


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_every_registered_provider_loads_and_keeps_the_contract(name):
    provider = get_provider(name)
    assert isinstance(provider, Provider) and provider.name == name


def test_vagrant_remote_command_keeps_words_and_environment_intact():
    line = remote_command("echo \"$LAB_VIP\" 'a b'", {"LAB_VIP": "192.168.0.105", "LAB_RECEIVE": "Test Page"})
    words = shlex.split(line)
    assert words[:6] == ["env", "LAB_VIP=192.168.0.105", "LAB_RECEIVE=Test Page", "/bin/sh", "-c", WRAPPER]
    assert words[6:] == ["echo \"$LAB_VIP\" 'a b'"]


def test_vagrant_wrapper_keeps_output_and_exit_and_is_not_held_open_by_a_daemon(tmp_path):
    # What ssh runs on the VM, run here: a background child keeps the script's stdout open,
    # yet the command ends at once with the script's own output and exit code.
    started = time.monotonic()
    proc = subprocess.run(["/bin/sh", "-c", WRAPPER, "echo out; echo err >&2; sleep 30 & exit 3"],
                          capture_output=True, text=True, timeout=20, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "out\n", "err\n")
    assert time.monotonic() - started < 10
    assert list(tmp_path.iterdir()) == []


# `virsh domiflist` of a running Vagrant VM, as libvirt 9.0 (bookworm) prints it
DOMIFLIST = """ Interface   Type      Source            Model    MAC
-----------------------------------------------------------------------
 vnet4       network   vagrant-libvirt   virtio   52:54:00:2f:6c:11
 vnet5       network   lvslab-lan        virtio   52:54:00:a1:b2:c3
"""


class _Jail:
    name = "lvslab-vg-test"

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers, self.calls = answers, []

    def run(self, argv, **_):  # noqa: ANN001
        self.calls.append(argv)
        word = argv[3] if argv[0] == "virsh" else argv[0]
        return subprocess.CompletedProcess(argv, 0, self.answers.get(word, ""), "")


def _vagrant_lab(answers: dict[str, str]):
    from lab.cluster import load_cluster
    from lab.providers.vagrant import VagrantLab

    lab = VagrantLab(load_cluster(), "lvslab-vg-test")
    lab.jail = _Jail(answers)
    lab.nodes = {spec.name: object() for spec in lab.cluster.nodes}
    return lab


def test_vagrant_faults_act_on_the_nodes_own_domain_and_lan_port():
    lab = _vagrant_lab({"list": "main_loadb1\nmain_loadb2\nmain_client\n", "domiflist": DOMIFLIST})
    lab.set_link("loadb1", up=False)
    assert lab.jail.calls[-1] == ["virsh", "-c", "qemu:///system", "domif-setlink", "main_loadb1",
                                  "52:54:00:a1:b2:c3", "down"]
    lab.crash("loadb2")
    assert lab.jail.calls[-1][-2:] == ["destroy", "main_loadb2"]
    lab.isolate(["loadb1"], on=True)
    assert lab.jail.calls[-1] == ["bridge", "link", "set", "dev", "vnet5", "isolated", "on"]
    with pytest.raises(LabError, match="no single libvirt domain for webserver1"):
        lab.crash("webserver1")


# `ip -j -d link show dev vnet5` (bridge port, isolated) and `tc -j qdisc show dev vnet5` (netem), as
# iproute2 6.1 prints them (trimmed to the fields read)
ISOLATED = '[{"ifname":"vnet5","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],' \
           '"linkinfo":{"info_slave_kind":"bridge","info_slave_data":{"state":"forwarding","isolated":true}}}]'
NETEM = '[{"kind":"netem","handle":"8001:","dev":"vnet5","root":true,"options":{"limit":1000,"loss-random":{"loss":0.3}}}]'


def test_vagrant_reads_the_faults_still_in_place_from_libvirt_and_the_bridge():
    lab = _vagrant_lab({"list": "main_webserver1\nmain_webserver2\nmain_loadb1\nmain_loadb2\nmain_client\n",
                        "domiflist": DOMIFLIST, "domstate": "running\n", "domif-getlink": "vnet5 up\n",
                        "ip": ISOLATED, "tc": NETEM})
    left = lab.faults_in_place()
    assert "loadb1's switch port is isolated" in left and any(line.startswith("netem on loadb1") for line in left)
    lab.jail.answers.update({"domstate": "paused\n"})
    assert lab.faults_in_place() == [f"{n.name}'s VM is paused" for n in lab.cluster.nodes]
    lab.jail.answers.update({"domstate": "running\n", "domif-getlink": "vnet5 down\n", "ip": "[]", "tc": "[]"})
    assert lab.faults_in_place() == [f"{n.name}'s LAN NIC has no carrier (domif-setlink down)" for n in lab.cluster.nodes]
    lab.jail.answers.update({"domif-getlink": "vnet5 up\n"})
    assert lab.faults_in_place() == []


def test_a_disabled_switch_port_a_frozen_node_left_is_a_fault_in_place():
    disabled = json.loads(ISOLATED.replace('"forwarding","isolated":true', '"disabled"'))
    assert port_faults("loadb1", disabled, []) == [
        "loadb1's switch port is disabled (forwards nothing: a frozen node's silence)"]
    assert port_faults("loadb1", json.loads(ISOLATED.replace(',"isolated":true', "")), []) == []
