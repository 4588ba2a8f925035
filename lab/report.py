"""The tutorial reproduction report: each documented check, what it documents, what the lab saw.

Scenarios record checks through `TutorialReport.expect`; the pytest plugin records every
test's outcome as pytest counts it, so a test that failed, errored in a fixture, timed out or
was skipped before recording any check is still a row, and the counts at the top are pytest's.
At the end of the session the report is written as reports/tutorial-report.md and .html,
with the bookworm differences.
"""

from __future__ import annotations

import html
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lab.differences import (BOOKWORM_HEADINGS, TRIXIE_HEADINGS, bookworm_rows, html_table, markdown_table,
                              trixie_rows)
from lab.node import Command, Node, Result, as_shell
from lab.report_diff import cell, diff_html, diff_lines
from lab.wait import wait_until


@dataclass
class CheckRecord:
    chapter: str
    title: str
    node: str
    command: str
    documented: str
    observed: str = ""
    verdict: str = "ERROR"
    note: str = ""
    test: str = ""


@dataclass
class RunOutcome:
    """One outcome as pytest counts it (a test that passed and errored in teardown has two)."""
    test: str
    outcome: str  # pytest's category: passed, failed, error, skipped, xfailed, xpassed
    when: str  # setup, call, teardown, or collect
    message: str = ""  # the first line of the failure, or the skip's reason


# A check's verdicts: DIFFERS is a pass of a stack's own, stated behaviour where it departs from
# the tutorial's (keepalived keeps the virtual service on the standby, ...): a finding, not a failure.
VERDICTS = ("PASS", "DIFFERS", "FAIL", "ERROR")

# pytest's summary categories, in its order; those with no outcome are still shown as 0.
COUNTED = ("passed", "failed", "error", "skipped", "xfailed")

# The report's sections, in order: the tutorial's chapters, then what its comments ask.
# The faults' figures table, one row per fault (tests/test_report_outcomes.py; lab/plot.py draws each).
FAULT_COLUMNS = ("fault", "detection", "takeover", "client-visible gap", "requests failed", "two VIP holders",
                 "afterwards")
SECTIONS = {
    "4": "Chapter 4: configure heartbeat and ldirectord",
    "5": "Chapter 5: start the load balancer and test",
    "6": "Chapter 6: configure the two Apache nodes",
    "7": "Chapter 7: further testing",
    "persistence": "Sessions: persistence (from the comments: persistent=600)",
    "schedulers": "Schedulers: every one chapter 1 loads",
    "forwarding": "Forwarding methods: direct routing, NAT, tunnelling",
    "tls": "HTTPS through the VIP (from the comments: can SSL sessions be balanced?)",
    "sync": "Connection sync across failover (LVSSyncDaemonSwap)",
    "faults": "Faults: heartbeat killed, a balancer frozen, cut off or crashed, a real server crashed, the balancers partitioned, a lossy LAN, as clients feel them",
    "security": "Security: heartbeat's authentication",
    "invariants": "Invariants watched in every scenario (one VIP holder, no bad news in the logs)",
}


def _outputs_md(r: CheckRecord) -> list[str]:
    """The tutorial's and the observed output: one diff where they differ, one block where they agree."""
    diff = diff_lines(r.documented, r.observed)
    if diff:
        return ["Tutorial (-) against observed (+):", "", "```diff", *diff, "```", ""]
    if r.documented.strip() and r.observed.strip():
        return ["Tutorial and observed agree (white space aside); observed:", "", "```", r.observed, "```", ""]
    return ["Tutorial:", "", "```", r.documented or "(no output documented)", "```", "",
            "Observed:", "", "```", r.observed or "(nothing)", "```", ""]


def _outputs_html(r: CheckRecord) -> str:
    esc = html.escape
    diff = diff_lines(r.documented, r.observed)
    if diff:
        return diff_html(diff)
    if r.documented.strip() and r.observed.strip():
        return f"<p>agrees with the tutorial (white space aside):</p><pre>{esc(r.observed)}</pre>"
    return (f"<p>tutorial:</p><pre>{esc(r.documented or '(no output documented)')}</pre>"
            f"<p>observed:</p><pre>{esc(r.observed or '(nothing)')}</pre>")


# pytest's outcomes from best to worst: a test's outcome in results.json is the worst it had.
SEVERITY = ("", "passed", "xfailed", "skipped", "xpassed", "failed", "error")


