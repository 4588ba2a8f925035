"""Harness unit tests: no root, no lab, no network. Golden files live in tests/golden/."""

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.runtime import detect, microvm

pytest_plugins = ["pytester"]
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden():
    def read(name: str) -> str:
        return (GOLDEN / name).read_text()

    return read


@pytest.fixture
def no_ipvs_no_microvm(monkeypatch):
    """A machine as a new user's might be: outside the microVM, a kernel without IPVS, no qemu."""
    monkeypatch.delenv(detect.IN_VM_ENV, raising=False)
    monkeypatch.setattr(detect, "kernel_info", lambda: detect.KernelInfo("6.18.0", False, "CONFIG_IP_VS is not set"))

    def no_qemu():
        raise LabError("the microVM needs qemu-system-x86_64", "apt-get install qemu-system-x86")

    monkeypatch.setattr(microvm, "check_host", no_qemu)
