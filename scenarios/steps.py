"""The tutorial's chapter 5 checks as steps, run in chapter 5 and again, inverted, in chapter 7.

Each step runs the tutorial's own command on a balancer, parses what it printed and
compares it with what the tutorial documents (lab/tutorial.py), through tutorial.expect,
which also records the check in the reproduction report.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from lab import tutorial as doc
from lab.checks.http import served_by
from lab.checks.ipaddr import parse_interface
from lab.checks.ipvsadm import parse_stats, parse_table, table_differences
from lab.cluster import Cluster
from lab.node import Node, Result
from lab.report import TutorialReport
from lab.checks.heartbeat import parse_ha_timing
from lab.errors import LabError
from lab.evidence import NEIGHBOUR_LOG
from lab.faults import kill_tree
from lab.provision import in_parallel
from lab.readings import vip_holders
from lab.stacks import stack_of
from lab.stacks.base import ACTIVE, STANDBY, StackView
from lab.stages import ACTIVE_TIMEOUT, wait_for_real_servers
from lab.wait import wait_until


def check_standby_alive(tutorial: TutorialReport, cluster: Cluster, standby: Node, *, active: str,
                        chapter: str = "5", timeout: float = 30) -> None:
    """The premise of every absence checked on the hot-standby: its stack (heartbeat, keepalived)
    runs, sees the active as active and holds nothing itself. A standby whose stack is dead has
    no VIP, no ldirectord and an empty table too, so without this those checks would pass on a
    dead node. Read from the stack's own status tool (cl_status, keepalived's data)."""
    stack = stack_of(cluster)
    peer = cluster.node(active)

    def verify(result: Result) -> None:
        view = stack.view(cluster.node(standby.name), peer, result.stdout + result.stderr)
        assert view.running, f"{stack.name} is not running on the hot-standby {standby.name}: its absences prove nothing"
        assert view.role == STANDBY and view.peer_seen, \
            f"{standby.name}'s {stack.name} should see {active} active and hold nothing itself; " \
            f"its own view: role {view.role}, {active} seen active: {view.peer_seen}"

    tutorial.expect(chapter, f"the hot-standby's {stack.name} runs and sees {active} active", standby,
                    stack.status_command(peer), documented=stack.documented_standby(standby.spec, peer),
                    verify=verify, timeout=timeout)


def check_vip_listing(tutorial: TutorialReport, cluster: Cluster, node: Node, *, active: bool,
                      chapter: str = "5", timeout: float = 0) -> None:
    def verify(result: Result) -> None:
        lan = parse_interface(result.stdout)
        assert node.address in lan.addresses, f"{node.name} lost its own address {node.address}: {lan.addresses}"
        vip = [inet for inet in lan.inet if inet.address == cluster.vip]
        if active:
            assert vip, f"the active balancer {node.name} should list the VIP {cluster.vip}; {lan.name} has {lan.addresses}"
            seen = (vip[0].prefixlen, vip[0].broadcast, vip[0].secondary)
            assert seen == (cluster.prefixlen, cluster.broadcast, True), \
                f"expected inet {cluster.vip}/{cluster.prefixlen} brd {cluster.broadcast} secondary, saw {vip[0]}"
        else:
            assert not vip, f"the hot-standby {node.name} should not list the VIP; {lan.name} has {lan.addresses}"

    role = "active load balancer lists" if active else "hot-standby does not list"
    tutorial.expect(chapter, f"the {role} the virtual IP", node, f"ip addr sh {cluster.interface}",
                    documented=doc.CH5_IP_ADDR_ACTIVE if active else doc.CH5_IP_ADDR_STANDBY,
                    verify=verify, timeout=timeout)


def check_health_checker(tutorial: TutorialReport, cluster: Cluster, node: Node, *, active: bool,
                         chapter: str = "5") -> None:
    """ldirectord runs on the active only (heartbeat starts it with the resources); a stack that
    keeps the service on the standby checks the real servers there too."""
    stack = stack_of(cluster)
    expected = active or stack.service_on_standby
    differs = "" if expected == active else (f"{stack.title} checks the real servers on both balancers; "
                                             "the tutorial's ldirectord runs on the active only")

    def verify(result: Result) -> None:
        running = stack.checker_running(result.stdout + result.stderr)
        assert running == expected, \
            f"{stack.name}'s health checker should be {'running' if expected else 'stopped'} on {node.name}"

    name = "ldirectord" if stack.name == "heartbeat" else f"{stack.name}'s health checker"
    tutorial.expect(chapter, f"{name} is {'running' if expected else 'stopped'}", node, stack.checker_command,
                    documented=doc.CH5_LDIRECTORD_ACTIVE if active else doc.CH5_LDIRECTORD_STANDBY, verify=verify,
                    differs=differs)


def check_ipvs_table(tutorial: TutorialReport, cluster: Cluster, node: Node, *, documented: str,
                     chapter: str = "5", timeout: float = 0, active_table: str | None = None) -> None:
    """`documented`: the tutorial's table on this node. On the standby (an empty table documented),
    `active_table` is the active's: what a stack that keeps the service on the standby shows there."""
    fallback = frozenset({cluster.service.fallback})
    stack = stack_of(cluster)
    differs = ""
    if active_table is not None and stack.service_on_standby:
        documented, differs = active_table, (f"{stack.title} keeps the virtual service, and its checks, on the "
                                             "standby too; the tutorial's standby has an empty table")

    def verify(result: Result) -> None:
        problems = table_differences(parse_table(documented), parse_table(result.stdout), may_show_route=fallback)
        assert not problems, f"ipvsadm -L -n on {node.name} differs from the tutorial:\n" + "\n".join(problems)

    empty = not parse_table(documented).services
    tutorial.expect(chapter, "the IPVS table is empty" if empty else "the IPVS table is the documented one",
                    node, "ipvsadm -L -n", documented=documented, verify=verify, timeout=timeout, differs=differs)


