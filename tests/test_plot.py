"""The timeline plot: spans of VIP holding, the fault window, and a picture drawn from recorded data."""

from lab.plot import _spans, fault_window, plot_timeline
from lab.timeline import Event, HolderSample, Request, Timeline


def recorded() -> Timeline:
    requests = [Request(100 + i / 20, not (105 <= 100 + i / 20 < 108), 0.01 if not (105 <= 100 + i / 20 < 108) else 2.0,
                        "webserver1") for i in range(300)]
    holders = [HolderSample(100 + i / 2, ("loadb1",) if i < 12 else ("loadb2",) if i > 14 else ()) for i in range(30)]
    return Timeline(requests=requests, holders=holders,
                    events=[Event(104.0, "fault", "loadb1"), Event(110.0, "recovery", "loadb1")],
                    notes={"fault": "crash on loadb1"})


def test_a_lane_is_filled_from_each_sample_that_holds_to_the_next_that_does_not():
    assert _spans([0, 1, 2, 3, 4], [True, True, False, True, True], end=5) == [(0, 2), (3, 2)]
    assert _spans([0, 1], [False, False], end=2) == []


def test_the_fault_window_runs_from_the_fault_to_the_recovery():
    assert fault_window(recorded()) == (104.0, 110.0)
    assert fault_window(Timeline()) is None


def test_a_timeline_is_drawn_as_a_png(tmp_path):
    path = plot_timeline(recorded(), tmp_path / "x.png", title="crash on loadb1")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000


def test_in_the_microvm_a_picture_is_only_named_and_the_host_draws_what_is_missing(tmp_path, monkeypatch):
    from lab.plot import draw_missing, picture

    timeline = recorded()
    timeline.notes["title"] = "the active crashed"
    source = timeline.save(tmp_path / "failover" / "t-fault.json")
    monkeypatch.setenv("LVSLAB_IN_VM", "1")
    assert picture(timeline, source) == source.with_suffix(".png") and not source.with_suffix(".png").exists()
    monkeypatch.delenv("LVSLAB_IN_VM")
    assert draw_missing(tmp_path) == [source.with_suffix(".png")]
    assert source.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert draw_missing(tmp_path) == []  # drawn once: newer than its timeline
    assert picture(timeline, source).stat().st_mtime >= source.stat().st_mtime  # outside the VM: drawn at once
