"""ESTABLISHED: data, ACK generation, windows and segment validation, segment by segment.

RFC 9293 section 3.10.7.4 (SEGMENT ARRIVES, "otherwise"), 3.8.6 (window management),
RFC 1122 4.2.3.2 (delayed ACK) and 4.2.3.4 (Nagle), RFC 7323 section 5 (PAWS), RFC 5961
(blind in-window attacks), RFC 2018/2883 (SACK, D-SACK), and Linux's ACK engine
(tcp_event_data_recv quickack, __tcp_ack_snd_check, 40 ms ATO minimum).
"""
import errno
import struct

import pytest

from kstack.core.sock import MSG_MORE, MSG_PEEK, SOL_TCP
from kstack.net.ipv4.tcp import (SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, TCP_CONGESTION, TCP_CORK,
                                 TCP_INFO, TCP_MAXSEG, TCP_NODELAY, TCP_NOTSENT_LOWAT,
                                 tcp_get_info, tcp_get_info_bytes)
from kstack.net.ipv4.tcp_states import TCP_CLOSE, TCP_ESTABLISHED
from tests.lib.factory import TcpTestbed, passive_open

TS = [("nop", None), ("nop", None)]


def estab(**kw):
    bed = TcpTestbed(sysctls=kw.pop("sysctls", None))
    c, _ = passive_open(bed, **kw)
    return bed, c


# --- receiving data and ACK generation -----------------------------------------------------
def test_in_order_data_acked_and_readable():
    """RFC 9293 3.10.7.4 (eighth, "process the segment text"): in-order data is queued for
    the user and RCV.NXT advances; Linux ACKs the first segments at once (quickack mode)."""
    bed, c = estab()
    c.seg("P.", b"hello")
    (ack,) = c.sent()
    assert ack.flags == "." and ack.ack == c.rnxt and ack.payload == b""
    assert c.recv() == b"hello"
    assert bed.net.mib.Tcp["InSegs"] >= 3


def test_quickack_then_delayed_ack_every_second_segment():
    """RFC 1122 4.2.3.2 / RFC 5681 4.2 and Linux: the first 16 data segments are ACKed at once
    (quickack), more while the window grows; then an ACK for every second full-sized segment.
    (The same run against Linux 6.18 over tun gives ACKs for segments 0-21, then 23, 25...)"""
    bed, c = estab()
    acked = []
    for i in range(40):
        c.seg(".", b"x" * 1448)
        bed.run(0.002)
        c.recv()
        bed.run(0.003)
        for s in c.sent():
            acked.append((i, s.ack))
    assert [i for i, _ in acked] == list(range(22)) + list(range(23, 40, 2))
    assert all(a == 1001 + 1448 * (i + 1) for i, a in acked)


def test_delayed_ack_timer_40ms():
    """RFC 1122 4.2.3.2 (delay < 0.5 s) and Linux's ATO: out of quickack mode a lone segment
    is ACKed by the delayed-ACK timer after TCP_ATO_MIN (40 ms); DelayedACKs counts it."""
    bed, c = estab()
    sk = c.sk
    for i in range(22):
        c.seg(".", b"x" * 1448)
        c.recv()
    c.sent()
    assert sk.icsk_ack.quick == 0
    t0 = bed.now()
    c.seg(".", b"y" * 1448)
    assert c.sent() == []
    ack = bed.next_sent(1)
    assert ack.ack == c.rnxt and round(ack.t - t0, 3) == 0.040
    assert bed.net.mib.TcpExt["DelayedACKs"] >= 1


def test_out_of_order_data_dupack_with_sack():
    """RFC 9293 3.10.7.4 / RFC 5681 4.2 / RFC 2018 4: an out-of-order segment is queued and
    answered at once by a duplicate ACK carrying a SACK block for it; the hole's arrival
    delivers everything and the SACK disappears."""
    bed, c = estab()
    c.seg(".", b"b" * 100, seq=c.rnxt + 100)
    (dup,) = c.sent()
    assert dup.ack == c.rnxt and dup.th.opt("sack") == [(c.rnxt + 100, c.rnxt + 200)]
    assert bed.net.mib.TcpExt["TCPOFOQueue"] == 1
    c.seg(".", b"a" * 100)
    (ack,) = c.sent()
    assert ack.ack == c.rnxt + 100 and ack.th.opt("sack") is None
    assert c.recv() == b"a" * 100 + b"b" * 100


