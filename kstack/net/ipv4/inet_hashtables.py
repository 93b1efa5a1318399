"""net/ipv4/inet_hashtables.c, include/net/inet_hashtables.h — the TCP socket tables of one
namespace: ehash (established, TIME_WAIT and request socks by 4-tuple), lhash (listeners
by local address and port, with SO_REUSEPORT groups) and bhash (bound ports and their
owners), plus connect()'s ephemeral port choice (__inet_hash_connect, RFC 6056 algorithm 4
as Linux does it: a keyed hash of the 3-tuple plus a perturbation table, ports of low's
parity first).

Dicts play the kernel's hash chains. Keys are host-order (local addr, local port, remote
addr, remote port). Everything hangs off net.ipv4.tcp_hashinfo: no global state.
"""
import hashlib
import struct

from kstack.core.errno import EADDRNOTAVAIL

from .tcp_states import TCP_CLOSE, TCP_LISTEN, TCP_TIME_WAIT
from .inet_timewait_sock import inet_twsk_bind_unhash, inet_twsk_deschedule_put
from .sysctl_net_ipv4 import inet_get_local_port_range, inet_is_local_reserved_port
from kstack.core.sock import SOCK_DEAD, sock_set_flag

INET_TABLE_PERTURB_SIZE = 1 << 16


class InetBindBucket:
    """struct inet_bind_bucket: one bound local port and every socket (or TIME_WAIT
    minisock) that owns it. fastreuse >= 0: created by bind(); -1: by connect()."""
    __slots__ = ("port", "owners", "fastreuse", "fastreuseport")

    def __init__(self, port: int):
        self.port = port
        self.owners = []
        self.fastreuse = 0
        self.fastreuseport = 0

    def __repr__(self):
        return f"<inet_bind_bucket {self.port} owners={len(self.owners)}>"


class InetHashinfo:
    """struct inet_hashinfo for one Net."""

    def __init__(self, net):
        self.net = net
        self.ehash = {}            # (laddr, lport, raddr, rport) -> sock | tw | request sock
        self.lhash2 = {}           # (laddr, lport) -> [listening socks], newest first
        self.bhash = {}            # lport -> InetBindBucket
        self.table_perturb = {}    # index -> u32 (filled lazily from net.rng)
        self.secret = None         # key for secure_ipv4_port_ephemeral / ISNs
        self.tw_count = 0          # tcp_death_row.tw_refcount - 1


def tcp_hashinfo(net) -> InetHashinfo:
    return net.ipv4.tcp_hashinfo


def inet_net_secret(net) -> bytes:
    """The per-namespace key (net_secret / ts_secret); drawn from net.rng once."""
    h = net.ipv4.tcp_hashinfo
    if h.secret is None:
        h.secret = net.rng.randbytes(32)
    return h.secret


def _keyed_hash(net, *vals) -> int:
    """siphash(key, vals) stand-in: blake2b keyed by the namespace secret, 64 bits."""
    key = inet_net_secret(net)
    data = _U32LE[len(vals)].pack(*[v & 0xFFFFFFFF for v in vals])
    return int.from_bytes(hashlib.blake2b(data, key=key, digest_size=8).digest(), "little")


_U32LE = [struct.Struct(f"<{n}I") for n in range(8)]     # vals as little-endian u32s


def sk_key(sk):
    return (sk.inet_rcv_saddr, sk.inet_num, sk.inet_daddr, sk.inet_dport)


# --- bhash -----------------------------------------------------------------------------
def inet_bind_bucket_find(hinfo: InetHashinfo, net, port: int):
    return hinfo.bhash.get(port)


def inet_bind_bucket_create(hinfo: InetHashinfo, net, port: int) -> InetBindBucket:
    tb = InetBindBucket(port)
    hinfo.bhash[port] = tb
    return tb


def inet_bind_bucket_destroy(hinfo: InetHashinfo, tb: InetBindBucket) -> None:
    if not tb.owners and hinfo.bhash.get(tb.port) is tb:
        del hinfo.bhash[tb.port]


