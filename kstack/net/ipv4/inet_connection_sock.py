"""net/ipv4/inet_connection_sock.c, include/net/inet_connection_sock.h — the connection
socket: icsk_* fields, the accept queue and SYN queue bookkeeping, bind conflicts
(inet_csk_get_port with SO_REUSEADDR / SO_REUSEPORT and TIME_WAIT), listen start/stop,
inet_csk_accept, the retransmit / delayed-ACK / keepalive timer helpers, and cloning a
child from a listener (inet_csk_clone_lock).
"""
from kstack.core.errno import EADDRINUSE, EAGAIN, EINVAL
from kstack.core.sock import (RCV_SHUTDOWN, SEND_SHUTDOWN, SK_CAN_REUSE, SK_FORCE_REUSE,
                              SOCK_BINDADDR_LOCK, SOCK_DEAD, InetSock, sk_wait_event, sock_flag,
                              sock_orphan, sock_put, sock_set_flag, MSG_DONTWAIT, sock_rcvtimeo)
from kstack.core.timer import TimerList
from kstack.core.wait import EPOLLIN, EPOLLRDNORM, EPOLLERR

from kstack.core.request_sock import (RequestSockQueue, reqsk_queue_empty, reqsk_queue_len,
                                      reqsk_queue_remove)
from .tcp_states import (TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_NEW_SYN_RECV,
                         TCP_SYN_RECV, TCP_TIME_WAIT, TCPF_CLOSE_WAIT, TCPF_ESTABLISHED)
from .inet_hashtables import (inet_bind_bucket_create, inet_bind_bucket_find, inet_bind_hash,
                              inet_ehash_insert, inet_ehash_remove_reqsk, inet_put_port,
                              tcp_hashinfo)
from .sysctl_net_ipv4 import inet_get_local_port_range, inet_is_local_reserved_port

HZ = 1000

# icsk_pending
ICSK_TIME_RETRANS = 1
ICSK_TIME_DACK = 2
ICSK_TIME_PROBE0 = 3
ICSK_TIME_LOSS_PROBE = 5
ICSK_TIME_REO_TIMEOUT = 6
ICSK_TIMER_NAMES = {ICSK_TIME_RETRANS: "on", ICSK_TIME_PROBE0: "persist",
                    ICSK_TIME_LOSS_PROBE: "on", ICSK_TIME_REO_TIMEOUT: "on"}

# icsk_ack.pending
ICSK_ACK_SCHED = 1
ICSK_ACK_TIMER = 2
ICSK_ACK_PUSHED = 4
ICSK_ACK_PUSHED2 = 8
ICSK_ACK_NOW = 16
ICSK_ACK_NOMEM = 32

TCP_RTO_MAX = 120 * HZ
TCP_PINGPONG_THRESH = 1


class IcskAck:
    """icsk->icsk_ack: delayed-ACK state."""
    __slots__ = ("pending", "quick", "pingpong", "retry", "ato", "lrcv_flowlabel", "timeout",
                 "lrcvtime", "last_seg_size", "rcv_mss")

    def __init__(self):
        self.pending = 0
        self.quick = 0
        self.pingpong = 0
        self.retry = 0
        self.ato = 0
        self.lrcv_flowlabel = 0
        self.timeout = 0
        self.lrcvtime = 0
        self.last_seg_size = 0
        self.rcv_mss = 0


class IcskMtup:
    __slots__ = ("enabled", "search_high", "search_low", "probe_size", "probe_timestamp")

    def __init__(self):
        self.enabled = 0
        self.search_high = 0
        self.search_low = 0
        self.probe_size = 0
        self.probe_timestamp = 0


class InetConnectionSockAfOps:
    """struct inet_connection_sock_af_ops (ipv4_specific)."""
    __slots__ = ("queue_xmit", "send_check", "rebuild_header", "sk_rx_dst_set", "conn_request",
                 "syn_recv_sock", "net_header_len", "setsockopt", "getsockopt", "mtu_reduced")

    def __init__(self, **kw):
        for f in self.__slots__:
            setattr(self, f, kw.get(f))


