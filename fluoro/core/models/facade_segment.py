"""The read-only segment that stands for the one Lambda itself records."""

from __future__ import annotations

from ..exceptions.exceptions import FacadeSegmentMutationException
from .segment import Segment

MUTATION_UNSUPPORTED_MESSAGE = "FacadeSegments cannot be mutated."


class FacadeSegment(Segment):
    """Parent of the function's subsegments inside Lambda; never sent, never changed."""

    def __init__(self, name: str, entityid: str | None, traceid: str | None, sampled: object) -> None:
        self.initializing = self._is_initializing(entityid=entityid, traceid=traceid, sampled=sampled)
        super().__init__(name=name, entityid=entityid, traceid=traceid, sampled=bool(sampled))

    def close(self, end_time: float | None = None) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def put_http_meta(self, key: str, value: object) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def put_annotation(self, key: str, value: object) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def put_metadata(self, key: str, value: object, namespace: str = "default") -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def set_aws(self, aws_meta: dict) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def set_user(self, user: str) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def add_throttle_flag(self) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def add_fault_flag(self) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def add_error_flag(self) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def add_exception(self, exception: BaseException, stack: list | None, remote: bool = False) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def apply_status_code(self, status_code: object) -> None:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def serialize(self) -> str:
        raise FacadeSegmentMutationException(MUTATION_UNSUPPORTED_MESSAGE)

    def ready_to_send(self) -> bool:
        return False

    def increment(self) -> None:
        # Only the total counts: the facade is never sent, so nothing waits on open children.
        self._total += 1

    def decrement_ref_counter(self) -> None:
        pass

    @staticmethod
    def _is_initializing(entityid: str | None, traceid: str | None, sampled: object) -> bool:
        return not entityid or not traceid or sampled is None
