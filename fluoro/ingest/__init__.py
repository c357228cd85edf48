"""Ingestion: datagram → validated document → store columns; bad input is refused with a reason."""

from fluoro.ingest.datagram import MAX_DATAGRAM, split_datagram
from fluoro.ingest.document import MAX_DOCUMENT, ingest
from fluoro.ingest.errors import Reject

__all__ = ["MAX_DATAGRAM", "MAX_DOCUMENT", "Reject", "ingest", "split_datagram"]
