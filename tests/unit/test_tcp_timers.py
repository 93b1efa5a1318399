"""TCP timers on the fake clock against Linux's numbers.

RFC 6298 (RTO: 1 s initial, SRTT/RTTVAR, exponential backoff, Linux's 200 ms minimum and
120 s maximum), RFC 9293 3.8.1/3.8.3 (retransmission timeout, R1/R2 thresholds as Linux's
tcp_retries1/tcp_retries2 time budgets), RFC 1122 4.2.3.6 (keep-alives: 7200 s idle, 75 s
interval, 9 probes), RFC 5482 (TCP_USER_TIMEOUT), RFC 1122 4.2.2.17 (zero-window probing),
RFC 8985 7 (tail loss probe).
"""
import errno

import pytest

from kstack.core.sock import SO_KEEPALIVE, SOL_SOCKET, SOL_TCP
from kstack.net.ipv4.tcp import (TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_USER_TIMEOUT,
                                 tcp_get_info)
from kstack.net.ipv4.tcp_states import TCP_CLOSE
from kstack.net.ipv4.inet_connection_sock import inet_csk_timer_info
from tests.lib.factory import TcpTestbed, passive_open


def estab(rtt=0.0, **kw):
    """A passive connection whose handshake RTT (SYN-ACK to ACK) is rtt seconds."""
    bed = TcpTestbed(sysctls=kw.pop("sysctls", None))
    if rtt:
        from tests.lib.factory import REMOTE_ISN, Conn, SegmentFactory
        f = SegmentFactory(bed)
        ls = bed.listen(8080)
        f.inject("S", seq=REMOTE_ISN, opts=f.syn_opts())
        (sa,) = bed.sent()
        bed.run(rtt)
        c = Conn(bed, f, None, REMOTE_ISN + 1, sa.seq + 1)
        c.seg(".")
        c.fd, _ = bed.host.accept(ls)
        return bed, c
    c, _ = passive_open(bed, **kw)
    return bed, c


def retransmit_times(bed, limit=5000.0):
    out = []
    while (s := bed.next_sent(limit)) is not None:
        out.append(round(s.t, 3))
    return out


def until_closed(bed, sk, limit=20000.0):
    bed.sim.run(until=bed.now() + limit, stop=lambda: sk.sk_state == TCP_CLOSE)
    return round(bed.now(), 3)


# --- RTO ---------------------------------------------------------------------------------------
def test_rto_from_first_rtt_sample():
    """RFC 6298 2.2: first sample R: SRTT = R, RTTVAR = R/2, RTO = SRTT + max(G, 4*RTTVAR);
    Linux floors the variance term at TCP_RTO_MIN: R = 100 ms -> RTO = 100 + 200 = 300 ms."""
    bed, c = estab(rtt=0.1)
    info = tcp_get_info(c.sk)
    assert info["tcpi_rtt"] == 100000 and info["tcpi_rttvar"] == 50000
    assert info["tcpi_rto"] == 300000


def test_rto_min_200ms_without_rtt():
    """RFC 6298 2.4 ("RTO SHOULD be rounded up to 1 s"): Linux uses TCP_RTO_MIN = 200 ms; an
    RTT of ~0 gives RTO 200 ms."""
    bed, c = estab()
    assert tcp_get_info(c.sk)["tcpi_rto"] in (200000, 201000)


def test_rto_backoff_and_retries2_timeout():
    """RFC 6298 5.5 (back off the timer, double it), 2.5 (maximum 120 s) and Linux
    tcp_write_timeout: the first retransmission is a tail loss probe (RFC 8985 7.2, at the
    RTO here since 2*SRTT + 200 ms is later), then RTOs doubling from 200 ms up to 120 s.
    tcp_retries2 = 15 is a time budget, tcp_model_timeout = (2^10 - 1) * 200 ms + 6 * 120 s =
    924.6 s from the first RTO retransmission (retrans_stamp, 0.4 s); the expiry at 1044.8 s
    is the first past it: ETIMEDOUT, TCPAbortOnTimeout."""
    bed, c = estab()
    sk = c.sk
    c.send(b"x" * 100)
    c.sent()
    times = retransmit_times(bed, 2000)
    assert times == [0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 51.2, 102.4, 204.8, 324.8,
                     444.8, 564.8, 684.8, 804.8, 924.8]
    assert sk.sk_state == TCP_CLOSE and sk.sk_err == errno.ETIMEDOUT
    mib = bed.net.mib.TcpExt
    assert (mib["TCPLossProbes"], mib["TCPTimeouts"], mib["TCPAbortOnTimeout"]) == (1, 17, 1)
    assert bed.net.mib.Tcp["RetransSegs"] == 17
    with pytest.raises(TimeoutError):
        c.recv()
    assert bed.timers() == []


