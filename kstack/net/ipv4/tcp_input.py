"""net/ipv4/tcp_input.c (+ the receiver half of net/ipv4/tcp_rate.c) — segment arrival.

RFC 9293 §3.10.7 (SEGMENT ARRIVES) in Linux's shape: tcp_rcv_state_process for every
state but ESTABLISHED, tcp_rcv_established with header prediction for ESTABLISHED,
tcp_rcv_synsent_state_process for SYN-SENT; tcp_validate_incoming does PAWS (RFC 7323
§5), the sequence check and the RFC 5961 RST/SYN checks (challenge ACKs); tcp_ack does
RTT estimation (RFC 6298), the SACK scoreboard (RFC 2018, DSACK RFC 2883), loss
recovery (RFC 5681/6582 NewReno without SACK, RFC 6675 + PRR RFC 6937 with SACK, RACK
RFC 8985 with tcp_recovery=1, F-RTO RFC 5682, undo) and congestion control;
tcp_data_queue does in-order/out-of-order reassembly, SACK blocks and DSACK, FIN
(tcp_fin), delayed and quick ACKs.
"""
import struct

from kstack.core.dropreason import SkbDropReason
from kstack.core.errno import ECONNREFUSED, ECONNRESET, EPIPE
from kstack.core.skbuff import consume_skb, kfree_skb, skb_pull
from kstack.core.sock import (RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK, SOCK_DEAD, SOCK_DONE,
                              SOCK_KEEPOPEN, SOCK_RCVBUF_LOCK, SOCK_SNDBUF_LOCK, sock_flag,
                              sock_set_flag)

from .inet_connection_sock import (ICSK_ACK_NOMEM, ICSK_ACK_NOW, ICSK_ACK_PUSHED, ICSK_ACK_PUSHED2,
                                   ICSK_ACK_SCHED, ICSK_TIME_LOSS_PROBE, ICSK_TIME_PROBE0,
                                   ICSK_TIME_REO_TIMEOUT, ICSK_TIME_RETRANS, inet_csk_ack_scheduled,
                                   inet_csk_clear_xmit_timer, inet_csk_enter_pingpong_mode,
                                   inet_csk_exit_pingpong_mode, inet_csk_in_pingpong_mode,
                                   inet_csk_reset_keepalive_timer, inet_csk_reset_xmit_timer,
                                   inet_csk_schedule_ack, inet_csk_reqsk_queue_hash_add,
                                   inet_csk_reqsk_queue_is_full, sk_acceptq_is_full)
from .tcp import (LateModule, sk_rmem_schedule, tcp_rmem_charge, tcp_rmem_uncharge, TCP_ATO_MIN,
                  TCP_DEFAULT_SCALING_RATIO, TCP_FASTRETRANS_THRESH, TCP_INFINITE_SSTHRESH,
                  TCP_INIT_CWND, TCP_MAX_QUICKACKS, TCP_MIN_MSS, TCP_MSS_DEFAULT, TCP_PAWS_24DAYS,
                  TCP_PAWS_MSL, TCP_PAWS_WINDOW, TCP_RMEM_TO_WIN_SCALE, TCP_RTO_MAX,
                  TCP_TIMEOUT_FALLBACK, TCP_TIMEOUT_INIT, TCP_TIMEOUT_MIN, TCP_TIMEWAIT_LEN,
                  TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_RETRANS, TCPCB_SACKED_ACKED,
                  TCPCB_SACKED_RETRANS, TCPHDR_ACK, TCPHDR_FIN, TCPHDR_PSH, TCPHDR_RST, TCPHDR_SYN,
                  TCPHDR_URG, TcpSackBlock, __tcp_set_rto, after, before, between, jiffies_to_usecs,
                  keepalive_time_when, net_inc_stat, s32, tcp_bound_rto, tcp_clock_us,
                  tcp_current_ssthresh, tcp_done, tcp_fin_time, tcp_full_space,
                  tcp_in_initial_slowstart, tcp_is_reno, tcp_is_sack, tcp_jiffies32, tcp_left_out,
                  tcp_min_rtt, tcp_packets_in_flight, tcp_probe0_when, tcp_receive_window,
                  tcp_reset_xmit_timer, tcp_rto_min_us, tcp_rtx_queue_empty, tcp_rtx_queue_head,
                  tcp_send_head, tcp_set_state, tcp_space, tcp_space_from_win, tcp_win_from_space,
                  tcp_wnd_end, tcp_write_queue_empty, tcp_write_queue_purge, usecs_to_jiffies,
                  sk_stream_memory_free, tcp_mstamp_refresh, tcp_clear_options, tcp_shutdown,
                  tcp_slow_start_after_idle_check, TcpOptionsReceived)
from .tcp_cong import (CA_EVENT_COMPLETE_CWR, CA_EVENT_LOSS, TCP_CA_CWR, TCP_CA_Disorder,
                       TCP_CA_Loss, TCP_CA_Open, TCP_CA_Recovery, AckSample, tcp_ca_event,
                       tcp_init_congestion_control, tcp_set_ca_state)
from .tcp_output import (__tcp_push_pending_frames, __tcp_select_window, tcp_current_mss,
                         tcp_fragment, tcp_init_cwnd, tcp_in_cwnd_reduction, tcp_mtup_init,
                         tcp_push_pending_frames, tcp_schedule_loss_probe, tcp_send_ack,
                         tcp_send_delayed_ack, tcp_sync_mss, tcp_xmit_retransmit_queue,
                         TCP_FRAG_IN_RTX_QUEUE, tcp_mss_clamp, tcp_select_initial_window,
                         tcp_rto_delta_us, tcp_send_synack)
from .tcp_states import (TCP_CLOSE, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_ESTABLISHED,
                         TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_LAST_ACK, TCP_LISTEN, TCP_SYN_RECV,
                         TCP_SYN_SENT, TCP_TIME_WAIT, TCPF_CLOSE_WAIT, TCPF_CLOSING,
                         TCPF_ESTABLISHED, TCPF_LAST_ACK, TCPF_SYN_RECV, TCPF_SYN_SENT)
from .tcp_minisocks import tcp_openreq_init_rwin, tcp_time_wait
from .tcp_recovery import (tcp_rack_advance as _adv, tcp_rack_mark_lost, tcp_rack_skb_timeout,
                           tcp_rack_update_reo_wnd)
from kstack.core.request_sock import RequestSock
from kstack.core.timer import TimerList

# Modules above this one in the import order (see tcp.py): bound on first use.
tcp_timer = LateModule(globals(), "tcp_timer")
tcp_ipv4 = LateModule(globals(), "tcp_ipv4")

_M32 = 0xFFFFFFFF
_TS_VAL_ECR = struct.Struct("!II")      # the TS option's two words
HZ = 1000

FLAG_DATA = 0x01
FLAG_WIN_UPDATE = 0x02
FLAG_DATA_ACKED = 0x04
FLAG_RETRANS_DATA_ACKED = 0x08
FLAG_SYN_ACKED = 0x10
FLAG_DATA_SACKED = 0x20
FLAG_ECE = 0x40
FLAG_LOST_RETRANS = 0x80
FLAG_SLOWPATH = 0x100
FLAG_ORIG_SACK_ACKED = 0x200
FLAG_SND_UNA_ADVANCED = 0x400
FLAG_DSACKING_ACK = 0x800
FLAG_SET_XMIT_TIMER = 0x1000
FLAG_SACK_RENEGING = 0x2000
FLAG_UPDATE_TS_RECENT = 0x4000
FLAG_NO_CHALLENGE_ACK = 0x8000
FLAG_ACK_MAYBE_DELAYED = 0x10000
FLAG_DSACK_TLP = 0x20000
FLAG_TS_PROGRESS = 0x40000

FLAG_ACKED = FLAG_DATA_ACKED | FLAG_SYN_ACKED
FLAG_NOT_DUP = FLAG_DATA | FLAG_WIN_UPDATE | FLAG_ACKED
FLAG_CA_ALERT = FLAG_DATA_SACKED | FLAG_ECE | FLAG_DSACKING_ACK
FLAG_FORWARD_PROGRESS = FLAG_ACKED | FLAG_DATA_SACKED

REXMIT_NONE = 0
REXMIT_LOST = 1
REXMIT_NEW = 2

TCP_DSACK_SEEN = 1 << 2
TCP_SACK_SEEN = 1 << 0
TCP_NUM_SACKS = 4
TCP_SACK_BLOCKS_EXPECTED = 2
TCP_RACK_RECOVERY_THRESH = 16
TCP_RACK_LOSS_DETECTION = 0x1
TCP_RACK_STATIC_REO_WND = 0x2
TCP_RACK_NO_DUPTHRESH = 0x4
TCP_HP_BITS = ~(0x0F000000 | 0x00080000) & _M32


def tcp_drop_reason(sk, skb, reason=SkbDropReason.NOT_SPECIFIED) -> None:
    kfree_skb(skb, reason)


# --- options ---------------------------------------------------------------------------
def tcp_parse_options(net, skb, opt_rx, estab: bool) -> None:
    """Read the options of a received segment into opt_rx (tcp_parse_options): mss, window
    scale, SACK-permitted only on SYNs (not estab), timestamps, SACK blocks (kept on the
    skb). A malformed option ends parsing, as Linux does ("silly options")."""
    th = skb.cb.th
    opts = th.options
    opt_rx.saw_tstamp = 0
    opt_rx.saw_unknown = 0
    skb.cb.sack_blocks = None
    n = len(opts)
    i = 0
    syn = th.flags & TCPHDR_SYN
    while i < n:
        opcode = opts[i]
        if opcode == 0:          # EOL
            return
        if opcode == 1:          # NOP
            i += 1
            continue
        if i + 1 >= n:
            return
        opsize = opts[i + 1]
        if opsize < 2:
            return
        if opsize > n - i:
            return
        if opcode == 2:          # MSS
            if opsize == 4 and syn and not estab:
                in_mss = (opts[i + 2] << 8) | opts[i + 3]
                if in_mss:
                    if opt_rx.user_mss and opt_rx.user_mss < in_mss:
                        in_mss = opt_rx.user_mss
                    opt_rx.mss_clamp = in_mss
        elif opcode == 3:        # window scale
            if opsize == 3 and syn and not estab and net.ipv4.sysctl_tcp_window_scaling:
                snd_wscale = opts[i + 2]
                opt_rx.wscale_ok = 1
                if snd_wscale > 14:
                    snd_wscale = 14
                opt_rx.snd_wscale = snd_wscale
        elif opcode == 8:        # timestamps
            if opsize == 10 and ((estab and opt_rx.tstamp_ok) or
                                 (not estab and net.ipv4.sysctl_tcp_timestamps)):
                opt_rx.saw_tstamp = 1
                opt_rx.rcv_tsval = int.from_bytes(opts[i + 2:i + 6], "big")
                opt_rx.rcv_tsecr = int.from_bytes(opts[i + 6:i + 10], "big")
        elif opcode == 4:        # SACK permitted
            if opsize == 2 and syn and not estab and net.ipv4.sysctl_tcp_sack:
                opt_rx.sack_ok = TCP_SACK_SEEN
                tcp_sack_reset(opt_rx)
        elif opcode == 5:        # SACK
            if opsize >= 10 and not ((opsize - 2) % 8) and opt_rx.sack_ok:
                blocks = []
                for j in range(i + 2, i + opsize, 8):
                    blocks.append((int.from_bytes(opts[j:j + 4], "big"),
                                   int.from_bytes(opts[j + 4:j + 8], "big")))
                skb.cb.sack_blocks = blocks
        else:
            opt_rx.saw_unknown = 1
        i += opsize


def tcp_sack_reset(rx_opt) -> None:
    rx_opt.dsack = 0
    rx_opt.num_sacks = 0


def tcp_parse_aligned_timestamp(tp, th) -> bool:
    o = th.options
    if len(o) >= 12 and o[:4] == b"\x01\x01\x08\x0a":     # NOP, NOP, TS, len 10
        rx_opt = tp.rx_opt
        rx_opt.saw_tstamp = 1
        rx_opt.rcv_tsval, ecr = _TS_VAL_ECR.unpack_from(o, 4)
        rx_opt.rcv_tsecr = ((ecr - tp.tsoffset) & _M32) if ecr else 0
        return True
    return False


def tcp_fast_parse_options(net, skb, th, tp) -> bool:
    """False if the segment has no options at all."""
    if th.doff == 5:
        tp.rx_opt.saw_tstamp = 0
        skb.cb.sack_blocks = None
        return False
    if tp.rx_opt.tstamp_ok and th.doff == 8:
        skb.cb.sack_blocks = None
        if tcp_parse_aligned_timestamp(tp, th):
            return True
    tcp_parse_options(net, skb, tp.rx_opt, True)
    if tp.rx_opt.saw_tstamp and tp.rx_opt.rcv_tsecr:
        tp.rx_opt.rcv_tsecr = (tp.rx_opt.rcv_tsecr - tp.tsoffset) & _M32
    return True


# --- PAWS (RFC 7323 §5) ------------------------------------------------------------------------
def tcp_paws_check(rx_opt, paws_win: int, now_sec: int) -> bool:
    """True if the segment's timestamp passes PAWS."""
    if s32(rx_opt.ts_recent - rx_opt.rcv_tsval) <= paws_win:
        return True
    if now_sec >= rx_opt.ts_recent_stamp + TCP_PAWS_24DAYS:
        return True
    if not rx_opt.ts_recent:
        return True
    return False


def tcp_paws_reject(rx_opt, rst: bool, now_sec: int) -> bool:
    if tcp_paws_check(rx_opt, 0, now_sec):
        return False
    if rst and now_sec >= rx_opt.ts_recent_stamp + TCP_PAWS_MSL:
        return False
    return True


def _seconds(sk) -> int:
    return int(sk.sk_net.clock.now())


def tcp_store_ts_recent(tp) -> None:
    tp.rx_opt.ts_recent = tp.rx_opt.rcv_tsval
    tp.rx_opt.ts_recent_stamp = _seconds(tp)


def tcp_replace_ts_recent(tp, seq: int) -> None:
    """RFC 7323 §4.3: take TS.Recent from a segment that covers the left edge."""
    if tp.rx_opt.saw_tstamp and not after(seq, tp.rcv_wup):
        if tcp_paws_check(tp.rx_opt, 0, _seconds(tp)):
            tcp_store_ts_recent(tp)


