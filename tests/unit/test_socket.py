"""net/socket.py and core/sock.py: the syscall entry points, fd plumbing and SOL_SOCKET
options, against what Linux 6.18 answered on this machine (stdlib socket module probes
so.py and sk.py; net.core.{w,r}mem_max were 4194304 there, so the tests set the same).
"""
import struct

import pytest

from kstack.core.errno import (EACCES, EAFNOSUPPORT, EAGAIN, EBADF, EINVAL, EMFILE, ENODEV,
                               ENOPROTOOPT, ENOTCONN, ENOTSOCK, EOPNOTSUPP, EPERM,
                               EPROTONOSUPPORT, ESOCKTNOSUPPORT)
from kstack.core.sock import (AF_INET, MSG_DONTWAIT, SO_ACCEPTCONN, SO_BINDTODEVICE, SO_BROADCAST,
                              SO_DOMAIN, SO_DONTROUTE, SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_MARK,
                              SO_OOBINLINE, SO_PRIORITY, SO_PROTOCOL, SO_RCVBUF, SO_RCVLOWAT,
                              SO_RCVTIMEO, SO_REUSEADDR, SO_REUSEPORT, SO_SNDBUF, SO_SNDBUFFORCE,
                              SO_SNDLOWAT, SO_SNDTIMEO, SO_TYPE, SOCK_CLOEXEC, SOCK_DGRAM,
                              SOCK_NONBLOCK, SOCK_RAW, SOCK_STREAM, SOL_SOCKET, OptInt)
from kstack.core.wait import Blocked, EPOLLIN, wake_up
from kstack.fs.file import (F_DUPFD, F_GETFD, F_GETFL, F_SETFD, F_SETFL, O_APPEND, O_NONBLOCK,
                            O_WRONLY, Cred)
from kstack.net import socket as ksock
from kstack.net.socket import FIONBIO, sys_call_table
from tests.lib.syscalls import World, check

INT_MAX = 2**31 - 1


def err(e) -> int:
    return e.value.errno


@pytest.fixture
def h():
    w = World()
    h = w.host("h")
    h.sysctl("net.core.wmem_max", 4194304)
    h.sysctl("net.core.rmem_max", 4194304)
    return h


def tcp_available() -> bool:
    from kstack.net.ipv4.af_inet import inetsw
    return bool(inetsw[SOCK_STREAM])


# --- socket() (sk.py) -------------------------------------------------------------------------
@pytest.mark.parametrize("family,type_,proto,expect", [
    (2, 2, 0, 0), (2, 2, 17, 0), (2, 2, 6, EPROTONOSUPPORT), (2, 2, 255, EPROTONOSUPPORT),
    (2, 2, 1, EACCES),                        # ping_group_range "1 0": nobody, root included
    (2, 3, 0, EPROTONOSUPPORT), (2, 3, 1, 0), (2, 3, 255, 0), (2, 3, 17, 0), (2, 3, 262, 0),
    (2, 5, 0, ESOCKTNOSUPPORT), (2, 4, 0, ESOCKTNOSUPPORT),
    (2, 11, 0, EINVAL), (2, 12, 0, EINVAL), (2, 2, 263, EINVAL), (2, 1 | 0x100, 0, EINVAL),
    (99, 1, 0, EAFNOSUPPORT), (46, 1, 0, EAFNOSUPPORT), (45, 1, 0, EAFNOSUPPORT),
    (0, 1, 0, EAFNOSUPPORT), (10, 2, 0, EAFNOSUPPORT),
])
def test_socket_errnos(h, family, type_, proto, expect):
    r = getattr(ksock, "__sys_socket")(h.files, family, type_, proto)
    if expect:
        assert r == -expect
    else:
        assert r >= 3


@pytest.mark.parametrize("proto,expect", [(0, 0), (6, 0), (17, EPROTONOSUPPORT), (263, EINVAL)])
def test_socket_stream(h, proto, expect):
    if not tcp_available():
        pytest.skip("TCP (tcp_prot) is not in the tree yet")
    r = getattr(ksock, "__sys_socket")(h.files, AF_INET, SOCK_STREAM, proto)
    assert r == -expect if expect else r >= 3


def test_socket_without_tcp_is_esocktnosupport(h):
    if tcp_available():
        pytest.skip("TCP is registered")
    assert getattr(ksock, "__sys_socket")(h.files, AF_INET, SOCK_STREAM, 0) == -ESOCKTNOSUPPORT


