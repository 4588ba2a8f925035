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


@pytest.fixture(autouse=True)
def invariants(request):
    """For every scenario on the session's lab: at most one balancer lists the VIP at any sample
    (VipWatch), and no bad news in the balancers' logs (LogWatch), unless the test's
    `expected` marker allows it and says why. A violation is a FAIL row in the report and fails
    the test (at its teardown), with the lines or windows seen."""
    if "lab" not in request.fixturenames:
        yield
        return
    from lab.monitor import LogWatch, VipWatch

    lab, tutorial = request.getfixturevalue("lab"), request.getfixturevalue("tutorial")
    marker = request.node.get_closest_marker("expected")
    allowed_two = marker.kwargs.get("two_vip_holders", "") if marker else ""
    allowed_logs = tuple(marker.kwargs.get("logs", ())) if marker else ()
    logs = LogWatch(lab).start()
    with VipWatch(lab, interval=0.5 if lab.provider_name == "netns" else 5.0) as watch:
        yield
    problems = []
    if watch.violations():
        seen = watch.describe()
        tutorial.record("invariants", "at most one balancer lists the VIP", "balancers",
                        "ip addr (sampled every 0.5 s on netns, 5 s elsewhere)",
                        "one holder or none at every sample" + (f" (allowed here: {allowed_two})" if allowed_two else ""),
                        seen, "PASS" if allowed_two else "FAIL")
        if not allowed_two:
            problems.append(f"two balancers listed the VIP: {seen}")
    unexpected, expected = logs.lines(allowed_logs)
    if unexpected or expected:
        tutorial.record("invariants", "no bad news in the balancers' logs", "balancers",
                        "grep -E (lab/monitor.py BAD_NEWS, the stack's bad_news) /var/log/syslog, the stack's logs, dmesg",
                        "no line" + (f" but those allowed: {allowed_logs}" if allowed_logs else ""),
                        "\n".join(unexpected + [f"(allowed) {line}" for line in expected]),
                        "FAIL" if unexpected else "PASS")
        if unexpected:
            problems.append("bad news in the logs:\n" + "\n".join(unexpected))
    assert not problems, "\n".join(problems)
