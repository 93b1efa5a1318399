"""net/core/neighbour.c, include/net/neighbour.h: neighbour tables and the NUD state machine
— RFC 1122 §2.3.2.1 (ARP cache validation), RFC 4861 §7.3 (the NUD states Linux uses for ARP).

A NeighTable (one per Net and protocol: ``arp_tbl``) maps (primary_key, dev) to a
Neighbour: the link-layer address of a next hop and its reachability state.
NUD_INCOMPLETE while resolving (packets wait on ``arp_queue``), NUD_REACHABLE after a
confirmation, NUD_STALE when that confirmation is older than ``reachable_time``,
NUD_DELAY/NUD_PROBE while re-validating, NUD_FAILED when nobody answered; NUD_NOARP and
NUD_PERMANENT never change by themselves. Timers and numbers are the kernel's
(retrans_time 1 s, ucast/mcast_solicit 3, base_reachable_time 30 s randomised to
[0.5, 1.5) x, delay_first_probe_time 5 s, gc_stale_time 60 s, locktime 1 s), each a
per-device sysctl under net.ipv4.neigh.{default,DEV}.* with the kernel's names and units.

Differences, on purpose: there are no reference counts (a table entry is referenced only
by the table, as an unused kernel entry is); the periodic GC work (neigh_periodic_work)
is armed only while the table holds at least gc_thresh1 entries, since below that it
does nothing but re-draw reachable_time, which is done lazily (every 300 s, at the next
use) so an idle Net has no timer pending.
"""
from collections import deque

from ..net.ethernet.eth import HhCache
from .dev import dev_queue_xmit
from .dropreason import SkbDropReason
from .errno import EEXIST, EINVAL, ENOBUFS, ENOENT, ENETDOWN, EPERM
# include/linux/netlink.h: nlmsg_flags of new requests (one definition, in rtnetlink)
from .rtnetlink import NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE
from .skbuff import kfree_skb, skb_clone, skb_push, consume_skb
from .sysctl import INT_MAX, CtlTable, register_net_sysctl, unregister_net_sysctl
from .timer import TimerList

# include/uapi/linux/neighbour.h
NUD_INCOMPLETE = 0x01
NUD_REACHABLE = 0x02
NUD_STALE = 0x04
NUD_DELAY = 0x08
NUD_PROBE = 0x10
NUD_FAILED = 0x20
NUD_NOARP = 0x40
NUD_PERMANENT = 0x80
NUD_NONE = 0x00

NUD_IN_TIMER = NUD_INCOMPLETE | NUD_REACHABLE | NUD_DELAY | NUD_PROBE
NUD_VALID = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_PROBE | NUD_STALE | NUD_DELAY
NUD_CONNECTED = NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE

NUD_NAMES = [(NUD_INCOMPLETE, "INCOMPLETE"), (NUD_REACHABLE, "REACHABLE"), (NUD_STALE, "STALE"),
             (NUD_DELAY, "DELAY"), (NUD_PROBE, "PROBE"), (NUD_FAILED, "FAILED"),
             (NUD_NOARP, "NOARP"), (NUD_PERMANENT, "PERMANENT")]
NUD_BY_NAME = {name.lower(): bit for bit, name in NUD_NAMES}
NUD_BY_NAME["none"] = NUD_NONE

NTF_USE = 0x01
NTF_SELF = 0x02
NTF_MASTER = 0x04
NTF_PROXY = 0x08
NTF_EXT_LEARNED = 0x10
NTF_OFFLOADED = 0x20
NTF_STICKY = 0x40
NTF_ROUTER = 0x80
NTF_EXT_MANAGED = 0x01   # ndm_flags_ext (NTF_EXT_MANAGED is bit 0 there)
NTF_MANAGED = 0x100      # internal view of the extended flag

NEIGH_UPDATE_F_OVERRIDE = 1 << 0
NEIGH_UPDATE_F_WEAK_OVERRIDE = 1 << 1
NEIGH_UPDATE_F_OVERRIDE_ISROUTER = 1 << 2
NEIGH_UPDATE_F_USE = 1 << 3
NEIGH_UPDATE_F_MANAGED = 1 << 4
NEIGH_UPDATE_F_EXT_LEARNED = 1 << 5
NEIGH_UPDATE_F_ISROUTER = 1 << 6
NEIGH_UPDATE_F_ADMIN = 1 << 7

HZ100 = 0.01                     # HZ/100: the smallest timer step the kernel allows here
ETH_FRAME_LEN = 1514
# SKB_TRUESIZE(X) = X + SKB_DATA_ALIGN(sizeof(struct sk_buff)) + SKB_DATA_ALIGN(sizeof(skb_shared_info))
SKB_TRUESIZE_ETH_FRAME = ETH_FRAME_LEN + 256 + 320
SK_WMEM_MAX = 212992             # default unres_qlen_bytes (unres_qlen reads 101)
USER_HZ = 100


