"""net/ipv4/inet_timewait_sock.c, include/net/inet_timewait_sock.h, include/net/tcp.h
(struct tcp_timewait_sock) — the TIME_WAIT minisock (RFC 9293 §3.6.1, 2*MSL = 60 s in
Linux, TCP_TIMEWAIT_LEN) that replaces a closed connection in ehash and keeps its port
bound, so old duplicates get the right answer and the 4-tuple is not reused too soon.
It also stands for an orphaned FIN_WAIT2 (tw_substate FIN_WAIT2, tcp_fin_timeout).
"""
from kstack.core.timer import TimerList

TCP_TIME_WAIT = 6
HZ = 1000


class InetTimewaitSock:
    """struct inet_timewait_sock + tcp_timewait_sock. sock_common fields keep the sock
    names (inet_rcv_saddr, inet_num, ...) so lookups and bind checks treat it as a socket."""
    __slots__ = (
        "sk_net", "sk_state", "tw_substate", "sk_family", "sk_bound_dev_if", "sk_reuse",
        "sk_reuseport", "sk_uid", "sk_prot", "inet_rcv_saddr", "inet_saddr", "inet_daddr",
        "inet_num", "inet_sport", "inet_dport", "tw_timer", "tw_bind_hash", "tw_tos", "tw_mark",
        "tw_priority", "tw_transparent", "tw_rcv_wscale", "tw_entry_stamp", "tw_kill",
        "sk_hashed_key", "sk_listen_key", "tw_rcv_nxt", "tw_snd_nxt", "tw_rcv_wnd", "tw_ts_offset",
        "tw_ts_recent", "tw_ts_recent_stamp", "tw_last_oow_ack_time", "dead",
        "__dict__",   # anything else still works
    )

    def __init__(self, sk, state: int):
        self.sk_net = sk.sk_net
        self.sk_state = TCP_TIME_WAIT
        self.tw_substate = state
        self.sk_family = sk.sk_family
        self.sk_bound_dev_if = sk.sk_bound_dev_if
        self.sk_reuse = sk.sk_reuse
        self.sk_reuseport = sk.sk_reuseport
        self.sk_uid = sk.sk_uid
        self.sk_prot = sk.sk_prot
        self.inet_rcv_saddr = sk.inet_rcv_saddr
        self.inet_saddr = sk.inet_saddr
        self.inet_daddr = sk.inet_daddr
        self.inet_num = sk.inet_num
        self.inet_sport = sk.inet_sport
        self.inet_dport = sk.inet_dport
        self.tw_timer = TimerList(None, self, "tw_timer")
        self.tw_bind_hash = None
        self.tw_tos = sk.tos
        self.tw_mark = sk.sk_mark
        self.tw_priority = sk.sk_priority
        self.tw_transparent = 0
        self.tw_rcv_wscale = 0
        self.tw_entry_stamp = 0
        self.tw_kill = False
        self.sk_hashed_key = None
        self.sk_listen_key = None
        # tcp_timewait_sock
        self.tw_rcv_nxt = 0
        self.tw_snd_nxt = 0
        self.tw_rcv_wnd = 0
        self.tw_ts_offset = 0
        self.tw_ts_recent = 0
        self.tw_ts_recent_stamp = 0
        self.tw_last_oow_ack_time = 0
        self.dead = False

    # the out-of-window rate limit uses the same field name as a full socket
    @property
    def last_oow_ack_time(self):
        return self.tw_last_oow_ack_time

    @last_oow_ack_time.setter
    def last_oow_ack_time(self, v):
        self.tw_last_oow_ack_time = v

    def __repr__(self):
        return (f"<tw_sock {'TIME-WAIT' if self.tw_substate == TCP_TIME_WAIT else 'FIN-WAIT-2'} "
                f"{self.inet_rcv_saddr:#x}:{self.inet_num} -> {self.inet_daddr:#x}:{self.inet_dport}>")


def inet_twsk(sk) -> InetTimewaitSock:
    return sk


def inet_twsk_alloc(sk, death_row, state: int):
    """None when net.ipv4.tcp_max_tw_buckets minisocks already exist."""
    net = sk.sk_net
    if death_row.tw_count >= net.ipv4.sysctl_tcp_max_tw_buckets:
        return None
    return InetTimewaitSock(sk, state)


def inet_twsk_hashdance_schedule(tw, sk, hashinfo, timeo: int) -> None:
    """tw takes sk's place in ehash and among its port's owners, then its timer starts."""
    from .inet_hashtables import inet_ehash_insert, sk_key
    tb = sk.icsk_bind_hash
    if tb is not None:
        tw.tw_bind_hash = tb
        tb.owners.append(tw)
    key = getattr(sk, "sk_hashed_key", None) or sk_key(sk)
    hashinfo.ehash[key] = tw
    tw.sk_hashed_key = key
    sk.sk_hashed_key = None
    hashinfo.tw_count += 1
    inet_twsk_schedule(tw, timeo)


def __inet_twsk_schedule(tw, timeo: int, rearm: bool) -> None:
    net = tw.sk_net
    if not rearm:
        kill = timeo <= 4 * HZ
        d = net.mib.TcpExt
        name = "TWKilled" if kill else "TW"
        d[name] = d.get(name, 0) + 1
    now = net.clock.now()
    tw.tw_timer.function = tw_timer_handler
    net.timers.mod_timer(tw.tw_timer, now + timeo / HZ)


def inet_twsk_schedule(tw, timeo: int) -> None:
    __inet_twsk_schedule(tw, timeo, False)


def inet_twsk_reschedule(tw, timeo: int) -> None:
    __inet_twsk_schedule(tw, timeo, True)


def inet_twsk_bind_unhash(tw, hashinfo) -> None:
    from .inet_hashtables import inet_bind_bucket_destroy
    tb = tw.tw_bind_hash
    if tb is None:
        return
    if tw in tb.owners:
        tb.owners.remove(tw)
    tw.tw_bind_hash = None
    inet_bind_bucket_destroy(hashinfo, tb)


def inet_twsk_kill(tw) -> None:
    """Out of ehash and bhash; the minisock is gone."""
    if tw.dead:
        return
    from .inet_hashtables import tcp_hashinfo
    hinfo = tcp_hashinfo(tw.sk_net)
    key = tw.sk_hashed_key
    if key is not None and hinfo.ehash.get(key) is tw:
        del hinfo.ehash[key]
    tw.sk_hashed_key = None
    inet_twsk_bind_unhash(tw, hinfo)
    hinfo.tw_count -= 1
    tw.dead = True


def tw_timer_handler(tw) -> None:
    inet_twsk_kill(tw)


def inet_twsk_deschedule_put(tw) -> None:
    t = tw.tw_timer
    if t.pending and t.base is not None:
        t.base.del_timer(t)
    inet_twsk_kill(tw)


def inet_twsk_put(tw) -> None:
    """References are Python's; kept so call sites read like the kernel."""


def inet_twsk_purge(net) -> None:
    from .inet_hashtables import tcp_hashinfo
    for sk in list(tcp_hashinfo(net).ehash.values()):
        if isinstance(sk, InetTimewaitSock):
            inet_twsk_deschedule_put(sk)
