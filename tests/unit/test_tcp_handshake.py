"""TCP connection establishment, segment by segment against Linux's wire behaviour.

RFC 9293 section 3.5 (establishing a connection) and 3.10.7 (SEGMENT ARRIVES in CLOSED,
LISTEN, SYN-SENT), RFC 7323 (options in the SYN), RFC 6528 (ISN), RFC 6298 section 2
(initial RTO of 1 s), and Linux's listen queues (net/ipv4/tcp_minisocks.c, inet_connection_sock.c).
"""
import errno

import pytest

from kstack.core.sock import SO_REUSEADDR, SO_REUSEPORT, SOL_SOCKET
from kstack.core.wait import Blocked
from kstack.net.ipv4.tcp_states import (TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV,
                                        TCP_SYN_SENT)
from kstack.wire.tcphdr import tcp_options_write
from tests.lib.factory import (LOCAL, REMOTE, REMOTE_ISN, SegmentFactory, TcpTestbed, active_open,
                               passive_open)

LINUX_SYN_OPTS = ["mss", "sackOK", "TS", "nop", "wscale"]


def connect_nb(bed, port=80):
    fd = bed.socket()
    r = bed.host._call("connect", fd, (REMOTE, port), block=False)
    return fd, r


# --- CLOSED -> SYN-SENT -----------------------------------------------------------------
def test_active_open_syn_layout():
    """RFC 9293 3.5 / RFC 7323 3 and 2.2: the SYN carries MSS, SACK-permitted, TS and WS in
    Linux's order (mss, sackOK, TS val ecr, nop, wscale), window 64240 (44*1460 of 64 KB),
    wscale 7 from tcp_rmem[2]=6 MB; then connect() returns EINPROGRESS-style Blocked."""
    bed = TcpTestbed()
    fd, r = connect_nb(bed)
    assert isinstance(r, Blocked)
    (syn,) = bed.sent()
    assert syn.flags == "S" and syn.win == 64240 and syn.ack == 0
    assert syn.opt_names == LINUX_SYN_OPTS
    assert syn.th.opt("mss") == 1460 and syn.th.opt("wscale") == 7
    assert syn.th.opt("TS")[1] == 0
    assert syn.saddr == LOCAL and syn.daddr == REMOTE and syn.df and syn.ttl == 64
    assert syn.csum_ok()
    assert bed.sock(fd).sk_state == TCP_SYN_SENT
    assert bed.net.mib.Tcp["ActiveOpens"] == 1


@pytest.mark.parametrize("sysctls, names", [
    ({"net.ipv4.tcp_timestamps": 0}, ["mss", "nop", "nop", "sackOK", "nop", "wscale"]),
    ({"net.ipv4.tcp_sack": 0}, ["mss", "nop", "nop", "TS", "nop", "wscale"]),
    ({"net.ipv4.tcp_window_scaling": 0}, ["mss", "sackOK", "TS"]),
    ({"net.ipv4.tcp_sack": 0, "net.ipv4.tcp_timestamps": 0}, ["mss", "nop", "wscale"]),
])
def test_syn_option_variants(sysctls, names):
    """RFC 7323 / RFC 2018: with an option disabled by sysctl Linux pads the rest with NOPs
    exactly as tcp_options_write() lays them out."""
    bed = TcpTestbed(sysctls=sysctls)
    connect_nb(bed)
    (syn,) = bed.sent()
    assert syn.opt_names == names


def test_wscale_follows_rmem_max():
    """RFC 7323 2.2: Linux sizes the shift for max(tcp_rmem[2], rmem_max)
    (tcp_select_initial_window: ilog2(space) - 15): 2 MB -> 6, 4 MB -> 7, 16 MB -> 9, and
    64 KB with rmem_max 212992 -> 2."""
    for rmem2, ws in ((2097152, 6), (4194304, 7), (65535, 2), (16 << 20, 9)):
        bed = TcpTestbed(sysctls={"net.ipv4.tcp_rmem": f"4096 131072 {rmem2}",
                                  "net.core.rmem_max": max(rmem2, 212992)})
        connect_nb(bed)
        (syn,) = bed.sent()
        assert syn.th.opt("wscale") == ws, rmem2


