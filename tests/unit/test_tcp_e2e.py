"""TCP through the whole kstack path: syscalls -> af_inet -> tcp_prot -> ip_queue_xmit ->
veth/loopback -> ip_rcv -> tcp_v4_rcv, between two namespaces on one fake clock.

RFC 9293 3.5/3.6 end to end, RFC 1191 / RFC 5927 (ICMP fragmentation needed -> smaller
MSS), RFC 1122 4.2.3.9 (ICMP errors to TCP), Linux's loopback CHECKSUM_UNNECESSARY.
"""
import errno
import select as pyselect

import pytest

from kstack.core.sock import AF_INET, MSG_DONTWAIT, SOCK_STREAM
from kstack.net.ipv4.tcp_states import TCP_CLOSE, TCP_ESTABLISHED, TCP_TIME_WAIT
from kstack.world import World
from tests.lib.pair import A_IP, B_IP, StackPair, digest


def test_connect_transfer_close_over_veth():
    """RFC 9293 3.5 + 3.6 through the real stack: handshake, 1 MB both ways byte-exact,
    close from the client (TIME-WAIT on a for 60 s), CLOSED on b; no timers after 60 s."""
    p = StackPair()
    c, s = p.connected()
    data = bytes(range(256)) * 4096
    assert digest(p.transfer(p.a, c, p.b, s, data)) == digest(data)
    assert digest(p.transfer(p.b, s, p.a, c, data[::-1])) == digest(data[::-1])
    ska, skb = p.a.sock(c), p.b.sock(s)
    p.a.close(c)
    p.run(0.5)
    assert p.b.recv(s, 10, MSG_DONTWAIT) == b""
    p.b.close(s)
    p.run(1)
    assert skb.sk_state == TCP_CLOSE
    tws = [x for x in p.a.net.ipv4.tcp_hashinfo.ehash.values() if x.sk_state == TCP_TIME_WAIT]
    assert len(tws) == 1
    p.b.close(p.listener)
    p.run(61)
    assert p.pending_tcp_timers() == [] and p.bugs() == []


def test_loopback_transfer_skips_checksum():
    """Linux loopback marks packets CHECKSUM_UNNECESSARY: TCP skips the checksum (even a wrong
    one would pass) and the transfer is byte-exact."""
    w = World()
    h = w.host("h")
    ls = h.socket(AF_INET, SOCK_STREAM)
    h.bind(ls, ("127.0.0.1", 7000))
    h.listen(ls)
    c = h.socket(AF_INET, SOCK_STREAM)
    h.connect(c, ("127.0.0.1", 7000))
    s, peer = h.accept(ls)
    assert peer == ("127.0.0.1", h.getsockname(c)[1])
    data = b"loop" * 100000
    sent = got = 0
    out = bytearray()
    while len(out) < len(data):
        if sent < len(data):
            try:
                sent += h.send(c, data[sent:sent + 65536], MSG_DONTWAIT)
            except BlockingIOError:
                pass
        try:
            out += h.recv(s, 1 << 20, MSG_DONTWAIT)
        except BlockingIOError:
            w.settle()
            t = w.sim.next_event()
            if t is not None and t > w.clock.now():
                w.clock.set(t)
            w.settle()
    assert bytes(out) == data
    assert h.net.mib.Tcp["InCsumErrors"] == 0 and h.net.mib.Tcp["InErrs"] == 0
    assert h.net.bugs == []


def test_connect_refused_blocking():
    """RFC 9293 3.10.7.3: a RST for our SYN -> connect() fails with ECONNREFUSED."""
    w = World()
    a, b = w.pair()
    c = a.socket(AF_INET, SOCK_STREAM)
    with pytest.raises(ConnectionRefusedError):
        a.connect(c, (B_IP, 9))
    assert a.net.mib.Tcp["AttemptFails"] == 1 and b.net.mib.Tcp["OutRsts"] == 1


def test_nonblocking_connect_einprogress_then_so_error():
    """Linux inet_stream_connect: a nonblocking connect returns EINPROGRESS; completion shows as
    SO_ERROR 0; connect() again then returns 0 (SS_CONNECTING -> SS_CONNECTED) and a third
    time EISCONN (as Linux 6.18 does)."""
    from kstack.core.sock import SO_ERROR, SOL_SOCKET
    from kstack.fs.file import O_NONBLOCK
    p = StackPair()
    ls = p.b.socket(AF_INET, SOCK_STREAM)
    p.b.bind(ls, (B_IP, 5001))
    p.b.listen(ls)
    c = p.a.socket(AF_INET, SOCK_STREAM | 0o4000)        # SOCK_NONBLOCK
    with pytest.raises(BlockingIOError) as e:
        p.a.connect(c, (B_IP, 5001))
    assert e.value.errno == errno.EINPROGRESS
    p.run(0.1)
    assert p.a.getsockopt(c, SOL_SOCKET, SO_ERROR) == 0
    assert p.a.connect(c, (B_IP, 5001)) == 0
    with pytest.raises(OSError) as e2:
        p.a.connect(c, (B_IP, 5001))
    assert e2.value.errno == errno.EISCONN


