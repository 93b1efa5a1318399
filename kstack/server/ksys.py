"""The daemon's view of the in-process socket layer (kstack/net/socket.py, kstack/fs).

The syscall server and the data pump call the stack only through these
names, so the entry points' module is named in one place: the kernel's
``__sys_*`` functions over a FilesStruct (kstack/fs/file.py). The daemon keeps
one FilesStruct (``kfiles``) holding every socket it serves; a client
session's own table maps the client's real fd numbers to those files.
"""
from ..core.sock import SockaddrIn as _SockaddrIn
from ..fs import file as _f
from ..net import socket as _m

# The entry points themselves (bound once: the data pump calls them per chunk).
sys_socket = _m.__sys_socket
sys_bind = _m.__sys_bind
sys_connect = _m.__sys_connect
sys_listen = _m.__sys_listen
sys_accept4 = _m.__sys_accept4
sys_sendto = _m.__sys_sendto           # (files, fd, data, flags, addr)
sys_recvfrom = _m.__sys_recvfrom       # (files, fd, size, flags)
sys_shutdown = _m.__sys_shutdown
sys_getsockname = _m.__sys_getsockname
sys_getpeername = _m.__sys_getpeername
sys_setsockopt = _m.__sys_setsockopt
sys_close = _m.sys_close
sys_ioctl = _m.sys_ioctl
sys_fcntl = _m.sys_fcntl
sock_poll = _m.sock_poll               # (file) -> the socket's EPOLL mask
fget = _f.fget                         # (files, fd) -> the struct file or None


def files_struct(net):
    """The daemon's own table: every socket it serves, at daemon-chosen numbers."""
    return _f.FilesStruct(first_fd=0, max_fds=1 << 24, net=net)


def sys_getsockopt(files, fd, level, opt, buflen):
    return _m.__sys_getsockopt(files, fd, level, opt, buflen or 0)


def file_sock(file):
    """The struct sock behind a socket file (None once released)."""
    sock = getattr(file, "private_data", None)
    return getattr(sock, "sk", None)


def file_wq(file):
    """The socket's wait queue (struct socket.wq; sk.sk_wq points to it)."""
    return file.private_data.wq


def set_nonblock(file, nonblock: bool) -> None:
    O_NONBLOCK = 0o4000
    if nonblock:
        file.f_flags |= O_NONBLOCK
    else:
        file.f_flags &= ~O_NONBLOCK


def set_nospace(file) -> None:
    """SOCK_NOSPACE: a nonblocking sender found the send buffer full, so the stack's
    write-space callback must wake us (tcp_sendmsg_locked sets it at wait_for_space,
    before sk_stream_wait_memory returns -EAGAIN; kstack's TCP sets it only when it
    sleeps, so the pump sets it too)."""
    sk = file_sock(file)
    if sk is not None and hasattr(sk, "sk_socket_nospace"):
        sk.sk_socket_nospace = True


def sockaddr_in(addr: int, port: int):
    """struct sockaddr_in for the __sys_* entry points (they take it as the kernel does)."""
    return _SockaddrIn(2, addr, port)
