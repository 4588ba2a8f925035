"""Fixtures shared by the scenario families that go beyond the tutorial's own chapters."""

import pytest

from lab.service import ServiceControl, service_settings
from lab.stages import wait_for_real_servers


@pytest.fixture(scope="module")
def sessions(lab, provisioner):
    """The session page on both web nodes; its URL through the VIP."""
    provisioner.run_on([lab.node(n.name) for n in lab.cluster.realservers], "sessions.sh")
    wait_for_real_servers(lab)  # enabling mod_cgid restarts Apache: ldirectord quiesces it meanwhile
    return f"http://{lab.cluster.vip}/cgi-bin/session"


@pytest.fixture(scope="module")
def persistent(lab, provisioner, sessions):
    """The commenter's persistent=600 for the module, then the tutorial's service again."""
    with service_settings(lab, provisioner, persistent=600) as table:
        yield table.service(f"{lab.cluster.vip}:{lab.cluster.service.port}")


@pytest.fixture(scope="module")
def service(lab, provisioner):
    """Change the virtual service as a module's tests need; the tutorial's settings come back at its end."""
    control = ServiceControl(lab, provisioner)
    try:
        yield control
    finally:
        control.restore()


@pytest.fixture
def faults(lab):
    """The fault verbs (lab/faults.py); whatever a test leaves broken is undone when it ends, also
    when it failed, so the next test finds a lab it can use."""
    from lab.errors import LabError
    from lab.faults import Faults

    registry = Faults(lab)
    yield registry
    errors = registry.heal_all()
    if errors:
        raise LabError("faults could not be undone:\n" + "\n".join(errors), "lvslab down; lvslab up")
