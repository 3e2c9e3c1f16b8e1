"""peerscreen: screen systematic-review literature with models that learn from a team."""

__version__ = "0.1.0"