def neigh_state_names(state: int) -> list:
    """['REACHABLE'], ['NONE'], ...: iproute2's text for ndm_state."""
    if state == NUD_NONE:
        return ["NONE"]
    return [name for bit, name in NUD_NAMES if state & bit]


class NeighParms:
    """struct neigh_parms: the tunables of one device (or the table's defaults)."""

    __slots__ = ("tbl", "dev", "net", "dead", "reachable_time", "data_state",
                 "mcast_probes", "ucast_probes", "app_probes", "mcast_reprobes",
                 "retrans_time", "base_reachable_time", "delay_probe_time", "gc_staletime",
                 "queue_len_bytes", "proxy_qlen", "anycast_delay", "proxy_delay", "locktime",
                 "interval_probe_time")

    DATA = ("mcast_probes", "ucast_probes", "app_probes", "mcast_reprobes", "retrans_time",
            "base_reachable_time", "delay_probe_time", "gc_staletime", "queue_len_bytes",
            "proxy_qlen", "anycast_delay", "proxy_delay", "locktime", "interval_probe_time")

    def __init__(self, tbl=None, dev=None):
        self.tbl = tbl
        self.dev = dev
        self.net = None
        self.dead = False
        self.data_state = set()        # names set explicitly (not following 'default')
        self.mcast_probes = 3
        self.ucast_probes = 3
        self.app_probes = 0
        self.mcast_reprobes = 0
        self.retrans_time = 1.0
        self.base_reachable_time = 30.0
        self.delay_probe_time = 5.0
        self.gc_staletime = 60.0
        self.queue_len_bytes = SK_WMEM_MAX
        self.proxy_qlen = 64
        self.anycast_delay = 1.0
        self.proxy_delay = 0.8
        self.locktime = 1.0
        self.interval_probe_time = 5.0
        self.reachable_time = 30.0


def neigh_rand_reach_time(rng, base: float) -> float:
    """A value in [base/2, 3*base/2): RFC 4861's ReachableTime randomisation."""
    if not base:
        return 0.0
    ms = int(base * 1000)
    return (rng.prandom_u32_max(ms) + (ms >> 1)) / 1000.0


def neigh_parms_alloc(dev, tbl) -> NeighParms:
    """A device's parms, copied from the table defaults (neigh_parms_alloc)."""
    p = NeighParms(tbl, dev)
    d = tbl.parms
    for f in NeighParms.DATA:
        setattr(p, f, getattr(d, f))
    p.net = tbl.net
    p.reachable_time = neigh_rand_reach_time(tbl.net.rng, p.base_reachable_time)
    tbl.parms_list.append(p)
    return p


def neigh_parms_release(tbl, parms) -> None:
    parms.dead = True
    if parms in tbl.parms_list:
        tbl.parms_list.remove(parms)


class NeighOps:
    """struct neigh_ops."""

    __slots__ = ("family", "solicit", "error_report", "output", "connected_output")

    def __init__(self, family=0, solicit=None, error_report=None, output=None, connected_output=None):
        self.family = family
        self.solicit = solicit
        self.error_report = error_report
        self.output = output
        self.connected_output = connected_output


class Neighbour:
    """struct neighbour."""

    __slots__ = ("tbl", "parms", "dev", "primary_key", "ha", "nud_state", "type", "dead",
                 "flags", "output", "ops", "hh", "arp_queue", "arp_queue_len_bytes", "probes",
                 "confirmed", "updated", "used", "timer", "gc_listed", "protocol")

    def __init__(self, tbl, dev, primary_key):
        self.tbl = tbl
        self.parms = tbl.parms
        self.dev = dev
        self.primary_key = primary_key
        self.ha = bytes(dev.addr_len) if dev is not None else b""
        self.nud_state = NUD_NONE
        self.type = 0
        self.dead = False
        self.flags = 0
        self.output = neigh_blackhole
        self.ops = None
        self.hh = HhCache()
        self.arp_queue = deque()
        self.arp_queue_len_bytes = 0
        self.probes = 0
        now = tbl.net.clock.now()
        self.confirmed = now - 2 * tbl.parms.base_reachable_time
        self.updated = now
        self.used = now
        self.timer = TimerList(neigh_timer_handler, self, name="neigh")
        self.gc_listed = False
        self.protocol = 0

    def __repr__(self):
        a = self.primary_key
        key = f"{a >> 24 & 255}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}" if isinstance(a, int) else a
        return f"<neighbour {key} dev {getattr(self.dev, 'name', None)} " \
               f"{'/'.join(neigh_state_names(self.nud_state))}>"