def test_rto_retransmits_oldest_and_karn():
    """RFC 6298 5.4 (retransmit the earliest unacknowledged segment) and 5.7 / Karn: an ACK
    of retransmitted data gives no RTT sample, so the backed-off RTO is kept; the first
    sample from new data clears the backoff (Linux tcp_ack_update_rtt)."""
    bed, c = estab()
    sk = c.sk
    c.send(b"a" * 1460 * 3)
    segs = c.sent()
    p1 = bed.next_sent(1)          # TLP: the highest segment (RFC 8985 7.3)
    r1 = bed.next_sent(1)          # RTO: the first one
    assert p1.seq == segs[-1].seq and r1.seq == segs[0].seq
    assert sk.icsk_backoff == 1
    c.seg(".", ack=c.lnxt + 1460)
    assert sk.icsk_backoff == 1 and sk.icsk_retransmits == 0
    c.lnxt += 1460 * 3
    c.seg(".")
    c.sent()
    bed.run(0.01)
    c.send(b"b" * 100)
    c.sent()
    bed.run(0.02)
    c.lnxt += 100
    c.seg(".")
    assert sk.icsk_backoff == 0
    assert tcp_get_info(sk)["tcpi_rtt"] > 0


def test_user_timeout_clamps_rto():
    """RFC 5482 / Linux TCP_USER_TIMEOUT = 5000 ms: the RTO is clamped to the time left
    (tcp_clamp_rto_to_user_timeout): retransmits at 0.2 (TLP), 0.4, 0.8, 1.6, 3.2, then the
    connection dies with ETIMEDOUT at 5.4 s (5 s after the first RTO retransmission)."""
    bed, c = estab()
    bed.host.setsockopt(c.fd, SOL_TCP, TCP_USER_TIMEOUT, 5000)
    assert bed.host.getsockopt(c.fd, SOL_TCP, TCP_USER_TIMEOUT) == 5000
    sk = c.sk
    c.send(b"x" * 100)
    c.sent()
    assert until_closed(bed, sk) == 5.4
    assert [round(s.t, 3) for s in c.sent()] == [0.2, 0.4, 0.8, 1.6, 3.2]
    assert sk.sk_err == errno.ETIMEDOUT


def test_user_timeout_negative_is_einval():
    """Linux do_tcp_setsockopt: TCP_USER_TIMEOUT < 0 is EINVAL."""
    bed, c = estab()
    with pytest.raises(OSError) as e:
        bed.host.setsockopt(c.fd, SOL_TCP, TCP_USER_TIMEOUT, -1)
    assert e.value.errno == errno.EINVAL


# --- persist (zero window) ---------------------------------------------------------------------
def test_zero_window_probe_abort_after_retries2():
    """RFC 1122 4.2.2.17 (probe indefinitely while the peer answers) / Linux tcp_probe_timer:
    unanswered probes count icsk_probes_out; at tcp_retries2 (3 here) the connection is
    aborted with ETIMEDOUT (probes at 0.2, 0.6, 1.4; abort at 3.0)."""
    bed, c = estab(sysctls={"net.ipv4.tcp_retries2": 3})
    sk = c.sk
    c.seg(".", win=0)
    c.send(b"x" * 100)
    assert until_closed(bed, sk) == 3.0
    assert [round(s.t, 3) for s in c.sent()] == [0.2, 0.6, 1.4]
    assert sk.sk_err == errno.ETIMEDOUT


def test_zero_window_probes_answered_continue():
    """RFC 1122 4.2.2.17: while the receiver ACKs the probes (window still 0) the sender keeps
    probing; icsk_probes_out resets on each ACK (Linux tcp_ack_probe), backoff continues."""
    bed, c = estab(sysctls={"net.ipv4.tcp_retries2": 3})
    sk = c.sk
    c.seg(".", win=0)
    c.send(b"x" * 100)
    for _ in range(6):
        p = bed.next_sent(200)
        assert p is not None and p.payload == b""
        c.seg(".", win=0)
    assert sk.sk_state != TCP_CLOSE and sk.icsk_probes_out == 0