def test_syn_sent_synack_completes():
    """RFC 9293 3.10.7.3 SYN-SENT: an acceptable SYN-ACK moves to ESTABLISHED and is ACKed
    at once; the ACK's window is scaled by our wscale (64240 >> 7 rounded up = 502)."""
    bed = TcpTestbed()
    c, syn = active_open(bed, ts=100)
    (ack,) = c.sent()
    assert ack.flags == "." and ack.seq == syn.seq + 1 and ack.ack == REMOTE_ISN + 1
    assert ack.win == 502 and ack.th.opt("TS")[1] == 100
    sk = c.sk
    assert sk.sk_state == TCP_ESTABLISHED
    assert bed.net.mib.Tcp["CurrEstab"] == 1


def test_syn_sent_bad_ack_gets_rst():
    """RFC 9293 3.10.7.3: in SYN-SENT a SYN-ACK whose ACK is unacceptable gets <SEQ=SEG.ACK>
    <CTL=RST> and the connection stays in SYN-SENT."""
    bed = TcpTestbed()
    fd, r = connect_nb(bed)
    (syn,) = bed.sent()
    f = SegmentFactory(bed, rport=80, lport=syn.th.source)
    f.inject("S.", seq=5000, ack=syn.seq + 100, opts=f.syn_opts())
    (rst,) = bed.sent()
    assert rst.flags == "R" and rst.seq == syn.seq + 100
    assert bed.sock(fd).sk_state == TCP_SYN_SENT


def test_syn_sent_rst_is_econnrefused():
    """RFC 9293 3.10.7.3: an acceptable RST in SYN-SENT -> "connection reset" (ECONNREFUSED
    on Linux); the socket closes and its timers are gone."""
    bed = TcpTestbed()
    fd, r = connect_nb(bed)
    (syn,) = bed.sent()
    f = SegmentFactory(bed, rport=80, lport=syn.th.source)
    f.inject("R.", seq=0, ack=syn.seq + 1)
    assert r.retry() == -errno.ECONNREFUSED
    assert bed.sent() == []
    assert bed.sock(fd).sk_state == TCP_CLOSE
    assert bed.timers() == []
    assert bed.net.mib.Tcp["AttemptFails"] == 1


def test_syn_sent_rst_with_bad_ack_ignored():
    """RFC 9293 3.10.7.3: a RST whose ACK does not acknowledge our SYN is dropped."""
    bed = TcpTestbed()
    fd, _ = connect_nb(bed)
    (syn,) = bed.sent()
    f = SegmentFactory(bed, rport=80, lport=syn.th.source)
    f.inject("R.", seq=0, ack=syn.seq + 7)
    assert bed.sent() == []
    assert bed.sock(fd).sk_state == TCP_SYN_SENT


def test_simultaneous_open():
    """RFC 9293 3.5 figure 8: SYN-SENT receiving a bare SYN goes to SYN-RECEIVED and sends a
    SYN-ACK (same ISN, Linux's tcp_rcv_synsent_state_process); the peer's SYN-ACK then
    establishes it."""
    bed = TcpTestbed()
    fd, r = connect_nb(bed)
    (syn,) = bed.sent()
    f = SegmentFactory(bed, rport=80, lport=syn.th.source)
    f.inject("S", seq=REMOTE_ISN, opts=f.syn_opts())
    (synack,) = bed.sent()
    assert synack.flags == "S." and synack.seq == syn.seq and synack.ack == REMOTE_ISN + 1
    assert bed.sock(fd).sk_state == TCP_SYN_RECV
    f.inject("S.", seq=REMOTE_ISN, ack=syn.seq + 1, opts=f.syn_opts())
    bed.sent()
    assert bed.sock(fd).sk_state == TCP_ESTABLISHED
    assert r.retry() == 0


def test_syn_retries_exponential_backoff():
    """RFC 6298 2.1/5.5 and Linux tcp_write_timeout: with tcp_syn_linear_timeouts=0 the SYN
    is sent at 0, 1, 3, 7, 15, 31, 63 s (initial RTO 1 s doubled each time) and after
    tcp_syn_retries=6 the connect fails with ETIMEDOUT at 127 s."""
    bed = TcpTestbed(sysctls={"net.ipv4.tcp_syn_linear_timeouts": 0})
    fd, r = connect_nb(bed)
    times = [s.t for s in bed.sent()]
    while True:
        s = bed.next_sent(300)
        if s is None:
            break
        assert s.flags == "S"
        times.append(s.t)
    assert [round(t, 3) for t in times] == [0, 1, 3, 7, 15, 31, 63]
    assert bed.sock(fd).sk_state == TCP_CLOSE
    assert bed.sock(fd).sk_err == errno.ETIMEDOUT
    assert r.retry() == -errno.ETIMEDOUT
    assert bed.net.mib.TcpExt["TCPSynRetrans"] == 6
    assert bed.timers() == []