def test_poll_readiness():
    """tcp_poll: POLLOUT when connected with send space, POLLIN with data, POLLIN|POLLRDHUP on
    the peer's FIN, POLLHUP|POLLERR after a RST."""
    from kstack.core.wait import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP
    from kstack.net.ipv4.tcp import tcp_poll
    p = StackPair()
    c, s = p.connected()
    sk = p.b.sock(s)
    m = tcp_poll(sk)
    assert m & POLLOUT and not m & POLLIN
    p.a.send(c, b"hi")
    p.run(0.01)
    assert tcp_poll(sk) & POLLIN
    p.a.shutdown(c, 1)
    p.run(0.01)
    assert tcp_poll(sk) & POLLRDHUP
    import struct
    from kstack.core.sock import SO_LINGER, SOL_SOCKET
    p.a.setsockopt(c, SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 0))
    p.a.close(c)
    p.run(0.01)
    m = tcp_poll(sk)
    assert m & POLLHUP and m & POLLERR


def test_icmp_frag_needed_lowers_mss():
    """RFC 1191 / Linux tcp_v4_err + tcp_v4_mtu_reduced: an ICMP "fragmentation needed" with
    next-hop MTU 1200 quoting an in-window segment lowers the MSS to 1160 and the data is
    re-sent in smaller segments at once (tcp_simple_retransmit)."""
    from tests.lib.factory import TcpTestbed, passive_open
    import struct as st
    from kstack.wire.checksum import ip_fast_csum, csum_fold, csum_partial
    bed = TcpTestbed()
    c, _ = passive_open(bed)
    c.send(b"m" * 2920)
    segs = c.sent()
    assert [len(x.payload) for x in segs] == [1460, 1460]
    quoted = segs[0].raw[:28]
    icmp = bytearray(st.pack("!BBHHH", 3, 4, 0, 0, 1200) + quoted)
    st.pack_into("!H", icmp, 2, csum_fold(csum_partial(bytes(icmp))))
    from kstack.wire.inet import in_aton
    ip = bytearray(st.pack("!BBHHHBBHII", 0x45, 0, 20 + len(icmp), 7, 0, 64, 1, 0,
                           in_aton("192.0.2.1"), in_aton("192.168.0.1")))
    st.pack_into("!H", ip, 10, ip_fast_csum(bytes(ip)))
    bed.inject(bytes(ip + icmp))
    rtx = c.sent()
    assert rtx and all(len(x.payload) <= 1160 for x in rtx)
    assert rtx[0].seq == c.lnxt
    assert c.sk.mss_cache == 1160


def test_icmp_for_unknown_sequence_ignored():
    """RFC 5927 4.1: an ICMP error quoting a sequence number outside SND.UNA..SND.NXT is
    ignored (OutOfWindowIcmps)."""
    from tests.lib.factory import TcpTestbed, passive_open
    import struct as st
    from kstack.wire.checksum import ip_fast_csum, csum_fold, csum_partial
    from kstack.wire.inet import in_aton
    bed = TcpTestbed()
    c, _ = passive_open(bed)
    c.send(b"m" * 100)
    (seg,) = c.sent()
    quoted = bytearray(seg.raw[:28])
    st.pack_into("!I", quoted, 24, (seg.seq + 100000) & 0xFFFFFFFF)
    icmp = bytearray(st.pack("!BBHHH", 3, 1, 0, 0, 0) + bytes(quoted))
    st.pack_into("!H", icmp, 2, csum_fold(csum_partial(bytes(icmp))))
    ip = bytearray(st.pack("!BBHHHBBHII", 0x45, 0, 20 + len(icmp), 7, 0, 64, 1, 0,
                           in_aton("192.0.2.1"), in_aton("192.168.0.1")))
    st.pack_into("!H", ip, 10, ip_fast_csum(bytes(ip)))
    bed.inject(bytes(ip + icmp))
    assert bed.net.mib.TcpExt["OutOfWindowIcmps"] == 1
    assert c.sk.sk_err_soft == 0 and c.sk.sk_state == TCP_ESTABLISHED
