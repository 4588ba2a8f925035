"""Connection sync: what LVSSyncDaemonSwap swaps, and what survives a failover because of it.

The active balancer runs the IPVS sync master. What the lab found, as the tutorial configures it:
- A standby that has never been active runs no sync daemon at all, so nothing reaches it.
  Heartbeat runs `LVSSyncDaemonSwap master start` when a node takes the resources (backup
  stopped, master started) and `master stop` when it gives them up (master stopped, backup
  started); a node that has only ever been the standby has run neither, and the tutorial's
  install answered "daemon method: none", so nothing else starts one at boot. Connections and
  templates made before the first failover are lost in it; from then on the node that gave
  the resources up runs the backup. The tests that need a backup daemon on such a standby
  start it by the same script, as a named harness step recorded in the report.
- With a backup daemon, connections and persistence templates made through the active reach
  the standby's table, and an open connection survives the failover; but a persistent client
  does not keep its server. The standby has no virtual service (ldirectord runs only on the
  active), so a synced template arrives bound to no real server, and the new active's first
  lookup invalidates it (ipvsadm then shows it with port 65535) and schedules the client anew.
  With the virtual service on the standby too (as keepalived keeps it on every node), the
  template binds, and the client keeps its server and its session, across failover and back.
"""

from __future__ import annotations

import re
import time

import pytest

from lab.failover import fail_over, rejoin
from lab.checks.ipvsadm import parse_connections, parse_daemons, parse_table
from lab.kernel_threads import sync_threads
from lab.service import active_balancer
from lab.stacks import stack_of
from lab.wait import poll_until, wait_until
from scenarios.steps import browse, check_standby_alive, session_of

pytestmark = [pytest.mark.sync, pytest.mark.usefixtures("chapter7_cluster")]
SWAP = "/etc/ha.d/resource.d/LVSSyncDaemonSwap"
# What heartbeat's ResourceManager logs when it runs the swap (a node that took or gave up the
# resources): "info: Running /etc/ha.d//resource.d/LVSSyncDaemonSwap master start"
SWAPPED = re.compile(r"LVSSyncDaemonSwap master (start|stop)")
# Left on a node by the harness step that starts a backup daemon by hand (`backup_daemon`).
STARTED_BY_HARNESS = "/run/lab-sync-backup-started-by-harness"


def standby_of(lab, active: str) -> str:
    return next(b.name for b in lab.cluster.balancers if b.name != active)


def roles(lab) -> tuple:
    """(active, standby) as they are now."""
    active = active_balancer(lab)
    return lab.node(active), lab.node(standby_of(lab, active))


@pytest.fixture(scope="module")
def balancers(lab):
    """(active, standby) at the start, as they are: no sync daemon is started here (the tests that
    need one say so, `backup_daemon`). At the end the standby's table is emptied again (a test
    may have given it the active's services), unless the stack keeps the service there itself."""
    yield roles(lab)
    if not stack_of(lab.cluster).service_on_standby:  # there the stack owns the standby's table
        roles(lab)[1].run("ipvsadm -C")


def backup_daemon(lab, tutorial, standby) -> None:
    """Harness step, recorded in the report: the backup sync daemon on a standby that has none.
    Heartbeat starts it only on a node that gives the resources up (`LVSSyncDaemonSwap master
    stop`); a standby that has never been active has none (test_a_standby_that_was_never_active_
    runs_no_sync_daemon), and then nothing is synced. The tests of what sync carries across a
    failover need it, so they run that same command by hand, and leave a mark on the node."""
    if any(d.role == "backup" for d in parse_daemons(standby.succeed("ipvsadm -L --daemon"))):
        return  # heartbeat started it when this node gave the resources up
    stack = stack_of(lab.cluster)
    if stack.backup_sync_on_standby:  # the stack runs it itself: nothing for the harness to do
        tutorial.expect("sync", f"{stack.name} runs the backup sync daemon on the standby {standby.name}", standby,
                        "ipvsadm -L --daemon", documented="backup sync daemon (mcast=eth0, syncid=0)",
                        verify=daemons_are("backup"), timeout=30)
        return

    tutorial.expect("sync", f"HARNESS STEP (not the tutorial's): start the backup sync daemon on {standby.name}, "
                    "which heartbeat does not run on a standby that has never been active", standby,
                    f"{SWAP} master stop && touch {STARTED_BY_HARNESS} && ipvsadm -L --daemon",
                    documented="backup sync daemon (mcast=eth0, syncid=0)", verify=daemons_are("backup"))


def mirror(active, standby) -> None:
    """The active's virtual services on the standby too, so that synced templates bind there.
    ldirectord, when it starts on the standby at takeover, adopts what it finds (`ipvsadm -E`)."""
    standby.put_file("/run/lab-ipvs.rules", active.succeed("ipvsadm -S -n"))
    standby.succeed("ipvsadm -C && ipvsadm -R < /run/lab-ipvs.rules")


def failover(lab, active, standby) -> float:
    """The tutorial's failover: the stack (heartbeat) stopped on the active, started again (it
    rejoins as the standby); the seconds until the standby held the VIP."""
    seconds = fail_over(lab, active.name, standby.name)
    rejoin(lab, active.name, standby.name)
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


