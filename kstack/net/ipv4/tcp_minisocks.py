"""net/ipv4/tcp_minisocks.c — the minisocks: TIME_WAIT (tcp_time_wait,
tcp_timewait_state_process: re-ACK a retransmitted FIN and restart 2MSL, RFC 9293
§3.10.7.4; accept a new SYN per RFC 1122 §4.2.2.13 / RFC 6191; RFC 1337 assassination
guard), and the request sock of a passive open (tcp_check_req for the ACK of our
SYN-ACK, tcp_create_openreq_child, the SYN-ACK retransmit timer reqsk_timer_handler).
"""
import operator

from kstack.core.dropreason import SkbDropReason
from kstack.core.sock import SOCK_KEEPOPEN, sock_flag, _inuse_add, SOCK_RCVBUF_LOCK

from .inet_timewait_sock import (InetTimewaitSock, inet_twsk_alloc, inet_twsk_deschedule_put,
                                 inet_twsk_hashdance_schedule, inet_twsk_put, inet_twsk_reschedule)
from .tcp import (LateModule, HZ, TCP_RTO_MAX, TCP_TIMEOUT_INIT, TCP_TIMEWAIT_LEN, TCPHDR_ACK,
                  TCPHDR_FIN, TCPHDR_RST, TCPHDR_SYN, TcpOptionsReceived, after, before, between,
                  keepalive_time_when, net_inc_stat, s32, tcp_clock_us, tcp_done, tcp_jiffies32,
                  tcp_receive_window, jiffies_to_usecs, tcp_full_space, TcpSock)
from .tcp_states import TCP_FIN_WAIT2, TCP_LISTEN, TCP_SYN_RECV, TCP_TIME_WAIT
from .inet_connection_sock import (inet_csk_complete_hashdance, inet_csk_reqsk_queue_drop,
                                   inet_csk_reset_keepalive_timer)
from .tcp_cong import tcp_assign_congestion_control, TCP_CA_Open, tcp_set_ca_state
from .tcp_output import tcp_mss_clamp, tcp_select_initial_window
from kstack.core.dst import dst_metric, dst_metric_advmss, RTAX_INITRWND, RTAX_WINDOW

# Modules above this one in the import order (see tcp.py): bound on first use.
tcp_input = LateModule(globals(), "tcp_input")
tcp_timer = LateModule(globals(), "tcp_timer")
tcp_ipv4 = LateModule(globals(), "tcp_ipv4")

_M32 = 0xFFFFFFFF

TCP_TW_SUCCESS = 0
TCP_TW_RST = 1
TCP_TW_ACK = 2
TCP_TW_SYN = 3
TCP_TW_ACK_OOW = 4


def tcp_in_window(seq: int, end_seq: int, s_win: int, e_win: int) -> bool:
    if seq == s_win:
        return True
    if after(end_seq, s_win) and before(seq, e_win):
        return True
    return seq == e_win and seq == end_seq


def _time_ms(net) -> int:
    return int(net.clock.now() * 1000 + 1e-6) & _M32


def tcp_time_wait(sk, state: int, timeo: int) -> None:
    """Hand the connection to a TIME_WAIT (or FIN_WAIT2) minisock; the full socket closes."""
    net = sk.sk_net
    tp = sk
    death_row = net.ipv4.tcp_hashinfo
    tw = inet_twsk_alloc(sk, death_row, state)
    if tw is not None:
        rto = (sk.icsk_rto << 2) - (sk.icsk_rto >> 1)
        tw.tw_rcv_wscale = tp.rx_opt.rcv_wscale
        tw.tw_rcv_nxt = tp.rcv_nxt
        tw.tw_snd_nxt = tp.snd_nxt
        tw.tw_rcv_wnd = tcp_receive_window(tp)
        tw.tw_ts_recent = tp.rx_opt.ts_recent
        tw.tw_ts_recent_stamp = tp.rx_opt.ts_recent_stamp
        tw.tw_ts_offset = tp.tsoffset
        tw.tw_last_oow_ack_time = 0
        tw.tw_entry_stamp = _time_ms(net)
        if timeo < rto:
            timeo = rto
        if state == TCP_TIME_WAIT:
            timeo = TCP_TIMEWAIT_LEN
        inet_twsk_hashdance_schedule(tw, sk, death_row, timeo)
    else:
        net_inc_stat(net, "TCPTimeWaitOverflow")
    tcp_done(sk)


