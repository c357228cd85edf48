"""``fluoro daemon``: a light per-host forwarder, like the X-Ray daemon.

Applications send UDP to it on their own host; it batches documents to a
central fluoro server's ``PutTraceSegments`` over HTTP, buffers within a
memory bound while the central server is away, retries with backoff, drops
the oldest documents (counted) when the bound is reached, and proxies the
TCP API (sampling rules and targets) to the central server.
"""

from fluoro.forwarder.buffer import SequencedBuffer
from fluoro.forwarder.daemon import Forwarder, ForwarderConfig
from fluoro.forwarder.metrics import ForwarderMetrics

__all__ = ["Forwarder", "ForwarderConfig", "ForwarderMetrics", "SequencedBuffer"]
