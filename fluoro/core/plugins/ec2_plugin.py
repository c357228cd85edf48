"""EC2 plugin: instance identity from the instance metadata service (IMDSv2, then IMDSv1).

Timeouts are short so that a process not on EC2 is not held up; proxies from the
environment are ignored (the metadata address is link-local). The endpoint can be
overridden with ``FLUORO_EC2_METADATA_ENDPOINT`` (tests point it at a loopback server),
and ``AWS_EC2_METADATA_DISABLED=true`` skips the lookup entirely, as in botocore.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

SERVICE_NAME = "ec2"
ORIGIN = "AWS::EC2::Instance"
ENDPOINT_ENV = "FLUORO_EC2_METADATA_ENDPOINT"
DEFAULT_ENDPOINT = "http://169.254.169.254"
IMDS_URL = DEFAULT_ENDPOINT + "/latest/"
TIMEOUT = 1.0  # seconds per request

runtime_context: dict | None = None


def _imds_url() -> str:
    endpoint = os.environ.get(ENDPOINT_ENV)
    if endpoint:
        return endpoint.rstrip("/") + "/latest/"
    return IMDS_URL


def initialize() -> None:
    """Set ``runtime_context`` to the instance identity, or ``{}`` when not on EC2."""
    global runtime_context
    if os.environ.get("AWS_EC2_METADATA_DISABLED", "").strip().lower() == "true":
        runtime_context = {}
        return
    token = get_token()
    runtime_context = get_metadata(token)


def get_token() -> str | None:
    """IMDSv2 session token, valid 60 s so it does not linger."""
    try:
        return do_request(
            url=_imds_url() + "api/token",
            headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"},
            method="PUT",
        )
    except Exception:
        log.warning("Failed to get token for IMDSv2")
        return None


def get_metadata(token: str | None = None) -> dict:
    """The identity document, with the token if we have one (else IMDSv1)."""
    try:
        headers = {"X-aws-ec2-metadata-token": token} if token else None
        metadata_json = do_request(
            url=_imds_url() + "dynamic/instance-identity/document", headers=headers, method="GET"
        )
        return parse_metadata_json(metadata_json or "")
    except Exception:
        log.warning("Failed to get EC2 metadata")
        return {}


def parse_metadata_json(json_str: str) -> dict:
    import json

    data = json.loads(json_str)
    return {
        "instance_id": data["instanceId"],
        "availability_zone": data["availabilityZone"],
        "instance_type": data["instanceType"],
        "ami_id": data["imageId"],
    }


def do_request(url: str | None, headers: dict | None = None, method: str = "GET") -> str | None:
    """One HTTP request with a short timeout and no proxy; the body as text."""
    if url is None:
        return None
    from urllib.request import ProxyHandler, Request, build_opener

    req = Request(url=url, headers=headers or {}, method=method)
    opener = build_opener(ProxyHandler({}))
    with opener.open(req, timeout=TIMEOUT) as res:
        return res.read().decode("utf-8")
