"""What must never happen while a scenario runs, watched for every scenario (scenarios/conftest.py).

Two watchers, in the spirit of the NixOS test driver's polling conditions and Pacemaker's
cluster test suite's "bad news" log patterns:

- VipWatch: a thread samples which balancers list the VIP (Lab.lan_addresses: netlink on the
  netns provider, no process started) and keeps the windows where more than one did;
- LogWatch: marks how long each balancer's logs are when a test starts and, when it ends, reads
  only what was written since, for the lines the stack's BAD_NEWS patterns match.

A scenario in which some of it is the point (a split brain made on purpose) says so with
`@pytest.mark.expected(two_vip_holders="why", logs=("pattern", ...))`; everything else fails it.
"""

from __future__ import annotations

import concurrent.futures
import re
import threading
import time
from dataclasses import dataclass, field

from lab.providers.base import Lab
from lab.timeline import HolderSample, multi_holder_windows

# Lines that mean trouble whatever the stack; a stack adds its own (Stack.bad_news).
BAD_NEWS = (r"\bCRIT(ICAL)?: ", r"\bEMERG(ENCY)?: ", r"segfault at ")
# (a soft lockup is the emulator's slowness under TCG, not the cluster's: not bad news here)
KERNEL_BAD_NEWS = (r"\bBUG: (?!soft lockup)", r"\bOops: ", r"general protection fault", r"IPVS: .*(BUG|leak)")
SYSLOG = "/var/log/syslog"


@dataclass
class VipWatch:
    """Samples the VIP's holders every `interval` s from a thread until stopped (the balancers
    read side by side: a frozen or crashed one does not delay the others' readings)."""

    lab: Lab
    interval: float = 0.5
    samples: list[HolderSample] = field(default_factory=list)
    name: str = "vip-watch"

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._balancers = [spec.name for spec in self.lab.cluster.balancers]
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=len(self._balancers))

    def _holds(self, name: str) -> bool | None:
        try:
            addresses = self.lab.lan_addresses(name)
        except Exception:  # a failed reading is unknown, never "does not hold"
            return None
        return None if addresses is None else self.lab.cluster.vip in addresses

    def sample(self) -> HolderSample:
        """One reading of every balancer now, kept with the others."""
        readings = list(self._pool.map(self._holds, self._balancers))
        sample = HolderSample(time.time(), tuple(n for n, held in zip(self._balancers, readings) if held),
                              tuple(n for n, held in zip(self._balancers, readings) if held is None))
        self.samples.append(sample)
        return sample

    def _run(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.sample()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def start(self) -> "VipWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "VipWatch":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def violations(self) -> list[tuple[float, float, tuple[str, ...]]]:
        """Windows where more than one balancer listed the VIP."""
        return multi_holder_windows(self.samples)

    def describe(self) -> str:
        first = self.samples[0].t if self.samples else 0.0
        return "; ".join(f"{', '.join(who)} from {b - first:.1f} s to {e - first:.1f} s into the test"
                         for b, e, who in self.violations())


def _files(lab: Lab) -> tuple[str, ...]:
    from lab.stacks import stack_of

    return (SYSLOG, *stack_of(lab.cluster).logs)


def _patterns(lab: Lab) -> tuple[str, ...]:
    from lab.stacks import stack_of

    return (*BAD_NEWS, *stack_of(lab.cluster).bad_news)


class LogWatch:
    """Bad news in the balancers' logs (and the kernel's) written while a test ran. The lab reads
    the logs (Lab.log_sizes/logs_since/kernel_mark/kernel_since): the netns provider from this
    side, through each node's root, with no process started."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.files = _files(lab)
        self.marks: dict[str, list[int] | None] = {}
        self.kernel: dict[str, int] = {}

    def start(self) -> "LogWatch":
        for spec in self.lab.cluster.balancers:
            self.marks[spec.name] = self.lab.log_sizes(spec.name, self.files)
        self.kernel = self.lab.kernel_mark()
        return self

    def lines(self, allowed: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
        """(unexpected, allowed) bad-news lines written since start(), each prefixed by where."""
        logs, kernel = re.compile("|".join(_patterns(self.lab))), re.compile("|".join(KERNEL_BAD_NEWS))
        found: list[str] = []
        for name, marks in self.marks.items():
            if marks:  # None: its logs could not be read at the start (a node that was down)
                text = self.lab.logs_since(name, self.files, marks)
                found += [f"{name}: {line}" for line in text.splitlines() if logs.search(line)]
        for where, text in self.lab.kernel_since(self.kernel).items():
            found += [f"{where}: {line}" for line in text.splitlines() if kernel.search(line)]
        ok = [line for line in found if any(re.search(p, line) for p in allowed)]
        return [line for line in found if line not in ok], ok
