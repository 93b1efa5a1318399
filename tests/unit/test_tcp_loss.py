"""Loss recovery and congestion control, segment by segment.

RFC 5681 (slow start, congestion avoidance, fast retransmit), RFC 6582 (NewReno partial
ACKs), RFC 2018 / RFC 6675 (SACK scoreboard and recovery), RFC 2883 (D-SACK), RFC 6937 (PRR),
RFC 8985 (RACK-TLP), RFC 5682 (F-RTO) / RFC 3522 (Eifel undo with timestamps), RFC 8312
(CUBIC, Linux's constants), RFC 6928 (IW10).
"""
import errno

import pytest

from kstack.core.sock import SOL_TCP
from kstack.net.ipv4 import tcp_cong, tcp_cubic
from kstack.net.ipv4.tcp import TCP_CONGESTION, tcp_get_info
from kstack.net.ipv4.tcp_cong import (TCP_CA_Disorder, TCP_CA_Loss, TCP_CA_Open,
                                      TCP_CA_Recovery, TcpCongestionOps, tcp_ca_find,
                                      tcp_register_congestion_control,
                                      tcp_unregister_congestion_control)
from tests.lib.factory import TcpTestbed, passive_open

MSS = 1460


def sack(*blocks):
    return [("nop", None), ("nop", None), ("sack", list(blocks))]


def estab(sack_ok=True, cc=None, **kw):
    bed = TcpTestbed(sysctls=kw.pop("sysctls", None))
    c, _ = passive_open(bed, sack=sack_ok, **kw)
    if cc:
        bed.host.setsockopt(c.fd, SOL_TCP, TCP_CONGESTION, cc.encode())
    bed.run(0.05)
    return bed, c


# --- slow start / congestion avoidance -------------------------------------------------------------
def test_slow_start_grows_cwnd_per_acked_segment():
    """RFC 5681 3.1 (slow start: cwnd += SMSS per ACK of new data, RFC 3465 byte counting in
    Linux: by segments acked) from IW 10 (RFC 6928); each ACK also releases 2 new segments."""
    bed, c = estab()
    base = c.lnxt
    c.send(b"x" * MSS * 40)
    assert len(c.sent()) == 10
    c.seg(".", ack=base + MSS * 2)
    assert c.sk.snd_cwnd == 12 and len(c.sent()) == 4
    c.seg(".", ack=base + MSS * 6)
    assert c.sk.snd_cwnd == 16 and len(c.sent()) == 8


def test_cwnd_not_grown_when_not_cwnd_limited():
    """RFC 7661 / Linux tcp_is_cwnd_limited: an application-limited sender does not grow cwnd."""
    bed, c = estab()
    base = c.lnxt
    c.send(b"x" * MSS * 2)
    c.sent()
    c.seg(".", ack=base + MSS * 2)
    assert c.sk.snd_cwnd == 10


# --- fast retransmit / NewReno (no SACK) ---------------------------------------------------------
def test_newreno_fast_retransmit_and_partial_ack():
    """RFC 5681 3.2 (third duplicate ACK: retransmit, ssthresh = cubic's beta 717/1024 of
    cwnd), RFC 6582 3.2 (partial ACK: retransmit the next hole, stay in recovery; Linux keeps
    Recovery until an ACK above high_seq, RFC 6582 'careful' variant)."""
    bed, c = estab(sack_ok=False)
    base = c.lnxt
    c.send(b"x" * MSS * 10)
    c.sent()
    c.seg(".", ack=base + MSS)                  # new ACK: cwnd 11
    c.sent()
    for i in range(2):
        c.seg(".", ack=base + MSS)
        assert c.sent() == []
    assert c.sk.icsk_ca_state == TCP_CA_Disorder
    c.seg(".", ack=base + MSS)                  # third duplicate
    (rtx,) = c.sent()
    assert rtx.seq == base + MSS and len(rtx.payload) == MSS
    sk = c.sk
    assert sk.icsk_ca_state == TCP_CA_Recovery
    assert sk.snd_ssthresh == 11 * 717 // 1024
    assert bed.net.mib.TcpExt["TCPRenoRecovery"] == 1
    c.seg(".", ack=base + MSS * 3)              # partial ACK
    (rtx2,) = c.sent()
    assert rtx2.seq == base + MSS * 3 and sk.icsk_ca_state == TCP_CA_Recovery
    c.seg(".", ack=base + MSS * 10)             # everything: SND.UNA == high_seq
    assert sk.icsk_ca_state == TCP_CA_Recovery  # held until something above is ACKed
    c.send(b"y" * MSS)
    c.sent()
    c.seg(".", ack=base + MSS * 11)
    assert sk.icsk_ca_state == TCP_CA_Open
    assert sk.snd_cwnd == sk.snd_ssthresh == 7


