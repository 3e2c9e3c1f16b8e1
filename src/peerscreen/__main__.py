"""`python -m peerscreen` runs the CLI."""

from peerscreen.cli import main

main()