# --- keepalive ---------------------------------------------------------------------------------
def test_keepalive_defaults_probe_and_timeout():
    """RFC 1122 4.2.3.6 / Linux tcp_keepalive_timer: SO_KEEPALIVE with the defaults (7200 s,
    75 s, 9 probes): probes are bare ACKs with SEQ = SND.NXT - 1 at 7200, 7275, ... 7800 s;
    at 7875 s the connection is reset (RST) and fails with ETIMEDOUT."""
    bed, c = estab()
    bed.host.setsockopt(c.fd, SOL_SOCKET, SO_KEEPALIVE, 1)
    sk = c.sk
    segs = []
    while (s := bed.next_sent(8000)) is not None:
        segs.append(s)
    probes = [s for s in segs if s.flags == "."]
    assert [round(s.t) for s in probes] == [7200 + 75 * i for i in range(9)]
    assert all(s.seq == c.lnxt - 1 and s.payload == b"" for s in probes)
    rst = segs[-1]
    assert rst.flags == "R." and round(rst.t) == 7875 and rst.seq == c.lnxt
    assert sk.sk_err == errno.ETIMEDOUT and sk.sk_state == TCP_CLOSE
    assert bed.net.mib.TcpExt["TCPKeepAlive"] == 9


def test_keepalive_answered_restarts_idle():
    """RFC 1122 4.2.3.6: an answered probe shows the peer alive; the next probe comes after a
    full idle time again (Linux: keepalive_time_elapsed since the last received segment)."""
    bed, c = estab()
    bed.host.setsockopt(c.fd, SOL_SOCKET, SO_KEEPALIVE, 1)
    p = bed.next_sent(8000)
    assert round(p.t) == 7200
    c.seg(".")
    p2 = bed.next_sent(8000)
    assert round(p2.t) == 14400


def test_keepalive_sockopts():
    """Linux TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT override the sysctls per socket; values
    outside 1..32767 (MAX_TCP_KEEPIDLE) are EINVAL."""
    bed, c = estab()
    h = bed.host
    h.setsockopt(c.fd, SOL_SOCKET, SO_KEEPALIVE, 1)
    h.setsockopt(c.fd, SOL_TCP, TCP_KEEPIDLE, 10)
    h.setsockopt(c.fd, SOL_TCP, TCP_KEEPINTVL, 2)
    h.setsockopt(c.fd, SOL_TCP, TCP_KEEPCNT, 3)
    assert h.getsockopt(c.fd, SOL_TCP, TCP_KEEPIDLE) == 10
    sk = c.sk
    segs = []
    while (s := bed.next_sent(100)) is not None:
        segs.append(s)
    assert [round(s.t) for s in segs] == [10, 12, 14, 16]
    assert segs[-1].flags == "R." and sk.sk_err == errno.ETIMEDOUT
    for opt in (TCP_KEEPIDLE, TCP_KEEPINTVL):
        for bad in (0, 32768):
            with pytest.raises(OSError) as e:
                h.setsockopt(bed.socket(), SOL_TCP, opt, bad)
            assert e.value.errno == errno.EINVAL


def test_keepalive_off_no_timer():
    """Without SO_KEEPALIVE an idle connection sends nothing and arms no timer."""
    bed, c = estab()
    assert bed.next_sent(10000) is None
    assert [t for t in bed.timers() if t.name == "sk_timer"] == []


# --- ss -o view --------------------------------------------------------------------------------
def test_timer_info_for_ss():
    """ss -o reads (timer kind, expiry, retransmits) like /proc/net/tcp: "on" for the RTO,
    "persist" for zero-window probes, "keepalive", "timewait"."""
    bed, c = estab()
    c.send(b"x" * 10)
    c.sent()
    kind, expires, retrans = inet_csk_timer_info(c.sk)
    assert kind == "on" and retrans == 0 and expires > 0
    bed2, c2 = estab()
    c2.seg(".", win=0)
    c2.send(b"y")
    assert inet_csk_timer_info(c2.sk)[0] == "persist"
    bed3, c3 = estab()
    bed3.host.setsockopt(c3.fd, SOL_SOCKET, SO_KEEPALIVE, 1)
    assert inet_csk_timer_info(c3.sk)[0] == "keepalive"


def test_keepalive_set_before_connect_and_inherited():
    """Linux tcp_finish_connect / tcp_create_openreq_child: SO_KEEPALIVE set before connect()
    (or on the listener) arms the keepalive timer when the connection is established."""
    from tests.lib.factory import active_open
    bed = TcpTestbed()
    c, _ = active_open(bed, opts_before=[(SOL_SOCKET, SO_KEEPALIVE, 1)])
    c.sent()
    p = bed.next_sent(8000)
    assert round(p.t) == 7200 and p.seq == c.lnxt - 1
    bed2 = TcpTestbed()
    c2, _ = passive_open(bed2, listen_opts=[(SOL_SOCKET, SO_KEEPALIVE, 1)])
    p2 = bed2.next_sent(8000)
    assert round(p2.t) == 7200