class NeighTable:
    """struct neigh_table: one per Net here (the kernel's is global with a per-net key)."""

    def __init__(self, net, family: int, key_len: int, id_: str, constructor, protocol: int,
                 gc_interval: int = 30, gc_thresh1: int = 128, gc_thresh2: int = 512,
                 gc_thresh3: int = 1024, is_multicast=None):
        self.net = net
        self.family = family
        self.key_len = key_len
        self.id = id_
        self.constructor = constructor
        self.protocol = protocol           # ETH_P_IP for arp_tbl: the hh cache's ethertype
        self.parms = NeighParms(self, None)
        self.parms.net = net
        self.parms.reachable_time = neigh_rand_reach_time(net.rng, self.parms.base_reachable_time)
        self.parms_list = [self.parms]
        self.hash = {}                     # (primary_key, dev) -> Neighbour
        self.entries = 0
        self.gc_entries = 0                # entries subject to GC (not PERMANENT / ext-learned)
        self.gc_interval = gc_interval     # seconds (sysctl gc_interval)
        self.gc_thresh1 = gc_thresh1
        self.gc_thresh2 = gc_thresh2
        self.gc_thresh3 = gc_thresh3
        self.last_flush = net.clock.now()
        self.last_rand = net.clock.now()
        self.is_multicast = is_multicast
        self.gc_work = TimerList(neigh_periodic_work, self, name="neigh_periodic_work")
        self.stats = dict.fromkeys(("allocs", "destroys", "hash_grows", "res_failed", "lookups",
                                    "hits", "rcv_probes_mcast", "rcv_probes_ucast",
                                    "periodic_gc_runs", "forced_gc_runs", "unres_discards",
                                    "table_fulls"), 0)

    def __repr__(self):
        return f"<neigh_table {self.id} entries={self.entries}>"


def NEIGH_CACHE_STAT_INC(tbl, field: str) -> None:
    tbl.stats[field] += 1


def _now(tbl) -> float:
    return tbl.net.clock.now()


def _timers(tbl):
    return tbl.net.timers


def neigh_reachable_time(neigh) -> float:
    """parms->reachable_time, re-drawn every 300 s as neigh_periodic_work does."""
    tbl = neigh.tbl
    now = _now(tbl)
    if now - tbl.last_rand > 300.0:
        tbl.last_rand = now
        for p in tbl.parms_list:
            p.reachable_time = neigh_rand_reach_time(tbl.net.rng, p.base_reachable_time)
    return neigh.parms.reachable_time


# --- lookup / create ----------------------------------------------------------------
def neigh_lookup(tbl, pkey, dev):
    NEIGH_CACHE_STAT_INC(tbl, "lookups")
    n = tbl.hash.get((pkey, dev))
    if n is not None:
        NEIGH_CACHE_STAT_INC(tbl, "hits")
    return n


def __neigh_lookup_noref(tbl, pkey, dev):
    return tbl.hash.get((pkey, dev))


def neigh_forced_gc(tbl) -> int:
    """Drop unused FAILED/NOARP/old entries down to gc_thresh2 (the table is filling up)."""
    max_clean = tbl.gc_entries - tbl.gc_thresh2
    now = _now(tbl)
    tref = now - 5.0
    shrunk = 0
    NEIGH_CACHE_STAT_INC(tbl, "forced_gc_runs")
    # gc_list order is insertion (oldest first), as the kernel's list_add_tail.
    for n in list(tbl.hash.values()):
        if shrunk >= max_clean:
            break
        if not n.gc_listed:
            continue
        if (n.nud_state in (NUD_FAILED, NUD_NOARP)
                or (tbl.is_multicast is not None and tbl.is_multicast(n.primary_key))
                or not (tref <= n.updated <= now)):
            neigh_remove_one(n)
            shrunk += 1
    tbl.last_flush = now
    return shrunk


def neigh_alloc(tbl, dev, exempt_from_gc: bool):
    if not exempt_from_gc:
        entries = tbl.gc_entries
        now = _now(tbl)
        if entries >= tbl.gc_thresh3 or (entries >= tbl.gc_thresh2 and now > tbl.last_flush + 5.0):
            if not neigh_forced_gc(tbl) and entries >= tbl.gc_thresh3:
                NEIGH_CACHE_STAT_INC(tbl, "table_fulls")
                return None
    return True


def ___neigh_create(tbl, pkey, dev, flags: int = 0, exempt_from_gc: bool = False, want_ref: bool = True):
    """Create (or return the existing) neighbour; a Neighbour or -errno."""
    old = tbl.hash.get((pkey, dev))
    if old is not None:
        return old
    if neigh_alloc(tbl, dev, exempt_from_gc) is None:
        return -ENOBUFS
    n = Neighbour(tbl, dev, pkey)
    n.flags = flags
    NEIGH_CACHE_STAT_INC(tbl, "allocs")
    err = tbl.constructor(n)
    if err:
        return err
    if n.parms.dead:
        return -EINVAL
    # Brand-new entries start out "never confirmed" (neigh_alloc).
    n.confirmed = _now(tbl) - 2 * n.parms.base_reachable_time
    old = tbl.hash.get((pkey, dev))
    if old is not None:
        return old
    tbl.hash[(pkey, dev)] = n
    tbl.entries += 1
    if not exempt_from_gc:
        n.gc_listed = True
        tbl.gc_entries += 1
    if tbl.entries >= tbl.gc_thresh1 and not tbl.gc_work.pending:
        _timers(tbl).mod_timer(tbl.gc_work, _now(tbl) + tbl.parms.base_reachable_time / 2)
    return n


