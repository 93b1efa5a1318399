"""fs/file.py, fs/select.py, fs/eventpoll.py: the fd table, poll/select and epoll over
kstack sockets. Readiness masks and errnos were compared with Linux 6.18 through the
stdlib select module on this machine (poll after shutdown(SHUT_RDWR) gave 0x2015;
epoll_ctl EEXIST/ENOENT/EINVAL/EBADF/EPERM; ET/ONESHOT/LT sequences as below).
"""
import pytest

from kstack.core.errno import EBADF, EEXIST, EINVAL, ENOENT, ENOTSOCK, EPERM
from kstack.core.sock import AF_INET, SOCK_DGRAM
from kstack.core.wait import (EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLNVAL, EPOLLOUT, EPOLLRDHUP,
                              EPOLLRDNORM, Blocked)
from kstack.fs.eventpoll import (EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLLET,
                                 EPOLLEXCLUSIVE, EPOLLONESHOT)
from kstack.fs.file import (File, FileOperations, FilesStruct, alloc_fd, close_fd, dup_fd,
                            fd_install, fget, files_close_all, sockfd_lookup, sys_dup2, sys_dup3)
from kstack.net.socket import SHUT_RDWR, SHUT_RD
from tests.lib.syscalls import World


def err(e):
    return e.value.errno


@pytest.fixture
def h():
    return World().host("h")


def bound(h, port=0):
    s = h.socket(AF_INET, SOCK_DGRAM)
    h.bind(s, ("127.0.0.1", port))
    return s


# --- the fd table ----------------------------------------------------------------------------
def test_alloc_fd_lowest_free_and_first_fd():
    f = FilesStruct(first_fd=0)
    dummy = FileOperations("dummy")
    assert alloc_fd(f) == 0
    fd_install(f, 0, File(dummy, None))
    fd_install(f, 2, File(dummy, None))
    assert alloc_fd(f) == 1
    assert alloc_fd(f, 2) == 3
    g = FilesStruct()
    assert alloc_fd(g) == 3


def test_fd_install_at_a_chosen_number_replaces_and_releases(h):
    s = bound(h, 5000)
    other = h.socket()
    sock_file = fget(h.files, s)
    # The daemon mirrors the client's numbers: install the socket's file at 40.
    fd_install(h.files, 40, sock_file)
    assert sockfd_lookup(h.files, 40) is sockfd_lookup(h.files, s)
    fd_install(h.files, s, fget(h.files, other))      # s now names `other`; the socket lives on at 40
    assert h.getsockname(40) == ("127.0.0.1", 5000)
    h.close(40)
    h.bind(h.socket(), ("127.0.0.1", 5000))            # the port was released with the last fd


def test_dup2_dup3(h):
    s = bound(h)
    assert sys_dup2(h.files, s, s) == s
    assert sys_dup2(h.files, 99, 98) == -EBADF
    assert sys_dup3(h.files, s, s) == -EINVAL
    assert sys_dup3(h.files, s, 10, 1) == -EINVAL
    assert sys_dup2(h.files, s, 10) == 10
    assert h.getsockname(10) == h.getsockname(s)
    assert sys_dup2(h.files, s, 5000) == -EBADF        # past RLIMIT_NOFILE (1024)


def test_close_and_lookup_errors(h):
    assert close_fd(h.files, 3) == -EBADF
    assert sockfd_lookup(h.files, 3) == -EBADF
    ep = h.epoll_create1()
    assert sockfd_lookup(h.files, ep) == -ENOTSOCK


def test_files_close_all_and_fork(h):
    a = bound(h, 6001)
    bound(h, 6002)
    child = dup_fd(h.files)
    files_close_all(h.files)
    assert h.files.fdt == {}
    with pytest.raises(OSError):                       # the fork still holds them
        h.bind(h.socket(), ("127.0.0.1", 6001))
    files_close_all(child)
    h.bind(h.socket(), ("127.0.0.1", 6001))
    h.bind(h.socket(), ("127.0.0.1", 6002))
    assert a == 3