def daemons_are(*expected: str):
    """A verify for `ipvsadm -L --daemon`: exactly these sync daemons (none for no argument)."""
    def verify(result) -> None:
        seen = [d.role for d in parse_daemons(result.stdout)]
        assert seen == list(expected), f"expected {' and '.join(expected) or 'no'} sync daemon, saw {seen or 'none'}"
    return verify


def never_active(standby) -> bool:
    """Whether the standby is as it booted: heartbeat has never run the swap on it (its log) and
    neither has the harness (its mark)."""
    log = standby.run("cat /var/log/ha-log /var/log/syslog 2>/dev/null").stdout  # heartbeat's; pacemaker's wrapper
    return not SWAPPED.search(log) and standby.run(f"test -e {STARTED_BY_HARNESS}").rc != 0


def as_after_a_boot(lab, tutorial, active, standby) -> None:
    """Harness step, recorded: a standby that has been active (chapter 7 ran first, or a reused
    lab) made as it would be after a reboot: heartbeat stopped, the kernel's sync daemons stopped
    (a reboot forgets them; a stopped heartbeat does not), heartbeat started again."""
    started = time.monotonic()
    stack = stack_of(lab.cluster)
    stack.stop(standby)
    standby.succeed(f"ipvsadm --stop-daemon master; ipvsadm --stop-daemon backup; rm -f {STARTED_BY_HARNESS}; "
                    "ipvsadm -L --daemon")
    stack.start(standby)
    check_standby_alive(tutorial, lab.cluster, standby, active=active.name, chapter="sync", timeout=180)
    tutorial.record("sync", f"HARNESS STEP (not the tutorial's): {standby.name} has been active; made as after a "
                    "reboot", standby.name, f"{stack.init_script} stop; ipvsadm --stop-daemon master|backup; "
                    f"{stack.init_script} start", "(a standby that has never been active)",
                    f"{stack.name} restarted with no sync daemon in the kernel in {time.monotonic() - started:.0f} s",
                    "PASS")


def test_a_standby_that_was_never_active_runs_no_sync_daemon(lab, tutorial, balancers):
    """The finding: as the tutorial configures it, only the active runs a sync daemon (the master);
    a standby that has never been active runs no backup, so nothing made through the active
    reaches it. Checked on a live standby (its heartbeat runs and sees the active), by ipvsadm
    in the standby and by the kernel's threads, and shown with one connection. A stack that
    runs the backup on every standby (keepalived's lvs_sync_daemon) shows the opposite: DIFFERS."""
    active, standby = roles(lab)
    stack = stack_of(lab.cluster)
    syncs = stack.backup_sync_on_standby
    if not syncs and not never_active(standby):
        as_after_a_boot(lab, tutorial, active, standby)
    else:
        check_standby_alive(tutorial, lab.cluster, standby, active=active.name, chapter="sync")
    differs = (f"{stack.title} runs the backup sync daemon on the standby from the start (lvs_sync_daemon), "
               "so connections reach it before any failover") if syncs else ""

    tutorial.expect("sync", "the active runs the sync master alone", active, "ipvsadm -L --daemon",
                    documented="master sync daemon (mcast=eth0, syncid=0)", verify=daemons_are("master"))
    tutorial.expect("sync", "FINDING: a standby that has never been active runs "
                    + ("the backup sync daemon" if syncs else "no sync daemon (no backup)"), standby,
                    "ipvsadm -L --daemon", verify=daemons_are("backup") if syncs else daemons_are(),
                    documented="(not in the tutorial, which shows only `master stopped` on the standby; "
                               "the backup is started by LVSSyncDaemonSwap master stop, when a node gives the "
                               "resources up, and the install answered \"daemon method: none\")",
                    differs=differs, timeout=30 if syncs else 0)

    threads = sync_threads(lab)
    if threads is None:
        tutorial.figure("sync", "the kernel's sync threads", f"not visible to the harness with {lab.describe()}")
    else:  # one kernel for every node here: the active's master thread; a backup thread only if the stack runs one
        ok = (any(t.startswith("ipvs-m:") for t in threads)
              and any(t.startswith("ipvs-b:") for t in threads) == syncs)
        tutorial.record("sync", f"the kernel runs the master's thread and {'a' if syncs else 'no'} backup thread",
                        "kernel (shared by the nodes)", "kernel threads (children of kthreadd) named ipvs-m:* / ipvs-b:*",
                        "(the tutorial's kernel 2.6: ipvs_syncmaster on the active, nothing on the standby)",
                        " ".join(threads) or "(none)", ("DIFFERS" if syncs else "PASS") if ok else "FAIL")
        assert ok, f"expected a master sync thread and {'a' if syncs else 'no'} backup thread in the kernel, saw {threads}"

    source = lab.cluster.by_role("client")[0].aliases[-1]

    def entries(node) -> set[str]:  # the client's connections (address:port), templates aside
        return {c.source for c in parse_connections(node.succeed("ipvsadm -L -n -c")) if c.client == source
                and not c.is_template}

    known = {node.name: entries(node) for node in (active, standby)}
    reply = lab.http_get(f"http://{lab.cluster.vip}/", source=source)
    made = entries(active) - known[active.name]
    assert reply.ok and made, f"a request from {source} should pass {active.name}: {reply.describe()}, new entries {made}"
    learned: list[str] = []

    def learns() -> tuple[bool, list[str]]:
        learned[:] = sorted(entries(standby) - known[standby.name])
        return bool(learned), learned

    # a backup would have it within one send of the master (every 2 s, PLATFORM.md); 6 s is three;
    # not learned is what this check expects without a backup daemon
    poll_until(learns, timeout=6, interval=0.5)
    tutorial.figure("sync", "as configured, before the first failover", f"{standby.name} runs "
                    f"{'the backup' if syncs else 'no'} sync daemon; a connection through {active.name} "
                    f"{'reached' if learned else 'did not reach'} it")
    verdict = ("DIFFERS" if syncs else "PASS") if bool(learned) == syncs else "FAIL"
    tutorial.record("sync", f"FINDING: so a connection made through the active {'reaches' if syncs else 'does not reach'} it",
                    standby.name, "ipvsadm -L -n -c (6 s after a request through the VIP)",
                    "(the tutorial: LVSSyncDaemonSwap \"takes care of connections/sessions\")",
                    f"{active.name} made {sorted(made)}; {standby.name} learned {learned or 'nothing'}", verdict, differs)
    assert bool(learned) == syncs, (f"with {'a' if syncs else 'no'} backup daemon, {standby.name} should "
                                    f"{'' if syncs else 'not '}learn {source}'s connection: {learned or 'nothing'}")


