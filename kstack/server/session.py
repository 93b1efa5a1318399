"""Client sessions: one per client process (the kernel's task + files_struct).

A process opens a session by connecting to RUNDIR/session (AF_UNIX
SOCK_SEQPACKET); the daemon answers with the session id and a random token.
Each of the process's threads binds its ZeroMQ DEALER to the session by
sending ``attach(token)`` first, so requests never carry a pid and nothing one
client sends can name another's fd table. The same connection carries fds
both ways with SCM_RIGHTS. When it hangs up the process is gone: its table is
dropped (its sockets themselves close when the kernel closes their fds).

A session's fd table maps the client's real fd numbers to SockFiles. An fd the
client got by fork, dup or fromfd is *adopted*: the client sends the fd itself,
and the daemon recognises the socket by the inode of the client's end, so
holding the fd is the only way to name the socket.
"""
import array
import os
import select
import socket
import struct

import msgpack

from .proto import SESSION_SOCK, TAG

MAX_STASH = 256           # fd messages a session may have in flight to us (one per thread is usual)


class Session:
    __slots__ = ("sid", "token", "conn", "pid", "uid", "fds", "stash", "idents", "dead",
                 "requests", "created", "failed")

    def __init__(self, sid, token, conn, pid, uid):
        self.sid = sid
        self.token = token
        self.conn = conn
        self.pid = pid
        self.uid = uid
        self.fds = {}          # client fd -> SockFile
        self.stash = {}        # tag -> [fd, ...] received, not yet claimed
        self.idents = set()    # ZeroMQ routing ids bound to this session
        self.dead = False
        self.requests = 0
        self.failed = {}       # client fd -> errno of a socket() sent on the connection

    def __repr__(self):
        return f"<session {self.sid} pid={self.pid} fds={len(self.fds)}>"


class SessionServer:
    def __init__(self, d):
        self.d = d
        self.path = os.path.join(d.rundir, SESSION_SOCK)
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        old = os.umask(0o077)
        try:
            self.lsock.bind(self.path)
        finally:
            os.umask(old)
        self.lsock.listen(512)
        self.lsock.setblocking(False)
        self.by_sid = {}
        self.by_token = {}
        self.next_sid = 1
        d.register(self.lsock.fileno(), select.EPOLLIN, self._on_accept)

    def _on_accept(self, events: int) -> None:
        for _ in range(64):
            try:
                conn, _ = self.lsock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            conn.setblocking(False)
            try:
                creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
                pid, uid, _gid = struct.unpack("3i", creds)
            except OSError:
                pid, uid = 0, -1
            if uid not in (os.geteuid(), 0):
                conn.close()
                continue
            token = os.urandom(16)
            s = Session(self.next_sid, token, conn, pid, uid)
            self.next_sid += 1
            self.by_sid[s.sid] = s
            self.by_token[token] = s
            self.d.stats["sessions"] += 1
            try:
                conn.send(msgpack.packb({"sid": s.sid, "token": token, "host": self.d.net.name}))
            except OSError:
                self.reap(s)
                continue
            self.d.register(conn.fileno(), select.EPOLLIN, lambda ev, s=s: self._on_conn(s, ev))

    def _on_conn(self, s: Session, events: int) -> None:
        if events & select.EPOLLIN:
            self.drain(s)
        if events & (select.EPOLLHUP | select.EPOLLERR) and not s.dead:
            # The client end is gone (exit, kill -9, or the daemon's end errored).
            self.drain(s)
            self.reap(s)

    def drain(self, s: Session) -> None:
        """Receive every pending fd message into the stash."""
        conn = s.conn
        while not s.dead:
            try:
                data, anc, flags, _ = conn.recvmsg(64, socket.CMSG_SPACE(64 * 4))
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.reap(s)
                return
            fds = []
            for level, typ, cdata in anc:
                if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                    a = array.array("i")
                    a.frombytes(cdata[:len(cdata) - len(cdata) % a.itemsize])
                    fds.extend(a)
            if not data and not fds:
                # EOF on SEQPACKET: the client closed its end
                self.reap(s)
                return
            if len(data) < TAG.size or not fds:
                for fd in fds:
                    os.close(fd)
                self.d.stats["bad_requests"] += 1
                continue
            tag = TAG.unpack_from(data)[0]
            if len(data) > TAG.size:
                # socket(2) itself, with no ZeroMQ round trip: [family, type, proto]
                # follow the tag, the pair's two ends ride along (proto.py).
                self.d.syscalls.socket_from_conn(s, tag, fds, data[TAG.size:])
                continue
            old = s.stash.pop(tag, None)
            if old:
                for fd in old:
                    os.close(fd)
            s.stash[tag] = fds
            if len(s.stash) > MAX_STASH:
                k = next(iter(s.stash))
                for fd in s.stash.pop(k):
                    os.close(fd)

    def claim(self, s: Session, tag: int):
        """The fds the client sent with this tag (it sends them before the request)."""
        fds = s.stash.pop(tag, None)
        if fds is None:
            self.drain(s)
            fds = s.stash.pop(tag, None)
        return fds

    def reap(self, s: Session) -> None:
        if s.dead:
            return
        s.dead = True
        self.by_sid.pop(s.sid, None)
        self.by_token.pop(s.token, None)
        self.d.syscalls.session_gone(s)
        for fd, sf in list(s.fds.items()):
            self.d.sockfs.unref(sf, s, fd)
        s.fds.clear()
        for fds in s.stash.values():
            for fd in fds:
                os.close(fd)
        s.stash.clear()
        self.d.unregister(s.conn.fileno())
        s.conn.close()

    def close(self) -> None:
        for s in list(self.by_sid.values()):
            self.reap(s)
        self.d.unregister(self.lsock.fileno())
        self.lsock.close()
