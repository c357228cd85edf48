"""Suite-wide rules.

Under ``CI=true`` every skip is a failure, unless its reason starts with
``"not applicable:"``: CI installs and starts every service the tests need, so a
test skipped there for a missing service would be a check silently not run.
"""

from __future__ import annotations

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if not IN_CI or not report.skipped:
        return
    reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
    if "not applicable:" in reason:
        return
    report.outcome = "failed"
    report.longrepr = "skipped under CI=true, which must run every check: %s" % reason
