"""net/ipv4/raw.py: raw IPv4 sockets — an ICMP echo "ping" through a raw socket, the
ICMP filter, IP_HDRINCL, bind/connect rules. Expected values from Linux 6.18 on this
machine (probes raw.py, ip.py: stdlib socket module in a fresh network namespace).
"""
import struct

import pytest

from kstack.core.errno import (EADDRNOTAVAIL, EDESTADDRREQ, EINVAL, EMSGSIZE, ENOPROTOOPT,
                               ENOTCONN, EOPNOTSUPP)
from kstack.core.sock import (AF_INET, MSG_DONTWAIT, SOCK_DGRAM, SOCK_RAW, SOL_IP, SOL_RAW)
from kstack.net.ipv4.ip_sockglue import IP_HDRINCL, IP_RECVERR
from kstack.net.ipv4.raw import ICMP_FILTER
from kstack.wire.checksum import ip_compute_csum, ip_fast_csum, udp4_csum
from kstack.wire.iphdr import IpHdr
from tests.lib.syscalls import World


def err(e):
    return e.value.errno


def echo(ident=0x1234, seq=1, data=b"abcdefgh", type_=8):
    m = bytearray(struct.pack("!BBHHH", type_, 0, 0, ident, seq) + data)
    m[2:4] = struct.pack("!H", ip_compute_csum(bytes(m)))
    return bytes(m)


def drain(h, fd):
    out = []
    while True:
        try:
            out.append(h.recvfrom(fd, 2000, MSG_DONTWAIT))
        except OSError:
            return out


@pytest.fixture
def w():
    return World()


def test_raw_icmp_ping_on_loopback_sees_request_and_reply(w):
    # raw.py: each send gives the request (DF set, from ip_make_skb) then the reply.
    h = w.host("h")
    r = h.socket(AF_INET, SOCK_RAW, 1)
    assert h.sendto(r, echo(), ("127.0.0.1", 0)) == 16
    w.settle()
    got = drain(h, r)
    assert [len(d) for d, _ in got] == [36, 36]
    req, rep = (IpHdr.parse(d) for d, _ in got)
    assert (req.protocol, req.df, req.ttl, req.tot_len) == (1, True, 64, 36)
    assert (rep.protocol, rep.df) == (1, False)
    assert got[0][0][20] == 8 and got[1][0][20] == 0
    assert got[1][0][24:] == echo()[4:]                      # id, seq, data echoed
    assert all(a == ("127.0.0.1", 0) for _, a in got)
    icmp = h.mib.Icmp
    assert (icmp["OutEchos"], icmp["InEchos"], icmp["OutEchoReps"], icmp["InEchoReps"]) == (1, 1, 1, 1)
    assert (icmp["InMsgs"], icmp["OutMsgs"]) == (2, 2)


def test_raw_ping_between_hosts(w):
    a, b = w.pair()
    r = a.socket(AF_INET, SOCK_RAW, 1)
    a.sendto(r, echo(seq=7, data=b"x" * 56), ("10.0.0.2", 0))
    d, addr = a.recvfrom(r, 2000)                            # blocks until the reply
    assert addr == ("10.0.0.2", 0)
    ip = IpHdr.parse(d)
    assert (ip.saddr, ip.daddr) == (0x0A000002, 0x0A000001)
    assert d[20] == 0 and struct.unpack("!HH", d[24:28]) == (0x1234, 7)
    assert ip_compute_csum(d[20:]) == 0
    assert drain(a, r) == []                                 # our own request left, not delivered
    assert b.mib.Icmp["InEchos"] == 1 and b.mib.Icmp["OutEchoReps"] == 1


def test_icmp_filter(w):
    h = w.host("h")
    r = h.socket(AF_INET, SOCK_RAW, 1)
    assert h.getsockopt(r, SOL_RAW, ICMP_FILTER, 4) == bytes(4)
    h.setsockopt(r, SOL_RAW, ICMP_FILTER, struct.pack("I", 1 << 8))    # hide echo requests
    assert h.getsockopt(r, SOL_RAW, ICMP_FILTER) == 256
    h.sendto(r, echo(), ("127.0.0.1", 0))
    w.settle()
    got = drain(h, r)
    assert len(got) == 1 and got[0][0][20] == 0
    # raw.py: a short value overwrites only its own bytes; a long one is cut to 4.
    h.setsockopt(r, SOL_RAW, ICMP_FILTER, struct.pack("I", 0xFF))
    h.setsockopt(r, SOL_RAW, ICMP_FILTER, b"\x01")
    assert h.getsockopt(r, SOL_RAW, ICMP_FILTER, 8) == b"\x01\x00\x00\x00"
    h.setsockopt(r, SOL_RAW, ICMP_FILTER, b"\x02\0\0\0\0\0\0\0")
    assert h.getsockopt(r, SOL_RAW, ICMP_FILTER, 8) == b"\x02\x00\x00\x00"
    with pytest.raises(OSError) as e:
        h.getsockopt(r, SOL_RAW, 2, 4)
    assert err(e) == ENOPROTOOPT
    u = h.socket(AF_INET, SOCK_DGRAM)
    with pytest.raises(OSError) as e:
        h.getsockopt(u, SOL_RAW, ICMP_FILTER, 4)
    assert err(e) == EOPNOTSUPP
    r17 = h.socket(AF_INET, SOCK_RAW, 17)
    for call in (lambda: h.getsockopt(r17, SOL_RAW, ICMP_FILTER, 4),
                 lambda: h.setsockopt(r17, SOL_RAW, ICMP_FILTER, bytes(4))):
        with pytest.raises(OSError) as e:
            call()
        assert err(e) == EOPNOTSUPP