# struct sock and struct inet_sock fields. core/sock.py's Sock and InetSock have no __slots__;
# naming their fields here stores them in slots too, so a connection socket's __dict__ stays
# empty (it still takes any other attribute).
_SOCK_FIELDS = (
    "sk_net", "sk_family", "sk_type", "sk_protocol", "sk_state", "sk_shutdown", "sk_err",
    "sk_err_soft", "sk_flags", "sk_reuse", "sk_reuseport", "sk_reuseport_cb", "sk_bound_dev_if",
    "sk_rcvbuf", "sk_sndbuf", "sk_userlocks", "sk_receive_queue", "sk_write_queue",
    "sk_error_queue", "sk_rmem_alloc", "sk_wmem_alloc", "sk_wmem_queued", "sk_forward_alloc",
    "sk_drops", "sk_wq", "sk_rcvtimeo", "sk_sndtimeo", "sk_rcvlowat", "sk_priority", "sk_mark",
    "sk_lingertime", "sk_prot", "sk_prot_creator", "sk_socket", "sk_max_ack_backlog",
    "sk_ack_backlog", "sk_dst_cache", "sk_txhash", "sk_hash", "sk_pacing_rate",
    "sk_max_pacing_rate", "sk_pacing_status", "sk_gso_type", "sk_route_caps", "sk_uid",
    "sk_refcnt", "sk_no_check_tx", "sk_no_check_rx", "sk_incoming_cpu", "sk_cookie",
    "sk_kern_sock", "sk_backlog_rcv", "sk_destruct", "sk_user_data", "sk_stamp", "sk_state_change",
    "sk_data_ready", "sk_write_space", "sk_error_report",
)

_INET_SOCK_FIELDS = (
    "inet_saddr", "inet_rcv_saddr", "inet_daddr", "inet_sport", "inet_dport", "inet_num", "uc_ttl",
    "tos", "inet_id", "pmtudisc", "recverr", "recverr_rfc4884", "hdrincl", "mc_ttl", "mc_loop",
    "mc_all", "mc_index", "mc_addr", "uc_index", "freebind", "transparent", "bind_address_no_port",
    "nodefrag", "is_icsk", "cmsg_flags", "min_ttl", "rcv_tos", "inet_opt", "local_port_range",
    "cork",
)


class InetConnectionSock(InetSock):
    """struct inet_connection_sock."""
    __slots__ = _SOCK_FIELDS + _INET_SOCK_FIELDS + (
        "icsk_accept_queue", "icsk_bind_hash", "icsk_bind2_hash", "icsk_timeout",
        "icsk_retransmit_timer", "icsk_delack_timer", "sk_timer", "icsk_rto", "icsk_rto_min",
        "icsk_delack_max", "icsk_pmtu_cookie", "icsk_ca_ops", "icsk_af_ops", "icsk_ulp_ops",
        "icsk_sync_mss", "icsk_ca_state", "icsk_ca_initialized", "icsk_ca_setsockopt",
        "icsk_ca_dst_locked", "icsk_retransmits", "icsk_pending", "icsk_backoff",
        "icsk_syn_retries", "icsk_probes_out", "icsk_ext_hdr_len", "icsk_ack", "icsk_mtup",
        "icsk_probes_tstamp", "icsk_user_timeout", "icsk_ca_priv",
    )

    def __init__(self, net=None, family: int = 2, prot=None):
        super().__init__(net, family, prot)
        self.is_icsk = 1
        self.icsk_accept_queue = RequestSockQueue(listening=False)
        self.icsk_bind_hash = None
        self.icsk_bind2_hash = None
        self.icsk_timeout = 0            # jiffies of the pending retransmit-timer event
        self.icsk_retransmit_timer = TimerList(None, self, "icsk_retransmit_timer")
        self.icsk_delack_timer = TimerList(None, self, "icsk_delack_timer")
        self.sk_timer = TimerList(None, self, "sk_timer")
        self.icsk_rto = 1 * HZ
        self.icsk_rto_min = HZ // 5
        self.icsk_delack_max = HZ // 5
        self.icsk_pmtu_cookie = 0
        self.icsk_ca_ops = None
        self.icsk_af_ops = None
        self.icsk_ulp_ops = None
        self.icsk_sync_mss = None
        self.icsk_ca_state = 0
        self.icsk_ca_initialized = False
        self.icsk_ca_setsockopt = False
        self.icsk_ca_dst_locked = False
        self.icsk_retransmits = 0
        self.icsk_pending = 0
        self.icsk_backoff = 0
        self.icsk_syn_retries = 0
        self.icsk_probes_out = 0
        self.icsk_ext_hdr_len = 0
        self.icsk_ack = IcskAck()
        self.icsk_mtup = IcskMtup()
        self.icsk_probes_tstamp = 0
        self.icsk_user_timeout = 0
        self.icsk_ca_priv = None


