"""The project's exception hierarchy.

The library raises these with a message a user can act on; the CLI turns them into one line
on stderr and exit code 2. Tests see the real exception.
"""

from __future__ import annotations

from pathlib import Path


class PeerscreenError(Exception):
    """Base class: anything peerscreen raises on purpose."""


class InputError(PeerscreenError):
    """A file could not be read as records: names the file and, where known, the record/line."""

    def __init__(self, path: str | Path, message: str, *, location: str | None = None):
        self.path = str(path)
        self.location = location
        self.reason = message
        where = f"{self.path}, {location}" if location else self.path
        super().__init__(f"{where}: {message}")


class UnknownFormatError(InputError):
    """The format of a file could not be determined or is not supported."""


class OutputError(PeerscreenError):
    """An output file could not be written (bad extension, unwritable folder...)."""


class ConfigError(PeerscreenError):
    """A config file is missing, malformed, or fails validation."""
