"""``import fluoro.core`` stays light: no botocore, no web framework, no heavy helpers."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("botocore", "boto3", "requests", "wrapt", "msgspec", "starlette", "django", "flask", "aiohttp",
         "asyncio", "http.client", "typing")


def test_import_fluoro_core_pulls_in_nothing_heavy() -> None:
    code = "import sys, json, fluoro.core; print(json.dumps(sorted(m for m in %r if m in sys.modules)))" % (HEAVY,)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == []


def test_recorder_works_without_importing_heavy_modules() -> None:
    code = (
        "import sys, json\n"
        "from fluoro.core import xray_recorder\n"
        "xray_recorder.configure(sampling=False, daemon_address='127.0.0.1:9')\n"
        "with xray_recorder.in_segment('s'):\n"
        "    with xray_recorder.in_subsegment('x'):\n"
        "        pass\n"
        "print(json.dumps(sorted(m for m in ('botocore', 'boto3', 'requests', 'wrapt') if m in sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) == []