def inet_csk(sk) -> InetConnectionSock:
    return sk


# --- timers ------------------------------------------------------------------
def _jiffies(sk) -> int:
    return int(sk.sk_net.clock.now() * HZ + 1e-6)


def sk_reset_timer(sk, timer: TimerList, expires_jiffies: int) -> None:
    sk.sk_net.timers.mod_timer(timer, expires_jiffies / HZ)


def sk_stop_timer(sk, timer: TimerList) -> None:
    if timer.pending:
        sk.sk_net.timers.del_timer(timer)


def inet_csk_init_xmit_timers(sk, retransmit_handler, delack_handler, keepalive_handler) -> None:
    sk.icsk_retransmit_timer.function = retransmit_handler
    sk.icsk_delack_timer.function = delack_handler
    sk.sk_timer.function = keepalive_handler
    sk.icsk_pending = 0
    sk.icsk_ack.pending = 0


def inet_csk_clear_xmit_timer(sk, what: int) -> None:
    if what in (ICSK_TIME_RETRANS, ICSK_TIME_PROBE0):
        sk.icsk_pending = 0
        sk_stop_timer(sk, sk.icsk_retransmit_timer)
    elif what == ICSK_TIME_DACK:
        sk.icsk_ack.pending = 0
        sk.icsk_ack.retry = 0
        sk_stop_timer(sk, sk.icsk_delack_timer)


def inet_csk_clear_xmit_timers(sk) -> None:
    sk.icsk_pending = 0
    sk.icsk_ack.pending = 0
    sk_stop_timer(sk, sk.icsk_retransmit_timer)
    sk_stop_timer(sk, sk.icsk_delack_timer)
    sk_stop_timer(sk, sk.sk_timer)


def inet_csk_reset_xmit_timer(sk, what: int, when: int, max_when: int = TCP_RTO_MAX) -> None:
    """Arm the retransmit timer (what: RETRANS, PROBE0, LOSS_PROBE, REO_TIMEOUT) or the
    delayed-ACK timer (DACK); ``when`` is jiffies from now."""
    if when > max_when:
        when = max_when
    now = _jiffies(sk)
    if what in (ICSK_TIME_RETRANS, ICSK_TIME_PROBE0, ICSK_TIME_LOSS_PROBE, ICSK_TIME_REO_TIMEOUT):
        sk.icsk_pending = what
        sk.icsk_timeout = now + when
        sk_reset_timer(sk, sk.icsk_retransmit_timer, sk.icsk_timeout)
    elif what == ICSK_TIME_DACK:
        sk.icsk_ack.pending |= ICSK_ACK_TIMER
        sk.icsk_ack.timeout = now + when
        sk_reset_timer(sk, sk.icsk_delack_timer, sk.icsk_ack.timeout)


def inet_csk_reset_keepalive_timer(sk, timeout: int) -> None:
    """timeout in jiffies from now."""
    sk_reset_timer(sk, sk.sk_timer, _jiffies(sk) + timeout)


