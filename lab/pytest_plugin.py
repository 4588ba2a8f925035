"""pytest plugin: `--lab=netns` builds the tutorial's cluster and runs the scenarios on it.

On a kernel without IPVS the whole session re-runs inside a Debian microVM (see
lab/runtime/microvm.py); its output streams here, and reports/, pytest's cache and every path
given on the command line are written on this machine (lab/runtime/vm_args.py).
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest

from lab import evidence, interrupt, log, node, report_runs, stages
from lab.cluster import STACK_NAMES, Cluster, load_cluster, node_names
from lab.errors import KnownFinding, LabError
from lab.node import Node
from lab.providers import PROVIDERS, get_provider
from lab.providers.base import Lab
from lab.provision import Provisioner
from lab.report import TutorialReport
from lab.runtime import detect, image, releases
from lab.runtime.choose import KERNEL_CHOICES, choose_kernel
from lab.runtime.releases import DEFAULT as DEFAULT_RELEASE, RELEASE_NAMES
from lab.runtime.vm_args import vm_pytest_args

HELP_LAB = "build the tutorial's cluster with this provider and run the scenarios on it"
HELP_KERNEL = ("where the netns lab runs: host (this kernel, needs IPVS and root), microvm (Debian kernel "
               "under TCG), auto (host when it has IPVS, else microvm)")
HELP_TIMEOUT = "watchdog: stop the microVM after this many seconds"
# The one list of markers, in the story's order: pytest runs the chapters and then the families in
# this order (pytest_collection_modifyitems); those in RUN_FIRST start labs of their own and go first.
MARKERS = {
    "chapter4": "the tutorial's chapter 4 files (ha.cf, haresources, authkeys, ldirectord.cf, rc links)",
    "chapter5": "the tutorial's chapter 5 checks (load balancers)",
    "chapter6": "the tutorial's chapter 6 (Apache nodes accept the VIP)",
    "chapter7": "the tutorial's chapter 7 checks (real HTTP, real-server failure, balancer failover)",
    "parallel": "a second complete lab beside the first in one kernel: own VIP holder, own IPVS table, no crossing",
    "persistence": "sessions: one client's connections without and with persistent=600 (real HTTP, real cookies)",
    "schedulers": "every scheduler chapter 1 loads, recognised by its behaviour with real connections",
    "forwarding": "masquerading (NAT) and tunnelling (IPIP) besides direct routing",
    "tls": "HTTPS balanced at layer 4 through the VIP; TLS sessions with and without persistence",
    "sync": "LVS connection sync between the balancers, across failover",
    "faults": "heartbeat killed, a balancer frozen, cut off or crashed (also with the tutorial's timing), a real server crashed, the balancers partitioned, a lossy LAN, measured as clients feel them",
    "security": "heartbeat's authentication: authkeys' mode, a rogue node on the LAN, what crc, md5 and sha1 each let in",
    "cli": "lvslab up/status/exec/shell/curl/fault/down, driven as a person would (starts its own lab)",
    "lifecycle": "the lab's own clean-up after Ctrl-C and hard kills (starts extra labs)",
}
RUN_FIRST = ("cli", "lifecycle")
# Not families: what a scenario says of itself.
TEST_MARKERS = {"expected": "expected(two_vip_holders='why', logs=('pattern', ...)): what the invariant "
                            "watchers (lab/monitor.py) are to allow in this test, and why",
                "chapters_lane": "a faults scenario that `./run.sh test` runs in the chapters' lane, after the "
                                 "other families, not in the lane beside (the faults lane is CI's critical path)"}
CHAPTER_ORDER = tuple(name for name in MARKERS if name not in RUN_FIRST)
_report_key = pytest.StashKey[TutorialReport]()
_live_labs: list[Lab] = []


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lvslab", "lvs-ha-lab")
    group.addoption("--lab", choices=sorted(PROVIDERS), default=None, help=HELP_LAB)
    group.addoption("--lab-kernel", choices=KERNEL_CHOICES, default="auto", help=HELP_KERNEL)
    group.addoption("--lab-timeout", type=float, default=3600.0, help=HELP_TIMEOUT)
    group.addoption("--lab-vm-memory", default="4G", help="memory of the microVM (default 4G)")
    group.addoption("--lab-stack", choices=STACK_NAMES, default="heartbeat",
                    help="the software that runs the balancer pair: heartbeat (the tutorial's: heartbeat, "
                         "ldirectord, LVSSyncDaemonSwap, IPaddr2), keepalived (VRRP, checks and IPVS in one) "
                         "or pacemaker (Corosync and Pacemaker running the tutorial's resources)")
    group.addoption("--lab-release", choices=RELEASE_NAMES, default=DEFAULT_RELEASE,
                    help="the Debian release of the nodes and of the microVM's kernel: bookworm (Debian 12, "
                         "the default) or trixie (Debian 13; docs/trixie-differences.md)")
    group.addoption("--lab-reports", default=None,
                    help="folder for this run's reports (default: a new reports/runs/<time>-<pid>/, "
                         "with reports/latest pointing to the newest run)")
    group.addoption("--lab-reuse", nargs="?", const="lvslab-up", default=None, metavar="NAME",
                    help="run against a lab that is already up (`lvslab up`; default name lvslab-up) instead "
                         "of building one; chapters it is already past are skipped")


_run_folder_key = pytest.StashKey[Path]()


def reports_folder(config: pytest.Config) -> Path:
    """This run's report folder (--lab-reports, else a new one under reports/runs/): where the
    report, evidence and lab.log go, and scenarios keep their own records too."""
    if config.option.lab_reports:
        return (config.invocation_params.dir / config.option.lab_reports).resolve()
    if _run_folder_key not in config.stash:  # made on first use: only a lab run has one
        config.stash[_run_folder_key] = report_runs.new_run_folder((config.invocation_params.dir / "reports").resolve())
    return config.stash[_run_folder_key]


@pytest.hookimpl(tryfirst=True)
def pytest_keyboard_interrupt(excinfo: pytest.ExceptionInfo) -> None:
    interrupt.handled()  # teardown's node commands must run


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> int | None:
    if (config.option.lab or config.option.lab_reuse) and not detect.in_microvm():
        _unfinished(config)
    if config.option.lab or config.option.lab_reuse:
        try:
            load_cluster(stack=config.option.lab_stack)  # a broken cluster.json: say which field, first
            releases.choose(config.option.lab_release, config.option.lab or "netns")  # the VM inherits it
        except LabError as error:
            raise pytest.UsageError(str(error)) from None
    if config.option.lab is None or config.option.lab_reuse:
        return None  # no lab, or one that already runs elsewhere: this process drives it
    reports = reports_folder(config)
    if config.option.xmlpath is None:
        config.option.xmlpath = str(reports / "junit.xml")
        if not detect.in_microvm():
            (reports / "junit.xml").unlink(missing_ok=True)  # the previous run's, green or not
    if config.option.lab != "netns" or detect.in_microvm():
        return None
    try:
        choice = choose_kernel(config.option.lab_kernel)
        if choice.where == "host":
            os.environ["LVSLAB_WHY"] = choice.why
            return None
        from lab.runtime.microvm import run_in_vm

        log.add_sink(reports / "lab.log")
        # The run folder made here is the VM's too (its own would be another, named by its pid).
        args = [*config.invocation_params.args]
        args = args if config.option.lab_reports else [f"--lab-reports={reports}", *args]
        vm = vm_pytest_args(args, config.invocation_params.dir,
                            always=[report_runs.base_of(reports), *_cache_dir(config)])
        status = run_in_vm([sys.executable, "-m", "pytest", *vm.args], cwd=config.invocation_params.dir,
                           rwdirs=vm.rwdirs, why=choice.why, timeout=config.option.lab_timeout,
                           memory=config.option.lab_vm_memory)
        _draw_plots(reports)
        return status
    except LabError as error:
        raise pytest.UsageError(str(error)) from None


def _draw_plots(reports: Path) -> None:
    """The fault timelines' plots, which the microVM leaves to this machine (lab.plot.picture)."""
    from lab.plot import draw_missing

    started = time.monotonic()
    try:
        drawn = draw_missing(reports)
    except Exception as error:  # the run's verdict stands; the pictures are evidence, say what is missing
        log.info(f"plots: could not draw the timelines under {reports / 'failover'}: {type(error).__name__}: {error}")
        return
    if drawn:
        log.info(f"plots: drew {len(drawn)} timelines in {reports / 'failover'} ({time.monotonic() - started:.1f} s)")


