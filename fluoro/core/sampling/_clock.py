"""One indirection for wall-clock time so tests can drive sampling deterministically.

Every sampling module reads the time through ``_clock.now()`` (attribute lookup at call
time), so ``monkeypatch.setattr(_clock, "now", fake)`` controls reservoirs, rule-cache
expiry and reported timestamps at once.
"""

from __future__ import annotations

from time import time as _time


def now() -> float:
    """Current wall-clock time in epoch seconds."""
    return _time()
