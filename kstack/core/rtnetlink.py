"""net/core/rtnetlink.c, include/uapi/linux/rtnetlink.h: routing-netlink message dispatch.

The control server and the `ip` tool speak rtnetlink as dicts carrying iproute2's
attribute names ({"dst": "10.0.0.0/24", "gateway": "10.0.0.1", "dev": "eth0"}).
rtnetlink_rcv_msg(net, msgtype, attrs) finds the handler registered for the message
type with rtnl_register(msgtype, doit, dumpit) and returns (0 | -errno, payload): a
GET with NLM_F_DUMP (attrs["dump"] true, or no doit registered) runs dumpit and
returns a list of dicts in `ip -j` form; other messages run doit. An error may come
with {"msg": "..."} (the netlink extended ack `ip` prints as "Error: ...").

RTM_NEWLINK / RTM_SETLINK / RTM_DELLINK / RTM_GETLINK are handled here, as in the
kernel (rtnl_newlink, rtnl_setlink, rtnl_dellink, rtnl_getlink/rtnl_dump_ifinfo);
addresses (devinet), routes (fib_frontend, route) and neighbours (arp/neighbour)
register theirs at boot.
"""
from .errno import EEXIST, EINVAL, ENODEV, EOPNOTSUPP

# --- message types --------------------------------------------------------------------
RTM_NEWLINK = 16
RTM_DELLINK = 17
RTM_GETLINK = 18
RTM_SETLINK = 19
RTM_NEWADDR = 20
RTM_DELADDR = 21
RTM_GETADDR = 22
RTM_NEWROUTE = 24
RTM_DELROUTE = 25
RTM_GETROUTE = 26
RTM_NEWNEIGH = 28
RTM_DELNEIGH = 29
RTM_GETNEIGH = 30
RTM_NEWRULE = 32
RTM_DELRULE = 33
RTM_GETRULE = 34

RTM_NAMES = {v: k for k, v in dict(globals()).items() if k.startswith("RTM_")}
RTM_BY_NAME = {k: v for v, k in RTM_NAMES.items()}

# include/uapi/linux/netlink.h
NLM_F_REQUEST = 0x01
NLM_F_MULTI = 0x02
NLM_F_ACK = 0x04
NLM_F_ECHO = 0x08
NLM_F_ROOT = 0x100
NLM_F_MATCH = 0x200
NLM_F_DUMP = NLM_F_ROOT | NLM_F_MATCH
NLM_F_REPLACE = 0x100
NLM_F_EXCL = 0x200
NLM_F_CREATE = 0x400
NLM_F_APPEND = 0x800

# rtm_type
RTN_UNSPEC = 0
RTN_UNICAST = 1
RTN_LOCAL = 2
RTN_BROADCAST = 3
RTN_ANYCAST = 4
RTN_MULTICAST = 5
RTN_BLACKHOLE = 6
RTN_UNREACHABLE = 7
RTN_PROHIBIT = 8
RTN_THROW = 9
RTN_NAT = 10
RTN_XRESOLVE = 11
RTN_MAX = 11
RTN_NAMES = {RTN_UNSPEC: "none", RTN_UNICAST: "unicast", RTN_LOCAL: "local",
             RTN_BROADCAST: "broadcast", RTN_ANYCAST: "anycast", RTN_MULTICAST: "multicast",
             RTN_BLACKHOLE: "blackhole", RTN_UNREACHABLE: "unreachable", RTN_PROHIBIT: "prohibit",
             RTN_THROW: "throw", RTN_NAT: "nat", RTN_XRESOLVE: "xresolve"}
RTN_BY_NAME = {v: k for k, v in RTN_NAMES.items()}

# rtm_scope
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_SITE = 200
RT_SCOPE_LINK = 253
RT_SCOPE_HOST = 254
RT_SCOPE_NOWHERE = 255
RT_SCOPE_NAMES = {RT_SCOPE_UNIVERSE: "global", RT_SCOPE_SITE: "site", RT_SCOPE_LINK: "link",
                  RT_SCOPE_HOST: "host", RT_SCOPE_NOWHERE: "nowhere"}
