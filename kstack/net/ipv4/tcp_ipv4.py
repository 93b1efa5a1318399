"""net/ipv4/tcp_ipv4.c (+ net/core/secure_seq.c for ISNs, net/ipv4/syncookies.c for SYN
cookies (RFC 4987 3.6), net/ipv4/sysctl_net_ipv4.c for the tcp_* rows) — TCP over IPv4: tcp_v4_rcv (checksum, header checks, socket lookup,
TIME_WAIT and request-sock dispatch, RST for segments to nowhere), tcp_v4_connect,
tcp_v4_send_reset / tcp_v4_send_ack with Linux's sequence rules (RFC 9293 §3.10.7.1),
SYN-ACKs for request socks, ICMP errors and PMTU (RFC 1191, RFC 5927 checks), the
per-namespace TCP state and sysctls (tcp_sk_init), and the tcp_prot / ipv4_specific
ops tables.

ISNs follow RFC 6528: a keyed hash of the 4-tuple (key drawn once per namespace from
net.rng) plus a 64 ns clock (the kernel's seq_scale). TS offsets are a keyed hash of the
address pair (secure_tcp_ts_off) when net.ipv4.tcp_timestamps is 1.
"""
import struct

from kstack.core.dropreason import SkbDropReason
from kstack.core.errno import (EADDRNOTAVAIL, EAFNOSUPPORT, EHOSTUNREACH, EINVAL, ENETUNREACH,
                               ENOENT, EPROTO, EMSGSIZE, EHOSTUNREACH as _EHU)
from kstack.core.skbuff import (CHECKSUM_UNNECESSARY, PACKET_HOST, consume_skb, kfree_skb)
from kstack.core.sock import (IP_PMTUDISC_DONT, Proto, SOCK_DEAD, sock_flag, __sk_dst_check,
                              sk_dst_set, SOCK_RCVBUF_LOCK)
from kstack.core.sysctl import INT_MAX, UINT_MAX, CtlTable, register_net_sysctl
from kstack.wire.checksum import csum_fold, csum_partial

from .inet_connection_sock import (InetConnectionSockAfOps, inet_csk_accept,
                                   inet_csk_reqsk_queue_add, inet_csk_reqsk_queue_drop,
                                   sk_acceptq_is_full)
from .inet_hashtables import (InetHashinfo, __inet_inherit_port, __inet_lookup_established,
                              __inet_lookup_listener, _keyed_hash, inet_ehash_nolisten,
                              inet_hash, inet_hash_connect, inet_unhash, tcp_hashinfo)
from .inet_connection_sock import inet_csk_get_port
from .tcp import (tcp_rmem_uncharge, HZ, MAX_TCP_HEADER, TCP_MSS_DEFAULT, TCPHDR_ACK, TCPHDR_FIN,
                  TCPHDR_RST, TCPHDR_SYN, TcpHdr, TcpSkbCb, TcpSock, before, between, net_inc_stat,
                  tcp_clock_us, tcp_close, tcp_disconnect, tcp_getsockopt, tcp_init_sock, tcp_ioctl,
                  tcp_recvmsg, tcp_sendmsg, tcp_set_keepalive, tcp_set_state, tcp_setsockopt,
                  tcp_shutdown, tcp_write_queue_purge, tcp_clear_xmit_timers, tcp_orphan_count_dec,
                  tcp_clear_options, tcp_full_space, tcp_mstamp_refresh, TcpOptionsReceived)
from .tcp_cong import (tcp_ca_find, tcp_cleanup_congestion_control,
                       tcp_get_available_congestion_control)
from .tcp_states import (TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_NEW_SYN_RECV,
                         TCP_SYN_RECV, TCP_SYN_SENT, TCP_TIME_WAIT, TCPF_CLOSE, TCPF_LISTEN)
from . import ip_sockglue
from .icmp import icmp_err_convert
from .inet_timewait_sock import inet_twsk_deschedule_put
from .ip_output import (ip_build_and_send_pkt, ip_dont_fragment, ip_queue_xmit,
                        ip_send_unicast_reply, ip_sk_accept_pmtu)
from .route import (Flowi4, ip_route_connect, ip_route_newports, ip_route_output_flow,
                    ipv4_sk_redirect, ipv4_sk_update_pmtu, RTCF_BROADCAST, RTCF_MULTICAST)
from .tcp_input import (tcp_conn_request, tcp_done_with_error, tcp_initialize_rcv_mss,
                        tcp_parse_options, tcp_rcv_established, tcp_rcv_state_process,
                        tcp_simple_retransmit)
from .tcp_minisocks import (tcp_ca_openreq_child, tcp_check_req, tcp_child_process,
                            tcp_create_openreq_child, tcp_timewait_state_process, TCP_TW_ACK,
                            TCP_TW_RST, TCP_TW_SYN)
from .tcp_output import (__tcp_v4_send_check, tcp_connect, tcp_make_synack, tcp_mss_clamp,
                         tcp_select_initial_window, tcp_sync_mss)
from kstack.core.dst import (dst_check, dst_metric, dst_metric_advmss, dst_mtu, dst_update_pmtu,
                             RTAX_INITRWND, RTAX_WINDOW)
from kstack.core.request_sock import RequestSock

IPPROTO_TCP = 6
RTN_LOCAL = 2
ICMP_DEST_UNREACH = 3
ICMP_SOURCE_QUENCH = 4
ICMP_REDIRECT = 5
ICMP_TIME_EXCEEDED = 11
ICMP_PARAMETERPROB = 12
ICMP_NET_UNREACH = 0
ICMP_HOST_UNREACH = 1
ICMP_FRAG_NEEDED = 4
NR_ICMP_UNREACH = 15
_M32 = 0xFFFFFFFF
_TCPHDR = struct.Struct("!HHIIBBHHH")
_IPH_ADDRS = struct.Struct("!II")        # iphdr saddr, daddr (offset 12)


# --- ISN and TS offset (RFC 6528) -----------------------------------------------------------
def secure_tcp_seq(net, saddr: int, daddr: int, sport: int, dport: int) -> int:
    h = _keyed_hash(net, saddr, daddr, (sport << 16) | dport, 0x73657131) & _M32
    return (h + (int(net.clock.wall() * 1e9) >> 6)) & _M32


