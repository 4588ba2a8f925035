"""`lvslab up / status / exec / shell / curl / fault / down`: a lab you can walk into.

`up` builds the tutorial's cluster to a stage and leaves it running: inside a background
microVM where this kernel has no IPVS, else directly here. Its agent (lab/agent.py) serves
the other commands over channels recorded in /run/lvslab/up/NAME/.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import signal
import subprocess
import sys
import termios
import threading
import time
import tty
from pathlib import Path

from lab import remote
from lab.agent import READY
from lab.checks.http import served_by
from lab.errors import LabError
from lab.proc import starttime
from lab.runtime.choose import KernelChoice, choose_kernel

REPO = Path(__file__).parents[1]
UP_TIMEOUT = 900
UP_TIMEOUT_VAGRANT = 3000  # five VMs booting under TCG, then heartbeat's resource scripts
FAULTS = {
    "apache-stop": "/etc/init.d/apache2 stop", "apache-start": "/etc/init.d/apache2 start",
    "heartbeat-stop": "/etc/init.d/heartbeat stop", "heartbeat-start": "/etc/init.d/heartbeat start",
}


def up(name: str, stage: str, kernel: str, provider: str = "netns", stack: str = "heartbeat",
       release: str = "bookworm") -> int:
    from lab.runtime import releases

    releases.choose(release, provider, flags=("--release ", "--lab "))  # the agent (here or in the microVM) inherits it
    claim = remote.claim_start(name)
    if claim is None:
        print(f"lab {name} is already being started by another `lvslab up`: wait for it, then use it "
              "(lvslab status) or stop it (lvslab down)", file=sys.stderr)
        return 1
    with claim:  # held until the lab is ready or has failed: a second `up` meanwhile is refused
        if remote.read_info(name):
            print(f"lab {name} is already up: use it (lvslab status) or stop it (lvslab down)", file=sys.stderr)
            return 1
        return _start(name, stage, kernel, provider, stack)


def _start(name: str, stage: str, kernel: str, provider: str, stack: str = "heartbeat") -> int:
    remote.remove_lab_dir(name)
    folder = remote.lab_dir(name)
    folder.mkdir(parents=True)
    console = folder / "console.log"
    sockets = [folder / f"ctl{i}.sock" for i in range(remote.PORTS)]
    agent = [sys.executable, "-m", "lab.agent", "--stage", stage, "--lab", provider, "--stack", stack]
    if provider == "vagrant":  # VMs on this machine: the agent drives them from here
        choice = KernelChoice("host", "Vagrant VMs, each with its own Debian kernel")
    else:
        choice = choose_kernel(kernel)
    from lab.runtime import releases

    release = releases.current().name
    print(f"lvslab up: {name} to stage {stage} on {stack}, {release} ({choice.where}: {choice.why})", flush=True)
    if choice.where == "host":
        with console.open("ab") as out:
            proc = subprocess.Popen([*agent, "--sockets", ",".join(map(str, sockets))], cwd=REPO,
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        pid = proc.pid
    else:
        from lab.runtime import microvm

        ports = {f"lvslab.ctl{i}": path for i, path in enumerate(sockets)}
        pid = microvm.start_background([*agent, "--ports", ",".join(ports)], cwd=REPO, console=console,
                                       ports=ports, why=choice.why)
    info = {"name": name, "pid": pid, "starttime": starttime(pid), "kind": choice.where, "stage": stage,
            "started": time.time(), "provider": provider, "stack": stack,
            "release": release}
    (folder / "info.json").write_text(json.dumps(info))
    return _follow(console, info, UP_TIMEOUT_VAGRANT if provider == "vagrant" else UP_TIMEOUT)


def _follow(console: Path, info: dict, timeout: float = UP_TIMEOUT) -> int:
    """Show the agent's progress lines until it says it is ready, or dies, or time runs out."""
    started = time.monotonic()
    position = 0
    while time.monotonic() - started < timeout:
        with console.open("rb") as log:
            log.seek(position)
            chunk = log.read()
            position += len(chunk)
        text = chunk.decode(errors="replace")
        for line in text.splitlines():
            if line.strip():
                print(f"  {line.strip()}", flush=True)
        if READY in text or (text == "" and _answers(info["name"])):
            print(f"lvslab up: ready after {time.monotonic() - started:.0f} s. Try: lvslab status", flush=True)
            return 0
        if not remote.pid_alive(info):
            _forget_vm(info)
            raise LabError(f"the lab did not come up; its output is in {console}", "fix what it says, then `lvslab up`")
        time.sleep(0.5)
    os.killpg(info["pid"], signal.SIGKILL)
    _forget_vm(info)
    raise LabError(f"the lab was not ready after {timeout:.0f} s and was stopped; see {console}", "lvslab up")


def _forget_vm(info: dict) -> None:
    """The microVM's record, once its process is gone (its console log stays for reading); a
    Vagrant lab whose agent is gone leaves VMs in its jail: they are stopped here."""
    from lab.runtime import libvirt_jail
    from lab.runtime.microvm import RUN_DIR

    (RUN_DIR / f"microvm-{info['pid']}.json").unlink(missing_ok=True)
    if info.get("provider") == "vagrant":
        for line in libvirt_jail.clean_all():  # only jails whose owner (the agent) is dead
            print(f"lvslab: {line}", file=sys.stderr)


def _answers(name: str) -> bool:
    """The agent's own word that it is ready: a hello on one of its channels (quick when it is not)."""
    try:
        client = remote.AgentClient(name, timeout=2)
    except (LabError, OSError):
        return False
    client.close()
    return True


