"""``patch_all()`` over every library patcher, and what importing the SDK costs.

Each check runs in a fresh interpreter: patching is process-wide and ``sys.modules``
must start clean.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

LIBRARIES = ("botocore", "boto3", "aiobotocore", "pynamodb", "requests", "httpx", "sqlite3", "mysql", "pymysql",
             "psycopg2", "psycopg", "psycopg_pool", "pg8000", "sqlalchemy", "flask_sqlalchemy", "pymongo", "aiohttp",
             "flask", "django", "bottle", "starlette")


def _run(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_importing_the_sdk_imports_no_instrumented_library() -> None:
    out = _run("""
        import sys
        import fluoro.core, fluoro.ext, fluoro.ext.util, fluoro.ext.dbapi2
        from fluoro.core import patch, patch_all, xray_recorder
        print(",".join(sorted(m for m in %r if m in sys.modules)))
    """ % (LIBRARIES,))
    assert out.strip() == ""


def test_patch_all_patches_every_installed_library_but_httplib() -> None:
    out = _run("""
        import http.client, sqlite3
        from fluoro.core import patch_all, xray_recorder
        from fluoro.core.emitters.memory import InMemoryEmitter
        patch_all()
        import botocore.client, aiobotocore.client, botocore.httpsession, requests, httpx, psycopg2, psycopg
        import pg8000, pymysql, mysql.connector, sqlalchemy.engine.base, pymongo.monitoring
        flags = {
            "botocore": getattr(botocore.client, "_xray_enabled", False),
            "aiobotocore": aiobotocore.client._fluoro_xray_enabled,
            "pynamodb": botocore.httpsession._fluoro_xray_pynamodb,
            "requests": requests._fluoro_xray_enabled, "httpx": httpx._fluoro_xray_enabled,
            "sqlite3": sqlite3._fluoro_xray_enabled, "psycopg2": psycopg2._fluoro_xray_enabled,
            "psycopg": psycopg._fluoro_xray_enabled, "pg8000": pg8000._fluoro_xray_enabled,
            "pymysql": pymysql._fluoro_xray_enabled, "mysql": mysql.connector._fluoro_xray_enabled,
            "sqlalchemy_core": sqlalchemy.engine.base._fluoro_xray_enabled,
            "pymongo": pymongo.monitoring._fluoro_xray_enabled,
            "httplib": getattr(http.client, "_fluoro_xray_patched", False),
        }
        print(sorted(name for name, on in flags.items() if not on))
        emitter = InMemoryEmitter()
        xray_recorder.configure(emitter=emitter, sampling=False)
        with xray_recorder.in_segment("app"):
            sqlite3.connect(":memory:").execute("select 1")
        print(emitter.documents[0]["subsegments"][0]["name"])
    """)
    unpatched, name = out.strip().splitlines()
    assert unpatched == "['httplib']"
    assert name == ":memory:"


def test_patch_all_double_patch_includes_httplib() -> None:
    out = _run("""
        import http.client
        from fluoro.core import patch_all
        patch_all(double_patch=True)
        print(getattr(http.client, "_fluoro_xray_patched", False))
    """)
    assert out.strip() == "True"