def __neigh_create(tbl, pkey, dev, want_ref: bool = True):
    return ___neigh_create(tbl, pkey, dev, 0, False, want_ref)


neigh_create = __neigh_create


def __neigh_lookup(tbl, pkey, dev, creat: bool):
    n = neigh_lookup(tbl, pkey, dev)
    if n is not None or not creat:
        return n
    n = neigh_create(tbl, pkey, dev)
    return None if isinstance(n, int) else n


def __neigh_lookup_errno(tbl, pkey, dev):
    n = neigh_lookup(tbl, pkey, dev)
    if n is not None:
        return n
    return neigh_create(tbl, pkey, dev)


def neigh_mark_dead(n) -> None:
    n.dead = True
    if n.gc_listed:
        n.gc_listed = False
        n.tbl.gc_entries -= 1


def neigh_destroy(n) -> None:
    """The last reference went: drop what is queued, stop the timer."""
    tbl = n.tbl
    if n.nud_state & NUD_IN_TIMER or n.timer.pending:
        _timers(tbl).del_timer(n.timer)
    while n.arp_queue:
        kfree_skb(n.arp_queue.popleft(), SkbDropReason.NEIGH_DEAD)
    n.arp_queue_len_bytes = 0
    n.output = neigh_blackhole
    NEIGH_CACHE_STAT_INC(tbl, "destroys")


def neigh_remove_one(n) -> bool:
    tbl = n.tbl
    key = (n.primary_key, n.dev)
    if tbl.hash.get(key) is not n:
        return False
    del tbl.hash[key]
    tbl.entries -= 1
    neigh_mark_dead(n)
    neigh_destroy(n)
    return True


def neigh_flush_dev(tbl, dev, skip_perm: bool) -> None:
    for n in list(tbl.hash.values()):
        if dev is not None and n.dev is not dev:
            continue
        if skip_perm and n.nud_state & NUD_PERMANENT:
            continue
        neigh_del_timer(n)
        n.nud_state = NUD_NOARP if n.nud_state & NUD_VALID else NUD_NONE
        neigh_remove_one(n)


def neigh_ifdown(tbl, dev) -> int:
    """The device went down: forget every neighbour on it (permanent ones too)."""
    neigh_flush_dev(tbl, dev, False)
    return 0


def neigh_carrier_down(tbl, dev) -> int:
    neigh_flush_dev(tbl, dev, True)
    return 0


def neigh_changeaddr(tbl, dev) -> None:
    neigh_flush_dev(tbl, dev, False)


# --- output paths ---------------------------------------------------------------------
def neigh_blackhole(neigh, skb) -> int:
    kfree_skb(skb, SkbDropReason.NEIGH_DEAD)
    return -ENETDOWN


def neigh_direct_output(neigh, skb) -> int:
    return dev_queue_xmit(skb)


def neigh_hh_init(n) -> None:
    hh = n.hh
    if not hh.hh_len:
        n.dev.header_ops.cache(n, hh, n.tbl.protocol)


def neigh_update_hhs(neigh) -> None:
    hh = neigh.hh
    dev = neigh.dev
    if hh.hh_len and dev.header_ops is not None and dev.header_ops.cache_update is not None:
        dev.header_ops.cache_update(hh, dev, neigh.ha)


def neigh_hh_output(hh, skb) -> int:
    """Prepend the cached link header and transmit."""
    hh_len = hh.hh_len
    off = skb.data - hh_len
    if off >= 0:
        skb.data = off                  # __skb_push: the headroom is there
    else:
        off = skb_push(skb, hh_len)     # grow the headroom first
    skb.head[off:off + hh_len] = hh.hh_data
    skb.mac_header = off
    return dev_queue_xmit(skb)


def _dev_hard_header(skb, dev, type_, daddr, saddr, len_) -> int:
    ops = dev.header_ops
    if ops is None:
        return 0
    return ops.create(skb, dev, type_, daddr, saddr, len_)


def neigh_resolve_output(neigh, skb) -> int:
    """Slow path: resolve first (queue while INCOMPLETE), then build the header."""
    if not neigh_event_send(neigh, skb):
        dev = neigh.dev
        if dev.header_ops is not None and dev.header_ops.cache is not None and not neigh.hh.hh_len:
            neigh_hh_init(neigh)
        if skb.network_header >= 0 and skb.data < skb.network_header:
            skb.data = skb.network_header
        err = _dev_hard_header(skb, dev, skb.protocol, neigh.ha, None, skb.len)
        if err >= 0:
            return dev_queue_xmit(skb)
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
        return -EINVAL
    return 0