def inet_bind_hash(sk, tb: InetBindBucket, port: int) -> None:
    sk.inet_num = port
    tb.owners.append(sk)
    sk.icsk_bind_hash = tb


def __inet_put_port(sk) -> None:
    hinfo = tcp_hashinfo(sk.sk_net)
    tb = sk.icsk_bind_hash
    if tb is None:
        return
    if sk in tb.owners:
        tb.owners.remove(sk)
    sk.icsk_bind_hash = None
    sk.inet_num = 0
    inet_bind_bucket_destroy(hinfo, tb)


def inet_put_port(sk) -> None:
    __inet_put_port(sk)


def __inet_inherit_port(sk, child) -> int:
    """The child of a listener owns the listener's port too."""
    tb = sk.icsk_bind_hash
    if tb is None:
        return 0
    child.inet_num = sk.inet_num
    tb.owners.append(child)
    child.icsk_bind_hash = tb
    return 0


# --- ehash ---------------------------------------------------------------------------
def inet_ehash_insert(sk, net, osk=None) -> bool:
    """Insert sk (a full sock, TIME_WAIT minisock or request sock) under its 4-tuple; if
    osk is given it must be the current owner and is replaced. False if osk was gone."""
    hinfo = tcp_hashinfo(net)
    key = sk_key(sk)
    if osk is not None:
        if hinfo.ehash.get(key) is not osk:
            return False
    hinfo.ehash[key] = sk
    sk.sk_hashed_key = key
    return True


def inet_ehash_nolisten(sk, osk=None) -> bool:
    ok = inet_ehash_insert(sk, sk.sk_net, osk)
    if not ok:
        # A twin already took the tuple: this socket dies (tcp_v4_syn_recv_sock's caller
        # sees own_req false).
        from .tcp import tcp_set_state
        sk.sk_hashed_key = None
        sock_set_flag(sk, SOCK_DEAD)
        tcp_set_state(sk, TCP_CLOSE)
    return ok


def inet_ehash_remove(sk) -> bool:
    key = getattr(sk, "sk_hashed_key", None)
    if key is None:
        return False
    hinfo = tcp_hashinfo(sk.sk_net)
    sk.sk_hashed_key = None
    if hinfo.ehash.get(key) is sk:
        del hinfo.ehash[key]
        return True
    return False


def inet_ehash_remove_reqsk(req) -> bool:
    return inet_ehash_remove(req)


def sk_unhashed(sk) -> bool:
    return getattr(sk, "sk_hashed_key", None) is None and not getattr(sk, "sk_listen_key", None)


def __inet_lookup_established(net, hinfo: InetHashinfo, saddr: int, sport: int, daddr: int,
                              hnum: int, dif: int = 0, sdif: int = 0):
    """A segment from saddr:sport to daddr:hnum: the connection it belongs to, or None."""
    sk = hinfo.ehash.get((daddr, hnum, saddr, sport))
    if sk is None:
        return None
    bdev = sk.sk_bound_dev_if
    if bdev and bdev != dif and bdev != sdif:
        return None
    return sk


def inet_ehashfn(net, laddr: int, lport: int, faddr: int, fport: int) -> int:
    return _keyed_hash(net, laddr, lport, faddr, fport, 0x6568) & 0xFFFFFFFF


# --- lhash (listeners) -----------------------------------------------------------------
def _listener_score(sk, net, hnum: int, daddr: int, dif: int, sdif: int) -> int:
    if sk.inet_num != hnum:
        return -1
    if sk.inet_rcv_saddr != daddr:
        return -1
    bdev = sk.sk_bound_dev_if
    if bdev and bdev != dif and bdev != sdif:
        return -1
    score = 2 if bdev else 1
    score += 1      # PF_INET
    return score


def _reuseport_select(net, group, saddr, sport, daddr, hnum):
    """reuseport_select_sock: one member of the SO_REUSEPORT group by the flow hash."""
    h = inet_ehashfn(net, daddr, hnum, saddr, sport)
    return group[(h * len(group)) >> 32]


