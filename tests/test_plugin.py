"""The pytest plugin, tested as pytest-xdist and pytest-timeout test theirs: with pytester."""

import pytest



def test_unknown_lab_provider_is_a_usage_error_naming_the_choices(pytester):
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("--lab=docker")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--lab: invalid choice: 'docker' (choose from *netns*vagrant*)"])


def test_without_a_lab_scenarios_are_skipped_and_the_header_says_so(pytester):
    pytester.makepyfile("def test_needs_lab(lab): pass\ndef test_unit(): assert 1 + 1 == 2")
    result = pytester.runpytest("-rs")
    result.stdout.fnmatch_lines(["lvslab: no --lab given: scenarios will be skipped*",
                                 "*SKIPPED*scenarios need a lab: run with --lab=netns*"])
    result.assert_outcomes(passed=1, skipped=1)


def test_chapters_run_in_the_tutorials_order(pytester):
    pytester.makepyfile("""
        import pytest
        @pytest.mark.chapter7
        def test_c(): pass
        @pytest.mark.chapter5
        def test_a(): pass
        def test_unit(): pass
        @pytest.mark.chapter6
        def test_b(): pass
    """)
    result = pytester.runpytest("-v")
    result.stdout.fnmatch_lines(["*test_unit PASSED*", "*test_a PASSED*", "*test_b PASSED*", "*test_c PASSED*"])


def test_no_ipvs_and_no_microvm_is_a_usage_error_with_the_fix(pytester, no_ipvs_no_microvm):
    pytester.makepyfile("def test_x(lab): pass")
    result = pytester.runpytest("--lab=netns")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*cannot run the lab here: kernel 6.18.0 has no usable IPVS (CONFIG_IP_VS is not set)*",
                                 "*fix: apt-get install qemu-system-x86*"])


def test_markers_are_listed_once_in_story_order_and_every_used_one_is_known():
    """One place for the markers (issue 8 point 10): the plugin's MARKERS; pyproject lists none."""
    import re
    import tomllib
    from pathlib import Path

    from lab.pytest_plugin import CHAPTER_ORDER, MARKERS, RUN_FIRST, TEST_MARKERS

    root = Path(__file__).parents[1]
    options = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert "markers" not in options and "--strict-markers" in options["addopts"]
    used = {m for f in (root / "scenarios").glob("*.py") for m in re.findall(r"pytest\.mark\.(\w+)", f.read_text())}
    assert used - {"parametrize", "skipif", "usefixtures", "timeout", "xfail"} <= set(MARKERS) | set(TEST_MARKERS)
    assert CHAPTER_ORDER[:4] == ("chapter4", "chapter5", "chapter6", "chapter7")
    assert set(CHAPTER_ORDER) | set(RUN_FIRST) == set(MARKERS)


def _report_after(error: BaseException, *, when: str = "call"):
    """What pytest_runtest_makereport makes of a test that raised `error` (no lab running)."""
    from types import SimpleNamespace

    import pytest

    from lab.pytest_plugin import pytest_runtest_makereport

    try:
        raise error
    except BaseException:
        info = pytest.ExceptionInfo.from_current()
    report = SimpleNamespace(failed=True, when=when, outcome="failed", sections=[])
    hook = pytest_runtest_makereport.__wrapped__ if hasattr(pytest_runtest_makereport, "__wrapped__") \
        else pytest_runtest_makereport
    wrapper = hook(SimpleNamespace(), SimpleNamespace(excinfo=info))
    next(wrapper)
    try:
        wrapper.send(SimpleNamespace(get_result=lambda: report))
    except StopIteration:
        pass
    return report


def test_a_known_finding_is_an_expected_failure_carrying_its_evidence_and_any_other_failure_stays_one():
    from lab.errors import KnownFinding

    known = _report_after(KnownFinding("the FIFO lost mach_down's message: msg2string: Message with zero fields"))
    assert (known.outcome, known.wasxfail) == ("skipped", "FINDING: the FIFO lost mach_down's message: "
                                                           "msg2string: Message with zero fields")
    plain = _report_after(AssertionError("no VIP"))
    assert plain.outcome == "failed" and not hasattr(plain, "wasxfail")
    assert _report_after(KnownFinding("in setup"), when="setup").outcome == "failed"
