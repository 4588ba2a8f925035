"""The Vagrant lab's pieces that need no VM: the box recipe, the acceleration probe's verdicts,
the Vagrantfile's isolation settings, and the ssh configuration the harness uses."""

import subprocess
from pathlib import Path

import pytest

from lab.runtime import accel, box, image

ROOT = Path(__file__).parents[1]


def test_the_box_has_every_package_of_the_node_image_plus_what_a_vm_needs(monkeypatch, tmp_path):
    key = tmp_path / "vagrant.pub"
    key.write_text("ssh-rsa AAAA vagrant insecure public key\n")
    monkeypatch.setattr(box, "insecure_key", lambda: key)
    packages = set(box.recipe()["packages"])
    assert set(image.PACKAGES) <= packages, "the two labs must run the same Debian packages"
    assert {"systemd-sysv", "openssh-server", "sudo", "linux-image-amd64", "initramfs-tools"} <= packages
    first = box.box_name()
    monkeypatch.setattr(box, "BOX_EXTRA", [*box.BOX_EXTRA, "htop"])
    assert box.box_name() != first, "a changed recipe must be a new box (rebuilt, added under a new name)"


def test_the_box_boots_its_own_kernel_on_a_virtio_root_with_classic_interface_names():
    assert "libvirt.kernel = File.join(__dir__, \"vmlinuz\")" in box.BOX_VAGRANTFILE
    assert "root=/dev/vda" in box.KERNEL_CMDLINE and "net.ifnames=0" in box.KERNEL_CMDLINE  # eth0, eth1
    assert "heartbeat.service" in box.DISABLED_UNITS and "ldirectord.service" in box.DISABLED_UNITS


def test_the_management_nic_is_brought_up_once_at_boot_and_keeps_asking_for_a_lease():
    """eth0: `auto` (no hotplug unit to take it down again), and udhcpc asking for broadcast
    replies and never giving up; both are part of the box's recipe (a change rebuilds it)."""
    lines = [line.split() for line in box.INTERFACES.splitlines()]
    assert ["auto", "eth0"] in lines and ["allow-hotplug", "eth0"] not in lines
    udhcpc = next(line for line in lines if "udhcpc" in line)
    assert "-b" in udhcpc and "-n" not in udhcpc  # keeps asking in the background, never gives up
    assert "-B" in udhcpc  # broadcast replies: no ARP to a VM that has no address yet
    assert box.recipe.__code__.co_names.count("INTERFACES") == 1


@pytest.mark.parametrize("outcome, expected", [
    (subprocess.CompletedProcess([], 0, "", ""), "kvm"),
    (subprocess.CompletedProcess([], 134, "", "kvm_buf_set_msrs: Assertion failed"), "tcg"),
    (subprocess.TimeoutExpired(["qemu"], 30), "tcg"),
])
def test_kvm_is_chosen_only_when_a_kvm_guest_really_boots(monkeypatch, tmp_path, outcome, expected):
    monkeypatch.delenv(accel.ACCEL_ENV, raising=False)
    monkeypatch.setattr(accel.os, "access", lambda *_: True)
    monkeypatch.setattr(accel.Path, "exists", lambda self: True)

    def run(*args, **kwargs):
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(accel.subprocess, "run", run)
    chosen = accel._probe(tmp_path / "vmlinuz")
    assert chosen.name == expected
    assert chosen.libvirt_driver == ("kvm" if expected == "kvm" else "qemu")
    if expected == "tcg":
        assert "/dev/kvm exists but" in chosen.why


def test_the_probe_is_a_kvm_boot_that_ends_by_itself():
    argv = accel.probe_argv(Path("/k/vmlinuz"))
    assert ["-accel", "kvm"] == argv[1:3] and "-no-reboot" in argv and "panic=-1" in argv[-1]


def test_the_vagrantfile_keeps_every_network_inside_the_lab():
    text = (ROOT / "Vagrantfile").read_text()
    assert 'libvirt.management_network_mode = "none"' in text  # no NAT out of the jail
    assert 'libvirt__forward_mode: "veryisolated"' in text and "auto_config: false" in text
    assert 'ENV.fetch("LVSLAB_BOX"' in text and 'ENV.fetch("LVSLAB_LIBVIRT_DRIVER"' in text
    assert "lab/provision/lan.sh" in text  # the same LAN script the harness runs


def test_the_relay_hands_out_a_socket_whose_bytes_cross_a_real_connection():
    # The relay runs here instead of on the client VM: `sh -c` stands in for ssh.
    import socket
    import threading

    from lab.providers.relay import open_relay

    server = socket.create_server(("127.0.0.1", 0))
    seen: list[tuple[str, int]] = []

    def serve() -> None:
        conn, peer = server.accept()
        seen.append(peer)
        with conn:
            conn.sendall(b"hello " + conn.recv(100))

    threading.Thread(target=serve, daemon=True).start()
    relayed = open_relay(["sh", "-c"], "127.0.0.1", server.getsockname()[1], source="127.0.0.1", timeout=10,
                         receive_buffer=4096)
    relayed.sendall(b"world")
    assert relayed.recv(100) == b"hello world"
    assert relayed.recv(100) == b"", "the server's close reaches the harness"
    relayed.close()
    assert seen and seen[0][0] == "127.0.0.1"
    with pytest.raises(ConnectionError, match="failed"):
        port = server.getsockname()[1]
        server.close()
        open_relay(["sh", "-c"], "127.0.0.1", port, source=None, timeout=5, receive_buffer=None)


