"""net/socket.c: struct socket, the protocol-family registry and the socket syscalls.

Entry points take the session's FilesStruct first (fs/file.py) and return an
int (>= 0 success, -errno), a tuple for multi-value results, or a
core.wait.Blocked when the file is blocking and the call must sleep. A
Blocked's retry() re-runs the call (finishing it as the syscall would: fd
install, address conversion) and keeps the first deadline, so its ``timeo``
is always the time left (SO_RCVTIMEO/SO_SNDTIMEO as the kernel's
schedule_timeout counts it down).

Addresses at this boundary are the stdlib's: ('10.0.0.1', 80). '' is
INADDR_ANY and '<broadcast>' INADDR_BROADCAST, as Python's socket module
reads them; host names are the client's business (-EINVAL here). A
3-tuple (family, host, port) gives an explicit sa_family, so a client can
pass AF_UNSPEC (connect() to dissolve a UDP association) or a wrong family
(-EAFNOSUPPORT, as Linux). Results name addresses the same way.

SIGPIPE: a stream socket whose send fails with EPIPE and no MSG_NOSIGNAL
gets SIGPIPE in Linux (sk_stream_error). Here the call returns -EPIPE and
appends SIGPIPE to ``files.pending_signals``; the daemon raises it in the
client.

getsockopt values: see core/sock.py (buflen 0 -> an int, else bytes; a
negative int comes back as OptInt so ``type(r) is int and r < 0`` is
exactly "an errno").
"""
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Optional

from ..core.errno import (EFAULT, EAFNOSUPPORT, EBADF, EEXIST, EINVAL, ENOBUFS, ENOTTY, EOPNOTSUPP,
                          EPIPE)
from ..core.sock import (AF_INET, AF_PACKET, AF_UNSPEC, ENOIOCTLCMD, MSG_CMSG_CLOEXEC,
                         MSG_DONTWAIT, MSG_NOSIGNAL, NPROTO, SOCK_CLOEXEC, SOCK_MAX,
                         SOCK_NONBLOCK, SOCK_PACKET, SOCK_STREAM, SOCK_TYPE_MASK, SOL_SOCKET,
                         Msghdr, OptInt, SockaddrIn, msg_data_left, recv_msghdr, sock_getsockopt,
                         sock_setsockopt)
from ..core.wait import Blocked, WaitQueueHead
from ..fs.file import (O_CLOEXEC, O_NONBLOCK, O_RDWR, SIGPIPE, Cred, File, FileOperations,
                       FilesStruct, alloc_fd, close_fd, fd_install, sockfd_lookup, sys_dup,
                       sys_dup2, sys_dup3, sys_fcntl)

# socket_state (include/uapi/linux/net.h)
SS_FREE = 0
SS_UNCONNECTED = 1
SS_CONNECTING = 2
SS_CONNECTED = 3
SS_DISCONNECTING = 4

# socket->flags bits (include/linux/net.h)
SOCKWQ_ASYNC_NOSPACE = 0
SOCKWQ_ASYNC_WAITDATA = 1
SOCK_NOSPACE = 2
SOCK_PASSCRED = 3
SOCK_PASSSEC = 4
SOCK_SUPPORT_ZC = 5
SOCK_CUSTOM_SOCKOPT = 6
SOCK_PASSPIDFD = 7

SHUT_RD = 0
SHUT_WR = 1
SHUT_RDWR = 2

# ioctls (include/uapi/asm-generic/ioctls.h, linux/sockios.h)
FIONREAD = 0x541B
SIOCINQ = FIONREAD
TIOCOUTQ = 0x5411
SIOCOUTQ = TIOCOUTQ
FIONBIO = 0x5421
FIOCLEX = 0x5451
FIONCLEX = 0x5450
FIOASYNC = 0x5452
SIOCOUTQNSD = 0x894B
SIOCATMARK = 0x8905
SIOCGSTAMP_OLD = 0x8906
FIOSETOWN = 0x8901
SIOCSPGRP = 0x8902
FIOGETOWN = 0x8903
SIOCGPGRP = 0x8904

SOMAXCONN = 4096

