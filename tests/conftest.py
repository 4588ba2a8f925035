"""Harness unit tests: no root, no lab, no network. Golden files live in tests/golden/."""

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture
def golden():
    def read(name: str) -> str:
        return (GOLDEN / name).read_text()

    return read