def _cache_dir(config: pytest.Config) -> list[Path]:
    """pytest's cache folder, made here with its supporting files (.gitignore, README) so the
    microVM can write it: --lf, --ff and --nf then read and keep what runs in the VM found.
    Nothing when the user turned the cache off (-p no:cacheprovider)."""
    if config.pluginmanager.is_blocked("cacheprovider"):
        return []
    from _pytest.cacheprovider import Cache

    folder = Cache.cache_dir_from_config(config, _ispytest=True)
    Cache(folder, config, _ispytest=True)._ensure_cache_dir_and_supporting_files()
    return [folder]


def _unfinished(config: pytest.Config) -> None:
    """Replace the previous run's report before anything can fail: a run that dies before
    its session ends (no microVM, a broken cluster.json, a killed VM) leaves this one, never
    the last run's green report. The session's own report replaces it when the run ends."""
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    TutorialReport(header=[f"a run started {started} has not written its report: it did not finish, "
                           "or stopped before its tests (see the pytest output and lab.log)"]).write(reports_folder(config))
    report_runs.point_latest(reports_folder(config))


class _Outcomes:
    """Each test's outcome into the report, as pytest's own summary counts it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        category = self.config.hook.pytest_report_teststatus(report=report, config=self.config)[0]
        if category:  # "" is a setup or teardown that passed: not counted
            self.config.stash[_report_key].outcome(report.nodeid, category, report.when, _first_line(report))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if not report.passed:  # pytest counts a collection error as an error, a skipped module as skipped
            category = "error" if report.failed else "skipped"
            self.config.stash[_report_key].outcome(report.nodeid, category, "collect", _first_line(report))


def _first_line(report: pytest.TestReport | pytest.CollectReport) -> str:
    if getattr(report, "wasxfail", None) is not None:
        return f"xfail: {report.wasxfail}".rstrip(": ")
    longrepr = report.longrepr
    if isinstance(longrepr, tuple):  # a skip: (path, line, "Skipped: reason")
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message.strip().partition("\n")[0]
    lines = str(longrepr or "").strip().splitlines()  # a collection error: a traceback, the error last
    errors = [line[1:].strip() for line in lines if line.startswith("E ")]
    return (errors or lines or [""])[-1]


def pytest_configure(config: pytest.Config) -> None:
    for name, text in {**MARKERS, **TEST_MARKERS}.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    if config.option.lab or config.option.lab_reuse:
        interrupt.install()
    config.stash[_report_key] = TutorialReport(stack=config.option.lab_stack, release=config.option.lab_release)
    config.pluginmanager.register(_Outcomes(config), "lvslab-outcomes")
    if (config.option.lab or config.option.lab_reuse) and not hasattr(config, "workerinput"):
        log.add_sink(reports_folder(config) / "lab.log")
        log.terminal_writer = _live_writer(config)


def _live_writer(config: pytest.Config):  # noqa: ANN202
    """Progress lines shown live: pytest captures fd 2 during tests and fixtures."""
    capman = config.pluginmanager.getplugin("capturemanager")

    def write(line: str) -> None:
        reporter = config.pluginmanager.getplugin("terminalreporter")
        if capman is None or reporter is None:
            print(line, file=sys.__stderr__, flush=True)
            return
        with capman.global_and_fixture_disabled():
            reporter.write_line(line)

    return write


def _stack_line(config: pytest.Config) -> str:
    from lab.stacks import STACKS

    release = releases.get(config.option.lab_release)
    return f"lvslab: stack {config.option.lab_stack}: {STACKS[config.option.lab_stack].title}; nodes: {release.title}"


def pytest_report_header(config: pytest.Config) -> list[str]:
    if config.option.lab_reuse:
        return [f"lvslab: reusing the running lab {config.option.lab_reuse} (lvslab up)"]
    if not config.option.lab:
        return ["lvslab: no --lab given: scenarios will be skipped (unit tests only)"]
    if config.option.lab == "vagrant":
        from lab.runtime import accel, box

        chosen = accel.choose()
        try:
            which_box = f"{box.box_name()} ({box.box_dir()})"
        except LabError as error:  # no vagrant here: the lab fixture says so, with the fix
            which_box = f"not available: {error.what}"
        lines = [f"lvslab: provider vagrant, {chosen.name.upper()} acceleration ({chosen.why})",
                 f"lvslab: box {which_box}", _stack_line(config)]
        config.stash[_report_key].header.extend(lines)
        return lines
    info = detect.kernel_info()
    lines = [f"lvslab: provider {config.option.lab}, kernel {info.release} "
             f"({os.environ.get('LVSLAB_WHY', info.why)})",
             f"lvslab: node image {image.image_root() if os.environ.get(image.IMAGE_ENV) else image.image_dir()}",
             _stack_line(config)]
    config.stash[_report_key].header.extend(lines)
    return lines


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tutorial is a story: chapter 5 before 6 before 7, whatever the file order."""
    def chapter(item: pytest.Item) -> int:
        for index, name in enumerate(CHAPTER_ORDER):
            if item.get_closest_marker(name):
                return index
        return -1

    items.sort(key=chapter)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and report.when in ("setup", "call") and _live_labs:
        folder = evidence.folder_for(reports_folder(item.config), item.nodeid)
        try:
            evidence.collect(_live_labs[-1], folder)
            report.sections.append(("lvslab evidence", f"saved under {folder}"))
        except Exception as error:  # never hide the test's own failure
            report.sections.append(("lvslab evidence", f"could not be collected: {error}"))
    if report.failed and report.when == "call" and call.excinfo is not None and call.excinfo.errisinstance(KnownFinding):
        report.outcome, report.wasxfail = "skipped", f"FINDING: {call.excinfo.value}"


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the report whenever a lab run ends, even with no check recorded: it replaces the
    previous run's, so a run that failed early never leaves a green report behind."""
    config = session.config
    report = config.stash[_report_key]
    if config.option.lab or config.option.lab_reuse:
        report.header.append(f"pytest exit status {int(exitstatus)}")
        report.figures.update({title: f"{seconds:.1f} s" for title, seconds in log.timings
                               if title.startswith(("lab:", "stage ", "provisioning", "chapter"))})
        commands = node.counted.describe()
        report.figures["node commands run by the harness"] = commands
        log.info(f"harness: {commands}")
        for path in report.write(reports_folder(config)):
            log.info(f"report: {path}")
        report_runs.point_latest(reports_folder(config))