def check_sync_daemon(tutorial: TutorialReport, cluster: Cluster, node: Node, *, active: bool,
                      chapter: str = "5") -> None:
    stack = stack_of(cluster)

    def verify(result: Result) -> None:
        running = stack.sync_master_running(result.stdout + result.stderr)
        assert running == active, f"the sync master should be {'running' if active else 'stopped'} on {node.name}"

    tutorial.expect(chapter, f"the LVS sync master is {'running' if active else 'stopped'}", node, stack.sync_command,
                    documented=doc.CH5_SYNC_ACTIVE if active else doc.CH5_SYNC_STANDBY, verify=verify)


def check_site(tutorial: TutorialReport, lab, *, documented: str, requests: int = 4,
               answered_by: set[str] | None = None, answers: bool = True, chapter: str = "7") -> list[str | None]:
    """Ask http://VIP/ from the client `requests` times, each on a new connection."""
    url = f"http://{lab.cluster.vip}/"
    replies = [lab.http_get(url, timeout=5) for _ in range(requests)]
    servers = [served_by(r.body) if r.ok else None for r in replies]
    observed = "\n".join(f"{i + 1}: {r.describe()}" for i, r in enumerate(replies))
    try:
        if answers:
            assert all(r.ok and r.status == 200 for r in replies), f"the site should answer on {url}:\n{observed}"
            if answered_by is not None:
                assert set(servers) == answered_by, f"expected answers from {sorted(answered_by)}, saw {servers}"
        else:
            assert not any(r.ok for r in replies), f"requests to {url} should fail:\n{observed}"
    except AssertionError as failure:
        tutorial.record(chapter, "the site on the virtual IP", "client", f"GET {url} x{requests}", documented,
                        observed, "FAIL", str(failure))
        raise
    title = "the site answers on the virtual IP" if answers else "the request fails"
    tutorial.record(chapter, title, "client", f"GET {url} x{requests}", documented,
                    observed + f"\nanswered by: {servers}", "PASS")
    return servers


