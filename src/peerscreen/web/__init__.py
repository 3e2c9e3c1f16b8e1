"""The team web app behind `peerscreen serve`: sign-in, projects, screening, records,
progress, conflicts and agreement, export (see `peerscreen.web.app`)."""

from peerscreen.web.app import create_app

__all__ = ["create_app"]
