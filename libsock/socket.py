"""libsock.socket: the stdlib socket module, with AF_INET sockets living in kstack.

Same names, constants, exceptions and methods as the stdlib module. A socket
of family AF_INET and type SOCK_STREAM, SOCK_DGRAM or SOCK_RAW is a kstack
socket: its fileno() is one end of an AF_UNIX pair whose other end kstackd
holds (docs/libsock.md), so data moves through the fd with no round trip to
the daemon, and select/poll/epoll/ssl/fork/os.read work on it. Setup and
control calls (bind, connect, listen, accept, options, names) are one round
trip each over the syscall channel. Every other family (AF_UNIX, AF_NETLINK,
...) is the real kernel's; AF_INET6 is refused (EAFNOSUPPORT): this host has
no IPv6, so programs fall back to IPv4 and never leak onto the real network.

What the fd alone cannot say is completed here:
- EOF versus error: a stream whose daemon end was shut both ways carries an
  error (RST, timeout); recv() returning b'' checks for that hang-up and asks
  the daemon (geterr) only then; send()'s EPIPE likewise.
- a listening socket's fd holds one token byte while connections wait, so
  readiness is native; accept() reads the token, then asks the daemon.
- datagrams carry an 8-byte address header in the fd (stripped here).
"""
import _socket
import errno as _errno
import os
import select as _select
import socket as _std
import sys as _sys
import weakref as _weakref
from socket import *  # noqa: F401,F403  (constants, exceptions, passthrough functions)
from socket import (_GLOBAL_DEFAULT_TIMEOUT, AddressFamily, SocketKind, _intenum_converter,  # noqa: F401
                    SocketIO, error, gaierror, herror, timeout)
from types import FunctionType as _FunctionType

from msgpack import packb as _packb

from kstack.server.proto import CLIENT_SNDBUF, DGRAM_F_ADDR, DGRAM_HDR, DGRAM_HLEN, PAIR_SNDBUF

from . import _syscall
from ._syscall import oserror as _oserror

__all__ = list(_std.__all__)

has_ipv6 = False
_TYPE_MASK = 0xF
_KTYPES = (SOCK_STREAM, SOCK_DGRAM, SOCK_RAW)
_DGRAM_F_ERR = 2            # an in-band error datagram (port field = errno)
_UDP_MAX = 65507
_RAW_MAX = 65535
_EOF_POLL = _select.POLLHUP
TCP_LISTEN = 10
TCP_SYN_SENT = 2
_MSG_OOB = int(MSG_OOB)                     # ints: IntFlag arithmetic costs on every send
_NOT_NOSIGNAL = ~int(MSG_NOSIGNAL)
_connecting = {}    # fd -> weakref(socket) with a connect() in progress (see libsock.select)
# socket() calls that go without a round trip (see _kcreate)
_QUICK = frozenset(((SOCK_STREAM, 0), (SOCK_STREAM, IPPROTO_TCP), (SOCK_DGRAM, 0),
                    (SOCK_DGRAM, IPPROTO_UDP)))

_sock_init = _std.socket.__init__
_recv = _socket.socket.recv
_recv_into = _socket.socket.recv_into
_send = _socket.socket.send
_sendall = _socket.socket.sendall
_sendmsg = _socket.socket.sendmsg
_recvmsg_into = _socket.socket.recvmsg_into
_close = _socket.socket.close
_hdr_pack = DGRAM_HDR.pack
_NO_ADDR = DGRAM_HDR.pack(0, 0, 0)
_hdr_unpack = DGRAM_HDR.unpack_from
_inet_aton = _socket.inet_aton
_inet_ntoa = _socket.inet_ntoa
_fstat = os.fstat


class _KInfo:
    """What libsock knows of a kstack socket, by its name (the client end's inode)."""
    __slots__ = ("ino", "family", "type", "proto", "dgram", "refs", "conn", "listening",
                 "last_addr", "last_hdr")

    def __init__(self, ino, family, type_, proto, conn=None, listening=None):
        self.ino = ino
        self.family = family
        self.type = type_
        self.proto = proto
        self.dgram = type_ != SOCK_STREAM
        self.refs = 0
        self.conn = conn            # connected? (None: not known here, e.g. inherited)
        self.listening = listening  # listening? (None: not known)
        self.last_addr = None       # sendto's last numeric address and its datagram header
        self.last_hdr = None


