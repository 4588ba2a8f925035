"""Benchmark: where the time goes, printed as figures (never asserted by tests).

    lvslab bench            image build, microVM boot, the floor, lab bring-up, chapter 5+7 run,
                            `lvslab status`/`exec` latency, 1, 2 and 4 labs side by side

The floor is lab/runtime/floor.sh: the same bring-up to chapter-5-ready (the provider's node boot
script, a bridge, the same provisioning scripts with the same settings, the same wait for the
VIP) done by a bare shell script with no harness, so "x floor" is the harness's own cost. Each
lab figure is also shown as a ratio to it. Interactive latency: `lvslab status` and `lvslab exec`
against an `lvslab up` lab, as a person types them.
"""

from __future__ import annotations

import json
import shlex
import statistics
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


FLOOR = "floor (bare script: same nodes, provisioning and VIP wait, no harness)"


def floor_plan() -> str:
    """The settings floor.sh needs, from the cluster data, as shell assignments (written untimed)."""
    from lab.cluster import load_cluster
    from lab.provision import plan
    from lab.stacks import stack_of

    cluster = load_cluster()
    lines = [f"export {key}={shlex.quote(value)}" for key, value in cluster.provision_env().items()]
    nodes = " ".join(f"{n.name}:{n.role}:{','.join((n.address, *n.aliases))}" for n in cluster.nodes)
    hosts = "\n".join(["127.0.0.1\tlocalhost", *cluster.hosts_lines()])
    lines += [f"NODES={shlex.quote(nodes)}", f"IFACE={cluster.interface}", f"PREFIXLEN={cluster.prefixlen}",
              f"BROADCAST={cluster.broadcast}", f"VIP={cluster.vip}", f"PREFERRED={cluster.preferred_balancer.name}",
              f"HOSTS={shlex.quote(hosts)}"]
    lines += [f"SCRIPTS_{role}={shlex.quote(' '.join(scripts))}" for role, scripts in plan(stack_of(cluster))["ch5"].items()]
    return "\n".join(lines) + "\n"


def run_floor() -> float:
    plan = REPORTS / "floor-plan.sh"
    REPORTS.mkdir(exist_ok=True)
    plan.write_text(floor_plan())
    said = REPORTS / "floor-seconds.txt"
    # Its output to a file, not a pipe (a process left holding a pipe would keep us waiting), and
    # a time limit: the floor never takes the bench down with it.
    with said.open("w") as out:
        proc = subprocess.Popen(["bash", str(HERE / "runtime/floor.sh"), str(image.image_root()), str(plan)],
                                stdout=out)
        try:
            rc = proc.wait(timeout=900)
        except subprocess.TimeoutExpired:
            proc.terminate()  # SIGTERM: floor.sh's EXIT trap removes its nodes and namespaces
            proc.wait(timeout=120)
            raise SystemExit("bench: the floor script did not finish in 900 s") from None
    if rc != 0:
        raise SystemExit(f"bench: the floor script failed (exit {rc})")
    return float(said.read_text().split()[-1])


def cli_latency() -> dict[str, float]:
    """`lvslab up --stage ch5`, then `status` and `exec NODE -- true` three times each (median),
    then `down`: what an interactive user waits for. Run where users run it: on this machine
    (with the lab in its microVM there is none), never inside the microVM, where a Python
    start-up under TCG alone costs seconds."""
    name = "lvslab-bench"
    lvslab = [sys.executable, "-m", "lab.cli"]
    up, rc = _timed([*lvslab, "up", "--name", name, "--stage", "ch5"])
    if rc != 0:
        raise SystemExit(f"bench: lvslab up failed (exit {rc})")
    try:
        status = [_timed([*lvslab, "status", "--name", name])[0] for _ in range(3)]
        execs = [_timed([*lvslab, "exec", "--name", name, "loadb1", "--", "true"])[0] for _ in range(3)]
    finally:
        subprocess.run([*lvslab, "down", "--name", name])
    return {"lvslab up --stage ch5 (agent, bring-up, provisioning, VIP)": up,
            "lvslab status (median of 3)": statistics.median(status),
            "lvslab exec loadb1 -- true (median of 3)": statistics.median(execs)}


PARALLEL = (1, 2, 4)


def parallel_bring_up(count: int) -> float:
    """`count` labs from the same cluster data (the same addresses), brought up at once in this
    kernel, each to chapter-5-ready: how side-by-side labs scale."""
    from concurrent.futures import ThreadPoolExecutor

    from lab import stages
    from lab.cluster import load_cluster
    from lab.providers import get_provider
    from lab.provision import Provisioner

    cluster = load_cluster()
    labs = [get_provider("netns").create(cluster) for _ in range(count)]

    def bring_up(lab) -> None:  # noqa: ANN001
        lab.start()
        stages.reach(lab, Provisioner(lab), "ch5")

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=count) as pool:
            for future in [pool.submit(bring_up, lab) for lab in labs]:
                future.result()
        return time.monotonic() - started
    finally:
        for lab in labs:
            lab.destroy()


def inner() -> int:
    """On a kernel with IPVS (the microVM): floor, then the chapter 5+7 scenarios in-process,
    then the command line's latency."""
    import pytest

    (REPORTS / "bench-inner.json").unlink(missing_ok=True)
    floor = run_floor()
    log.timings.clear()
    started = time.monotonic()
    rc = pytest.main(["scenarios", "--lab=netns", "-m", "chapter5 or chapter7", "-q", "-p", "no:cacheprovider",
                      "-W", "ignore::pytest.PytestAssertRewriteWarning",
                      "--lab-reports", str(REPORTS / "bench")])
    suite = time.monotonic() - started
    steps = dict(log.timings)
    bring_up = sum(s for title, s in steps.items() if title.startswith(("lab: bring-up", "stage ch5")))
    figures = {FLOOR: floor,
               "lab bring-up (nothing to chapter-5-ready)": bring_up,
               "chapter 5+7 scenarios (whole pytest session)": suite,
               **({} if detect.in_microvm() else cli_latency()),
               **{f"{n} lab{'s' if n > 1 else ''} side by side, bring-up to chapter-5-ready": parallel_bring_up(n)
                  for n in PARALLEL}}
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
        rows += list(cli_latency().items())  # `lvslab up` boots its own microVM; the user's commands run here
    else:
        rc = inner()
    results = REPORTS / "bench-inner.json"
    if not results.is_file():
        print(f"bench: no figures (the run inside exited {rc}); see the output above", file=sys.stderr)
        return rc or 1
    data = json.loads(results.read_text())
    rows += list(data["figures"].items())
    floor = data["figures"][FLOOR]
    print("\nlvs-ha-lab benchmark")
    print(f"{'what':62} {'seconds':>8} {'x floor':>8}")
    for what, seconds in rows:
        ratio = f"{seconds / floor:8.1f}" if seconds is not None and "floor" not in what and "lvslab " not in what else ""
        shown = f"{seconds:8.1f}" if seconds is not None else "       -"
        print(f"{what:62} {shown} {ratio:>8}")
    print("\nwhere the lab's time went (steps):")
    for title, seconds in data["steps"].items():
        print(f"  {seconds:7.1f} s  {title}")
    return rc or data["rc"]
