"""Record a fault's timeline: client load on the client node, the VIP's holders sampled beside it.

    with Recorder(lab, duration=45) as rec:      # load running, sampler running
        rec.mark("fault", "loadb1"); faults.kill("loadb1", "heartbeat")
        ...
    timeline = rec.timeline                        # requests, holder samples, events (lab/timeline.py)

The load generator (lab/loadgen.py) runs on the client node as a process of its own (so every
provider can run it) and stops by itself; this process only reads its file at the end. The
sampler reads each balancer's LAN addresses (Lab.lan_addresses: netlink on netns, `ip addr` elsewhere)
every `interval` seconds from a thread (lab/monitor.py's VipWatch, keeping its samples in the
timeline): the VIP is kernel state, so a frozen node's is read too. `windows_with_two_holders()`
lists where more than one balancer held the VIP.
"""

from __future__ import annotations

import json
import secrets
import shlex
import time
from pathlib import Path

from lab.monitor import VipWatch
from lab.providers.base import Lab
from lab.timeline import Event, HolderSample, Request, Timeline, multi_holder_windows

LOADGEN = Path(__file__).with_name("loadgen.py")
ON_CLIENT = "/usr/local/lib/lvslab-loadgen.py"
OUT = "/run/lvslab-load-{token}.json"  # one per recording: an abandoned load may still be running


class Recorder:
    def __init__(self, lab: Lab, *, duration: float, rate: float = 20.0, timeout: float = 2.0,
                 interval: float = 0.5) -> None:
        self.lab = lab
        self.duration, self.rate, self.timeout, self.interval = duration, rate, timeout, interval
        self.client = lab.node(lab.cluster.by_role("client")[0].name)
        self.timeline = Timeline(notes={"rate": rate, "duration": duration, "request_timeout": timeout,
                                        "sample_interval": interval, "vip": lab.cluster.vip,
                                        "lab": lab.describe()})
        self.watch = VipWatch(lab, interval=interval, samples=self.timeline.holders, name="vip-sampler")
        self._offset = 0.0  # the client's clock minus this process's clock
        self.out = OUT.format(token=secrets.token_hex(3))

    # --- the client's load ------------------------------------------------------------
    def _client_clock_offset(self) -> float:
        """The same kernel's clock for namespace nodes (about 0); a VM's own clock otherwise."""
        before = time.time()
        seen = float(self.client.succeed(["date", "+%s.%N"]))
        return seen - (before + time.time()) / 2

    def _start_load(self) -> None:
        self.client.put_file(ON_CLIENT, LOADGEN.read_text(), mode="0755")
        self._offset = self._client_clock_offset()
        command = shlex.join(["python3", ON_CLIENT, "--url", f"http://{self.lab.cluster.vip}/", "--rate",
                              str(self.rate), "--duration", str(self.duration), "--timeout", str(self.timeout),
                              "--out", self.out, "--stop", f"{self.out}.stop"])
        self.client.succeed(f"setsid -f {command} </dev/null >{self.out}.log 2>&1")
        self.client.wait_until_succeeds(["test", "-e", f"{self.out}.started"], timeout=60, interval=0.3)
        self.mark("load started")

    def stop_load(self) -> None:
        """End the load early (it stops by itself at `duration` anyway)."""
        self.client.succeed(["touch", f"{self.out}.stop"])
        self.mark("load stop asked")

    def _collect_load(self) -> None:
        self.client.wait_until_succeeds(["test", "-e", self.out], timeout=self.duration + self.timeout + 120,
                                        interval=1)
        raw = json.loads(self.client.succeed(["cat", self.out]))
        self.client.run(["rm", "-f", self.out, f"{self.out}.started", f"{self.out}.log", f"{self.out}.stop"])
        self.timeline.requests = [Request(start=r["start"] - self._offset, ok=r["ok"], latency=r["latency"],
                                          server=r["server"], error=r["error"]) for r in raw]
        self.timeline.notes["client_clock_offset"] = round(self._offset, 4)
        self.mark("load ended")

    # --- the VIP's holders ------------------------------------------------------------
    def sample(self) -> HolderSample:
        return self.watch.sample()

    # --- use --------------------------------------------------------------------------
    def mark(self, name: str, node: str = "") -> Event:
        event = Event(time.time(), name, node)
        self.timeline.events.append(event)
        return event

    def holders_now(self) -> tuple[str, ...]:
        latest = self.timeline.holders[-1:]
        return latest[0].holders if latest else ()

    def windows_with_two_holders(self, after: float = 0.0) -> list[tuple[float, float, tuple[str, ...]]]:
        """The invariant monitor's verdict: where more than one balancer listed the VIP."""
        return [w for w in multi_holder_windows(self.timeline.holders) if w[1] >= after]

    def __enter__(self) -> "Recorder":
        self.watch.start()
        try:
            self._start_load()
        except BaseException:
            self._halt()
            raise
        return self

    def _halt(self) -> None:
        self.watch.stop()

    def __exit__(self, kind, value, traceback) -> None:  # noqa: ANN001
        try:
            if kind is None:
                self._collect_load()
            else:  # a failed step: the load must not run on into what comes next
                self.client.run(["touch", f"{self.out}.stop"])
        finally:
            self._halt()
