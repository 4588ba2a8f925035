"""The two kinds of failure, never confused.

LabError: the harness or the host broke (say what, where, and how to fix it).
AssertionError: the cluster under test misbehaved (say expected vs seen).
"""


class KnownFinding(AssertionError):
    """The cluster misbehaved in a way already explained (a FINDING in the README): the test is
    an expected failure carrying the evidence (lab/pytest_plugin.py makes it one), never a pass."""


class LabError(Exception):
    """The lab could not be built or driven; not a verdict on the cluster."""

    def __init__(self, what: str, fix: str = "") -> None:
        self.what = what
        self.fix = fix
        super().__init__(f"{what}\n  fix: {fix}" if fix else what)
