"""Closing: FIN in every state, half-close, TIME_WAIT, resets and linger, segment by segment.

RFC 9293 section 3.6 (closing a connection, figures 12-14), 3.10.4 (CLOSE), 3.10.7.4
(eighth: the FIN bit, per state), RFC 1122 4.2.2.13 (abort on close with unread data; RFC 2525
2.17), and Linux's extras: TIME_WAIT as a timewait minisock for TCP_TIMEWAIT_LEN = 60 s,
orphaned FIN_WAIT2 timeout (tcp_fin_timeout), SO_LINGER.
"""
import errno
import struct

import pytest

from kstack.core.sock import SO_LINGER, SOL_SOCKET
from kstack.core.wait import Blocked
from kstack.net.ipv4.tcp_states import (TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED,
                                        TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_LAST_ACK, TCP_TIME_WAIT)
from tests.lib.factory import LOCAL, REMOTE, SegmentFactory, TcpTestbed, active_open, passive_open

SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2


def estab(**kw):
    bed = TcpTestbed(sysctls=kw.pop("sysctls", None))
    c, _ = passive_open(bed, **kw)
    return bed, c


def tw_socks(bed):
    """The TIME_WAIT minisocks in the namespace's ehash."""
    hinfo = bed.net.ipv4.tcp_hashinfo
    return [s for s in hinfo.ehash.values() if s.sk_state == TCP_TIME_WAIT]


def lookup(bed, c):
    from kstack.wire.inet import in_aton
    from kstack.net.ipv4.inet_hashtables import __inet_lookup_established
    return __inet_lookup_established(bed.net, bed.net.ipv4.tcp_hashinfo, in_aton(REMOTE),
                                     c.f.rport, in_aton(LOCAL), c.f.lport, 0)


# --- active close (figure 12, left) --------------------------------------------------------------
def test_active_close_fin_wait_to_time_wait():
    """RFC 9293 3.6 / 3.10.4 (CLOSE in ESTABLISHED: FIN, FIN-WAIT-1), 3.10.7.4 (ACK of our FIN:
    FIN-WAIT-2; FIN in FIN-WAIT-2: ACK it, TIME-WAIT). Linux: the closed (orphaned) socket is
    replaced at FIN-WAIT-2 by a timewait minisock in substate FIN_WAIT2 (tcp_fin_timeout
    60 s = TCP_TIMEWAIT_LEN), which the FIN turns into TIME_WAIT for 60 s; TW counts it."""
    from kstack.net.ipv4.inet_timewait_sock import InetTimewaitSock  # noqa: F401
    bed, c = estab()
    sk = c.sk
    bed.host.close(c.fd)
    (fin,) = c.sent()
    assert fin.flags == "F." and fin.seq == c.lnxt and fin.ack == c.rnxt
    assert sk.sk_state == TCP_FIN_WAIT1
    c.lnxt += 1
    c.seg(".")
    assert c.sent() == [] and sk.sk_state == TCP_CLOSE
    (tw,) = tw_socks(bed)
    assert tw.tw_substate == TCP_FIN_WAIT2 and lookup(bed, c) is tw
    c.seg("F.")
    (ack,) = c.sent()
    assert ack.flags == "." and ack.ack == c.rnxt and ack.seq == c.lnxt
    assert tw.tw_substate == TCP_TIME_WAIT and lookup(bed, c) is tw
    assert bed.net.mib.Tcp["CurrEstab"] == 0
    bed.run(59.9)
    assert tw_socks(bed) == [tw]
    bed.run(0.2)
    assert tw_socks(bed) == [] and bed.net.mib.TcpExt["TW"] == 1
    assert bed.timers() == []


def test_fin_wait2_not_orphan_then_time_wait():
    """RFC 9293 3.10.7.4 with a socket still open (shutdown(SHUT_WR)): the full socket stays in
    FIN-WAIT-2; the peer's FIN is ACKed and the socket goes to TIME-WAIT (tcp_time_wait)."""
    bed, c = estab()
    sk = c.sk
    bed.host.shutdown(c.fd, SHUT_WR)
    c.sent()
    c.lnxt += 1
    c.seg(".")
    assert sk.sk_state == TCP_FIN_WAIT2
    c.seg("F.")
    (ack,) = c.sent()
    assert ack.ack == c.rnxt
    (tw,) = tw_socks(bed)
    assert tw.tw_substate == TCP_TIME_WAIT


