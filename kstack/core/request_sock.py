"""net/core/request_sock.c, include/net/request_sock.h (+ inet_request_sock and
tcp_request_sock from include/net/inet_sock.h, include/linux/tcp.h) — the minisock a
listener keeps for each half-open connection (the SYN queue, state TCP_NEW_SYN_RECV),
and the accept queue of established children waiting for accept().

A RequestSock is hashed in ehash under its 4-tuple like a full socket, so the lookup of
the final ACK finds it (tcp_v4_rcv -> tcp_check_req). Its rsk_timer retransmits the
SYN-ACK (reqsk_timer_handler in tcp_minisocks.py).
"""
from collections import deque

from .timer import TimerList

TCP_NEW_SYN_RECV = 12


class RequestSock:
    """struct request_sock + inet_request_sock + tcp_request_sock."""
    __slots__ = (
        "rsk_listener", "sk_net", "sk_state", "sk_family", "sk_bound_dev_if", "sk", "num_retrans",
        "num_timeout", "rsk_timer", "rsk_rcv_wnd", "rsk_window_clamp", "ts_recent", "mss",
        "ir_loc_addr", "ir_rmt_addr", "ir_num", "ir_rmt_port", "ir_iif", "ir_mark", "snd_wscale",
        "rcv_wscale", "tstamp_ok", "sack_ok", "wscale_ok", "ecn_ok", "acked", "ireq_opt",
        "rcv_isn", "snt_isn", "ts_off", "snt_tsval_first", "snt_tsval_last", "last_oow_ack_time",
        "rcv_nxt", "syn_tos", "snt_synack", "req_usec_ts", "syncookie", "tfo_listener", "req_dst",
        "sk_hashed_key", "__dict__",   # anything else still works
    )

    def __init__(self, listener):
        self.rsk_listener = listener
        self.sk_net = listener.sk_net
        self.sk_state = TCP_NEW_SYN_RECV
        self.sk_family = listener.sk_family
        self.sk_bound_dev_if = listener.sk_bound_dev_if
        self.sk = None                # the child, once the 3WHS completes
        self.num_retrans = 0
        self.num_timeout = 0
        self.rsk_timer = TimerList(None, self, "rsk_timer")
        self.rsk_rcv_wnd = 0
        self.rsk_window_clamp = 0
        self.ts_recent = 0
        self.mss = 0
        # inet_request_sock (addresses and ports host order)
        self.ir_loc_addr = 0
        self.ir_rmt_addr = 0
        self.ir_num = 0               # local port
        self.ir_rmt_port = 0
        self.ir_iif = 0
        self.ir_mark = 0
        self.snd_wscale = 0
        self.rcv_wscale = 0
        self.tstamp_ok = 0
        self.sack_ok = 0
        self.wscale_ok = 0
        self.ecn_ok = 0
        self.acked = 0
        self.ireq_opt = None
        # tcp_request_sock
        self.rcv_isn = 0
        self.snt_isn = 0
        self.ts_off = 0
        self.snt_tsval_first = 0
        self.snt_tsval_last = 0
        self.last_oow_ack_time = 0
        self.rcv_nxt = 0
        self.syn_tos = 0
        self.snt_synack = 0           # tcp_clock_us of the first SYN-ACK (RTT sample)
        self.req_usec_ts = 0
        self.syncookie = 0
        self.tfo_listener = False

    # the sock_common view, so lookups and ss treat it like a socket
    @property
    def inet_rcv_saddr(self):
        return self.ir_loc_addr

    @property
    def inet_daddr(self):
        return self.ir_rmt_addr

    @property
    def inet_num(self):
        return self.ir_num

    @property
    def inet_dport(self):
        return self.ir_rmt_port

    def __repr__(self):
        return f"<request_sock {self.ir_loc_addr:#x}:{self.ir_num} -> {self.ir_rmt_addr:#x}:{self.ir_rmt_port}>"


def inet_rsk(req):
    return req


def tcp_rsk(req):
    return req


class RequestSockQueue:
    """struct request_sock_queue: the accept queue (children) and SYN-queue counters.
    Every connection socket has one; only a listener's (inet_csk_listen_start makes a fresh
    one) needs the queues, so the others get empty tuples and no storage."""
    __slots__ = ("rskq_accept", "syn_queue", "qlen", "young", "rskq_defer_accept")

    def __init__(self, listening: bool = True):
        # requests whose child is ready for accept(); request socks in NEW_SYN_RECV
        self.rskq_accept = deque() if listening else ()
        self.syn_queue = [] if listening else ()
        self.qlen = 0
        self.young = 0
        self.rskq_defer_accept = 0


def reqsk_queue_len(q: RequestSockQueue) -> int:
    return q.qlen


def reqsk_queue_len_young(q: RequestSockQueue) -> int:
    return q.young


def reqsk_queue_empty(q: RequestSockQueue) -> bool:
    return not q.rskq_accept


def reqsk_queue_remove(q: RequestSockQueue, parent):
    """Take the oldest established request off the accept queue."""
    if not q.rskq_accept:
        return None
    req = q.rskq_accept.popleft()
    parent.sk_ack_backlog -= 1
    return req


def reqsk_free(req) -> None:
    t = req.rsk_timer
    if t.pending and t.base is not None:
        t.base.del_timer(t)
    req.sk = None
