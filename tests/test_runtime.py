from pathlib import Path

import pytest

from lab.errors import LabError
from lab.runtime import choose, detect, microvm


def _kernel(monkeypatch, has_ipvs: bool, root: bool = True, vm_ok: bool = True):
    monkeypatch.delenv(detect.IN_VM_ENV, raising=False)
    monkeypatch.setattr(detect, "kernel_info", lambda: detect.KernelInfo("6.18.0", has_ipvs, "test"))
    monkeypatch.setattr(choose.os, "geteuid", lambda: 0 if root else 1000)

    def check_host():
        if not vm_ok:
            raise LabError("the microVM needs qemu-system-x86_64", "apt-get install qemu-system-x86")

    monkeypatch.setattr(microvm, "check_host", check_host)


def test_auto_uses_this_kernel_when_it_has_ipvs(monkeypatch):
    _kernel(monkeypatch, has_ipvs=True)
    assert choose.choose_kernel("auto").where == "host"


def test_auto_uses_the_microvm_without_ipvs(monkeypatch):
    _kernel(monkeypatch, has_ipvs=False)
    choice = choose.choose_kernel("auto")
    assert choice.where == "microvm" and "no IPVS" in choice.why


def test_neither_possible_says_both_and_the_fix(monkeypatch):
    _kernel(monkeypatch, has_ipvs=False, vm_ok=False)
    with pytest.raises(LabError) as error:
        choose.choose_kernel("auto")
    assert "no usable IPVS" in error.value.what and "qemu" in error.value.what
    assert error.value.fix == "apt-get install qemu-system-x86"


def test_not_root_on_a_kernel_with_ipvs_never_claims_it_has_no_ipvs(monkeypatch):
    _kernel(monkeypatch, has_ipvs=True, root=False, vm_ok=False)
    with pytest.raises(LabError) as error:
        choose.choose_kernel("auto")
    assert "has IPVS (test) but the lab on it needs root" in error.value.what
    assert "no usable IPVS" not in error.value.what and "no IPVS" not in error.value.what
    assert error.value.fix.startswith("run as root, or ") and "qemu-system-x86" in error.value.fix
    _kernel(monkeypatch, has_ipvs=True, root=False, vm_ok=True)
    choice = choose.choose_kernel("auto")
    assert choice.where == "microvm" and "needs root" in choice.why and "no IPVS" not in choice.why


def test_netns_check_host_says_root_first_on_a_kernel_with_ipvs(monkeypatch):
    from lab.providers import netns
    _kernel(monkeypatch, has_ipvs=True, root=False)
    monkeypatch.setattr(netns.os, "geteuid", lambda: 1000)
    with pytest.raises(LabError) as error:
        netns.NetnsProvider().check_host()
    assert "needs root" in error.value.what and "no IPVS" not in error.value.what


def test_host_forced_without_ipvs_fails(monkeypatch):
    _kernel(monkeypatch, has_ipvs=False)
    monkeypatch.setattr(detect, "require_ipvs", lambda: (_ for _ in ()).throw(LabError("no IPVS", "boot another")))
    with pytest.raises(LabError, match="no IPVS"):
        choose.choose_kernel("host")


def test_inside_the_microvm_the_guest_kernel_is_used(monkeypatch):
    _kernel(monkeypatch, has_ipvs=True)
    monkeypatch.setenv(detect.IN_VM_ENV, "1")
    monkeypatch.setenv("LVSLAB_WHY", "Debian microVM under TCG")
    assert choose.choose_kernel("microvm") == choose.KernelChoice("host", "Debian microVM under TCG")


def test_vm_command_has_no_network_and_a_read_only_image(tmp_path):
    argv = microvm.vm_argv(["python", "-m", "pytest", "-m", "chapter5 or chapter7"], kernel=Path("/k/vmlinuz"),
                           disk=Path("/c/root.ext4"), rwdirs=[tmp_path], memory="4G", cpus=2,
                           env={"LVSLAB_IN_VM": "1"})
    assert "--disable-kvm" in argv and "--force-9p" in argv
    assert not any(a.startswith("--net") for a in argv), "the microVM must get no network device"
    assert "--qemu-opts=-drive file=/c/root.ext4,if=virtio,format=raw,readonly=on" in argv
    assert f"--rwdir={tmp_path.resolve()}" in argv
    command = argv[argv.index("--exec") + 1]
    assert command.endswith("python -m pytest -m 'chapter5 or chapter7'"), command


def test_the_harness_python_is_the_second_read_only_disk(tmp_path):
    argv = microvm.vm_argv(["true"], kernel=Path("/k/vmlinuz"), disk=Path("/c/root.ext4"), rwdirs=[], memory="4G",
                           cpus=2, env={}, python_disk=Path("/c/python-1.ext4"))
    drives = [a for a in argv if a.startswith("--qemu-opts=-drive")]
    assert drives == ["--qemu-opts=-drive file=/c/root.ext4,if=virtio,format=raw,readonly=on",
                      "--qemu-opts=-drive file=/c/python-1.ext4,if=virtio,format=raw,readonly=on"]
    entry = (Path(microvm.__file__).with_name("vm-entry.sh")).read_text()
    assert "mount -o ro,noload /dev/vdb" in entry and 'mount --bind "/run/lvslab-python/$name" "$target"' in entry


def test_the_python_disk_holds_this_venv_and_is_renamed_when_a_package_is_added(tmp_path, monkeypatch):
    from lab.runtime import pyimage

    venv = tmp_path / "venv"
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    (site / "pytest").mkdir()
    stdlib = tmp_path / "stdlib"
    stdlib.mkdir()
    monkeypatch.setattr(pyimage, "trees", lambda: {"venv": venv, "stdlib": stdlib})
    monkeypatch.setenv("LVSLAB_CACHE", str(tmp_path / "cache"))
    before = pyimage.image_path()
    assert before.parent == tmp_path / "cache" and before.name.startswith("python-")
    (site / "pytest_xdist").mkdir()  # a plugin installed into the venv by hand
    assert pyimage.image_path() != before


def test_the_python_disk_holds_this_interpreter_its_stdlib_and_its_venv():
    import sys
    import sysconfig

    from lab.runtime import pyimage

    found = pyimage.trees()
    assert found["interpreter"] == Path(sys.executable).resolve()
    assert found["stdlib"] == Path(sysconfig.get_paths()["stdlib"])
    assert found.get("venv", Path(sys.prefix)) == Path(sys.prefix)