def test_time_wait_reacks_retransmitted_fin_and_restarts_timer():
    """RFC 9293 3.10.7.4 (TIME-WAIT: "the only thing that can arrive is a retransmission of
    the remote FIN. Acknowledge it, and restart the 2 MSL timeout")."""
    bed, c = estab()
    bed.host.close(c.fd)
    c.sent()
    c.lnxt += 1
    c.seg(".")
    c.seg("F.")
    c.sent()
    bed.run(30)
    c.seg("F.", seq=c.rnxt - 1)
    (ack,) = c.sent()
    assert ack.flags == "." and ack.ack == c.rnxt and ack.seq == c.lnxt
    bed.run(59.9)
    assert len(tw_socks(bed)) == 1          # restarted at t=30: expires at 90
    bed.run(0.2)
    assert tw_socks(bed) == []


def test_time_wait_rst_for_new_data_and_ignores_rst():
    """RFC 9293 3.10.7.4 / RFC 1337 (tcp_rfc1337=0: Linux kills TIME-WAIT on an in-window
    RST); a data segment in TIME-WAIT gets an ACK (tcp_timewait_state_process TCP_TW_ACK)."""
    bed, c = estab()
    bed.host.close(c.fd)
    c.sent()
    c.lnxt += 1
    c.seg(".")
    c.seg("F.")
    c.sent()
    c.seg(".", b"late", seq=c.rnxt)
    (ack,) = c.sent()
    assert ack.ack == c.rnxt
    c.seg("R", seq=c.rnxt)
    assert c.sent() == []
    assert tw_socks(bed) == []          # killed by the RST (TIME-WAIT assassination)


def test_time_wait_new_syn_reuses_tuple():
    """RFC 6191 / Linux tcp_timewait_state_process TCP_TW_SYN: a SYN with a higher ISN (and
    newer timestamp) for a TIME-WAIT tuple opens a new connection to the listener."""
    bed = TcpTestbed()
    c, _ = passive_open(bed, ts=100)
    bed.host.close(c.fd)
    c.sent()
    c.lnxt += 1
    c.seg(".")
    c.seg("F.")
    c.sent()
    bed.run(1)
    from kstack.wire.tcphdr import tcp_options_write
    c.f.inject("S", seq=c.rnxt + 100000, opts=tcp_options_write(mss=1460, sack_ok=True,
                                                               ts=(5000, 0), wscale=7))
    (sa,) = bed.sent()
    assert sa.flags == "S." and sa.ack == c.rnxt + 100001
    assert tw_socks(bed) == []


def test_simultaneous_close_closing_state():
    """RFC 9293 3.6 figure 13: FIN-WAIT-1 receiving a FIN (not acking ours) -> CLOSING; the ACK
    of our FIN -> TIME-WAIT."""
    bed, c = estab()
    sk = c.sk
    bed.host.close(c.fd)
    (fin,) = c.sent()
    c.seg("F.", ack=c.lnxt)         # their FIN crosses ours
    (ack,) = c.sent()
    assert ack.ack == c.rnxt
    assert sk.sk_state == TCP_CLOSING
    c.lnxt += 1
    c.seg(".")
    assert sk.sk_state == TCP_CLOSE and len(tw_socks(bed)) == 1


def test_fin_wait1_fin_ack_goes_straight_to_time_wait():
    """RFC 9293 3.10.7.4 (FIN-WAIT-1: "if our FIN has been ACKed ... enter TIME-WAIT")."""
    bed, c = estab()
    bed.host.close(c.fd)
    c.sent()
    c.lnxt += 1
    c.seg("F.")
    (ack,) = c.sent()
    assert ack.ack == c.rnxt and len(tw_socks(bed)) == 1


def test_orphan_fin_wait2_timeout():
    """Linux tcp_fin_timeout (60 s): an orphaned socket in FIN-WAIT-2 gives up when the peer
    never sends its FIN (tcp_keepalive_timer -> tcp_time_wait with the remaining time, or
    tcp_done), and no timer is left behind."""
    bed, c = estab(sysctls={"net.ipv4.tcp_fin_timeout": 10})
    bed.host.close(c.fd)
    c.sent()
    c.lnxt += 1
    c.seg(".")
    (tw,) = tw_socks(bed)
    assert tw.tw_substate == TCP_FIN_WAIT2
    bed.run(9.9)
    assert lookup(bed, c) is tw
    bed.run(0.2)
    assert lookup(bed, c) is None
    assert bed.timers() == []
    c.seg("F.")
    (rst,) = c.sent()
    assert rst.flags == "R"