def test_connections_and_templates_reach_the_standby(lab, tutorial, sessions, persistent, balancers):
    active, standby = roles(lab)
    backup_daemon(lab, tutorial, standby)
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
    """Heartbeat's standby has no virtual service, so the synced template binds to nothing and the
    new active drops it. A stack with the service on the standby (keepalived) keeps it: the client
    keeps its server and its session, shown as DIFFERS."""
    active, standby = roles(lab)
    stack = stack_of(lab.cluster)
    keeps = stack.service_on_standby
    backup_daemon(lab, tutorial, standby)
    services = parse_table(standby.succeed("ipvsadm -L -n")).services
    assert bool(services) == keeps, (f"{stack.name}'s standby should have {'the' if keeps else 'no'} virtual service: "
                                     f"{services}")
    source = fresh_source(lab)
    first = browse(lab, sessions, 1, source=source)[0]
    on_standby(standby, source, template_to=lab.cluster.real_server(first['server']))
    seconds = failover(lab, active, standby)
    after = session_of(lab.http_get(sessions, source=source, cookies={"LABSESSION": first["session"]}))
    entries = [c for c in parse_connections(standby.succeed("ipvsadm -L -n -c")) if c.client == source]
    dropped = [c for c in entries if c.is_template and c.virtual.endswith(":65535")]
    kept = after.get("server") == first["server"] and after.get("new") == "no"
    outcome = (f"synced template {'invalidated (port 65535)' if dropped else 'still valid'}; the client went from "
               f"{first['server']} to {after.get('server')}, session {'kept' if after.get('new') == 'no' else 'lost'}")
    tutorial.figure("sync", "a persistent client across failover, as the tutorial configures it", outcome)
    tutorial.figure("sync", "failover (the stack stopped until the standby holds the VIP)",
                    f"{seconds:.1f} s ({stack.init_script} stop)")
    tutorial.expect("sync", f"having given the resources up, {active.name} runs the backup sync daemon "
                    f"({'heartbeat ran LVSSyncDaemonSwap master stop' if stack.name == 'heartbeat' else stack.name})",
                    active, "ipvsadm -L --daemon", documented="backup sync daemon (mcast=eth0, syncid=0)",
                    verify=daemons_are("backup"), timeout=30)
    differs = (f"{stack.title} keeps the virtual service on the standby: the synced template binds there, and the "
               "client keeps its server and its session across the failover") if keeps else ""
    ok = (not dropped and kept) if keeps else bool(dropped)
    tutorial.record("sync", "as configured, the new active " + ("keeps" if keeps else "drops") + " the synced template",
                    standby.name, "ipvsadm -L -n -c", "(the tutorial: \"it also takes care of connections/sessions\")",
                    "\n".join(map(str, entries)) + "\n" + outcome,
                    ("DIFFERS" if keeps else "PASS") if ok else "FAIL", differs)
    if keeps:
        assert ok, f"with the service on {standby.name}, the client should keep {first['server']}: {outcome}"
    else:
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
            backup_daemon(lab, tutorial, standby)
            if not stack_of(lab.cluster).service_on_standby:
                mirror(active, standby)
            lab.http_get(sessions, source=source, cookies={})  # a new connection: its template is synced now
            on_standby(standby, source, template_to=lab.cluster.real_server(server))


def test_a_slow_download_across_failover(lab, tutorial, sessions, balancers):
    """Observed, then asserted: with connection sync, an established connection survives."""
    active, standby = roles(lab)
    backup_daemon(lab, tutorial, standby)
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