def neigh_connected_output(neigh, skb) -> int:
    """The address is known: build the header and transmit."""
    if skb.network_header >= 0 and skb.data < skb.network_header:
        skb.data = skb.network_header
    err = _dev_hard_header(skb, neigh.dev, skb.protocol, neigh.ha, None, skb.len)
    if err >= 0:
        return dev_queue_xmit(skb)
    kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
    return -EINVAL


def neigh_output(n, skb, skip_cache: bool = False) -> int:
    """include/net/neighbour.h: the cached header when connected, else n.output."""
    if not skip_cache and n.nud_state & NUD_CONNECTED and n.hh.hh_len:
        return neigh_hh_output(n.hh, skb)
    return n.output(n, skb)


def neigh_suspect(neigh) -> None:
    neigh.output = neigh.ops.output


def neigh_connect(neigh) -> None:
    neigh.output = neigh.ops.connected_output


def neigh_confirm(n) -> None:
    """The peer proved reachable (a TCP ACK, MSG_CONFIRM)."""
    if n is not None:
        n.confirmed = _now(n.tbl)


# --- timers ------------------------------------------------------------------------
def neigh_add_timer(n, when: float) -> None:
    _timers(n.tbl).mod_timer(n.timer, when)


def neigh_del_timer(n) -> bool:
    if n.nud_state & NUD_IN_TIMER or n.timer.pending:
        return _timers(n.tbl).del_timer(n.timer)
    return False


def neigh_max_probes(n) -> int:
    p = n.parms
    return p.ucast_probes + p.app_probes + (p.mcast_reprobes if n.nud_state & NUD_PROBE
                                            else p.mcast_probes)


def neigh_probe(neigh) -> None:
    """Send one solicitation (arp_solicit), quoting the newest queued packet."""
    skb = neigh.arp_queue[-1] if neigh.arp_queue else None
    if skb is not None:
        skb = skb_clone(skb)
    if neigh.ops is not None and neigh.ops.solicit is not None:
        neigh.ops.solicit(neigh, skb)
    neigh.probes += 1


def neigh_invalidate(neigh) -> None:
    """Resolution failed: report every queued packet (ICMP host unreachable) and drop it."""
    tbl = neigh.tbl
    NEIGH_CACHE_STAT_INC(tbl, "res_failed")
    neigh.updated = _now(tbl)
    while neigh.nud_state == NUD_FAILED and neigh.arp_queue:
        skb = neigh.arp_queue.popleft()
        neigh.arp_queue_len_bytes -= skb.truesize
        if neigh.ops is not None and neigh.ops.error_report is not None:
            neigh.ops.error_report(neigh, skb)
        else:
            kfree_skb(skb, SkbDropReason.NEIGH_FAILED)
    while neigh.arp_queue:
        kfree_skb(neigh.arp_queue.popleft(), SkbDropReason.NEIGH_FAILED)
    neigh.arp_queue_len_bytes = 0


def neigh_timer_handler(neigh) -> None:
    state = neigh.nud_state
    tbl = neigh.tbl
    now = _now(tbl)
    nxt = now + 1.0
    if not state & NUD_IN_TIMER or neigh.dead:
        return
    p = neigh.parms
    if state & NUD_REACHABLE:
        reach = neigh_reachable_time(neigh)
        if now <= neigh.confirmed + reach:
            nxt = neigh.confirmed + reach
        elif now <= neigh.used + p.delay_probe_time:
            neigh.nud_state = NUD_DELAY
            neigh.updated = now
            neigh_suspect(neigh)
            nxt = now + p.delay_probe_time
        else:
            neigh.nud_state = NUD_STALE
            neigh.updated = now
            neigh_suspect(neigh)
    elif state & NUD_DELAY:
        if now <= neigh.confirmed + p.delay_probe_time:
            neigh.nud_state = NUD_REACHABLE
            neigh.updated = now
            neigh_connect(neigh)
            nxt = neigh.confirmed + neigh_reachable_time(neigh)
        else:
            neigh.nud_state = NUD_PROBE
            neigh.updated = now
            neigh.probes = 0
            nxt = now + max(p.retrans_time, HZ100)
    else:
        # NUD_PROBE | NUD_INCOMPLETE
        nxt = now + max(p.retrans_time, HZ100)

    if neigh.nud_state & (NUD_INCOMPLETE | NUD_PROBE) and neigh.probes >= neigh_max_probes(neigh):
        neigh.nud_state = NUD_FAILED
        neigh_invalidate(neigh)
        return

    if neigh.nud_state & NUD_IN_TIMER:
        if nxt < now + HZ100:
            nxt = now + HZ100
        _timers(tbl).mod_timer(neigh.timer, nxt)
    if neigh.nud_state & (NUD_INCOMPLETE | NUD_PROBE):
        neigh_probe(neigh)