def test_fin_wait2_not_orphan_waits_forever():
    """RFC 9293 3.6: after shutdown(SHUT_WR) the socket is not orphaned: FIN-WAIT-2 lasts until
    the peer's FIN (no tcp_fin_timeout) and data can still be received."""
    bed, c = estab(sysctls={"net.ipv4.tcp_fin_timeout": 10})
    bed.host.shutdown(c.fd, SHUT_WR)
    c.sent()
    c.lnxt += 1
    c.seg(".")
    bed.run(100)
    assert c.sk.sk_state == TCP_FIN_WAIT2
    c.seg("P.", b"more")
    assert c.recv() == b"more"
    c.seg("F.")
    assert c.recv() == b""


# --- passive close (figure 12, right) -------------------------------------------------------------
def test_passive_close_close_wait_last_ack():
    """RFC 9293 3.10.7.4 (ESTABLISHED + FIN: CLOSE-WAIT, ACK the FIN; read returns EOF),
    3.10.4 (CLOSE in CLOSE-WAIT: send FIN, LAST-ACK), the ACK of our FIN: CLOSED."""
    bed, c = estab()
    sk = c.sk
    c.seg("F.")
    (ack,) = c.sent()
    assert ack.ack == c.rnxt and sk.sk_state == TCP_CLOSE_WAIT
    assert c.recv() == b""
    bed.host.close(c.fd)
    (fin,) = c.sent()
    assert fin.flags == "F." and sk.sk_state == TCP_LAST_ACK
    c.lnxt += 1
    c.seg(".")
    assert sk.sk_state == TCP_CLOSE and tw_socks(bed) == []
    assert bed.timers() == []


def test_last_ack_retransmits_fin():
    """RFC 9293 3.10.8 / RFC 6298 / RACK-TLP (RFC 8985 7): an unacknowledged FIN is first
    re-sent as a tail loss probe (2*SRTT + 200 ms with one packet out, capped by the RTO),
    then on RTO (200 ms minimum), doubling. Same times as Linux 6.18."""
    bed, c = estab()
    c.seg("F.")
    c.sent()
    bed.host.close(c.fd)
    (fin,) = c.sent()
    rs = [bed.next_sent(5) for _ in range(3)]
    assert all(r.flags == "F." and r.seq == fin.seq for r in rs)
    assert [round(r.t - fin.t, 3) for r in rs] == [0.2, 0.4, 0.8]
    assert bed.net.mib.TcpExt["TCPLossProbes"] == 1
    assert bed.net.mib.TcpExt["TCPTimeouts"] == 2


def test_fin_with_data_delivered_then_eof():
    """RFC 9293 3.10.7.4 (eighth): a FIN carrying data: the data is delivered, then EOF. Linux
    enters pingpong mode on the FIN, so the ACK is delayed by the 40 ms ATO (a bare FIN as
    first segment is ACKed at once: no ATO yet). Checked against Linux 6.18."""
    bed, c = estab()
    c.seg("FP.", b"last words")
    assert c.sent() == []
    ack = bed.next_sent(1)
    assert ack.ack == c.rnxt and round(ack.t, 3) == 0.04
    assert c.recv() == b"last words"
    assert c.recv() == b""


def test_out_of_order_fin_waits_for_hole():
    """RFC 9293 3.10.7.4: "do not process the FIN if the state is ... or SEG.SEQ is not
    RCV.NXT": a FIN beyond a hole is queued (SACKed), processed when the hole fills."""
    bed, c = estab()
    c.seg("F.", b"b" * 10, seq=c.rnxt + 10)
    (dup,) = c.sent()
    assert dup.ack == c.rnxt and c.sk.sk_state == TCP_ESTABLISHED
    c.seg(".", b"a" * 10)
    (ack,) = c.sent()
    assert ack.ack == c.rnxt + 11 and c.sk.sk_state == TCP_CLOSE_WAIT
    c.rnxt += 11
    assert c.recv() == b"a" * 10 + b"b" * 10