def secure_tcp_ts_off(net, saddr: int, daddr: int) -> int:
    if net.ipv4.sysctl_tcp_timestamps != 1:
        return 0
    return _keyed_hash(net, saddr, daddr, 0x74736f66) & _M32


def tcp_v4_init_seq(skb) -> int:
    iph = _iph_addrs(skb)
    th = skb.cb.th
    net = skb_net(skb)
    return secure_tcp_seq(net, iph[1], iph[0], th.dest, th.source)


def tcp_v4_init_ts_off(net, skb) -> int:
    saddr, daddr = _iph_addrs(skb)
    return secure_tcp_ts_off(net, daddr, saddr)


# --- small helpers ---------------------------------------------------------------------------------
def skb_net(skb):
    if skb.dev is not None and skb.dev.nd_net is not None:
        return skb.dev.nd_net
    return skb.sk.sk_net


def _iph_addrs(skb):
    """(saddr, daddr) of the received IP header."""
    return _IPH_ADDRS.unpack_from(skb.head, skb.network_header + 12)


def _iph_tos(skb) -> int:
    return skb.head[skb.network_header + 1]


def _iph_ttl(skb) -> int:
    return skb.head[skb.network_header + 8]


def tcp_segs_in(tp, skb) -> None:
    tp.segs_in += 1
    if skb.cb.end_seq != skb.cb.seq and skb.len > skb.cb.th.doff * 4:
        tp.data_segs_in += 1


def tcp_v4_fill_cb(skb, th: TcpHdr) -> None:
    old = skb.cb
    cb = TcpSkbCb()
    cb.header = old if not isinstance(old, TcpSkbCb) else old.header
    cb.th = th
    cb.seq = th.seq
    cb.end_seq = (th.seq + (1 if th.flags & TCPHDR_SYN else 0) + (1 if th.flags & TCPHDR_FIN else 0)
                  + skb.len - th.doff * 4) & _M32
    cb.ack_seq = th.ack_seq
    cb.tcp_flags = th.flags
    cb.ip_dsfield = _iph_tos(skb)
    cb.sacked = 0
    skb.cb = cb


def _parse_th(skb):
    """The TCP header at skb.data, or None if too short / doff bad."""
    h = skb.head
    d = skb.data
    if skb.len < 20:
        return None
    source, dest, seq, ack_seq, dr, flags, window, check, urg = _TCPHDR.unpack_from(h, d)
    th = TcpHdr()
    th.source = source
    th.dest = dest
    th.seq = seq
    th.ack_seq = ack_seq
    th.doff = dr >> 4
    th.res1 = dr & 0xF
    th.flags = flags
    th.window = window
    th.check = check
    th.urg_ptr = urg
    th.options = b""
    return th


def tcp_checksum_ok(skb) -> bool:
    if skb.ip_summed == CHECKSUM_UNNECESSARY:
        return True
    saddr, daddr = _iph_addrs(skb)
    seg = memoryview(skb.head)[skb.data:skb.tail]
    return csum_fold(saddr + daddr + len(seg) + IPPROTO_TCP + csum_partial(seg)) == 0


def _tcp_csum(saddr: int, daddr: int, seg: bytearray) -> None:
    c = csum_fold(saddr + daddr + len(seg) + IPPROTO_TCP + csum_partial(seg))
    seg[16] = c >> 8
    seg[17] = c & 0xFF


# --- replies without a full socket ------------------------------------------------------------------
def _send_reply(net, skb, seg: bytearray, tos: int, oif: int, mark: int = 0) -> None:
    saddr, daddr = _iph_addrs(skb)
    _tcp_csum(daddr, saddr, seg)
    ip_send_unicast_reply(net, skb, bytes(seg), IPPROTO_TCP, tos, None, oif, mark)


def tcp_v4_send_reset(sk, skb, reason=0) -> None:
    """RST for a segment that has no acceptable place (RFC 9293 §3.10.7.1): seq from its
    ACK, or ack its sequence space when it had no ACK. Never a RST for a RST."""
    th = skb.cb.th if isinstance(skb.cb, TcpSkbCb) else None
    if th is None:
        return
    if th.flags & TCPHDR_RST:
        return
    if sk is None:
        dst = skb._dst
        if dst is None or getattr(dst, "rt_type", RTN_LOCAL) != RTN_LOCAL:
            return
    net = sk.sk_net if sk is not None else skb_net(skb)
    seg = bytearray(20)
    if th.flags & TCPHDR_ACK:
        seq, ack, flags = th.ack_seq, 0, TCPHDR_RST
    else:
        # ack everything the segment occupied: seq + SYN + FIN + payload (cb.end_seq)
        seq, ack, flags = 0, skb.cb.end_seq, TCPHDR_RST | TCPHDR_ACK
    _TCPHDR.pack_into(seg, 0, th.dest, th.source, seq, ack, 5 << 4, flags, 0, 0, 0)
    oif = sk.sk_bound_dev_if if sk is not None else 0
    mark = 0
    if sk is not None:
        mark = sk.tw_mark if sk.sk_state == TCP_TIME_WAIT else getattr(sk, "sk_mark", 0)
    _send_reply(net, skb, seg, _iph_tos(skb), oif, mark)
    net.mib.Tcp["OutSegs"] += 1
    net.mib.Tcp["OutRsts"] += 1


