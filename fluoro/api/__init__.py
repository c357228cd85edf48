"""The X-Ray HTTP API (rest-json, botocore paths) as a Starlette app."""

from fluoro.api.app import build_app
from fluoro.api.context import ApiContext

__all__ = ["ApiContext", "build_app"]
