"""net/core/dst.c, include/net/dst.h, include/net/dst_ops.h: the destination cache entry.

A DstEntry is what the routing code attaches to an skb (``skb._dst``): the device to
send on, the ``input``/``output`` functions that move the packet on (ip_local_deliver,
ip_forward, ip_output, ...), metrics (RTAX_*) and an ``obsolete`` state that lets a
socket that caches a route find out it went stale. IPv4's Rtable (net/ipv4/route.py)
subclasses it and fills ``ops`` with ipv4_dst_ops.

Validity is the kernel's: every IPv4 route is created with obsolete =
DST_OBSOLETE_FORCE_CHK, so dst_check() always asks ops.check (ipv4_dst_check), which
compares the route's generation with the namespace's (rt_cache_flush bumps it) and
fails once a PMTU/redirect update or a device going away marked the route KILL/DEAD.
"""
from .dropreason import SkbDropReason
from .skbuff import kfree_skb

# dst->obsolete (include/net/dst.h)
DST_OBSOLETE_NONE = 0
DST_OBSOLETE_DEAD = 2
DST_OBSOLETE_FORCE_CHK = -1
DST_OBSOLETE_KILL = -2

# dst->flags
DST_NOXFRM = 0x0002
DST_NOPOLICY = 0x0004
DST_NOCOUNT = 0x0008
DST_FAKE_RTABLE = 0x0010
DST_XFRM_TUNNEL = 0x0020
DST_XFRM_QUEUE = 0x0040
DST_METADATA = 0x0080

# include/uapi/linux/rtnetlink.h: route metrics
RTAX_UNSPEC = 0
RTAX_LOCK = 1
RTAX_MTU = 2
RTAX_WINDOW = 3
RTAX_RTT = 4
RTAX_RTTVAR = 5
RTAX_SSTHRESH = 6
RTAX_CWND = 7
RTAX_ADVMSS = 8
RTAX_REORDERING = 9
RTAX_HOPLIMIT = 10
RTAX_INITCWND = 11
RTAX_FEATURES = 12
RTAX_RTO_MIN = 13
RTAX_INITRWND = 14
RTAX_QUICKACK = 15
RTAX_CC_ALGO = 16
RTAX_FASTOPEN_NO_COOKIE = 17
RTAX_MAX = 17

# iproute2's names for them (ip/iproute.c mx_names), used by `ip route` and the dumps.
RTAX_NAMES = {
    RTAX_LOCK: "lock", RTAX_MTU: "mtu", RTAX_WINDOW: "window", RTAX_RTT: "rtt",
    RTAX_RTTVAR: "rttvar", RTAX_SSTHRESH: "ssthresh", RTAX_CWND: "cwnd", RTAX_ADVMSS: "advmss",
    RTAX_REORDERING: "reordering", RTAX_HOPLIMIT: "hoplimit", RTAX_INITCWND: "initcwnd",
    RTAX_FEATURES: "features", RTAX_RTO_MIN: "rto_min", RTAX_INITRWND: "initrwnd",
    RTAX_QUICKACK: "quickack", RTAX_CC_ALGO: "congctl", RTAX_FASTOPEN_NO_COOKIE: "fastopen_no_cookie",
}
RTAX_BY_NAME = {v: k for k, v in RTAX_NAMES.items()}

RTAX_FEATURE_ECN = 1 << 0
RTAX_FEATURE_SACK = 1 << 1
RTAX_FEATURE_TIMESTAMP = 1 << 2
RTAX_FEATURE_ALLFRAG = 1 << 3
RTAX_FEATURE_TCP_USEC_TS = 1 << 4
RTAX_FEATURE_MASK = 0x1F

EMPTY_METRICS: dict = {}


class DstOps:
    """struct dst_ops: the per-family behaviour of a dst."""

    __slots__ = ("family", "check", "default_advmss", "mtu", "negative_advice", "link_failure",
                 "update_pmtu", "redirect", "neigh_lookup", "confirm_neigh", "local_out")

    def __init__(self, family=0, check=None, default_advmss=None, mtu=None, negative_advice=None,
                 link_failure=None, update_pmtu=None, redirect=None, neigh_lookup=None,
                 confirm_neigh=None, local_out=None):
        self.family = family
        self.check = check
        self.default_advmss = default_advmss
        self.mtu = mtu
        self.negative_advice = negative_advice
        self.link_failure = link_failure
        self.update_pmtu = update_pmtu
        self.redirect = redirect
        self.neigh_lookup = neigh_lookup
        self.confirm_neigh = confirm_neigh
        self.local_out = local_out


def dst_discard(skb) -> int:
    kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
    return 0


def dst_discard_out(net, sk, skb) -> int:
    kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
    return 0


class DstEntry:
    """struct dst_entry."""

    __slots__ = ("dev", "ops", "input", "output", "obsolete", "flags", "expires", "error",
                 "metrics", "lastuse", "use", "rate_tokens", "rate_last", "__weakref__")

    def __init__(self, ops=None, dev=None, obsolete=DST_OBSOLETE_FORCE_CHK, flags=0):
        self.dev = dev
        self.ops = ops
        self.input = dst_discard
        self.output = dst_discard_out
        self.obsolete = obsolete
        self.flags = flags
        self.expires = 0.0        # seconds on the Net clock; 0 = never
        self.error = 0            # positive errno for reject routes (ip_error reads it)
        self.metrics = EMPTY_METRICS   # {RTAX_*: value}; shared with the FibInfo, never mutated
        self.lastuse = 0.0
        self.use = 0
        self.rate_tokens = 0
        self.rate_last = 0

    @property
    def dst(self):
        """rt->dst: an Rtable is its own dst here (the kernel embeds one)."""
        return self


