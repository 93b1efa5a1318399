"""net/ipv4/udp.py through the socket calls — RFC 768, RFC 1122 §4.1.

Expected errnos and behaviours were taken from Linux 6.18 on this machine with
the stdlib socket module, in a fresh network namespace (lo only, or with
ip_local_port_range narrowed) — the probe each test mirrors is named in it.
"""
import struct

import pytest

from kstack.core.errno import (EACCES, EADDRINUSE, EAGAIN, ECONNREFUSED, EDESTADDRREQ, EINVAL,
                               EMSGSIZE, ENOTCONN, EOPNOTSUPP, EPIPE)
from kstack.core.skbuff import skb_from_bytes
from kstack.core.sock import (AF_INET, AF_UNSPEC, MSG_DONTWAIT, MSG_ERRQUEUE, MSG_MORE, MSG_OOB,
                              MSG_PEEK, MSG_TRUNC, SO_BROADCAST, SO_RCVBUF, SO_REUSEADDR,
                              SO_REUSEPORT, SOCK_DGRAM, SOL_IP, SOL_SOCKET, SOL_UDP)
from kstack.net.ipv4.ip_sockglue import IP_PKTINFO, IP_RECVERR, IP_RECVTTL, IP_TOS, IP_TTL
from kstack.net.ipv4.udp import UDP_CORK, udp_table
from kstack.net.socket import FIONREAD, SHUT_RD, SHUT_WR, SIOCOUTQ
from tests.lib.syscalls import World


def err(excinfo) -> int:
    return excinfo.value.errno


@pytest.fixture
def w():
    return World()


@pytest.fixture
def h(w):
    """One host, loopback only."""
    return w.host("h")


@pytest.fixture
def ab(w):
    return w.pair()


def udp(host):
    return host.socket(AF_INET, SOCK_DGRAM, 0)


# --- ports (udp1.py / udp2.py probes) --------------------------------------------------
def test_autobind_port_comes_from_local_port_range(h):
    h.sysctl("net.ipv4.ip_local_port_range", "40000 40009")
    ports = set()
    for _ in range(10):
        s = udp(h)
        h.bind(s, ("127.0.0.1", 0))
        ports.add(h.getsockname(s)[1])
    assert ports == set(range(40000, 40010))


def test_exhausted_range_bind_eaddrinuse_connect_and_sendto_eagain(h):
    # Linux: bind(port 0) -> EADDRINUSE; connect() and sendto() autobind -> EAGAIN.
    h.sysctl("net.ipv4.ip_local_port_range", "40000 40001")
    for _ in range(2):
        h.bind(udp(h), ("127.0.0.1", 0))
    with pytest.raises(OSError) as e:
        h.bind(udp(h), ("127.0.0.1", 0))
    assert err(e) == EADDRINUSE
    with pytest.raises(OSError) as e:
        h.bind(udp(h), ("0.0.0.0", 0))      # the wildcard overlaps both
    assert err(e) == EADDRINUSE
    with pytest.raises(OSError) as e:
        h.connect(udp(h), ("127.0.0.1", 9))
    assert err(e) == EAGAIN
    with pytest.raises(OSError) as e:
        h.sendto(udp(h), b"x", ("127.0.0.1", 9))
    assert err(e) == EAGAIN
    # Another local address does not overlap: the same ports are free there.
    h.ip_addr_add("lo", "127.0.0.2/8")
    s = udp(h)
    h.bind(s, ("127.0.0.2", 0))
    assert h.getsockname(s)[1] in (40000, 40001)


def test_autobind_is_random_per_seed(w):
    a = w.host("x", )
    b = w.host("y")
    pa = [a.getsockname(_bound(a))[1] for _ in range(3)]
    pb = [b.getsockname(_bound(b))[1] for _ in range(3)]
    assert pa != pb
    assert all(32768 <= p <= 60999 for p in pa + pb)


def _bound(host):
    s = udp(host)
    host.bind(s, ("0.0.0.0", 0))
    return s