RT_SCOPE_BY_NAME = {v: k for k, v in RT_SCOPE_NAMES.items()}
RT_SCOPE_BY_NAME["universe"] = RT_SCOPE_UNIVERSE

# rtm_protocol (/etc/iproute2/rt_protos)
RTPROT_UNSPEC = 0
RTPROT_REDIRECT = 1
RTPROT_KERNEL = 2
RTPROT_BOOT = 3
RTPROT_STATIC = 4
RTPROT_NAMES = {0: "unspec", 1: "redirect", 2: "kernel", 3: "boot", 4: "static", 8: "gated",
                9: "ra", 10: "mrt", 11: "zebra", 12: "bird", 13: "dnrouted", 14: "xorp",
                15: "ntk", 16: "dhcp", 18: "keepalived", 42: "babel", 99: "openr", 186: "bgp",
                187: "isis", 188: "ospf", 189: "rip", 192: "eigrp"}
RTPROT_BY_NAME = {v: k for k, v in RTPROT_NAMES.items()}

# rtm_table
RT_TABLE_UNSPEC = 0
RT_TABLE_COMPAT = 252
RT_TABLE_DEFAULT = 253
RT_TABLE_MAIN = 254
RT_TABLE_LOCAL = 255
RT_TABLE_MAX = 0xFFFFFFFF
RT_TABLE_NAMES = {RT_TABLE_UNSPEC: "unspec", RT_TABLE_DEFAULT: "default", RT_TABLE_MAIN: "main",
                  RT_TABLE_LOCAL: "local"}
RT_TABLE_BY_NAME = {v: k for k, v in RT_TABLE_NAMES.items()}

# rtnh_flags
RTNH_F_DEAD = 1
RTNH_F_PERVASIVE = 2
RTNH_F_ONLINK = 4
RTNH_F_OFFLOAD = 8
RTNH_F_LINKDOWN = 16
RTNH_F_UNRESOLVED = 32
RTNH_F_TRAP = 64
RTNH_F_NAMES = [(RTNH_F_DEAD, "dead"), (RTNH_F_PERVASIVE, "pervasive"), (RTNH_F_ONLINK, "onlink"),
                (RTNH_F_OFFLOAD, "offload"), (RTNH_F_LINKDOWN, "linkdown"),
                (RTNH_F_UNRESOLVED, "unresolved"), (RTNH_F_TRAP, "trap")]

# rtm_flags
RTM_F_NOTIFY = 0x100
RTM_F_CLONED = 0x200
RTM_F_EQUALIZE = 0x400
RTM_F_PREFIX = 0x800
RTM_F_LOOKUP_TABLE = 0x1000
RTM_F_FIB_MATCH = 0x2000


def rt_table_name(tb_id: int) -> str:
    return RT_TABLE_NAMES.get(tb_id, str(tb_id))


def rt_table_id(name) -> int:
    """'main' | 'local' | 'default' | '100' | 100 -> table id; -1 if malformed."""
    if isinstance(name, int):
        return name
    s = str(name)
    if s in RT_TABLE_BY_NAME:
        return RT_TABLE_BY_NAME[s]
    try:
        v = int(s, 0)
    except ValueError:
        return -1
    return v if 0 <= v <= RT_TABLE_MAX else -1


def _by_name(value, table: dict, what: str) -> int:
    if isinstance(value, int):
        return value
    s = str(value)
    if s in table:
        return table[s]
    return int(s, 0)


def rtnl_rtntype_a2n(value) -> int:
    return _by_name(value, RTN_BY_NAME, "type")


def rtnl_rtscope_a2n(value) -> int:
    return _by_name(value, RT_SCOPE_BY_NAME, "scope")


def rtnl_rtprot_a2n(value) -> int:
    return _by_name(value, RTPROT_BY_NAME, "protocol")


class Extack:
    """struct netlink_ext_ack: the human-readable reason for an error."""

    __slots__ = ("_msg",)

    def __init__(self):
        self._msg = None

    def __repr__(self):
        return f"<extack {self._msg!r}>"


