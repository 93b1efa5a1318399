"""Receive-memory fidelity behind the kselftests tcp_rcv_toobig, tcp_rcv_big_endseq and
tcp_rcv_neg_window, on the fake clock.

Linux's packetdrill writes its packets to a tun fd: each becomes an skb whose truesize and
tailroom come from tun_get_user -> tun_alloc_skb (kmalloc bucket of the head, whole pages
for the rest). TCP turns buffer space into window with that truesize (tcp_measure_rcv_mss's
scaling_ratio, tcp_space, __tcp_select_window, __tcp_ack_snd_check), and a small segment is
copied into the tail skb's tailroom at no memory cost (tcp_try_coalesce ->
skb_try_coalesce). RFC 9293 3.8.6 (window management), 3.10.7.4 (segment acceptability,
RST); RFC 5961 3.2. Every number asserted here was measured on this machine's Linux 6.18
through tun (ss -m / TCP_INFO after each segment) and matched by kstack.
"""
from kstack.core.sock import SO_RCVBUF, SOL_SOCKET
from kstack.net.ipv4.tcp_states import TCP_CLOSE
from tests.lib.factory import SegmentFactory, TcpTestbed
from tools.packetdrill.kstack_backend import tun_alloc_sizes, tun_inject, tun_truesize

SYN_OPTS = [("mss", 1000), ("nop", None), ("wscale", 7)]       # `<mss 1000,nop,wscale 7>`


class TunPeer:
    """A packetdrill-style remote on a TcpTestbed: packets enter through kstack_backend's
    tun_inject (Linux's truesize and tailroom, --mss=1000 as gso_size)."""

    def __init__(self, rcvbuf=None):
        self.bed = TcpTestbed()
        self.f = SegmentFactory(self.bed)
        opts = [(SOL_SOCKET, SO_RCVBUF, rcvbuf)] if rcvbuf else []
        self.ls = self.bed.listen(8080, 1, opts)

    def inject(self, flags, seq, payload=b"", ack=None, win=257, opts=None):
        a = 0 if ack is None else ack
        pkt = self.f.tcp(flags, seq=seq, ack=a, win=win, opts=opts, payload=payload)
        tun_inject(self.bed.dev, pkt, gso_size=1000)
        self.bed.sim.settle()

    def handshake(self):
        """`< S 0:0(0) win 32792 <mss 1000,nop,wscale 7>`, `> S.`, +.1 `< . 1:1(0) ack 1 win 257`."""
        self.inject("S", 0, win=32792, opts=SYN_OPTS)
        (synack,) = self.bed.sent()
        self.isn = synack.seq
        self.bed.run(0.1)
        self.inject(".", 1, ack=self.isn + 1)
        self.fd, _ = self.bed.host.accept(self.ls)
        return synack

    def data(self, seq, n, flags="P."):
        self.inject(flags, seq, b"x" * n, ack=self.isn + 1)

    @property
    def sk(self):
        return self.bed.sock(self.fd)

    def acks(self):
        return [(s.flags, s.ack, s.win) for s in self.bed.sent()]


def test_tun_truesize_is_linux_tun_get_user():
    """tun_alloc_skb: under a page the whole packet is linear in a small-head-cache (576) or
    kmalloc object, truesize = object + 256 (struct sk_buff); above it 3712 bytes stay linear
    (a 4096 object) and the rest is charged as whole pages. Measured with ss -m."""
    measured = {41: 832, 140: 832, 240: 1280, 540: 1280, 1040: 2304, 1540: 2304, 2000: 4352,
                3740: 8448, 4040: 8448, 8040: 12544, 20040: 20736, 30040: 33024, 60040: 61696}
    assert {n: tun_truesize(n) for n in measured} == measured
    # linear capacity (SKB_WITH_OVERHEAD of the object); a paged skb has no tailroom
    assert [tun_alloc_sizes(n)[1] for n in (50, 1040, 3740, 4040)] == [256, 1728, 7872, 0]


def test_rcv_window_follows_truesize_toobig():
    """tcp_rcv_toobig: SO_RCVBUF 20000 (sk_rcvbuf 40000) gives a SYN-ACK window of 18980; a
    20000-byte segment (truesize 20736) sets scaling_ratio 246, so the delayed ACK 40 ms later
    offers 18000. With SO_RCVBUF 12000 a 60000-byte segment that overshoots the window while
    data waits is dropped (BeyondWindow) and answered at once with the same window; after
    read() empties the queue it is accepted (the queue was empty) and ACKed with window 0."""
    p = TunPeer(rcvbuf=20000)
    synack = p.handshake()
    assert synack.win == 18980 and synack.th.opt("wscale") == 0
    p.data(1, 20000)
    assert p.acks() == []
    assert (p.sk.sk_rmem_alloc, p.sk.scaling_ratio) == (20736, 246)
    p.bed.run(0.04)
    assert p.acks() == [(".", 20001, 18000)]
    p.bed.host.setsockopt(p.fd, SOL_SOCKET, SO_RCVBUF, 12000)
    p.data(20001, 60000)
    assert p.acks() == [(".", 20001, 18000)]
    assert p.bed.net.mib.TcpExt["BeyondWindow"] == 1
    assert len(p.bed.host.recv(p.fd, 20000)) == 20000
    p.data(20001, 60000)
    assert p.sk.sk_rmem_alloc == 61696
    ack = p.bed.next_sent(1.0)
    assert (ack.flags, ack.ack, ack.win) == (".", 80001, 0)


