"""The Vagrant box: the node image's Debian 12, bootable as a libvirt VM, built here.

Vagrant Cloud is out of reach, so the box is made locally from the same mmdebstrap
package set as the node image (lab/runtime/image.py) plus what a Vagrant VM needs:
systemd, openssh-server, sudo, a `vagrant` user with Vagrant's insecure key, Debian's
kernel and initramfs. It boots by libvirt's direct kernel boot (the kernel and initrd
ship inside the box, its own Vagrantfile points libvirt at them), so no bootloader.
Packaged as a libvirt box (box.img qcow2 + metadata.json), cached beside the node image,
rebuilt only when its recipe changes (the recipe's hash names the box), added to the
lab's own VAGRANT_HOME with `vagrant box add` from the local file.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

from lab import log
from lab.errors import LabError
from lab.runtime import image
from lab.runtime.cachelock import cache_lock

# What a Vagrant VM needs beyond the node image (which boots in namespaces, without systemd).
BOX_EXTRA = ["systemd", "systemd-sysv", "udhcpc", "openssh-server", "sudo", "linux-image-amd64",
             "initramfs-tools", "rsync", "python3", "ca-certificates", "iptables"]
BOX_VERSION = 3
# eth0 is Vagrant's management network (DHCP from libvirt), by ifupdown and busybox's udhcpc:
# systemd-networkd took over a minute to start with five VMs under TCG, and once timed out.
# eth0 is `auto` (networking.service brings it up once, at boot), not `allow-hotplug` (whose
# ifup@eth0.service is bound to the device unit and takes the interface down when that flaps).
# The DHCP client is busybox's udhcpc, started by hand because bookworm's ifupdown passes it no
# options. What a VM's own journal showed when it booted without an address (two of five VMs,
# once): discover, offer, then "broadcasting select" three times with no ACK, and with ifupdown's
# `-n` udhcpc gives up at once ("no lease, failing"), although dnsmasq had committed the lease;
# the jail's neighbour table had that address INCOMPLETE (dnsmasq unicasts its replies to an
# address the VM does not answer ARP for until it is configured). So:
#   -B  ask for broadcast replies (no ARP needed to reach a VM that has no address yet);
#   -b  go on asking in the background instead of failing the boot (-t 5 -T 3 a round, -A 5 between).
INTERFACES = ("source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n\n"
              "auto eth0\niface eth0 inet manual\n"
              "    up ip link set dev eth0 up\n"
              "    up udhcpc -B -b -t 5 -T 3 -A 5 -p /run/udhcpc.eth0.pid -i eth0\n"
              "    down kill $(cat /run/udhcpc.eth0.pid) 2>/dev/null || true\n")
# Units a plain Debian boot would start that the tutorial's nodes must not run on their own
# (provisioning starts apache2 and the chosen stack: heartbeat, which starts ldirectord, or
# keepalived, or corosync and pacemaker), and timers that would only cost CPU under TCG.
DISABLED_UNITS = ["apache2.service", "heartbeat.service", "ldirectord.service", "ipvsadm.service",
                  "apache-htcacheclean.service", "keepalived.service", "corosync.service",
                  "pacemaker.service"]
# Under TCG, with five VMs on two cores, every unit costs seconds of boot: `systemd-analyze blame`
# on a first box showed each of these taking 10-15 s of a 3 min userspace boot.
MASKED_UNITS = ["apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "e2scrub_reap.service",
                "fstrim.timer", "man-db.timer", "logrotate.timer", "dpkg-db-backup.timer",
                "systemd-networkd-wait-online.service", "dev-hugepages.mount", "dev-mqueue.mount",
                "sys-kernel-debug.mount", "sys-kernel-tracing.mount", "sys-kernel-config.mount",
                "sys-fs-fuse-connections.mount", "proc-sys-fs-binfmt_misc.automount", "systemd-binfmt.service",
                "modprobe@drm.service", "modprobe@fuse.service", "modprobe@efi_pstore.service",
                "modprobe@loop.service", "modprobe@dm_mod.service", "modprobe@configfs.service",
                "systemd-pstore.service", "getty@tty1.service"]
# systemd.show_status: with the kernel quiet, systemd still prints each unit starting, failing
# or stopping on the serial console, which a failed bring-up shows (and saves) as evidence.
KERNEL_CMDLINE = ("root=/dev/vda rw console=ttyS0 net.ifnames=0 biosdevname=0 mitigations=off quiet "
                  "systemd.show_status=1")
# A small initramfs: only what finds an ext4 root on virtio (unpacking Debian's default one
# with every storage driver costs seconds per VM under TCG).
INITRAMFS_HOOKS = (
    'echo MODULES=list > "$1/etc/initramfs-tools/conf.d/lvslab"',
    'printf "%s\n" virtio_pci virtio_blk ext4 crc32c_generic >> "$1/etc/initramfs-tools/modules"',
    'chroot "$1" update-initramfs -u -k all',
)
BOX_VAGRANTFILE = f"""# lvs-ha-lab's Debian 12 box: libvirt boots the kernel shipped beside this file.
Vagrant.configure("2") do |config|
  config.vm.provider :libvirt do |libvirt|
    libvirt.kernel = File.join(__dir__, "vmlinuz")
    libvirt.initrd = File.join(__dir__, "initrd.img")
    libvirt.cmd_line = "{KERNEL_CMDLINE}"
  end
