"""The daemon side of the server: UDP receivers, bounded queues, the store writer thread."""

from fluoro.daemon.metrics import IngestMetrics
from fluoro.daemon.pipeline import Overloaded, Pipeline, PipelineConfig
from fluoro.daemon.udp import UDPReceiver
from fluoro.daemon.udp_process import UDPProcessReceiver

__all__ = ["IngestMetrics", "Overloaded", "Pipeline", "PipelineConfig", "UDPProcessReceiver", "UDPReceiver"]
