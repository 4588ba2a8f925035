"""The benchmark's floor does the lab's work, by a bare script (issue 8 point 11): the same
provisioning settings and scripts, read back through bash exactly as floor.sh reads them."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab import bench
from lab.cluster import load_cluster
from lab.provision import plan
from lab.stacks import stack_of

FLOOR = Path(bench.__file__).parent / "runtime" / "floor.sh"


def _sourced(plan: str, names: list[str]) -> dict[str, str]:
    script = plan + "".join(f'printf "%s\\0%s\\0" {name} "${name}"\n' for name in names)
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True).stdout.split("\0")
    return dict(zip(out[0::2], out[1::2]))


def test_the_floor_gets_the_labs_own_provisioning_settings_and_scripts():
    cluster = load_cluster()
    env = cluster.provision_env()
    ch5 = plan(stack_of(cluster))["ch5"]
    roles = sorted(ch5)
    seen = _sourced(bench.floor_plan(), [*env, "NODES", "VIP", "PREFERRED", "IFACE", "HOSTS",
                                         *[f"SCRIPTS_{r}" for r in roles]])
    assert {k: seen[k] for k in env} == env
    assert {r: seen[f"SCRIPTS_{r}"].split() for r in roles} == {r: list(ch5[r]) for r in roles}
    assert seen["NODES"].split() == [f"{n.name}:{n.role}:{','.join((n.address, *n.aliases))}" for n in cluster.nodes]
    assert (seen["VIP"], seen["PREFERRED"], seen["IFACE"]) == (cluster.vip, cluster.preferred_balancer.name,
                                                               cluster.interface)
    assert "192.168.0.103\tloadb1.example.com\tloadb1" in seen["HOSTS"].splitlines()


def test_the_floor_boots_nodes_with_the_providers_scripts_and_waits_for_the_vip():
    text = FLOOR.read_text()
    assert subprocess.run(["bash", "-n", str(FLOOR)]).returncode == 0
    for needed in ("providers/netns-node.sh", "providers/netns-boot.sh", 'bash $NODE_DIR/$script',
                   'addr show dev "$IFACE"', '" $VIP/"'):
        assert needed in text, needed
    assert "python" not in text.lower().replace("no python", "")  # no harness in the floor
