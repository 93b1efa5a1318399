"""net/ipv4/tcp.c, include/net/tcp.h, include/linux/tcp.h — struct tcp_sock, the inline
helpers of tcp.h, and the socket-facing half of TCP: tcp_init_sock, tcp_set_state,
tcp_sendmsg, tcp_recvmsg, tcp_close, tcp_shutdown, tcp_disconnect, tcp_poll, tcp_ioctl,
tcp_setsockopt / tcp_getsockopt and tcp_get_info (TCP_INFO). RFC 9293 §3.10 (user calls),
RFC 1122 §4.2.2.13 and RFC 2525 §2.17 (close with unread data sends RST), RFC 8985 /
RFC 5681 via the modules this one calls.

Conventions. A socket is one object: sk is the tcp_sock, inet_connection_sock, inet_sock
and sock at once (tcp_sk(sk) is sk). Sequence numbers are u32 ints compared with
before()/after(). Time: jiffies (HZ=1000) for timers and RTO (icsk_rto), microseconds
(tcp_mstamp) for RTT, milliseconds for the TS option clock, as Linux.

Import order: the TCP modules import the ones below them at module level (tcp_states,
tcp_cong, inet_* < tcp < tcp_recovery < tcp_output < tcp_minisocks < tcp_input < tcp_timer
< tcp_ipv4). Calls upwards go through LateModule references (tcp_output.tcp_send_ack(sk)):
no import runs on the data path, and any module may be imported first.
"""
import importlib
import struct

from kstack.core.errno import (EAGAIN, EFAULT, EINVAL, EISCONN, ENOENT, ENOPROTOOPT, ENOTCONN,
                               EOPNOTSUPP, EPERM, EPIPE, ECONNRESET)
from kstack.core.skbuff import SkBuffHead, kfree_skb, consume_skb, alloc_skb, skb_put_data
from kstack.core.sock import (MSG_DONTWAIT, MSG_MORE, MSG_NOSIGNAL, MSG_OOB, MSG_PEEK, MSG_TRUNC,
                              MSG_WAITALL, MSG_EOR, RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK,
                              SOCK_BINDPORT_LOCK, SOCK_DEAD, SOCK_DONE, SOCK_KEEPOPEN, SOCK_LINGER,
                              SOCK_RCVBUF_LOCK, SOCK_SNDBUF_LOCK, SOCK_USE_WRITE_QUEUE, SOL_SOCKET,
                              OptInt, copy_from_iter, memcpy_to_msg, msg_data_left, put_bytes,
                              put_int, sk_wait_event, sock_error, sock_flag, sock_hold, sock_orphan,
                              sock_put, sock_rcvtimeo, sock_reset_flag, sock_set_flag,
                              sock_sndtimeo, sockopt_int, optlen_of, SOCK_BINDADDR_LOCK)
from kstack.core.wait import (EPOLLERR, EPOLLHUP, EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDBAND,
                              EPOLLRDHUP, EPOLLRDNORM, EPOLLWRBAND, EPOLLWRNORM)

from .inet_connection_sock import (HZ, ICSK_ACK_PUSHED, ICSK_ACK_PUSHED2, ICSK_TIME_DACK,
                                   ICSK_TIME_LOSS_PROBE, ICSK_TIME_PROBE0, ICSK_TIME_REO_TIMEOUT,
                                   ICSK_TIME_RETRANS, InetConnectionSock,
                                   inet_csk_ack_scheduled, inet_csk_clear_xmit_timers,
                                   inet_csk_delete_keepalive_timer, inet_csk_destroy_sock,
                                   inet_csk_in_pingpong_mode, inet_csk_listen_poll,
                                   inet_csk_listen_stop, inet_csk_reset_keepalive_timer,
                                   inet_csk_reset_xmit_timer, inet_csk_enter_pingpong_mode,
                                   inet_csk_exit_pingpong_mode)
from .tcp_cong import (TCP_CA_Open, TCP_INFINITE_SSTHRESH, tcp_assign_congestion_control,
                       tcp_ca_find, tcp_cleanup_congestion_control, tcp_set_congestion_control)
from .tcp_states import (TCP_ACTION_FIN, TCP_CLOSE, TCP_CLOSE_NEXT_STATE, TCP_CLOSE_WAIT,
                         TCP_CLOSING, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_FIN_WAIT2, TCP_LAST_ACK,
                         TCP_LISTEN, TCP_NEW_SYN_RECV, TCP_STATE_MASK, TCP_SYN_RECV, TCP_SYN_SENT,
                         TCP_TIME_WAIT, TCPF_CLOSE, TCPF_CLOSE_WAIT, TCPF_CLOSING, TCPF_ESTABLISHED,
                         TCPF_FIN_WAIT1, TCPF_FIN_WAIT2, TCPF_LAST_ACK, TCPF_LISTEN, TCPF_SYN_RECV,
                         TCPF_SYN_SENT, tcp_state_name, tcp_transition_ok,
                         TCP_STATE_KERNEL_NAMES as _N)
from .inet_hashtables import inet_put_port
from kstack.core.net_namespace import PernetOperations, register_pernet_subsys
from kstack.core.stream import sk_stream_write_space


class LateModule:
    """A module of a layer above the importing one, which imports it back: it cannot be
    imported while the lower one loads. The first attribute read imports it and puts the
    real module in place of this stand-in, so later calls are one attribute lookup."""
    __slots__ = ("_globals", "_alias", "_name")

    def __init__(self, globals_: dict, alias: str):
        self._globals = globals_
        self._alias = alias
        self._name = f"{globals_['__package__']}.{alias}"

    def __getattr__(self, attr):
        mod = importlib.import_module(self._name)
        self._globals[self._alias] = mod
        return getattr(mod, attr)


tcp_output = LateModule(globals(), "tcp_output")
tcp_input = LateModule(globals(), "tcp_input")
tcp_timer = LateModule(globals(), "tcp_timer")
tcp_minisocks = LateModule(globals(), "tcp_minisocks")
tcp_ipv4 = LateModule(globals(), "tcp_ipv4")

# --- constants (include/net/tcp.h, include/uapi/linux/tcp.h) -------------------------
MAX_TCP_HEADER = 320            # L1_CACHE_ALIGN(128 + MAX_HEADER): room for every header
TCP_MSS_DEFAULT = 536
TCP_MSS_DESIRED = 1220
TCP_MIN_MSS = 88
TCP_MIN_RCVMSS = 536
TCP_MIN_SND_MSS = 48
TCP_BASE_MSS = 1024
TCP_MAX_WSCALE = 14
TCP_INIT_CWND = 10
MAX_TCP_WINDOW = 32767
TCP_MAX_QUICKACKS = 16
TCP_FASTRETRANS_THRESH = 3
TCP_MAX_REORDERING = 300
TCP_URG_VALID = 0x0100
TCP_NAGLE_OFF = 1
TCP_NAGLE_CORK = 2
TCP_NAGLE_PUSH = 4
TCP_RMEM_TO_WIN_SCALE = 8
TCP_DEFAULT_SCALING_RATIO = 1 << (TCP_RMEM_TO_WIN_SCALE - 1)
MAX_TCP_KEEPIDLE = 32767
MAX_TCP_KEEPINTVL = 32767
MAX_TCP_KEEPCNT = 127
MAX_TCP_SYNCNT = 127
TCP_PAWS_24DAYS = 60 * 60 * 24 * 24
TCP_PAWS_MSL = 60
TCP_PAWS_WINDOW = 1

# timers, in jiffies (HZ = 1000)
TCP_TIMEWAIT_LEN = 60 * HZ
TCP_FIN_TIMEOUT = TCP_TIMEWAIT_LEN
TCP_FIN_TIMEOUT_MAX = 120 * HZ
TCP_DELACK_MAX = HZ // 5
TCP_DELACK_MIN = HZ // 25
TCP_ATO_MIN = HZ // 25
TCP_RTO_MAX = 120 * HZ
TCP_RTO_MIN = HZ // 5
TCP_TIMEOUT_MIN = 2
TCP_TIMEOUT_INIT = 1 * HZ
TCP_TIMEOUT_FALLBACK = 3 * HZ
TCP_RESOURCE_PROBE_INTERVAL = HZ // 2
TCP_KEEPALIVE_TIME = 120 * 60 * HZ
TCP_KEEPALIVE_PROBES = 9
TCP_KEEPALIVE_INTVL = 75 * HZ
TCP_SYN_RETRIES = 6
TCP_SYNACK_RETRIES = 5
TCP_RETR1 = 3
TCP_RETR2 = 15
TCP_ORPHAN_RETRIES = 0

# TCP_SKB_CB(skb)->sacked
TCPCB_SACKED_ACKED = 0x01
TCPCB_SACKED_RETRANS = 0x02
TCPCB_LOST = 0x04
TCPCB_TAGBITS = 0x07
TCPCB_REPAIRED = 0x10
TCPCB_EVER_RETRANS = 0x80
TCPCB_RETRANS = TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS | TCPCB_REPAIRED

# TCP header flag bits (TCPHDR_*)
TCPHDR_FIN = 0x01
TCPHDR_SYN = 0x02
TCPHDR_RST = 0x04
TCPHDR_PSH = 0x08
TCPHDR_ACK = 0x10
TCPHDR_URG = 0x20
TCPHDR_ECE = 0x40
TCPHDR_CWR = 0x80

# tcpi_options
TCPI_OPT_TIMESTAMPS = 1
TCPI_OPT_SACK = 2
TCPI_OPT_WSCALE = 4
TCPI_OPT_ECN = 8
TCPI_OPT_ECN_SEEN = 16
TCPI_OPT_SYN_DATA = 32
TCPI_OPT_USEC_TS = 64

# socket options (include/uapi/linux/tcp.h)
TCP_NODELAY = 1
TCP_MAXSEG = 2
TCP_CORK = 3
TCP_KEEPIDLE = 4
TCP_KEEPINTVL = 5
TCP_KEEPCNT = 6
TCP_SYNCNT = 7
TCP_LINGER2 = 8
TCP_DEFER_ACCEPT = 9
TCP_WINDOW_CLAMP = 10
TCP_INFO = 11
TCP_QUICKACK = 12
TCP_CONGESTION = 13
TCP_MD5SIG = 14
TCP_THIN_LINEAR_TIMEOUTS = 16
TCP_THIN_DUPACK = 17
TCP_USER_TIMEOUT = 18
TCP_REPAIR = 19
TCP_NOTSENT_LOWAT = 25
TCP_CC_INFO = 26
TCP_SAVE_SYN = 27
TCP_SAVED_SYN = 28
TCP_INQ = 36
TCP_TX_DELAY = 37

# ioctls
SIOCINQ = 0x541B          # FIONREAD
SIOCOUTQ = 0x5411         # TIOCOUTQ
SIOCOUTQNSD = 0x894B
SIOCATMARK = 0x8905
ENOIOCTLCMD = 515

_M32 = 0xFFFFFFFF


# --- sequence space (include/net/tcp.h before/after) ---------------------------------
def before(seq1: int, seq2: int) -> bool:
    return ((seq1 - seq2) & _M32) >= 0x80000000


def after(seq1: int, seq2: int) -> bool:
    return ((seq2 - seq1) & _M32) >= 0x80000000


def between(seq1: int, seq2: int, seq3: int) -> bool:
    """seq2 <= seq1 <= seq3"""
    return ((seq3 - seq2) & _M32) >= ((seq1 - seq2) & _M32)


