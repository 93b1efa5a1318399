"""net/ipv4/devinet.c, include/linux/inetdevice.h: IPv4 addresses on devices — RFC 1122 §3.3.4.

Every device gets an InDevice (dev.ip_ptr) when it registers: its addresses (InIfaddr,
primaries first, then secondaries — addresses in a subnet that already has one), its
ARP parameters and its net.ipv4.conf.<dev>.* settings. conf.all / conf.default /
conf.<dev> follow the kernel: a device copies 'default' when created and keeps
following it for every value not written explicitly; the data path combines a
device's value with 'all' as the IN_DEV_* macros do (OR for rp_filter-like flags,
MAX for arp_ignore/arp_announce, the device's own for forwarding). net.ipv4.ip_forward
and conf.all.forwarding are one setting: writing either sets every device
(inet_forward_change).

Address changes run the inetaddr notifier chain (fib_frontend adds/removes the
routes); lo gets 127.0.0.1/8 when it comes up; with arp_notify set, NETDEV_UP and
address changes of the link send a gratuitous ARP request per address (checked on
Linux 6.18: nothing is sent on `ip addr add`, nor on link up with arp_notify=0).
"""
from ...core.errno import EADDRNOTAVAIL, EEXIST, EINVAL, ENOBUFS, ENODEV
from ...core.netdevice import (IFF_LOOPBACK, NETDEV_CHANGEADDR, NETDEV_CHANGEMTU, NETDEV_DOWN,
                               NETDEV_REGISTER, NETDEV_UNREGISTER, NETDEV_UP)
from ...core.rtnetlink import (NL_SET_ERR_MSG, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE,
                               RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_NAMES, RT_SCOPE_UNIVERSE,
                               RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR, rtnl_fill_ifinfo,
                               rtnl_register, rtnl_rtscope_a2n)
from ...core.sysctl import CtlTable, register_net_sysctl, unregister_net_sysctl
from ...core.timer import TimerList

IFA_F_SECONDARY = 0x01
IFA_F_TEMPORARY = IFA_F_SECONDARY
IFA_F_NODAD = 0x02
IFA_F_OPTIMISTIC = 0x04
IFA_F_DADFAILED = 0x08
IFA_F_HOMEADDRESS = 0x10
IFA_F_DEPRECATED = 0x20
IFA_F_TENTATIVE = 0x40
IFA_F_PERMANENT = 0x80
IFA_F_MANAGETEMPADDR = 0x100
IFA_F_NOPREFIXROUTE = 0x200
IFA_F_MCAUTOJOIN = 0x400
IFA_F_STABLE_PRIVACY = 0x800
INFINITY_LIFE_TIME = 0xFFFFFFFF
IPV4_MIN_MTU = 68
INADDR_LOOPBACK = 0x7F000001

# net.ipv4.conf.default.* on a fresh Linux namespace (and the kernel's ipv4_devconf_dflt).
DEVCONF_DEFAULTS = {
    "accept_local": 0, "accept_redirects": 1, "accept_source_route": 1, "arp_accept": 0,
    "arp_announce": 0, "arp_evict_nocarrier": 1, "arp_filter": 0, "arp_ignore": 0,
    "arp_notify": 0, "bc_forwarding": 0, "bootp_relay": 0, "disable_policy": 0,
    "disable_xfrm": 0, "drop_gratuitous_arp": 0, "drop_unicast_in_l2_multicast": 0,
    "force_igmp_version": 0, "forwarding": 0, "igmpv2_unsolicited_report_interval": 10000,
    "igmpv3_unsolicited_report_interval": 1000, "ignore_routes_with_linkdown": 0,
    "log_martians": 0, "mc_forwarding": 0, "medium_id": 0, "promote_secondaries": 0,
    "proxy_arp": 0, "proxy_arp_pvlan": 0, "route_localnet": 0, "rp_filter": 0,
    "secure_redirects": 1, "send_redirects": 1, "shared_media": 1, "src_valid_mark": 0,
    "tag": 0,
}
# conf.all differs from default only here (ipv4_devconf).
DEVCONF_ALL_OVERRIDES = {"accept_source_route": 0}
# Writes that change routing decisions flush the route cache (devinet_conf_proc).
_FLUSH_ON_WRITE = {"accept_local", "route_localnet", "bc_forwarding", "rp_filter",
                   "src_valid_mark", "disable_policy", "disable_xfrm", "forwarding",
                   "ignore_routes_with_linkdown"}
_READ_ONLY = {"mc_forwarding"}