# --- shutdown ------------------------------------------------------------------------------------
def test_shutdown_wr_half_close():
    """RFC 9293 3.6 (half-close): shutdown(SHUT_WR) sends FIN; we still receive; writes fail
    with EPIPE."""
    bed, c = estab()
    bed.host.shutdown(c.fd, SHUT_WR)
    (fin,) = c.sent()
    assert fin.flags == "F." and c.sk.sk_state == TCP_FIN_WAIT1
    c.lnxt += 1
    c.seg("P.", b"reply")
    assert c.recv() == b"reply"
    with pytest.raises(BrokenPipeError):
        c.send(b"x", 0x4000)     # MSG_NOSIGNAL


def test_shutdown_rd_then_data_is_discarded_silently():
    """Linux SHUT_RD: no FIN is sent; reads return EOF at once; close() later sends FIN
    (nothing unread was queued before the shutdown)."""
    bed, c = estab()
    bed.host.shutdown(c.fd, SHUT_RD)
    assert c.sent() == []
    assert c.recv() == b""
    bed.host.close(c.fd)
    (fin,) = c.sent()
    assert fin.flags == "F."


def test_shutdown_rdwr():
    """shutdown(SHUT_RDWR) sends FIN like SHUT_WR; the socket stays open (no orphan)."""
    bed, c = estab()
    bed.host.shutdown(c.fd, SHUT_RDWR)
    (fin,) = c.sent()
    assert fin.flags == "F." and c.sk.sk_state == TCP_FIN_WAIT1


def test_shutdown_not_connected_is_enotconn():
    """Linux inet_shutdown: shutdown on an unconnected TCP socket is ENOTCONN."""
    bed = TcpTestbed()
    fd = bed.socket()
    with pytest.raises(OSError) as e:
        bed.host.shutdown(fd, SHUT_WR)
    assert e.value.errno == errno.ENOTCONN


# --- resets ----------------------------------------------------------------------------------------
def test_close_with_unread_data_sends_rst():
    """RFC 1122 4.2.2.13 / RFC 2525 2.17 / Linux tcp_close: closing with unread received data
    sends RST (SEQ = SND.NXT, ACK = RCV.NXT) instead of FIN: TCPAbortOnClose."""
    bed, c = estab()
    c.seg("P.", b"unread")
    c.sent()
    bed.host.close(c.fd)
    (rst,) = c.sent()
    assert rst.flags == "R." and rst.seq == c.lnxt and rst.ack == c.rnxt
    assert bed.net.mib.TcpExt["TCPAbortOnClose"] == 1
    assert lookup(bed, c) is None and bed.timers() == []


def test_linger_zero_close_sends_rst():
    """Linux SO_LINGER {1, 0}: close() aborts with RST (TCPAbortOnLinger... Linux counts
    TCPAbortOnData when data was queued), no TIME-WAIT."""
    bed, c = estab()
    bed.host.setsockopt(c.fd, SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 0))
    bed.host.close(c.fd)
    (rst,) = c.sent()
    assert rst.flags == "R." and rst.seq == c.lnxt
    assert tw_socks(bed) == [] and lookup(bed, c) is None
    assert bed.timers() == []


def test_linger_positive_close_blocks_until_acked():
    """Linux SO_LINGER {1, n}: close() sends FIN and blocks until the FIN is ACKed (or n s)."""
    bed, c = estab()
    bed.host.setsockopt(c.fd, SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 5))
    c.send(b"x" * 100)
    c.sent()
    from kstack.net import socket as ksock
    r = ksock.sys_close(bed.host.files, c.fd)
    assert isinstance(r, Blocked)
    (fin,) = c.sent()
    assert fin.flags == "F."
    c.lnxt += 101
    c.seg(".")
    assert r.retry() == 0          # woken by the state change: the FIN is ACKed
    assert bed.now() < 1


def test_linger_positive_times_out():
    """SO_LINGER {1, 2} with the FIN never ACKed: close() returns after 2 s (the socket lives
    on as an orphan and keeps retransmitting)."""
    bed, c = estab()
    bed.host.setsockopt(c.fd, SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 2))
    from kstack.net import socket as ksock
    r = ksock.sys_close(bed.host.files, c.fd)
    assert isinstance(r, Blocked)
    assert bed.world.wait(r) == 0
    assert round(bed.now(), 1) == 2.0