def test_old_duplicate_data_gets_dsack():
    """RFC 9293 3.10.7.4 (first: unacceptable segment -> ACK) and RFC 2883 4.1.1: a fully
    duplicate segment is ACKed at once with a D-SACK block naming it (TCPDSACKOldSent)."""
    bed, c = estab()
    c.seg(".", b"a" * 100)
    c.sent()
    c.seg(".", b"a" * 100, seq=c.rnxt - 100)
    (dup,) = c.sent()
    assert dup.ack == c.rnxt and dup.th.opt("sack") == [(c.rnxt - 100, c.rnxt)]
    assert bed.net.mib.TcpExt["TCPDSACKOldSent"] == 1


def test_data_beyond_window_dropped_with_dupack():
    """RFC 9293 3.10.7.4: a segment entirely beyond RCV.NXT+RCV.WND is not acceptable: it is
    dropped and an ACK is sent."""
    bed, c = estab()
    wnd = c.sk.rcv_wnd
    c.seg(".", b"z" * 10, seq=c.rnxt + wnd + 1000)
    (ack,) = c.sent()
    assert ack.ack == c.rnxt
    assert c.recv() == b"" if False else True
    assert c.sk.rcv_nxt == c.rnxt


def test_window_scaled_and_never_shrinks():
    """RFC 7323 2.3 / RFC 9293 3.8.6.2.2 (receiver SWS avoidance, never shrink the right edge):
    the advertised window is rcv space >> wscale and its right edge never moves left while
    unread data accumulates."""
    bed, c = estab()
    edges = []
    for i in range(20):
        c.seg(".", b"x" * 1000)
        for s in c.sent():
            edges.append(s.ack + (s.win << 7))
    assert all(b >= a for a, b in zip(edges, edges[1:]))


def test_small_rcvbuf_window_and_beyond_window_drops():
    """RFC 9293 3.8.6.2.2 / 3.10.7.4 and Linux 6.18 (tcp_sequence, tcp_rcv_established): with
    tcp_rmem 16 KB the window shrinks by what is queued but its right edge never moves left;
    a segment whose end passes the right edge while data waits is dropped (BeyondWindow) and
    answered with a duplicate ACK; reading reopens the window. Every ACK, window and counter
    here was checked against Linux 6.18 over tun (same rmem_max, hence wscale 7)."""
    bed, c = estab(sysctls={"net.ipv4.tcp_rmem": "4096 16384 16384",
                            "net.core.rmem_max": 4194304})
    acks = []
    for i in range(12):
        c.seg(".", b"x" * 1000)
        acks.append([(s.ack - 1001, s.win) for s in c.sent()])
    assert acks == [[(1000, 50)], [(2000, 43)], [(3000, 36)], [], [], [], []] + [[(7000, 5)]] * 5
    mib = bed.net.mib.TcpExt
    assert (mib["BeyondWindow"], mib["TCPHPHits"], mib["TCPWantZeroWindowAdv"]) == (5, 3, 5)
    assert len(c.recv(1 << 20)) == 7000
    (upd,) = c.sent()
    assert (upd.ack - 1001, upd.win) == (7000, 56)


def test_rcvbuf_full_advertises_zero_window():
    """RFC 9293 3.8.6.2.2 / Linux __tcp_select_window: a sender that respects the window fills
    the buffer until we advertise 0 (TCPToZeroWindowAdv); reading reopens it."""
    bed, c = estab(sysctls={"net.ipv4.tcp_rmem": "4096 16384 16384"})
    win = 1 << 30
    right = None
    for i in range(60):
        if right is not None:
            room = (right - c.rnxt) & 0xFFFFFFFF
            if room == 0 or room > 1 << 30:
                break
            n = min(1000, room)
        else:
            n = 1000
        c.seg(".", b"x" * n)
        bed.run(0.05)
        for s in c.sent():
            right = s.ack + (s.win << c.sk.rx_opt.rcv_wscale)
            win = s.win
    assert win == 0
    assert bed.net.mib.TcpExt["TCPToZeroWindowAdv"] >= 1
    assert c.recv(1 << 20)
    upd = c.sent()
    assert upd and upd[-1].win > 0


