"""net/ipv4/tcp_recovery.c — RACK loss detection (RFC 8985 §6): a segment is lost when a
segment sent after it was delivered and more than RTT + reo_wnd has passed since it was
sent; the reordering window adapts to DSACKs. Also the time-ordered list of sent
segments RACK walks (tp->tsorted_sent_queue), kept here as an insertion-ordered dict.
"""
from .inet_connection_sock import (ICSK_TIME_REO_TIMEOUT, ICSK_TIME_RETRANS,
                                   inet_csk_reset_xmit_timer)
from .tcp import (LateModule, TCP_TIMEOUT_MIN, TCPCB_LOST, TCPCB_RETRANS, TCPCB_SACKED_ACKED,
                  TCPCB_SACKED_RETRANS, after, tcp_min_rtt, tcp_packets_in_flight, usecs_to_jiffies)
from .tcp_cong import TCP_CA_Recovery

# Modules above this one in the import order (see tcp.py): bound on first use.
tcp_input = LateModule(globals(), "tcp_input")
tcp_output = LateModule(globals(), "tcp_output")

TCP_RACK_RECOVERY_THRESH = 16
TCP_RACK_STATIC_REO_WND = 0x2
TCP_RACK_NO_DUPTHRESH = 0x4
_M32 = 0xFFFFFFFF


# --- tsorted_sent_queue -------------------------------------------------------------------
def tcp_tsorted_move_tail(tp, skb) -> None:
    q = tp.tsorted_sent_queue
    q.pop(id(skb), None)
    q[id(skb)] = skb


def tcp_tsorted_del(tp, skb) -> None:
    tp.tsorted_sent_queue.pop(id(skb), None)


def tcp_tsorted_insert_after(tp, skb, buff) -> None:
    q = tp.tsorted_sent_queue
    if id(skb) not in q:
        return
    items = list(q.items())
    q.clear()
    for k, v in items:
        q[k] = v
        if k == id(skb):
            q[id(buff)] = buff


# --- RACK -----------------------------------------------------------------------------------
def tcp_skb_sent_after(t1: int, t2: int, seq1: int, seq2: int) -> bool:
    return t1 > t2 or (t1 == t2 and after(seq1, seq2))


def tcp_rack_reo_wnd(sk) -> int:
    tp = sk
    if not tp.reord_seen:
        # No reordering seen: be aggressive during recovery or at the dupack threshold.
        if sk.icsk_ca_state >= TCP_CA_Recovery:
            return 0
        if tp.sacked_out >= tp.reordering and \
                not (sk.sk_net.ipv4.sysctl_tcp_recovery & TCP_RACK_NO_DUPTHRESH):
            return 0
    return min((tcp_min_rtt(tp) >> 2) * tp.rack.reo_wnd_steps, tp.srtt_us >> 3)


def tcp_rack_skb_timeout(tp, skb, reo_wnd: int) -> int:
    return tp.rack.rtt_us + reo_wnd - max(tp.tcp_mstamp - skb.cb.skb_mstamp, 0)


def tcp_rack_detect_loss(sk) -> int:
    """Mark lost every segment sent before RACK.xmit_time whose RTT+reo_wnd has passed;
    returns the longest remaining wait (µs) for the others, 0 if none."""
    tp = sk
    reo_timeout = 0
    reo_wnd = tcp_rack_reo_wnd(sk)
    for skb in list(tp.tsorted_sent_queue.values()):
        scb = skb.cb
        if (scb.sacked & TCPCB_LOST) and not (scb.sacked & TCPCB_SACKED_RETRANS):
            continue
        if not tcp_skb_sent_after(tp.rack.mstamp, scb.skb_mstamp, tp.rack.end_seq, scb.end_seq):
            break
        remaining = tcp_rack_skb_timeout(tp, skb, reo_wnd)
        if remaining <= 0:
            tcp_input.tcp_mark_skb_lost(sk, skb)
            tcp_tsorted_del(tp, skb)
        else:
            reo_timeout = max(reo_timeout, remaining)
    return reo_timeout


def tcp_rack_mark_lost(sk) -> bool:
    tp = sk
    if not tp.rack.advanced:
        return False
    tp.rack.advanced = 0
    timeout = tcp_rack_detect_loss(sk)
    if timeout:
        timeout = usecs_to_jiffies(timeout) + TCP_TIMEOUT_MIN
        inet_csk_reset_xmit_timer(sk, ICSK_TIME_REO_TIMEOUT, timeout, sk.icsk_rto)
    return bool(timeout)


def tcp_rack_advance(tp, sacked: int, end_seq: int, xmit_time: int) -> None:
    """RFC 8985 §6.2 step 2: remember the most recently sent segment that was delivered."""
    rtt_us = max(tp.tcp_mstamp - xmit_time, 0)
    if rtt_us < tcp_min_rtt(tp) and (sacked & TCPCB_RETRANS):
        # Ambiguous: the retransmission or the original may have been delivered.
        return
    tp.rack.advanced = 1
    tp.rack.rtt_us = rtt_us
    if tcp_skb_sent_after(xmit_time, tp.rack.mstamp, end_seq, tp.rack.end_seq):
        tp.rack.mstamp = xmit_time
        tp.rack.end_seq = end_seq


def tcp_rack_reo_timeout(sk) -> None:
    """The reordering timer fired: mark what expired lost and retransmit it."""
    tp = sk
    lost = tp.lost
    prior_inflight = tcp_packets_in_flight(tp)
    tcp_rack_detect_loss(sk)
    if prior_inflight != tcp_packets_in_flight(tp):
        if sk.icsk_ca_state != TCP_CA_Recovery:
            tcp_input.tcp_enter_recovery(sk, False)
            if sk.icsk_ca_ops.cong_control is None:
                tcp_input.tcp_cwnd_reduction(sk, 1, tp.lost - lost, 0)
        tcp_output.tcp_xmit_retransmit_queue(sk)
    if sk.icsk_pending != ICSK_TIME_RETRANS:
        tcp_input.tcp_rearm_rto(sk)


def tcp_rack_update_reo_wnd(sk, rs) -> None:
    """RFC 8985 §6.2 step 4: widen reo_wnd by min_rtt/4 per round with DSACKs."""
    tp = sk
    if (sk.sk_net.ipv4.sysctl_tcp_recovery & TCP_RACK_STATIC_REO_WND) or not rs.prior_delivered:
        return
    if ((rs.prior_delivered - tp.rack.last_delivered) & _M32) >= 0x80000000:
        tp.rack.dsack_seen = 0
    if tp.rack.dsack_seen:
        tp.rack.reo_wnd_steps = min(0xFF, tp.rack.reo_wnd_steps + 1)
        tp.rack.dsack_seen = 0
        tp.rack.last_delivered = tp.delivered
        tp.rack.reo_wnd_persist = TCP_RACK_RECOVERY_THRESH
    elif not tp.rack.reo_wnd_persist:
        tp.rack.reo_wnd_steps = 1
