"""sock_diag for ss (net/ipv4/inet_diag.c's view of a socket), and its owners (ss -p).

Each row names what inet_diag_msg carries: family, state, local and remote
address and port, Recv-Q/Send-Q (for a listener: accept queue and backlog),
the socket's inode, and the (pid, fd) pairs of the sessions holding it. The
queues include what sits in the socket's fd (the client sees one queue).
"""
import socket


def _ntoa(a):
    if a is None:
        return "0.0.0.0"
    if isinstance(a, str):
        return a
    return socket.inet_ntoa(int(a).to_bytes(4, "big"))


def _first(obj, *names, default=None):
    for n in names:
        v = getattr(obj, n, None)
        if v is not None:
            return v
    return default


def sock_row(sf) -> dict:
    sk = sf.sk
    row = {"ino": sf.ino, "family": sf.family, "type": sf.type, "proto": sf.proto,
           "owners": sorted([s.pid, fd] for s, fd in sf.refs if not s.dead)}
    if sk is None:
        return row
    row["state"] = _first(sk, "sk_state", default=0)
    row["src"] = _ntoa(_first(sk, "inet_rcv_saddr", "skc_rcv_saddr", "inet_saddr"))
    row["sport"] = _first(sk, "inet_num", "inet_sport", "skc_num", default=0)
    row["dst"] = _ntoa(_first(sk, "inet_daddr", "skc_daddr"))
    row["dport"] = _first(sk, "inet_dport", "skc_dport", default=0)
    rq = _first(sk, "sk_rmem_alloc", default=0)
    wq = _first(sk, "sk_wmem_queued", "sk_wmem_alloc", default=0)
    if sf.listening:
        aq = _first(sk, "sk_ack_backlog", default=0)
        row["recv_q"], row["send_q"] = aq, _first(sk, "sk_max_ack_backlog", default=0)
    else:
        row["recv_q"] = rq if isinstance(rq, int) else 0
        row["send_q"] = wq if isinstance(wq, int) else 0
        row["recv_q"] += len(sf.rx_pending or b"")
        row["send_q"] += len(sf.tx_pending or b"")
    return row


def tcp_info(sk) -> dict:
    """INET_DIAG_INFO: struct tcp_info (tcp_get_info), for ss -i."""
    try:
        from ..net.ipv4.tcp import tcp_get_info
    except ImportError:
        return {}
    return tcp_get_info(sk)


def sock_diag(d, attrs: dict) -> list:
    """attrs: {"info": true} adds tcp_info to TCP rows (ss -i)."""
    rows = []
    for sf in list(d.sockfs.by_ino.values()):
        if sf.closed:
            continue
        row = sock_row(sf)
        sk = sf.sk
        if attrs.get("info") and sf.stream and sk is not None and hasattr(sk, "snd_una"):
            row["info"] = tcp_info(sk)
            row["pump"] = {"tx_pending": len(sf.tx_pending or b""), "rx_pending": len(sf.rx_pending or b""),
                           "tx_blocked": sf.tx_blocked, "in_eof": sf.in_eof, "out_shut": sf.out_shut,
                           "events": sf.events}
        rows.append(row)
    return rows
