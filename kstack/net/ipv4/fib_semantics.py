"""net/ipv4/fib_semantics.c, include/net/ip_fib.h: what a route says — RFC 1812 §5.2.4.

A FibInfo is the shared body of one or more routes (protocol, scope, preferred source,
priority, metrics and the next hop, a FibNh); FibConfig is the request that creates
it (struct fib_config, kernel field names); FibResult is what a lookup returns.
fib_create_info validates a request the kernel's way (scope against type, gateway
on-link check "Nexthop has invalid gateway", prefsrc must be local) and shares an
identical FibInfo if one exists, so the next hop's cached routes and PMTU exceptions
(FibNhException) are shared too. fib_sync_down_dev / fib_sync_up mark next hops dead
or alive when their device goes down or up.
"""
import weakref
from dataclasses import dataclass, field

from ...core.errno import EACCES, EAGAIN, EHOSTUNREACH, EINVAL, ENETDOWN, ENODEV
from ...core.dst import RTAX_ADVMSS, RTAX_BY_NAME, RTAX_CC_ALGO, RTAX_FEATURE_MASK, RTAX_FEATURES, \
    RTAX_HOPLIMIT, RTAX_LOCK, RTAX_MAX, RTAX_MTU
from ...core.netdevice import IFF_RUNNING, IFF_UP
from ...core.rtnetlink import (NL_SET_ERR_MSG, NLM_F_CREATE, NLM_F_EXCL, RT_SCOPE_HOST,
                               RT_SCOPE_LINK, RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_LOCAL,
                               RT_TABLE_MAIN, RTN_ANYCAST, RTN_BLACKHOLE, RTN_BROADCAST, RTN_LOCAL,
                               RTN_MAX, RTN_MULTICAST, RTN_NAT, RTN_PROHIBIT, RTN_THROW, RTN_UNICAST,
                               RTN_UNREACHABLE, RTN_UNSPEC, RTN_XRESOLVE, RTNH_F_DEAD,
                               RTNH_F_LINKDOWN, RTNH_F_ONLINK, RTNH_F_PERVASIVE, RTPROT_BOOT)

FIB_LOOKUP_NOREF = 1
FIB_LOOKUP_IGNORE_LINKSTATE = 2
FIB_LOOKUP_OUTPUT = 4

RTNH_COMPARE_MASK = RTNH_F_DEAD | RTNH_F_LINKDOWN | 8 | 64   # | OFFLOAD | TRAP
FNHE_RECLAIM_DEPTH = 5
FNHE_HASH_SIZE = 2048

# fib_props[]: (error, scope) per route type.
FIB_PROPS = {
    RTN_UNSPEC: (0, RT_SCOPE_NOWHERE),
    RTN_UNICAST: (0, RT_SCOPE_UNIVERSE),
    RTN_LOCAL: (0, RT_SCOPE_HOST),
    RTN_BROADCAST: (0, RT_SCOPE_LINK),
    RTN_ANYCAST: (0, RT_SCOPE_LINK),
    RTN_MULTICAST: (0, RT_SCOPE_UNIVERSE),
    RTN_BLACKHOLE: (-EINVAL, RT_SCOPE_UNIVERSE),
    RTN_UNREACHABLE: (-EHOSTUNREACH, RT_SCOPE_UNIVERSE),
    RTN_PROHIBIT: (-EACCES, RT_SCOPE_UNIVERSE),
    RTN_THROW: (-EAGAIN, RT_SCOPE_UNIVERSE),
    RTN_NAT: (-EINVAL, RT_SCOPE_NOWHERE),
    RTN_XRESOLVE: (-EINVAL, RT_SCOPE_NOWHERE),
}
FIB_PROPS_ERROR = [FIB_PROPS[t][0] for t in range(RTN_MAX + 1)]