def tcp_v4_send_ack(sk, skb, seq: int, ack: int, win: int, tsval: int, tsecr: int, oif: int,
                    tos: int) -> None:
    """A bare ACK from a TIME_WAIT or request sock (no full socket to send it)."""
    net = sk.sk_net
    th = skb.cb.th
    n = 32 if tsecr else 20
    seg = bytearray(n)
    _TCPHDR.pack_into(seg, 0, th.dest, th.source, seq & _M32, ack & _M32, (n // 4) << 4,
                      TCPHDR_ACK, win & 0xFFFF, 0, 0)
    if tsecr:
        seg[20:24] = b"\x01\x01\x08\x0a"
        struct.pack_into("!II", seg, 24, tsval & _M32, tsecr & _M32)
    _send_reply(net, skb, seg, tos, oif)
    net.mib.Tcp["OutSegs"] += 1


def tcp_v4_timewait_ack(tw, skb) -> None:
    tsval = (int(tw.sk_net.clock.now() * 1000 + 1e-6) + tw.tw_ts_offset) & _M32
    tcp_v4_send_ack(tw, skb, tw.tw_snd_nxt, tw.tw_rcv_nxt, tw.tw_rcv_wnd >> tw.tw_rcv_wscale,
                    tsval, tw.tw_ts_recent, tw.sk_bound_dev_if, tw.tw_tos)


def tcp_v4_reqsk_send_ack(sk, skb, req) -> None:
    """Out-of-window segment for a request sock: ACK with what the SYN-ACK said."""
    seq = (req.snt_isn + 1) & _M32
    tsval = (int(sk.sk_net.clock.now() * 1000 + 1e-6) + req.ts_off) & _M32
    tcp_v4_send_ack(sk, skb, seq, req.rcv_nxt, req.rsk_rcv_wnd >> req.rcv_wscale, tsval,
                    req.ts_recent if req.tstamp_ok else 0, 0, _iph_tos(skb))


# --- SYN-ACK ---------------------------------------------------------------------------------------
def inet_csk_route_req(sk, skb, req):
    net = sk.sk_net
    fl4 = Flowi4(daddr=req.ir_rmt_addr, saddr=req.ir_loc_addr, tos=sk.tos & 0xFC,
                 proto=IPPROTO_TCP, oif=sk.sk_bound_dev_if, fl4_sport=req.ir_num,
                 fl4_dport=req.ir_rmt_port, mark=sk.sk_mark)
    rt = ip_route_output_flow(net, fl4, sk)
    if isinstance(rt, int):
        net.mib.Ip["OutNoRoutes"] += 1
        return None
    return rt


def tcp_v4_send_synack(sk, dst, fl, req, skb_in=None) -> int:
    if dst is None:
        dst = inet_csk_route_req(sk, None, req)
        if dst is None:
            return -1
    skb = tcp_make_synack(sk, dst, req)
    __tcp_v4_send_check(skb, req.ir_loc_addr, req.ir_rmt_addr)
    skb._dst = dst
    skb.sk = sk
    err = ip_build_and_send_pkt(skb, sk, req.ir_loc_addr, req.ir_rmt_addr, req.ireq_opt)
    return 1 if err and err > 0 else 0 if not err else err


def tcp_v4_rtx_synack(sk, req) -> int:
    res = tcp_v4_send_synack(sk, None, None, req)
    if not res:
        net = sk.sk_net
        net.mib.Tcp["RetransSegs"] += 1
        net_inc_stat(net, "TCPSynRetrans")
    return res


class TcpRequestSockOps:
    """struct tcp_request_sock_ops (tcp_request_sock_ipv4_ops)."""
    mss_clamp = TCP_MSS_DEFAULT

    @staticmethod
    def init_req(req, sk, skb) -> None:
        saddr, daddr = _iph_addrs(skb)
        req.ir_loc_addr = daddr
        req.ir_rmt_addr = saddr
        req.ir_iif = skb.skb_iif
        req.ir_mark = sk.sk_mark
        req.syn_tos = _iph_tos(skb)

    @staticmethod
    def route_req(sk, skb, req):
        return inet_csk_route_req(sk, skb, req)

    @staticmethod
    def init_seq(skb) -> int:
        return tcp_v4_init_seq(skb)

    @staticmethod
    def init_ts_off(net, skb) -> int:
        return tcp_v4_init_ts_off(net, skb)

    @staticmethod
    def send_synack(sk, dst, fl, req, skb) -> int:
        return tcp_v4_send_synack(sk, dst, fl, req, skb)


tcp_request_sock_ipv4_ops = TcpRequestSockOps()


def tcp_v4_conn_request(sk, skb) -> int:
    """A SYN for a listener (never for broadcast/multicast destinations)."""
    dst = skb._dst
    if dst is not None and getattr(dst, "rt_flags", 0) & (0x10000000 | 0x20000000):
        net_inc_stat(sk.sk_net, "ListenDrops")
        return 0
    return tcp_conn_request(None, tcp_request_sock_ipv4_ops, sk, skb)


def tcp_v4_syn_recv_sock(sk, skb, req, dst, req_unhash):
    """Make the child for a completed handshake: (child, own_req) or (None, False)."""
    net = sk.sk_net
    if sk_acceptq_is_full(sk):
        net_inc_stat(net, "ListenOverflows")
        net_inc_stat(net, "ListenDrops")
        return None, False
    newsk = tcp_create_openreq_child(sk, req, skb)
    newsk.mc_index = skb.skb_iif
    newsk.mc_ttl = _iph_ttl(skb)
    newsk.rcv_tos = _iph_tos(skb)
    newsk.icsk_ext_hdr_len = 0
    newsk.inet_id = net.rng.get_random_u16()
    if dst is None:
        dst = getattr(req, "req_dst", None) or inet_csk_route_req(sk, skb, req)
        if dst is None:
            newsk.sk_state = TCP_CLOSE
            net_inc_stat(net, "ListenDrops")
            return None, False
    newsk.sk_dst_cache = dst
    tcp_ca_openreq_child(newsk, dst)
    tcp_sync_mss(newsk, dst_mtu(dst))
    newsk.advmss = tcp_mss_clamp(sk, dst_metric_advmss(dst))
    tcp_initialize_rcv_mss(newsk)
    newsk.cork.fl = Flowi4(daddr=req.ir_rmt_addr, saddr=req.ir_loc_addr, proto=IPPROTO_TCP,
                           fl4_sport=req.ir_num, fl4_dport=req.ir_rmt_port)
    __inet_inherit_port(sk, newsk)
    own_req = inet_ehash_nolisten(newsk, req_unhash)
    return newsk, own_req


def tcp_v4_rebuild_header(sk) -> int:
    """inet_sk_rebuild_header: make sure the socket has a route."""
    dst = sk.sk_dst_cache
    if dst is not None and dst_check(dst, 0) is not None:
        return 0
    sk.sk_dst_cache = None
    fl4 = Flowi4(daddr=sk.inet_daddr, saddr=sk.inet_saddr, tos=sk.tos & 0xFC, proto=IPPROTO_TCP,
                 oif=sk.sk_bound_dev_if, fl4_sport=sk.inet_sport, fl4_dport=sk.inet_dport,
                 mark=sk.sk_mark)
    rt = ip_route_output_flow(sk.sk_net, fl4, sk)
    if isinstance(rt, int):
        sk.sk_err_soft = -rt
        return rt
    sk.sk_dst_cache = rt
    sk.cork.fl = fl4
    return 0


ipv4_specific = InetConnectionSockAfOps(
    queue_xmit=ip_queue_xmit,
    send_check=None,
    rebuild_header=tcp_v4_rebuild_header,
    conn_request=tcp_v4_conn_request,
    syn_recv_sock=tcp_v4_syn_recv_sock,
    net_header_len=20,
    setsockopt=None,
    getsockopt=None,
    mtu_reduced=None,
)


def _ip_setsockopt(sk, level, optname, optval):
    return ip_sockglue.ip_setsockopt(sk, level, optname, optval)


def _ip_getsockopt(sk, level, optname, buflen):
    return ip_sockglue.ip_getsockopt(sk, level, optname, buflen)


ipv4_specific.setsockopt = _ip_setsockopt
ipv4_specific.getsockopt = _ip_getsockopt


# --- SYN cookies (net/ipv4/syncookies.c; RFC 4987 3.6) ---------------------------------------
# When the SYN queue is full (or tcp_syncookies=2) the listener keeps no state: the SYN-ACK's
# ISN encodes a keyed hash of the 4-tuple, a 60 s counter and an MSS index, and with
# timestamps the TS val's low 6 bits carry wscale/SACK/ECN. A returning ACK that carries a
# valid cookie makes the child directly (cookie_v4_check).
COOKIEBITS = 24
COOKIEMASK = (1 << COOKIEBITS) - 1
MAX_SYNCOOKIE_AGE = 2
TCP_SYNCOOKIE_PERIOD = 60 * HZ
TCP_SYNCOOKIE_VALID = MAX_SYNCOOKIE_AGE * TCP_SYNCOOKIE_PERIOD
TSBITS = 6
TS_OPT_WSCALE_MASK = 0xF
TS_OPT_SACK = 1 << 4
TS_OPT_ECN = 1 << 5
msstab = (536, 1300, 1440, 1460)


def _jiffies(net) -> int:
    return int(net.clock.now() * HZ + 1e-6)


def tcp_cookie_time(net) -> int:
    return (_jiffies(net) // TCP_SYNCOOKIE_PERIOD) & _M32


def cookie_hash(net, saddr, daddr, sport, dport, count, c) -> int:
    return _keyed_hash(net, saddr, daddr, (sport << 16) | dport, count, 0x636b0000 + c) & _M32


def secure_tcp_syn_cookie(net, saddr, daddr, sport, dport, sseq, data) -> int:
    count = tcp_cookie_time(net)
    return (cookie_hash(net, saddr, daddr, sport, dport, 0, 0) + sseq + (count << COOKIEBITS) +
            ((cookie_hash(net, saddr, daddr, sport, dport, count, 1) + data) & COOKIEMASK)) & _M32


def check_tcp_syn_cookie(net, cookie, saddr, daddr, sport, dport, sseq) -> int:
    """The MSS index the cookie carries, or 0xFFFFFFFF if it is too old (2 periods)."""
    count = tcp_cookie_time(net)
    cookie = (cookie - (cookie_hash(net, saddr, daddr, sport, dport, 0, 0) + sseq)) & _M32
    diff = (count - (cookie >> COOKIEBITS)) & (_M32 >> COOKIEBITS)
    if diff >= MAX_SYNCOOKIE_AGE:
        return _M32
    return (cookie - cookie_hash(net, saddr, daddr, sport, dport, (count - diff) & _M32, 1)) & COOKIEMASK


def __cookie_v4_init_sequence(net, saddr, daddr, sport, dport, seq, mss):
    """(isn, the MSS the cookie can encode: the largest msstab entry <= mss)."""
    mssind = len(msstab) - 1
    while mssind and mss < msstab[mssind]:
        mssind -= 1
    return secure_tcp_syn_cookie(net, saddr, daddr, sport, dport, seq, mssind), msstab[mssind]


def __cookie_v4_check(net, saddr, daddr, sport, dport, seq, ack_seq) -> int:
    mssind = check_tcp_syn_cookie(net, (ack_seq - 1) & _M32, saddr, daddr, sport, dport,
                                  (seq - 1) & _M32)
    return msstab[mssind] if mssind < len(msstab) else 0


def tcp_synq_overflow(sk) -> None:
    """Remember when the SYN queue last overflowed (the listener's ts_recent_stamp)."""
    now = _jiffies(sk.sk_net)
    last = sk.rx_opt.ts_recent_stamp
    if not (last <= now <= last + HZ):
        sk.rx_opt.ts_recent_stamp = now


def tcp_synq_no_recent_overflow(sk) -> bool:
    now = _jiffies(sk.sk_net)
    last = sk.rx_opt.ts_recent_stamp
    return not (last - HZ <= now <= last + TCP_SYNCOOKIE_VALID)


def cookie_init_sequence(sk, skb, req) -> int:
    """tcp_input.c cookie_init_sequence: counts SyncookiesSent; sets req.mss."""
    net = sk.sk_net
    tcp_synq_overflow(sk)
    net_inc_stat(net, "SyncookiesSent")
    saddr, daddr = _iph_addrs(skb)
    th = skb.cb.th
    isn, req.mss = __cookie_v4_init_sequence(net, saddr, daddr, th.source, th.dest, th.seq, req.mss)
    return isn


def cookie_init_timestamp(req, now_us: int) -> int:
    """The TS val (before ts_off) of a cookie SYN-ACK: ms clock with the low 6 bits holding
    wscale (0xF: none), SACK and ECN, never ahead of the clock."""
    ts_now = now_us // 1000
    options = req.snd_wscale if req.wscale_ok else TS_OPT_WSCALE_MASK
    if req.sack_ok:
        options |= TS_OPT_SACK
    if req.ecn_ok:
        options |= TS_OPT_ECN
    ts = ((ts_now >> TSBITS) << TSBITS) | options
    if ts > ts_now:
        ts -= 1 << TSBITS
    return ts


def cookie_timestamp_decode(net, opt) -> bool:
    if not opt.saw_tstamp:
        tcp_clear_options(opt)
        return True
    if not net.ipv4.sysctl_tcp_timestamps:
        return False
    options = opt.rcv_tsecr
    opt.sack_ok = 1 if options & TS_OPT_SACK else 0
    if opt.sack_ok and not net.ipv4.sysctl_tcp_sack:
        return False
    if (options & TS_OPT_WSCALE_MASK) == TS_OPT_WSCALE_MASK:
        return True
    opt.wscale_ok = 1
    opt.snd_wscale = options & TS_OPT_WSCALE_MASK
    return net.ipv4.sysctl_tcp_window_scaling != 0


def cookie_v4_check(sk, skb):
    """An ACK on a listener: if it carries a valid cookie, make the child (returns it); sk
    when it is not a cookie (the listener answers it); None to drop it."""
    net = sk.sk_net
    cb = skb.cb
    th = cb.th
    if not net.ipv4.sysctl_tcp_syncookies or not (th.flags & TCPHDR_ACK) or th.flags & TCPHDR_RST:
        return sk
    if tcp_synq_no_recent_overflow(sk):
        return sk
    saddr, daddr = _iph_addrs(skb)
    mss = __cookie_v4_check(net, saddr, daddr, th.source, th.dest, th.seq, th.ack_seq)
    if not mss:
        net_inc_stat(net, "SyncookiesFailed")
        return sk
    net_inc_stat(net, "SyncookiesRecv")
    opt = TcpOptionsReceived()
    tcp_parse_options(net, skb, opt, False)
    tsoff = 0
    if opt.saw_tstamp and opt.rcv_tsecr:
        tsoff = secure_tcp_ts_off(net, daddr, saddr)
        opt.rcv_tsecr = (opt.rcv_tsecr - tsoff) & _M32
    if not cookie_timestamp_decode(net, opt):
        return sk
    req = RequestSock(sk)
    tcp_request_sock_ipv4_ops.init_req(req, sk, skb)
    req.ir_rmt_port = th.source
    req.ir_num = th.dest
    req.rcv_isn = (th.seq - 1) & _M32
    req.rcv_nxt = th.seq & _M32
    req.snt_isn = (th.ack_seq - 1) & _M32
    req.mss = mss
    req.snd_wscale = opt.snd_wscale
    req.sack_ok = opt.sack_ok
    req.wscale_ok = opt.wscale_ok
    req.tstamp_ok = opt.saw_tstamp
    req.ts_recent = opt.rcv_tsval if opt.saw_tstamp else 0
    req.ts_off = tsoff
    req.syncookie = 1
    dst = inet_csk_route_req(sk, skb, req)
    if dst is None:
        return None
    req.req_dst = dst
    tp = sk
    req.rsk_window_clamp = tp.window_clamp or dst_metric(dst, RTAX_WINDOW)
    full_space = tcp_full_space(sk)
    if sk.sk_userlocks & SOCK_RCVBUF_LOCK and \
            (req.rsk_window_clamp > full_space or req.rsk_window_clamp == 0):
        req.rsk_window_clamp = full_space
    req.rsk_rcv_wnd, req.rsk_window_clamp, req.rcv_wscale = tcp_select_initial_window(
        sk, full_space, req.mss, dst_metric(dst, RTAX_INITRWND), req.rsk_window_clamp,
        bool(req.wscale_ok))
    # tcp_get_cookie_sock
    child, own_req = sk.icsk_af_ops.syn_recv_sock(sk, skb, req, dst, None)
    if child is None:
        return None
    if not inet_csk_reqsk_queue_add(sk, req, child):
        return None
    return child


# --- connect --------------------------------------------------------------------------------
def tcp_v4_connect(sk, uaddr) -> int:
    """connect(): route, pick a source port (inet_hash_connect), ISN, send the SYN."""
    net = sk.sk_net
    if uaddr.sin_family != 2:
        return -EAFNOSUPPORT
    nexthop = daddr = uaddr.sin_addr
    orig_sport = sk.inet_sport
    orig_dport = uaddr.sin_port
    fl4 = Flowi4()
    rt = ip_route_connect(net, fl4, nexthop, sk.inet_saddr, sk.sk_bound_dev_if, IPPROTO_TCP,
                          orig_sport, orig_dport, sk)
    if isinstance(rt, int):
        if rt == -ENETUNREACH:
            net.mib.Ip["OutNoRoutes"] += 1
        return rt
    if rt.rt_flags & (RTCF_MULTICAST | RTCF_BROADCAST):
        return -ENETUNREACH
    daddr = fl4.daddr
    if not sk.inet_saddr:
        sk.inet_saddr = fl4.saddr
    sk.inet_rcv_saddr = sk.inet_saddr
    if sk.rx_opt.ts_recent_stamp and sk.inet_daddr != daddr:
        sk.rx_opt.ts_recent = 0
        sk.rx_opt.ts_recent_stamp = 0
        sk.write_seq = 0
    sk.inet_dport = uaddr.sin_port
    sk.inet_daddr = daddr
    sk.icsk_ext_hdr_len = 0
    sk.rx_opt.mss_clamp = TCP_MSS_DEFAULT
    tcp_set_state(sk, TCP_SYN_SENT)
    err = inet_hash_connect(net.ipv4.tcp_hashinfo, sk)
    if err:
        return _connect_failure(sk, err)
    rt = ip_route_newports(net, fl4, rt, orig_sport, orig_dport, sk.inet_sport, sk.inet_dport, sk)
    if isinstance(rt, int):
        return _connect_failure(sk, rt)
    sk_dst_set(sk, rt)
    sk.cork.fl = fl4
    if not sk.write_seq:
        sk.write_seq = secure_tcp_seq(net, sk.inet_saddr, sk.inet_daddr, sk.inet_sport, uaddr.sin_port)
    sk.tsoffset = secure_tcp_ts_off(net, sk.inet_saddr, sk.inet_daddr)
    sk.inet_id = net.rng.get_random_u16()
    err = tcp_connect(sk)
    if err:
        return _connect_failure(sk, err)
    return 0


def _connect_failure(sk, err: int) -> int:
    tcp_set_state(sk, TCP_CLOSE)
    sk.sk_dst_cache = None
    sk.inet_dport = 0
    return err


# --- receive ----------------------------------------------------------------------------------
def tcp_v4_do_rcv(sk, skb) -> int:
    """A segment for a (full or listening) socket."""
    if sk.sk_state == TCP_ESTABLISHED:
        tcp_rcv_established(sk, skb)
        return 0
    if sk.sk_state == TCP_LISTEN:
        nsk = sk if skb.cb.th.flags & TCPHDR_SYN else cookie_v4_check(sk, skb)
        if nsk is None:
            kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
            return 0
        if nsk is not sk:
            if tcp_child_process(sk, nsk, skb):
                tcp_v4_send_reset(nsk, skb)
                kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
            return 0
    if tcp_rcv_state_process(sk, skb):
        tcp_v4_send_reset(sk, skb)
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
    return 0


def tcp_v4_rcv(skb) -> int:
    """inet_protos[IPPROTO_TCP].handler: skb.data at the TCP header. Never raises."""
    net = skb_net(skb)
    try:
        return _tcp_v4_rcv(net, skb)
    except Exception as e:   # a bug must not take the stack down: record, drop
        net.bug(e, "tcp_v4_rcv")
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
        return 0


def _tcp_v4_rcv(net, skb) -> int:
    if skb.pkt_type != PACKET_HOST:
        kfree_skb(skb, SkbDropReason.OTHERHOST)
        return 0
    mib = net.mib.Tcp
    mib["InSegs"] += 1
    th = _parse_th(skb)
    if th is None:
        kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
        return 0
    if th.doff < 5:
        mib["InErrs"] += 1
        kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
        return 0
    if skb.len < th.doff * 4:
        kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
        return 0
    if not tcp_checksum_ok(skb):
        mib["InCsumErrors"] += 1
        mib["InErrs"] += 1
        kfree_skb(skb, SkbDropReason.TCP_CSUM)
        return 0
    # After the checksum passed, trust it from here on (skb_checksum_init done).
    skb.ip_summed = CHECKSUM_UNNECESSARY
    if th.doff > 5:
        th.options = bytes(skb.head[skb.data + 20:skb.data + th.doff * 4])
    saddr, daddr = _iph_addrs(skb)
    tcp_v4_fill_cb(skb, th)
    hinfo = net.ipv4.tcp_hashinfo
    dif = skb.skb_iif
    while True:   # "lookup:" label
        sk = __inet_lookup_established(net, hinfo, saddr, th.source, daddr, th.dest, dif)
        if sk is None:
            sk = __inet_lookup_listener(net, hinfo, saddr, th.source, daddr, th.dest, dif)
        if sk is None:
            # no_tcp_socket
            tcp_v4_send_reset(None, skb)
            kfree_skb(skb, SkbDropReason.NO_SOCKET)
            return 0
        st = sk.sk_state
        if st == TCP_TIME_WAIT:
            status, isn = tcp_timewait_state_process(sk, skb, th)
            if status == TCP_TW_SYN:
                sk2 = __inet_lookup_listener(net, hinfo, saddr, th.source, daddr, th.dest, dif)
                if sk2 is not None:
                    inet_twsk_deschedule_put(sk)
                    skb.cb.tcp_tw_isn = isn
                    sk = sk2
                    return _process(sk, skb)
                status = TCP_TW_ACK
            if status == TCP_TW_ACK:
                tcp_v4_timewait_ack(sk, skb)
            elif status == TCP_TW_RST:
                tcp_v4_send_reset(sk, skb)
                inet_twsk_deschedule_put(sk)
            kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
            return 0
        if st == TCP_NEW_SYN_RECV:
            req = sk
            sk = req.rsk_listener
            if sk.sk_state != TCP_LISTEN:
                inet_csk_reqsk_queue_drop(sk, req)
                continue
            tcp_mstamp_refresh(sk)
            nsk = tcp_check_req(sk, skb, req)
            if nsk is None:
                kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
                return 0
            if nsk is sk:
                return _process(sk, skb)
            if tcp_child_process(sk, nsk, skb):
                tcp_v4_send_reset(nsk, skb)
                kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
            return 0
        return _process(sk, skb)


def _process(sk, skb) -> int:
    min_ttl = sk.min_ttl
    if min_ttl and _iph_ttl(skb) < min_ttl:
        net_inc_stat(sk.sk_net, "TCPMinTTLDrop")
        kfree_skb(skb, SkbDropReason.TCP_MINTTL)
        return 0
    if sk.sk_state == TCP_LISTEN:
        tcp_mstamp_refresh(sk)
        return tcp_v4_do_rcv(sk, skb)
    tcp_segs_in(sk, skb)
    return tcp_v4_do_rcv(sk, skb)


# --- ICMP errors (RFC 1122 §4.2.3.9, RFC 5927 §4.1 sequence check) ------------------------------------
def tcp_v4_err(skb, info: int) -> int:
    net = skb_net(skb)
    try:
        return _tcp_v4_err(net, skb, info)
    except Exception as e:
        net.bug(e, "tcp_v4_err")
        return 0


def _tcp_v4_err(net, skb, info: int) -> int:
    h = skb.head
    d = skb.data
    ihl = (h[d] & 0x0F) << 2
    q_saddr = int.from_bytes(h[d + 12:d + 16], "big")
    q_daddr = int.from_bytes(h[d + 16:d + 20], "big")
    t = d + ihl
    if skb.tail - t < 8:
        net.mib.Icmp["InErrors"] += 1
        return -ENOENT
    sport = (h[t] << 8) | h[t + 1]
    dport = (h[t + 2] << 8) | h[t + 3]
    seq = int.from_bytes(h[t + 4:t + 8], "big")
    ih = skb.transport_header
    type_ = h[ih]
    code = h[ih + 1]
    sk = __inet_lookup_established(net, net.ipv4.tcp_hashinfo, q_daddr, dport, q_saddr, sport,
                                   skb.skb_iif)
    if sk is None:
        net.mib.Icmp["InErrors"] += 1
        return -ENOENT
    if sk.sk_state == TCP_TIME_WAIT:
        return 0
    if sk.sk_state == TCP_NEW_SYN_RECV:
        _tcp_req_err(sk, seq, type_ == ICMP_PARAMETERPROB or type_ == ICMP_TIME_EXCEEDED or
                     (type_ == ICMP_DEST_UNREACH and code in (ICMP_NET_UNREACH, ICMP_HOST_UNREACH)))
        return 0
    if sk.sk_state == TCP_CLOSE:
        return 0
    tp = sk
    snd_una = tp.snd_una
    if sk.sk_state != TCP_LISTEN and not between(seq, snd_una, tp.snd_nxt):
        net_inc_stat(net, "OutOfWindowIcmps")
        return 0
    if type_ == ICMP_REDIRECT:
        ipv4_sk_redirect(skb, sk)
        return 0
    if type_ == ICMP_SOURCE_QUENCH:
        return 0
    if type_ == ICMP_PARAMETERPROB:
        err = EPROTO
    elif type_ == ICMP_DEST_UNREACH:
        if code > NR_ICMP_UNREACH:
            return 0
        if code == ICMP_FRAG_NEEDED:
            if sk.sk_state == TCP_LISTEN:
                return 0
            tp.mtu_info = info
            tcp_v4_mtu_reduced(sk)
            return 0
        err = icmp_err_convert[code][0]
    elif type_ == ICMP_TIME_EXCEEDED:
        err = _EHU
    else:
        return 0
    if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV):
        tcp_done_with_error(sk, err)
        return 0
    if getattr(sk, "recverr", 0):
        sk.sk_err = err
        sk.sk_error_report(sk)
    else:
        sk.sk_err_soft = err
    return 0


def _tcp_req_err(req, seq: int, abort: bool) -> None:
    net = req.sk_net
    if seq != req.snt_isn:
        net_inc_stat(net, "OutOfWindowIcmps")
    elif abort:
        inet_csk_reqsk_queue_drop(req.rsk_listener, req)
        net_inc_stat(net, "ListenDrops")


def tcp_v4_mtu_reduced(sk) -> None:
    """ICMP frag needed (RFC 1191): shrink the MSS and resend what was too big at once."""
    if (1 << sk.sk_state) & (TCPF_LISTEN | TCPF_CLOSE):
        return
    mtu = sk.mtu_info
    dst = inet_csk_update_pmtu(sk, mtu)
    if dst is None:
        return
    if mtu < dst_mtu(dst) and ip_dont_fragment(sk, dst):
        sk.sk_err_soft = EMSGSIZE
    mtu = dst_mtu(dst)
    if sk.pmtudisc != IP_PMTUDISC_DONT and ip_sk_accept_pmtu(sk) and sk.icsk_pmtu_cookie > mtu:
        tcp_sync_mss(sk, mtu)
        tcp_simple_retransmit(sk)


def inet_csk_update_pmtu(sk, mtu: int):
    dst = __sk_dst_check(sk, 0)
    if dst is None:
        if tcp_v4_rebuild_header(sk):
            return None
        dst = sk.sk_dst_cache
    dst_update_pmtu(dst, sk, None, mtu)
    dst = __sk_dst_check(sk, 0)
    if dst is None:
        if tcp_v4_rebuild_header(sk):
            return None
        dst = sk.sk_dst_cache
    return dst


# --- socket life ---------------------------------------------------------------------------------
def tcp_v4_init_sock(sk) -> int:
    tcp_init_sock(sk)
    sk.icsk_af_ops = ipv4_specific
    return 0


def tcp_v4_destroy_sock(sk) -> None:
    """Everything a dead TCP socket still holds: timers, queues, congestion state."""
    tcp_clear_xmit_timers(sk)
    t = getattr(sk, "compressed_ack_timer", None)
    if t is not None and t.pending:
        sk.sk_net.timers.del_timer(t)
    tcp_cleanup_congestion_control(sk)
    tcp_write_queue_purge(sk)
    for skb in sk.out_of_order_queue:
        tcp_rmem_uncharge(sk, skb.truesize)
    sk.out_of_order_queue = []
    q = sk.sk_receive_queue.q
    while q:
        skb = q.popleft()
        tcp_rmem_uncharge(sk, skb.truesize)
    tcp_orphan_count_dec(sk)


def tcp_set_rcvlowat(sk, val: int) -> int:
    sk.sk_rcvlowat = val or 1
    return 0


def tcp_hash(sk) -> int:
    return inet_hash(sk)


tcp_prot = Proto(
    name="TCP",
    close=tcp_close,
    connect=tcp_v4_connect,
    disconnect=tcp_disconnect,
    accept=inet_csk_accept,
    ioctl=tcp_ioctl,
    init=tcp_v4_init_sock,
    destroy=tcp_v4_destroy_sock,
    shutdown=tcp_shutdown,
    setsockopt=tcp_setsockopt,
    getsockopt=tcp_getsockopt,
    keepalive=tcp_set_keepalive,
    recvmsg=tcp_recvmsg,
    sendmsg=tcp_sendmsg,
    backlog_rcv=tcp_v4_do_rcv,
    hash=tcp_hash,
    unhash=inet_unhash,
    get_port=inet_csk_get_port,
    set_rcvlowat=tcp_set_rcvlowat,
    sock_class=TcpSock,
    sysctl_wmem=lambda net: net.ipv4.sysctl_tcp_wmem,
    sysctl_rmem=lambda net: net.ipv4.sysctl_tcp_rmem,
    max_header=MAX_TCP_HEADER,
    no_autobind=True,
)


# --- per-namespace state and sysctls (tcp_sk_init, ipv4_net_table's tcp rows) ------------------
class _AvailableCongestionControl:
    @property
    def value(self) -> str:
        return tcp_get_available_congestion_control()


_avail_cc = _AvailableCongestionControl()

# name, default, handler, min, max  (as Linux 6.18 defines them; u8 rows are 0..255)
_U8 = (0, 255)
TCP_SYSCTLS = [
    ("tcp_timestamps", 1, _U8), ("tcp_window_scaling", 1, _U8), ("tcp_sack", 1, _U8),
    ("tcp_dsack", 1, _U8), ("tcp_fack", 0, _U8),
    ("tcp_syn_retries", 6, (1, 127)), ("tcp_synack_retries", 5, _U8),
    ("tcp_syn_linear_timeouts", 4, (0, 127)),
    ("tcp_retries1", 3, (0, 255)), ("tcp_retries2", 15, _U8), ("tcp_orphan_retries", 0, _U8),
    ("tcp_fin_timeout", 60, (None, None)),                 # seconds (proc_dointvec_jiffies)
    ("tcp_keepalive_time", 7200, (None, None)), ("tcp_keepalive_intvl", 75, (None, None)),
    ("tcp_keepalive_probes", 9, _U8),
    ("tcp_max_syn_backlog", 2048, (None, None)), ("tcp_syncookies", 1, _U8),
    ("tcp_abort_on_overflow", 0, _U8), ("tcp_ecn", 2, (0, 2)), ("tcp_ecn_fallback", 1, _U8),
    ("tcp_fastopen", 1, (None, None)),
    ("tcp_slow_start_after_idle", 1, _U8), ("tcp_early_retrans", 3, (0, 4)),
    ("tcp_recovery", 1, (None, None)), ("tcp_frto", 2, _U8), ("tcp_reordering", 3, (1, None)),
    ("tcp_max_reordering", 300, (1, None)), ("tcp_tso_win_divisor", 3, _U8),
    ("tcp_min_tso_segs", 2, (1, 255)), ("tcp_tso_rtt_log", 9, _U8),
    ("tcp_notsent_lowat", UINT_MAX, (0, UINT_MAX)),
    ("tcp_adv_win_scale", 1, (-31, 31)), ("tcp_app_win", 31, (0, 31)),
    ("tcp_moderate_rcvbuf", 1, _U8), ("tcp_mtu_probing", 0, _U8), ("tcp_base_mss", 1024, (None, None)),
    ("tcp_mtu_probe_floor", 48, (48, 65535)), ("tcp_min_snd_mss", 48, (48, 65535)),
    ("tcp_probe_threshold", 8, (None, None)), ("tcp_probe_interval", 600, (None, None)),
    ("tcp_tw_reuse", 2, (0, 2)), ("tcp_tw_reuse_delay", 1000, (1, None)),
    ("tcp_max_tw_buckets", 131072, (None, None)), ("tcp_rfc1337", 0, _U8),
    ("tcp_challenge_ack_limit", INT_MAX, (None, None)), ("tcp_invalid_ratelimit", 500, (0, None)),
    ("tcp_limit_output_bytes", 4194304, (None, None)), ("tcp_pacing_ss_ratio", 200, (0, 3000)),
    ("tcp_pacing_ca_ratio", 120, (0, 3000)), ("tcp_no_metrics_save", 0, _U8),
    ("tcp_no_ssthresh_metrics_save", 1, (0, 1)), ("tcp_min_rtt_wlen", 300, (0, 86400)),
    ("tcp_comp_sack_nr", 44, (0, 255)), ("tcp_comp_sack_delay_ns", 1000000, (None, None)),
    ("tcp_comp_sack_slack_ns", 100000, (None, None)), ("tcp_workaround_signed_windows", 0, _U8),
    ("tcp_shrink_window", 0, (0, 1)), ("tcp_autocorking", 1, (0, 1)),
    ("tcp_thin_linear_timeouts", 0, _U8), ("tcp_retrans_collapse", 1, _U8),
    ("tcp_stdurg", 0, _U8), ("tcp_reflect_tos", 0, (0, 1)), ("tcp_backlog_ack_defer", 1, (0, 1)),
    ("tcp_pingpong_thresh", 1, (1, None)), ("tcp_max_orphans", 131072, (None, None)),
    ("tcp_rto_min_us", 200000, (1, None)), ("tcp_rto_max_ms", 120000, (1000, 120000)),
    ("tcp_ecn_option", 2, (0, 2)), ("tcp_fwmark_accept", 0, _U8), ("tcp_l3mdev_accept", 0, (0, 1)),
    ("tcp_low_latency", 0, _U8),
]


def tcp_sk_init(net) -> None:
    """Per-namespace TCP: hash tables, defaults of every net.ipv4.tcp_* sysctl, the default
    congestion control (cubic), the challenge-ACK and orphan counters."""
    v = net.ipv4
    if v is None:
        net.bug(RuntimeError("tcp_sk_init before net.ipv4 exists"), "tcp_sk_init")
        return
    v.tcp_hashinfo = InetHashinfo(net)
    v.tcp_death_row = v.tcp_hashinfo
    v.tcp_orphan_count = 0
    v.tcp_challenge_timestamp = 0
    v.tcp_challenge_count = 0
    rows = []
    for name, default, (lo, hi) in TCP_SYSCTLS:
        attr = "sysctl_" + name
        setattr(v, attr, default)
        handler = "dointvec_minmax" if (lo is not None or hi is not None) else "dointvec"
        rows.append(CtlTable(name, v, attr, handler, lo, hi))
    v.sysctl_tcp_rmem = [4096, 131072, 6291456]
    v.sysctl_tcp_wmem = [4096, 16384, 4194304]
    rows.append(CtlTable("tcp_rmem", v, "sysctl_tcp_rmem", "dointvec_vec", [1, 1, 1], None, maxlen=3))
    rows.append(CtlTable("tcp_wmem", v, "sysctl_tcp_wmem", "dointvec_vec", [1, 1, 1], None, maxlen=3))
    cubic = tcp_ca_find("cubic") or tcp_ca_find("reno")
    v.tcp_congestion_control = cubic
    v.sysctl_tcp_congestion_control = cubic.name

    def set_cc(name: str) -> int:
        ca = tcp_ca_find(name)
        if ca is None:
            return -ENOENT
        v.tcp_congestion_control = ca
        return 0

    rows.append(CtlTable("tcp_congestion_control", v, "sysctl_tcp_congestion_control", "dostring",
                         set_cc, maxlen=16))
    rows.append(CtlTable("tcp_available_congestion_control", _avail_cc, "value", "dostring",
                         mode=0o444))
    rows.append(CtlTable("tcp_allowed_congestion_control", _avail_cc, "value", "dostring",
                         mode=0o444))
    register_net_sysctl(net, "net/ipv4", rows)
