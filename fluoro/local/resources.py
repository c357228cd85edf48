"""DynamoDB tables and S3 buckets from the template, served by moto in server mode (a
child process on a free loopback port), so the function's plain boto3 code works
against ``AWS_ENDPOINT_URL``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from typing import Any

from fluoro.local.template import Template

_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "BillingMode", "ProvisionedThroughput",
               "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class MotoServer:
    """A moto server process, started and stopped with the emulator."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return "http://%s:%d" % (self.host, self.port)

    def start(self, timeout: float = 30.0) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("moto server exited with code %s" % self.proc.returncode)
            try:
                with urllib.request.urlopen(self.endpoint + "/moto-api/", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto server did not start on %s" % self.endpoint)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def _client(service: str, endpoint: str, region: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        aws_access_key_id="fluorolocal", aws_secret_access_key="fluorolocal")


def create_resources(template: Template, endpoint: str) -> list[str]:
    """Create the template's tables and buckets under their resolved names; returns what was made."""
    made: list[str] = []
    dynamodb = _client("dynamodb", endpoint, template.region)
    for table in template.tables.values():
        params = {k: table.properties[k] for k in _TABLE_KEYS if k in table.properties}
        if "BillingMode" not in params and "ProvisionedThroughput" not in params:
            params["BillingMode"] = "PAY_PER_REQUEST"
        try:
            dynamodb.create_table(TableName=table.name, **params)
        except dynamodb.exceptions.ResourceInUseException:
            made.append("DynamoDB table %s (%s), already there" % (table.name, table.logical_id))
            continue
        made.append("DynamoDB table %s (%s)" % (table.name, table.logical_id))
    s3 = _client("s3", endpoint, template.region)
    for bucket in template.buckets.values():
        try:
            if template.region == "us-east-1":
                s3.create_bucket(Bucket=bucket.name)
            else:
                s3.create_bucket(Bucket=bucket.name,
                                 CreateBucketConfiguration={"LocationConstraint": template.region})
        except s3.exceptions.BucketAlreadyOwnedByYou:
            made.append("S3 bucket %s (%s), already there" % (bucket.name, bucket.logical_id))
            continue
        made.append("S3 bucket %s (%s)" % (bucket.name, bucket.logical_id))
    return made