@dataclass
class FibConfig:
    """struct fib_config. Defaults follow `ip route add`: table main, protocol boot,
    NLM_F_CREATE|NLM_F_EXCL, and fc_scope=None picks iproute2's scope (host for local,
    link for broadcast/multicast/anycast and for unicast routes without a gateway,
    global otherwise; on delete, None matches any scope)."""
    fc_dst: int = 0
    fc_dst_len: int = 0
    fc_gw4: int = 0
    fc_oif: int = 0
    fc_table: int = RT_TABLE_MAIN
    fc_type: int = RTN_UNICAST
    fc_scope: int | None = None
    fc_protocol: int = RTPROT_BOOT
    fc_prefsrc: int = 0
    fc_priority: int = 0
    fc_metrics: dict = field(default_factory=dict)
    fc_nlflags: int = NLM_F_CREATE | NLM_F_EXCL
    fc_flags: int = 0
    fc_tos: int = 0


def fib_config_default_scope(cfg: FibConfig, delete: bool = False) -> int:
    """iproute2's choice when the request carries no scope (ip/iproute.c iproute_modify)."""
    t = cfg.fc_type
    if t in (RTN_LOCAL, RTN_NAT):
        return RT_SCOPE_HOST
    if t in (RTN_BROADCAST, RTN_MULTICAST, RTN_ANYCAST):
        return RT_SCOPE_LINK
    if t in (RTN_UNICAST, RTN_UNSPEC):
        if delete:
            return RT_SCOPE_NOWHERE
        if not cfg.fc_gw4:
            return RT_SCOPE_LINK
    return RT_SCOPE_UNIVERSE


class FibNhException:
    """struct fib_nh_exception: what was learned about one destination (PMTU, redirect)."""

    __slots__ = ("fnhe_daddr", "fnhe_genid", "fnhe_gw", "fnhe_pmtu", "fnhe_mtu_locked",
                 "fnhe_expires", "fnhe_rth_input", "fnhe_rth_output", "fnhe_stamp")

    def __init__(self, daddr: int):
        self.fnhe_daddr = daddr
        self.fnhe_genid = 0
        self.fnhe_gw = 0
        self.fnhe_pmtu = 0
        self.fnhe_mtu_locked = False
        self.fnhe_expires = 0.0
        self.fnhe_rth_input = None
        self.fnhe_rth_output = None
        self.fnhe_stamp = 0.0


class FibNh:
    """struct fib_nh: one next hop (with its cached routes and exceptions)."""

    __slots__ = ("nh_parent", "fib_nh_dev", "fib_nh_oif", "fib_nh_gw4", "fib_nh_scope",
                 "fib_nh_flags", "fib_nh_weight", "nh_saddr", "nh_saddr_genid", "nh_exceptions",
                 "nh_rth_input", "nh_rth_output")

    def __init__(self, oif: int = 0, gw4: int = 0, flags: int = 0):
        self.nh_parent = None
        self.fib_nh_dev = None
        self.fib_nh_oif = oif
        self.fib_nh_gw4 = gw4
        self.fib_nh_scope = RT_SCOPE_NOWHERE
        self.fib_nh_flags = flags
        self.fib_nh_weight = 1
        self.nh_saddr = 0
        self.nh_saddr_genid = -1
        self.nh_exceptions = None        # {daddr: FibNhException}
        self.nh_rth_input = None         # cached input route (forwarding / local delivery)
        self.nh_rth_output = None        # cached output route (the kernel's per-cpu one)

    def __repr__(self):
        return f"<fib_nh gw={self.fib_nh_gw4:#x} dev={getattr(self.fib_nh_dev, 'name', None)}>"


class FibInfo:
    """struct fib_info."""

    __slots__ = ("fib_net", "fib_treeref", "fib_flags", "fib_dead", "fib_protocol", "fib_scope",
                 "fib_type", "fib_prefsrc", "fib_tb_id", "fib_priority", "fib_metrics",
                 "fib_nhs", "fib_nh", "fib_key")

    def __init__(self, net):
        self.fib_net = net
        self.fib_treeref = 0
        self.fib_flags = 0
        self.fib_dead = False
        self.fib_protocol = 0
        self.fib_scope = RT_SCOPE_UNIVERSE
        self.fib_type = RTN_UNICAST
        self.fib_prefsrc = 0
        self.fib_tb_id = RT_TABLE_MAIN
        self.fib_priority = 0
        self.fib_metrics = {}
        self.fib_nhs = 1
        self.fib_nh = []
        self.fib_key = None

    @property
    def fib_mtu(self) -> int:
        return self.fib_metrics.get(RTAX_MTU, 0)

    @property
    def fib_advmss(self) -> int:
        return self.fib_metrics.get(RTAX_ADVMSS, 0)

    def __repr__(self):
        return f"<fib_info type={self.fib_type} scope={self.fib_scope} nh={self.fib_nh}>"


