"""Suite-wide: in CI (`CI=true`) a missing test oracle fails the run instead of skipping.

PyTorch and scikit-learn are the oracles that several tests compare against; locally they are
optional (`pytest.importorskip`), so a developer without them still gets a green suite. In CI
a skip there would hide the only check of some behaviours, so the skip becomes a failure that
names the missing package.
"""

import os
import re

import pytest

ORACLES = ("torch", "sklearn")  # import names: PyTorch, scikit-learn


def _in_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def _missing_oracle(report):
    """The oracle a skip report is about ("could not import 'torch...'"), or None."""
    if not report.skipped or not isinstance(report.longrepr, tuple):
        return None
    found = re.search(r"could not import '(\w+)[\w.]*'", str(report.longrepr[2]))
    return found.group(1) if found and found.group(1) in ORACLES else None


def _fail_if_oracle_missing(report):
    name = _missing_oracle(report) if _in_ci() else None
    if name is not None:
        report.outcome = "failed"
        report.longrepr = (f"CI=true and the test oracle {name!r} is not installed "
                           f"({report.longrepr[2]}): install it (.ci/run does) instead of "
                           f"skipping the tests that compare against it")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_if_oracle_missing(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    _fail_if_oracle_missing(outcome.get_result())
