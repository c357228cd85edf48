"""The fields and behaviour segments and subsegments share.

The wire document is built field by field in :meth:`Entity.to_dict`, not from
``vars(self)``. Defaults are class attributes and the rarely used containers
(``http``, ``annotations``, ``metadata``, ``aws``, ``cause``, ``subsegments``) are
created on first use, which keeps the common begin/end path cheap.
"""

from __future__ import annotations

import logging
import os
import time

from ..exceptions.exceptions import AlreadyEndedException
from ..utils import jsonenc
from ..utils.conversion import metadata_to_dict
from . import http
from .throwable import Throwable
from .traceid import new_entity_id

log = logging.getLogger(__name__)

_INVALID_NAME_CHARACTERS = "?;*()!$~^<>"
_STRIP_INVALID = str.maketrans("", "", _INVALID_NAME_CHARACTERS)
_name_cache: dict = {}
_ANNOTATION_VALUE_TYPES = (int, float, bool, str)
_ANNOTATION_KEY_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_REQUEST_KEYS = frozenset(http.request_keys)
_RESPONSE_KEYS = frozenset(http.response_keys)
ORIGIN_TRACE_HEADER_ATTR_KEY = "_origin_trace_header"


def _copy_tree(value: object) -> object:
    if isinstance(value, dict):
        return {k: _copy_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_tree(v) for v in value]
    return value


def sanitize_name(name: str) -> str:
    """Drop the characters X-Ray refuses in names (memoized: names repeat)."""
    clean = _name_cache.get(name)
    if clean is None:
        clean = name.translate(_STRIP_INVALID) if isinstance(name, str) else name
        if clean != name:
            log.warning("Removing Segment/Subsugment Name invalid characters from %s.", name)
        if len(_name_cache) < 4096:
            _name_cache[name] = clean
    return clean


