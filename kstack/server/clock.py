"""The real clock the daemon hands to its Net (kernel/time: ktime_get, ktime_get_real).

core/ may not read time; kstackd passes a MonotonicClock into net_create().
"""
import time

from ..core.clock import Clock


class MonotonicClock(Clock):
    """now(): CLOCK_MONOTONIC seconds; wall(): CLOCK_REALTIME for pcap stamps.

    The C functions themselves, not Python methods around them: the stack reads
    the clock a score of times per segment."""

    __slots__ = ()

    now = staticmethod(time.monotonic)
    wall = staticmethod(time.time)