def test_syn_retries_linear_default():
    """Linux 6.18 tcp_syn_linear_timeouts=4: the first retransmits keep the 1 s RTO, then it
    doubles (0,1,2,3,4,5,7,11,19,35,67); tcp_syn_retries=6 is a time budget (tcp_model_timeout:
    127 s of exponential backoff), so ETIMEDOUT comes at the first expiry past it, 131 s."""
    bed = TcpTestbed()
    fd, r = connect_nb(bed)
    sk = bed.sock(fd)
    times = [s.t for s in bed.sent()]
    while (s := bed.next_sent(300)) is not None:
        times.append(s.t)
    assert [round(t, 3) for t in times] == [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67]
    bed2 = TcpTestbed()
    fd2, r2 = connect_nb(bed2)
    sk2 = bed2.sock(fd2)
    bed2.sim.run(until=300, stop=lambda: sk2.sk_state == TCP_CLOSE)
    assert round(bed2.now(), 3) == 131.0 and sk2.sk_err == errno.ETIMEDOUT


def test_syn_retries_sockopt_syncnt():
    """TCP_SYNCNT overrides tcp_syn_retries per socket (Linux tcp_sock.syn_retries)."""
    from kstack.core.sock import SOL_TCP
    from kstack.net.ipv4.tcp import TCP_SYNCNT
    bed = TcpTestbed(sysctls={"net.ipv4.tcp_syn_linear_timeouts": 0})
    fd = bed.socket()
    bed.host.setsockopt(fd, SOL_TCP, TCP_SYNCNT, 2)
    r = bed.host._call("connect", fd, (REMOTE, 80), block=False)
    times = [s.t for s in bed.sent()]
    while (s := bed.next_sent(300)) is not None:
        times.append(s.t)
    assert [round(t, 3) for t in times] == [0, 1, 3]
    assert r.retry() == -errno.ETIMEDOUT
    bed2 = TcpTestbed(sysctls={"net.ipv4.tcp_syn_linear_timeouts": 0})
    fd2 = bed2.socket()
    bed2.host.setsockopt(fd2, SOL_TCP, TCP_SYNCNT, 2)
    bed2.host._call("connect", fd2, (REMOTE, 80), block=False)
    sk2 = bed2.sock(fd2)
    bed2.sim.run(until=300, stop=lambda: sk2.sk_state == TCP_CLOSE)
    assert round(bed2.now(), 3) == 7.0


# --- CLOSED: segments to nowhere ------------------------------------------------------------
def test_closed_port_syn_gets_rst_ack():
    """RFC 9293 3.10.7.1: no socket and no ACK in the segment -> <SEQ=0><ACK=SEG.SEQ+SEG.LEN>
    <CTL=RST,ACK>; Linux counts OutRsts and sends window 0."""
    bed = TcpTestbed()
    f = SegmentFactory(bed, lport=9)
    f.inject("S", seq=777, opts=f.syn_opts())
    (rst,) = bed.sent()
    assert rst.flags == "R." and rst.seq == 0 and rst.ack == 778 and rst.win == 0
    assert rst.opts == [] and rst.csum_ok()
    assert bed.net.mib.Tcp["OutRsts"] == 1


def test_closed_port_ack_gets_rst_seq_ack():
    """RFC 9293 3.10.7.1: no socket, ACK set -> <SEQ=SEG.ACK><CTL=RST>."""
    bed = TcpTestbed()
    f = SegmentFactory(bed, lport=9)
    f.inject("P.", seq=777, ack=4242, payload=b"abc")
    (rst,) = bed.sent()
    assert rst.flags == "R" and rst.seq == 4242 and rst.ack == 0


def test_closed_port_rst_is_ignored():
    """RFC 9293 3.10.7.1: an incoming RST to nowhere is discarded (never answered)."""
    bed = TcpTestbed()
    f = SegmentFactory(bed, lport=9)
    f.inject("R", seq=777)
    f.inject("R.", seq=777, ack=3)
    assert bed.sent() == []


