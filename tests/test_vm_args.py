"""pytest's options through the microVM: paths land on this machine, the rest passes untouched."""

import shutil
import tempfile
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.runtime.choose import KernelChoice
from lab.runtime.vm_args import vm_pytest_args

CWD = Path("/work/main")


def test_paths_become_absolute_and_their_folders_are_shared():
    vm = vm_pytest_args(["scenarios/", "--lab=netns", "--junitxml=/tmp/x/j.xml", "--basetemp", "bt/run",
                         "--lab-reports=out", "--html", "~/r/report.html", "--report-log=logs/r.jsonl"], CWD)
    assert vm.args == ["scenarios/", "--lab=netns", "--junitxml=/tmp/x/j.xml", "--basetemp", "/work/main/bt/run",
                       f"--lab-reports={CWD}/out", "--html", f"{Path.home()}/r/report.html",
                       f"--report-log={CWD}/logs/r.jsonl"]
    # a file: its folder; --basetemp: its parent (pytest removes and makes the folder itself,
    # which it cannot do to a mount point); --lab-reports: the folder itself
    assert vm.rwdirs == [Path("/tmp/x"), CWD / "bt", CWD / "out", Path.home() / "r", CWD / "logs"]


def test_pytest_habits_pass_through_unchanged():
    args = ["scenarios/", "--lab=netns", "-x", "-k", "vip and not standby", "--maxfail=2", "--lf", "--ff",
            "-m", "chapter5 or chapter7", "-p", "xdist", "-o", "junit_family=xunit2", "-rA", "--timeout=60"]
    assert vm_pytest_args(args, CWD).args == args


def test_the_always_shared_folders_come_first_and_a_folder_inside_one_is_not_shared_twice():
    vm = vm_pytest_args(["--junitxml=reports/ci/j.xml", "--junit-xml", "/tmp/a/j.xml", "--log-file=/tmp/a/b/l.txt"],
                        CWD, always=[CWD / "reports", CWD / ".pytest_cache"])
    assert vm.args == [f"--junitxml={CWD}/reports/ci/j.xml", "--junit-xml", "/tmp/a/j.xml", "--log-file=/tmp/a/b/l.txt"]
    assert vm.rwdirs == [CWD / "reports", CWD / ".pytest_cache", Path("/tmp/a")]


def test_file_names_after_a_double_dash_are_left_alone():
    vm = vm_pytest_args(["-x", "--", "--junitxml=odd-test-file.py"], CWD)
    assert vm.args == ["-x", "--", "--junitxml=odd-test-file.py"] and vm.rwdirs == []


def test_paths_the_microvm_cannot_share_are_a_lab_error_with_the_fix():
    with pytest.raises(LabError, match="whole root"):
        vm_pytest_args(["--basetemp=/scratch"], CWD)
    with pytest.raises(LabError, match="cannot share /tmp/a:b"):
        vm_pytest_args(["--junitxml=/tmp/a:b/j.xml"], CWD)


def test_the_plugin_runs_the_rewritten_command_with_the_cache_writable(pytester, monkeypatch):
    """What reaches run_in_vm: the user's paths absolute and shared, the cache provider on
    (no `-p no:cacheprovider`) and .pytest_cache shared, made with pytest's own supporting files."""
    from lab import pytest_plugin
    from lab.runtime import detect, microvm

    seen: dict = {}

    def run_in_vm(command, *, cwd, rwdirs, why, timeout, memory):
        seen.update(command=command, rwdirs=rwdirs)
        return 0

    monkeypatch.delenv(detect.IN_VM_ENV, raising=False)
    monkeypatch.setattr(pytest_plugin, "choose_kernel", lambda kernel: KernelChoice("microvm", "no IPVS here"))
    monkeypatch.setattr(microvm, "run_in_vm", run_in_vm)
    pytester.makepyfile("def test_x(): pass")
    out = pytester.path / "out"
    # a --basetemp of our own: pytester's would be the parent of pytester.path, shared whole
    scratch = Path(tempfile.mkdtemp(prefix="lvslab-test-"))
    try:
        result = pytester.runpytest("--lab=netns", "-x", "--junitxml=out/j.xml", "--lf", f"--basetemp={scratch}/bt")
    finally:
        shutil.rmtree(scratch)
    assert result.ret == 0
    run, = (pytester.path / "reports" / "runs").iterdir()  # this run's own report folder, given to the VM
    assert seen["command"][1:] == ["-m", "pytest", f"--lab-reports={run}", "--lab=netns", "-x",
                                   f"--junitxml={out}/j.xml", "--lf", f"--basetemp={scratch}/bt"]
    cache = pytester.path / ".pytest_cache"
    assert seen["rwdirs"] == [pytester.path / "reports", cache, out, scratch]
    assert (cache / ".gitignore").is_file()


def test_the_cache_stays_off_when_the_user_turned_it_off(pytester, monkeypatch):
    from lab import pytest_plugin
    from lab.runtime import detect, microvm

    seen: dict = {}
    monkeypatch.delenv(detect.IN_VM_ENV, raising=False)
    monkeypatch.setattr(pytest_plugin, "choose_kernel", lambda kernel: KernelChoice("microvm", "no IPVS here"))
    monkeypatch.setattr(microvm, "run_in_vm", lambda command, **kw: seen.update(command=command, **kw) or 0)
    pytester.makepyfile("def test_x(): pass")
    scratch = Path(tempfile.mkdtemp(prefix="lvslab-test-"))
    try:
        assert pytester.runpytest("--lab=netns", "-p", "no:cacheprovider", f"--basetemp={scratch}/bt").ret == 0
    finally:
        shutil.rmtree(scratch)
    assert seen["rwdirs"] == [pytester.path / "reports", scratch]
    assert "no:cacheprovider" in seen["command"] and not (pytester.path / ".pytest_cache").exists()
