"""The daemon side of the server: UDP receiver, bounded queues, the store writer thread."""

from fluoro.daemon.metrics import IngestMetrics
from fluoro.daemon.pipeline import Overloaded, Pipeline, PipelineConfig
from fluoro.daemon.udp import UDPReceiver

__all__ = ["IngestMetrics", "Overloaded", "Pipeline", "PipelineConfig", "UDPReceiver"]
