"""Why a document was refused; the code is what PutTraceSegments reports."""

from __future__ import annotations


class Reject(ValueError):
    """A document (or datagram) that cannot be stored.

    ``code`` is the ``ErrorCode`` of an ``UnprocessedTraceSegments`` entry;
    ``segment_id`` is the document's id when it could be read, for the ``Id``.
    """

    def __init__(self, code: str, detail: str, segment_id: str | None = None) -> None:
        self.code = code
        self.detail = detail
        self.segment_id = segment_id
        super().__init__(f"{code}: {detail}")

    @property
    def message(self) -> str:
        return f"Invalid segment. ErrorCode: {self.code}. {self.detail}"