class InIfaddr:
    """struct in_ifaddr: one IPv4 address of a device."""

    __slots__ = ("ifa_dev", "ifa_local", "ifa_address", "ifa_mask", "ifa_broadcast",
                 "ifa_prefixlen", "ifa_flags", "ifa_scope", "ifa_label", "ifa_valid_lft",
                 "ifa_preferred_lft", "ifa_cstamp", "ifa_tstamp", "ifa_rt_priority", "ifa_proto")

    def __init__(self, in_dev):
        self.ifa_dev = in_dev
        self.ifa_local = 0
        self.ifa_address = 0
        self.ifa_mask = 0
        self.ifa_broadcast = 0
        self.ifa_prefixlen = 0
        self.ifa_flags = 0
        self.ifa_scope = RT_SCOPE_UNIVERSE
        self.ifa_label = in_dev.dev.name if in_dev is not None else ""
        self.ifa_valid_lft = INFINITY_LIFE_TIME
        self.ifa_preferred_lft = INFINITY_LIFE_TIME
        self.ifa_cstamp = 0.0
        self.ifa_tstamp = 0.0
        self.ifa_rt_priority = 0
        self.ifa_proto = 0

    def __repr__(self):
        return f"<in_ifaddr {_ntoa(self.ifa_local)}/{self.ifa_prefixlen} " \
               f"{self.ifa_label}{' secondary' if self.ifa_flags & IFA_F_SECONDARY else ''}>"


class InDevice:
    """struct in_device."""

    __slots__ = ("dev", "net", "ifa_list", "cnf", "cnf_state", "all", "arp_parms", "dead",
                 "mc_list")

    def __init__(self, dev):
        self.dev = dev
        self.net = dev.nd_net
        self.ifa_list = []
        self.cnf = {}
        self.cnf_state = set()       # values written explicitly (no longer follow 'default')
        self.all = None              # conf.all (the Net's dict)
        self.arp_parms = None
        self.dead = False
        self.mc_list = []

    def __repr__(self):
        return f"<in_device {self.dev.name} {self.ifa_list}>"


def _ntoa(a: int) -> str:
    return f"{a >> 24 & 255}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"


def _fn(net):
    return net.gen["fib"]


# --- the IN_DEV_* macros ---------------------------------------------------------------
def __in_dev_get(dev):
    return dev.ip_ptr


__in_dev_get_rcu = __in_dev_get
__in_dev_get_rtnl = __in_dev_get
in_dev_get = __in_dev_get


def IN_DEV_CONF_GET(in_dev, name: str):
    return in_dev.cnf[name]


def IN_DEV_ORCONF(in_dev, name: str) -> bool:
    return bool(in_dev.all[name] or in_dev.cnf[name])


def IN_DEV_ANDCONF(in_dev, name: str) -> bool:
    return bool(in_dev.all[name] and in_dev.cnf[name])


def IN_DEV_MAXCONF(in_dev, name: str) -> int:
    a = in_dev.all[name]
    b = in_dev.cnf[name]
    return a if a > b else b


def IN_DEV_FORWARD(in_dev) -> bool:
    return bool(in_dev.cnf["forwarding"])


def IN_DEV_BFORWARD(in_dev) -> bool:
    return IN_DEV_ANDCONF(in_dev, "bc_forwarding")


def IN_DEV_RPFILTER(in_dev) -> int:
    return IN_DEV_MAXCONF(in_dev, "rp_filter")


def IN_DEV_SRC_VMARK(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "src_valid_mark")


def IN_DEV_SOURCE_ROUTE(in_dev) -> bool:
    return IN_DEV_ANDCONF(in_dev, "accept_source_route")


def IN_DEV_ACCEPT_LOCAL(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "accept_local")


def IN_DEV_LOG_MARTIANS(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "log_martians")


def IN_DEV_PROXY_ARP(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "proxy_arp")


def IN_DEV_PROXY_ARP_PVLAN(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "proxy_arp_pvlan")


def IN_DEV_SHARED_MEDIA(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "shared_media")


def IN_DEV_TX_REDIRECTS(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "send_redirects")


def IN_DEV_SEC_REDIRECTS(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "secure_redirects")


def IN_DEV_RX_REDIRECTS(in_dev) -> bool:
    if IN_DEV_FORWARD(in_dev):
        return IN_DEV_ANDCONF(in_dev, "accept_redirects")
    return IN_DEV_ORCONF(in_dev, "accept_redirects")


def IN_DEV_MEDIUM_ID(in_dev) -> int:
    return in_dev.cnf["medium_id"]


def IN_DEV_PROMOTE_SECONDARIES(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "promote_secondaries")


def IN_DEV_ROUTE_LOCALNET(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "route_localnet")


def IN_DEV_NET_ROUTE_LOCALNET(in_dev, net) -> bool:
    return bool(in_dev.cnf["route_localnet"] or _fn(net).devconf_all["route_localnet"])


def IN_DEV_ARPFILTER(in_dev) -> bool:
    return IN_DEV_ORCONF(in_dev, "arp_filter")


def IN_DEV_ARP_ACCEPT(in_dev) -> int:
    return IN_DEV_MAXCONF(in_dev, "arp_accept")


def IN_DEV_ARP_ANNOUNCE(in_dev) -> int:
    return IN_DEV_MAXCONF(in_dev, "arp_announce")


def IN_DEV_ARP_IGNORE(in_dev) -> int:
    return IN_DEV_MAXCONF(in_dev, "arp_ignore")