# --- LISTEN -> SYN-RECEIVED -> ESTABLISHED --------------------------------------------------
@pytest.mark.parametrize("syn, names, win", [
    (dict(mss=1460, sack_ok=True, ts=(5, 0), wscale=7), LINUX_SYN_OPTS, 65160),
    (dict(mss=1460, sack_ok=False, ts=None, wscale=None), ["mss"], 64240),
    (dict(mss=1000, sack_ok=True, ts=None, wscale=2), ["mss", "nop", "nop", "sackOK", "nop", "wscale"], 64240),
    (dict(mss=None, sack_ok=None, ts=(5, 0), wscale=None), ["mss", "nop", "nop", "TS"], 65160),
    (dict(mss=1460, sack_ok=False, ts=(5, 0), wscale=8), ["mss", "nop", "nop", "TS", "nop", "wscale"], 65160),
])
def test_synack_echoes_offered_options(syn, names, win):
    """RFC 7323 2.2/3.2, RFC 2018 2: the SYN-ACK carries WS, TS and SACK-permitted only if
    the SYN did; the window is a multiple of the MSS (45*1448 with TS, 44*1460 without)."""
    bed = TcpTestbed()
    f = SegmentFactory(bed)
    bed.listen(8080)
    f.inject("S", seq=0, win=65535, opts=tcp_options_write(**syn))
    (sa,) = bed.sent()
    assert sa.flags == "S." and sa.ack == 1 and sa.opt_names == names and sa.win == win
    if syn["ts"]:
        assert sa.th.opt("TS")[1] == 5


def test_passive_open_accept():
    """RFC 9293 3.5: SYN -> SYN-ACK -> ACK; the child is ESTABLISHED and accept() returns it
    with the peer's address; the listener stays in LISTEN; PassiveOpens counts it."""
    bed = TcpTestbed()
    c, sa = passive_open(bed, ts=1)
    assert c.sk.sk_state == TCP_ESTABLISHED
    assert bed.sock(c.listener).sk_state == TCP_LISTEN
    assert bed.host.getpeername(c.fd) == (REMOTE, 40000)
    assert bed.host.getsockname(c.fd) == (LOCAL, 8080)
    assert bed.net.mib.Tcp["PassiveOpens"] == 1
    assert bed.net.mib.Tcp["CurrEstab"] == 1
    assert c.sent() == []       # no ACK to the final ACK


def test_synack_retransmits_then_drop():
    """Linux reqsk_timer_handler: a SYN-ACK unanswered is resent after 1, 3, 7, 15, 31 s
    (tcp_synack_retries=5, RTO 1 s doubling); at 63 s the request is dropped."""
    bed = TcpTestbed()
    f = SegmentFactory(bed)
    ls = bed.listen(8080)
    f.inject("S", seq=0, opts=f.syn_opts())
    times = [s.t for s in bed.sent()]
    while (s := bed.next_sent(300)) is not None:
        assert s.flags == "S."
        times.append(s.t)
    assert [round(t, 3) for t in times] == [0, 1, 3, 7, 15, 31]
    lsk = bed.sock(ls)
    assert lsk.icsk_accept_queue.qlen == 0
    f.inject(".", seq=1, ack=times and 1)      # a late ACK: no request -> RST
    (rst,) = bed.sent()
    assert rst.flags == "R"


def test_retransmitted_syn_gets_synack_again():
    """RFC 9293 3.10.7.4 / Linux tcp_check_req: a duplicate SYN for a pending request is
    answered by retransmitting the SYN-ACK with the same ISN."""
    bed = TcpTestbed()
    f = SegmentFactory(bed)
    bed.listen(8080)
    f.inject("S", seq=0, opts=f.syn_opts())
    (a,) = bed.sent()
    bed.run(0.3)
    f.inject("S", seq=0, opts=f.syn_opts())
    (b,) = bed.sent()
    assert b.flags == "S." and b.seq == a.seq and b.ack == 1


def test_syn_recv_rst_removes_request():
    """RFC 9293 3.10.7.4 SYN-RECEIVED (passive): an in-window RST returns to LISTEN (the
    request is dropped); the ACK that follows is answered with RST."""
    bed = TcpTestbed()
    f = SegmentFactory(bed)
    ls = bed.listen(8080)
    f.inject("S", seq=0, opts=f.syn_opts())
    (sa,) = bed.sent()
    f.inject("R", seq=1)
    assert bed.sent() == []
    assert bed.sock(ls).icsk_accept_queue.qlen == 0
    assert bed.net.mib.TcpExt["EmbryonicRsts"] == 1
    f.inject(".", seq=1, ack=sa.seq + 1)
    (rst,) = bed.sent()
    assert rst.flags == "R" and rst.seq == sa.seq + 1


