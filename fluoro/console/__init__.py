"""The web console: static pages served by ``fluoro server`` plus a few console-only endpoints.

The pages read the same X-Ray API that boto3 uses; only what is easier to
compute in Python than in the browser (the trace map layout) lives here.
"""

from fluoro.console.routes import console_routes

__all__ = ["console_routes"]