def tcp_disordered_ack(sk, skb) -> bool:
    """A pure ACK that only looks old because it was reordered (Linux's PAWS exception)."""
    tp = sk
    th = skb.cb.th
    seq = skb.cb.seq
    ack = skb.cb.ack_seq
    return ((th.flags & TCPHDR_ACK) and seq == skb.cb.end_seq and seq == tp.rcv_nxt and
            ack == tp.snd_una and
            not tcp_may_update_window(tp, ack, seq, th.window << tp.rx_opt.snd_wscale) and
            s32(tp.rx_opt.ts_recent - tp.rx_opt.rcv_tsval) <= (sk.icsk_rto * 1024) // HZ)


def tcp_paws_discard(sk, skb) -> bool:
    tp = sk
    return not tcp_paws_check(tp.rx_opt, TCP_PAWS_WINDOW, _seconds(sk)) and \
        not tcp_disordered_ack(sk, skb)


# --- RTT and RTO (RFC 6298) ---------------------------------------------------------------------
def tcp_rtt_estimator(sk, mrtt_us: int) -> None:
    """Jacobson/Karels with Linux's refinements (mdev_max, Eifel-like mdev gain)."""
    tp = sk
    m = mrtt_us
    srtt = tp.srtt_us
    if srtt != 0:
        m -= srtt >> 3
        srtt += m
        if m < 0:
            m = -m
            m -= tp.mdev_us >> 2
            if m > 0:
                m >>= 3
        else:
            m -= tp.mdev_us >> 2
        tp.mdev_us += m
        if tp.mdev_us > tp.mdev_max_us:
            tp.mdev_max_us = tp.mdev_us
            if tp.mdev_max_us > tp.rttvar_us:
                tp.rttvar_us = tp.mdev_max_us
        if after(tp.snd_una, tp.rtt_seq):
            if tp.mdev_max_us < tp.rttvar_us:
                tp.rttvar_us -= (tp.rttvar_us - tp.mdev_max_us) >> 2
            tp.rtt_seq = tp.snd_nxt
            tp.mdev_max_us = tcp_rto_min_us(sk)
    else:
        srtt = m << 3
        tp.mdev_us = m << 1
        tp.rttvar_us = max(tp.mdev_us, tcp_rto_min_us(sk))
        tp.mdev_max_us = tp.rttvar_us
        tp.rtt_seq = tp.snd_nxt
    tp.srtt_us = max(1, srtt)


def tcp_set_rto(sk) -> None:
    sk.icsk_rto = __tcp_set_rto(sk)
    tcp_bound_rto(sk)


def tcp_update_rtt_min(sk, rtt_us: int, flag: int) -> None:
    tp = sk
    wlen = sk.sk_net.ipv4.sysctl_tcp_min_rtt_wlen * HZ
    if (flag & FLAG_ACK_MAYBE_DELAYED) and rtt_us > tcp_min_rtt(tp):
        return
    tp.rtt_min.running_min(wlen, tcp_jiffies32(sk), rtt_us or jiffies_to_usecs(1))


def tcp_rtt_tsopt_us(tp, mn: int) -> int:
    delta = (tp.tcp_mstamp // 1000 - tp.rx_opt.rcv_tsecr) & _M32
    if delta < 0x7FFFFFFF // 1000:
        if not delta:
            delta = mn
        return delta * 1000
    return -1


def tcp_ack_update_rtt(sk, flag: int, seq_rtt_us: int, sack_rtt_us: int, ca_rtt_us: int, rs) -> bool:
    tp = sk
    if seq_rtt_us < 0:
        seq_rtt_us = sack_rtt_us
    if seq_rtt_us < 0 and tp.rx_opt.saw_tstamp and tp.rx_opt.rcv_tsecr and flag & FLAG_ACKED:
        seq_rtt_us = ca_rtt_us = tcp_rtt_tsopt_us(tp, 1)
    rs.rtt_us = ca_rtt_us
    if seq_rtt_us < 0:
        return False
    tcp_update_rtt_min(sk, ca_rtt_us, flag)
    tcp_rtt_estimator(sk, seq_rtt_us)
    tcp_set_rto(sk)
    sk.icsk_backoff = 0      # RFC 6298: only on a valid RTT measurement
    return True


def tcp_synack_rtt_meas(sk, req) -> None:
    """The SYN-ACK's RTT from the request sock (for a passive open)."""
    rs = RateSample()
    rtt_us = -1
    if req is not None and req.num_retrans == 0 and req.snt_synack:
        rtt_us = max(sk.tcp_mstamp - req.snt_synack, 0)
    tcp_ack_update_rtt(sk, FLAG_SYN_ACKED, rtt_us, -1, rtt_us, rs)


def tcp_timeout_init(sk) -> int:
    return TCP_TIMEOUT_INIT


# --- receive buffer and window tuning -------------------------------------------------------------
def tcp_sndbuf_expand(sk) -> None:
    """Grow sk_sndbuf to hold 2 * max(IW, cwnd, reordering+1) segments (not past
    tcp_wmem[2]); skipped when SO_SNDBUF locked the size."""
    tp = sk
    per_mss = max(tp.rx_opt.mss_clamp, tp.mss_cache) + 320 + 320
    per_mss = (1 << (per_mss - 1).bit_length()) + 256
    nr_segs = max(TCP_INIT_CWND, tp.snd_cwnd)
    nr_segs = max(nr_segs, tp.reordering + 1)
    sndmem = 2 * nr_segs * per_mss
    if sk.sk_sndbuf < sndmem:
        sk.sk_sndbuf = min(sndmem, sk.sk_net.ipv4.sysctl_tcp_wmem[2])


def tcp_init_buffer_space(sk) -> None:
    tp = sk
    net = sk.sk_net
    tcp_app_win = net.ipv4.sysctl_tcp_app_win
    if not (sk.sk_userlocks & SOCK_SNDBUF_LOCK):
        tcp_sndbuf_expand(sk)
    tcp_mstamp_refresh(sk)
    tp.rcvq_space.time = tp.tcp_mstamp
    tp.rcvq_space.seq = tp.copied_seq
    maxwin = tcp_full_space(sk)
    if tp.window_clamp >= maxwin:
        tp.window_clamp = maxwin
        if tcp_app_win and maxwin > 4 * tp.advmss:
            tp.window_clamp = max(maxwin - (maxwin >> tcp_app_win), 4 * tp.advmss)
    if tcp_app_win and tp.window_clamp > 2 * tp.advmss and tp.window_clamp + tp.advmss > maxwin:
        tp.window_clamp = max(2 * tp.advmss, maxwin - tp.advmss)
    tp.rcv_ssthresh = min(tp.rcv_ssthresh, tp.window_clamp)
    tp.snd_cwnd_stamp = tcp_jiffies32(sk)
    tp.rcvq_space.space = min(tp.rcv_ssthresh, tp.rcv_wnd, TCP_INIT_CWND * tp.advmss)


def tcp_set_window_clamp(sk, val: int) -> None:
    tp = sk
    new_clamp = max(2304 // 2, val)
    old = tp.window_clamp
    if new_clamp == old:
        return
    tp.window_clamp = new_clamp
    if new_clamp < old:
        tp.rcv_ssthresh = min(tp.rcv_ssthresh, new_clamp)
    else:
        tp.rcv_ssthresh = max(min(tp.rcv_wnd, new_clamp), tp.rcv_ssthresh)


def __tcp_grow_window(sk, skb, skbtruesize: int) -> int:
    tp = sk
    truesize = tcp_win_from_space(sk, skbtruesize) >> 1
    window = tcp_win_from_space(sk, sk.sk_net.ipv4.sysctl_tcp_rmem[2]) >> 1
    while tp.rcv_ssthresh <= window:
        if truesize <= skb.len:
            return 2 * sk.icsk_ack.rcv_mss
        truesize >>= 1
        window >>= 1
    return 0


def tcp_grow_window(sk, skb, adjust: bool) -> None:
    """Raise rcv_ssthresh (the window we are willing to offer) as data arrives in
    segments whose memory cost the buffer can carry."""
    tp = sk
    room = min(tp.window_clamp, tcp_space(sk)) - tp.rcv_ssthresh
    if room <= 0:
        return
    truesize = skb.truesize
    if tcp_win_from_space(sk, truesize) <= skb.len:
        incr = 2 * tp.advmss
    else:
        incr = __tcp_grow_window(sk, skb, truesize)
    if incr:
        incr = max(incr, 2 * skb.len)
        tp.rcv_ssthresh += min(room, incr)
        sk.icsk_ack.quick |= 1


def tcp_initialize_rcv_mss(sk) -> None:
    tp = sk
    hint = min(tp.advmss, tp.mss_cache)
    hint = min(hint, tp.rcv_wnd // 2)
    hint = min(hint, TCP_MSS_DEFAULT)
    hint = max(hint, TCP_MIN_MSS)
    sk.icsk_ack.rcv_mss = hint


def tcp_measure_rcv_mss(sk, skb) -> None:
    """Guess the peer's MSS from what arrives (for delayed-ACK decisions) and learn the
    payload/truesize ratio used to turn buffer space into window."""
    ack = sk.icsk_ack
    lss = ack.last_seg_size
    ack.last_seg_size = 0
    # skb->len may jitter because of SACKs, even if peer sends good full-sized frames
    ln = skb.gso_size or skb.len
    if ln >= ack.rcv_mss:
        if ln != ack.rcv_mss and skb.truesize:
            val = (skb.len << TCP_RMEM_TO_WIN_SCALE) // skb.truesize
            old_ratio = sk.scaling_ratio
            sk.scaling_ratio = min(val, 255) if val else 1
            if old_ratio != sk.scaling_ratio:
                tcp_set_window_clamp(sk, tcp_win_from_space(sk, sk.sk_rcvbuf))
                if sk.window_clamp < sk.rcvq_space.space:
                    sk.rcvq_space.space = sk.window_clamp
        ack.rcv_mss = min(ln, sk.advmss)
    else:
        th = skb.cb.th
        ln += th.doff * 4
        if ln >= TCP_MSS_DEFAULT + 20 or (
                ln >= TCP_MIN_MSS + 20 and not (th.flags & (TCPHDR_FIN | TCPHDR_URG | TCPHDR_SYN |
                                                             TCPHDR_PSH))):
            ln -= sk.tcp_header_len
            ack.last_seg_size = ln
            if ln == lss:
                ack.rcv_mss = ln
                return
        if ack.pending & ICSK_ACK_PUSHED:
            ack.pending |= ICSK_ACK_PUSHED2
        ack.pending |= ICSK_ACK_PUSHED


def tcp_incr_quickack(sk, max_quickacks: int) -> None:
    quickacks = sk.rcv_wnd // (2 * sk.icsk_ack.rcv_mss) if sk.icsk_ack.rcv_mss else 0
    if quickacks == 0:
        quickacks = 2
    quickacks = min(quickacks, max_quickacks)
    if quickacks > sk.icsk_ack.quick:
        sk.icsk_ack.quick = quickacks


def tcp_enter_quickack_mode(sk, max_quickacks: int = TCP_MAX_QUICKACKS) -> None:
    tcp_incr_quickack(sk, max_quickacks)
    inet_csk_exit_pingpong_mode(sk)
    sk.icsk_ack.ato = TCP_ATO_MIN


def tcp_in_quickack_mode(sk) -> bool:
    return bool(sk.icsk_ack.quick) and not inet_csk_in_pingpong_mode(sk)


def tcp_rcv_rtt_update(tp, sample: int, win_dep: int) -> None:
    old = tp.rcv_rtt_est.rtt_us
    m = sample << 3
    if old == 0 or m < old:
        new = m
    else:
        if win_dep:
            return
        if tp.rcv_nxt != tp.copied_seq:
            return
        new = old - (old >> 3) + sample
    tp.rcv_rtt_est.rtt_us = new


def tcp_rcv_rtt_measure(tp) -> None:
    est = tp.rcv_rtt_est
    if est.time != 0:
        if before(tp.rcv_nxt, est.seq):
            return
        delta_us = max(tp.tcp_mstamp - est.time, 0) or 1
        tcp_rcv_rtt_update(tp, delta_us, 1)
    est.seq = (tp.rcv_nxt + tp.rcv_wnd) & _M32
    est.time = tp.tcp_mstamp


def tcp_rcv_rtt_measure_ts(sk, skb) -> None:
    tp = sk
    if tp.rx_opt.rcv_tsecr == tp.rcv_rtt_last_tsecr:
        return
    tp.rcv_rtt_last_tsecr = tp.rx_opt.rcv_tsecr
    if ((skb.cb.end_seq - skb.cb.seq) & _M32) >= sk.icsk_ack.rcv_mss:
        delta = tcp_rtt_tsopt_us(tp, 0)
        if delta > 0:
            tcp_rcv_rtt_update(tp, delta, 0)


def tcp_rcv_space_adjust(sk) -> None:
    """Dynamic right-sizing: grow sk_rcvbuf to ~2x (plus slow-start growth) what the
    application read in the last RTT (net.ipv4.tcp_moderate_rcvbuf)."""
    tp = sk
    tcp_mstamp_refresh(sk)
    time = max(tp.tcp_mstamp - tp.rcvq_space.time, 0)
    if time < (tp.rcv_rtt_est.rtt_us >> 3) or tp.rcv_rtt_est.rtt_us == 0:
        return
    copied = (tp.copied_seq - tp.rcvq_space.seq) & _M32
    if copied > tp.rcvq_space.space:
        net = sk.sk_net
        if net.ipv4.sysctl_tcp_moderate_rcvbuf and not (sk.sk_userlocks & SOCK_RCVBUF_LOCK):
            rcvwin = (copied << 1) + 16 * tp.advmss
            space = tp.rcvq_space.space or 1
            grow = rcvwin * (copied - tp.rcvq_space.space) // space
            rcvwin += grow << 1
            rcvbuf = min(tcp_space_from_win(sk, rcvwin), net.ipv4.sysctl_tcp_rmem[2])
            if rcvbuf > sk.sk_rcvbuf:
                sk.sk_rcvbuf = rcvbuf
                tp.window_clamp = tcp_win_from_space(sk, rcvbuf)
        tp.rcvq_space.space = copied
    tp.rcvq_space.seq = tp.copied_seq
    tp.rcvq_space.time = tp.tcp_mstamp


def tcp_event_data_recv(sk, skb) -> None:
    """Data arrived: schedule an ACK, adapt ato (the delayed-ACK timeout), grow the window."""
    tp = sk
    ack = sk.icsk_ack
    inet_csk_schedule_ack(sk)
    tcp_measure_rcv_mss(sk, skb)
    tcp_rcv_rtt_measure(tp)
    now = tcp_jiffies32(sk)
    if not ack.ato:
        # The first data packet: start the delayed-ACK engine in quickack mode.
        tcp_incr_quickack(sk, TCP_MAX_QUICKACKS)
        ack.ato = TCP_ATO_MIN
    else:
        m = s32(now - ack.lrcvtime)
        if m <= TCP_ATO_MIN // 2:
            ack.ato = (ack.ato >> 1) + TCP_ATO_MIN // 2
        elif m < ack.ato:
            ack.ato = (ack.ato >> 1) + m
            if ack.ato > sk.icsk_rto:
                ack.ato = sk.icsk_rto
        elif m > sk.icsk_rto:
            tcp_incr_quickack(sk, TCP_MAX_QUICKACKS)
    ack.lrcvtime = now
    if skb.len >= 128:
        tcp_grow_window(sk, skb, True)


# --- send-side helpers called on input ----------------------------------------------------------
def tcp_rearm_rto(sk) -> None:
    """Restart the retransmission timer for the oldest outstanding segment (RFC 6298 5.3)."""
    tp = sk
    if tp.fastopen_rsk is not None:
        return
    if not tp.packets_out:
        inet_csk_clear_xmit_timer(sk, ICSK_TIME_RETRANS)
    else:
        rto = sk.icsk_rto
        if sk.icsk_pending in (ICSK_TIME_REO_TIMEOUT, ICSK_TIME_LOSS_PROBE):
            delta_us = tcp_rto_delta_us(sk)
            rto = usecs_to_jiffies(max(delta_us, 1))
        tcp_reset_xmit_timer(sk, ICSK_TIME_RETRANS, rto, TCP_RTO_MAX)


def tcp_set_xmit_timer(sk) -> None:
    if not tcp_schedule_loss_probe(sk, True):
        tcp_rearm_rto(sk)


def tcp_should_expand_sndbuf(sk) -> bool:
    tp = sk
    if sk.sk_userlocks & SOCK_SNDBUF_LOCK:
        return False
    if tcp_packets_in_flight(tp) >= tp.snd_cwnd:
        return False
    return True


def tcp_new_space(sk) -> None:
    tp = sk
    if tcp_should_expand_sndbuf(sk):
        tcp_sndbuf_expand(sk)
        tp.snd_cwnd_stamp = tcp_jiffies32(sk)
    sk.sk_write_space(sk)


def tcp_check_space(sk) -> None:
    if sk.sk_socket is not None and sk.sk_socket_nospace:
        tcp_new_space(sk)


def tcp_data_snd_check(sk) -> None:
    tcp_push_pending_frames(sk)
    tcp_check_space(sk)


def tcp_fast_path_on(tp) -> None:
    tp.pred_flags = ((tp.tcp_header_len << 26) | (TCPHDR_ACK << 16) |
                     ((tp.snd_wnd >> tp.rx_opt.snd_wscale) & 0xFFFF)) & _M32


def tcp_fast_path_check(sk) -> None:
    tp = sk
    if not tp.out_of_order_queue and tp.rcv_wnd and sk.sk_rmem_alloc < sk.sk_rcvbuf and \
            not tp.urg_data:
        tcp_fast_path_on(tp)


# --- ACK processing --------------------------------------------------------------------------
class RateSample:
    """struct rate_sample (tcp_rate.c)."""
    __slots__ = ("prior_mstamp", "prior_delivered", "delivered", "interval_us", "snd_interval_us",
                 "rcv_interval_us", "rtt_us", "losses", "acked_sacked", "prior_in_flight",
                 "is_app_limited", "is_retrans", "is_ack_delayed")

    def __init__(self):
        self.prior_mstamp = 0
        self.prior_delivered = 0
        self.delivered = 0
        self.interval_us = 0
        self.snd_interval_us = 0
        self.rcv_interval_us = 0
        self.rtt_us = -1
        self.losses = 0
        self.acked_sacked = 0
        self.prior_in_flight = 0
        self.is_app_limited = False
        self.is_retrans = False
        self.is_ack_delayed = False


class SacktagState:
    __slots__ = ("reord", "first_sackt", "last_sackt", "rate", "flag", "mss_now",
                 "sack_delivered", "delivered_bytes")

    def __init__(self, rate):
        self.reord = 0
        self.first_sackt = 0
        self.last_sackt = 0
        self.rate = rate
        self.flag = 0
        self.mss_now = 0
        self.sack_delivered = 0
        self.delivered_bytes = 0


def tcp_rate_skb_delivered(sk, skb, rs) -> None:
    tp = sk
    cb = skb.cb
    if not cb.tx_delivered_mstamp:
        return
    if not rs.prior_delivered or after(cb.tx_delivered, rs.prior_delivered) or (
            cb.tx_delivered == rs.prior_delivered and cb.skb_mstamp > tp.first_tx_mstamp):
        rs.prior_delivered = cb.tx_delivered
        rs.prior_mstamp = cb.tx_delivered_mstamp
        rs.is_app_limited = bool(cb.tx_is_app_limited)
        rs.is_retrans = bool(cb.sacked & TCPCB_RETRANS)
        tp.first_tx_mstamp = cb.skb_mstamp
        rs.interval_us = max(cb.skb_mstamp - cb.tx_first_tx_mstamp, 0)
    if cb.sacked & TCPCB_SACKED_ACKED:
        cb.tx_delivered_mstamp = 0


def tcp_rate_gen(sk, delivered: int, lost: int, is_sack_reneg: bool, rs) -> None:
    tp = sk
    if tp.app_limited and after(tp.delivered, tp.app_limited):
        tp.app_limited = 0
    if delivered:
        tp.delivered_mstamp = tp.tcp_mstamp
    rs.acked_sacked = delivered
    rs.losses = lost
    if not rs.prior_mstamp or is_sack_reneg:
        rs.delivered = -1
        rs.interval_us = -1
        return
    rs.delivered = tp.delivered - rs.prior_delivered
    snd_us = rs.interval_us
    ack_us = max(tp.tcp_mstamp - rs.prior_mstamp, 0)
    rs.interval_us = max(snd_us, ack_us)
    if rs.interval_us < tcp_min_rtt(tp):
        rs.interval_us = -1
        return
    if not rs.is_app_limited or (rs.delivered * tp.rate_interval_us >=
                                 tp.rate_delivered * rs.interval_us):
        tp.rate_delivered = rs.delivered
        tp.rate_interval_us = rs.interval_us
        tp.rate_app_limited = rs.is_app_limited


def tcp_count_delivered(tp, delivered: int, ece_ack: bool) -> None:
    tp.delivered += delivered


def tcp_snd_una_update(tp, ack: int) -> None:
    delta = (ack - tp.snd_una) & _M32
    tp.bytes_acked += delta
    tp.snd_una = ack


def tcp_rcv_nxt_update(tp, seq: int) -> None:
    delta = (seq - tp.rcv_nxt) & _M32
    tp.bytes_received += delta
    tp.rcv_nxt = seq


def tcp_may_update_window(tp, ack: int, ack_seq: int, nwin: int) -> bool:
    # "|| !nwin": a zero window from the same segment still closes the window (Linux 6.5+).
    return after(ack, tp.snd_una) or after(ack_seq, tp.snd_wl1) or (
        ack_seq == tp.snd_wl1 and (nwin > tp.snd_wnd or not nwin))


def tcp_update_wl(tp, seq: int) -> None:
    tp.snd_wl1 = seq


def tcp_ack_update_window(sk, skb, ack: int, ack_seq: int) -> int:
    """RFC 9293 §3.10.7.4 window update (SND.WL1/WL2 rule); a bigger max_window resyncs MSS."""
    tp = sk
    flag = 0
    th = skb.cb.th
    nwin = th.window
    if not (th.flags & TCPHDR_SYN):
        nwin <<= tp.rx_opt.snd_wscale
    if tcp_may_update_window(tp, ack, ack_seq, nwin):
        flag |= FLAG_WIN_UPDATE
        tcp_update_wl(tp, ack_seq)
        if tp.snd_wnd != nwin:
            tp.snd_wnd = nwin
            tp.pred_flags = 0
            tcp_fast_path_check(sk)
            if not tcp_write_queue_empty(sk):
                tcp_slow_start_after_idle_check(sk)
            if nwin > tp.max_window:
                tp.max_window = nwin
                tcp_sync_mss(sk, sk.icsk_pmtu_cookie)
    tcp_snd_una_update(tp, ack)
    return flag


def tcp_ack_probe(sk) -> None:
    """A window opened while we were probing: stop probing (or keep probing, backed off)."""
    head = tcp_send_head(sk)
    if head is None:
        return
    if not after(head.cb.end_seq, tcp_wnd_end(sk)):
        sk.icsk_backoff = 0
        sk.icsk_probes_tstamp = 0
        inet_csk_clear_xmit_timer(sk, ICSK_TIME_PROBE0)
    else:
        when = tcp_probe0_when(sk, TCP_RTO_MAX)
        when = tcp_timer.tcp_clamp_probe0_to_user_timeout(sk, when)
        tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, when, TCP_RTO_MAX)


def tcp_highest_sack_seq(tp) -> int:
    if not tp.sacked_out:
        return tp.snd_una
    if tp.highest_sack is None:
        return tp.snd_nxt
    return tp.highest_sack.cb.seq


def tcp_highest_sack_reset(sk) -> None:
    sk.highest_sack = tcp_rtx_queue_head(sk)


def tcp_check_sack_reordering(sk, low_seq: int, ts: int) -> None:
    tp = sk
    mss = tp.mss_cache
    fack = tcp_highest_sack_seq(tp)
    if not before(low_seq, fack):
        return
    metric = (fack - low_seq) & _M32
    if metric > tp.reordering * mss and mss:
        tp.reordering = min((metric + mss - 1) // mss, sk.sk_net.ipv4.sysctl_tcp_max_reordering)
    tp.reord_seen += 1
    net_inc_stat(sk.sk_net, "TCPTSReorder" if ts else "TCPSACKReorder")


def tcp_skb_spurious_retrans(tp, skb) -> bool:
    return bool(skb.cb.sacked & TCPCB_RETRANS) and tp.rx_opt.saw_tstamp and \
        tp.rx_opt.rcv_tsecr and before(tp.rx_opt.rcv_tsecr, (skb.cb.skb_mstamp // 1000) & _M32)


def tcp_dsack_seen(tp, start_seq: int, end_seq: int, state) -> int:
    if not before(start_seq, end_seq):
        return 0
    seq_len = (end_seq - start_seq) & _M32
    dup_segs = 1
    if seq_len > tp.max_window:
        return 0
    if seq_len > tp.mss_cache:
        dup_segs = (seq_len + tp.mss_cache - 1) // tp.mss_cache
    elif tp.tlp_high_seq and tp.tlp_high_seq == end_seq:
        state.flag |= FLAG_DSACK_TLP
    tp.dsack_dups += dup_segs
    if tp.dsack_dups > tp.total_retrans:
        return 0
    tp.rx_opt.sack_ok |= TCP_DSACK_SEEN
    if tp.reord_seen and not (state.flag & FLAG_DSACK_TLP):
        tp.rack.dsack_seen = 1
    state.flag |= FLAG_DSACKING_ACK
    state.sack_delivered += dup_segs
    return dup_segs


def tcp_check_dsack(sk, ack_skb, blocks, num_sacks: int, prior_snd_una: int, state) -> bool:
    """Is the first SACK block a D-SACK (RFC 2883 §4)?"""
    tp = sk
    net = sk.sk_net
    start0, end0 = blocks[0]
    if before(start0, ack_skb.cb.ack_seq):
        net_inc_stat(net, "TCPDSACKRecv")
    elif num_sacks > 1:
        start1, end1 = blocks[1]
        if after(end0, end1) or before(start0, start1):
            return False
        net_inc_stat(net, "TCPDSACKOfoRecv")
    else:
        return False
    dup_segs = tcp_dsack_seen(tp, start0, end0, state)
    if not dup_segs:
        net_inc_stat(net, "TCPDSACKIgnoredDubious")
        return False
    if tp.undo_marker and tp.undo_retrans > 0 and not after(end0, prior_snd_una) and \
            after(end0, tp.undo_marker):
        tp.undo_retrans = max(0, tp.undo_retrans - dup_segs)
    return True


def tcp_is_sackblock_valid(tp, is_dsack: bool, start_seq: int, end_seq: int) -> bool:
    if after(end_seq, tp.snd_nxt) or not before(start_seq, end_seq):
        return False
    if not before(start_seq, tp.snd_nxt):
        return False
    if after(start_seq, tp.snd_una):
        return True
    if not is_dsack or not tp.undo_marker:
        return False
    if after(end_seq, tp.snd_una):
        return False
    if not before(start_seq, tp.undo_marker):
        return True
    if not after(end_seq, tp.undo_marker):
        return False
    return not before(start_seq, (end_seq - tp.max_window) & _M32)


def tcp_rack_advance(tp, sacked: int, end_seq: int, xmit_time: int) -> None:
    _adv(tp, sacked, end_seq, xmit_time)


def tcp_sacktag_one(sk, state, sacked: int, start_seq: int, end_seq: int, dup_sack: bool,
                    pcount: int, xmit_time: int) -> int:
    tp = sk
    if dup_sack and (sacked & TCPCB_RETRANS):
        if tp.undo_marker and tp.undo_retrans > 0 and after(end_seq, tp.undo_marker):
            tp.undo_retrans = max(0, tp.undo_retrans - pcount)
        if (sacked & TCPCB_SACKED_ACKED) and before(start_seq, state.reord):
            state.reord = start_seq
    if not after(end_seq, tp.snd_una):
        return sacked
    if not (sacked & TCPCB_SACKED_ACKED):
        tcp_rack_advance(tp, sacked, end_seq, xmit_time)
        if sacked & TCPCB_SACKED_RETRANS:
            if sacked & TCPCB_LOST:
                sacked &= ~(TCPCB_LOST | TCPCB_SACKED_RETRANS)
                tp.lost_out -= pcount
                tp.retrans_out -= pcount
        else:
            if not (sacked & TCPCB_RETRANS):
                if before(start_seq, tcp_highest_sack_seq(tp)) and before(start_seq, state.reord):
                    state.reord = start_seq
                if not after(end_seq, tp.high_seq):
                    state.flag |= FLAG_ORIG_SACK_ACKED
                if state.first_sackt == 0:
                    state.first_sackt = xmit_time
                state.last_sackt = xmit_time
            if sacked & TCPCB_LOST:
                sacked &= ~TCPCB_LOST
                tp.lost_out -= pcount
        sacked |= TCPCB_SACKED_ACKED
        state.flag |= FLAG_DATA_SACKED
        tp.sacked_out += pcount
        state.sack_delivered += pcount
        state.delivered_bytes += (end_seq - start_seq) & _M32
    if dup_sack and (sacked & TCPCB_SACKED_RETRANS):
        sacked &= ~TCPCB_SACKED_RETRANS
        tp.retrans_out -= pcount
    return sacked


def tcp_sacktag_write_queue(sk, ack_skb, prior_snd_una: int, state) -> int:
    """Mark the segments the peer's SACK blocks cover (the RFC 6675 scoreboard)."""
    tp = sk
    net = sk.sk_net
    blocks = ack_skb.cb.sack_blocks
    num_sacks = len(blocks)
    state.flag = 0
    state.reord = tp.snd_nxt
    if not tp.sacked_out:
        tcp_highest_sack_reset(sk)
    found_dup_sack = tcp_check_dsack(sk, ack_skb, blocks, num_sacks, prior_snd_una, state)
    if before(ack_skb.cb.ack_seq, (prior_snd_una - tp.max_window) & _M32):
        return 0
    if not tp.packets_out:
        return state.flag
    sp = []
    for i, (start, end) in enumerate(blocks):
        dup_sack = (i == 0) and found_dup_sack
        if not tcp_is_sackblock_valid(tp, dup_sack, start, end):
            if dup_sack:
                net_inc_stat(net, "TCPDSACKIgnoredNoUndo" if not tp.undo_marker else "TCPDSACKIgnoredOld")
            else:
                if ack_skb.cb.ack_seq != tp.snd_una and not after(end, tp.snd_una):
                    continue
                net_inc_stat(net, "TCPSACKDiscard")
            continue
        if not after(end, prior_snd_una):
            continue
        sp.append((start, end, dup_sack))
    sp.sort(key=lambda b: (b[0] - tp.snd_una) & _M32)
    q = sk.tcp_rtx_queue.q
    for start, end, dup_sack in sp:
        # Walk the queue; split segments the block covers only in part (tcp_match_skb_to_sack).
        idx = 0
        while idx < len(q):
            skb = q[idx]
            cb = skb.cb
            if not after(cb.end_seq, start):
                idx += 1
                continue
            if not before(cb.seq, end):
                break
            in_sack = not before(cb.seq, start) and not after(cb.end_seq, end)
            if not in_sack and skb.len > 0:
                # Partial overlap: split at the block edge(s).
                if before(cb.seq, start):
                    tcp_fragment(sk, TCP_FRAG_IN_RTX_QUEUE, skb, (start - cb.seq) & _M32,
                                 tp.mss_cache)
                    idx += 1
                    continue
                if after(cb.end_seq, end):
                    tcp_fragment(sk, TCP_FRAG_IN_RTX_QUEUE, skb, (end - cb.seq) & _M32,
                                 tp.mss_cache)
                    in_sack = True
            if in_sack:
                was_sacked = cb.sacked & TCPCB_SACKED_ACKED
                cb.sacked = tcp_sacktag_one(sk, state, cb.sacked, cb.seq, cb.end_seq, dup_sack,
                                            1, cb.skb_mstamp)
                if cb.sacked & TCPCB_SACKED_ACKED and not was_sacked:
                    tp.tsorted_sent_queue.pop(id(skb), None)
                if not before(cb.seq, tcp_highest_sack_seq(tp)):
                    tp.highest_sack = q[idx + 1] if idx + 1 < len(q) else None
            idx += 1
    if sk.icsk_ca_state != TCP_CA_Loss or tp.undo_marker:
        tcp_check_sack_reordering(sk, state.reord, 0)
    return state.flag


def tcp_clean_rtx_queue(sk, ack_skb, prior_fack: int, prior_snd_una: int, sack, ece_ack: bool) -> int:
    """Remove what the cumulative ACK covers; RTT sample (Karn), RACK, delivery rate."""
    tp = sk
    first_ackt = 0
    last_ackt = 0
    prior_sacked = tp.sacked_out
    reord = tp.snd_nxt
    fully_acked = True
    sack_rtt_us = -1
    seq_rtt_us = -1
    ca_rtt_us = -1
    pkts_acked = 0
    flag = 0
    q = sk.tcp_rtx_queue.q
    skb = None
    while q:
        skb = q[0]
        scb = skb.cb
        start_seq = scb.seq
        sacked = scb.sacked
        if after(scb.end_seq, tp.snd_una):
            break
        acked_pcount = 1
        if sacked & TCPCB_RETRANS:
            if sacked & TCPCB_SACKED_RETRANS:
                tp.retrans_out -= acked_pcount
            flag |= FLAG_RETRANS_DATA_ACKED
        elif not (sacked & TCPCB_SACKED_ACKED):
            last_ackt = scb.skb_mstamp
            if not first_ackt:
                first_ackt = last_ackt
            if before(start_seq, reord):
                reord = start_seq
            if not after(scb.end_seq, tp.high_seq):
                flag |= FLAG_ORIG_SACK_ACKED
        if sacked & TCPCB_SACKED_ACKED:
            tp.sacked_out -= acked_pcount
        elif tcp_is_sack(tp):
            tcp_count_delivered(tp, acked_pcount, ece_ack)
            if not tcp_skb_spurious_retrans(tp, skb):
                tcp_rack_advance(tp, sacked, scb.end_seq, scb.skb_mstamp)
        if sacked & TCPCB_LOST:
            tp.lost_out -= acked_pcount
        tp.packets_out -= acked_pcount
        pkts_acked += acked_pcount
        tcp_rate_skb_delivered(sk, skb, sack.rate)
        if not (scb.tcp_flags & TCPHDR_SYN):
            flag |= FLAG_DATA_ACKED
        else:
            flag |= FLAG_SYN_ACKED
            tp.retrans_stamp = 0
        del q[0]
        if skb is tp.retransmit_skb_hint:
            tp.retransmit_skb_hint = None
        if skb is tp.highest_sack:
            tp.highest_sack = q[0] if q else None
        tp.tsorted_sent_queue.pop(id(skb), None)
        sk.sk_wmem_queued -= skb.truesize
        skb = None
    else:
        skb = None
    if skb is None and q:
        skb = q[0]
    elif not q:
        tp.tsorted_sent_queue.clear()      # all acked: give the emptied dict's table back
    if between(tp.snd_up, prior_snd_una, tp.snd_una):
        tp.snd_up = tp.snd_una
    if skb is not None and (skb.cb.sacked & TCPCB_SACKED_ACKED):
        flag |= FLAG_SACK_RENEGING
    if first_ackt and not (flag & FLAG_RETRANS_DATA_ACKED):
        seq_rtt_us = max(tp.tcp_mstamp - first_ackt, 0)
        ca_rtt_us = max(tp.tcp_mstamp - last_ackt, 0)
        if (pkts_acked == 1 and fully_acked and not prior_sacked and
                ((tp.snd_una - prior_snd_una) & _M32) < tp.mss_cache and
                sack.rate.prior_delivered + 1 == tp.delivered and
                not (flag & (FLAG_CA_ALERT | FLAG_SYN_ACKED))):
            flag |= FLAG_ACK_MAYBE_DELAYED
    if sack.first_sackt:
        sack_rtt_us = max(tp.tcp_mstamp - sack.first_sackt, 0)
        ca_rtt_us = max(tp.tcp_mstamp - sack.last_sackt, 0)
    rtt_update = tcp_ack_update_rtt(sk, flag, seq_rtt_us, sack_rtt_us, ca_rtt_us, sack.rate)
    if flag & FLAG_ACKED:
        flag |= FLAG_SET_XMIT_TIMER
        if tcp_is_reno(tp):
            tcp_remove_reno_sacks(sk, pkts_acked, ece_ack)
            if flag & FLAG_RETRANS_DATA_ACKED:
                flag &= ~FLAG_ORIG_SACK_ACKED
        else:
            if before(reord, prior_fack):
                tcp_check_sack_reordering(sk, reord, 0)
            delta = prior_sacked - tp.sacked_out
            tp.lost_cnt_hint -= min(tp.lost_cnt_hint, delta)
    elif skb is not None and rtt_update and sack_rtt_us >= 0 and \
            sack_rtt_us > max(tp.tcp_mstamp - skb.cb.skb_mstamp, 0):
        flag |= FLAG_SET_XMIT_TIMER
    ca = sk.icsk_ca_ops
    if ca.pkts_acked is not None:
        sample = AckSample(pkts_acked, sack.rate.rtt_us,
                           tp.mss_cache * (tp.delivered - sack.rate.prior_delivered))
        ca.pkts_acked(sk, sample)
    return flag


# --- Reno SACK emulation (no SACK: dupacks count as "sacked") -------------------------------------
def tcp_limit_reno_sacked(tp) -> bool:
    holes = max(tp.lost_out, 1)
    holes = min(holes, tp.packets_out)
    if tp.sacked_out + holes > tp.packets_out:
        tp.sacked_out = tp.packets_out - holes
        return True
    return False


def tcp_check_reno_reordering(sk, addend: int) -> None:
    tp = sk
    if not tcp_limit_reno_sacked(tp):
        return
    tp.reordering = min(tp.packets_out + addend, sk.sk_net.ipv4.sysctl_tcp_max_reordering)
    tp.reord_seen += 1
    net_inc_stat(sk.sk_net, "TCPRenoReorder")


def tcp_add_reno_sack(sk, num_dupack: int, ece_ack: bool) -> None:
    if num_dupack:
        tp = sk
        prior_sacked = tp.sacked_out
        tp.sacked_out += num_dupack
        tcp_check_reno_reordering(sk, 0)
        delivered = tp.sacked_out - prior_sacked
        if delivered > 0:
            tcp_count_delivered(tp, delivered, ece_ack)


def tcp_remove_reno_sacks(sk, acked: int, ece_ack: bool) -> None:
    tp = sk
    if acked > 0:
        tcp_count_delivered(tp, max(acked - tp.sacked_out, 1), ece_ack)
        if acked - 1 >= tp.sacked_out:
            tp.sacked_out = 0
        else:
            tp.sacked_out -= acked - 1
    tcp_check_reno_reordering(sk, acked)


def tcp_reset_reno_sack(tp) -> None:
    tp.sacked_out = 0


def tcp_clear_retrans(tp) -> None:
    tp.retrans_out = 0
    tp.lost_out = 0
    tp.undo_marker = 0
    tp.undo_retrans = -1
    tp.sacked_out = 0
    tp.rto_stamp = 0
    tp.total_rto = 0
    tp.total_rto_recoveries = 0
    tp.total_rto_time = 0


# --- recovery state machine ---------------------------------------------------------------------
def tcp_mark_skb_lost(sk, skb) -> None:
    tp = sk
    sacked = skb.cb.sacked
    if sacked & TCPCB_SACKED_ACKED:
        return
    if tp.retransmit_skb_hint is not None and before(skb.cb.seq, tp.retransmit_skb_hint.cb.seq):
        tp.retransmit_skb_hint = None
    if sacked & TCPCB_LOST:
        if sacked & TCPCB_SACKED_RETRANS:
            skb.cb.sacked &= ~TCPCB_SACKED_RETRANS
            tp.retrans_out -= 1
            net_inc_stat(sk.sk_net, "TCPLostRetransmit")
            tp.lost += 1
    else:
        tp.lost_out += 1
        skb.cb.sacked |= TCPCB_LOST
        tp.lost += 1


def tcp_is_rack(sk) -> bool:
    return bool(sk.sk_net.ipv4.sysctl_tcp_recovery & TCP_RACK_LOSS_DETECTION)


def tcp_init_undo(tp) -> None:
    tp.undo_marker = tp.snd_una
    tp.undo_retrans = tp.retrans_out
    if tp.tlp_high_seq and tp.tlp_retrans:
        tp.undo_retrans += 1
    if not tp.undo_retrans:
        tp.undo_retrans = -1


def tcp_init_cwnd_reduction(sk) -> None:
    tp = sk
    tp.high_seq = tp.snd_nxt
    tp.tlp_high_seq = 0
    tp.snd_cwnd_cnt = 0
    tp.prior_cwnd = tp.snd_cwnd
    tp.prr_delivered = 0
    tp.prr_out = 0
    tp.snd_ssthresh = sk.icsk_ca_ops.ssthresh(sk)


def tcp_cwnd_reduction(sk, newly_acked_sacked: int, newly_lost: int, flag: int) -> None:
    """Proportional Rate Reduction (RFC 6937) as Linux does it."""
    tp = sk
    if newly_acked_sacked <= 0 or not tp.prior_cwnd:
        return
    delta = tp.snd_ssthresh - tcp_packets_in_flight(tp)
    tp.prr_delivered += newly_acked_sacked
    if delta < 0:
        dividend = tp.snd_ssthresh * tp.prr_delivered + tp.prior_cwnd - 1
        sndcnt = dividend // tp.prior_cwnd - tp.prr_out
    else:
        sndcnt = max(tp.prr_delivered - tp.prr_out, newly_acked_sacked)
        if flag & FLAG_SND_UNA_ADVANCED and not newly_lost:
            sndcnt += 1
        sndcnt = min(delta, sndcnt)
    sndcnt = max(sndcnt, 0 if tp.prr_out else 1)
    tp.snd_cwnd = tcp_packets_in_flight(tp) + sndcnt


def tcp_end_cwnd_reduction(sk) -> None:
    tp = sk
    if sk.icsk_ca_ops.cong_control is not None:
        return
    if tp.snd_ssthresh < TCP_INFINITE_SSTHRESH and (sk.icsk_ca_state == TCP_CA_CWR or tp.undo_marker):
        tp.snd_cwnd = tp.snd_ssthresh
        tp.snd_cwnd_stamp = tcp_jiffies32(sk)
    tcp_ca_event(sk, CA_EVENT_COMPLETE_CWR)


def tcp_enter_cwr(sk) -> None:
    tp = sk
    tp.prior_ssthresh = 0
    if sk.icsk_ca_state < TCP_CA_CWR:
        tp.undo_marker = 0
        tcp_init_cwnd_reduction(sk)
        tcp_set_ca_state(sk, TCP_CA_CWR)


def tcp_any_retrans_done(sk) -> bool:
    tp = sk
    if tp.retrans_out:
        return True
    skb = tcp_rtx_queue_head(sk)
    return skb is not None and bool(skb.cb.sacked & TCPCB_EVER_RETRANS)


def tcp_try_keep_open(sk) -> None:
    tp = sk
    state = TCP_CA_Open
    if tcp_left_out(tp) or tcp_any_retrans_done(sk):
        state = TCP_CA_Disorder
    if sk.icsk_ca_state != state:
        tcp_set_ca_state(sk, state)
        tp.high_seq = tp.snd_nxt


def tcp_try_to_open(sk, flag: int) -> None:
    tp = sk
    if not tcp_any_retrans_done(sk):
        tp.retrans_stamp = 0
    if flag & FLAG_ECE:
        tcp_enter_cwr(sk)
    if sk.icsk_ca_state != TCP_CA_CWR:
        tcp_try_keep_open(sk)


def tcp_tsopt_ecr_before(tp, when: int) -> bool:
    return bool(tp.rx_opt.saw_tstamp and tp.rx_opt.rcv_tsecr and before(tp.rx_opt.rcv_tsecr, when))


def tcp_packet_delayed(tp) -> bool:
    if tp.retrans_stamp:
        return tcp_tsopt_ecr_before(tp, tp.retrans_stamp)
    if not tcp_is_sack(tp) and not before(tp.snd_una, tp.high_seq):
        return False
    if tp.sk_state == TCP_SYN_SENT:
        return False
    return True


def tcp_may_undo(tp) -> bool:
    return bool(tp.undo_marker) and (not tp.undo_retrans or tcp_packet_delayed(tp))


def tcp_undo_cwnd_reduction(sk, unmark_loss: bool) -> None:
    tp = sk
    if unmark_loss:
        for skb in sk.tcp_rtx_queue.q:
            skb.cb.sacked &= ~TCPCB_LOST
        tp.lost_out = 0
        tp.retransmit_skb_hint = None
    if tp.prior_ssthresh:
        tp.snd_cwnd = sk.icsk_ca_ops.undo_cwnd(sk)
        if tp.prior_ssthresh > tp.snd_ssthresh:
            tp.snd_ssthresh = tp.prior_ssthresh
    tp.snd_cwnd_stamp = tcp_jiffies32(sk)
    tp.undo_marker = 0
    tp.rack.advanced = 1


def tcp_is_non_sack_preventing_reopen(sk) -> bool:
    tp = sk
    if tp.snd_una == tp.high_seq and tcp_is_reno(tp):
        # RFC 6582: hold the state until something above high_seq is acked.
        if not tcp_any_retrans_done(sk):
            tp.retrans_stamp = 0
        return True
    return False


def tcp_try_undo_recovery(sk) -> bool:
    tp = sk
    if tcp_may_undo(tp):
        tcp_undo_cwnd_reduction(sk, False)
        net_inc_stat(sk.sk_net, "TCPLossUndo" if sk.icsk_ca_state == TCP_CA_Loss else "TCPFullUndo")
    elif tp.rack.reo_wnd_persist:
        tp.rack.reo_wnd_persist -= 1
    if tcp_is_non_sack_preventing_reopen(sk):
        return True
    tcp_set_ca_state(sk, TCP_CA_Open)
    tp.is_sack_reneg = 0
    return False


def tcp_try_undo_dsack(sk) -> bool:
    tp = sk
    if tp.undo_marker and not tp.undo_retrans:
        tp.rack.reo_wnd_persist = min(TCP_RACK_RECOVERY_THRESH, tp.rack.reo_wnd_persist + 1)
        tcp_undo_cwnd_reduction(sk, False)
        net_inc_stat(sk.sk_net, "TCPDSACKUndo")
        return True
    return False


def tcp_try_undo_loss(sk, frto_undo: bool) -> bool:
    tp = sk
    if frto_undo or tcp_may_undo(tp):
        tcp_undo_cwnd_reduction(sk, True)
        net_inc_stat(sk.sk_net, "TCPLossUndo")
        if frto_undo:
            net_inc_stat(sk.sk_net, "TCPSpuriousRTOs")
        sk.icsk_retransmits = 0
        if tcp_is_non_sack_preventing_reopen(sk):
            return True
        if frto_undo or tcp_is_sack(tp):
            tcp_set_ca_state(sk, TCP_CA_Open)
            tp.is_sack_reneg = 0
        return True
    return False


def tcp_force_fast_retransmit(sk) -> bool:
    tp = sk
    return after(tcp_highest_sack_seq(tp), (tp.snd_una + tp.reordering * tp.mss_cache) & _M32)


def tcp_try_undo_partial(sk, prior_snd_una: int):
    """(returned, do_lost)"""
    tp = sk
    if tp.undo_marker and tcp_packet_delayed(tp):
        tcp_check_sack_reordering(sk, prior_snd_una, 1)
        if tp.retrans_out:
            return True, False
        if not tcp_any_retrans_done(sk):
            tp.retrans_stamp = 0
        tcp_undo_cwnd_reduction(sk, True)
        net_inc_stat(sk.sk_net, "TCPPartialUndo")
        tcp_try_keep_open(sk)
        return False, False
    return False, tcp_force_fast_retransmit(sk)


def tcp_enter_recovery(sk, ece_ack: bool) -> None:
    tp = sk
    net_inc_stat(sk.sk_net, "TCPRenoRecovery" if tcp_is_reno(tp) else "TCPSackRecovery")
    tp.prior_ssthresh = 0
    tcp_init_undo(tp)
    if not tcp_in_cwnd_reduction(sk):
        if not ece_ack:
            tp.prior_ssthresh = tcp_current_ssthresh(sk)
        tcp_init_cwnd_reduction(sk)
    tcp_set_ca_state(sk, TCP_CA_Recovery)


def tcp_update_rto_time(tp) -> None:
    if tp.rto_stamp:
        tp.total_rto_time += (tcp_time_ms(tp) - tp.rto_stamp) & _M32
        tp.rto_stamp = 0


def tcp_time_ms(tp) -> int:
    return int(tp.sk_net.clock.now() * 1000 + 1e-6) & _M32


def tcp_process_loss(sk, flag: int, num_dupack: int, rexmit: list) -> None:
    """Loss state after an RTO, with F-RTO (RFC 5682 §3.1, SACK-enhanced)."""
    tp = sk
    recovered = not before(tp.snd_una, tp.high_seq)
    if (flag & FLAG_SND_UNA_ADVANCED or tp.fastopen_rsk is not None) and tcp_try_undo_loss(sk, False):
        return
    if tp.frto:
        if (flag & FLAG_ORIG_SACK_ACKED) and tcp_try_undo_loss(sk, True):
            return
        if after(tp.snd_nxt, tp.high_seq):
            if flag & FLAG_DATA_SACKED or num_dupack:
                tp.frto = 0
        elif flag & FLAG_SND_UNA_ADVANCED and not recovered:
            tp.high_seq = tp.snd_nxt
            if not tcp_write_queue_empty(sk) and after(tcp_wnd_end(tp), tp.snd_nxt):
                rexmit[0] = REXMIT_NEW
                return
            tp.frto = 0
    if recovered:
        tcp_try_undo_recovery(sk)
        return
    if tcp_is_reno(tp):
        if after(tp.snd_nxt, tp.high_seq) and num_dupack:
            tcp_add_reno_sack(sk, num_dupack, bool(flag & FLAG_ECE))
        elif flag & FLAG_SND_UNA_ADVANCED:
            tcp_reset_reno_sack(tp)
    rexmit[0] = REXMIT_LOST


def tcp_newreno_mark_lost(sk, snd_una_advanced: bool) -> None:
    """RFC 6582: the first unacked segment is lost after dupthresh dupacks or a partial ACK."""
    tp = sk
    state = sk.icsk_ca_state
    if (state < TCP_CA_Recovery and tp.sacked_out >= tp.reordering) or \
            (state == TCP_CA_Recovery and snd_una_advanced):
        skb = tcp_rtx_queue_head(sk)
        if skb is None or skb.cb.sacked & TCPCB_LOST:
            return
        mss = tp.mss_cache
        if skb.len > mss:
            tcp_fragment(sk, TCP_FRAG_IN_RTX_QUEUE, skb, mss, mss)
        tcp_mark_skb_lost(sk, skb)


def tcp_identify_packet_loss(sk, ack_flag: list) -> None:
    tp = sk
    if tcp_rtx_queue_empty(sk):
        return
    if tcp_is_reno(tp):
        tcp_newreno_mark_lost(sk, bool(ack_flag[0] & FLAG_SND_UNA_ADVANCED))
    elif tcp_is_rack(sk):
        prior_retrans = tp.retrans_out
        if tcp_rack_mark_lost(sk):
            ack_flag[0] &= ~FLAG_SET_XMIT_TIMER
        if prior_retrans > tp.retrans_out:
            ack_flag[0] |= FLAG_LOST_RETRANS


def tcp_dupack_heuristics(tp) -> int:
    return tp.sacked_out + 1


def tcp_time_to_recover(sk, flag: int) -> bool:
    tp = sk
    if tp.lost_out:
        return True
    if not tcp_is_rack(sk) and tcp_dupack_heuristics(tp) > tp.reordering:
        return True
    return False


def tcp_update_scoreboard(sk, fast_rexmit: bool) -> None:
    """Without RACK (tcp_recovery=0): RFC 6675-style marking of the first holes."""
    tp = sk
    if tcp_is_sack(tp):
        sacked_upto = tp.sacked_out - tp.reordering
        if sacked_upto >= 0:
            tcp_mark_head_lost(sk, sacked_upto, False)
        elif fast_rexmit:
            tcp_mark_head_lost(sk, 1, True)


def tcp_mark_head_lost(sk, packets: int, mark_head: bool) -> None:
    tp = sk
    cnt = 0
    for skb in sk.tcp_rtx_queue.q:
        if not after(skb.cb.end_seq, tp.snd_una):
            continue
        if skb.cb.sacked & TCPCB_SACKED_ACKED:
            cnt += 1
        if cnt > packets:
            break
        if not (skb.cb.sacked & TCPCB_LOST):
            tcp_mark_skb_lost(sk, skb)
        if mark_head:
            break


def tcp_check_sack_reneging(sk, ack_flag: list) -> bool:
    tp = sk
    if ack_flag[0] & FLAG_SACK_RENEGING and ack_flag[0] & FLAG_SND_UNA_ADVANCED:
        delay = max(usecs_to_jiffies(tp.srtt_us >> 4), 10 * HZ // 1000)
        inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, delay, TCP_RTO_MAX)
        ack_flag[0] &= ~FLAG_SET_XMIT_TIMER
        return True
    return False


def tcp_fastretrans_alert(sk, prior_snd_una: int, num_dupack: int, ack_flag: list, rexmit: list) -> None:
    """The congestion state machine (Open / Disorder / CWR / Recovery / Loss)."""
    tp = sk
    flag = ack_flag[0]
    ece_ack = bool(flag & FLAG_ECE)
    do_lost = bool(num_dupack) or ((flag & FLAG_DATA_SACKED) and tcp_force_fast_retransmit(sk))
    fast_rexmit = False
    if not tp.packets_out and tp.sacked_out:
        tp.sacked_out = 0
    if ece_ack:
        tp.prior_ssthresh = 0
    if tcp_check_sack_reneging(sk, ack_flag):
        return
    state = sk.icsk_ca_state
    if state == TCP_CA_Open:
        tp.retrans_stamp = 0
    elif not before(tp.snd_una, tp.high_seq):
        if state == TCP_CA_CWR:
            if tp.snd_una != tp.high_seq:
                tcp_end_cwnd_reduction(sk)
                tcp_set_ca_state(sk, TCP_CA_Open)
        elif state == TCP_CA_Recovery:
            if tcp_is_reno(tp):
                tcp_reset_reno_sack(tp)
            if tcp_try_undo_recovery(sk):
                return
            tcp_end_cwnd_reduction(sk)
    state = sk.icsk_ca_state
    if state == TCP_CA_Recovery:
        if not (flag & FLAG_SND_UNA_ADVANCED):
            if tcp_is_reno(tp):
                tcp_add_reno_sack(sk, num_dupack, ece_ack)
        else:
            ret, do_lost = tcp_try_undo_partial(sk, prior_snd_una)
            if ret:
                return
        if tcp_try_undo_dsack(sk):
            tcp_try_to_open(sk, flag)
        tcp_identify_packet_loss(sk, ack_flag)
        if sk.icsk_ca_state != TCP_CA_Recovery:
            if not tcp_time_to_recover(sk, flag):
                return
            tcp_enter_recovery(sk, ece_ack)
    else:
        if state == TCP_CA_Loss:
            tcp_process_loss(sk, flag, num_dupack, rexmit)
            if sk.icsk_ca_state != TCP_CA_Loss:
                tcp_update_rto_time(tp)
            tcp_identify_packet_loss(sk, ack_flag)
            if not (sk.icsk_ca_state == TCP_CA_Open or (ack_flag[0] & FLAG_LOST_RETRANS)):
                return
        if tcp_is_reno(tp):
            if flag & FLAG_SND_UNA_ADVANCED:
                tcp_reset_reno_sack(tp)
            tcp_add_reno_sack(sk, num_dupack, ece_ack)
        if sk.icsk_ca_state <= TCP_CA_Disorder:
            tcp_try_undo_dsack(sk)
        tcp_identify_packet_loss(sk, ack_flag)
        if not tcp_time_to_recover(sk, flag):
            tcp_try_to_open(sk, flag)
            return
        tcp_enter_recovery(sk, ece_ack)
        fast_rexmit = True
    if not tcp_is_rack(sk) and do_lost:
        tcp_update_scoreboard(sk, fast_rexmit)
    rexmit[0] = REXMIT_LOST


def tcp_process_tlp_ack(sk, ack: int, flag: int) -> None:
    """RFC 8985 §7.4: was the tail loss probe a repair (reduce cwnd) or spurious?"""
    tp = sk
    if before(ack, tp.tlp_high_seq):
        return
    if not tp.tlp_retrans:
        tp.tlp_high_seq = 0
    elif flag & FLAG_DSACK_TLP:
        tp.tlp_high_seq = 0
    elif after(ack, tp.tlp_high_seq):
        tcp_init_cwnd_reduction(sk)
        tcp_set_ca_state(sk, TCP_CA_CWR)
        tcp_end_cwnd_reduction(sk)
        tcp_try_keep_open(sk)
        net_inc_stat(sk.sk_net, "TCPLossProbeRecovery")
    elif not (flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DATA_SACKED)):
        tp.tlp_high_seq = 0


def tcp_ack_is_dubious(sk, flag: int) -> bool:
    return not (flag & FLAG_NOT_DUP) or bool(flag & FLAG_CA_ALERT) or sk.icsk_ca_state != TCP_CA_Open


def tcp_may_raise_cwnd(sk, flag: int) -> bool:
    if sk.reordering > sk.sk_net.ipv4.sysctl_tcp_reordering:
        return bool(flag & FLAG_FORWARD_PROGRESS)
    return bool(flag & FLAG_DATA_ACKED)


def tcp_cong_avoid(sk, ack: int, acked: int) -> None:
    sk.icsk_ca_ops.cong_avoid(sk, ack, acked)
    sk.snd_cwnd_stamp = tcp_jiffies32(sk)


def tcp_update_pacing_rate(sk) -> None:
    """sk_pacing_rate = 200% (slow start) or 120% (avoidance) of cwnd*mss/srtt
    (tcp_pacing_ss_ratio / tcp_pacing_ca_ratio). kstack does not pace; the rate sizes GSO
    bursts (tcp_tso_autosize) and is reported in TCP_INFO."""
    tp = sk
    net = sk.sk_net
    rate = tp.mss_cache * ((1000000 // 100) << 3)
    if tp.snd_cwnd < tp.snd_ssthresh // 2:
        rate *= net.ipv4.sysctl_tcp_pacing_ss_ratio
    else:
        rate *= net.ipv4.sysctl_tcp_pacing_ca_ratio
    rate *= max(tp.snd_cwnd, tp.packets_out)
    if tp.srtt_us:
        rate //= tp.srtt_us
    sk.sk_pacing_rate = min(rate, sk.sk_max_pacing_rate)


def tcp_cong_control(sk, ack: int, acked_sacked: int, flag: int, rs) -> None:
    if sk.icsk_ca_ops.cong_control is not None:
        sk.icsk_ca_ops.cong_control(sk, ack, flag, rs)
        return
    if tcp_in_cwnd_reduction(sk):
        tcp_cwnd_reduction(sk, acked_sacked, rs.losses, flag)
    elif tcp_may_raise_cwnd(sk, flag):
        tcp_cong_avoid(sk, ack, acked_sacked)
    tcp_update_pacing_rate(sk)


def tcp_xmit_recovery(sk, rexmit: int) -> None:
    tp = sk
    if rexmit == REXMIT_NONE or sk.sk_state == TCP_SYN_SENT:
        return
    if rexmit == REXMIT_NEW:
        __tcp_push_pending_frames(sk, tcp_current_mss(sk), 1)
        if after(tp.snd_nxt, tp.high_seq):
            return
        tp.frto = 0
    tcp_xmit_retransmit_queue(sk)


def tcp_newly_delivered(sk, prior_delivered: int, flag: int) -> int:
    delivered = sk.delivered - prior_delivered
    if delivered:
        net_inc_stat(sk.sk_net, "TCPDelivered", delivered)
    return delivered


def tcp_ack(sk, skb, flag: int) -> int:
    """Process the ACK field (RFC 9293 §3.10.7.4 fifth check). Returns 1 (fine), 0 (old
    ACK) or a negative SkbDropReason (ACK of unsent data / far too old)."""
    tp = sk
    cb = skb.cb
    rs = RateSample()
    sack_state = SacktagState(rs)
    prior_snd_una = tp.snd_una
    is_sack_reneg = tp.is_sack_reneg
    ack_seq = cb.seq
    ack = cb.ack_seq
    num_dupack = 0
    prior_packets = tp.packets_out
    delivered = tp.delivered
    lost = tp.lost
    rexmit = [REXMIT_NONE]
    ack_flag = [flag]
    net = sk.sk_net
    if before(ack, prior_snd_una):
        max_window = min(tp.max_window, tp.bytes_acked)
        # RFC 5961 §5.2: an ACK far below SND.UNA gets a challenge ACK.
        if before(ack, (prior_snd_una - max_window) & _M32):
            if not (flag & FLAG_NO_CHALLENGE_ACK):
                tcp_send_challenge_ack(sk)
            return -SkbDropReason.TCP_TOO_OLD_ACK
        # old_ack
        if cb.sack_blocks:
            ack_flag[0] |= tcp_sacktag_write_queue(sk, skb, prior_snd_una, sack_state)
            tcp_fastretrans_alert(sk, prior_snd_una, num_dupack, ack_flag, rexmit)
            tcp_newly_delivered(sk, delivered, ack_flag[0])
            tcp_xmit_recovery(sk, rexmit[0])
        return 0
    if after(ack, tp.snd_nxt):
        return -SkbDropReason.TCP_ACK_UNSENT_DATA
    if after(ack, prior_snd_una):
        flag |= FLAG_SND_UNA_ADVANCED
        sk.icsk_retransmits = 0
    prior_fack = tcp_highest_sack_seq(tp) if tcp_is_sack(tp) else tp.snd_una
    rs.prior_in_flight = tcp_packets_in_flight(tp)
    if flag & FLAG_UPDATE_TS_RECENT:
        tcp_replace_ts_recent(tp, cb.seq)
    if (flag & (FLAG_SLOWPATH | FLAG_SND_UNA_ADVANCED)) == FLAG_SND_UNA_ADVANCED:
        # Window is constant, pure forward advance.
        tcp_update_wl(tp, ack_seq)
        tcp_snd_una_update(tp, ack)
        flag |= FLAG_WIN_UPDATE
        net_inc_stat(net, "TCPHPAcks")
    else:
        if ack_seq != cb.end_seq:
            flag |= FLAG_DATA
        else:
            net_inc_stat(net, "TCPPureAcks")
        flag |= tcp_ack_update_window(sk, skb, ack, ack_seq)
        if cb.sack_blocks:
            flag |= tcp_sacktag_write_queue(sk, skb, prior_snd_una, sack_state)
        if sack_state.sack_delivered:
            tcp_count_delivered(tp, sack_state.sack_delivered, False)
    sk.sk_err_soft = 0
    sk.icsk_probes_out = 0
    tp.rcv_tstamp = tcp_jiffies32(sk)
    ack_flag[0] = flag
    if not prior_packets:
        # no_queue
        if flag & FLAG_DSACKING_ACK:
            tcp_fastretrans_alert(sk, prior_snd_una, num_dupack, ack_flag, rexmit)
            tcp_newly_delivered(sk, delivered, ack_flag[0])
        tcp_ack_probe(sk)
        if tp.tlp_high_seq:
            tcp_process_tlp_ack(sk, ack, ack_flag[0])
        return 1
    flag |= tcp_clean_rtx_queue(sk, skb, prior_fack, prior_snd_una, sack_state, False)
    ack_flag[0] = flag
    tcp_rack_update_reo_wnd(sk, rs)
    if tp.tlp_high_seq:
        tcp_process_tlp_ack(sk, ack, flag)
    if tcp_ack_is_dubious(sk, flag):
        if not (flag & (FLAG_SND_UNA_ADVANCED | FLAG_NOT_DUP | FLAG_DSACKING_ACK)):
            num_dupack = 1
        tcp_fastretrans_alert(sk, prior_snd_una, num_dupack, ack_flag, rexmit)
    flag = ack_flag[0]
    if flag & FLAG_SET_XMIT_TIMER:
        tcp_set_xmit_timer(sk)
    delivered = tcp_newly_delivered(sk, delivered, flag)
    lost = tp.lost - lost
    rs.is_ack_delayed = bool(flag & FLAG_ACK_MAYBE_DELAYED)
    tcp_rate_gen(sk, delivered, lost, is_sack_reneg, rs)
    tcp_cong_control(sk, ack, delivered, flag, rs)
    tcp_xmit_recovery(sk, rexmit[0])
    return 1


# --- challenge ACKs, dupacks (RFC 5961) ---------------------------------------------------------
def __tcp_oow_rate_limited(net, mib: str, holder) -> bool:
    """Per-socket rate limit (tcp_invalid_ratelimit) for out-of-window replies."""
    val = holder.last_oow_ack_time
    now = tcp_jiffies32_net(net)
    if val:
        elapsed = s32(now - val)
        if 0 <= elapsed < net.ipv4.sysctl_tcp_invalid_ratelimit:
            net_inc_stat(net, mib)
            return True
    holder.last_oow_ack_time = now
    return False


INITIAL_JIFFIES = (-300 * HZ) & _M32


def tcp_jiffies32_net(net) -> int:
    """jiffies as Linux counts them from boot (INITIAL_JIFFIES, -300 s): last_oow_ack_time
    uses 0 for "never", so the clock must not read 0 at start-up."""
    return (int(net.clock.now() * HZ + 1e-6) + INITIAL_JIFFIES) & _M32


def tcp_oow_rate_limited(net, skb, mib: str, holder) -> bool:
    if skb.cb.seq != skb.cb.end_seq and not (skb.cb.th.flags & TCPHDR_SYN):
        return False
    return __tcp_oow_rate_limited(net, mib, holder)


def tcp_send_challenge_ack(sk) -> None:
    """RFC 5961 §3.2/§4.2: ACK with our current state; rate limited per socket and per
    namespace (tcp_challenge_ack_limit per second; INT_MAX disables the global limit)."""
    tp = sk
    net = sk.sk_net
    if __tcp_oow_rate_limited(net, "TCPACKSkippedChallenge", tp):
        return
    ack_limit = net.ipv4.sysctl_tcp_challenge_ack_limit
    if ack_limit != 0x7FFFFFFF:
        now = int(net.clock.now())
        if now != net.ipv4.tcp_challenge_timestamp:
            half = (ack_limit + 1) >> 1
            net.ipv4.tcp_challenge_timestamp = now
            net.ipv4.tcp_challenge_count = half + net.rng.prandom_u32_max(ack_limit)
        count = net.ipv4.tcp_challenge_count
        if count <= 0:
            return
        net.ipv4.tcp_challenge_count = count - 1
    net_inc_stat(net, "TCPChallengeACK")
    tcp_send_ack(sk)


def tcp_sack_blocks_alloc(tp) -> None:
    """tp->duplicate_sack and tp->selective_acks, made the first time a block is sent."""
    if not tp.selective_acks:
        tp.duplicate_sack = [TcpSackBlock()]
        tp.selective_acks = [TcpSackBlock() for _ in range(TCP_NUM_SACKS)]


def tcp_dsack_set(sk, seq: int, end_seq: int) -> None:
    tp = sk
    if tcp_is_sack(tp) and sk.sk_net.ipv4.sysctl_tcp_dsack:
        net_inc_stat(sk.sk_net, "TCPDSACKOldSent" if before(seq, tp.rcv_nxt) else "TCPDSACKOfoSent")
        tp.rx_opt.dsack = 1
        tcp_sack_blocks_alloc(tp)
        tp.duplicate_sack[0].start_seq = seq
        tp.duplicate_sack[0].end_seq = end_seq


def tcp_sack_extend(sp, seq: int, end_seq: int) -> bool:
    if not after(seq, sp.end_seq) and not after(sp.start_seq, end_seq):
        if before(seq, sp.start_seq):
            sp.start_seq = seq
        if after(end_seq, sp.end_seq):
            sp.end_seq = end_seq
        return True
    return False


def tcp_dsack_extend(sk, seq: int, end_seq: int) -> None:
    tp = sk
    if not tp.rx_opt.dsack:
        tcp_dsack_set(sk, seq, end_seq)
    else:
        tcp_sack_extend(tp.duplicate_sack[0], seq, end_seq)


def tcp_rcv_spurious_retrans(sk, skb) -> None:
    pass


def tcp_send_dupack(sk, skb) -> None:
    """A segment we already have (or out of window): ACK now, DSACK what was duplicated."""
    tp = sk
    cb = skb.cb
    if cb.end_seq != cb.seq and before(cb.seq, tp.rcv_nxt):
        net_inc_stat(sk.sk_net, "DelayedACKLost")
        tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)
        if tcp_is_sack(tp) and sk.sk_net.ipv4.sysctl_tcp_dsack:
            end_seq = cb.end_seq
            if after(end_seq, tp.rcv_nxt):
                end_seq = tp.rcv_nxt
            tcp_dsack_set(sk, cb.seq, end_seq)
    tcp_send_ack(sk)


# --- receive queue, out-of-order queue, SACK blocks ---------------------------------------------
def tcp_sack_maybe_coalesce(tp) -> None:
    sp = tp.selective_acks
    this_sack = 1
    while this_sack < tp.rx_opt.num_sacks:
        swalk = sp[this_sack]
        if tcp_sack_extend(sp[0], swalk.start_seq, swalk.end_seq):
            tp.rx_opt.num_sacks -= 1
            for i in range(this_sack, tp.rx_opt.num_sacks):
                sp[i].start_seq, sp[i].end_seq = sp[i + 1].start_seq, sp[i + 1].end_seq
            continue
        this_sack += 1


def tcp_sack_compress_send_ack(sk) -> None:
    tp = sk
    if not tp.compressed_ack:
        return
    timer = getattr(tp, "compressed_ack_timer", None)
    if timer is not None and timer.pending:
        sk.sk_net.timers.del_timer(timer)
    tp.compressed_ack -= 1
    tcp_send_ack(sk)


def tcp_sack_new_ofo_skb(sk, seq: int, end_seq: int) -> None:
    tp = sk
    tcp_sack_blocks_alloc(tp)
    sp = tp.selective_acks
    cur_sacks = tp.rx_opt.num_sacks
    if not cur_sacks:
        sp[0].start_seq = seq
        sp[0].end_seq = end_seq
        tp.rx_opt.num_sacks = 1
        return
    for this_sack in range(cur_sacks):
        if tcp_sack_extend(sp[this_sack], seq, end_seq):
            if this_sack >= TCP_SACK_BLOCKS_EXPECTED:
                tcp_sack_compress_send_ack(sk)
            # Rotate this_sack to the first one.
            for k in range(this_sack, 0, -1):
                sp[k], sp[k - 1] = sp[k - 1], sp[k]
            if cur_sacks > 1:
                tcp_sack_maybe_coalesce(tp)
            return
    this_sack = cur_sacks
    if this_sack >= TCP_SACK_BLOCKS_EXPECTED:
        tcp_sack_compress_send_ack(sk)
    if this_sack >= TCP_NUM_SACKS:
        this_sack -= 1
        tp.rx_opt.num_sacks -= 1
    for k in range(this_sack, 0, -1):
        sp[k].start_seq, sp[k].end_seq = sp[k - 1].start_seq, sp[k - 1].end_seq
    sp[0].start_seq = seq
    sp[0].end_seq = end_seq
    tp.rx_opt.num_sacks += 1


def tcp_sack_remove(tp) -> None:
    if not tp.out_of_order_queue:
        tp.rx_opt.num_sacks = 0
        return
    sp = tp.selective_acks
    num_sacks = tp.rx_opt.num_sacks
    this_sack = 0
    while this_sack < num_sacks:
        if not before(tp.rcv_nxt, sp[this_sack].start_seq):
            for i in range(this_sack + 1, num_sacks):
                sp[i - 1].start_seq, sp[i - 1].end_seq = sp[i].start_seq, sp[i].end_seq
            num_sacks -= 1
            continue
        this_sack += 1
    tp.rx_opt.num_sacks = num_sacks


def skb_set_owner_r(skb, sk) -> None:
    skb.sk = sk
    tcp_rmem_charge(sk, skb.truesize)


def tcp_queue_rcv(sk, skb) -> None:
    """Append in-order data to the receive queue; advance RCV.NXT."""
    q = sk.sk_receive_queue.q
    tail = q[-1] if q else None
    if tail is not None and skb.len == 0 and (skb.cb.tcp_flags & TCPHDR_FIN) and \
            not (tail.cb.tcp_flags & TCPHDR_FIN):
        # A bare FIN merges into the tail skb (tcp_try_coalesce).
        tail.cb.end_seq = skb.cb.end_seq
        tail.cb.tcp_flags |= TCPHDR_FIN
        tcp_rcv_nxt_update(sk, skb.cb.end_seq)
        consume_skb(skb)
        return
    n = skb.len
    if tail is not None and n and skb.cb.th.seq == tail.cb.end_seq and n <= tail.end - tail.tail:
        # tcp_try_coalesce -> skb_try_coalesce: the payload fits the tail skb's tailroom, so it
        # is copied there and costs no receive memory (delta_truesize 0). The header's seq:
        # Linux does not trim a partly old segment, so one that was trimmed here never matches.
        t = tail.tail
        tail.head[t:t + n] = skb.head[skb.data:skb.tail]
        tail.tail = t + n
        tail.cb.end_seq = skb.cb.end_seq
        tail.cb.ack_seq = skb.cb.ack_seq
        tail.cb.tcp_flags |= skb.cb.tcp_flags
        net_inc_stat(sk.sk_net, "TCPRcvCoalesce")
        tcp_rcv_nxt_update(sk, skb.cb.end_seq)
        consume_skb(skb)
        return
    tcp_rcv_nxt_update(sk, skb.cb.end_seq)
    q.append(skb)
    skb_set_owner_r(skb, sk)


def tcp_can_ingest(sk, skb) -> bool:
    """Room for this segment? Linux 7.0 and 6.18.y ("tcp: give up on stronger sk_rcvbuf checks"):
    anything is admitted while sk_rmem_alloc has not passed sk_rcvbuf (6.17..6.18.0 also counted
    the new skb's length, which dropped segments the window had allowed)."""
    return sk.sk_rmem_alloc <= sk.sk_rcvbuf


def tcp_clamp_window(sk) -> None:
    """The receive queue hit sk_rcvbuf: grow the buffer to what is in use (unless SO_RCVBUF
    locked it) and pull rcv_ssthresh back."""
    tp = sk
    sk.icsk_ack.quick = 0
    rmem2 = sk.sk_net.ipv4.sysctl_tcp_rmem[2]
    if sk.sk_rcvbuf < rmem2 and not (sk.sk_userlocks & SOCK_RCVBUF_LOCK):
        sk.sk_rcvbuf = min(sk.sk_rmem_alloc, rmem2)
    if sk.sk_rmem_alloc > sk.sk_rcvbuf:
        tp.rcv_ssthresh = min(tp.window_clamp, 2 * tp.advmss)


def tcp_prune_queue(sk, in_skb) -> int:
    """Make room: clamp the window, then drop out-of-order data (no collapsing in kstack)."""
    net_inc_stat(sk.sk_net, "PruneCalled")
    if not sk.sk_rmem_alloc:
        return -1
    if not tcp_can_ingest(sk, in_skb):
        tcp_clamp_window(sk)
    if tcp_can_ingest(sk, in_skb):
        return 0
    tcp_prune_ofo_queue(sk, in_skb)
    if tcp_can_ingest(sk, in_skb):
        return 0
    net_inc_stat(sk.sk_net, "RcvPruned")
    sk.pred_flags = 0
    return -1


def tcp_try_rmem_schedule(sk, skb, size: int) -> int:
    if not tcp_can_ingest(sk, skb) or not sk_rmem_schedule(sk, size):
        if tcp_prune_queue(sk, skb) < 0:
            return -1
    return 0


def tcp_prune_ofo_queue(sk, in_skb) -> bool:
    """Drop OFO segments from the highest sequence down until there is room."""
    tp = sk
    ofo = tp.out_of_order_queue
    if not ofo:
        return False
    net_inc_stat(sk.sk_net, "OfoPruned")
    goal = sk.sk_rcvbuf >> 3
    pruned = False
    while ofo:
        skb = ofo[-1]
        if in_skb is not None and not after(skb.cb.seq, in_skb.cb.seq):
            break
        ofo.pop()
        tcp_rmem_uncharge(sk, skb.truesize)
        goal -= skb.truesize
        pruned = True
        if goal <= 0 and sk.sk_rmem_alloc <= sk.sk_rcvbuf:
            break
    if tp.rx_opt.sack_ok:
        tcp_sack_reset(tp.rx_opt)
    return pruned


def tcp_ofo_queue(sk) -> None:
    """Move segments that RCV.NXT reached from the OFO queue to the receive queue."""
    tp = sk
    dsack_high = tp.rcv_nxt
    ofo = tp.out_of_order_queue
    while ofo:
        skb = ofo[0]
        cb = skb.cb
        if after(cb.seq, tp.rcv_nxt):
            break
        if before(cb.seq, dsack_high):
            dsack = dsack_high
            if before(cb.end_seq, dsack_high):
                dsack = cb.end_seq
            tcp_dsack_extend(sk, cb.seq, dsack)
        ofo.pop(0)
        tcp_rmem_uncharge(sk, skb.truesize)
        if not after(cb.end_seq, tp.rcv_nxt):
            kfree_skb(skb, SkbDropReason.TCP_OFO_DROP)
            continue
        # trim the part we already have
        overlap = (tp.rcv_nxt - cb.seq) & _M32
        if overlap:
            skb_pull(skb, overlap)
            cb.seq = tp.rcv_nxt
        fin = cb.tcp_flags & TCPHDR_FIN
        tcp_queue_rcv(sk, skb)
        if fin:
            tcp_fin(sk)
            break


def _ofo_insert_index(ofo, seq: int, rcv_nxt: int) -> int:
    """Position by sequence (relative to rcv_nxt so wraparound sorts right)."""
    key = (seq - rcv_nxt) & _M32
    lo, hi = 0, len(ofo)
    while lo < hi:
        mid = (lo + hi) // 2
        if ((ofo[mid].cb.seq - rcv_nxt) & _M32) <= key:
            lo = mid + 1
        else:
            hi = mid
    return lo


def tcp_data_queue_ofo(sk, skb) -> None:
    """Queue a segment that arrived ahead of RCV.NXT, merging overlaps (DSACK for the
    duplicated part) and updating the SACK blocks we will send."""
    tp = sk
    net = sk.sk_net
    if tcp_try_rmem_schedule(sk, skb, skb.truesize):
        net_inc_stat(net, "TCPOFODrop")
        sk.sk_data_ready(sk)
        kfree_skb(skb, SkbDropReason.PROTO_MEM)
        return
    tp.pred_flags = 0
    inet_csk_schedule_ack(sk)
    tp.rcv_ooopack += 1
    net_inc_stat(net, "TCPOFOQueue")
    seq = skb.cb.seq
    end_seq = skb.cb.end_seq
    ofo = tp.out_of_order_queue
    if not ofo:
        if tcp_is_sack(tp):
            tcp_sack_blocks_alloc(tp)
            tp.rx_opt.num_sacks = 1
            tp.selective_acks[0].start_seq = seq
            tp.selective_acks[0].end_seq = end_seq
        ofo.append(skb)
        skb_set_owner_r(skb, sk)
        if tcp_is_sack(tp):
            tcp_grow_window(sk, skb, False)
        return
    keep = True
    idx = _ofo_insert_index(ofo, seq, tp.rcv_nxt)
    # Overlap with the predecessor?
    if idx > 0:
        prev = ofo[idx - 1]
        pcb = prev.cb
        if before(seq, pcb.end_seq):
            if not after(end_seq, pcb.end_seq):
                # All the bits are present: drop.
                net_inc_stat(net, "TCPOFOMerge")
                kfree_skb(skb, SkbDropReason.TCP_OFOMERGE)
                tcp_dsack_set(sk, seq, end_seq)
                keep = False
            elif after(seq, pcb.seq):
                tcp_dsack_set(sk, seq, pcb.end_seq)
            else:
                # Same start, skb covers prev: replace it.
                ofo.pop(idx - 1)
                tcp_rmem_uncharge(sk, prev.truesize)
                tcp_dsack_extend(sk, pcb.seq, pcb.end_seq)
                net_inc_stat(net, "TCPOFOMerge")
                kfree_skb(prev, SkbDropReason.TCP_OFOMERGE)
                idx -= 1
    if keep:
        ofo.insert(idx, skb)
        # Remove later segments covered by skb (merge_right).
        while idx + 1 < len(ofo):
            nxt = ofo[idx + 1]
            ncb = nxt.cb
            if not after(end_seq, ncb.seq):
                break
            if before(end_seq, ncb.end_seq):
                tcp_dsack_extend(sk, ncb.seq, end_seq)
                break
            ofo.pop(idx + 1)
            tcp_rmem_uncharge(sk, nxt.truesize)
            tcp_dsack_extend(sk, ncb.seq, ncb.end_seq)
            net_inc_stat(net, "TCPOFOMerge")
            kfree_skb(nxt, SkbDropReason.TCP_OFOMERGE)
    if tcp_is_sack(tp):
        tcp_sack_new_ofo_skb(sk, seq, end_seq)
    if keep:
        if tcp_is_sack(tp):
            tcp_grow_window(sk, skb, False)
        skb_set_owner_r(skb, sk)


def tcp_data_ready(sk) -> None:
    sk.sk_data_ready(sk)


def tcp_data_queue(sk, skb) -> None:
    """RFC 9293 §3.10.7.4 seventh check: process the segment text."""
    tp = sk
    net = sk.sk_net
    cb = skb.cb
    if cb.seq == cb.end_seq:
        consume_skb(skb)
        return
    skb._dst = None
    skb_pull(skb, cb.th.doff * 4)
    tp.rx_opt.dsack = 0
    if cb.seq == tp.rcv_nxt:
        if tcp_receive_window(tp) == 0:
            # A bare FIN is accepted even at zero window.
            if not skb.len and (cb.tcp_flags & TCPHDR_FIN):
                return _queue_and_out(sk, skb)
            net_inc_stat(net, "TCPZeroWindowDrop")
            return _out_of_window(sk, skb, SkbDropReason.TCP_ZEROWINDOW)
        return _queue_and_out(sk, skb)
    if not after(cb.end_seq, tp.rcv_nxt):
        # A retransmit: ACK at once, with a DSACK.
        net_inc_stat(net, "DelayedACKLost")
        tcp_dsack_set(sk, cb.seq, cb.end_seq)
        return _out_of_window(sk, skb, SkbDropReason.TCP_OLD_DATA)
    if not before(cb.seq, (tp.rcv_nxt + tcp_receive_window(tp)) & _M32):
        return _out_of_window(sk, skb, SkbDropReason.TCP_OVERWINDOW)
    if before(cb.seq, tp.rcv_nxt):
        # Partial packet: seq < rcv_nxt < end_seq
        tcp_dsack_set(sk, cb.seq, tp.rcv_nxt)
        if not tcp_receive_window(tp):
            net_inc_stat(net, "TCPZeroWindowDrop")
            return _out_of_window(sk, skb, SkbDropReason.TCP_ZEROWINDOW)
        trim = (tp.rcv_nxt - cb.seq) & _M32
        skb_pull(skb, min(trim, skb.len))
        cb.seq = tp.rcv_nxt
        return _queue_and_out(sk, skb)
    tcp_data_queue_ofo(sk, skb)


def _out_of_window(sk, skb, reason) -> None:
    tcp_enter_quickack_mode(sk, TCP_MAX_QUICKACKS)
    inet_csk_schedule_ack(sk)
    kfree_skb(skb, reason)


def _queue_and_out(sk, skb) -> None:
    tp = sk
    cb = skb.cb
    if tcp_try_rmem_schedule(sk, skb, skb.truesize):
        sk.icsk_ack.pending |= ICSK_ACK_NOMEM | ICSK_ACK_NOW
        inet_csk_schedule_ack(sk)
        sk.sk_data_ready(sk)
        if sk.sk_receive_queue.q and skb.len:
            net_inc_stat(sk.sk_net, "TCPRcvQDrop")
            kfree_skb(skb, SkbDropReason.PROTO_MEM)
            return
        sk_rmem_schedule(sk, skb.truesize)      # sk_forced_mem_schedule
    fin = cb.tcp_flags & TCPHDR_FIN
    has_data = skb.len
    tcp_queue_rcv(sk, skb)
    if has_data:
        tcp_event_data_recv(sk, skb)
    if fin:
        tcp_fin(sk)
    if tp.out_of_order_queue:
        tcp_ofo_queue(sk)
        # RFC 5681 §4.2: ACK at once when a hole is filled.
        if not tp.out_of_order_queue:
            sk.icsk_ack.pending |= ICSK_ACK_NOW
    if tp.rx_opt.num_sacks:
        tcp_sack_remove(tp)
    tcp_fast_path_check(sk)
    if not sock_flag(sk, SOCK_DEAD):
        tcp_data_ready(sk)


def tcp_fin(sk) -> None:
    """A FIN arrived in sequence (RFC 9293 §3.10.7.4 eighth check)."""
    tp = sk
    inet_csk_schedule_ack(sk)
    sk.sk_shutdown |= RCV_SHUTDOWN
    sock_set_flag(sk, SOCK_DONE)
    st = sk.sk_state
    if st in (TCP_SYN_RECV, TCP_ESTABLISHED):
        tcp_set_state(sk, TCP_CLOSE_WAIT)
        inet_csk_enter_pingpong_mode(sk)
    elif st in (TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK):
        pass
    elif st == TCP_FIN_WAIT1:
        # Simultaneous close: ACK their FIN, wait for ours to be acked.
        tcp_send_ack(sk)
        tcp_set_state(sk, TCP_CLOSING)
    elif st == TCP_FIN_WAIT2:
        tcp_send_ack(sk)
        tcp_time_wait(sk, TCP_TIME_WAIT, 0)
    else:
        sk.sk_net.bug(RuntimeError(f"tcp_fin in state {st}"), "tcp_fin")
    for s in tp.out_of_order_queue:
        tcp_rmem_uncharge(sk, s.truesize)
    tp.out_of_order_queue = []
    if tcp_is_sack(tp):
        tcp_sack_reset(tp.rx_opt)
    if not sock_flag(sk, SOCK_DEAD):
        sk.sk_state_change(sk)


def tcp_reset(sk, skb=None) -> None:
    """An acceptable RST: the error BSD reports, then the connection is gone."""
    st = sk.sk_state
    if st == TCP_SYN_SENT:
        err = ECONNREFUSED
    elif st == TCP_CLOSE_WAIT:
        err = EPIPE
    elif st == TCP_CLOSE:
        return
    else:
        err = ECONNRESET
    tcp_write_queue_purge(sk)
    tcp_done_with_error(sk, err)


def tcp_done_with_error(sk, err: int) -> None:
    sk.sk_err = err
    tcp_write_queue_purge(sk)
    tcp_done(sk)
    if not sock_flag(sk, SOCK_DEAD):
        sk.sk_error_report(sk)


def tcp_reset_check(sk, skb) -> bool:
    tp = sk
    return skb.cb.seq == ((tp.rcv_nxt - 1) & _M32) and \
        bool((1 << sk.sk_state) & (TCPF_CLOSE_WAIT | TCPF_LAST_ACK | TCPF_CLOSING))


def tcp_sequence(sk, seq: int, end_seq: int, th):
    """RFC 9293 §3.10.7.4 first check (acceptability), as Linux relaxes it: None if
    acceptable, else the drop reason."""
    tp = sk
    if before(end_seq, tp.rcv_wup):
        return SkbDropReason.TCP_OLD_DATA
    seq_limit = (tp.rcv_nxt + tcp_receive_window(tp)) & _M32
    if after(end_seq, seq_limit):
        if not after((end_seq - (th.flags & TCPHDR_FIN)) & _M32, seq_limit):
            return None
        if after(seq, seq_limit):
            return SkbDropReason.TCP_INVALID_SEQUENCE
        if sk.sk_receive_queue.q:
            return SkbDropReason.TCP_OVERWINDOW
    return None


def tcp_validate_incoming(sk, skb, th, syn_inerr: int) -> bool:
    """PAWS, sequence acceptability, RST and SYN checks (RFC 7323 §5, RFC 9293, RFC 5961).
    False if the segment was consumed (dropped, acked, or reset the connection)."""
    tp = sk
    net = sk.sk_net
    cb = skb.cb
    if tcp_fast_parse_options(net, skb, th, tp) and tp.rx_opt.saw_tstamp and \
            tcp_paws_discard(sk, skb):
        if not (th.flags & TCPHDR_RST):
            if th.flags & TCPHDR_SYN:
                return _syn_challenge(sk, skb, syn_inerr)
            net_inc_stat(net, "PAWSEstab")
            if not tcp_oow_rate_limited(net, skb, "TCPACKSkippedPAWS", tp):
                tcp_send_dupack(sk, skb)
            kfree_skb(skb, SkbDropReason.TCP_RFC7323_PAWS)
            return False
    reason = tcp_sequence(sk, cb.seq, cb.end_seq, th)
    if reason is not None:
        if not (th.flags & TCPHDR_RST):
            if th.flags & TCPHDR_SYN:
                return _syn_challenge(sk, skb, syn_inerr)
            if reason in (SkbDropReason.TCP_INVALID_SEQUENCE, SkbDropReason.TCP_OVERWINDOW):
                net_inc_stat(net, "BeyondWindow")
            if not tcp_oow_rate_limited(net, skb, "TCPACKSkippedSeq", tp):
                tcp_send_dupack(sk, skb)
        elif tcp_reset_check(sk, skb):
            tcp_reset(sk, skb)
            consume_skb(skb)
            return False
        kfree_skb(skb, reason)
        return False
    if th.flags & TCPHDR_RST:
        # RFC 5961 §3.2: reset only if seq is exactly RCV.NXT (or the right-most SACK edge).
        if cb.seq == tp.rcv_nxt or tcp_reset_check(sk, skb):
            tcp_reset(sk, skb)
            consume_skb(skb)
            return False
        if tcp_is_sack(tp) and tp.rx_opt.num_sacks > 0:
            sp = tp.selective_acks
            max_sack = sp[0].end_seq
            for i in range(1, tp.rx_opt.num_sacks):
                if after(sp[i].end_seq, max_sack):
                    max_sack = sp[i].end_seq
            if cb.seq == max_sack:
                tcp_reset(sk, skb)
                consume_skb(skb)
                return False
        tcp_send_challenge_ack(sk)
        kfree_skb(skb, SkbDropReason.TCP_RESET)
        return False
    if th.flags & TCPHDR_SYN:
        if sk.sk_state == TCP_SYN_RECV and sk.sk_socket is not None and (th.flags & TCPHDR_ACK) and \
                ((cb.seq + 1) & _M32) == cb.end_seq and ((cb.seq + 1) & _M32) == tp.rcv_nxt and \
                cb.ack_seq == tp.snd_nxt:
            return True
        return _syn_challenge(sk, skb, syn_inerr)
    return True


def _syn_challenge(sk, skb, syn_inerr) -> bool:
    net = sk.sk_net
    if syn_inerr:
        net.mib.Tcp["InErrs"] += 1
    net_inc_stat(net, "TCPSYNChallenge")
    tcp_send_challenge_ack(sk)
    kfree_skb(skb, SkbDropReason.TCP_INVALID_SYN)
    return False


# --- ACK sending decisions ---------------------------------------------------------------------
def __tcp_ack_snd_check(sk, ofo_possible: int) -> None:
    """ACK now (every second full segment, quickack, ICSK_ACK_NOW) or arm the delayed ACK
    (RFC 1122 §4.2.3.2, RFC 5681 §4.2); with SACK, dupacks beyond the third are compressed."""
    tp = sk
    ack = sk.icsk_ack
    if ((s32(tp.rcv_nxt - tp.rcv_wup) > ack.rcv_mss and
         (s32(tp.rcv_nxt - tp.copied_seq) < sk.sk_rcvlowat or
          __tcp_select_window(sk) >= tp.rcv_wnd)) or
            tcp_in_quickack_mode(sk) or (ack.pending & ICSK_ACK_NOW)):
        tcp_send_ack(sk)
        return
    if not ofo_possible or not tp.out_of_order_queue:
        tcp_send_delayed_ack(sk)
        return
    net = sk.sk_net
    if not tcp_is_sack(tp) or tp.compressed_ack >= net.ipv4.sysctl_tcp_comp_sack_nr:
        tcp_send_ack(sk)
        return
    if tp.compressed_ack_rcv_nxt != tp.rcv_nxt:
        tp.compressed_ack_rcv_nxt = tp.rcv_nxt
        tp.dup_ack_counter = 0
    if tp.dup_ack_counter < TCP_FASTRETRANS_THRESH:
        tp.dup_ack_counter += 1
        tcp_send_ack(sk)
        return
    tp.compressed_ack += 1
    timer = tcp_compressed_ack_timer(sk)
    if timer.pending:
        return
    rtt = tp.rcv_rtt_est.rtt_us
    if tp.srtt_us and tp.srtt_us < rtt:
        rtt = tp.srtt_us
    delay_ns = min(net.ipv4.sysctl_tcp_comp_sack_delay_ns, rtt * (1000 >> 3) // 20)
    sk.sk_net.timers.mod_timer(timer, sk.sk_net.clock.now() + delay_ns / 1e9)


def tcp_compressed_ack_timer(sk):
    t = getattr(sk, "compressed_ack_timer", None)
    if t is None:
        t = sk.compressed_ack_timer = TimerList(tcp_compressed_ack_kick, sk, "compressed_ack_timer")
    return t


def tcp_compressed_ack_kick(sk) -> None:
    tp = sk
    tcp_mstamp_refresh(sk)
    if tp.compressed_ack:
        tp.compressed_ack -= 1
        tcp_send_ack(sk)


def tcp_ack_snd_check(sk) -> None:
    if not inet_csk_ack_scheduled(sk):
        return
    __tcp_ack_snd_check(sk, 1)


def tcp_urg(sk, skb, th) -> None:
    """Urgent data is not delivered out of band by kstack (SO_OOBINLINE semantics)."""
    if th.flags & TCPHDR_URG:
        tp = sk
        ptr = th.urg_ptr
        if ptr:
            tp.urg_seq = (skb.cb.seq + ptr - 1) & _M32


# --- established ---------------------------------------------------------------------------------
def tcp_rcv_established(sk, skb) -> None:
    """ESTABLISHED input with header prediction (the fast path Van Jacobson described);
    everything else goes the RFC way through tcp_validate_incoming/tcp_ack/tcp_data_queue."""
    tp = sk
    net = sk.sk_net
    cb = skb.cb
    th = cb.th
    length = skb.len
    tcp_mstamp_refresh(sk)
    tp.rx_opt.saw_tstamp = 0
    flag_word = (th.doff << 28) | (th.flags << 16) | th.window
    if (flag_word & TCP_HP_BITS) == tp.pred_flags and cb.seq == tp.rcv_nxt and \
            not after(cb.ack_seq, tp.snd_nxt):
        tcp_header_len = tp.tcp_header_len
        fast = True
        delta = 0
        if tcp_header_len == 32:
            if not tcp_parse_aligned_timestamp(tp, th):
                fast = False
            else:
                delta = s32(tp.rx_opt.rcv_tsval - tp.rx_opt.ts_recent)
                if delta < 0:
                    fast = False
        if fast:
            cb.sack_blocks = None
            if length <= tcp_header_len:
                if length == tcp_header_len:
                    if tcp_header_len == 32 and tp.rcv_nxt == tp.rcv_wup:
                        tcp_store_ts_recent(tp)
                    tcp_ack(sk, skb, 0)
                    consume_skb(skb)
                    tcp_data_snd_check(sk)
                    tp.rcv_rtt_last_tsecr = tp.rx_opt.rcv_tsecr
                    return
                net.mib.Tcp["InErrs"] += 1
                kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
                return
            if after(cb.end_seq, (tp.rcv_nxt + tcp_receive_window(tp)) & _M32):
                fast = False            # past our window: the slow path validates it
            elif skb.truesize > sk.sk_forward_alloc:
                # No memory pre-paid for it: the slow path's step 5 (no re-validation).
                return _tcp_rcv_step5(sk, skb, th)
        if fast:
            if tcp_header_len == 32 and tp.rcv_nxt == tp.rcv_wup:
                tcp_store_ts_recent(tp)
            tcp_rcv_rtt_measure_ts(sk, skb)
            net_inc_stat(net, "TCPHPHits")
            skb_pull(skb, tcp_header_len)
            tcp_queue_rcv(sk, skb)
            tcp_event_data_recv(sk, skb)
            if cb.ack_seq != tp.snd_una:
                tcp_ack(sk, skb, FLAG_DATA)
                tcp_data_snd_check(sk)
                if not inet_csk_ack_scheduled(sk):
                    tcp_data_ready(sk)
                    return
            else:
                tcp_update_wl(tp, cb.seq)
            __tcp_ack_snd_check(sk, 0)
            tcp_data_ready(sk)
            return
    # slow path
    if length < th.doff * 4:
        net.mib.Tcp["InErrs"] += 1
        kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
        return
    if not (th.flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN)):
        kfree_skb(skb, SkbDropReason.TCP_FLAGS)
        return
    if not tcp_validate_incoming(sk, skb, th, 1):
        return
    _tcp_rcv_step5(sk, skb, th)


def _tcp_rcv_step5(sk, skb, th) -> None:
    reason = tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT)
    if reason < 0:
        kfree_skb(skb, -reason)
        return
    tcp_rcv_rtt_measure_ts(sk, skb)
    tcp_urg(sk, skb, th)
    tcp_data_queue(sk, skb)
    tcp_data_snd_check(sk)
    tcp_ack_snd_check(sk)


# --- connection set-up -----------------------------------------------------------------------
def tcp_init_metrics(sk) -> None:
    """No per-destination metrics cache in kstack (packetdrill flushes it anyway): restore
    ssthresh, and fall back to a 3 s RTO if the handshake gave no RTT (RFC 6298 §5.7)."""
    tp = sk
    tp.snd_ssthresh = TCP_INFINITE_SSTHRESH
    if tp.srtt_us == 0:
        tp.rttvar_us = jiffies_to_usecs(TCP_TIMEOUT_FALLBACK)
        tp.mdev_us = tp.mdev_max_us = tp.rttvar_us
        sk.icsk_rto = TCP_TIMEOUT_FALLBACK


def tcp_init_transfer(sk, bpf_op: int = 0, skb=None) -> None:
    tp = sk
    tcp_mtup_init(sk)
    sk.icsk_af_ops.rebuild_header(sk)
    tcp_init_metrics(sk)
    if tp.total_retrans > 1 and tp.undo_marker:
        tp.snd_cwnd = 1
    else:
        tp.snd_cwnd = tcp_init_cwnd(tp, sk.sk_dst_cache)
    tp.snd_cwnd_stamp = tcp_jiffies32(sk)
    if not sk.icsk_ca_initialized:
        tcp_init_congestion_control(sk)
    tcp_init_buffer_space(sk)


def tcp_finish_connect(sk, skb) -> None:
    tp = sk
    tcp_set_state(sk, TCP_ESTABLISHED)
    sk.icsk_ack.lrcvtime = tcp_jiffies32(sk)
    tcp_init_transfer(sk, 0, skb)
    tp.lsndtime = tcp_jiffies32(sk)
    if sock_flag(sk, SOCK_KEEPOPEN):
        inet_csk_reset_keepalive_timer(sk, keepalive_time_when(tp))
    if not tp.rx_opt.snd_wscale:
        tcp_fast_path_on(tp)
    else:
        tp.pred_flags = 0


def tcp_rcv_synsent_state_process(sk, skb, th) -> int:
    """SYN-SENT (RFC 9293 §3.10.7.3): our SYN acked -> ESTABLISHED; a bare SYN ->
    simultaneous open (SYN-RECEIVED). Returns -1 to continue at step 6, 0 done,
    1 "send a reset"."""
    tp = sk
    net = sk.sk_net
    cb = skb.cb
    saved_clamp = tp.rx_opt.mss_clamp
    tcp_parse_options(net, skb, tp.rx_opt, False)
    if tp.rx_opt.saw_tstamp and tp.rx_opt.rcv_tsecr:
        tp.rx_opt.rcv_tsecr = (tp.rx_opt.rcv_tsecr - tp.tsoffset) & _M32
    if th.flags & TCPHDR_ACK:
        # "If SEG.ACK =< ISS, or SEG.ACK > SND.NXT, send a reset"
        if not after(cb.ack_seq, tp.snd_una) or after(cb.ack_seq, tp.snd_nxt):
            return 1
        if tp.rx_opt.saw_tstamp and tp.rx_opt.rcv_tsecr and \
                not between(tp.rx_opt.rcv_tsecr, tp.retrans_stamp, tcp_time_ms(tp)):
            net_inc_stat(net, "PAWSActive")
            return 1
        if th.flags & TCPHDR_RST:
            tcp_reset(sk, skb)
            consume_skb(skb)
            return 0
        if not (th.flags & TCPHDR_SYN):
            kfree_skb(skb, SkbDropReason.TCP_FLAGS)
            return 0
        # Our SYN is acked.
        tcp_init_wl(tp, cb.seq)
        tcp_try_undo_spurious_syn(sk)
        tcp_ack(sk, skb, FLAG_SLOWPATH)
        tp.rcv_nxt = (cb.seq + 1) & _M32
        tp.rcv_wup = tp.rcv_nxt
        tp.snd_wnd = th.window
        if not tp.rx_opt.wscale_ok:
            tp.rx_opt.snd_wscale = tp.rx_opt.rcv_wscale = 0
            tp.window_clamp = min(tp.window_clamp, 65535)
        if tp.rx_opt.saw_tstamp:
            tp.rx_opt.tstamp_ok = 1
            tp.tcp_header_len = 20 + 12
            tp.advmss -= 12
            tcp_store_ts_recent(tp)
        else:
            tp.tcp_header_len = 20
        tcp_sync_mss(sk, sk.icsk_pmtu_cookie)
        tcp_initialize_rcv_mss(sk)
        tp.copied_seq = tp.rcv_nxt
        tcp_finish_connect(sk, skb)
        if not sock_flag(sk, SOCK_DEAD):
            sk.sk_state_change(sk)
        # Data with the SYN-ACK (or a listener deferring its ACK) is not handled specially.
        tcp_send_ack(sk)
        consume_skb(skb)
        return 0
    if th.flags & TCPHDR_RST:
        kfree_skb(skb, SkbDropReason.TCP_RESET)
        return 0
    if tp.rx_opt.ts_recent_stamp and tp.rx_opt.saw_tstamp and \
            tcp_paws_reject(tp.rx_opt, False, _seconds(sk)):
        kfree_skb(skb, SkbDropReason.TCP_RFC7323_PAWS)
        return 0
    if th.flags & TCPHDR_SYN:
        # Simultaneous open (RFC 9293 §3.5 figure 8).
        tcp_set_state(sk, TCP_SYN_RECV)
        if tp.rx_opt.saw_tstamp:
            tp.rx_opt.tstamp_ok = 1
            tcp_store_ts_recent(tp)
            tp.tcp_header_len = 20 + 12
        else:
            tp.tcp_header_len = 20
        tp.rcv_nxt = (cb.seq + 1) & _M32
        tp.copied_seq = tp.rcv_nxt
        tp.rcv_wup = tp.rcv_nxt
        tp.snd_wnd = th.window
        tp.snd_wl1 = cb.seq
        tp.max_window = tp.snd_wnd
        if not tp.rx_opt.wscale_ok:
            tp.rx_opt.snd_wscale = tp.rx_opt.rcv_wscale = 0
        tcp_sync_mss(sk, sk.icsk_pmtu_cookie)
        tcp_initialize_rcv_mss(sk)
        tcp_send_synack(sk)
        consume_skb(skb)
        return 0
    # "fifth, if neither of the SYN or RST bits is set then drop the segment and return."
    tcp_clear_options_keep(tp, saved_clamp)
    kfree_skb(skb, SkbDropReason.TCP_FLAGS)
    return 0


def tcp_clear_options_keep(tp, saved_clamp: int) -> None:
    tp.rx_opt.tstamp_ok = tp.rx_opt.sack_ok = 0
    tp.rx_opt.wscale_ok = tp.rx_opt.snd_wscale = 0
    tp.rx_opt.mss_clamp = saved_clamp


def tcp_init_wl(tp, seq: int) -> None:
    tp.snd_wl1 = seq


def tcp_try_undo_spurious_syn(sk) -> None:
    tp = sk
    syn_stamp = tp.retrans_stamp
    if tp.undo_marker and syn_stamp and tp.rx_opt.saw_tstamp and syn_stamp == tp.rx_opt.rcv_tsecr:
        tp.undo_marker = 0


def tcp_rcv_state_process(sk, skb) -> int:
    """Every state but ESTABLISHED (RFC 9293 §3.10.7). Returns nonzero when the caller
    must answer with a RST (tcp_v4_send_reset)."""
    tp = sk
    net = sk.sk_net
    cb = skb.cb
    th = cb.th
    queued = False
    st = sk.sk_state
    if st == TCP_CLOSE:
        kfree_skb(skb, SkbDropReason.TCP_CLOSE)
        return 0
    if st == TCP_LISTEN:
        if th.flags & TCPHDR_ACK:
            return 1
        if th.flags & TCPHDR_RST:
            kfree_skb(skb, SkbDropReason.TCP_RESET)
            return 0
        if th.flags & TCPHDR_SYN:
            if th.flags & TCPHDR_FIN:
                kfree_skb(skb, SkbDropReason.TCP_FLAGS)
                return 0
            sk.icsk_af_ops.conn_request(sk, skb)
            consume_skb(skb)
            return 0
        kfree_skb(skb, SkbDropReason.TCP_FLAGS)
        return 0
    if st == TCP_SYN_SENT:
        tp.rx_opt.saw_tstamp = 0
        tcp_mstamp_refresh(sk)
        queued = tcp_rcv_synsent_state_process(sk, skb, th)
        if queued >= 0:
            return queued
        return 0
    tcp_mstamp_refresh(sk)
    tp.rx_opt.saw_tstamp = 0
    if not (th.flags & (TCPHDR_ACK | TCPHDR_RST | TCPHDR_SYN)):
        kfree_skb(skb, SkbDropReason.TCP_FLAGS)
        return 0
    if not tcp_validate_incoming(sk, skb, th, 0):
        return 0
    # step 5: check the ACK field
    reason = tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT | FLAG_NO_CHALLENGE_ACK)
    if reason <= 0:
        if sk.sk_state == TCP_SYN_RECV:
            return 1     # send one RST
        if reason < 0:
            tcp_send_challenge_ack(sk)
            kfree_skb(skb, -reason)
            return 0
    st = sk.sk_state
    if st == TCP_SYN_RECV:
        tp.delivered += 1
        if not tp.srtt_us:
            tcp_synack_rtt_meas(sk, None)
        tcp_try_undo_spurious_syn(sk)
        tp.retrans_stamp = 0
        tcp_init_transfer(sk, 0, skb)
        tp.copied_seq = tp.rcv_nxt
        tcp_set_state(sk, TCP_ESTABLISHED)
        sk.sk_state_change(sk)
        tp.snd_una = cb.ack_seq
        tp.snd_wnd = th.window << tp.rx_opt.snd_wscale
        tcp_init_wl(tp, cb.seq)
        if tp.rx_opt.tstamp_ok:
            tp.advmss -= 12
        tcp_update_pacing_rate(sk)
        tp.lsndtime = tcp_jiffies32(sk)
        tcp_initialize_rcv_mss(sk)
        tcp_fast_path_on(tp)
        if sk.sk_shutdown & SEND_SHUTDOWN:
            tcp_shutdown(sk, SEND_SHUTDOWN)
    elif st == TCP_FIN_WAIT1:
        if tp.snd_una == tp.write_seq:
            tcp_set_state(sk, TCP_FIN_WAIT2)
            sk.sk_shutdown |= SEND_SHUTDOWN
            if not sock_flag(sk, SOCK_DEAD):
                sk.sk_state_change(sk)
            else:
                if tp.linger2 < 0:
                    tcp_done(sk)
                    net_inc_stat(net, "TCPAbortOnData")
                    return 1
                if cb.end_seq != cb.seq and after((cb.end_seq - (th.flags & TCPHDR_FIN)) & _M32,
                                                  tp.rcv_nxt):
                    tcp_done(sk)
                    net_inc_stat(net, "TCPAbortOnData")
                    return 1
                tmo = tcp_fin_time(sk)
                if tmo > TCP_TIMEWAIT_LEN:
                    inet_csk_reset_keepalive_timer(sk, tmo - TCP_TIMEWAIT_LEN)
                elif th.flags & TCPHDR_FIN:
                    inet_csk_reset_keepalive_timer(sk, tmo)
                else:
                    tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
                    consume_skb(skb)
                    return 0
    elif st == TCP_CLOSING:
        if tp.snd_una == tp.write_seq:
            tcp_time_wait(sk, TCP_TIME_WAIT, 0)
            consume_skb(skb)
            return 0
    elif st == TCP_LAST_ACK:
        if tp.snd_una == tp.write_seq:
            tcp_done(sk)
            consume_skb(skb)
            return 0
    # step 6: URG
    tcp_urg(sk, skb, th)
    # step 7: segment text
    st = sk.sk_state
    if st in (TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK):
        if not before(cb.seq, tp.rcv_nxt):
            # A peer that already sent FIN sends nothing new: drop.
            kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
            if sk.sk_state != TCP_CLOSE:
                tcp_data_snd_check(sk)
                tcp_ack_snd_check(sk)
            return 0
        st = TCP_FIN_WAIT1  # fall through
    if st in (TCP_FIN_WAIT1, TCP_FIN_WAIT2):
        # RFC 1122: data after we shut down receiving gets a RST.
        if sk.sk_shutdown & RCV_SHUTDOWN:
            if cb.end_seq != cb.seq and after((cb.end_seq - (th.flags & TCPHDR_FIN)) & _M32,
                                              tp.rcv_nxt):
                net_inc_stat(net, "TCPAbortOnData")
                tcp_reset(sk, skb)
                return 1
        st = TCP_ESTABLISHED
    if st == TCP_ESTABLISHED:
        tcp_data_queue(sk, skb)
        queued = True
    if sk.sk_state != TCP_CLOSE:
        tcp_data_snd_check(sk)
        tcp_ack_snd_check(sk)
    if not queued:
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
    return 0


# --- passive open: a SYN on a listener ---------------------------------------------------------
def tcp_openreq_init(req, rx_opt, skb, sk) -> None:
    cb = skb.cb
    req.rsk_rcv_wnd = 0
    req.rcv_isn = cb.seq
    req.rcv_nxt = (cb.seq + 1) & _M32
    req.snt_synack = 0
    req.last_oow_ack_time = 0
    req.mss = rx_opt.mss_clamp
    req.ts_recent = rx_opt.rcv_tsval if rx_opt.saw_tstamp else 0
    req.tstamp_ok = rx_opt.tstamp_ok
    req.sack_ok = rx_opt.sack_ok
    req.snd_wscale = rx_opt.snd_wscale
    req.wscale_ok = rx_opt.wscale_ok
    req.acked = 0
    req.ecn_ok = 0
    req.ir_rmt_port = cb.th.source
    req.ir_num = cb.th.dest


def tcp_syn_flood_action(sk) -> bool:
    """The SYN queue is full: answer with a cookie (tcp_syncookies) or drop."""
    net = sk.sk_net
    if net.ipv4.sysctl_tcp_syncookies:
        net_inc_stat(net, "TCPReqQFullDoCookies")
        return True
    net_inc_stat(net, "TCPReqQFullDrop")
    return False


def tcp_conn_request(rsk_ops, af_ops, sk, skb) -> int:
    """A SYN for a listener: make a request sock (NEW_SYN_RECV), answer with a SYN-ACK.
    SYN queue and accept queue limits as Linux (tcp_max_syn_backlog, the backlog); with the
    SYN queue full (or tcp_syncookies=2) a stateless cookie SYN-ACK instead."""
    tp = sk
    net = sk.sk_net
    cb = skb.cb
    isn = cb.tcp_tw_isn
    syncookies = net.ipv4.sysctl_tcp_syncookies
    want_cookie = False
    if (syncookies == 2 or inet_csk_reqsk_queue_is_full(sk)) and not isn:
        want_cookie = tcp_syn_flood_action(sk)
        if not want_cookie:
            net_inc_stat(net, "ListenDrops")
            return 0
    if sk_acceptq_is_full(sk):
        net_inc_stat(net, "ListenOverflows")
        net_inc_stat(net, "ListenDrops")
        return 0
    req = RequestSock(sk)
    tmp_opt = TcpOptionsReceived()
    tmp_opt.mss_clamp = af_ops.mss_clamp
    tmp_opt.user_mss = tp.rx_opt.user_mss
    tcp_parse_options(net, skb, tmp_opt, False)
    if want_cookie and not tmp_opt.saw_tstamp:
        tcp_clear_options(tmp_opt)
    tmp_opt.tstamp_ok = 1 if tmp_opt.saw_tstamp else 0
    tcp_openreq_init(req, tmp_opt, skb, sk)
    af_ops.init_req(req, sk, skb)
    dst = af_ops.route_req(sk, skb, req)
    if dst is None:
        net_inc_stat(net, "ListenDrops")
        return 0
    if tmp_opt.tstamp_ok:
        req.ts_off = af_ops.init_ts_off(net, skb)
    if not want_cookie and not isn:
        # Without syncookies the last quarter of the SYN queue is kept for proven peers.
        max_syn_backlog = net.ipv4.sysctl_tcp_max_syn_backlog
        if not syncookies and \
                (max_syn_backlog - sk.icsk_accept_queue.qlen < (max_syn_backlog >> 2)):
            net_inc_stat(net, "ListenDrops")
            return 0
        isn = af_ops.init_seq(skb)
    if want_cookie:
        isn = tcp_ipv4.cookie_init_sequence(sk, skb, req)
        req.syncookie = 1
    req.snt_isn = isn
    req.req_dst = dst
    tcp_openreq_init_rwin(req, sk, dst)
    if not want_cookie:
        inet_csk_reqsk_queue_hash_add(sk, req, TCP_TIMEOUT_INIT)
    af_ops.send_synack(sk, dst, None, req, skb)
    return 0


# --- RTO: Loss state ---------------------------------------------------------------------
def tcp_timeout_mark_lost(sk) -> None:
    """On RTO every outstanding segment is lost, except ones sent too recently for RACK to
    judge (and SACKed ones, unless the receiver reneged)."""
    tp = sk
    q = sk.tcp_rtx_queue.q
    head = q[0] if q else None
    is_reneg = head is not None and bool(head.cb.sacked & TCPCB_SACKED_ACKED)
    if is_reneg:
        net_inc_stat(sk.sk_net, "TCPSACKReneging")
        tp.sacked_out = 0
        tp.is_sack_reneg = 1
    elif tcp_is_reno(tp):
        tcp_reset_reno_sack(tp)
    for skb in list(q):
        if is_reneg:
            skb.cb.sacked &= ~TCPCB_SACKED_ACKED
        elif skb is not head and tcp_rack_skb_timeout(tp, skb, 0) > 0:
            continue
        tcp_mark_skb_lost(sk, skb)
    tp.retransmit_skb_hint = None
    tp.lost_skb_hint = None


def tcp_enter_loss(sk) -> None:
    """RFC 6298 §5.5 / RFC 5681 §3.1: ssthresh = ca->ssthresh(), cwnd = in flight + 1,
    state Loss; F-RTO (RFC 5682) armed when tcp_frto allows."""
    tp = sk
    net = sk.sk_net
    new_recovery = sk.icsk_ca_state < TCP_CA_Recovery
    tcp_timeout_mark_lost(sk)
    if sk.icsk_ca_state <= TCP_CA_Disorder or not after(tp.high_seq, tp.snd_una) or \
            (sk.icsk_ca_state == TCP_CA_Loss and not sk.icsk_retransmits):
        tp.prior_ssthresh = tcp_current_ssthresh(sk)
        tp.prior_cwnd = tp.snd_cwnd
        tp.snd_ssthresh = sk.icsk_ca_ops.ssthresh(sk)
        tcp_ca_event(sk, CA_EVENT_LOSS)
        tcp_init_undo(tp)
    tp.snd_cwnd = tcp_packets_in_flight(tp) + 1
    tp.snd_cwnd_cnt = 0
    tp.snd_cwnd_stamp = tcp_jiffies32(sk)
    reordering = net.ipv4.sysctl_tcp_reordering
    if sk.icsk_ca_state <= TCP_CA_Disorder and tp.sacked_out >= reordering:
        tp.reordering = min(tp.reordering, reordering)
    tcp_set_ca_state(sk, TCP_CA_Loss)
    tp.high_seq = tp.snd_nxt
    tp.tlp_high_seq = 0
    tp.frto = int(bool(net.ipv4.sysctl_tcp_frto) and (new_recovery or sk.icsk_retransmits) and
                  not sk.icsk_mtup.probe_size)


def tcp_simple_retransmit(sk) -> None:
    """PMTU shrank: everything bigger than the new MSS is lost; resend it now without
    touching cwnd (the units changed, not the congestion)."""
    tp = sk
    mss = tcp_current_mss(sk)
    for skb in list(sk.tcp_rtx_queue.q):
        if ((skb.cb.end_seq - skb.cb.seq) & _M32) > mss:
            tcp_mark_skb_lost(sk, skb)
    if not tp.lost_out:
        return
    if tcp_is_reno(tp):
        tcp_limit_reno_sacked(tp)
    if sk.icsk_ca_state != TCP_CA_Loss:
        tp.high_seq = tp.snd_nxt
        tp.snd_ssthresh = tcp_current_ssthresh(sk)
        tp.prior_ssthresh = 0
        tp.undo_marker = 0
        tcp_set_ca_state(sk, TCP_CA_Loss)
    tcp_xmit_retransmit_queue(sk)