_by_ino = {}        # client-end inode -> _KInfo (process-wide; dup'd fds share it)


def _lookup_fd(fd, family):
    """The kstack socket behind fd, or None for a socket of the real kernel."""
    try:
        ino = _fstat(fd).st_ino
    except OSError:
        return None
    info = _by_ino.get(ino)
    if info is not None or family != AF_INET:
        return info
    # An fd we did not make (inherited through exec, or passed by SCM_RIGHTS):
    # if it is an AF_UNIX socket, the daemon may know it.
    try:
        probe = _socket.socket(fileno=os.dup(fd))
    except OSError:
        return None
    try:
        if probe.family != AF_UNIX:
            return None
    finally:
        probe.close()
    s = _syscall.session()
    s.send_fds(fd, [fd])
    rep = s.call("identify", fd)
    if rep[0] < 0:
        return None
    _, ino2, fam, typ, proto = rep
    info = _KInfo(ino2, fam, typ, proto)
    _by_ino[ino2] = info
    s.known[fd] = ino2
    return info


def _aton(host) -> int:
    return int.from_bytes(_inet_aton(host), "big")


def _check_port(port, what):
    if not isinstance(port, int):
        raise TypeError(f"'{type(port).__name__}' object cannot be interpreted as an integer")
    if not 0 <= port <= 65535:
        raise OverflowError(f"{what}(): port must be 0-65535.")
    return port


def _resolve(address, what="connect"):
    """An AF_INET address tuple -> (dotted host, port), as the C module's getsockaddrarg."""
    if not isinstance(address, tuple):
        raise TypeError(f"AF_INET address must be tuple, not {type(address).__name__}")
    if len(address) != 2:
        raise TypeError("AF_INET address must be a pair (host, port)")
    host, port = address
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("idna")
    if not isinstance(host, str):
        raise TypeError(f"str, bytes or bytearray expected, not {type(host).__name__}")
    port = _check_port(port, what)
    if host == "":
        host = "0.0.0.0"
    elif host == "<broadcast>":
        host = "255.255.255.255"
    else:
        try:
            host = _inet_ntoa(_inet_aton(host)) if host.count(".") == 3 and \
                all(p.isdigit() for p in host.split(".")) else gethostbyname(host)
        except OSError:
            host = gethostbyname(host)
    return host, port


