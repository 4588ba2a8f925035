"""The observed output against the tutorial's, as a diff a reader takes in at a glance.

Two full blocks side by side make the reader compare them line by line by eye; a unified
diff marks only the lines that changed. Lines are compared with their white space collapsed,
because ipvsadm and ip align their columns differently from the 2006 output the tutorial
shows: a realigned column is the same line, and the observed line is the one shown.
"""

from __future__ import annotations

import difflib
import html


def _same(line: str) -> str:
    return " ".join(line.split())


def diff_lines(documented: str, observed: str) -> list[str] | None:
    """`--- tutorial` / `+++ observed` and every line marked ' ', '-' or '+'; None if they agree.

    Full context: the diff replaces the two blocks, so no line of either may be left out.
    Nothing documented or nothing observed is no diff either: there is only one block to show.
    """
    old, new = documented.rstrip().splitlines(), observed.rstrip().splitlines()
    if not old or not new:
        return None
    matcher = difflib.SequenceMatcher(None, [_same(x) for x in old], [_same(x) for x in new], autojunk=False)
    if matcher.ratio() == 1.0:
        return None
    out = ["--- tutorial", "+++ observed"]
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            out += [f" {line}" for line in new[j1:j2]]
            continue
        out += [f"-{line}" for line in old[i1:i2]] + [f"+{line}" for line in new[j1:j2]]
    return out


def diff_html(lines: list[str]) -> str:
    """A <pre> with removed lines red and added lines green."""
    styles = {"-": "del", "+": "ins"}
    body = "\n".join(
        f"<span class={styles[line[0]]}>{html.escape(line)}</span>" if line[:1] in styles and line[:3] not in ("---", "+++")
        else html.escape(line) for line in lines)
    return f"<pre class=diff>{body}</pre>"


def cell(text: str) -> str:
    """Text safe inside one markdown table cell."""
    return text.replace("|", "\\|").replace("\n", "<br>")