end
"""


def insecure_key() -> Path:
    """Vagrant's well-known public key, as shipped with Debian's vagrant."""
    found = sorted(Path("/usr/share/rubygems-integration/all/gems").glob("vagrant-*/keys/vagrant.pub"))
    found += sorted(Path("/opt/vagrant/embedded/gems").glob("gems/vagrant-*/keys/vagrant.pub"))
    if not found:
        raise LabError("Vagrant's insecure key (keys/vagrant.pub) was not found: is vagrant installed?",
                       "apt-get install vagrant vagrant-libvirt (or run `./run.sh setup`)")
    return found[-1]


def recipe() -> dict:
    packages = sorted(set(image.PACKAGES) | set(BOX_EXTRA))
    return {"suite": image.suite(), "variant": image.VARIANT, "packages": packages, "version": BOX_VERSION,
            "disabled": DISABLED_UNITS, "masked": MASKED_UNITS, "cmdline": KERNEL_CMDLINE,
            "initramfs": INITRAMFS_HOOKS, "interfaces": INTERFACES,
            "key": insecure_key().read_text().strip()}


def digest() -> str:
    return hashlib.sha256(json.dumps(recipe(), sort_keys=True).encode()).hexdigest()[:12]


def box_dir() -> Path:
    return image.cache_dir() / f"box-{image.suite()}-{digest()}"


def box_name() -> str:
    """The name the box is added under: a changed recipe is a different box."""
    return f"lvslab/{image.suite()}-{digest()}"


def ensure_box() -> Path:
    """The .box file, built if missing (under a lock: two runs never build it twice at once)."""
    folder = box_dir()
    box = folder / "lvslab.box"
    if box.is_file():
        return box
    with cache_lock(folder.name):
        if box.is_file():
            return box
        started = time.monotonic()
        with log.step(f"Vagrant box: building {box_name()} in {folder}"):
            _build(folder, box)
        built = {"seconds": round(time.monotonic() - started, 1), "name": box_name(),
                 **{k: v for k, v in recipe().items() if k != "key"}}
        (folder / "built.json").write_text(json.dumps(built, indent=2))
    return box


def build_seconds() -> float | None:
    built = box_dir() / "built.json"
    return json.loads(built.read_text())["seconds"] if built.is_file() else None


def _build(folder: Path, box: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    root = folder / "root"
    shutil.rmtree(root, ignore_errors=True)
    image.mmdebstrap(recipe()["packages"], root, customize=INITRAMFS_HOOKS)
    with log.step("Vagrant box: vagrant user, ssh key, systemd units, networking"):
        _customize(root)
    kernel = sorted((root / "boot").glob("vmlinuz-*"))
    initrd = sorted((root / "boot").glob("initrd.img-*"))
    if not kernel or not initrd:
        raise LabError(f"the box's root has no kernel or initramfs in {root}/boot",
                       "check that linux-image-amd64 and initramfs-tools installed in mmdebstrap's output")
    staging = folder / "staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    shutil.copy(kernel[-1], staging / "vmlinuz")
    shutil.copy(initrd[-1], staging / "initrd.img")
    used = int(subprocess.run(["du", "-sb", str(root)], capture_output=True, text=True, check=True).stdout.split()[0])
    size_gb = max(4, math.ceil(used * 2 / 2**30))  # room for logs and packages a user adds
    raw = folder / "disk.raw"
    with log.step(f"Vagrant box: ext4 root of {size_gb} GiB, then qcow2"):
        _run(["mkfs.ext4", "-q", "-F", "-L", "lvslab-root", "-d", str(root), str(raw), f"{size_gb}G"],
             "apt-get install e2fsprogs (1.47 or newer)")
        _run(["qemu-img", "convert", "-O", "qcow2", str(raw), str(staging / "box.img")], "apt-get install qemu-utils")
        raw.unlink()
    (staging / "metadata.json").write_text(json.dumps({"provider": "libvirt", "format": "qcow2",
                                                       "virtual_size": size_gb}))
    (staging / "Vagrantfile").write_text(BOX_VAGRANTFILE)
    partial = box.with_suffix(".partial")
    with log.step("Vagrant box: packing"), tarfile.open(partial, "w") as tar:
        for name in ("metadata.json", "Vagrantfile", "vmlinuz", "initrd.img", "box.img"):
            tar.add(staging / name, arcname=name)
    partial.rename(box)
    shutil.rmtree(staging)
    shutil.rmtree(root)


def _customize(root: Path) -> None:
    def chroot(*argv: str) -> None:
        _run(["chroot", str(root), *argv], "see the box's root in the cache folder")

    chroot("useradd", "--create-home", "--shell", "/bin/bash", "vagrant")
    ssh = root / "home/vagrant/.ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    (ssh / "authorized_keys").write_text(insecure_key().read_text())
    (ssh / "authorized_keys").chmod(0o600)
    chroot("chown", "-R", "vagrant:vagrant", "/home/vagrant/.ssh")
    # The harness logs in as root with the same key (sudo costs ~0.4 s a command under TCG);
    # Vagrant itself uses the vagrant user, as with any box.
    (root / "root/.ssh").mkdir(mode=0o700, exist_ok=True)
    shutil.copy(ssh / "authorized_keys", root / "root/.ssh/authorized_keys")
    sudoers = root / "etc/sudoers.d/vagrant"
    sudoers.write_text("vagrant ALL=(ALL) NOPASSWD: ALL\nDefaults:vagrant !requiretty\n")
    sudoers.chmod(0o440)
    (root / "etc/fstab").write_text("/dev/vda / ext4 defaults,noatime 0 1\n")
    (root / "etc/hostname").write_text("lvslab\n")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n")
    # Empty: each VM makes its own at first boot (the DHCP client id derives from it).
    (root / "etc/machine-id").write_text("")
    (root / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    (root / "etc/network/interfaces").write_text(INTERFACES)
    (root / "etc/ssh/sshd_config.d/lvslab.conf").write_text(
        "UseDNS no\nGSSAPIAuthentication no\nPermitRootLogin prohibit-password\n")
    chroot("systemctl", "disable", *[u for u in DISABLED_UNITS if _unit_exists(root, u)])
    chroot("systemctl", "mask", *MASKED_UNITS)


def _unit_exists(root: Path, unit: str) -> bool:
    return any((root / d / unit).exists() for d in ("lib/systemd/system", "usr/lib/systemd/system", "etc/init.d"))


def _run(argv: list[str], fix: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        raise LabError(f"`{' '.join(argv)}` failed (exit {proc.returncode}):\n{proc.stderr.strip()}", fix)