def IN_DEV_ARP_NOTIFY(in_dev) -> int:
    return IN_DEV_MAXCONF(in_dev, "arp_notify")


def IN_DEV_ARP_EVICT_NOCARRIER(in_dev) -> bool:
    return IN_DEV_ANDCONF(in_dev, "arp_evict_nocarrier")


# --- address helpers ---------------------------------------------------------------------
def inet_make_mask(logmask: int) -> int:
    if logmask:
        return (0xFFFFFFFF << (32 - logmask)) & 0xFFFFFFFF
    return 0


def inet_mask_len(mask: int) -> int:
    return bin(mask).count("1")


def inet_ifa_match(addr: int, ifa) -> bool:
    return not ((addr ^ ifa.ifa_address) & ifa.ifa_mask)


def inet_ifa_byprefix(in_dev, prefix: int, mask: int):
    for ifa in in_dev.ifa_list:
        if ifa.ifa_mask == mask and inet_ifa_match(prefix, ifa):
            return ifa
    return None


def inet_addr_onlink(in_dev, a: int, b: int) -> bool:
    """Are a (and b, if given) inside one subnet of this device?"""
    for ifa in in_dev.ifa_list:
        if inet_ifa_match(a, ifa):
            if not b or inet_ifa_match(b, ifa):
                return True
    return False


def inet_lookup_ifaddr(net, addr: int):
    lst = _fn(net).inet_addr_lst.get(addr)
    return lst[0] if lst else None


inet_lookup_ifaddr_rcu = inet_lookup_ifaddr


def __ip_dev_find(net, addr: int, devref: bool = False):
    """The device that owns a local address (or whose local route covers it)."""
    ifa = inet_lookup_ifaddr(net, addr)
    if ifa is not None:
        return ifa.ifa_dev.dev
    from .fib_semantics import FIB_RES_DEV, FibResult
    from .fib_trie import fib_get_table, fib_table_lookup
    from .route import Flowi4
    from ...core.rtnetlink import RT_TABLE_LOCAL, RTN_LOCAL
    local = fib_get_table(net, RT_TABLE_LOCAL)
    if local is not None:
        res = FibResult()
        if not fib_table_lookup(local, Flowi4(daddr=addr), res, 0) and res.type == RTN_LOCAL:
            return FIB_RES_DEV(res)
    return None


def ip_dev_find(net, addr: int):
    return __ip_dev_find(net, addr, True)


def inet_addr_type(net, addr: int) -> int:
    """Re-exported from fib_frontend (the kernel keeps it there)."""
    from .fib_frontend import inet_addr_type as f
    return f(net, addr)


def in_dev_select_addr(in_dev, scope: int) -> int:
    for ifa in in_dev.ifa_list:
        if ifa.ifa_flags & IFA_F_SECONDARY:
            continue
        if ifa.ifa_scope != RT_SCOPE_LINK and ifa.ifa_scope <= scope:
            return ifa.ifa_local
    return 0


def inet_select_addr(dev, dst: int, scope: int) -> int:
    """A primary address of dev to use as source towards dst (in dst's subnet if
    possible), else one of another device (lo first), within scope."""
    addr = 0
    in_dev = dev.ip_ptr if dev is not None else None
    if in_dev is not None:
        localnet_scope = RT_SCOPE_LINK if IN_DEV_ROUTE_LOCALNET(in_dev) else RT_SCOPE_HOST
        for ifa in in_dev.ifa_list:
            if ifa.ifa_flags & IFA_F_SECONDARY:
                continue
            if min(ifa.ifa_scope, localnet_scope) > scope:
                continue
            if not dst or inet_ifa_match(dst, ifa):
                addr = ifa.ifa_local
                break
            if not addr:
                addr = ifa.ifa_local
        if addr:
            return addr
    net = dev.nd_net if dev is not None else None
    if net is None:
        return 0
    for d in net.dev_base:
        idev = d.ip_ptr
        if idev is None:
            continue
        addr = in_dev_select_addr(idev, scope)
        if addr:
            return addr
    return 0


def confirm_addr_indev(in_dev, dst: int, local: int, scope: int) -> int:
    localnet_scope = RT_SCOPE_LINK if IN_DEV_ROUTE_LOCALNET(in_dev) else RT_SCOPE_HOST
    addr = 0
    same = False
    for ifa in in_dev.ifa_list:
        min_scope = min(ifa.ifa_scope, localnet_scope)
        if not addr and (local == ifa.ifa_local or not local) and min_scope <= scope:
            addr = ifa.ifa_local
            if same:
                break
        if not same:
            same = (not local or inet_ifa_match(local, ifa)) and (not dst or inet_ifa_match(dst, ifa))
            if same and addr:
                if local or not dst:
                    break
                if inet_ifa_match(addr, ifa):
                    break
                if min_scope <= scope:
                    addr = ifa.ifa_local
                    break
                same = False
    return addr if same else 0


