"""The daemon's view of the in-process socket layer (kstack/net/socket.py, kstack/fs).

The syscall server and the data pump call the stack only through these
names, so the entry points' module lives in one place: the kernel's
``__sys_*`` functions over a FilesStruct (kstack/fs/file.py). The daemon keeps
one FilesStruct (``kfiles``) holding every socket it serves; a client
session's own table maps the client's real fd numbers to those files.
"""
import importlib

_m = None
_f = None


def load():
    """Import the socket layer (lazily: the daemon starts without it in bring-up)."""
    global _m, _f
    if _m is None:
        _m = importlib.import_module("kstack.net.socket")
        _f = importlib.import_module("kstack.fs.file")
    return _m


def files_struct(net):
    """The daemon's own table: every socket it serves, at daemon-chosen numbers."""
    load()
    return _f.FilesStruct(first_fd=0, max_fds=1 << 24, net=net)


def sys_socket(files, family, type_, proto):
    return getattr(load(), "__sys_socket")(files, family, type_, proto)


def sys_bind(files, fd, addr):
    return getattr(load(), "__sys_bind")(files, fd, addr)


def sys_connect(files, fd, addr):
    return getattr(load(), "__sys_connect")(files, fd, addr)


def sys_listen(files, fd, backlog):
    return getattr(load(), "__sys_listen")(files, fd, backlog)


def sys_accept4(files, fd, flags):
    return getattr(load(), "__sys_accept4")(files, fd, flags)


def sys_sendto(files, fd, data, flags, addr):
    return getattr(load(), "__sys_sendto")(files, fd, data, flags, addr)


def sys_recvfrom(files, fd, size, flags):
    return getattr(load(), "__sys_recvfrom")(files, fd, size, flags)


def sys_shutdown(files, fd, how):
    return getattr(load(), "__sys_shutdown")(files, fd, how)


def sys_getsockname(files, fd):
    return getattr(load(), "__sys_getsockname")(files, fd)


def sys_getpeername(files, fd):
    return getattr(load(), "__sys_getpeername")(files, fd)


def sys_setsockopt(files, fd, level, opt, value):
    return getattr(load(), "__sys_setsockopt")(files, fd, level, opt, value)


def sys_getsockopt(files, fd, level, opt, buflen):
    return getattr(load(), "__sys_getsockopt")(files, fd, level, opt, buflen or 0)


def sys_close(files, fd):
    return load().sys_close(files, fd)


def sys_ioctl(files, fd, cmd, arg):
    return load().sys_ioctl(files, fd, cmd, arg)


def sys_fcntl(files, fd, cmd, arg):
    return load().sys_fcntl(files, fd, cmd, arg)


def fget(files, fd):
    """The struct file at fd, or None."""
    load()
    return _f.fget(files, fd)


def file_sock(file):
    """The struct sock behind a socket file (None once released)."""
    sock = getattr(file, "private_data", None)
    return getattr(sock, "sk", None)


def file_wq(file):
    """The socket's wait queue (struct socket.wq; sk.sk_wq points to it)."""
    return file.private_data.wq


def sock_poll(file) -> int:
    load()
    return _m.sock_poll(file)


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


from ..core.sock import SockaddrIn as _SockaddrIn  # noqa: E402
