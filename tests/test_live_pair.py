"""The pair handed from one test to the next: one VIP holder whose own heartbeat says its
takeover is over, and a live standby (scenarios/steps.live_pair), read on scripted nodes."""

from lab.cluster import load_cluster
from scenarios.steps import live_pair
from tests.fakes import FakeLab, ScriptedNode

RUNNING = "Heartbeat is running on this machine.\n"


class HeldLab(FakeLab):
    """The VIP listed by the nodes in `holders`; each balancer's cl_status answer scripted."""

    def __init__(self, holders: list[str], said: dict[str, str]) -> None:
        super().__init__(load_cluster(), "lvslab-test")
        self.holders = holders
        for name, text in said.items():
            self.nodes[name] = node = ScriptedNode(name, [(0, text)])
            node.spec = self.cluster.node(name)  # haresources names loadb1 (its "local" is everything)

    def lan_addresses(self, node: str, *, timeout: float = 3.0) -> list[str] | None:
        own = self.cluster.node(node).address
        return [own, self.cluster.vip] if node in self.holders else [own]


def test_a_holder_whose_own_takeover_is_over_and_a_live_standby_are_a_live_pair():
    lab = HeldLab(["loadb2"], {"loadb2": RUNNING + "active\nall\n", "loadb1": RUNNING + "active\nnone\n"})
    holder, seen = live_pair(lab)
    assert holder == "loadb2", seen


def test_a_holder_still_in_transition_is_not_handed_on_though_its_standby_looks_live():
    """The known race of slow runs: the VIP listed, the standby sees its peer active and holds
    nothing, but the holder's own heartbeat still says "transition"."""
    lab = HeldLab(["loadb2"], {"loadb2": RUNNING + "active\ntransition\n", "loadb1": RUNNING + "active\nnone\n"})
    holder, seen = live_pair(lab)
    assert holder is None
    assert "loadb2 says it is unsettled" in seen


def test_two_holders_or_a_dead_standby_are_not_a_live_pair():
    both = HeldLab(["loadb1", "loadb2"], {"loadb1": RUNNING + "active\nall\n", "loadb2": RUNNING + "active\nall\n"})
    assert live_pair(both) == (None, "VIP held by ['loadb1', 'loadb2']")
    dead = HeldLab(["loadb1"], {"loadb1": RUNNING + "dead\nall\n", "loadb2": "Heartbeat is stopped on this machine.\n"})
    assert live_pair(dead)[0] is None


def test_after_a_test_a_pair_still_moving_is_waited_for_and_a_stuck_split_is_not():
    """one_active_afterwards's probe: a holder in transition or nobody holding the VIP is still
    moving (wait); two holders both active is a split nobody will heal (repair at once)."""
    from scenarios.test_faults import _moving

    taking_over = HeldLab(["loadb2"], {"loadb2": RUNNING + "active\ntransition\n", "loadb1": RUNNING + "active\nnone\n"})
    done, (holder, _, roles) = _moving(taking_over)
    assert (done, holder, roles) == (False, None, {"loadb1": "standby", "loadb2": "unsettled"})
    nobody = HeldLab([], {"loadb1": RUNNING + "active\nnone\n", "loadb2": RUNNING + "active\nnone\n"})
    assert _moving(nobody)[0] is False
    split = HeldLab(["loadb1", "loadb2"], {"loadb1": RUNNING + "active\nall\n", "loadb2": RUNNING + "active\nall\n"})
    done, (holder, _, roles) = _moving(split)
    assert (done, holder, roles) == (True, None, {"loadb1": "active", "loadb2": "active"})
    live = HeldLab(["loadb1"], {"loadb1": RUNNING + "active\nlocal\n", "loadb2": RUNNING + "active\nlocal\n"})
    assert _moving(live)[1][0] == "loadb1"
