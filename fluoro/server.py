"""Process wiring for ``fluoro server``: one port number, UDP and HTTP, one store.

Start order is store → writer → UDP → HTTP; shutdown runs backwards, and the
UDP socket is drained and the writer flushed before the store closes, so a
SIGTERM loses nothing that reached the socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import uvicorn

from fluoro.api import ApiContext, build_app
from fluoro.background import HostBusy, raise_nice
from fluoro.daemon import IngestMetrics, Pipeline, PipelineConfig, UDPReceiver
from fluoro.daemon.udp_process import UDPProcessReceiver
from fluoro.query.graph_service import GraphQueries
from fluoro.query.rollup import GraphRollup
from fluoro.query.service import QueryService
from fluoro.query.summary_pool import SummaryPool
from fluoro.store import open_store
from fluoro.store.api import Store

log = logging.getLogger("fluoro.server")


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 2000
    store: str | None = None  # None: the default DuckDB file; "memory"; a path; a URL
    retention_days: float = 30.0
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    memory_limit: str = "128MB"
    page_size: int = 100
    log_level: str = "info"
    # Parse UDP in a child process (the CLI default); in-thread suits tests and embedding.
    udp_process: bool = False
    # Seconds between service-graph rollup cycles (how far GetServiceGraph lags ingestion).
    graph_interval: float = 2.0
    # Helper processes that compute part of each page of trace summaries (0: all in the server).
    summary_workers: int = 0


class _Uvicorn(uvicorn.Server):
    """Uvicorn re-raises SIGTERM once it has stopped, which would kill the process
    before the writer flushes; here a signal only asks for a graceful exit."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handle(sig: int, frame: object) -> None:
            if self.should_exit and sig == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _limit_allocator_memory() -> None:
    """Keep freed memory from piling up: Arrow's own pool and glibc's per-thread
    arenas otherwise hold on to what each flush allocated (tens of MB under load)."""
    try:
        import pyarrow as pa

        pa.set_memory_pool(pa.system_memory_pool())
    except Exception:  # an optional nicety, never a reason not to start
        log.debug("could not switch the Arrow memory pool", exc_info=True)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(-8, 2)  # M_ARENA_MAX = 2
        except (OSError, AttributeError):
            pass


def _yield_to_receiver(nice: int = 3) -> None:
    """Under CPU saturation the UDP receiver process must win over the writer: a
    datagram the kernel drops is lost, a delayed flush only waits in the queue.

    Called after the receiver process started and before the writer and pump
    threads start; on Linux the nice value is per thread and new threads
    inherit their creator's, so those threads (and the event loop) run at a
    lower priority than the receiver, and nothing needs privileges.
    """
    raise_nice(nice)


