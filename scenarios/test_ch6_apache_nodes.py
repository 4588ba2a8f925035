"""Chapter 6: Configure The Two Apache Nodes.

"Finally we must configure our Apache cluster nodes ... to accept requests on the virtual
IP address": arp_ignore/arp_announce, the VIP on lo:0, and ldirector.html. Once they hold,
ldirectord's checks succeed and the real servers' weight rises from 0 to 1.
"""

import pytest

from lab import tutorial as doc
from lab.checks.ipaddr import parse_interface
from scenarios.steps import check_ipvs_table

pytestmark = [pytest.mark.chapter6, pytest.mark.usefixtures("chapter6_cluster")]
WEB_NODES = ["webserver1", "webserver2"]


def arp_settings(interface: str) -> dict[str, int]:
    return {"net.ipv4.conf.all.arp_ignore": 1, f"net.ipv4.conf.{interface}.arp_ignore": 1,
            "net.ipv4.conf.all.arp_announce": 2, f"net.ipv4.conf.{interface}.arp_announce": 2}


@pytest.mark.parametrize("name", WEB_NODES)
def test_arp_ignore_and_arp_announce_are_set(lab, cluster, tutorial, name):
    node = lab.node(name)
    wanted = arp_settings(cluster.interface)

    def verify(result):
        seen = dict(line.split(" = ") for line in result.stdout.splitlines())
        assert {k: int(v) for k, v in seen.items()} == wanted, f"expected {wanted}, saw {seen}"

    tutorial.expect("6", "arp_ignore = 1 and arp_announce = 2", node, ["sysctl", *wanted],
                    documented="\n".join(f"{k} = {v}" for k, v in wanted.items()), verify=verify)


@pytest.mark.parametrize("name", WEB_NODES)
def test_the_virtual_ip_is_on_lo0(lab, cluster, tutorial, name):
    def verify(result):
        vip = [i for i in parse_interface(result.stdout).inet if i.address == cluster.vip]
        assert vip and vip[0].prefixlen == 32 and vip[0].label == "lo:0", f"expected {cluster.vip}/32 on lo:0, saw {vip}"

    tutorial.expect("6", "ifup lo:0 put the virtual IP on lo:0", lab.node(name), "ip addr sh lo",
                    documented=f"inet {cluster.vip}/32 scope global lo:0", verify=verify)


@pytest.mark.parametrize("name", WEB_NODES)
def test_ldirector_html_is_the_test_page(lab, cluster, name):
    page = lab.node(name).host.file(f"/var/www/html/{cluster.service.request}")
    assert page.is_file and page.content_string.strip() == doc.CH6_LDIRECTOR_HTML


def test_real_servers_take_weight_and_the_fallback_leaves(tutorial, cluster, loadb1):
    check_ipvs_table(tutorial, cluster, loadb1, documented=doc.CH6_IPVSADM_ACTIVE, chapter="6", timeout=90)