def test_fd_numbers_flags_and_emfile(h):
    a = h.socket(AF_INET, SOCK_DGRAM)
    b = h.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC)
    assert (a, b) == (3, 4)
    assert h.fcntl(a, F_GETFL) == 2 and h.fcntl(a, F_GETFD) == 0
    assert h.fcntl(b, F_GETFL) == 0o4002 and h.fcntl(b, F_GETFD) == 1
    h.close(a)
    assert h.socket() == 3                        # lowest free
    h.files.max_fds = 6
    h.socket()
    with pytest.raises(OSError) as e:
        h.socket()
    assert err(e) == EMFILE


def test_raw_needs_cap_net_raw(h):
    p = h.process(cred=Cred(uid=1000, gid=1000, cap_net_raw=False))
    with pytest.raises(OSError) as e:
        p.socket(AF_INET, SOCK_RAW, 1)
    assert err(e) == EPERM


def test_bad_fds(h):
    with pytest.raises(OSError) as e:
        h.bind(77, ("0.0.0.0", 0))
    assert err(e) == EBADF
    ep = h.epoll_create1()
    for call in (lambda: h.bind(ep, ("0.0.0.0", 0)), lambda: h.getsockname(ep),
                 lambda: h.setsockopt(ep, SOL_SOCKET, SO_REUSEADDR, 1)):
        with pytest.raises(OSError) as e:
            call()
        assert err(e) == ENOTSOCK
    with pytest.raises(OSError) as e:
        h.close(77)
    assert err(e) == EBADF


def test_address_validation(h):
    s = h.socket()
    for bad in ("1.2.3.4", ("1.2.3", 5), ("localhost", 5), ("1.2.3.4", 70000), ("1.2.3.4", -1),
                ("1.2.3.4", 1, 2, 3)):
        with pytest.raises(OSError) as e:
            h.bind(s, bad)
        assert err(e) == EINVAL
    with pytest.raises(OSError) as e:
        h.bind(s, (10, "1.2.3.4", 5))              # AF_INET6 on an AF_INET socket
    assert err(e) == EAFNOSUPPORT
    h.bind(s, ("", 0))                              # "" is INADDR_ANY, as Python reads it
    assert h.getsockname(s)[0] == "0.0.0.0"


def test_listen_accept_on_datagram_sockets(h):
    s = h.socket()
    with pytest.raises(OSError) as e:
        h.listen(s, 1)
    assert err(e) == EOPNOTSUPP
    with pytest.raises(OSError) as e:
        h.accept(s)
    assert err(e) == EOPNOTSUPP
    with pytest.raises(OSError) as e:
        h.getpeername(s)
    assert err(e) == ENOTCONN
    assert h.getsockname(s) == ("0.0.0.0", 0)


def test_socketpair_inet_is_eopnotsupp(h):
    r = getattr(ksock, "__sys_socketpair")(h.files, AF_INET, SOCK_DGRAM, 0)
    assert r == -EOPNOTSUPP


def test_sys_call_table_names(h):
    assert sys_call_table["socket"] is getattr(ksock, "__sys_socket")
    assert set(sys_call_table) >= {"socket", "bind", "connect", "listen", "accept4", "sendto",
                                   "recvfrom", "sendmsg", "recvmsg", "shutdown", "getsockname",
                                   "getpeername", "setsockopt", "getsockopt", "close", "ioctl",
                                   "fcntl", "dup"}


# --- fcntl / ioctl / dup -------------------------------------------------------------------------
def test_fcntl_like_linux(h):
    s = h.socket()
    h.fcntl(s, F_SETFL, O_NONBLOCK | O_APPEND | O_WRONLY)
    assert h.fcntl(s, F_GETFL) == 0o6002          # access mode cannot change; O_APPEND can
    with pytest.raises(OSError) as e:
        h.fcntl(s, 9999)
    assert err(e) == EINVAL
    assert h.fcntl(s, F_DUPFD, 100) == 100
    h.fcntl(s, F_SETFD, 5)
    assert h.fcntl(s, F_GETFD) == 1


def test_fionbio_makes_calls_nonblocking(h):
    s = h.socket()
    h.bind(s, ("127.0.0.1", 0))
    h.ioctl(s, FIONBIO, 1)
    with pytest.raises(OSError) as e:
        h.recv(s, 10)
    assert err(e) == EAGAIN
    h.ioctl(s, FIONBIO, 0)
    r = h.recvfrom(s, 10, block=False)
    assert type(r) is Blocked


