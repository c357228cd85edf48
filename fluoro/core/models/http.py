"""HTTP field names used in the ``http`` block of segment documents and in trace headers."""

URL = "url"
METHOD = "method"
USER_AGENT = "user_agent"
CLIENT_IP = "client_ip"
X_FORWARDED_FOR = "x_forwarded_for"

STATUS = "status"
CONTENT_LENGTH = "content_length"

XRAY_HEADER = "X-Amzn-Trace-Id"
# WSGI environ / Django META spelling of the same header.
ALT_XRAY_HEADER = "HTTP_X_AMZN_TRACE_ID"

# W3C Trace Context, accepted as incoming context and optionally emitted.
W3C_TRACEPARENT = "traceparent"
ALT_W3C_TRACEPARENT = "HTTP_TRACEPARENT"

request_keys = (URL, METHOD, USER_AGENT, CLIENT_IP, X_FORWARDED_FOR)
response_keys = (STATUS, CONTENT_LENGTH)
