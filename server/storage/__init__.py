"""One interface for stored files (submission attachments, form media).

Files are named by the SHA-256 of their content, so a name sent by a client never becomes a path,
and the same photo sent twice is one file. Callers only use this interface, never paths.
"""

from __future__ import annotations

from .base import Storage, Stored
from .local import LocalStorage

__all__ = ["LocalStorage", "Storage", "Stored"]
