"""net/ipv4/route.c, include/net/route.h, include/net/flow.h: from a FIB result to the route
an skb carries — RFC 1812 §5.2 (forwarding, martians), RFC 1191 (path MTU), RFC 1122 §3.3.1.

ip_route_input_noref decides what happens to a received packet: local delivery
(ip_local_deliver: our addresses, the limited and subnet broadcasts), forwarding
(ip_forward, only when the input device's conf.forwarding is on) or ip_error (ICMP
unreachable, rate limited per source, counted as Linux counts it). ip_route_output_key
routes a locally generated packet: it fills the flow's source address and returns an
Rtable whose dev is the egress device (lo for our own addresses) and whose output is
ip_output, or -errno (-ENETUNREACH without a route, a reject route's error).

Routes are cached as the kernel caches them: one per FIB next hop (input and output),
or per destination in a next-hop exception (FibNhException) once a PMTU or redirect was
learned for it. All are created DST_OBSOLETE_FORCE_CHK and carry the namespace's
generation: rt_cache_flush (any route/address/device change) bumps it, a new exception
marks the next hop's cached routes KILL, so dst_check() tells a socket to look up again.
"""
import struct

from ...core.dropreason import SkbDropReason
from ...core.dst import (DST_OBSOLETE_FORCE_CHK, DST_OBSOLETE_KILL, RTAX_LOCK, RTAX_MTU,
                         DstEntry, DstOps, dst_dev_put, dst_discard, dst_discard_out, dst_set_expires)
from ...core.errno import EACCES, EHOSTUNREACH, EINVAL, ENETUNREACH, ENODEV
from ...core.netdevice import IFF_LOOPBACK, IFF_UP
from ...core.rtnetlink import (RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN,
                               RTM_F_FIB_MATCH, RTM_F_LOOKUP_TABLE, RTN_BROADCAST, RTN_LOCAL,
                               RTN_MULTICAST, RTN_NAMES, RTN_UNICAST, RTN_UNREACHABLE,
                               rt_table_name)
from ...core.skbuff import kfree_skb, skb_dst_set
from .arp import __ipv4_confirm_neigh, ip_neigh_gw4
from .devinet import (IN_DEV_BFORWARD, IN_DEV_FORWARD, IN_DEV_LOG_MARTIANS, IN_DEV_NET_ROUTE_LOCALNET,
                      IN_DEV_PROXY_ARP_PVLAN, IN_DEV_ROUTE_LOCALNET, IN_DEV_RX_REDIRECTS,
                      IN_DEV_SEC_REDIRECTS, IN_DEV_SHARED_MEDIA, IN_DEV_TX_REDIRECTS, __ip_dev_find,
                      devinet_init, devinet_init_net, inet_addr_onlink, inet_select_addr)
from .fib_frontend import (LOOPBACK_IFINDEX, _ntoa, fib_lookup, fib_validate_source,
                           inet_addr_type, ipv4_is_lbcast, ipv4_is_local_multicast,
                           ipv4_is_loopback, ipv4_is_multicast, ipv4_is_zeronet)
from .fib_semantics import (FIB_RES_DEV, FIB_RES_GW, FIB_RES_NH, FIB_RES_OIF, FNHE_HASH_SIZE,
                            FibNhException, FibResult, fib_select_path)
from .inetpeer import inet_getpeer_v4, jiffies

try:   # net.ipv4 (NetnsIpv4) must exist before routing's pernet init runs.
    from . import sysctl_net_ipv4 as _sysctl_net_ipv4  # noqa: F401
except ImportError:  # pragma: no cover - during bring-up of the tree
    _sysctl_net_ipv4 = None

# include/uapi/linux/in_route.h: rt_flags
RTCF_DEAD = 1
RTCF_ONLINK = 4
RTCF_NOTIFY = 0x00010000
RTCF_DIRECTDST = 0x00020000
RTCF_REDIRECTED = 0x00040000
RTCF_TPROXY = 0x00080000
RTCF_FAST = 0x00200000
RTCF_MASQ = 0x00400000
RTCF_SNAT = 0x00800000
RTCF_DOREDIRECT = 0x01000000
RTCF_DIRECTSRC = 0x04000000
RTCF_DNAT = 0x08000000
RTCF_BROADCAST = 0x10000000
RTCF_MULTICAST = 0x20000000
RTCF_REJECT = 0x40000000
RTCF_LOCAL = 0x80000000
RTCF_NAT = RTCF_DNAT | RTCF_SNAT
_RTCF_CACHE_NAMES = [(RTCF_LOCAL, "local"), (RTCF_REJECT, "reject"), (RTCF_MULTICAST, "mc"),
                     (RTCF_BROADCAST, "brd"), (RTCF_DNAT, "dst-nat"), (RTCF_SNAT, "src-nat"),
                     (RTCF_MASQ, "masq"), (RTCF_DIRECTDST, "dst-direct"),
                     (RTCF_DIRECTSRC, "src-direct"), (RTCF_REDIRECTED, "redirected"),
                     (RTCF_DOREDIRECT, "redirect"), (RTCF_FAST, "fastroute"),
                     (RTCF_NOTIFY, "notify"), (RTCF_TPROXY, "proxy")]

IPTOS_TOS_MASK = 0x1E
IPTOS_RT_MASK = IPTOS_TOS_MASK & ~3
RTO_ONLINK = 0x01
FLOWI_FLAG_ANYSRC = 0x01
FLOWI_FLAG_KNOWN_NH = 0x02
FLOWI_FLAG_SKIP_NH_OIF = 0x04
IP_MAX_MTU = 0xFFFF
IPV4_MAX_PMTU = 65535
IPV4_MIN_MTU = 68
ETH_P_IP = 0x0800
IPPROTO_ICMP = 1
IPPROTO_IGMP = 2
IPPROTO_RAW = 255
INADDR_LOOPBACK = 0x7F000001
ICMP_DEST_UNREACH = 3
ICMP_REDIRECT = 5
ICMP_NET_UNREACH = 0
ICMP_HOST_UNREACH = 1
ICMP_PKT_FILTERED = 13
ICMP_REDIR_NET = 0
ICMP_REDIR_HOST = 1
ICMP_REDIR_NETTOS = 2
ICMP_REDIR_HOSTTOS = 3

