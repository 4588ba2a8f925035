"""A per-test time limit (pytest-timeout): one hung command cannot eat CI's budget, and a test
that times out is an ordinary failure, so its fixtures tear down and its evidence is saved."""

import time

FAKE_LAB = """
import pytest
from lab import pytest_plugin
from lab.cluster import load_cluster


class Result:
    rc, stderr = 0, ""

    def __init__(self, command):
        self.stdout = f"{command}: seen\\n"


class Spec:
    role = "balancer"


class Node:
    name, spec = "loadb1", Spec()

    def run(self, command, timeout=30):
        return Result(command)


class FakeLab:
    cluster = load_cluster()

    def __iter__(self):
        return iter([Node()])

    def destroy(self):
        pass


pytest_plugin._live_labs.append(FakeLab())  # as the lab fixture does while a lab is up


@pytest.fixture
def held(tmp_path_factory):
    yield
    (tmp_path_factory.getbasetemp().parent / "torn-down").write_text("yes")
"""


def test_the_suite_has_a_generous_limit_that_lets_teardown_run(pytestconfig):
    assert pytestconfig.pluginmanager.hasplugin("timeout"), "pytest-timeout is not installed"
    assert float(pytestconfig.getini("timeout")) >= 1800  # slower than any stage wait or failover
    assert pytestconfig.getini("timeout_method") == "signal"  # raises in the test: fixtures tear down


def test_a_test_that_times_out_fails_tears_down_and_leaves_evidence(pytester):
    pytester.makeconftest(FAKE_LAB)
    pytester.makepyfile(test_hang="""
        import time
        import pytest

        @pytest.mark.timeout(1, method="signal")
        def test_hangs(held):
            time.sleep(900)
    """)
    # Generous bounds: this suite also runs inside the microVM, where under TCG a pytest
    # subprocess needs tens of seconds just to start. Ending well before the 900 s sleep
    # shows the time limit cut the test short.
    started = time.monotonic()
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=400)
    assert time.monotonic() - started < 400
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Failed: Timeout (>1.0s) from pytest-timeout*",
                                 "*lvslab evidence*", "saved under *evidence*test_hang.py_test_hangs"])
    evidence, = (pytester.path / "reports" / "runs").glob("*/evidence/test_hang.py_test_hangs/loadb1.txt")
    assert "ipvsadm -L -n: seen" in evidence.read_text()
    assert (pytester.path / "torn-down").read_text() == "yes"  # the fixture's teardown ran