class FibResult:
    """struct fib_result."""

    __slots__ = ("prefix", "prefixlen", "nh_sel", "type", "scope", "tclassid", "fi", "table",
                 "fa_head")

    def __init__(self):
        self.prefix = 0
        self.prefixlen = 0
        self.nh_sel = 0
        self.type = RTN_UNSPEC
        self.scope = RT_SCOPE_UNIVERSE
        self.tclassid = 0
        self.fi = None
        self.table = None
        self.fa_head = None

    def __repr__(self):
        return f"<fib_result {self.prefix:#x}/{self.prefixlen} type={self.type} fi={self.fi}>"


def FIB_RES_NH(res) -> FibNh:
    return res.fi.fib_nh[res.nh_sel]


def FIB_RES_DEV(res):
    return res.fi.fib_nh[res.nh_sel].fib_nh_dev


def FIB_RES_OIF(res) -> int:
    return res.fi.fib_nh[res.nh_sel].fib_nh_oif


def FIB_RES_GW(res) -> int:
    return res.fi.fib_nh[res.nh_sel].fib_nh_gw4


class FibNet:
    """The IPv4 routing part of struct netns_ipv4 (one per Net, net.gen['fib'])."""

    def __init__(self, net):
        self.net = net
        self.tables = {}                 # tb_id -> FibTable
        self.fib_main = None
        self.fib_local = None
        self.fib_default = None
        self.fib_has_custom_rules = False
        self.fib_has_custom_local_routes = False
        self.rules = []                  # fib_rules.FibRule, by priority
        self.rt_genid = 0
        self.fnhe_genid = 0
        self.dev_addr_genid = 0
        self.fib_info_hash = {}          # fib_key -> FibInfo (fib_find_info)
        self.fib_info_devhash = {}       # dev -> [FibNh]
        self.inet_addr_lst = {}          # local address -> [InIfaddr] (inet_lookup_ifaddr)
        self.devconf_all = None          # devinet's conf.all / conf.default dicts
        self.devconf_dflt = None
        self.devconf_all_set = set()
        self.devconf_dflt_set = set()
        self.rt_cache_stat = dict.fromkeys(
            ("in_slow_tot", "in_slow_mc", "in_no_route", "in_brd", "in_martian_dst",
             "in_martian_src", "out_slow_tot", "out_slow_mc"), 0)
        self.rt_uncached = weakref.WeakSet()   # routes not cached in the FIB (rt_flush_dev)


def fib_net(net) -> FibNet:
    return net.gen["fib"]


# --- metrics ---------------------------------------------------------------------------
def ip_metrics_convert(net, fc_metrics: dict):
    """Names or RTAX numbers -> {RTAX: value} with the kernel's clamps; -EINVAL if bad."""
    out = {}
    for k, v in (fc_metrics or {}).items():
        if isinstance(k, str):
            if k == "lock":
                bits = 0
                for name in (v if isinstance(v, (list, tuple, set)) else [v]):
                    t = RTAX_BY_NAME.get(name) if isinstance(name, str) else int(name)
                    if t is None:
                        return -EINVAL
                    bits |= 1 << t
                out[RTAX_LOCK] = out.get(RTAX_LOCK, 0) | bits
                continue
            t = RTAX_BY_NAME.get(k)
            if t is None:
                return -EINVAL
        else:
            t = int(k)
        if not 0 < t <= RTAX_MAX:
            return -EINVAL
        if t == RTAX_CC_ALGO:
            out[t] = v
            continue
        try:
            val = int(v)
        except (TypeError, ValueError):
            return -EINVAL
        if val < 0 or val > 0xFFFFFFFF:
            return -EINVAL
        if t == RTAX_ADVMSS and val > 65535 - 40:
            val = 65535 - 40
        if t == RTAX_MTU and val > 65535 - 15:
            val = 65535 - 15
        if t == RTAX_HOPLIMIT and val > 255:
            val = 255
        if t == RTAX_FEATURES and val & ~RTAX_FEATURE_MASK:
            return -EINVAL
        if val:
            out[t] = out.get(t, 0) | val if t == RTAX_LOCK else val
    return out


