"""Connection sync: what LVSSyncDaemonSwap swaps, and what survives a failover because of it.

The active balancer runs the IPVS sync master, the standby the backup; connections and
persistence templates made through the active reach the standby's table. What the lab found:
an open connection survives the failover, but as the tutorial configures it a persistent
client does not keep its server. The standby has no virtual service (ldirectord runs only on
the active), so a synced template arrives bound to no real server, and the new active's first
lookup invalidates it (ipvsadm then shows it with port 65535) and schedules the client anew.
With the virtual service on the standby too (as keepalived keeps it on every node), the
template binds, and the client keeps its server and its session, across failover and back.
"""

from __future__ import annotations

import time

import pytest

from lab.checks.cluster import wait_for_active
from lab.checks.ipvsadm import parse_connections, parse_daemons, parse_table
from lab.service import active_balancer
from lab.wait import wait_until
from scenarios.steps import browse, session_of

pytestmark = [pytest.mark.sync, pytest.mark.usefixtures("chapter7_cluster")]
SWAP = "/etc/ha.d/resource.d/LVSSyncDaemonSwap"


def standby_of(lab, active: str) -> str:
    return next(b.name for b in lab.cluster.balancers if b.name != active)


def roles(lab) -> tuple:
    """(active, standby) as they are now."""
    active = active_balancer(lab)
    return lab.node(active), lab.node(standby_of(lab, active))


@pytest.fixture(scope="module")
def balancers(lab):
    """(active, standby) at the start. A standby that never held the resources runs no sync daemon (the
    tutorial answered "daemon method: none"); heartbeat starts the backup when it releases them, through
    `LVSSyncDaemonSwap master stop`, which is run here for a standby that has not done so yet. At the
    end the standby's table is emptied again (a test may have given it the active's services)."""
    active, standby = roles(lab)
    if not parse_daemons(standby.succeed("ipvsadm -L --daemon")):
        standby.succeed(f"{SWAP} master stop")
    yield active, standby
    roles(lab)[1].run("ipvsadm -C")


def mirror(active, standby) -> None:
    """The active's virtual services on the standby too, so that synced templates bind there.
    ldirectord, when it starts on the standby at takeover, adopts what it finds (`ipvsadm -E`)."""
    standby.put_file("/run/lab-ipvs.rules", active.succeed("ipvsadm -S -n"))
    standby.succeed("ipvsadm -C && ipvsadm -R < /run/lab-ipvs.rules")


def failover(lab, active, standby) -> float:
    """The tutorial's failover: heartbeat stopped on the active, started again (it rejoins as standby)."""
    started = time.monotonic()
    active.succeed("/etc/init.d/heartbeat stop", timeout=300)
    wait_for_active(lab, standby.name, timeout=180)
    seconds = time.monotonic() - started
    active.succeed("/etc/init.d/heartbeat start", timeout=300)

    def settled():
        seen = {n.name: n.run("cl_status rscstatus").stdout.strip() for n in (active, standby)}
        return seen == {active.name: "none", standby.name: "all"}, seen

    wait_until(settled, timeout=180, interval=3, what=f"{active.name} to rejoin as the standby")
    return seconds


def on_standby(standby, source: str, *, template_to: str | None = None, timeout: float = 30) -> tuple[float, list]:
    """Wait until the standby's table holds the client `source` (an address:port connection, or with
    `template_to` the address's persistence template to that server); the seconds it took, and the
    standby's entries of that client then. The master sends what it has gathered when its buffer
    fills or every 2 s, so this can take a little over 2 s."""
    started = time.monotonic()

    def wanted(entry) -> bool:
        if template_to:
            return entry.client == source and entry.is_template and entry.destination == template_to
        return entry.source == source

    def synced():
        mine = [c for c in parse_connections(standby.succeed("ipvsadm -L -n -c")) if source in (c.client, c.source)]
        return any(wanted(c) for c in mine), mine

    mine = wait_until(synced, timeout=timeout, interval=0.2, what=f"{source} in {standby.name}'s connection table")
    return time.monotonic() - started, mine


def test_active_runs_the_sync_master_and_the_standby_the_backup(tutorial, balancers):
    active, standby = balancers
    for node, role in ((active, "master"), (standby, "backup")):
        def verify(result, role=role):
            roles = [d.role for d in parse_daemons(result.stdout)]
            assert roles == [role], f"expected the {role} sync daemon alone, saw {roles}"

        tutorial.expect("sync", f"the {role} sync daemon runs", node, "ipvsadm -L --daemon",
                        documented=f"{role} sync daemon (mcast=eth0, syncid=0)", verify=verify)


def test_connections_and_templates_reach_the_standby(lab, tutorial, sessions, persistent, balancers):
    active, standby = balancers
    source = fresh_source(lab)
    server = browse(lab, sessions, 1, source=source)[0]["server"]
    destination = lab.cluster.real_server(server)
    delay, entries = on_standby(standby, source, template_to=destination)
    tutorial.figure("sync", "a new persistence template seen on the standby after", f"{delay:.1f} s (polled every 0.2 s)")
    tutorial.record("sync", "the standby learns the connection and its template", standby.name, "ipvsadm -L -n -c",
                    "(the active's connections, through the sync daemon)", "\n".join(map(str, entries)), "PASS")