def test_rst_in_established_econnreset_then_epipe():
    """RFC 9293 3.10.7.4 (second, RST in ESTABLISHED: "connection reset", CLOSED): the next
    call reports ECONNRESET once (sk_err), later sends fail with EPIPE."""
    bed, c = estab()
    sk = c.sk
    c.seg("R")
    assert sk.sk_state == TCP_CLOSE
    with pytest.raises(ConnectionResetError):
        c.send(b"x", 0x4000)
    with pytest.raises(BrokenPipeError):
        c.send(b"x", 0x4000)


def test_rst_in_close_wait_is_epipe():
    """Linux tcp_reset: a RST in CLOSE-WAIT reports EPIPE (the peer had already closed), not
    ECONNRESET."""
    bed, c = estab()
    sk = c.sk
    c.seg("F.")
    c.sent()
    c.seg("R")
    assert sk.sk_state == TCP_CLOSE and sk.sk_err == errno.EPIPE
    with pytest.raises(BrokenPipeError):
        c.send(b"x", 0x4000)


def test_rst_in_fin_wait1_closes_quietly():
    """RFC 9293 3.10.7.4 (second: in FIN-WAIT-1/2, CLOSING, LAST-ACK, TIME-WAIT a RST just
    closes); nothing is sent back."""
    bed, c = estab()
    bed.host.close(c.fd)
    c.sent()
    c.seg("R")
    assert c.sent() == [] and lookup(bed, c) is None
    assert bed.timers() == []


def test_orphan_receiving_data_sends_rst():
    """RFC 1122 4.2.2.13 / Linux tcp_rcv_state_process (FIN-WAIT-1 after close(): nobody will
    read): new data gets a RST (TCPAbortOnData) and the connection is dropped."""
    bed, c = estab()
    bed.host.close(c.fd)
    c.sent()
    c.seg("P.", b"too late")
    (rst,) = c.sent()
    assert rst.flags == "R" and rst.seq == c.lnxt      # SEQ = SEG.ACK of the data segment
    assert bed.net.mib.TcpExt["TCPAbortOnData"] == 1
    assert lookup(bed, c) is None and bed.timers() == []


def test_orphan_fin_wait2_minisock_resets_new_data():
    """Linux tcp_timewait_state_process (substate FIN_WAIT2): new data after the half-duplex
    close gets a RST and the minisock goes away."""
    bed, c = estab()
    bed.host.close(c.fd)
    c.sent()
    c.lnxt += 1
    c.seg(".")
    c.seg("P.", b"too late")
    (rst,) = c.sent()
    assert rst.flags == "R"
    assert tw_socks(bed) == [] and bed.timers() == []


def test_close_in_syn_sent_no_segment():
    """RFC 9293 3.10.4 (CLOSE in SYN-SENT: delete the TCB): nothing is sent, timers gone."""
    bed = TcpTestbed()
    fd = bed.socket()
    bed.host._call("connect", fd, (REMOTE, 80), block=False)
    bed.sent()
    bed.host.close(fd)
    assert bed.sent() == [] and bed.timers() == []


def test_close_listener_resets_pending_children():
    """Linux inet_csk_listen_stop: closing a listener resets children still in the accept
    queue (RST) and drops half-open requests."""
    bed = TcpTestbed()
    ls = bed.listen(8080)
    f = SegmentFactory(bed, rport=1001)
    f.inject("S", seq=0, opts=f.syn_opts())
    (sa,) = bed.sent()
    f.inject(".", seq=1, ack=sa.seq + 1)
    g = SegmentFactory(bed, rport=1002)
    g.inject("S", seq=0, opts=g.syn_opts())
    bed.sent()
    bed.host.close(ls)
    out = bed.sent()
    assert [(s.flags, s.th.dest) for s in out] == [("R.", 1001)]
    assert bed.timers() == []


def test_no_timers_after_full_close_cycle():
    """Linux: once a socket is destroyed (and its TIME-WAIT expired) none of its timers is
    left armed."""
    bed = TcpTestbed()
    c, _ = active_open(bed)
    c.send(b"data" * 1000)
    c.sent()
    c.seg(".", ack=c.lnxt + 4000)
    bed.host.close(c.fd)
    c.sent()
    c.lnxt += 4001
    c.seg("F.")
    c.sent()
    bed.run(61)
    assert bed.timers() == []
    assert bed.net.bugs == []
