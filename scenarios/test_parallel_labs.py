"""Two complete labs side by side in one kernel: the same addresses, each its own cluster.

A second lab, built from the same cluster data (the same 192.168.0.x addresses, the same VIP),
runs beside the session's lab in the same kernel (the microVM, or an IPVS host). Namespaces
keep them apart: each has its own VIP holder and its own IPVS table, and a request made in one
never reaches the other. This is what lets two runs share a machine (issue 8, point 7).
"""

from __future__ import annotations

from typing import Iterator

import pytest

from lab import log, stages
from lab.readings import ipvs_table, service_stats, settled_stats, vip_holders
from lab.providers import get_provider
from lab.providers.base import Lab
from lab.provision import Provisioner
from lab.service import active_balancer
from lab.wait import wait_until

pytestmark = [pytest.mark.parallel, pytest.mark.usefixtures("chapter7_cluster")]


@pytest.fixture(scope="module")
def second_lab(request, lab: Lab) -> Iterator[Lab]:
    """Another whole lab (five nodes, its switch, chapters 1-6 provisioned, real servers in service)."""
    if request.config.option.lab != "netns":
        pytest.skip("a second lab of five VMs beside the first is a test for the netns provider")
    other = get_provider("netns").create(lab.cluster)
    try:
        with log.step(f"parallel: a second lab {other.name} beside {lab.name}"):
            other.start()
            stages.reach(other, Provisioner(other), "ch7")
        yield other
    finally:
        other.destroy()


def _conns(lab: Lab) -> int:
    """Connections the active balancer's virtual service has scheduled since it was made."""
    return service_stats(lab.node(active_balancer(lab)), _service(lab))[""].conns


def _service(lab: Lab) -> str:
    return f"{lab.cluster.vip}:{lab.cluster.service.port}"


def test_each_lab_has_its_own_virtual_ip_holder(lab, second_lab):
    assert len(vip_holders(lab)) == 1, f"the session's lab: the VIP is held by {vip_holders(lab)}"
    # The second lab went through chapters 5-6 only: its preferred balancer holds its VIP.
    assert vip_holders(second_lab) == [lab.cluster.preferred_balancer.name]
    assert lab.name != second_lab.name


def test_a_request_in_one_lab_never_reaches_the_other(lab, second_lab):
    for sender, other in ((lab, second_lab), (second_lab, lab)):
        before = (_conns(sender), _conns(other))
        replies = [sender.http_get(f"http://{sender.cluster.vip}/") for _ in range(4)]
        assert all(r.ok and r.status == 200 for r in replies), [r.describe() for r in replies]
        # Counters lag up to one estimator tick; wait for the sender's, then read the other's
        # after that tick too, so "unchanged" is not a reading taken too early.
        settled = settled_stats(sender.node(active_balancer(sender)), _service(sender),
                                lambda now: now[""].conns - before[0] >= 4,
                                what=f"{sender.name}'s balancer to count the 4 requests")
        after = (settled[""].conns, _conns(other))
        assert after[0] - before[0] == 4, f"{sender.name}'s balancer scheduled {after[0] - before[0]} of 4 requests"
        assert after[1] == before[1], f"{other.name}'s balancer saw {after[1] - before[1]} of {sender.name}'s requests"


def test_each_lab_has_its_own_ipvs_table(lab, second_lab):
    """A real server failing in the second lab quiesces it there (weight 0) and nowhere else."""
    webserver1 = lab.cluster.real_server("webserver1")
    second_active = second_lab.node(active_balancer(second_lab))
    service = _service(lab)

    def weight(table_lab: Lab) -> int:
        table = ipvs_table(table_lab.node(active_balancer(table_lab))).service(service)
        return {r.address: r.weight for r in table.reals}[webserver1] if table else -1

    second_lab.node("webserver1").succeed("/etc/init.d/apache2 stop")
    try:
        wait_until(lambda: (weight(second_lab) == 0, weight(second_lab)), timeout=60, interval=2,
                   what=f"ldirectord on {second_active.name} of {second_lab.name} to quiesce webserver1")
        assert weight(lab) == 1, f"the session's lab changed too: webserver1 has weight {weight(lab)}"
    finally:
        second_lab.node("webserver1").succeed("/etc/init.d/apache2 start")