__all__ = [
    "Socket", "ProtoOps", "NetProtoFamily", "net_families", "sock_register", "sock_unregister",
    "sock_create", "sock_create_kern", "sock_alloc", "sock_release", "sock_alloc_file",
    "sock_poll", "sock_sendmsg", "sock_recvmsg", "move_addr_to_kernel", "move_addr_to_user",
    "__sys_socket", "__sys_socketpair", "__sys_bind", "__sys_connect", "__sys_listen",
    "__sys_accept4", "__sys_sendto", "__sys_recvfrom", "__sys_sendmsg", "__sys_recvmsg",
    "__sys_shutdown", "__sys_getsockname", "__sys_getpeername", "__sys_setsockopt",
    "__sys_getsockopt", "sys_close", "sys_ioctl", "sys_fcntl", "sys_dup", "sys_dup2",
    "sys_dup3", "sockfd_lookup", "sys_call_table", "Msghdr", "SockaddrIn", "OptInt",
]


class Socket:
    """struct socket: the file side of a socket."""

    __slots__ = ("state", "type", "flags", "file", "sk", "ops", "wq", "cred", "exiting",
                 "__weakref__")

    def __init__(self):
        self.state = SS_UNCONNECTED
        self.type = 0
        self.flags = 0
        self.file = None
        self.sk = None
        self.ops: Optional[ProtoOps] = None
        self.wq = WaitQueueHead()
        self.cred = None
        self.exiting = False        # released by a dying client (no SO_LINGER wait)

    def __repr__(self):
        fam = self.ops.family if self.ops else "?"
        return f"<socket family={fam} type={self.type} state={self.state} sk={self.sk!r}>"


@dataclass(eq=False)
class ProtoOps:
    """struct proto_ops. Signatures:
      release(sock) -> 0 | Blocked          bind(sock, uaddr: SockaddrIn) -> int
      connect(sock, uaddr, flags) -> int | Blocked        (flags: the file's f_flags)
      socketpair(sock1, sock2) -> int
      accept(sock, newsock, flags) -> int | Blocked      (flags: the listener's f_flags)
      getname(sock, peer) -> SockaddrIn | -errno
      poll(file, sock, pt) -> EPOLL mask    ioctl(sock, cmd, arg) -> int
      listen(sock, backlog) -> int          shutdown(sock, how) -> int (how: SHUT_RD..)
      setsockopt(sock, level, optname, optval) -> int
      getsockopt(sock, level, optname, buflen) -> int | bytes | -errno
      sendmsg(sock, msg: Msghdr, size) -> int | Blocked
      recvmsg(sock, msg: Msghdr, size, flags) -> int | Blocked
    """
    family: int
    release: Optional[Callable] = None
    bind: Optional[Callable] = None
    connect: Optional[Callable] = None
    socketpair: Optional[Callable] = None
    accept: Optional[Callable] = None
    getname: Optional[Callable] = None
    poll: Optional[Callable] = None
    ioctl: Optional[Callable] = None
    listen: Optional[Callable] = None
    shutdown: Optional[Callable] = None
    setsockopt: Optional[Callable] = None
    getsockopt: Optional[Callable] = None
    sendmsg: Optional[Callable] = None
    recvmsg: Optional[Callable] = None
    set_rcvlowat: Optional[Callable] = None


@dataclass(eq=False)
class NetProtoFamily:
    """struct net_proto_family: create(net, sock, protocol, kern) -> 0 | -errno."""
    family: int
    create: Callable


net_families: list = [None] * NPROTO


def sock_register(ops: NetProtoFamily) -> int:
    if ops.family < 0 or ops.family >= NPROTO:
        return -ENOBUFS
    if net_families[ops.family] is not None and net_families[ops.family] is not ops:
        return -EEXIST
    net_families[ops.family] = ops
    return 0


def sock_unregister(family: int) -> None:
    net_families[family] = None


# --- sockets and files -----------------------------------------------------------
def sock_alloc() -> Socket:
    return Socket()


def sock_release(sock: Socket):
    """__sock_release: the protocol's release, then the socket is empty."""
    r = 0
    ops = sock.ops
    if ops is not None and ops.release is not None:
        r = ops.release(sock)
    sock.ops = None
    sock.file = None
    return r


def sock_close(file: File):
    sock = file.private_data
    return sock_release(sock)


def sock_poll(file: File, pt=None) -> int:
    """The socket's EPOLL readiness mask (ops.poll)."""
    sock = file.private_data
    ops = sock.ops
    if ops is None or ops.poll is None:
        return 0
    return ops.poll(file, sock, pt)