def inet_confirm_addr(net, in_dev, dst: int, local: int, scope: int) -> int:
    """Is there an address (local, or any) within scope in dst's subnet? (arp_ignore)"""
    if in_dev is not None:
        return confirm_addr_indev(in_dev, dst, local, scope)
    for dev in net.dev_base:
        idev = dev.ip_ptr
        if idev is not None:
            addr = confirm_addr_indev(idev, dst, local, scope)
            if addr:
                return addr
    return 0


# --- the inetaddr notifier chain -------------------------------------------------------
def register_inetaddr_notifier(net, fn) -> None:
    chain = net.gen.setdefault("inetaddr_chain", [])
    if fn not in chain:
        chain.append(fn)


def unregister_inetaddr_notifier(net, fn) -> None:
    chain = net.gen.get("inetaddr_chain", [])
    if fn in chain:
        chain.remove(fn)


def _inetaddr_notify(net, event: int, ifa) -> None:
    for fn in list(net.gen.get("inetaddr_chain", ())):
        fn(event, ifa)


def inet_hash_insert(net, ifa) -> None:
    _fn(net).inet_addr_lst.setdefault(ifa.ifa_local, []).append(ifa)


def inet_hash_remove(net, ifa) -> None:
    lst = _fn(net).inet_addr_lst.get(ifa.ifa_local)
    if lst and ifa in lst:
        lst.remove(ifa)
        if not lst:
            del _fn(net).inet_addr_lst[ifa.ifa_local]


# --- adding and removing addresses ------------------------------------------------------
def __inet_insert_ifa(ifa, extack=None) -> int:
    in_dev = ifa.ifa_dev
    net = in_dev.net
    if ifa.ifa_local == 0:
        return 0
    ifa.ifa_flags &= ~IFA_F_SECONDARY
    last_primary = 0
    for i, ifa1 in enumerate(in_dev.ifa_list):
        if not ifa1.ifa_flags & IFA_F_SECONDARY and ifa.ifa_scope <= ifa1.ifa_scope:
            last_primary = i + 1
        if ifa1.ifa_mask == ifa.ifa_mask and inet_ifa_match(ifa1.ifa_address, ifa):
            if ifa1.ifa_local == ifa.ifa_local:
                return -EEXIST
            if ifa1.ifa_scope != ifa.ifa_scope:
                NL_SET_ERR_MSG(extack, "ipv4: Invalid scope value")
                return -EINVAL
            ifa.ifa_flags |= IFA_F_SECONDARY
    now = net.clock.now()
    ifa.ifa_cstamp = ifa.ifa_tstamp = now
    if ifa.ifa_flags & IFA_F_SECONDARY:
        in_dev.ifa_list.append(ifa)
    else:
        in_dev.ifa_list.insert(last_primary, ifa)
    inet_hash_insert(net, ifa)
    _schedule_lifetime_check(net)
    _inetaddr_notify(net, NETDEV_UP, ifa)
    return 0


def inet_insert_ifa(ifa) -> int:
    return __inet_insert_ifa(ifa)


def __inet_del_ifa(in_dev, ifa1, destroy: bool = True) -> None:
    """Remove one address; removing a primary takes its secondaries along unless
    promote_secondaries is set, in which case the first of them becomes primary."""
    net = in_dev.net
    promote = None
    lst = in_dev.ifa_list
    if not in_dev.dead and not ifa1.ifa_flags & IFA_F_SECONDARY:
        do_promote = IN_DEV_PROMOTE_SECONDARIES(in_dev)
        for ifa in list(lst[lst.index(ifa1) + 1:]):
            if not ifa.ifa_flags & IFA_F_SECONDARY or ifa1.ifa_mask != ifa.ifa_mask or \
                    not inet_ifa_match(ifa1.ifa_address, ifa):
                continue
            if not do_promote:
                inet_hash_remove(net, ifa)
                lst.remove(ifa)
                _inetaddr_notify(net, NETDEV_DOWN, ifa)
            else:
                promote = ifa
                break
        if promote is not None:
            from .fib_frontend import fib_del_ifaddr
            for ifa in lst[lst.index(promote):]:
                if ifa1.ifa_mask == ifa.ifa_mask and inet_ifa_match(ifa1.ifa_address, ifa):
                    fib_del_ifaddr(ifa, ifa1)
    if ifa1 in lst:
        lst.remove(ifa1)
    inet_hash_remove(net, ifa1)
    _inetaddr_notify(net, NETDEV_DOWN, ifa1)
    if promote is not None:
        from .fib_frontend import fib_add_ifaddr
        idx = lst.index(promote)
        lst.pop(idx)
        last_primary = 0
        for i, ifa in enumerate(lst):
            if not ifa.ifa_flags & IFA_F_SECONDARY and ifa1.ifa_scope <= ifa.ifa_scope:
                last_primary = i + 1
        lst.insert(last_primary, promote)
        promote.ifa_flags &= ~IFA_F_SECONDARY
        _inetaddr_notify(net, NETDEV_UP, promote)
        for ifa in lst[lst.index(promote) + 1:]:
            if ifa1.ifa_mask == ifa.ifa_mask and inet_ifa_match(ifa1.ifa_address, ifa):
                fib_add_ifaddr(ifa)


