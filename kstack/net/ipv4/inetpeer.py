"""net/ipv4/inetpeer.c, include/net/inetpeer.h: long-lived per-peer state — RFC 1812 §4.3.2.8.

One InetPeer per remote address (and l3mdev vif) per Net, in ``net.ipv4.peers``. It
carries the token bucket that rate-limits ICMP errors towards that address
(``inet_peer_xrlim_allow``, used by icmp_send and route.c's ip_error) and the
``rid`` counter ip_fragment.c uses for ipfrag_max_dist.

Time is counted in jiffies of HZ = 1000, so the millisecond sysctls (icmp_ratelimit)
are exact; this machine's kernel runs HZ = 250 and rounds 250 ms to 252.

The kernel keeps peers in an rbtree and garbage-collects up to PEER_MAX_GC nodes met
on each insert's lookup path; here a dict keyed by (addr, vif) plays the tree and the
same number of oldest entries are examined on each insert, with the kernel's TTL rule
(10 min normally, down to 2 min as the pool nears inet_peer_threshold, 0 above it).
"""
HZ = 1000
PEER_MAX_GC = 32
XRLIM_BURST_FACTOR = 6
INETPEER_METRICS_NEW = ~0

# Exported for sysctl_net_ipv4 in the kernel. The threshold is 1% of RAM in peers,
# clamped to [4096, 65536 + 128]; any machine with more than ~1 GiB hits the top.
inet_peer_threshold = 65536 + 128
inet_peer_minttl = 120 * HZ       # TTL under high load: 120 sec
inet_peer_maxttl = 10 * 60 * HZ   # usual time to live: 10 min


def jiffies(net) -> int:
    """The Net's clock as jiffies (HZ = 1000)."""
    return int(net.clock.now() * HZ)


class InetPeer:
    """struct inet_peer."""

    __slots__ = ("daddr", "vif", "dtime", "refcnt", "rid", "rate_tokens", "rate_last",
                 "n_redirects", "metrics")

    def __init__(self, daddr: int, vif: int, now: int):
        self.daddr = daddr
        self.vif = vif
        self.dtime = now
        self.refcnt = 1
        self.rid = 0
        self.rate_tokens = 0
        self.n_redirects = 0
        # 60*HZ is arbitrary, but chosen enough high so that the first
        # calculation of tokens is at its maximum.
        self.rate_last = now - 60 * HZ
        self.metrics = None

    def __repr__(self):
        a = self.daddr
        return (f"<inet_peer {a >> 24 & 255}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255} "
                f"tokens={self.rate_tokens} rid={self.rid}>")


class InetPeerBase:
    """struct inet_peer_base: one Net's peers."""

    __slots__ = ("peers", "total")

    def __init__(self):
        self.peers = {}
        self.total = 0


def inet_peer_base_init(bp: InetPeerBase) -> None:
    bp.peers = {}
    bp.total = 0


def inet_initpeers() -> None:
    """ip_init(): the kernel sizes inet_peer_threshold from RAM here; our value is fixed."""
    return None


inet_initpeers_init = inet_initpeers


def _inet_peer_gc(base: InetPeerBase, now: int) -> None:
    if base.total >= inet_peer_threshold:
        ttl = 0     # be aggressive
    else:
        ttl = inet_peer_maxttl - (inet_peer_maxttl - inet_peer_minttl) // HZ * \
            base.total // inet_peer_threshold * HZ
    victims = []
    for i, p in enumerate(base.peers.values()):
        if i >= PEER_MAX_GC:
            break
        if now - p.dtime >= ttl and p.refcnt == 1:
            victims.append(p)
    for p in victims:
        del base.peers[(p.daddr, p.vif)]
        base.total -= 1
        p.refcnt = 0


def inet_getpeer(base: InetPeerBase, daddr: int, vif: int, now: int, create: bool = True):
    """Find or create the peer for (daddr, vif); no reference is taken (RCU style)."""
    key = (daddr, vif)
    p = base.peers.get(key)
    if p is not None:
        p.dtime = now
        return p
    if not create:
        return None
    if base.total:
        _inet_peer_gc(base, now)
    p = InetPeer(daddr, vif, now)
    base.peers[key] = p
    base.total += 1
    return p


def inet_getpeer_v4(base: InetPeerBase, v4daddr: int, vif: int, now: int, create: bool = True):
    return inet_getpeer(base, v4daddr, vif, now, create)


def inet_putpeer(p: InetPeer) -> None:
    if p is not None and p.refcnt > 0:
        p.refcnt -= 1


def inet_peer_xrlim_allow(peer, timeout: int, now: int) -> bool:
    """Token bucket: ``timeout`` jiffies buy one message; at most 6 in a burst.

    A new peer starts with the bucket full (rate_last is 60 s in the past), so a burst
    of XRLIM_BURST_FACTOR messages passes, then one per ``timeout``."""
    if peer is None:
        return True
    token = otoken = peer.rate_tokens
    delta = now - peer.rate_last
    if delta:
        peer.rate_last = now
        token += delta
        if token > XRLIM_BURST_FACTOR * timeout:
            token = XRLIM_BURST_FACTOR * timeout
    rc = False
    if token >= timeout:
        token -= timeout
        rc = True
    if token != otoken:
        peer.rate_tokens = token
    return rc


def inetpeer_invalidate_tree(base: InetPeerBase) -> None:
    for p in base.peers.values():
        inet_putpeer(p)
    base.peers = {}
    base.total = 0
