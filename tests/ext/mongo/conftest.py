"""Fixtures for the pymongo tests."""

from ..oracle import recorders  # noqa: F401
