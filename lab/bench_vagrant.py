"""Benchmark of the Vagrant lab: `lvslab bench --lab=vagrant` (figures, never asserted).

    box build, `vagrant up` of the five VMs, each VM's own boot (systemd-analyze), bring-up
    to chapter-5-ready, the chapter 5+7 session; beside the namespace lab's figures from the
    last `lvslab bench` (reports/bench-inner.json), so the two labs' costs sit side by side.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from lab import log
from lab.runtime import box

REPORTS = Path("reports")
NETNS_FIGURES = REPORTS / "bench-inner.json"


def run() -> int:
    import pytest

    box.ensure_box()
    log.timings.clear()
    started = time.monotonic()
    rc = pytest.main(["scenarios", "--lab=vagrant", "-m", "chapter5 or chapter7", "-q", "-p", "no:cacheprovider",
                      "--timeout=3600", "--lab-reports", str(REPORTS / "bench-vagrant")])
    suite = time.monotonic() - started
    steps = dict(log.timings)
    rows = [("Vagrant box build (mmdebstrap, cached after the first)", box.build_seconds())]
    rows += [(title.removeprefix("lab: "), seconds) for title, seconds in steps.items()
             if title.startswith(("lab: vagrant up", "lab: boot of"))]
    bring_up = sum(s for title, s in steps.items() if title.startswith(("lab: bring-up", "stage ch5")))
    rows += [("lab bring-up (nothing to chapter-5-ready)", bring_up),
             ("chapter 5+7 scenarios (whole pytest session)", suite)]
    netns = json.loads(NETNS_FIGURES.read_text())["figures"] if NETNS_FIGURES.is_file() else {}
    print("\nlvs-ha-lab benchmark: the Vagrant lab beside the namespace lab")
    print(f"{'what':62} {'vagrant s':>10} {'netns s':>10}")
    for what, seconds in rows:
        shown = f"{seconds:10.1f}" if seconds is not None else "         -"
        beside = netns.get(what)
        print(f"{what:62} {shown} {beside:10.1f}" if beside is not None else f"{what:62} {shown} {'':>10}")
    if not netns:
        print(f"(no namespace figures: run `lvslab bench` first, it writes {NETNS_FIGURES})")
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "bench-vagrant.json").write_text(json.dumps({"figures": dict(rows), "steps": steps, "rc": int(rc)},
                                                           indent=2))
    return int(rc)
