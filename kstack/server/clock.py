"""The real clock the daemon hands to its Net (kernel/time: ktime_get, ktime_get_real).

core/ may not read time; kstackd passes a MonotonicClock into net_create().
"""
import time

from ..core.clock import Clock


class MonotonicClock(Clock):
    """now(): CLOCK_MONOTONIC seconds; wall(): CLOCK_REALTIME for pcap stamps."""

    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()
