"""UDP through the socket API: the same body on Linux and on kstack."""
import errno

import pytest

LO = "127.0.0.1"


def udp(S, timeout=5):
    s = S.socket(S.AF_INET, S.SOCK_DGRAM)
    s.bind((LO, 0))
    s.settimeout(timeout)
    return s


def test_sendto_recvfrom(net):
    S = net.socket
    a, b = udp(S), udp(S)
    assert a.type == S.SOCK_DGRAM
    a.sendto(b"one", b.getsockname())
    a.sendto(b"two!", b.getsockname())
    assert b.recvfrom(100) == (b"one", a.getsockname())
    assert b.recvfrom(100) == (b"two!", a.getsockname())
    b.sendto(b"back", a.getsockname())
    assert a.recv(100) == b"back"
    a.close()
    b.close()


def test_unbound_sendto_autobinds(net):
    S = net.socket
    b = udp(S)
    a = S.socket(S.AF_INET, S.SOCK_DGRAM)
    assert a.getsockname() == ("0.0.0.0", 0)
    a.sendto(b"x", b.getsockname())
    port = a.getsockname()[1]
    assert port != 0
    data, addr = b.recvfrom(10)
    assert data == b"x" and addr[1] == port
    a.close()
    b.close()


def test_boundaries_and_truncation(net):
    S = net.socket
    a, b = udp(S), udp(S)
    a.sendto(b"0123456789", b.getsockname())
    a.sendto(b"ab", b.getsockname())
    assert b.recv(4) == b"0123"          # the rest of that datagram is gone
    assert b.recv(100) == b"ab"
    a.close()
    b.close()


def test_connected_udp(net):
    S = net.socket
    a, b = udp(S), udp(S)
    a.connect(b.getsockname())
    assert a.getpeername() == b.getsockname()
    a.send(b"hi")
    data, addr = b.recvfrom(10)
    assert data == b"hi" and addr == a.getsockname()
    b.sendto(b"yo", a.getsockname())
    assert a.recvfrom(10) == (b"yo", b.getsockname())
    a.close()
    b.close()


def test_connected_udp_filters_other_sources(net):
    S = net.socket
    a, b, c = udp(S), udp(S), udp(S, timeout=0.3)
    c.connect(a.getsockname())
    b.sendto(b"not from a", c.getsockname())
    a.sendto(b"from a", c.getsockname())
    assert c.recv(100) == b"from a"
    with pytest.raises(TimeoutError):
        c.recv(100)
    for x in (a, b, c):
        x.close()


def test_recv_into_and_recvfrom_into(net):
    S = net.socket
    a, b = udp(S), udp(S)
    a.sendto(b"hello", b.getsockname())
    a.sendto(b"world", b.getsockname())
    buf = bytearray(10)
    assert b.recv_into(buf) == 5 and buf[:5] == b"hello"
    n, addr = b.recvfrom_into(buf)
    assert (n, bytes(buf[:n]), addr) == (5, b"world", a.getsockname())
    a.close()
    b.close()


def test_send_unconnected_edestaddrreq(net):
    S = net.socket
    a = S.socket(S.AF_INET, S.SOCK_DGRAM)
    with pytest.raises(OSError) as ei:
        a.send(b"x")
    assert ei.value.errno == errno.EDESTADDRREQ
    a.close()


def test_emsgsize(net):
    S = net.socket
    a, b = udp(S), udp(S)
    with pytest.raises(OSError) as ei:
        a.sendto(b"x" * 65508, b.getsockname())
    assert ei.value.errno == errno.EMSGSIZE
    a.sendto(b"y" * 65507, b.getsockname())
    assert len(b.recv(70000)) == 65507
    a.close()
    b.close()


def test_udp_eaddrinuse(net):
    S = net.socket
    a = udp(S)
    b = S.socket(S.AF_INET, S.SOCK_DGRAM)
    with pytest.raises(OSError) as ei:
        b.bind(a.getsockname())
    assert ei.value.errno == errno.EADDRINUSE
    a.close()
    b.close()


def test_nonblocking_and_timeout(net):
    S = net.socket
    a = udp(S)
    a.setblocking(False)
    with pytest.raises(BlockingIOError):
        a.recvfrom(10)
    a.settimeout(0.2)
    with pytest.raises(S.timeout):
        a.recvfrom(10)
    a.close()


def test_select_readable(net):
    S = net.socket
    a, b = udp(S), udp(S)
    r, w, _ = net.select.select([b], [a], [], 0)
    assert r == [] and w == [a]
    a.sendto(b"x", b.getsockname())
    r, _, _ = net.select.select([b], [], [], 5)
    assert r == [b]
    a.close()
    b.close()


def test_icmp_port_unreachable_on_connected(net):
    S = net.socket
    gone = udp(S)
    addr = gone.getsockname()
    gone.close()
    a = udp(S)
    a.connect(addr)
    a.send(b"anyone?")
    with pytest.raises(ConnectionRefusedError):
        a.recv(10)
    a.close()


def test_sendmsg_recvmsg(net):
    S = net.socket
    a, b = udp(S), udp(S)
    assert a.sendmsg([b"scat", b"tered"], [], 0, b.getsockname()) == 9
    data, anc, flags, addr = b.recvmsg(100)
    assert (data, anc, addr) == (b"scattered", [], a.getsockname())
    a.close()
    b.close()