# --- events ------------------------------------------------------------------------
def __neigh_event_send(neigh, skb, immediate_ok: bool = True) -> int:
    """Start or continue resolution; 0 if the caller may transmit now, 1 if queued/dropped."""
    state = neigh.nud_state
    if state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE):
        return 0
    tbl = neigh.tbl
    p = neigh.parms
    immediate_probe = False
    if neigh.dead:
        if state & NUD_STALE:
            return 0
        if skb is not None:
            kfree_skb(skb, SkbDropReason.NEIGH_DEAD)
        return 1
    now = _now(tbl)
    if not state & (NUD_STALE | NUD_INCOMPLETE):
        if p.mcast_probes + p.app_probes:
            neigh.probes = p.ucast_probes
            neigh_del_timer(neigh)
            neigh.nud_state = NUD_INCOMPLETE
            neigh.updated = now
            if not immediate_ok:
                nxt = now + 0.001
            else:
                immediate_probe = True
                nxt = now + max(p.retrans_time, HZ100)
            neigh_add_timer(neigh, nxt)
        else:
            neigh.nud_state = NUD_FAILED
            neigh.updated = now
            if skb is not None:
                kfree_skb(skb, SkbDropReason.NEIGH_FAILED)
            return 1
    elif state & NUD_STALE:
        neigh_del_timer(neigh)
        neigh.nud_state = NUD_DELAY
        neigh.updated = now
        neigh_add_timer(neigh, now + p.delay_probe_time)

    rc = 0
    if neigh.nud_state == NUD_INCOMPLETE:
        if skb is not None:
            while neigh.arp_queue_len_bytes + skb.truesize > p.queue_len_bytes:
                if not neigh.arp_queue:
                    break
                buff = neigh.arp_queue.popleft()
                neigh.arp_queue_len_bytes -= buff.truesize
                kfree_skb(buff, SkbDropReason.NEIGH_QUEUEFULL)
                NEIGH_CACHE_STAT_INC(tbl, "unres_discards")
            neigh.arp_queue.append(skb)
            neigh.arp_queue_len_bytes += skb.truesize
        rc = 1
    if immediate_probe:
        neigh_probe(neigh)
    return rc


def neigh_event_send(neigh, skb) -> int:
    neigh.used = _now(neigh.tbl)
    if not neigh.nud_state & (NUD_CONNECTED | NUD_DELAY | NUD_PROBE):
        return __neigh_event_send(neigh, skb, True)
    return 0


def neigh_update(neigh, lladdr, new: int, flags: int, nlmsg_pid: int = 0) -> int:
    """Change the state and/or link address of an entry (ARP reply, ip neigh, timers)."""
    dev = neigh.dev
    old = neigh.nud_state
    tbl = neigh.tbl
    if neigh.dead:
        return -EPERM
    if not flags & NEIGH_UPDATE_F_ADMIN and old & (NUD_NOARP | NUD_PERMANENT):
        return -EPERM
    if flags & (NEIGH_UPDATE_F_USE | NEIGH_UPDATE_F_MANAGED):
        neigh.nud_state = old & ~NUD_PERMANENT
        return 0
    now = _now(tbl)
    if not new & NUD_VALID:
        neigh_del_timer(neigh)
        if old & NUD_CONNECTED:
            neigh_suspect(neigh)
        neigh.nud_state = new
        if old & (NUD_INCOMPLETE | NUD_PROBE) and new & NUD_FAILED:
            neigh_invalidate(neigh)
        _gc_update(neigh, old, new)
        return 0

    # Compare the new link address with the cached one.
    if not dev.addr_len:
        lladdr = neigh.ha
    elif lladdr is not None:
        lladdr = bytes(lladdr)
        if old & NUD_VALID and lladdr == neigh.ha:
            lladdr = neigh.ha
    else:
        if not old & NUD_VALID:
            return -EINVAL
        lladdr = neigh.ha

    if new & NUD_CONNECTED:
        neigh.confirmed = now

    # Valid entry, same address: a STALE update does not demote it.
    if old & NUD_VALID:
        if lladdr != neigh.ha and not flags & NEIGH_UPDATE_F_OVERRIDE:
            if flags & NEIGH_UPDATE_F_WEAK_OVERRIDE and old & NUD_CONNECTED:
                lladdr = neigh.ha
                new = NUD_STALE
            else:
                return 0
        else:
            if lladdr == neigh.ha and new == NUD_STALE and not flags & NEIGH_UPDATE_F_ADMIN:
                new = old

    if new != old or lladdr != neigh.ha:
        neigh.updated = now

    if new != old:
        neigh_del_timer(neigh)
        if new & NUD_PROBE:
            neigh.probes = 0
        if new & NUD_IN_TIMER:
            neigh_add_timer(neigh, now + (neigh_reachable_time(neigh) if new & NUD_REACHABLE else 0.0))
        neigh.nud_state = new

    if lladdr != neigh.ha:
        neigh.ha = lladdr
        neigh_update_hhs(neigh)
        if not new & NUD_CONNECTED:
            neigh.confirmed = now - 2 * neigh.parms.base_reachable_time

    if new == old:
        return 0
    if new & NUD_CONNECTED:
        neigh_connect(neigh)
    else:
        neigh_suspect(neigh)
    if not old & NUD_VALID:
        # Resolved: send what waited (each through the neighbour's current output).
        while neigh.nud_state & NUD_VALID and neigh.arp_queue:
            skb = neigh.arp_queue.popleft()
            neigh.arp_queue_len_bytes -= skb.truesize
            neigh.output(neigh, skb)
        while neigh.arp_queue:
            consume_skb(neigh.arp_queue.popleft())
        neigh.arp_queue_len_bytes = 0
    _gc_update(neigh, old, new)
    return 0