def inet_del_ifa(in_dev, ifa, destroy: bool = True) -> None:
    __inet_del_ifa(in_dev, ifa, destroy)


def _parse_addr(v) -> int:
    if isinstance(v, int):
        return v
    from ...wire.inet import in_aton
    return in_aton(str(v))


def inet_rtm_newaddr(net, ifindex, local, prefixlen=32, broadcast=None, label=None, scope=None,
                     address=None, flags: int = 0, metric: int = 0, valid_lft=None,
                     preferred_lft=None, nlflags: int = NLM_F_CREATE | NLM_F_EXCL,
                     extack=None) -> int:
    """`ip addr add LOCAL/PREFIXLEN [brd B] [label L] [scope S] dev D`: 0 or -errno
    (-EEXIST for an address already on the device, -ENODEV, -EINVAL)."""
    from ...core.dev import dev_get_by_index, dev_get_by_name
    if prefixlen is None:
        prefixlen = 32
    if not 0 <= prefixlen <= 32 or local is None:
        return -EINVAL
    dev = dev_get_by_name(net, ifindex) if isinstance(ifindex, str) else dev_get_by_index(net, ifindex)
    if dev is None:
        return -ENODEV
    in_dev = dev.ip_ptr
    if in_dev is None:
        return -ENOBUFS
    local = _parse_addr(local)
    ifa = InIfaddr(in_dev)
    ifa.ifa_prefixlen = prefixlen
    ifa.ifa_mask = inet_make_mask(prefixlen)
    ifa.ifa_flags = flags & ~IFA_F_SECONDARY
    ifa.ifa_local = local
    ifa.ifa_address = _parse_addr(address) if address is not None else local
    if broadcast is not None:
        if broadcast == "+":
            broadcast = local | (~ifa.ifa_mask & 0xFFFFFFFF)
        elif broadcast == "-":
            broadcast = local & ifa.ifa_mask
        ifa.ifa_broadcast = _parse_addr(broadcast)
    if scope is None:
        # iproute2's default_scope(): host for 127/8, else global.
        scope = RT_SCOPE_HOST if (local >> 24) == 127 else RT_SCOPE_UNIVERSE
    ifa.ifa_scope = rtnl_rtscope_a2n(scope)
    ifa.ifa_label = label or dev.name
    ifa.ifa_rt_priority = int(metric or 0)
    if valid_lft is not None or preferred_lft is not None:
        v = INFINITY_LIFE_TIME if valid_lft in (None, "forever") else int(valid_lft)
        p = v if preferred_lft is None else (INFINITY_LIFE_TIME if preferred_lft == "forever"
                                             else int(preferred_lft))
        if not v or p > v:
            return -EINVAL
        ifa.ifa_valid_lft = v
        ifa.ifa_preferred_lft = p
        if not p:
            ifa.ifa_flags |= IFA_F_DEPRECATED
    # find_matching_ifa: the same address in the same subnet already there?
    for ifa1 in in_dev.ifa_list:
        if ifa1.ifa_mask == ifa.ifa_mask and inet_ifa_match(ifa1.ifa_address, ifa) and \
                ifa1.ifa_local == ifa.ifa_local:
            if nlflags & NLM_F_EXCL or not nlflags & NLM_F_REPLACE:
                return -EEXIST
            ifa1.ifa_valid_lft = ifa.ifa_valid_lft
            ifa1.ifa_preferred_lft = ifa.ifa_preferred_lft
            ifa1.ifa_tstamp = net.clock.now()
            if ifa1.ifa_rt_priority != ifa.ifa_rt_priority:
                from .fib_frontend import fib_add_ifaddr, fib_del_ifaddr
                fib_del_ifaddr(ifa1)
                ifa1.ifa_rt_priority = ifa.ifa_rt_priority
                fib_add_ifaddr(ifa1)
            _schedule_lifetime_check(net)
            return 0
    return __inet_insert_ifa(ifa, extack)


def inet_rtm_deladdr(net, ifindex, local=None, prefixlen=None, label=None, address=None,
                     extack=None) -> int:
    """`ip addr del LOCAL/PREFIXLEN dev D`: 0, -ENODEV or -EADDRNOTAVAIL."""
    from ...core.dev import dev_get_by_index, dev_get_by_name
    dev = dev_get_by_name(net, ifindex) if isinstance(ifindex, str) else dev_get_by_index(net, ifindex)
    if dev is None:
        return -ENODEV
    in_dev = dev.ip_ptr
    if in_dev is None:
        return -EADDRNOTAVAIL
    local = _parse_addr(local) if local is not None else None
    if address is None and local is not None and prefixlen is not None:
        address = local
    address = _parse_addr(address) if address is not None else None
    for ifa in list(in_dev.ifa_list):
        if local is not None and ifa.ifa_local != local:
            continue
        if label and ifa.ifa_label != label:
            continue
        if address is not None and (prefixlen is not None and prefixlen != ifa.ifa_prefixlen or
                                    not inet_ifa_match(address, ifa)):
            continue
        __inet_del_ifa(in_dev, ifa, True)
        return 0
    NL_SET_ERR_MSG(extack, "ipv4: Address not found")
    return -EADDRNOTAVAIL


