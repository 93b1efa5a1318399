"""include/linux/wait.h, kernel/sched/wait.c, include/uapi/linux/eventpoll.h.

A WaitQueueHead holds callbacks; wake_up(wq, key) calls every entry whose
mask meets key. Blocking syscalls never block inside the stack: they return
a Blocked, which the caller (the syscall server, or a test) parks on the wait
queue and retries when woken, when its timeout passes, or when cancelled.
"""

EPOLLIN = 0x001
EPOLLPRI = 0x002
EPOLLOUT = 0x004
EPOLLERR = 0x008
EPOLLHUP = 0x010
EPOLLNVAL = 0x020
EPOLLRDNORM = 0x040
EPOLLRDBAND = 0x080
EPOLLWRNORM = 0x100
EPOLLWRBAND = 0x200
EPOLLMSG = 0x400
EPOLLRDHUP = 0x2000

POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP, POLLNVAL = EPOLLIN, EPOLLPRI, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLNVAL
POLLRDNORM, POLLRDBAND, POLLWRNORM, POLLWRBAND, POLLRDHUP = EPOLLRDNORM, EPOLLRDBAND, EPOLLWRNORM, EPOLLWRBAND, EPOLLRDHUP
ALL_EVENTS = 0xFFFFFFFF


class WaitQueueEntry:
    __slots__ = ("func", "private", "mask", "head")

    def __init__(self, func, private=None, mask=ALL_EVENTS):
        self.func = func          # (entry, key) -> None
        self.private = private
        self.mask = mask
        self.head = None


class WaitQueueHead:
    __slots__ = ("entries",)

    def __init__(self):
        self.entries = []

    def __bool__(self):
        return bool(self.entries)


def add_wait_queue(wq: WaitQueueHead, entry: WaitQueueEntry) -> None:
    entry.head = wq
    wq.entries.append(entry)


def remove_wait_queue(wq: WaitQueueHead, entry: WaitQueueEntry) -> None:
    try:
        wq.entries.remove(entry)
    except ValueError:
        pass
    entry.head = None


def wq_has_sleeper(wq: WaitQueueHead) -> bool:
    return bool(wq.entries)


def wake_up(wq: WaitQueueHead, key: int = ALL_EVENTS) -> None:
    """__wake_up: call each waiter interested in key (copy: waiters remove themselves)."""
    if not wq.entries:
        return
    for e in list(wq.entries):
        if e.mask & key:
            e.func(e, key)


wake_up_interruptible = wake_up
wake_up_interruptible_poll = wake_up
wake_up_interruptible_sync_poll = wake_up


class Blocked:
    """A syscall that must sleep: park it on ``wq`` for ``mask`` and call
    ``retry()`` when woken; it returns the result or another Blocked.

    ``timeo`` is seconds (None: forever; SO_RCVTIMEO/SO_SNDTIMEO give it),
    ``on_timeout()`` gives the result when it runs out (-EAGAIN, or
    -EINPROGRESS for connect), ``on_signal()`` when a signal interrupts it
    (-EINTR). A parked call is cancelled by dropping it.
    """

    __slots__ = ("wq", "mask", "retry", "timeo", "on_timeout", "on_signal", "what")

    def __init__(self, wq, mask, retry, timeo=None, on_timeout=None, on_signal=None, what=""):
        self.wq = wq
        self.mask = mask
        self.retry = retry
        self.timeo = timeo
        self.on_timeout = on_timeout
        self.on_signal = on_signal
        self.what = what

    def __repr__(self):
        return f"<Blocked {self.what} timeo={self.timeo}>"
