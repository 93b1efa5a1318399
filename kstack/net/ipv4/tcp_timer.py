"""net/ipv4/tcp_timer.c — the retransmit timer (RTO per RFC 6298 with Linux's 200 ms
minimum, 1 s initial, 120 s maximum and exponential backoff; tcp_retries1/2, SYN retries,
tcp_syn_linear_timeouts, TCP_USER_TIMEOUT per RFC 5482), the tail-loss-probe and
RACK-reorder timers that share it, the persist timer (zero-window probes, RFC 9293
§3.8.6.1), the delayed-ACK timer and the keepalive timer (RFC 1122 §4.2.3.6), which also
ends orphaned FIN_WAIT2 sockets.
"""
from kstack.core.errno import ETIMEDOUT
from kstack.core.sock import SOCK_DEAD, SOCK_KEEPOPEN, sock_flag

from .inet_connection_sock import (ICSK_ACK_TIMER, ICSK_TIME_LOSS_PROBE, ICSK_TIME_PROBE0,
                                   ICSK_TIME_REO_TIMEOUT, ICSK_TIME_RETRANS,
                                   inet_csk_ack_scheduled, inet_csk_exit_pingpong_mode,
                                   inet_csk_in_pingpong_mode, inet_csk_init_xmit_timers,
                                   inet_csk_reset_keepalive_timer, inet_csk_reset_xmit_timer,
                                   inet_csk_rto_backoff, sk_reset_timer)
from .tcp import (HZ, TCP_ATO_MIN, TCP_RESOURCE_PROBE_INTERVAL, TCP_RTO_MAX, TCP_RTO_MIN,
                  TCP_TIMEOUT_INIT, TCP_TIMEOUT_MIN, TCP_TIMEWAIT_LEN, __tcp_set_rto,
                  keepalive_intvl_when, keepalive_probes, keepalive_time_elapsed,
                  keepalive_time_when, net_inc_stat, s32, tcp_done, tcp_fin_time,
                  tcp_jiffies32, tcp_mstamp_refresh, tcp_is_sack, tcp_rtx_queue_head,
                  tcp_send_head, tcp_stream_is_thin, tcp_write_queue_empty)
from .tcp_cong import TCP_CA_Disorder, TCP_CA_Loss, TCP_CA_Recovery
from .tcp_states import (TCP_CLOSE, TCP_ESTABLISHED, TCP_FIN_WAIT2, TCP_LISTEN, TCP_SYN_SENT,
                         TCPF_CLOSE, TCPF_LISTEN, TCPF_SYN_RECV, TCPF_SYN_SENT)
from .tcp_input import tcp_done_with_error, tcp_enter_loss, tcp_sack_compress_send_ack
from .tcp_minisocks import tcp_time_wait
from .tcp_output import (tcp_retransmit_skb, tcp_send_ack, tcp_send_active_reset,
                         tcp_send_loss_probe, tcp_send_probe0, tcp_write_wakeup)
from .tcp_recovery import tcp_rack_reo_timeout

TCP_THIN_LINEAR_RETRIES = 6
_M32 = 0xFFFFFFFF


def tcp_init_xmit_timers(sk) -> None:
    inet_csk_init_xmit_timers(sk, tcp_write_timer, tcp_delack_timer, tcp_keepalive_timer)


def _time_ms(sk) -> int:
    return int(sk.sk_net.clock.now() * 1000 + 1e-6) & _M32


def tcp_write_err(sk) -> None:
    """Give up: ETIMEDOUT (or the soft error an ICMP left)."""
    tcp_done_with_error(sk, sk.sk_err_soft or ETIMEDOUT)
    net_inc_stat(sk.sk_net, "TCPAbortOnTimeout")


def tcp_out_of_resources(sk, do_reset: bool) -> int:
    """Orphans are not limited by memory in kstack (tcp_max_orphans is not enforced)."""
    return 0


def tcp_orphan_retries(sk, alive: bool) -> int:
    retries = sk.sk_net.ipv4.sysctl_tcp_orphan_retries
    if sk.sk_err_soft and not alive:
        retries = 0
    if retries == 0 and alive:
        retries = 8
    return retries


