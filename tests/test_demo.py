"""``fluoro demo`` end to end: a fluoro server, the article's example under start-api,
requests over HTTP, and what the console would show, read back through the X-Ray API."""

from __future__ import annotations

import argparse
import filecmp
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_SEED = REPO.parent / "shared" / "seed" / "example"


def run_demo(tmp_path: Path, *flags: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "fluoro.cli", "demo", "--requests", "2", "--app-requests", "16",
         "--store", str(tmp_path / "demo.duckdb"), *flags],
        capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_demo_tells_the_articles_story_then_runs_its_own_app(tmp_path: Path) -> None:
    out = run_demo(tmp_path, "--exit")
    part1, part2 = out.split("Part 2: fluoro's demo app")
    assert "unchanged, with the real aws-xray-sdk" in part1
    # The trace list: 1 + 1 + (2 + 1 failing) requests, read with GetTraceSummaries.
    assert part1.count("POST   │ https://") == 5, part1
    assert part1.count("│ 502    │") == 1
    # The trace map, from the client through API Gateway and Lambda to DynamoDB and S3.
    for node in ("sam-app/dev client", "sam-app/dev AWS::ApiGateway::Stage", "sam-app-ProcessUserFunction AWS::Lambda",
                 "sam-app-ProcessUserFunction AWS::Lambda::Function", "xray-sample-users-table AWS::DynamoDB::Table",
                 "sam-app-user-files AWS::S3::Bucket"):
        assert node in part1, node
    # The timeline: the article's three instrumentation styles, the AWS calls and inferred nodes.
    for name in ("subsegment_3-2", "xray_function_sample2", "Invocation", "Overhead", "dynamodb aws", "s3 aws",
                 "(inferred)", "fault"):
        assert name in part1, name
    assert "Cannot create segments inside Lambda function. Discarded." in part1
    for row in ("1. API Gateway tracing only", "2. + Lambda active tracing", "3. + X-Ray SDK"):
        assert row in part1

    # Part 2: two rounds of the demo app's request stream, every kind with its status.
    for row in ("│ POST /users         │ 4    │ 4 x 201", "│ GET /users/{userId} │ 4    │ 4 x 200",
                "│ POST /users         │ 2    │ 2 x 400", "│ POST /users         │ 2    │ 2 x 500",
                "│ POST /imports       │ 2    │ 2 x 429"):
        assert row in part2, row
    assert "moto never throttles" in part2
    # The service graph from GetServiceGraph: only the app's nodes, with its failures counted.
    graph = part2[part2.index("Service graph (GetServiceGraph)"):part2.index("Timeline of")]
    assert "sam-app" not in graph
    for line in ("fluoro-demo/demo AWS::ApiGateway::Stage 16 requests", "fluoro-demo-users AWS::DynamoDB::Table",
                 "fluoro-demo-user-files AWS::S3::Bucket", "fluoro-demo-imports AWS::DynamoDB::Table",
                 "fluoro-demo-ImportFunction AWS::Lambda::Function", "(2 throttles)"):
        assert line in graph, line
    # Timelines: the three styles, the bug's exception with its stack, the throttled write.
    for text in ("validate local", "save_user local", "price_plan local", "write_profile_file local",
                 "KeyError: 'enterprise'", "(stack: ", "ProvisionedThroughputExceededException", "throttle  fluoro-demo/demo"):
        assert text in part2, text
    # Where to look: the console URL and filters with the counts the stream implies.
    assert re.search(r"Console:  http://127\.0\.0\.1:\d+/", part2)
    for expression, count in (("fault", 2), ("error", 4), ("throttle", 2), ('annotation.plan = "pro"', 2),
                              ("http.status = 400", 2), ('service("fluoro-demo/demo") { fault }', 2),
                              ('service(id(name: "fluoro-demo-imports", type: "AWS::DynamoDB::Table")) { throttle }', 2)):
        assert re.search(r"\n  %s +%d traces\n" % (re.escape(expression), count), part2), (expression, part2[-1500:])
    assert "Serving until Ctrl-C" not in out


def test_serving_policy() -> None:
    from fluoro.demo.run import add_arguments, keeps_serving

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert keeps_serving(parser.parse_args([]), interactive=True)
    assert not keeps_serving(parser.parse_args([]), interactive=False)
    assert not keeps_serving(parser.parse_args(["--exit"]), interactive=True)
    assert keeps_serving(parser.parse_args(["--keep-running"]), interactive=False)
    with pytest.raises(SystemExit):
        parser.parse_args(["--exit", "--keep-running"])


def test_keep_running_serves_until_interrupted(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fluoro.cli", "demo", "--requests", "1", "--app-requests", "8", "--keep-running",
         "--store", str(tmp_path / "demo.duckdb")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        cwd=tmp_path)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Serving until Ctrl-C" in line:
                break
        serving = "".join(lines[-3:])
        app = re.search(r"the demo app at (http://127\.0\.0\.1:\d+)/demo/users", serving)
        console = re.search(r"Console:  (http://127\.0\.0\.1:\d+)/", "".join(lines))
        if not (app and console):
            proc.kill()
            _, err = proc.communicate(timeout=30)
            raise AssertionError("".join(lines)[-2000:] + "\n--- stderr ---\n" + err[-3000:])
        # Still serving after the requests: the app answers and the server is healthy.
        response = httpx.post(app.group(1) + "/demo/users", json={"name": "Late", "email": "late@example.com"},
                              timeout=30)
        assert response.status_code == 201
        assert httpx.get(console.group(1) + "/healthz", timeout=10).status_code == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bundled_seed_is_the_published_example() -> None:
    bundled = REPO / "fluoro" / "demo" / "seed_example"
    if not SHARED_SEED.is_dir():
        pytest.skip("not applicable: the shared seed folder is not next to this checkout")
    for name in ("template.yaml", "src/app.py", "src/requirements.txt"):
        assert filecmp.cmp(bundled / name, SHARED_SEED / name, shallow=False), name