def pytest_unconfigure(config: pytest.Config) -> None:
    log.terminal_writer = None
    # Also reached after Ctrl-C, when session fixtures may not have been torn down.
    while _live_labs:
        lab = _live_labs.pop()
        try:
            lab.destroy()
        except LabError as error:
            log.info(f"teardown: {error}")


# --- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """The cluster as the lab runs it: a provider may name things its own way (the LAN is eth1
    on Vagrant VMs, whose eth0 is Vagrant's management network)."""
    if request.config.option.lab or request.config.option.lab_reuse:
        return request.getfixturevalue("lab").cluster
    return load_cluster()


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    name = request.config.option.lab
    if request.config.option.lab_reuse:
        from lab.remote import RemoteLab

        reused = RemoteLab(request.config.option.lab_reuse)
        try:
            reused.start()
        except LabError as error:
            pytest.exit(str(error), returncode=pytest.ExitCode.USAGE_ERROR)
        _live_labs.append(reused)
        yield reused
        _live_labs.remove(reused)
        reused.destroy()  # lets go of the channel; the lab stays up
        return
    if name is None:
        pytest.skip("scenarios need a lab: run with --lab=netns")
    cluster = load_cluster(stack=request.config.option.lab_stack)  # after the skip: no lab reads no cluster
    provider = get_provider(name)
    try:
        provider.check_host()
    except LabError as error:
        pytest.exit(str(error), returncode=pytest.ExitCode.USAGE_ERROR)
    the_lab = provider.create(cluster)
    _live_labs.append(the_lab)
    try:
        with log.step(f"lab: bring-up of {the_lab.describe()} (nodes and network)"):
            the_lab.start()
        yield the_lab
    finally:
        with log.step(f"lab: teardown of {the_lab.describe()}"):
            if the_lab in _live_labs:
                _live_labs.remove(the_lab)
            the_lab.destroy()


