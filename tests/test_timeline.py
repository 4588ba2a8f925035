"""The fault timeline's figures, from recorded samples: gap, failures, takeover, two holders;
and the client's load generator against a local web server."""

import http.server
import threading

import pytest

from lab import loadgen
from lab.checks.heartbeat import parse_ha_timing
from lab.timeline import (Event, HolderSample, Request, Timeline, figures, first_good_after_failure, longest_gap,
                          multi_holder_windows, takeover)

RATE = 20


def load(seconds: float, down: tuple[float, float] | None = None, start: float = 1000.0) -> list[Request]:
    """Requests at 20/s answered in 5 ms, alternating servers; those started inside `down` fail after 2 s."""
    requests = []
    for i in range(int(seconds * RATE)):
        t = start + i / RATE
        if down and down[0] <= t < down[1]:
            requests.append(Request(t, False, 2.0, None, "TimeoutError: timed out"))
        else:
            requests.append(Request(t, True, 0.005, f"webserver{i % 2 + 1}"))
    return requests


def test_a_healthy_load_has_no_gap_beyond_its_rate():
    gap, _ = longest_gap(load(10))
    assert gap == pytest.approx(1 / RATE)


def test_the_gap_spans_from_the_last_good_answer_to_the_next():
    gap, since = longest_gap(load(30, down=(1010.0, 1014.5)))
    # last good answer: started 1009.95, arrived 1009.955; next: started 1014.5, arrived 1014.505
    assert gap == pytest.approx(4.55)
    assert since == pytest.approx(1009.955)


def test_an_outage_still_on_when_the_load_stopped_counts_to_the_end_of_the_load():
    """The tail: good answers until 1010, then every request failed (2 s timeouts) to the end."""
    requests = load(30, down=(1010.0, 1030.0))
    gap, since = longest_gap(requests)
    last_good = max(r.end for r in requests if r.ok)
    assert since == pytest.approx(last_good)
    assert gap == pytest.approx(max(r.end for r in requests) - last_good)
    assert gap > 20 - 1 / RATE


def test_a_load_that_never_got_an_answer_is_one_gap():
    requests = [Request(1000 + i / RATE, False, 2.0) for i in range(40)]
    gap, since = longest_gap(requests)
    assert (gap, since) == (pytest.approx(1.95 + 2.0), 1000)


def test_first_good_answer_after_the_first_failure():
    requests = load(30, down=(1010.0, 1014.5))
    assert first_good_after_failure(requests, after=1008.0) == pytest.approx(6.505)
    assert first_good_after_failure(load(30), after=1008.0) is None  # nothing failed: no outage seen


def test_takeover_is_the_first_sample_listing_the_new_active_after_the_fault():
    samples = [HolderSample(1000 + i * 0.5, ("loadb1",)) for i in range(30)]
    samples += [HolderSample(1015 + i * 0.5, ("loadb1", "loadb2")) for i in range(4)]
    samples += [HolderSample(1017 + i * 0.5, ("loadb2",)) for i in range(4)]
    assert takeover(samples, after=1004.0, to="loadb2") == pytest.approx(11.0)
    assert takeover(samples, after=1004.0, to="webserver1") is None
    assert multi_holder_windows(samples) == [(1015.0, 1016.5, ("loadb1", "loadb2"))]


def test_one_holder_throughout_means_no_two_holder_window():
    samples = [HolderSample(1000 + i, ("loadb1",)) for i in range(5)] + [HolderSample(1005, (), ("loadb1",))]
    assert multi_holder_windows(samples) == []


def test_figures_from_a_timeline_survive_a_round_trip_through_json():
    timeline = Timeline(requests=load(30, down=(1010.0, 1014.5)),
                        holders=[HolderSample(1000, ("loadb1",)), HolderSample(1012.25, ("loadb2",))],
                        events=[Event(1005.0, "fault", "loadb1")], notes={"rate": RATE})
    again = Timeline.from_json(timeline.to_json())
    assert again == timeline
    seen = figures(again, fault="fault", new_active="loadb2")
    assert (seen.requests, seen.failed) == (600, 90)
    assert seen.takeover == pytest.approx(7.25)
    assert seen.servers == {"webserver1": 255, "webserver2": 255}
    assert "90 failed" in seen.describe()


def test_ha_cf_timers_as_provisioning_writes_them():
    text = ("logfacility        local0\nbcast        eth0                # Linux\nauto_failback off\n"
            "node        loadb1\nkeepalive 1\nwarntime 5\ndeadtime 10\ninitdead 10\n")
    assert parse_ha_timing(text) == {"keepalive": 1, "warntime": 5, "deadtime": 10, "initdead": 10}
    assert parse_ha_timing("keepalive 500ms\n# deadtime 3\n") == {"keepalive": 0.5}


@pytest.fixture
def web():
    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = b"<html><body><h1>webserver7</h1></body></html>"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # noqa: ANN002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_the_load_generator_keeps_its_rate_and_names_the_server(web):
    results = loadgen.run(web, rate=50, duration=0.4, timeout=2)
    assert len(results) == 20
    assert all(r["ok"] and r["server"] == "webserver7" for r in results)
    starts = [r["start"] for r in results]
    assert starts[-1] - starts[0] == pytest.approx(19 / 50, abs=0.1)


def test_the_load_generator_records_a_refused_request_as_failed(web):
    with __import__("socket").socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]  # bound, never listening: connections are refused
        results = loadgen.run(f"http://127.0.0.1:{port}/", rate=20, duration=0.1, timeout=1)
    assert [r["ok"] for r in results] == [False, False]
    assert all("Refused" in r["error"] for r in results)
