"""Where Debian 12 (bookworm) differs from the 2006 tutorial, where Debian 13 (trixie) differs
from bookworm, and what the lab does about each.

The single source for docs/bookworm-differences.md and docs/trixie-differences.md
(`lvslab differences [--release trixie]`) and for the report's differences sections; a unit
test keeps the documents in step with these lists.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Difference:
    key: str
    chapter: str
    tutorial: str
    bookworm: str
    lab: str


DIFFERENCES: tuple[Difference, ...] = (
    Difference("ultramonkey", "2", "`apt-get install ultramonkey` from ultramonkey.org",
               "no ultramonkey package; heartbeat 3.0.6, ldirectord 4.12, ipvsadm 1.31, resource-agents, "
               "cluster-glue and libwww-perl are Debian packages",
               "ch2-packages.sh installs those packages (only when absent)"),
    Difference("debconf", "2", "install questions: load IPVS rules on boot? No; daemon method: none",
               "ipvsadm asks nothing; its settings live in /etc/default/ipvsadm",
               "ch2-packages.sh writes AUTO=\"false\" and DAEMON=\"none\" there"),
    Difference("modprobe", "1", "twelve `modprobe ip_vs_*` calls",
               "same modules", "one `modprobe -a` with the same twelve modules (fewer forks under emulation)"),
    Difference("ipfail", "4", "`respawn hacluster /usr/lib/heartbeat/ipfail`",
               "ipfail moved to /usr/libexec/heartbeat/ipfail", "ha.cf uses the new path"),
    Difference("hacf-additions", "4", "ha.cf logs to syslog facility local0 and leaves heartbeat's timing "
               "at its defaults",
               "same daemon; defaults unchanged",
               "ha.cf adds `logfile /var/log/ha-log` (evidence) and states keepalive 1, warntime 5, deadtime "
               "10, initdead 10 (from cluster.json) so failover detection is bounded under emulation"),
    Difference("LVSSyncDaemonSwap", "4-5", "/etc/ha.d/resource.d/LVSSyncDaemonSwap from Ultra Monkey; status "
               "prints `master running(ipvs_syncmaster pid: 1591)`",
               "absent from every bookworm package",
               "the lab supplies lab/provision/LVSSyncDaemonSwap (master start/stop/status); its status reads "
               "`ipvsadm -L --daemon` and prints `master running (mcast=eth0, syncid=0)`"),
    Difference("sync-threads", "5", "the sync daemon is the kernel thread ipvs_syncmaster",
               "since Linux 3.x its threads are named ipvs-m:GEN:ID (backup ipvs-b:...; GEN numbers the "
               "namespace's IPVS, not the sync id), and a node in its own PID namespace cannot see kernel threads",
               "sync daemon state is read with `ipvsadm -L --daemon`, per network namespace"),
    Difference("fallback-local", "5", "fallback 127.0.0.1:80 shown with Forward `Local`",
               "Linux no longer marks local real servers: it shows `Route`",
               "the chapter 5 check accepts Route or Local for the fallback only"),
    Difference("update-rc.d", "4", "`update-rc.d heartbeat start 75 2 3 4 5 . stop 05 0 1 6 .`",
               "update-rc.d ignores explicit runlevels and uses the script's LSB header",
               "the command is run as written; its warning is expected"),
    Difference("iproute", "6", "`apt-get install iproute`", "the package is iproute2",
               "ch6-realserver.sh ensures iproute2"),
    Difference("docroot", "6", "document root /var/www, /var/www/ldirector.html",
               "Apache's default site serves /var/www/html", "ldirector.html and index.html go to /var/www/html"),
    Difference("ip-addr-format", "5", "`ip addr sh eth0` prints `eth0: mtu 1500 qdisc pfifo_fast`",
               "iproute2 6.1 adds flags, state and `eth0@ifN` for a veth", "checks parse the addresses, not the text"),
    Difference("https-check", "comments", "(not in the tutorial: a commenter asks about SSL) ldirectord's "
               "`service=https` negotiate check",
               "LWP 6 with IO::Socket::SSL verifies the real server's certificate chain; ldirectord's "
               "`verify_hostname => 0` only skips the name, so self-signed certificates fail the check and the "
               "real servers stay quiescent (weight 0)",
               "the tls scenarios put the web nodes' certificates into the balancers' /etc/ssl/certs "
               "(`openssl rehash`)"),
    Difference("node-boot", "-", "four installed Debian hosts with init and syslog",
               "the netns lab's nodes are namespaces on one kernel without systemd",
               "each node's boot creates heartbeat's /run directories from tmpfiles.d and starts busybox syslogd "
               "so `logfacility local0` and ldirectord's `logfile=\"local0\"` land in /var/log/syslog"),
)


BOOKWORM_HEADINGS = ("chapter", "tutorial (2006)", "Debian 12", "what the lab does")
TRIXIE_HEADINGS = ("where", "Debian 12 (bookworm)", "Debian 13 (trixie)", "what the lab does")


def bookworm_rows() -> list[tuple[str, str, str, str]]:
    return [(d.chapter, d.tutorial, d.bookworm, d.lab) for d in DIFFERENCES]


def markdown_table(headings: tuple[str, ...], rows: list[tuple[str, str, str, str]]) -> list[str]:
    return [f"| {' | '.join(headings)} |", "|" + "---|" * len(headings), *(f"| {' | '.join(r)} |" for r in rows)]


def html_table(headings: tuple[str, ...], rows: list[tuple[str, str, str, str]]) -> str:
    from html import escape

    head = "".join(f"<th>{escape(h)}</th>" for h in headings)
    body = "".join("<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def markdown() -> str:
    lines = ["# Where bookworm differs from the tutorial", "",
             "Generated from `lab/differences.py` by `lvslab differences`; do not edit by hand.", "",
             *markdown_table(BOOKWORM_HEADINGS, bookworm_rows())]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ReleaseDifference:
    """Where a later Debian release differs from bookworm, as this lab met it (--lab-release)."""
    key: str
    area: str
    bookworm: str
    later: str
    lab: str


TRIXIE: tuple[ReleaseDifference, ...] = (
    ReleaseDifference("packages", "2",
                      "heartbeat 1:3.0.6-13, ldirectord and resource-agents 1:4.12.0, ipvsadm 1:1.31-1, "
                      "keepalived 1:2.2.7, pacemaker 2.1.5, corosync 3.1.7, apache2 2.4.71",
                      "heartbeat 1:3.0.6-17, ldirectord and resource-agents 1:4.16.0, ipvsadm 1:1.31-5, "
                      "keepalived 1:2.3.3, pacemaker 3.0.0, corosync 3.1.9, apache2 2.4.71: every package the "
                      "tutorial needs is still in Debian, with heartbeat's files (ipfail, cl_status, "
                      "/etc/ha.d/resource.d/IPaddr2, the init script) where bookworm has them",
                      "the same chapter scripts; the image is built from trixie (mmdebstrap, the lab's own "
                      "apt sources file in its cache)"),
    ReleaseDifference("kernel", "1, 5", "Linux 6.1; modules uncompressed in /lib/modules",
                      "Linux 6.12; modules xz-compressed in /usr/lib/modules (merged /usr)",
                      "the microVM boots trixie's kernel package, extracted into the cache; depmod indexes "
                      "/usr/lib/modules; the IPVS modules and sync threads (ipvs-m:GEN:ID) are as on 6.1"),
    ReleaseDifference("apt", "2", "this machine's apt sources are bookworm's",
                      "trixie is a different suite of the same archive",
                      "an apt folder of the lab's own (Dir::Etc::sourceparts, Dir::State::lists, Dir::Cache) "
                      "reads trixie's lists and downloads its kernel; this machine's apt is not touched"),
    ReleaseDifference("behaviour", "5, 7, families",
                      "chapters 5 and 7, persistence and sync pass on every stack; heartbeat and Pacemaker "
                      "run no backup sync daemon on a standby that was never active and drop the synced "
                      "persistence template at failover; keepalived differs in four stated checks",
                      "the same on every stack (measured 2026-11-27): heartbeat 32 of 32, keepalived 32 of 32 "
                      "with the same four differences, Pacemaker 3.0 31 of 32 and, run again, 27 of 27; "
                      "failover times within the spread between runs under emulation. The one failure: the "
                      "first request after persistent=600 was applied got no persistence template (the other "
                      "five stayed on the other server); its cause is not known",
                      "nothing to adapt: the same scenarios, the same expectations"),
    ReleaseDifference("ip-addr-format", "5", "`ip addr` prints a link-local address as `scope link`",
                      "iproute2 adds `proto kernel_ll` after it",
                      "none needed: the checks parse addresses, not the text (the report's diff shows it)"),
)


def trixie_rows() -> list[tuple[str, str, str, str]]:
    return [(d.area, d.bookworm, d.later, d.lab) for d in TRIXIE]


def trixie_markdown() -> str:
    lines = ["# Where trixie differs from bookworm", "",
             "Generated from `lab/differences.py` by `lvslab differences --release trixie`; do not edit by hand.",
             "Run the lab on Debian 13 with `--lab-release=trixie` (`pytest scenarios/ --lab=netns --lab-release=trixie`).",
             "", *markdown_table(TRIXIE_HEADINGS, trixie_rows())]
    return "\n".join(lines) + "\n"
