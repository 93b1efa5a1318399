"""libsock.selectors: the stdlib selectors module for programs on kstack.

The selector classes are the stdlib's, run on the kstack sockets' real fds
(libsock/select.py says why readiness on those fds is the socket's). The one
case the fd cannot show, a connect() still in progress, is handled here as in
libsock.select: while such a socket is registered for EVENT_WRITE, its write
interest is taken out of the kernel's set and the daemon is asked (10 ms
apart) until the connection is up or has failed.
"""
import selectors as _std
import time as _time
from selectors import *  # noqa: F401,F403
from selectors import (EVENT_READ, EVENT_WRITE, BaseSelector, SelectorKey,  # noqa: F401
                       _BaseSelectorImpl, _SelectorMapping)

from .select import _SLICE, connect_done

__all__ = list(getattr(_std, "__all__", []))


class _ConnectAware:
    """select() that does not report a connecting kstack socket writable too early."""

    def select(self, timeout=None):
        from .socket import _connecting
        if not _connecting:
            return super().select(timeout)
        fd_to_key = self._fd_to_key
        pend = {}
        for fd, ref in list(_connecting.items()):
            key = fd_to_key.get(fd)
            if key is not None and key.events & EVENT_WRITE:
                sock = ref()
                if sock is None or sock.fileno() != fd:
                    _connecting.pop(fd, None)
                else:
                    pend[fd] = sock
        if not pend:
            return super().select(timeout)
        deadline = None if timeout is None else _time.monotonic() + max(0.0, timeout)
        hidden = {}
        try:
            while True:
                done = connect_done(pend)
                for fd in done:
                    if fd in hidden:
                        self._restore(fd, hidden.pop(fd))
                    pend.pop(fd, None)
                for fd in pend:
                    if fd not in hidden:
                        hidden[fd] = self._hide_write(fd)
                left = None if deadline is None else max(0.0, deadline - _time.monotonic())
                if not pend:
                    return super().select(left)
                wait = _SLICE if left is None else min(_SLICE, left)
                ready = super().select(0 if done else wait)
                if ready or (left is not None and left <= 0):
                    return ready
        finally:
            for fd, key in hidden.items():
                self._restore(fd, key)

    def _hide_write(self, fd):
        key = self._fd_to_key[fd]
        ev = key.events & ~EVENT_WRITE
        if ev:
            super().modify(key.fileobj, ev, key.data)
        else:
            super().unregister(key.fileobj)
        return key

    def _restore(self, fd, key):
        cur = self._fd_to_key.get(fd)
        if cur is None:
            super().register(key.fileobj, key.events, key.data)
        elif cur.events != key.events:
            super().modify(key.fileobj, key.events, key.data)


class SelectSelector(_ConnectAware, _std.SelectSelector):
    pass


class PollSelector(_ConnectAware, _std.PollSelector):
    pass


class EpollSelector(_ConnectAware, _std.EpollSelector):
    pass


DefaultSelector = EpollSelector


def __getattr__(name):
    return getattr(_std, name)
