"""libsock's system call: one ZeroMQ DEALER per thread, msgpack requests, -errno -> OSError.

The process opens its session at first use: an AF_UNIX SOCK_SEQPACKET
connection to RUNDIR/session, which greets with a token; each thread's
DEALER attaches with it. The same connection carries fds to the daemon
(SCM_RIGHTS) and tells us the daemon died: a wait for a reply also watches
it, so a call fails with ENETDOWN instead of hanging. Ctrl-C during a wait
sends ``cancel`` (the daemon answers the parked call with EINTR, leaving the
socket usable) and re-raises KeyboardInterrupt.

After fork() the child drops the parent's session (its connection, DEALERs
and ZeroMQ context are the parent's) and opens its own at first use; its
inherited sockets are adopted lazily, by sending each fd to the daemon.
"""
import errno
import os
import select as _select
import socket as _socket
import threading

import msgpack
import zmq

from kstack.server.control_client import default_rundir
from kstack.server.proto import SESSION_SOCK, SYSCALL_EP, TAG

_packb = msgpack.packb
_unpackb = msgpack.unpackb
_send_fds = _socket.send_fds
_TAG = TAG.pack
_RCVMORE = int(zmq.RCVMORE)     # plain ints (pyzmq's enums cost on every use)
_NOBLOCK = int(zmq.NOBLOCK)

_SLICE_MS = 500
_monotonic = __import__("time").monotonic
_lock = threading.Lock()
_session = None
_graveyard = []      # a forked child keeps the parent's zmq objects alive, unused


class DaemonError(OSError):
    pass


def rundir() -> str:
    return os.environ.get("KSTACK_RUNDIR") or default_rundir()


class Session:
    def __init__(self, path: str):
        self.rundir = path
        conn = _socket.socket(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        try:
            conn.settimeout(10)
            conn.connect(os.path.join(path, SESSION_SOCK))
            greeting = _unpackb(conn.recv(4096), raw=False)
        except (OSError, ValueError) as e:
            conn.close()
            code = e.errno if isinstance(e, OSError) and e.errno else errno.ECONNREFUSED
            raise DaemonError(code, f"kstackd is not running in {path} ({os.strerror(code)}); "
                                    f"start it with: kstackd --rundir {path}") from None
        conn.settimeout(None)
        self.conn = conn
        self.cfd = conn.fileno()
        self.sid = greeting["sid"]
        self.token = greeting["token"]
        self.host = greeting.get("host")
        self.pid = os.getpid()
        self.ctx = zmq.Context()
        self.endpoint = "ipc://" + os.path.join(path, SYSCALL_EP)
        self.free = []           # idle channels
        self.known = {}          # client fd -> inode of the socket the daemon has at that fd
        self.dead = False

    def channel(self):
        """A free [dealer, last seq] channel. Channels are pooled, not per thread:
        a process whose threads come and go (ThreadingTCPServer) keeps as many
        DEALERs as it ever had calls in flight at once."""
        free = self.free
        try:
            return free.pop()
        except IndexError:
            pass
        d = self.ctx.socket(zmq.DEALER)
        d.setsockopt(zmq.LINGER, 0)
        d.setsockopt(zmq.RCVTIMEO, _SLICE_MS)    # a blocking recv wakes to check the daemon
        d.connect(self.endpoint)
        d.send(_packb([0, "attach", self.token]))
        return [d, 0]

    def send_fds(self, tag: int, fds, payload: bytes = b"") -> None:
        try:
            _send_fds(self.conn, [_TAG(tag) + payload], fds)
        except OSError as e:
            raise self.down() from e

    def alive(self) -> bool:
        """False once the daemon's end of the session is gone (no syscall needed
        beyond one poll)."""
        p = _select.poll()
        p.register(self.cfd, _select.POLLIN)
        return not p.poll(0)

    def down(self) -> OSError:
        self.dead = True
        return DaemonError(errno.ENETDOWN, f"kstackd in {self.rundir} went away")

    def call(self, name, *args, adopt=None):
        """One round trip; returns the reply list [result, *extra] (result may be -errno).

        adopt=(fd, ino): first make the daemon's table for this session hold the
        socket at fd (after fork, dup, fromfd): the fd goes over the session
        connection, and ``adopt`` on the same channel, ahead of the call."""
        if self.dead:
            raise self.down()
        ch = self.channel()
        d, seq = ch
        seq += 1
        ch[1] = seq
        try:
            if adopt is not None:
                fd, ino = adopt
                self.send_fds(fd, [fd])
                d.send(_packb([0, "adopt", fd]))
                self.known[fd] = ino
            d.send(_packb([seq, name, *args]))
            try:
                return self._wait(d, seq)
            except KeyboardInterrupt:
                # Interrupted like a sleeping syscall: cancel it, take its answer, re-raise.
                try:
                    d.send(_packb([0, "cancel", seq]))
                    self._wait(d, seq, limit=5.0)
                except (OSError, KeyboardInterrupt):
                    pass
                raise
        finally:
            self.free.append(ch)

    def _wait(self, d, seq, limit=None):
        """Wait for reply seq: a blocking recv on the DEALER (one call, Ctrl-C
        interrupts it), timing out every _SLICE_MS to ask the session connection
        whether the daemon lives."""
        deadline = None if limit is None else _monotonic() + limit
        recv = d.recv
        getsockopt = d.getsockopt
        while True:
            try:
                r = recv()
            except zmq.Again:
                if not self.alive():
                    raise self.down()
                if deadline is not None and _monotonic() > deadline:
                    raise DaemonError(errno.ETIMEDOUT, f"kstackd in {self.rundir} did not answer")
                continue
            rep = _unpackb(r, raw=False)
            if rep[0] == seq:
                if getsockopt(_RCVMORE):
                    rep.append(recv())
                return rep[1:]
            # a stale answer (a call abandoned earlier): drop it
            while getsockopt(_RCVMORE):
                recv()

    def notify(self, name, *args) -> None:
        """A message with no answer (close, adopt). It goes on a channel this thread
        will use next, so it reaches the daemon before this thread's next call."""
        if self.dead:
            return
        ch = self.channel()
        try:
            ch[0].send(_packb([0, name, *args]), _NOBLOCK)
        except zmq.ZMQError:
            pass
        finally:
            self.free.append(ch)


def session() -> Session:
    global _session
    s = _session
    if s is not None and s.pid == os.getpid():
        return s
    with _lock:
        if _session is None or _session.pid != os.getpid():
            _session = Session(rundir())
        return _session


def current():
    """The open session or None (close() needs no session of its own)."""
    s = _session
    if s is not None and s.pid == os.getpid():
        return s
    return None


def _after_fork_in_child() -> None:
    global _session, _lock
    s = _session
    _lock = threading.Lock()
    if s is not None:
        _graveyard.append(s)      # never term the parent's context here
        try:
            s.conn.close()        # our copy only: the parent's session lives on
        except OSError:
            pass
        _session = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def oserror(code: int, msg: str | None = None) -> OSError:
    """OSError subclass for errno, with Linux's message (as the stdlib raises)."""
    return OSError(code, msg or os.strerror(code))