# --- next-hop checks ----------------------------------------------------------------------
def _in_dev(dev):
    return dev.ip_ptr if dev is not None else None


def fib_check_nh_v4_gw(net, nh: FibNh, table: int, scope: int, extack) -> int:
    """The gateway must be reachable on-link (or `onlink` given): else -ENETUNREACH
    with "Nexthop has invalid gateway", as `ip route add ... via` reports."""
    from ...core.dev import dev_get_by_index
    from .fib_frontend import fib_lookup, inet_addr_type_dev_table
    from .fib_trie import fib_get_table, fib_table_lookup
    from .route import Flowi4
    if nh.fib_nh_flags & RTNH_F_ONLINK:
        if scope >= RT_SCOPE_LINK:
            NL_SET_ERR_MSG(extack, "Nexthop has invalid scope")
            return -EINVAL
        dev = dev_get_by_index(net, nh.fib_nh_oif)
        if dev is None:
            NL_SET_ERR_MSG(extack, "Nexthop device required for onlink")
            return -ENODEV
        if not dev.flags & IFF_UP:
            NL_SET_ERR_MSG(extack, "Nexthop device is not up")
            return -ENETDOWN
        if inet_addr_type_dev_table(net, dev, nh.fib_nh_gw4) != RTN_UNICAST:
            NL_SET_ERR_MSG(extack, "Nexthop has invalid gateway")
            return -EINVAL
        if not dev.flags & IFF_RUNNING:
            nh.fib_nh_flags |= RTNH_F_LINKDOWN
        nh.fib_nh_dev = dev
        nh.fib_nh_scope = RT_SCOPE_LINK
        return 0
    fl4 = Flowi4(daddr=nh.fib_nh_gw4, oif=nh.fib_nh_oif)
    fl4.scope = max(scope + 1, RT_SCOPE_LINK)
    fl4.iif = 1
    res = FibResult()
    err = -EAGAIN
    tbl = fib_get_table(net, table) if table and table != RT_TABLE_MAIN else None
    if tbl is not None:
        err = fib_table_lookup(tbl, fl4, res, FIB_LOOKUP_IGNORE_LINKSTATE | FIB_LOOKUP_NOREF)
    if tbl is None or err:
        res = FibResult()
        err = fib_lookup(net, fl4, res, FIB_LOOKUP_IGNORE_LINKSTATE)
    if err:
        NL_SET_ERR_MSG(extack, "Nexthop has invalid gateway")
        return err
    if res.type not in (RTN_UNICAST, RTN_LOCAL):
        NL_SET_ERR_MSG(extack, "Nexthop has invalid gateway")
        return -EINVAL
    nh.fib_nh_scope = res.scope
    nh.fib_nh_oif = FIB_RES_OIF(res)
    dev = FIB_RES_DEV(res)
    nh.fib_nh_dev = dev
    if dev is None:
        return -ENODEV
    if not dev.flags & IFF_RUNNING:
        nh.fib_nh_flags |= RTNH_F_LINKDOWN
    return 0 if dev.flags & IFF_UP else -ENETDOWN


