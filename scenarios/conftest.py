"""Fixtures shared by the scenario families that go beyond the tutorial's own chapters."""

import pytest

from lab.service import service_settings


@pytest.fixture(scope="module")
def sessions(lab, provisioner):
    """The session page on both web nodes; its URL through the VIP."""
    for node in lab.cluster.realservers:
        provisioner.run_script(lab.node(node.name), "sessions.sh")
    return f"http://{lab.cluster.vip}/cgi-bin/session"


@pytest.fixture(scope="module")
def persistent(lab, provisioner, sessions):
    """The commenter's persistent=600 for the module, then the tutorial's service again."""
    with service_settings(lab, provisioner, persistent=600) as service:
        yield service