__neigh_update = neigh_update


def _gc_update(neigh, old: int, new: int) -> None:
    """neigh_update_gc_list: PERMANENT entries are exempt from garbage collection."""
    if not (new ^ old) & NUD_PERMANENT or neigh.dead:
        return
    tbl = neigh.tbl
    exempt = bool(new & NUD_PERMANENT) or bool(neigh.flags & NTF_EXT_LEARNED)
    if exempt and neigh.gc_listed:
        neigh.gc_listed = False
        tbl.gc_entries -= 1
    elif not exempt and not neigh.gc_listed:
        neigh.gc_listed = True
        tbl.gc_entries += 1


def neigh_event_ns(tbl, lladdr, saddr, dev):
    """Somebody solicited us: create/refresh their entry as STALE (they are probably near)."""
    neigh = __neigh_lookup(tbl, saddr, dev, lladdr is not None or not dev.addr_len)
    if neigh is not None:
        neigh_update(neigh, lladdr, NUD_STALE, NEIGH_UPDATE_F_OVERRIDE, 0)
    return neigh


def neigh_periodic_work(tbl) -> None:
    """Drop unused entries that are FAILED or older than gc_stale_time (>= gc_thresh1)."""
    NEIGH_CACHE_STAT_INC(tbl, "periodic_gc_runs")
    now = _now(tbl)
    if now - tbl.last_rand > 300.0:
        tbl.last_rand = now
        for p in tbl.parms_list:
            p.reachable_time = neigh_rand_reach_time(tbl.net.rng, p.base_reachable_time)
    if tbl.entries < tbl.gc_thresh1:
        return
    for n in list(tbl.hash.values()):
        state = n.nud_state
        if state & (NUD_PERMANENT | NUD_IN_TIMER) or n.flags & NTF_EXT_LEARNED:
            continue
        if n.used < n.confirmed <= now:
            n.used = n.confirmed
        if state == NUD_FAILED or not (n.used <= now < n.used + n.parms.gc_staletime):
            neigh_remove_one(n)
    if tbl.entries >= tbl.gc_thresh1:
        _timers(tbl).mod_timer(tbl.gc_work, now + tbl.parms.base_reachable_time / 2)


# --- rtnetlink: ip neigh add/del/show (RTM_NEWNEIGH, RTM_DELNEIGH, RTM_GETNEIGH) ---------
def neigh_add(tbl, dev, dst, lladdr=None, state: int = NUD_PERMANENT,
              nlflags: int = NLM_F_CREATE | NLM_F_EXCL, ndm_flags: int = 0) -> int:
    """`ip neigh add|replace|change`: 0 or -errno (the kernel's neigh_add)."""
    if dev is None:
        return -EINVAL
    if lladdr is not None and len(lladdr) < dev.addr_len:
        return -EINVAL
    flags = NEIGH_UPDATE_F_ADMIN | NEIGH_UPDATE_F_OVERRIDE
    neigh = neigh_lookup(tbl, dst, dev)
    if neigh is None:
        if not nlflags & NLM_F_CREATE:
            return -ENOENT
        exempt = bool(state & NUD_PERMANENT) or bool(ndm_flags & NTF_EXT_LEARNED)
        neigh = ___neigh_create(tbl, dst, dev, ndm_flags & NTF_EXT_LEARNED, exempt, True)
        if isinstance(neigh, int):
            return neigh
    else:
        if nlflags & NLM_F_EXCL:
            return -EEXIST
        if not nlflags & NLM_F_REPLACE:
            flags &= ~(NEIGH_UPDATE_F_OVERRIDE | NEIGH_UPDATE_F_OVERRIDE_ISROUTER)
    if ndm_flags & NTF_USE:
        neigh_event_send(neigh, None)
        return 0
    return neigh_update(neigh, lladdr, state, flags, 0)


def neigh_delete(tbl, dev, dst) -> int:
    """`ip neigh del`: 0, -ENOENT, -EINVAL (no device)."""
    if dev is None:
        return -EINVAL
    neigh = neigh_lookup(tbl, dst, dev)
    if neigh is None:
        return -ENOENT
    err = neigh_update(neigh, None, NUD_FAILED, NEIGH_UPDATE_F_OVERRIDE | NEIGH_UPDATE_F_ADMIN, 0)
    neigh_remove_one(neigh)
    return err


