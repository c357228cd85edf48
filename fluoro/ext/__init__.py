"""``fluoro.ext``: instrumentation for libraries and frameworks (aws_xray_sdk.ext paths)."""
