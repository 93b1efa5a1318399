"""net/ipv4/ping.py: unprivileged ICMP echo sockets (SOCK_DGRAM, IPPROTO_ICMP). Expected
values from Linux 6.18 on this machine (probes raw.py and pingcnt.py, stdlib socket
module in a fresh network namespace with ping_group_range widened).
"""
import struct

import pytest

from kstack.core.errno import (EACCES, EADDRINUSE, EDESTADDRREQ, EINVAL, EMSGSIZE, ENETUNREACH,
                               ENOTCONN, EOPNOTSUPP, EHOSTUNREACH)
from kstack.core.sock import AF_INET, MSG_DONTWAIT, SO_REUSEADDR, SOCK_DGRAM, SOL_IP, SOL_SOCKET
from kstack.fs.file import Cred
from kstack.net.ipv4.ip_sockglue import IP_RECVERR
from kstack.wire.checksum import ip_compute_csum
from tests.lib.syscalls import World

IPPROTO_ICMP = 1


def err(e):
    return e.value.errno


def echo(ident=0x1234, seq=1, data=b"abcdefgh", type_=8, code=0):
    m = bytearray(struct.pack("!BBHHH", type_, code, 0, ident, seq) + data)
    m[2:4] = struct.pack("!H", ip_compute_csum(bytes(m)))
    return bytes(m)


@pytest.fixture
def w():
    return World()


@pytest.fixture
def h(w):
    h = w.host("h")
    h.sysctl("net.ipv4.ping_group_range", "0 2147483647")
    return h


def ping_sock(h):
    return h.socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)


def test_group_range_gates_creation(w):
    h = w.host("h")
    with pytest.raises(OSError) as e:
        ping_sock(h)                                 # default "1 0": nobody, root included
    assert err(e) == EACCES
    h.sysctl("net.ipv4.ping_group_range", "100 200")
    p = h.process(cred=Cred(uid=1000, gid=1000, groups=(150,)))
    ping_sock(p)                                     # a supplementary group is enough
    q = h.process(cred=Cred(uid=1000, gid=1000, groups=(300,)))
    with pytest.raises(OSError) as e:
        ping_sock(q)
    assert err(e) == EACCES
    h.sysctl("net.ipv4.ping_group_range", "5 1")     # reversed: back to "1 0"
    assert h.sysctl("net.ipv4.ping_group_range") == "1\t0"


def test_echo_reply_uses_the_socket_port_as_id(h):
    p = ping_sock(h)
    assert h.getsockname(p) == ("0.0.0.0", 0)
    with pytest.raises(OSError) as e:
        h.getpeername(p)
    assert err(e) == ENOTCONN
    assert h.sendto(p, echo(ident=0x1234), ("127.0.0.1", 0)) == 16
    ident = h.getsockname(p)[1]
    assert ident == 1                                # the rover starts at 1 on a fresh host
    data, addr = h.recvfrom(p, 100)
    assert addr == ("127.0.0.1", 0)
    assert data[0] == 0 and struct.unpack("!HH", data[4:8]) == (ident, 1)
    assert data[8:] == b"abcdefgh" and ip_compute_csum(data) == 0
    icmp = h.mib.Icmp
    # pingcnt.py: one of each, no double counting of OutEchos.
    assert (icmp["OutMsgs"], icmp["OutEchos"], icmp["InEchos"], icmp["OutEchoReps"],
            icmp["InEchoReps"]) == (2, 1, 1, 1, 1)
    q = ping_sock(h)
    h.sendto(q, echo(), ("127.0.0.1", 0))
    assert h.getsockname(q)[1] == 2
    h.recvfrom(q, 100)


def test_bad_messages(h):
    p = ping_sock(h)
    for bad in (bytes(8), b"\x08\x00", b"\x08\x05\0\0\0\0\0\0", echo(type_=13)):
        with pytest.raises(OSError) as e:
            h.sendto(p, bad, ("127.0.0.1", 0))
        assert err(e) == EINVAL
    with pytest.raises(OSError) as e:
        h.send(p, echo())
    assert err(e) == EDESTADDRREQ
    with pytest.raises(OSError) as e:
        h.sendto(p, b"\x08\0\0\0\0\0\0\0" + b"x" * 65527, ("127.0.0.1", 0))
    assert err(e) == EMSGSIZE
    with pytest.raises(OSError) as e:
        h.sendto(p, echo(), ("10.9.9.9", 0))
    assert err(e) == ENETUNREACH
    with pytest.raises(OSError) as e:
        h.shutdown(p, 0)
    assert err(e) == ENOTCONN
    with pytest.raises(OSError) as e:
        h.listen(p, 1)
    assert err(e) == EOPNOTSUPP
    assert h.sendto(p, echo(), ("127.0.0.1", 34463)) == 16       # the port is ignored


def test_bind_ident_sharing_and_connect(h):
    p2 = ping_sock(h)
    h.bind(p2, ("127.0.0.1", 777))
    assert h.getsockname(p2) == ("127.0.0.1", 777)
    with pytest.raises(OSError) as e:
        h.bind(p2, ("127.0.0.1", 778))
    assert err(e) == EINVAL
    h.bind(ping_sock(h), ("127.0.0.1", 777))     # both start with SO_REUSEADDR: shared
    p3 = ping_sock(h)
    h.setsockopt(p3, SOL_SOCKET, SO_REUSEADDR, 0)
    with pytest.raises(OSError) as e:
        h.bind(p3, ("127.0.0.1", 777))
    assert err(e) == EADDRINUSE
    c = ping_sock(h)
    h.bind(c, ("0.0.0.0", 4242))
    h.connect(c, ("127.0.0.1", 5))
    assert h.getpeername(c) == ("127.0.0.1", 5)
    assert h.send(c, echo()) == 16
    d = h.recv(c, 100)
    assert d[0] == 0 and struct.unpack("!H", d[4:6])[0] == 4242


def test_ping_between_hosts_and_unreachable_error(w):
    a, b = w.pair()
    a.sysctl("net.ipv4.ping_group_range", "0 2147483647")
    p = ping_sock(a)
    a.sendto(p, echo(data=b"z" * 56), ("10.0.0.2", 0))
    d, addr = a.recvfrom(p, 200)
    assert addr == ("10.0.0.2", 0) and d[8:] == b"z" * 56
    # Host unreachable (no neighbour answers) comes back as an ICMP error for IP_RECVERR.
    q = ping_sock(a)
    a.setsockopt(q, SOL_IP, IP_RECVERR, 1)
    a.sendto(q, echo(), ("10.0.0.77", 0))
    w.run_for(10.0)
    data, anc, flags, addr = a.recvmsg(q, 100, 256, 0x2000)
    assert struct.unpack_from("=I", anc[0][2])[0] == EHOSTUNREACH
    assert data[0] == 8                             # the quoted echo request
    with pytest.raises(OSError):
        a.recv(q, 100, MSG_DONTWAIT)
