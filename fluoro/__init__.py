"""fluoro: a self-hosted, AWS X-Ray compatible tracing system.

The SDK lives in ``fluoro.core`` and ``fluoro.ext`` at the same import paths as
``aws_xray_sdk``; swap the prefix to migrate.
"""

from .sdk_config import SDKConfig

global_sdk_config = SDKConfig()

__all__ = ["global_sdk_config", "SDKConfig"]
