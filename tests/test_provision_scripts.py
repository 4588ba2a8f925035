import os
import re
import subprocess
from pathlib import Path

import pytest

from lab.differences import markdown
from lab.provision import HERE, _scripts_tar, plan
from lab.stacks import STACKS

SCRIPTS = sorted(p for p in HERE.iterdir() if p.suffix == ".sh" or p.name == "LVSSyncDaemonSwap")


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_scripts_parse(script):
    shell = "sh" if script.name == "LVSSyncDaemonSwap" else "bash"
    subprocess.run([shell, "-n", str(script)], check=True)


def test_every_planned_script_exists_and_is_shipped():
    import io
    import tarfile

    shipped = set(tarfile.open(fileobj=io.BytesIO(_scripts_tar())).getnames())
    planned = {s for stack in STACKS.values() for stage in plan(stack).values()
               for scripts in stage.values() for s in scripts} | {s.service_script for s in STACKS.values()}
    assert planned <= shipped and {"common.sh", "LVSSyncDaemonSwap"} <= shipped


def test_bookworm_differences_document_is_current():
    doc = Path(__file__).parents[1] / "docs" / "bookworm-differences.md"
    assert doc.read_text() == markdown(), "regenerate it: lvslab differences > docs/bookworm-differences.md"


def test_trixie_differences_document_is_current():
    from lab.differences import trixie_markdown

    doc = Path(__file__).parents[1] / "docs" / "trixie-differences.md"
    assert doc.read_text() == trixie_markdown(), \
        "regenerate it: lvslab differences --release trixie > docs/trixie-differences.md"


@pytest.fixture
def fake_ipvsadm(tmp_path):
    """A stand-in ipvsadm that keeps the sync daemons in a file: tests the script's swap logic only."""
    state = tmp_path / "daemons"
    state.write_text("")
    tool = tmp_path / "ipvsadm"
    tool.write_text(f"""#!/bin/sh
case "$*" in
  "-L --daemon") cat {state} ;;
  "--start-daemon "*) echo "$2 sync daemon (mcast=$4, syncid=$6)" >> {state} ;;
  "--stop-daemon "*) grep -v "^$2 " {state} > {state}.new; mv {state}.new {state} ;;
esac
""")
    tool.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}

    def swap(*args):
        return subprocess.run(["sh", str(HERE / "LVSSyncDaemonSwap"), *args], env=env, capture_output=True, text=True)

    return swap, state


def test_sync_swap_master_start_stop_status(fake_ipvsadm):
    swap, state = fake_ipvsadm
    assert swap("master", "status").stdout == "master stopped\n"
    assert swap("master", "status").returncode == 3
    swap("master", "start")
    assert state.read_text() == "master sync daemon (mcast=eth0, syncid=0)\n"
    assert swap("master", "status").stdout == "master running (mcast=eth0, syncid=0)\n"
    swap("master", "stop")
    assert state.read_text() == "backup sync daemon (mcast=eth0, syncid=0)\n"
    swap("master", "start")
    assert state.read_text() == "master sync daemon (mcast=eth0, syncid=0)\n", "start must stop the backup first"
    assert swap("master", "bogus").returncode == 2


def test_ci_runs_the_readme_test_command_with_every_scenario():
    root = Path(__file__).parents[1]
    ci = (root / ".ci/run").read_text()
    run_sh = (root / "run.sh").read_text()
    assert "./run.sh setup" in ci
    runs = [line.strip() for line in ci.splitlines() if line.strip().startswith(".venv/bin/")]
    compared = re.search(r'^COMPARED="(.*)"$', run_sh, re.M)[1]
    lane = re.search(r'^LANE="(.*)"$', run_sh, re.M)[1]
    assert runs == [".venv/bin/pytest tests/ || status=$?",
                    # the lane beside (in the background, its status from end_lane): the faults
                    f'.venv/bin/pytest scenarios/ --lab=netns --lab-timeout=4800 -m "{lane}" '
                    "--lab-reports=reports/compare/heartbeat-bookworm-2 || rc=$?",
                    f'.venv/bin/pytest scenarios/ --lab=netns --lab-timeout=4800 -m "not ({lane})" '
                    "--lab-reports=reports/compare/heartbeat-bookworm || status=$?",
                    f'.venv/bin/pytest scenarios/ --lab=netns --lab-stack=keepalived -m "{compared}" '
                    "--lab-reports=reports/compare/keepalived-bookworm || status=$?",
                    ".venv/bin/pytest scenarios/ --lab=netns --lab-stack=pacemaker -m chapter5 "
                    "--lab-reports=reports/compare/pacemaker-bookworm || status=$?",
                    ".venv/bin/pytest scenarios/ --lab=vagrant -m chapter5 --lab-reports=reports/vagrant "
                    "--timeout=3600 || status=$?",
                    ".venv/bin/lvslab compare || status=$?"]
    # the two halves of the namespace run are every scenario: one marker expression and its negation
    assert f'-m "{lane}"' in runs[1] and f'-m "not ({lane})"' in runs[2]
    test_action = run_sh[run_sh.index("    test) setup"):run_sh.index("    compare) setup")]
    test_action = test_action.replace('"$COMPARED"', f'"{compared}"').replace('"$LANE"', f'"{lane}"').replace('($LANE)', f'({lane})')
    in_run_sh = [line.strip() for line in test_action.splitlines() if line.strip().startswith('"$VENV/bin/')]
    # the same commands, in the same order, in run.sh's test action (which also passes the user's arguments)
    assert [line.replace('"$VENV/bin/', ".venv/bin/").replace('" ', " ", 1).replace(' "$@" ||', " ||")
            .removesuffix(' "$@"') for line in in_run_sh] == runs
    for script in (ci, test_action):  # the lane starts before the first half and is waited for before Vagrant
        assert script.index("start_lane beside") < script.index("compare/heartbeat-bookworm ") < script.index("end_lane")
        assert script.index("end_lane") < script.index("--lab=vagrant")
        assert "|| status=$?" not in script[script.index("beside()"):script.index("start_lane beside")]
        assert script.index("export LVSLAB_VM_CPUS=1") < script.index("start_lane beside")
    assert ci.rstrip().endswith("exit $status"), "a failure of any run fails CI"
    assert "./run.sh test " in (root / "README.md").read_text()
