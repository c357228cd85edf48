from .patch import XrayCommandListener, patch

__all__ = ["patch", "XrayCommandListener"]