def down(name: str) -> int:
    info = remote.read_info(name)
    if info is None:
        print(f"lab {name} is not up", file=sys.stderr)
        remote.remove_lab_dir(name)
        return 0
    try:
        client = remote.AgentClient(name, timeout=120)
        client.request("down")
        client.close()
    except (LabError, OSError) as error:
        print(f"lvslab down: the agent did not answer ({error}); stopping it", file=sys.stderr)
    deadline = time.monotonic() + 120
    while remote.pid_alive(info) and time.monotonic() < deadline:
        time.sleep(0.5)
    if remote.pid_alive(info):
        os.killpg(info["pid"], signal.SIGKILL)
    _forget_vm(info)
    remote.remove_lab_dir(name)
    print(f"lvslab down: {name} is down")
    return 0


def connect(name: str) -> remote.RemoteLab:
    lab = remote.RemoteLab(name)
    lab.start()
    return lab


def status(name: str, as_json: bool) -> int:
    from lab.status import render

    lab = connect(name)
    try:
        state = lab.status()
    finally:
        lab.destroy()
    print(json.dumps(state, indent=2) if as_json else render(state))
    return 0


def run(name: str, node: str, command: list[str]) -> int:
    lab = connect(name)
    try:
        result = lab.node(node).run(command[0] if len(command) == 1 else shlex.join(command), timeout=3600)
    finally:
        lab.destroy()
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    return result.rc


def curl(name: str, path: str) -> int:
    lab = connect(name)
    try:
        reply = lab.http_get(f"http://{lab.cluster.vip}{path}")
    finally:
        lab.destroy()
    if reply.ok:
        print(f"HTTP {reply.status} from {served_by(reply.body) or 'an unnamed server'} in {reply.seconds:.2f} s")
        return 0
    print(f"no answer: {reply.error}")
    return 1


# lab/faults.py's verbs, by hand: no registry undoes them; the opposite verb does (thaw, link-up,
# boot, heal-partition, lan with "clean", hear, resume-heartbeat). For partition NODE is
# "loadb1,loadb2"; for lan it is netem's arguments ("loss 30%", "delay 200ms 50ms") or "clean".
LAB_FAULTS = ("kill-heartbeat", "kill-ldirectord", "kill-apache2", "freeze", "thaw", "link-down", "link-up",
              "crash", "boot", "partition", "heal-partition", "lan", "deafen", "hear",
              "stall-heartbeat", "resume-heartbeat")
FAULT_VERBS = (*FAULTS, *LAB_FAULTS)


def fault(name: str, verb: str, node: str) -> int:
    if verb in FAULTS:
        return run(name, node, [FAULTS[verb]])
    from lab.faults import DEAF, kill_daemon, resume_daemon, stall_daemon

    lab = connect(name)
    try:
        if verb.startswith("kill-"):
            print(f"{node}: SIGKILL {verb[5:]} (pids {kill_daemon(lab.node(node), verb[5:])})")
        elif verb == "freeze":
            print(f"{node}: frozen (silent on the LAN, {lab.freeze(node)} processes stopped)")
        elif verb == "thaw":
            lab.thaw(node)
            print(f"{node}: thawed")
        elif verb in ("crash", "boot"):
            getattr(lab, verb)(node)
            print(f"{node}: {'crashed (power cut)' if verb == 'crash' else 'booted (its rc links ran)'}")
        elif verb in ("partition", "heal-partition"):
            lab.isolate(node.split(","), on=verb == "partition")
            print(f"{node}: {'partitioned from each other' if verb == 'partition' else 'partition healed'}")
        elif verb in ("deafen", "hear"):
            lab.shape_lan(DEAF if verb == "deafen" else None, [node])
            print(f"{node}: {'hears nothing from the LAN (what it sends goes out)' if verb == 'deafen' else 'hears the LAN again'}")
        elif verb == "stall-heartbeat":
            print(f"{node}: heartbeat's master control process stopped (pid {stall_daemon(lab.node(node), 'heartbeat')})")
        elif verb == "resume-heartbeat":
            resume_daemon(lab.node(node), "heartbeat")
            print(f"{node}: heartbeat's master control process running again")
        elif verb == "lan":
            lab.shape_lan(None if node == "clean" else node.split())
            print(f"LAN: {'clean' if node == 'clean' else 'netem ' + node}")
        else:
            lab.set_link(node, up=verb == "link-up")
            print(f"{node}: link {verb[5:]}")
    finally:
        lab.destroy()
    return 0


def shell(name: str, node: str) -> int:
    """An interactive shell inside a node, relayed through the agent's pty."""
    client = remote.AgentClient(name, timeout=None)  # type: ignore[arg-type]
    interactive = os.isatty(0)
    saved = termios.tcgetattr(0) if interactive else None
    rc = 1

    def pump_stdin() -> None:
        while True:
            ready, _, _ = select.select([0], [], [], 0.2)
            if ready:
                data = os.read(0, 4096)
                if not data:
                    return
                client.send_stdin(data)

    try:
        if interactive:
            tty.setraw(0)
        threading.Thread(target=pump_stdin, daemon=True).start()
        for frame in client.shell_frames(node, os.environ.get("TERM", "xterm")):
            if "agent_error" in frame:
                raise LabError(f"no shell on {node}: {frame['agent_error']}")
            if frame.get("op") == "stdout":
                import base64

                os.write(1, base64.b64decode(frame["data"]))
            elif frame.get("op") == "exit":
                rc = frame["rc"]
    finally:
        if saved is not None:
            termios.tcsetattr(0, termios.TCSADRAIN, saved)
        client.close()
    return rc