def test_clean_removes_what_a_killed_vagrant_run_left_and_spares_a_live_one(monkeypatch, tmp_path):
    import json
    import os

    from lab.proc import owner_record
    from lab.runtime import libvirt_jail

    monkeypatch.setattr(libvirt_jail, "RUN_DIR", tmp_path / "run")
    (tmp_path / "run").mkdir()
    stopped: list[str] = []
    monkeypatch.setattr(libvirt_jail, "destroy_namespace", lambda name: stopped.append(name) or [])
    monkeypatch.setattr(libvirt_jail.netns, "listnetns", lambda: ["lvslab-vg-dead", "lvslab-vg-live", "lvslab-x-b"])
    dead_folder = tmp_path / "dead-vms"
    dead_folder.mkdir()
    dead = {"name": "lvslab-vg-dead", "folder": str(dead_folder), "owner": 2**22 + 7, "owner_start": "1"}
    live = {"name": "lvslab-vg-live", "folder": str(tmp_path / "live-vms"), **owner_record()}
    for state in (dead, live):
        (tmp_path / "run" / f"{state['name']}.json").write_text(json.dumps(state))
    report = libvirt_jail.clean_all()
    assert stopped == ["lvslab-vg-dead"], "only the dead run's jail (and no other lab's namespace) is stopped"
    assert not dead_folder.exists() and not (tmp_path / "run" / "lvslab-vg-dead.json").exists()
    assert (tmp_path / "run" / "lvslab-vg-live.json").exists()
    assert any("left Vagrant lab lvslab-vg-live alone" in line for line in report)
    assert os.getpid() == live["owner"]
    libvirt_jail.clean_all(force=True)
    assert "lvslab-vg-live" in stopped and not (tmp_path / "run" / "lvslab-vg-live.json").exists()


def test_evidence_includes_what_only_the_provider_sees_and_never_raises(tmp_path):
    from lab import evidence
    from lab.node import Result

    class Spec:
        role, name = "client", "client"

    class Node:
        name, spec = "client", Spec()

        def run(self, command, timeout=30):
            return Result("client", command, 0, "seen\n", "", 0.1)

    class ConsoleLab:
        def __iter__(self):
            return iter([Node()])

        def save_evidence(self, folder):
            (folder / "client-console.log").write_text("Debian GNU/Linux 12 client ttyS0\n")

    class BrokenLab(ConsoleLab):
        def save_evidence(self, folder):
            raise OSError("console gone")

    evidence.collect(ConsoleLab(), tmp_path / "a")
    assert (tmp_path / "a" / "client-console.log").read_text().startswith("Debian")
    assert "journalctl" in (tmp_path / "a" / "client.txt").read_text()
    evidence.collect(BrokenLab(), tmp_path / "b")
    assert "console gone" in (tmp_path / "b" / "provider-evidence-error.txt").read_text()


def test_vagrant_up_boots_again_once_and_says_so_then_gives_up_with_the_consoles(monkeypatch, tmp_path):
    """A VM that does not boot (Vagrant destroys it) gets one more `vagrant up`; the failed
    attempt's consoles are kept and its time is a figure; a second failure is a LabError."""
    import subprocess

    from lab import log
    from lab.cluster import load_cluster
    from lab.errors import LabError
    from lab.providers.vagrant import VagrantLab
    from lab.runtime import image

    monkeypatch.setattr(image, "cache_dir", lambda: tmp_path)
    the_lab = VagrantLab(load_cluster(), "lvslab-vg-test")
    consoles = the_lab.jail.folder / "log" / "qemu"
    consoles.mkdir(parents=True)
    (consoles / "webserver1-console.log").write_text("Debian GNU/Linux 12 lvslab ttyS0\n\nlvslab login:\n")

    class Runner:
        def __init__(self, failures):
            self.failures, self.calls = failures, 0

        def up(self, **_):
            self.calls += 1
            if self.calls <= self.failures:
                raise subprocess.CalledProcessError(1, "vagrant up")
            return iter(["==> webserver1: Machine booted and ready!\n"])

    log.timings.clear()
    once = Runner(failures=1)
    the_lab._up(once)
    assert once.calls == 2
    assert (the_lab.jail.folder / "log" / "attempt-1" / "webserver1-console.log").is_file()
    assert [t for t, _ in log.timings] == ["lab: vagrant up attempt 1 failed, VMs not up booted again"]
    with pytest.raises(LabError) as failed:
        the_lab._up(Runner(failures=2))
    assert "webserver1-console.log (last lines):" in failed.value.what and "lvslab login:" in failed.value.what
    log.timings.clear()