def neigh_fill_info(neigh, key_text) -> dict:
    """One entry as `ip -j neigh` prints it."""
    d = {"dst": key_text(neigh.primary_key), "dev": neigh.dev.name}
    if neigh.nud_state & NUD_VALID and neigh.dev.addr_len:
        d["lladdr"] = bytes(neigh.ha).hex(":")
    if neigh.flags & NTF_ROUTER:
        d["router"] = None
    d["state"] = neigh_state_names(neigh.nud_state)
    return d


def neigh_dump_info(tbl, key_text, dev=None, state_mask: int | None = None) -> list:
    """Every entry (of one device), in creation order; state_mask filters like `nud`."""
    out = []
    for n in tbl.hash.values():
        if dev is not None and n.dev is not dev:
            continue
        if state_mask is not None:
            if n.nud_state == NUD_NONE:
                if not state_mask & 0x100:   # iproute2 shows NONE only for `nud all`
                    continue
            elif not n.nud_state & state_mask:
                continue
        out.append(neigh_fill_info(n, key_text))
    return out


# --- sysctl: net.{ipv4}.neigh.{default,DEV}.* ------------------------------------------
class NeighSysctlView:
    """The kernel's neigh_sysctl_table rows: procfs names and units over a NeighParms."""

    __slots__ = ("parms",)

    # procname -> (field, scale): value shown = field * scale (seconds -> s/centis/ms)
    ROWS = {
        "mcast_solicit": ("mcast_probes", None),
        "ucast_solicit": ("ucast_probes", None),
        "app_solicit": ("app_probes", None),
        "mcast_resolicit": ("mcast_reprobes", None),
        "retrans_time": ("retrans_time", USER_HZ),
        "base_reachable_time": ("base_reachable_time", 1),
        "delay_first_probe_time": ("delay_probe_time", 1),
        "gc_stale_time": ("gc_staletime", 1),
        "unres_qlen_bytes": ("queue_len_bytes", None),
        "proxy_qlen": ("proxy_qlen", None),
        "anycast_delay": ("anycast_delay", USER_HZ),
        "proxy_delay": ("proxy_delay", USER_HZ),
        "locktime": ("locktime", USER_HZ),
        "unres_qlen": ("queue_len_bytes", "qlen"),
        "retrans_time_ms": ("retrans_time", 1000),
        "base_reachable_time_ms": ("base_reachable_time", 1000),
        "interval_probe_time_ms": ("interval_probe_time", 1000),
    }

    def __init__(self, parms):
        object.__setattr__(self, "parms", parms)

    def __getattr__(self, name):
        field, scale = NeighSysctlView.ROWS[name]
        v = getattr(self.parms, field)
        if scale is None:
            return int(v)
        if scale == "qlen":
            return int(v) // SKB_TRUESIZE_ETH_FRAME
        return int(round(v * scale))

    def __setattr__(self, name, value):
        field, scale = NeighSysctlView.ROWS[name]
        if scale is None:
            v = int(value)
        elif scale == "qlen":
            v = int(value) * SKB_TRUESIZE_ETH_FRAME
        else:
            v = value / scale
        p = self.parms
        setattr(p, field, v)
        p.data_state.add(field)
        if field == "base_reachable_time":
            p.reachable_time = neigh_rand_reach_time(p.net.rng, p.base_reachable_time)
        if p.dev is None and p.tbl is not None:
            # neigh_copy_dflt_parms: devices that never set it follow the default.
            for q in p.tbl.parms_list:
                if q is not p and q.dev is not None and field not in q.data_state:
                    setattr(q, field, v)


def neigh_sysctl_register(net, dev, parms, family: str = "ipv4") -> None:
    """Register net.<family>.neigh.<dev|default>.* for one parms."""
    view = NeighSysctlView(parms)
    name = dev.name if dev is not None else "default"
    positive_ms = {"interval_probe_time_ms": 1}
    rows = [CtlTable(proc, view, proc, "dointvec_minmax", positive_ms.get(proc, 0), INT_MAX)
            for proc in NeighSysctlView.ROWS]
    if dev is None:
        tbl = parms.tbl
        rows += [CtlTable("gc_interval", tbl, "gc_interval", "dointvec_minmax", 0, INT_MAX),
                 CtlTable("gc_thresh1", tbl, "gc_thresh1", "dointvec_minmax", 0, INT_MAX),
                 CtlTable("gc_thresh2", tbl, "gc_thresh2", "dointvec_minmax", 0, INT_MAX),
                 CtlTable("gc_thresh3", tbl, "gc_thresh3", "dointvec_minmax", 0, INT_MAX)]
    register_net_sysctl(net, f"net/{family}/neigh/{name}", rows)


def neigh_sysctl_unregister(net, dev, family: str = "ipv4") -> None:
    unregister_net_sysctl(net, f"net/{family}/neigh/{dev.name}")


def neigh_table_clear(tbl) -> None:
    for n in list(tbl.hash.values()):
        neigh_remove_one(n)
    _timers(tbl).del_timer(tbl.gc_work)

