"""net/ipv4/tcp_output.c (+ the sender half of net/ipv4/tcp_rate.c) — building and sending
segments: tcp_transmit_skb, the option layout of tcp_options_write (SYN, SYN-ACK and
established variants), receive-window selection (tcp_select_window, RFC 9293 §3.8.6.2.2
SWS avoidance, RFC 7323 §2.3 scaling, never shrinking), tcp_write_xmit with Nagle/Minshall
(RFC 9293 §3.7.4, RFC 896) and cwnd/rwnd tests, MSS/PMTU (tcp_sync_mss), FIN, RST, ACKs
and delayed ACKs, zero-window probes, retransmission (tcp_retransmit_skb,
tcp_xmit_retransmit_queue) and the tail loss probe (RFC 8985 §7).

kstack has no TSO/GSO: every skb on the write queue is at most one MSS, and segments are
sent one per skb.
"""
import struct

from kstack.core.skbuff import (CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, SkBuff, alloc_skb,
                                skb_push, skb_put_data, skb_reserve)
from kstack.core.sock import SOCK_DEAD, sock_flag, SOCK_DONE, SOCK_RCVBUF_LOCK, sock_reset_flag
from kstack.wire.checksum import csum_partial, csum_fold

from .inet_connection_sock import (ICSK_ACK_NOMEM, ICSK_ACK_PUSHED, ICSK_ACK_SCHED,
                                   ICSK_ACK_TIMER, ICSK_TIME_DACK, ICSK_TIME_LOSS_PROBE,
                                   ICSK_TIME_PROBE0, ICSK_TIME_REO_TIMEOUT, ICSK_TIME_RETRANS,
                                   inet_csk_ack_scheduled, inet_csk_clear_xmit_timer,
                                   inet_csk_in_pingpong_mode, inet_csk_inc_pingpong_cnt,
                                   inet_csk_reset_xmit_timer, sk_reset_timer)
from .tcp import (LateModule, MAX_TCP_HEADER, MAX_TCP_WINDOW, TCP_ATO_MIN, TCP_DELACK_MAX,
                  TCP_DELACK_MIN, TCP_INIT_CWND, TCP_MAX_WSCALE, TCP_MIN_MSS, TCP_MSS_DEFAULT,
                  TCP_NAGLE_CORK, TCP_NAGLE_OFF, TCP_NAGLE_PUSH, TCP_RESOURCE_PROBE_INTERVAL,
                  TCP_RTO_MAX, TCP_RTO_MIN, TCP_SKB_TX_OVERHEAD, TCP_TIMEOUT_INIT, TCP_TIMEOUT_MIN,
                  TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS,
                  TCPHDR_ACK, TCPHDR_FIN, TCPHDR_PSH, TCPHDR_RST, TCPHDR_SYN, TcpSkbCb, after,
                  before, between, jiffies_to_usecs, net_inc_stat, s32, tcp_clock_us,
                  tcp_current_ssthresh, tcp_full_space, tcp_is_sack, tcp_jiffies32,
                  tcp_packets_in_flight, tcp_probe0_base, tcp_probe0_when, tcp_receive_window,
                  tcp_reset_xmit_timer, tcp_rto_min_us, tcp_rtx_queue_head, tcp_rtx_queue_tail,
                  tcp_send_head, tcp_space, tcp_win_from_space, tcp_wnd_end, tcp_write_queue_empty,
                  tcp_write_queue_tail, usecs_to_jiffies, tcp_check_probe_timer, tcp_min_rtt,
                  tcp_stream_alloc_skb, tcp_write_queue_purge)
from .tcp_cong import (CA_EVENT_CWND_RESTART, CA_EVENT_TX_START, TCP_CA_CWR, TCP_CA_Loss,
                       TCP_CA_Open, TCP_CA_Recovery, tcp_ca_event, tcp_is_cwnd_limited)
from .tcp_states import (TCP_CLOSE, TCP_SYN_RECV, TCP_SYN_SENT, TCPF_CLOSE_WAIT,
                         TCPF_ESTABLISHED)
from .tcp_recovery import tcp_tsorted_insert_after, tcp_tsorted_move_tail
from kstack.core.dst import (dst_metric, dst_metric_advmss, dst_mtu, RTAX_INITCWND, RTAX_INITRWND,
                             RTAX_WINDOW)
from kstack.core.errno import EAGAIN, EHOSTUNREACH, EINVAL

# Modules above this one in the import order (see tcp.py): bound on first use.
tcp_input = LateModule(globals(), "tcp_input")
tcp_timer = LateModule(globals(), "tcp_timer")
tcp_ipv4 = LateModule(globals(), "tcp_ipv4")

_M32 = 0xFFFFFFFF
_TCPHDR = struct.Struct("!HHIIHHHH")
_TS_VAL_ECR = struct.Struct("!II")
_NOP_NOP_TS = b"\x01\x01\x08\x0a"       # NOP, NOP, TS kind 8, length 10
_HZ = 1000
TCP_TIMEOUT_MIN_US = 2000

OPTION_SACK_ADVERTISE = 1 << 0
OPTION_TS = 1 << 1
OPTION_MD5 = 1 << 2
OPTION_WSCALE = 1 << 3
OPTION_FAST_OPEN_COOKIE = 1 << 8

TCP_FRAG_IN_WRITE_QUEUE = 0
TCP_FRAG_IN_RTX_QUEUE = 1


class TcpOutOptions:
    """struct tcp_out_options."""
    __slots__ = ("options", "ws", "num_sack_blocks", "mss", "tsval", "tsecr", "sack_blocks")

    def __init__(self):
        self.options = 0
        self.ws = 0
        self.num_sack_blocks = 0
        self.mss = 0
        self.tsval = 0
        self.tsecr = 0
        self.sack_blocks = ()


def tcp_mstamp_refresh(sk) -> None:
    sk.tcp_mstamp = tcp_clock_us(sk)


# --- MSS and PMTU ------------------------------------------------------------------------
def __tcp_mtu_to_mss(sk, pmtu: int) -> int:
    tp = sk
    mss_now = pmtu - sk.icsk_af_ops.net_header_len - 20
    if mss_now > tp.rx_opt.mss_clamp:
        mss_now = tp.rx_opt.mss_clamp
    mss_now -= sk.icsk_ext_hdr_len
    mss_now = max(mss_now, sk.sk_net.ipv4.sysctl_tcp_min_snd_mss)
    return mss_now


def tcp_mtu_to_mss(sk, pmtu: int) -> int:
    """The MSS for a path MTU, less the fixed TCP options (timestamps)."""
    return __tcp_mtu_to_mss(sk, pmtu) - (sk.tcp_header_len - 20)


def tcp_mss_to_mtu(sk, mss: int) -> int:
    return mss + sk.tcp_header_len + sk.icsk_ext_hdr_len + sk.icsk_af_ops.net_header_len


def tcp_mtup_init(sk) -> None:
    net = sk.sk_net
    m = sk.icsk_mtup
    m.enabled = int(net.ipv4.sysctl_tcp_mtu_probing > 1)
    m.search_high = sk.rx_opt.mss_clamp + 20 + sk.icsk_af_ops.net_header_len
    m.search_low = tcp_mss_to_mtu(sk, net.ipv4.sysctl_tcp_base_mss)
    m.probe_size = 0
    if m.enabled:
        m.probe_timestamp = tcp_jiffies32(sk)