@pytest.fixture(scope="session")
def provisioner(lab: Lab) -> Provisioner:
    provisioner = Provisioner(lab)
    if hasattr(lab, "status"):  # a reused lab knows which stages it has been through
        provisioner.done = list(lab.status()["stages"])
    return provisioner


@pytest.fixture(scope="session")
def tutorial(request: pytest.FixtureRequest) -> TutorialReport:
    """The reproduction report: scenarios check through tutorial.expect(...)."""
    return request.config.stash[_report_key]


@pytest.fixture(autouse=True)
def _name_checks_after_test(request: pytest.FixtureRequest) -> None:
    request.config.stash[_report_key].current_test = request.node.nodeid


def _node_fixture(name: str):  # noqa: ANN202 - a pytest fixture factory
    @pytest.fixture(name=name, scope="session")
    def node(lab: Lab) -> Node:
        return lab.node(name)

    return node


for _name in node_names():  # loadb1, loadb2, webserver1, webserver2, client
    globals()[f"_node_{_name}"] = _node_fixture(_name)


# --- stages: the cluster provisioned as far as a chapter's checks need (lab/stages.py) ---

@pytest.fixture(scope="session")
def chapter5_cluster(lab: Lab, provisioner: Provisioner) -> Lab:
    """Chapters 1-4 done: heartbeat started on both balancers, Apache on the web nodes, loadb1 active."""
    with log.step("stage ch5: chapters 1-4 provisioned and loadb1 active"):
        provisioner.provision("ch5")
        stages.settle(lab, "ch5")
    return lab


@pytest.fixture
def not_past_chapter5(provisioner: Provisioner) -> None:
    """Chapter 5's checks describe the cluster before chapter 6; a reused lab may be past that."""
    if "ch6" in provisioner.done:
        pytest.skip("this (reused) lab is past chapter 5: its Apache nodes are configured; "
                    "`lvslab down; lvslab up --stage ch5` to check chapter 5 again")


@pytest.fixture(scope="session")
def chapter6_cluster(chapter5_cluster: Lab, provisioner: Provisioner) -> Lab:
    """Chapter 6 done: the Apache nodes accept the VIP and serve ldirector.html."""
    with log.step("stage ch6: chapter 6 provisioned on the Apache nodes"):
        provisioner.provision("ch6")
    return chapter5_cluster


@pytest.fixture(scope="session")
def chapter7_cluster(chapter6_cluster: Lab) -> Lab:
    """Chapter 6 in effect: every real server in service (chapter 6's own tests watched it happen;
    this wait matters when chapter 7 runs alone, -m chapter7)."""
    with log.step("stage ch7: real servers in service"):
        stages.settle(chapter6_cluster, "ch7")
    return chapter6_cluster