def test_reno_congestion_control_halves():
    """RFC 5681 3.2 equation (4) with reno: ssthresh = max(FlightSize / 2, 2 * SMSS)."""
    bed, c = estab(sack_ok=False, cc="reno")
    base = c.lnxt
    c.send(b"x" * MSS * 10)
    c.sent()
    for _ in range(3):
        c.seg(".", ack=base)
    c.sent()
    assert c.sk.snd_ssthresh == 5 and c.sk.icsk_ca_state == TCP_CA_Recovery


# --- SACK ---------------------------------------------------------------------------------------
def test_sack_recovery_retransmits_hole_only():
    """RFC 6675 5 / RFC 8985: once three segments above a hole are SACKed the hole is lost:
    retransmit only it (TCPSackRecovery); tcp_info shows the scoreboard (sacked, lost,
    retrans)."""
    bed, c = estab()
    base = c.lnxt
    c.send(b"x" * MSS * 10)
    c.sent()
    bed.run(0.001)
    probe = bed.next_sent(0.01)                 # the TLP (2*SRTT + 2 ms) re-sends the tail
    assert probe.seq == base + MSS * 9
    c.seg(".", ack=base, opts=sack((base + MSS, base + MSS * 2)))
    c.seg(".", ack=base, opts=sack((base + MSS, base + MSS * 3)))
    assert c.sent() == []
    c.seg(".", ack=base, opts=sack((base + MSS, base + MSS * 4)))
    (rtx,) = c.sent()
    assert rtx.seq == base and len(rtx.payload) == MSS
    info = tcp_get_info(c.sk)
    assert info["tcpi_ca_state"] == TCP_CA_Recovery
    assert (info["tcpi_sacked"], info["tcpi_lost"], info["tcpi_retrans"]) == (3, 1, 1)
    assert bed.net.mib.TcpExt["TCPSackRecovery"] == 1


def test_sack_received_blocks_are_validated():
    """RFC 2018 / Linux tcp_is_sackblock_valid: SACK blocks above SND.NXT or far below SND.UNA
    are ignored (TCPSACKDiscard) and change nothing."""
    bed, c = estab()
    base = c.lnxt
    c.send(b"x" * MSS * 4)
    c.sent()
    c.seg(".", ack=base, opts=sack((base + MSS * 10, base + MSS * 12)))
    assert tcp_get_info(c.sk)["tcpi_sacked"] == 0
    assert bed.net.mib.TcpExt["TCPSACKDiscard"] == 1


def test_dsack_received_counted():
    """RFC 2883 4: a D-SACK (first block below the cumulative ACK) reports a duplicate;
    Linux counts TCPDSACKRecv and tcpi_dsack_dups."""
    bed, c = estab()
    base = c.lnxt
    c.send(b"x" * MSS * 2)
    c.sent()
    c.seg(".", ack=base + MSS * 2)
    c.seg(".", ack=base + MSS * 2, opts=sack((base, base + MSS)))
    assert bed.net.mib.TcpExt["TCPDSACKRecv"] == 1
    assert tcp_get_info(c.sk)["tcpi_dsack_dups"] == 1


