"""The tutorial reproduction report: each documented check, what it documents, what the lab saw.

Scenarios record checks through `TutorialReport.expect`; at the end of the session the
report is written as reports/tutorial-report.md and .html, with the bookworm differences.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from lab.differences import DIFFERENCES
from lab.node import Command, Node, Result, as_shell
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


# The report's sections, in order: the tutorial's chapters, then what its comments ask.
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
}


@dataclass
class TutorialReport:
    header: list[str] = field(default_factory=list)
    records: list[CheckRecord] = field(default_factory=list)
    figures: dict[str, str] = field(default_factory=dict)   # the run's own figures (timings)
    section_figures: dict[str, dict[str, str]] = field(default_factory=dict)
    current_test: str = ""

    def figure(self, section: str, name: str, value: str) -> None:
        """An observed figure (a spread of connections, a delay, an outcome) shown in its section."""
        self.section_figures.setdefault(section, {})[name] = value

    def sections(self) -> list[tuple[str, str, dict[str, str], list[CheckRecord]]]:
        """(key, title, figures, checks) for each section that has anything, in SECTIONS order."""
        keys = list(SECTIONS) + sorted({r.chapter for r in self.records} - set(SECTIONS))
        found = []
        for key in keys:
            checks = [r for r in self.records if r.chapter == key]
            figures = self.section_figures.get(key, {})
            if checks or figures:
                found.append((key, SECTIONS.get(key, key), figures, checks))
        return found

    def expect(self, chapter: str, title: str, node: Node, command: Command, *, documented: str,
               verify: Callable[[Result], None], timeout: float = 0, interval: float = 2) -> Result:
        """Run the tutorial's command on a node and verify what it printed.

        `verify` raises AssertionError (expected vs seen) when the output is wrong; with a
        timeout the check is retried until it holds, and the last output is what is reported.
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
        except Exception as error:
            record.verdict, record.note = "ERROR", f"{type(error).__name__}: {error}"
            raise
        record.verdict = "PASS"
        return result

    def record(self, chapter: str, title: str, node: str, command: str, documented: str, observed: str,
               verdict: str, note: str = "") -> None:
        """A check made by other means than one node command (e.g. HTTP from the client)."""
        self.records.append(CheckRecord(chapter, title, node, command, documented, observed, verdict, note,
                                        self.current_test))

    # --- writing --------------------------------------------------------------------
    def write(self, folder: Path) -> list[Path]:
        folder.mkdir(parents=True, exist_ok=True)
        md, page = folder / "tutorial-report.md", folder / "tutorial-report.html"
        md.write_text(self.markdown())
        page.write_text(self.html())
        return [md, page]

    def _summary(self) -> str:
        counts = {v: sum(r.verdict == v for r in self.records) for v in ("PASS", "FAIL", "ERROR")}
        return ", ".join(f"{n} {v.lower()}" for v, n in counts.items())

    def markdown(self) -> str:
        out = ["# Tutorial reproduction report", "",
               "How To Set Up A Loadbalanced High-Availability Apache Cluster, reproduced on real IPVS.", "",
               f"Written {time.strftime('%Y-%m-%d %H:%M:%S')}. Checks: {self._summary()}.", ""]
        out += [f"- {line}" for line in self.header] + [""]
        if self.figures:
            out += ["## Figures", ""] + [f"- {k}: {v}" for k, v in self.figures.items()] + [""]
        for _, title, figures, checks in self.sections():
            out += [f"## {title}", ""]
            out += [f"- {k}: {v}" for k, v in figures.items()] + ([""] if figures else [])
            for r in checks:
                out += [f"### [{r.verdict}] {r.title}", "",
                        f"node `{r.node}`, command `{r.command}`, test `{r.test}`", "",
                        "Tutorial:", "", "```", r.documented or "(no output documented)", "```", "",
                        "Observed:", "", "```", r.observed or "(nothing)", "```", ""]
                if r.note:
                    out += ["Note:", "", "```", r.note, "```", ""]
        out += ["## Where bookworm differs from the tutorial", "",
                "| chapter | tutorial | Debian 12 | what the lab does |", "|---|---|---|---|"]
        out += [f"| {d.chapter} | {d.tutorial} | {d.bookworm} | {d.lab} |" for d in DIFFERENCES]
        return "\n".join(out) + "\n"

    def html(self) -> str:
        esc = html.escape
        colour = {"PASS": "#1a7f37", "FAIL": "#cf222e", "ERROR": "#9a6700"}
        def row(r: CheckRecord) -> str:
            return (f"<tr><td style='color:{colour.get(r.verdict, '#000')};font-weight:bold'>{r.verdict}</td>"
                    f"<td>{esc(r.title)}</td><td>{esc(r.node)}</td><td><code>{esc(r.command)}</code></td>"
                    f"<td><pre>{esc(r.documented)}</pre></td><td><pre>{esc(r.observed)}</pre>"
                    f"{'<pre class=note>' + esc(r.note) + '</pre>' if r.note else ''}</td></tr>")

        sections = "".join(
            f"<h2>{esc(title)}</h2>"
            + ("<ul>" + "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in figures.items()) + "</ul>" if figures else "")
            + "<table><tr><th>verdict</th><th>check</th><th>node</th><th>command</th><th>tutorial</th>"
            + "<th>observed</th></tr>" + "".join(row(r) for r in checks) + "</table>"
            for _, title, figures, checks in self.sections())
        diffs = "".join(f"<tr><td>{esc(d.chapter)}</td><td>{esc(d.tutorial)}</td><td>{esc(d.bookworm)}</td>"
                        f"<td>{esc(d.lab)}</td></tr>" for d in DIFFERENCES)
        header = "".join(f"<li>{esc(line)}</li>" for line in self.header)
        figures = "".join(f"<li>{esc(k)}: {esc(v)}</li>" for k, v in self.figures.items())
        return f"""<!doctype html><html><head><meta charset="utf-8"><title>Tutorial reproduction report</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse;width:100%}}
td,th{{border:1px solid #ccc;padding:4px;vertical-align:top;font-size:13px}}pre{{margin:0;white-space:pre-wrap}}
.note{{color:#cf222e}}</style></head><body>
<h1>Tutorial reproduction report</h1><p>Checks: {self._summary()}</p><ul>{header}</ul>
{'<h2>Figures</h2><ul>' + figures + '</ul>' if figures else ''}
{sections}
<h2>Where bookworm differs from the tutorial</h2><table><tr><th>ch.</th><th>tutorial</th><th>Debian 12</th>
<th>what the lab does</th></tr>{diffs}</table></body></html>
"""