def tcp_twsk_unique(sk, sktw, twp) -> bool:
    """May connect() take over this TIME_WAIT's 4-tuple (net.ipv4.tcp_tw_reuse)?"""
    net = sk.sk_net
    tw = sktw
    reuse = net.ipv4.sysctl_tcp_tw_reuse
    if tw.tw_substate == TCP_FIN_WAIT2:
        reuse = 0
    if reuse == 2:
        loopback = (tw.sk_bound_dev_if == 1 or (tw.inet_daddr >> 24) == 127 or
                    (tw.inet_rcv_saddr >> 24) == 127)
        if not loopback:
            reuse = 0
    ts_recent_stamp = tw.tw_ts_recent_stamp
    reuse_thresh = tw.tw_entry_stamp + net.ipv4.sysctl_tcp_tw_reuse_delay
    if ts_recent_stamp and (not twp or (reuse and s32(_time_ms(net) - reuse_thresh) > 0)):
        seq = (tw.tw_snd_nxt + 65535 + 2) & _M32
        if not seq:
            seq = 1
        sk.write_seq = seq
        sk.rx_opt.ts_recent = tw.tw_ts_recent
        sk.rx_opt.ts_recent_stamp = ts_recent_stamp
        return True
    return False


def tcp_timewait_check_oow_rate_limit(tw, skb, mib: str) -> int:
    if not tcp_input.tcp_oow_rate_limited(tw.sk_net, skb, mib, tw):
        return TCP_TW_ACK
    return TCP_TW_SUCCESS