def test_prr_spreads_the_reduction():
    """RFC 6937 3 (PRR): during recovery the sender transmits about ssthresh/prior_cwnd segments
    per segment delivered, so cwnd falls toward ssthresh gradually rather than at once."""
    bed, c = estab()
    base = c.lnxt
    c.send(b"x" * MSS * 40)
    c.sent()
    c.seg(".", ack=base + MSS * 10)             # cwnd 20, 20 in flight
    c.sent()
    bed.run(0.001)
    bed.next_sent(0.01)                          # TLP
    una = base + MSS * 10
    sent = []
    for k in range(2, 12):
        c.seg(".", ack=una, opts=sack((una + MSS, una + MSS * k)))
        sent.append(len(c.sent()))
    sk = c.sk
    assert sk.icsk_ca_state == TCP_CA_Recovery
    # 10 segments delivered during recovery: PRR sent roughly 10 * 14/20 (7), never a burst
    assert 5 <= sum(sent) <= 9 and max(sent) <= 2


# --- tail loss probe, RTO, undo --------------------------------------------------------------------
def test_tlp_sends_new_data_first():
    """RFC 8985 7.3: the loss probe sends a new segment if one is queued and the receive
    window allows (here cwnd-limited: IW 10 sent, 2 queued), else re-sends the highest one."""
    bed, c = estab()
    base = c.lnxt
    c.send(b"x" * MSS * 12)
    assert len(c.sent()) == 10
    p = bed.next_sent(1)
    assert p.seq == base + MSS * 10 and bed.net.mib.TcpExt["TCPLossProbes"] == 1
    bed2, c2 = estab()
    base2 = c2.lnxt
    c2.send(b"x" * MSS * 2)
    c2.sent()
    p2 = bed2.next_sent(1)
    assert p2.seq == base2 + MSS


def test_rto_enters_loss_and_slow_starts():
    """RFC 5681 3.1 (on timeout: ssthresh = max(FlightSize/2, 2) - cubic 717/1024 in Linux -,
    cwnd = 1 (LW)), RFC 6298 5.4; Linux tcp_enter_loss: state Loss, TCPTimeouts."""
    bed, c = estab()
    base = c.lnxt
    c.send(b"x" * MSS * 10)
    c.sent()
    bed.next_sent(1)                             # TLP
    r = bed.next_sent(1)                         # RTO
    sk = c.sk
    assert r.seq == base and sk.icsk_ca_state == TCP_CA_Loss
    assert sk.snd_cwnd == 1 and sk.snd_ssthresh == 10 * 717 // 1024
    c.seg(".", ack=base + MSS)
    assert sk.snd_cwnd == 2


def test_spurious_rto_undone_with_timestamps():
    """RFC 3522 (Eifel detection) / Linux tcp_try_undo_loss: an ACK whose TSecr predates the
    retransmission shows the RTO was spurious: cwnd and ssthresh are restored (TCPLossUndo)."""
    bed, c = estab(ts=100)
    base = c.lnxt
    c.send(b"x" * 1448 * 10)
    c.sent()                                     # remembers the original TSval for TSecr
    bed.next_sent(1)
    bed.next_sent(1)
    sk = c.sk
    assert sk.icsk_ca_state == TCP_CA_Loss
    c.seg(".", ack=base + 1448 * 4)
    assert sk.icsk_ca_state == TCP_CA_Open and sk.snd_cwnd >= 10
    assert sk.snd_ssthresh > 1 << 30
    assert bed.net.mib.TcpExt["TCPLossUndo"] == 1