def test_beyond_window_counted_where_linux_counts_big_endseq():
    """tcp_rcv_big_endseq (Linux 6.18 tcp_sequence/tcp_validate_incoming): with SO_RCVBUF
    10000 a 4000-byte segment leaves a window of 5000; an in-sequence segment ending past it
    (data queued), an out-of-order one and one starting past the window are each dropped,
    counted in TcpExtBeyondWindow (3) and answered with a duplicate ACK."""
    p = TunPeer(rcvbuf=10000)
    assert p.handshake().win == 8760
    p.data(1, 4000)
    assert p.acks() == [(".", 4001, 5000)]
    p.data(4001, 50000)
    p.bed.run(1.0)
    p.data(5001, 50000)
    p.data(70001, 10000)
    assert p.acks() == [(".", 4001, 5000)] * 3
    assert p.bed.net.mib.TcpExt["BeyondWindow"] == 3
    assert len(p.bed.host.recv(p.fd, 100000)) == 4000
    p.data(4001, 50000)                  # the queue is empty: accepted past the window
    ack = p.bed.next_sent(1.0)
    assert (ack.ack, ack.win) == (54001, 0)
    assert p.bed.net.mib.TcpExt["BeyondWindow"] == 3


def test_rst_at_rcv_nxt_after_too_big_segment_neg_window():
    """tcp_rcv_neg_window: the 20000-byte segment into a 18980 window is accepted (empty
    queue) without an immediate ACK: with its real truesize the window it would offer
    (18511 bytes of space) does not reach rcv_wnd, so __tcp_ack_snd_check waits. A RST at
    seq 20001 = RCV.NXT then resets the connection (RFC 5961 3.2), and the next segment
    finds no socket: RST with seq = its ACK (RFC 9293 3.10.7.1)."""
    p = TunPeer(rcvbuf=20000)
    p.handshake()
    p.data(1, 20000)
    assert p.sk.bytes_received == 20000 and p.acks() == []
    sk = p.sk
    p.inject("R.", 20001, ack=p.isn + 1)
    assert sk.sk_state == TCP_CLOSE and p.acks() == []
    p.inject(".", 20001, ack=p.isn + 1)
    (rst,) = p.bed.sent()
    assert (rst.flags, rst.seq) == ("R", p.isn + 1)


def test_small_segments_coalesce_into_tailroom():
    """tcp_queue_rcv -> tcp_try_coalesce -> skb_try_coalesce: a segment that fits the tail
    skb's tailroom is copied there and costs no receive memory (TCPRcvCoalesce); one that
    does not is queued with its own truesize. Linux 6.18 over tun, segments of 10, 10, 50,
    1000, 1000 bytes: sk_rmem_alloc 832, 832, 832, 3136, 5440 (ss -m)."""
    p = TunPeer(rcvbuf=200000)
    p.handshake()
    rmem = []
    seq = 1
    for n, fill in ((10, b"a"), (10, b"b"), (50, b"c"), (1000, b"d"), (1000, b"e")):
        p.inject("P.", seq, fill * n, ack=p.isn + 1)
        seq += n
        rmem.append(p.sk.sk_rmem_alloc)
    assert rmem == [832, 832, 832, 3136, 5440]
    assert len(p.sk.sk_receive_queue.q) == 3
    assert p.bed.net.mib.TcpExt["TCPRcvCoalesce"] == 2
    assert p.bed.host.recv(p.fd, 65) == b"a" * 10 + b"b" * 10 + b"c" * 45
    assert p.bed.host.recv(p.fd, 10000) == b"c" * 5 + b"d" * 1000 + b"e" * 1000
    assert p.sk.sk_rmem_alloc == 0


def test_partly_old_segment_is_not_coalesced():
    """tcp_try_coalesce needs the segment's own seq to be the tail's end_seq: a segment that
    starts below RCV.NXT (seq < rcv_nxt < end_seq, RFC 9293 3.10.7.4 trims it) is queued with
    its own truesize, and so is an out-of-order one that the hole-filler overlaps when it
    moves to the receive queue; the in-order ones coalesce. Linux 6.18 over tun: 1:11, 6:31,
    41:61 (out of order), 31:46, 61:71 -> sk_rmem_alloc 832, 1664, 2496, 2496, 2496."""
    p = TunPeer(rcvbuf=200000)
    p.handshake()
    rmem = []
    for seq, end in ((1, 11), (6, 31), (41, 61), (31, 46), (61, 71)):
        p.inject("P.", seq, bytes(range(seq, end)), ack=p.isn + 1)
        rmem.append(p.sk.sk_rmem_alloc)
    assert rmem == [832, 1664, 2496, 2496, 2496]
    assert p.bed.net.mib.TcpExt["TCPRcvCoalesce"] == 2
    assert p.bed.host.recv(p.fd, 1000) == bytes(range(1, 71))


def test_coalesced_fin_ends_the_stream():
    """skb_try_coalesce copies the segment and tcp_try_coalesce ORs its flags into the tail:
    data + FIN coalesced into queued data is read in full, then end of file."""
    p = TunPeer()
    p.handshake()
    p.data(1, 10)
    p.inject("F.", 11, b"y" * 20, ack=p.isn + 1)
    assert len(p.sk.sk_receive_queue.q) == 1
    assert p.bed.host.recv(p.fd, 100) == b"x" * 10 + b"y" * 20
    assert p.bed.host.recv(p.fd, 100) == b""