def tcp_timewait_state_process(tw, skb, th):
    """A segment for a TIME_WAIT (or FIN_WAIT2) minisock: (status, isn)."""
    net = tw.sk_net
    cb = skb.cb
    rcv_nxt = tw.tw_rcv_nxt
    tmp_opt = TcpOptionsReceived()
    paws_reject = False
    ts_recent_stamp = tw.tw_ts_recent_stamp
    if th.doff > 5 and ts_recent_stamp:
        tmp_opt.tstamp_ok = 1
        tcp_input.tcp_parse_options(net, skb, tmp_opt, True)
        if tmp_opt.saw_tstamp:
            if tmp_opt.rcv_tsecr:
                tmp_opt.rcv_tsecr = (tmp_opt.rcv_tsecr - tw.tw_ts_offset) & _M32
            tmp_opt.ts_recent = tw.tw_ts_recent
            tmp_opt.ts_recent_stamp = ts_recent_stamp
            paws_reject = tcp_input.tcp_paws_reject(tmp_opt, bool(th.flags & TCPHDR_RST), int(net.clock.now()))
    flags = th.flags
    if tw.tw_substate == TCP_FIN_WAIT2:
        if paws_reject or not tcp_in_window(cb.seq, cb.end_seq, rcv_nxt,
                                            (rcv_nxt + tw.tw_rcv_wnd) & _M32):
            return tcp_timewait_check_oow_rate_limit(tw, skb, "TCPACKSkippedFinWait2"), 0
        if flags & TCPHDR_RST:
            inet_twsk_deschedule_put(tw)
            return TCP_TW_SUCCESS, 0
        if (flags & TCPHDR_SYN) and not before(cb.seq, rcv_nxt):
            return TCP_TW_RST, 0
        if not (flags & TCPHDR_ACK) or not after(cb.end_seq, rcv_nxt) or cb.end_seq == cb.seq:
            return TCP_TW_SUCCESS, 0
        # New data or FIN after a half-duplex close: reset, unless it is exactly the FIN.
        if not (flags & TCPHDR_FIN) or cb.end_seq != ((rcv_nxt + 1) & _M32):
            return TCP_TW_RST, 0
        tw.tw_substate = TCP_TIME_WAIT
        tw.tw_rcv_nxt = cb.end_seq
        if tmp_opt.saw_tstamp:
            ts = _time_ms(net)
            tw.tw_entry_stamp = ts
            tw.tw_ts_recent_stamp = ts // 1000
            tw.tw_ts_recent = tmp_opt.rcv_tsval
        inet_twsk_reschedule(tw, TCP_TIMEWAIT_LEN)
        return TCP_TW_ACK, 0
    # Real TIME_WAIT.
    if not paws_reject and cb.seq == rcv_nxt and (cb.seq == cb.end_seq or flags & TCPHDR_RST):
        if flags & TCPHDR_RST:
            if not net.ipv4.sysctl_tcp_rfc1337:
                # TIME_WAIT assassination (RFC 1337 hazard); Linux allows it by default.
                inet_twsk_deschedule_put(tw)
                return TCP_TW_SUCCESS, 0
        else:
            inet_twsk_reschedule(tw, TCP_TIMEWAIT_LEN)
        if tmp_opt.saw_tstamp:
            tw.tw_ts_recent = tmp_opt.rcv_tsval
            tw.tw_ts_recent_stamp = int(net.clock.now())
        return TCP_TW_SUCCESS, 0
    if (flags & TCPHDR_SYN) and not (flags & (TCPHDR_RST | TCPHDR_ACK)) and not paws_reject and \
            (after(cb.seq, rcv_nxt) or (tmp_opt.saw_tstamp and
                                        s32(tw.tw_ts_recent - tmp_opt.rcv_tsval) < 0)):
        isn = (tw.tw_snd_nxt + 65535 + 2) & _M32
        if isn == 0:
            isn = 1
        return TCP_TW_SYN, isn
    if paws_reject:
        net_inc_stat(net, "PAWSTimewait")
    if not (flags & TCPHDR_RST):
        if paws_reject or (flags & TCPHDR_ACK):
            inet_twsk_reschedule(tw, TCP_TIMEWAIT_LEN)
        return tcp_timewait_check_oow_rate_limit(tw, skb, "TCPACKSkippedTimeWait"), 0
    return TCP_TW_SUCCESS, 0


# --- request socks ------------------------------------------------------------------------
def tcp_openreq_init_rwin(req, sk_listener, dst) -> None:
    """The window and scale a SYN-ACK offers (tcp_select_initial_window on the listener's
    buffer)."""
    tp = sk_listener
    full_space = tcp_full_space(sk_listener)
    mss = tcp_mss_clamp(tp, dst_metric_advmss(dst))
    window_clamp = tp.window_clamp
    req.rsk_window_clamp = window_clamp or dst_metric(dst, RTAX_WINDOW)
    if sk_listener.sk_userlocks & SOCK_RCVBUF_LOCK and \
            (req.rsk_window_clamp > full_space or req.rsk_window_clamp == 0):
        req.rsk_window_clamp = full_space
    rcv_wnd = dst_metric(dst, RTAX_INITRWND)
    req.rsk_rcv_wnd, req.rsk_window_clamp, req.rcv_wscale = tcp_select_initial_window(
        sk_listener, full_space, mss - (12 if req.tstamp_ok else 0), rcv_wnd,
        req.rsk_window_clamp, bool(req.wscale_ok))


def reqsk_timeout(req, max_timeout: int) -> int:
    return min(TCP_TIMEOUT_INIT << req.num_timeout, max_timeout)


def inet_rtx_syn_ack(parent, req) -> int:
    err = tcp_ipv4.tcp_v4_rtx_synack(parent, req)
    if not err:
        req.num_retrans += 1
    return err


