"""kernel/time/timer.c: timer_list, mod_timer, del_timer, run_timers.

A TimerList is a heap of (expires, seq, timer) entries with lazy deletion: a
timer whose ``expires``/generation no longer matches its heap entry is
skipped. The daemon's loop sleeps until next_expiry(); tests call
run_timers() after advancing a FakeClock.
"""
import heapq


class TimerList:
    """One timer in the kernel's sense: a function, its data and an expiry."""

    __slots__ = ("function", "data", "expires", "pending", "_gen", "base", "name")

    def __init__(self, function=None, data=None, name: str = ""):
        self.function = function
        self.data = data
        self.expires = 0.0
        self.pending = False
        self._gen = 0
        self.base = None
        self.name = name

    def __repr__(self):
        return f"<timer {self.name or getattr(self.function, '__name__', '?')} " \
               f"{'pending ' + format(self.expires, '.6f') if self.pending else 'idle'}>"


def timer_setup(timer: TimerList, function, data=None) -> None:
    timer.function = function
    timer.data = data


class TimerBase:
    """The per-CPU timer wheel; here a heap."""

    __slots__ = ("heap", "seq", "clock")

    def __init__(self, clock):
        self.heap = []
        self.seq = 0
        self.clock = clock

    def mod_timer(self, timer: TimerList, expires: float) -> bool:
        """Arm or re-arm; returns True if the timer was pending (as the kernel)."""
        was = timer.pending
        timer._gen += 1
        timer.expires = expires
        timer.pending = True
        timer.base = self
        self.seq += 1
        heapq.heappush(self.heap, (expires, self.seq, timer._gen, timer))
        return was

    def del_timer(self, timer: TimerList) -> bool:
        was = timer.pending
        if was:
            timer.pending = False
            timer._gen += 1
        return was

    def next_expiry(self):
        """Seconds of the earliest pending timer, or None."""
        heap = self.heap
        while heap:
            expires, _, gen, t = heap[0]
            if t.pending and t._gen == gen:
                return expires
            heapq.heappop(heap)
        return None

    def run_timers(self, now: float | None = None) -> int:
        """Fire every timer whose expiry is <= now, in expiry order."""
        if now is None:
            now = self.clock.now()
        heap = self.heap
        n = 0
        while heap:
            expires, _, gen, t = heap[0]
            if not (t.pending and t._gen == gen):
                heapq.heappop(heap)
                continue
            if expires > now:
                break
            heapq.heappop(heap)
            t.pending = False
            n += 1
            t.function(t.data)
        return n

    def pending_timers(self):
        """Every armed timer (tests check none is left after close)."""
        seen = []
        for expires, _, gen, t in self.heap:
            if t.pending and t._gen == gen and t not in seen:
                seen.append(t)
        return seen


def mod_timer(timer: TimerList, expires: float, base: TimerBase | None = None) -> bool:
    return (base or timer.base).mod_timer(timer, expires)


def del_timer(timer: TimerList) -> bool:
    if timer.base is None:
        return False
    return timer.base.del_timer(timer)


def timer_pending(timer: TimerList) -> bool:
    return timer.pending
