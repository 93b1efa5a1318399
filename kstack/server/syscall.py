"""The syscall server: sys_call_table over ZeroMQ (arch/x86/entry/syscall_64.c's role).

A ROUTER at ipc://RUNDIR/syscall; each client thread has a DEALER. A request
is one msgpack frame ``[seq, call, *args]``; the reply ``[seq, result,
*extra]`` carries the value or -errno. Requests are served in bounded
batches; a call that must sleep returns a ``Blocked`` from the stack and is
*parked*: a WaitQueueEntry on its wait queue schedules ``retry()`` after the
next softirq round, a timer answers ``on_timeout()``, and ``cancel`` (the
client's Ctrl-C) answers ``on_signal()`` (-EINTR). Nothing a client sends
can stop the loop: malformed frames, unknown calls, wrong argument types and
oversize messages get an errno and a count in ``stats['bad_requests']``.

Calls that create a socket (socket, accept) get their fd from the client: it
makes an AF_UNIX pair and sends both ends over its session connection tagged
with its own fd number just before the request; the daemon keeps its end,
learns the client end's inode (the socket's name for adopt) and closes its
copy of the client end. One ZeroMQ round trip per setup call.
"""
import _socket
import os
import socket
import stat
import sys
import traceback

import msgpack
import zmq

from ..core.errno import EAGAIN, EBADF, EFAULT, EINPROGRESS, EINTR, EINVAL, ENOSYS, ENOTCONN
from ..core.timer import TimerList
from ..core.wait import Blocked, WaitQueueEntry, add_wait_queue, remove_wait_queue
from . import ksys
from .proto import MAX_REQUEST, SYSCALL_EP

EBADMSG = 74
# Plain ints: pyzmq's enum constants make every ``events & POLLIN`` an IntFlag
# operation (a few microseconds each, several per request).
_EVENTS = int(zmq.EVENTS)
_RCVMORE = int(zmq.RCVMORE)
_POLLIN = int(zmq.POLLIN)
_NOBLOCK = int(zmq.NOBLOCK)
_SNDMORE = int(zmq.SNDMORE)

SOCK_TYPE_MASK = 0xF
O_NONBLOCK = 0o4000


def _addr_out(a):
    if a is None:
        return None
    if isinstance(a, (tuple, list)):
        return list(a)
    return a


class SocketFailed(Exception):
    """A call names an fd whose socket() (sent on the session connection) failed."""

    def __init__(self, err):
        self.err = err


class Parked:
    __slots__ = ("ident", "session", "seq", "blocked", "finish", "entry", "timer", "deadline",
                 "done", "cleanup")

    def __init__(self, ident, session, seq, blocked, finish, cleanup=None):
        self.ident = ident
        self.session = session
        self.seq = seq
        self.blocked = blocked
        self.finish = finish      # result -> reply list (without seq)
        self.entry = None
        self.timer = None
        self.deadline = None
        self.done = False
        self.cleanup = cleanup    # called if the call is dropped (session died)