@contextmanager
def reaching_the_fallback(tutorial: TutorialReport, cluster: Cluster, active: Node, *, requests: int,
                          chapter: str = "7", timeout: float = 15) -> Iterator[None]:
    """Around requests that must fail for the tutorial's reason: the balancer got them and had no
    real server in service, so it sent them to the fallback (where nothing listens on the balancer).
    A client that cannot reach the balancer at all fails too; the active's counters tell the two
    apart: the fallback's connection count grows by one per request. Counters, not the connection
    table: a refused connection's entry expires 10 s after it closes (seen: CLOSE 00:08 two seconds
    on), while the counters lag about 2 s (PLATFORM.md), hence the timeout."""
    service = f"{cluster.vip}:{cluster.service.port}"
    command = "ipvsadm -L -n --stats --exact"

    def conns(text: str) -> int:
        counters = parse_stats(text).get(service, {}).get(cluster.service.fallback)
        return counters.conns if counters else 0

    before = conns(active.succeed(command))
    yield

    def verify(result: Result) -> None:
        grew = conns(result.stdout) - before
        assert grew >= requests, (f"{active.name} should have sent the {requests} failed requests to the fallback "
                                  f"{cluster.service.fallback}; its connection count grew by {grew} (from {before})")

    tutorial.expect(chapter, "the requests reached the balancer, which had only the fallback", active, command,
                    verify=verify, timeout=timeout, interval=2,
                    documented=f"TCP  {service}  ...\n  -> {cluster.service.fallback}  Conns +{requests} (one per request)")


def session_of(reply) -> dict[str, str]:
    """The fields of a /cgi-bin/session answer (server=, session=, count=, new=); {} for a failed request."""
    return dict(pair.split("=", 1) for pair in reply.body.split()) if reply.ok else {}


def browse(lab, url: str, visits: int, source: str | None = None) -> list[dict[str, str]]:
    """A browser keeping its session cookie, opening a new connection for each page of /cgi-bin/session."""
    cookies: dict[str, str] = {}
    seen = []
    for _ in range(visits):
        reply = lab.http_get(url, source=source, cookies=cookies)
        assert reply.ok and reply.status == 200, f"the session page should answer: {reply.describe()}"
        cookies.update(reply.cookies)
        seen.append(session_of(reply))
    return seen


def ask(lab, count: int, *, source: str | None = None, url: str | None = None) -> list[str]:
    """`count` requests through the VIP, each on a new connection: which web node answered each."""
    url = url or f"http://{lab.cluster.vip}/"
    replies = [lab.http_get(url, timeout=5, source=source) for _ in range(count)]
    failed = [r.describe() for r in replies if not (r.ok and r.status == 200)]
    assert not failed, (f"requests to {url} from {source or 'the client'} failed: {failed}\n"
                        + network_when_failed(lab))
    return [served_by(r.body) or "?" for r in replies]


# Read at once when a request through the VIP failed. "No route to host" after ~3 s is a
# neighbour (ARP) resolution that failed, on the client or on the director (which then answers
# ICMP host-unreachable); the tables show which, and the message carries them into CI's output.
NEIGHBOURS = f"ip -s neigh show; tail -n 15 {NEIGHBOUR_LOG} 2>/dev/null"
NETWORK_READINGS = {"balancer": f"{NEIGHBOURS}; ipvsadm -L -n -c | grep -E '^pro|SYN|ESTABLISHED'",
                    "realserver": NEIGHBOURS, "client": NEIGHBOURS}


def network_when_failed(lab) -> str:
    nodes = [(spec.name, command) for role, command in NETWORK_READINGS.items()
             for spec in lab.cluster.by_role(role)]

    def read(name: str, command: str) -> str:
        try:
            result = lab.node(name).run(command, timeout=20)
            return f"--- {name}: {command}\n{result.stdout}{result.stderr}"
        except LabError as error:
            return f"--- {name}: {command}\ncould not be read: {error}"

    return "the network right after the failure:\n" + "\n".join(
        in_parallel([lambda n=name, c=command: read(n, c) for name, command in nodes]))


@contextmanager
def held_download(lab, *, source: str | None = None) -> Iterator[None]:
    """A connection through the VIP kept open: curl on the client reads /big.bin at 1 KB/s.

    A process on the client node (not a socket of this harness), so every provider can hold one.
    """
    client = lab.node(lab.cluster.by_role("client")[0].name)
    pidfile = f"/run/lab-held-{source or 'main'}.pid"
    bind = f"--interface {source} " if source else ""
    url = f"http://{lab.cluster.vip}/big.bin"
    client.succeed(f"setsid -f sh -c 'echo $$ > {pidfile}; exec curl -s {bind}--limit-rate 1k -o /dev/null {url}'"
                   " </dev/null >/dev/null 2>&1")
    try:
        yield
    finally:
        client.run(f"kill $(cat {pidfile}) && rm -f {pidfile}")