def test_syn_recv_bad_ack_gets_rst():
    """RFC 9293 3.10.7.4: in SYN-RECEIVED an unacceptable ACK gets <SEQ=SEG.ACK><CTL=RST>
    (Linux tcp_check_req returns the listener's RST) and the request stays."""
    bed = TcpTestbed()
    f = SegmentFactory(bed)
    ls = bed.listen(8080)
    f.inject("S", seq=0, opts=f.syn_opts())
    (sa,) = bed.sent()
    f.inject(".", seq=1, ack=sa.seq + 5)
    (rst,) = bed.sent()
    assert rst.flags == "R" and rst.seq == sa.seq + 5
    assert bed.sock(ls).icsk_accept_queue.qlen == 1


def test_listen_ack_without_request_gets_rst():
    """RFC 9293 3.10.7.2 LISTEN: any ACK -> <SEQ=SEG.ACK><CTL=RST>; a RST is ignored."""
    bed = TcpTestbed()
    f = SegmentFactory(bed)
    bed.listen(8080)
    f.inject(".", seq=10, ack=999)
    (rst,) = bed.sent()
    assert rst.flags == "R" and rst.seq == 999
    f.inject("R", seq=10)
    assert bed.sent() == []


def _syn(bed, rport, **kw):
    f = SegmentFactory(bed, rport=rport)
    f.inject("S", seq=0, opts=f.syn_opts(**kw))
    return f


def test_accept_queue_full_drops_syn():
    """Linux tcp_conn_request: with the accept queue full (sk_ack_backlog > backlog) a new
    SYN is dropped silently and counted in ListenOverflows and ListenDrops."""
    bed = TcpTestbed()
    bed.listen(8080, backlog=0)
    f1 = _syn(bed, 1001)
    (sa1,) = bed.sent()
    f1.inject(".", seq=1, ack=sa1.seq + 1)
    _syn(bed, 1002)
    assert bed.sent() == []
    mib = bed.net.mib.TcpExt
    assert (mib["ListenOverflows"], mib["ListenDrops"]) == (1, 1)


def test_syn_queue_full_sends_syncookie():
    """RFC 4987 3.6 / Linux tcp_syncookies=1: once the SYN queue holds more than backlog
    requests, the SYN-ACK is a stateless cookie (no request kept; without TS only the MSS
    option); the cookie's ACK later makes the child, a forged one gets a RST."""
    bed = TcpTestbed()
    ls = bed.listen(8080, backlog=0)
    f1 = _syn(bed, 1001)
    f2 = _syn(bed, 1002)
    sa1, sa2 = bed.sent()
    assert sa1.opt_names == ["mss", "nop", "nop", "sackOK", "nop", "wscale"]
    assert sa2.opt_names == ["mss"] and sa2.flags == "S."
    assert bed.sock(ls).icsk_accept_queue.qlen == 1
    mib = bed.net.mib.TcpExt
    assert (mib["SyncookiesSent"], mib["TCPReqQFullDoCookies"]) == (1, 1)
    f1.inject(".", seq=1, ack=sa1.seq + 1)
    bed.host.accept(ls)
    f2.inject(".", seq=1, ack=sa2.seq + 1)
    assert bed.sent() == []
    fd, addr = bed.host.accept(ls)
    assert addr == (REMOTE, 1002) and mib["SyncookiesRecv"] == 1
    assert bed.sock(fd).sk_state == TCP_ESTABLISHED
    f3 = SegmentFactory(bed, rport=1003)
    f3.inject(".", seq=1, ack=12345)
    (rst,) = bed.sent()
    assert rst.flags == "R" and rst.seq == 12345 and mib["SyncookiesFailed"] == 1


