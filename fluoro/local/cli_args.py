"""Arguments of ``fluoro local start-api``, importable without the local extra."""

from __future__ import annotations

import argparse


def parameter_overrides(values: list[str]) -> dict[str, str]:
    overrides = {}
    for item in values:
        for pair in item.split():
            if "=" not in pair:
                raise argparse.ArgumentTypeError("parameter override %r is not KEY=VALUE" % pair)
            key, _, value = pair.partition("=")
            overrides[key.strip()] = value
    return overrides


def add_start_api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--template", "-t", default="template.yaml", help="SAM template (default template.yaml)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", "-p", type=int, default=3000, help="HTTP port (default 3000)")
    parser.add_argument("--stack-name", default="sam-app", help="value of AWS::StackName (default sam-app)")
    parser.add_argument("--region", default="us-east-1", help="value of AWS::Region (default us-east-1)")
    parser.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE",
                        help="template parameter values")
    parser.add_argument("--daemon-address", default="127.0.0.1:2000",
                        help="X-Ray daemon (fluoro server) UDP address (default 127.0.0.1:2000)")
    parser.add_argument("--api-tracing", action=argparse.BooleanOptionalAction, default=None,
                        help="override every API's TracingEnabled")
    parser.add_argument("--function-tracing", choices=["Active", "PassThrough"], default=None,
                        help="override every function's Tracing")
    parser.add_argument("--disable-sdk", action="store_true",
                        help="set AWS_XRAY_SDK_ENABLED=false in every function (the SDK records nothing)")
    parser.add_argument("--enforce-capacity", action="store_true",
                        help="throttle DynamoDB writes beyond a table's provisioned WriteCapacityUnits, as DynamoDB "
                             "does (moto alone never throttles)")
