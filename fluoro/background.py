"""Background threads yield the CPU to ingest.

Under CPU saturation something has to wait.  A datagram the kernel drops is
lost, a delayed flush only waits in its queue, and a late summary or map only
arrives late (their counts stay exact).  So the threads that can wait lower
their own priority.  On Linux the nice value is per thread, and threads a
thread starts inherit it; elsewhere it would be the whole process's, so this
does nothing there.  Raising a nice value needs no privileges.
"""

from __future__ import annotations

import os
import sys


def lower_thread_priority(steps: int) -> None:
    """Add ``steps`` to the calling thread's nice value (at most 19)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + steps))
    except (OSError, AttributeError):
        pass