def NL_SET_ERR_MSG(extack, msg: str) -> None:
    if extack is not None:
        extack._msg = msg


# --- registration and dispatch --------------------------------------------------------
class RtnlLink:
    __slots__ = ("doit", "dumpit")

    def __init__(self, doit, dumpit):
        self.doit = doit
        self.dumpit = dumpit


rtnl_msg_handlers: dict = {}


def rtnl_register(msgtype: int, doit, dumpit) -> None:
    """doit(net, attrs, extack) -> 0 | -errno | (0, payload); dumpit(net, attrs) -> [dict]."""
    cur = rtnl_msg_handlers.get(msgtype)
    if cur is None:
        rtnl_msg_handlers[msgtype] = RtnlLink(doit, dumpit)
    else:
        if doit is not None:
            cur.doit = doit
        if dumpit is not None:
            cur.dumpit = dumpit


def rtnl_unregister(msgtype: int) -> None:
    rtnl_msg_handlers.pop(msgtype, None)


def _is_get(msgtype: int) -> bool:
    return msgtype in (RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE, RTM_GETNEIGH, RTM_GETRULE)


def rtnetlink_rcv_msg(net, msgtype, attrs=None):
    """Dispatch one request: (0 | -errno, payload)."""
    if isinstance(msgtype, str):
        msgtype = RTM_BY_NAME.get(msgtype.upper(), -1)
    attrs = dict(attrs or {})
    link = rtnl_msg_handlers.get(msgtype)
    if link is None:
        return -EOPNOTSUPP, None
    flags = attrs.get("nlmsg_flags", 0)
    dump = _is_get(msgtype) and (attrs.get("dump") or (flags & NLM_F_DUMP) == NLM_F_DUMP
                                 or link.doit is None)
    if dump:
        if link.dumpit is None:
            return -EOPNOTSUPP, None
        return 0, link.dumpit(net, attrs)
    if link.doit is None:
        return -EOPNOTSUPP, None
    extack = Extack()
    try:
        r = link.doit(net, attrs, extack)
    except (ValueError, TypeError, KeyError) as e:
        # A malformed attribute (bad address text, wrong type): the kernel's -EINVAL.
        return -EINVAL, {"msg": f"invalid argument: {e}"}
    if isinstance(r, tuple):
        err, payload = r
    else:
        err, payload = r, None
    if err < 0 and extack._msg is not None and payload is None:
        payload = {"msg": extack._msg}
    return err, payload


# --- helpers shared by the handlers ----------------------------------------------------
def rtnl_dev_get(net, attrs):
    """The device a request names by "dev"/"ifname" or "ifindex"/"oif"; None if absent."""
    from .dev import dev_get_by_index, dev_get_by_name
    for key in ("ifindex", "index"):
        if attrs.get(key):
            return dev_get_by_index(net, int(attrs[key]))
    for key in ("dev", "ifname"):
        v = attrs.get(key)
        if v:
            if isinstance(v, int):
                return dev_get_by_index(net, v)
            return dev_get_by_name(net, v)
    return None


def _named_dev(net, attrs):
    """(dev, err): err -ENODEV if a device was named but does not exist."""
    named = any(attrs.get(k) for k in ("ifindex", "index", "dev", "ifname"))
    dev = rtnl_dev_get(net, attrs)
    if named and dev is None:
        return None, -ENODEV
    return dev, 0


# --- links ---------------------------------------------------------------------------
_IFF_PRINT_ORDER = ["LOOPBACK", "BROADCAST", "POINTOPOINT", "MULTICAST", "NOARP", "ALLMULTI",
                    "PROMISC", "NOTRAILERS", "DEBUG", "UP", "LOWER_UP"]
_LINK_TYPES = {1: "ether", 772: "loopback", 0xFFFE: "none", 776: "ipip", 778: "gre"}