def fresh_source(lab) -> str:
    """A client address with no persistence template on either balancer. Templates outlive a
    failover (600 s), and a standby keeps the ones it made while it was active: a sync update for
    the same client does not move such a template to another server, so an address used earlier
    would test that, not the failover."""
    taken = {c.client for b in lab.cluster.balancers
             for c in parse_connections(lab.node(b.name).succeed("ipvsadm -L -n -c")) if c.is_template}
    free = [a for a in lab.cluster.by_role("client")[0].aliases if a not in taken]
    assert free, f"every client address has a persistence template on a balancer ({sorted(taken)}); they expire in 600 s"
    return free[-1]


def test_as_configured_the_new_active_drops_the_synced_template(lab, tutorial, sessions, persistent, balancers):
    active, standby = roles(lab)
    assert not parse_table(standby.succeed("ipvsadm -L -n")).services, "the tutorial's standby has no virtual service"
    source = fresh_source(lab)
    first = browse(lab, sessions, 1, source=source)[0]
    on_standby(standby, source, template_to=lab.cluster.real_server(first['server']))
    seconds = failover(lab, active, standby)
    after = session_of(lab.http_get(sessions, source=source, cookies={"LABSESSION": first["session"]}))
    entries = [c for c in parse_connections(standby.succeed("ipvsadm -L -n -c")) if c.client == source]
    dropped = [c for c in entries if c.is_template and c.virtual.endswith(":65535")]
    outcome = (f"synced template {'invalidated (port 65535)' if dropped else 'still valid'}; the client went from "
               f"{first['server']} to {after.get('server')}, session {'kept' if after.get('new') == 'no' else 'lost'}")
    tutorial.figure("sync", "a persistent client across failover, as the tutorial configures it", outcome)
    tutorial.figure("sync", "failover (heartbeat stop until the standby holds the VIP)", f"{seconds:.1f} s")
    tutorial.record("sync", "as configured, the new active drops the synced template", standby.name,
                    "ipvsadm -L -n -c", "(the tutorial: \"it also takes care of connections/sessions\")",
                    "\n".join(map(str, entries)) + "\n" + outcome, "PASS" if dropped else "FAIL")
    assert dropped, f"expected the unbound synced template to be invalidated on {standby.name}: {entries}"


def test_with_the_service_on_the_standby_a_persistent_client_keeps_its_server_across_failover_and_back(
        lab, tutorial, sessions, persistent, balancers):
    source = fresh_source(lab)
    cookies: dict[str, str] = {}
    server = None
    for count in (1, 2, 3):  # before the failover, after it, after the swap back
        if count > 1:
            active, standby = roles(lab)
            seconds = failover(lab, active, standby)
        reply = lab.http_get(sessions, source=source, cookies=cookies)
        cookies.update(reply.cookies)
        seen = session_of(reply)
        server = server or seen.get("server")
        kept = seen.get("server") == server and seen.get("count") == str(count)
        stage = ("before failover", "after failover", "after swapping back")[count - 1]
        tutorial.record("sync", f"with the service on the standby: a persistent client {stage}", "client",
                        f"GET from {source}", f"stays on {server}, session count {count}", reply.describe(),
                        "PASS" if kept else "FAIL")
        assert kept, f"{stage} the client should stay on {server} with session count {count}: {reply.describe()}"
        if count > 1:
            tutorial.figure("sync", f"with the service on the standby, {stage}", f"client kept {server}, session "
                            f"count {count} (failover {seconds:.1f} s)")
        if count < 3:
            active, standby = roles(lab)
            mirror(active, standby)
            lab.http_get(sessions, source=source, cookies={})  # a new connection: its template is synced now
            on_standby(standby, source, template_to=lab.cluster.real_server(server))


def test_a_slow_download_across_failover(lab, tutorial, sessions, balancers):
    """Observed, then asserted: with connection sync, an established connection survives."""
    active, standby = roles(lab)
    try:
        # A small receive window: the server must wait for the client's ACKs (which pass the
        # director), so the download is still under way when the director changes.
        conn = lab.client_socket(lab.cluster.vip, lab.cluster.service.port, timeout=60, receive_buffer=16384)
    except NotImplementedError as error:
        pytest.skip(str(error))
    conn.sendall(f"GET /big.bin HTTP/1.1\r\nHost: {lab.cluster.vip}\r\nConnection: close\r\n\r\n".encode())
    received = bytearray(conn.recv(16384))
    while b"\r\n\r\n" not in received:
        received += conn.recv(65536)
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
    got = len(body)
    on_standby(standby, "%s:%d" % conn.getsockname())  # the connection entry reaches the standby
    seconds = failover(lab, active, standby)
    outcome = "survived"
    try:
        while got < length:
            chunk = conn.recv(16384)
            if not chunk:
                outcome = f"closed after {got} of {length} bytes"
                break
            got += len(chunk)
    except OSError as error:
        outcome = f"broke after {got} of {length} bytes: {error}"
    finally:
        conn.close()
    tutorial.record("sync", "an open download across failover", "client", "GET /big.bin, read across failover",
                    "(not in the tutorial)", f"{outcome} (failover took {seconds:.1f} s)",
                    "PASS" if outcome == "survived" else "FAIL")
    assert outcome == "survived", f"the connection did not survive the failover: {outcome}"