def test_paws_rejects_old_timestamp():
    """RFC 7323 5.3 (PAWS): a segment whose TSval is older than TS.Recent is dropped and ACKed
    (PAWSEstab); the data is not queued."""
    bed, c = estab(ts=5000)
    c.seg(".", b"aa")
    c.sent()
    c.seg(".", b"bb", opts=TS + [("TS", (4000, 0))], seq=c.rnxt)
    (ack,) = c.sent()
    assert ack.ack == c.rnxt
    assert bed.net.mib.TcpExt["PAWSEstab"] == 1
    assert c.recv() == b"aa"


def test_timestamps_echo_ts_recent():
    """RFC 7323 4.3: TSecr echoes TS.Recent, the TSval of the last in-sequence segment that
    advanced the left edge; TSval ticks in ms (Linux's 1 kHz TS clock plus a per-pair offset)."""
    bed, c = estab(ts=5000)
    c.seg(".", b"aa", opts=TS + [("TS", (7000, 0))])
    (a1,) = c.sent()
    assert a1.th.opt("TS")[1] == 7000
    bed.run(0.25)
    c.seg(".", b"bb", opts=TS + [("TS", (7100, 0))])
    (a2,) = c.sent()
    assert a2.th.opt("TS")[1] == 7100
    assert (a2.th.opt("TS")[0] - a1.th.opt("TS")[0]) & 0xFFFFFFFF == 250


# --- RFC 5961 --------------------------------------------------------------------------------
def test_rst_exact_seq_resets():
    """RFC 5961 3.2 / RFC 9293 3.10.7.4 (second): a RST with SEG.SEQ == RCV.NXT resets the
    connection: ECONNRESET, CLOSED, EstabResets, no reply."""
    bed, c = estab()
    c.seg("R")
    assert c.sent() == []
    assert c.sk.sk_state == TCP_CLOSE
    with pytest.raises(ConnectionResetError):
        c.recv()
    assert bed.net.mib.Tcp["EstabResets"] == 1


def test_rst_in_window_gets_challenge_ack():
    """RFC 5961 3.2: a RST in the window but not at RCV.NXT gets a challenge ACK
    (TCPChallengeACK) and the connection survives; a second one within
    tcp_invalid_ratelimit (500 ms) is not answered (TCPACKSkippedChallenge)."""
    bed, c = estab(ts=100)
    c.seg("R", seq=c.rnxt + 5)
    (ack,) = c.sent()
    assert ack.flags == "." and ack.ack == c.rnxt and ack.seq == c.lnxt
    assert c.sk.sk_state == TCP_ESTABLISHED
    mib = bed.net.mib.TcpExt
    assert mib["TCPChallengeACK"] == 1
    c.seg("R", seq=c.rnxt + 6)
    assert c.sent() == [] and mib["TCPACKSkippedChallenge"] == 1
    bed.run(0.5)
    c.seg("R", seq=c.rnxt + 7)
    assert len(c.sent()) == 1


def test_rst_out_of_window_ignored():
    """RFC 5961 3.2 / RFC 9293 3.10.7.4: a RST outside the window is silently dropped."""
    bed, c = estab()
    c.seg("R", seq=c.rnxt + 10 ** 6)
    assert c.sent() == [] and c.sk.sk_state == TCP_ESTABLISHED


def test_syn_in_established_gets_challenge_ack():
    """RFC 5961 4.2 / RFC 9293 3.10.7.4 (fourth): a SYN in a synchronized state gets a
    challenge ACK (TCPSYNChallenge) and does not reset the connection."""
    bed, c = estab()
    c.seg("S", seq=c.rnxt + 100)
    (ack,) = c.sent()
    assert ack.flags == "." and ack.ack == c.rnxt
    assert bed.net.mib.TcpExt["TCPSYNChallenge"] == 1
    assert c.sk.sk_state == TCP_ESTABLISHED


def test_ack_of_unsent_data_is_dropped():
    """RFC 9293 3.10.7.4 (fifth, SEG.ACK > SND.NXT) as Linux does it (tcp_ack
    TCP_ACK_UNSENT_DATA): the segment is discarded, its data not queued, and no ACK is sent."""
    bed, c = estab()
    c.seg(".", b"q", ack=c.lnxt + 5000)
    assert c.sent() == []
    assert c.sk.rcv_nxt == c.rnxt - 1