def rtnl_link_flags(dev) -> list:
    from .netdevice import (IFF_ALLMULTI, IFF_BROADCAST, IFF_DEBUG, IFF_LOOPBACK, IFF_LOWER_UP,
                            IFF_MULTICAST, IFF_NOARP, IFF_NOTRAILERS, IFF_POINTOPOINT, IFF_PROMISC,
                            IFF_RUNNING, IFF_UP)
    bits = {"LOOPBACK": IFF_LOOPBACK, "BROADCAST": IFF_BROADCAST, "POINTOPOINT": IFF_POINTOPOINT,
            "MULTICAST": IFF_MULTICAST, "NOARP": IFF_NOARP, "ALLMULTI": IFF_ALLMULTI,
            "PROMISC": IFF_PROMISC, "NOTRAILERS": IFF_NOTRAILERS, "DEBUG": IFF_DEBUG,
            "UP": IFF_UP, "LOWER_UP": IFF_LOWER_UP}
    out = []
    f = dev.flags
    if f & IFF_UP and not f & IFF_RUNNING:
        out.append("NO-CARRIER")
    out += [name for name in _IFF_PRINT_ORDER if f & bits[name]]
    return out


def rtnl_fill_ifinfo(dev, stats: bool = False, details: bool = False) -> dict:
    """One link as `ip -j link` prints it."""
    from .netdevice import OPERSTATE_NAMES
    d = {"ifindex": dev.ifindex}
    if dev.iflink and dev.iflink != dev.ifindex:
        d["link_index"] = dev.iflink
    d["ifname"] = dev.name
    d["flags"] = rtnl_link_flags(dev)
    d["mtu"] = dev.mtu
    d["qdisc"] = dev.qdisc.kind if dev.qdisc is not None else "noop"
    d["operstate"] = OPERSTATE_NAMES.get(dev.operstate, "UNKNOWN")
    d["linkmode"] = "DEFAULT"
    d["group"] = "default" if not dev.group else str(dev.group)
    d["txqlen"] = dev.tx_queue_len
    d["link_type"] = _LINK_TYPES.get(dev.type, str(dev.type))
    if dev.addr_len:
        d["address"] = bytes(dev.dev_addr).hex(":")
        d["broadcast"] = bytes(dev.broadcast).hex(":")
    if details:
        d["min_mtu"] = dev.min_mtu
        d["max_mtu"] = dev.max_mtu
        if dev.link_kind and dev.link_kind != "loopback":
            d["linkinfo"] = {"info_kind": dev.link_kind}
    if stats:
        s = dev.dev_get_stats()
        d["stats64"] = {
            "rx": {"bytes": s.rx_bytes, "packets": s.rx_packets, "errors": s.rx_errors,
                   "dropped": s.rx_dropped, "over_errors": s.rx_over_errors,
                   "multicast": s.multicast},
            "tx": {"bytes": s.tx_bytes, "packets": s.tx_packets, "errors": s.tx_errors,
                   "dropped": s.tx_dropped, "carrier_errors": s.tx_carrier_errors,
                   "collisions": s.collisions},
        }
    return d


def rtnl_dump_ifinfo(net, attrs) -> list:
    dev = rtnl_dev_get(net, attrs)
    devs = [dev] if dev is not None else list(net.dev_base)
    return [rtnl_fill_ifinfo(d, bool(attrs.get("stats")), bool(attrs.get("details")))
            for d in devs if d is not None]


def rtnl_getlink(net, attrs, extack=None):
    dev = rtnl_dev_get(net, attrs)
    if dev is None:
        return -ENODEV
    return 0, rtnl_fill_ifinfo(dev, bool(attrs.get("stats")), bool(attrs.get("details")))


def dev_set_mac_address(dev, addr: bytes) -> int:
    from .dev import call_netdevice_notifiers
    from .netdevice import NETDEV_CHANGEADDR
    addr = bytes(addr)
    if len(addr) != dev.addr_len:
        return -EINVAL
    if dev.netdev_ops.ndo_set_mac_address is not None:
        r = dev.netdev_ops.ndo_set_mac_address(dev, addr)
        if r:
            return r
    else:
        dev.dev_addr = addr
    call_netdevice_notifiers(NETDEV_CHANGEADDR, dev)
    return 0


