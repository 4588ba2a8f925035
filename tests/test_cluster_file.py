"""cluster.json is checked when loaded: a broken file names the field and the fix, and never
breaks the collection of `pytest tests/` (the plugin builds node fixtures from it at import)."""

import copy
import json
import os
import subprocess
import sys

import pytest

from lab.cluster import DEFAULT_CLUSTER_FILE, load_cluster
from lab.errors import LabError

GOOD = json.loads(DEFAULT_CLUSTER_FILE.read_text())


def _broken(tmp_path, change):
    data = copy.deepcopy(GOOD)
    change(data)
    path = tmp_path / "cluster.json"
    path.write_text(json.dumps(data))
    return path


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def change(data):
        for key in keys[:-1]:
            data = data[key]
        data[keys[-1]] = value

    return change


@pytest.mark.parametrize(("change", "path", "says"), [
    (_set("nodes", 2, "address", "10.0.0.3"), "nodes[2].address", "not a host address of the LAN 192.168.0.0/24"),
    (_set("nodes", 2, "address", "192.168.0.300"), "nodes[2].address", "not an IPv4 address"),
    (_set("nodes", 1, "address", "192.168.0.101"), "nodes[1].address", "192.168.0.101 is also nodes[0].address"),
    (_set("nodes", 4, "aliases", 0, "192.168.0.105"), "nodes[4].aliases[0]", "is also vip"),
    (_set("nodes", 3, "name", "webserver1"), "nodes[3].name", "is also nodes[0].name"),
    (_set("nodes", 3, "role", "standby"), "nodes[3].role", "use one of balancer, realserver, client"),
    (_set("nodes", 3, "role", "realserver"), "nodes", "1 balancer(s) (nodes[2])"),
    (_set("nodes", 3, "preferred", True), "nodes", "2 preferred balancers"),
    (_set("nodes", 4, "role", "realserver"), "nodes", "0 client(s)"),
    (_set("nodes", 2, "prefered", True), "nodes[2].prefered", "not a field of the cluster"),
    (_set("vip", "192.168.1.105"), "vip", "not a host address of the LAN"),
    (_set("lan", "broadcast", "192.168.0.254"), "lan.broadcast", "set it to \"192.168.0.255\""),
    (_set("service", "scheduler", "round-robin"), "service.scheduler", "rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq"),
    (_set("service", "forwarding", "route"), "service.forwarding", "use one of gate, masq, ipip"),
    (_set("service", "port", "80"), "service.port", "is '80', not an integer"),
    (_set("service", "port", True), "service.port", "not an integer"),
    (_set("service", "persistent", 0), "service.persistent", "use a positive number"),
    (_set("service", "fallback", "localhost"), "service.fallback", "not address:port"),
    (_set("stack", "timing", "deadtime", -1), "stack.timing.deadtime", "is -1"),
    (_set("stack", "timing", "deadtime", 1), "stack.timing.deadtime", "not longer than keepalive"),
    (_set("stack", "auto_failback", "off"), "stack.auto_failback", "not true or false"),
    (_set("stack", "mcast_group", "192.168.0.1"), "stack.mcast_group", "not a multicast group"),
    (_set("keepalived", "priority", 90), "keepalived.priority", "not above peer_priority 100"),
    (_set("keepalived", "virtual_router_id", 300), "keepalived.virtual_router_id", "use 1 to 255"),
    (_set("keepalived", "nopreempt", "yes"), "keepalived.nopreempt", "not true or false"),
    (_set("keepalived", "timing", "advertint", 1), "keepalived.timing.advertint", "not a field of the cluster"),
])
def test_a_broken_field_is_named_with_its_fix(tmp_path, change, path, says):
    with pytest.raises(LabError) as raised:
        load_cluster(_broken(tmp_path, change))
    lines = [line.strip() for line in raised.value.what.splitlines()[1:]]
    assert any(line.startswith(f"{path}: ") and says in line and "(fix: " in line for line in lines), lines
    assert raised.value.fix


def test_every_problem_is_reported_at_once(tmp_path):
    def change(data):
        del data["vip"]
        data["service"]["checkinterval"] = 0
    with pytest.raises(LabError) as raised:
        load_cluster(_broken(tmp_path, change))
    assert "vip: is missing" in str(raised.value) and "service.checkinterval: is 0" in str(raised.value)


def test_a_file_that_is_not_json_names_the_line(tmp_path):
    path = tmp_path / "cluster.json"
    path.write_text('{"name": "x",\n "vip": }')
    with pytest.raises(LabError, match="not valid JSON: .* at line 2"):
        load_cluster(path)


def test_the_shipped_cluster_has_no_problem():
    from lab.cluster_check import problems
    assert problems(GOOD) == []


_RUN_WITH_CLUSTER = """
import sys
from pathlib import Path
import lab.cluster
lab.cluster.DEFAULT_CLUSTER_FILE = Path(sys.argv[1])
import pytest
sys.exit(pytest.main(sys.argv[2:]))
"""


def _pytest_with_cluster(tmp_path, cluster, *args):
    (tmp_path / "test_fake.py").write_text("def test_unit(): pass\ndef test_scenario(loadb1): pass\n")
    # As a run started on this machine: this suite also runs inside the microVM, whose marker
    # (LVSLAB_IN_VM) would make the child skip what a host run does first (the report notice).
    env = {k: v for k, v in os.environ.items() if k != "LVSLAB_IN_VM"}
    return subprocess.run([sys.executable, "-c", _RUN_WITH_CLUSTER, str(cluster), "-p", "no:cacheprovider",
                           "-rs", *args], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)


def test_a_broken_cluster_never_breaks_collection_only_a_lab_run_reports_it(tmp_path):
    broken = _broken(tmp_path, _set("nodes", 2, "address", "10.0.0.3"))
    plain = _pytest_with_cluster(tmp_path, broken)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "1 passed, 1 skipped" in plain.stdout  # the node fixtures still exist: scenarios skip
    for option in ("--lab=netns", "--lab-reuse"):
        lab_run = _pytest_with_cluster(tmp_path, broken, option)
        assert lab_run.returncode == pytest.ExitCode.USAGE_ERROR, lab_run.stdout + lab_run.stderr
        assert "nodes[2].address: 10.0.0.3 is not a host address of the LAN" in lab_run.stderr
        assert "Traceback" not in lab_run.stderr
        assert "has not written its report" in (tmp_path / "reports" / "latest" / "tutorial-report.md").read_text()


def test_an_unknown_stack_says_which_there_are():
    with pytest.raises(LabError, match="unknown stack .corosync.") as raised:
        load_cluster(stack="corosync")
    assert "heartbeat, keepalived, pacemaker" in raised.value.fix