HZ = 1000                               # inetpeer counts jiffies of 1 ms
ip_rt_redirect_number = 9
ip_rt_redirect_load = HZ // 50
ip_rt_redirect_silence = (HZ // 50) << (9 + 1)
ip_rt_error_cost = HZ
ip_rt_error_burst = 5 * HZ
ip_rt_gc_timeout = 300.0                # seconds: redirect exceptions live this long

_IPH = struct.Struct("!BBHHHBBHII")


class Flowi4:
    """struct flowi4: what a route lookup is keyed on. ``saddr`` 0 means "pick one"
    (ip_route_output_key fills it); ``oif`` 0 means any device."""

    __slots__ = ("daddr", "saddr", "tos", "proto", "oif", "iif", "scope", "mark", "flags",
                 "fl4_sport", "fl4_dport", "uid")

    def __init__(self, daddr: int = 0, saddr: int = 0, tos: int = 0, proto: int = 0, oif: int = 0,
                 fl4_sport: int = 0, fl4_dport: int = 0, mark: int = 0, flags: int = 0):
        self.daddr = daddr
        self.saddr = saddr
        self.tos = tos
        self.proto = proto
        self.oif = oif
        self.iif = 0
        self.scope = RT_SCOPE_UNIVERSE
        self.mark = mark
        self.flags = flags
        self.fl4_sport = fl4_sport
        self.fl4_dport = fl4_dport
        self.uid = 0

    # the kernel's flowi4_* names
    flowi4_oif = property(lambda s: s.oif, lambda s, v: setattr(s, "oif", v))
    flowi4_iif = property(lambda s: s.iif, lambda s, v: setattr(s, "iif", v))
    flowi4_tos = property(lambda s: s.tos, lambda s, v: setattr(s, "tos", v))
    flowi4_scope = property(lambda s: s.scope, lambda s, v: setattr(s, "scope", v))
    flowi4_proto = property(lambda s: s.proto, lambda s, v: setattr(s, "proto", v))
    flowi4_mark = property(lambda s: s.mark, lambda s, v: setattr(s, "mark", v))
    flowi4_flags = property(lambda s: s.flags, lambda s, v: setattr(s, "flags", v))

    def __repr__(self):
        return (f"<flowi4 {_ntoa(self.saddr)}:{self.fl4_sport} -> {_ntoa(self.daddr)}:{self.fl4_dport}"
                f" proto {self.proto} oif {self.oif} tos {self.tos:#x}>")


def flowi4_init_output(fl4, oif, mark, tos, scope, proto, flags, daddr, saddr, dport, sport, uid=0):
    fl4.oif = oif
    fl4.iif = LOOPBACK_IFINDEX
    fl4.mark = mark
    fl4.tos = tos
    fl4.scope = scope
    fl4.proto = proto
    fl4.flags = flags
    fl4.daddr = daddr
    fl4.saddr = saddr
    fl4.fl4_dport = dport
    fl4.fl4_sport = sport
    fl4.uid = uid


class Rtable(DstEntry):
    """struct rtable: an IPv4 route (it is its own dst: rt.dst is rt)."""

    __slots__ = ("rt_genid", "rt_flags", "rt_type", "rt_is_input", "rt_uses_gateway", "rt_iif",
                 "rt_gw_family", "rt_gw4", "rt_mtu_locked", "rt_pmtu", "prefsrc", "rt_fn")

    def __init__(self, dev, flags: int, type_: int, fn):
        DstEntry.__init__(self, ipv4_dst_ops, dev, DST_OBSOLETE_FORCE_CHK, 0)
        self.rt_fn = fn
        self.rt_genid = fn.rt_genid
        self.rt_flags = flags
        self.rt_type = type_
        self.rt_is_input = 0
        self.rt_iif = 0
        self.rt_pmtu = 0
        self.rt_mtu_locked = 0
        self.rt_gw_family = 0
        self.rt_gw4 = 0
        self.rt_uses_gateway = 0
        self.prefsrc = 0

    @property
    def rt_gateway(self) -> int:
        return self.rt_gw4

    def __repr__(self):
        return (f"<rtable {RTN_NAMES.get(self.rt_type, self.rt_type)} dev "
                f"{getattr(self.dev, 'name', None)} gw {_ntoa(self.rt_gw4)} flags {self.rt_flags:#x}"
                f"{' input' if self.rt_is_input else ''}>")


def _fn(net):
    return net.gen["fib"]


def rt_nexthop(rt, daddr: int) -> int:
    """The address to resolve on the link: the gateway, else the destination itself."""
    return rt.rt_gw4 or daddr


def rt_is_input_route(rt) -> bool:
    return rt.rt_is_input != 0


def rt_is_output_route(rt) -> bool:
    return rt.rt_is_input == 0


def skb_rtable(skb):
    return skb._dst


def ip_rt_put(rt) -> None:
    """References are Python's; kept for the kernel's call shape."""


def rt_cache_flush(net) -> None:
    """Invalidate every cached route of net (rt_genid_bump_ipv4)."""
    _fn(net).rt_genid += 1


def fnhe_genid_bump(net) -> None:
    _fn(net).fnhe_genid += 1


def rt_is_expired(rt) -> bool:
    return rt.rt_genid != rt.rt_fn.rt_genid


def rt_cache_valid(rt) -> bool:
    return rt is not None and rt.obsolete == DST_OBSOLETE_FORCE_CHK and rt.rt_genid == rt.rt_fn.rt_genid


# --- the functions routes point to (owned by ip_input/ip_forward/ip_output) ----------------
_resolved = {}


def _resolve(module: str, name: str):
    f = _resolved.get(name)
    if f is None:
        import importlib
        try:
            f = getattr(importlib.import_module(f"kstack.net.ipv4.{module}"), name)
        except (ImportError, AttributeError):
            return None
        _resolved[name] = f
    return f


def _ip_output():
    return _resolve("ip_output", "ip_output") or dst_discard_out


def _ip_local_deliver():
    return _resolve("ip_input", "ip_local_deliver") or dst_discard


def _ip_forward():
    return _resolve("ip_forward", "ip_forward") or dst_discard


def _ip_mc_output():
    return _resolve("ip_output", "ip_mc_output") or _ip_output()


def _icmp_send():
    return _resolve("icmp", "icmp_send")


def ip_rt_bug(net, sk, skb) -> int:
    """An input route was used for output: a bug upstream."""
    if net is not None:
        net.bug(RuntimeError("ip_rt_bug: output through an input route"), "ip_rt_bug")
    kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
    return 0


def rt_dst_alloc(dev, flags: int, type_: int, nopolicy: bool = False, noxfrm: bool = False,
                 will_cache: bool = False):
    rt = Rtable(dev, flags, type_, _fn(dev.nd_net))
    rt.output = _ip_output()
    if flags & RTCF_LOCAL:
        rt.input = _ip_local_deliver()
    return rt


# --- MTU ---------------------------------------------------------------------------------
def dst_metric_locked(dst, metric: int) -> bool:
    return bool(dst.metrics.get(RTAX_LOCK, 0) & (1 << metric))


def ip_mtu_locked(dst) -> bool:
    return bool(dst.rt_mtu_locked) or dst_metric_locked(dst, RTAX_MTU)


def ipv4_mtu(dst) -> int:
    """Learned PMTU while valid, else the route's mtu metric, else the device MTU."""
    mtu = dst.rt_pmtu
    if not mtu or dst.dev.nd_net.clock.now() >= dst.expires:
        mtu = dst.metrics.get(RTAX_MTU, 0)
    if mtu:
        return mtu
    mtu = dst.dev.mtu
    if dst.rt_uses_gateway and mtu > 576 and ip_mtu_locked(dst):
        mtu = 576
    return mtu if mtu < IP_MAX_MTU else IP_MAX_MTU


def ip_dst_mtu_maybe_forward(dst, forwarding: bool) -> int:
    """include/net/ip.h: a forwarded packet ignores learned PMTU unless ip_forward_use_pmtu."""
    net = dst.dev.nd_net
    if getattr(net.ipv4, "sysctl_ip_fwd_use_pmtu", 0) or ip_mtu_locked(dst) or not forwarding:
        mtu = dst.rt_pmtu
        if mtu and net.clock.now() < dst.expires:
            return min(mtu, IP_MAX_MTU)
    mtu = dst.metrics.get(RTAX_MTU, 0)
    if not mtu:
        mtu = dst.dev.mtu
        if ip_mtu_locked(dst) and dst.rt_uses_gateway and mtu > 576:
            mtu = 576
    return min(mtu, IP_MAX_MTU)


def _min_advmss(net) -> int:
    return getattr(net.ipv4, "ip_rt_min_advmss", 256) if net.ipv4 is not None else 256


def ipv4_default_advmss(dst) -> int:
    header_size = 20 + 20
    advmss = max(ipv4_mtu(dst) - header_size, _min_advmss(dst.dev.nd_net))
    return min(advmss, IPV4_MAX_PMTU - header_size)


def ipv4_dst_check(dst, cookie: int = 0):
    if dst.obsolete != DST_OBSOLETE_FORCE_CHK or rt_is_expired(dst):
        return None
    return dst


def ipv4_negative_advice(dst):
    if dst.obsolete > 0:
        return None
    if dst.rt_flags & RTCF_REDIRECTED or dst.expires:
        return None
    return dst


def ipv4_link_failure(skb) -> None:
    """The next hop did not answer ARP: tell the sender (ICMP host unreachable)."""
    icmp_send = _icmp_send()
    if icmp_send is not None:
        icmp_send(skb, ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0)
    rt = skb._dst
    if rt is not None:
        dst_set_expires(rt, 0)


def ipv4_neigh_lookup(dst, skb, daddr):
    pkey = dst.rt_gw4 or daddr
    if not dst.rt_gw4 and skb is not None:
        pkey = _iph_daddr(skb)
    return ip_neigh_gw4(dst.dev, pkey)


def ipv4_confirm_neigh(dst, daddr) -> None:
    if dst.rt_gw4:
        pkey = dst.rt_gw4
    elif not daddr or dst.rt_flags & (RTCF_MULTICAST | RTCF_BROADCAST | RTCF_LOCAL):
        return
    else:
        pkey = daddr
    __ipv4_confirm_neigh(dst.dev, pkey)


def ip_neigh_for_gw(rt, skb):
    """The neighbour an output packet goes to (its route's gateway or its daddr)."""
    return ip_neigh_gw4(rt.dev, rt.rt_gw4 or _iph_daddr(skb))


def _iph_daddr(skb) -> int:
    nh = skb.network_header if skb.network_header >= 0 else skb.data
    return int.from_bytes(skb.head[nh + 16:nh + 20], "big")


# --- next-hop exceptions (PMTU, redirects) ----------------------------------------------------
def fill_route_from_fnhe(rt, fnhe) -> None:
    rt.rt_pmtu = fnhe.fnhe_pmtu
    rt.rt_mtu_locked = fnhe.fnhe_mtu_locked
    rt.expires = fnhe.fnhe_expires
    if fnhe.fnhe_gw:
        rt.rt_flags |= RTCF_REDIRECTED
        rt.rt_gw4 = fnhe.fnhe_gw
        rt.rt_uses_gateway = 1


def fnhe_flush_routes(fnhe) -> None:
    for attr in ("fnhe_rth_input", "fnhe_rth_output"):
        rt = getattr(fnhe, attr)
        if rt is not None:
            setattr(fnhe, attr, None)
            dst_dev_put(rt)


def update_or_create_fnhe(nh, daddr: int, gw: int, pmtu: int, lock: bool, expires: float) -> None:
    net = nh.nh_parent.fib_net
    fn = _fn(net)
    now = net.clock.now()
    genid = fn.fnhe_genid
    if nh.nh_exceptions is None:
        nh.nh_exceptions = {}
    table = nh.nh_exceptions
    fnhe = table.get(daddr)
    if fnhe is not None:
        if fnhe.fnhe_genid != genid:
            fnhe.fnhe_genid = genid
        if gw:
            fnhe.fnhe_gw = gw
        if pmtu:
            fnhe.fnhe_pmtu = pmtu
            fnhe.fnhe_mtu_locked = lock
        fnhe.fnhe_expires = max(expires, 1e-9)
        for rt in (fnhe.fnhe_rth_input, fnhe.fnhe_rth_output):
            if rt is not None:
                fill_route_from_fnhe(rt, fnhe)
    else:
        if len(table) >= FNHE_HASH_SIZE:
            oldest = min(table.values(), key=lambda f: f.fnhe_stamp)
            fnhe_flush_routes(oldest)
            del table[oldest.fnhe_daddr]
        fnhe = FibNhException(daddr)
        fnhe.fnhe_genid = genid
        fnhe.fnhe_gw = gw
        fnhe.fnhe_pmtu = pmtu
        fnhe.fnhe_mtu_locked = lock
        fnhe.fnhe_expires = max(expires, 1e-9)
        table[daddr] = fnhe
        # The next hop's cached routes may not apply to this destination any more.
        for rt in (nh.nh_rth_input, nh.nh_rth_output):
            if rt is not None:
                rt.obsolete = DST_OBSOLETE_KILL
    fnhe.fnhe_stamp = now


def ip_del_fnhe(nh, daddr: int) -> None:
    table = nh.nh_exceptions
    if not table:
        return
    fnhe = table.pop(daddr, None)
    if fnhe is not None:
        fnhe.fnhe_daddr = 0
        fnhe_flush_routes(fnhe)


def find_exception(nh, daddr: int):
    table = nh.nh_exceptions
    if not table:
        return None
    fnhe = table.get(daddr)
    if fnhe is None:
        return None
    if fnhe.fnhe_expires and nh.nh_parent.fib_net.clock.now() > fnhe.fnhe_expires:
        ip_del_fnhe(nh, daddr)
        return None
    return fnhe


def ip_mtu_from_fib_result(res, daddr: int) -> int:
    fi = res.fi
    nh = fi.fib_nh[res.nh_sel]
    dev = nh.fib_nh_dev
    net = dev.nd_net
    mtu = 0
    if getattr(net.ipv4, "sysctl_ip_fwd_use_pmtu", 0) or fi.fib_metrics.get(RTAX_LOCK, 0) & (1 << RTAX_MTU):
        mtu = fi.fib_metrics.get(RTAX_MTU, 0)
    if not mtu:
        fnhe = find_exception(nh, daddr)
        if fnhe is not None and net.clock.now() < fnhe.fnhe_expires:
            mtu = fnhe.fnhe_pmtu
    if not mtu:
        mtu = min(dev.mtu, IP_MAX_MTU)
    return mtu


def rt_bind_exception(rt, fnhe, daddr: int, do_cache: bool) -> bool:
    ret = False
    if daddr == fnhe.fnhe_daddr:
        fn = rt.rt_fn
        attr = "fnhe_rth_input" if rt.rt_is_input else "fnhe_rth_output"
        orig = getattr(fnhe, attr)
        if fnhe.fnhe_genid != fn.fnhe_genid:
            fnhe.fnhe_genid = fn.fnhe_genid
            fnhe.fnhe_gw = 0
            fnhe.fnhe_pmtu = 0
            fnhe.fnhe_expires = 0.0
            fnhe.fnhe_mtu_locked = False
            fnhe_flush_routes(fnhe)
            orig = None
        fill_route_from_fnhe(rt, fnhe)
        if not rt.rt_gw4:
            rt.rt_gw4 = daddr
        if do_cache:
            setattr(fnhe, attr, rt)
            if orig is not None and orig is not rt:
                dst_dev_put(orig)
            ret = True
        fnhe.fnhe_stamp = rt.dev.nd_net.clock.now()
    return ret


def rt_cache_route(nh, rt) -> bool:
    attr = "nh_rth_input" if rt.rt_is_input else "nh_rth_output"
    orig = getattr(nh, attr)
    setattr(nh, attr, rt)
    if orig is not None and orig is not rt:
        dst_dev_put(orig)
    return True


def rt_add_uncached_list(rt) -> None:
    rt.rt_fn.rt_uncached.add(rt)


def rt_flush_dev(dev) -> None:
    """The device is going away: routes not cached in the FIB stop using it."""
    for rt in list(_fn(dev.nd_net).rt_uncached):
        if rt.dev is dev:
            dst_dev_put(rt)
            rt.dev = dev.nd_net.loopback_dev or dev


def rt_set_nexthop(rt, daddr: int, res, fnhe, fi, type_: int, itag: int, do_cache: bool) -> None:
    cached = False
    if fi is not None:
        nh = FIB_RES_NH(res)
        if nh.fib_nh_gw4 and nh.fib_nh_scope == RT_SCOPE_LINK:
            rt.rt_gw4 = nh.fib_nh_gw4
            rt.rt_gw_family = 2
            rt.rt_uses_gateway = 1
        rt.metrics = fi.fib_metrics
        rt.prefsrc = fi.fib_prefsrc
        if fnhe is not None:
            cached = rt_bind_exception(rt, fnhe, daddr, do_cache)
        elif do_cache:
            cached = rt_cache_route(nh, rt)
        if not cached:
            if not rt.rt_gw4:
                rt.rt_gw4 = daddr
            rt_add_uncached_list(rt)
    else:
        rt_add_uncached_list(rt)


# --- input ------------------------------------------------------------------------------
def ip_check_mc_rcu(in_dev, mc_addr: int, src_addr: int, proto: int) -> bool:
    """Are we a member of this group on in_dev? (all-hosts always; IGMP joins in mc_list)."""
    if mc_addr == 0xE0000001:
        return True
    if proto == IPPROTO_IGMP:
        return True
    return mc_addr in in_dev.mc_list


def ip_mc_validate_source(skb, daddr: int, saddr: int, tos: int, dev, in_dev) -> int:
    if in_dev is None:
        return -EINVAL
    if ipv4_is_multicast(saddr) or ipv4_is_lbcast(saddr) or skb.protocol != ETH_P_IP:
        return -EINVAL
    if ipv4_is_loopback(saddr) and not IN_DEV_ROUTE_LOCALNET(in_dev):
        return -EINVAL
    if ipv4_is_zeronet(saddr):
        if not ipv4_is_local_multicast(daddr) and _iph_protocol(skb) != IPPROTO_IGMP:
            return -EINVAL
    else:
        err = fib_validate_source(skb, saddr, 0, tos, 0, dev, in_dev)
        if err < 0:
            return err
    return 0


def _iph_protocol(skb) -> int:
    nh = skb.network_header if skb.network_header >= 0 else skb.data
    return skb.head[nh + 9] if nh + 10 <= len(skb.head) else 0


def ip_route_input_mc(skb, daddr: int, saddr: int, tos: int, dev, our: bool) -> int:
    in_dev = dev.ip_ptr
    err = ip_mc_validate_source(skb, daddr, saddr, tos, dev, in_dev)
    if err:
        return err
    flags = RTCF_MULTICAST | (RTCF_LOCAL if our else 0)
    net = dev.nd_net
    rth = rt_dst_alloc(net.loopback_dev, flags, RTN_MULTICAST)
    rth.output = ip_rt_bug
    rth.rt_is_input = 1
    _fn(net).rt_cache_stat["in_slow_mc"] += 1
    skb_dst_set(skb, rth)
    return 0


def ip_handle_martian_source(dev, in_dev, skb, daddr: int, saddr: int) -> None:
    net = dev.nd_net
    _fn(net).rt_cache_stat["in_martian_src"] += 1
    if IN_DEV_LOG_MARTIANS(in_dev) and net.tracing:
        net.trace("martian_source", skb, daddr, saddr)


def __mkroute_input(skb, res, in_dev, daddr: int, saddr: int, tos: int) -> int:
    nh = FIB_RES_NH(res)
    dev = nh.fib_nh_dev                                     # FIB_RES_DEV
    out_dev = dev.ip_ptr if dev is not None else None
    if out_dev is None:
        return -EINVAL
    err = fib_validate_source(skb, saddr, daddr, tos, nh.fib_nh_oif, in_dev.dev, in_dev)
    if err < 0:
        ip_handle_martian_source(in_dev.dev, in_dev, skb, daddr, saddr)
        return err
    do_cache = res.fi is not None
    doredirect = (out_dev is in_dev and err > 0 and IN_DEV_TX_REDIRECTS(out_dev)
                  and skb.protocol == ETH_P_IP
                  and (IN_DEV_SHARED_MEDIA(out_dev) or inet_addr_onlink(out_dev, saddr, FIB_RES_GW(res))))
    if skb.protocol != ETH_P_IP:
        # Not IP (ARP): no route back out of the same interface unless proxy_arp_pvlan.
        if out_dev is in_dev and not IN_DEV_PROXY_ARP_PVLAN(in_dev):
            return -EINVAL
    fnhe = find_exception(nh, daddr)
    if doredirect:
        # The mark is per packet: IPCB(skb)->flags |= IPSKB_DOREDIRECT (ip_forward reads it).
        ipcb = _resolve("ip_input", "IPCB")
        if ipcb is not None:
            ipcb(skb).flags |= _resolve("ip_input", "IPSKB_DOREDIRECT")
            doredirect = False
        else:
            do_cache = False    # no IPCB: an uncached route carries RTCF_DOREDIRECT instead
    if do_cache:
        rth = fnhe.fnhe_rth_input if fnhe is not None else nh.nh_rth_input
        if rt_cache_valid(rth):
            skb._dst = rth
            return 0
    rth = rt_dst_alloc(out_dev.dev, 0, res.type, will_cache=do_cache)
    rth.rt_is_input = 1
    _fn(in_dev.net).rt_cache_stat["in_slow_tot"] += 1
    rth.input = _ip_forward()
    if doredirect:
        rth.rt_flags |= RTCF_DOREDIRECT
    rt_set_nexthop(rth, daddr, res, fnhe, res.fi, res.type, 0, do_cache)
    skb._dst = rth
    return 0


def ip_route_input_slow(skb, daddr: int, saddr: int, tos: int, dev, res) -> int:
    in_dev = dev.ip_ptr
    net = dev.nd_net
    fn = net.gen["fib"]
    err = -EINVAL
    flags = 0
    if in_dev is None:
        return err
    skb._dst = None
    if ipv4_is_multicast(saddr) or saddr == 0xFFFFFFFF:
        ip_handle_martian_source(dev, in_dev, skb, daddr, saddr)
        return err
    res.fi = None
    res.table = None
    brd = False
    if daddr == 0xFFFFFFFF or (saddr == 0 and daddr == 0):
        brd = True
    else:
        if ipv4_is_zeronet(saddr):
            ip_handle_martian_source(dev, in_dev, skb, daddr, saddr)
            return err
        if ipv4_is_zeronet(daddr):
            fn.rt_cache_stat["in_martian_dst"] += 1
            return -EINVAL
        if ipv4_is_loopback(daddr):
            if not IN_DEV_NET_ROUTE_LOCALNET(in_dev, net):
                fn.rt_cache_stat["in_martian_dst"] += 1
                return -EINVAL
        elif ipv4_is_loopback(saddr):
            if not IN_DEV_NET_ROUTE_LOCALNET(in_dev, net):
                ip_handle_martian_source(dev, in_dev, skb, daddr, saddr)
                return -EINVAL
        fl4 = Flowi4(daddr, saddr, tos, 0, 0, 0, 0, skb.mark)
        fl4.iif = dev.ifindex
        err = fib_lookup(net, fl4, res, 0)
        if err:
            if not IN_DEV_FORWARD(in_dev):
                err = -EHOSTUNREACH
            return _no_route(skb, res, err, dev, in_dev, net)
        if res.type == RTN_BROADCAST:
            if IN_DEV_BFORWARD(in_dev):
                return __mkroute_input(skb, res, in_dev, daddr, saddr, tos)
            brd = True
        elif res.type == RTN_LOCAL:
            err = fib_validate_source(skb, saddr, daddr, tos, 0, dev, in_dev)
            if err < 0:
                ip_handle_martian_source(dev, in_dev, skb, daddr, saddr)
                return err
            return _local_input(skb, res, 0, 0, dev, in_dev, net)
        else:
            if not IN_DEV_FORWARD(in_dev):
                return _no_route(skb, res, -EHOSTUNREACH, dev, in_dev, net)
            if res.type != RTN_UNICAST:
                fn.rt_cache_stat["in_martian_dst"] += 1
                return -EINVAL
            return __mkroute_input(skb, res, in_dev, daddr, saddr, tos)
    # brd_input
    if skb.protocol != ETH_P_IP:
        return -EINVAL
    if not ipv4_is_zeronet(saddr):
        err = fib_validate_source(skb, saddr, 0, tos, 0, dev, in_dev)
        if err < 0:
            ip_handle_martian_source(dev, in_dev, skb, daddr, saddr)
            return err
    flags |= RTCF_BROADCAST
    res.type = RTN_BROADCAST
    fn.rt_cache_stat["in_brd"] += 1
    return _local_input(skb, res, flags, 0, dev, in_dev, net)


def _no_route(skb, res, err: int, dev, in_dev, net) -> int:
    _fn(net).rt_cache_stat["in_no_route"] += 1
    res.type = RTN_UNREACHABLE
    res.fi = None
    res.table = None
    return _local_input(skb, res, 0, err, dev, in_dev, net)


def _local_input(skb, res, flags: int, err: int, dev, in_dev, net) -> int:
    do_cache = False
    nh = None
    if res.fi is not None:
        nh = FIB_RES_NH(res)
        rth = nh.nh_rth_input
        if rt_cache_valid(rth):
            skb._dst = rth
            return 0
        do_cache = True
    rth = rt_dst_alloc(net.loopback_dev, flags | RTCF_LOCAL, res.type, will_cache=do_cache)
    rth.output = ip_rt_bug
    rth.rt_is_input = 1
    _fn(net).rt_cache_stat["in_slow_tot"] += 1
    if res.type == RTN_UNREACHABLE:
        rth.input = ip_error
        rth.error = -err
        rth.rt_flags &= ~RTCF_LOCAL
    if do_cache:
        rt_cache_route(nh, rth)
    else:
        rt_add_uncached_list(rth)
    skb._dst = rth
    return 0


def ip_route_input_rcu(skb, daddr: int, saddr: int, tos: int, dev, res) -> int:
    if (daddr & 0xF0000000) == 0xE0000000:
        in_dev = dev.ip_ptr
        if in_dev is None:
            return -EINVAL
        our = ip_check_mc_rcu(in_dev, daddr, saddr, _iph_protocol(skb))
        if our:
            return ip_route_input_mc(skb, daddr, saddr, tos, dev, our)
        return -EINVAL
    return ip_route_input_slow(skb, daddr, saddr, tos, dev, res)


def ip_route_input_noref(skb, daddr: int, saddr: int, tos: int, dev) -> int:
    """Attach the input route for a received packet (skb._dst): 0 or -errno (martian)."""
    return ip_route_input_rcu(skb, daddr, saddr, tos & IPTOS_RT_MASK, dev, FibResult())


ip_route_input = ip_route_input_noref


def ip_error(skb) -> int:
    """dst.input of unroutable packets: count, maybe ICMP unreachable, drop."""
    rt = skb._dst
    dev = skb.dev
    in_dev = dev.ip_ptr if dev is not None else None
    reason = SkbDropReason.NOT_SPECIFIED
    if in_dev is None:
        kfree_skb(skb, reason)
        return 0
    net = rt.dev.nd_net
    error = rt.error
    if not IN_DEV_FORWARD(in_dev):
        if error == EHOSTUNREACH:
            net.mib.Ip["InAddrErrors"] += 1
            reason = SkbDropReason.IP_INADDRERRORS
        elif error == ENETUNREACH:
            net.mib.IpExt["InNoRoutes"] += 1
            reason = SkbDropReason.IP_INNOROUTES
        kfree_skb(skb, reason)
        return 0
    if error == EHOSTUNREACH:
        code = ICMP_HOST_UNREACH
    elif error == ENETUNREACH:
        code = ICMP_NET_UNREACH
        net.mib.IpExt["InNoRoutes"] += 1
        reason = SkbDropReason.IP_INNOROUTES
    elif error == EACCES:
        code = ICMP_PKT_FILTERED
    else:
        kfree_skb(skb, reason)
        return 0
    send = True
    peers = getattr(net.ipv4, "peers", None) if net.ipv4 is not None else None
    if peers is not None:
        now = jiffies(net)
        nh = skb.network_header if skb.network_header >= 0 else skb.data
        saddr = int.from_bytes(skb.head[nh + 12:nh + 16], "big")
        peer = inet_getpeer_v4(peers, saddr, 0, now)
        peer.rate_tokens += now - peer.rate_last
        if peer.rate_tokens > ip_rt_error_burst:
            peer.rate_tokens = ip_rt_error_burst
        peer.rate_last = now
        if peer.rate_tokens >= ip_rt_error_cost:
            peer.rate_tokens -= ip_rt_error_cost
        else:
            send = False
    if send:
        icmp_send = _icmp_send()
        if icmp_send is not None:
            icmp_send(skb, ICMP_DEST_UNREACH, code, 0)
    kfree_skb(skb, reason)
    return 0


# --- output ------------------------------------------------------------------------------
def __mkroute_output(res, fl4, orig_oif: int, dev_out, flags: int):
    fi = res.fi
    type_ = res.type
    in_dev = dev_out.ip_ptr
    if in_dev is None:
        return -EINVAL
    if not IN_DEV_ROUTE_LOCALNET(in_dev) and ipv4_is_loopback(fl4.saddr) and \
            not dev_out.flags & IFF_LOOPBACK:
        return -EINVAL
    daddr = fl4.daddr
    if daddr == 0xFFFFFFFF:
        type_ = RTN_BROADCAST
    elif (daddr & 0xF0000000) == 0xE0000000:
        type_ = RTN_MULTICAST
    elif (daddr & 0xFF000000) == 0:
        return -EINVAL
    if dev_out.flags & IFF_LOOPBACK:
        flags |= RTCF_LOCAL
    do_cache = True
    if type_ == RTN_BROADCAST:
        flags |= RTCF_BROADCAST | RTCF_LOCAL
        fi = None
    elif type_ == RTN_MULTICAST:
        flags |= RTCF_MULTICAST | RTCF_LOCAL
        if not ip_check_mc_rcu(in_dev, daddr, fl4.saddr, fl4.proto):
            flags &= ~RTCF_LOCAL
        else:
            do_cache = False
        if fi is not None and res.prefixlen < 4:
            fi = None
    elif type_ == RTN_LOCAL and orig_oif and orig_oif != dev_out.ifindex:
        do_cache = False
    fnhe = None
    do_cache = do_cache and fi is not None
    if fi is not None:
        nh = FIB_RES_NH(res)
        fnhe = find_exception(nh, daddr)
        if do_cache:
            if fnhe is not None:
                rth = fnhe.fnhe_rth_output
            elif fl4.flags & FLOWI_FLAG_KNOWN_NH and not (nh.fib_nh_gw4 and nh.fib_nh_scope == RT_SCOPE_LINK):
                do_cache = False
                rth = None
            else:
                rth = nh.nh_rth_output
            if do_cache and rt_cache_valid(rth):
                return rth
    rth = rt_dst_alloc(dev_out, flags, type_, will_cache=do_cache)
    rth.rt_iif = orig_oif
    _fn(dev_out.nd_net).rt_cache_stat["out_slow_tot"] += 1
    if flags & (RTCF_BROADCAST | RTCF_MULTICAST):
        if flags & RTCF_LOCAL and not dev_out.flags & IFF_LOOPBACK:
            rth.output = _ip_mc_output()
            _fn(dev_out.nd_net).rt_cache_stat["out_slow_mc"] += 1
    rt_set_nexthop(rth, daddr, res, fnhe, fi, type_, 0, do_cache)
    return rth


def ip_route_output_key_hash_rcu(net, fl4, res, skb=None):
    dev_out = None
    orig_oif = fl4.oif
    flags = 0
    saddr = fl4.saddr
    daddr = fl4.daddr
    if saddr:
        if (saddr & 0xF0000000) == 0xE0000000 or saddr == 0xFFFFFFFF or (saddr & 0xFF000000) == 0:
            return -EINVAL
        if fl4.oif == 0 and ((daddr & 0xF0000000) == 0xE0000000 or daddr == 0xFFFFFFFF):
            # The source picks the device for multicast/limited broadcast (vic/vat hack).
            dev_out = __ip_dev_find(net, saddr, False)
            if dev_out is None:
                return -ENETUNREACH
            fl4.oif = dev_out.ifindex
            return __mkroute_output(res, fl4, orig_oif, dev_out, flags)
        if not fl4.flags & FLOWI_FLAG_ANYSRC:
            if saddr not in _fn(net).inet_addr_lst and __ip_dev_find(net, saddr, False) is None:
                return -ENETUNREACH
    if fl4.oif:
        dev_out = net.dev_by_index.get(fl4.oif)
        if dev_out is None:
            return -ENODEV
        if not dev_out.flags & IFF_UP or dev_out.ip_ptr is None:
            return -ENETUNREACH
        if ipv4_is_local_multicast(daddr) or daddr == 0xFFFFFFFF or fl4.proto == IPPROTO_IGMP:
            if not fl4.saddr:
                fl4.saddr = inet_select_addr(dev_out, 0, RT_SCOPE_LINK)
            return __mkroute_output(res, fl4, orig_oif, dev_out, flags)
        if not fl4.saddr:
            if (daddr & 0xF0000000) == 0xE0000000:
                fl4.saddr = inet_select_addr(dev_out, 0, fl4.scope)
            elif not daddr:
                fl4.saddr = inet_select_addr(dev_out, 0, RT_SCOPE_HOST)
    if not fl4.daddr:
        fl4.daddr = fl4.saddr
        if not fl4.daddr:
            fl4.daddr = fl4.saddr = INADDR_LOOPBACK
        dev_out = net.loopback_dev
        fl4.oif = LOOPBACK_IFINDEX
        res.type = RTN_LOCAL
        flags |= RTCF_LOCAL
        return __mkroute_output(res, fl4, orig_oif, dev_out, flags)
    err = fib_lookup(net, fl4, res, 0)
    if err:
        res.fi = None
        res.table = None
        if fl4.oif:
            # Sending through a named device needs no route: assume the peer is on-link.
            if fl4.saddr == 0:
                fl4.saddr = inet_select_addr(dev_out, 0, RT_SCOPE_LINK)
            res.type = RTN_UNICAST
            return __mkroute_output(res, fl4, orig_oif, dev_out, flags)
        return err
    if res.type == RTN_LOCAL:
        if not fl4.saddr:
            fl4.saddr = res.fi.fib_prefsrc or fl4.daddr
        dev_out = net.loopback_dev
        orig_oif = FIB_RES_OIF(res)
        fl4.oif = dev_out.ifindex
        flags |= RTCF_LOCAL
        return __mkroute_output(res, fl4, orig_oif, dev_out, flags)
    fib_select_path(net, res, fl4, skb)
    dev_out = FIB_RES_DEV(res)
    fl4.oif = dev_out.ifindex
    return __mkroute_output(res, fl4, orig_oif, dev_out, flags)


def ip_route_output_key_hash(net, fl4, skb=None):
    tos = fl4.tos & (IPTOS_RT_MASK | RTO_ONLINK)
    fl4.iif = LOOPBACK_IFINDEX
    fl4.tos = tos & IPTOS_RT_MASK
    fl4.scope = RT_SCOPE_LINK if tos & RTO_ONLINK else RT_SCOPE_UNIVERSE
    return ip_route_output_key_hash_rcu(net, fl4, FibResult(), skb)


def __ip_route_output_key(net, fl4):
    return ip_route_output_key_hash(net, fl4, None)


def ip_route_output_flow(net, fl4, sk=None):
    """Route a locally generated flow: an Rtable (fl4.saddr filled in) or -errno."""
    return ip_route_output_key_hash(net, fl4, None)


def ip_route_output_key(net, fl4):
    return ip_route_output_flow(net, fl4, None)


def ip_route_output(net, daddr: int, saddr: int, tos: int, oif: int):
    return ip_route_output_key(net, Flowi4(daddr=daddr, saddr=saddr, tos=tos, oif=oif))


def ip_route_output_ports(net, fl4, sk, daddr, saddr, dport, sport, proto, tos, oif):
    flowi4_init_output(fl4, oif, getattr(sk, "sk_mark", 0) if sk is not None else 0, tos,
                       RT_SCOPE_UNIVERSE, proto, 0, daddr, saddr, dport, sport)
    return ip_route_output_flow(net, fl4, sk)


def ip_route_connect(net, fl4, dst: int, src: int, oif: int, protocol: int, sport: int,
                     dport: int, sk=None):
    """connect()'s route: pick the source first if unknown, then route the full flow."""
    tos = getattr(sk, "tos", 0) & IPTOS_RT_MASK if sk is not None else 0
    mark = getattr(sk, "sk_mark", 0) if sk is not None else 0
    flowi4_init_output(fl4, oif, mark, tos, RT_SCOPE_UNIVERSE, protocol, 0, dst, src, dport, sport)
    if not dst or not src:
        rt = __ip_route_output_key(net, fl4)
        if isinstance(rt, int):
            return rt
        fl4.oif = oif
        fl4.iif = LOOPBACK_IFINDEX
    return ip_route_output_flow(net, fl4, sk)


def ip_route_newports(net, fl4, rt, orig_sport: int, orig_dport: int, sport: int, dport: int, sk=None):
    if sport != orig_sport or dport != orig_dport:
        fl4.fl4_dport = dport
        fl4.fl4_sport = sport
        return ip_route_output_flow(net, fl4, sk)
    return rt


# --- PMTU and redirects -------------------------------------------------------------------
def _route_mtu_expires(net) -> float:
    return float(getattr(net.ipv4, "ip_rt_mtu_expires", 600)) if net.ipv4 is not None else 600.0


def _route_min_pmtu(net) -> int:
    return getattr(net.ipv4, "ip_rt_min_pmtu", 552) if net.ipv4 is not None else 552


def __ip_rt_update_pmtu(rt, fl4, mtu: int) -> None:
    """Learn a smaller PMTU for fl4.daddr (RFC 1191): an exception on its next hop."""
    net = rt.dev.nd_net
    old_mtu = ipv4_mtu(rt)
    lock = False
    if ip_mtu_locked(rt):
        return
    if old_mtu < mtu:
        return
    min_pmtu = _route_min_pmtu(net)
    expires_in = _route_mtu_expires(net)
    now = net.clock.now()
    if mtu < min_pmtu:
        lock = True
        mtu = min(old_mtu, min_pmtu)
    if rt.rt_pmtu == mtu and not lock and now < rt.expires - expires_in / 2:
        return
    res = FibResult()
    if fib_lookup(net, fl4, res, 0) == 0 and res.fi is not None:
        fib_select_path(net, res, fl4, None)
        update_or_create_fnhe(FIB_RES_NH(res), fl4.daddr, 0, mtu, lock, now + expires_in)


def _iph(skb):
    """(tos, protocol, saddr, daddr) of the IP header at skb.data."""
    off = skb.data
    if off + 20 > len(skb.head):
        return None
    _vihl, tos, _tl, _id, _frag, _ttl, proto, _c, saddr, daddr = _IPH.unpack_from(skb.head, off)
    return tos, proto, saddr, daddr


def __build_flow_key(net, fl4, sk, iph, oif: int, tos: int, prot: int, mark: int, flow_flags: int) -> None:
    if sk is not None:
        oif = getattr(sk, "sk_bound_dev_if", 0)
        mark = getattr(sk, "sk_mark", 0)
        tos = getattr(sk, "tos", 0) & IPTOS_RT_MASK
        prot = IPPROTO_RAW if getattr(sk, "hdrincl", 0) else getattr(sk, "sk_protocol", 0)
    flowi4_init_output(fl4, oif, mark, tos, RT_SCOPE_UNIVERSE, prot, flow_flags,
                       iph[3], iph[2], 0, 0)


def ip_rt_update_pmtu(dst, sk, skb, mtu: int) -> None:
    """dst_ops.update_pmtu."""
    fl4 = Flowi4()
    net = dst.dev.nd_net
    if skb is not None:
        iph = _iph(skb)
        if iph is None:
            return
        __build_flow_key(net, fl4, sk, iph, skb.dev.ifindex if skb.dev else 0,
                         iph[0] & IPTOS_RT_MASK, iph[1], skb.mark, 0)
    elif sk is not None:
        flowi4_init_output(fl4, getattr(sk, "sk_bound_dev_if", 0), getattr(sk, "sk_mark", 0),
                           getattr(sk, "tos", 0) & IPTOS_RT_MASK, RT_SCOPE_UNIVERSE,
                           getattr(sk, "sk_protocol", 0), 0, getattr(sk, "inet_daddr", 0),
                           getattr(sk, "inet_saddr", 0), 0, 0)
    else:
        return
    __ip_rt_update_pmtu(dst, fl4, mtu)


def ipv4_update_pmtu(skb, net, mtu: int, oif: int, protocol: int) -> None:
    """An ICMP frag-needed quoted the packet at skb.data: learn its PMTU."""
    iph = _iph(skb)
    if iph is None:
        return
    fl4 = Flowi4()
    __build_flow_key(net, fl4, None, iph, oif, iph[0] & IPTOS_RT_MASK, protocol, skb.mark, 0)
    rt = __ip_route_output_key(net, fl4)
    if not isinstance(rt, int):
        __ip_rt_update_pmtu(rt, fl4, mtu)


def __ipv4_sk_update_pmtu(skb, sk, mtu: int) -> None:
    net = sk.sk_net
    iph = _iph(skb)
    if iph is None:
        return
    fl4 = Flowi4()
    __build_flow_key(net, fl4, sk, iph, 0, 0, 0, 0, 0)
    rt = __ip_route_output_key(net, fl4)
    if not isinstance(rt, int):
        __ip_rt_update_pmtu(rt, fl4, mtu)


def ipv4_sk_update_pmtu(skb, sk, mtu: int) -> None:
    """As ipv4_update_pmtu, for a socket: its cached route (sk.sk_dst_cache) is refreshed."""
    from ...core.dst import dst_check
    net = sk.sk_net
    iph = _iph(skb)
    if iph is None:
        return
    odst = getattr(sk, "sk_dst_cache", None)
    if odst is None:
        __ipv4_sk_update_pmtu(skb, sk, mtu)
        return
    fl4 = Flowi4()
    __build_flow_key(net, fl4, sk, iph, 0, 0, 0, 0, 0)
    rt = odst
    new = False
    if odst.obsolete and odst.ops.check(odst, 0) is None:
        rt = ip_route_output_flow(net, fl4, sk)
        if isinstance(rt, int):
            return
        new = True
    __ip_rt_update_pmtu(rt, fl4, mtu)
    if dst_check(rt, 0) is None:
        rt = ip_route_output_flow(net, fl4, sk)
        if isinstance(rt, int):
            return
        new = True
    if new:
        sk.sk_dst_cache = rt


def __ip_do_redirect(rt, skb, fl4, kill_route: bool) -> None:
    """Accept an ICMP redirect (RFC 1122 §3.2.2.2) if it is believable."""
    from ...core.neighbour import NUD_VALID, neigh_event_send
    from .arp import ip_neigh_gw4
    th = skb.transport_header
    nh_off = skb.network_header
    if th < 0 or nh_off < 0 or th + 8 > len(skb.head):
        return
    code = skb.head[th + 1]
    new_gw = int.from_bytes(skb.head[th + 4:th + 8], "big")
    old_gw = int.from_bytes(skb.head[nh_off + 12:nh_off + 16], "big")
    if code & 7 not in (ICMP_REDIR_NET, ICMP_REDIR_NETTOS, ICMP_REDIR_HOST, ICMP_REDIR_HOSTTOS):
        return
    if rt.rt_gw4 != old_gw:
        return
    dev = skb.dev
    in_dev = dev.ip_ptr if dev is not None else None
    if in_dev is None:
        return
    net = dev.nd_net
    if new_gw == old_gw or not IN_DEV_RX_REDIRECTS(in_dev) or ipv4_is_multicast(new_gw) or \
            new_gw == 0xFFFFFFFF or ipv4_is_zeronet(new_gw):
        return
    if not IN_DEV_SHARED_MEDIA(in_dev):
        if not inet_addr_onlink(in_dev, new_gw, old_gw):
            return
        if IN_DEV_SEC_REDIRECTS(in_dev) and ip_fib_check_default(new_gw, dev):
            return
    elif inet_addr_type(net, new_gw) != RTN_UNICAST:
        return
    n = ip_neigh_gw4(rt.dev, new_gw)
    if isinstance(n, int):
        return
    if not n.nud_state & NUD_VALID:
        neigh_event_send(n, None)
        return
    res = FibResult()
    if fib_lookup(net, fl4, res, 0) == 0 and res.fi is not None:
        update_or_create_fnhe(FIB_RES_NH(res), fl4.daddr, new_gw, 0, False,
                              net.clock.now() + ip_rt_gc_timeout)
    if kill_route:
        rt.obsolete = DST_OBSOLETE_KILL


def ip_fib_check_default(gw: int, dev) -> bool:
    """Is gw a default gateway through dev (secure_redirects)?"""
    fn = _fn(dev.nd_net)
    tb = fn.fib_main
    if tb is None or 0 not in tb.tb_data:
        return False
    for fa in tb.tb_data[0].get(0, ()):
        nh = fa.fa_info.fib_nh[0] if fa.fa_info.fib_nh else None
        if nh is not None and nh.fib_nh_dev is dev and nh.fib_nh_gw4 == gw:
            return True
    return False


def ip_do_redirect(dst, sk, skb) -> None:
    iph = _iph(skb)
    if iph is None:
        return
    fl4 = Flowi4()
    net = skb.dev.nd_net
    __build_flow_key(net, fl4, sk, iph, skb.dev.ifindex, iph[0] & IPTOS_RT_MASK, iph[1], skb.mark, 0)
    __ip_do_redirect(dst, skb, fl4, True)


def ipv4_redirect(skb, net, oif: int, protocol: int) -> None:
    iph = _iph(skb)
    if iph is None:
        return
    fl4 = Flowi4()
    __build_flow_key(net, fl4, None, iph, oif, iph[0] & IPTOS_RT_MASK, protocol, 0, 0)
    rt = __ip_route_output_key(net, fl4)
    if not isinstance(rt, int):
        __ip_do_redirect(rt, skb, fl4, False)


def ipv4_sk_redirect(skb, sk) -> None:
    iph = _iph(skb)
    if iph is None:
        return
    net = sk.sk_net
    fl4 = Flowi4()
    __build_flow_key(net, fl4, sk, iph, 0, 0, 0, 0, 0)
    rt = __ip_route_output_key(net, fl4)
    if not isinstance(rt, int):
        __ip_do_redirect(rt, skb, fl4, False)


def ip_rt_send_redirect(skb) -> None:
    """ip_forward's helper: tell the sender of a hairpinned packet about the better hop,
    with the kernel's backoff (9 redirects, doubling gaps from 20 ms, 20 s of silence resets)."""
    rt = skb._dst
    in_dev = rt.dev.ip_ptr
    if in_dev is None or not IN_DEV_TX_REDIRECTS(in_dev):
        return
    net = rt.dev.nd_net
    nh = skb.network_header if skb.network_header >= 0 else skb.data
    saddr = int.from_bytes(skb.head[nh + 12:nh + 16], "big")
    daddr = int.from_bytes(skb.head[nh + 16:nh + 20], "big")
    icmp_send = _icmp_send()
    peers = getattr(net.ipv4, "peers", None) if net.ipv4 is not None else None
    if peers is None:
        if icmp_send is not None:
            icmp_send(skb, ICMP_REDIRECT, ICMP_REDIR_HOST, rt_nexthop(rt, daddr))
        return
    now = jiffies(net)
    peer = inet_getpeer_v4(peers, saddr, 0, now)
    if now > peer.rate_last + ip_rt_redirect_silence:
        peer.rate_tokens = 0
        peer.n_redirects = 0
    if peer.n_redirects >= ip_rt_redirect_number:
        peer.rate_last = now
        return
    if peer.rate_tokens == 0 or now > peer.rate_last + (ip_rt_redirect_load << peer.rate_tokens):
        if icmp_send is not None:
            icmp_send(skb, ICMP_REDIRECT, ICMP_REDIR_HOST, rt_nexthop(rt, daddr))
        peer.rate_last = now
        peer.rate_tokens += 1
        peer.n_redirects += 1


def ip_rt_get_source(skb, rt) -> int:
    """The address to record in IP options (RR, TS) for a packet on rt."""
    from .fib_semantics import fib_result_prefsrc
    nh = skb.network_header if skb.network_header >= 0 else skb.data
    saddr = int.from_bytes(skb.head[nh + 12:nh + 16], "big")
    daddr = int.from_bytes(skb.head[nh + 16:nh + 20], "big")
    if rt_is_output_route(rt):
        return saddr
    net = rt.dev.nd_net
    fl4 = Flowi4(daddr=daddr, saddr=saddr, tos=skb.head[nh + 1] & IPTOS_RT_MASK, oif=rt.dev.ifindex,
                 mark=skb.mark)
    fl4.iif = skb.dev.ifindex if skb.dev is not None else 0
    res = FibResult()
    if fib_lookup(net, fl4, res, 0) == 0 and res.fi is not None:
        return fib_result_prefsrc(net, res)
    return inet_select_addr(rt.dev, rt_nexthop(rt, daddr), RT_SCOPE_UNIVERSE)


ipv4_dst_ops = DstOps(family=2, check=ipv4_dst_check, default_advmss=ipv4_default_advmss,
                      mtu=ipv4_mtu, negative_advice=ipv4_negative_advice,
                      link_failure=ipv4_link_failure, update_pmtu=ip_rt_update_pmtu,
                      redirect=ip_do_redirect, neigh_lookup=ipv4_neigh_lookup,
                      confirm_neigh=ipv4_confirm_neigh)


# --- ip route get (RTM_GETROUTE) ------------------------------------------------------------
def rt_fill_info(net, dst: int, src: int, rt, table_id: int, fl4, iif_dev=None, skb=None) -> dict:
    """One route as `ip -j route get` prints it."""
    d = {}
    if rt.rt_type != RTN_UNICAST:
        d["type"] = RTN_NAMES.get(rt.rt_type, str(rt.rt_type))
    d["dst"] = _ntoa(dst)
    if src:
        d["from"] = _ntoa(src)
    if rt.rt_uses_gateway:
        d["gateway"] = _ntoa(rt.rt_gw4)
    if rt.dev is not None:
        d["dev"] = rt.dev.name
    if table_id != RT_TABLE_MAIN and table_id:
        d["table"] = rt_table_name(table_id)
    if not rt.rt_is_input and fl4.saddr != src:
        d["prefsrc"] = _ntoa(fl4.saddr)
    d["flags"] = []
    if fl4.mark:
        d["mark"] = fl4.mark
    if not rt.rt_is_input:
        d["uid"] = fl4.uid
    flags = rt.rt_flags
    ipcb_flags = _resolve("ip_input", "ipcb_flags")
    if ipcb_flags is not None and skb is not None and \
            ipcb_flags(skb) & (_resolve("ip_input", "IPSKB_DOREDIRECT") or 0):
        flags |= RTCF_DOREDIRECT
    d["cache"] = [name for bit, name in _RTCF_CACHE_NAMES if flags & bit]
    now = net.clock.now()
    expires = 0
    if rt.expires:
        expires = int(rt.expires - now) if rt.expires > now else 0
    metrics = {}
    for k, v in rt.metrics.items():
        from ...core.dst import RTAX_NAMES
        if k != RTAX_LOCK:
            metrics[RTAX_NAMES.get(k, str(k))] = v
    if rt.rt_pmtu and expires:
        metrics["mtu"] = rt.rt_pmtu
        d["expires"] = expires
    if metrics:
        d["metrics"] = [metrics]
    if rt.rt_is_input and iif_dev is not None:
        d["iif"] = iif_dev.name
    return d


def inet_rtm_getroute(net, attrs, extack=None):
    """`ip route get ADDR [from A iif DEV] [oif DEV] [mark M] [fibmatch]`."""
    from ...core.skbuff import alloc_skb, skb_put
    from .fib_frontend import fib_dump_info, parse_addr
    dst = parse_addr(attrs.get("dst", 0) or 0)
    src = parse_addr(attrs.get("from") or attrs.get("src") or 0)
    iif_name = attrs.get("iif")
    mark = int(attrs.get("mark", 0) or 0)
    oif = 0
    if attrs.get("oif"):
        o = attrs["oif"]
        dev = net.dev_by_index.get(o) if isinstance(o, int) else net.dev_by_name.get(o)
        if dev is None:
            return -ENODEV
        oif = dev.ifindex
    ip_proto = int(attrs.get("ipproto", 17) or 17)
    # A dummy packet to push through the routing engine (inet_rtm_getroute_build_skb).
    skb = alloc_skb(40, 0)
    skb.network_header = skb.data
    off = skb_put(skb, 20)
    _IPH.pack_into(skb.head, off, 0x45, 0, 20, 0, 0, 64, ip_proto, 0, src, dst)
    skb.protocol = ETH_P_IP
    skb.mark = mark
    fl4 = Flowi4(daddr=dst, saddr=src, tos=int(attrs.get("tos", 0) or 0), oif=oif, mark=mark,
                 proto=ip_proto, fl4_sport=int(attrs.get("sport", 0) or 0),
                 fl4_dport=int(attrs.get("dport", 0) or 0))
    res = FibResult()
    iif_dev = None
    if iif_name:
        iif_dev = net.dev_by_index.get(iif_name) if isinstance(iif_name, int) else net.dev_by_name.get(iif_name)
        if iif_dev is None:
            return -ENODEV
        fl4.iif = iif_dev.ifindex
        skb.dev = iif_dev
        err = ip_route_input_rcu(skb, dst, src, fl4.tos & IPTOS_RT_MASK, iif_dev, res)
        rt = skb._dst
        if err == 0 and rt.error:
            err = -rt.error
    else:
        fl4.iif = LOOPBACK_IFINDEX
        skb.dev = net.loopback_dev
        tos = fl4.tos & (IPTOS_RT_MASK | RTO_ONLINK)
        fl4.tos = tos & IPTOS_RT_MASK
        fl4.scope = RT_SCOPE_LINK if tos & RTO_ONLINK else RT_SCOPE_UNIVERSE
        rt = ip_route_output_key_hash_rcu(net, fl4, res, skb)
        err = rt if isinstance(rt, int) else 0
    if err:
        return err
    table_id = RT_TABLE_MAIN
    if attrs.get("flags", 0) and attrs["flags"] & RTM_F_LOOKUP_TABLE:
        table_id = res.table.tb_id if res.table is not None else 0
    if attrs.get("fibmatch") or (attrs.get("flags", 0) and attrs["flags"] & RTM_F_FIB_MATCH):
        if res.fi is None:
            return -EHOSTUNREACH
        for fa in (res.fa_head or ()):
            if fa.fa_info is res.fi and fa.fa_type == rt.rt_type:
                return 0, fib_dump_info(fa, res.table.tb_id if res.table else RT_TABLE_MAIN)
        return -EHOSTUNREACH
    return 0, rt_fill_info(net, dst, src, rt, table_id, fl4, iif_dev, skb)


# --- boot -----------------------------------------------------------------------------
def ip_rt_net_init(net) -> None:
    """Per-Net routing: arp table, in_devices and conf sysctls, FIB, route sysctls."""
    from ...core.sysctl import CtlTable, register_net_sysctl
    from .arp import arp_tbl_of
    from .fib_frontend import ip_fib_net_init
    from .fib_semantics import FibNet
    if "fib" not in net.gen:
        net.gen["fib"] = FibNet(net)
    arp_tbl_of(net)
    devinet_init_net(net)
    ip_fib_net_init(net)

    class _Flush:
        __slots__ = ("net",)

        def __init__(self, n):
            self.net = n

        @property
        def flush(self):
            return 0

        @flush.setter
        def flush(self, value):
            rt_cache_flush(self.net)
            fnhe_genid_bump(self.net)

    register_net_sysctl(net, "net/ipv4/route", [CtlTable("flush", _Flush(net), "flush", "dointvec", mode=0o200)])


_ip_rt_inited = False


def ip_rt_init() -> None:
    """route.c's boot: devinet, the FIB and their pernet state (arp first, as inet_init)."""
    global _ip_rt_inited
    if _ip_rt_inited:
        return
    _ip_rt_inited = True
    from ...core.net_namespace import PernetOperations, register_pernet_subsys
    from .arp import arp_init
    from .fib_frontend import ip_fib_init
    arp_init()
    devinet_init()
    ip_fib_init()
    register_pernet_subsys(PernetOperations("ip_rt", ip_rt_net_init))