def test_syncookie_timestamp_carries_options():
    """Linux cookie_init_timestamp: with timestamps the cookie SYN-ACK keeps all options and
    the TS val's low 6 bits encode the peer's wscale and SACK, so the child gets them back."""
    bed = TcpTestbed(sysctls={"net.ipv4.tcp_syncookies": 2})
    ls = bed.listen(8080)
    f = _syn(bed, 1001, mss=1400, ts=(77, 0), wscale=5)
    (sa,) = bed.sent()
    assert sa.opt_names == LINUX_SYN_OPTS
    assert bed.sock(ls).icsk_accept_queue.qlen == 0       # stateless
    tsval = sa.th.opt("TS")[0]
    f.inject(".", seq=1, ack=sa.seq + 1, opts=[("nop", None), ("nop", None), ("TS", (78, tsval))])
    fd, _ = bed.host.accept(ls)
    from kstack.net.ipv4.tcp import tcp_get_info
    info = tcp_get_info(bed.sock(fd))
    assert info["tcpi_options"] == 7 and info["tcpi_snd_wscale"] == 5
    assert info["tcpi_snd_mss"] == 1300 - 12      # msstab entry below 1400, minus TS


def test_syn_queue_full_without_syncookies_drops():
    """Linux tcp_syn_flood_action with tcp_syncookies=0: TCPReqQFullDrop, ListenDrops, no
    SYN-ACK."""
    bed = TcpTestbed(sysctls={"net.ipv4.tcp_syncookies": 0})
    bed.listen(8080, backlog=0)
    _syn(bed, 1001)
    _syn(bed, 1002)
    assert len(bed.sent()) == 1
    mib = bed.net.mib.TcpExt
    assert (mib["TCPReqQFullDrop"], mib["ListenDrops"]) == (1, 1)


def _fill_accept_queue(bed, backlog=1):
    """Two children queued (backlog 1 admits 2) and a third request whose ACK arrives when
    the accept queue is full."""
    ls = bed.listen(8080, backlog=backlog)
    f1, f2 = _syn(bed, 1001), _syn(bed, 1002)
    sa1, sa2 = bed.sent()
    f1.inject(".", seq=1, ack=sa1.seq + 1)
    f3 = _syn(bed, 1003)
    (sa3,) = bed.sent()
    f2.inject(".", seq=1, ack=sa2.seq + 1)
    f3.inject(".", seq=1, ack=sa3.seq + 1)
    return ls, f3, sa3


def test_accept_queue_full_final_ack_dropped_then_synack_resent():
    """Linux tcp_check_req listen_overflow: a final ACK that finds the accept queue full is
    dropped (ListenOverflows, ListenDrops), the request stays and its SYN-ACK is resent at
    1 s; once accept() makes room the peer's next ACK creates the child."""
    bed = TcpTestbed()
    ls, f3, sa3 = _fill_accept_queue(bed)
    assert bed.sent() == []
    mib = bed.net.mib.TcpExt
    assert (mib["ListenOverflows"], mib["ListenDrops"]) == (1, 1)
    s = bed.next_sent(5)
    assert s.flags == "S." and s.th.dest == 1003 and s.seq == sa3.seq and round(s.t, 3) == 1.0
    assert bed.host.accept(ls)[1] == (REMOTE, 1001)
    f3.inject(".", seq=1, ack=sa3.seq + 1)
    assert bed.host.accept(ls)[1] == (REMOTE, 1002)
    assert bed.host.accept(ls)[1] == (REMOTE, 1003)


def test_abort_on_overflow_sends_rst():
    """Linux tcp_abort_on_overflow=1: the final ACK that finds the accept queue full is
    answered with a RST and the request is dropped."""
    bed = TcpTestbed(sysctls={"net.ipv4.tcp_abort_on_overflow": 1})
    ls, f3, sa3 = _fill_accept_queue(bed)
    (rst,) = bed.sent()
    assert rst.flags == "R" and rst.th.dest == 1003 and rst.seq == sa3.seq + 1
    assert bed.sock(ls).icsk_accept_queue.qlen == 0


def test_backlog_clamped_by_somaxconn():
    """Linux __sys_listen: backlog is clamped to net.core.somaxconn (4096 default)."""
    bed = TcpTestbed(sysctls={"net.core.somaxconn": 3})
    ls = bed.listen(8080, backlog=1000)
    assert bed.sock(ls).sk_max_ack_backlog == 3


