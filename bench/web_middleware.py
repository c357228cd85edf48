"""Per-request overhead of the web framework middlewares, measured in one run.

Flask: the same app bare, with aws-xray-sdk 2.15's ``XRayMiddleware`` and with fluoro's,
called as a WSGI server calls it (no HTTP, so the framework cost is small and stable);
the added µs per request and fluoro/upstream ratio are printed. fluoro's plain WSGI and
ASGI (Starlette) middlewares, which have no upstream counterpart, are measured against the
bare app. Each traced request is one segment serialized to JSON (what the UDP emitter does).
Run alone: ``.venv/bin/python bench/web_middleware.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402


class SerializingEmitter:
    """Serializes each segment as the UDP emitter would, then drops it."""

    def send_entity(self, entity: Any) -> None:
        entity.serialize()

    def set_daemon_address(self, address: Any) -> None:
        pass


def _environ(path: str) -> dict:
    return {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "bench",
            "SERVER_PORT": "80", "HTTP_HOST": "bench", "REMOTE_ADDR": "10.0.0.1", "HTTP_USER_AGENT": "bench/1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(), "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0), "wsgi.multithread": False, "wsgi.multiprocess": False, "wsgi.run_once": False,
            "SERVER_PROTOCOL": "HTTP/1.1", "SCRIPT_NAME": ""}


def _start_response(status: str, headers: list, exc_info: Any = None) -> Any:
    return None


def wsgi_loop(app: Any, n: int) -> None:
    base = _environ("/items/7")
    for _ in range(n):
        result = app(dict(base), _start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()


def interleaved(variants: dict, n: int, repeats: int) -> dict:
    """Median µs per request of each variant, repetitions interleaved so that a slow moment
    of the shared machine hits every variant alike."""
    for fn in variants.values():
        fn(max(n // 10, 20))  # warm up
    samples: dict = {name: [] for name in variants}
    for _ in range(repeats):
        for name, fn in variants.items():
            samples[name].append(median_us(fn, n, 1))
    return {name: statistics.median(values) for name, values in samples.items()}


def median_us(fn: Any, n: int, repeats: int) -> float:
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        fn(n)
        samples.append((time.perf_counter_ns() - t0) / n / 1000)
    return statistics.median(samples)


def flask_app() -> Any:
    import flask

    app = flask.Flask("bench")

    @app.route("/items/<int:item_id>")
    def item(item_id: int) -> Any:
        return {"id": item_id}

    return app


def configure(recorder: Any, context: Any) -> None:
    recorder.configure(sampling=False, emitter=SerializingEmitter(), context=context, service="bench")


def bench_flask(n: int, repeats: int) -> dict:
    import aws_xray_sdk.core as upstream_core
    from aws_xray_sdk.core.context import Context as UpstreamContext
    from aws_xray_sdk.ext.flask.middleware import XRayMiddleware as UpstreamMiddleware

    import fluoro.core as fluoro_core
    from fluoro.core.context import Context
    from fluoro.ext.flask.middleware import XRayMiddleware

    configure(upstream_core.xray_recorder, UpstreamContext())
    configure(fluoro_core.xray_recorder, Context())
    bare = flask_app()
    upstream = flask_app()
    UpstreamMiddleware(upstream, upstream_core.xray_recorder)
    fluoro = flask_app()
    XRayMiddleware(fluoro, fluoro_core.xray_recorder)
    apps = {"bare": bare, "aws-xray-sdk": upstream, "fluoro": fluoro}
    return interleaved({name: (lambda k, a=app: wsgi_loop(a.wsgi_app, k)) for name, app in apps.items()}, n, repeats)


def bench_wsgi(n: int, repeats: int) -> dict:
    import fluoro.core as fluoro_core
    from fluoro.core.context import Context
    from fluoro.ext.wsgi import XRayMiddleware

    configure(fluoro_core.xray_recorder, Context())

    def app(environ: dict, start_response: Any) -> list:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    traced = XRayMiddleware(app, fluoro_core.xray_recorder)
    return interleaved({"bare": lambda k: wsgi_loop(app, k), "fluoro": lambda k: wsgi_loop(traced, k)}, n, repeats)


def bench_asgi(n: int, repeats: int) -> dict:
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    import fluoro.core as fluoro_core
    from fluoro.core.context import Context
    from fluoro.ext.asgi import XRayMiddleware

    configure(fluoro_core.xray_recorder, Context())

    async def item(request: Any) -> JSONResponse:
        return JSONResponse({"id": request.path_params["item_id"]})

    bare = Starlette(routes=[Route("/items/{item_id}", item)])
    traced = Starlette(routes=[Route("/items/{item_id}", item)])
    traced.add_middleware(XRayMiddleware, recorder=fluoro_core.xray_recorder)
    routed = Starlette(routes=[Route("/items/{item_id}", item)])
    routed.add_middleware(XRayMiddleware, recorder=fluoro_core.xray_recorder, segment_name="route")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": "/items/7", "raw_path": b"/items/7", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"bench"), (b"user-agent", b"bench/1")], "client": ("10.0.0.1", 5000),
             "server": ("bench", 80)}

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        pass

    async def loop(app: Any, k: int) -> None:
        for _ in range(k):
            await app(dict(scope), receive, send)

    def run(app: Any) -> Any:
        return lambda k: asyncio.run(loop(app, k))

    return interleaved({"bare": run(bare), "fluoro": run(traced), "fluoro (route names)": run(routed)}, n, repeats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer requests (a smoke run)")
    args = parser.parse_args()
    n, repeats = (300, 3) if args.quick else (3000, 7)
    print("machine:", machine())
    print("requests per repetition: %d, repetitions: %d (median µs per request)\n" % (n, repeats))

    flask = bench_flask(n, repeats)
    up_added = flask["aws-xray-sdk"] - flask["bare"]
    fl_added = flask["fluoro"] - flask["bare"]
    print("Flask             bare %7.1f µs | aws-xray-sdk %7.1f (+%.1f) | fluoro %7.1f (+%.1f) | added: fluoro/upstream = %.2f"
          % (flask["bare"], flask["aws-xray-sdk"], up_added, flask["fluoro"], fl_added, fl_added / up_added))
    wsgi = bench_wsgi(n, repeats)
    print("WSGI (plain app)  bare %7.1f µs | fluoro %7.1f (+%.1f)" % (wsgi["bare"], wsgi["fluoro"], wsgi["fluoro"] - wsgi["bare"]))
    asgi = bench_asgi(n, repeats)
    print("ASGI (Starlette)  bare %7.1f µs | fluoro %7.1f (+%.1f) | route names %7.1f (+%.1f)"
          % (asgi["bare"], asgi["fluoro"], asgi["fluoro"] - asgi["bare"], asgi["fluoro (route names)"],
             asgi["fluoro (route names)"] - asgi["bare"]))


if __name__ == "__main__":
    main()
