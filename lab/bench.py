"""Benchmark: where the time goes, printed as figures (never asserted by tests).

    lvslab bench            image build, microVM boot, the floor, lab bring-up, chapter 5+7 run

The floor is lab/runtime/floor.sh: the same namespaces, IPVS rules and Apache, built by a
bare script with no harness and no HA daemons. Each lab figure is also shown as a ratio to it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from lab import log
from lab.runtime import detect, image

HERE = Path(__file__).parent
REPORTS = Path("reports")


def _timed(argv: list[str]) -> tuple[float, int]:
    started = time.monotonic()
    rc = subprocess.run(argv).returncode
    return time.monotonic() - started, rc


def inner() -> int:
    """On a kernel with IPVS (the microVM): floor, then the chapter 5+7 scenarios in-process."""
    import pytest

    (REPORTS / "bench-inner.json").unlink(missing_ok=True)
    floor, rc = _timed(["bash", str(HERE / "runtime/floor.sh"), str(image.image_root())])
    if rc != 0:
        print(f"bench: the floor script failed (exit {rc})", file=sys.stderr)
        return rc
    log.timings.clear()
    started = time.monotonic()
    rc = pytest.main(["scenarios", "--lab=netns", "-m", "chapter5 or chapter7", "-q", "-p", "no:cacheprovider",
                      "-W", "ignore::pytest.PytestAssertRewriteWarning",
                      "--lab-reports", str(REPORTS / "bench")])
    suite = time.monotonic() - started
    steps = dict(log.timings)
    bring_up = sum(s for title, s in steps.items() if title.startswith(("lab: bring-up", "stage ch5")))
    figures = {"floor (bare script: namespaces, IPVS, Apache, one request)": floor,
               "lab bring-up (nothing to chapter-5-ready)": bring_up,
               "chapter 5+7 scenarios (whole pytest session)": suite}
    failover = [s for t, s in steps.items() if t.startswith("failover")]
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "bench-inner.json").write_text(json.dumps({"figures": figures, "steps": steps, "rc": rc}, indent=2))
    return int(rc)


def outer() -> int:
    from lab.runtime import microvm

    rows: list[tuple[str, float | None]] = []
    image.ensure_ext4()
    rows.append(("node image build (mmdebstrap, cached after the first)", image.build_seconds()))
    if not detect.kernel_info().has_ipvs:
        started = time.monotonic()
        microvm.run_in_vm(["true"], cwd=Path.cwd(), rwdirs=[], why="benchmark: boot only", timeout=300)
        rows.append(("microVM boot and exit (running `true`)", time.monotonic() - started))
        rc = microvm.run_in_vm([sys.executable, "-m", "lab.cli", "bench", "--inner"], cwd=Path.cwd(),
                               rwdirs=[REPORTS.resolve()], why="benchmark", timeout=3000)
    else:
        rc = inner()
    results = REPORTS / "bench-inner.json"
    if not results.is_file():
        print(f"bench: no figures (the run inside exited {rc}); see the output above", file=sys.stderr)
        return rc or 1
    data = json.loads(results.read_text())
    rows += list(data["figures"].items())
    floor = data["figures"]["floor (bare script: namespaces, IPVS, Apache, one request)"]
    print("\nlvs-ha-lab benchmark")
    print(f"{'what':62} {'seconds':>8} {'x floor':>8}")
    for what, seconds in rows:
        ratio = f"{seconds / floor:8.1f}" if seconds is not None and "floor" not in what else ""
        shown = f"{seconds:8.1f}" if seconds is not None else "       -"
        print(f"{what:62} {shown} {ratio:>8}")
    print("\nwhere the lab's time went (steps):")
    for title, seconds in data["steps"].items():
        print(f"  {seconds:7.1f} s  {title}")
    return rc or data["rc"]
