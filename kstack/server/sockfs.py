"""sockfs for a user-space kernel (net/socket.c sock_alloc_file, fs/file_table.c fput).

Each kstack socket is a real fd in its client: one end of an AF_UNIX socket
pair whose other end (the "daemon end") this module holds, playing the
kernel's ``struct file``. The socket's data moves between that fd and the
kstack socket here:

- client -> stack (tx): the daemon end is read only while the socket's send
  buffer takes data (sendmsg with MSG_DONTWAIT). When it is full, epoll stops
  watching the fd until the socket's write-space wake-up (EPOLLOUT on
  sk.sk_wq). The client then blocks in write(2) as a Linux process blocks on
  a full SO_SNDBUF.
- stack -> client (rx): when the socket's wait queue says EPOLLIN, data is
  taken with recvmsg(MSG_DONTWAIT) and written into the fd while it has room;
  what does not fit waits here (at most one chunk) for EPOLLOUT on the fd.
- FIN from the peer is shutdown(SHUT_WR) on the daemon end (the client reads
  EOF); an error (RST, timeout) is kept in ``err`` for libsock's next question
  and the daemon end is shut both ways (the client's read sees EOF, its write
  EPIPE; libsock turns these into the error).
- client shutdown(SHUT_WR) on its fd reaches us in-band, after every byte it
  wrote: we read EOF, flush, then shut the socket down. The client's last close
  (all copies, any process: the kernel counts) is a hang-up on the daemon end:
  flush, then close the socket, with SO_LINGER 0 (RST) when the client left
  data unread, as tcp_close does.

Datagram sockets use SOCK_SEQPACKET pairs carrying proto.DGRAM_HDR + payload.

A listening socket's fd carries accept tokens: one byte sits in it while the
accept queue is not empty, so select/poll/epoll on a listener work unpatched;
libsock reads the token, then calls accept.
"""
import _socket
import functools
import os
import select
import socket
import struct

from ..core.errno import (EAGAIN, EBADF, ECONNABORTED, ECONNREFUSED, ECONNRESET, EHOSTDOWN,
                          EHOSTUNREACH, ENETDOWN, ENETUNREACH, EPIPE, EPROTO, ETIMEDOUT)
from ..core.wait import (EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLRDHUP, WaitQueueEntry,
                         add_wait_queue, remove_wait_queue)
from . import ksys
from .proto import DGRAM_F_ADDR, DGRAM_HDR, DGRAM_HLEN, PAIR_SNDBUF, TX_CHUNK

MSG_DONTWAIT = 0x40
MSG_NOSIGNAL = 0x4000
SEND_FLAGS = MSG_DONTWAIT | MSG_NOSIGNAL     # EPIPE comes back as an errno; no SIGPIPE queued
CHUNK = 65536                # the most moved from a socket into its fd at once
TX_BUDGET = 2 * TX_CHUNK     # bytes per socket per loop turn, so no socket starves others
E_IN = select.EPOLLIN | select.EPOLLRDHUP     # RDHUP: the client's EOF shows in the event
E_OUT = select.EPOLLOUT
E_HUP = select.EPOLLHUP | select.EPOLLERR
E_EOF = select.EPOLLRDHUP | E_HUP
# Errors that end a stream (the daemon end is shut both ways); others (ENOTCONN
# before connect, EINVAL on a listener) mean "nothing to move".
FATAL = frozenset((ECONNRESET, ECONNREFUSED, ETIMEDOUT, EPIPE, ECONNABORTED, EHOSTUNREACH,
                   ENETUNREACH, EHOSTDOWN, ENETDOWN, EPROTO))
DGRAM_F_ERR = 2
NO_ADDR = DGRAM_HDR.pack(0, 0, 0)
RX_MORE = EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP
WAKE_MASK = EPOLLIN | EPOLLOUT | EPOLLHUP | EPOLLERR | EPOLLRDHUP     # what wakes the pump
_hdr_pack = DGRAM_HDR.pack
_hdr_unpack = DGRAM_HDR.unpack_from


@functools.lru_cache(maxsize=1024)
def _aton(s: str) -> int:
    return int.from_bytes(socket.inet_aton(s), "big")


