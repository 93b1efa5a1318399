"""Tests use kstack.world (World, Host): re-exported here under the old name."""
from kstack.world import *  # noqa: F401,F403
from kstack.world import World, Host, WouldBlockForever, check  # noqa: F401