def test_unknown_ioctl_is_enotty(h):
    s = h.socket()
    with pytest.raises(OSError) as e:
        h.ioctl(s, 0x1234)
    assert e.value.errno == 25


def test_dup_keeps_socket_until_last_close(h):
    s = h.socket()
    h.bind(s, ("127.0.0.1", 6000))
    d = h.dup(s)
    h.close(s)
    assert h.getsockname(d) == ("127.0.0.1", 6000)
    with pytest.raises(OSError):
        h.bind(h.socket(), ("127.0.0.1", 6000))
    h.close(d)
    h.bind(h.socket(), ("127.0.0.1", 6000))


# --- blocking plumbing ------------------------------------------------------------------------------
def test_blocked_keeps_its_deadline_across_spurious_wakeups(h):
    s = h.socket()
    h.bind(s, ("127.0.0.1", 0))
    h.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, struct.pack("qq", 5, 0))
    b = h.recvfrom(s, 10, block=False)
    assert type(b) is Blocked and b.timeo == pytest.approx(5.0)
    h.world.clock.advance(2.0)
    wake_up(b.wq, EPOLLIN)                   # nothing arrived: sleep again
    b2 = b.retry()
    assert type(b2) is Blocked and b2.timeo == pytest.approx(3.0)
    assert b2.on_timeout() == -EAGAIN
    assert b2.on_signal() == -4


def test_msg_dontwait(h):
    s = h.socket()
    h.bind(s, ("127.0.0.1", 0))
    with pytest.raises(OSError) as e:
        h.recvfrom(s, 10, MSG_DONTWAIT)
    assert err(e) == EAGAIN


# --- SOL_SOCKET options (so.py) ------------------------------------------------------------------------
@pytest.mark.parametrize("val,snd,rcv", [
    (0, 4608, 2304), (1, 4608, 2304), (1000, 4608, 2304), (2303, 4608, 4606), (2304, 4608, 4608),
    (4608, 9216, 9216), (100000, 200000, 200000), (10**9, 8388608, 8388608),
    (-1, 8388608, 8388608), (-5, 8388608, 8388608),
])
def test_so_sndbuf_rcvbuf_doubled_and_clamped(h, val, snd, rcv):
    s = h.socket()
    assert h.getsockopt(s, SOL_SOCKET, SO_SNDBUF) == 212992        # net.core.wmem_default
    assert h.getsockopt(s, SOL_SOCKET, SO_RCVBUF) == 212992
    h.setsockopt(s, SOL_SOCKET, SO_SNDBUF, val)
    h.setsockopt(s, SOL_SOCKET, SO_RCVBUF, val)
    assert h.getsockopt(s, SOL_SOCKET, SO_SNDBUF) == snd
    assert h.getsockopt(s, SOL_SOCKET, SO_RCVBUF) == rcv
    assert h.sock(s).sk_userlocks & 3 == 3


def test_so_sndbufforce_passes_wmem_max_and_needs_cap(h):
    s = h.socket()
    h.setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, 10**8)
    assert h.getsockopt(s, SOL_SOCKET, SO_SNDBUF) == 200000000
    p = h.process(cred=Cred(uid=1000, gid=1000, cap_net_admin=False))
    t = p.socket()
    with pytest.raises(OSError) as e:
        p.setsockopt(t, SOL_SOCKET, SO_SNDBUFFORCE, 10**8)
    assert err(e) == EPERM


def test_so_linger(h):
    s = h.socket()
    assert h.getsockopt(s, SOL_SOCKET, SO_LINGER, 8) == bytes(8)
    assert h.getsockopt(s, SOL_SOCKET, SO_LINGER) == 0
    assert h.getsockopt(s, SOL_SOCKET, SO_LINGER, 100) == bytes(8)
    h.setsockopt(s, SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 5))
    assert h.getsockopt(s, SOL_SOCKET, SO_LINGER, 8) == struct.pack("ii", 1, 5)
    h.setsockopt(s, SOL_SOCKET, SO_LINGER, (1, 7))          # the tuple form
    assert h.getsockopt(s, SOL_SOCKET, SO_LINGER, 8) == struct.pack("ii", 1, 7)
    for bad in (b"\x01\0\0\0", 1):
        with pytest.raises(OSError) as e:
            h.setsockopt(s, SOL_SOCKET, SO_LINGER, bad)
        assert err(e) == EINVAL
    # l_linger -1 -> MAX_SCHEDULE_TIMEOUT, read back as (LONG_MAX / HZ) cut to an int.
    h.setsockopt(s, SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, -1))
    assert h.getsockopt(s, SOL_SOCKET, SO_LINGER, 8) == b"\x01\x00\x00\x00\xdfO\x8d\x97"