def sock_ioctl(file: File, cmd: int, arg: int = 0):
    sock = file.private_data
    if cmd in (FIOSETOWN, SIOCSPGRP):
        return 0
    if cmd in (FIOGETOWN, SIOCGPGRP):
        return 0
    return sock_do_ioctl(sock.sk.sk_net if sock.sk else None, sock, cmd, arg)


def sock_do_ioctl(net, sock: Socket, cmd: int, arg: int):
    ops = sock.ops
    if ops is None or ops.ioctl is None:
        return -ENOTTY
    err = ops.ioctl(sock, cmd, arg)
    if err != -ENOIOCTLCMD:
        return err
    return -ENOTTY


socket_file_ops = FileOperations("socket", release=sock_close, poll=sock_poll,
                                 unlocked_ioctl=sock_ioctl)


def sock_alloc_file(sock: Socket, flags: int = 0, cred: Optional[Cred] = None) -> File:
    f = File(socket_file_ops, sock, O_RDWR | (flags & O_NONBLOCK), cred)
    sock.file = f
    return f


def sock_create(net, family: int, type_: int, protocol: int, kern: int = 0,
                cred: Optional[Cred] = None):
    """__sock_create: (0, sock) or (-errno, None)."""
    if family < 0 or family >= NPROTO:
        return -EAFNOSUPPORT, None
    if type_ < 0 or type_ >= SOCK_MAX:
        return -EINVAL, None
    if family == AF_INET and type_ == SOCK_PACKET:
        family = AF_PACKET   # the old SOCK_PACKET interface lives in AF_PACKET
    sock = sock_alloc()
    sock.type = type_
    sock.cred = cred if cred is not None else Cred()
    pf = net_families[family]
    if pf is None:
        return -EAFNOSUPPORT, None
    err = pf.create(net, sock, protocol, kern)
    if err < 0:
        sock.ops = None
        return err, None
    return 0, sock


def sock_create_kern(net, family: int, type_: int, protocol: int):
    return sock_create(net, family, type_, protocol, kern=1)


def sock_sendmsg(sock: Socket, msg: Msghdr):
    return sock.ops.sendmsg(sock, msg, msg_data_left(msg))


def sock_recvmsg(sock: Socket, msg: Msghdr, flags: int):
    return sock.ops.recvmsg(sock, msg, msg.iov_len, flags)


# --- addresses at the boundary -----------------------------------------------------
def _aton(host) -> int:
    if host == "" or host is None:
        return 0
    if host == "<broadcast>":
        return 0xFFFFFFFF
    if isinstance(host, int):
        return host & 0xFFFFFFFF if 0 <= host <= 0xFFFFFFFF else -1
    if not isinstance(host, str):
        return -1
    parts = host.split(".")
    if len(parts) != 4:
        return -1
    a = 0
    for p in parts:
        if not p.isdigit() or len(p) > 3:
            return -1
        v = int(p)
        if v > 255:
            return -1
        a = (a << 8) | v
    return a


def move_addr_to_kernel(addr):
    """('a.b.c.d', port) | (family, 'a.b.c.d', port) | (AF_UNSPEC,) | SockaddrIn -> SockaddrIn,
    or -EINVAL when it is not an address."""
    if isinstance(addr, SockaddrIn):
        return addr
    if not isinstance(addr, (tuple, list)):
        return -EINVAL
    family = AF_INET
    if len(addr) >= 1 and isinstance(addr[0], int) and not isinstance(addr[0], bool):
        family = addr[0]
        addr = tuple(addr[1:])
        if family == AF_UNSPEC and len(addr) == 0:
            return SockaddrIn(AF_UNSPEC, 0, 0)
    if len(addr) != 2:
        return -EINVAL
    host, port = addr
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 0xFFFF:
        return -EINVAL
    a = _aton(host)
    if a < 0:
        return -EINVAL
    return SockaddrIn(family, a, port)


def move_addr_to_user(sa) -> Optional[tuple]:
    if sa is None:
        return None
    return (_ntoa(sa.sin_addr), sa.sin_port)


@lru_cache(maxsize=1024)
def _ntoa(a: int) -> str:
    """Dotted quad of a host-order address (memoised: every datagram received names one)."""
    return f"{(a >> 24) & 255}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"