class SockFile:
    """The daemon's struct file for one socket (shared by every session holding it)."""

    __slots__ = ("kfd", "kfile", "ino", "dend", "dfd", "stream", "family", "type", "proto",
                 "tx_pending", "rx_pending", "in_eof", "out_shut", "tx_blocked", "events",
                 "err", "listening", "token_out", "refs", "closed", "wait", "wake",
                 "hup", "dirty", "watched", "abort", "rx_chunk")

    def __init__(self, kfd, kfile, dend, ino, family, type_, proto):
        self.kfd = kfd
        self.kfile = kfile
        self.ino = ino
        self.dend = dend
        self.dfd = dend.fileno()
        self.family = family
        self.type = type_
        self.proto = proto
        self.stream = type_ == socket.SOCK_STREAM
        self.tx_pending = None     # bytes read from the fd, not yet taken by sendmsg
        self.rx_pending = None     # bytes taken from the socket, not yet in the fd
        self.in_eof = False        # the client shut its writing side (or closed)
        self.out_shut = 0          # 0, SHUT_WR (FIN passed on), SHUT_RDWR (error)
        self.tx_blocked = False    # send buffer full: not reading the fd
        self.events = 0            # what epoll watches on dfd
        self.err = 0               # error for libsock (geterr), taken once
        self.listening = False
        self.token_out = False
        self.refs = []             # (session, client fd): usually one
        self.closed = False
        self.wait = None
        self.wake = 0
        self.hup = False
        self.dirty = False
        self.watched = False       # dfd is in the daemon's epoll set
        self.abort = False         # the client closed with data unread: RST on close
        self.rx_chunk = CHUNK      # most taken from the socket at once (follows SO_RCVBUF)

    @property
    def sk(self):
        return ksys.file_sock(self.kfile) if self.kfile is not None else None

    def __repr__(self):
        return f"<sockfile ino={self.ino} kfd={self.kfd} dfd={self.dfd}>"