def test_raw_bind_connect_and_errors(w):
    h = w.host("h")
    r = h.socket(AF_INET, SOCK_RAW, 1)
    assert h.getsockname(r) == ("0.0.0.0", 1)
    with pytest.raises(OSError) as e:
        h.getpeername(r)
    assert err(e) == ENOTCONN
    with pytest.raises(OSError) as e:
        h.bind(r, ("1.2.3.4", 0))
    assert err(e) == EADDRNOTAVAIL
    with pytest.raises(OSError) as e:
        h.send(r, b"x")
    assert err(e) == EDESTADDRREQ
    with pytest.raises(OSError) as e:
        h.listen(r, 1)
    assert err(e) == EOPNOTSUPP
    with pytest.raises(OSError) as e:
        h.shutdown(r, 0)
    assert err(e) == ENOTCONN
    h.bind(r, ("127.0.0.1", 5))
    h.bind(r, ("127.0.0.1", 5))                              # raw bind may be repeated
    assert h.getsockname(r) == ("127.0.0.1", 1)
    h.connect(r, ("127.0.0.1", 7))
    assert h.getpeername(r) == ("127.0.0.1", 7)
    assert h.send(r, echo()) == 16


def test_raw_udp_socket_sees_udp_and_suppresses_nothing(w):
    # A raw socket for UDP gets a copy of each UDP datagram; UDP still answers.
    h = w.host("h")
    r = h.socket(AF_INET, SOCK_RAW, 17)
    u = h.socket()
    h.sendto(u, b"hi", ("127.0.0.1", 9))
    w.settle()
    got = drain(h, r)
    assert len(got) == 1 and got[0][0][28:] == b"hi"
    assert h.mib.Udp["NoPorts"] == 1


def test_raw_socket_for_a_protocol_stops_protocol_unreachable(w):
    a, b = w.pair()
    s = a.socket(AF_INET, SOCK_RAW, 99)
    a.sendto(s, b"payload", ("10.0.0.2", 0))
    w.settle()
    assert b.mib.Ip["InUnknownProtos"] == 1 and b.mib.Icmp["OutDestUnreachs"] == 1
    rb = b.socket(AF_INET, SOCK_RAW, 99)
    a.sendto(s, b"payload2", ("10.0.0.2", 0))
    w.settle()
    assert b.mib.Ip["InUnknownProtos"] == 1 and b.mib.Icmp["OutDestUnreachs"] == 1
    d, addr = b.recvfrom(rb, 100, MSG_DONTWAIT)
    assert d[20:] == b"payload2" and addr == ("10.0.0.1", 0)


def test_hdrincl_sends_the_callers_header(w):
    a, b = w.pair()
    u = b.socket()
    b.bind(u, ("10.0.0.2", 5353))
    r = a.socket(AF_INET, SOCK_RAW, 255)                    # IPPROTO_RAW implies IP_HDRINCL
    seg = bytearray(struct.pack("!HHHH", 4444, 5353, 8 + 5, 0) + b"hello")
    seg[6:8] = struct.pack("!H", udp4_csum(0x0A000001, 0x0A000002, bytes(seg)))
    ip = IpHdr(saddr=0, daddr=0x0A000002, protocol=17, tot_len=0, id=0, ttl=33).to_bytes()
    assert a.sendto(r, ip + bytes(seg), ("10.0.0.2", 0)) == 20 + 13
    w.settle()
    assert b.recvfrom(u, 100, MSG_DONTWAIT) == (b"hello", ("10.0.0.1", 4444))
    with pytest.raises(OSError) as e:
        a.sendto(r, b"short", ("10.0.0.2", 0))
    assert err(e) == EINVAL
    with pytest.raises(OSError) as e:
        a.sendto(r, ip + bytes(1500), ("10.0.0.2", 0))         # over the device MTU
    assert err(e) == EMSGSIZE
    # An ICMP raw socket can be switched to IP_HDRINCL too.
    r1 = a.socket(AF_INET, SOCK_RAW, 1)
    a.setsockopt(r1, SOL_IP, IP_HDRINCL, 1)
    hdr = bytearray(IpHdr(saddr=0x0A000001, daddr=0x0A000002, protocol=1, id=77).to_bytes())
    a.sendto(r1, bytes(hdr) + echo(), ("10.0.0.2", 0))
    d, _ = a.recvfrom(r1, 200)
    assert d[20] == 0 and ip_fast_csum(d[:20]) == 0


def test_raw_icmp_errors_with_ip_recverr(w):
    h = w.host("h")
    r = h.socket(AF_INET, SOCK_RAW, 17)
    h.setsockopt(r, SOL_IP, IP_RECVERR, 1)
    seg = struct.pack("!HHHH", 4444, 9, 8, 0)
    h.sendto(r, seg, ("127.0.0.1", 0))
    w.settle()
    data, anc, flags, addr = h.recvmsg(r, 100, 256, 0x2000)
    assert data == seg and anc[0][:2] == (SOL_IP, IP_RECVERR)
    assert struct.unpack_from("=IBBB", anc[0][2]) == (111, 2, 3, 3)