# --- blocking ---------------------------------------------------------------------------
def _finish_blocking(net, r, finish):
    """Pass a result through ``finish``; a Blocked gets a retry that finishes too and a
    deadline fixed at the first sleep (timeo counts down over retries)."""
    if type(r) is not Blocked:
        return finish(r) if finish is not None else r
    clock = net.clock
    deadline = None if r.timeo is None else clock.now() + r.timeo
    return _rewrap(clock, r, finish, deadline)


def _rewrap(clock, b: Blocked, finish, deadline):
    inner = b.retry

    def retry():
        r2 = inner()
        if type(r2) is Blocked:
            if deadline is not None:
                r2.timeo = max(0.0, deadline - clock.now())
            return _rewrap(clock, r2, finish, deadline)
        return finish(r2) if finish is not None else r2

    on_timeout = b.on_timeout
    if finish is not None and on_timeout is not None:
        ot = on_timeout
        on_timeout = lambda: _finish_err(ot(), finish)
    return Blocked(b.wq, b.mask, retry, b.timeo, on_timeout, b.on_signal, b.what)


def _finish_err(r, finish):
    if isinstance(r, int) and r < 0:
        return r
    return finish(r)


def _net_of(files: FilesStruct, sock: Socket):
    sk = sock.sk
    if sk is not None and sk.sk_net is not None:
        return sk.sk_net
    return files.net


# --- the syscalls -------------------------------------------------------------------------
def __sys_socket(files: FilesStruct, family: int, type_: int, protocol: int):
    flags = type_ & ~SOCK_TYPE_MASK
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        return -EINVAL
    type_ &= SOCK_TYPE_MASK
    err, sock = sock_create(files.net, family, type_, protocol, 0, files.cred)
    if err < 0:
        return err
    return sock_map_fd(files, sock, flags & (O_CLOEXEC | O_NONBLOCK))


def sock_map_fd(files: FilesStruct, sock: Socket, flags: int) -> int:
    fd = alloc_fd(files, 0)
    if fd < 0:
        sock_release(sock)
        return fd
    f = sock_alloc_file(sock, flags, files.cred)
    return fd_install(files, fd, f, flags)


def __sys_socketpair(files: FilesStruct, family: int, type_: int, protocol: int):
    flags = type_ & ~SOCK_TYPE_MASK
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        return -EINVAL
    type_ &= SOCK_TYPE_MASK
    err, sock1 = sock_create(files.net, family, type_, protocol, 0, files.cred)
    if err < 0:
        return err
    err, sock2 = sock_create(files.net, family, type_, protocol, 0, files.cred)
    if err < 0:
        sock_release(sock1)
        return err
    op = sock1.ops.socketpair
    err = op(sock1, sock2) if op is not None else -EOPNOTSUPP
    if err < 0:
        sock_release(sock2)
        sock_release(sock1)
        return err
    fd1 = sock_map_fd(files, sock1, flags & (O_CLOEXEC | O_NONBLOCK))
    if fd1 < 0:
        sock_release(sock2)
        return fd1
    fd2 = sock_map_fd(files, sock2, flags & (O_CLOEXEC | O_NONBLOCK))
    if fd2 < 0:
        close_fd(files, fd1)
        return fd2
    return fd1, fd2


def _lookup(files: FilesStruct, fd: int):
    sock = sockfd_lookup(files, fd)
    return sock


def __sys_bind(files: FilesStruct, fd: int, addr) -> int:
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    sa = move_addr_to_kernel(addr)
    if isinstance(sa, int):
        return sa
    return sock.ops.bind(sock, sa)


def __sys_connect(files: FilesStruct, fd: int, addr):
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    sa = move_addr_to_kernel(addr)
    if isinstance(sa, int):
        return sa
    r = sock.ops.connect(sock, sa, sock.file.f_flags)
    return _finish_blocking(_net_of(files, sock), r, None)


def __sys_listen(files: FilesStruct, fd: int, backlog: int) -> int:
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    somaxconn = _net_of(files, sock).core.sysctl_somaxconn
    if (backlog & 0xFFFFFFFF) > somaxconn:
        backlog = somaxconn
    return sock.ops.listen(sock, backlog)