def fib_check_nh(net, nh: FibNh, table: int, scope: int, extack) -> int:
    from ...core.dev import dev_get_by_index
    if nh.fib_nh_gw4:
        return fib_check_nh_v4_gw(net, nh, table, scope, extack)
    if nh.fib_nh_flags & (RTNH_F_DEAD | RTNH_F_ONLINK):
        NL_SET_ERR_MSG(extack, "Invalid flags for nexthop - PERVASIVE and ONLINK can not be set")
        return -EINVAL
    dev = dev_get_by_index(net, nh.fib_nh_oif) if nh.fib_nh_oif else None
    if dev is None or _in_dev(dev) is None:
        return -ENODEV
    if not dev.flags & IFF_UP:
        NL_SET_ERR_MSG(extack, "Device for nexthop is not up")
        return -ENETDOWN
    nh.fib_nh_dev = dev
    nh.fib_nh_scope = RT_SCOPE_HOST
    if not dev.flags & IFF_RUNNING:
        nh.fib_nh_flags |= RTNH_F_LINKDOWN
    return 0


def fib_valid_prefsrc(net, cfg: FibConfig, prefsrc: int) -> bool:
    from .fib_frontend import inet_addr_type_table
    if cfg.fc_type != RTN_LOCAL or not cfg.fc_dst or prefsrc != cfg.fc_dst:
        tb_id = cfg.fc_table or RT_TABLE_MAIN
        if tb_id == RT_TABLE_MAIN:
            tb_id = RT_TABLE_LOCAL
        rc = inet_addr_type_table(net, prefsrc, tb_id)
        if rc != RTN_LOCAL and tb_id != RT_TABLE_LOCAL:
            rc = inet_addr_type_table(net, prefsrc, RT_TABLE_LOCAL)
        if rc != RTN_LOCAL:
            return False
    return True


def _fib_key(fi: FibInfo):
    nhs = tuple((nh.fib_nh_gw4, nh.fib_nh_oif, nh.fib_nh_flags & ~RTNH_COMPARE_MASK)
                for nh in fi.fib_nh)
    metrics = tuple(sorted((k, v if isinstance(v, int) else str(v)) for k, v in fi.fib_metrics.items()))
    return (fi.fib_protocol, fi.fib_scope, fi.fib_prefsrc, fi.fib_priority, fi.fib_type,
            metrics, fi.fib_flags & ~RTNH_COMPARE_MASK, nhs)


def fib_create_info(net, cfg: FibConfig, scope: int, extack=None):
    """Validate a route request and return its (possibly shared) FibInfo, or -errno."""
    fn = fib_net(net)
    t = cfg.fc_type
    if t > RTN_MAX or t < 0:
        NL_SET_ERR_MSG(extack, "Invalid route type")
        return -EINVAL
    if FIB_PROPS[t][1] > scope:
        NL_SET_ERR_MSG(extack, "Invalid scope")
        return -EINVAL
    metrics = ip_metrics_convert(net, cfg.fc_metrics)
    if isinstance(metrics, int):
        return metrics
    fi = FibInfo(net)
    fi.fib_protocol = cfg.fc_protocol
    fi.fib_scope = scope
    fi.fib_type = t
    fi.fib_prefsrc = cfg.fc_prefsrc
    fi.fib_tb_id = cfg.fc_table or RT_TABLE_MAIN
    fi.fib_priority = cfg.fc_priority
    fi.fib_metrics = metrics
    nh = FibNh(cfg.fc_oif, cfg.fc_gw4, cfg.fc_flags & (RTNH_F_ONLINK | RTNH_F_PERVASIVE))
    nh.nh_parent = fi
    fi.fib_nh = [nh]
    if FIB_PROPS[t][0]:
        if cfg.fc_gw4 or cfg.fc_oif:
            NL_SET_ERR_MSG(extack, "Gateway, device and multipath can not be specified for this route type")
            return -EINVAL
    else:
        if t not in (RTN_UNICAST, RTN_LOCAL, RTN_BROADCAST, RTN_ANYCAST, RTN_MULTICAST):
            NL_SET_ERR_MSG(extack, "Invalid route type")
            return -EINVAL
        if scope > RT_SCOPE_HOST:
            NL_SET_ERR_MSG(extack, "Invalid scope")
            return -EINVAL
        if scope == RT_SCOPE_HOST:
            from ...core.dev import dev_get_by_index
            if cfg.fc_gw4:
                NL_SET_ERR_MSG(extack, "Gateway can not be specified for scope host")
                return -EINVAL
            nh.fib_nh_scope = RT_SCOPE_NOWHERE
            nh.fib_nh_dev = dev_get_by_index(net, nh.fib_nh_oif) if nh.fib_nh_oif else None
            if nh.fib_nh_dev is None:
                return -ENODEV
        else:
            err = fib_check_nh(net, nh, fi.fib_tb_id, scope, extack)
            if err:
                return err
            if nh.fib_nh_flags & RTNH_F_LINKDOWN:
                fi.fib_flags |= RTNH_F_LINKDOWN
        if fi.fib_prefsrc and not fib_valid_prefsrc(net, cfg, fi.fib_prefsrc):
            NL_SET_ERR_MSG(extack, "Invalid prefsrc address")
            return -EINVAL
    key = _fib_key(fi)
    ofi = fn.fib_info_hash.get(key)
    if ofi is not None and not ofi.fib_dead:
        return ofi
    fi.fib_key = key
    fn.fib_info_hash[key] = fi
    for h in fi.fib_nh:
        if h.fib_nh_dev is not None:
            fn.fib_info_devhash.setdefault(h.fib_nh_dev, []).append(h)
    return fi