def tcp_bound_to_half_wnd(tp, pktsize: int) -> int:
    """Never send more than half the largest window the peer offered (RFC 1122 SWS)."""
    if tp.max_window > TCP_MSS_DEFAULT:
        cutoff = tp.max_window >> 1
    else:
        cutoff = tp.max_window
    if cutoff and pktsize > cutoff:
        return max(cutoff, 68 - tp.tcp_header_len)
    return pktsize


def tcp_sync_mss(sk, pmtu: int) -> int:
    tp = sk
    m = sk.icsk_mtup
    if m.search_high > pmtu:
        m.search_high = pmtu
    mss_now = tcp_mtu_to_mss(sk, pmtu)
    mss_now = tcp_bound_to_half_wnd(tp, mss_now)
    sk.icsk_pmtu_cookie = pmtu
    if m.enabled:
        mss_now = min(mss_now, tcp_mtu_to_mss(sk, m.search_low))
    tp.mss_cache = mss_now
    return mss_now


def _dst_mtu(dst) -> int:
    return dst_mtu(dst)


def tcp_current_mss(sk) -> int:
    """The MSS for the next segment: mss_cache, resynced if the route's MTU changed, less
    options beyond the usual (SACK blocks)."""
    tp = sk
    mss_now = tp.mss_cache
    dst = sk.sk_dst_cache
    if dst is not None:
        mtu = _dst_mtu(dst)
        if mtu != sk.icsk_pmtu_cookie:
            mss_now = tcp_sync_mss(sk, mtu)
    opts = TcpOutOptions()
    header_len = tcp_established_options(sk, None, opts) + 20
    if header_len != tp.tcp_header_len:
        mss_now -= header_len - tp.tcp_header_len
    return mss_now


def tcp_mss_clamp(tp, mss: int) -> int:
    user_mss = tp.rx_opt.user_mss
    return user_mss if user_mss and user_mss < mss else mss


def tcp_advertise_mss(sk) -> int:
    tp = sk
    mss = tp.advmss
    dst = sk.sk_dst_cache
    if dst is not None:
        metric = dst_metric_advmss(dst)
        if metric < mss:
            mss = metric
            tp.advmss = mss
    return mss & 0xFFFF