def test_bind_conflicts_and_reuseaddr(h):
    a = udp(h)
    h.bind(a, ("127.0.0.1", 5000))
    for addr in (("127.0.0.1", 5000), ("0.0.0.0", 5000)):
        with pytest.raises(OSError) as e:
            h.bind(udp(h), addr)
        assert err(e) == EADDRINUSE
    h.ip_addr_add("lo", "127.0.0.2/8")
    h.bind(udp(h), ("127.0.0.2", 5000))          # a different address: no conflict
    # SO_REUSEADDR on one side only is not enough; on both it is (UDP ignores state).
    x = udp(h)
    h.setsockopt(x, SOL_SOCKET, SO_REUSEADDR, 1)
    with pytest.raises(OSError) as e:
        h.bind(x, ("127.0.0.1", 5000))
    assert err(e) == EADDRINUSE
    p = udp(h)
    q = udp(h)
    for s in (p, q):
        h.setsockopt(s, SOL_SOCKET, SO_REUSEADDR, 1)
    h.bind(p, ("127.0.0.1", 6000))
    h.bind(q, ("127.0.0.1", 6000))
    z = udp(h)
    h.setsockopt(z, SOL_SOCKET, SO_REUSEADDR, 1)
    h.bind(z, ("0.0.0.0", 6000))
    # The newest exact match gets the datagrams (hash chain head), as Linux showed.
    c = udp(h)
    h.sendto(c, b"1", ("127.0.0.1", 6000))
    h.sendto(c, b"2", ("127.0.0.1", 6000))
    h.world.settle()
    assert h.recv(q, 10, MSG_DONTWAIT) == b"1"
    assert h.recv(q, 10, MSG_DONTWAIT) == b"2"
    for s in (p, z):
        with pytest.raises(OSError) as e:
            h.recv(s, 10, MSG_DONTWAIT)
        assert err(e) == EAGAIN


def test_reuseport_group_spreads_flows_and_needs_all_members(h):
    grp = []
    for _ in range(4):
        s = udp(h)
        h.setsockopt(s, SOL_SOCKET, SO_REUSEPORT, 1)
        h.bind(s, ("127.0.0.1", 7000))
        grp.append(s)
    with pytest.raises(OSError) as e:
        h.bind(udp(h), ("127.0.0.1", 7000))
    assert err(e) == EADDRINUSE
    for i in range(40):
        h.sendto(udp(h), b"%d" % i, ("127.0.0.1", 7000))
    h.world.settle()
    counts = [len(h.sock(s).sk_receive_queue) for s in grp]
    assert sum(counts) == 40
    assert sum(1 for c in counts if c) >= 3     # a hash of the 4-tuple, not one socket
    # One flow always lands on the same member.
    c = udp(h)
    for _ in range(5):
        h.sendto(c, b"f", ("127.0.0.1", 7000))
    h.world.settle()
    after = [len(h.sock(s).sk_receive_queue) for s in grp]
    assert sorted(x - y for x, y in zip(after, counts)) == [0, 0, 0, 5]


def test_lookup_prefers_exact_address_then_connected(h):
    # udp2.py: specific beats wildcard; a connected socket beats both for its peer.
    w_ = udp(h)
    h.setsockopt(w_, SOL_SOCKET, SO_REUSEADDR, 1)
    h.bind(w_, ("0.0.0.0", 8001))
    sp = udp(h)
    h.setsockopt(sp, SOL_SOCKET, SO_REUSEADDR, 1)
    h.bind(sp, ("127.0.0.1", 8001))
    h.sendto(udp(h), b"q", ("127.0.0.1", 8001))
    h.world.settle()
    assert h.recv(sp, 10, MSG_DONTWAIT) == b"q"
    con = udp(h)
    h.setsockopt(con, SOL_SOCKET, SO_REUSEADDR, 1)
    h.bind(con, ("0.0.0.0", 8001))
    src = udp(h)
    h.bind(src, ("127.0.0.1", 0))
    h.connect(con, h.getsockname(src))
    h.sendto(src, b"c", ("127.0.0.1", 8001))
    h.world.settle()
    assert h.recv(con, 10, MSG_DONTWAIT) == b"c"
    with pytest.raises(OSError):
        h.recv(sp, 10, MSG_DONTWAIT)