class SyscallServer:
    def __init__(self, d):
        self.d = d
        self.sock = d.ctx.socket(zmq.ROUTER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.MAXMSGSIZE, MAX_REQUEST)
        self.sock.setsockopt(zmq.RCVHWM, 0)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        path = os.path.join(d.rundir, SYSCALL_EP)
        old = os.umask(0o077)
        try:
            self.sock.bind("ipc://" + path)
        finally:
            os.umask(old)
        self.idents = {}            # routing id -> Session
        self.parked = {}            # (ident, seq) -> Parked
        self.replies = []
        self.more = False
        self.stats = d.stats
        self.calls = {
            "attach": self.sys_attach, "socket": self.sys_socket, "bind": self.sys_bind,
            "connect": self.sys_connect, "listen": self.sys_listen, "accept": self.sys_accept,
            "getsockname": self.sys_getsockname, "getpeername": self.sys_getpeername,
            "setsockopt": self.sys_setsockopt, "getsockopt": self.sys_getsockopt,
            "shutdown": self.sys_shutdown, "close": self.sys_close, "adopt": self.sys_adopt,
            "geterr": self.sys_geterr, "cancel": self.sys_cancel, "ioctl": self.sys_ioctl,
            "sendto": self.sys_sendto, "recvfrom": self.sys_recvfrom, "poll": self.sys_poll,
            "info": self.sys_info, "ping": self.sys_ping, "identify": self.sys_identify,
            "wait": self.sys_wait,
        }

    # -- loop hooks --------------------------------------------------------------
    def has_more(self) -> bool:
        return self.more

    def process(self, budget: int) -> None:
        """Serve up to budget requests. ZMQ_FD is edge-like: drain until EVENTS says
        nothing is left, or remember (self.more) that something is."""
        if not self.more:
            return
        sock = self.sock
        getsockopt = sock.getsockopt
        recv = sock.recv
        stats = self.stats
        n = 0
        while n < budget:
            if not getsockopt(_EVENTS) & _POLLIN:
                self.more = False
                return
            try:
                frames = [recv(_NOBLOCK)]
                while getsockopt(_RCVMORE):
                    frames.append(recv(_NOBLOCK))
            except zmq.Again:
                continue
            except zmq.ZMQError:
                stats["bad_requests"] += 1
                continue
            n += 1
            stats["syscalls"] += 1
            self.handle(frames)
        self.more = True

    def flush_replies(self) -> None:
        if not self.replies:
            return
        replies, self.replies = self.replies, []
        send = self.sock.send
        more = _SNDMORE | _NOBLOCK
        for frames in replies:
            try:
                for f in frames[:-1]:
                    send(f, more)
                send(frames[-1], _NOBLOCK)
            except zmq.ZMQError:
                pass
        # sending may have eaten the FD's edge for a request that came meanwhile
        self.more = bool(self.sock.getsockopt(_EVENTS) & _POLLIN)

    def reply(self, ident, seq, result, *extra) -> None:
        self.replies.append([ident, msgpack.packb([seq, result, *extra])])

    # -- dispatch ----------------------------------------------------------------
    def handle(self, frames) -> None:
        if len(frames) < 2:
            self.stats["bad_requests"] += 1
            return
        ident = frames[0]
        try:
            req = msgpack.unpackb(frames[1], raw=False, use_list=True, strict_map_key=True)
        except Exception:
            self.stats["bad_requests"] += 1
            self.reply(ident, -1, -EBADMSG)
            return
        if not isinstance(req, list) or len(req) < 2 or type(req[0]) is not int \
                or not isinstance(req[1], str):
            self.stats["bad_requests"] += 1
            self.reply(ident, req[0] if isinstance(req, list) and req and type(req[0]) is int
                       else -1, -EBADMSG)
            return
        seq, call = req[0], req[1]
        fn = self.calls.get(call)
        if fn is None:
            self.stats["bad_requests"] += 1
            self.reply(ident, seq, -ENOSYS)
            return
        session = self.idents.get(ident)
        if session is None and call != "attach":
            self.stats["bad_requests"] += 1
            if call not in ("close", "adopt", "cancel"):
                self.reply(ident, seq, -ENOTCONN)
            return
        if session is not None:
            session.requests += 1
        try:
            r = fn(session, ident, seq, *req[2:], *(frames[2:]))
        except SocketFailed as e:
            r = -e.err
        except (TypeError, ValueError, IndexError, KeyError, OverflowError, AttributeError,
                UnicodeError) as e:
            self.stats["bad_requests"] += 1
            self.reply(ident, seq, -EINVAL)
            return
        except Exception as e:   # a bug in the stack: keep serving everyone else
            self.d.net.bug(e, f"syscall {call}")
            traceback.print_exc(limit=8, file=sys.stderr)
            self.reply(ident, seq, -EFAULT)
            return
        if r is not None:
            self.replies.append([ident, msgpack.packb([seq, *r] if type(r) is list else [seq, r])])

    def file(self, session, fd):
        if type(fd) is not int:
            raise TypeError("fd")
        return session.fds.get(fd)

    # -- parking -------------------------------------------------------------------
    def complete(self, ident, session, seq, r, finish, cleanup=None):
        """Reply with finish(r), or park r if it is a Blocked."""
        if isinstance(r, Blocked):
            p = Parked(ident, session, seq, r, finish, cleanup)
            if r.timeo is not None:
                p.deadline = self.d.clock.now() + max(0.0, r.timeo)
            self._park(p)
            return None
        return finish(r)

    def _park(self, p: Parked) -> None:
        b = p.blocked
        p.entry = WaitQueueEntry(self._woken, p, b.mask)
        add_wait_queue(b.wq, p.entry)
        if p.deadline is not None:
            if p.timer is None:
                p.timer = TimerList(self._timed_out, p, name="syscall-timeo")
            self.d.net.timers.mod_timer(p.timer, p.deadline)
        self.parked[(p.ident, p.seq)] = p

    def _unpark(self, p: Parked) -> None:
        if p.entry is not None and p.entry.head is not None:
            remove_wait_queue(p.entry.head, p.entry)
        p.entry = None
        if p.timer is not None:
            self.d.net.timers.del_timer(p.timer)
        self.parked.pop((p.ident, p.seq), None)

    def _woken(self, entry, key) -> None:
        p = entry.private
        # Leave the wait queue now; retry after this softirq round.
        if entry.head is not None:
            remove_wait_queue(entry.head, entry)
        p.entry = None
        self.d.ready.append(lambda: self._retry(p))

    def _retry(self, p: Parked) -> None:
        if p.done:
            return
        self._unpark(p)
        try:
            r = p.blocked.retry()
        except Exception as e:
            self.d.net.bug(e, "syscall retry")
            r = -EFAULT
        self._finish(p, r)

    def _timed_out(self, p: Parked) -> None:
        if p.done:
            return
        self._unpark(p)
        b = p.blocked
        r = b.on_timeout() if b.on_timeout is not None else -EAGAIN
        self._finish(p, r)

    def _finish(self, p: Parked, r) -> None:
        if isinstance(r, Blocked):
            p.blocked = r
            if p.deadline is None and r.timeo is not None:
                p.deadline = self.d.clock.now() + r.timeo
            self._park(p)
            return
        p.done = True
        if p.session.dead:
            if p.cleanup:
                p.cleanup()
            return
        try:
            out = p.finish(r)
        except Exception as e:
            self.d.net.bug(e, "syscall finish")
            out = -EFAULT
        if out is not None:
            self.replies.append([p.ident, msgpack.packb([p.seq, *out] if type(out) is list
                                                        else [p.seq, out])])

    def session_gone(self, session) -> None:
        for ident in list(session.idents):
            self.idents.pop(ident, None)
        for key, p in list(self.parked.items()):
            if p.session is session:
                self._unpark(p)
                p.done = True
                if p.cleanup:
                    p.cleanup()

    def close(self) -> None:
        self.sock.close(0)

    # -- the calls -----------------------------------------------------------------
    def sys_ping(self, s, ident, seq, *args):
        return [0, os.getpid()]

    def sys_attach(self, s, ident, seq, token):
        sess = self.d.sessions.by_token.get(bytes(token))
        if sess is None or sess.dead:
            self.stats["bad_requests"] += 1
            return None
        old = self.idents.get(ident)
        if old is not None and old is not sess:
            old.idents.discard(ident)
        self.idents[ident] = sess
        sess.idents.add(ident)
        return None

    def _take_pair(self, s, tag):
        """Claim (daemon end, client end inode) sent with tag; None if missing."""
        return self._pair_from(self.d.sessions.claim(s, tag))

    def _pair_from(self, fds):
        if not fds or len(fds) != 2:
            for x in fds or ():
                os.close(x)
            return None
        dfd, cfd = fds
        try:
            st = os.fstat(cfd)
            ok = stat.S_ISSOCK(st.st_mode)
        except OSError:
            ok = False
        os.close(cfd)
        if not ok:
            os.close(dfd)
            return None
        try:
            dend = _socket.socket(fileno=dfd)      # the C type: smaller, int family/type
        except OSError:
            os.close(dfd)
            return None
        if dend.family != socket.AF_UNIX:
            dend.close()
            return None
        return dend, st.st_ino

    def sys_socket(self, s, ident, seq, family, type_, proto, fd):
        if type(family) is not int or type(type_) is not int or type(proto) is not int:
            raise TypeError
        pair = self._take_pair(s, fd)
        if pair is None:
            return -EBADF
        return self._socket(s, fd, pair, family, type_, proto)

    def _socket(self, s, fd, pair, family, type_, proto):
        dend, ino = pair
        kfiles = self.d.sockfs.files()
        kfd = ksys.sys_socket(kfiles, family, type_, proto)
        if kfd < 0:
            dend.close()
            return kfd
        want = socket.SOCK_STREAM if (type_ & SOCK_TYPE_MASK) == socket.SOCK_STREAM \
            else socket.SOCK_SEQPACKET
        if dend.type != want:
            dend.close()
            ksys.sys_close(kfiles, kfd)
            return -EINVAL
        sf = self.d.sockfs.attach(kfd, dend, ino, family, type_ & SOCK_TYPE_MASK, proto)
        self.d.sockfs.ref(sf, s, fd)
        s.failed.pop(fd, None)
        return ino

    def socket_from_conn(self, s, fd, fds, payload) -> None:
        """socket(2) that came on the session connection (no reply: libsock sends it
        only for combinations that cannot fail but for lack of memory; a failure is
        kept and returned by the next call naming fd)."""
        pair = self._pair_from(fds)
        try:
            family, type_, proto = msgpack.unpackb(payload)
            if type(family) is not int or type(type_) is not int or type(proto) is not int:
                raise TypeError
        except Exception:
            self.stats["bad_requests"] += 1
            if pair is not None:
                pair[0].close()
            return
        if pair is None:
            s.failed[fd] = EBADF
            return
        try:
            r = self._socket(s, fd, pair, family, type_, proto)
        except Exception as e:
            self.d.oops(e, "socket")
            r = -EFAULT
        if r < 0:
            s.failed[fd] = -r

    def _sf(self, s, fd):
        sf = self.file(s, fd)
        if sf is None:
            # its socket() may still wait on the session connection
            self.d.sessions.drain(s)
            sf = s.fds.get(fd)
            if sf is None and fd in s.failed:
                raise SocketFailed(s.failed.pop(fd))
        if sf is None or sf.closed:
            return None
        return sf

    @staticmethod
    def _addr(host, port):
        if not isinstance(host, str) or type(port) is not int:
            raise TypeError("address")
        return (host, port)

    def sys_bind(self, s, ident, seq, fd, host, port):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        return ksys.sys_bind(self.d.sockfs.kfiles, sf.kfd, self._addr(host, port))

    def _nonblock(self, sf, nb):
        if sf.kfile is not None:
            ksys.set_nonblock(sf.kfile, bool(nb))

    def sys_connect(self, s, ident, seq, fd, host, port, nb=0, timeo=None):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        self._nonblock(sf, nb)
        r = ksys.sys_connect(self.d.sockfs.kfiles, sf.kfd, self._addr(host, port))
        if isinstance(r, Blocked) and timeo is not None:
            r.timeo = float(timeo) if r.timeo is None else min(r.timeo, float(timeo))
        if not sf.stream:
            # a connected datagram socket: its queue may hold datagrams now filtered
            self.d.sockfs._mark(sf, 1)
        if type(r) is int and r == -EINPROGRESS:
            # Answer after this round of softirqs, with the state they left: a
            # handshake with a peer on this host is complete by then, and libsock
            # need not watch a connect that is not pending any more.
            def late():
                sk = sf.sk
                self.reply(ident, seq, r, getattr(sk, "sk_state", 0) if sk is not None else 0)
            self.d.ready.append(late)
            return None
        return self.complete(ident, s, seq, r, lambda r: r)

    def sys_listen(self, s, ident, seq, fd, backlog):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        if type(backlog) is not int:
            raise TypeError
        r = ksys.sys_listen(self.d.sockfs.kfiles, sf.kfd, backlog)
        if r == 0 and sf.stream:
            sf.listening = True
            self.d.sockfs.token(sf)
        return r

    def sys_accept(self, s, ident, seq, fd, newfd, nb=0):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        pair = self._take_pair(s, newfd)
        if pair is None:
            return -EBADF
        dend, ino = pair
        if dend.type != socket.SOCK_STREAM:
            dend.close()
            return -EINVAL
        if sf.listening:
            sf.token_out = False
        self._nonblock(sf, nb)
        sockfs = self.d.sockfs
        r = ksys.sys_accept4(sockfs.kfiles, sf.kfd, 0)

        def finish(r):
            if type(r) is int:
                dend.close()
                if sf.listening:
                    sockfs.accepted(sf)
                return r
            kfd, addr = r
            nsf = sockfs.attach(kfd, dend, ino, sf.family, socket.SOCK_STREAM, sf.proto)
            if not s.dead:
                sockfs.ref(nsf, s, newfd)
            if sf.listening:
                sockfs.accepted(sf)
            a = _addr_out(addr) or [None, 0]
            return [ino, a[0], a[1]]

        return self.complete(ident, s, seq, r, finish, cleanup=dend.close)

    def sys_getsockname(self, s, ident, seq, fd):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        r = ksys.sys_getsockname(self.d.sockfs.kfiles, sf.kfd)
        if type(r) is int:
            return r
        a = _addr_out(r)
        return [0, a[0], a[1]]

    def sys_getpeername(self, s, ident, seq, fd):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        r = ksys.sys_getpeername(self.d.sockfs.kfiles, sf.kfd)
        if type(r) is int:
            return r
        a = _addr_out(r)
        return [0, a[0], a[1]]

    def sys_setsockopt(self, s, ident, seq, fd, level, opt, value):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        if type(level) is not int or type(opt) is not int or not isinstance(value, (int, bytes)):
            raise TypeError
        self.d.sockfs.tx(sf)          # data already written goes first
        r = ksys.sys_setsockopt(self.d.sockfs.kfiles, sf.kfd, level, opt, value)
        if r == 0 and level == socket.SOL_SOCKET and opt == socket.SO_RCVBUF and sf.dfd >= 0 \
                and sf.stream:
            # What waits in the fd, unread, is outside the socket's accounting: keep it
            # no larger than the application asked the receive buffer to be.
            self.d.sockfs.size_fd(sf, value)
        return r

    def sys_getsockopt(self, s, ident, seq, fd, level, opt, buflen=None):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        if type(level) is not int or type(opt) is not int:
            raise TypeError
        if buflen is not None and (type(buflen) is not int or not 0 <= buflen <= 65536):
            return -EINVAL
        if level == socket.SOL_SOCKET and opt == socket.SO_ERROR:
            err = sf.err
            sf.err = 0
            if err:
                return [0, err]
        r = ksys.sys_getsockopt(self.d.sockfs.kfiles, sf.kfd, level, opt, buflen)
        if type(r) is int and r < 0:
            return r
        if isinstance(r, int):
            r = int(r)            # OptInt: a negative value that is not an errno
        elif isinstance(r, (bytearray, memoryview)):
            r = bytes(r)
        return [0, r]

    def sys_shutdown(self, s, ident, seq, fd, how):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        if how not in (0, 1, 2):
            return -EINVAL
        sockfs = self.d.sockfs
        sockfs.tx(sf)
        r = ksys.sys_shutdown(sockfs.kfiles, sf.kfd, how)
        if r == 0 and how in (socket.SHUT_RD, socket.SHUT_RDWR) and sf.stream:
            sockfs._fin(sf)           # the client's reads now see EOF
        if r == 0 and sf.listening and how != socket.SHUT_WR:
            sockfs._fin(sf)
        return r

    def sys_close(self, s, ident, seq, fd, ino=None):
        if type(fd) is int:
            s.failed.pop(fd, None)
        sf = s.fds.get(fd) if type(fd) is int else None
        if sf is not None and (ino is None or sf.ino == ino):
            self.d.sockfs.unref(sf, s, fd)
        return None

    def sys_adopt(self, s, ident, seq, fd):
        fds = self.d.sessions.claim(s, fd)
        if not fds:
            return None
        try:
            st = os.fstat(fds[0])
        except OSError:
            st = None
        for x in fds:
            os.close(x)
        if st is None:
            return None
        sf = self.d.sockfs.by_ino.get(st.st_ino)
        if sf is not None and not sf.closed:
            self.d.sockfs.ref(sf, s, fd)
        return None

    def sys_identify(self, s, ident, seq, fd):
        """adopt, answered: what socket is this fd (sent just before)?"""
        self.sys_adopt(s, ident, seq, fd)
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        return [0, sf.ino, sf.family, sf.type, sf.proto]

    def sys_geterr(self, s, ident, seq, fd):
        sf = self._sf(s, fd)
        if sf is None:
            sf = s.fds.get(fd) if type(fd) is int else None
            if sf is None:
                return -EBADF
        err, sf.err = sf.err, 0
        if not err and not sf.closed:
            r = ksys.sys_getsockopt(self.d.sockfs.kfiles, sf.kfd, socket.SOL_SOCKET,
                                    socket.SO_ERROR, None)
            if type(r) is int and r > 0:
                err = r
        return [0, err]

    def sys_cancel(self, s, ident, seq, target):
        p = self.parked.get((ident, target))
        if p is None or p.done:
            return None
        self._unpark(p)
        b = p.blocked
        r = b.on_signal() if b.on_signal is not None else -EINTR
        self._finish(p, r)
        return None

    def sys_ioctl(self, s, ident, seq, fd, cmd, arg=0):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        if type(cmd) is not int:
            raise TypeError
        return ksys.sys_ioctl(self.d.sockfs.kfiles, sf.kfd, cmd, arg)

    def sys_sendto(self, s, ident, seq, fd, flags, host, port, *payload):
        """sendto through the syscall channel (MSG_OOB and flags the fd cannot carry)."""
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        data = b"".join(bytes(p) for p in payload)
        self.d.sockfs.tx(sf)
        addr = None if host is None else self._addr(host, port)
        return ksys.sys_sendto(self.d.sockfs.kfiles, sf.kfd, data, int(flags) | 0x40, addr)

    def sys_recvfrom(self, s, ident, seq, fd, size, flags):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        if type(size) is not int or size < 0 or size > MAX_REQUEST:
            return -EINVAL
        r = ksys.sys_recvfrom(self.d.sockfs.kfiles, sf.kfd, size, int(flags) | 0x40)
        if type(r) is int:
            return r
        data, addr = r
        a = _addr_out(addr) or [None, 0]
        self.replies.append([ident, msgpack.packb([seq, len(data), a[0], a[1]]), bytes(data)])
        return None

    def sys_poll(self, s, ident, seq, fd, events):
        """The socket's own poll mask, now (what the fd cannot say: a pending
        connect): [0, revents & (events | EPOLLERR | EPOLLHUP)]."""
        sf = self._sf(s, fd)
        if sf is None or sf.kfile is None:
            return -EBADF
        if type(events) is not int:
            raise TypeError
        return [0, ksys.sock_poll(sf.kfile) & (events | 0x18)]

    def sys_wait(self, s, ident, seq, fd, events, timeout=None):
        """Sleep until the socket's poll mask meets events (or timeout): what libsock's
        select uses for what the fd cannot show (a connect in progress)."""
        sf = self._sf(s, fd)
        if sf is None or sf.kfile is None:
            return -EBADF
        if type(events) is not int or (timeout is not None and not isinstance(timeout, (int, float))):
            raise TypeError
        kfile = sf.kfile
        want = events | 0x18                    # EPOLLERR | EPOLLHUP always

        def attempt():
            if sf.closed:
                return -EBADF
            m = ksys.sock_poll(kfile) & want
            if m:
                return m
            return Blocked(ksys.file_wq(kfile), want, attempt, timeout,
                           lambda: 0, lambda: -EINTR, "wait")
        return self.complete(ident, s, seq, attempt(), lambda r: r)

    def sys_info(self, s, ident, seq, fd):
        sf = self._sf(s, fd)
        if sf is None:
            return -EBADF
        sk = sf.sk
        state = getattr(sk, "sk_state", 0) if sk is not None else 0
        return [0, sf.ino, sf.family, sf.type, sf.proto, state, sf.err]