# --- windows -------------------------------------------------------------------------------
def tcp_select_initial_window(sk, __space: int, mss: int, init_rcv_wnd: int, window_clamp: int,
                              wscale_ok: bool):
    """The window offered in a SYN or SYN-ACK and the scale we announce (RFC 7323 §2.2):
    returns (rcv_wnd, window_clamp, rcv_wscale)."""
    net = sk.sk_net
    space = max(__space, 0)
    if window_clamp == 0:
        window_clamp = 65535 << TCP_MAX_WSCALE
    space = min(window_clamp, space)
    if space > mss:
        space = (space // mss) * mss
    if net.ipv4.sysctl_tcp_workaround_signed_windows:
        rcv_wnd = min(space, MAX_TCP_WINDOW)
    else:
        rcv_wnd = min(space, 65535)
    if init_rcv_wnd:
        rcv_wnd = min(rcv_wnd, init_rcv_wnd * mss)
    rcv_wscale = 0
    if wscale_ok:
        space = max(space, net.ipv4.sysctl_tcp_rmem[2])
        space = max(space, net.core.sysctl_rmem_max)
        space = min(space, window_clamp)
        rcv_wscale = min(max(space.bit_length() - 1 - 15, 0), TCP_MAX_WSCALE)
    window_clamp = min(65535 << rcv_wscale, window_clamp)
    return rcv_wnd, window_clamp, rcv_wscale


def __tcp_select_window(sk) -> int:
    """The window we can offer now: free receive space, clamped by rcv_ssthresh, a multiple
    of the peer's MSS when unscaled, and zero when space falls below an MSS (SWS avoidance)."""
    tp = sk
    mss = sk.icsk_ack.rcv_mss
    free_space = tcp_space(sk)
    allowed_space = tcp_full_space(sk)
    full_space = min(tp.window_clamp, allowed_space)
    if mss > full_space:
        mss = full_space
        if mss <= 0:
            return 0
    rcv_wscale = tp.rx_opt.rcv_wscale
    if free_space < (full_space >> 1):
        sk.icsk_ack.quick = 0
        free_space = (free_space >> rcv_wscale) << rcv_wscale if free_space > 0 else free_space
        if free_space < (allowed_space >> 4) or free_space < mss:
            return 0
    if free_space > tp.rcv_ssthresh:
        free_space = tp.rcv_ssthresh
    if rcv_wscale:
        window = free_space
        a = 1 << rcv_wscale
        window = (window + a - 1) & ~(a - 1)
    else:
        window = tp.rcv_wnd
        if window <= free_space - mss or window > free_space:
            window = (free_space // mss) * mss if mss > 0 else free_space
        elif mss == full_space and free_space > window + (full_space >> 1):
            window = free_space
    return window


def tcp_select_window(sk) -> int:
    """The window field for an outgoing segment: never shrink what was offered
    (RFC 9293 §3.8.6.2.2), then scale it down by rcv_wscale (RFC 7323 §2.3)."""
    tp = sk
    net = sk.sk_net
    old_win = tp.rcv_wnd
    if sk.icsk_ack.pending & ICSK_ACK_NOMEM:
        tp.pred_flags = 0
        tp.rcv_wnd = 0
        tp.rcv_wup = tp.rcv_nxt
        return 0
    cur_win = tcp_receive_window(tp)
    new_win = __tcp_select_window(sk)
    wscale = tp.rx_opt.rcv_wscale
    if new_win < cur_win:
        if not net.ipv4.sysctl_tcp_shrink_window or not wscale:
            if new_win == 0:
                net_inc_stat(net, "TCPWantZeroWindowAdv")
            a = 1 << wscale
            new_win = (cur_win + a - 1) & ~(a - 1)
    tp.rcv_wnd = new_win
    tp.rcv_wup = tp.rcv_nxt
    if not wscale and net.ipv4.sysctl_tcp_workaround_signed_windows:
        new_win = min(new_win, MAX_TCP_WINDOW)
    else:
        new_win = min(new_win, 65535 << wscale)
    new_win >>= wscale
    if new_win == 0:
        tp.pred_flags = 0
        if old_win:
            net_inc_stat(net, "TCPToZeroWindowAdv")
    elif old_win == 0:
        net_inc_stat(net, "TCPFromZeroWindowAdv")
    return new_win


# --- options --------------------------------------------------------------------------------
def tcp_syn_options(sk, skb, opts: TcpOutOptions) -> int:
    """SYN: mss, sackOK+TS (or nop,nop,TS / nop,nop,sackOK), nop,wscale — per sysctls."""
    tp = sk
    net = sk.sk_net
    remaining = 40
    opts.mss = tcp_advertise_mss(sk)
    remaining -= 4
    if net.ipv4.sysctl_tcp_timestamps:
        opts.options |= OPTION_TS
        opts.tsval = ((skb.cb.skb_mstamp // 1000) + tp.tsoffset) & _M32
        opts.tsecr = tp.rx_opt.ts_recent
        remaining -= 12
    if net.ipv4.sysctl_tcp_window_scaling:
        opts.ws = tp.rx_opt.rcv_wscale
        opts.options |= OPTION_WSCALE
        remaining -= 4
    if net.ipv4.sysctl_tcp_sack:
        opts.options |= OPTION_SACK_ADVERTISE
        if not (opts.options & OPTION_TS):
            remaining -= 4
    return 40 - remaining


def tcp_synack_options(req, mss: int, skb, opts: TcpOutOptions) -> int:
    remaining = 40
    opts.mss = mss
    remaining -= 4
    if req.wscale_ok:
        opts.ws = req.rcv_wscale
        opts.options |= OPTION_WSCALE
        remaining -= 4
    if req.tstamp_ok:
        opts.options |= OPTION_TS
        if req.syncookie:
            opts.tsval = (tcp_ipv4.cookie_init_timestamp(req, skb.cb.skb_mstamp) + req.ts_off) & _M32
        else:
            opts.tsval = ((skb.cb.skb_mstamp // 1000) + req.ts_off) & _M32
        if not req.snt_tsval_first:
            if not opts.tsval:
                opts.tsval = _M32
            req.snt_tsval_first = opts.tsval
        req.snt_tsval_last = opts.tsval
        opts.tsecr = req.ts_recent
        remaining -= 12
    if req.sack_ok:
        opts.options |= OPTION_SACK_ADVERTISE
        if not req.tstamp_ok:
            remaining -= 4
    return 40 - remaining


def tcp_established_options(sk, skb, opts: TcpOutOptions) -> int:
    """TS on every segment when negotiated (RFC 7323 §3.2), then SACK blocks (DSACK first,
    RFC 2883), as many as fit."""
    tp = sk
    size = 0
    if tp.rx_opt.tstamp_ok:
        opts.options |= OPTION_TS
        opts.tsval = (((skb.cb.skb_mstamp // 1000) if skb is not None else 0) + tp.tsoffset) & _M32 \
            if skb is not None else 0
        opts.tsecr = tp.rx_opt.ts_recent
        size += 12
    eff_sacks = tp.rx_opt.num_sacks + tp.rx_opt.dsack
    if eff_sacks:
        remaining = 40 - size
        if remaining < 4 + 8:
            return size
        opts.num_sack_blocks = min(eff_sacks, (remaining - 4) // 8)
        size += 4 + opts.num_sack_blocks * 8
    return size


def tcp_options_write(tp, opts: TcpOutOptions) -> bytes:
    """Bytes of the options in Linux's order and NOP padding."""
    options = opts.options
    if options == OPTION_TS and not opts.mss and not opts.num_sack_blocks:
        # An established segment's usual options: nop,nop,TS
        return _NOP_NOP_TS + _TS_VAL_ECR.pack(opts.tsval & _M32, opts.tsecr & _M32)
    out = bytearray()
    if opts.mss:
        out += struct.pack("!BBH", 2, 4, opts.mss)
    if options & OPTION_TS:
        if options & OPTION_SACK_ADVERTISE:
            out += b"\x04\x02\x08\x0a"
            options &= ~OPTION_SACK_ADVERTISE
        else:
            out += b"\x01\x01\x08\x0a"
        out += struct.pack("!II", opts.tsval & _M32, opts.tsecr & _M32)
    if options & OPTION_SACK_ADVERTISE:
        out += b"\x01\x01\x04\x02"
    if options & OPTION_WSCALE:
        out += bytes((1, 3, 3, opts.ws))
    if opts.num_sack_blocks:
        if tp is not None:
            blocks = ([tp.duplicate_sack[0]] if tp.rx_opt.dsack else []) + \
                tp.selective_acks[:tp.rx_opt.num_sacks]
            blocks = blocks[:opts.num_sack_blocks]
            tp.rx_opt.dsack = 0
        else:
            blocks = opts.sack_blocks
        out += bytes((1, 1, 5, 2 + 8 * len(blocks)))
        for b in blocks:
            out += struct.pack("!II", b.start_seq & _M32, b.end_seq & _M32)
    return bytes(out)


# --- transmit ----------------------------------------------------------------------------------
def tcp_v4_send_check(sk, skb) -> None:
    """The TCP checksum over the pseudo header (RFC 9293 §3.1). Loopback takes it on trust
    (Linux sends CHECKSUM_PARTIAL there and lo never computes it)."""
    dst = sk.sk_dst_cache
    if dst is not None and dst.dev is not None and (dst.dev.flags & 0x8):   # IFF_LOOPBACK
        skb.ip_summed = CHECKSUM_PARTIAL
        return
    __tcp_v4_send_check(skb, sk.inet_saddr, sk.inet_daddr)


def __tcp_v4_send_check(skb, saddr: int, daddr: int) -> None:
    seg = skb.head
    off = skb.transport_header
    end = skb.tail
    mv = memoryview(seg)[off:end]
    ln = end - off
    c = csum_fold(saddr + daddr + ln + 6 + csum_partial(mv))
    seg[off + 16] = c >> 8
    seg[off + 17] = c & 0xFF


def tcp_event_data_sent(tp, sk) -> None:
    now = tcp_jiffies32(sk)
    if tcp_packets_in_flight(tp) == 0:
        tcp_ca_event(sk, CA_EVENT_TX_START)
    tp.lsndtime = now
    # A reply within ato of the last received packet: an interactive (ping-pong) flow.
    if ((now - sk.icsk_ack.lrcvtime) & _M32) < sk.icsk_ack.ato:
        inet_csk_inc_pingpong_cnt(sk)


def tcp_dec_quickack_mode(sk) -> None:
    ack = sk.icsk_ack
    if ack.quick:
        pkts = 1 if inet_csk_ack_scheduled(sk) else 0
        if pkts >= ack.quick:
            ack.quick = 0
            ack.ato = TCP_ATO_MIN
        else:
            ack.quick -= pkts


def tcp_event_ack_sent(sk, rcv_nxt: int) -> None:
    if rcv_nxt != sk.rcv_nxt:
        return
    tcp_dec_quickack_mode(sk)
    inet_csk_clear_xmit_timer(sk, ICSK_TIME_DACK)


def __tcp_transmit_skb(sk, skb, clone_it: bool, rcv_nxt: int, extra_flags: int = 0) -> int:
    """Put a TCP header on (a copy of) skb and hand it to IP (ip_queue_xmit)."""
    tp = sk
    net = sk.sk_net
    tcb = skb.cb
    oskb = None
    now = tp.tcp_mstamp
    if clone_it:
        oskb = skb
        tcb.skb_mstamp = now
        # A private copy: lower layers may hold earlier copies (netem), and the queued
        # original must stay a clean payload.
        n = alloc_skb(skb.len, MAX_TCP_HEADER)
        skb_put_data(n, skb.head[skb.data:skb.tail])
        n.cb = tcb
        skb = n
    else:
        tcb.skb_mstamp = now
    opts = TcpOutOptions()
    if tcb.tcp_flags & TCPHDR_SYN:
        tcp_options_size = tcp_syn_options(sk, skb, opts)
    else:
        tcp_options_size = tcp_established_options(sk, skb, opts)
    tcp_header_size = tcp_options_size + 20
    # window: never scaled on SYNs (RFC 7323 §2.2)
    if not (tcb.tcp_flags & TCPHDR_SYN):
        window = tcp_select_window(sk)
    else:
        window = min(tp.rcv_wnd, 65535)
    optbytes = tcp_options_write(tp, opts)
    off = skb_push(skb, tcp_header_size)
    skb.transport_header = off
    _TCPHDR.pack_into(skb.head, off, sk.inet_sport, sk.inet_dport, tcb.seq & _M32, rcv_nxt & _M32,
                      ((tcp_header_size >> 2) << 12) | tcb.tcp_flags | extra_flags, window, 0, 0)
    if optbytes:
        skb.head[off + 20:off + 20 + len(optbytes)] = optbytes
    skb.sk = sk
    skb.protocol = 0x0800
    tcp_v4_send_check(sk, skb)
    if tcb.tcp_flags & TCPHDR_ACK:
        tcp_event_ack_sent(sk, rcv_nxt)
    payload = skb.len - tcp_header_size
    if payload:
        tcp_event_data_sent(tp, sk)
        tp.data_segs_out += 1
        tp.bytes_sent += payload
    if after(tcb.end_seq, tp.snd_nxt) or tcb.seq == tcb.end_seq:
        net.mib.Tcp["OutSegs"] += 1
    tp.segs_out += 1
    skb.gso_size = 0
    tcb_for_ip = skb.cb
    skb.cb = None     # "Cleanup our debris for IP stacks"
    err = sk.icsk_af_ops.queue_xmit(sk, skb, sk.cork.fl)
    if err is not None and err > 0:
        tcp_input.tcp_enter_cwr(sk)
        err = 0     # net_xmit_eval: congestion notification is not an error
    err = err or 0
    if not err and oskb is not None:
        tcp_update_skb_after_send(sk, oskb)
        tcp_rate_skb_sent(sk, oskb)
    return err


def tcp_transmit_skb(sk, skb, clone_it: bool = True) -> int:
    return __tcp_transmit_skb(sk, skb, clone_it, sk.rcv_nxt)


def tcp_update_skb_after_send(sk, skb) -> None:
    skb.cb.skb_mstamp = sk.tcp_mstamp
    tcp_tsorted_move_tail(sk, skb)


def tcp_rate_skb_sent(sk, skb) -> None:
    """tcp_rate.c: snapshot the delivery state when a segment leaves (RFC draft-cheng
    -iccrg-delivery-rate-estimation)."""
    tp = sk
    if not tp.packets_out:
        tstamp = skb.cb.skb_mstamp
        tp.first_tx_mstamp = tstamp
        tp.delivered_mstamp = tstamp
    cb = skb.cb
    cb.tx_first_tx_mstamp = tp.first_tx_mstamp
    cb.tx_delivered_mstamp = tp.delivered_mstamp
    cb.tx_delivered = tp.delivered
    cb.tx_is_app_limited = 1 if tp.app_limited else 0


def tcp_rate_check_app_limited(sk) -> None:
    """Mark the flow app-limited when the sender has nothing more to send."""
    tp = sk
    if (s32(tp.write_seq - tp.snd_nxt) < tp.mss_cache and
            tcp_packets_in_flight(tp) < tp.snd_cwnd and
            tp.lost_out <= tp.retrans_out):
        tp.app_limited = ((tp.delivered + tcp_packets_in_flight(tp)) or 1) & _M32


def tcp_init_nondata_skb(skb, seq: int, flags: int) -> None:
    cb = skb.cb
    if cb is None:
        cb = skb.cb = TcpSkbCb()
    cb.tcp_flags = flags
    cb.seq = seq & _M32
    if flags & (TCPHDR_SYN | TCPHDR_FIN):
        seq += 1
    cb.end_seq = seq & _M32


def _nondata_skb(seq: int, flags: int) -> SkBuff:
    skb = alloc_skb(0, MAX_TCP_HEADER)
    skb.cb = TcpSkbCb()
    skb.truesize = TCP_SKB_TX_OVERHEAD
    tcp_init_nondata_skb(skb, seq, flags)
    return skb


# --- queueing -----------------------------------------------------------------------------------
def tcp_queue_skb(sk, skb) -> None:
    tp = sk
    tp.write_seq = skb.cb.end_seq
    sk.sk_write_queue.q.append(skb)
    sk.sk_wmem_queued += skb.truesize


def tcp_event_new_data_sent(sk, skb) -> None:
    """A segment left for the first time: move it to the retransmit queue, count it, arm the
    RTO if it is the only one in flight."""
    tp = sk
    prior_packets = tp.packets_out
    tp.snd_nxt = skb.cb.end_seq
    wq = sk.sk_write_queue.q
    if wq and wq[0] is skb:
        wq.popleft()
    else:
        wq.remove(skb)
    sk.tcp_rtx_queue.q.append(skb)
    if tp.highest_sack is None:
        tp.highest_sack = skb
    tp.packets_out += 1
    if not prior_packets or sk.icsk_pending == ICSK_TIME_LOSS_PROBE:
        tcp_input.tcp_rearm_rto(sk)
    net_inc_stat(sk.sk_net, "TCPOrigDataSent")
    tcp_input.tcp_check_space(sk)


def tcp_fragment(sk, tcp_queue: int, skb, length: int, mss_now: int) -> int:
    """Split skb after `length` bytes; the tail goes right after it in its queue."""
    tp = sk
    nsize = skb.len - length
    if nsize <= 0:
        return 0
    buff = alloc_skb(nsize, MAX_TCP_HEADER)
    skb_put_data(buff, skb.head[skb.data + length:skb.tail])
    skb.tail = skb.data + length
    buff.truesize = nsize + TCP_SKB_TX_OVERHEAD
    skb.truesize -= nsize
    sk.sk_wmem_queued += TCP_SKB_TX_OVERHEAD
    buff.sk = sk
    cb = skb.cb
    ncb = cb.copy()
    ncb.seq = (cb.seq + length) & _M32
    ncb.end_seq = cb.end_seq
    cb.end_seq = ncb.seq
    flags = cb.tcp_flags
    cb.tcp_flags = flags & ~(TCPHDR_FIN | TCPHDR_PSH)
    ncb.tcp_flags = flags
    cb.eor = 0
    buff.cb = ncb
    q = sk.sk_write_queue.q if tcp_queue == TCP_FRAG_IN_WRITE_QUEUE else sk.tcp_rtx_queue.q
    idx = _index(q, skb)
    q.insert(idx + 1, buff)
    if tcp_queue == TCP_FRAG_IN_RTX_QUEUE:
        # One more packet in flight, with skb's scoreboard bits.
        tcp_adjust_pcount(sk, skb, -1)
        tcp_tsorted_insert_after(tp, skb, buff)
    return 0


def _index(q, skb) -> int:
    for i, x in enumerate(q):
        if x is skb:
            return i
    raise ValueError("skb not in queue")


def tcp_adjust_pcount(sk, skb, decr: int) -> None:
    tp = sk
    tp.packets_out -= decr
    sacked = skb.cb.sacked
    if sacked & TCPCB_SACKED_ACKED:
        tp.sacked_out -= decr
    if sacked & TCPCB_SACKED_RETRANS:
        tp.retrans_out -= decr
    if sacked & TCPCB_LOST:
        tp.lost_out -= decr
    if not tcp_is_sack(tp) and decr > 0:
        tp.sacked_out -= min(tp.sacked_out, decr)


def tcp_trim_head(sk, skb, length: int) -> int:
    """Drop `length` acked bytes from the front of a partially acked segment."""
    skb.data += length
    skb.cb.seq = (skb.cb.seq + length) & _M32
    skb.truesize -= length
    sk.sk_wmem_queued -= length
    return 0


# --- Nagle, cwnd and rwnd tests ------------------------------------------------------------------
def tcp_minshall_check(tp) -> bool:
    return after(tp.snd_sml, tp.snd_una) and not after(tp.snd_sml, tp.snd_nxt)


def tcp_minshall_update(tp, mss_now: int, skb) -> None:
    if skb.len < mss_now:
        tp.snd_sml = skb.cb.end_seq


def tcp_nagle_check(partial: bool, tp, nonagle: int) -> bool:
    return partial and ((nonagle & TCP_NAGLE_CORK) or
                        (not nonagle and tp.packets_out and tcp_minshall_check(tp)))


def tcp_urg_mode(tp) -> bool:
    return tp.snd_una != tp.snd_up


def tcp_nagle_test(tp, skb, cur_mss: int, nonagle: int) -> bool:
    """May this (possibly small) segment go now? RFC 896 as Minshall refined it."""
    if nonagle & TCP_NAGLE_PUSH:
        return True
    if tcp_urg_mode(tp) or (skb.cb.tcp_flags & TCPHDR_FIN):
        return True
    if not tcp_nagle_check(skb.len < cur_mss, tp, nonagle):
        return True
    return False


def tcp_cwnd_test(tp, skb=None) -> int:
    # Don't be strict about the congestion window for the final FIN.
    if skb is not None and (skb.cb.tcp_flags & TCPHDR_FIN) and skb.len <= tp.mss_cache:
        return 1
    in_flight = tcp_packets_in_flight(tp)
    cwnd = tp.snd_cwnd
    if in_flight >= cwnd:
        return 0
    halfcwnd = max(cwnd >> 1, 1)
    return min(halfcwnd, cwnd - in_flight)


def tcp_snd_wnd_test(tp, skb, cur_mss: int) -> bool:
    end_seq = skb.cb.end_seq
    if skb.len > cur_mss:
        end_seq = (skb.cb.seq + cur_mss) & _M32
    return not after(end_seq, tcp_wnd_end(tp))


def tcp_skb_is_last(sk, skb) -> bool:
    return tcp_write_queue_tail(sk) is skb


def tcp_init_cwnd(tp, dst) -> int:
    cwnd = dst_metric(dst, RTAX_INITCWND) if dst is not None else 0
    if not cwnd:
        cwnd = TCP_INIT_CWND
    return min(cwnd, tp.snd_cwnd_clamp)


def tcp_cwnd_restart(sk, delta: int) -> None:
    """RFC 5681 §4.1 restart window after idle: halve cwnd per RTO idle, down to IW."""
    tp = sk
    restart_cwnd = tcp_init_cwnd(tp, sk.sk_dst_cache)
    cwnd = tp.snd_cwnd
    tcp_ca_event(sk, CA_EVENT_CWND_RESTART)
    tp.snd_ssthresh = tcp_current_ssthresh(sk)
    restart_cwnd = min(restart_cwnd, cwnd)
    delta -= sk.icsk_rto
    while delta > 0 and cwnd > restart_cwnd:
        cwnd >>= 1
        delta -= sk.icsk_rto
    tp.snd_cwnd = max(cwnd, restart_cwnd)
    tp.snd_cwnd_stamp = tcp_jiffies32(sk)
    tp.snd_cwnd_used = 0


def tcp_cwnd_application_limited(sk) -> None:
    tp = sk
    if sk.icsk_ca_state == TCP_CA_Open and sk.sk_socket is not None and not sk.sk_socket_nospace:
        init_win = tcp_init_cwnd(tp, sk.sk_dst_cache)
        win_used = max(tp.snd_cwnd_used, init_win)
        if win_used < tp.snd_cwnd:
            tp.snd_ssthresh = tcp_current_ssthresh(sk)
            tp.snd_cwnd = (tp.snd_cwnd + win_used) >> 1
        tp.snd_cwnd_used = 0
    tp.snd_cwnd_stamp = tcp_jiffies32(sk)


def tcp_cwnd_validate(sk, is_cwnd_limited: bool) -> None:
    """RFC 7661-style tracking of whether cwnd is really used."""
    tp = sk
    if (not before(tp.snd_una, tp.cwnd_usage_seq) or is_cwnd_limited or
            (not tp.is_cwnd_limited and tp.packets_out > tp.max_packets_out)):
        tp.is_cwnd_limited = is_cwnd_limited
        tp.max_packets_out = tp.packets_out
        tp.cwnd_usage_seq = tp.snd_nxt
    if tcp_is_cwnd_limited(sk):
        tp.snd_cwnd_used = 0
        tp.snd_cwnd_stamp = tcp_jiffies32(sk)
    else:
        if tp.packets_out > tp.snd_cwnd_used:
            tp.snd_cwnd_used = tp.packets_out
        if (sk.sk_net.ipv4.sysctl_tcp_slow_start_after_idle and
                s32(tcp_jiffies32(sk) - tp.snd_cwnd_stamp) >= sk.icsk_rto and
                sk.icsk_ca_ops.cong_control is None):
            tcp_cwnd_application_limited(sk)


def tcp_in_cwnd_reduction(sk) -> bool:
    return bool((1 << sk.icsk_ca_state) & ((1 << TCP_CA_CWR) | (1 << TCP_CA_Recovery)))


def tcp_tso_autosize(sk, mss_now: int, min_tso_segs: int) -> int:
    """Segments per GSO burst: ~1 ms of the pacing rate (sk_pacing_shift 10), more on low-RTT
    paths (tcp_tso_rtt_log), at least tcp_min_tso_segs, at most 64 KB."""
    nbytes = sk.sk_pacing_rate >> sk.sk_pacing_shift
    r = tcp_min_rtt(sk) >> sk.sk_net.ipv4.sysctl_tcp_tso_rtt_log
    if r < 32:
        nbytes += sk.sk_gso_max_size >> r
    nbytes = min(nbytes, sk.sk_gso_max_size)
    return max(nbytes // mss_now, min_tso_segs)


def tcp_tso_segs(sk, mss_now: int) -> int:
    ca = sk.icsk_ca_ops
    min_tso = ca.min_tso_segs(sk) if ca.min_tso_segs is not None else \
        sk.sk_net.ipv4.sysctl_tcp_min_tso_segs
    return min(tcp_tso_autosize(sk, mss_now, min_tso), 65535)


def _gso_burst(sk, head, mss_now: int, cwnd_quota: int, nonagle: int) -> int:
    """How many of kstack's MSS segments, from the send head, Linux would send as one GSO
    packet now: cwnd_quota segments at most, within the receive window, within the Linux
    skb the head belongs to (cb.vseq), leaving out a Nagle-held partial tail
    (tcp_mss_split_point)."""
    tp = sk
    q = sk.sk_write_queue.q
    vseq = head.cb.vseq
    group = []
    total = 0
    for skb in q:
        if skb.cb.vseq != vseq:
            break
        group.append(skb)
        total += skb.len
    is_tail = group[-1] is q[-1]
    window = (tcp_wnd_end(tp) - head.cb.seq) & _M32
    if window >= 0x80000000:
        window = 0
    max_len = mss_now * cwnd_quota
    if max_len <= window and not is_tail:
        limit = max_len
    else:
        needed = min(total, window)
        if max_len <= needed:
            limit = max_len
        else:
            partial = needed % mss_now
            if tcp_nagle_check(partial != 0, tp, nonagle):
                limit = needed - partial
            else:
                limit = needed
    n = 0
    acc = 0
    for skb in group:
        if acc + skb.len > limit and n:
            break
        acc += skb.len
        n += 1
        if acc >= limit:
            break
    return max(n, 1)


def tcp_write_xmit(sk, mss_now: int, nonagle: int, push_one: int) -> bool:
    """Send what the congestion and receive windows and Nagle allow, as Linux's GSO bursts
    (the last segment of a multi-segment burst carries PSH). True when nothing could be
    sent with nothing in flight (the caller arms the zero-window probe)."""
    tp = sk
    sent_pkts = 0
    tcp_mstamp_refresh(sk)
    is_cwnd_limited = False
    is_rwnd_limited = False
    max_segs = tcp_tso_segs(sk, mss_now)
    burst_left = 0
    burst_multi = False
    while True:
        skb = tcp_send_head(sk)
        if skb is None:
            break
        if not burst_left:
            if push_one and sent_pkts:
                break
            cwnd_quota = tcp_cwnd_test(tp, skb)
            if not cwnd_quota:
                if push_one == 2:
                    cwnd_quota = 1      # force out a loss probe
                else:
                    break
            cwnd_quota = min(cwnd_quota, max_segs)
            if not tcp_snd_wnd_test(tp, skb, mss_now):
                is_rwnd_limited = True
                break
            burst_left = _gso_burst(sk, skb, mss_now, cwnd_quota, nonagle)
            burst_multi = burst_left > 1
            if not burst_multi and not tcp_nagle_test(
                    tp, skb, mss_now, nonagle if tcp_skb_is_last(sk, skb) else TCP_NAGLE_PUSH):
                break
        elif not tcp_snd_wnd_test(tp, skb, mss_now):
            is_rwnd_limited = True
            break
        if skb.len > mss_now:
            tcp_fragment(sk, TCP_FRAG_IN_WRITE_QUEUE, skb, mss_now, mss_now)
        if skb.cb.end_seq == skb.cb.seq:
            break
        burst_left -= 1
        extra = TCPHDR_PSH if (burst_multi and burst_left == 0) else 0
        if __tcp_transmit_skb(sk, skb, True, tp.rcv_nxt, extra):
            break
        tcp_event_new_data_sent(sk, skb)
        tcp_minshall_update(tp, mss_now, skb)
        sent_pkts += 1
        if not burst_left:
            nxt = tcp_send_head(sk)
            if nxt is not None and nxt.cb.vseq == skb.cb.vseq:
                # tso_fragment: the rest of the Linux skb becomes an skb of its own.
                nxt.truesize += TCP_SKB_TX_OVERHEAD
                sk.sk_wmem_queued += TCP_SKB_TX_OVERHEAD
    is_cwnd_limited = is_cwnd_limited or tcp_packets_in_flight(tp) >= tp.snd_cwnd
    if sent_pkts or is_cwnd_limited:
        tcp_cwnd_validate(sk, is_cwnd_limited)
    if sent_pkts:
        if tcp_in_cwnd_reduction(sk):
            tp.prr_out += sent_pkts
        if push_one != 2:
            tcp_schedule_loss_probe(sk, False)
        return False
    return not tp.packets_out and not tcp_write_queue_empty(sk)


def __tcp_push_pending_frames(sk, cur_mss: int, nonagle: int) -> None:
    if sk.sk_state == TCP_CLOSE:
        return
    if tcp_write_xmit(sk, cur_mss, nonagle, 0):
        tcp_check_probe_timer(sk)


def tcp_push_pending_frames(sk) -> None:
    if tcp_send_head(sk) is not None:
        __tcp_push_pending_frames(sk, tcp_current_mss(sk), sk.nonagle)


def tcp_push_one(sk, mss_now: int) -> None:
    tcp_write_xmit(sk, mss_now, TCP_NAGLE_PUSH, 1)


def tcp_data_snd_check_push(sk) -> None:
    tcp_push_pending_frames(sk)


# --- tail loss probe (RFC 8985 §7) ---------------------------------------------------------------
def tcp_rto_delta_us(sk) -> int:
    """How far in the future the RTO of the oldest outstanding segment is."""
    skb = tcp_rtx_queue_head(sk)
    rto = sk.icsk_rto
    if skb is not None:
        return skb.cb.skb_mstamp + jiffies_to_usecs(rto) - sk.tcp_mstamp
    return jiffies_to_usecs(rto)


def tcp_schedule_loss_probe(sk, advancing_rto: bool) -> bool:
    """Arm the TLP timer for 2*SRTT (+ RTO_min when one segment is out: delayed ACK), or
    earlier if the RTO is sooner. Only with SACK and tcp_early_retrans 3 or 4."""
    tp = sk
    net = sk.sk_net
    early_retrans = net.ipv4.sysctl_tcp_early_retrans
    if (early_retrans not in (3, 4) or not tp.packets_out or not tcp_is_sack(tp) or
            sk.icsk_ca_state not in (TCP_CA_Open, TCP_CA_CWR)):
        return False
    if tp.srtt_us:
        timeout_us = tp.srtt_us >> 2
        if tp.packets_out == 1:
            timeout_us += tcp_rto_min_us(sk)
        else:
            timeout_us += TCP_TIMEOUT_MIN_US
        timeout = usecs_to_jiffies(timeout_us)
    else:
        timeout = TCP_TIMEOUT_INIT
    rto_delta_us = jiffies_to_usecs(sk.icsk_rto) if advancing_rto else tcp_rto_delta_us(sk)
    if rto_delta_us > 0:
        timeout = min(timeout, usecs_to_jiffies(rto_delta_us))
    tcp_reset_xmit_timer(sk, ICSK_TIME_LOSS_PROBE, timeout, TCP_RTO_MAX)
    return True


def tcp_send_loss_probe(sk) -> None:
    """The TLP fired: send new data if the window allows, else retransmit the last segment."""
    tp = sk
    mss = tcp_current_mss(sk)
    if tp.tlp_high_seq:
        tcp_input.tcp_rearm_rto(sk)
        return
    tp.tlp_retrans = 0
    skb = tcp_send_head(sk)
    sent = False
    if skb is not None and tcp_snd_wnd_test(tp, skb, mss):
        pcount = tp.packets_out
        tcp_write_xmit(sk, mss, TCP_NAGLE_OFF, 2)
        if tp.packets_out > pcount:
            sent = True
        else:
            tcp_input.tcp_rearm_rto(sk)
            return
    if not sent:
        skb = tcp_rtx_queue_tail(sk)
        if skb is None:
            sk.icsk_pending = 0
            return
        if __tcp_retransmit_skb(sk, skb, 1):
            tcp_input.tcp_rearm_rto(sk)
            return
        tp.tlp_retrans = 1
    tp.tlp_high_seq = tp.snd_nxt
    net_inc_stat(sk.sk_net, "TCPLossProbes")
    sk.icsk_pending = 0
    tcp_input.tcp_rearm_rto(sk)


# --- retransmission --------------------------------------------------------------------------------
def __tcp_retransmit_skb(sk, skb, segs: int) -> int:
    tp = sk
    net = sk.sk_net
    if sk.icsk_mtup.probe_size:
        sk.icsk_mtup.probe_size = 0
    cb = skb.cb
    while before(cb.seq, tp.snd_una):
        if cb.tcp_flags & TCPHDR_SYN:
            cb.tcp_flags &= ~TCPHDR_SYN
            cb.seq = (cb.seq + 1) & _M32
            continue
        if before(cb.end_seq, tp.snd_una):
            return -EINVAL
        tcp_trim_head(sk, skb, (tp.snd_una - cb.seq) & _M32)
        break
    if sk.icsk_af_ops.rebuild_header(sk):
        return -EHOSTUNREACH
    cur_mss = tcp_current_mss(sk)
    avail_wnd = s32(tcp_wnd_end(tp) - cb.seq)
    if avail_wnd <= 0:
        if cb.seq != tp.snd_una:
            return -EAGAIN
        avail_wnd = cur_mss
    ln = cur_mss * segs
    if ln > avail_wnd:
        ln = (avail_wnd // cur_mss) * cur_mss
        if not ln:
            ln = avail_wnd
    if skb.len > ln:
        tcp_fragment(sk, TCP_FRAG_IN_RTX_QUEUE, skb, ln, cur_mss)
    net.mib.Tcp["RetransSegs"] += 1
    if cb.tcp_flags & TCPHDR_SYN:
        net_inc_stat(net, "TCPSynRetrans")
    tp.total_retrans += 1
    tp.bytes_retrans += skb.len
    err = tcp_transmit_skb(sk, skb, True)
    cb.sacked |= TCPCB_EVER_RETRANS
    if err:
        net_inc_stat(net, "TCPRetransFail")
    return err


def tcp_retransmit_skb(sk, skb, segs: int) -> int:
    tp = sk
    err = __tcp_retransmit_skb(sk, skb, segs)
    if err == 0:
        skb.cb.sacked |= TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS
        tp.retrans_out += 1
    if not tp.retrans_stamp:
        tp.retrans_stamp = (skb.cb.skb_mstamp // 1000) & _M32 or 1
    if tp.undo_retrans < 0:
        tp.undo_retrans = 0
    tp.undo_retrans += 1
    return err


def tcp_xmit_retransmit_queue(sk) -> None:
    """Retransmit the segments marked lost, as far as cwnd (or PRR) allows."""
    tp = sk
    if not tp.packets_out:
        return
    rtx_head = tcp_rtx_queue_head(sk)
    hole = None
    rearm_timer = False
    q = sk.tcp_rtx_queue.q
    i = -1
    while True:
        i += 1
        if i >= len(q):
            break
        skb = q[i]
        if tp.snd_cwnd - tcp_packets_in_flight(tp) <= 0:
            break
        sacked = skb.cb.sacked
        if tp.retrans_out >= tp.lost_out:
            break
        if not (sacked & TCPCB_LOST):
            if hole is None and not (sacked & (TCPCB_SACKED_RETRANS | TCPCB_SACKED_ACKED)):
                hole = skb
            continue
        mib = "TCPFastRetrans" if sk.icsk_ca_state != TCP_CA_Loss else "TCPSlowStartRetrans"
        if sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS):
            continue
        if tcp_retransmit_skb(sk, skb, 1):
            break
        net_inc_stat(sk.sk_net, mib)
        if tcp_in_cwnd_reduction(sk):
            tp.prr_out += 1
        if skb is rtx_head and sk.icsk_pending != ICSK_TIME_REO_TIMEOUT:
            rearm_timer = True
    if rearm_timer:
        tcp_reset_xmit_timer(sk, ICSK_TIME_RETRANS, sk.icsk_rto, TCP_RTO_MAX)


# --- control segments ------------------------------------------------------------------------------
def tcp_acceptable_seq(sk) -> int:
    tp = sk
    wnd_end = tcp_wnd_end(tp)
    if not before(wnd_end, tp.snd_nxt) or (
            tp.rx_opt.wscale_ok and ((tp.snd_nxt - wnd_end) & _M32) < (1 << tp.rx_opt.rcv_wscale)):
        return tp.snd_nxt
    return wnd_end


def __tcp_send_ack(sk, rcv_nxt: int, flags: int = 0) -> None:
    if sk.sk_state == TCP_CLOSE:
        return
    buff = _nondata_skb(tcp_acceptable_seq(sk), TCPHDR_ACK | flags)
    __tcp_transmit_skb(sk, buff, False, rcv_nxt)


def tcp_send_ack(sk) -> None:
    __tcp_send_ack(sk, sk.rcv_nxt)


def tcp_send_delayed_ack(sk) -> None:
    """Arm the delayed-ACK timer: ato bounded by RTT and 200 ms (RFC 1122 §4.2.3.2 allows
    up to 500 ms; Linux uses 40..200 ms)."""
    ack = sk.icsk_ack
    tp = sk
    ato = ack.ato
    if ato > TCP_DELACK_MIN:
        max_ato = _HZ // 2
        if inet_csk_in_pingpong_mode(sk) or (ack.pending & ICSK_ACK_PUSHED):
            max_ato = TCP_DELACK_MAX
        if tp.srtt_us:
            rtt = max(usecs_to_jiffies(tp.srtt_us >> 3), TCP_DELACK_MIN)
            if rtt < max_ato:
                max_ato = rtt
        ato = min(ato, max_ato)
    ato = min(ato, sk.icsk_delack_max)
    now = tcp_jiffies32(sk)
    timeout = now + ato
    if ack.pending & ICSK_ACK_TIMER:
        if s32(ack.timeout - (now + (ato >> 2))) <= 0:
            tcp_send_ack(sk)
            return
        if not s32(timeout - ack.timeout) < 0:
            timeout = ack.timeout
    ack.pending |= ICSK_ACK_SCHED | ICSK_ACK_TIMER
    ack.timeout = timeout
    sk_reset_timer(sk, sk.icsk_delack_timer, timeout)


def tcp_send_fin(sk) -> None:
    """Queue a FIN: on the last unsent skb if there is one, else as its own segment."""
    tp = sk
    tail = tcp_write_queue_tail(sk)
    if tail is not None:
        tail.cb.tcp_flags |= TCPHDR_FIN
        tail.cb.end_seq = (tail.cb.end_seq + 1) & _M32
        tp.write_seq = (tp.write_seq + 1) & _M32
    else:
        skb = _nondata_skb(tp.write_seq, TCPHDR_ACK | TCPHDR_FIN)
        skb.sk = sk
        tcp_queue_skb(sk, skb)
    __tcp_push_pending_frames(sk, tcp_current_mss(sk), TCP_NAGLE_OFF)


def tcp_send_active_reset(sk, priority=0, reason=0) -> None:
    """Abort: a RST with the next sequence we may send (RFC 9293 §3.10.7.x)."""
    net = sk.sk_net
    net.mib.Tcp["OutRsts"] += 1
    skb = _nondata_skb(tcp_acceptable_seq(sk), TCPHDR_ACK | TCPHDR_RST)
    tcp_mstamp_refresh(sk)
    if tcp_transmit_skb(sk, skb, False):
        net_inc_stat(net, "TCPAbortFailed")


def tcp_xmit_probe_skb(sk, urgent: int, mib: str) -> int:
    """A segment with an old sequence number (SND.UNA - 1) that makes the peer ACK:
    the zero-window probe / keepalive of RFC 9293 §3.8.6.1 and RFC 1122 §4.2.3.6."""
    tp = sk
    skb = _nondata_skb((tp.snd_una - (0 if urgent else 1)) & _M32, TCPHDR_ACK)
    net_inc_stat(sk.sk_net, mib)
    return tcp_transmit_skb(sk, skb, False)


def tcp_write_wakeup(sk, mib: str) -> int:
    tp = sk
    if sk.sk_state == TCP_CLOSE:
        return -1
    skb = tcp_send_head(sk)
    if skb is not None and before(skb.cb.seq, tcp_wnd_end(tp)):
        mss = tcp_current_mss(sk)
        seg_size = (tcp_wnd_end(tp) - skb.cb.seq) & _M32
        if before(tp.pushed_seq, skb.cb.end_seq):
            tp.pushed_seq = skb.cb.end_seq
        if seg_size < ((skb.cb.end_seq - skb.cb.seq) & _M32) or skb.len > mss:
            seg_size = min(seg_size, mss)
            skb.cb.tcp_flags |= TCPHDR_PSH
            tcp_fragment(sk, TCP_FRAG_IN_WRITE_QUEUE, skb, seg_size, mss)
        skb.cb.tcp_flags |= TCPHDR_PSH
        tcp_mstamp_refresh(sk)
        err = tcp_transmit_skb(sk, skb, True)
        if not err:
            tcp_event_new_data_sent(sk, skb)
        return err
    if between(tp.snd_up, (tp.snd_una + 1) & _M32, (tp.snd_una + 0xFFFF) & _M32):
        tcp_xmit_probe_skb(sk, 1, mib)
    return tcp_xmit_probe_skb(sk, 0, mib)


def tcp_send_probe0(sk) -> None:
    """The persist timer fired (RFC 9293 §3.8.6.1): probe, back off exponentially."""
    tp = sk
    net = sk.sk_net
    tcp_mstamp_refresh(sk)
    err = tcp_write_wakeup(sk, "TCPWinProbe")
    if tp.packets_out or tcp_write_queue_empty(sk):
        sk.icsk_probes_out = 0
        sk.icsk_backoff = 0
        sk.icsk_probes_tstamp = 0
        return
    sk.icsk_probes_out += 1
    if err <= 0:
        if sk.icsk_backoff < net.ipv4.sysctl_tcp_retries2:
            sk.icsk_backoff += 1
        timeout = tcp_probe0_when(sk, TCP_RTO_MAX)
    else:
        timeout = TCP_RESOURCE_PROBE_INTERVAL
    timeout = tcp_timer.tcp_clamp_probe0_to_user_timeout(sk, timeout)
    tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, timeout, TCP_RTO_MAX)


# --- active open -----------------------------------------------------------------------------------
def tcp_connect_init(sk) -> None:
    tp = sk
    net = sk.sk_net
    dst = sk.sk_dst_cache
    tp.tcp_header_len = 20
    if net.ipv4.sysctl_tcp_timestamps:
        tp.tcp_header_len += 12
    if tp.rx_opt.user_mss:
        tp.rx_opt.mss_clamp = tp.rx_opt.user_mss
    tp.max_window = 0
    tcp_mtup_init(sk)
    tcp_sync_mss(sk, _dst_mtu(dst))
    if not tp.window_clamp:
        tp.window_clamp = dst_metric(dst, RTAX_WINDOW)
    tp.advmss = tcp_mss_clamp(tp, dst_metric_advmss(dst))
    tcp_input.tcp_initialize_rcv_mss(sk)
    if sk.sk_userlocks & SOCK_RCVBUF_LOCK and (tp.window_clamp > tcp_full_space(sk) or
                                               tp.window_clamp == 0):
        tp.window_clamp = tcp_full_space(sk)
    rcv_wnd = dst_metric(dst, RTAX_INITRWND)
    mss = tp.advmss - ((tp.tcp_header_len - 20) if tp.rx_opt.ts_recent_stamp else 0)
    tp.rcv_wnd, tp.window_clamp, rcv_wscale = tcp_select_initial_window(
        sk, tcp_full_space(sk), mss, rcv_wnd, tp.window_clamp, net.ipv4.sysctl_tcp_window_scaling)
    tp.rx_opt.rcv_wscale = rcv_wscale
    tp.rcv_ssthresh = tp.rcv_wnd
    sk.sk_err = 0
    sock_reset_flag(sk, SOCK_DONE)
    tp.snd_wnd = 0
    tp.snd_wl1 = 0
    tcp_write_queue_purge(sk)
    tp.snd_una = tp.write_seq
    tp.snd_sml = tp.write_seq
    tp.snd_up = tp.write_seq
    tp.snd_nxt = tp.write_seq
    tp.rcv_nxt = 0
    tp.rcv_wup = tp.rcv_nxt
    tp.copied_seq = tp.rcv_nxt
    sk.icsk_rto = tcp_input.tcp_timeout_init(sk)
    sk.icsk_retransmits = 0
    tcp_input.tcp_clear_retrans(tp)


def tcp_connect(sk) -> int:
    """Send the SYN (RFC 9293 §3.10.1 OPEN) and arm the SYN retransmit timer."""
    tp = sk
    if sk.icsk_af_ops.rebuild_header(sk):
        return -EHOSTUNREACH
    tcp_connect_init(sk)
    buff = tcp_stream_alloc_skb(sk, 0)
    tcp_init_nondata_skb(buff, tp.write_seq, TCPHDR_SYN)
    tcp_mstamp_refresh(sk)
    tp.retrans_stamp = (tp.tcp_mstamp // 1000) & _M32 or 1
    # tcp_connect_queue_skb
    tp.write_seq = buff.cb.end_seq
    sk.sk_wmem_queued += buff.truesize
    tp.packets_out += 1
    sk.tcp_rtx_queue.q.append(buff)
    tcp_transmit_skb(sk, buff, True)
    tp.snd_nxt = tp.write_seq
    tp.pushed_seq = tp.write_seq
    head = tcp_send_head(sk)
    if head is not None:
        tp.snd_nxt = head.cb.seq
        tp.pushed_seq = head.cb.seq
    sk.sk_net.mib.Tcp["ActiveOpens"] += 1
    inet_csk_reset_xmit_timer(sk, ICSK_TIME_RETRANS, sk.icsk_rto, TCP_RTO_MAX)
    return 0


def tcp_send_synack(sk) -> int:
    """Simultaneous open / SYN_RECV retransmit: (re)send our SYN as a SYN-ACK."""
    skb = tcp_rtx_queue_head(sk)
    if skb is None or not (skb.cb.tcp_flags & TCPHDR_SYN):
        return -1
    if not (skb.cb.tcp_flags & TCPHDR_ACK):
        skb.cb.tcp_flags |= TCPHDR_ACK
    tcp_mstamp_refresh(sk)
    return tcp_transmit_skb(sk, skb, True)


# --- SYN-ACK for a request sock ------------------------------------------------------------------
def tcp_make_synack(sk, dst, req) -> SkBuff:
    """Build a SYN-ACK for request sock req (tcp_make_synack): window unscaled, options
    per what the SYN offered."""
    tp = sk      # the listener
    skb = alloc_skb(0, MAX_TCP_HEADER)
    skb.cb = TcpSkbCb()
    now = tcp_clock_us(sk)
    skb.cb.skb_mstamp = now
    if not req.snt_synack:
        req.snt_synack = now
    opts = TcpOutOptions()
    mss = tcp_mss_clamp(tp, dst_metric_advmss(dst))
    size = tcp_synack_options(req, mss, skb, opts)
    tcp_header_size = size + 20
    optbytes = tcp_options_write(None, opts)
    off = skb_push(skb, tcp_header_size)
    skb.transport_header = off
    window = min(req.rsk_rcv_wnd, 65535)
    _TCPHDR.pack_into(skb.head, off, req.ir_num, req.ir_rmt_port, req.snt_isn & _M32,
                      req.rcv_nxt & _M32, ((tcp_header_size >> 2) << 12) | TCPHDR_SYN | TCPHDR_ACK,
                      window, 0, 0)
    skb.head[off + 20:off + 20 + len(optbytes)] = optbytes
    skb.protocol = 0x0800
    sk.sk_net.mib.Tcp["OutSegs"] += 1
    return skb
