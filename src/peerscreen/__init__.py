"""peerscreen: screen systematic-review literature with models that learn from a team's decisions."""

__version__ = "0.1.0"
