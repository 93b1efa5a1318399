"""fs/file.c, fs/file_table.c, fs/fcntl.c, include/linux/fdtable.h: struct file and the fd table.

One FilesStruct per client session (a process's files_struct). A socket is a
File whose private_data is the Socket and whose f_op is socket_file_ops;
the socket is released when the last fd naming the File goes (fput ->
f_op.release -> sock_close -> sock_release -> ops.release).

fd numbers: the lowest free number at or above ``files.first_fd`` (3 by
default: the client's stdio is not ours; a session may say 0), below
``max_fds`` (RLIMIT_NOFILE, 1024) else -EMFILE. fd_install() may also put a
File at a number the caller chose (the daemon mirrors the client's real fd
numbers); a File already there is closed first, as dup2 does.

``files.cred`` holds the session's credentials (uid, gid, CAP_NET_RAW,
CAP_NET_BIND_SERVICE, CAP_NET_ADMIN: all granted by default, the daemon
plays root). ``files.pending_signals`` collects signals a call raised
(SIGPIPE from a stream send without MSG_NOSIGNAL); the caller delivers them.
"""
from dataclasses import dataclass
from typing import Any, Callable, Optional

from ..core.errno import EBADF, EINVAL, EMFILE, ENOTSOCK

O_RDONLY = 0
O_WRONLY = 1
O_RDWR = 2
O_ACCMODE = 3
O_APPEND = 0o2000
O_NONBLOCK = 0o4000
O_NDELAY = O_NONBLOCK
O_DIRECT = 0o40000
O_NOATIME = 0o1000000
O_CLOEXEC = 0o2000000
FASYNC = 0o20000
SETFL_MASK = O_APPEND | O_NONBLOCK | O_NDELAY | FASYNC | O_DIRECT | O_NOATIME

FD_CLOEXEC = 1
F_DUPFD = 0
F_GETFD = 1
F_SETFD = 2
F_GETFL = 3
F_SETFL = 4
F_DUPFD_CLOEXEC = 1030

RLIMIT_NOFILE_DEFAULT = 1024
SIGPIPE = 13


class Cred:
    """struct cred: who the session runs as, and the capabilities the stack checks."""

    __slots__ = ("uid", "gid", "groups", "cap_net_raw", "cap_net_bind_service", "cap_net_admin")

    def __init__(self, uid: int = 0, gid: int = 0, groups=(), cap_net_raw: bool = True,
                 cap_net_bind_service: bool = True, cap_net_admin: bool = True):
        self.uid = uid
        self.gid = gid
        self.groups = tuple(groups)
        self.cap_net_raw = cap_net_raw
        self.cap_net_bind_service = cap_net_bind_service
        self.cap_net_admin = cap_net_admin


@dataclass(eq=False)
class FileOperations:
    """struct file_operations (the parts sockets and epoll use)."""
    name: str
    release: Optional[Callable] = None          # (file) -> 0 | Blocked
    poll: Optional[Callable] = None             # (file, pt) -> mask
    unlocked_ioctl: Optional[Callable] = None   # (file, cmd, arg) -> int
    read_iter: Optional[Callable] = None
    write_iter: Optional[Callable] = None


class File:
    """struct file."""

    __slots__ = ("f_flags", "f_mode", "f_op", "private_data", "f_count", "f_cred", "f_ep",
                 "f_pos", "__weakref__")

    def __init__(self, f_op: FileOperations, private_data: Any, f_flags: int = O_RDWR,
                 f_cred: Optional[Cred] = None):
        self.f_op = f_op
        self.private_data = private_data
        self.f_flags = f_flags
        self.f_mode = 3
        self.f_count = 0
        self.f_cred = f_cred
        self.f_ep = None       # epoll items watching this file (eventpoll.py)
        self.f_pos = 0

    def __repr__(self):
        return f"<file {self.f_op.name} count={self.f_count} flags={oct(self.f_flags)}>"


class FilesStruct:
    """struct files_struct: one client session's fd table."""

    def __init__(self, first_fd: int = 3, max_fds: int = RLIMIT_NOFILE_DEFAULT,
                 cred: Optional[Cred] = None, net=None):
        self.fdt: dict[int, File] = {}
        self.close_on_exec: set[int] = set()
        self.first_fd = first_fd
        self.max_fds = max_fds
        self.cred = cred if cred is not None else Cred()
        self.net = net                    # the namespace this session's sockets are made in
        self.pending_signals: list[int] = []
        self.exiting = False

    def __repr__(self):
        return f"<files_struct fds={sorted(self.fdt)}>"


def alloc_fd(files: FilesStruct, start: int = 0, flags: int = 0) -> int:
    """Lowest free fd >= max(start, first_fd); -EMFILE past RLIMIT_NOFILE."""
    fd = max(start, files.first_fd)
    fdt = files.fdt
    while fd in fdt:
        fd += 1
    if fd >= files.max_fds:
        return -EMFILE
    return fd


get_unused_fd_flags = alloc_fd