# --- address lifetimes (check_lifetime) -----------------------------------------------------
def _schedule_lifetime_check(net) -> None:
    nxt = None
    for dev in net.dev_base:
        idev = dev.ip_ptr
        if idev is None:
            continue
        for ifa in idev.ifa_list:
            for lft in (ifa.ifa_valid_lft, ifa.ifa_preferred_lft):
                if lft != INFINITY_LIFE_TIME:
                    t = ifa.ifa_tstamp + lft
                    if lft == ifa.ifa_preferred_lft and ifa.ifa_flags & IFA_F_DEPRECATED:
                        continue
                    if nxt is None or t < nxt:
                        nxt = t
    timer = net.gen.get("devinet_lifetime_timer")
    if timer is None:
        timer = net.gen["devinet_lifetime_timer"] = TimerList(check_lifetime, net, name="check_lifetime")
    if nxt is None:
        net.timers.del_timer(timer)
    else:
        net.timers.mod_timer(timer, max(nxt, net.clock.now()))


def check_lifetime(net) -> None:
    """Delete addresses whose valid lifetime ran out; deprecate those past preferred."""
    now = net.clock.now()
    for dev in list(net.dev_base):
        idev = dev.ip_ptr
        if idev is None:
            continue
        for ifa in list(idev.ifa_list):
            if ifa.ifa_flags & IFA_F_PERMANENT:
                continue
            age = now - ifa.ifa_tstamp
            if ifa.ifa_valid_lft != INFINITY_LIFE_TIME and age >= ifa.ifa_valid_lft:
                if ifa in idev.ifa_list:
                    __inet_del_ifa(idev, ifa, True)
            elif ifa.ifa_preferred_lft != INFINITY_LIFE_TIME and age >= ifa.ifa_preferred_lft:
                ifa.ifa_flags |= IFA_F_DEPRECATED
    _schedule_lifetime_check(net)


# --- dumps ---------------------------------------------------------------------------------
def inet_fill_ifaddr(ifa, now: float) -> dict:
    d = {"family": "inet", "local": _ntoa(ifa.ifa_local), "prefixlen": ifa.ifa_prefixlen}
    if ifa.ifa_address != ifa.ifa_local:
        d["address"] = _ntoa(ifa.ifa_address)
    if ifa.ifa_broadcast:
        d["broadcast"] = _ntoa(ifa.ifa_broadcast)
    d["scope"] = RT_SCOPE_NAMES.get(ifa.ifa_scope, str(ifa.ifa_scope))
    if ifa.ifa_flags & IFA_F_SECONDARY:
        d["secondary"] = True
    if ifa.ifa_flags & IFA_F_DEPRECATED:
        d["deprecated"] = True
    if ifa.ifa_flags & IFA_F_NOPREFIXROUTE:
        d["noprefixroute"] = True
    d["label"] = ifa.ifa_label
    if ifa.ifa_rt_priority:
        d["metric"] = ifa.ifa_rt_priority
    age = int(now - ifa.ifa_tstamp)
    for key, lft in (("valid_life_time", ifa.ifa_valid_lft), ("preferred_life_time", ifa.ifa_preferred_lft)):
        d[key] = lft if lft == INFINITY_LIFE_TIME else max(0, lft - age)
    return d


def inet_dump_ifaddr(net, ifindex=None) -> list:
    """`ip -j addr show [dev D]`: each link with its IPv4 addr_info."""
    now = net.clock.now()
    out = []
    for dev in net.dev_base:
        if ifindex is not None and dev.ifindex != ifindex and dev.name != ifindex:
            continue
        d = rtnl_fill_ifinfo(dev)
        idev = dev.ip_ptr
        d["addr_info"] = [inet_fill_ifaddr(ifa, now) for ifa in idev.ifa_list] if idev else []
        out.append(d)
    return out


# --- rtnetlink -------------------------------------------------------------------------
def _split_local(attrs):
    local = attrs.get("local") or attrs.get("address")
    plen = attrs.get("prefixlen")
    if isinstance(local, str) and "/" in local:
        local, _, p = local.partition("/")
        plen = int(p)
    return local, plen


