"""The faults family's deliberate failure (scenarios/test_faults.py, FailedOnPurpose): its strict
xfail counts only that failure as expected, and pytest reports it without formatting a traceback
(in the microVM that formatting took 6-11 s while the test's faults were still in place)."""

from scenarios.test_faults import FailedOnPurpose

FAKE = """
import pytest
from scenarios.test_faults import FailedOnPurpose

PURPOSE = pytest.mark.xfail(strict=True, raises=FailedOnPurpose, reason="fails on purpose")

@PURPOSE
def test_fails_on_purpose():
    raise FailedOnPurpose("failing on purpose with these faults in place: ['loadb2 is frozen']", pytrace=False)

@PURPOSE
def test_fails_otherwise():
    assert False, "a node command failed while making the faults"

@PURPOSE
def test_passes():
    pass

def test_not_marked():
    some_local_line = "shown only in a formatted traceback"
    raise FailedOnPurpose("the message alone", pytrace=False)
"""


def test_only_the_deliberate_failure_is_expected_and_it_has_no_traceback(pytester):
    pytester.makepyfile(test_fake=FAKE)
    result = pytester.runpytest("-p", "no:cacheprovider", "-rA")
    result.assert_outcomes(xfailed=1, failed=3)
    text = result.stdout.str()
    assert "XFAIL test_fake.py::test_fails_on_purpose" in text
    assert "FAILED test_fake.py::test_fails_otherwise" in text
    assert "[XPASS(strict)] fails on purpose" in text
    assert "the message alone" in text
    assert "some_local_line" not in text  # pytrace=False: no source, no traceback


def test_it_is_a_pytest_failure_not_an_assertion():
    failure = FailedOnPurpose("why", pytrace=False)
    assert not isinstance(failure, AssertionError) and failure.pytrace is False and str(failure) == "why"