# --- sending (udp1.py) --------------------------------------------------------------------
def test_send_errors(h):
    d = udp(h)
    with pytest.raises(OSError) as e:
        h.send(d, b"x")
    assert err(e) == EDESTADDRREQ
    # Port 0 is refused -- after the autobind already happened.
    with pytest.raises(OSError) as e:
        h.sendto(d, b"x", ("127.0.0.1", 0))
    assert err(e) == EINVAL
    assert h.getsockname(d)[1] != 0
    assert h.sendto(d, b"x" * 65507, ("127.0.0.1", 9)) == 65507
    with pytest.raises(OSError) as e:
        h.sendto(d, b"x" * 65508, ("127.0.0.1", 9))
    assert err(e) == EMSGSIZE
    with pytest.raises(OSError) as e:
        h.sendto(d, b"x", ("127.0.0.1", 9), MSG_OOB)
    assert err(e) == EOPNOTSUPP
    # A broadcast route needs SO_BROADCAST (lo's 127.255.255.255 is one).
    with pytest.raises(OSError) as e:
        h.sendto(d, b"x", ("127.255.255.255", 9))
    assert err(e) == EACCES
    h.setsockopt(d, SOL_SOCKET, SO_BROADCAST, 1)
    assert h.sendto(d, b"x", ("127.255.255.255", 9)) == 1


def test_zero_length_datagram_and_mib(h):
    r = udp(h)
    h.bind(r, ("127.0.0.1", 4000))
    s = udp(h)
    assert h.sendto(s, b"", ("127.0.0.1", 4000)) == 0
    h.world.settle()
    assert h.recvfrom(r, 10) == (b"", ("127.0.0.1", h.getsockname(s)[1]))
    udpm = h.mib.Udp
    assert (udpm["OutDatagrams"], udpm["InDatagrams"]) == (1, 1)


def test_econnrefused_next_call_connected_only(h):
    # udp1.py: send ok, send ECONNREFUSED, send ok; recv gets it once, then EAGAIN.
    e_ = udp(h)
    h.connect(e_, ("127.0.0.1", 9))
    assert h.send(e_, b"x") == 1
    h.world.settle()
    with pytest.raises(OSError) as e:
        h.send(e_, b"x")
    assert err(e) == ECONNREFUSED
    assert h.mib.Ip["OutDiscards"] == 1     # __ip_append_data's error path counts it
    assert h.send(e_, b"x") == 1
    h.world.settle()
    with pytest.raises(OSError) as e:
        h.recv(e_, 10, MSG_DONTWAIT)
    assert err(e) == ECONNREFUSED
    with pytest.raises(OSError) as e:
        h.recv(e_, 10, MSG_DONTWAIT)
    assert err(e) == EAGAIN
    # Unconnected: the ICMP error is ignored.
    u = udp(h)
    h.sendto(u, b"x", ("127.0.0.1", 9))
    h.world.settle()
    assert h.sendto(u, b"x", ("127.0.0.1", 9)) == 1
    h.world.settle()
    assert h.mib.Udp["NoPorts"] == 4
    assert h.mib.Icmp["InDestUnreachs"] == 4


def test_so_error_reports_and_clears(h):
    e_ = udp(h)
    h.connect(e_, ("127.0.0.1", 9))
    h.send(e_, b"x")
    h.world.settle()
    assert h.getsockopt(e_, SOL_SOCKET, 4) == ECONNREFUSED      # SO_ERROR
    assert h.getsockopt(e_, SOL_SOCKET, 4) == 0