def _rtm_newaddr(net, attrs, extack=None):
    from ...core.rtnetlink import rtnl_dev_get
    dev = rtnl_dev_get(net, attrs)
    if dev is None:
        return -ENODEV
    local, plen = _split_local(attrs)
    if local is None:
        return -EINVAL
    return inet_rtm_newaddr(net, dev.ifindex, local, 32 if plen is None else int(plen),
                            broadcast=attrs.get("broadcast") or attrs.get("brd"),
                            label=attrs.get("label"), scope=attrs.get("scope"),
                            address=attrs.get("peer"), metric=attrs.get("metric", 0),
                            valid_lft=attrs.get("valid_lft"), preferred_lft=attrs.get("preferred_lft"),
                            flags=IFA_F_NOPREFIXROUTE if attrs.get("noprefixroute") else 0,
                            nlflags=attrs.get("nlmsg_flags", NLM_F_CREATE | NLM_F_EXCL),
                            extack=extack)


def _rtm_deladdr(net, attrs, extack=None):
    from ...core.rtnetlink import rtnl_dev_get
    dev = rtnl_dev_get(net, attrs)
    if dev is None:
        return -ENODEV
    local, plen = _split_local(attrs)
    return inet_rtm_deladdr(net, dev.ifindex, local, None if plen is None else int(plen),
                            label=attrs.get("label"), extack=extack)


def _rtm_dumpaddr(net, attrs) -> list:
    from ...core.rtnetlink import rtnl_dev_get
    dev = rtnl_dev_get(net, attrs)
    return inet_dump_ifaddr(net, dev.ifindex if dev is not None else None)


# --- forwarding and sysctls --------------------------------------------------------------
def inet_forward_change(net) -> None:
    """net.ipv4.ip_forward / conf.all.forwarding changed: every device follows, and
    a router does not accept redirects (devinet.c inet_forward_change)."""
    from .route import rt_cache_flush
    fn = _fn(net)
    on = 1 if fn.devconf_all["forwarding"] else 0
    fn.devconf_all["accept_redirects"] = 0 if on else 1
    fn.devconf_dflt["forwarding"] = on
    if net.ipv4 is not None:
        net.ipv4.sysctl_ip_forward = on
    net.mib.Ip["Forwarding"] = 1 if on else 2
    for dev in net.dev_base:
        idev = dev.ip_ptr
        if idev is not None:
            idev.cnf["forwarding"] = on
    rt_cache_flush(net)