class socket(_std.socket):
    """A socket: kstack's for AF_INET stream/dgram/raw, the kernel's otherwise."""

    __slots__ = ("_k",)

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        self._k = None
        if fileno is None:
            if family == -1:
                family = AF_INET
            if type == -1:
                type = SOCK_STREAM
            if proto == -1:
                proto = 0
            if family == AF_INET and (type & _TYPE_MASK) in _KTYPES:
                self._kcreate(family, type, proto)
                return
            if family == AF_INET6:
                raise _oserror(_errno.EAFNOSUPPORT)
            _sock_init(self, family, type, proto)
            return
        info = None
        if isinstance(fileno, int) and family in (AF_INET, -1):
            info = _lookup_fd(fileno, family)
        if info is None:
            _sock_init(self, family, type, proto, fileno)
            return
        _sock_init(self, info.family, info.type, info.proto, fileno)
        self._k = info
        info.refs += 1

    def _kcreate(self, family, type_, proto):
        base = type_ & _TYPE_MASK
        sess = _syscall.session()
        kind = SOCK_STREAM if base == SOCK_STREAM else SOCK_SEQPACKET
        a, b = _socket.socketpair(AF_UNIX, kind)
        quick = (base, proto) in _QUICK
        try:
            a.setsockopt(SOL_SOCKET, SO_SNDBUF, CLIENT_SNDBUF if kind == SOCK_STREAM else PAIR_SNDBUF)
            fd = a.fileno()
            ino = _fstat(fd).st_ino
            if quick:
                # socket(2) rides the session connection with the fds: no round
                # trip (these combinations fail only for lack of memory; such a
                # failure comes back from the next call on the socket).
                sess.send_fds(fd, [b.fileno(), fd], _packb([family, base, proto]))
            else:
                sess.send_fds(fd, [b.fileno(), fd])
        finally:
            b.close()
        if not quick:
            try:
                r = sess.call("socket", family, base, proto, fd)[0]
            except BaseException:
                a.close()
                raise
            if r < 0:
                a.close()
                raise _oserror(-r)
        _sock_init(self, family, type_, proto, a.detach())
        info = _KInfo(ino, family, base, proto, conn=False, listening=False)
        info.refs = 1
        _by_ino[ino] = info
        sess.known[fd] = ino
        self._k = info
        if type_ & SOCK_NONBLOCK:
            self.setblocking(False)

    # -- the syscall helper ----------------------------------------------------
    def _call(self, name, *args):
        """Round trip naming this socket by its fd; adopts the fd first if the daemon
        does not have it in this session (fork, dup, fromfd)."""
        sess = _syscall.session()
        fd = self.fileno()
        if fd < 0:
            raise _oserror(_errno.EBADF)
        k = self._k
        if sess.known.get(fd) != k.ino:
            return sess.call(name, fd, *args, adopt=(fd, k.ino))
        return sess.call(name, fd, *args)

    def _check(self, rep):
        r = rep[0]
        if r < 0:
            raise _oserror(-r)
        return rep

    def _pending_error(self, default):
        """The error a dead stream carries (ECONNRESET...), else default."""
        err = self._call("geterr")
        if err[0] == 0 and err[1]:
            return _oserror(err[1])
        return _oserror(default)

    def _eof(self):
        """recv() saw EOF: a FIN, or an error the daemon shut the fd for?"""
        p = _select.poll()
        p.register(self.fileno(), _select.POLLIN)
        ev = p.poll(0)
        if ev and ev[0][1] & _EOF_POLL:
            rep = self._call("geterr")
            if rep[0] == 0 and rep[1]:
                raise _oserror(rep[1])

    # -- data ------------------------------------------------------------------
    def recv(self, bufsize, flags=0):
        k = self._k
        if k is None:
            return _recv(self, bufsize, flags)
        if k.dgram:
            return self._drecv(bufsize, flags)[0]
        if self._k.conn is False:
            raise _oserror(_errno.ENOTCONN)
        data = _recv(self, bufsize, flags)
        if not data and bufsize:
            self._eof()
        return data

    def recv_into(self, buffer, nbytes=0, flags=0):
        k = self._k
        if k is None:
            return _recv_into(self, buffer, nbytes, flags)
        if k.dgram:
            data, _ = self._drecv(nbytes or len(buffer), flags)
            n = len(data)
            memoryview(buffer).cast("B")[:n] = data
            return n
        if self._k.conn is False:
            raise _oserror(_errno.ENOTCONN)
        n = _recv_into(self, buffer, nbytes, flags)
        if n == 0 and (nbytes or len(buffer)):
            self._eof()
        return n

    def recvfrom(self, bufsize, flags=0):
        k = self._k
        if k is None:
            return _socket.socket.recvfrom(self, bufsize, flags)
        if k.dgram:
            return self._drecv(bufsize, flags)
        return self.recv(bufsize, flags), None

    def recvfrom_into(self, buffer, nbytes=0, flags=0):
        k = self._k
        if k is None:
            return _socket.socket.recvfrom_into(self, buffer, nbytes, flags)
        if k.dgram:
            data, addr = self._drecv(nbytes or len(buffer), flags)
            n = len(data)
            memoryview(buffer).cast("B")[:n] = data
            return n, addr
        return self.recv_into(buffer, nbytes, flags), None

    def _drecv(self, bufsize, flags):
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        while True:
            raw = _recv(self, bufsize + DGRAM_HLEN, flags)
            if len(raw) < DGRAM_HLEN:
                if not raw:
                    self._eof()
                    return b"", None
                continue
            a, port, fl = _hdr_unpack(raw)
            if fl & _DGRAM_F_ERR:
                raise _oserror(port)
            addr = (_inet_ntoa(a.to_bytes(4, "big")), port)
            return raw[DGRAM_HLEN:], addr

    def send(self, data, flags=0):
        k = self._k
        if k is None:
            return _send(self, data, flags)
        if k.dgram:
            return self._dsend(data, None, flags)
        if self._k.conn is False:
            raise _oserror(_errno.EPIPE if not self._k.listening else _errno.ENOTCONN)
        if flags & _MSG_OOB:
            return self._send_oob(data, flags)
        try:
            return _send(self, data, flags)
        except BrokenPipeError:
            raise self._pending_error(_errno.EPIPE) from None

    def sendall(self, data, flags=0):
        k = self._k
        if k is None:
            return _sendall(self, data, flags)
        if k.dgram:
            self._dsend(data, None, flags)
            return None
        if self._k.conn is False:
            raise _oserror(_errno.EPIPE if not self._k.listening else _errno.ENOTCONN)
        try:
            return _sendall(self, data, flags)
        except BrokenPipeError:
            raise self._pending_error(_errno.EPIPE) from None

    def sendto(self, data, flags_or_addr, addr=None):
        k = self._k
        if addr is None:
            flags, addr = 0, flags_or_addr
        else:
            flags = flags_or_addr
        if k is None:
            return _socket.socket.sendto(self, data, flags, addr)
        if k.dgram:
            return self._dsend(data, addr, flags)
        return self.send(data, flags)

    def _dsend(self, data, addr, flags):
        k = self._k
        if addr is None:
            if k.conn is False:
                raise _oserror(_errno.EDESTADDRREQ)
            hdr = _NO_ADDR
        elif type(addr) is tuple and addr == k.last_addr and type(addr[1]) is int:
            hdr = k.last_hdr            # the same numeric address as last time
        else:
            host, port = _resolve(addr, "sendto")
            hdr = _hdr_pack(_aton(host), port, DGRAM_F_ADDR)
            if host == addr[0]:
                k.last_addr, k.last_hdr = addr, hdr
        n = len(data) if not isinstance(data, memoryview) else data.nbytes
        if n > (_UDP_MAX if self._k.type == SOCK_DGRAM else _RAW_MAX):
            raise _oserror(_errno.EMSGSIZE)
        try:
            return _sendmsg(self, [hdr, data], [], flags & _NOT_NOSIGNAL) - DGRAM_HLEN
        except BrokenPipeError:
            raise self._pending_error(_errno.EPIPE) from None

    def sendmsg(self, buffers, ancdata=(), flags=0, address=None):
        k = self._k
        if k is None or not k.dgram:
            if k is not None and k.conn is False:
                raise _oserror(_errno.EPIPE)
            if address is None:
                return _sendmsg(self, buffers, ancdata, flags)
            return _sendmsg(self, buffers, ancdata, flags, address)
        if ancdata:
            raise _oserror(_errno.EOPNOTSUPP)
        return self._dsend(b"".join(bytes(b) for b in buffers), address, flags)

    def recvmsg(self, bufsize, ancbufsize=0, flags=0):
        k = self._k
        if k is None or not k.dgram:
            return _socket.socket.recvmsg(self, bufsize, ancbufsize, flags)
        data, addr = self._drecv(bufsize, flags)
        return data, [], 0, addr

    def _send_oob(self, data, flags):
        rep = self._call("sendto", flags, None, 0, bytes(data))
        return self._check(rep)[0]

    # -- setup and control (one round trip each) -------------------------------
    def bind(self, address):
        if self._k is None:
            return _socket.socket.bind(self, address)
        host, port = _resolve(address, "bind")
        self._check(self._call("bind", host, port))

    def connect(self, address):
        if self._k is None:
            return _socket.socket.connect(self, address)
        host, port = _resolve(address)
        t = self.gettimeout()
        rep = self._call("connect", host, port, 1 if t == 0.0 else 0, t)
        r = rep[0]
        if r == -_errno.EINPROGRESS:
            self._k.conn = True
            if len(rep) < 2 or rep[1] == TCP_SYN_SENT:
                # still in progress: libsock's select/selectors ask the daemon
                _connecting[self.fileno()] = _weakref.ref(self)
            if t:
                raise TimeoutError("timed out")
            raise _oserror(_errno.EINPROGRESS)
        if r < 0:
            if r == -_errno.EALREADY and t:
                raise TimeoutError("timed out")
            raise _oserror(-r)
        self._k.conn = True
        self._k.listening = False

    def connect_ex(self, address):
        try:
            self.connect(address)
        except TimeoutError as e:
            return e.errno or _errno.EAGAIN
        except OSError as e:
            return e.errno
        return 0

    def listen(self, backlog=None):
        if self._k is None:
            return _socket.socket.listen(self) if backlog is None else \
                _socket.socket.listen(self, backlog)
        if backlog is None:
            backlog = min(SOMAXCONN, 128)
        self._check(self._call("listen", int(backlog)))
        self._k.listening = True
        self._k.conn = False

    def _accept(self):
        if self._k is None:
            return _socket.socket._accept(self)
        raise _oserror(_errno.EOPNOTSUPP)

    def accept(self):
        if self._k is None:
            return _std.socket.accept(self)
        if self._k.dgram:
            raise _oserror(_errno.EOPNOTSUPP)
        if self._k.listening is None:
            rep = self._call("info")
            self._k.listening = rep[0] == 0 and rep[5] == TCP_LISTEN
        if not self._k.listening:
            raise _oserror(_errno.EINVAL)
        sess = _syscall.session()
        while True:
            tok = _recv(self, 1)          # waits (blocking/timeout/nonblocking) like accept(2)
            if not tok:
                # EOF: the listener was shut down (EINVAL, as Linux), or the
                # daemon died; the round trip tells (it raises ENETDOWN then).
                self._call("info")
                raise _oserror(_errno.EINVAL)
            a, b = _socket.socketpair(AF_UNIX, SOCK_STREAM)
            try:
                a.setsockopt(SOL_SOCKET, SO_SNDBUF, CLIENT_SNDBUF)
                nfd = a.fileno()
                ino = _fstat(nfd).st_ino
                sess.send_fds(nfd, [b.fileno(), nfd])
            finally:
                b.close()
            try:
                rep = self._call("accept", nfd, 1)
            except BaseException:
                a.close()
                raise
            if rep[0] < 0:
                a.close()
                if rep[0] == -_errno.EAGAIN:
                    continue        # another process took it; wait for the next token
                raise _oserror(-rep[0])
            _, host, port = rep
            k = self._k
            sock = socket.__new__(socket)
            _sock_init(sock, k.family, SOCK_STREAM, k.proto, a.detach())
            info = _KInfo(ino, k.family, SOCK_STREAM, k.proto, conn=True, listening=False)
            info.refs = 1
            _by_ino[ino] = info
            sess.known[nfd] = ino
            sock._k = info
            if getdefaulttimeout() is None and self.gettimeout():
                sock.setblocking(True)
            return sock, (host, port)

    def getsockname(self):
        if self._k is None:
            return _socket.socket.getsockname(self)
        rep = self._check(self._call("getsockname"))
        return rep[1], rep[2]

    def getpeername(self):
        if self._k is None:
            return _socket.socket.getpeername(self)
        rep = self._check(self._call("getpeername"))
        return rep[1], rep[2]

    def setsockopt(self, level, optname, value, optlen=None):
        if self._k is None:
            if optlen is None:
                return _socket.socket.setsockopt(self, level, optname, value)
            return _socket.socket.setsockopt(self, level, optname, value, optlen)
        if value is None:
            value = b"\0" * (optlen or 0)
        elif not isinstance(value, int):
            value = bytes(value)
        if level == SOL_SOCKET and optname in (SO_RCVTIMEO, SO_SNDTIMEO):
            # the fd's own reads and writes must honour it too
            _socket.socket.setsockopt(self, level, optname, value)
        self._check(self._call("setsockopt", level, optname, value))
        if level == SOL_SOCKET and optname == SO_SNDBUF and isinstance(value, int) \
                and not self._k.dgram:        # a datagram must always fit the pair
            # what the fd holds before the daemon takes it follows SO_SNDBUF
            _socket.socket.setsockopt(self, SOL_SOCKET, SO_SNDBUF,
                                      max(4608, min(CLIENT_SNDBUF, value)))

    def getsockopt(self, level, optname, buflen=None):
        if self._k is None:
            if buflen is None:
                return _socket.socket.getsockopt(self, level, optname)
            return _socket.socket.getsockopt(self, level, optname, buflen)
        k = self._k
        if level == SOL_SOCKET and buflen is None:
            if optname == SO_TYPE:
                return k.type
            if optname == SO_DOMAIN:
                return k.family
            if optname == SO_PROTOCOL:
                return k.proto or {SOCK_STREAM: IPPROTO_TCP, SOCK_DGRAM: IPPROTO_UDP}.get(k.type, 0)
        rep = self._check(self._call("getsockopt", level, optname, buflen))
        v = rep[1]
        if buflen is None:
            if isinstance(v, (bytes, bytearray)):
                v = int.from_bytes(bytes(v[:4]).ljust(4, b"\0"), _sys.byteorder, signed=True)
            return v
        if isinstance(v, int):
            v = v.to_bytes(4, _sys.byteorder, signed=True)
        return bytes(v)[:buflen]

    def shutdown(self, how):
        if self._k is None:
            return _socket.socket.shutdown(self, how)
        if how not in (SHUT_RD, SHUT_WR, SHUT_RDWR):
            raise _oserror(_errno.EINVAL)
        if self._k.conn and not self._k.dgram:
            if how != SHUT_RD:
                # In-band: the daemon reads every byte written before this EOF.
                _socket.socket.shutdown(self, SHUT_WR)
            if how != SHUT_WR:
                self._check(self._call("shutdown", SHUT_RD))
            return
        self._check(self._call("shutdown", how))

    def ioctl(self, *a):
        raise AttributeError("ioctl")

    def _real_close(self, _ss=_socket.socket):
        k = self._k
        if k is not None:
            fd = _ss.fileno(self)
            _connecting.pop(fd, None)
            sess = _syscall.current()
            if fd >= 0 and sess is not None and sess.known.get(fd) == k.ino:
                del sess.known[fd]
                sess.notify("close", fd, k.ino)
            k.refs -= 1
            if k.refs <= 0 and _by_ino.get(k.ino) is k:
                del _by_ino[k.ino]
        _ss.close(self)

    def detach(self):
        k = self._k
        if k is not None:
            sess = _syscall.current()
            fd = _socket.socket.fileno(self)
            # the fd lives on; libsock.socket(fileno=fd) finds it again by inode
            k.refs -= 1
            if k.refs <= 0:
                k.refs = 0
        return _std.socket.detach(self)

    def dup(self):
        if self._k is None:
            return _std.socket.dup(self)
        fd = os.dup(self.fileno())
        sock = socket.__new__(socket)
        k = self._k
        _sock_init(sock, k.family, k.type, k.proto, fd)
        sock._k = k
        k.refs += 1
        sock.settimeout(self.gettimeout())
        return sock

    def __getstate__(self):
        raise TypeError(f"cannot pickle {self.__class__.__name__!r} object")