def test_ip_recverr_queues_icmp_errors_even_unconnected(h):
    u = udp(h)
    h.setsockopt(u, SOL_IP, IP_RECVERR, 1)
    h.sendto(u, b"hello", ("127.0.0.1", 9))
    h.world.settle()
    data, anc, flags, addr = h.recvmsg(u, 100, 1024, MSG_ERRQUEUE)
    assert data == b"hello" and addr == ("127.0.0.1", 9)
    assert flags & MSG_ERRQUEUE
    (level, type_, payload), = anc
    assert (level, type_) == (SOL_IP, IP_RECVERR)
    ee_errno, origin, icmp_type, icmp_code = struct.unpack_from("=IBBB", payload)
    assert (ee_errno, origin, icmp_type, icmp_code) == (ECONNREFUSED, 2, 3, 3)
    # Reading the error queue also took the pending error (sock_dequeue_err_skb).
    with pytest.raises(OSError) as e:
        h.recv(u, 10, MSG_DONTWAIT)
    assert err(e) == EAGAIN
    with pytest.raises(OSError) as e:
        h.recvmsg(u, 100, 1024, MSG_ERRQUEUE)
    assert err(e) == EAGAIN
    # Without reading the queue, the next call reports ECONNREFUSED (even unconnected).
    h.sendto(u, b"a", ("127.0.0.1", 9))
    h.world.settle()
    with pytest.raises(OSError) as e:
        h.sendto(u, b"b", ("127.0.0.1", 9))
    assert err(e) == ECONNREFUSED
    h.sendto(u, b"c", ("127.0.0.1", 9))
    h.world.settle()
    # recverr.py: errq 'a', SO_ERROR 111 (the next queued error), errq 'c', SO_ERROR 0.
    assert h.recvmsg(u, 100, 1024, MSG_ERRQUEUE)[0] == b"a"
    assert h.getsockopt(u, SOL_SOCKET, 4) == ECONNREFUSED
    assert h.recvmsg(u, 100, 1024, MSG_ERRQUEUE)[0] == b"c"
    assert h.getsockopt(u, SOL_SOCKET, 4) == 0


def test_shutdown_semantics(h):
    # udp1.py: unconnected -> ENOTCONN (flags set anyway); how=3 -> EINVAL.
    s = udp(h)
    h.bind(s, ("127.0.0.1", 0))
    for how in (0, 1, 2):
        with pytest.raises(OSError) as e:
            h.shutdown(s, how)
        assert err(e) == ENOTCONN
    with pytest.raises(OSError) as e:
        h.shutdown(s, 3)
    assert err(e) == EINVAL
    c = udp(h)
    h.connect(c, ("127.0.0.1", 9))
    h.shutdown(c, SHUT_WR)
    with pytest.raises(OSError) as e:
        h.send(c, b"x")
    assert err(e) == EPIPE
    assert h.files.pending_signals == []     # no SIGPIPE for datagram sockets
    with pytest.raises(OSError) as e:
        h.recv(c, 10, MSG_DONTWAIT)
    assert err(e) == EAGAIN
    h.shutdown(c, SHUT_RD)
    assert h.recv(c, 10) == b""              # a blocking reader sees EOF


def test_connect_af_unspec_dissolves_association(h):
    c = udp(h)
    h.connect(c, ("127.0.0.1", 9))
    assert h.getpeername(c) == ("127.0.0.1", 9)
    h.connect(c, (AF_UNSPEC,))
    with pytest.raises(OSError) as e:
        h.getpeername(c)
    assert err(e) == ENOTCONN
    assert h.getsockname(c) == ("0.0.0.0", 0)     # autobound port was not locked: unhashed
    # connect() to port 0 "works" but leaves no peer (udp1.py).
    h.connect(c, ("127.0.0.1", 0))
    with pytest.raises(OSError) as e:
        h.getpeername(c)
    assert err(e) == ENOTCONN


def test_connect_to_zero_address_means_loopback(h):
    c = udp(h)
    h.connect(c, ("0.0.0.0", 9))
    assert h.getpeername(c) == ("127.0.0.1", 9)
    assert h.getsockname(c)[0] == "127.0.0.1"