def _name_os_threads() -> None:
    """Give the server's threads their Python names at the OS level too, so ``top -H``,
    ``ps -L`` and /proc show which one spends the CPU (fluoro-writer, fluoro-summarizer…)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        setname = ctypes.CDLL("libc.so.6").pthread_setname_np
    except (OSError, AttributeError):
        return
    setname.argtypes = [ctypes.c_ulong, ctypes.c_char_p]
    for thread in threading.enumerate():
        if thread.ident is not None and thread.name.startswith("fluoro-"):
            setname(thread.ident, thread.name.encode()[:15])  # the kernel keeps 15 bytes


class FluoroServer:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.metrics = IngestMetrics()
        self.store: Store | None = None
        self.pipeline: Pipeline | None = None
        self.udp: UDPReceiver | UDPProcessReceiver | None = None
        self.tcp: socket.socket | None = None
        self.rollup: GraphRollup | None = None
        self.summary_pool: SummaryPool | None = None
        self.port: int = config.port
        self._uvicorn: _Uvicorn | None = None
        self.started = threading.Event()

    def _bind(self) -> None:
        """Bind TCP and UDP on the same port number (port 0: find one free for both)."""
        host, port = self.config.host, self.config.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        assert self.pipeline is not None
        pipeline = self.pipeline
        for _ in range(50):
            tcp = socket.socket(family, socket.SOCK_STREAM)
            tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            # Accepted sockets inherit this: without it, a response written in two parts
            # waits for the client's delayed ACK (40 ms per request).
            tcp.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                tcp.bind((host, port))
                bound = tcp.getsockname()[1]
                udp: UDPReceiver | UDPProcessReceiver
                if self.config.udp_process:
                    udp = UDPProcessReceiver(host, bound, pipeline.submit_parsed,
                                             interval=min(0.1, self.config.pipeline.flush_interval),
                                             pack=pipeline.store.capabilities().packed_documents)  # fmt: skip
                else:
                    udp = UDPReceiver(host, bound, pipeline.submit_datagram)
            except OSError:
                tcp.close()
                if port:
                    raise
                continue
            self.tcp, self.udp, self.port = tcp, udp, bound
            return
        raise OSError("no free port number for both TCP and UDP")

    async def serve(self) -> None:
        cfg = self.config
        if cfg.udp_process:  # i.e. we own the process (the CLI), so process-wide settings are ours
            _limit_allocator_memory()
        self.store = open_store(cfg.store, memory_limit=cfg.memory_limit)
        pipeline_cfg = cfg.pipeline
        if cfg.retention_days <= 0:
            retention = None
        else:
            retention = cfg.retention_days * 86400
        pipeline_cfg = PipelineConfig(**{**vars(pipeline_cfg), "retention_seconds": retention})
        self.pipeline = Pipeline(self.store, pipeline_cfg, self.metrics)
        try:
            self._bind()
            assert self.udp is not None and self.tcp is not None
            if cfg.udp_process:
                _yield_to_receiver()
            self.pipeline.start()
            self.udp.start()
            # Small stretches of Python (ingest threads wait for the GIL meanwhile), written
            # in larger batches (the store's cost is mostly per transaction).
            self.rollup = GraphRollup(
                self.store, interval=cfg.graph_interval, batch_traces=2000, compute_traces=250, host_busy=HostBusy()
            )
            self.rollup.start()
            if cfg.udp_process:
                _name_os_threads()
            self.summary_pool = SummaryPool(cfg.summary_workers)
            self.summary_pool.start()
            queries = QueryService(self.store, page_size=cfg.page_size, summary_pool=self.summary_pool)
            ctx = ApiContext(
                self.pipeline, queries, self.metrics, self.store.config_store(),
                graphs=GraphQueries(self.store),
            )
            app = build_app(ctx)
            uv_config = uvicorn.Config(app, log_level=cfg.log_level, access_log=False, lifespan="off")
            self._uvicorn = _Uvicorn(uv_config)
            self.tcp.listen(1024)
            log.info("fluoro server listening on %s:%d (UDP and HTTP)", cfg.host, self.port)
            loop = asyncio.get_running_loop()
            loop.call_soon(self.started.set)
            await self._uvicorn.serve(sockets=[self.tcp])
        finally:
            self._shutdown()

    def _shutdown(self) -> None:
        if self.summary_pool is not None:
            self.summary_pool.close()
        if self.udp is not None:
            self.udp.stop()
        if self.pipeline is not None:
            self.pipeline.stop()
        if self.rollup is not None:
            self.rollup.stop()
        if self.store is not None:
            self.store.close()
        log.info("fluoro server stopped: %d documents stored", self.metrics.stored)

    def run(self) -> None:
        asyncio.run(self.serve())

    # In-process use (tests, embedding): run on a background thread.
    def start_in_thread(self, timeout: float = 30.0) -> FluoroServer:
        failure: list[BaseException] = []

        def run() -> None:
            try:
                self.run()
            except BaseException as exc:  # reported to the caller below, not lost in the thread
                failure.append(exc)
                raise

        self._thread = threading.Thread(target=run, name="fluoro-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.started.wait(0.05):
            if failure:
                raise RuntimeError(f"fluoro server did not start: {failure[0]!r}") from failure[0]
            if time.monotonic() > deadline:
                raise RuntimeError(f"fluoro server did not start within {timeout:.0f} s")
        return self

    def stop(self, timeout: float = 60.0) -> None:
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        self._thread.join(timeout)