# --- the skb side (include/net/dst.h) ------------------------------------------
def dst_input(skb) -> int:
    """Hand a received packet on: ip_local_deliver, ip_forward or ip_error."""
    return skb._dst.input(skb)


def dst_output(net, sk, skb) -> int:
    """Hand a locally built or forwarded packet on: ip_output (or a discard)."""
    return skb._dst.output(net, sk, skb)


def skb_dst_drop(skb) -> None:
    skb._dst = None


def skb_valid_dst(skb) -> bool:
    dst = skb._dst
    return dst is not None and not (dst.flags & DST_METADATA)


# --- metrics ---------------------------------------------------------------------
def dst_metric_raw(dst, metric: int) -> int:
    return dst.metrics.get(metric, 0)


def dst_metric(dst, metric: int) -> int:
    return dst.metrics.get(metric, 0)


def dst_metric_locked(dst, metric: int) -> bool:
    return bool(dst.metrics.get(RTAX_LOCK, 0) & (1 << metric))


def dst_metric_advmss(dst) -> int:
    advmss = dst.metrics.get(RTAX_ADVMSS, 0)
    if not advmss and dst.ops is not None and dst.ops.default_advmss is not None:
        advmss = dst.ops.default_advmss(dst)
    return advmss


def dst_mtu(dst) -> int:
    """The path MTU towards this destination (ipv4_mtu for IPv4 routes)."""
    ops = dst.ops
    if ops is not None and ops.mtu is not None:
        return ops.mtu(dst)
    mtu = dst.metrics.get(RTAX_MTU, 0)
    return mtu or dst.dev.mtu


def dst_allfrag(dst) -> bool:
    return bool(dst.metrics.get(RTAX_FEATURES, 0) & RTAX_FEATURE_ALLFRAG)


def dst_feature(dst, feature: int) -> int:
    return dst.metrics.get(RTAX_FEATURES, 0) & feature


# --- validity ----------------------------------------------------------------------
def dst_check(dst, cookie: int = 0):
    """The dst if it may still be used, else None (the caller looks up a new route)."""
    if dst is None:
        return None
    if dst.obsolete:
        return dst.ops.check(dst, cookie) if dst.ops is not None and dst.ops.check else None
    return dst


def dst_hold(dst) -> None:
    """References are Python's; kept so call sites read like the kernel."""


def dst_release(dst) -> None:
    pass


def dst_dev_put(dst) -> None:
    """The device went away (or the cached route was replaced): kill the dst."""
    dst.obsolete = DST_OBSOLETE_DEAD
    dst.input = dst_discard
    dst.output = dst_discard_out


def dst_set_expires(dst, timeout: float) -> None:
    """Expire ``timeout`` seconds from now (on the device's Net clock), earliest wins."""
    now = dst.dev.nd_net.clock.now() if dst.dev is not None and dst.dev.nd_net is not None else 0.0
    expires = now + timeout
    if expires == 0:
        expires = 1e-9
    if not dst.expires or expires < dst.expires:
        dst.expires = expires


def dst_confirm_neigh(dst, daddr) -> None:
    """A reply proved the path works: confirm the next hop's neighbour (MSG_CONFIRM)."""
    if dst is not None and dst.ops is not None and dst.ops.confirm_neigh is not None:
        dst.ops.confirm_neigh(dst, daddr)


def dst_link_failure(skb) -> None:
    """The next hop could not be resolved: ipv4_link_failure sends ICMP host unreachable."""
    dst = skb._dst
    if dst is not None and dst.ops is not None and dst.ops.link_failure is not None:
        dst.ops.link_failure(skb)


def dst_negative_advice(dst):
    if dst is not None and dst.ops is not None and dst.ops.negative_advice is not None:
        return dst.ops.negative_advice(dst)
    return dst


def dst_update_pmtu(dst, sk, skb, mtu: int) -> None:
    if dst is not None and dst.ops is not None and dst.ops.update_pmtu is not None:
        dst.ops.update_pmtu(dst, sk, skb, mtu)


# --- sockets that cache a route (net/core/sock.c; the socket owns sk_dst_cache) ---------
def __sk_dst_get(sk):
    return getattr(sk, "sk_dst_cache", None)


def __sk_dst_set(sk, dst) -> None:
    sk.sk_dst_cache = dst


sk_dst_get = __sk_dst_get
sk_dst_set = __sk_dst_set


def __sk_dst_reset(sk) -> None:
    sk.sk_dst_cache = None


sk_dst_reset = __sk_dst_reset


def __sk_dst_check(sk, cookie: int = 0):
    """sock.c: the socket's cached route if still valid, else drop it and return None."""
    dst = getattr(sk, "sk_dst_cache", None)
    if dst is not None and dst.obsolete and (dst.ops is None or dst.ops.check is None
                                             or dst.ops.check(dst, cookie) is None):
        sk.sk_dst_cache = None
        return None
    return dst


sk_dst_check = __sk_dst_check