# --- receiving -------------------------------------------------------------------------------
def test_peek_trunc_and_fionread(h):
    j = udp(h)
    h.bind(j, ("127.0.0.1", 0))
    me = h.getsockname(j)
    h.sendto(j, b"hello world", me)
    h.sendto(j, b"ab", me)
    h.world.settle()
    assert h.ioctl(j, FIONREAD) == 11           # the first datagram, not the queue
    assert h.ioctl(j, SIOCOUTQ) == 0
    assert h.recvfrom(j, 3, MSG_PEEK) == (b"hel", me)
    data, _ = h.recvfrom(j, 3, MSG_TRUNC)      # the real length comes back (zero-padded)
    assert len(data) == 11 and data[:3] == b"hel"
    h.sendto(j, b"hello world", me)
    h.world.settle()
    data, anc, flags, addr = h.recvmsg(j, 3)
    assert data == b"ab" and flags == 0
    data, anc, flags, addr = h.recvmsg(j, 3)
    assert data == b"hel" and flags == MSG_TRUNC and addr == me
    assert h.mib.Udp["InDatagrams"] == 3       # counted when read, not when peeked


def test_receive_buffer_limit_counts_rcvbuf_errors(h):
    r = udp(h)
    h.setsockopt(r, SOL_SOCKET, SO_RCVBUF, 1)       # -> SOCK_MIN_RCVBUF (2304)
    assert h.getsockopt(r, SOL_SOCKET, SO_RCVBUF) == 2304
    h.bind(r, ("127.0.0.1", 4500))
    s = udp(h)
    for _ in range(20):
        h.sendto(s, b"x" * 500, ("127.0.0.1", 4500))
    h.world.settle()
    sk = h.sock(r)
    queued = len(sk.sk_receive_queue)
    udpm = h.mib.Udp
    assert 1 <= queued < 20
    assert udpm["RcvbufErrors"] == 20 - queued
    assert udpm["InErrors"] == 20 - queued
    assert sk.sk_drops == 20 - queued
    assert sk.sk_rmem_alloc == sum(skb.truesize for skb in sk.sk_receive_queue)
    while True:
        try:
            h.recv(r, 1000, MSG_DONTWAIT)
        except OSError:
            break
    assert sk.sk_rmem_alloc == 0


def _inject_udp(host, payload: bytes, *, check_fix=None, ulen=None, src=0x0A000001,
                dst=0x0A000002, sport=1111, dport=4600):
    """Hand a datagram to host's eth0 receive path, as if it came in on the wire."""
    from kstack.core.dev import netif_rx
    from kstack.net.ethernet.eth import eth_type_trans
    from kstack.wire.checksum import ip_fast_csum, udp4_csum
    ulen_v = ulen if ulen is not None else 8 + len(payload)
    seg = bytearray(struct.pack("!HHHH", sport, dport, ulen_v, 0) + payload)
    c = udp4_csum(src, dst, bytes(seg)) if check_fix is None else check_fix
    seg[6:8] = struct.pack("!H", c)
    ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, 0, 20 + len(seg), 1, 0, 64, 17, 0, src, dst))
    ip[10:12] = struct.pack("!H", ip_fast_csum(bytes(ip)))
    eth0 = host.net.dev_by_name["eth0"]
    frame = eth0.dev_addr + bytes(6) + b"\x08\x00" + bytes(ip) + bytes(seg)
    skb = skb_from_bytes(frame)
    eth_type_trans(skb, eth0)
    netif_rx(skb)
    host.world.settle()