def fd_install(files: FilesStruct, fd: int, file: File, flags: int = 0) -> int:
    """Put file at fd (closing what was there); O_CLOEXEC in flags sets FD_CLOEXEC."""
    if fd < 0 or fd >= files.max_fds:
        return -EBADF
    old = files.fdt.get(fd)
    files.fdt[fd] = file
    file.f_count += 1
    if flags & O_CLOEXEC:
        files.close_on_exec.add(fd)
    else:
        files.close_on_exec.discard(fd)
    if old is not None:
        fput(old)
    return fd


def fget(files: FilesStruct, fd: int) -> Optional[File]:
    return files.fdt.get(fd)


fdget = fget


def fput(file: File):
    """Drop one reference; the last one releases the file (socket close)."""
    file.f_count -= 1
    if file.f_count > 0:
        return 0
    return __fput(file)


def __fput(file: File):
    if file.f_ep:
        from .eventpoll import eventpoll_release
        eventpoll_release(file)
    rel = file.f_op.release
    if rel is None:
        return 0
    return rel(file)


def close_fd(files: FilesStruct, fd: int):
    """close(2): 0 or -EBADF. (A lingering TCP close may return the Blocked its
    protocol gave; the fd is gone either way.)"""
    file = files.fdt.pop(fd, None)
    if file is None:
        return -EBADF
    files.close_on_exec.discard(fd)
    r = fput(file)
    if isinstance(r, int):
        return 0
    return r


def files_close_all(files: FilesStruct) -> None:
    """The client died: close every fd (never lingering, as for an exiting task)."""
    files.exiting = True
    for fd in sorted(files.fdt):
        file = files.fdt.pop(fd)
        sock = file.private_data
        if hasattr(sock, "exiting"):
            sock.exiting = True
        fput(file)
    files.close_on_exec.clear()


def dup_fd(files: FilesStruct) -> FilesStruct:
    """fork(): a new table naming the same Files."""
    n = FilesStruct(files.first_fd, files.max_fds, files.cred, files.net)
    for fd, f in files.fdt.items():
        n.fdt[fd] = f
        f.f_count += 1
    n.close_on_exec = set(files.close_on_exec)
    return n


def sys_dup(files: FilesStruct, fd: int) -> int:
    file = files.fdt.get(fd)
    if file is None:
        return -EBADF
    newfd = alloc_fd(files, 0)
    if newfd < 0:
        return newfd
    fd_install(files, newfd, file)
    return newfd


def do_dup2(files: FilesStruct, file: File, fd: int, flags: int = 0) -> int:
    return fd_install(files, fd, file, flags)


def sys_dup3(files: FilesStruct, oldfd: int, newfd: int, flags: int = 0) -> int:
    if type(newfd) is not int or type(oldfd) is not int or type(flags) is not int:
        return -EBADF if type(flags) is int else -EINVAL   # fds are unsigned ints
    if flags & ~O_CLOEXEC:
        return -EINVAL
    if oldfd == newfd:
        return -EINVAL
    if newfd < 0 or newfd >= files.max_fds:
        return -EBADF
    file = files.fdt.get(oldfd)
    if file is None:
        return -EBADF
    return do_dup2(files, file, newfd, flags)


def sys_dup2(files: FilesStruct, oldfd: int, newfd: int) -> int:
    if type(newfd) is not int or type(oldfd) is not int:
        return -EBADF
    if oldfd == newfd:
        return oldfd if oldfd in files.fdt else -EBADF
    return sys_dup3(files, oldfd, newfd, 0)


def sys_fcntl(files: FilesStruct, fd: int, cmd: int, arg: int = 0) -> int:
    """F_GETFL/F_SETFL (O_NONBLOCK, O_APPEND...), F_GETFD/F_SETFD, F_DUPFD(_CLOEXEC)."""
    file = files.fdt.get(fd)
    if file is None:
        return -EBADF
    if cmd == F_GETFL:
        return file.f_flags & ~O_CLOEXEC
    if cmd == F_SETFL:
        file.f_flags = (file.f_flags & ~SETFL_MASK) | (arg & SETFL_MASK)
        return 0
    if cmd == F_GETFD:
        return FD_CLOEXEC if fd in files.close_on_exec else 0
    if cmd == F_SETFD:
        if arg & FD_CLOEXEC:
            files.close_on_exec.add(fd)
        else:
            files.close_on_exec.discard(fd)
        return 0
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if arg < 0 or arg >= files.max_fds:
            return -EINVAL
        newfd = alloc_fd(files, arg)
        if newfd < 0:
            return newfd
        return fd_install(files, newfd, file, O_CLOEXEC if cmd == F_DUPFD_CLOEXEC else 0)
    return -EINVAL


def sockfd_lookup(files: FilesStruct, fd: int):
    """The Socket behind fd, or -EBADF (no such fd) / -ENOTSOCK (not a socket)."""
    file = files.fdt.get(fd)
    if file is None:
        return -EBADF
    if file.f_op.name != "socket":
        return -ENOTSOCK
    return file.private_data