def _parse_mac(v) -> bytes:
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    parts = str(v).split(":")
    b = bytes(int(p, 16) for p in parts)
    return b


def do_setlink(dev, attrs, extack=None) -> int:
    """Apply mtu / address / txqueuelen / up|down from a SETLINK or NEWLINK request."""
    from .dev import dev_close, dev_open, dev_set_mtu
    if attrs.get("mtu") is not None:
        r = dev_set_mtu(dev, int(attrs["mtu"]))
        if r:
            NL_SET_ERR_MSG(extack, "mtu out of range" if r == -EINVAL else None)
            return r
    for key in ("address", "lladdr"):
        if attrs.get(key) is not None:
            r = dev_set_mac_address(dev, _parse_mac(attrs[key]))
            if r:
                return r
    for key in ("txqueuelen", "txqlen", "qlen"):
        if attrs.get(key) is not None:
            v = int(attrs[key])
            if v < 0:
                return -EINVAL
            dev.tx_queue_len = v
    up = attrs.get("up")
    state = attrs.get("state")
    if state is not None:
        up = str(state).lower() == "up"
    if up is True:
        r = dev_open(dev)
        if r:
            return r
    elif up is False:
        dev_close(dev)
    return 0


def rtnl_setlink(net, attrs, extack=None):
    dev = rtnl_dev_get(net, attrs)
    if dev is None:
        NL_SET_ERR_MSG(extack, "Cannot find device")
        return -ENODEV
    return do_setlink(dev, attrs, extack)


def rtnl_newlink(net, attrs, extack=None):
    """`ip link add NAME type veth peer name PEER` (or a SETLINK on an existing device)."""
    flags = attrs.get("nlmsg_flags", NLM_F_CREATE | NLM_F_EXCL)
    name = attrs.get("ifname") or attrs.get("dev")
    dev = rtnl_dev_get(net, attrs)
    if dev is not None:
        if flags & NLM_F_EXCL:
            return -EEXIST
        return do_setlink(dev, attrs, extack)
    kind = attrs.get("kind")
    if not name or not isinstance(name, str):
        return -EINVAL
    if kind == "veth":
        from ..drivers.net.veth import veth_newlink
        peer = attrs.get("peer") or attrs.get("peer_name")
        peer_net = attrs.get("peer_net") or net
        if not peer:
            # veth_newlink picks "vethN" when no peer name is given.
            i = 0
            while f"veth{i}" in peer_net.dev_by_name:
                i += 1
            peer = f"veth{i}"
        if peer in peer_net.dev_by_name or (peer_net is net and peer == name):
            return -EEXIST
        try:
            a, b = veth_newlink(net, name, peer_net, peer)
        except OSError as e:
            return -(e.errno or EINVAL)
        rest = {k: v for k, v in attrs.items() if k in ("mtu", "address", "txqueuelen", "up", "state")}
        return do_setlink(a, rest, extack)
    NL_SET_ERR_MSG(extack, f"Unknown device type" if kind else "Device type not given")
    return -EOPNOTSUPP


def rtnl_dellink(net, attrs, extack=None):
    from .dev import unregister_netdevice
    dev = rtnl_dev_get(net, attrs)
    if dev is None:
        return -ENODEV
    if dev.link_kind != "veth":
        return -EOPNOTSUPP
    peer = dev.priv.peer if dev.priv is not None else None
    unregister_netdevice(dev)
    if peer is not None and peer.registered:
        peer.priv.peer = None
        unregister_netdevice(peer)
    dev.priv.peer = None
    return 0


def rtnetlink_init() -> None:
    rtnl_register(RTM_NEWLINK, rtnl_newlink, None)
    rtnl_register(RTM_DELLINK, rtnl_dellink, None)
    rtnl_register(RTM_GETLINK, rtnl_getlink, rtnl_dump_ifinfo)
    rtnl_register(RTM_SETLINK, rtnl_setlink, None)


rtnetlink_init()
