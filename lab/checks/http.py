"""What an HTTP answer through the VIP says about the cluster."""

from __future__ import annotations


def served_by(body: str) -> str | None:
    """Which web node answered: each node's index.html names it in <h1> (lab/provision/ch0-apache.sh)."""
    start = body.find("<h1>")
    return body[start + 4: body.find("</h1>", start)] if start >= 0 else None
