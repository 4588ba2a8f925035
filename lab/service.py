"""Change the virtual service of a running cluster (scheduler=, persistent=, ...) and put it back.

The change goes where the tutorial keeps it, ldirectord.cf on both balancers, by provisioning
chapter 4 again with other LAB_* values; ch4-heartbeat.sh reloads the running ldirectord.
Scenario families use `service_settings` so each leaves the service as it found it.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from lab import log
from lab.checks.cluster import ipvs_table, vip_holders
from lab.checks.ipvsadm import VirtualService
from lab.providers.base import Lab
from lab.provision import Provisioner
from lab.wait import wait_until


def active_balancer(lab: Lab) -> str:
    holders = vip_holders(lab)
    assert len(holders) == 1, f"expected one active balancer, the VIP is held by {holders}"
    return holders[0]


def apply(lab: Lab, provisioner: Provisioner, settings: dict[str, str],
          until: Callable[[VirtualService], bool], what: str) -> VirtualService:
    for balancer in lab.cluster.balancers:
        provisioner.run_script(lab.node(balancer.name), "ch4-heartbeat.sh", settings=settings)
    service = f"{lab.cluster.vip}:{lab.cluster.service.port}"

    def probe() -> tuple[bool, object]:
        seen = ipvs_table(lab.node(active_balancer(lab))).service(service)
        return seen is not None and until(seen), seen

    return wait_until(probe, timeout=60, interval=2, what=what)


@contextmanager
def service_settings(lab: Lab, provisioner: Provisioner, *, persistent: int | None = None,
                     scheduler: str | None = None) -> Iterator[VirtualService]:
    """The virtual service with other settings for the duration of the block."""
    default = lab.cluster.service
    settings = {"LAB_PERSISTENT": "" if persistent is None else str(persistent),
                "LAB_SCHEDULER": scheduler or default.scheduler}

    def shows(persist: int | None, sched: str) -> Callable[[VirtualService], bool]:
        return lambda s: s.persistent == persist and s.scheduler == sched

    with log.step(f"service: {' '.join(f'{k}={v}' for k, v in settings.items())}"):
        service = apply(lab, provisioner, settings, shows(persistent, settings["LAB_SCHEDULER"]),
                        "ldirectord to apply the new service settings")
    try:
        yield service
    finally:
        with log.step("service: back to the tutorial's settings"):
            apply(lab, provisioner, {}, shows(default.persistent, default.scheduler),
                  "ldirectord to restore the tutorial's service settings")
