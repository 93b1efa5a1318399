"""libsock.select: the stdlib select module for programs on kstack.

A kstack socket's fileno() is a real fd that carries its data, its EOF and
(for a listener) one token byte while connections wait, so readiness for
reading is the kernel's own, on those fds. What the fd cannot say is
writability during a nonblocking connect() to a peer the daemon could not
reach at once (across a real link): the fd is writable from the start. For
such sockets (libsock.socket marks them), select() asks the daemon instead
(the ``poll`` call, one round trip per check, checks 10 ms apart while
nothing else is ready). A connect to a peer on the host itself is complete
before connect() returns EINPROGRESS, so this costs nothing there.

poll() and epoll() objects are the kernel's, on the fds (see docs/libsock.md).
"""
import select as _std
import time as _time
from select import *  # noqa: F401,F403
from select import error  # noqa: F401

__all__ = [n for n in dir(_std) if not n.startswith("_")]
_SLICE = 0.01


def _fd(obj):
    return obj if isinstance(obj, int) else obj.fileno()


def _pending_connects(fds):
    """Of these fds, the kstack sockets with a connect() in progress: {fd: socket}."""
    from .socket import _connecting
    if not _connecting:
        return {}
    out = {}
    for fd in fds:
        ref = _connecting.get(fd)
        if ref is not None:
            sock = ref()
            if sock is None or sock.fileno() != fd:
                _connecting.pop(fd, None)
            else:
                out[fd] = sock
    return out


def connect_done(socks) -> set:
    """Ask the daemon which of these connecting sockets are now writable (or failed)."""
    from .socket import _connecting
    done = set()
    for fd, sock in socks.items():
        rep = sock._call("poll", _std.EPOLLOUT)
        if rep[0] != 0 or rep[1]:
            done.add(fd)
            _connecting.pop(fd, None)
    return done


def select(rlist, wlist, xlist, timeout=None):
    pend = _pending_connects(_fd(w) for w in wlist) if wlist else {}
    if not pend:
        return _std.select(rlist, wlist, xlist, timeout)
    deadline = None if timeout is None else _time.monotonic() + timeout
    while True:
        done = connect_done(pend)
        wl = [w for w in wlist if _fd(w) not in pend or _fd(w) in done]
        left = None if deadline is None else max(0.0, deadline - _time.monotonic())
        wait = 0 if done else (_SLICE if left is None else min(_SLICE, left))
        r, w, x = _std.select(rlist, wl, xlist, wait)
        if r or w or x or (left is not None and left <= 0):
            return r, w, x
        pend = {fd: s for fd, s in pend.items() if fd not in done}


def __getattr__(name):
    return getattr(_std, name)