# --- poll / select ---------------------------------------------------------------------------------
def test_poll_masks(h):
    s = bound(h)
    assert h.poll([(s, EPOLLIN | EPOLLOUT)], 0) == [(s, EPOLLOUT)]
    assert h.poll([(99, EPOLLIN), (-1, EPOLLIN)], 0) == [(99, EPOLLNVAL)]
    h.sendto(h.socket(), b"x", h.getsockname(s))
    h.world.settle()
    assert h.poll([(s, EPOLLIN)], 0) == [(s, EPOLLIN)]
    c = h.socket()
    h.connect(c, ("127.0.0.1", 9))
    h.shutdown(c, SHUT_RDWR)
    assert h.poll([(c, EPOLLIN | EPOLLOUT | EPOLLRDHUP)], 0) == [(c, 0x2015)]
    v = h.socket()
    with pytest.raises(OSError):
        h.shutdown(v, SHUT_RD)                           # ENOTCONN, but the flag is set
    assert h.poll([(v, EPOLLIN | EPOLLOUT)], 0) == [(v, EPOLLIN | EPOLLOUT)]


def test_poll_blocks_until_data_and_times_out(h):
    s = bound(h)
    t0 = h.world.clock.now()
    assert h.poll([(s, EPOLLIN)], 1500) == []
    assert h.world.clock.now() - t0 == pytest.approx(1.5)
    b = h.poll([(s, EPOLLIN)], -1, block=False)
    assert type(b) is Blocked and b.timeo is None
    h.sendto(h.socket(), b"x", h.getsockname(s))
    assert h.world.wait(b) == [(s, EPOLLIN)]
    # The forwarders were removed: the socket's wait queue is empty again.
    assert not h.sock(s).sk_wq.entries


def test_poll_error_mask_for_pending_socket_error(h):
    c = h.socket()
    h.connect(c, ("127.0.0.1", 9))
    b = h.poll([(c, EPOLLIN)], -1, block=False)
    h.send(c, b"x")
    assert h.world.wait(b) == [(c, EPOLLERR)]


def test_select(h):
    s = bound(h)
    with pytest.raises(OSError) as e:
        h.select([99], timeout=0)
    assert err(e) == EBADF
    with pytest.raises(OSError) as e:
        h.select([s], timeout=-1)
    assert err(e) == EINVAL
    assert h.select([s], [s], [s], 0) == ([], [s], [])
    assert h.select([s], timeout=2.0) == ([], [], [])
    b = h.select([s], block=False)
    h.sendto(h.socket(), b"x", h.getsockname(s))
    assert h.world.wait(b) == ([s], [], [])


# --- epoll ---------------------------------------------------------------------------------------------
def test_epoll_ctl_errors(h):
    assert h.files.fdt == {}
    with pytest.raises(OSError) as e:
        h.epoll_create1(0x10)
    assert err(e) == EINVAL
    ep = h.epoll_create1()
    u = bound(h)
    v = h.socket()
    h.epoll_ctl(ep, EPOLL_CTL_ADD, u, EPOLLIN)
    cases = [((ep, EPOLL_CTL_ADD, u, EPOLLIN), EEXIST), ((ep, EPOLL_CTL_MOD, v, EPOLLIN), ENOENT),
             ((ep, EPOLL_CTL_DEL, v), ENOENT), ((ep, EPOLL_CTL_ADD, ep, EPOLLIN), EINVAL),
             ((ep, EPOLL_CTL_ADD, 99, EPOLLIN), EBADF), ((u, EPOLL_CTL_ADD, v, EPOLLIN), EINVAL),
             ((ep, 7, v, EPOLLIN), EINVAL), ((ep, EPOLL_CTL_MOD, u, EPOLLEXCLUSIVE), EINVAL)]
    for args, code in cases:
        with pytest.raises(OSError) as e:
            h.epoll_ctl(*args)
        assert err(e) == code, args
    nopoll = File(FileOperations("regular"), None)
    fd_install(h.files, 50, nopoll)
    with pytest.raises(OSError) as e:
        h.epoll_ctl(ep, EPOLL_CTL_ADD, 50, EPOLLIN)
    assert err(e) == EPERM
    with pytest.raises(OSError) as e:
        h.epoll_wait(ep, 0, 0)
    assert err(e) == EINVAL


