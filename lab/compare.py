"""The comparison of runs: one table, the tutorial's checks and the families against stack × release.

Each run's report folder holds results.json (TutorialReport.write_results): its stack and
release, each test's worst outcome with its checks' verdicts, the figures. `comparison` puts
the runs side by side: a row per test, a column per run, each cell linking to that run's
tutorial-report.html; then what differs, with the stacks' notes, and the figures.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError

RESULTS = "results.json"
NOT_RUN = "—"

HOW_TO_READ = ("How to read it, if you are moving from one stack or release to another: each row is one of the "
               "tutorial's checks or of the families beyond it, each column a run (stack × release). "
               "pass = behaves as the tutorial documents; differs = the stack does it its own way, the note "
               "under the table says how, and the check asserts that stack's behaviour; fail = broken; "
               f"skipped = not run there; {NOT_RUN} = that run did not include the test. "
               "Each cell links to that run's report, with the commands and their output.")


def cell_verdict(outcome: str, verdicts: Iterable[str]) -> str:
    """A test's cell: fail if pytest failed or errored it or any check FAILed or ERRORed; differs
    if it passed with any check DIFFERS; pass if it passed; skipped if skipped (else the outcome)."""
    verdicts = list(verdicts)
    if outcome in ("failed", "error") or any(v in ("FAIL", "ERROR") for v in verdicts):
        return "fail"
    if outcome == "passed":
        return "differs" if "DIFFERS" in verdicts else "pass"
    return outcome or NOT_RUN


@dataclass
class Run:
    folder: Path
    stack: str
    release: str
    written: str = ""
    tests: dict[str, dict] = field(default_factory=dict)    # nodeid: {"outcome", "checks": [...]}
    figures: dict[str, dict[str, str]] = field(default_factory=dict)
    homes: dict[str, Path] = field(default_factory=dict)  # a test's own run folder, when joined (joined())
    parts: tuple[Path, ...] = ()  # the folders joined into this column

    @property
    def label(self) -> str:
        return f"{self.stack} × {self.release}"

    def verdict(self, test: str) -> str:
        if test not in self.tests:
            return NOT_RUN
        entry = self.tests[test]
        return cell_verdict(entry.get("outcome", ""), (c.get("verdict", "") for c in entry.get("checks", [])))

    def differs_notes(self, test: str) -> list[str]:
        notes = [c.get("note", "") for c in self.tests.get(test, {}).get("checks", []) if c.get("verdict") == "DIFFERS"]
        return list(dict.fromkeys(n for n in notes if n))


def load_run(folder: Path | str) -> Run:
    folder = Path(folder)
    path = folder / RESULTS
    if not path.is_file():
        raise LabError(f"{folder} has no {RESULTS}: not the report folder of a run (or of one before results.json)",
                       f"run the tests with that folder for their reports: "
                       f"pytest scenarios/ --lab=netns --lab-stack=STACK --lab-reports={folder}")
    try:
        data = json.loads(path.read_text())
        return Run(folder, data["stack"], data["release"], data.get("written", ""), data.get("tests", {}),
                   data.get("figures", {}))
    except (ValueError, KeyError, TypeError) as error:
        raise LabError(f"{path} is not a run's results ({type(error).__name__}: {error})",
                       f"run the tests again with --lab-reports={folder}") from error


def joined(runs: list[Run]) -> list[Run]:
    """Runs of one stack × release that ran different tests (the two lanes of `./run.sh test`)
    as one column, each test linking to its own run's report; runs that share a test stay apart."""
    out: list[Run] = []
    for run in runs:
        same = next((r for r in out if (r.stack, r.release) == (run.stack, run.release)
                     and not set(r.tests) & set(run.tests)), None)
        if same is None:
            out.append(run)
            continue
        figures = {section: dict(names) for section, names in same.figures.items()}
        for section, names in run.figures.items():
            figures.setdefault(section, {}).update(names)
        homes = {**{t: same.homes.get(t, same.folder) for t in same.tests}, **{t: run.folder for t in run.tests}}
        out[out.index(same)] = Run(same.folder, same.stack, same.release, max(same.written, run.written),
                                   {**same.tests, **run.tests}, figures, homes,
                                   (*(same.parts or (same.folder,)), run.folder))
    return out


def _short(test: str) -> str:
    """`scenarios/test_ch5_x.py::test_y` -> `test_ch5_x.py::test_y`."""
    file, _, rest = test.partition("::")
    return f"{os.path.basename(file)}::{rest}" if rest else os.path.basename(file)


def _tests(runs: list[Run]) -> list[str]:
    """Every test of any run: by file, then in the order they first appear."""
    seen = list(dict.fromkeys(t for run in runs for t in run.tests))
    return sorted(seen, key=lambda t: (t.partition("::")[0], seen.index(t)))