# --- ISN (RFC 6528) ----------------------------------------------------------------------
def test_isn_keyed_per_tuple_and_clocked():
    """RFC 6528 3: ISN = M + F(4-tuple, secret) with M a 4 us (Linux: 64 ns) clock; two
    tuples get unrelated ISNs, the same tuple later gets ISN advanced by the clock."""
    bed = TcpTestbed()
    bed.listen(8080)
    f = SegmentFactory(bed, rport=1111)
    f.inject("S", seq=0, opts=f.syn_opts())
    (a,) = bed.sent()
    g = SegmentFactory(bed, rport=2222)
    g.inject("S", seq=0, opts=g.syn_opts())
    (b,) = bed.sent()
    assert a.seq != b.seq
    bed2 = TcpTestbed(seed=1)
    bed2.listen(8080)
    bed2.run(1.0)
    f2 = SegmentFactory(bed2, rport=1111)
    f2.inject("S", seq=0, opts=f2.syn_opts())
    (a2,) = bed2.sent()
    # the same key (same rng seed), 1 s later: + 1e9/64 ticks
    assert (a2.seq - a.seq) & 0xFFFFFFFF == 15625000


# --- ports ------------------------------------------------------------------------------
def test_bind_conflict_and_reuseaddr():
    """Linux inet_csk_get_port: a second bind to a port in use is EADDRINUSE; with
    SO_REUSEADDR on both and no listener it succeeds; a listener blocks even REUSEADDR."""
    bed = TcpTestbed()
    h = bed.host
    a = bed.socket()
    h.bind(a, (LOCAL, 7000))
    b = bed.socket()
    with pytest.raises(OSError) as e:
        h.bind(b, (LOCAL, 7000))
    assert e.value.errno == errno.EADDRINUSE
    c, d = bed.socket(), bed.socket()
    h.setsockopt(c, SOL_SOCKET, SO_REUSEADDR, 1)
    h.setsockopt(d, SOL_SOCKET, SO_REUSEADDR, 1)
    h.bind(c, (LOCAL, 7001))
    h.bind(d, (LOCAL, 7001))
    e1, e2 = bed.socket(), bed.socket()
    h.setsockopt(e1, SOL_SOCKET, SO_REUSEADDR, 1)
    h.setsockopt(e2, SOL_SOCKET, SO_REUSEADDR, 1)
    h.bind(e1, (LOCAL, 7002))
    h.listen(e1)
    with pytest.raises(OSError) as e:
        h.bind(e2, (LOCAL, 7002))
    assert e.value.errno == errno.EADDRINUSE


def test_reuseport_listeners_share_port():
    """Linux SO_REUSEPORT: two listeners of the same user on one port; SYNs are spread by
    the reuseport hash (each 4-tuple goes to one of them, consistently)."""
    bed = TcpTestbed()
    l1 = bed.listen(8080, opts=[(SOL_SOCKET, SO_REUSEPORT, 1)])
    l2 = bed.listen(8080, opts=[(SOL_SOCKET, SO_REUSEPORT, 1)])
    hits = set()
    for port in range(2000, 2040):
        f = SegmentFactory(bed, rport=port)
        f.inject("S", seq=0, opts=f.syn_opts())
        (sa,) = bed.sent()
        f.inject(".", seq=1, ack=sa.seq + 1)
    for ls in (l1, l2):
        n = len(bed.sock(ls).icsk_accept_queue.rskq_accept)
        hits.add(n)
        assert n > 0
    assert sum(len(bed.sock(x).icsk_accept_queue.rskq_accept) for x in (l1, l2)) == 40


def test_ephemeral_port_range_and_exhaustion():
    """Linux __inet_hash_connect: connect() picks a port in ip_local_port_range (even ports
    first for connect in 6.x); when every port to that destination is taken -> EADDRNOTAVAIL."""
    bed = TcpTestbed(sysctls={"net.ipv4.ip_local_port_range": "40000 40003"})
    ports = []
    for _ in range(4):
        fd, r = connect_nb(bed)
        ports.append(bed.host.getsockname(fd)[1])
    assert sorted(ports) == [40000, 40001, 40002, 40003]
    fd = bed.socket()
    with pytest.raises(OSError) as e:
        bed.host.connect(fd, (REMOTE, 80))
    assert e.value.errno == errno.EADDRNOTAVAIL
    # a different destination port can reuse the same local ports
    fd = bed.socket()
    bed.host._call("connect", fd, (REMOTE, 81), block=False)
    assert 40000 <= bed.host.getsockname(fd)[1] <= 40003


def test_connect_twice_errors():
    """Linux inet_stream_connect: a second connect while in SYN-SENT is EALREADY; after it
    is established, EISCONN."""
    bed = TcpTestbed()
    c, _ = active_open(bed)
    with pytest.raises(OSError) as e:
        bed.host.connect(c.fd, (REMOTE, 80))
    assert e.value.errno == errno.EISCONN
