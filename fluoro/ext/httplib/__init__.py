from .patch import add_ignored, patch, reset_ignored, unpatch

__all__ = ["patch", "unpatch", "add_ignored", "reset_ignored"]