def test_checksum_and_length_errors_are_counted(ab):
    a, h = ab
    r = udp(h)
    h.bind(r, ("10.0.0.2", 4600))
    _inject_udp(h, b"good")
    assert h.recv(r, 10, MSG_DONTWAIT) == b"good"
    _inject_udp(h, b"bad!", check_fix=0x1234)
    udpm = h.mib.Udp
    assert (udpm["InCsumErrors"], udpm["InErrors"]) == (1, 1)
    _inject_udp(h, b"nocsum", check_fix=0)             # RFC 768: 0 = no checksum
    assert h.recv(r, 10, MSG_DONTWAIT) == b"nocsum"
    _inject_udp(h, b"short", ulen=100)                  # claims more than the IP payload
    assert udpm["InErrors"] == 2 and udpm["InCsumErrors"] == 1
    _inject_udp(h, b"x", dport=4601)                    # nobody there: port unreachable
    assert udpm["NoPorts"] == 1
    assert h.mib.Icmp["OutDestUnreachs"] == 1
    with pytest.raises(OSError):
        h.recv(r, 10, MSG_DONTWAIT)
    assert h.net.bugs == [] and a.net.bugs == []


def test_blocking_recv_times_out_with_so_rcvtimeo(h):
    r = udp(h)
    h.bind(r, ("127.0.0.1", 0))
    h.setsockopt(r, SOL_SOCKET, 20, struct.pack("qq", 2, 500000))    # SO_RCVTIMEO 2.5 s
    t0 = h.world.clock.now()
    with pytest.raises(OSError) as e:
        h.recv(r, 10)
    assert err(e) == EAGAIN
    assert h.world.clock.now() - t0 == pytest.approx(2.5)


def test_blocking_recv_is_woken_by_a_datagram(h):
    from kstack.core.wait import Blocked
    r = udp(h)
    h.bind(r, ("127.0.0.1", 5555))
    b = h.recvfrom(r, 10, block=False)
    assert type(b) is Blocked and b.timeo is None
    h.sendto(udp(h), b"wake", ("127.0.0.1", 5555))
    data, addr = h.world.wait(b)
    assert data == b"wake"


def test_eintr_on_signal(h):
    r = udp(h)
    h.bind(r, ("127.0.0.1", 0))
    with pytest.raises(OSError) as e:
        h.recv(r, 10, signal_after=1.0)
    assert err(e) == 4      # EINTR


# --- corking, options on the wire --------------------------------------------------------------
def test_msg_more_and_udp_cork_build_one_datagram(h):
    r = udp(h)
    h.bind(r, ("127.0.0.1", 4700))
    s = udp(h)
    h.sendto(s, b"abc", ("127.0.0.1", 4700), MSG_MORE)
    h.sendto(s, b"def", ("127.0.0.1", 4700), MSG_MORE)
    h.sendto(s, b"g", ("127.0.0.1", 4700))
    h.world.settle()
    assert h.recv(r, 100, MSG_DONTWAIT) == b"abcdefg"
    h.setsockopt(s, SOL_UDP, UDP_CORK, 1)
    h.sendto(s, b"12", ("127.0.0.1", 4700))
    h.sendto(s, b"34", ("127.0.0.1", 4700))
    h.world.settle()
    with pytest.raises(OSError):
        h.recv(r, 100, MSG_DONTWAIT)
    h.setsockopt(s, SOL_UDP, UDP_CORK, 0)
    h.world.settle()
    assert h.recv(r, 100, MSG_DONTWAIT) == b"1234"
    assert h.mib.Udp["OutDatagrams"] == 2


