"""net/ipv4/tcp_cong.c — pluggable congestion control (struct tcp_congestion_ops), the
registry behind net.ipv4.tcp_congestion_control / TCP_CONGESTION, and TCP Reno
(RFC 5681 §3.1: slow start and congestion avoidance; RFC 3465 byte counting as Linux
does it, per packet acked).

The registry is module state shared by every Net, as the kernel's tcp_cong_list is
global; which algorithm a socket starts with is per Net (net.ipv4.tcp_congestion_control).
"""
from dataclasses import dataclass
from typing import Callable, Optional

from kstack.core.errno import EBUSY, EEXIST, ENOENT, EPERM, EINVAL
from .tcp_states import TCPF_CLOSE, TCPF_LISTEN

TCP_CA_NAME_MAX = 16

# enum tcp_ca_event (include/net/tcp.h)
CA_EVENT_TX_START = 0
CA_EVENT_CWND_RESTART = 1
CA_EVENT_COMPLETE_CWR = 2
CA_EVENT_LOSS = 3
CA_EVENT_ECN_NO_CE = 4
CA_EVENT_ECN_IS_CE = 5

# enum tcp_ca_state (include/uapi/linux/tcp.h)
TCP_CA_Open = 0
TCP_CA_Disorder = 1
TCP_CA_CWR = 2
TCP_CA_Recovery = 3
TCP_CA_Loss = 4
TCPF_CA_Open = 1 << TCP_CA_Open
TCPF_CA_Disorder = 1 << TCP_CA_Disorder
TCPF_CA_CWR = 1 << TCP_CA_CWR
TCPF_CA_Recovery = 1 << TCP_CA_Recovery
TCPF_CA_Loss = 1 << TCP_CA_Loss

TCP_CONG_NON_RESTRICTED = 0x1
TCP_CONG_NEEDS_ECN = 0x2

TCP_INFINITE_SSTHRESH = 0x7FFFFFFF


class AckSample:
    """struct ack_sample: what pkts_acked() is told about one ACK."""
    __slots__ = ("pkts_acked", "rtt_us", "in_flight")

    def __init__(self, pkts_acked: int, rtt_us: int, in_flight: int):
        self.pkts_acked = pkts_acked
        self.rtt_us = rtt_us
        self.in_flight = in_flight


@dataclass
class TcpCongestionOps:
    """struct tcp_congestion_ops. ssthresh and (cong_avoid or cong_control) are required."""
    name: str
    ssthresh: Callable                      # (sk) -> new ssthresh
    cong_avoid: Optional[Callable] = None   # (sk, ack, acked)
    set_state: Optional[Callable] = None    # (sk, new_ca_state)
    cwnd_event: Optional[Callable] = None   # (sk, ev)
    in_ack_event: Optional[Callable] = None  # (sk, flags)
    pkts_acked: Optional[Callable] = None   # (sk, AckSample)
    undo_cwnd: Optional[Callable] = None    # (sk) -> cwnd
    cong_control: Optional[Callable] = None  # (sk, ack, flag, rate_sample)
    min_tso_segs: Optional[Callable] = None
    sndbuf_expand: Optional[Callable] = None
    get_info: Optional[Callable] = None     # (sk) -> dict
    init: Optional[Callable] = None         # (sk)
    release: Optional[Callable] = None      # (sk)
    flags: int = 0
    key: int = 0


tcp_cong_list: list[TcpCongestionOps] = []


def tcp_ca_find(name: str) -> Optional[TcpCongestionOps]:
    for ca in tcp_cong_list:
        if ca.name == name:
            return ca
    return None


def tcp_validate_congestion_control(ca: TcpCongestionOps) -> int:
    if ca.ssthresh is None or ca.undo_cwnd is None or not (ca.cong_avoid or ca.cong_control):
        return -EINVAL
    return 0


def tcp_register_congestion_control(ca: TcpCongestionOps) -> int:
    r = tcp_validate_congestion_control(ca)
    if r:
        return r
    if tcp_ca_find(ca.name) is not None:
        return -EEXIST
    ca.key = len(tcp_cong_list) + 1
    tcp_cong_list.append(ca)
    return 0


def tcp_unregister_congestion_control(ca: TcpCongestionOps) -> None:
    if ca in tcp_cong_list:
        tcp_cong_list.remove(ca)


def tcp_get_available_congestion_control() -> str:
    """net.ipv4.tcp_available_congestion_control: registered names, space separated."""
    return " ".join(ca.name for ca in tcp_cong_list)


def tcp_get_default_congestion_control(net) -> str:
    return net.ipv4.tcp_congestion_control.name


def tcp_set_default_congestion_control(net, name: str) -> int:
    """Writing net.ipv4.tcp_congestion_control: ENOENT for an unknown name (as Linux without
    module autoloading), EPERM for a non-restricted algorithm we cannot take."""
    ca = tcp_ca_find(name)
    if ca is None:
        return -ENOENT
    net.ipv4.tcp_congestion_control = ca
    return 0


