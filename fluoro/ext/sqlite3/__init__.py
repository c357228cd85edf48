from .patch import XRayTracedSQLite, patch, unpatch

__all__ = ["patch", "unpatch", "XRayTracedSQLite"]