def __sys_accept4(files: FilesStruct, fd: int, flags: int = 0):
    """(newfd, (ip, port)) | -errno | Blocked. flags: SOCK_NONBLOCK | SOCK_CLOEXEC for the new fd."""
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    if flags & ~(SOCK_CLOEXEC | SOCK_NONBLOCK):
        return -EINVAL
    fd = alloc_fd(files, 0)
    if fd < 0:
        return fd
    ops = sock.ops
    if ops.accept is None:
        return -EOPNOTSUPP
    newsock = sock_alloc()
    newsock.type = sock.type
    newsock.ops = ops
    newsock.cred = files.cred
    file_flags = flags & (O_NONBLOCK | O_CLOEXEC)

    def attempt():
        return ops.accept(sock, newsock, sock.file.f_flags | file_flags)

    def finish(err):
        if err < 0:
            return err
        newfile = sock_alloc_file(newsock, file_flags, files.cred)
        peer = ops.getname(newsock, 1) if ops.getname else None
        newfd = alloc_fd(files, 0)
        if newfd < 0:
            fput_file(newfile)
            return newfd
        fd_install(files, newfd, newfile, file_flags)
        return newfd, (move_addr_to_user(peer) if isinstance(peer, SockaddrIn) else None)

    return _finish_blocking(_net_of(files, sock), attempt(), finish)


def fput_file(file: File) -> None:
    file.f_count += 1
    from ..fs.file import fput
    fput(file)


def _sigpipe(files: FilesStruct, sock: Socket, flags: int, r):
    if r == -EPIPE and type(r) is int and sock.type == SOCK_STREAM and not flags & MSG_NOSIGNAL:
        files.pending_signals.append(SIGPIPE)
    return r


def __sys_sendto(files: FilesStruct, fd: int, data, flags: int = 0, addr=None):
    """nbytes | -errno | Blocked. MSG_DONTWAIT, MSG_NOSIGNAL, MSG_MORE, MSG_CONFIRM..."""
    sock = sockfd_lookup(files, fd)
    if isinstance(sock, int):
        return sock
    return ____sys_sendmsg(files, sock, data, addr, None, flags)


def ____sys_sendmsg(files: FilesStruct, sock: Socket, data, addr, ancdata, flags: int):
    """What sendto and sendmsg share once they hold the socket: the address in
    (move_addr_to_kernel), O_NONBLOCK as MSG_DONTWAIT, sock_sendmsg, SIGPIPE on EPIPE."""
    name = None
    if addr is not None:
        name = move_addr_to_kernel(addr)
        if isinstance(name, int):
            return name
    if sock.file.f_flags & O_NONBLOCK:
        flags |= MSG_DONTWAIT
    control = None if ancdata is None else [(lv, ty, bytes(d)) for lv, ty, d in ancdata]
    msg = Msghdr(data, name, control, 0, flags)
    r = sock.ops.sendmsg(sock, msg, msg.iov_len)
    if type(r) is Blocked:
        return _finish_blocking(_net_of(files, sock), r,
                                lambda r: _sigpipe(files, sock, flags, r))
    return _sigpipe(files, sock, flags, r) if r == -EPIPE else r


def __sys_sendmsg(files: FilesStruct, fd: int, buffers, ancdata=(), flags: int = 0, addr=None):
    """sendmsg(2) as Python's socket.sendmsg(buffers, ancdata, flags, address)."""
    if isinstance(buffers, (bytes, bytearray, memoryview)):
        data = buffers
    elif isinstance(buffers, (list, tuple)) and all(
            isinstance(b, (bytes, bytearray, memoryview)) for b in buffers):
        data = b"".join(buffers)
    else:
        return -EFAULT   # an iovec that is not memory: copy_msghdr_from_user fails
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    return ____sys_sendmsg(files, sock, data, addr, ancdata, flags)


def __sys_recvfrom(files: FilesStruct, fd: int, size: int, flags: int = 0):
    """(bytes, addr|None) | -errno | Blocked. With MSG_TRUNC a datagram longer than size comes
    back zero-padded to its real length, as Python's recvfrom shows it."""
    if size < 0:
        return -EINVAL
    sock = sockfd_lookup(files, fd)
    if isinstance(sock, int):
        return sock
    if sock.file.f_flags & O_NONBLOCK:
        flags |= MSG_DONTWAIT
    msg = recv_msghdr(size)
    r = sock.ops.recvmsg(sock, msg, size, flags)
    if type(r) is Blocked:
        return _finish_blocking(_net_of(files, sock), r, lambda n: _recvfrom_finish(msg, n))
    return _recvfrom_finish(msg, r)


def _recvfrom_finish(msg, n):
    """recvfrom's copy-out: the bytes (zero-padded to n with MSG_TRUNC) and the sender."""
    if n < 0:
        return n
    data = bytes(msg.msg_iter)
    if n > len(data):
        data += bytes(n - len(data))
    return data, move_addr_to_user(msg.msg_name)