def fib_release_info(fi: FibInfo) -> None:
    """An alias stopped using fi; the last one frees it (and its cached routes)."""
    fi.fib_treeref -= 1
    if fi.fib_treeref > 0:
        return
    fn = fib_net(fi.fib_net)
    if fn.fib_info_hash.get(fi.fib_key) is fi:
        del fn.fib_info_hash[fi.fib_key]
    for nh in fi.fib_nh:
        lst = fn.fib_info_devhash.get(nh.fib_nh_dev)
        if lst is not None and nh in lst:
            lst.remove(nh)
            if not lst:
                del fn.fib_info_devhash[nh.fib_nh_dev]
        fib_nh_release(nh)
    fi.fib_dead = True


def fib_nh_release(nh: FibNh) -> None:
    from ...core.dst import dst_dev_put
    for rt in (nh.nh_rth_input, nh.nh_rth_output):
        if rt is not None:
            dst_dev_put(rt)
    nh.nh_rth_input = nh.nh_rth_output = None
    if nh.nh_exceptions:
        for fnhe in nh.nh_exceptions.values():
            for rt in (fnhe.fnhe_rth_input, fnhe.fnhe_rth_output):
                if rt is not None:
                    dst_dev_put(rt)
        nh.nh_exceptions = None


def fib_nh_match(net, cfg: FibConfig, fi: FibInfo, extack=None) -> int:
    """0 if the delete request's next-hop selectors match fi."""
    if cfg.fc_priority and cfg.fc_priority != fi.fib_priority:
        return 1
    if cfg.fc_oif or cfg.fc_gw4:
        nh = fi.fib_nh[0]
        if cfg.fc_oif and cfg.fc_oif != nh.fib_nh_oif:
            return 1
        if cfg.fc_gw4 and cfg.fc_gw4 != nh.fib_nh_gw4:
            return 1
    return 0


def fib_metrics_match(net, cfg: FibConfig, fi: FibInfo) -> bool:
    if not cfg.fc_metrics:
        return True
    m = ip_metrics_convert(net, cfg.fc_metrics)
    if isinstance(m, int):
        return False
    for k, v in m.items():
        if k == RTAX_CC_ALGO:
            continue
        if fi.fib_metrics.get(k, 0) != v:
            return False
    return True


# --- source address for a result ------------------------------------------------------
def fib_info_update_nhc_saddr(net, nh: FibNh, scope: int) -> int:
    from .devinet import inet_select_addr
    nh.nh_saddr = inet_select_addr(nh.fib_nh_dev, nh.fib_nh_gw4, scope) if nh.fib_nh_dev else 0
    nh.nh_saddr_genid = fib_net(net).dev_addr_genid
    return nh.nh_saddr


def fib_result_prefsrc(net, res: FibResult) -> int:
    """FIB_RES_PREFSRC: the route's prefsrc, else a primary address of the next hop's device."""
    fi = res.fi
    if fi.fib_prefsrc:
        return fi.fib_prefsrc
    nh = fi.fib_nh[res.nh_sel]
    if nh.nh_saddr_genid == fib_net(net).dev_addr_genid:
        return nh.nh_saddr
    return fib_info_update_nhc_saddr(net, nh, fi.fib_scope)


