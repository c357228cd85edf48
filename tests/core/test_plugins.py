"""Plugins: name resolution, and EC2/ECS/Elastic Beanstalk runtime context.

EC2 talks to a fake instance metadata service on 127.0.0.1; an autouse fixture points
the plugin at a closed loopback port so no test can ever reach 169.254.169.254.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest.mock import patch

import pytest

from fluoro.core.exceptions.exceptions import MissingPluginNames
from fluoro.core.plugins import ec2_plugin, ecs_plugin, elasticbeanstalk_plugin
from fluoro.core.plugins.utils import get_plugin_modules

IDENTITY = {
    "accountId": "123456789012",
    "architecture": "x86_64",
    "availabilityZone": "us-east-2a",
    "imageId": "ami-03cca83dd001d4666",
    "instanceId": "i-07a181803de94c666",
    "instanceType": "t3.xlarge",
    "region": "us-east-2",
}
EXPECTED = {
    "instance_id": "i-07a181803de94c666",
    "availability_zone": "us-east-2a",
    "instance_type": "t3.xlarge",
    "ami_id": "ami-03cca83dd001d4666",
}


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class FakeIMDS:
    """Loopback IMDS: ``mode`` is 'v2' (token required), 'v1' (PUT refused), 'down' (500s), 'slow'."""

    TOKEN = "AQAEAFake-token=="

    def __init__(self, mode: str = "v2") -> None:
        self.mode = mode
        self.requests: list[tuple[str, str, dict]] = []
        imds = self

        class Handler(BaseHTTPRequestHandler):
            def _reply(self, status: int, body: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout tests)

            def do_PUT(self) -> None:  # noqa: N802
                imds.requests.append(("PUT", self.path, {k.lower(): v for k, v in self.headers.items()}))
                if imds.mode == "slow":
                    time.sleep(1.0)
                if imds.mode == "v2" and self.path == "/latest/api/token":
                    if self.headers.get("X-aws-ec2-metadata-token-ttl-seconds") == "60":
                        return self._reply(200, imds.TOKEN)
                    return self._reply(400, "missing ttl")
                return self._reply(403 if imds.mode == "v1" else 500, "no")

            def do_GET(self) -> None:  # noqa: N802
                imds.requests.append(("GET", self.path, {k.lower(): v for k, v in self.headers.items()}))
                if imds.mode == "slow":
                    time.sleep(1.0)
                if self.path != "/latest/dynamic/instance-identity/document" or imds.mode in ("down", "slow"):
                    return self._reply(500 if imds.mode == "down" else 404, "no")
                if imds.mode == "v2" and self.headers.get("X-aws-ec2-metadata-token") != imds.TOKEN:
                    return self._reply(401, "unauthorized")
                return self._reply(200, json.dumps(IDENTITY, indent=2))

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        ).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _isolate(monkeypatch: pytest.MonkeyPatch) -> None:
    # Never let a test fall through to the real link-local metadata address.
    monkeypatch.setenv(ec2_plugin.ENDPOINT_ENV, f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    monkeypatch.setenv(elasticbeanstalk_plugin.CONF_PATH_ENV, "/nonexistent/fluoro-test/environment.conf")


@pytest.fixture
def imds(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    server = FakeIMDS()
    monkeypatch.setenv(ec2_plugin.ENDPOINT_ENV, server.url)
    yield server
    server.close()


# -- name resolution --------------------------------------------------------------------------


def test_upstream_names_map_to_modules() -> None:
    mods = get_plugin_modules(("EC2Plugin", "ECSPlugin", "ElasticBeanstalkPlugin"))
    assert mods == (ec2_plugin, ecs_plugin, elasticbeanstalk_plugin)


def test_module_names_accepted_case_insensitively() -> None:
    assert get_plugin_modules(["ec2_plugin", "ECS_Plugin", "elasticbeanstalk_plugin"]) == (
        ec2_plugin,
        ecs_plugin,
        elasticbeanstalk_plugin,
    )


def test_single_string_is_one_name() -> None:
    assert get_plugin_modules("ECSPlugin") == (ecs_plugin,)


@pytest.mark.parametrize("empty", [(), [], None, ""])
def test_missing_names(empty: object) -> None:
    with pytest.raises(MissingPluginNames):
        get_plugin_modules(empty)  # type: ignore[arg-type]


def test_unknown_plugin() -> None:
    with pytest.raises(ImportError):
        get_plugin_modules(("NoSuchPlugin",))


def test_plugin_constants() -> None:
    assert (ec2_plugin.SERVICE_NAME, ec2_plugin.ORIGIN) == ("ec2", "AWS::EC2::Instance")
    assert (ecs_plugin.SERVICE_NAME, ecs_plugin.ORIGIN) == ("ecs", "AWS::ECS::Container")
    assert (elasticbeanstalk_plugin.SERVICE_NAME, elasticbeanstalk_plugin.ORIGIN) == (
        "elastic_beanstalk",
        "AWS::ElasticBeanstalk::Environment",
    )


def test_runtime_context_available() -> None:
    for plugin in get_plugin_modules(("ec2_plugin", "ecs_plugin", "elasticbeanstalk_plugin")):
        plugin.initialize()
        assert hasattr(plugin, "runtime_context")


# -- EC2 against a loopback IMDS ------------------------------------------------------------------


def test_ec2_imdsv2(imds: FakeIMDS) -> None:
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context == EXPECTED
    (put, get) = imds.requests
    assert put[:2] == ("PUT", "/latest/api/token")
    assert put[2]["x-aws-ec2-metadata-token-ttl-seconds"] == "60"
    assert get[:2] == ("GET", "/latest/dynamic/instance-identity/document")
    assert get[2]["x-aws-ec2-metadata-token"] == FakeIMDS.TOKEN


def test_ec2_imdsv1_fallback(imds: FakeIMDS) -> None:
    imds.mode = "v1"
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context == EXPECTED
    assert "x-aws-ec2-metadata-token" not in imds.requests[1][2]


def test_ec2_metadata_errors_give_empty_context(imds: FakeIMDS) -> None:
    imds.mode = "down"
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context == {}


def test_ec2_unreachable_is_quick_and_empty() -> None:
    start = time.monotonic()
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context == {}
    assert time.monotonic() - start < 1.0


def test_ec2_slow_imds_times_out(imds: FakeIMDS, monkeypatch: pytest.MonkeyPatch) -> None:
    imds.mode = "slow"
    monkeypatch.setattr(ec2_plugin, "TIMEOUT", 0.2)
    start = time.monotonic()
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context == {}
    assert time.monotonic() - start < 0.9


def test_ec2_ignores_proxy_environment(imds: FakeIMDS, monkeypatch: pytest.MonkeyPatch) -> None:
    dead_proxy = f"http://127.0.0.1:{closed_port()}"
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, dead_proxy)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context == EXPECTED


def test_ec2_disabled_by_env(imds: FakeIMDS, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context == {}
    assert imds.requests == []


def test_ec2_endpoint_default_is_link_local(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ec2_plugin.ENDPOINT_ENV)
    assert ec2_plugin._imds_url() == "http://169.254.169.254/latest/"  # checked, never requested
    monkeypatch.setenv(ec2_plugin.ENDPOINT_ENV, "http://127.0.0.1:1/")
    assert ec2_plugin._imds_url() == "http://127.0.0.1:1/latest/"


# Upstream's tests mock ``do_request``; keep that seam working.


@patch("fluoro.core.plugins.ec2_plugin.do_request")
def test_ec2_do_request_seam_v2(mock_do_request) -> None:  # type: ignore[no-untyped-def]
    mock_do_request.side_effect = ["token", json.dumps(IDENTITY)]
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context == EXPECTED


@patch("fluoro.core.plugins.ec2_plugin.do_request")
def test_ec2_do_request_seam_v1(mock_do_request) -> None:  # type: ignore[no-untyped-def]
    mock_do_request.side_effect = [Exception("Boom!"), json.dumps(dict(IDENTITY, instanceId="i-1"))]
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context["instance_id"] == "i-1"


@patch("fluoro.core.plugins.ec2_plugin.do_request")
def test_ec2_do_request_seam_fail(mock_do_request) -> None:  # type: ignore[no-untyped-def]
    mock_do_request.side_effect = [Exception("Boom v2!"), Exception("Boom v1!")]
    ec2_plugin.initialize()
    assert ec2_plugin.runtime_context == {}


# -- ECS and Elastic Beanstalk ---------------------------------------------------------------------


def test_ecs_container_is_hostname() -> None:
    ecs_plugin.initialize()
    assert ecs_plugin.runtime_context == {"container": socket.gethostname()}


def test_ecs_hostname_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> str:
        raise OSError("no hostname")

    monkeypatch.setattr(socket, "gethostname", boom)
    ecs_plugin.initialize()
    assert ecs_plugin.runtime_context is None


def test_elastic_beanstalk_conf(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    conf = {"deployment_id": 23, "version_label": "app-v2", "environment_name": "scorekeep-dev"}
    path = tmp_path / "environment.conf"
    path.write_text(json.dumps(conf))
    monkeypatch.setenv(elasticbeanstalk_plugin.CONF_PATH_ENV, str(path))
    elasticbeanstalk_plugin.initialize()
    assert elasticbeanstalk_plugin.runtime_context == conf


def test_elastic_beanstalk_conf_path_attribute(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "environment.conf"
    path.write_text('{"environment_name": "x"}')
    monkeypatch.delenv(elasticbeanstalk_plugin.CONF_PATH_ENV)
    monkeypatch.setattr(elasticbeanstalk_plugin, "CONF_PATH", str(path))
    elasticbeanstalk_plugin.initialize()
    assert elasticbeanstalk_plugin.runtime_context == {"environment_name": "x"}


@pytest.mark.parametrize("content", [None, "not json"])
def test_elastic_beanstalk_missing_or_bad(tmp_path, monkeypatch: pytest.MonkeyPatch, content) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "environment.conf"
    if content is not None:
        path.write_text(content)
    monkeypatch.setenv(elasticbeanstalk_plugin.CONF_PATH_ENV, str(path))
    elasticbeanstalk_plugin.initialize()
    assert elasticbeanstalk_plugin.runtime_context is None