class DevConfView:
    """Rows of net.ipv4.conf.<X>.* read and write one conf dict."""

    __slots__ = ("cnf",)

    def __init__(self, cnf):
        object.__setattr__(self, "cnf", cnf)

    def __getattr__(self, name):
        try:
            return self.cnf[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self.cnf[name] = value


def devinet_conf_written(net, name: str, row) -> None:
    """After a write to net.ipv4.conf.<X>.<p>: default propagates, forwarding spreads."""
    from .route import rt_cache_flush
    parts = name.split(".")
    if len(parts) != 5:
        return
    which, proc = parts[3], parts[4]
    fn = _fn(net)
    value = row.data.cnf[proc]
    if which == "all":
        fn.devconf_all_set.add(proc)
        if proc == "forwarding":
            inet_forward_change(net)
            return
    elif which == "default":
        fn.devconf_dflt_set.add(proc)
        if proc != "forwarding":
            # devinet_copy_dflt_conf: devices that never set it follow the default.
            for dev in net.dev_base:
                idev = dev.ip_ptr
                if idev is not None and proc not in idev.cnf_state:
                    idev.cnf[proc] = value
    else:
        dev = net.dev_by_name.get(which)
        if dev is not None and dev.ip_ptr is not None:
            dev.ip_ptr.cnf_state.add(proc)
    if proc in _FLUSH_ON_WRITE:
        rt_cache_flush(net)


def _conf_rows(cnf) -> list:
    view = DevConfView(cnf)
    rows = []
    for proc in DEVCONF_DEFAULTS:
        rows.append(CtlTable(proc, view, proc, "dointvec", mode=0o444 if proc in _READ_ONLY else 0o644))
    return rows


def devinet_sysctl_register(in_dev) -> None:
    net = in_dev.net
    register_net_sysctl(net, f"net/ipv4/conf/{in_dev.dev.name}", _conf_rows(in_dev.cnf),
                        on_write=devinet_conf_written)
    from ...core.neighbour import neigh_sysctl_register
    neigh_sysctl_register(net, in_dev.dev, in_dev.arp_parms, "ipv4")


def devinet_sysctl_unregister(in_dev) -> None:
    net = in_dev.net
    unregister_net_sysctl(net, f"net/ipv4/conf/{in_dev.dev.name}")
    from ...core.neighbour import neigh_sysctl_unregister
    neigh_sysctl_unregister(net, in_dev.dev, "ipv4")


# --- device events -------------------------------------------------------------------------
def inetdev_valid_mtu(mtu: int) -> bool:
    return mtu >= IPV4_MIN_MTU


def inetdev_init(dev):
    from .arp import arp_tbl_of
    from ...core.neighbour import neigh_parms_alloc
    net = dev.nd_net
    fn = _fn(net)
    in_dev = InDevice(dev)
    in_dev.cnf = dict(fn.devconf_dflt)
    in_dev.all = fn.devconf_all
    in_dev.arp_parms = neigh_parms_alloc(dev, arp_tbl_of(net))
    if dev.flags & IFF_LOOPBACK:
        in_dev.cnf["disable_xfrm"] = 1
        in_dev.cnf["disable_policy"] = 1
    dev.ip_ptr = in_dev
    devinet_sysctl_register(in_dev)
    return in_dev


def inetdev_destroy(in_dev) -> None:
    from .arp import arp_ifdown, arp_tbl_of
    from ...core.neighbour import neigh_parms_release
    dev = in_dev.dev
    in_dev.dead = True
    while in_dev.ifa_list:
        __inet_del_ifa(in_dev, in_dev.ifa_list[0], False)
    dev.ip_ptr = None
    devinet_sysctl_unregister(in_dev)
    neigh_parms_release(arp_tbl_of(dev.nd_net), in_dev.arp_parms)
    arp_ifdown(dev)


def inetdev_send_gratuitous_arp(dev, in_dev) -> None:
    from .arp import ARPOP_REQUEST, arp_send
    from ...net.ethernet.eth import ETH_P_ARP
    for ifa in list(in_dev.ifa_list):
        arp_send(ARPOP_REQUEST, ETH_P_ARP, ifa.ifa_local, dev, ifa.ifa_local, None,
                 dev.dev_addr, None)


def inetdev_event(event: int, dev) -> None:
    in_dev = dev.ip_ptr
    if in_dev is None:
        if event == NETDEV_REGISTER or (event == NETDEV_CHANGEMTU and inetdev_valid_mtu(dev.mtu)):
            inetdev_init(dev)
        return
    if event == NETDEV_UP:
        if not inetdev_valid_mtu(dev.mtu):
            return
        if dev.flags & IFF_LOOPBACK:
            ifa = InIfaddr(in_dev)
            ifa.ifa_local = ifa.ifa_address = INADDR_LOOPBACK
            ifa.ifa_prefixlen = 8
            ifa.ifa_mask = inet_make_mask(8)
            ifa.ifa_scope = RT_SCOPE_HOST
            ifa.ifa_label = dev.name
            inet_insert_ifa(ifa)
        if IN_DEV_ARP_NOTIFY(in_dev):
            inetdev_send_gratuitous_arp(dev, in_dev)
    elif event == NETDEV_CHANGEADDR:
        if IN_DEV_ARP_NOTIFY(in_dev):
            inetdev_send_gratuitous_arp(dev, in_dev)
    elif event == NETDEV_CHANGEMTU:
        if not inetdev_valid_mtu(dev.mtu):
            inetdev_destroy(in_dev)
    elif event == NETDEV_UNREGISTER:
        inetdev_destroy(in_dev)


# --- boot ----------------------------------------------------------------------------------
def _ip_forward_written(net, name, row) -> None:
    _fn(net).devconf_all["forwarding"] = 1 if getattr(net.ipv4, "sysctl_ip_forward", 0) else 0
    inet_forward_change(net)


def devinet_init_net(net) -> None:
    """Per-Net: conf.all/default, the ip_forward hook, in_devices for existing devices."""
    from ...core.dev import register_netdevice_notifier
    from .fib_semantics import FibNet
    if "fib" not in net.gen:
        net.gen["fib"] = FibNet(net)
    fn = net.gen["fib"]
    fn.devconf_dflt = dict(DEVCONF_DEFAULTS)
    fn.devconf_all = dict(DEVCONF_DEFAULTS, **DEVCONF_ALL_OVERRIDES)
    if net.ipv4 is not None and getattr(net.ipv4, "sysctl_ip_forward", 0):
        fn.devconf_all["forwarding"] = fn.devconf_dflt["forwarding"] = 1
    register_net_sysctl(net, "net/ipv4/conf/all", _conf_rows(fn.devconf_all), on_write=devinet_conf_written)
    register_net_sysctl(net, "net/ipv4/conf/default", _conf_rows(fn.devconf_dflt),
                        on_write=devinet_conf_written)
    prev = net.sysctl.hooks.get("net.ipv4.ip_forward")
    if prev is not None and prev is not _ip_forward_written:
        def hook(net_, name, row, _prev=prev):
            _prev(net_, name, row)
            _ip_forward_written(net_, name, row)
        net.sysctl.hooks["net.ipv4.ip_forward"] = hook
    else:
        net.sysctl.hooks["net.ipv4.ip_forward"] = _ip_forward_written
    register_netdevice_notifier(net, inetdev_event)
    # register_netdevice_notifier replays REGISTER and UP for existing devices.
    for dev in list(net.dev_base):
        inetdev_event(NETDEV_REGISTER, dev)
        if dev.is_up:
            inetdev_event(NETDEV_UP, dev)


def devinet_init() -> None:
    rtnl_register(RTM_NEWADDR, _rtm_newaddr, None)
    rtnl_register(RTM_DELADDR, _rtm_deladdr, None)
    rtnl_register(RTM_GETADDR, None, _rtm_dumpaddr)


