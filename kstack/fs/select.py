"""fs/select.c: poll(2) and select(2) over kstack files.

do_sys_poll(files, [(fd, events)], timeout_ms) returns [(fd, revents)] for
the fds with something to report (Python's poll.poll shape; POLLNVAL for an
fd that is not open, negative fds ignored), or a Blocked when nothing is
ready and the timeout (milliseconds, negative = forever) allows sleeping. The
Blocked parks on a private wait queue that every polled file's wait queue
forwards to (__pollwait/pollwake), and its retry polls again; on timeout
it polls once more (normally []) and on a signal answers -EINTR.

do_select(files, rlist, wlist, xlist, timeout) takes Python's
select.select arguments (timeout in seconds, None = forever) and returns
(r, w, x) or a Blocked; an fd that is not open fails the call with -EBADF.
"""
from ..core.errno import EBADF, EINTR, EINVAL
from ..core.wait import (ALL_EVENTS, EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLNVAL, EPOLLOUT, EPOLLPRI,
                         EPOLLRDBAND, EPOLLRDNORM, EPOLLWRBAND, EPOLLWRNORM, Blocked,
                         WaitQueueEntry, WaitQueueHead, add_wait_queue, remove_wait_queue,
                         wake_up)

POLLIN_SET = EPOLLRDNORM | EPOLLRDBAND | EPOLLIN | EPOLLHUP | EPOLLERR
POLLOUT_SET = EPOLLWRBAND | EPOLLWRNORM | EPOLLOUT | EPOLLERR
POLLEX_SET = EPOLLPRI


def vfs_poll(file) -> int:
    op = file.f_op.poll
    if op is None:
        return EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM   # DEFAULT_POLLMASK
    return op(file, None)


def file_wait_queue(file):
    """The wait queue a file's readiness changes are announced on (poll_wait's target)."""
    priv = file.private_data
    if file.f_op.name == "socket":
        sk = priv.sk
        if sk is not None and sk.sk_wq is not None:
            return sk.sk_wq
        return priv.wq
    return getattr(priv, "poll_wait", None)


class PollWqueues:
    """struct poll_wqueues: the forwarders one poll/select call registered."""

    __slots__ = ("wq", "entries")

    def __init__(self):
        self.wq = WaitQueueHead()
        self.entries = []

    def add(self, src, key_mask: int) -> None:
        pwq = self.wq

        def pollwake(entry, key, pwq=pwq):
            if not pwq.entries:
                # Nobody waits any more (the call was dropped): unhook lazily.
                remove_wait_queue(entry.head or src, entry)
                return
            wake_up(pwq, key)

        e = WaitQueueEntry(pollwake, None, key_mask)
        add_wait_queue(src, e)
        self.entries.append((src, e))

    def free(self) -> None:
        """poll_freewait."""
        for src, e in self.entries:
            remove_wait_queue(src, e)
        self.entries = []


def _timeout_ms(timeout):
    if timeout is None or timeout < 0:
        return None
    return timeout / 1000.0


def do_sys_poll(files, fds, timeout=-1):
    """poll(2): fds is [(fd, events)]; timeout in ms (negative or None: forever)."""
    clock = files.net.clock if files.net is not None else None
    timeo = _timeout_ms(timeout)
    deadline = None if timeo is None or clock is None else clock.now() + timeo
    return _poll_once(files, list(fds), timeo, deadline, clock)


def _poll_scan(files, fds, register):
    out = []
    for fd, events in fds:
        if fd < 0:
            continue
        file = files.fdt.get(fd)
        if file is None:
            out.append((fd, EPOLLNVAL))
            continue
        filt = (events & 0xFFFF) | EPOLLERR | EPOLLHUP
        if register is not None:
            wq = file_wait_queue(file)
            if wq is not None:
                register.add(wq, filt)
        mask = vfs_poll(file) & filt
        if mask:
            out.append((fd, mask))
    return out


def _poll_once(files, fds, timeo, deadline, clock):
    ready = _poll_scan(files, fds, None)
    if ready or timeo == 0:
        return ready
    pw = PollWqueues()
    ready = _poll_scan(files, fds, pw)
    if ready:
        pw.free()
        return ready

    def retry():
        pw.free()
        left = None if deadline is None else deadline - clock.now()
        if left is not None and left <= 0:
            return _poll_scan(files, fds, None)
        return _poll_once(files, fds, left, deadline, clock)

    def on_timeout():
        pw.free()
        return _poll_scan(files, fds, None)

    def on_signal():
        pw.free()
        return -EINTR

    return Blocked(pw.wq, ALL_EVENTS, retry, timeo, on_timeout, on_signal, "poll")


def do_select(files, rlist, wlist, xlist, timeout=None):
    """select(2) with Python's arguments: fds lists, timeout seconds (None = forever)."""
    if timeout is not None and timeout < 0:
        return -EINVAL
    for fd in (*rlist, *wlist, *xlist):
        if fd < 0 or fd not in files.fdt:
            return -EBADF
    clock = files.net.clock if files.net is not None else None
    deadline = None if timeout is None or clock is None else clock.now() + timeout
    return _select_once(files, list(rlist), list(wlist), list(xlist), timeout, deadline, clock)


def _select_scan(files, rlist, wlist, xlist, register):
    r, w, x = [], [], []
    seen = {}
    for fd in dict.fromkeys((*rlist, *wlist, *xlist)):
        file = files.fdt.get(fd)
        if file is None:
            return -EBADF
        if register is not None:
            wq = file_wait_queue(file)
            if wq is not None:
                want = ((POLLIN_SET if fd in rlist else 0) | (POLLOUT_SET if fd in wlist else 0)
                        | (POLLEX_SET if fd in xlist else 0))
                register.add(wq, want)
        seen[fd] = vfs_poll(file)
    for fd in rlist:
        if seen[fd] & POLLIN_SET:
            r.append(fd)
    for fd in wlist:
        if seen[fd] & POLLOUT_SET:
            w.append(fd)
    for fd in xlist:
        if seen[fd] & POLLEX_SET:
            x.append(fd)
    return r, w, x


def _select_once(files, rlist, wlist, xlist, timeo, deadline, clock):
    res = _select_scan(files, rlist, wlist, xlist, None)
    if isinstance(res, int) or any(res) or timeo == 0:
        return res
    pw = PollWqueues()
    res = _select_scan(files, rlist, wlist, xlist, pw)
    if isinstance(res, int) or any(res):
        pw.free()
        return res

    def retry():
        pw.free()
        left = None if deadline is None else deadline - clock.now()
        if left is not None and left <= 0:
            return _select_scan(files, rlist, wlist, xlist, None)
        return _select_once(files, rlist, wlist, xlist, left, deadline, clock)

    def on_timeout():
        pw.free()
        return [], [], []

    def on_signal():
        pw.free()
        return -EINTR

    return Blocked(pw.wq, ALL_EVENTS, retry, timeo, on_timeout, on_signal, "select")
