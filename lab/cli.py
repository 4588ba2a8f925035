"""lvslab: the lab's command line.

    lvslab clean          remove what a crashed or interrupted run left behind
    lvslab image          build (or show) the cached Debian node image
    lvslab differences    print where bookworm differs from the tutorial (markdown)
    lvslab bench          print the benchmark figures (bring-up, suite, floor)

The tutorial's checks themselves run with pytest: `pytest scenarios/ --lab=netns`.
"""

from __future__ import annotations

import argparse
import sys

from lab.errors import LabError


def _clean(_: argparse.Namespace) -> int:
    from lab.providers.netns import clean_all
    from lab.runtime.microvm import stop_recorded_vms

    lines = stop_recorded_vms() + clean_all()
    print("\n".join(lines) if lines else "nothing to clean")
    return 0


def _image(args: argparse.Namespace) -> int:
    from lab.runtime import image

    if args.rebuild:
        import shutil
        shutil.rmtree(image.image_dir(), ignore_errors=True)
    root = image.ensure_image()
    disk = image.ensure_ext4()
    print(f"node image: {root}\nmicroVM disk: {disk}\nbuilt in: {image.build_seconds()} s\n"
          f"packages: {' '.join(image.PACKAGES)}")
    return 0


def _differences(_: argparse.Namespace) -> int:
    from lab.differences import markdown

    print(markdown(), end="")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from lab import bench

    return bench.inner() if args.inner else bench.outer()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lvslab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("clean", help="remove leftover lab namespaces, node processes and microVMs").set_defaults(
        func=_clean)
    image_parser = sub.add_parser("image", help="build or show the node image")
    image_parser.add_argument("--rebuild", action="store_true", help="build it again from scratch")
    image_parser.set_defaults(func=_image)
    sub.add_parser("differences", help="where bookworm differs from the tutorial").set_defaults(func=_differences)
    bench_parser = sub.add_parser("bench", help="print bring-up, suite and floor figures")
    bench_parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    bench_parser.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
