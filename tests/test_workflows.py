"""The nightly KVM workflow: linted with actionlint, and it runs both labs with their reports kept."""

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]
NIGHTLY = ROOT / ".github" / "workflows" / "nightly.yml"


def _actionlint() -> str:
    beside_python = Path(sys.executable).parent / "actionlint"
    found = str(beside_python) if beside_python.exists() else shutil.which("actionlint")
    assert found, "actionlint is missing: it comes with the project's Python packages (./run.sh setup)"
    return found


def test_every_workflow_passes_actionlint():
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert NIGHTLY in workflows
    proc = subprocess.run([_actionlint(), "-no-color", *map(str, workflows)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_actionlint_would_catch_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n")
    proc = subprocess.run([_actionlint(), "-no-color", str(broken)], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode != 0 and "matrix" in proc.stdout


def test_nightly_runs_both_labs_on_a_schedule_and_keeps_each_jobs_reports():
    flow = yaml.safe_load(NIGHTLY.read_text())
    triggers = flow[True]  # YAML 1.1 reads the key `on` as true
    assert "schedule" in triggers and "workflow_dispatch" in triggers
    job = flow["jobs"]["lab"]
    labs = {row["lab"]: row["pytest"] for row in job["strategy"]["matrix"]["include"]}
    assert "--lab=netns --lab-kernel=host" in labs["netns"]
    assert "--lab=vagrant" in labs["vagrant"] and "chapter5" in labs["vagrant"] and "chapter7" in labs["vagrant"]
    # the failovers per-commit CI leaves out (./run.sh test runs chapter 5 there): every night
    assert "--lab-stack=pacemaker" in labs["pacemaker"] and "chapter7" in labs["pacemaker"]
    assert "--lab-stack=keepalived" in labs["keepalived"] and "chapter7" in labs["keepalived"]
    assert "--lab-release=trixie" in labs["trixie"] and "chapter7" in labs["trixie"]
    steps = job["steps"]
    assert any("/dev/kvm" in step.get("run", "") for step in steps)
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["if"] == "always()" and upload["with"]["path"] == "reports/"