def _lhash2_lookup(net, hinfo, saddr, sport, daddr, hnum, dif, sdif):
    lst = hinfo.lhash2.get((daddr, hnum))
    if not lst:
        return None
    result, hiscore = None, 0
    for sk in lst:
        score = _listener_score(sk, net, hnum, daddr, dif, sdif)
        if score > hiscore:
            if sk.sk_reuseport:
                group = [s for s in lst if s.sk_reuseport and s.sk_uid == sk.sk_uid
                         and s.sk_bound_dev_if == sk.sk_bound_dev_if]
                return _reuseport_select(net, group, saddr, sport, daddr, hnum)
            result, hiscore = sk, score
    return result


def __inet_lookup_listener(net, hinfo: InetHashinfo, saddr: int, sport: int, daddr: int,
                           hnum: int, dif: int = 0, sdif: int = 0):
    """The listener for a SYN to daddr:hnum: one bound to daddr first, then INADDR_ANY."""
    result = _lhash2_lookup(net, hinfo, saddr, sport, daddr, hnum, dif, sdif)
    if result is None and daddr != 0:
        result = _lhash2_lookup(net, hinfo, saddr, sport, 0, hnum, dif, sdif)
    return result


def __inet_lookup(net, hinfo, saddr: int, sport: int, daddr: int, hnum: int, dif: int = 0,
                  sdif: int = 0):
    """Established (or TIME_WAIT / request sock) first, then a listener. (sk, refcounted)."""
    sk = __inet_lookup_established(net, hinfo, saddr, sport, daddr, hnum, dif, sdif)
    if sk is not None:
        return sk
    return __inet_lookup_listener(net, hinfo, saddr, sport, daddr, hnum, dif, sdif)


def inet_lookup(net, saddr, sport, daddr, dport, dif=0):
    return __inet_lookup(net, tcp_hashinfo(net), saddr, sport, daddr, dport, dif)


def __inet_hash(sk, osk=None) -> int:
    if sk.sk_state != TCP_LISTEN:
        inet_ehash_nolisten(sk, osk)
        return 0
    hinfo = tcp_hashinfo(sk.sk_net)
    key = (sk.inet_rcv_saddr, sk.inet_num)
    hinfo.lhash2.setdefault(key, []).insert(0, sk)
    sk.sk_listen_key = key
    return 0


def inet_hash(sk) -> int:
    if sk.sk_state != TCP_CLOSE:
        return __inet_hash(sk)
    return 0


def inet_unhash(sk) -> None:
    """Out of lhash or ehash (close, disconnect, state CLOSE)."""
    lkey = getattr(sk, "sk_listen_key", None)
    if lkey is not None:
        hinfo = tcp_hashinfo(sk.sk_net)
        lst = hinfo.lhash2.get(lkey)
        if lst and sk in lst:
            lst.remove(sk)
            if not lst:
                del hinfo.lhash2[lkey]
        sk.sk_listen_key = None
        return
    inet_ehash_remove(sk)


# --- connect(): ephemeral port --------------------------------------------------------
def secure_ipv4_port_ephemeral(net, saddr: int, daddr: int, dport: int) -> int:
    """net/core/secure_seq.c: a keyed 64-bit hash of the 3-tuple (RFC 6056 §3.3.4 F())."""
    return _keyed_hash(net, saddr, daddr, dport, 0x706f7274)


def inet_sk_port_offset(sk) -> int:
    return secure_ipv4_port_ephemeral(sk.sk_net, sk.inet_rcv_saddr, sk.inet_daddr, sk.inet_dport)


def __inet_check_established(death_row, sk, lport: int, twp):
    """Is the 4-tuple with local port lport free (or held by a TIME_WAIT we may recycle)?
    Hashes sk on success. Returns (0, tw-or-None) or (-EADDRNOTAVAIL, None)."""
    from .tcp_minisocks import tcp_twsk_unique
    net = sk.sk_net
    hinfo = tcp_hashinfo(net)
    key = (sk.inet_rcv_saddr, lport, sk.inet_daddr, sk.inet_dport)
    sk2 = hinfo.ehash.get(key)
    tw = None
    if sk2 is not None:
        bdev = sk2.sk_bound_dev_if
        if not bdev or bdev == sk.sk_bound_dev_if or not sk.sk_bound_dev_if:
            if sk2.sk_state == TCP_TIME_WAIT and tcp_twsk_unique(sk, sk2, twp):
                tw = sk2
            else:
                return -EADDRNOTAVAIL, None
    sk.inet_num = lport
    sk.inet_sport = lport
    if tw is not None:
        inet_ehash_remove(tw)
        net.mib.TcpExt["TWRecycled"] += 1
    hinfo.ehash[key] = sk
    sk.sk_hashed_key = key
    if not twp and tw is not None:
        inet_twsk_deschedule_put(tw)
        tw = None
    return 0, tw