def test_so_rcvtimeo(h):
    s = h.socket()
    tv = lambda sec, usec: struct.pack("qq", sec, usec)   # noqa: E731
    assert h.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, 16) == tv(0, 0)
    assert h.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO) == 0
    assert h.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, 8) == bytes(8)
    h.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, tv(1, 500000))
    assert h.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, 16) == tv(1, 500000)
    with pytest.raises(OSError) as e:
        h.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, tv(1, 1000000))
    assert e.value.errno == 33       # EDOM
    for bad in (struct.pack("q", 1), 5):
        with pytest.raises(OSError) as e:
            h.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, bad)
        assert err(e) == EINVAL
    h.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, tv(0, 1))           # one jiffy at HZ=250
    assert h.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, 16) == tv(0, 4000)
    h.setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, tv(-1, 0))          # negative: do not wait at all
    assert h.getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, 16) == tv(0, 0)
    h.bind(s, ("127.0.0.1", 0))
    with pytest.raises(OSError) as e:
        h.recv(s, 10)
    assert err(e) == EAGAIN
    h.setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, tv(1, 500000) + b"xxxx")   # longer is fine
    assert h.getsockopt(s, SOL_SOCKET, SO_SNDTIMEO, 16) == tv(1, 500000)


# (option, default, value after set 1, after set 7, after set -3) from so.py
INT_OPTS = [
    (SO_BROADCAST, 0, 1, 1, 1), (SO_PRIORITY, 0, 1, 7, -3), (SO_MARK, 0, 1, 7, -3),
    (SO_RCVLOWAT, 1, 1, 7, INT_MAX), (SO_OOBINLINE, 0, 1, 1, 1), (SO_DONTROUTE, 0, 1, 1, 1),
    (SO_REUSEADDR, 0, 1, 1, 1), (SO_REUSEPORT, 0, 1, 1, 1), (SO_KEEPALIVE, 0, 1, 1, 1),
]


@pytest.mark.parametrize("opt,default,v1,v7,vneg", INT_OPTS)
def test_int_options(h, opt, default, v1, v7, vneg):
    s = h.socket()
    assert h.getsockopt(s, SOL_SOCKET, opt) == default
    assert h.getsockopt(s, SOL_SOCKET, opt, 4) == struct.pack("i", default)
    assert h.getsockopt(s, SOL_SOCKET, opt, 2) == struct.pack("i", default)[:2]
    assert h.getsockopt(s, SOL_SOCKET, opt, 8) == struct.pack("i", default)
    h.setsockopt(s, SOL_SOCKET, opt, 1)
    assert h.getsockopt(s, SOL_SOCKET, opt) == v1
    h.setsockopt(s, SOL_SOCKET, opt, 7)
    assert h.getsockopt(s, SOL_SOCKET, opt) == v7
    with pytest.raises(OSError) as e:
        h.setsockopt(s, SOL_SOCKET, opt, b"\x01")
    assert err(e) == EINVAL
    h.setsockopt(s, SOL_SOCKET, opt, b"\x01\0\0\0\0\0\0\0")
    h.setsockopt(s, SOL_SOCKET, opt, -3)
    got = h.getsockopt(s, SOL_SOCKET, opt)
    assert got == vneg
    if vneg < 0:
        assert type(got) is OptInt and check(got) == vneg   # a value, not an errno


@pytest.mark.parametrize("opt,val", [(SO_ERROR, 0), (SO_TYPE, 2), (SO_PROTOCOL, 17), (SO_DOMAIN, 2),
                                     (SO_ACCEPTCONN, 0), (SO_SNDLOWAT, 1)])