class SockFS:
    def __init__(self, d):
        self.d = d
        self.epoll = d.epoll
        self.kfiles = None          # created on first socket (the stack may load late)
        self.by_ino = {}
        self.by_dfd = {}
        self.dirty = []
        self.on_wake = self._on_wake          # one bound method for every socket's wait entry
        self.txbuf = [bytearray(TX_CHUNK)]    # the stream read buffer (os.readv's list)
        self.txview = memoryview(self.txbuf[0])
        self.stats = {"tx_bytes": 0, "rx_bytes": 0, "tx_dgrams": 0, "rx_dgrams": 0,
                      "dgram_errors": 0, "rst_on_close": 0}

    def files(self):
        if self.kfiles is None:
            self.kfiles = ksys.files_struct(self.d.net)
        return self.kfiles

    # -- life ------------------------------------------------------------------
    def attach(self, kfd, dend: _socket.socket, ino, family, type_, proto) -> SockFile:
        """Make a new kstack socket (at kfd in kfiles) served through dend."""
        kfile = ksys.fget(self.kfiles, kfd)
        dend.setblocking(False)
        try:
            dend.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, PAIR_SNDBUF)
        except OSError:
            pass
        sf = SockFile(kfd, kfile, dend, ino, family, type_, proto)
        sk = sf.sk
        if sf.stream and sk is not None and 0 < getattr(sk, "sk_rcvbuf", PAIR_SNDBUF) < PAIR_SNDBUF:
            self.size_fd(sf, sk.sk_rcvbuf)          # an accepted child of a small-buffer listener
        self.by_ino[ino] = sf
        self.by_dfd[sf.dfd] = sf       # the loop hands dfd's events to on_fd(sf, ev)
        sf.events = E_IN
        self.epoll.register(sf.dfd, E_IN)
        sf.watched = True
        if kfile is not None:
            sf.wait = WaitQueueEntry(self.on_wake, sf, WAKE_MASK)
            add_wait_queue(ksys.file_wq(kfile), sf.wait)
        # data may already be queued (an accepted socket)
        self._mark(sf, EPOLLIN)
        return sf

    def size_fd(self, sf: SockFile, rcvbuf) -> None:
        """Shrink (or restore) the daemon end's SO_SNDBUF to follow SO_RCVBUF."""
        if isinstance(rcvbuf, (bytes, bytearray)):
            rcvbuf = int.from_bytes(bytes(rcvbuf[:4]).ljust(4, b"\0"), "little")
        try:
            size = max(2304, min(PAIR_SNDBUF, int(rcvbuf)))
            sf.dend.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)
            sf.rx_chunk = min(CHUNK, size)
        except (OSError, ValueError, TypeError):
            pass

    def ref(self, sf: SockFile, session, fd: int) -> None:
        old = session.fds.get(fd)
        if old is not None and old is not sf:
            self.unref(old, session, fd)
        session.fds[fd] = sf
        if (session, fd) not in sf.refs:
            sf.refs.append((session, fd))

    def unref(self, sf: SockFile, session, fd: int) -> None:
        if session.fds.get(fd) is sf:
            del session.fds[fd]
        try:
            sf.refs.remove((session, fd))
        except ValueError:
            pass
        if not sf.refs:
            if sf.closed:
                self.by_ino.pop(sf.ino, None)
            elif not sf.watched:
                # an errored socket (its fd no longer watched): nobody names it now
                self.release(sf)

    def _set_events(self, sf: SockFile, events: int) -> None:
        if not sf.watched or sf.events == events:
            return
        sf.events = events
        self.epoll.modify(sf.dfd, events)

    def _unwatch(self, sf: SockFile) -> None:
        sf.watched = False
        try:
            self.epoll.unregister(sf.dfd)
        except (OSError, ValueError):
            pass

    def release(self, sf: SockFile, abort: bool = False) -> None:
        """The last client copy is gone: close the kstack socket (fput -> sock_close)."""
        if sf.closed:
            return
        sf.closed = True
        if sf.wait is not None and sf.wait.head is not None:
            remove_wait_queue(sf.wait.head, sf.wait)
        if sf.dfd >= 0:
            if sf.watched:
                self._unwatch(sf)
            self.by_dfd.pop(sf.dfd, None)
            sf.dend.close()
            sf.dfd = -1
        if abort and sf.stream:
            self.stats["rst_on_close"] += 1
            ksys.sys_setsockopt(self.kfiles, sf.kfd, socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
        ksys.sys_close(self.kfiles, sf.kfd)
        for session, fd in list(sf.refs):
            if session.fds.get(fd) is sf:
                del session.fds[fd]
        sf.refs.clear()
        self.by_ino.pop(sf.ino, None)

    def close(self) -> None:
        for sf in list(self.by_dfd.values()) + list(self.by_ino.values()):
            self.release(sf)

    # -- events ----------------------------------------------------------------
    def _on_wake(self, entry, key) -> None:
        sf = entry.private
        sf.wake |= key
        if not sf.dirty:
            sf.dirty = True
            self.dirty.append(sf)

    def _mark(self, sf: SockFile, key: int) -> None:
        sf.wake |= key
        if not sf.dirty:
            sf.dirty = True
            self.dirty.append(sf)

    def on_fd(self, sf: SockFile, ev: int) -> None:
        """epoll says the daemon end has data (or EOF, hang-up) or room."""
        if sf.closed:
            return
        if ev & E_HUP:
            sf.hup = True
        if ev & E_OUT:
            self.rx(sf)
        if ev & (E_IN | E_HUP):
            self.tx(sf, not ev & E_EOF)

    def dirty_reset(self) -> None:
        """After a bug in flush: forget the batch (each socket is retried on its next event)."""
        for sf in self.dirty:
            sf.dirty = False
        self.dirty = []

    def flush(self) -> None:
        """Serve sockets whose wait queue woke (after softirq). One pass: a socket
        marked again meanwhile waits for the next round, after softirqs have run
        (else one busy sender would flood the backlog before the receiver runs)."""
        if self.dirty:
            dirty, self.dirty = self.dirty, []
            for sf in dirty:
                sf.dirty = False
                key, sf.wake = sf.wake, 0
                if sf.closed:
                    continue
                try:
                    if key & EPOLLOUT and sf.tx_blocked:
                        sf.tx_blocked = False
                        self.tx(sf)
                    if key & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP):
                        if sf.listening:
                            self.token(sf)
                        else:
                            self.rx(sf)
                except Exception as e:      # a bug below us: this socket only
                    self.d.oops(e, "sockfs")

    # -- client -> stack ---------------------------------------------------------
    def tx(self, sf: SockFile, no_eof: bool = False) -> None:
        """Move what the client wrote into the socket while its send buffer has room.

        no_eof: epoll reported data without the client's EOF, so a short read has
        emptied the fd and no second read is needed to find out (it would say
        EAGAIN); an EOF after it comes as a new event. Otherwise read until
        EAGAIN or EOF, so that a FIN follows the last data in the same turn."""
        if sf.closed:
            return
        kfiles = self.kfiles
        budget = TX_BUDGET
        if not sf.in_eof and not sf.events & E_IN:
            self._set_events(sf, sf.events | E_IN)      # room again: watch the fd
        if not sf.stream:
            self._tx_dgram(sf)
            return
        drained = False
        buf = self.txbuf
        while budget > 0:
            data = sf.tx_pending
            if data is None:
                if sf.in_eof or drained:
                    break
                try:
                    # into one preallocated buffer: a fresh 256 KiB bytes per read
                    # would cost an mmap/munmap for every 1-byte message
                    n = os.readv(sf.dfd, buf)
                except (BlockingIOError, InterruptedError):
                    break
                except ConnectionResetError:
                    # unix_release_sock: the client's last close left data unread
                    n = 0
                    sf.hup = sf.abort = True
                except OSError:
                    n = 0
                    sf.hup = True
                if not n:
                    sf.in_eof = True
                    break
                drained = no_eof and n < TX_CHUNK
                data = self.txview[:n]
            if sf.out_shut == socket.SHUT_RDWR or sf.listening:
                sf.tx_pending = None        # socket is dead (or listening): discard
                continue
            r = ksys.sys_sendto(kfiles, sf.kfd, data, SEND_FLAGS, None)
            if r < 0:
                sf.tx_pending = None
                if r == -EAGAIN:
                    self._tx_full(sf, data)
                elif r != -EPIPE or not sf.err:
                    self._error(sf, -r)
                return
            self.stats["tx_bytes"] += r
            budget -= r
            if r < len(data):
                # a short write: the send buffer is full (wait for write space)
                self._tx_full(sf, data[r:])
                return
            sf.tx_pending = None
        else:
            # budget spent: come back next turn
            self._mark(sf, EPOLLOUT)
            sf.tx_blocked = True
            return
        if sf.in_eof and sf.tx_pending is None:
            self._in_eof(sf)

    def _tx_full(self, sf: SockFile, rest) -> None:
        """The send buffer is full: keep what it did not take (out of the shared
        read buffer), stop reading the fd until the socket's write space wake-up."""
        sf.tx_pending = rest if type(rest) is bytes else bytes(rest)
        sf.tx_blocked = True
        ksys.set_nospace(sf.kfile)
        self._set_events(sf, sf.events & ~E_IN)

    def _tx_dgram(self, sf: SockFile) -> None:
        kfiles = self.kfiles
        n = 0
        while n < 64:
            data = sf.tx_pending
            if data is None:
                if sf.in_eof:
                    break
                try:
                    data = sf.dend.recv(65536 + DGRAM_HLEN)
                except (BlockingIOError, InterruptedError):
                    break
                except OSError:
                    data = b""
                    sf.hup = True
                if not data:
                    sf.in_eof = True
                    break
            n += 1
            if len(data) < DGRAM_HLEN:
                self.stats["dgram_errors"] += 1
                sf.tx_pending = None
                continue
            a, port, flags = _hdr_unpack(data)
            # the kernel's own sockaddr_in: no text round trip per datagram
            addr = ksys.sockaddr_in(a, port) if flags & DGRAM_F_ADDR else None
            r = ksys.sys_sendto(kfiles, sf.kfd, memoryview(data)[DGRAM_HLEN:], SEND_FLAGS, addr)
            if r == -EAGAIN:
                sf.tx_pending = data
                sf.tx_blocked = True
                self._set_events(sf, sf.events & ~E_IN)
                return
            sf.tx_pending = None
            if r < 0:
                # Linux would fail this sendto(); the datagram is lost here, the
                # error kept for libsock's next question (see docs/libsock.md).
                self.stats["dgram_errors"] += 1
                sf.err = -r
            else:
                self.stats["tx_dgrams"] += 1
        else:
            self._mark(sf, EPOLLOUT)
            sf.tx_blocked = True
            return
        if sf.in_eof:
            self._in_eof(sf)

    def _in_eof(self, sf: SockFile) -> None:
        """The client's side of the fd said EOF: a shutdown(SHUT_WR) or its last close."""
        if sf.hup or sf.dfd < 0:
            self._hangup(sf)
            return
        # Only a half close: pass it on, then watch for the hang-up alone.
        self._set_events(sf, sf.events & ~E_IN)
        if sf.stream and not sf.listening and sf.out_shut != socket.SHUT_RDWR:
            ksys.sys_shutdown(self.kfiles, sf.kfd, socket.SHUT_WR)

    def _hangup(self, sf: SockFile) -> None:
        abort = sf.abort
        if sf.stream and sf.dfd >= 0:
            try:
                # unix_release_sock: the client closed with data unread -> ECONNRESET here
                abort = abort or sf.dend.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0
            except OSError:
                pass
        if sf.rx_pending:
            abort = True
        self.release(sf, abort=abort)

    # -- stack -> client ---------------------------------------------------------
    def rx(self, sf: SockFile) -> None:
        """Move received data into the fd while it has room."""
        if sf.closed or sf.out_shut:
            return
        if sf.rx_pending is not None:
            if not self._write(sf, sf.rx_pending):
                return
        if not sf.stream:
            self._rx_dgram(sf)
        else:
            kfiles = self.kfiles
            kfd = sf.kfd
            chunk = sf.rx_chunk
            for _ in range(64):
                r = ksys.sys_recvfrom(kfiles, kfd, chunk, MSG_DONTWAIT)
                if type(r) is int:
                    if r != -EAGAIN and -r in FATAL:
                        self._error(sf, -r)
                    break
                data = r[0]
                if not data:
                    self._fin(sf)
                    break
                self.stats["rx_bytes"] += len(data)
                if not self._write(sf, data):
                    break
                # A short read emptied the receive queue (tcp_recvmsg stops only
                # there); ask again only if a FIN or an error waits behind it.
                if len(data) < chunk and not ksys.sock_poll(sf.kfile) & RX_MORE:
                    break
        if sf.rx_pending is None and sf.events & E_OUT:
            self._set_events(sf, sf.events & ~E_OUT)

    def _rx_dgram(self, sf: SockFile) -> None:
        kfiles = self.kfiles
        kfd = sf.kfd
        stats = self.stats
        for _ in range(64):
            r = ksys.sys_recvfrom(kfiles, kfd, CHUNK, MSG_DONTWAIT)
            if type(r) is int:
                if r >= 0 or r == -EAGAIN:
                    break
                # ICMP error on a datagram socket: in-band, the next recv raises it
                if not self._write(sf, _hdr_pack(0, -r, DGRAM_F_ERR)):
                    break
                continue
            data, addr = r
            hdr = _hdr_pack(_aton(addr[0]), addr[1], 0) if addr else NO_ADDR
            stats["rx_dgrams"] += 1
            try:
                sf.dend.sendmsg((hdr, data))     # one datagram, no joining copy
            except (BlockingIOError, InterruptedError):
                sf.rx_pending = hdr + bytes(data)
                self._set_events(sf, sf.events | E_OUT)
                break
            except OSError:
                sf.hup = True        # the client end is gone: the hang-up comes through epoll
                break

    def _write(self, sf: SockFile, data) -> bool:
        try:
            if sf.stream:
                n = os.write(sf.dfd, data)
            else:
                n = sf.dend.send(data)
                n = len(data)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            # the client end is gone: the hang-up will come through epoll
            sf.rx_pending = None
            sf.hup = True
            return False
        if n < len(data):
            sf.rx_pending = data[n:] if sf.stream else data
            self._set_events(sf, sf.events | E_OUT)
            return False
        sf.rx_pending = None
        return True

    def _fin(self, sf: SockFile) -> None:
        if sf.out_shut:
            return
        sf.out_shut = socket.SHUT_WR
        try:
            sf.dend.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _error(self, sf: SockFile, err: int) -> None:
        """A fatal socket error (ECONNRESET, ETIMEDOUT...): keep it; shut the fd both ways."""
        if err == EBADF:
            return
        sf.err = err
        if sf.out_shut == socket.SHUT_RDWR:
            return
        sf.out_shut = socket.SHUT_RDWR
        sf.rx_pending = None
        sf.tx_pending = None
        try:
            sf.dend.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        # Our own shutdown makes the daemon end report HUP forever: stop
        # watching it; the socket is released when no session names it.
        if sf.watched:
            self._unwatch(sf)
        sf.events = 0
        if not sf.refs:
            self.release(sf)

    # -- listening sockets: accept tokens --------------------------------------
    def token(self, sf: SockFile) -> None:
        if sf.token_out or sf.closed or sf.kfile is None:
            return
        if ksys.sock_poll(sf.kfile) & EPOLLIN:
            try:
                os.write(sf.dfd, b"\1")
                sf.token_out = True
            except OSError:
                pass

    def accepted(self, sf: SockFile) -> None:
        """An accept() call consumed the token; put a new one if more wait."""
        sf.token_out = False
        self.token(sf)