def reqsk_timer_handler(req) -> None:
    """Retransmit the SYN-ACK (1 s, 2 s, 4 s... tcp_synack_retries times), then give up.
    Old requests go sooner when the SYN queue is more than half full of them."""
    try:
        sk_listener = req.rsk_listener
        net = sk_listener.sk_net
        if sk_listener.sk_state != TCP_LISTEN:
            inet_csk_reqsk_queue_drop(sk_listener, req)
            return
        max_syn_ack_retries = sk_listener.icsk_syn_retries or net.ipv4.sysctl_tcp_synack_retries
        queue = sk_listener.icsk_accept_queue
        qlen = queue.qlen
        if (qlen << 1) > max(8, sk_listener.sk_max_ack_backlog):
            young = queue.young << 1
            while max_syn_ack_retries > 2:
                if qlen < young:
                    break
                max_syn_ack_retries -= 1
                young <<= 1
        expire = req.num_timeout >= max_syn_ack_retries
        net_inc_stat(net, "TCPTimeouts")
        if not expire:
            inet_rtx_syn_ack(sk_listener, req)
            if req.num_timeout == 0:
                queue.young = max(0, queue.young - 1)
            req.num_timeout += 1
            net.timers.mod_timer(req.rsk_timer,
                                 (tcp_jiffies32(sk_listener) + reqsk_timeout(req, TCP_RTO_MAX)) / HZ)
            return
        inet_csk_reqsk_queue_drop(sk_listener, req)
    except Exception as e:
        req.sk_net.bug(e, "reqsk_timer_handler")


