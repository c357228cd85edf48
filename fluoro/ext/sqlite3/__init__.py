from .patch import XRayTracedSQLite, patch

__all__ = ["patch", "XRayTracedSQLite"]
