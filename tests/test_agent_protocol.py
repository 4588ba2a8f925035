import base64
import io
import json

from lab.agent import Agent, Channel
from lab.cluster import load_cluster
from lab.node import Result
from lab.provision import Provisioner
from tests.fakes import FakeLab, ScriptedNode


def exchange(requests: list[dict]) -> list[dict]:
    lab = FakeLab(load_cluster(), "lvslab-fake")
    node = ScriptedNode("loadb1", [(3, "ldirectord is stopped for /etc/ha.d/ldirectord.cf\n")])
    lab.nodes["loadb1"] = node
    out = io.BytesIO()
    channel = Channel(io.BytesIO(b"".join(json.dumps(r).encode() + b"\n" for r in requests)), out)
    agent = Agent(lab, Provisioner(lab))
    while (request := channel.read_message()) is not None:
        agent.handle(channel, request)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_hello_exec_http_and_errors_answer_with_their_ids():
    replies = exchange([
        {"id": 0, "op": "hello", "nonce": "n1"},
        {"id": 1, "op": "exec", "node": "loadb1", "command": "ldirectord ldirectord.cf status",
         "stdin": base64.b64encode(b"x").decode()},
        {"id": 2, "op": "http", "url": "http://192.168.0.105/"},
        {"id": 3, "op": "exec", "node": "loadb9", "command": "true"},
        {"id": 4, "op": "reboot"},
    ])
    # the LAN's name as the lab's nodes know it: a --lab-reuse run checks that interface (eth1 on VMs)
    assert replies[0] == {"id": 0, "op": "hello", "nonce": "n1", "lab": "lvslab-fake", "interface": "eth0",
                          "stack": "heartbeat"}
    assert Result(**{k: v for k, v in replies[1].items() if k != "id"}).rc == 3
    assert replies[2]["status"] == 200 and replies[2]["error"] == "" and "agent_error" not in replies[2]
    assert replies[3]["id"] == 3 and "no node 'loadb9'" in replies[3]["agent_error"]
    assert replies[4] == {"id": 4, "agent_error": "unknown op 'reboot'"}


def test_down_answers_then_stops_the_agent():
    assert exchange([{"id": 7, "op": "down"}]) == [{"id": 7, "down": True}]