class Entity:
    """Base of :class:`Segment` and :class:`Subsegment`.

    Defaults live on the class, so creating an entity stores only what differs; the
    wire document is built explicitly in :meth:`to_dict`.
    """

    # Fields read on every begin/end are slots, set by every constructor (including the
    # recorder's inlined ones); the rest are class defaults overridden per instance in __dict__.
    __slots__ = ("id", "name", "start_time", "end_time", "parent_id", "trace_id", "in_progress",
                 "sampled", "_subsegments", "__dict__", "__weakref__")

    _http = _annotations = _metadata = _aws = _cause = None
    # Shared, read-only ``aws`` block (SDK and plugin data); copied on first access.
    _aws_template = None
    _origin_trace_header = None

    def __init__(self, name: str, entity_id: str | None = None) -> None:
        self.id = entity_id or new_entity_id()
        clean = _name_cache.get(name)
        self.name = clean if clean is not None else sanitize_name(name)
        self.start_time = time.time()
        self.parent_id = None
        self.in_progress = True
        self.sampled = True
        self._subsegments = None

    # -- lazily created containers -------------------------------------------------
    @property
    def http(self) -> dict:
        d = self._http
        if d is None:
            d = self._http = {}
        return d

    @http.setter
    def http(self, value: dict) -> None:
        self._http = value

    @property
    def annotations(self) -> dict:
        d = self._annotations
        if d is None:
            d = self._annotations = {}
        return d

    @annotations.setter
    def annotations(self, value: dict) -> None:
        self._annotations = value

    @property
    def metadata(self) -> dict:
        d = self._metadata
        if d is None:
            d = self._metadata = {}
        return d

    @metadata.setter
    def metadata(self, value: dict) -> None:
        self._metadata = value

    @property
    def aws(self) -> dict:
        d = self._aws
        if d is None:
            template = self._aws_template
            d = self._aws = _copy_tree(template) if template else {}
        return d

    @aws.setter
    def aws(self, value: dict) -> None:
        self._aws = value

    @property
    def cause(self) -> object:
        d = self._cause
        if d is None:
            d = self._cause = {}
        return d

    @cause.setter
    def cause(self, value: object) -> None:
        self._cause = value

    @property
    def subsegments(self) -> list:
        d = self._subsegments
        if d is None:
            d = self._subsegments = []
        return d

    @subsegments.setter
    def subsegments(self, value: list) -> None:
        self._subsegments = value

    # -- lifecycle -------------------------------------------------------------------
    def close(self, end_time: float | None = None) -> None:
        self._check_ended()
        self.end_time = end_time or time.time()
        self.in_progress = False

    def add_subsegment(self, subsegment: Entity) -> None:
        if not self.in_progress:
            self._check_ended()
        subsegment.parent_id = self.id
        if subsegment.sampled and not self.sampled:
            log.warning("This sampled subsegment is being added to an unsampled parent segment/subsegment and will be orphaned.")
        subs = self._subsegments
        if subs is None:
            self._subsegments = [subsegment]
        else:
            subs.append(subsegment)

    def remove_subsegment(self, subsegment: Entity) -> None:
        try:
            self.subsegments.remove(subsegment)
        except ValueError:
            pass

    # -- recorded data ---------------------------------------------------------------
    def put_http_meta(self, key: str, value: object) -> None:
        self._check_ended()
        if value is None:
            return
        if key == http.STATUS:
            if isinstance(value, str):
                try:
                    value = int(value)
                except ValueError:
                    log.warning("ignoring non-numeric http status %r.", value)
                    return
            self.apply_status_code(value)
        if key in _REQUEST_KEYS:
            self.http.setdefault("request", {})[key] = value
        elif key in _RESPONSE_KEYS:
            self.http.setdefault("response", {})[key] = value
        else:
            log.warning("ignoring unsupported key %s in http meta.", key)

    def put_annotation(self, key: str, value: object) -> None:
        self._check_ended()
        if not isinstance(key, str):
            log.warning("ignoring non string type annotation key with type %s.", type(key))
            return
        if not isinstance(value, _ANNOTATION_VALUE_TYPES):
            log.warning("ignoring unsupported annotation value type %s.", type(value))
            return
        if not key or not _ANNOTATION_KEY_OK.issuperset(key):
            log.warning("ignoring annnotation with unsupported characters in key: '%s'.", key)
            return
        self.annotations[key] = value

    def put_metadata(self, key: str, value: object, namespace: str = "default") -> None:
        self._check_ended()
        if not isinstance(namespace, str):
            log.warning("ignoring non string type metadata namespace")
            return
        if namespace.startswith("AWS."):
            log.warning("Prefix 'AWS.' is reserved, drop metadata with namespace %s", namespace)
            return
        ns = self.metadata.get(namespace)
        if ns is None:
            ns = self.metadata[namespace] = {}
        ns[key] = value

    def set_aws(self, aws_meta: dict) -> None:
        self._check_ended()
        self._aws = aws_meta

    def add_throttle_flag(self) -> None:
        self.throttle = True

    def add_fault_flag(self) -> None:
        self.fault = True

    def add_error_flag(self) -> None:
        self.error = True

    def apply_status_code(self, status_code: object) -> None:
        self._check_ended()
        if not status_code or not isinstance(status_code, int):
            return
        if status_code >= 500:
            self.add_fault_flag()
        elif status_code == 429:
            self.add_throttle_flag()
            self.add_error_flag()
        elif status_code >= 400:
            self.add_error_flag()

    def add_exception(self, exception: BaseException, stack: list | None, remote: bool = False) -> None:
        self._check_ended()
        self.add_fault_flag()
        if getattr(exception, "_recorded", False):
            # Already recorded on a child: point at that throwable instead of repeating it.
            self._cause = getattr(exception, "_cause_id", None)
            return
        cause = self._cause
        if isinstance(cause, str):
            log.warning("The current cause object is a reference to an exception; resetting it.")
            cause = None
        if not cause:
            cause = self._cause = {}
        cause.setdefault("exceptions", []).append(Throwable(exception, stack, remote))
        cause["working_directory"] = os.getcwd()

    def save_origin_trace_header(self, trace_header: object) -> None:
        self._origin_trace_header = trace_header

    def get_origin_trace_header(self) -> object:
        return self._origin_trace_header

    # -- wire form -------------------------------------------------------------------
    def serialize(self) -> str:
        return jsonenc.dumps(self.to_dict())

    def _fill_common(self, d: dict, extra: dict, aws_template: dict | None = None) -> None:
        """Fields after the identity block, in a stable order, up to (not including) the children.

        ``extra`` is the instance ``__dict__``, where every field set after creation lives
        (the class holds their ``None`` defaults): reading it directly is several times
        cheaper than attribute lookups that fall through to the class.
        """
        get = extra.get
        value = get("_http")
        if value:
            d["http"] = value
        value = get("_annotations")
        if value:
            d["annotations"] = value
        value = get("_metadata")
        if value:
            # Converted value by value: one unconvertible value loses only itself.
            d["metadata"] = {
                ns: {k: metadata_to_dict(v) for k, v in values.items()} if isinstance(values, dict)
                else metadata_to_dict(values)
                for ns, values in value.items()
            }
        aws = get("_aws")
        if aws is None:
            aws = aws_template
        if aws:
            d["aws"] = aws
        if "error" in extra:
            d["error"] = extra["error"]
        if "fault" in extra:
            d["fault"] = extra["fault"]
        if "throttle" in extra:
            d["throttle"] = extra["throttle"]
        cause = get("_cause")
        if cause:
            if isinstance(cause, dict):
                out = {}
                if "working_directory" in cause:
                    out["working_directory"] = cause["working_directory"]
                if cause.get("exceptions"):
                    out["exceptions"] = [
                        e.to_dict() if isinstance(e, Throwable) else e for e in cause["exceptions"]
                    ]
                for k, v in cause.items():
                    if k not in out:
                        out[k] = v
                d["cause"] = out
            else:
                d["cause"] = cause

    def _fill_children(self, d: dict) -> None:
        # Unsampled children (begin_subsegment_without_sampling) are never sent. A loop, not
        # a list comprehension: no extra frame for the usual one or two children.
        docs = []
        for child in self._subsegments:
            if child.sampled:
                docs.append(child.to_dict())
        if docs:
            d["subsegments"] = docs

    def _identity(self) -> dict:
        """The fields every document starts with."""
        d = {"id": self.id, "name": self.name, "start_time": self.start_time}
        try:
            end = self.end_time
        except AttributeError:  # still open
            end = None
        if end is not None:
            d["end_time"] = end
        d["in_progress"] = self.in_progress
        return d

    def to_dict(self) -> dict:
        d = self._identity()
        if self.parent_id:
            d["parent_id"] = self.parent_id
        extra = self.__dict__
        if extra:
            self._fill_common(d, extra)
        if self._subsegments:
            self._fill_children(d)
        return d

    def _check_ended(self) -> None:
        if not self.in_progress:
            raise AlreadyEndedException("Already ended segment and subsegment cannot be modified.")
