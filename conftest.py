"""Top-level conftest: the lab's pytest plugin is lab/pytest_plugin.py (registered in pyproject.toml).

Unit tests of the harness live in tests/ (no root, no lab); the tutorial's scenarios in
scenarios/ (they need --lab=netns). See README.md.
"""

collect_ignore = ["reports", ".venv", "docs"]
