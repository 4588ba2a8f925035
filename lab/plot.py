"""A fault's timeline as a picture: what clients saw, who held the VIP, the fault window shaded.

    plot_timeline(timeline, Path("reports/failover/x.png"), title="heartbeat SIGKILLed")

Top panel: each request's latency at its start time, good answers green, failures red (drawn at
their time limit). Below it one lane per balancer, filled where it listed the VIP, hatched grey where
its reading failed. The fault window (the "fault" event to the "recovery" event, or to the end)
is shaded in both; every other event is a dotted line. Time is seconds from the first request.
Made with matplotlib's Agg backend (no display); the JSON beside the plot redraws it:
`python -m lab.plot reports/failover/x.json`. In the microVM a plot is not drawn (matplotlib
under TCG costs tens of seconds a plot): `picture()` names it, and the host draws every timeline
that has no picture yet once the VM has stopped (`draw_missing`, from the pytest plugin).
"""

from __future__ import annotations

import sys
from pathlib import Path

from lab.runtime import detect
from lab.timeline import Timeline


def _spans(times: list[float], flags: list[bool], end: float) -> list[tuple[float, float]]:
    """(start, width) spans where flags hold, each sample lasting until the next one."""
    spans, start = [], None
    for i, (t, flag) in enumerate(zip(times, flags)):
        nxt = times[i + 1] if i + 1 < len(times) else end
        if flag and start is None:
            start = t
        if start is not None and (not flag or i + 1 == len(times)):
            stop = t if not flag else nxt
            spans.append((start, stop - start))
            start = None
    return spans


def fault_window(timeline: Timeline) -> tuple[float, float] | None:
    names = {e.name: e.t for e in timeline.events}
    if "fault" not in names:
        return None
    ends = [e.t for e in timeline.events if e.name == "recovery" and e.t >= names["fault"]]
    last = max([r.end for r in timeline.requests] + [s.t for s in timeline.holders] + [names["fault"]])
    return names["fault"], (ends[0] if ends else last)


def plot_timeline(timeline: Timeline, path: Path, *, title: str) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    starts = [r.start for r in timeline.requests] + [s.t for s in timeline.holders] + [e.t for e in timeline.events]
    zero = min(starts) if starts else 0.0
    end = max([r.end for r in timeline.requests] + [s.t for s in timeline.holders] + [zero]) - zero
    balancers = sorted({n for s in timeline.holders for n in (*s.holders, *s.unknown)} |
                       set(str(timeline.notes.get("balancers", "")).split()) - {""})
    fig, axes = plt.subplots(2, 1, figsize=(10, 4.8), sharex=True,
                             gridspec_kw={"height_ratios": [3, max(1, len(balancers))]})
    top, lanes = axes
    ok = [(r.start - zero, r.latency) for r in timeline.requests if r.ok]
    bad = [(r.start - zero, r.latency) for r in timeline.requests if not r.ok]
    if ok:
        top.scatter(*zip(*ok), s=6, color="tab:green", label=f"answered ({len(ok)})")
    if bad:
        top.scatter(*zip(*bad), s=10, color="tab:red", marker="x", label=f"failed ({len(bad)})")
    top.set_ylabel("latency (s)")
    top.set_title(title, fontsize=10)
    times = [s.t - zero for s in sorted(timeline.holders, key=lambda s: s.t)]
    samples = sorted(timeline.holders, key=lambda s: s.t)
    for row, name in enumerate(balancers):
        held = _spans(times, [name in s.holders for s in samples], end)
        unknown = _spans(times, [name in s.unknown for s in samples], end)
        lanes.broken_barh(held, (row - 0.35, 0.7), color="tab:blue")
        lanes.broken_barh(unknown, (row - 0.35, 0.7), facecolor="none", edgecolor="grey", hatch="//")
    lanes.set_yticks(range(len(balancers)), [f"{n} holds VIP" for n in balancers])
    lanes.set_ylim(-0.6, len(balancers) - 0.4)
    lanes.set_xlabel("seconds from the first request")
    window = fault_window(timeline)
    for ax in axes:
        if window:
            ax.axvspan(window[0] - zero, window[1] - zero, color="orange", alpha=0.18)
        for event in timeline.events:
            if event.name not in ("fault", "load started", "load ended", "load stop asked"):
                ax.axvline(event.t - zero, color="grey", linestyle=":", linewidth=0.8)
    if window:
        top.annotate("fault", (window[0] - zero, 1.0), xycoords=("data", "axes fraction"), fontsize=8,
                     color="darkorange", va="top")
    if ok or bad:
        top.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _title(timeline: Timeline, source: Path) -> str:
    return str(timeline.notes.get("title") or timeline.notes.get("fault") or source.stem)


def picture(timeline: Timeline, source: Path) -> Path:
    """The plot of a timeline saved at `source` (its title in notes["title"]): drawn now, or,
    in the microVM, left to the host (draw_missing) and only named."""
    png = source.with_suffix(".png")
    return png if detect.in_microvm() else plot_timeline(timeline, png, title=_title(timeline, source))


def draw_missing(folder: Path) -> list[Path]:
    """Draw every timeline under folder/failover whose picture is missing or older than it."""
    drawn = []
    for source in sorted((folder / "failover").glob("*.json")):
        png = source.with_suffix(".png")
        if png.exists() and png.stat().st_mtime >= source.stat().st_mtime:
            continue
        timeline = Timeline.from_json(source.read_text())
        drawn.append(plot_timeline(timeline, png, title=_title(timeline, source)))
    return drawn


def main(argv: list[str]) -> int:
    for name in argv:
        source = Path(name)
        timeline = Timeline.from_json(source.read_text())
        print(plot_timeline(timeline, source.with_suffix(".png"), title=_title(timeline, source)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
