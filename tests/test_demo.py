"""``fluoro demo`` end to end: a fluoro server, the article's example under start-api,
requests over HTTP, and what the console would show, read back through the X-Ray API."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_SEED = REPO.parent / "shared" / "seed" / "example"


def test_demo_tells_the_articles_story(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "fluoro.cli", "demo", "--requests", "2", "--store", str(tmp_path / "demo.duckdb")],
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "unchanged, with the real aws-xray-sdk" in out
    # The trace list: 1 + 1 + (2 + 1 failing) requests, read with GetTraceSummaries.
    assert out.count("POST   │ https://") == 5, out
    assert out.count("│ 502    │") == 1
    # The trace map, from the client through API Gateway and Lambda to DynamoDB and S3.
    for node in ("sam-app/dev client", "sam-app/dev AWS::ApiGateway::Stage", "sam-app-ProcessUserFunction AWS::Lambda",
                 "sam-app-ProcessUserFunction AWS::Lambda::Function", "xray-sample-users-table AWS::DynamoDB::Table",
                 "sam-app-user-files AWS::S3::Bucket"):
        assert node in out, node
    # The timeline: the article's three instrumentation styles, the AWS calls and inferred nodes.
    for name in ("subsegment_3-2", "xray_function_sample2", "Invocation", "Overhead", "dynamodb aws", "s3 aws",
                 "(inferred)", "fault"):
        assert name in out, name
    assert "Cannot create segments inside Lambda function. Discarded." in out
    for row in ("1. API Gateway tracing only", "2. + Lambda active tracing", "3. + X-Ray SDK"):
        assert row in out
    assert 'annotation.annotation1 = "annotation test"       2 traces' in out
    assert "fault = true                                     1 traces" in out


def test_bundled_seed_is_the_published_example() -> None:
    bundled = REPO / "fluoro" / "demo" / "seed_example"
    if not SHARED_SEED.is_dir():
        import pytest

        pytest.skip("not applicable: the shared seed folder is not next to this checkout")
    for name in ("template.yaml", "src/app.py", "src/requirements.txt"):
        assert filecmp.cmp(bundled / name, SHARED_SEED / name, shallow=False), name