def inet_csk_delete_keepalive_timer(sk) -> None:
    sk_stop_timer(sk, sk.sk_timer)


def inet_csk_schedule_ack(sk) -> None:
    sk.icsk_ack.pending |= ICSK_ACK_SCHED


def inet_csk_ack_scheduled(sk) -> bool:
    return bool(sk.icsk_ack.pending & ICSK_ACK_SCHED)


def inet_csk_delack_init(sk) -> None:
    sk.icsk_ack = IcskAck()


def inet_csk_enter_pingpong_mode(sk) -> None:
    sk.icsk_ack.pingpong = TCP_PINGPONG_THRESH


def inet_csk_exit_pingpong_mode(sk) -> None:
    sk.icsk_ack.pingpong = 0


def inet_csk_in_pingpong_mode(sk) -> bool:
    return sk.icsk_ack.pingpong >= TCP_PINGPONG_THRESH


def inet_csk_inc_pingpong_cnt(sk) -> None:
    if sk.icsk_ack.pingpong < 255:
        sk.icsk_ack.pingpong += 1


def inet_csk_rto_backoff(sk, max_when: int) -> int:
    when = sk.icsk_rto << sk.icsk_backoff
    return min(when, max_when)


def inet_csk_timer_info(sk):
    """For ss -o: (kind, expires_seconds, retransmits) of the socket's armed timer, or None.
    Kinds as ss prints them: on (retransmit, TLP, RACK), persist, keepalive, delack."""
    now = sk.sk_net.clock.now()
    p = sk.icsk_pending
    if p and sk.icsk_retransmit_timer.pending:
        kind = "persist" if p == ICSK_TIME_PROBE0 else "on"
        retrans = sk.icsk_probes_out if p == ICSK_TIME_PROBE0 else sk.icsk_retransmits
        return kind, max(0.0, sk.icsk_retransmit_timer.expires - now), retrans
    if sk.sk_timer.pending:
        return "keepalive", max(0.0, sk.sk_timer.expires - now), sk.icsk_probes_out
    if sk.icsk_delack_timer.pending:
        return "delack", max(0.0, sk.icsk_delack_timer.expires - now), 0
    return None


# --- bind --------------------------------------------------------------------------
def inet_rcv_saddr_equal(sk, sk2, match_wildcard: bool = True) -> bool:
    a, b = sk.inet_rcv_saddr, sk2.inet_rcv_saddr
    if a == b:
        return True
    if match_wildcard and (a == 0 or b == 0):
        return True
    return False


def inet_bind_conflict(sk, sk2, relax: bool, reuseport_ok: bool) -> bool:
    """Would sk2 (an owner of the port: a socket or a TIME_WAIT minisock) stop sk binding,
    addresses aside? SO_REUSEADDR on both with sk2 not listening is fine when relaxed;
    SO_REUSEPORT on both with the same owner (or sk2 in TIME_WAIT) is fine."""
    if sk is sk2:
        return False
    dev2 = sk2.sk_bound_dev_if
    if sk.sk_bound_dev_if and dev2 and sk.sk_bound_dev_if != dev2:
        return False
    if sk.sk_reuse and sk2.sk_reuse and sk2.sk_state != TCP_LISTEN:
        if not relax or (not reuseport_ok and sk.sk_reuseport and sk2.sk_reuseport and
                         (sk2.sk_state == TCP_TIME_WAIT or sk.sk_uid == sk2.sk_uid)):
            return True
        return False
    if (not reuseport_ok or not sk.sk_reuseport or not sk2.sk_reuseport or
            (sk2.sk_state != TCP_TIME_WAIT and sk.sk_uid != sk2.sk_uid)):
        return True
    return False


def inet_csk_bind_conflict(sk, tb, relax: bool, reuseport_ok: bool) -> bool:
    for sk2 in tb.owners:
        if inet_bind_conflict(sk, sk2, relax, reuseport_ok) and inet_rcv_saddr_equal(sk, sk2, True):
            return True
    return False