# --- congestion control modules ---------------------------------------------------------------------
def test_cc_registry_and_sysctl():
    """Linux tcp_cong.c: reno and cubic are built in; tcp_congestion_control selects the default
    (cubic); an unknown name is ENOENT; tcp_available_congestion_control lists them; a module
    registered at run time becomes selectable."""
    bed = TcpTestbed()
    assert bed.host.sysctl("net.ipv4.tcp_congestion_control") == "cubic"
    avail = bed.host.sysctl("net.ipv4.tcp_available_congestion_control").split()
    assert {"reno", "cubic"} <= set(avail)
    with pytest.raises(OSError) as e:
        bed.host.sysctl("net.ipv4.tcp_congestion_control", "nosuch")
    assert e.value.errno == errno.ENOENT
    bed.host.sysctl("net.ipv4.tcp_congestion_control", "reno")
    fd = bed.socket()
    assert bed.host.getsockopt(fd, SOL_TCP, TCP_CONGESTION, 16).rstrip(b"\0") == b"reno"

    def half(sk):
        return max(sk.snd_cwnd >> 1, 2)

    ops = TcpCongestionOps(name="halfer", ssthresh=half, cong_avoid=tcp_ca_find("reno").cong_avoid,
                           undo_cwnd=tcp_ca_find("reno").undo_cwnd)
    assert tcp_register_congestion_control(ops) == 0
    try:
        assert tcp_register_congestion_control(ops) == -errno.EEXIST
        bed.host.setsockopt(fd, SOL_TCP, TCP_CONGESTION, b"halfer")
        assert bed.host.getsockopt(fd, SOL_TCP, TCP_CONGESTION, 16).rstrip(b"\0") == b"halfer"
    finally:
        tcp_unregister_congestion_control(ops)


def test_cubic_constants_and_root():
    """RFC 8312 / Linux tcp_cubic.c: beta = 717/1024, C = 0.4 scaled (bic_scale 41), HyStart on;
    cubic_root is the table-driven integer cube root (one Newton step: ~0.2% error)."""
    assert tcp_cubic.beta == 717 and tcp_cubic.BICTCP_BETA_SCALE == 1024
    assert tcp_cubic.bic_scale == 41 and tcp_cubic.hystart == 1
    for a in (0, 1, 8, 27, 1000, 123456789, 1 << 40):
        r = tcp_cubic.cubic_root(a)
        exact = a ** (1 / 3)
        assert abs(r - exact) <= max(1, exact * 0.003)


def test_cubic_window_grows_concave_then_convex():
    """RFC 8312 4.1-4.4 / Linux bictcp_update: after a reduction from W_max = 100 (ssthresh
    100 * 717/1024 = 70) the window grows fast at first, flattens around W_max near
    K = cbrt(W_max * (1 - beta) / C) ~ 4.2 s (42 RTTs of 100 ms), then accelerates beyond it."""
    from kstack.net.ipv4.tcp_cubic import _ca
    bed = TcpTestbed()
    c, _ = passive_open(bed)
    sk = c.sk
    ops = sk.icsk_ca_ops
    assert ops.name == "cubic"
    sk.snd_cwnd = 100
    sk.snd_ssthresh = ops.ssthresh(sk)
    assert sk.snd_ssthresh == 70
    sk.snd_cwnd = sk.snd_ssthresh
    sk.is_cwnd_limited = 1
    _ca(sk).delay_min = 100000
    trace = [sk.snd_cwnd]
    for _ in range(90):                      # one RTT: a cwnd's worth of ACKs
        bed.clock.set(bed.clock.now() + 0.1)
        for _ in range(sk.snd_cwnd):
            ops.cong_avoid(sk, 0, 1)
        trace.append(sk.snd_cwnd)
    early = trace[10] - trace[0]             # concave: fast recovery toward W_max
    plateau = trace[45] - trace[35]          # around K: flat at W_max
    late = trace[90] - trace[80]             # convex: probing beyond
    assert early >= 10 and plateau == 0 and late >= 10
    assert trace[40] == 100
    assert all(b >= a for a, b in zip(trace, trace[1:]))
