"""HTTPS through the VIP: "Is it possible to use this setup for load balancing SSL sessions?"

Each web node serves HTTPS with its own certificate, made at provisioning (lab/provision/tls.sh);
a second virtual service, VIP:443, balances it at layer 4 (IPVS never sees inside TLS). The
client is `openssl s_client` on the client node, trusting exactly the two web nodes'
certificates. A TLS session can only be resumed by the server that made it: without
persistence the client's next connection meets the other server and must start over; with
persistent=600 every connection returns to the same server and resumes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from lab.checks.http import served_by
from lab.checks.ipvsadm import parse_table
from lab.cluster import web_names
from lab.service import active_balancer
from lab.stages import wait_for_real_servers

pytestmark = [pytest.mark.tls, pytest.mark.usefixtures("chapter7_cluster")]
WEB = web_names()  # the real servers of lab/cluster.json
PORT = 443
CERT = "/etc/ssl/certs/ssl-cert-snakeoil.pem"
TRUSTED = "/etc/ssl/lab-web-nodes.pem"
SESSION = "/run/lab-tls-session.pem"
QUESTION = "Is it possible to use this setup for load balancing SSL sessions?"


@dataclass(frozen=True)
class Handshake:
    server: str | None
    resumed: bool
    verified: bool
    output: str

    def describe(self) -> str:
        return f"{self.server}: {'resumed' if self.resumed else 'new session'}, {'verified' if self.verified else 'NOT verified'}"


@pytest.fixture(scope="module")
def https(lab, provisioner, service):
    """HTTPS on the web nodes, VIP:443 in ldirectord.cf, the nodes' certificates trusted by the
    client and by the balancers (bookworm's ldirectord verifies the certificate of an https
    check: docs/bookworm-differences.md)."""
    provisioner.run_on([lab.node(n.name) for n in lab.cluster.realservers], "tls.sh")
    certificates = {n.name: lab.node(n.name).succeed(f"cat {CERT}") for n in lab.cluster.realservers}
    wait_for_real_servers(lab)  # enabling mod_ssl restarts Apache
    lab.node(client(lab)).put_file(TRUSTED, "".join(certificates.values()))
    for balancer in lab.cluster.balancers:
        for name, pem in certificates.items():
            lab.node(balancer.name).put_file(f"/etc/ssl/certs/lab-{name}.pem", pem)
        lab.node(balancer.name).succeed("openssl rehash /etc/ssl/certs")
    service.set(tls_port=PORT)
    return f"{lab.cluster.vip}:{PORT}"


def client(lab) -> str:
    return lab.cluster.by_role("client")[0].name


def handshake(lab, address: str, *, resume: bool) -> Handshake:
    """One TLS connection through the VIP, GET / over it; offers the last session when `resume`."""
    command = (f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | openssl s_client -connect {address} -CAfile {TRUSTED} "
               f"-verify_return_error -ign_eof -sess_out {SESSION}" + (f" -sess_in {SESSION}" if resume else ""))
    result = lab.node(client(lab)).run(command, timeout=30)
    output = result.stdout + result.stderr
    assert result.ok, f"the TLS connection through {address} failed:\n{result.describe()}"
    return Handshake(served_by(output), bool(re.search(r"^Reused, TLS", output, re.M)),
                     "Verify return code: 0 (ok)" in output, output)


def chain(lab, address: str, count: int) -> list[Handshake]:
    """A client's successive connections, each offering the session of the one before."""
    return [handshake(lab, address, resume=index > 0) for index in range(count)]


def test_the_https_service_is_balanced_at_layer_4(lab, tutorial, https):
    balancer = lab.node(active_balancer(lab))

    def verify(result) -> None:
        service = parse_table(result.stdout).service(https)
        assert service is not None, f"no virtual service {https}"
        reals = {r.address: r.weight for r in service.reals}
        assert reals == {f"{n.address}:{PORT}": 1 for n in lab.cluster.realservers}, \
            f"both web nodes should be in service on {PORT}: {reals}"

    tutorial.expect("tls", "a second virtual service balances HTTPS", balancer, "ipvsadm -L -n",
                    documented=f"TCP  {https} rr\n  -> 192.168.0.101:{PORT} Route 1\n  -> 192.168.0.102:{PORT} Route 1",
                    verify=verify)


def test_handshakes_complete_through_the_vip_on_both_servers(lab, tutorial, https):
    shakes = [handshake(lab, https, resume=False) for _ in range(4)]
    ok = all(s.verified for s in shakes) and {s.server for s in shakes} == WEB
    tutorial.record("tls", "TLS handshakes through the VIP", "client", f"openssl s_client -connect {https} x4",
                    "each completes, verified, on either web node", "\n".join(s.describe() for s in shakes),
                    "PASS" if ok else "FAIL")
    assert all(s.verified for s in shakes), f"every handshake should verify: {[s.describe() for s in shakes]}"
    assert {s.server for s in shakes} == WEB, f"both web nodes should answer: {[s.describe() for s in shakes]}"


def test_without_persistence_the_next_connection_cannot_resume(lab, tutorial, https):
    shakes = chain(lab, https, 4)
    servers = [s.server for s in shakes]
    alternate = all(a != b for a, b in zip(servers, servers[1:]))
    resumed = [s.resumed for s in shakes[1:]]
    ok = alternate and not any(resumed)
    tutorial.record("tls", "without persistence, TLS sessions are not resumed", "client",
                    "openssl s_client -sess_in (the previous session) x4", QUESTION,
                    "\n".join(s.describe() for s in shakes), "PASS" if ok else "FAIL")
    tutorial.figure("tls", "TLS without persistence", f"{sum(resumed)} of {len(resumed)} offered sessions resumed")
    assert alternate, f"rr should alternate TLS connections between the servers: {servers}"
    assert not any(resumed), f"the other server cannot resume a session it did not make: {resumed}"


def test_with_persistence_a_clients_tls_sessions_stay_on_one_server_and_resume(lab, tutorial, https, service):
    service.set(tls_port=PORT, persistent=600)
    shakes = chain(lab, https, 4)
    servers = {s.server for s in shakes}
    resumed = [s.resumed for s in shakes[1:]]
    ok = len(servers) == 1 and all(resumed)
    tutorial.record("tls", "with persistent=600, TLS sessions stay and resume", "client",
                    "openssl s_client -sess_in (the previous session) x4", QUESTION,
                    "\n".join(s.describe() for s in shakes), "PASS" if ok else "FAIL")
    tutorial.figure("tls", "TLS with persistent=600", f"{sum(resumed)} of {len(resumed)} offered sessions resumed, on {servers}")
    assert len(servers) == 1, f"a persistent client's TLS connections should stay on one server: {servers}"
    assert all(resumed), f"each should resume the session before it: {[s.describe() for s in shakes]}"