def _figures(runs: list[Run]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((section, name) for run in runs for section, figures in run.figures.items()
                              for name in figures))


def _labels(runs: list[Run]) -> list[str]:
    """Each run's column heading; two runs of one stack × release are told apart by their folder."""
    labels = [run.label for run in runs]
    return [f"{label} ({run.folder.name})" if labels.count(label) > 1 else label for label, run in zip(labels, runs)]


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def comparison(runs: list[Run], out: Path | str = ".") -> tuple[str, str]:
    """The comparison as (markdown, HTML); links are relative to the folder `out` they are written to."""
    runs = joined(runs)
    labels, tests, figures = _labels(runs), _tests(runs), _figures(runs)

    def link(run: Run, test: str) -> str:
        return Path(os.path.relpath(run.homes.get(test, run.folder) / "tutorial-report.html", out)).as_posix()

    differs = [(label, test, run.differs_notes(test)) for label, run in zip(labels, runs) for test in tests
               if run.verdict(test) == "differs" or run.differs_notes(test)]

    def link_md(run: Run, test: str) -> str:
        verdict = run.verdict(test)
        return verdict if verdict == NOT_RUN else f"[{verdict}]({link(run, test)})"

    md = ["# Comparison: the tutorial's checks by stack × release", "", HOW_TO_READ, "",
          "| test | " + " | ".join(_md(label) for label in labels) + " |", "|---|" + "---|" * len(runs)]
    md += [f"| `{_md(_short(t))}` | " + " | ".join(link_md(r, t) for r in runs) + " |"
           for t in tests]
    md += ["", "## What differs", ""]
    md += [f"- {_md(label)}, `{_short(test)}`: {_md('; '.join(notes) or '(no note)')}" for label, test, notes in differs]
    md += [] if differs else ["Nothing: every run that passed behaves as the tutorial documents."]
    md += ["", "## Figures side by side", ""]
    if figures:
        md += ["| figure | " + " | ".join(_md(label) for label in labels) + " |", "|---|" + "---|" * len(runs)]
        md += [f"| {_md(f'{section}: {name}')} | "
               + " | ".join(_md(run.figures.get(section, {}).get(name, NOT_RUN)) for run in runs) + " |"
               for section, name in figures]
    else:
        md += ["No run recorded a figure."]
    md += ["", "Runs: " + "; ".join(f"{label}: {' + '.join(map(str, run.parts or (run.folder,)))} (written {run.written})"
                                    for label, run in zip(labels, runs))]

    esc = html.escape
    colour = {"pass": "#1a7f37", "differs": "#0550ae", "fail": "#cf222e"}

    def link_html(run: Run, test: str) -> str:
        verdict = run.verdict(test)
        if verdict == NOT_RUN:
            return f"<td>{NOT_RUN}</td>"
        return (f"<td><a href='{esc(link(run, test))}' style='color:{colour.get(verdict, '#57606a')};font-weight:bold'>"
                f"{esc(verdict)}</a></td>")

    heads = "".join(f"<th>{esc(label)}</th>" for label in labels)
    rows = "".join(f"<tr><td><code>{esc(_short(t))}</code></td>"
                   + "".join(link_html(r, t) for r in runs) + "</tr>" for t in tests)
    notes = "".join(f"<li>{esc(label)}, <code>{esc(_short(test))}</code>: {esc('; '.join(n) or '(no note)')}</li>"
                    for label, test, n in differs)
    figure_rows = "".join(f"<tr><td>{esc(f'{section}: {name}')}</td>"
                          + "".join(f"<td>{esc(run.figures.get(section, {}).get(name, NOT_RUN))}</td>" for run in runs)
                          + "</tr>" for section, name in figures)
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Comparison by stack × release</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:13px}}</style></head><body>
<h1>Comparison: the tutorial's checks by stack × release</h1><p>{esc(HOW_TO_READ)}</p>
<table><tr><th>test</th>{heads}</tr>{rows}</table>
<h2>What differs</h2>{'<ul>' + notes + '</ul>' if notes else '<p>Nothing: every run that passed behaves as the tutorial documents.</p>'}
<h2>Figures side by side</h2>{'<table><tr><th>figure</th>' + heads + '</tr>' + figure_rows + '</table>' if figures else '<p>No run recorded a figure.</p>'}
</body></html>
"""
    return "\n".join(md) + "\n", page


def write_comparison(runs: list[Run], folder: Path | str) -> list[Path]:
    """folder/comparison.md and comparison.html."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    md, page = comparison(runs, folder)
    paths = [folder / "comparison.md", folder / "comparison.html"]
    paths[0].write_text(md)
    paths[1].write_text(page)
    return paths
