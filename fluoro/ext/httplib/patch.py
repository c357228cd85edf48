"""http.client (and so urllib): one ``remote`` subsegment per request, named by the host.

Upstream records three subsegments per call (send, getresponse, and one per
``HTTPResponse.read``); fluoro records one, from sending the request to receiving the
response headers, with method, URL and status. The trace header is sent whenever a
segment is current (upstream only when a subsegment is). The subsegment is opened at
``getresponse`` with the send's start time and id, so nothing is left open (and nothing
nests under it) between ``request()`` and ``getresponse()``.

Not part of ``patch_all()`` unless ``double_patch=True``: the other HTTP patchers
already record the calls that go through http.client.
"""

from __future__ import annotations

import fnmatch
import http.client as httplib
import time
from collections import namedtuple

from ... import global_sdk_config
from ...core import xray_recorder
from ...core.models import http
from ...core.models.traceid import new_entity_id
from ...core.utils import stacktrace
from ..util import get_hostname, inject_trace_header, strip_url, unwrap

PATCH_FLAG = "_fluoro_xray_patched"
_XRAY_PROP = "_fluoro_xray_request"

_XRay_Ignore = namedtuple("_XRay_Ignore", ["subclass", "hostname", "urls"])
_XRAY_IGNORE: set = set()

_PendingCall = namedtuple("_PendingCall", ["start", "id", "method", "url", "host"])


def add_ignored(subclass=None, hostname=None, urls=None) -> None:  # type: ignore[no-untyped-def]
    """Do not trace requests matching all given criteria.

    ``subclass`` is the connection class as ``'module.ClassName'``; ``hostname`` a glob;
    ``urls`` request paths.
    """
    if subclass is not None or hostname is not None or urls is not None:
        _XRAY_IGNORE.add(_XRay_Ignore(subclass, hostname, tuple(urls) if urls is not None else None))


def reset_ignored() -> None:
    _XRAY_IGNORE.clear()
    _add_default_ignores()


def _add_default_ignores() -> None:
    # The SDK's own centralized-sampling pollers.
    add_ignored(subclass="botocore.awsrequest.AWSHTTPConnection", urls=["/GetSamplingRules", "/SamplingTargets"])


_add_default_ignores()


def patch() -> None:
    import wrapt

    if getattr(httplib, PATCH_FLAG, False):
        return
    setattr(httplib, PATCH_FLAG, True)
    wrapt.wrap_function_wrapper("http.client", "HTTPConnection._send_request", _send_request)
    wrapt.wrap_function_wrapper("http.client", "HTTPConnection.getresponse", _getresponse)


def unpatch() -> None:
    from ...core.patcher import _PATCHED_MODULES

    _PATCHED_MODULES.discard("httplib")
    setattr(httplib, PATCH_FLAG, False)
    unwrap(httplib.HTTPConnection, "_send_request")
    unwrap(httplib.HTTPConnection, "getresponse")


def _class_name(instance) -> str:  # type: ignore[no-untyped-def]
    cls = type(instance)
    module = cls.__module__
    return cls.__name__ if module in (None, "builtins") else "%s.%s" % (module, cls.__name__)


def _ignored(instance, hostname: str, path: str) -> bool:  # type: ignore[no-untyped-def]
    if not _XRAY_IGNORE:
        return False
    subclass = _class_name(instance)
    for rule in _XRAY_IGNORE:
        if ((rule.subclass is None or rule.subclass == subclass)
                and (rule.hostname is None or fnmatch.fnmatch(hostname or "", rule.hostname))
                and (rule.urls is None or path in rule.urls)):
            return True
    return False


def _full_url(instance, path: str) -> str:  # type: ignore[no-untyped-def]
    if path.startswith(("http://", "https://")):  # absolute form, e.g. through a proxy
        return path
    context = getattr(instance, "ssl_context", None) or getattr(instance, "_context", None)
    https = isinstance(instance, httplib.HTTPSConnection) or type(context).__name__ == "SSLContext"
    return "%s://%s%s" % ("https" if https else "http", instance.host, path)


class _HeaderEntity:
    """What ``inject_trace_header`` needs of the subsegment that will record this call."""

    type = "subsegment"

    def __init__(self, parent, entity_id: str) -> None:  # type: ignore[no-untyped-def]
        self.parent_segment = parent.parent_segment if getattr(parent, "type", None) == "subsegment" else parent
        self.trace_id = parent.trace_id
        self.sampled = parent.sampled
        self.id = entity_id


def _current_entity():  # type: ignore[no-untyped-def]
    if not global_sdk_config.sdk_enabled():
        return None
    try:
        return xray_recorder.get_trace_entity()
    except Exception:  # context_missing=RUNTIME_ERROR: tracing never breaks the call
        return None


def _send_request(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    method = args[0] if args else kwargs.get("method")
    path = args[1] if len(args) > 1 else kwargs.get("url")
    headers = args[3] if len(args) > 3 else kwargs.get("headers")
    if _ignored(instance, instance.host, path):
        return wrapped(*args, **kwargs)
    entity = _current_entity()
    if entity is None:
        return wrapped(*args, **kwargs)
    pending = _PendingCall(time.time(), new_entity_id(), method, _full_url(instance, path), instance.host)
    if headers is not None:
        # A copy: the caller's dict may be reused for untraced requests later.
        headers = dict(headers)
        inject_trace_header(headers, _HeaderEntity(entity, pending.id))
        if len(args) > 3:
            args = tuple(args[:3]) + (headers,) + tuple(args[4:])
        else:
            kwargs = dict(kwargs, headers=headers)
    try:
        result = wrapped(*args, **kwargs)
    except Exception as exception:
        _record(pending, None, exception, stacktrace.get_stacktrace(limit=xray_recorder.max_trace_back))
        raise
    setattr(instance, _XRAY_PROP, pending)
    return result


def _getresponse(wrapped, instance, args, kwargs):  # type: ignore[no-untyped-def]
    pending = getattr(instance, _XRAY_PROP, None)
    if pending is None:
        return wrapped(*args, **kwargs)
    setattr(instance, _XRAY_PROP, None)
    try:
        response = wrapped(*args, **kwargs)
    except Exception as exception:
        _record(pending, None, exception, stacktrace.get_stacktrace(limit=xray_recorder.max_trace_back))
        raise
    _record(pending, response, None, None)
    return response


def _record(pending: _PendingCall, response, exception, stack) -> None:  # type: ignore[no-untyped-def]
    try:
        subsegment = xray_recorder.begin_subsegment(get_hostname(pending.url), "remote")
    except Exception:
        return
    if subsegment is None:
        return
    try:
        subsegment.start_time = pending.start
        subsegment.id = pending.id
        subsegment.put_http_meta(http.METHOD, pending.method)
        subsegment.put_http_meta(http.URL, strip_url(pending.url))
        if response is not None:
            subsegment.put_http_meta(http.STATUS, response.status)
        if exception is not None:
            subsegment.add_exception(exception, stack)
    finally:
        xray_recorder.end_subsegment()