FIB_RES_PREFSRC = fib_result_prefsrc


def fib_select_default(fl4, res: FibResult) -> None:
    """Several default routes of one priority: the kernel prefers one whose gateway's
    neighbour is not known dead; here the first live one (they are equivalent)."""
    return None


def fib_select_path(net, res: FibResult, fl4, skb=None) -> None:
    if not fl4.oif and not res.prefixlen and res.table is not None and \
            res.table.tb_num_default > 1 and res.type == RTN_UNICAST:
        fib_select_default(fl4, res)
    if not fl4.saddr:
        fl4.saddr = fib_result_prefsrc(net, res)


# --- device events --------------------------------------------------------------------
def fib_sync_down_dev(dev, event: int, force: bool) -> int:
    """Mark next hops through dev dead (host-scope ones survive unless forced)."""
    from ...core.netdevice import NETDEV_CHANGE, NETDEV_DOWN, NETDEV_UNREGISTER
    fn = fib_net(dev.nd_net)
    scope = -1 if force else RT_SCOPE_NOWHERE
    ret = 0
    seen = set()
    for nh in list(fn.fib_info_devhash.get(dev, ())):
        fi = nh.nh_parent
        if id(fi) in seen:
            continue
        seen.add(id(fi))
        dead = 0
        for h in fi.fib_nh:
            if h.fib_nh_flags & RTNH_F_DEAD:
                dead += 1
            elif h.fib_nh_dev is dev and h.fib_nh_scope != scope:
                if event in (NETDEV_DOWN, NETDEV_UNREGISTER):
                    h.fib_nh_flags |= RTNH_F_DEAD
                h.fib_nh_flags |= RTNH_F_LINKDOWN
                dead += 1
        if dead == len(fi.fib_nh):
            if event in (NETDEV_DOWN, NETDEV_UNREGISTER):
                fi.fib_flags |= RTNH_F_DEAD
            if event in (NETDEV_DOWN, NETDEV_UNREGISTER, NETDEV_CHANGE):
                fi.fib_flags |= RTNH_F_LINKDOWN
            ret += 1
    return ret


def fib_sync_up(dev, nh_flags: int) -> int:
    """Revive next hops through dev (NETDEV_UP: RTNH_F_DEAD, carrier: RTNH_F_LINKDOWN)."""
    fn = fib_net(dev.nd_net)
    if not dev.flags & IFF_UP:
        return 0
    ret = 0
    seen = set()
    for nh in list(fn.fib_info_devhash.get(dev, ())):
        fi = nh.nh_parent
        if id(fi) in seen or not fi.fib_flags & nh_flags:
            continue
        seen.add(id(fi))
        alive = 0
        for h in fi.fib_nh:
            if not h.fib_nh_flags & nh_flags:
                alive += 1
                continue
            if h.fib_nh_dev is not dev or _in_dev(dev) is None:
                continue
            alive += 1
            h.fib_nh_flags &= ~nh_flags
        if alive:
            fi.fib_flags &= ~nh_flags
            ret += 1
    return ret


def fib_sync_mtu(dev, orig_mtu: int) -> None:
    """The device MTU shrank: exceptions that learned a larger PMTU are cut to it."""
    fn = fib_net(dev.nd_net)
    for nh in fn.fib_info_devhash.get(dev, ()):
        if not nh.nh_exceptions:
            continue
        for fnhe in nh.nh_exceptions.values():
            if fnhe.fnhe_pmtu and not fnhe.fnhe_mtu_locked and \
                    (fnhe.fnhe_pmtu > dev.mtu or fnhe.fnhe_pmtu == orig_mtu):
                fnhe.fnhe_pmtu = dev.mtu
                for rt in (fnhe.fnhe_rth_input, fnhe.fnhe_rth_output):
                    if rt is not None:
                        rt.rt_pmtu = dev.mtu

