"""The clock protocol (include/linux/jiffies.h, ktime). Time is passed in, never read.

Protocol code reads ``net.clock.now()`` (seconds, float, monotonic). The daemon
hands in a real monotonic clock (kstack/kstackd.py); tests use FakeClock and
move it with advance().
"""


class Clock:
    """Anything with now() -> seconds. Subclasses may add wall()."""

    def now(self) -> float:  # pragma: no cover - interface
        raise NotImplementedError

    def wall(self) -> float:
        """Wall-clock seconds for pcap/tcpdump timestamps; defaults to now()."""
        return self.now()


class FakeClock(Clock):
    """A clock that moves only when told to: tests run minutes of TCP in ms."""

    __slots__ = ("t", "epoch")

    def __init__(self, start: float = 0.0, epoch: float = 1_700_000_000.0):
        self.t = float(start)
        self.epoch = epoch

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return self.epoch + self.t

    def advance(self, dt: float) -> float:
        if dt < 0:
            raise ValueError("time does not go backwards")
        self.t += dt
        return self.t

    def set(self, t: float) -> None:
        if t < self.t:
            raise ValueError("time does not go backwards")
        self.t = t
