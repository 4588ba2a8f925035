"""The least-connection schedulers' formulas (scenarios/scheduler_model.py), and why the schedulers
family's case tells each of lc, wlc, sed and nq from the other three."""

from __future__ import annotations

from itertools import permutations

import pytest

from scenarios.scheduler_model import HOLDS, LEAST_CONNECTION, Load, decide

WEIGHTS = {"webserver1": 3, "webserver2": 1}  # the case's (scenarios/test_schedulers.py UNEQUAL)


def table(web1: int, web2: int, inactive: tuple[int, int] = (0, 0)) -> list[Load]:
    return [Load("webserver1", 3, web1, inactive[0]), Load("webserver2", 1, web2, inactive[1])]


@pytest.mark.parametrize("open_, expected", [
    # one open on webserver1 (weight 3), webserver2 (weight 1) idle
    ((1, 0), {"lc": "webserver2", "wlc": "webserver2", "sed": "webserver1", "nq": "webserver2"}),
    # 2 and 1 open: lc ignores the weights, the others do not
    ((2, 1), {"lc": "webserver2", "wlc": "webserver1", "sed": "webserver1", "nq": "webserver1"}),
    # 4 and 1 open: the +1 of sed and nq (5/3 < 2/1) against wlc's 4/3 > 1/1
    ((4, 1), {"lc": "webserver2", "wlc": "webserver2", "sed": "webserver1", "nq": "webserver1"}),
])
def test_the_kernels_choice(open_, expected):
    assert {s: decide(s, table(*open_)) for s in LEAST_CONNECTION} == expected


def test_a_tie_is_not_settled_by_the_table():
    assert decide("lc", table(1, 1)) is None  # the kernel's list order decides
    assert decide("wlc", table(3, 1)) is None  # 3/3 == 1/1
    assert decide("sed", table(2, 0)) is None  # 3/3 == 1/1
    assert decide("nq", table(0, 0)) is None  # two idle: the first in the list


def test_inactive_connections_count_for_lc_and_wlc_only():
    assert decide("lc", table(1, 1, inactive=(40, 2))) == "webserver2"
    assert decide("lc", table(1, 1, inactive=(4, 2))) is None  # an expiring entry could tip it
    assert decide("sed", table(2, 0, inactive=(0, 90))) is None  # sed ignores them: still a tie


def test_a_server_with_weight_0_gets_nothing():
    quiesced = [Load("webserver1", 0, 0), Load("webserver2", 1, 5)]
    assert {decide(s, quiesced) for s in LEAST_CONNECTION} == {"webserver2"}


def caught(expected: str, actual: str, holds: int) -> bool:
    """Whether holding `holds` connections one after the other from an idle table, with weights 3:1,
    fails the case's check when `actual` is configured but `expected` is checked: on every path
    `actual` can take (at each of its ties either way), some step settled for `expected` goes elsewhere."""
    def every_path_caught(web1: int, web2: int, left: int) -> bool:
        if left == 0:
            return False
        want = decide(expected, table(web1, web2))
        choice = decide(actual, table(web1, web2))
        for server in ([choice] if choice else ["webserver1", "webserver2"]):
            if want is not None and server != want:
                continue  # this path is caught here
            if not every_path_caught(web1 + (server == "webserver1"), web2 + (server == "webserver2"), left - 1):
                return False
        return True

    return every_path_caught(0, 0, holds)


@pytest.mark.parametrize("expected, actual", list(permutations(LEAST_CONNECTION, 2)))
def test_the_case_fails_with_any_sibling_configured(expected, actual):
    assert caught(expected, actual, HOLDS), f"{HOLDS} holds cannot tell {expected} from {actual}"


def test_fewer_holds_would_not_tell_wlc_from_nq():
    """Why six: with four or five, wlc and nq decide alike on every path they can take."""
    assert not caught("wlc", "nq", HOLDS - 1) and caught("wlc", "nq", HOLDS)