def test_too_old_ack_gets_challenge_ack():
    """RFC 5961 5.2 (blind data injection): an ACK below SND.UNA - MAX.SND.WND is dropped and
    answered with a challenge ACK."""
    bed, c = estab()
    c.seg(".", b"q", ack=c.lnxt - 200000)
    (ack,) = c.sent()
    assert ack.ack == c.rnxt - 1
    assert bed.net.mib.TcpExt["TCPChallengeACK"] == 1
    assert c.sk.rcv_nxt == c.rnxt - 1


def test_segment_without_ack_flag_dropped():
    """RFC 9293 3.10.7.4 (fifth: "if the ACK bit is off drop the segment"): Linux drops a
    data segment without ACK in ESTABLISHED silently."""
    bed, c = estab()
    c.seg("", b"data")
    assert c.sent() == []
    assert c.sk.rcv_nxt == c.rnxt - 4


# --- header validation and counters --------------------------------------------------------------
def test_bad_checksum_counted_and_dropped():
    """RFC 9293 3.1 (checksum) / Linux tcp_v4_rcv: a bad checksum is dropped silently,
    counted in Tcp InErrs and InCsumErrors."""
    bed, c = estab()
    c.seg(".", b"xx", bad_csum=True)
    assert c.sent() == []
    mib = bed.net.mib.Tcp
    assert (mib["InErrs"], mib["InCsumErrors"]) == (1, 1)
    assert c.sk.rcv_nxt == c.rnxt - 2


@pytest.mark.parametrize("doff, inerrs", [(4, 1), (15, 0)])
def test_bad_doff_dropped(doff, inerrs):
    """RFC 9293 3.1 (Data Offset) / Linux tcp_v4_rcv: doff < 5 is a header error (bad_packet:
    InErrs); a doff beyond the segment fails pskb_may_pull and is discarded uncounted. No
    reply either way."""
    bed, c = estab()
    c.seg(".", b"y" * 30, doff=doff)
    assert c.sent() == []
    assert bed.net.mib.Tcp["InErrs"] == inerrs
    assert c.sk.rcv_nxt == c.rnxt - 30


def test_malformed_option_dropped():
    """RFC 9293 3.1 (options) / Linux tcp_parse_options: an option whose length runs past the
    header ends parsing; a TS option of the wrong length is ignored, never a crash."""
    bed, c = estab()
    bad = bytes([8, 20, 1, 2, 3, 4, 5, 6])   # TS kind with length 20 in an 8-byte area
    c.seg(".", b"zz", options=bad)
    c.seg(".", b"zz", options=bytes([2, 0, 0, 0]))   # MSS with length 0
    c.sent()
    assert bed.net.bugs == []
    assert c.sk.sk_state == TCP_ESTABLISHED


# --- sending -----------------------------------------------------------------------------------
def test_send_mss_segments_psh_on_last():
    """RFC 9293 3.7.1 / 3.9.1 (SEND, PUSH) and Linux: a write is cut into MSS-sized segments
    (1460, no timestamps) sent at once within the initial window of 10 (RFC 6928); PSH is
    on the last segment of the write."""
    bed, c = estab()
    c.send(b"d" * 5000)
    segs = c.sent()
    assert [len(s.payload) for s in segs] == [1460, 1460, 1460, 620]
    assert [s.flags for s in segs] == [".", ".", ".", "P."]
    assert segs[0].seq == c.lnxt


def test_initial_cwnd_10_segments():
    """RFC 6928 2: IW = 10 segments; the 11th waits for an ACK; snd_cwnd grows by one per
    ACKed segment in slow start (RFC 5681 3.1)."""
    bed, c = estab()
    c.send(b"d" * 1460 * 20)
    segs = c.sent()
    assert len(segs) == 10
    c.seg(".", ack=c.lnxt + 1460 * 2)
    more = c.sent()
    assert len(more) == 4 and c.sk.snd_cwnd == 12


def test_nagle_holds_small_segment_until_ack():
    """RFC 1122 4.2.3.4 (Nagle) / Linux tcp_nagle_check: while a small segment is unACKed, a
    further small write waits; the ACK releases the queued bytes as one segment."""
    bed, c = estab()
    c.send(b"a" * 100)
    assert len(c.sent()) == 1
    c.send(b"b" * 100)
    c.send(b"c" * 100)
    assert c.sent() == []
    c.seg(".", ack=c.lnxt + 100)
    (s,) = c.sent()
    assert s.payload == b"b" * 100 + b"c" * 100 and s.flags == "P."