SocketType = socket


def _rebind(fn):
    """The stdlib's own function, with this module's globals (so it makes our sockets)."""
    f = _FunctionType(fn.__code__, globals(), fn.__name__, fn.__defaults__, fn.__closure__)
    f.__kwdefaults__ = fn.__kwdefaults__
    f.__doc__ = fn.__doc__
    f.__qualname__ = fn.__qualname__
    return f


create_connection = _rebind(_std.create_connection)
create_server = _rebind(_std.create_server)
fromfd = _rebind(_std.fromfd)
socketpair = _rebind(_std.socketpair)
has_dualstack_ipv6 = _rebind(_std.has_dualstack_ipv6)
getfqdn = _rebind(_std.getfqdn)
_socket_dup = os.dup
dup = os.dup


def _local_name(host: str) -> bool:
    h = host.lower().rstrip(".")
    return h in ("localhost", "localhost.localdomain") or h == _std.gethostname().lower()


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """AF_INET only (this host has no IPv6): numeric addresses, localhost and this
    host's name map to kstack addresses; other names use the system resolver."""
    if family not in (0, AF_UNSPEC, AF_INET):
        raise gaierror(EAI_FAMILY, "ai_family not supported")
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("idna")
    if isinstance(host, str) and _local_name(host):
        host = "127.0.0.1"
    return _std.getaddrinfo(host, port, AF_INET, type, proto, flags)


def gethostbyname(hostname):
    if isinstance(hostname, (bytes, bytearray)):
        hostname = bytes(hostname).decode("idna")
    if _local_name(hostname):
        return "127.0.0.1"
    return _std.gethostbyname(hostname)


def gethostbyname_ex(hostname):
    if _local_name(hostname):
        return hostname, [], ["127.0.0.1"]
    return _std.gethostbyname_ex(hostname)


def __getattr__(name):
    return getattr(_std, name)