def test_epoll_edge_oneshot_level(h):
    w_ = bound(h)
    me = h.getsockname(w_)
    snd = h.socket()
    e1 = h.epoll_create1()
    h.epoll_ctl(e1, EPOLL_CTL_ADD, w_, EPOLLIN | EPOLLET)
    h.sendto(snd, b"x", me)
    h.world.settle()
    assert h.epoll_wait(e1, 8, 0) == [(w_, EPOLLIN)]
    assert h.epoll_wait(e1, 8, 0) == []
    h.sendto(snd, b"y", me)
    h.world.settle()
    assert h.epoll_wait(e1, 8, 0) == [(w_, EPOLLIN)]
    assert h.epoll_wait(e1, 8, 0) == []
    e2 = h.epoll_create1()
    h.epoll_ctl(e2, EPOLL_CTL_ADD, w_, EPOLLIN | EPOLLONESHOT)
    assert h.epoll_wait(e2, 8, 0) == [(w_, EPOLLIN)]
    assert h.epoll_wait(e2, 8, 0) == []
    h.sendto(snd, b"z", me)
    h.world.settle()
    assert h.epoll_wait(e2, 8, 0) == []                  # disarmed until EPOLL_CTL_MOD
    h.epoll_ctl(e2, EPOLL_CTL_MOD, w_, EPOLLIN)
    assert h.epoll_wait(e2, 8, 0) == [(w_, EPOLLIN)]
    assert h.epoll_wait(e2, 8, 0) == [(w_, EPOLLIN)]      # now level-triggered
    e3 = h.epoll_create1()
    h.epoll_ctl(e3, EPOLL_CTL_ADD, w_, EPOLLIN | EPOLLOUT, data=1234)
    assert h.epoll_wait(e3, 8, 0) == [(1234, EPOLLIN | EPOLLOUT)]
    assert h.epoll_wait(e3, 8, 0) == [(1234, EPOLLIN | EPOLLOUT)]
    ee = h.epoll_create1()
    h.epoll_ctl(ee, EPOLL_CTL_ADD, e3, EPOLLIN)          # an epoll set inside another
    assert h.epoll_wait(ee, 8, 0) == [(e3, EPOLLIN)]
    assert h.poll([(e3, EPOLLIN)], 0) == [(e3, EPOLLIN)]


def test_epoll_wait_blocks_maxevents_and_close_removes(h):
    ep = h.epoll_create1()
    socks = [bound(h) for _ in range(3)]
    for s in socks:
        h.epoll_ctl(ep, EPOLL_CTL_ADD, s, EPOLLIN)
    t0 = h.world.clock.now()
    assert h.epoll_wait(ep, 8, 250) == []
    assert h.world.clock.now() - t0 == pytest.approx(0.25)
    b = h.epoll_wait(ep, 8, -1, block=False)
    assert type(b) is Blocked
    snd = h.socket()
    for s in socks:
        h.sendto(snd, b"x", h.getsockname(s))
    # All three arrived in the same softirq run that woke the waiter.
    assert h.world.wait(b) == [(s, EPOLLIN) for s in socks]
    got = h.epoll_wait(ep, 2, 0)                          # level-triggered: still ready
    assert len(got) == 2
    got += h.epoll_wait(ep, 2, 0)
    assert {fd for fd, _ in got} == set(socks)
    h.close(socks[1])
    assert {fd for fd, _ in h.epoll_wait(ep, 8, 0)} == {socks[0], socks[2]}
    h.close(ep)
    assert all(not h.sock(s).sk_wq.entries for s in (socks[0], socks[2]))


def test_epoll_reports_hup_and_err_unasked(h):
    ep = h.epoll_create1()
    c = h.socket()
    h.connect(c, ("127.0.0.1", 9))
    h.epoll_ctl(ep, EPOLL_CTL_ADD, c, EPOLLRDNORM)
    h.send(c, b"x")
    h.world.settle()
    assert h.epoll_wait(ep, 8, 0) == [(c, EPOLLERR)]
    h.getsockopt(c, 1, 4)                                # SO_ERROR takes it
    h.shutdown(c, SHUT_RDWR)
    assert h.epoll_wait(ep, 8, 0) == [(c, EPOLLHUP | EPOLLRDNORM)]