def inet_csk_find_open_port(sk, hinfo):
    """Autobind (bind to port 0 or listen() unbound): (port, bucket or None), or (0, None).
    With SO_REUSEADDR the lower half of ip_local_port_range is tried first; bind() takes
    ports of the other parity than __inet_hash_connect favours."""
    net = sk.sk_net
    relax = False
    while True:
        attempt_half = 1 if sk.sk_reuse == SK_CAN_REUSE else 0
        while True:
            low, high = inet_get_local_port_range(net)
            high += 1
            if high - low < 4:
                attempt_half = 0
            if attempt_half:
                half = low + (((high - low) >> 2) << 1)
                if attempt_half == 1:
                    high = half
                else:
                    low = half
            remaining = high - low
            if remaining > 1:
                remaining &= ~1
            offset = net.rng.prandom_u32_max(remaining) | 1
            while True:
                port = low + offset
                for _ in range(0, remaining, 2):
                    if port >= high:
                        port -= remaining
                    if not inet_is_local_reserved_port(net, port):
                        tb = inet_bind_bucket_find(hinfo, net, port)
                        if tb is None:
                            return port, None
                        if not inet_csk_bind_conflict(sk, tb, relax, False):
                            return port, tb
                    port += 2
                offset -= 1
                if offset & 1:
                    break
            if attempt_half == 1:
                attempt_half = 2
                continue
            break
        if net.ipv4.sysctl_ip_autobind_reuse and not relax:
            relax = True
            continue
        return 0, None


def inet_csk_get_port(sk, snum: int) -> int:
    """Bind sk to local port snum (0: pick one). 0, or nonzero (EADDRINUSE) on conflict."""
    hinfo = tcp_hashinfo(sk.sk_net)
    net = sk.sk_net
    if not snum:
        port, tb = inet_csk_find_open_port(sk, hinfo)
        if not port:
            return 1
        snum = port
        if tb is None:
            tb = inet_bind_bucket_create(hinfo, net, snum)
        inet_bind_hash(sk, tb, snum)
        return 0
    tb = inet_bind_bucket_find(hinfo, net, snum)
    if tb is None:
        tb = inet_bind_bucket_create(hinfo, net, snum)
    elif tb.owners and sk.sk_reuse != SK_FORCE_REUSE and inet_csk_bind_conflict(sk, tb, True, True):
        return 1
    if sk.icsk_bind_hash is None:
        inet_bind_hash(sk, tb, snum)
    return 0


# --- listen / accept -----------------------------------------------------------
def inet_csk_listen_start(sk) -> int:
    """listen(): a fresh accept queue, state LISTEN, a port, the listening hash."""
    from .tcp import tcp_set_state
    defer = sk.icsk_accept_queue.rskq_defer_accept   # reqsk_queue_alloc keeps it
    sk.icsk_accept_queue = RequestSockQueue()
    sk.icsk_accept_queue.rskq_defer_accept = defer
    sk.sk_ack_backlog = 0
    inet_csk_delack_init(sk)
    # There is a race window here (Linux): we set LISTEN before get_port, and undo it.
    tcp_set_state(sk, TCP_LISTEN)
    err = sk.sk_prot.get_port(sk, sk.inet_num)
    if not err:
        sk.inet_sport = sk.inet_num
        sk.sk_dst_cache = None
        err = sk.sk_prot.hash(sk)
        if not err:
            return 0
    tcp_set_state(sk, TCP_CLOSE)
    return -EADDRINUSE


def inet_csk_listen_stop(sk) -> None:
    """Close a listener: every queued child is aborted (RST when it has data) and freed;
    the SYN queue's request socks are dropped."""
    from .tcp import tcp_disconnect, tcp_close_child
    queue = sk.icsk_accept_queue
    while True:
        req = reqsk_queue_remove(queue, sk)
        if req is None:
            break
        child = req.sk
        if child is not None:
            tcp_close_child(sk, child)
    # Drop pending SYN_RECV request socks.
    for req in list(queue.syn_queue):
        inet_csk_reqsk_queue_drop(sk, req)
    queue.syn_queue.clear()
    queue.qlen = 0
    queue.young = 0


