"""python -m tools.packetdrill FILE... (see cli.py)."""
import sys

from .cli import main

sys.exit(main())
