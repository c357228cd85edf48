"""Compressed document chunks in append-only files beside the DuckDB file.

DuckDB reads and caches whole 256 KB blocks.  A trace read needs a few
kilobytes from each of its chunks, and the chunks of a page of search results
are scattered through the file, so kept inside DuckDB every read pulled
megabytes through its buffer pool, pushing out the columns searches need
(at 1 M segments, reading 100 scattered traces took 12 ms for the chunks
alone and slowed the column scans that came next).  Here a chunk is a
``pread`` of exactly its bytes, cached by the operating system, not in the
server's memory.

Layout: ``<store path>.docs/<n>.zst``, one file per run of the writer and a
new one past ``ROLL_BYTES``.  The writer appends a batch's chunks and syncs
them to disk before the DuckDB transaction that references them commits, so
a committed reference always points at durable bytes; a crash in between
leaves unreferenced bytes, which nothing reads.  A process never appends to
a file an earlier run wrote (a torn tail stays unreferenced).  Retention
deletes a file once no chunk references it.
"""

from __future__ import annotations

import os

ROLL_BYTES = 256 * 1024 * 1024


def docs_dir(db_path: str) -> str:
    return f"{db_path}.docs"


class DocFiles:
    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, exist_ok=True)
        numbers = [int(name[:-4]) for name in os.listdir(directory) if name.endswith(".zst") and name[:-4].isdigit()]
        self._next = max(numbers, default=-1) + 1
        self._current: int | None = None
        self._fd: int | None = None
        self._size = 0

    def _path(self, number: int) -> str:
        return os.path.join(self.directory, f"{number:08d}.zst")

    def append(self, blobs: list[bytes]) -> tuple[int, list[int]]:
        """Write ``blobs`` to the current file and sync them: (file number, offset of each)."""
        if self._fd is None or self._size >= ROLL_BYTES:
            self._roll()
        assert self._fd is not None and self._current is not None
        offsets = []
        pos = self._size
        for blob in blobs:
            offsets.append(pos)
            pos += len(blob)
        data = b"".join(blobs)
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fdatasync(self._fd)
        self._size = pos
        return self._current, offsets

    def _roll(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
        self._current, self._next = self._next, self._next + 1
        self._fd = os.open(self._path(self._current), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._size = 0
        # The new file's directory entry must survive a crash too.
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def read(self, wanted: list[tuple[int, int, int]]) -> list[bytes | None]:
        """The bytes of each (file number, offset, size); None where retention removed the file.

        Files are opened per call: a cached descriptor could be closed and its number reused
        by a concurrent retention run, and a kept one would pin a deleted file's disk space.
        """
        out: list[bytes | None] = []
        fds: dict[int, int | None] = {}
        try:
            for number, offset, size in wanted:
                if number not in fds:
                    try:
                        fds[number] = os.open(self._path(number), os.O_RDONLY)
                    except FileNotFoundError:
                        fds[number] = None
                fd = fds[number]
                out.append(None if fd is None else os.pread(fd, size, offset))
        finally:
            for fd in fds.values():
                if fd is not None:
                    os.close(fd)
        return out

    def remove_below(self, number: int) -> None:
        """Delete files numbered below ``number`` (never the one being written)."""
        if self._current is not None:
            number = min(number, self._current)
        for name in os.listdir(self.directory):
            stem = name[:-4]
            if name.endswith(".zst") and stem.isdigit() and int(stem) < number:
                os.unlink(os.path.join(self.directory, name))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
