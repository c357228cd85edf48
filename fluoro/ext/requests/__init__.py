from .patch import patch, unpatch

__all__ = ["patch", "unpatch"]