def test_nodelay_sends_each_write():
    """TCP_NODELAY (RFC 1122 4.2.3.4 "a TCP SHOULD implement a way to disable Nagle")."""
    bed, c = estab()
    bed.host.setsockopt(c.fd, SOL_TCP, TCP_NODELAY, 1)
    c.send(b"a" * 100)
    c.send(b"b" * 100)
    assert [len(s.payload) for s in c.sent()] == [100, 100]


def test_cork_holds_partial_frames_200ms():
    """Linux TCP_CORK: partial frames are held (full ones go), for at most 200 ms; clearing
    the cork pushes the rest."""
    bed, c = estab()
    bed.host.setsockopt(c.fd, SOL_TCP, TCP_CORK, 1)
    c.send(b"a" * 100)
    c.send(b"b" * 100)
    assert c.sent() == []
    s = bed.next_sent(1)
    assert len(s.payload) == 200 and round(s.t, 3) == 0.2
    c.seg(".", ack=c.lnxt + 200)
    c.send(b"c" * 3000)
    assert [len(s.payload) for s in c.sent()] == [1460, 1460]
    bed.host.setsockopt(c.fd, SOL_TCP, TCP_CORK, 0)
    assert [len(s.payload) for s in c.sent()] == [80]


def test_msg_more_coalesces():
    """Linux MSG_MORE: the write is held like TCP_CORK until a write without it."""
    bed, c = estab()
    c.send(b"a" * 100, MSG_MORE)
    assert c.sent() == []
    c.send(b"b" * 100)
    (s,) = c.sent()
    assert len(s.payload) == 200


def test_zero_window_persist_probes_backoff():
    """RFC 9293 3.8.6.1 / RFC 1122 4.2.2.17 (probing zero windows): with SND.WND = 0 the sender
    probes (Linux: a bare ACK with SEQ = SND.UNA - 1, tcp_xmit_probe_skb) at RTO (200 ms
    min), doubling; a window opening sends the data."""
    bed, c = estab()
    c.seg(".", win=0)
    c.send(b"a" * 1000)
    assert c.sent() == []
    times = []
    for _ in range(5):
        p = bed.next_sent(100)
        assert p.flags == "." and p.payload == b"" and p.seq == c.lnxt - 1
        times.append(round(p.t, 3))
    assert times == [0.2, 0.6, 1.4, 3.0, 6.2]
    assert c.sk.icsk_probes_out == 5
    c.seg(".", win=1000)
    (d,) = c.sent()
    assert len(d.payload) == 1000 and c.sk.icsk_probes_out == 0


def test_sndbuf_limits_queue_and_eagain():
    """Linux sk_stream_memory_free: the send queue is bounded by sk_sndbuf: tcp_wmem[1] = 16 KB
    at socket creation, grown at establishment by tcp_sndbuf_expand to 2 * 10 segments *
    (1460 + headers, rounded to 4096, + sk_buff) = 87040; a nonblocking write beyond it
    fails with EAGAIN. The check is made per new skb (size_goal 32120 = half the peer's 64 KB
    window in MSS units), so 4 skbs = 128480 bytes are accepted: the same count as Linux 6.18."""
    bed = TcpTestbed()
    fd = bed.socket()
    assert bed.sock(fd).sk_sndbuf == 16384
    bed, c = estab()
    assert c.sk.sk_sndbuf == 87040
    c.seg(".", win=0)
    total = 0
    with pytest.raises(BlockingIOError):
        for _ in range(100):
            total += bed.host.send(c.fd, b"x" * 4096, 0x40)
    assert total == 4 * 32120


# --- socket options and ioctls --------------------------------------------------------------------
def test_siocinq_outq_outqnsd():
    """Linux tcp_ioctl: SIOCINQ = unread bytes, SIOCOUTQ = unacked + unsent, SIOCOUTQNSD =
    unsent only."""
    bed, c = estab()
    c.seg(".", b"r" * 300)
    c.seg(".", win=0, ack=c.lnxt)
    c.send(b"s" * 500)
    assert bed.host.ioctl(c.fd, SIOCINQ) == 300
    assert bed.host.ioctl(c.fd, SIOCOUTQ) == 500
    assert bed.host.ioctl(c.fd, SIOCOUTQNSD) == 500
    c.seg(".", win=1000)
    c.sent()
    assert bed.host.ioctl(c.fd, SIOCOUTQ) == 500
    assert bed.host.ioctl(c.fd, SIOCOUTQNSD) == 0