def test_ttl_tos_and_pktinfo_cmsgs(h):
    r = udp(h)
    h.bind(r, ("0.0.0.0", 4800))
    h.setsockopt(r, SOL_IP, IP_RECVTTL, 1)
    h.setsockopt(r, SOL_IP, 13, 1)              # IP_RECVTOS
    h.setsockopt(r, SOL_IP, IP_PKTINFO, 1)
    s = udp(h)
    h.setsockopt(s, SOL_IP, IP_TTL, 9)
    h.setsockopt(s, SOL_IP, IP_TOS, 0x10)
    h.sendto(s, b"x", ("127.0.0.1", 4800))
    h.world.settle()
    data, anc, flags, addr = h.recvmsg(r, 10, 256)
    got = {t: d for lv, t, d in anc}
    assert struct.unpack("=i", got[IP_TTL])[0] == 9
    assert got[IP_TOS] == b"\x10"
    ifindex, spec, dst = struct.unpack("=i4s4s", got[IP_PKTINFO])
    assert ifindex == 1 and dst == bytes([127, 0, 0, 1]) and spec == dst
    # No room for cmsgs: MSG_CTRUNC.
    h.sendto(s, b"y", ("127.0.0.1", 4800))
    h.world.settle()
    data, anc, flags, addr = h.recvmsg(r, 10, 0)
    assert anc == [] and flags & 0x8
    # 40 bytes: PKTINFO (CMSG_SPACE 32) fits, the next header does not (recverr.py probe).
    h.sendto(s, b"z", ("127.0.0.1", 4800))
    h.world.settle()
    data, anc, flags, addr = h.recvmsg(r, 10, 40)
    assert [t for _, t, _ in anc] == [IP_PKTINFO] and flags & 0x8


def test_per_call_ttl_via_sendmsg_cmsg(h):
    r = udp(h)
    h.bind(r, ("127.0.0.1", 4900))
    h.setsockopt(r, SOL_IP, IP_RECVTTL, 1)
    s = udp(h)
    h.sendmsg(s, [b"a", b"b"], [(SOL_IP, IP_TTL, struct.pack("=i", 3))], 0, ("127.0.0.1", 4900))
    h.world.settle()
    data, anc, flags, addr = h.recvmsg(r, 10, 64)
    assert data == b"ab" and struct.unpack("=i", anc[0][2])[0] == 3
    with pytest.raises(OSError) as e:
        h.sendmsg(s, [b"a"], [(SOL_IP, IP_TTL, struct.pack("=i", 0))], 0, ("127.0.0.1", 4900))
    assert err(e) == EINVAL


def test_close_unhashes_and_frees_the_port(h):
    s = udp(h)
    h.bind(s, ("127.0.0.1", 5151))
    h.sendto(udp(h), b"x", ("127.0.0.1", 5151))
    h.world.settle()
    sk = h.sock(s)
    h.close(s)
    assert 5151 not in udp_table(h.net).hash
    assert len(sk.sk_receive_queue) == 0 and sk.sk_rmem_alloc == 0
    h.bind(udp(h), ("127.0.0.1", 5151))
    assert h.net.gen["sock_inuse"]["UDP"] == sum(
        1 for f in h.files.fdt.values() if f.f_op.name == "socket")


def test_so_timestamp_cmsgs(h):
    # Linux: SO_TIMESTAMP (29) -> SCM_TIMESTAMP timeval, SO_TIMESTAMPNS (35) -> timespec;
    # enabling one reads the other back as 0; disabling either turns stamping off.
    r = udp(h)
    h.bind(r, ("127.0.0.1", 4950))
    h.setsockopt(r, SOL_SOCKET, 29, 1)
    assert (h.getsockopt(r, SOL_SOCKET, 29), h.getsockopt(r, SOL_SOCKET, 35)) == (1, 0)
    h.world.clock.advance(12.25)
    h.sendto(udp(h), b"t", ("127.0.0.1", 4950))
    h.world.settle()
    data, anc, flags, addr = h.recvmsg(r, 10, 64)
    (lv, ty, tv), = anc
    assert (lv, ty) == (SOL_SOCKET, 29)
    assert struct.unpack("qq", tv) == (int(h.world.clock.wall()), 250000)
    h.setsockopt(r, SOL_SOCKET, 35, 1)
    assert (h.getsockopt(r, SOL_SOCKET, 29), h.getsockopt(r, SOL_SOCKET, 35)) == (0, 1)
    h.sendto(udp(h), b"t", ("127.0.0.1", 4950))
    h.world.settle()
    assert h.recvmsg(r, 10, 64)[1][0][1] == 35
    h.setsockopt(r, SOL_SOCKET, 29, 0)
    assert (h.getsockopt(r, SOL_SOCKET, 29), h.getsockopt(r, SOL_SOCKET, 35)) == (0, 0)