def tcp_create_openreq_child(sk, req, skb):
    """The child socket of a listener for a completed handshake (state SYN_RECV)."""
    net = sk.sk_net
    newsk = inet_csk_clone_lock(sk, req)
    newtp = newsk
    newtp.pred_flags = 0
    seq = (req.rcv_isn + 1) & _M32
    newtp.rcv_wup = seq
    newtp.copied_seq = seq
    newtp.rcv_nxt = seq
    newtp.segs_in = 1
    seq = (req.snt_isn + 1) & _M32
    newtp.snd_sml = newtp.snd_una = seq
    newtp.snd_nxt = seq
    newtp.snd_up = seq
    newtp.snd_wl1 = req.rcv_isn
    newtp.rtt_min.reset(tcp_jiffies32(newsk), _M32)
    newsk.icsk_ack.lrcvtime = tcp_jiffies32(newsk)
    newtp.lsndtime = tcp_jiffies32(newsk)
    newtp.total_retrans = req.num_retrans
    tcp_timer.tcp_init_xmit_timers(newsk)
    newtp.write_seq = newtp.pushed_seq = (req.snt_isn + 1) & _M32
    if sock_flag(newsk, SOCK_KEEPOPEN):
        inet_csk_reset_keepalive_timer(newsk, keepalive_time_when(newtp))
    newtp.rx_opt.tstamp_ok = req.tstamp_ok
    newtp.rx_opt.sack_ok = req.sack_ok
    newtp.window_clamp = req.rsk_window_clamp
    newtp.rcv_ssthresh = req.rsk_rcv_wnd
    newtp.rcv_wnd = req.rsk_rcv_wnd
    newtp.rx_opt.wscale_ok = req.wscale_ok
    if newtp.rx_opt.wscale_ok:
        newtp.rx_opt.snd_wscale = req.snd_wscale
        newtp.rx_opt.rcv_wscale = req.rcv_wscale
    else:
        newtp.rx_opt.snd_wscale = newtp.rx_opt.rcv_wscale = 0
        newtp.window_clamp = min(newtp.window_clamp, 65535)
    newtp.snd_wnd = skb.cb.th.window << newtp.rx_opt.snd_wscale
    newtp.max_window = newtp.snd_wnd
    if newtp.rx_opt.tstamp_ok:
        newtp.rx_opt.ts_recent = req.ts_recent
        newtp.rx_opt.ts_recent_stamp = int(net.clock.now())
        newtp.tcp_header_len = 20 + 12
    else:
        newtp.rx_opt.ts_recent_stamp = 0
        newtp.tcp_header_len = 20
    if req.num_timeout:
        newtp.total_rto = req.num_timeout
        newtp.undo_marker = req.snt_isn
        newtp.retrans_stamp = (req.snt_synack // 1000) & _M32
        newtp.total_rto_time = (_time_ms(net) - newtp.retrans_stamp) & _M32
    newtp.tsoffset = req.ts_off
    newtp.rx_opt.mss_clamp = req.mss
    net.mib.Tcp["PassiveOpens"] += 1
    return newsk


# Fields a child inherits from its listener (sk_clone_lock copies the whole sock).
_CLONE_FIELDS = (
    "sk_family", "sk_type", "sk_protocol", "sk_reuse", "sk_reuseport", "sk_bound_dev_if",
    "sk_rcvbuf", "sk_sndbuf", "sk_userlocks", "sk_flags", "sk_rcvtimeo", "sk_sndtimeo",
    "sk_rcvlowat", "sk_priority", "sk_mark", "sk_lingertime", "sk_uid", "sk_max_pacing_rate",
    "sk_write_space", "sk_state_change", "sk_data_ready", "sk_error_report",
    "uc_ttl", "tos", "pmtudisc", "recverr", "freebind", "transparent", "min_ttl",
    "nonagle", "keepalive_time", "keepalive_intvl", "keepalive_probes", "linger2",
    "icsk_user_timeout", "icsk_syn_retries", "icsk_af_ops", "icsk_ca_ops", "icsk_ca_setsockopt",
    "icsk_rto_min", "icsk_delack_max", "notsent_lowat", "thin_lto", "scaling_ratio",
    "reordering", "recvmsg_inq", "save_syn", "tcp_tx_delay", "icsk_sync_mss", "tcp_mstamp",
)


_clone_values = operator.attrgetter(*_CLONE_FIELDS)


def inet_csk_clone_lock(sk, req):
    cls = type(sk)
    newsk = cls(sk.sk_net, sk.sk_family, sk.sk_prot)
    for f, v in zip(_CLONE_FIELDS, _clone_values(sk)):
        setattr(newsk, f, v)
    newsk.rx_opt.user_mss = sk.rx_opt.user_mss
    newsk.sk_prot_creator = sk.sk_prot_creator
    newsk.sk_state = TCP_SYN_RECV       # inet_sk_set_state: born in SYN_RECV
    newsk.icsk_bind_hash = None
    newsk.inet_dport = req.ir_rmt_port
    newsk.inet_num = req.ir_num
    newsk.inet_sport = req.ir_num
    newsk.inet_daddr = req.ir_rmt_addr
    newsk.inet_rcv_saddr = req.ir_loc_addr
    newsk.inet_saddr = req.ir_loc_addr
    newsk.sk_mark = req.ir_mark or sk.sk_mark
    newsk.icsk_retransmits = 0
    newsk.icsk_backoff = 0
    newsk.icsk_probes_out = 0
    newsk.icsk_probes_tstamp = 0
    newsk.sk_socket = None
    newsk.sk_wq = None
    newsk.sk_ack_backlog = 0
    newsk.sk_max_ack_backlog = 0
    newsk.sk_err = 0
    newsk.sk_err_soft = 0
    newsk.sk_shutdown = 0
    newsk.sk_kern_sock = sk.sk_kern_sock
    newsk._inuse = True
    _inuse_add(newsk, 1)
    return newsk


def tcp_ca_openreq_child(sk, dst) -> None:
    if not sk.icsk_ca_setsockopt:
        tcp_assign_congestion_control(sk)
    tcp_set_ca_state(sk, TCP_CA_Open)


def tcp_check_req(sk, skb, req):
    """The segment for a request sock (normally the ACK of our SYN-ACK): returns the new
    child, sk (the listener: "send a reset"), or None (consumed/dropped)."""
    net = sk.sk_net
    cb = skb.cb
    th = cb.th
    flg = th.flags & (TCPHDR_RST | TCPHDR_SYN | TCPHDR_ACK)
    tmp_opt = TcpOptionsReceived()
    tsecr_reject = False
    paws_reject = False
    if th.doff > 5:
        tcp_input.tcp_parse_options(net, skb, tmp_opt, False)
        if tmp_opt.saw_tstamp:
            tmp_opt.ts_recent = req.ts_recent
            if tmp_opt.rcv_tsecr:
                if req.tstamp_ok:
                    tsecr_reject = not between(tmp_opt.rcv_tsecr, req.snt_tsval_first,
                                               req.snt_tsval_last)
                tmp_opt.rcv_tsecr = (tmp_opt.rcv_tsecr - req.ts_off) & _M32
            tmp_opt.ts_recent_stamp = int(net.clock.now()) - reqsk_timeout(req, TCP_RTO_MAX) // HZ
            paws_reject = tcp_input.tcp_paws_reject(tmp_opt, bool(th.flags & TCPHDR_RST), int(net.clock.now()))
    # A retransmitted SYN: send the SYN-ACK again.
    if cb.seq == req.rcv_isn and flg == TCPHDR_SYN and not paws_reject:
        if not tcp_input.tcp_oow_rate_limited(net, skb, "TCPACKSkippedSynRecv", req) and \
                not inet_rtx_syn_ack(sk, req):
            t = req.rsk_timer
            if t.pending:
                net.timers.mod_timer(t, (tcp_jiffies32(sk) + reqsk_timeout(req, TCP_RTO_MAX)) / HZ)
        return None
    # An ACK that does not ack our SYN-ACK: the listener sends a reset.
    if (flg & TCPHDR_ACK) and cb.ack_seq != ((req.snt_isn + 1) & _M32):
        return sk
    win = tcp_synack_window(req)
    if paws_reject or tsecr_reject or not tcp_in_window(cb.seq, cb.end_seq, req.rcv_nxt,
                                                         (req.rcv_nxt + win) & _M32):
        if not (flg & TCPHDR_RST) and not tcp_input.tcp_oow_rate_limited(net, skb, "TCPACKSkippedSynRecv", req):
            tcp_ipv4.tcp_v4_reqsk_send_ack(sk, skb, req)
        if paws_reject:
            net_inc_stat(net, "PAWSEstab")
        return None
    if tmp_opt.saw_tstamp and not after(cb.seq, req.rcv_nxt):
        req.ts_recent = tmp_opt.rcv_tsval
    if cb.seq == req.rcv_isn:
        flg &= ~TCPHDR_SYN
    if flg & (TCPHDR_RST | TCPHDR_SYN):
        net.mib.Tcp["AttemptFails"] += 1
        return _embryonic_reset(sk, skb, req, flg)
    if not (flg & TCPHDR_ACK):
        return None
    if req.num_timeout < sk.icsk_accept_queue.rskq_defer_accept and \
            cb.end_seq == ((req.rcv_isn + 1) & _M32):
        req.acked = 1
        net_inc_stat(net, "TCPDeferAcceptDrop")
        return None
    child, own_req = sk.icsk_af_ops.syn_recv_sock(sk, skb, req, None, req)
    if child is None:
        # listen_overflow
        if not net.ipv4.sysctl_tcp_abort_on_overflow:
            req.acked = 1
            return None
        return _embryonic_reset(sk, skb, req, flg)
    tcp_input.tcp_synack_rtt_meas(child, req)
    return inet_csk_complete_hashdance(sk, child, req, own_req)


def _embryonic_reset(sk, skb, req, flg):
    if not (flg & TCPHDR_RST):
        tcp_ipv4.tcp_v4_send_reset(sk, skb)
    if inet_csk_reqsk_queue_drop(sk, req):
        net_inc_stat(sk.sk_net, "EmbryonicRsts")
    return None


def tcp_synack_window(req) -> int:
    return req.rsk_rcv_wnd


def tcp_child_process(parent, child, skb) -> int:
    """Feed the completing ACK to the child (it goes SYN_RECV -> ESTABLISHED) and wake the
    listener. Nonzero: send a reset."""
    state = child.sk_state
    tcp_ipv4.tcp_segs_in(child, skb)
    ret = tcp_input.tcp_rcv_state_process(child, skb)
    if state == TCP_SYN_RECV and child.sk_state != state:
        parent.sk_data_ready(parent)
    return ret
