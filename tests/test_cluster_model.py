import json

import pytest

from lab.cluster import load_cluster


def test_the_tutorial_topology():
    cluster = load_cluster()
    assert cluster.vip == "192.168.0.105" and cluster.prefixlen == 24 and cluster.broadcast == "192.168.0.255"
    assert [(n.name, n.address) for n in cluster.balancers] == [("loadb1", "192.168.0.103"), ("loadb2", "192.168.0.104")]
    assert [n.address for n in cluster.realservers] == ["192.168.0.101", "192.168.0.102"]
    assert cluster.preferred_balancer.name == "loadb1"
    assert cluster.service.fallback == "127.0.0.1:80" and cluster.service.forwarding == "gate"


def test_provision_env_carries_the_topology():
    env = load_cluster().provision_env()
    assert env["LAB_BALANCERS"] == "loadb1 loadb2" and env["LAB_PREFERRED"] == "loadb1"
    assert env["LAB_REALSERVERS"] == "192.168.0.101 192.168.0.102"
    assert env["LAB_AUTO_FAILBACK"] == "off" and env["LAB_PERSISTENT"] == ""
    assert env["LAB_HB_DEADTIME"] == "10"
    assert all(isinstance(v, str) for v in env.values())


def test_a_changed_cluster_file_changes_the_env(tmp_path):
    data = json.loads(load_cluster.__defaults__[0].read_text())
    data["vip"] = "192.168.0.200"
    data["service"]["persistent"] = 600
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps(data))
    env = load_cluster(path).provision_env()
    assert (env["LAB_VIP"], env["LAB_PERSISTENT"]) == ("192.168.0.200", "600")


def test_unknown_node_is_named_in_the_error():
    with pytest.raises(KeyError, match="loadb3"):
        load_cluster().node("loadb3")
