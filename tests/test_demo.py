"""``fluoro demo`` end to end: server, traced app, traces read back through the X-Ray API."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_the_whole_loop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = subprocess.run(
        [sys.executable, "-m", "fluoro.cli", "demo", "--requests", "3", "--store", str(tmp_path / "demo.duckdb")],
        capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert "(3 traces)" in out
    # The faulty request's timeline: the article's subsegments, the AWS calls, inferred nodes.
    for name in ("subsegment_3-2", "xray_function_sample2", "boto test", "dynamodb", "(inferred)"):
        assert name in out
    assert "fault" in out
