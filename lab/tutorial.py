"""What the tutorial documents, verbatim (line breaks restored), for the report and the checks.

Source: ../shared/tutorial.txt, chapters 5-7. The parsers in lab/checks read these texts
the same way they read the lab's real output, so "expected" is the tutorial's own words.
"""

from __future__ import annotations

CH5_IP_ADDR_ACTIVE = """\
2: eth0: mtu 1500 qdisc pfifo_fast qlen 1000
    link/ether 00:16:3e:40:18:e5 brd ff:ff:ff:ff:ff:ff
    inet 192.168.0.103/24 brd 192.168.0.255 scope global eth0
    inet 192.168.0.105/24 brd 192.168.0.255 scope global secondary eth0"""

CH5_IP_ADDR_STANDBY = """\
2: eth0: mtu 1500 qdisc pfifo_fast qlen 1000
    link/ether 00:16:3e:50:e3:3a brd ff:ff:ff:ff:ff:ff
    inet 192.168.0.104/24 brd 192.168.0.255 scope global eth0"""

CH5_LDIRECTORD_ACTIVE = "ldirectord for /etc/ha.d/ldirectord.cf is running with pid: 1455"
CH5_LDIRECTORD_STANDBY = "ldirectord is stopped for /etc/ha.d/ldirectord.cf"

CH5_IPVSADM_ACTIVE = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.0.105:80 rr
  -> 192.168.0.101:80             Route   0      0          0
  -> 192.168.0.102:80             Route   0      0          0
  -> 127.0.0.1:80                 Local   1      0          0"""

CH5_IPVSADM_STANDBY = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn"""

CH5_SYNC_ACTIVE = "master running(ipvs_syncmaster pid: 1591)"
CH5_SYNC_STANDBY = "master stopped"

# Chapter 6 has no printed output; what it implies for the active balancer's table
# (not printed by the tutorial: derived from ldirectord's quiescent=yes semantics).
CH6_IPVSADM_ACTIVE = """\
IP Virtual Server version 1.2.1 (size=4096)
Prot LocalAddress:Port Scheduler Flags
  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn
TCP  192.168.0.105:80 rr
  -> 192.168.0.101:80             Route   1      0          0
  -> 192.168.0.102:80             Route   1      0          0"""

CH6_LDIRECTOR_HTML = "Test Page"

CH7_SITE = "You can now access the web site that is hosted by the two Apache nodes by typing http://192.168.0.105"
CH7_ONE_APACHE_DOWN = ("Now stop the Apache on either webserver1 or webserver2. You should then still see "
                       "the web site on http://192.168.0.105")
CH7_BOTH_APACHES_DOWN = "Of course, if you stop both Apaches, then your request will fail."
CH7_FAILOVER = ("Wait a few seconds, and then try http://192.168.0.105 again in your browser. You should "
                "still see your web site because loadb2 has taken the active role now.")
CH7_NO_FAILBACK = "loadb2 should still have the active role."
CH7_INVERSE = ("Do the tests from chapter 5 again on loadb1 and loadb2, and you should see the inverse "
               "results as before.")

# Chapter 4's files, as the tutorial writes them (its page lost the line breaks; restored).
CH4_HA_CF = """\
logfacility        local0
bcast        eth0                # Linux
mcast eth0 225.0.0.1 694 1 0
auto_failback off
node        loadb1
node        loadb2
respawn hacluster /usr/lib/heartbeat/ipfail
apiauth ipfail gid=haclient uid=hacluster"""

CH4_HARESOURCES = """\
loadb1        \\
        ldirectord::ldirectord.cf \\
        LVSSyncDaemonSwap::master \\
        IPaddr2::192.168.0.105/24/eth0/192.168.0.255"""

CH4_AUTHKEYS = """\
auth 3
3 md5 somerandomstring"""

CH4_LDIRECTORD_CF = """\
checktimeout=10
checkinterval=2
autoreload=no
logfile="local0"
quiescent=yes

virtual=192.168.0.105:80
        real=192.168.0.101:80 gate
        real=192.168.0.102:80 gate
        fallback=127.0.0.1:80 gate
        service=http
        request="ldirector.html"
        receive="Test Page"
        scheduler=rr
        protocol=tcp
        checktype=negotiate"""


def config_lines(text: str) -> list[str]:
    """A config file as its meaningful lines: comments dropped, whitespace folded, continuations joined."""
    joined = text.replace("\\\n", " ")
    lines = [" ".join(line.split("#", 1)[0].split()) for line in joined.splitlines()]
    return [line for line in lines if line]
