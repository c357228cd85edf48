"""Fixtures for the AWS client patcher tests (moto server and recorder come from ../conftest.py)."""

from ..oracle import recorders  # noqa: F401