def s32(x: int) -> int:
    x &= _M32
    return x - (1 << 32) if x & 0x80000000 else x


def seq_add(a: int, b: int) -> int:
    return (a + b) & _M32


# --- time ------------------------------------------------------------------------------
def tcp_clock_us(sk) -> int:
    """The µs clock. Offset by 1 µs so a stamp taken at fake time 0 is not "unset" (0),
    as Linux's clock never reads 0."""
    return int(sk.sk_net.clock.now() * 1000000 + 0.5) + 1


def tcp_jiffies32_of(net) -> int:
    return int(net.clock.now() * HZ + 1e-6) & _M32


def tcp_jiffies32(sk) -> int:
    return int(sk.sk_net.clock.now() * HZ + 1e-6) & _M32


def tcp_mstamp_refresh(sk) -> None:
    """tp->tcp_mstamp: the µs clock read once per event (input, timer, sendmsg)."""
    sk.tcp_mstamp = tcp_clock_us(sk)


def tcp_time_stamp_ms(sk) -> int:
    return int(sk.sk_net.clock.now() * 1000 + 1e-6) & _M32


def tcp_time_stamp_ts(sk) -> int:
    """The TS option clock (ms) of this connection, without its random offset."""
    return (sk.tcp_mstamp // 1000) & _M32


def tcp_stamp_us_delta(t1: int, t0: int) -> int:
    return max(t1 - t0, 0)


def usecs_to_jiffies(us: int) -> int:
    return (us + 999) // 1000


def jiffies_to_usecs(j: int) -> int:
    return j * 1000


def msecs_to_jiffies(ms: int) -> int:
    return ms


# --- per-skb control block ------------------------------------------------------------
class TcpHdr:
    """The header fields of a received segment (parsed once in tcp_v4_rcv)."""
    __slots__ = ("source", "dest", "seq", "ack_seq", "doff", "res1", "flags", "window", "check",
                 "urg_ptr", "options")

    @property
    def fin(self):
        return self.flags & TCPHDR_FIN

    @property
    def syn(self):
        return self.flags & TCPHDR_SYN

    @property
    def rst(self):
        return self.flags & TCPHDR_RST

    @property
    def psh(self):
        return self.flags & TCPHDR_PSH

    @property
    def ack(self):
        return self.flags & TCPHDR_ACK

    @property
    def urg(self):
        return self.flags & TCPHDR_URG


class TcpSkbCb:
    """struct tcp_skb_cb (TCP_SKB_CB(skb))."""
    __slots__ = ("seq", "end_seq", "tcp_tw_isn", "tcp_flags", "sacked", "ip_dsfield", "eor",
                 "ack_seq", "th", "sack_blocks", "tx_delivered_mstamp", "tx_delivered",
                 "tx_first_tx_mstamp", "tx_is_app_limited", "skb_mstamp", "header", "has_rxtstamp",
                 "lost_seq", "pcount", "mss", "vseq")

    def __init__(self, seq=0, end_seq=0, tcp_flags=0):
        self.seq = seq
        self.end_seq = end_seq
        self.tcp_flags = tcp_flags
        self.tcp_tw_isn = 0
        self.sacked = 0
        self.ip_dsfield = 0
        self.eor = 0
        self.ack_seq = 0
        self.th = None
        self.sack_blocks = None
        self.tx_delivered_mstamp = 0
        self.tx_delivered = 0
        self.tx_first_tx_mstamp = 0
        self.tx_is_app_limited = 0
        self.skb_mstamp = 0          # when last sent (µs)
        self.header = None
        self.has_rxtstamp = 0
        self.lost_seq = 0
        self.pcount = 1
        self.mss = 0
        self.vseq = seq

    def copy(self):
        n = TcpSkbCb(self.seq, self.end_seq, self.tcp_flags)
        for f in self.__slots__:
            setattr(n, f, getattr(self, f))
        return n


def TCP_SKB_CB(skb) -> TcpSkbCb:
    return skb.cb


def tcp_hdr(skb) -> TcpHdr:
    return skb.cb.th


def tcp_skb_pcount(skb) -> int:
    """kstack sends MSS-sized segments (no TSO): one packet per skb."""
    return 1


def tcp_skb_mss(skb) -> int:
    return skb.cb.mss or skb.len


# --- options received ----------------------------------------------------------------
class TcpOptionsReceived:
    """struct tcp_options_received (tp->rx_opt)."""
    __slots__ = ("ts_recent_stamp", "ts_recent", "rcv_tsval", "rcv_tsecr", "saw_tstamp",
                 "tstamp_ok", "dsack", "wscale_ok", "sack_ok", "smc_ok", "snd_wscale",
                 "rcv_wscale", "saw_unknown", "num_sacks", "user_mss", "mss_clamp")

    def __init__(self):
        self.ts_recent_stamp = 0
        self.ts_recent = 0
        self.rcv_tsval = 0
        self.rcv_tsecr = 0
        self.saw_tstamp = 0
        self.tstamp_ok = 0
        self.dsack = 0
        self.wscale_ok = 0
        self.sack_ok = 0
        self.smc_ok = 0
        self.snd_wscale = 0
        self.rcv_wscale = 0
        self.saw_unknown = 0
        self.num_sacks = 0
        self.user_mss = 0
        self.mss_clamp = 0


def tcp_clear_options(rx_opt: TcpOptionsReceived) -> None:
    rx_opt.tstamp_ok = rx_opt.sack_ok = 0
    rx_opt.wscale_ok = rx_opt.snd_wscale = 0


class TcpSackBlock:
    __slots__ = ("start_seq", "end_seq")

    def __init__(self, start_seq=0, end_seq=0):
        self.start_seq = start_seq
        self.end_seq = end_seq

    def __repr__(self):
        return f"[{self.start_seq}:{self.end_seq}]"


class TcpRack:
    __slots__ = ("mstamp", "rtt_us", "end_seq", "last_delivered", "reo_wnd_steps",
                 "reo_wnd_persist", "dsack_seen", "advanced")

    def __init__(self):
        self.mstamp = 0
        self.rtt_us = 0
        self.end_seq = 0
        self.last_delivered = 0
        self.reo_wnd_steps = 1
        self.reo_wnd_persist = 0
        self.dsack_seen = 0
        self.advanced = 0


class RcvRttEst:
    __slots__ = ("rtt_us", "seq", "time")

    def __init__(self):
        self.rtt_us = 0
        self.seq = 0
        self.time = 0


class RcvqSpace:
    __slots__ = ("space", "seq", "time")

    def __init__(self):
        self.space = 0
        self.seq = 0
        self.time = 0


class Minmax:
    """lib/win_minmax.c, kept simple: windowed min over (time, value) samples."""
    __slots__ = ("s",)

    def __init__(self):
        self.s = [(0, 0xFFFFFFFF)] * 3

    def get(self) -> int:
        return self.s[0][1]

    def reset(self, t: int, meas: int) -> int:
        self.s = [(t, meas)] * 3
        return meas

    def running_min(self, win: int, t: int, meas: int) -> int:
        s = self.s
        if meas <= s[0][1] or t - s[2][0] > win:
            return self.reset(t, meas)
        if meas <= s[1][1]:
            s[1] = s[2] = (t, meas)
        elif meas <= s[2][1]:
            s[2] = (t, meas)
        # subwindow update (Kathleen Nichols' algorithm)
        dt = t - s[0][0]
        if dt > win:
            s[0], s[1], s[2] = s[1], s[2], (t, meas)
            if t - s[0][0] > win:
                s[0], s[1] = s[1], s[2]
        elif s[1][0] == s[0][0] and dt > win // 4:
            s[1] = s[2] = (t, meas)
        elif s[2][0] == s[1][0] and dt > win // 2:
            s[2] = (t, meas)
        return s[0][1]


class TcpRtxQueue(SkBuffHead):
    """tp->tcp_rtx_queue, the sent and not yet acknowledged segments in sequence order (the
    kernel's rbtree). A list, not SkBuffHead's deque: an empty list costs 56 bytes, an empty
    deque 760, and most connections sit idle with nothing in flight."""
    __slots__ = ()

    def __init__(self):
        self.q = []


# --- struct tcp_sock ---------------------------------------------------------------------
class TcpSock(InetConnectionSock):
    """struct tcp_sock. Field names are the kernel's (RFC 9293 names in comments)."""
    __slots__ = (
        "tcp_header_len", "pred_flags", "bytes_received", "segs_in", "data_segs_in", "rcv_nxt",
        "copied_seq", "rcv_wup", "snd_nxt", "segs_out", "data_segs_out", "bytes_sent",
        "bytes_acked", "dsack_dups", "snd_una", "snd_sml", "rcv_tstamp", "lsndtime",
        "last_oow_ack_time", "compressed_ack_rcv_nxt", "tsoffset", "snd_wl1", "snd_wnd",
        "max_window", "mss_cache", "window_clamp", "rcv_ssthresh", "rack", "advmss",
        "compressed_ack", "dup_ack_counter", "tlp_retrans", "nonagle", "thin_lto", "recvmsg_inq",
        "repair", "frto", "is_cwnd_limited", "is_sack_reneg", "tlp_high_seq", "tcp_mstamp",
        "srtt_us", "mdev_us", "mdev_max_us", "rttvar_us", "rtt_seq", "rtt_min", "packets_out",
        "retrans_out", "max_packets_out", "cwnd_usage_seq", "urg_data", "ecn_flags",
        "keepalive_probes", "reordering", "reord_seen", "snd_up", "rx_opt", "snd_ssthresh",
        "snd_cwnd", "snd_cwnd_cnt", "snd_cwnd_clamp", "snd_cwnd_used", "snd_cwnd_stamp",
        "prior_cwnd", "prr_delivered", "prr_out", "delivered", "delivered_ce", "lost",
        "app_limited", "rate_app_limited", "first_tx_mstamp", "delivered_mstamp", "rate_delivered",
        "rate_interval_us", "rcv_wnd", "write_seq", "notsent_lowat", "pushed_seq", "lost_out",
        "sacked_out", "out_of_order_queue", "duplicate_sack", "selective_acks",
        "highest_sack", "lost_cnt_hint", "prior_ssthresh", "high_seq", "retrans_stamp",
        "undo_marker", "undo_retrans", "bytes_retrans", "total_retrans", "urg_seq",
        "keepalive_time", "keepalive_intvl", "linger2", "rcv_rtt_est", "rcvq_space", "mtu_info",
        "total_rto", "total_rto_recoveries", "total_rto_time", "rto_stamp", "rcv_ooopack",
        "scaling_ratio", "tcp_usec_ts", "syn_data", "syn_fastopen", "fastopen_rsk", "save_syn",
        "syn_smc", "linger_blocked", "tcp_rtx_queue", "tsorted_sent_queue", "rcv_rtt_last_tsecr",
        "chrono_start", "chrono_type", "chrono_stat", "data_last_recv", "sk_gso_max_size",
        "sk_hashed_key", "sk_listen_key", "sk_backlog_len", "gso_segs", "sk_pacing_shift",
        "sk_socket_nospace", "tcp_orphaned", "retransmit_skb_hint", "lost_skb_hint",
        "tcp_tx_delay", "rcv_mss_cached", "ts_recent_stamp_valid", "compressed_ack_timer",
        "sk_disconnects", "_inuse",   # the last three: set outside __init__
    )


    def __init__(self, net=None, family: int = 2, prot=None):
        super().__init__(net, family, prot)
        self.tcp_header_len = 20
        self.pred_flags = 0
        self.bytes_received = 0
        self.segs_in = 0
        self.data_segs_in = 0
        self.rcv_nxt = 0               # RCV.NXT
        self.copied_seq = 0            # head of yet unread data
        self.rcv_wup = 0               # rcv_nxt at the last window update sent
        self.snd_nxt = 0               # SND.NXT
        self.segs_out = 0
        self.data_segs_out = 0
        self.bytes_sent = 0
        self.bytes_acked = 0
        self.dsack_dups = 0
        self.snd_una = 0               # SND.UNA
        self.snd_sml = 0               # last byte of the most recently sent small packet
        self.rcv_tstamp = 0            # jiffies of the last received ACK (keepalive)
        self.lsndtime = 0              # jiffies of the last data sent
        self.last_oow_ack_time = 0
        self.compressed_ack_rcv_nxt = 0
        self.tsoffset = 0              # TS option clock offset
        self.snd_wl1 = 0               # SND.WL1
        self.snd_wnd = 0               # SND.WND (scaled)
        self.max_window = 0
        self.mss_cache = TCP_MSS_DEFAULT
        self.window_clamp = 0
        self.rcv_ssthresh = 0
        self.rack = TcpRack()
        self.advmss = 0
        self.compressed_ack = 0
        self.dup_ack_counter = 0
        self.tlp_retrans = 0
        self.nonagle = 0
        self.thin_lto = 0
        self.recvmsg_inq = 0
        self.repair = 0
        self.frto = 0
        self.is_cwnd_limited = False
        self.is_sack_reneg = 0
        self.tlp_high_seq = 0
        self.tcp_mstamp = 0
        self.srtt_us = 0               # smoothed RTT << 3, µs
        self.mdev_us = 0               # medium deviation
        self.mdev_max_us = 0
        self.rttvar_us = 0
        self.rtt_seq = 0
        self.rtt_min = Minmax()
        self.packets_out = 0
        self.retrans_out = 0
        self.max_packets_out = 0
        self.cwnd_usage_seq = 0
        self.urg_data = 0
        self.ecn_flags = 0
        self.keepalive_probes = 0
        self.reordering = TCP_FASTRETRANS_THRESH
        self.reord_seen = 0
        self.snd_up = 0
        self.rx_opt = TcpOptionsReceived()
        self.snd_ssthresh = TCP_INFINITE_SSTHRESH
        self.snd_cwnd = TCP_INIT_CWND
        self.snd_cwnd_cnt = 0
        self.snd_cwnd_clamp = _M32
        self.snd_cwnd_used = 0
        self.snd_cwnd_stamp = 0
        self.prior_cwnd = 0
        self.prr_delivered = 0
        self.prr_out = 0
        self.delivered = 0
        self.delivered_ce = 0
        self.lost = 0
        self.app_limited = _M32
        self.rate_app_limited = 1
        self.first_tx_mstamp = 0
        self.delivered_mstamp = 0
        self.rate_delivered = 0
        self.rate_interval_us = 0
        self.rcv_wnd = 0               # RCV.WND currently advertised
        self.write_seq = 0             # tail + 1 of data in the send buffer
        self.notsent_lowat = 0
        self.pushed_seq = 0
        self.lost_out = 0
        self.sacked_out = 0
        self.out_of_order_queue = []   # skbs sorted by seq (the kernel's rbtree)
        # The SACK blocks we send (RFC 2018, DSACK RFC 2883): made on first use by
        # tcp_sack_blocks_alloc, as most connections never send one.
        self.duplicate_sack = ()
        self.selective_acks = ()
        self.highest_sack = None
        self.lost_cnt_hint = 0
        self.prior_ssthresh = 0
        self.high_seq = 0
        self.retrans_stamp = 0
        self.undo_marker = 0
        self.undo_retrans = -1
        self.bytes_retrans = 0
        self.total_retrans = 0
        self.urg_seq = 0
        self.keepalive_time = 0
        self.keepalive_intvl = 0
        self.linger2 = 0
        self.rcv_rtt_est = RcvRttEst()
        self.rcvq_space = RcvqSpace()
        self.mtu_info = 0
        self.total_rto = 0
        self.total_rto_recoveries = 0
        self.total_rto_time = 0
        self.rto_stamp = 0
        self.rcv_ooopack = 0
        self.scaling_ratio = TCP_DEFAULT_SCALING_RATIO
        self.tcp_usec_ts = 0
        self.syn_data = 0
        self.syn_fastopen = 0
        self.fastopen_rsk = None
        self.save_syn = 0
        self.syn_smc = 0
        self.linger_blocked = None
        self.tcp_rtx_queue = TcpRtxQueue()    # sent, not yet acked (the kernel's rbtree)
        self.tsorted_sent_queue = {}          # id(skb) -> skb in (re)transmit time order (RACK)
        self.rcv_rtt_last_tsecr = 0
        self.chrono_start = 0
        self.chrono_type = 0
        self.chrono_stat = [0, 0, 0]
        self.data_last_recv = 0        # icsk_ack.lrcvtime mirror for tcp_info
        self.sk_gso_max_size = 65536
        self.sk_hashed_key = None
        self.sk_listen_key = None
        self.sk_backlog_len = 0
        self.gso_segs = 0
        self.sk_pacing_shift = 10
        self.sk_socket_nospace = False
        self.tcp_orphaned = False
        self.retransmit_skb_hint = None
        self.lost_skb_hint = None
        self.tcp_tx_delay = 0
        self.rcv_mss_cached = 0
        self.ts_recent_stamp_valid = 0

    def __repr__(self):
        return (f"<tcp_sock {tcp_state_name(self.sk_state)} "
                f"{self.inet_rcv_saddr:#x}:{self.inet_num} -> {self.inet_daddr:#x}:{self.inet_dport}>")


def tcp_sk(sk) -> TcpSock:
    return sk


# --- tcp.h inline helpers ----------------------------------------------------------------
def tcp_left_out(tp) -> int:
    return tp.sacked_out + tp.lost_out


def tcp_packets_in_flight(tp) -> int:
    """RFC 6675 'pipe': packets_out - (sacked + lost) + retransmitted."""
    return tp.packets_out - (tp.sacked_out + tp.lost_out) + tp.retrans_out


def tcp_snd_cwnd(tp) -> int:
    return tp.snd_cwnd


def tcp_in_initial_slowstart(tp) -> bool:
    return tp.snd_ssthresh >= TCP_INFINITE_SSTHRESH


def tcp_is_sack(tp) -> bool:
    return bool(tp.rx_opt.sack_ok)


def tcp_is_reno(tp) -> bool:
    return not tcp_is_sack(tp)


def tcp_current_ssthresh(sk) -> int:
    tp = sk
    if (1 << sk.icsk_ca_state) & ((1 << 2) | (1 << 3)):   # CWR | Recovery
        return tp.snd_ssthresh
    return max(tp.snd_ssthresh, ((tp.snd_cwnd >> 1) + (tp.snd_cwnd >> 2)))


def tcp_write_queue_empty(sk) -> bool:
    return sk.write_seq == sk.snd_nxt


def tcp_rtx_queue_empty(sk) -> bool:
    return not sk.tcp_rtx_queue.q


def tcp_rtx_and_write_queues_empty(sk) -> bool:
    return not sk.tcp_rtx_queue.q and not sk.sk_write_queue.q


def tcp_send_head(sk):
    q = sk.sk_write_queue.q
    return q[0] if q else None


def tcp_write_queue_tail(sk):
    q = sk.sk_write_queue.q
    return q[-1] if q else None


def tcp_rtx_queue_head(sk):
    q = sk.tcp_rtx_queue.q
    return q[0] if q else None


def tcp_rtx_queue_tail(sk):
    q = sk.tcp_rtx_queue.q
    return q[-1] if q else None


def tcp_win_from_space(sk, space: int) -> int:
    """Bytes of window a buffer of `space` (truesize) bytes can back (scaling_ratio/256)."""
    return (space * sk.scaling_ratio) >> TCP_RMEM_TO_WIN_SCALE if space > 0 else 0


def tcp_space_from_win(sk, win: int) -> int:
    return (win << TCP_RMEM_TO_WIN_SCALE) // sk.scaling_ratio if win > 0 else 0


def tcp_space(sk) -> int:
    return tcp_win_from_space(sk, sk.sk_rcvbuf - sk.sk_backlog_len - sk.sk_rmem_alloc)


def tcp_full_space(sk) -> int:
    return tcp_win_from_space(sk, sk.sk_rcvbuf)


def tcp_receive_window(tp) -> int:
    """RCV.WND still open: what we advertised minus what arrived since (>= 0)."""
    win = (tp.rcv_wup + tp.rcv_wnd - tp.rcv_nxt) & _M32
    return win if win < 0x80000000 else 0        # s32(win) > 0


def tcp_wnd_end(tp) -> int:
    return (tp.snd_una + tp.snd_wnd) & _M32


def tcp_fin_time(sk) -> int:
    fin_timeout = sk.linger2 or sk.sk_net.ipv4.sysctl_tcp_fin_timeout * HZ
    rto = sk.icsk_rto
    if fin_timeout < (rto << 2) - (rto >> 1):
        fin_timeout = (rto << 2) - (rto >> 1)
    return fin_timeout


def keepalive_intvl_when(tp) -> int:
    return tp.keepalive_intvl or tp.sk_net.ipv4.sysctl_tcp_keepalive_intvl * HZ


def keepalive_time_when(tp) -> int:
    return tp.keepalive_time or tp.sk_net.ipv4.sysctl_tcp_keepalive_time * HZ


def keepalive_probes(tp) -> int:
    return tp.keepalive_probes or tp.sk_net.ipv4.sysctl_tcp_keepalive_probes


def keepalive_time_elapsed(tp) -> int:
    icsk = tp
    now = tcp_jiffies32(tp)
    return min(s32(now - icsk.icsk_ack.lrcvtime), s32(now - tp.rcv_tstamp))


def tcp_rto_min(sk) -> int:
    return sk.icsk_rto_min


def tcp_rto_min_us(sk) -> int:
    return sk.icsk_rto_min * 1000      # jiffies_to_usecs(tcp_rto_min(sk))


def __tcp_set_rto(tp) -> int:
    return usecs_to_jiffies((tp.srtt_us >> 3) + tp.rttvar_us)


def tcp_bound_rto(sk) -> None:
    if sk.icsk_rto > TCP_RTO_MAX:
        sk.icsk_rto = TCP_RTO_MAX


def tcp_min_rtt(tp) -> int:
    return tp.rtt_min.s[0][1]          # minmax_get(&tp->rtt_min)


def tcp_stream_is_thin(tp) -> bool:
    return tp.packets_out < 4 and not tcp_in_initial_slowstart(tp)


def tcp_probe0_base(sk) -> int:
    return max(sk.icsk_rto, TCP_RTO_MIN)


def tcp_probe0_when(sk, max_when: int) -> int:
    backoff = min(sk.icsk_backoff, 63)
    when = tcp_probe0_base(sk) << backoff
    return min(when, max_when)


def tcp_check_probe_timer(sk) -> None:
    if not sk.packets_out and not sk.icsk_pending:
        tcp_reset_xmit_timer(sk, ICSK_TIME_PROBE0, tcp_probe0_base(sk), TCP_RTO_MAX)


def tcp_reset_xmit_timer(sk, what: int, when: int, max_when: int = TCP_RTO_MAX) -> None:
    inet_csk_reset_xmit_timer(sk, what, when, max_when)


def tcp_notsent_lowat(tp) -> int:
    return tp.notsent_lowat or tp.sk_net.ipv4.sysctl_tcp_notsent_lowat


def tcp_stream_memory_free(sk, wake: int) -> bool:
    notsent_bytes = s32(sk.write_seq - sk.snd_nxt)
    return (notsent_bytes << wake) < tcp_notsent_lowat(sk)


def __sk_stream_memory_free(sk, wake: int) -> bool:
    if sk.sk_wmem_queued >= sk.sk_sndbuf:
        return False
    return tcp_stream_memory_free(sk, wake)


def sk_stream_memory_free(sk) -> bool:
    return __sk_stream_memory_free(sk, 0)


def sk_stream_wspace(sk) -> int:
    return sk.sk_sndbuf - sk.sk_wmem_queued


def sk_stream_min_wspace(sk) -> int:
    return sk.sk_wmem_queued >> 1


def __sk_stream_is_writeable(sk, wake: int) -> bool:
    return sk_stream_wspace(sk) >= sk_stream_min_wspace(sk) and __sk_stream_memory_free(sk, wake)


def sk_stream_is_writeable(sk) -> bool:
    return __sk_stream_is_writeable(sk, 0)


def tcp_inq(sk) -> int:
    """Bytes readable now (SIOCINQ): rcv_nxt - copied_seq, less a queued FIN."""
    if (1 << sk.sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV):
        return 0
    answ = s32(sk.rcv_nxt - sk.copied_seq)
    if answ and sock_flag(sk, SOCK_DONE):
        answ -= 1
    return max(answ, 0)


def tcp_inc_stat(net, field: str, n: int = 1) -> None:
    net.mib.Tcp[field] = net.mib.Tcp.get(field, 0) + n


def net_inc_stat(net, field: str, n: int = 1) -> None:
    """A LINUX_MIB_* (TcpExt) counter; names missing from snmp.py's list are created."""
    d = net.mib.TcpExt
    d[field] = d.get(field, 0) + n


def tcp_skb_timestamp_us(skb) -> int:
    return skb.cb.skb_mstamp


# --- state --------------------------------------------------------------------------------
def tcp_set_state(sk, state: int) -> None:
    """The only writer of a full socket's sk_state. Checks the transition table (a bad one is
    recorded in net.bugs) and does Linux's side effects: CurrEstab, EstabResets, unhash and
    port release on CLOSE."""
    oldstate = sk.sk_state
    net = sk.sk_net
    if oldstate != state and not tcp_transition_ok(oldstate, state) or (
            oldstate == state and state != TCP_CLOSE):
        net.bug(RuntimeError(f"tcp_set_state: {_N.get(oldstate, oldstate)} -> {_N.get(state, state)}"),
                "tcp_set_state")
    if state == TCP_ESTABLISHED:
        if oldstate != TCP_ESTABLISHED:
            net.mib.Tcp["CurrEstab"] += 1
    elif state == TCP_CLOSE:
        if oldstate in (TCP_CLOSE_WAIT, TCP_ESTABLISHED):
            net.mib.Tcp["EstabResets"] += 1
        sk.sk_prot.unhash(sk)
        if sk.icsk_bind_hash is not None and not (sk.sk_userlocks & SOCK_BINDPORT_LOCK):
            inet_put_port(sk)
        if oldstate == TCP_ESTABLISHED:
            net.mib.Tcp["CurrEstab"] -= 1
    else:
        if oldstate == TCP_ESTABLISHED:
            net.mib.Tcp["CurrEstab"] -= 1
    sk.sk_state = state
    if net.tracing:
        net.trace("inet_sock_set_state", sk, oldstate, state)


def tcp_done(sk) -> None:
    """The connection is over: CLOSE, timers off, wake or destroy."""
    if sk.sk_state in (TCP_SYN_SENT, TCP_SYN_RECV):
        sk.sk_net.mib.Tcp["AttemptFails"] += 1
    tcp_set_state(sk, TCP_CLOSE)
    tcp_clear_xmit_timers(sk)
    sk.sk_shutdown = SHUTDOWN_MASK
    if not sock_flag(sk, SOCK_DEAD):
        sk.sk_state_change(sk)
    else:
        inet_csk_destroy_sock(sk)


def tcp_clear_xmit_timers(sk) -> None:
    inet_csk_clear_xmit_timers(sk)


def tcp_close_state(sk) -> bool:
    """close()'s state move (RFC 9293 §3.10.4); True when a FIN must be sent."""
    ns = TCP_CLOSE_NEXT_STATE[sk.sk_state]
    nxt = ns & TCP_STATE_MASK
    if nxt != sk.sk_state:
        tcp_set_state(sk, nxt)
    return bool(ns & TCP_ACTION_FIN)


# --- socket creation ---------------------------------------------------------------------
def tcp_init_sock(sk) -> None:
    """Defaults of a new TCP socket (before connect or listen)."""
    net = sk.sk_net
    tcp_timer.tcp_init_xmit_timers(sk)
    sk.icsk_rto = TCP_TIMEOUT_INIT
    sk.icsk_rto_min = TCP_RTO_MIN
    sk.icsk_delack_max = TCP_DELACK_MAX
    sk.mdev_us = jiffies_to_usecs(TCP_TIMEOUT_INIT)
    sk.rtt_min.reset(tcp_jiffies32(sk), _M32)
    sk.snd_cwnd = TCP_INIT_CWND
    sk.app_limited = _M32
    sk.rate_app_limited = 1
    sk.snd_ssthresh = TCP_INFINITE_SSTHRESH
    sk.snd_cwnd_clamp = _M32
    sk.mss_cache = TCP_MSS_DEFAULT
    sk.reordering = net.ipv4.sysctl_tcp_reordering
    tcp_assign_congestion_control(sk)
    sk.tsoffset = 0
    sk.rack.reo_wnd_steps = 1
    sk.sk_write_space = sk_stream_write_space
    sock_set_flag(sk, SOCK_USE_WRITE_QUEUE)
    sk.sk_sndbuf = net.ipv4.sysctl_tcp_wmem[1]
    sk.sk_rcvbuf = net.ipv4.sysctl_tcp_rmem[1]
    sk.scaling_ratio = TCP_DEFAULT_SCALING_RATIO
    sk.sk_backlog_len = 0
    sk.sk_pacing_rate = (1 << 64) - 1      # sock_init_data: ~0UL until the first RTT
    sk.sk_pacing_shift = 10


# --- send ----------------------------------------------------------------------------------
def tcp_xmit_size_goal(sk, mss_now: int, large_allowed: bool) -> int:
    """How big Linux would make one write-queue skb: GSO is always on for TCP, so up to
    min(64 KB, half the peer's largest window), in whole MSS. kstack's skbs stay one MSS
    each; this size marks the boundaries of the "virtual" (Linux) skbs, which decide when
    a write is pushed and where GSO bursts end (their last segment carries PSH)."""
    tp = sk
    if not large_allowed:
        return mss_now
    new_size_goal = tcp_output.tcp_bound_to_half_wnd(tp, sk.sk_gso_max_size)
    size_goal = tp.gso_segs * mss_now
    if new_size_goal < size_goal or new_size_goal >= size_goal + mss_now:
        tp.gso_segs = min(new_size_goal // mss_now, 65535)
        size_goal = tp.gso_segs * mss_now
    return max(size_goal, mss_now)


def tcp_send_mss(sk, flags: int):
    mss_now = tcp_output.tcp_current_mss(sk)
    size_goal = tcp_xmit_size_goal(sk, mss_now, not (flags & MSG_OOB))
    return mss_now, size_goal


def forced_push(tp) -> bool:
    return after(tp.write_seq, (tp.pushed_seq + (tp.max_window >> 1)) & _M32)


def tcp_mark_push(tp, skb) -> None:
    skb.cb.tcp_flags |= TCPHDR_PSH
    tp.pushed_seq = tp.write_seq


def tcp_skb_entail(sk, skb) -> None:
    """Queue a new (empty) skb at the tail of the write queue."""
    tp = sk
    tcb = skb.cb
    tcb.seq = tcb.end_seq = tp.write_seq
    tcb.tcp_flags = TCPHDR_ACK
    sk.sk_write_queue.q.append(skb)
    sk.sk_wmem_queued += skb.truesize
    if tp.nonagle & TCP_NAGLE_PUSH:
        tp.nonagle &= ~TCP_NAGLE_PUSH
    tcp_slow_start_after_idle_check(sk)


def tcp_slow_start_after_idle_check(sk) -> None:
    """RFC 5681 §4.1 / RFC 7661: after an idle period longer than the RTO, restart from
    the initial window (net.ipv4.tcp_slow_start_after_idle)."""
    tp = sk
    if not sk.sk_net.ipv4.sysctl_tcp_slow_start_after_idle or tp.packets_out or \
            sk.icsk_ca_ops.cong_control is not None:
        return
    delta = s32(tcp_jiffies32(sk) - tp.lsndtime)
    if delta > sk.icsk_rto:
        tcp_output.tcp_cwnd_restart(sk, delta)


def tcp_should_autocork(sk, skb, size_goal: int) -> bool:
    """Autocorking: defer a small write while an earlier one is still in a qdisc/driver.
    kstack's devices complete at once, so this never triggers (sk_wmem_alloc stays 0)."""
    return False


def tcp_push(sk, flags: int, mss_now: int, nonagle: int, size_goal: int) -> None:
    tp = sk
    skb = tcp_write_queue_tail(sk)
    if skb is None:
        return
    if not (flags & MSG_MORE) or forced_push(tp):
        tcp_mark_push(tp, skb)
    if flags & MSG_OOB:
        tp.snd_up = tp.write_seq
    if tcp_should_autocork(sk, skb, size_goal):
        return
    if flags & MSG_MORE:
        nonagle = TCP_NAGLE_CORK
    tcp_output.__tcp_push_pending_frames(sk, mss_now, nonagle)


def tcp_stream_alloc_skb(sk, size: int = 0):
    skb = alloc_skb(size, MAX_TCP_HEADER)
    skb.cb = TcpSkbCb()
    skb.truesize = size + TCP_SKB_TX_OVERHEAD
    skb.sk = sk
    return skb


# Memory one Linux write-queue skb costs beyond its payload: SKB_TRUESIZE of the 1 KB slab
# that holds MAX_TCP_HEADER and skb_shared_info. Charged once per Linux (virtual) skb.
TCP_SKB_TX_OVERHEAD = 1280


def tcp_remove_empty_skb(sk) -> None:
    skb = tcp_write_queue_tail(sk)
    if skb is not None and skb.len == 0 and not (skb.cb.tcp_flags & (TCPHDR_FIN | TCPHDR_SYN)):
        sk.sk_write_queue.q.pop()
        sk.sk_wmem_queued -= skb.truesize


def sk_stream_error(sk, flags: int, err: int) -> int:
    if err == -EPIPE:
        err = sock_error(sk) or -EPIPE
    return err


def tcp_sendmsg(sk, msg, size: int):
    """send()/write(): queue as much as the send buffer takes, push, and return the bytes
    queued, -errno, or a Blocked that continues when space frees up."""
    tcp_mstamp_refresh(sk)
    tcp_output.tcp_rate_check_app_limited(sk)
    return _tcp_sendmsg_locked(sk, msg, size, 0, True)


def _wait_connect_blocked(sk, msg, size, flags, timeo):
    mask = EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLIN

    def retry():
        return _tcp_sendmsg_locked(sk, msg, size, 0, True)
    return sk_wait_event(sk, mask, retry, timeo, what="sendmsg-connect")


def _tcp_sendmsg_locked(sk, msg, size: int, copied: int, first: bool):
    tp = sk
    flags = msg.msg_flags
    timeo = sock_sndtimeo(sk, flags & MSG_DONTWAIT)
    if (1 << sk.sk_state) & ~(TCPF_ESTABLISHED | TCPF_CLOSE_WAIT):
        # sk_stream_wait_connect
        err = sock_error(sk)
        if not err:
            if (1 << sk.sk_state) & ~(TCPF_SYN_SENT | TCPF_SYN_RECV):
                err = -EPIPE
            elif timeo is not None and timeo <= 0:
                err = -EAGAIN
            else:
                return _wait_connect_blocked(sk, msg, size, flags, timeo)
        if copied:
            return copied
        return sk_stream_error(sk, flags, err)

    mss_now, size_goal = tcp_send_mss(sk, flags)
    if sk.sk_err or (sk.sk_shutdown & SEND_SHUTDOWN):
        if copied:
            return copied
        return sk_stream_error(sk, flags, -EPIPE)

    while msg_data_left(msg):
        skb = tcp_write_queue_tail(sk)
        # vcopy: room left in the Linux skb this data goes to (see tcp_xmit_size_goal)
        if skb is not None:
            vstart = skb.cb.vseq if after(skb.cb.vseq, tp.snd_nxt) else tp.snd_nxt
            vcopy = size_goal - ((tp.write_seq - vstart) & _M32)
        else:
            vcopy = 0
        if vcopy <= 0 or not _tcp_skb_can_collapse_to(skb):
            if not sk_stream_memory_free(sk):
                return _wait_for_space(sk, msg, size, copied, flags, mss_now, size_goal, timeo)
            skb = tcp_stream_alloc_skb(sk, 0)
            tcp_skb_entail(sk, skb)
            skb.cb.vseq = skb.cb.seq
            vcopy = size_goal
        elif skb.len >= mss_now:
            # The Linux skb goes on; kstack's skbs are one MSS each.
            nskb = tcp_stream_alloc_skb(sk, 0)
            nskb.truesize = 0
            tcp_skb_entail(sk, nskb)
            nskb.cb.vseq = skb.cb.vseq
            # The Linux skb's flags (a PSH mark) live at its tail.
            nskb.cb.tcp_flags = skb.cb.tcp_flags
            skb.cb.tcp_flags &= ~TCPHDR_PSH
            skb = nskb
        copy = min(vcopy, mss_now - skb.len)
        left = msg_data_left(msg)
        if copy > left:
            copy = left
        data = copy_from_iter(msg, copy)
        skb_put_data(skb, data)
        skb.truesize += copy
        sk.sk_wmem_queued += copy
        if not copied:
            skb.cb.tcp_flags &= ~TCPHDR_PSH
        tp.write_seq = (tp.write_seq + copy) & _M32
        skb.cb.end_seq = (skb.cb.end_seq + copy) & _M32
        copied += copy
        if not msg_data_left(msg):
            if flags & MSG_EOR:
                skb.cb.eor = 1
            break
        vstart = skb.cb.vseq if after(skb.cb.vseq, tp.snd_nxt) else tp.snd_nxt
        if ((tp.write_seq - vstart) & _M32) < size_goal or (flags & MSG_OOB):
            continue
        if forced_push(tp):
            tcp_mark_push(tp, skb)
            tcp_output.__tcp_push_pending_frames(sk, mss_now, TCP_NAGLE_PUSH)
        elif vstart == tp.snd_nxt:
            # The full Linux skb is the send head: tcp_push_one.
            tcp_output.tcp_push_one(sk, mss_now)
    if copied:
        tcp_push(sk, flags, mss_now, tp.nonagle, size_goal)
    return copied


def _tcp_skb_can_collapse_to(skb) -> bool:
    return not skb.cb.eor and not (skb.cb.tcp_flags & (TCPHDR_FIN | TCPHDR_SYN))


def _wait_for_space(sk, msg, size, copied, flags, mss_now, size_goal, timeo):
    """wait_for_space: push what we have, then sleep until the send buffer drains."""
    tcp_remove_empty_skb(sk)
    if copied:
        tcp_push(sk, flags & ~MSG_MORE, mss_now, TCP_NAGLE_PUSH, size_goal)
    # sk_stream_wait_memory
    if sk.sk_err or (sk.sk_shutdown & SEND_SHUTDOWN):
        if copied:
            return copied
        return sk_stream_error(sk, flags, -EPIPE)
    if timeo is not None and timeo <= 0:
        if copied:
            return copied
        return -EAGAIN
    sk.sk_socket_nospace = True

    def retry():
        tcp_mstamp_refresh(sk)
        return _tcp_sendmsg_locked(sk, msg, size, copied, False)

    def on_timeout():
        return copied if copied else -EAGAIN

    b = sk_wait_event(sk, EPOLLOUT | EPOLLERR | EPOLLHUP, retry, timeo, on_timeout, what="sendmsg")
    if copied:
        b.on_signal = lambda: copied
    return b


# --- receive --------------------------------------------------------------------------------
def tcp_cleanup_rbuf(sk, copied: int) -> None:
    """After a read: ACK now if one was owed and the read drained the queue, or if the
    window can grow a lot (at least doubles) — RFC 9293 §3.8.6.2.2 receiver SWS avoidance."""
    tp = sk
    time_to_ack = False
    if inet_csk_ack_scheduled(sk):
        icsk_ack = sk.icsk_ack
        if (s32(tp.rcv_nxt - tp.rcv_wup) > icsk_ack.rcv_mss or
                (copied > 0 and
                 ((icsk_ack.pending & ICSK_ACK_PUSHED2) or
                  ((icsk_ack.pending & ICSK_ACK_PUSHED) and not inet_csk_in_pingpong_mode(sk))) and
                 not sk.sk_rmem_alloc)):
            time_to_ack = True
    if copied > 0 and not time_to_ack and not (sk.sk_shutdown & RCV_SHUTDOWN):
        rcv_window_now = tcp_receive_window(tp)
        if 2 * rcv_window_now <= tp.window_clamp:
            new_window = tcp_output.__tcp_select_window(sk)
            if new_window and new_window >= 2 * rcv_window_now:
                time_to_ack = True
    if time_to_ack:
        tcp_output.tcp_send_ack(sk)


SK_MEM_PAGE = 4096


def sk_mem_pages(amt: int) -> int:
    return (amt + SK_MEM_PAGE - 1) // SK_MEM_PAGE


def tcp_rmem_charge(sk, truesize: int) -> None:
    """skb_set_owner_r: the skb counts in sk_rmem_alloc and is paid from sk_forward_alloc."""
    sk.sk_rmem_alloc += truesize
    sk.sk_forward_alloc -= truesize


def tcp_rmem_uncharge(sk, truesize: int) -> None:
    """sock_rfree + sk_mem_uncharge: give the bytes back, then sk_mem_reclaim returns whole
    pages to the protocol pool (what stays below a page is kept for the next skb)."""
    sk.sk_rmem_alloc -= truesize
    fa = sk.sk_forward_alloc + truesize
    if fa >= SK_MEM_PAGE:
        fa -= (fa // SK_MEM_PAGE) * SK_MEM_PAGE
    sk.sk_forward_alloc = fa


def sk_rmem_schedule(sk, size: int) -> bool:
    """__sk_mem_schedule for receive: take whole pages for what sk_forward_alloc lacks. kstack
    has no global TCP memory pressure, so it always succeeds. (Only received skbs are charged
    here; Linux also pays send-queue skbs from the same sk_forward_alloc.)"""
    delta = size - sk.sk_forward_alloc
    if delta > 0:
        sk.sk_forward_alloc += sk_mem_pages(delta) * SK_MEM_PAGE
    return True


def tcp_eat_recv_skb(sk, skb) -> None:
    q = sk.sk_receive_queue.q
    if q and q[0] is skb:
        q.popleft()
    else:
        q.remove(skb)
    tcp_rmem_uncharge(sk, skb.truesize)
    consume_skb(skb)


def sock_rcvlowat(sk, waitall: bool, length: int) -> int:
    v = length if waitall else min(sk.sk_rcvlowat, length)
    return v or 1


def tcp_recvmsg(sk, msg, size: int, flags: int):
    """recv()/read(): copy in-order data to msg; 0 at EOF; -errno; or a Blocked."""
    tcp_mstamp_refresh(sk)
    if sk.sk_state == TCP_LISTEN:
        return -ENOTCONN
    if flags & MSG_OOB:
        return -EINVAL      # urgent data is not delivered out of band by kstack
    timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT)
    target = sock_rcvlowat(sk, bool(flags & MSG_WAITALL), size)
    return _tcp_recvmsg_locked(sk, msg, size, flags, timeo, target, 0)


def _tcp_recvmsg_locked(sk, msg, length: int, flags: int, timeo, target: int, copied: int):
    tp = sk
    peek = flags & MSG_PEEK
    seq = tp.copied_seq
    if peek:
        seq = (tp.copied_seq + copied) & _M32 if copied else tp.copied_seq
    length -= copied
    while True:
        found = None
        fin = False
        for skb in sk.sk_receive_queue.q:       # (the queue changes only after the break)
            offset = (seq - skb.cb.seq) & _M32
            if skb.cb.tcp_flags & TCPHDR_SYN:
                offset -= 1
            if offset < skb.len:
                found = (skb, offset)
                break
            if skb.cb.tcp_flags & TCPHDR_FIN:
                fin = True
                found = (skb, offset)
                break
        if found is not None and not fin:
            skb, offset = found
            used = skb.len - offset
            if length < used:
                used = length
            if not (flags & MSG_TRUNC):
                memcpy_to_msg(msg, skb.head[skb.data + offset:skb.data + offset + used])
            seq = (seq + used) & _M32
            if not peek:
                tp.copied_seq = seq
            copied += used
            length -= used
            if not peek:
                tcp_input.tcp_rcv_space_adjust(sk)
            if used + offset >= skb.len:
                if skb.cb.tcp_flags & TCPHDR_FIN:
                    seq = (seq + 1) & _M32
                    if not peek:
                        tp.copied_seq = seq
                        tcp_eat_recv_skb(sk, skb)
                    break
                if not peek:
                    tcp_eat_recv_skb(sk, skb)
            if length <= 0:
                break
            continue
        if fin:
            skb, _ = found
            seq = (seq + 1) & _M32
            if not peek:
                tp.copied_seq = seq
                tcp_eat_recv_skb(sk, skb)
            break
        # Nothing (more) to read now.
        if copied >= target:
            break
        if copied:
            if (timeo is not None and timeo <= 0) or sk.sk_err or sk.sk_state == TCP_CLOSE or \
                    (sk.sk_shutdown & RCV_SHUTDOWN):
                break
        else:
            if sock_flag(sk, SOCK_DONE):
                break
            if sk.sk_err:
                copied = sock_error(sk)
                break
            if sk.sk_shutdown & RCV_SHUTDOWN:
                break
            if sk.sk_state == TCP_CLOSE:
                copied = -ENOTCONN
                break
            if timeo is not None and timeo <= 0:
                copied = -EAGAIN
                break
        # sk_wait_data
        tcp_cleanup_rbuf(sk, copied)
        got = copied

        def retry(got=got):
            tcp_mstamp_refresh(sk)
            return _tcp_recvmsg_locked(sk, msg, length + got, flags, timeo, target, got)

        def on_timeout(got=got):
            return got if got else -EAGAIN

        b = sk_wait_event(sk, EPOLLIN | EPOLLRDNORM | EPOLLERR | EPOLLHUP | EPOLLRDHUP, retry,
                          timeo, on_timeout, what="recvmsg")
        if got:
            b.on_signal = lambda: got
        return b
    tcp_cleanup_rbuf(sk, copied)
    return copied


# --- close / shutdown / disconnect ------------------------------------------------------
def tcp_shutdown(sk, how: int) -> None:
    """shutdown(SHUT_WR): send a FIN once queued data is out (RFC 9293 §3.10.4)."""
    if not (how & SEND_SHUTDOWN):
        return
    if (1 << sk.sk_state) & (TCPF_ESTABLISHED | TCPF_SYN_SENT | TCPF_SYN_RECV | TCPF_CLOSE_WAIT):
        if tcp_close_state(sk):
            tcp_output.tcp_send_fin(sk)


def tcp_close(sk, timeout):
    """close(): RST if unread data was thrown away (RFC 2525 §2.17), RST on SO_LINGER 0,
    else a FIN; with SO_LINGER > 0 a Blocked waits for the FIN to be acked.
    ``timeout`` is seconds (0: do not linger)."""
    tcp_mstamp_refresh(sk)
    sk.sk_shutdown = SHUTDOWN_MASK
    net = sk.sk_net
    if sk.sk_state == TCP_LISTEN:
        tcp_set_state(sk, TCP_CLOSE)
        inet_csk_listen_stop(sk)
        return _tcp_close_adjudge(sk)
    data_was_unread = 0
    q = sk.sk_receive_queue.q
    while q:
        skb = q.popleft()
        ln = (skb.cb.end_seq - skb.cb.seq) & _M32
        if skb.cb.tcp_flags & TCPHDR_FIN:
            ln -= 1
        data_was_unread += ln
        tcp_rmem_uncharge(sk, skb.truesize)
        consume_skb(skb)
    if sk.sk_state == TCP_CLOSE:
        return _tcp_close_adjudge(sk)
    if data_was_unread:
        net_inc_stat(net, "TCPAbortOnClose")
        tcp_set_state(sk, TCP_CLOSE)
        tcp_output.tcp_send_active_reset(sk)
    elif sock_flag(sk, SOCK_LINGER) and not sk.sk_lingertime:
        tcp_disconnect(sk, 0)
        net_inc_stat(net, "TCPAbortOnData")
    elif tcp_close_state(sk):
        tcp_output.tcp_send_fin(sk)
    # sk_stream_wait_close
    if timeout and (1 << sk.sk_state) & (TCPF_FIN_WAIT1 | TCPF_CLOSING | TCPF_LAST_ACK):
        def done():
            return not ((1 << sk.sk_state) & (TCPF_FIN_WAIT1 | TCPF_CLOSING | TCPF_LAST_ACK))

        deadline = sk.sk_net.clock.now() + timeout

        def retry():
            if done():
                _tcp_close_adjudge(sk)
                return 0            # close(2) returns 0 once the linger is over
            b2 = sk_wait_event(sk, EPOLLHUP | EPOLLERR | EPOLLOUT | EPOLLIN, retry,
                               deadline - sk.sk_net.clock.now(), on_timeout, what="close-linger")
            if not isinstance(b2, int):
                b2.on_signal = on_timeout
            return b2

        def on_timeout():
            _tcp_close_adjudge(sk)
            return 0

        b = sk_wait_event(sk, EPOLLHUP | EPOLLERR | EPOLLOUT | EPOLLIN, retry, timeout,
                          on_timeout, what="close-linger")
        b.on_signal = on_timeout
        # The socket is still the file's while it lingers: state changes must wake us.
        return b
    return _tcp_close_adjudge(sk)


def _tcp_close_adjudge(sk):
    """adjudge_to_death: orphan the socket; FIN_WAIT2 orphans become TIME_WAIT minisocks
    (tcp_fin_timeout); a socket already in CLOSE is destroyed."""
    state = sk.sk_state
    sock_hold(sk)
    sock_orphan(sk)
    net = sk.sk_net
    net.ipv4.tcp_orphan_count += 1
    sk.tcp_orphaned = True
    if state != TCP_CLOSE and sk.sk_state == TCP_CLOSE:
        sock_put(sk)
        return None
    if sk.sk_state == TCP_FIN_WAIT2:
        if sk.linger2 < 0:
            tcp_set_state(sk, TCP_CLOSE)
            tcp_output.tcp_send_active_reset(sk)
            net_inc_stat(net, "TCPAbortOnLinger")
        else:
            tmo = tcp_fin_time(sk)
            if tmo > TCP_TIMEWAIT_LEN:
                inet_csk_reset_keepalive_timer(sk, tmo - TCP_TIMEWAIT_LEN)
            else:
                tcp_minisocks.tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)
                sock_put(sk)
                return None
    if sk.sk_state == TCP_CLOSE:
        inet_csk_destroy_sock(sk)
    sock_put(sk)
    return None


def tcp_orphan_count_dec(sk) -> None:
    if getattr(sk, "tcp_orphaned", False):
        sk.tcp_orphaned = False
        sk.sk_net.ipv4.tcp_orphan_count -= 1


def tcp_need_reset(state: int) -> bool:
    return bool((1 << state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT | TCPF_FIN_WAIT1 |
                                TCPF_FIN_WAIT2 | TCPF_SYN_RECV))


def tcp_write_queue_purge(sk) -> None:
    q = sk.sk_write_queue.q
    while q:
        skb = q.popleft()
        sk.sk_wmem_queued -= skb.truesize
    rq = sk.tcp_rtx_queue.q
    for skb in rq:
        sk.sk_wmem_queued -= skb.truesize
    rq.clear()
    sk.sk_wmem_queued = max(sk.sk_wmem_queued, 0)
    sk.tsorted_sent_queue.clear()
    sk.packets_out = 0
    sk.highest_sack = None
    sk.sacked_out = sk.lost_out = sk.retrans_out = 0
    sk.retransmit_skb_hint = None
    sk.lost_skb_hint = None
    sk.icsk_backoff = 0


def tcp_disconnect(sk, flags: int) -> int:
    """connect(AF_UNSPEC) / SO_LINGER 0 close: RST if needed, drop everything, back to CLOSE."""
    old_state = sk.sk_state
    net = sk.sk_net
    if old_state != TCP_CLOSE:
        tcp_set_state(sk, TCP_CLOSE)
    if old_state == TCP_LISTEN:
        inet_csk_listen_stop(sk)
    elif tcp_need_reset(old_state) or (sk.snd_nxt != sk.write_seq and
                                       (1 << old_state) & (TCPF_CLOSING | TCPF_LAST_ACK)):
        tcp_output.tcp_send_active_reset(sk)
        sk.sk_err = ECONNRESET
    elif old_state == TCP_SYN_SENT:
        sk.sk_err = ECONNRESET
    tcp_clear_xmit_timers(sk)
    q = sk.sk_receive_queue.q
    while q:
        skb = q.popleft()
        tcp_rmem_uncharge(sk, skb.truesize)
    tcp_write_queue_purge(sk)
    sk.out_of_order_queue = []
    sk.inet_dport = 0
    sk.sk_shutdown = 0
    sock_reset_flag(sk, SOCK_DONE)
    sk.srtt_us = 0
    sk.mdev_us = jiffies_to_usecs(TCP_TIMEOUT_INIT)
    sk.rcv_rtt_last_tsecr = 0
    seq = (sk.write_seq + sk.max_window + 2) & _M32
    sk.write_seq = seq or 1
    sk.icsk_backoff = 0
    sk.icsk_probes_out = 0
    sk.icsk_probes_tstamp = 0
    sk.icsk_rto = TCP_TIMEOUT_INIT
    sk.icsk_rto_min = TCP_RTO_MIN
    sk.icsk_delack_max = TCP_DELACK_MAX
    sk.snd_ssthresh = TCP_INFINITE_SSTHRESH
    sk.snd_cwnd = TCP_INIT_CWND
    sk.snd_cwnd_cnt = 0
    sk.is_cwnd_limited = False
    sk.max_packets_out = 0
    sk.window_clamp = 0
    sk.delivered = 0
    sk.delivered_ce = 0
    sk.icsk_ca_state = TCP_CA_Open
    tcp_cleanup_congestion_control(sk)
    sk.is_sack_reneg = 0
    tcp_input.tcp_clear_retrans(sk)
    sk.total_retrans = 0
    sk.undo_marker = 0
    sk.rx_opt = TcpOptionsReceived()
    sk.rcv_ooopack = 0
    sk.app_limited = _M32
    sk.rate_app_limited = 1
    sk.rack = TcpRack()
    sk.rack.reo_wnd_steps = 1
    sk.bytes_acked = sk.bytes_received = sk.bytes_sent = sk.bytes_retrans = 0
    sk.segs_in = sk.segs_out = sk.data_segs_in = sk.data_segs_out = 0
    sk.dsack_dups = sk.reord_seen = 0
    sk.total_rto = sk.total_rto_recoveries = sk.total_rto_time = 0
    sk.sk_dst_cache = None
    sk.icsk_ack.__init__()
    if not (sk.sk_userlocks & SOCK_BINDADDR_LOCK):
        sk.inet_saddr = sk.inet_rcv_saddr = 0
    sk.sk_error_report(sk)
    return 0


def tcp_close_child(listener, child) -> None:
    """A child still on the accept queue when the listener closes (inet_child_forget):
    RST it if it got data, then kill it."""
    sock_orphan(child)
    child.sk_net.ipv4.tcp_orphan_count += 1
    child.tcp_orphaned = True
    if child.sk_state != TCP_CLOSE:
        # __tcp_close semantics for the never-accepted child: unread data -> RST.
        tcp_disconnect_child(child)


def tcp_disconnect_child(child) -> None:
    unread = bool(child.sk_receive_queue.q)
    if unread or tcp_need_reset(child.sk_state):
        tcp_set_state(child, TCP_CLOSE)
        tcp_output.tcp_send_active_reset(child)
        net_inc_stat(child.sk_net, "TCPAbortOnClose")
    else:
        tcp_set_state(child, TCP_CLOSE)
    tcp_done(child)


def tcp_abort_child(child) -> None:
    sock_set_flag(child, SOCK_DEAD)
    if child.sk_state != TCP_CLOSE:
        tcp_set_state(child, TCP_CLOSE)
    tcp_clear_xmit_timers(child)
    tcp_v4_destroy_sock_lazy(child)


def tcp_v4_destroy_sock_lazy(sk) -> None:
    tcp_ipv4.tcp_v4_destroy_sock(sk)
    if sk.icsk_bind_hash is not None:
        inet_put_port(sk)


# --- poll ---------------------------------------------------------------------------------
def tcp_poll(sk) -> int:
    """The readiness mask select/poll/epoll see (tcp_poll)."""
    state = sk.sk_state
    if state == TCP_LISTEN:
        return inet_csk_listen_poll(sk)
    mask = 0
    shutdown = sk.sk_shutdown
    if shutdown == SHUTDOWN_MASK or state == TCP_CLOSE:
        mask |= EPOLLHUP
    if shutdown & RCV_SHUTDOWN:
        mask |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP
    if state != TCP_SYN_SENT and (state != TCP_SYN_RECV or sk.fastopen_rsk is not None):
        target = sock_rcvlowat(sk, False, 0x7FFFFFFF)
        urg_data = sk.urg_data
        if tcp_inq(sk) >= target:
            mask |= EPOLLIN | EPOLLRDNORM
        if not (shutdown & SEND_SHUTDOWN):
            if __sk_stream_is_writeable(sk, 1):
                mask |= EPOLLOUT | EPOLLWRNORM
            else:
                sk.sk_socket_nospace = True
                if __sk_stream_is_writeable(sk, 1):
                    mask |= EPOLLOUT | EPOLLWRNORM
        else:
            mask |= EPOLLOUT | EPOLLWRNORM
        if urg_data & TCP_URG_VALID:
            mask |= EPOLLPRI
    elif state == TCP_SYN_SENT and sk.inet_num and False:
        pass
    if sk.sk_err or sk.sk_error_queue.q:
        mask |= EPOLLERR
    return mask


# --- ioctl --------------------------------------------------------------------------------
def tcp_ioctl(sk, cmd: int, arg=None):
    if cmd == SIOCINQ:
        if sk.sk_state == TCP_LISTEN:
            return -EINVAL
        return tcp_inq(sk)
    if cmd == SIOCATMARK:
        return int(bool(sk.urg_data) and sk.urg_seq == sk.copied_seq)
    if cmd == SIOCOUTQ:
        if sk.sk_state == TCP_LISTEN:
            return -EINVAL
        if (1 << sk.sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV):
            return 0
        return s32(sk.write_seq - sk.snd_una)
    if cmd == SIOCOUTQNSD:
        if sk.sk_state == TCP_LISTEN:
            return -EINVAL
        if (1 << sk.sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV):
            return 0
        return s32(sk.write_seq - sk.snd_nxt)
    return -ENOIOCTLCMD


# --- socket options -----------------------------------------------------------------------
def tcp_sock_set_nodelay(sk) -> None:
    sk.nonagle |= TCP_NAGLE_OFF | TCP_NAGLE_PUSH
    tcp_output.tcp_push_pending_frames(sk)


def __tcp_sock_set_cork(sk, on: bool) -> None:
    if on:
        sk.nonagle |= TCP_NAGLE_CORK
    else:
        sk.nonagle &= ~TCP_NAGLE_CORK
        if sk.nonagle & TCP_NAGLE_OFF:
            sk.nonagle |= TCP_NAGLE_PUSH
        tcp_output.tcp_push_pending_frames(sk)


def tcp_set_keepalive(sk, val: int) -> None:
    """SO_KEEPALIVE on a TCP socket: arm or stop the keepalive timer."""
    if (1 << sk.sk_state) & (TCPF_CLOSE | TCPF_LISTEN):
        return
    if val and not sock_flag(sk, SOCK_KEEPOPEN):
        inet_csk_reset_keepalive_timer(sk, keepalive_time_when(sk))
    elif not val:
        inet_csk_delete_keepalive_timer(sk)


def tcp_sock_set_keepidle_locked(sk, val: int) -> int:
    if val < 1 or val > MAX_TCP_KEEPIDLE:
        return -EINVAL
    sk.keepalive_time = val * HZ
    if sock_flag(sk, SOCK_KEEPOPEN) and not ((1 << sk.sk_state) & (TCPF_CLOSE | TCPF_LISTEN)):
        elapsed = keepalive_time_elapsed(sk)
        if sk.keepalive_time > elapsed:
            elapsed = sk.keepalive_time - elapsed
        else:
            elapsed = 0
        inet_csk_reset_keepalive_timer(sk, elapsed)
    return 0


def tcp_setsockopt(sk, level: int, optname: int, optval) -> int:
    if level != 6:
        af = sk.icsk_af_ops
        if af is not None and af.setsockopt is not None:
            return af.setsockopt(sk, level, optname, optval)
        return -ENOPROTOOPT
    if optname == TCP_CONGESTION:
        if isinstance(optval, (bytes, bytearray, memoryview)):
            name = bytes(optval).split(b"\0", 1)[0].decode("latin-1")
        elif isinstance(optval, str):
            name = optval
        else:
            return -EINVAL
        if not name:
            return -EINVAL
        return tcp_set_congestion_control(sk, name[:15])
    if optlen_of(optval) < 4:
        return -EINVAL
    val = sockopt_int(optval)
    if val is None:
        return -EFAULT
    tp = sk
    net = sk.sk_net
    if optname == TCP_MAXSEG:
        if val and (val < TCP_MIN_MSS or val > MAX_TCP_WINDOW):
            return -EINVAL
        tp.rx_opt.user_mss = val
        return 0
    if optname == TCP_NODELAY:
        if val:
            tcp_sock_set_nodelay(sk)
        else:
            tp.nonagle &= ~TCP_NAGLE_OFF
        return 0
    if optname == TCP_CORK:
        __tcp_sock_set_cork(sk, bool(val))
        return 0
    if optname == TCP_KEEPIDLE:
        return tcp_sock_set_keepidle_locked(sk, val)
    if optname == TCP_KEEPINTVL:
        if val < 1 or val > MAX_TCP_KEEPINTVL:
            return -EINVAL
        tp.keepalive_intvl = val * HZ
        return 0
    if optname == TCP_KEEPCNT:
        if val < 1 or val > MAX_TCP_KEEPCNT:
            return -EINVAL
        tp.keepalive_probes = val
        return 0
    if optname == TCP_SYNCNT:
        if val < 1 or val > MAX_TCP_SYNCNT:
            return -EINVAL
        sk.icsk_syn_retries = val
        return 0
    if optname == TCP_LINGER2:
        if val < 0:
            tp.linger2 = -1
        elif val > TCP_FIN_TIMEOUT_MAX // HZ:
            tp.linger2 = TCP_FIN_TIMEOUT_MAX
        else:
            tp.linger2 = val * HZ
        return 0
    if optname == TCP_DEFER_ACCEPT:
        # Kept as a number of SYN-ACK retransmits, as Linux does (secs_to_retrans).
        sk.icsk_accept_queue.rskq_defer_accept = secs_to_retrans(val, 1, 120)
        return 0
    if optname == TCP_WINDOW_CLAMP:
        if not val:
            if sk.sk_state != TCP_CLOSE:
                return -EINVAL
            tp.window_clamp = 0
        else:
            new_clamp = max(val, SOCK_MIN_RCVBUF_HALF)
            tp.window_clamp = new_clamp
            tp.rcv_ssthresh = min(tp.rcv_wnd, new_clamp) if tp.rcv_wnd else tp.rcv_ssthresh
        return 0
    if optname == TCP_QUICKACK:
        if val & 1:
            if (1 << sk.sk_state) & (TCPF_ESTABLISHED | TCPF_CLOSE_WAIT) and \
                    inet_csk_ack_scheduled(sk):
                sk.icsk_ack.pending |= ICSK_ACK_PUSHED
                tcp_cleanup_rbuf(sk, 1)
                if not (val & 1):
                    inet_csk_enter_pingpong_mode(sk)
            inet_csk_exit_pingpong_mode(sk)
        else:
            inet_csk_enter_pingpong_mode(sk)
        return 0
    if optname == TCP_USER_TIMEOUT:
        if val < 0:
            return -EINVAL
        sk.icsk_user_timeout = val      # milliseconds
        return 0
    if optname == TCP_NOTSENT_LOWAT:
        tp.notsent_lowat = val & _M32
        sk.sk_write_space(sk)
        return 0
    if optname == TCP_THIN_LINEAR_TIMEOUTS:
        if val < 0 or val > 1:
            return -EINVAL
        tp.thin_lto = val
        return 0
    if optname == TCP_THIN_DUPACK:
        if val < 0 or val > 1:
            return -EINVAL
        return 0
    if optname == TCP_SAVE_SYN:
        if val < 0 or val > 2:
            return -EINVAL
        tp.save_syn = val
        return 0
    if optname == TCP_INQ:
        if val > 1 or val < 0:
            return -EINVAL
        tp.recvmsg_inq = val
        return 0
    if optname == TCP_TX_DELAY:
        tp.tcp_tx_delay = max(val, 0)
        return 0
    if optname == TCP_REPAIR:
        return -EPERM
    return -ENOPROTOOPT


SOCK_MIN_RCVBUF_HALF = 2304 // 2


def tcp_getsockopt(sk, level: int, optname: int, buflen: int = 0):
    if level != 6:
        af = sk.icsk_af_ops
        if af is not None and af.getsockopt is not None:
            return af.getsockopt(sk, level, optname, buflen)
        return -ENOPROTOOPT
    tp = sk
    net = sk.sk_net
    if optname == TCP_MAXSEG:
        val = tp.mss_cache
        if tp.rx_opt.user_mss and (1 << sk.sk_state) & (TCPF_CLOSE | TCPF_LISTEN):
            val = tp.rx_opt.user_mss
    elif optname == TCP_NODELAY:
        val = int(bool(tp.nonagle & TCP_NAGLE_OFF))
    elif optname == TCP_CORK:
        val = int(bool(tp.nonagle & TCP_NAGLE_CORK))
    elif optname == TCP_KEEPIDLE:
        val = keepalive_time_when(tp) // HZ
    elif optname == TCP_KEEPINTVL:
        val = keepalive_intvl_when(tp) // HZ
    elif optname == TCP_KEEPCNT:
        val = keepalive_probes(tp)
    elif optname == TCP_SYNCNT:
        val = sk.icsk_syn_retries or net.ipv4.sysctl_tcp_syn_retries
    elif optname == TCP_LINGER2:
        val = tp.linger2
        if val >= 0:
            val = (val if val else net.ipv4.sysctl_tcp_fin_timeout * HZ) // HZ
    elif optname == TCP_DEFER_ACCEPT:
        val = retrans_to_secs(sk.icsk_accept_queue.rskq_defer_accept, 1, 120)
    elif optname == TCP_WINDOW_CLAMP:
        val = tp.window_clamp
    elif optname == TCP_INFO:
        b = tcp_get_info_bytes(sk)
        if buflen == 0:
            return put_bytes(b, 0)
        return b[:buflen]
    elif optname == TCP_QUICKACK:
        val = int(not inet_csk_in_pingpong_mode(sk))
    elif optname == TCP_CONGESTION:
        name = sk.icsk_ca_ops.name.encode()
        if buflen == 0:
            return name
        return (name + b"\0" * 16)[:min(buflen, 16)]
    elif optname == TCP_USER_TIMEOUT:
        val = sk.icsk_user_timeout
    elif optname == TCP_NOTSENT_LOWAT:
        val = tp.notsent_lowat
    elif optname == TCP_THIN_LINEAR_TIMEOUTS:
        val = tp.thin_lto
    elif optname == TCP_THIN_DUPACK:
        val = 0
    elif optname == TCP_SAVE_SYN:
        val = tp.save_syn
    elif optname == TCP_INQ:
        val = tp.recvmsg_inq
    elif optname == TCP_TX_DELAY:
        val = tp.tcp_tx_delay
    else:
        return -ENOPROTOOPT
    return put_int(val, buflen)


# --- TCP_INFO ---------------------------------------------------------------------------
_TCP_INFO = struct.Struct("<8B 4I 5I 4I 8I 2I I 4Q 2I 4I Q 3Q 2I 2Q 2I I 2I I HH I I 6I HH")
TCP_INFO_LEN = _TCP_INFO.size


def tcp_compute_delivery_rate(tp) -> int:
    rate = tp.rate_delivered
    intv = tp.rate_interval_us
    if rate and intv:
        return rate * tp.mss_cache * 1000000 // intv
    return 0


def tcp_get_info(sk) -> dict:
    """struct tcp_info as a dict of tcpi_* fields (what ss -i and TCP_INFO report)."""
    tp = sk
    now = tcp_jiffies32(sk)
    state = sk.sk_state
    info = {}
    info["tcpi_state"] = state
    info["tcpi_ca_state"] = sk.icsk_ca_state
    info["tcpi_retransmits"] = sk.icsk_retransmits
    info["tcpi_probes"] = sk.icsk_probes_out
    info["tcpi_backoff"] = sk.icsk_backoff
    opts = 0
    if tp.rx_opt.tstamp_ok:
        opts |= TCPI_OPT_TIMESTAMPS
    if tcp_is_sack(tp):
        opts |= TCPI_OPT_SACK
    if tp.rx_opt.wscale_ok:
        opts |= TCPI_OPT_WSCALE
    if tp.syn_data:
        opts |= TCPI_OPT_SYN_DATA
    info["tcpi_options"] = opts
    info["tcpi_snd_wscale"] = tp.rx_opt.snd_wscale if tp.rx_opt.wscale_ok else 0
    info["tcpi_rcv_wscale"] = tp.rx_opt.rcv_wscale if tp.rx_opt.wscale_ok else 0
    info["tcpi_delivery_rate_app_limited"] = int(bool(tp.rate_app_limited))
    info["tcpi_fastopen_client_fail"] = 0
    info["tcpi_rto"] = jiffies_to_usecs(sk.icsk_rto)
    info["tcpi_ato"] = jiffies_to_usecs(sk.icsk_ack.ato)
    info["tcpi_snd_mss"] = tp.mss_cache
    info["tcpi_rcv_mss"] = sk.icsk_ack.rcv_mss
    if state == TCP_LISTEN:
        info["tcpi_unacked"] = sk.sk_ack_backlog
        info["tcpi_sacked"] = sk.sk_max_ack_backlog
    else:
        info["tcpi_unacked"] = tp.packets_out
        info["tcpi_sacked"] = tp.sacked_out
    info["tcpi_lost"] = tp.lost_out
    info["tcpi_retrans"] = tp.retrans_out
    info["tcpi_fackets"] = 0
    info["tcpi_last_data_sent"] = (now - tp.lsndtime) & _M32
    info["tcpi_last_ack_sent"] = 0
    info["tcpi_last_data_recv"] = (now - sk.icsk_ack.lrcvtime) & _M32
    info["tcpi_last_ack_recv"] = (now - tp.rcv_tstamp) & _M32
    info["tcpi_pmtu"] = sk.icsk_pmtu_cookie
    info["tcpi_rcv_ssthresh"] = tp.rcv_ssthresh
    info["tcpi_rtt"] = tp.srtt_us >> 3
    info["tcpi_rttvar"] = tp.mdev_us >> 2
    info["tcpi_snd_ssthresh"] = tp.snd_ssthresh
    info["tcpi_snd_cwnd"] = tp.snd_cwnd
    info["tcpi_advmss"] = tp.advmss
    info["tcpi_reordering"] = tp.reordering
    info["tcpi_rcv_rtt"] = tp.rcv_rtt_est.rtt_us >> 3
    info["tcpi_rcv_space"] = tp.rcvq_space.space
    info["tcpi_total_retrans"] = tp.total_retrans
    info["tcpi_pacing_rate"] = sk.sk_pacing_rate
    info["tcpi_max_pacing_rate"] = sk.sk_max_pacing_rate if sk.sk_max_pacing_rate < 2**64 - 1 else 2**64 - 1
    info["tcpi_bytes_acked"] = tp.bytes_acked
    info["tcpi_bytes_received"] = tp.bytes_received
    info["tcpi_segs_out"] = tp.segs_out & _M32
    info["tcpi_segs_in"] = tp.segs_in & _M32
    info["tcpi_notsent_bytes"] = max(s32(tp.write_seq - tp.snd_nxt), 0)
    mr = tcp_min_rtt(tp)
    info["tcpi_min_rtt"] = mr if mr != _M32 else 0xFFFFFFFF
    info["tcpi_data_segs_in"] = tp.data_segs_in & _M32
    info["tcpi_data_segs_out"] = tp.data_segs_out & _M32
    info["tcpi_delivery_rate"] = tcp_compute_delivery_rate(tp)
    info["tcpi_busy_time"] = tp.chrono_stat[0] * 1000
    info["tcpi_rwnd_limited"] = tp.chrono_stat[1] * 1000
    info["tcpi_sndbuf_limited"] = tp.chrono_stat[2] * 1000
    info["tcpi_delivered"] = tp.delivered & _M32
    info["tcpi_delivered_ce"] = tp.delivered_ce & _M32
    info["tcpi_bytes_sent"] = tp.bytes_sent
    info["tcpi_bytes_retrans"] = tp.bytes_retrans
    info["tcpi_dsack_dups"] = tp.dsack_dups
    info["tcpi_reord_seen"] = tp.reord_seen
    info["tcpi_rcv_ooopack"] = tp.rcv_ooopack
    info["tcpi_snd_wnd"] = tp.snd_wnd
    info["tcpi_rcv_wnd"] = tp.rcv_wnd
    info["tcpi_rehash"] = 0
    info["tcpi_total_rto"] = tp.total_rto & 0xFFFF
    info["tcpi_total_rto_recoveries"] = tp.total_rto_recoveries & 0xFFFF
    rto_time = tp.total_rto_time
    if tp.rto_stamp:
        rto_time += (tcp_time_stamp_ms(sk) - tp.rto_stamp) & _M32
    info["tcpi_total_rto_time"] = rto_time & _M32
    info["tcpi_received_ce"] = 0
    for k in ("tcpi_delivered_e1_bytes", "tcpi_delivered_e0_bytes", "tcpi_delivered_ce_bytes",
              "tcpi_received_e1_bytes", "tcpi_received_e0_bytes", "tcpi_received_ce_bytes"):
        info[k] = 0
    info["tcpi_accecn_fail_mode"] = 0
    info["tcpi_accecn_opt_seen"] = 0
    # kstack extras for ss (not in struct tcp_info)
    info["ca_name"] = sk.icsk_ca_ops.name if sk.icsk_ca_ops is not None else ""
    info["sk_state_name"] = tcp_state_name(state)
    return info


def tcp_get_info_bytes(sk) -> bytes:
    """The packed struct tcp_info (Linux 6.18 layout, 280 bytes)."""
    i = tcp_get_info(sk)
    wscale = (i["tcpi_snd_wscale"] & 0xF) | ((i["tcpi_rcv_wscale"] & 0xF) << 4)
    flags = (i["tcpi_delivery_rate_app_limited"] & 1) | ((i["tcpi_fastopen_client_fail"] & 3) << 1)
    return _TCP_INFO.pack(
        i["tcpi_state"], i["tcpi_ca_state"], i["tcpi_retransmits"] & 0xFF, i["tcpi_probes"] & 0xFF,
        i["tcpi_backoff"] & 0xFF, i["tcpi_options"], wscale, flags,
        i["tcpi_rto"] & _M32, i["tcpi_ato"] & _M32, i["tcpi_snd_mss"], i["tcpi_rcv_mss"],
        i["tcpi_unacked"] & _M32, i["tcpi_sacked"] & _M32, i["tcpi_lost"] & _M32,
        i["tcpi_retrans"] & _M32, i["tcpi_fackets"],
        i["tcpi_last_data_sent"], i["tcpi_last_ack_sent"], i["tcpi_last_data_recv"],
        i["tcpi_last_ack_recv"],
        i["tcpi_pmtu"], i["tcpi_rcv_ssthresh"] & _M32, i["tcpi_rtt"] & _M32, i["tcpi_rttvar"] & _M32,
        i["tcpi_snd_ssthresh"] & _M32, i["tcpi_snd_cwnd"] & _M32, i["tcpi_advmss"],
        i["tcpi_reordering"],
        i["tcpi_rcv_rtt"] & _M32, i["tcpi_rcv_space"] & _M32,
        i["tcpi_total_retrans"] & _M32,
        i["tcpi_pacing_rate"] & (2**64 - 1), i["tcpi_max_pacing_rate"] & (2**64 - 1),
        i["tcpi_bytes_acked"], i["tcpi_bytes_received"],
        i["tcpi_segs_out"], i["tcpi_segs_in"],
        i["tcpi_notsent_bytes"] & _M32, i["tcpi_min_rtt"] & _M32, i["tcpi_data_segs_in"],
        i["tcpi_data_segs_out"],
        i["tcpi_delivery_rate"],
        i["tcpi_busy_time"], i["tcpi_rwnd_limited"], i["tcpi_sndbuf_limited"],
        i["tcpi_delivered"], i["tcpi_delivered_ce"],
        i["tcpi_bytes_sent"], i["tcpi_bytes_retrans"],
        i["tcpi_dsack_dups"] & _M32, i["tcpi_reord_seen"] & _M32,
        i["tcpi_rcv_ooopack"] & _M32,
        i["tcpi_snd_wnd"] & _M32, i["tcpi_rcv_wnd"] & _M32,
        i["tcpi_rehash"],
        i["tcpi_total_rto"], i["tcpi_total_rto_recoveries"],
        i["tcpi_total_rto_time"],
        i["tcpi_received_ce"],
        i["tcpi_delivered_e1_bytes"], i["tcpi_delivered_e0_bytes"], i["tcpi_delivered_ce_bytes"],
        i["tcpi_received_e1_bytes"], i["tcpi_received_e0_bytes"], i["tcpi_received_ce_bytes"],
        i["tcpi_accecn_fail_mode"], i["tcpi_accecn_opt_seen"])


# --- module init ------------------------------------------------------------------------
def tcp_init() -> None:
    """Once per process (inet_init calls it): register the per-namespace TCP state."""
    from . import tcp_cubic  # noqa: F401  registers cubic
    register_pernet_subsys(PernetOperations("tcp_sk", tcp_ipv4.tcp_sk_init))


def secs_to_retrans(seconds: int, timeout: int, rto_max: int) -> int:
    """net/ipv4/tcp.c: the retransmits (each RTO doubling up to rto_max) that cover seconds."""
    res = 0
    if seconds > 0:
        period = timeout
        res = 1
        while seconds > period and res < 255:
            res += 1
            timeout = min(timeout << 1, rto_max)
            period += timeout
    return res


def retrans_to_secs(retrans: int, timeout: int, rto_max: int) -> int:
    """net/ipv4/tcp.c: the seconds that `retrans` backed-off retransmits span."""
    period = 0
    if retrans > 0:
        period = timeout
        while retrans > 1:
            retrans -= 1
            timeout = min(timeout << 1, rto_max)
            period += timeout
    return period