def test_read_only_options(h, opt, val):
    s = h.socket()
    assert h.getsockopt(s, SOL_SOCKET, opt) == val
    for v in (1, 7, b"\x01\0\0\0\0\0\0\0", -3):
        with pytest.raises(OSError) as e:
            h.setsockopt(s, SOL_SOCKET, opt, v)
        assert err(e) == ENOPROTOOPT
    with pytest.raises(OSError) as e:
        h.setsockopt(s, SOL_SOCKET, opt, b"\x01")
    assert err(e) == EINVAL


def test_getsockopt_lengths_and_unknowns(h):
    s = h.socket()
    assert h.getsockopt(s, SOL_SOCKET, SO_TYPE, 3) == b"\x02\x00\x00"
    assert h.getsockopt(s, SOL_SOCKET, SO_TYPE, 1) == b"\x02"
    assert h.getsockopt(s, SOL_SOCKET, SO_TYPE, 100) == b"\x02\x00\x00\x00"
    for call, code in ((lambda: h.setsockopt(s, SOL_SOCKET, 9999, 1), ENOPROTOOPT),
                       (lambda: h.getsockopt(s, SOL_SOCKET, 9999), ENOPROTOOPT),
                       (lambda: h.setsockopt(s, 99, 1, 1), ENOPROTOOPT),
                       (lambda: h.getsockopt(s, 99, 1), EOPNOTSUPP),
                       (lambda: h.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, b""), EINVAL)):
        with pytest.raises(OSError) as e:
            call()
        assert err(e) == code


def test_so_bindtodevice(h):
    s = h.socket()
    h.setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, b"lo")
    assert h.getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, 16) == b"lo\x00"
    for bad in (b"nope0", b"a" * 20):
        with pytest.raises(OSError) as e:
            h.setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, bad)
        assert err(e) == ENODEV
    h.setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, b"")
    assert h.getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, 16) == b""
    assert h.getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE) == 0
    h.setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, b"lo\0xx")
    assert h.getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, 16) == b"lo\x00"
    with pytest.raises(OSError) as e:
        h.getsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, 2)
    assert err(e) == EINVAL


def test_so_keepalive_calls_the_protocol_hook(h):
    seen = []
    s = h.socket()
    sk = h.sock(s)
    from dataclasses import replace
    sk.sk_prot = replace(sk.sk_prot, keepalive=lambda sk_, v: seen.append(v))
    h.setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, 5)
    h.setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, 0)
    assert seen == [1, 0]


def test_sigpipe_flag_for_stream_sockets_only(h):
    if not tcp_available():
        pytest.skip("TCP (tcp_prot) is not in the tree yet")
    # Linux: send() on a fresh TCP socket is EPIPE, with SIGPIPE unless MSG_NOSIGNAL.
    s = h.socket(AF_INET, SOCK_STREAM)
    with pytest.raises(OSError) as e:
        h.send(s, b"x")
    assert err(e) == 32 and h.files.pending_signals == [13]
    from kstack.core.sock import MSG_NOSIGNAL
    h.files.pending_signals.clear()
    with pytest.raises(OSError) as e:
        h.send(s, b"x", MSG_NOSIGNAL)
    assert err(e) == 32 and h.files.pending_signals == []


def test_ioctl_fionbio_then_sendto_unconnected_blocks_never(h):
    s = h.socket()
    h.ioctl(s, FIONBIO, 1)
    assert h.fcntl(s, F_GETFL) & O_NONBLOCK
    assert h.sendto(s, b"x", ("127.0.0.1", 9)) == 1


def test_more_sol_socket_reads_like_linux(h):
    # Linux 6.18 on this machine, getsockopt(SOL_SOCKET, opt, 64) on a fresh UDP socket.
    s = h.socket()
    assert h.getsockopt(s, SOL_SOCKET, 17, 64) == b"\0\0\0\0" + b"\xff" * 8   # SO_PEERCRED
    assert h.getsockopt(s, SOL_SOCKET, 47, 64) == b"\xff" * 8                  # SO_MAX_PACING_RATE
    assert h.getsockopt(s, SOL_SOCKET, 49, 64) == b"\xff" * 4                  # SO_INCOMING_CPU
    assert h.getsockopt(s, SOL_SOCKET, 57, 64) == struct.pack("<Q", 1)         # SO_COOKIE
    for call in (lambda: h.getsockopt(s, SOL_SOCKET, 16), lambda: h.setsockopt(s, SOL_SOCKET, 16, 1)):
        with pytest.raises(OSError) as e:                                     # SO_PASSCRED
            call()
        assert err(e) == EOPNOTSUPP
