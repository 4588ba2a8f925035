"""lvslab: the lab's command line.

    lvslab up [--stage ch5|ch6|ch7]   build the tutorial's cluster and leave it running
    lvslab status [--json]            each node, the VIP holder, daemons, IPVS table, sync roles
    lvslab exec NODE -- CMD...        run a command inside a node (e.g. ipvsadm -L -n on loadb1)
    lvslab shell NODE                 an interactive shell inside a node
    lvslab curl [PATH]                a request through the VIP from the client: who answered
    lvslab fault VERB NODE            apache-stop|apache-start|heartbeat-stop|heartbeat-start,
                                      kill-heartbeat|kill-ldirectord|kill-apache2|freeze|thaw|link-down|link-up,
                                      crash|boot, partition|heal-partition NODE,NODE, lan "loss 30%"|clean
    lvslab down                       stop the lab and everything it started
    lvslab clean          remove what a crashed or interrupted run left behind
    lvslab image          build (or show) the cached Debian node image
    lvslab differences    print where bookworm differs from the tutorial (markdown)
    lvslab bench          print the benchmark figures (bring-up, suite, floor); --lab=vagrant for the VMs
    lvslab compare [RUN_FOLDER ...] [--out DIR]
                          one table of runs side by side, a column per stack × release (default: every
                          run under reports/compare/), written to DIR/comparison.md and .html

The tutorial's checks themselves run with pytest: `pytest scenarios/ --lab=netns`.
"""

from __future__ import annotations

import argparse
import sys

from lab.errors import LabError
from lab.runtime.releases import DEFAULT as DEFAULT_RELEASE, RELEASE_NAMES


def _clean(args: argparse.Namespace) -> int:
    from lab.providers.netns import clean_all
    from lab.remote import stop_up_labs
    from lab.runtime import libvirt_jail
    from lab.runtime.microvm import stop_recorded_vms

    # Order matters: stop the agents and VMs first, so nothing rebuilds what is being removed.
    lines = stop_up_labs(args.force) + stop_recorded_vms(args.force) + clean_all(args.force)
    lines += libvirt_jail.clean_all(args.force)  # Vagrant labs: their VMs, libvirtd and namespace
    print("\n".join(lines) if lines else "nothing to clean")
    return 0


def _image(args: argparse.Namespace) -> int:
    import shutil

    from lab.runtime import image, releases
    from lab.runtime.microvm import ensure_kernel

    releases.choose(args.release)
    if args.rebuild:
        shutil.rmtree(image.image_dir(), ignore_errors=True)
    root = image.ensure_image()
    disk = image.ensure_ext4()
    print(f"node image: {root}\nmicroVM disk: {disk}\nmicroVM kernel: {ensure_kernel()}\nbuilt in: {image.build_seconds()} s\n"
          f"packages: {' '.join(image.PACKAGES)}")
    if args.box:
        from lab.runtime import box

        if args.rebuild:
            shutil.rmtree(box.box_dir(), ignore_errors=True)
        print(f"Vagrant box: {box.ensure_box()} (added as {box.box_name()})\nbuilt in: {box.build_seconds()} s")
    return 0


def _differences(args: argparse.Namespace) -> int:
    from lab.differences import markdown, trixie_markdown

    print(trixie_markdown() if args.release == "trixie" else markdown(), end="")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from lab import bench

    if args.lab == "vagrant":
        from lab import bench_vagrant

        return bench_vagrant.run()
    return bench.inner() if args.inner else bench.outer()


def _compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lab.compare import RESULTS, load_run, write_comparison

    folders = [Path(f) for f in args.runs]
    if not folders:
        base = Path("reports/compare")
        folders = sorted(f for f in base.iterdir() if (f / RESULTS).is_file()) if base.is_dir() else []
        if not folders:
            raise LabError(f"no run to compare: {base}/ has no report folder with {RESULTS}",
                           "run ./run.sh compare (each stack's tests into reports/compare/<stack>-<release>/), "
                           "or name the runs' report folders: lvslab compare reports/runs/A reports/runs/B")
    for path in write_comparison([load_run(f) for f in folders], Path(args.out)):
        print(path)
    return 0


