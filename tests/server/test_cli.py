"""``fluoro`` CLI: importable without the server extra; ``server`` flags parse."""

from __future__ import annotations

import subprocess
import sys

from fluoro.cli import build_parser

from .helpers import REPO


def test_cli_import_does_not_load_server_dependencies() -> None:
    code = "import sys, fluoro.cli; bad = {'duckdb', 'starlette', 'uvicorn', 'pyarrow'} & set(sys.modules); print(sorted(bad))"
    out = subprocess.run([sys.executable, "-c", code], cwd=str(REPO), capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_server_flags() -> None:
    args = build_parser().parse_args(["server", "--port", "2100", "--store", "memory", "--retention-days", "7"])
    assert (args.host, args.port, args.store, args.retention_days) == ("127.0.0.1", 2100, "memory", 7.0)