def _severity(outcome: str) -> int:
    return SEVERITY.index(outcome) if outcome in SEVERITY else SEVERITY.index("failed")


@dataclass
class TutorialReport:
    header: list[str] = field(default_factory=list)
    records: list[CheckRecord] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)   # the run's own figures (timings)
    section_figures: dict[str, dict[str, str]] = field(default_factory=dict)
    outcomes: list[RunOutcome] = field(default_factory=list)
    fault_rows: list[dict[str, str]] = field(default_factory=list)   # one per fault: FAULT_COLUMNS
    images: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # section: (caption, path in the folder)
    current_test: str = ""
    stack: str = "heartbeat"   # the software of the balancer pair (--lab-stack); results.json says it
    release: str = "bookworm"  # the Debian release of the nodes

    def figure(self, section: str, name: str, value: str) -> None:
        """An observed figure (a spread of connections, a delay, an outcome) shown in its section."""
        self.section_figures.setdefault(section, {})[name] = value

    def fault_row(self, **cells: str) -> None:
        """One row of the faults' figures table (FAULT_COLUMNS; a missing cell shows as -)."""
        self.fault_rows.append({c: str(cells.get(c, "-")) for c in FAULT_COLUMNS})

    def image(self, section: str, caption: str, path: str) -> None:
        """A picture for a section, `path` relative to the report's folder (failover/x.png)."""
        self.images.setdefault(section, []).append((caption, path))

    def sections(self) -> list[tuple[str, str, dict[str, str], list[CheckRecord]]]:
        """(key, title, figures, checks) for each section that has anything, in SECTIONS order."""
        keys = list(SECTIONS) + sorted({r.chapter for r in self.records} - set(SECTIONS))
        found = []
        for key in keys:
            checks = [r for r in self.records if r.chapter == key]
            figures = self.section_figures.get(key, {})
            if checks or figures or self.images.get(key):
                found.append((key, SECTIONS.get(key, key), figures, checks))
        return found

    def expect(self, chapter: str, title: str, node: Node, command: Command, *, documented: str,
               verify: Callable[[Result], None], timeout: float = 0, interval: float = 2,
               differs: str = "") -> Result:
        """Run the tutorial's command on a node and verify what it printed.

        `verify` raises AssertionError (expected vs seen) when the output is wrong; with a
        timeout the check is retried until it holds, and the last output is what is reported.
        `differs`: why the stack under test legitimately behaves otherwise than the tutorial
        documents here (verify then checks the stack's own behaviour); a pass is then DIFFERS.
        """
        __tracebackhide__ = True
        record = CheckRecord(chapter, title, node.name, as_shell(command), documented, test=self.current_test)
        self.records.append(record)

        last: list[Result] = []

        def attempt() -> tuple[bool, str]:
            result = node.run(command)
            last[:] = [result]
            record.observed = (result.stdout + result.stderr).rstrip()
            try:
                verify(result)
            except AssertionError as failure:
                return False, str(failure)
            return True, ""

        try:
            wait_until(attempt, timeout=timeout, interval=interval, what=f"{title} ({node.name}: {as_shell(command)})")
            result = last[0]
        except AssertionError as failure:
            record.verdict, record.note = "FAIL", str(failure)
            raise
        except BaseException as error:  # also a timeout (pytest-timeout's Failed) or a Ctrl-C mid-check
            record.verdict, record.note = "ERROR", f"{type(error).__name__}: {error}"
            raise
        record.verdict, record.note = ("DIFFERS", differs) if differs else ("PASS", "")
        return result

    def record(self, chapter: str, title: str, node: str, command: str, documented: str, observed: str,
               verdict: str, note: str = "") -> None:
        """A check made by other means than one node command (e.g. HTTP from the client)."""
        self.records.append(CheckRecord(chapter, title, node, command, documented, observed, verdict, note,
                                        self.current_test))

    def outcome(self, test: str, outcome: str, when: str, message: str = "") -> None:
        self.outcomes.append(RunOutcome(test, outcome, when, message))

    def test_counts(self) -> dict[str, int]:
        """pytest's summary counts: passed, failed, error, skipped, xfailed (and any other it had)."""
        found = [o.outcome for o in self.outcomes]
        return {name: found.count(name) for name in (*COUNTED, *sorted(set(found) - set(COUNTED)))}

    def _tests(self) -> str:
        return ", ".join(f"{n} {name}" for name, n in self.test_counts().items()) if self.outcomes else "none ran"

    def _section_rows(self) -> list[tuple[str, dict[str, int], dict[str, str]]]:
        """(title, checks by verdict, figures) of each section: the summary table."""
        return [(title, {v: sum(r.verdict == v for r in checks) for v in VERDICTS}, figures)
                for _, title, figures, checks in self.sections()]

    def _not_passed(self) -> list[RunOutcome]:
        return [o for o in self.outcomes if o.outcome != "passed"]

    def _checks_of(self, test: str) -> int:
        return sum(r.test == test for r in self.records)

    # --- writing --------------------------------------------------------------------
    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        md, page = folder / "tutorial-report.md", folder / "tutorial-report.html"
        md.write_text(self.markdown())
        page.write_text(self.html())
        self.write_results(folder)
        return [md, page]

    def write_results(self, folder: Path) -> Path:
        """folder/results.json: what `lvslab compare` reads (lab/compare.py)."""
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "results.json"
        path.write_text(json.dumps(self.results(), indent=1) + "\n")
        return path

    def results(self) -> dict:
        """The run for a comparison: its stack and release, each test's worst outcome and its
        checks' verdicts and notes, and the figures (the run's own under "run")."""
        tests: dict[str, dict] = {}
        for o in self.outcomes:
            entry = tests.setdefault(o.test, {"outcome": o.outcome, "checks": []})
            if _severity(o.outcome) > _severity(entry["outcome"]):
                entry["outcome"] = o.outcome
        for r in self.records:
            if r.test:
                tests.setdefault(r.test, {"outcome": "", "checks": []})["checks"].append(
                    {"title": r.title, "verdict": r.verdict, "note": r.note})
        return {"stack": self.stack, "release": self.release, "written": time.strftime("%Y-%m-%d %H:%M:%S"),
                "tests": tests, "figures": {**self.section_figures, "run": dict(self.figures)},
                "faults": self.fault_rows}

    def _summary(self) -> str:
        counts = {v: sum(r.verdict == v for r in self.records) for v in VERDICTS}
        return ", ".join(f"{n} {v.lower()}" for v, n in counts.items() if n or v != "DIFFERS")

    def markdown(self) -> str:
        out = ["# Tutorial reproduction report", "",
               "How To Set Up A Loadbalanced High-Availability Apache Cluster, reproduced on real IPVS.", "",
               f"Written {time.strftime('%Y-%m-%d %H:%M:%S')}. Tests: {self._tests()}. Checks: {self._summary()}.", ""]
        out += [f"- {line}" for line in self.header] + [""]
        out += ["## Summary", "", "| section | checks passed | differ | failed | errors | figures |",
                "|---|---|---|---|---|---|"]
        out += [f"| {cell(title)} | {n['PASS']} | {n['DIFFERS']} | {n['FAIL']} | {n['ERROR']} | "
                f"{cell('; '.join(f'{k}: {v}' for k, v in figures.items()))} |" for title, n, figures in self._section_rows()]
        out += [""]
        if self._not_passed():
            out += ["Not passed:", ""] + [f"- **{o.outcome}** `{o.test}` ({o.when}): {o.message}" for o in self._not_passed()]
            out += [""]
        if self.figures:
            out += ["## Figures", ""] + [f"- {k}: {v}" for k, v in self.figures.items()] + [""]
        for key, title, figures, checks in self.sections():
            out += [f"## {title}", ""]
            out += [f"- {k}: {v}" for k, v in figures.items()] + ([""] if figures else [])
            if key == "faults" and self.fault_rows:
                out += markdown_table(FAULT_COLUMNS, [tuple(cell(v) for v in r.values()) for r in self.fault_rows]) + [""]
            out += [f"![{caption}]({path})" for caption, path in self.images.get(key, [])]
            out += [""] if self.images.get(key) else []
            for r in checks:
                out += [f"### [{r.verdict}] {r.title}", "",
                        f"node `{r.node}`, command `{r.command}`, test `{r.test}`", ""]
                out += _outputs_md(r)
                if r.note:
                    out += ["Note:", "", "```", r.note, "```", ""]
        out += ["## Tests", "", "| outcome | test | stage | checks | first line |", "|---|---|---|---|---|"]
        out += [f"| {o.outcome} | `{cell(o.test)}` | {o.when} | {self._checks_of(o.test)} | {cell(o.message)} |"
                for o in self.outcomes]
        out += ["", "## Where bookworm differs from the tutorial", "", *markdown_table(BOOKWORM_HEADINGS, bookworm_rows())]
        if self.release == "trixie":
            out += ["", "## Where trixie differs from bookworm", "", *markdown_table(TRIXIE_HEADINGS, trixie_rows())]
        return "\n".join(out) + "\n"
    def html(self) -> str:
        esc = html.escape
        colour = {"PASS": "#1a7f37", "DIFFERS": "#0550ae", "FAIL": "#cf222e", "ERROR": "#9a6700"}
        def row(r: CheckRecord) -> str:
            return (f"<tr><td style='color:{colour.get(r.verdict, '#000')};font-weight:bold'>{r.verdict}</td>"
                    f"<td>{esc(r.title)}</td><td>{esc(r.node)}</td><td><code>{esc(r.command)}</code></td>"
                    f"<td>{_outputs_html(r)}{'<pre class=note>' + esc(r.note) + '</pre>' if r.note else ''}</td></tr>")

        def listed(figures: dict[str, str]) -> str:
            return "<ul>" + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in figures.items()) + "</ul>" if figures else ""

        summary = "".join(f"<tr><td>{esc(title)}</td><td>{n['PASS']}</td><td>{n['DIFFERS']}</td><td>{n['FAIL']}</td>"
                          f"<td>{n['ERROR']}</td>"
                          f"<td>{listed(figures)}</td></tr>" for title, n, figures in self._section_rows())
        not_passed = "".join(f"<li><b>{esc(o.outcome)}</b> <code>{esc(o.test)}</code> ({esc(o.when)}): "
                             f"{esc(o.message)}</li>" for o in self._not_passed())
        tests = "".join(f"<tr><td>{esc(o.outcome)}</td><td><code>{esc(o.test)}</code></td><td>{esc(o.when)}</td>"
                        f"<td>{self._checks_of(o.test)}</td><td>{esc(o.message)}</td></tr>" for o in self.outcomes)
        def pictures(key: str) -> str:
            table = html_table(FAULT_COLUMNS, [tuple(r.values()) for r in self.fault_rows]) \
                if key == "faults" and self.fault_rows else ""
            return table + "".join(f"<figure><img src='{esc(path)}' alt='{esc(caption)}' style='max-width:100%'>"
                                   f"<figcaption>{esc(caption)}</figcaption></figure>"
                                   for caption, path in self.images.get(key, []))

        sections = "".join(
            f"<h2>{esc(title)}</h2>" + listed(figures) + pictures(key)
            + "<table><tr><th>verdict</th><th>check</th><th>node</th><th>command</th>"
            + "<th>tutorial (-) against observed (+)</th></tr>" + "".join(row(r) for r in checks) + "</table>"
            for key, title, figures, checks in self.sections())
        diffs = "<h2>Where bookworm differs from the tutorial</h2>" + html_table(BOOKWORM_HEADINGS, bookworm_rows())
        if self.release == "trixie":
            diffs += "<h2>Where trixie differs from bookworm</h2>" + html_table(TRIXIE_HEADINGS, trixie_rows())
        header = "".join(f"<li>{esc(line)}</li>" for line in self.header)
        return f"""<!doctype html><html><head><meta charset="utf-8"><title>Tutorial reproduction report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:13px}}pre{{margin:0;white-space:pre-wrap}}
.note{{color:#cf222e}}.del{{background:#ffebe9;color:#82071e}}.ins{{background:#dafbe1;color:#116329}}</style></head><body>
<h1>Tutorial reproduction report</h1><p>Tests: {self._tests()}. Checks: {self._summary()}.</p><ul>{header}</ul>
<h2>Summary</h2><table><tr><th>section</th><th>checks passed</th><th>differ</th><th>failed</th><th>errors</th>
<th>figures</th></tr>
{summary}</table>{'<p>Not passed:</p><ul>' + not_passed + '</ul>' if not_passed else ''}
{'<h2>Figures</h2>' + listed(self.figures) if self.figures else ''}
{sections}
<h2>Tests</h2><table><tr><th>outcome</th><th>test</th><th>stage</th><th>checks</th><th>first line</th></tr>{tests}</table>
{diffs}</body></html>
"""
