"""Forwarding methods: the tutorial's direct routing (gate) and LVS's other two, masquerading
(masq, NAT) and tunnelling (ipip), each serving real traffic through the VIP.

ldirectord.cf names the method on each real= line; lab/provision/forwarding.sh does what each
needs on the nodes (NAT: real servers answer via the director, which sends no redirects;
IPIP: real servers unwrap on tunl0). The path of the replies tells the methods apart:
`ipvsadm --stats` counts the packets coming back through the director (OutPkts), and
each real server's tunl0 counts the packets it unwrapped.
"""

from __future__ import annotations

import json
import time

import pytest

from lab.checks.http import served_by
from lab.readings import service_stats, settled_stats
from lab.checks.ipvsadm import parse_table
from lab.cluster import web_names
from lab.service import FORWARD_NAMES, active_balancer
from lab.wait import wait_until
from scenarios.steps import ask

pytestmark = [pytest.mark.forwarding, pytest.mark.usefixtures("chapter7_cluster")]
WEB = web_names()  # the real servers of lab/cluster.json
NODES_TO_PREPARE = ("realserver", "balancer")


def prepare(lab, provisioner, method: str) -> None:
    nodes = [lab.node(node.name) for role in NODES_TO_PREPARE for node in lab.cluster.by_role(role)]
    provisioner.run_on(nodes, "forwarding.sh", settings={"LAB_FORWARDING": method})


@pytest.fixture(scope="module")
def methods(lab, provisioner, service):
    """Direct routing again on every node at the end of the module (the service comes back first)."""
    yield
    service.restore()
    prepare(lab, provisioner, lab.cluster.service.forwarding)


@pytest.fixture(scope="module", params=["gate", "masq", "ipip"])
def forwarding(request, lab, provisioner, service, methods, tutorial):
    method = request.param
    prepare(lab, provisioner, method)
    service.set(forwarding=method)
    tutorial.figure("forwarding", f"{method}: both servers answering after the switch", answering(lab, method))
    return method


def answering(lab, method: str) -> str:
    """Wait until both web nodes answer through the VIP (two requests in a row, rr); what that took.

    Once, in CI, the first requests after switching to ipip failed for a few seconds ("No route to
    host" after 3 s) on one server and then worked; the tests below check a method once it works,
    and the report shows how long that took and what failed before."""
    started, failed = time.monotonic(), []

    def probe() -> tuple[bool, object]:
        replies = [lab.http_get(f"http://{lab.cluster.vip}/", timeout=5) for _ in range(2)]
        failed.extend(r.describe() for r in replies if not r.ok)
        servers = {served_by(r.body) for r in replies if r.ok}
        return servers == WEB, [r.describe() for r in replies]

    wait_until(probe, timeout=45, interval=1, what=f"both web nodes to answer through the VIP with {method}")
    return f"{time.monotonic() - started:.1f} s" + (f"; {len(failed)} failed first: {failed[0]}" if failed else "")


def stats(lab) -> dict:
    return service_stats(lab.node(active_balancer(lab)), f"{lab.cluster.vip}:{lab.cluster.service.port}")


def counted(lab, before: dict) -> dict:
    """The counters once IPVS has counted the new packets (they lag up to one estimator tick)."""
    return settled_stats(lab.node(active_balancer(lab)), f"{lab.cluster.vip}:{lab.cluster.service.port}",
                         lambda now: now[""].in_packets > before[""].in_packets,
                         what="IPVS to count the new requests")


def unwrapped(lab) -> int:
    """Packets all real servers' tunl0 received (0 where there is no tunl0)."""
    total = 0
    for node in lab.cluster.realservers:
        result = lab.node(node.name).run("ip -s -j link show tunl0")
        if result.ok:
            total += json.loads(result.stdout)[0]["stats64"]["rx"]["packets"]
    return total


def test_the_table_shows_the_method(lab, tutorial, forwarding):
    balancer = lab.node(active_balancer(lab))

    def verify(result) -> None:
        service = parse_table(result.stdout).service(f"{lab.cluster.vip}:{lab.cluster.service.port}")
        methods = {r.address: r.forward for r in service.reals if not r.address.startswith("127.")}
        assert set(methods.values()) == {FORWARD_NAMES[forwarding]}, \
            f"real servers should be forwarded by {FORWARD_NAMES[forwarding]}: {methods}"

    tutorial.expect("forwarding", f"{forwarding}: the real servers' forwarding method", balancer, "ipvsadm -L -n",
                    documented=f"-> RemoteAddress:Port {FORWARD_NAMES[forwarding]} ...", verify=verify)


def test_the_site_answers_through_the_vip_from_both_servers(lab, tutorial, forwarding):
    servers = ask(lab, 6)
    tutorial.record("forwarding", f"{forwarding}: the site answers through the VIP", "client",
                    f"GET http://{lab.cluster.vip}/ x6", "both web nodes answer", f"{servers}",
                    "PASS" if set(servers) == WEB else "FAIL")
    assert set(servers) == WEB, f"with {forwarding}, both web nodes should answer through the VIP: {servers}"


def test_replies_take_the_methods_path(lab, tutorial, forwarding):
    before, tunnelled_before = stats(lab), unwrapped(lab)
    ask(lab, 4)
    after = counted(lab, before)
    tunnelled = unwrapped(lab) - tunnelled_before
    back_through_director = after[""].out_packets - before[""].out_packets
    into_director = after[""].in_packets - before[""].in_packets
    observed = (f"4 requests: {into_director} packets in, {back_through_director} back through the director, "
                f"{tunnelled} unwrapped on tunl0")
    expected = {"gate": "no reply packet through the director, none tunnelled",
                "masq": "the replies come back through the director",
                "ipip": "the requests arrive tunnelled; no reply through the director"}[forwarding]
    ok = {"gate": back_through_director == 0 and tunnelled == 0,
          "masq": back_through_director > 0,
          "ipip": back_through_director == 0 and tunnelled > 0}[forwarding]
    tutorial.record("forwarding", f"{forwarding}: the path of the replies", active_balancer(lab), "ipvsadm -L -n --stats --exact",
                    expected, observed, "PASS" if ok else "FAIL")
    tutorial.figure("forwarding", f"forwarding {forwarding}", observed)
    assert into_director > 0, f"the requests should pass the director: {observed}"
    assert ok, f"{forwarding}: expected {expected}; saw {observed}"