# --- per-socket -------------------------------------------------------------
def tcp_assign_congestion_control(sk) -> None:
    """At socket creation (tcp_init_sock): the namespace default."""
    net = sk.sk_net
    sk.icsk_ca_ops = net.ipv4.tcp_congestion_control
    sk.icsk_ca_priv = None


def tcp_init_congestion_control(sk) -> None:
    """When the connection is established (tcp_init_transfer)."""
    sk.prior_ssthresh = 0
    if sk.icsk_ca_ops.init is not None:
        sk.icsk_ca_ops.init(sk)
    sk.icsk_ca_initialized = True


def tcp_reinit_congestion_control(sk, ca: TcpCongestionOps) -> None:
    tcp_cleanup_congestion_control(sk)
    sk.icsk_ca_ops = ca
    sk.icsk_ca_setsockopt = True
    sk.icsk_ca_priv = None
    if not ((1 << sk.sk_state) & (TCPF_CLOSE | TCPF_LISTEN)):
        tcp_init_congestion_control(sk)


def tcp_cleanup_congestion_control(sk) -> None:
    ca = sk.icsk_ca_ops
    if ca is not None and ca.release is not None and sk.icsk_ca_initialized:
        ca.release(sk)
    sk.icsk_ca_initialized = False


def tcp_set_congestion_control(sk, name: str, load: bool = True, cap_net_admin: bool = True) -> int:
    """setsockopt(TCP_CONGESTION): ENOENT for an unknown algorithm."""
    if sk.icsk_ca_dst_locked:
        return -EPERM
    ca = tcp_ca_find(name)
    if ca is None:
        return -ENOENT
    if ca is sk.icsk_ca_ops:
        sk.icsk_ca_setsockopt = True
        return 0
    if not cap_net_admin and not (ca.flags & TCP_CONG_NON_RESTRICTED):
        return -EPERM
    tcp_reinit_congestion_control(sk, ca)
    return 0


def tcp_ca_event(sk, event: int) -> None:
    ca = sk.icsk_ca_ops
    if ca.cwnd_event is not None:
        ca.cwnd_event(sk, event)


def tcp_set_ca_state(sk, ca_state: int) -> None:
    ca = sk.icsk_ca_ops
    if ca.set_state is not None:
        ca.set_state(sk, ca_state)
    sk.icsk_ca_state = ca_state


# --- Reno -------------------------------------------------------------------
def tcp_in_slow_start(tp) -> bool:
    return tp.snd_cwnd < tp.snd_ssthresh


def tcp_is_cwnd_limited(sk) -> bool:
    tp = sk
    if tp.is_cwnd_limited:
        return True
    # In slow start, make sure cwnd grows to twice what was ACKed.
    if tcp_in_slow_start(tp):
        return tp.snd_cwnd < 2 * tp.max_packets_out
    return False


def tcp_slow_start(tp, acked: int) -> int:
    """RFC 5681 §3.1 slow start (ABC, L=inf); returns the acked packets left over."""
    cwnd = min(tp.snd_cwnd + acked, tp.snd_ssthresh)
    acked -= cwnd - tp.snd_cwnd
    tp.snd_cwnd = min(cwnd, tp.snd_cwnd_clamp)
    return acked


def tcp_cong_avoid_ai(tp, w: int, acked: int) -> None:
    """cwnd += 1 per w packets acked (additive increase)."""
    if tp.snd_cwnd_cnt >= w:
        tp.snd_cwnd_cnt = 0
        tp.snd_cwnd += 1
    tp.snd_cwnd_cnt += acked
    if tp.snd_cwnd_cnt >= w:
        delta = tp.snd_cwnd_cnt // w
        tp.snd_cwnd_cnt -= delta * w
        tp.snd_cwnd += delta
    tp.snd_cwnd = min(tp.snd_cwnd, tp.snd_cwnd_clamp)


def tcp_reno_cong_avoid(sk, ack: int, acked: int) -> None:
    tp = sk
    if not tcp_is_cwnd_limited(sk):
        return
    if tcp_in_slow_start(tp):
        acked = tcp_slow_start(tp, acked)
        if not acked:
            return
    tcp_cong_avoid_ai(tp, tp.snd_cwnd, acked)


def tcp_reno_ssthresh(sk) -> int:
    """RFC 5681 eq. (4) in packets: max(cwnd/2, 2)."""
    return max(sk.snd_cwnd >> 1, 2)


def tcp_reno_undo_cwnd(sk) -> int:
    return max(sk.snd_cwnd, sk.prior_cwnd)


tcp_reno = TcpCongestionOps(
    name="reno",
    ssthresh=tcp_reno_ssthresh,
    cong_avoid=tcp_reno_cong_avoid,
    undo_cwnd=tcp_reno_undo_cwnd,
    flags=TCP_CONG_NON_RESTRICTED,
)

tcp_register_congestion_control(tcp_reno)