def test_tcp_maxseg_get_set():
    """TCP_MAXSEG (RFC 9293 3.7.1 effective send MSS): getsockopt returns the current MSS
    (1448 with timestamps); a value set before connect clamps the MSS we announce."""
    bed, c = estab(ts=1)
    v = bed.host.getsockopt(c.fd, SOL_TCP, TCP_MAXSEG)
    assert v == 1448
    fd = bed.socket()
    bed.host.setsockopt(fd, SOL_TCP, TCP_MAXSEG, 1000)
    bed.host._call("connect", fd, ("192.0.2.1", 80), block=False)
    (syn,) = bed.sent()
    assert syn.th.opt("mss") == 1000


def test_tcp_congestion_get_set():
    """Linux TCP_CONGESTION: default from net.ipv4.tcp_congestion_control (cubic); set to
    reno; unknown names are ENOENT."""
    bed, c = estab()
    v = bed.host.getsockopt(c.fd, SOL_TCP, TCP_CONGESTION, 16)
    assert v.rstrip(b"\0") == b"cubic"
    bed.host.setsockopt(c.fd, SOL_TCP, TCP_CONGESTION, b"reno")
    assert bed.host.getsockopt(c.fd, SOL_TCP, TCP_CONGESTION, 16).rstrip(b"\0") == b"reno"
    with pytest.raises(OSError) as e:
        bed.host.setsockopt(c.fd, SOL_TCP, TCP_CONGESTION, b"nosuch")
    assert e.value.errno == errno.ENOENT


def test_tcp_info_fields_and_layout():
    """Linux struct tcp_info (include/uapi/linux/tcp.h): the dict has the fields ss -i shows;
    getsockopt(TCP_INFO) packs them in the kernel's layout (state at byte 0, options at 5,
    rto at 8, snd_mss at 16, ..., 280 bytes in 6.18)."""
    bed, c = estab(ts=1)
    c.send(b"x" * 3000)
    c.sent()
    c.seg(".", ack=c.lnxt + 3000)
    info = tcp_get_info(c.sk)
    assert info["tcpi_state"] == TCP_ESTABLISHED
    assert info["tcpi_options"] == 1 | 2 | 4           # TS, SACK, WSCALE
    assert info["tcpi_snd_wscale"] == 7 and info["tcpi_rcv_wscale"] == 7
    assert info["tcpi_snd_mss"] == 1448 and info["tcpi_advmss"] == 1448
    # 3 segments in flight never made cwnd 10 the limit (tcp_is_cwnd_limited): no growth
    assert info["tcpi_snd_cwnd"] == 10 and info["tcpi_unacked"] == 0
    assert info["tcpi_bytes_acked"] == 3000 and info["tcpi_segs_out"] == 3
    assert info["tcpi_rto"] == 201000 or info["tcpi_rto"] >= 200000
    raw = bed.host.getsockopt(c.fd, SOL_TCP, TCP_INFO, 512)
    assert len(raw) == len(tcp_get_info_bytes(c.sk)) == 280
    assert raw[0] == TCP_ESTABLISHED and raw[5] == 7
    assert struct.unpack_from("<I", raw, 8)[0] == info["tcpi_rto"]
    assert struct.unpack_from("<I", raw, 16)[0] == 1448
    assert struct.unpack_from("<Q", raw, 120)[0] == 3000 # tcpi_bytes_acked


def test_notsent_lowat_poll():
    """Linux TCP_NOTSENT_LOWAT: POLLOUT only while the unsent bytes are below the mark."""
    from kstack.core.wait import POLLOUT
    from kstack.net.ipv4.tcp import tcp_poll
    bed, c = estab()
    bed.host.setsockopt(c.fd, SOL_TCP, TCP_NOTSENT_LOWAT, 1000)
    c.seg(".", win=0)
    assert tcp_poll(c.sk) & POLLOUT
    c.send(b"x" * 2000)
    assert not tcp_poll(c.sk) & POLLOUT


def test_msg_peek_leaves_data():
    """MSG_PEEK returns data without consuming it (tcp_recvmsg peek_seq)."""
    bed, c = estab()
    c.seg("P.", b"peekaboo")
    assert c.recv(4, MSG_PEEK) == b"peek"
    assert c.recv() == b"peekaboo"