def inet_csk_reqsk_queue_drop(sk, req) -> bool:
    """Unhash a request sock and stop its SYN-ACK timer."""
    unlinked = inet_ehash_remove_reqsk(req)
    if req.rsk_timer.pending:
        req.rsk_timer.base.del_timer(req.rsk_timer)
    q = sk.icsk_accept_queue
    if req in q.syn_queue:
        q.syn_queue.remove(req)
        q.qlen -= 1
        if req.num_timeout == 0:
            q.young = max(0, q.young - 1)
    return unlinked


def inet_csk_reqsk_queue_hash_add(sk, req, timeout_jiffies: int) -> None:
    """Put a request sock in ehash and the SYN queue; arm its SYN-ACK timer."""
    from .tcp_minisocks import reqsk_timer_handler
    inet_ehash_insert(req, sk.sk_net)
    q = sk.icsk_accept_queue
    q.syn_queue.append(req)
    q.qlen += 1
    q.young += 1
    req.rsk_timer.function = reqsk_timer_handler
    req.rsk_timer.data = req
    sk.sk_net.timers.mod_timer(req.rsk_timer, (_jiffies(sk) + timeout_jiffies) / HZ)


def inet_csk_reqsk_queue_add(sk, req, child):
    """Queue an established child for accept(); the request leaves the SYN queue."""
    q = sk.icsk_accept_queue
    if sk.sk_state != TCP_LISTEN:
        return None
    req.sk = child
    q.rskq_accept.append(req)
    sk.sk_ack_backlog += 1
    return child


def inet_csk_reqsk_queue_is_full(sk) -> bool:
    return reqsk_queue_len(sk.icsk_accept_queue) > sk.sk_max_ack_backlog


def sk_acceptq_is_full(sk) -> bool:
    return sk.sk_ack_backlog > sk.sk_max_ack_backlog


def sk_acceptq_added(sk) -> None:
    sk.sk_ack_backlog += 1


def sk_acceptq_removed(sk) -> None:
    sk.sk_ack_backlog -= 1


def inet_csk_complete_hashdance(sk, child, req, own_req: bool):
    """The final ACK made a child: drop the request from the SYN queue and queue the child."""
    if own_req:
        inet_csk_reqsk_queue_drop(sk, req)
        if inet_csk_reqsk_queue_add(sk, req, child) is not None:
            return child
    # Too bad: the listener went away or another CPU won. Kill the child.
    from .tcp import tcp_abort_child
    tcp_abort_child(child)
    return None


def inet_csk_accept(sk, flags: int):
    """accept(): (child, 0), (None, -errno) or a Blocked that retries."""
    if sk.sk_state != TCP_LISTEN:
        return None, -EINVAL
    queue = sk.icsk_accept_queue
    if reqsk_queue_empty(queue):
        timeo = sock_rcvtimeo(sk, flags & MSG_DONTWAIT)
        return sk_wait_event(sk, EPOLLIN | EPOLLRDNORM | EPOLLERR,
                             lambda: inet_csk_accept(sk, flags), timeo,
                             on_timeout=lambda: (None, -EAGAIN), what="accept")
    req = reqsk_queue_remove(queue, sk)
    newsk = req.sk
    req.sk = None
    return newsk, 0


def inet_csk_listen_poll(sk) -> int:
    return EPOLLIN | EPOLLRDNORM if not reqsk_queue_empty(sk.icsk_accept_queue) else 0


def inet_csk_destroy_sock(sk) -> None:
    """The last step of a dead socket: release the port and protocol state."""
    sk.sk_prot.destroy(sk)
    sk.sk_shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN
    if sk.icsk_bind_hash is not None:
        inet_put_port(sk)
    sock_put(sk)


def inet_csk_prepare_forced_close(sk) -> None:
    sock_set_flag(sk, SOCK_DEAD)


def inet_sk_state_load(sk) -> int:
    return sk.sk_state