def restart_pair(tutorial: TutorialReport, lab, chapter: str, why: str, before: str, *,
                 kill: tuple[str, ...] = ()) -> dict[str, dict[str, float]]:
    """HARNESS STEP: heartbeat started again on both balancers the way chapter 5 starts it: stopped
    on both first (SIGKILLed with what it started on the nodes in `kill`, whose stop hangs), then started on both.
    heartbeat reads its timers, and forgets its peers' generations, only when it starts (`reload`
    re-reads authkeys alone). Then one VIP holder, its peer a live standby, every real server in
    service, or a LabError. Returns the timers each heartbeat runs (cl_status hbparameter)."""
    cluster, stack = lab.cluster, stack_of(lab.cluster)
    balancers = [lab.node(n.name) for n in cluster.balancers]
    in_parallel([lambda n=n: kill_tree(n, "heartbeat") if n.name in kill else stack.stop(n) for n in balancers])
    in_parallel([lambda n=n: stack.start(n) for n in balancers])

    def one_active() -> tuple[bool, str]:
        holder, seen = live_pair(lab)
        return holder is not None, seen

    try:
        seen = wait_until(one_active, timeout=ACTIVE_TIMEOUT, interval=3, what="one active and its standby")
        wait_for_real_servers(lab)
        verdict = "PASS"
    except AssertionError as failure:
        seen, verdict = str(failure), "ERROR"
    running = {n.name: parse_ha_timing(n.run("for p in keepalive deadtime; do echo $p $(cl_status hbparameter -p $p); "
                                             "done").stdout) for n in balancers}
    stopped = "; ".join(f"{n.name}: " + ("kill -KILL heartbeat" if n.name in kill else "/etc/init.d/heartbeat stop")
                        for n in balancers)
    tutorial.record(chapter, f"HARNESS STEP: heartbeat started again on both balancers: {why}",
                    ", ".join(n.name for n in balancers),
                    f"{before}; {stopped}; /etc/init.d/heartbeat start (both); cl_status hbparameter",
                    "(an operator's step, not a check)", f"{seen}\nrunning timers: {running}", verdict)
    if verdict != "PASS":
        raise LabError(f"heartbeat did not come back as one active and its standby ({why}): {seen}",
                       "lvslab down; lvslab up")
    return running


def balancer_views(lab) -> dict[str, StackView]:
    """Each balancer's own view (its stack's status tool), of itself and of the other balancer."""
    cluster, stack = lab.cluster, stack_of(lab.cluster)
    return {n.name: stack.read(lab.node(n.name), next(p for p in cluster.balancers if p.name != n.name))
            for n in cluster.balancers}


def judge_pair(holders: list[str], views: dict[str, StackView]) -> tuple[str | None, str]:
    """live_pair's verdict on readings already made (vip_holders, balancer_views)."""
    if len(holders) != 1:
        return None, f"VIP held by {holders}"
    own, (other, view) = views[holders[0]], next((n, v) for n, v in views.items() if n != holders[0])
    live = own.role == ACTIVE and view.running and view.role == STANDBY and view.peer_seen
    return (holders[0] if live else None), f"VIP on {holders}; {holders[0]} says it is {own.role}; {other}: {view}"


def live_pair(lab) -> tuple[str | None, str]:
    """(the VIP holder, what was seen) when one balancer alone holds the VIP, its own stack says
    it is active with its takeover over (heartbeat: rscstatus "all" or its own share, not
    "transition"), and the other's stack runs, sees it active and holds nothing (the standby
    check_standby_alive checks, read the same way); (None, what was seen) otherwise.

    The holder's own word counts too: after a healed split on a slow run the holder listed the
    VIP while its heartbeat stayed "in transition" (the known race, README), and a pair handed on
    so made the next test fault a node still taking over."""
    holders = vip_holders(lab)
    return judge_pair(holders, balancer_views(lab) if len(holders) == 1 else {})