def tcp_model_timeout(sk, boundary: int, rto_base: int) -> int:
    """Milliseconds `boundary` exponentially backed-off retransmissions take from rto_base."""
    linear_backoff_thresh = (TCP_RTO_MAX // rto_base).bit_length() - 1
    if boundary <= linear_backoff_thresh:
        timeout = ((2 << boundary) - 1) * rto_base
    else:
        timeout = ((2 << linear_backoff_thresh) - 1) * rto_base + \
            (boundary - linear_backoff_thresh) * TCP_RTO_MAX
    return timeout * 1000 // HZ


def retransmits_timed_out(sk, boundary: int, timeout: int) -> bool:
    tp = sk
    if not sk.icsk_retransmits:
        return False
    start_ts = tp.retrans_stamp
    if timeout == 0:
        rto_base = TCP_RTO_MIN
        if (1 << sk.sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV):
            rto_base = TCP_TIMEOUT_INIT
        timeout = tcp_model_timeout(sk, boundary, rto_base)
    return s32(_time_ms(sk) - start_ts - timeout) >= 0


def tcp_write_timeout(sk) -> int:
    """Should we give up? 1 if the connection was killed."""
    net = sk.sk_net
    expired = False
    if (1 << sk.sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV):
        retry_until = sk.icsk_syn_retries or net.ipv4.sysctl_tcp_syn_retries
        max_retransmits = retry_until
        if sk.sk_state == TCP_SYN_SENT:
            max_retransmits += net.ipv4.sysctl_tcp_syn_linear_timeouts
        expired = sk.icsk_retransmits >= max_retransmits
    else:
        retry_until = net.ipv4.sysctl_tcp_retries2
        if sock_flag(sk, SOCK_DEAD):
            alive = sk.icsk_rto < TCP_RTO_MAX
            retry_until = tcp_orphan_retries(sk, alive)
            do_reset = alive or not retransmits_timed_out(sk, retry_until, 0)
            if tcp_out_of_resources(sk, do_reset):
                return 1
    if not expired:
        expired = retransmits_timed_out(sk, retry_until, sk.icsk_user_timeout)
    if expired:
        tcp_write_err(sk)
        return 1
    return 0


def tcp_clamp_rto_to_user_timeout(sk) -> int:
    user_timeout = sk.icsk_user_timeout
    if not user_timeout:
        return sk.icsk_rto
    elapsed = (_time_ms(sk) - sk.retrans_stamp) & _M32
    remaining = user_timeout - elapsed
    if remaining <= 0:
        return 1
    return min(sk.icsk_rto, remaining * HZ // 1000)


def tcp_clamp_probe0_to_user_timeout(sk, when: int) -> int:
    user_timeout = sk.icsk_user_timeout
    if not user_timeout or not sk.icsk_probes_tstamp:
        return when
    elapsed = max(s32(tcp_jiffies32(sk) - sk.icsk_probes_tstamp), 0)
    remaining = user_timeout * HZ // 1000 - elapsed
    remaining = max(remaining, TCP_TIMEOUT_MIN)
    return min(remaining, when)


def tcp_update_rto_stats(sk) -> None:
    tp = sk
    if not sk.icsk_retransmits:
        tp.total_rto_recoveries += 1
        tp.rto_stamp = _time_ms(sk) or 1
    sk.icsk_retransmits += 1
    tp.total_rto += 1


def tcp_rtx_probe0_timed_out(sk, skb, rtx_delta: int) -> bool:
    user_timeout = sk.icsk_user_timeout
    timeout = TCP_RTO_MAX * 2
    if user_timeout:
        if rtx_delta > user_timeout:
            return True
        timeout = min(timeout, user_timeout * HZ // 1000)
    rcv_delta = s32(sk.icsk_timeout - sk.rcv_tstamp)
    if rcv_delta <= timeout:
        return False
    return rtx_delta > timeout


def tcp_retransmit_timer(sk) -> None:
    """RTO expired (RFC 6298 §5.4-5.6): enter Loss, retransmit the head, back off."""
    tp = sk
    net = sk.sk_net
    if not tp.packets_out:
        return
    skb = tcp_rtx_queue_head(sk)
    if skb is None:
        return
    if not tp.snd_wnd and not sock_flag(sk, SOCK_DEAD) and \
            not ((1 << sk.sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV)):
        # The receiver shrank its window to zero: our retransmits are window probes.
        rtx_delta = (_time_ms(sk) - (tp.retrans_stamp or (skb.cb.skb_mstamp // 1000))) & _M32
        if tcp_rtx_probe0_timed_out(sk, skb, rtx_delta):
            tcp_write_err(sk)
            return
        tcp_enter_loss(sk)
        tcp_retransmit_skb(sk, skb, 1)
        sk.sk_dst_cache = None
        _out_reset_timer(sk)
        return
    net_inc_stat(net, "TCPTimeouts")
    if tcp_write_timeout(sk):
        return
    if sk.icsk_retransmits == 0:
        mib = None
        if sk.icsk_ca_state == TCP_CA_Recovery:
            mib = "TCPSackRecoveryFail" if tcp_is_sack(tp) else "TCPRenoRecoveryFail"
        elif sk.icsk_ca_state == TCP_CA_Loss:
            mib = "TCPLossFailures"
        elif sk.icsk_ca_state == TCP_CA_Disorder or tp.sacked_out:
            mib = "TCPSackFailures" if tcp_is_sack(tp) else "TCPRenoFailures"
        if mib:
            net_inc_stat(net, mib)
    tcp_enter_loss(sk)
    tcp_update_rto_stats(sk)
    if tcp_retransmit_skb(sk, tcp_rtx_queue_head(sk), 1) > 0:
        inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, TCP_RESOURCE_PROBE_INTERVAL, TCP_RTO_MAX)
        return
    _out_reset_timer(sk)


def _out_reset_timer(sk) -> None:
    tp = sk
    net = sk.sk_net
    if sk.sk_state == TCP_ESTABLISHED and (tp.thin_lto or net.ipv4.sysctl_tcp_thin_linear_timeouts) \
            and tcp_stream_is_thin(tp) and sk.icsk_retransmits <= TCP_THIN_LINEAR_RETRIES:
        sk.icsk_backoff = 0
        sk.icsk_rto = min(max(__tcp_set_rto(tp), sk.icsk_rto_min), TCP_RTO_MAX)
    elif sk.sk_state != TCP_SYN_SENT or tp.total_rto > net.ipv4.sysctl_tcp_syn_linear_timeouts:
        sk.icsk_backoff += 1
        sk.icsk_rto = min(sk.icsk_rto << 1, TCP_RTO_MAX)
    inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, tcp_clamp_rto_to_user_timeout(sk), TCP_RTO_MAX)
    if retransmits_timed_out(sk, net.ipv4.sysctl_tcp_retries1 + 1, 0):
        sk.sk_dst_cache = None


def tcp_probe_timer(sk) -> None:
    """Zero-window probe due (RFC 9293 §3.8.6.1, RFC 1122 §4.2.2.17)."""
    tp = sk
    skb = tcp_send_head(sk)
    if tp.packets_out or skb is None:
        sk.icsk_probes_out = 0
        sk.icsk_probes_tstamp = 0
        return
    if not sk.icsk_probes_tstamp:
        sk.icsk_probes_tstamp = tcp_jiffies32(sk) or 1
    else:
        user_timeout = sk.icsk_user_timeout
        if user_timeout and s32(tcp_jiffies32(sk) - sk.icsk_probes_tstamp) >= user_timeout * HZ // 1000:
            tcp_write_err(sk)
            return
    max_probes = sk.sk_net.ipv4.sysctl_tcp_retries2
    if sock_flag(sk, SOCK_DEAD):
        alive = inet_csk_rto_backoff(sk, TCP_RTO_MAX) < TCP_RTO_MAX
        max_probes = tcp_orphan_retries(sk, alive)
        if not alive and sk.icsk_backoff >= max_probes:
            tcp_write_err(sk)
            return
        if tcp_out_of_resources(sk, True):
            return
    if sk.icsk_probes_out >= max_probes:
        tcp_write_err(sk)
    else:
        tcp_send_probe0(sk)


def tcp_write_timer_handler(sk) -> None:
    if ((1 << sk.sk_state) & (TCPF_CLOSE | TCPF_LISTEN)) or not sk.icsk_pending:
        return
    now = tcp_jiffies32(sk)
    if s32(sk.icsk_timeout - now) > 0:
        sk_reset_timer(sk, sk.icsk_retransmit_timer, sk.icsk_timeout)
        return
    tcp_mstamp_refresh(sk)
    event = sk.icsk_pending
    if event == ICSK_TIME_REO_TIMEOUT:
        tcp_rack_reo_timeout(sk)
    elif event == ICSK_TIME_LOSS_PROBE:
        tcp_send_loss_probe(sk)
    elif event == ICSK_TIME_RETRANS:
        sk.icsk_pending = 0
        tcp_retransmit_timer(sk)
    elif event == ICSK_TIME_PROBE0:
        sk.icsk_pending = 0
        tcp_probe_timer(sk)


def tcp_write_timer(sk) -> None:
    try:
        tcp_write_timer_handler(sk)
    except Exception as e:     # a timer must never take the machine down
        sk.sk_net.bug(e, "tcp_write_timer")


def tcp_delack_timer_handler(sk) -> None:
    tp = sk
    if (1 << sk.sk_state) & (TCPF_CLOSE | TCPF_LISTEN):
        return
    if tp.compressed_ack:
        tcp_mstamp_refresh(sk)
        tcp_sack_compress_send_ack(sk)
        return
    ack = sk.icsk_ack
    if not (ack.pending & ICSK_ACK_TIMER):
        return
    now = tcp_jiffies32(sk)
    if s32(ack.timeout - now) > 0:
        sk_reset_timer(sk, sk.icsk_delack_timer, ack.timeout)
        return
    ack.pending &= ~ICSK_ACK_TIMER
    if inet_csk_ack_scheduled(sk):
        if not inet_csk_in_pingpong_mode(sk):
            # Delayed ACK missed: inflate ATO.
            ack.ato = min(ack.ato << 1, sk.icsk_rto)
        else:
            inet_csk_exit_pingpong_mode(sk)
            ack.ato = TCP_ATO_MIN
        tcp_mstamp_refresh(sk)
        tcp_send_ack(sk)
        net_inc_stat(sk.sk_net, "DelayedACKs")


def tcp_delack_timer(sk) -> None:
    try:
        tcp_delack_timer_handler(sk)
    except Exception as e:
        sk.sk_net.bug(e, "tcp_delack_timer")


def tcp_keepalive_timer(sk) -> None:
    try:
        _tcp_keepalive_timer(sk)
    except Exception as e:
        sk.sk_net.bug(e, "tcp_keepalive_timer")


def _tcp_keepalive_timer(sk) -> None:
    """Keepalive (probe after keepalive_time idle, every keepalive_intvl, give up after
    keepalive_probes) and the end of an orphaned FIN_WAIT2."""
    tp = sk
    if sk.sk_state == TCP_LISTEN:
        return
    tcp_mstamp_refresh(sk)
    if sk.sk_state == TCP_FIN_WAIT2 and sock_flag(sk, SOCK_DEAD):
        if tp.linger2 >= 0:
            tmo = tcp_fin_time(sk) - TCP_TIMEWAIT_LEN
            if tmo > 0:
                tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
                return
        tcp_send_active_reset(sk)
        tcp_done(sk)
        return
    if not sock_flag(sk, SOCK_KEEPOPEN) or ((1 << sk.sk_state) & (TCPF_CLOSE | TCPF_SYN_SENT)):
        return
    elapsed = keepalive_time_when(tp)
    if tp.packets_out or not tcp_write_queue_empty(sk):
        inet_csk_reset_keepalive_timer(sk, elapsed)
        return
    elapsed = keepalive_time_elapsed(tp)
    if elapsed >= keepalive_time_when(tp):
        user_timeout = sk.icsk_user_timeout
        if (user_timeout and elapsed >= user_timeout * HZ // 1000 and sk.icsk_probes_out > 0) or \
                (not user_timeout and sk.icsk_probes_out >= keepalive_probes(tp)):
            tcp_send_active_reset(sk)
            tcp_write_err(sk)
            return
        if tcp_write_wakeup(sk, "TCPKeepAlive") <= 0:
            sk.icsk_probes_out += 1
            elapsed = keepalive_intvl_when(tp)
        else:
            elapsed = TCP_RESOURCE_PROBE_INTERVAL
    else:
        elapsed = keepalive_time_when(tp) - elapsed
    inet_csk_reset_keepalive_timer(sk, elapsed)