def _lab_commands(sub: argparse._SubParsersAction) -> None:
    from lab import cli_lab, remote
    from lab.cluster import STACK_NAMES
    from lab.runtime.choose import KERNEL_CHOICES

    def add(name: str, help_text: str, func) -> argparse.ArgumentParser:  # noqa: ANN001
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--name", default=remote.DEFAULT_NAME, help="which lab (default %(default)s)")
        command.set_defaults(func=func)
        return command

    up = add("up", "build the cluster to a stage and leave it running",
             lambda a: cli_lab.up(a.name, a.stage, a.lab_kernel, a.lab, a.stack, a.release))
    up.add_argument("--lab", choices=["netns", "vagrant"], default="netns",
                    help="provider: netns (namespaces) or vagrant (five VMs; slow under TCG)")
    up.add_argument("--stage", choices=["ch5", "ch6", "ch7"], default="ch7", help="default: the whole tutorial")
    up.add_argument("--lab-kernel", choices=KERNEL_CHOICES, default="auto")
    up.add_argument("--stack", choices=STACK_NAMES, default="heartbeat",
                    help="what runs the balancer pair: heartbeat (the tutorial's), keepalived or pacemaker")
    up.add_argument("--release", choices=RELEASE_NAMES, default=DEFAULT_RELEASE,
                    help="the nodes' Debian release (and the microVM kernel's): bookworm or trixie")
    status = add("status", "the lab at a glance", lambda a: cli_lab.status(a.name, a.json))
    status.add_argument("--json", action="store_true")
    run = add("exec", "run a command inside a node", lambda a: cli_lab.run(a.name, a.node, a.cmd))
    run.add_argument("node")
    run.add_argument("cmd", nargs=argparse.REMAINDER)
    add("shell", "an interactive shell inside a node", lambda a: cli_lab.shell(a.name, a.node)).add_argument("node")
    add("curl", "a request through the VIP from the client", lambda a: cli_lab.curl(a.name, a.path)).add_argument(
        "path", nargs="?", default="/")
    fault = add("fault", "break (or mend) something", lambda a: cli_lab.fault(a.name, a.verb, a.node))
    fault.add_argument("verb", choices=sorted(cli_lab.FAULT_VERBS))
    fault.add_argument("node")
    add("down", "stop the lab", lambda a: cli_lab.down(a.name))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lvslab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    _lab_commands(sub)
    clean = sub.add_parser("clean", help="remove leftover lab namespaces, node processes and microVMs "
                                         "(and stop `lvslab up` labs)")
    clean.add_argument("--force", action="store_true", help="also stop labs of runs that are still going, and running `lvslab up` labs")
    clean.set_defaults(func=_clean)
    image_parser = sub.add_parser("image", help="build or show the node image")
    image_parser.add_argument("--rebuild", action="store_true", help="build it again from scratch")
    image_parser.add_argument("--box", action="store_true", help="also the Vagrant box (--lab=vagrant)")
    image_parser.add_argument("--release", choices=RELEASE_NAMES, default=DEFAULT_RELEASE,
                              help="which Debian release's image (and microVM kernel)")
    image_parser.set_defaults(func=_image)
    differences = sub.add_parser("differences", help="where bookworm differs from the tutorial (--release trixie: "
                                                     "where trixie differs from bookworm)")
    differences.add_argument("--release", choices=RELEASE_NAMES, default=DEFAULT_RELEASE)
    differences.set_defaults(func=_differences)
    bench_parser = sub.add_parser("bench", help="print bring-up, suite and floor figures")
    bench_parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    bench_parser.add_argument("--lab", choices=["netns", "vagrant"], default="netns",
                              help="which lab to measure (vagrant: beside the last netns figures)")
    bench_parser.set_defaults(func=_bench)
    compare = sub.add_parser("compare", help="runs side by side: each test's verdict by stack × release, "
                                             "what differs, the figures")
    compare.add_argument("runs", nargs="*", metavar="RUN_FOLDER",
                         help="report folders of runs (--lab-reports); default: those under reports/compare/")
    compare.add_argument("--out", default="reports", metavar="DIR",
                         help="where comparison.md and .html go (default %(default)s)")
    compare.set_defaults(func=_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "cmd", None) and args.cmd[0] == "--":
        args.cmd = args.cmd[1:]
    try:
        return args.func(args)
    except LabError as error:
        print(f"lvslab: error: {error.what}", file=sys.stderr)
        if error.fix:
            print(f"lvslab: fix: {error.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("lvslab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
