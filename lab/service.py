"""Change the virtual service of a running cluster (scheduler=, persistent=, ...) and put it back.

The change goes where the tutorial keeps it, ldirectord.cf on both balancers, by provisioning
chapter 4 again with other LAB_* values; ch4-heartbeat.sh reloads the running ldirectord.
Scenario families use `service_settings` so each leaves the service as it found it.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

from lab import log
from lab.readings import ipvs_table, vip_holders
from lab.checks.ipvsadm import IpvsTable
from lab.cluster import Cluster
from lab.providers.base import Lab
from lab.stacks import stack_of
from lab.provision import Provisioner
from lab.wait import wait_until

# ldirectord.cf's forwarding words and how ipvsadm -L -n names them.
FORWARD_NAMES = {"gate": "Route", "masq": "Masq", "ipip": "Tunnel"}


def active_balancer(lab: Lab) -> str:
    holders = vip_holders(lab)
    assert len(holders) == 1, f"expected one active balancer, the VIP is held by {holders}"
    return holders[0]


@dataclass(frozen=True)
class ServiceSettings:
    """What a scenario family sets in ldirectord.cf; None/empty means the tutorial's value."""

    persistent: int | None = None
    scheduler: str | None = None
    weights: dict[str, int] = field(default_factory=dict)   # real server name -> weight
    forwarding: str | None = None
    tls_port: int | None = None

    def env(self, cluster: Cluster) -> dict[str, str]:
        default = cluster.service
        env = {"LAB_PERSISTENT": "" if self.persistent is None else str(self.persistent),
               "LAB_SCHEDULER": self.scheduler or default.scheduler}
        if self.weights:
            env["LAB_WEIGHTS"] = " ".join(str(self.weights.get(n.name, 1)) for n in cluster.realservers)
        if self.forwarding:
            env["LAB_FORWARDING"] = self.forwarding
        if self.tls_port:
            env["LAB_TLS_PORT"] = str(self.tls_port)
        return env

    def shown_by(self, table: IpvsTable, cluster: Cluster) -> tuple[bool, str]:
        """Whether `ipvsadm -L -n` shows these settings, every real server in service; and what differs."""
        default = cluster.service
        forward = FORWARD_NAMES[self.forwarding or default.forwarding]
        differences = []
        ports = [default.port] + ([self.tls_port] if self.tls_port else [])
        for port in ports:
            service = table.service(f"{cluster.vip}:{port}")
            if service is None:
                differences.append(f"no virtual service {cluster.vip}:{port}")
                continue
            if service.scheduler != (self.scheduler or default.scheduler):
                differences.append(f"{port}: scheduler {service.scheduler}")
            if service.persistent != (self.persistent if self.persistent is not None else default.persistent):
                differences.append(f"{port}: persistent {service.persistent}")
            for node in cluster.realservers:
                real = service.real(f"{node.address}:{port}")
                want = (forward, self.weights.get(node.name, 1))
                if real is None or (real.forward, real.weight) != want:
                    differences.append(f"{node.address}:{port}: {real} (want {want[0]} weight {want[1]})")
        extra = {s.address for s in table.services} - {f"{cluster.vip}:{port}" for port in ports}
        if extra:
            differences.append(f"virtual services not set: {sorted(extra)}")
        return not differences, "; ".join(differences) or "as set"


def apply(lab: Lab, provisioner: Provisioner, settings: ServiceSettings, what: str) -> IpvsTable:
    """Write the stack's configuration (ldirectord.cf, keepalived.conf) on both balancers at once,
    and wait until the active's table shows it."""
    provisioner.run_on([lab.node(b.name) for b in lab.cluster.balancers], stack_of(lab.cluster).service_script,
                       settings=settings.env(lab.cluster))
    last: list[IpvsTable] = []

    def probe() -> tuple[bool, object]:
        last[:] = [ipvs_table(lab.node(active_balancer(lab)))]
        return settings.shown_by(last[0], lab.cluster)

    wait_until(probe, timeout=60, interval=2, what=what)
    return last[0]


class ServiceControl:
    """The service's settings for a family of scenarios: change them as often as the tests need,
    put the tutorial's back once at the end (`restore`)."""

    def __init__(self, lab: Lab, provisioner: Provisioner) -> None:
        self.lab, self.provisioner = lab, provisioner
        self.current = ServiceSettings()

    def set(self, **changes: object) -> IpvsTable:
        settings = ServiceSettings(**changes)  # type: ignore[arg-type]
        described = " ".join(f"{k}={v}" for k, v in settings.env(self.lab.cluster).items())
        with log.step(f"service: {described}"):
            self.current = settings
            return apply(self.lab, self.provisioner, settings, f"ldirectord to apply {described}")

    def restore(self) -> None:
        """The tutorial's settings again: after this family's changes, or what an interrupted run left."""
        shown, _ = ServiceSettings().shown_by(ipvs_table(self.lab.node(active_balancer(self.lab))), self.lab.cluster)
        if self.current != ServiceSettings() or not shown:
            with log.step("service: back to the tutorial's settings"):
                apply(self.lab, self.provisioner, ServiceSettings(),
                      "ldirectord to restore the tutorial's service settings")
            self.current = ServiceSettings()


@contextmanager
def service_settings(lab: Lab, provisioner: Provisioner, **changes: object) -> Iterator[IpvsTable]:
    """The virtual service with other settings (ServiceSettings' fields) for the duration of the block.

    Yields the active balancer's IPVS table once ldirectord shows the settings."""
    control = ServiceControl(lab, provisioner)
    try:
        yield control.set(**changes)
    finally:
        control.restore()
