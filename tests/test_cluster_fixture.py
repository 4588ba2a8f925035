"""Scenarios see the cluster as the lab runs it: a provider may rename the LAN (eth1 on Vagrant
VMs, whose eth0 is Vagrant's management network), and every check must then use that name."""

from pathlib import Path

ROOT = Path(__file__).parents[1]
FAKE_PROVIDER = """
import dataclasses

from lab import pytest_plugin
from lab.providers.base import Provider
from tests.fakes import FakeLab


class FakeProvider(Provider):
    name = "vagrant"

    def check_host(self):
        pass

    def create(self, cluster, *, lab_name=None):
        return FakeLab(dataclasses.replace(cluster, interface="eth1"), "lvslab-vg-fake")


pytest_plugin.get_provider = lambda name: FakeProvider()
"""


def test_the_cluster_fixture_is_the_labs_own(pytester, monkeypatch, tmp_path):
    # In a subprocess: the fake provider replaces the plugin's get_provider, which must not
    # leak into this session (where scenarios may run after the unit tests, as in CI).
    monkeypatch.setenv("LVSLAB_ACCEL", "tcg")  # no KVM probe in a unit test
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # tests.fakes
    pytester.makeconftest(FAKE_PROVIDER)
    pytester.makepyfile(test_fake="""
        def test_interface(cluster, lab):
            assert cluster is lab.cluster and cluster.interface == "eth1"
    """)
    result = pytester.runpytest_subprocess("--lab=vagrant", "-p", "no:cacheprovider", "--lab-reports",
                                           str(tmp_path), timeout=300)
    result.assert_outcomes(passed=1)


def test_the_fake_provider_did_not_leak_into_this_session():
    from lab import pytest_plugin
    from lab.providers import get_provider

    assert pytest_plugin.get_provider is get_provider


def test_without_a_lab_the_cluster_is_the_file(pytester):
    pytester.makepyfile(test_plain="""
        def test_interface(cluster):
            assert cluster.interface == "eth0"
    """)
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