def __inet_hash_connect(death_row, sk, port_offset: int, check_established=__inet_check_established) -> int:
    net = sk.sk_net
    hinfo = tcp_hashinfo(net)
    port = sk.inet_num
    if port:
        r, _ = check_established(death_row, sk, port, None)
        return r
    low, high = inet_get_local_port_range(net)
    local_ports = False    # IP_LOCAL_PORT_RANGE (per-socket) not set: step 2
    lo_sk, hi_sk = getattr(sk, "local_port_range", (0, 0))
    if lo_sk or hi_sk:
        nlo = max(low, lo_sk) if lo_sk else low
        nhi = min(high, hi_sk) if hi_sk else high
        if nlo <= nhi:
            low, high, local_ports = nlo, nhi, True
    step = 1 if local_ports else 2
    high += 1
    remaining = high - low
    if not local_ports and remaining > 1:
        remaining &= ~1
    index = port_offset & (INET_TABLE_PERTURB_SIZE - 1)
    perturb = hinfo.table_perturb.get(index)
    if perturb is None:
        perturb = hinfo.table_perturb[index] = net.rng.get_random_u32()
    offset = ((perturb + (port_offset >> 32)) & 0xFFFFFFFF) % remaining
    if not local_ports:
        offset &= ~1
    while True:
        port = low + offset
        i = 0
        while i < remaining:
            if port >= high:
                port -= remaining
            if not inet_is_local_reserved_port(net, port):
                tb = hinfo.bhash.get(port)
                if tb is None:
                    tb = inet_bind_bucket_create(hinfo, net, port)
                    tb.fastreuse = -1
                    tb.fastreuseport = -1
                    r, tw = check_established(death_row, sk, port, True)
                    if r == 0:
                        return _hash_connect_ok(hinfo, sk, tb, port, tw, index, i, step, net)
                    inet_bind_bucket_destroy(hinfo, tb)
                elif tb.fastreuse < 0 and tb.fastreuseport < 0:
                    r, tw = check_established(death_row, sk, port, True)
                    if r == 0:
                        return _hash_connect_ok(hinfo, sk, tb, port, tw, index, i, step, net)
            i += step
            port += step
        if not local_ports:
            offset += 1
            if (offset & 1) and remaining > 1:
                continue
        return -EADDRNOTAVAIL


def _hash_connect_ok(hinfo, sk, tb, port, tw, index, i, step, net) -> int:
    i = max(i, net.rng.prandom_u32_max(8) * step)
    hinfo.table_perturb[index] = (hinfo.table_perturb[index] + i + step) & 0xFFFFFFFF
    inet_bind_hash(sk, tb, port)
    sk.inet_sport = port
    if tw is not None:
        inet_twsk_bind_unhash(tw, hinfo)
        inet_twsk_deschedule_put(tw)
    return 0


def inet_hash_connect(death_row, sk) -> int:
    """connect(): pick a local port whose 4-tuple is free and hash the socket."""
    port_offset = 0
    if not sk.inet_num:
        port_offset = inet_sk_port_offset(sk)
    return __inet_hash_connect(death_row, sk, port_offset)


# --- walking the tables (ss, /proc/net/tcp) -------------------------------------------------
def tcp_all_socks(net):
    """Every TCP socket of the namespace: listeners, then ehash (full, TIME_WAIT, request)."""
    hinfo = tcp_hashinfo(net)
    out = []
    for lst in hinfo.lhash2.values():
        out.extend(lst)
    out.extend(hinfo.ehash.values())
    return out
