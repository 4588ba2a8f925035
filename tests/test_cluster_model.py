import json

import pytest

from lab.cluster import DEFAULT_CLUSTER_FILE, load_cluster


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
    data = json.loads(DEFAULT_CLUSTER_FILE.read_text())
    data["vip"] = "192.168.0.200"
    data["service"]["persistent"] = 600
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps(data))
    env = load_cluster(path).provision_env()
    assert (env["LAB_VIP"], env["LAB_PERSISTENT"]) == ("192.168.0.200", "600")


def test_unknown_node_is_named_in_the_error():
    with pytest.raises(KeyError, match="loadb3"):
        load_cluster().node("loadb3")


def test_service_settings_are_shown_only_by_a_table_with_exactly_those_services(golden):
    from lab.checks.ipvsadm import parse_table
    from lab.service import ServiceSettings
    cluster = load_cluster()
    base = ("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n"
            "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n")
    served = base + ("TCP  192.168.0.105:80 wrr\n  -> 192.168.0.101:80 Route 3 0 0\n"
                     "  -> 192.168.0.102:80 Route 1 0 0\n")
    wrr = ServiceSettings(scheduler="wrr", weights={"webserver1": 3})
    assert wrr.shown_by(parse_table(served), cluster) == (True, "as set")
    assert cluster.real_server("webserver2") == "192.168.0.102:80"
    assert wrr.env(cluster)["LAB_WEIGHTS"] == "3 1"
    left_over = served + "TCP  192.168.0.105:443 wrr\n  -> 192.168.0.101:443 Route 3 0 0\n"
    ok, differences = wrr.shown_by(parse_table(left_over), cluster)
    assert not ok and "192.168.0.105:443" in differences
    ok, differences = ServiceSettings().shown_by(parse_table(golden("ipvsadm-ch5-active.txt")), cluster)
    assert not ok and "weight 1" in differences  # chapter 5: real servers still at weight 0


def test_web_names_come_from_the_cluster_file_and_never_raise(tmp_path):
    """The scenarios' set of web nodes is read from the cluster data (one place), leniently."""
    from lab.cluster import web_names

    assert web_names() == {"webserver1", "webserver2"}
    data = json.loads(DEFAULT_CLUSTER_FILE.read_text())
    data["nodes"][1]["name"] = "web2"
    (tmp_path / "renamed.json").write_text(json.dumps(data))
    assert web_names(tmp_path / "renamed.json") == {"webserver1", "web2"}
    (tmp_path / "broken.json").write_text("{")
    assert web_names(tmp_path / "broken.json") == frozenset()