def __sys_recvmsg(files: FilesStruct, fd: int, size: int, ancbufsize: int = 0, flags: int = 0):
    """(data, ancdata, msg_flags, addr) as Python's socket.recvmsg | -errno | Blocked."""
    if size < 0 or ancbufsize < 0:
        return -EINVAL
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    if sock.file.f_flags & O_NONBLOCK:
        flags |= MSG_DONTWAIT
    msg = recv_msghdr(size, ancbufsize)
    flags &= ~MSG_CMSG_CLOEXEC

    def attempt():
        return sock.ops.recvmsg(sock, msg, size, flags)

    def finish(n):
        if n < 0:
            return n
        return bytes(msg.msg_iter), list(msg.msg_control), msg.msg_flags, move_addr_to_user(msg.msg_name)

    return _finish_blocking(_net_of(files, sock), attempt(), finish)


def __sys_shutdown(files: FilesStruct, fd: int, how: int) -> int:
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    if sock.ops.shutdown is None:
        return -EOPNOTSUPP
    return sock.ops.shutdown(sock, how)


def _getname(files, fd, peer):
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    sa = sock.ops.getname(sock, peer)
    if isinstance(sa, int):
        return sa
    return move_addr_to_user(sa)


def __sys_getsockname(files: FilesStruct, fd: int):
    return _getname(files, fd, 0)


def __sys_getpeername(files: FilesStruct, fd: int):
    return _getname(files, fd, 1)


def __sys_setsockopt(files: FilesStruct, fd: int, level: int, optname: int, value) -> int:
    """value: an int or bytes, as Python's setsockopt (None with optlen is not supported:
    pass bytes)."""
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    if level == SOL_SOCKET:
        return sock_setsockopt(sock, level, optname, value)
    if sock.ops.setsockopt is None:
        return -EOPNOTSUPP
    return sock.ops.setsockopt(sock, level, optname, value)


def __sys_getsockopt(files: FilesStruct, fd: int, level: int, optname: int, buflen: int = 0):
    sock = _lookup(files, fd)
    if isinstance(sock, int):
        return sock
    if buflen < 0:
        return -EINVAL
    if level == SOL_SOCKET:
        return sock_getsockopt(sock, level, optname, buflen)
    if sock.ops.getsockopt is None:
        return -EOPNOTSUPP
    return sock.ops.getsockopt(sock, level, optname, buflen)


def sys_close(files: FilesStruct, fd: int):
    return close_fd(files, fd)


def sys_ioctl(files: FilesStruct, fd: int, cmd: int, arg: int = 0):
    """ioctl(2) on a socket: FIONBIO/FIOCLEX/FIONCLEX here (fs/ioctl.c), the rest to the
    socket (FIONREAD/SIOCINQ, SIOCOUTQ...). Returns the int the kernel stores at *arg, 0, or
    -errno."""
    file = files.fdt.get(fd)
    if file is None:
        return -EBADF
    if cmd == FIONBIO:
        if arg:
            file.f_flags |= O_NONBLOCK
        else:
            file.f_flags &= ~O_NONBLOCK
        return 0
    if cmd == FIOCLEX:
        files.close_on_exec.add(fd)
        return 0
    if cmd == FIONCLEX:
        files.close_on_exec.discard(fd)
        return 0
    if cmd == FIOASYNC:
        return 0
    if file.f_op.unlocked_ioctl is None:
        return -ENOTTY
    return file.f_op.unlocked_ioctl(file, cmd, arg)


sys_call_table = {
    "socket": __sys_socket, "socketpair": __sys_socketpair, "bind": __sys_bind,
    "connect": __sys_connect, "listen": __sys_listen, "accept4": __sys_accept4,
    "sendto": __sys_sendto, "recvfrom": __sys_recvfrom, "sendmsg": __sys_sendmsg,
    "recvmsg": __sys_recvmsg, "shutdown": __sys_shutdown, "getsockname": __sys_getsockname,
    "getpeername": __sys_getpeername, "setsockopt": __sys_setsockopt,
    "getsockopt": __sys_getsockopt, "close": sys_close, "ioctl": sys_ioctl, "fcntl": sys_fcntl,
    "dup": sys_dup, "dup2": sys_dup2, "dup3": sys_dup3,
}
