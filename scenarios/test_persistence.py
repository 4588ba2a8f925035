"""Sessions: "it also takes care of connections/sessions" - and the comment that says it did not.

"in my opinion the persistant flag is missing ... After I added the option "persistent" to
ldirectord.cf it worked". Each web node serves /cgi-bin/session, a server-side session behind
a cookie (lab/provision/sessions.sh): a request that lands on the other node starts anew.
"""

from __future__ import annotations

from collections import Counter

import pytest

from lab.checks.ipvsadm import parse_connections, parse_table
from lab.cluster import web_names
from lab.service import active_balancer
from scenarios.steps import browse
from lab.wait import wait_until

pytestmark = [pytest.mark.persistence, pytest.mark.usefixtures("chapter7_cluster")]
WEB = web_names()  # the real servers of lab/cluster.json
COMMENT = "After I added the option \"persistent\" to ldirectord.cf it worked: ... persistent=600"


def record(tutorial, title: str, documented: str, visits: list[dict], verdict: bool) -> None:
    observed = "\n".join(" ".join(f"{k}={v}" for k, v in visit.items()) for visit in visits)
    tutorial.record("persistence", title, "client", "GET /cgi-bin/session (new connection each, cookie kept)",
                    documented, observed, "PASS" if verdict else "FAIL")


def test_as_documented_one_clients_connections_alternate_and_its_session_breaks(lab, tutorial, sessions):
    visits = browse(lab, sessions, 4)
    servers = [v["server"] for v in visits]
    alternate = all(a != b for a, b in zip(servers, servers[1:]))
    broken = any(v["new"] == "yes" for v in visits[1:])
    record(tutorial, "without persistent, the session breaks", "This does NOT happen.", visits, alternate and broken)
    assert alternate and set(servers) == WEB, f"rr without persistence should alternate servers: {servers}"
    assert broken, f"the session should break when the next page lands on the other server: {visits}"


def test_with_persistent_600_one_client_stays_on_one_server_and_keeps_its_session(lab, tutorial, sessions,
                                                                                  persistent):
    visits = browse(lab, sessions, 6)
    servers = {v["server"] for v in visits}
    counts = [int(v["count"]) for v in visits]
    record(tutorial, "with persistent=600, the session holds", COMMENT, visits,
           len(servers) == 1 and counts == list(range(1, 7)))
    assert len(servers) == 1, f"a persistent client should stay on one server, saw {servers}"
    assert counts == list(range(1, 7)), f"its session should carry on (counts 1..6), saw {counts}"


def test_with_persistence_distinct_clients_still_spread_over_both_servers(lab, tutorial, sessions, persistent):
    client = lab.cluster.by_role("client")[0]
    first = {alias: browse(lab, sessions, 2, source=alias) for alias in client.aliases[:8]}
    spread = Counter(v[0]["server"] for v in first.values())
    tutorial.figure("persistence", f"{len(first)} persistent clients spread over the servers", f"{dict(spread)}")
    assert {v[0]["server"] for v in first.values()} == WEB, \
        f"eight clients should spread over both servers: {[(a, v[0]['server']) for a, v in first.items()]}"
    assert all(v[0]["server"] == v[1]["server"] for v in first.values()), "each client should stay on its server"


def test_ipvsadm_shows_persistent_600_and_the_persistence_template(lab, tutorial, sessions, persistent):
    client = lab.cluster.by_role("client")[0]
    source = client.aliases[0]
    server = browse(lab, sessions, 1, source=source)[0]["server"]
    active = lab.node(active_balancer(lab))
    service = f"{lab.cluster.vip}:{lab.cluster.service.port}"

    def shows_persistence(result):
        assert parse_table(result.stdout).service(service).persistent == 600, result.stdout

    def has_template(result):
        templates = [c for c in parse_connections(result.stdout) if c.is_template and c.client == source]
        assert templates, f"no persistence template for {source}:\n{result.stdout}"
        assert templates[0].destination == lab.cluster.real_server(server)

    tutorial.expect("persistence", "ipvsadm -L -n shows persistent 600", active, "ipvsadm -L -n",
                    documented="TCP  192.168.0.105:80 rr persistent 600", verify=shows_persistence)
    tutorial.expect("persistence", "ipvsadm -L -n -c shows the client's persistence template", active,
                    "ipvsadm -L -n -c", documented=f"TCP ...  NONE  {source}:0  192.168.0.105:80  (its server)",
                    verify=has_template)


def test_when_its_server_fails_the_persistent_client_moves_to_the_other(lab, tutorial, sessions, persistent):
    source = lab.cluster.by_role("client")[0].aliases[1]
    server = browse(lab, sessions, 1, source=source)[0]["server"]
    other, = WEB - {server}  # the one other web node
    active = lab.node(active_balancer(lab))
    failed = lab.node(server)
    failed.succeed("/etc/init.d/apache2 stop")
    try:
        address = lab.cluster.real_server(server)
        service = f"{lab.cluster.vip}:{lab.cluster.service.port}"

        def quiesced():
            table = parse_table(active.succeed("ipvsadm -L -n")).service(service)
            return table.real(address).weight == 0, table

        wait_until(quiesced, timeout=60, interval=2, what=f"ldirectord to quiesce {server}")
        # With the kernel's default, the client's template still points at the quiescent server:
        stuck = lab.http_get(sessions, source=source)
        # Linux drops such templates only with net.ipv4.vs.expire_quiescent_template = 1.
        active.succeed("sysctl -w net.ipv4.vs.expire_quiescent_template=1")
        moved = browse(lab, sessions, 2, source=source)
        tutorial.record("persistence", "a persistent client whose server fails", "the client moves to the other one",
                        "client", f"GET from {source} after stopping Apache on {server}",
                        f"expire_quiescent_template=0: {stuck.describe()}\n"
                        f"expire_quiescent_template=1: {[v['server'] for v in moved]}",
                        "PASS" if not stuck.ok and {v["server"] for v in moved} == {other} else "FAIL")
        assert not stuck.ok, f"with the default sysctl the client should still be sent to {server}: {stuck.describe()}"
        assert {v["server"] for v in moved} == {other}, f"the client should move to {other}: {moved}"
        assert moved[1]["new"] == "no", "on its new server the client starts one new session and keeps it"
    finally:
        active.succeed("sysctl -w net.ipv4.vs.expire_quiescent_template=0")
        failed.succeed("/etc/init.d/apache2 start")
