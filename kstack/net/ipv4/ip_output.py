"""net/ipv4/ip_output.c (with include/net/ip.h's inlines and route.c's IP ID generator) —
RFC 791, RFC 1122 §3.3, RFC 1191 (DF and PMTU), RFC 6864 (the IP ID field).

The transmit chain, split at each netfilter hook as in the kernel:

    ip_queue_xmit (TCP) / ip_build_and_send_pkt (SYN-ACK) / ip_make_skb + ip_send_skb (UDP, raw,
    ping, ICMP) / ip_send_unicast_reply (RST) -> ip_local_out -> __ip_local_out (tot_len,
    header checksum) -> NF_HOOK(LOCAL_OUT) -> dst_output -> ip_output (dev, ETH_P_IP)
    -> NF_HOOK_COND(POST_ROUTING) -> ip_finish_output (fragment beyond the MTU)
    -> ip_finish_output2 (next hop neighbour) -> neigh_output -> dev_queue_xmit

Datagram API (the choice asked for): ``ip_make_skb(sk, fl4, data, transhdrlen, ipc, rt,
flags)`` returns one skb holding the whole datagram: the IP header is built, then
``transhdrlen`` zero bytes the caller fills at ``skb.transport_header`` (UDP writes its header
and checksum there, as udp_send_skb does), then ``data`` (bytes-like; for raw and ping
sockets pass transhdrlen=0 and the whole ICMP message as data). ``ip_send_skb(net, skb)``
sends it; fragmentation happens later in ip_finish_output, as the slow path of
ip_do_fragment does. The corked pair ``ip_append_data`` / ``ip_push_pending_frames`` (and
``ip_flush_pending_frames``) keeps the pending bytes in ``sk.cork`` for MSG_MORE/UDP_CORK.

DF, as Linux sets it: IP_PMTUDISC_DO/PROBE always; WANT (the default) when the datagram
fits the path MTU and the route's MTU is not locked. A datagram that does not fit with
WANT goes out without DF and is fragmented (skb->ignore_df); with DO, ip_make_skb fails
with -EMSGSIZE before anything is sent (the kernel's __ip_append_data check).
"""
import struct

from ...core.dev import dev_add_pack, netif_rx
from ...core.dropreason import SkbDropReason
from ...core.errno import EHOSTUNREACH, EINVAL, EMSGSIZE, ENOBUFS, ENOMEM
from ...core.netdevice import IFF_LOOPBACK, NET_XMIT_CN, PacketType
from ...core.skbuff import (CHECKSUM_NONE, CHECKSUM_UNNECESSARY, PACKET_LOOPBACK, SkBuff, consume_skb,
                            kfree_skb, skb_clone, skb_push)
from ...core.dst import __sk_dst_check, __sk_dst_set, dst_mtu
from ...core.neighbour import neigh_output
from ...wire.iphdr import ip_send_check
from ..netfilter.core import (NF_INET_LOCAL_OUT, NF_INET_POST_ROUTING, NF_HOOK, NF_HOOK_COND,
                              NFPROTO_IPV4, nf_hook)
from .arp import ip_neigh_gw4
from .inetpeer import jiffies
from .ip_input import (IPCB, IPSKB_FORWARDED, IPSKB_FRAG_COMPLETE, IPSKB_FRAG_PMTU, IPSKB_REROUTED,
                       RTCF_BROADCAST, RTCF_MULTICAST, RTN_BROADCAST, RTN_MULTICAST, InetSkbParm,
                       ip_rcv)

ETH_P_IP = 0x0800
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
SOCK_STREAM = 1

IP_DF = 0x4000
IP_MF = 0x2000
IP_OFFSET = 0x1FFF
IP_MAX_MTU = 0xFFFF        # include/net/ip.h
IPV4_MIN_MTU = 68

# include/uapi/linux/in.h
IP_PMTUDISC_DONT = 0
IP_PMTUDISC_WANT = 1
IP_PMTUDISC_DO = 2
IP_PMTUDISC_PROBE = 3
IP_PMTUDISC_INTERFACE = 4
IP_PMTUDISC_OMIT = 5

MSG_MORE = 0x8000
MSG_PROBE = 0x10
MAX_HEADER = 128
RTAX_HOPLIMIT = 10
RTAX_MTU = 2
RTAX_LOCK = 1

ICMP_DEST_UNREACH = 3
ICMP_FRAG_NEEDED = 4


class IpcmCookie:
    """struct ipcm_cookie: per-call overrides from cmsg/setsockopt (ipcm_init values).

    ttl 0 means "the socket's"; tos -1 means "the socket's"; opt are raw option bytes."""

    __slots__ = ("addr", "oif", "opt", "ttl", "tos", "protocol", "mark", "priority",
                 "gso_size", "tsflags")

    def __init__(self, addr: int = 0, oif: int = 0, opt=None, ttl: int = 0, tos: int = -1,
                 protocol: int = 0, mark: int = 0, priority: int = 0, gso_size: int = 0):
        self.addr = addr
        self.oif = oif
        self.opt = opt
        self.ttl = ttl
        self.tos = tos
        self.protocol = protocol
        self.mark = mark
        self.priority = priority
        self.gso_size = gso_size
        self.tsflags = 0


def ipcm_init_sk(sk) -> IpcmCookie:
    return IpcmCookie(0, sk.sk_bound_dev_if, None, 0, -1, 0, sk.sk_mark, sk.sk_priority)


# --- routing/neighbour code: core modules bound now, route/arp on first use -----------
_rt = None


class _Routing:
    """The routing engineer's functions (route.py imports this module: bound lazily)."""

    def __init__(self):
        from . import route
        self.route = route
        self.ip_route_output_key = route.ip_route_output_key
        self.Flowi4 = route.Flowi4
        self.rt_nexthop = getattr(route, "rt_nexthop", None)
        try:
            from . import arp
            self.ipv4_neigh_lookup = getattr(arp, "__ipv4_neigh_lookup_noref", None)
        except ImportError:
            self.ipv4_neigh_lookup = None


def _routing() -> _Routing:
    global _rt
    if _rt is None:
        _rt = _Routing()
    return _rt


def flowi4(daddr: int, saddr: int = 0, tos: int = 0, proto: int = 0, oif: int = 0, sport: int = 0,
           dport: int = 0, mark: int = 0, flags: int = 0):
    """A route.Flowi4 (positional order of the routing contract)."""
    return _routing().Flowi4(daddr, saddr, tos, proto, oif, sport, dport, mark, flags)


def _route_err(rt) -> bool:
    return rt.__class__ is int


# --- include/net/ip.h inlines ---------------------------------------------------------
def ip_select_ttl(inet, dst) -> int:
    ttl = inet.uc_ttl if inet is not None else -1
    if ttl < 0:
        ttl = ip4_dst_hoplimit(dst)
    return ttl


def ip4_dst_hoplimit(dst) -> int:
    hoplimit = dst.metrics.get(RTAX_HOPLIMIT, 0) if dst is not None else 0
    if hoplimit == 0:
        return dst.dev.nd_net.ipv4.sysctl_ip_default_ttl
    return hoplimit


def _mtu_locked(dst) -> bool:
    return dst.metrics.get(RTAX_LOCK, 0) & (1 << RTAX_MTU) != 0


def ip_dont_fragment(sk, dst) -> bool:
    pmtudisc = sk.pmtudisc
    # WANT: DF unless the route's MTU is locked (ip_mtu_locked)
    return pmtudisc == IP_PMTUDISC_DO or (
        pmtudisc == IP_PMTUDISC_WANT and not dst.metrics.get(RTAX_LOCK, 0) & (1 << RTAX_MTU))


def ip_sk_accept_pmtu(sk) -> bool:
    p = sk.pmtudisc
    return p != IP_PMTUDISC_INTERFACE and p != IP_PMTUDISC_OMIT


def ip_sk_use_pmtu(sk) -> bool:
    return sk.pmtudisc < IP_PMTUDISC_PROBE


def ip_sk_ignore_df(sk) -> bool:
    p = sk.pmtudisc
    return p < IP_PMTUDISC_DO or p == IP_PMTUDISC_OMIT


def ip_dst_mtu_maybe_forward(dst, forwarding: bool) -> int:
    if not forwarding or dst.dev.nd_net.ipv4.sysctl_ip_fwd_use_pmtu or _mtu_locked(dst):
        mtu = dst_mtu(dst)
    else:
        mtu = dst.dev.mtu
    return mtu if mtu < IP_MAX_MTU else IP_MAX_MTU


def ip_skb_dst_mtu(sk, skb) -> int:
    dst = skb._dst
    # !sk || !sk_fullsock(sk) || ip_sk_use_pmtu(sk)
    pmtudisc = getattr(sk, "pmtudisc", None) if sk is not None else None
    if pmtudisc is None or pmtudisc < IP_PMTUDISC_PROBE:
        cb = skb.cb
        forwarding = cb.__class__ is InetSkbParm and bool(cb.flags & IPSKB_FORWARDED)
        return ip_dst_mtu_maybe_forward(dst, forwarding)
    mtu = dst.dev.mtu
    return mtu if mtu < IP_MAX_MTU else IP_MAX_MTU


def _ipcb_flags(skb) -> int:
    cb = skb.cb
    return cb.flags if cb.__class__ is InetSkbParm else 0


def _ipcb_get(skb):
    cb = skb.cb
    return cb if cb.__class__ is InetSkbParm else None


def sk_is_tcp(sk) -> bool:
    return sk.sk_type == SOCK_STREAM and sk.sk_protocol == IPPROTO_TCP


# --- IP ID (include/net/ip.h ip_select_ident_segs, net/ipv4/route.c __ip_select_ident) ---
IP_IDENTS_SZ = 2048


def ip_idents_reserve(net, h: int, segs: int) -> int:
    v = net.ipv4
    if v.ip_idents is None:
        v.ip_idents = [net.rng.get_random_u32() for _ in range(IP_IDENTS_SZ)]
        v.ip_tstamps = [0] * IP_IDENTS_SZ
    bucket = h & (IP_IDENTS_SZ - 1)
    now = jiffies(net) & 0xFFFFFFFF
    old = v.ip_tstamps[bucket]
    delta = 0
    if old != now:
        v.ip_tstamps[bucket] = now
        delta = net.rng.prandom_u32_max((now - old) & 0xFFFFFFFF)
    v.ip_idents[bucket] = val = (v.ip_idents[bucket] + segs + delta) & 0xFFFFFFFF
    return (val - segs) & 0xFFFFFFFF


def _ident_hash(net, daddr: int, saddr: int, protocol: int) -> int:
    """A keyed hash of the flow (the kernel uses siphash_3u32 with a per-net key)."""
    v = net.ipv4
    key = v.ip_id_key
    if not key:
        key = v.ip_id_key = net.rng.get_random_u32() | 1
    h = (daddr * 0x9E3779B1 ^ saddr * 0x85EBCA77 ^ protocol * 0xC2B2AE3D ^ key) & 0xFFFFFFFF
    h ^= h >> 16
    h = (h * 0x7FEB352D) & 0xFFFFFFFF
    h ^= h >> 15
    h = (h * 0x846CA68B) & 0xFFFFFFFF
    return h ^ (h >> 16)


def __ip_select_ident(net, head, nh: int, segs: int = 1) -> None:
    daddr = int.from_bytes(head[nh + 16:nh + 20], "big")
    saddr = int.from_bytes(head[nh + 12:nh + 16], "big")
    ident = ip_idents_reserve(net, _ident_hash(net, daddr, saddr, head[nh + 9]), segs) & 0xFFFF
    head[nh + 4] = ident >> 8
    head[nh + 5] = ident & 0xFF


def ip_select_ident_segs(net, skb, sk, segs: int = 1) -> None:
    """The socket's counter for connected sockets, 0 for DF datagrams, else the hash."""
    head = skb.head
    nh = skb.network_header
    if sk is not None and getattr(sk, "inet_daddr", 0):
        if sk.sk_type == SOCK_STREAM and sk.sk_protocol == IPPROTO_TCP:     # sk_is_tcp
            val = sk.inet_id
            sk.inet_id = (val + segs) & 0xFFFF
        else:
            sk.inet_id = val = (sk.inet_id + segs) & 0xFFFF
        head[nh + 4] = (val >> 8) & 0xFF
        head[nh + 5] = val & 0xFF
        return
    cb = skb.cb
    ignore_df = cb.ignore_df if cb.__class__ is InetSkbParm else False
    if head[nh + 6] & 0x40 and not ignore_df:
        head[nh + 4] = 0
        head[nh + 5] = 0
    else:
        __ip_select_ident(net, head, nh, segs)


def ip_select_ident(net, skb, sk) -> None:
    ip_select_ident_segs(net, skb, sk, 1)


def _opt_bytes(opt) -> bytes:
    """Raw IP option bytes from an ipcm/inet_opt value (None, bytes, or .data/.__data)."""
    if not opt:
        return b""
    if isinstance(opt, (bytes, bytearray, memoryview)):
        b = bytes(opt)
    else:
        inner = getattr(opt, "opt", opt)
        b = bytes(getattr(inner, "data", b"") or b"")
    if len(b) & 3:
        b += b"\x00" * (4 - (len(b) & 3))
    return b


_IPH = struct.Struct("!BBHHHBBHII")
_IPH_DADDR = struct.Struct("!I")


def _push_iphdr(skb, tos: int, frag_off: int, ttl: int, protocol: int, saddr: int, daddr: int,
                opt: bytes = b"") -> int:
    """skb_push + skb_reset_network_header + fill (the checksum is __ip_local_out's)."""
    hl = 20 + len(opt)
    if skb.data < hl:
        skb_push(skb, hl)
    else:
        skb.data -= hl
    nh = skb.network_header = skb.data
    h = skb.head
    # version/ihl, tos, tot_len (__ip_local_out sets it again), id 0, frag_off, ttl,
    # protocol, check 0 (ip_send_check fills it), saddr, daddr.
    _IPH.pack_into(h, nh, 0x40 | (hl >> 2), tos & 0xFF, (skb.tail - nh) & 0xFFFF, 0, frag_off,
                   ttl, protocol, 0, saddr, daddr)
    if opt:
        h[nh + 20:nh + hl] = opt
    return nh


# --- init -----------------------------------------------------------------------------
_ip_inited = False


def ip_packet_init(net) -> None:
    """Per Net: IPv4's packet_type (ptype_base is per Net here)."""
    for pt in net.ptype_base.get(ETH_P_IP, ()):
        if pt.func is ip_rcv:
            return
    dev_add_pack(net, PacketType(ETH_P_IP, ip_rcv))


def ip_init() -> None:
    """inet_init -> ip_init: routing (ip_rt_init), inet_peers, the ETH_P_IP handler, frags.

    Idempotent. Also registers ip_fragment's pernet init (the kernel's inet_init calls
    ipfrag_init separately)."""
    global _ip_inited
    if _ip_inited:
        return
    _ip_inited = True
    from ...core.net_namespace import PernetOperations, register_pernet_subsys
    from . import sysctl_net_ipv4  # noqa: F401  (net.ipv4 first, whatever the import order)
    try:
        from .route import ip_rt_init
    except ImportError:
        ip_rt_init = None
    if ip_rt_init is not None:
        ip_rt_init()
    from .inetpeer import inet_initpeers
    inet_initpeers()
    from .ip_fragment import ipfrag_init
    ipfrag_init()
    register_pernet_subsys(PernetOperations("ip_packet_type", ip_packet_init))


# --- local output -----------------------------------------------------------------------
def __ip_local_out(net, sk, skb) -> int:
    """Finish the header (tot_len, checksum), then LOCAL_OUT: 1 means "go on"."""
    net.mib.Ip["OutRequests"] += 1
    h = skb.head
    nh = skb.network_header
    tot = skb.tail - nh
    h[nh + 2] = tot >> 8
    h[nh + 3] = tot & 0xFF
    ip_send_check(h, nh)
    skb.protocol = ETH_P_IP
    return nf_hook(NFPROTO_IPV4, NF_INET_LOCAL_OUT, net, sk, skb, None, skb._dst.dev, dst_output)


def ip_local_out(net, sk, skb) -> int:
    err = __ip_local_out(net, sk, skb)
    if err == 1:
        err = skb._dst.output(net, sk, skb)
    return err


def dst_output(net, sk, skb) -> int:
    return skb._dst.output(net, sk, skb)


def ip_output(net, sk, skb) -> int:
    """dst.output of unicast routes."""
    dev = skb._dst.dev
    indev = skb.dev
    skb.dev = dev
    skb.protocol = ETH_P_IP
    cb = skb.cb
    rerouted = cb.__class__ is InetSkbParm and cb.flags & IPSKB_REROUTED
    return NF_HOOK_COND(NFPROTO_IPV4, NF_INET_POST_ROUTING, net, sk, skb, indev, dev,
                        ip_finish_output, not rerouted)


def ip_mc_output(net, sk, skb) -> int:
    """dst.output of broadcast/multicast routes: a copy goes back up for local listeners."""
    rt = skb._dst
    dev = rt.dev
    skb.dev = dev
    skb.protocol = ETH_P_IP
    flags = getattr(rt, "rt_flags", 0)
    if flags & RTCF_MULTICAST:
        if sk is None or getattr(sk, "mc_loop", 1):
            newskb = skb_clone(skb)
            NF_HOOK(NFPROTO_IPV4, NF_INET_POST_ROUTING, net, sk, newskb, None, newskb.dev,
                    ip_mc_finish_output)
        # Multicasts with ttl 0 must not go beyond the host.
        if skb.head[skb.network_header + 8] == 0:
            kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
            return 0
    if flags & RTCF_BROADCAST:
        newskb = skb_clone(skb)
        NF_HOOK(NFPROTO_IPV4, NF_INET_POST_ROUTING, net, sk, newskb, None, newskb.dev,
                ip_mc_finish_output)
    return NF_HOOK_COND(NFPROTO_IPV4, NF_INET_POST_ROUTING, net, sk, skb, None, skb.dev,
                        ip_finish_output, not _ipcb_flags(skb) & IPSKB_REROUTED)


def ip_mc_finish_output(net, sk, skb) -> int:
    return dev_loopback_xmit(net, sk, skb)


def dev_loopback_xmit(net, sk, skb) -> int:
    """net/core/dev.c: loop a copy of an outgoing packet back into the receive path."""
    skb.mac_header = skb.data
    skb.data = skb.network_header
    skb.pkt_type = PACKET_LOOPBACK
    if skb.ip_summed == CHECKSUM_NONE:
        skb.ip_summed = CHECKSUM_UNNECESSARY
    netif_rx(skb)
    return 0


def ip_finish_output(net, sk, skb) -> int:
    mtu = ip_skb_dst_mtu(sk, skb)
    cb = skb.cb
    frag_max = cb.frag_max_size if cb.__class__ is InetSkbParm else 0
    if skb.tail - skb.data > mtu or frag_max:
        return ip_fragment(net, sk, skb, mtu, ip_finish_output2)
    return ip_finish_output2(net, sk, skb)


__ip_finish_output = ip_finish_output


def ip_finish_output2(net, sk, skb) -> int:
    """Find the next hop's neighbour (creating it) and hand the packet to it."""
    rt = skb._dst
    dev = rt.dev
    length = skb.tail - skb.data
    rt_type = rt.rt_type
    if rt_type == RTN_MULTICAST:
        net.mib.IpExt["OutMcastPkts"] += 1
        net.mib.IpExt["OutMcastOctets"] += length
    elif rt_type == RTN_BROADCAST:
        net.mib.IpExt["OutBcastPkts"] += 1
        net.mib.IpExt["OutBcastOctets"] += length
    # OUTOCTETS are counted after fragmentation.
    mib = net.mib
    mib.Ip["OutTransmits"] += 1
    mib.IpExt["OutOctets"] += length
    neigh = ip_neigh_for_gw(rt, skb)
    if neigh.__class__ is not int and neigh is not None:
        return neigh_output(neigh, skb)
    kfree_skb(skb, SkbDropReason.NEIGH_CREATEFAIL)
    return neigh if neigh.__class__ is int else -EINVAL


def ip_neigh_for_gw(rt, skb):
    """include/net/route.h: the ARP entry of the route's gateway, else of the packet's
    destination (ip_neigh_gw4 creates it if missing)."""
    gw = rt.rt_gw4
    if not gw:
        gw = _IPH_DADDR.unpack_from(skb.head, skb.network_header + 16)[0]
    return ip_neigh_gw4(rt.dev, gw)


# --- fragmentation --------------------------------------------------------------------
def ip_fragment(net, sk, skb, mtu: int, output) -> int:
    h = skb.head
    nh = skb.network_header
    if not h[nh + 6] & 0x40:
        return ip_do_fragment(net, sk, skb, output)
    cb = skb.cb
    ignore_df = cb.ignore_df if cb.__class__ is InetSkbParm else False
    frag_max = cb.frag_max_size if cb.__class__ is InetSkbParm else 0
    if not ignore_df or (frag_max and frag_max > mtu):
        net.mib.Ip["FragFails"] += 1
        _icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu)
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
        return -EMSGSIZE
    return ip_do_fragment(net, sk, skb, output)


_icmp_send_fn = None


def _icmp_send(skb, type_, code, info):
    global _icmp_send_fn
    if _icmp_send_fn is None:   # icmp.py imports this module
        from .icmp import icmp_send as _icmp_send_fn
    _icmp_send_fn(skb, type_, code, info)


class IpFragState:
    """struct ip_frag_state."""

    __slots__ = ("DF", "hlen", "ll_rs", "mtu", "left", "ptr", "offset", "not_last_frag")


def LL_RESERVED_SPACE(dev) -> int:
    return ((dev.hard_header_len + dev.needed_headroom) & ~15) + 16


def ip_frag_init(skb, hlen: int, ll_rs: int, mtu: int, DF: bool) -> IpFragState:
    st = IpFragState()
    h = skb.head
    nh = skb.network_header
    frag_off = (h[nh + 6] << 8) | h[nh + 7]
    st.DF = DF
    st.hlen = hlen
    st.ll_rs = ll_rs
    st.mtu = mtu
    st.left = skb.tail - nh - hlen
    st.ptr = hlen
    st.offset = (frag_off & IP_OFFSET) << 3
    st.not_last_frag = bool(frag_off & IP_MF)
    return st


def ip_copy_metadata(to, frm) -> None:
    to.pkt_type = frm.pkt_type
    to.priority = frm.priority
    to.protocol = frm.protocol
    to.skb_iif = frm.skb_iif
    to._dst = frm._dst
    to.dev = frm.dev
    to.mark = frm.mark
    to.tstamp = frm.tstamp
    to.nfct = frm.nfct


def ip_frag_next(skb, st: IpFragState):
    """The next fragment: header copy, up to mtu bytes (a multiple of 8 unless last)."""
    length = st.left
    if length > st.mtu:
        length = st.mtu
    if length < st.left:
        length &= ~7
    skb2 = SkBuff(bytearray(st.ll_rs + st.hlen + length), st.ll_rs, st.ll_rs + st.hlen + length)
    ip_copy_metadata(skb2, skb)
    skb2.sk = skb.sk
    nh = skb2.network_header = st.ll_rs
    skb2.transport_header = nh + st.hlen
    src = skb.head
    snh = skb.network_header
    dst = skb2.head
    dst[nh:nh + st.hlen] = src[snh:snh + st.hlen]
    dst[nh + st.hlen:nh + st.hlen + length] = src[snh + st.ptr:snh + st.ptr + length]
    st.left -= length
    frag_off = st.offset >> 3
    if st.DF:
        frag_off |= IP_DF
    # Fragmenting a fragment that is not the last: keep MF on every piece.
    if st.left > 0 or st.not_last_frag:
        frag_off |= IP_MF
    dst[nh + 6] = frag_off >> 8
    dst[nh + 7] = frag_off & 0xFF
    tot = length + st.hlen
    dst[nh + 2] = tot >> 8
    dst[nh + 3] = tot & 0xFF
    ip_send_check(dst, nh)
    st.ptr += length
    st.offset += length
    return skb2


def ip_options_fragment(skb) -> None:
    """Options not marked "copy" are replaced by NOOP after the first fragment."""
    h = skb.head
    nh = skb.network_header
    p = nh + 20
    end = nh + ((h[nh] & 0x0F) << 2)
    while p < end:
        t = h[p]
        if t == 0:
            return
        if t == 1:
            p += 1
            continue
        if p + 1 >= end:
            return
        optlen = h[p + 1]
        if optlen < 2 or p + optlen > end:
            return
        if not t & 0x80:
            h[p:p + optlen] = b"\x01" * optlen
        p += optlen


def ip_do_fragment(net, sk, skb, output) -> int:
    """Cut the datagram into MTU-sized fragments (RFC 791 §3.2) and send each."""
    mtu = ip_skb_dst_mtu(sk, skb)
    cb = IPCB(skb)
    if cb.frag_max_size and cb.frag_max_size < mtu:
        mtu = cb.frag_max_size
    h = skb.head
    nh = skb.network_header
    hlen = (h[nh] & 0x0F) << 2
    mtu -= hlen
    cb.flags |= IPSKB_FRAG_COMPLETE
    if mtu < 8:
        err = -EINVAL
        kfree_skb(skb, SkbDropReason.PKT_TOO_BIG)
        net.mib.Ip["FragFails"] += 1
        return err
    st = ip_frag_init(skb, hlen, LL_RESERVED_SPACE(skb._dst.dev), mtu, bool(cb.flags & IPSKB_FRAG_PMTU))
    err = 0
    while st.left > 0:
        first = st.offset == 0
        skb2 = ip_frag_next(skb, st)
        c2 = skb2.cb = InetSkbParm(cb.iif)
        c2.flags = cb.flags
        c2.opt = cb.opt
        if first and hlen > 20:
            ip_options_fragment(skb)
        err = output(net, sk, skb2)
        if err:
            kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
            net.mib.Ip["FragFails"] += 1
            return err
        net.mib.Ip["FragCreates"] += 1
    consume_skb(skb)
    net.mib.Ip["FragOKs"] += 1
    return err


# --- TCP ------------------------------------------------------------------------------
def ip_queue_xmit(sk, skb, fl4=None) -> int:
    """TCP's queue_xmit: skb.data at the TCP header; route, push the IP header, send."""
    return __ip_queue_xmit(sk, skb, fl4, sk.tos)


def __ip_queue_xmit(sk, skb, fl4, tos: int) -> int:
    net = sk.sk_net
    inet_opt = getattr(sk, "inet_opt", None)
    opt = _opt_bytes(inet_opt)
    rt = skb._dst
    if rt is None:
        r = _rt or _routing()
        rt = __sk_dst_check(sk, 0)
        if rt is None:
            daddr = sk.inet_daddr
            fl4 = flowi4(daddr, sk.inet_saddr, tos & 0xFC, sk.sk_protocol, sk.sk_bound_dev_if,
                         sk.inet_sport, sk.inet_dport, sk.sk_mark, 0)
            rt = r.ip_route_output_key(net, fl4)
            if rt.__class__ is int:
                net.mib.Ip["OutNoRoutes"] += 1
                kfree_skb(skb, SkbDropReason.IP_OUTNOROUTES)
                return -EHOSTUNREACH
            cork = getattr(sk, "cork", None)
            if cork is not None:
                cork.fl = fl4
            __sk_dst_set(sk, rt)
        skb._dst = rt
    saddr = fl4.saddr if fl4 is not None and fl4.saddr else sk.inet_saddr
    daddr = fl4.daddr if fl4 is not None and fl4.daddr else sk.inet_daddr
    df = IP_DF if ip_dont_fragment(sk, rt) and not _ignore_df(skb) else 0
    _push_iphdr(skb, tos, df, ip_select_ttl(sk, rt), sk.sk_protocol, saddr, daddr, opt)
    ip_select_ident_segs(net, skb, sk, 1)
    skb.priority = sk.sk_priority
    skb.mark = sk.sk_mark
    skb.sk = sk
    return ip_local_out(net, sk, skb)


def _ignore_df(skb) -> bool:
    cb = skb.cb
    return cb.ignore_df if cb.__class__ is InetSkbParm else False


def ip_build_and_send_pkt(skb, sk, saddr: int, daddr: int, opt=None, tos=None) -> int:
    """SYN-ACK style: the caller routed the skb (skb._dst); push a header and send."""
    net = sk.sk_net
    rt = skb._dst
    if rt is None:
        rt = (_rt or _routing()).ip_route_output_key(
            net, flowi4(daddr, saddr, sk.tos & 0xFC, sk.sk_protocol, sk.sk_bound_dev_if))
        if rt.__class__ is int:
            net.mib.Ip["OutNoRoutes"] += 1
            kfree_skb(skb, SkbDropReason.IP_OUTNOROUTES)
            return -EHOSTUNREACH
        skb._dst = rt
    ob = _opt_bytes(opt)
    if tos is None:
        tos = sk.tos
    ttl = ip_select_ttl(sk, rt)
    length = skb.tail - skb.data + 20 + len(ob)
    if length <= IPV4_MIN_MTU or ip_dont_fragment(sk, rt):
        nh = _push_iphdr(skb, tos, IP_DF, ttl, sk.sk_protocol, saddr, daddr, ob)
    else:
        nh = _push_iphdr(skb, tos, 0, ttl, sk.sk_protocol, saddr, daddr, ob)
        if sk.sk_protocol == IPPROTO_TCP:
            ident = net.rng.get_random_u16()
            skb.head[nh + 4] = ident >> 8
            skb.head[nh + 5] = ident & 0xFF
        else:
            __ip_select_ident(net, skb.head, nh, 1)
    skb.priority = sk.sk_priority
    if not skb.mark:
        skb.mark = sk.sk_mark
    return ip_local_out(net, skb.sk, skb)


# --- datagrams -------------------------------------------------------------------------
def _fragsize(sk, rt) -> int:
    """ip_setup_cork: cork->fragsize = ip_sk_use_pmtu(sk) ? dst_mtu() : dev->mtu."""
    return dst_mtu(rt) if sk.pmtudisc < IP_PMTUDISC_PROBE else rt.dev.mtu


def _check_size(sk, rt, cork_len: int, length: int, optlen: int) -> int:
    """__ip_append_data's size check: 0 or -EMSGSIZE."""
    # maxnonfragsize = ip_sk_ignore_df(sk) ? IP_MAX_MTU : mtu
    pmtudisc = sk.pmtudisc
    if pmtudisc < IP_PMTUDISC_DO or pmtudisc == IP_PMTUDISC_OMIT:
        maxnonfragsize = IP_MAX_MTU
    else:
        maxnonfragsize = dst_mtu(rt) if pmtudisc < IP_PMTUDISC_PROBE else rt.dev.mtu
    if cork_len + length > maxnonfragsize - (20 + optlen):
        return -EMSGSIZE
    return 0


def __ip_make_skb(net, sk, fl4, rt, payload, transhdrlen: int, ipc: IpcmCookie, protocol: int):
    """Build the datagram: headroom, IP header, transport room, payload."""
    opt = ipc.opt if ipc.opt is not None else getattr(sk, "inet_opt", None)
    opt = _opt_bytes(opt) if opt else b""
    hl = 20 + len(opt)
    headroom = LL_RESERVED_SPACE(rt.dev)
    plen = transhdrlen + len(payload)
    skb = SkBuff(bytearray(headroom + hl + plen), headroom + hl, headroom + hl + plen)
    th = skb.transport_header = headroom + hl
    if payload:
        skb.head[th + transhdrlen:th + plen] = payload
    total = hl + plen
    pmtudisc = sk.pmtudisc
    if pmtudisc == IP_PMTUDISC_DO or pmtudisc == IP_PMTUDISC_PROBE or \
            (total <= dst_mtu(rt) and ip_dont_fragment(sk, rt)):
        df = IP_DF
    else:
        df = 0
    if ipc.ttl:
        ttl = ipc.ttl
    elif rt.rt_type == RTN_MULTICAST:
        ttl = sk.mc_ttl
    else:
        ttl = ip_select_ttl(sk, rt)
    tos = ipc.tos if ipc.tos != -1 else sk.tos
    cb = skb.cb = InetSkbParm()
    cb.ignore_df = ip_sk_ignore_df(sk)
    _push_iphdr(skb, tos, df, ttl, protocol, fl4.saddr, fl4.daddr, opt)
    skb.sk = sk
    ip_select_ident(net, skb, sk)
    skb.priority = ipc.priority if ipc.tos != -1 else sk.sk_priority
    skb.mark = ipc.mark
    skb._dst = rt
    if protocol == IPPROTO_ICMP and plen:
        from .icmp import icmp_out_count
        icmp_out_count(net, skb.head[th])
    return skb


def ip_make_skb(sk, fl4, data, transhdrlen: int, ipc=None, rt=None, flags: int = 0):
    """One datagram as one skb (see the module docstring); an skb or -errno."""
    net = sk.sk_net
    if ipc is None:
        ipc = ipcm_init_sk(sk)
    if rt is None:
        rt = (_rt or _routing()).ip_route_output_key(net, fl4)
        if rt.__class__ is int:
            net.mib.Ip["OutNoRoutes"] += 1
            return rt
    if flags & MSG_PROBE:
        return None
    length = transhdrlen + len(data)
    opt = ipc.opt if ipc.opt is not None else getattr(sk, "inet_opt", None)
    optlen = len(_opt_bytes(opt)) if opt else 0
    err = _check_size(sk, rt, 0, length, optlen)
    if err:
        ip_local_error(sk, EMSGSIZE, fl4.daddr, getattr(sk, "inet_dport", 0), _fragsize(sk, rt) - optlen)
        return err
    protocol = ipc.protocol or sk.sk_protocol
    return __ip_make_skb(net, sk, fl4, rt, data, transhdrlen, ipc, protocol)


def ip_local_error(sk, err: int, daddr: int, port: int, info: int) -> None:
    """Queue a local error on IP_RECVERR sockets (ip_sockglue.c), if that code exists."""
    if not getattr(sk, "recverr", 0):
        return
    try:
        from .ip_sockglue import ip_local_error as f
    except ImportError:
        return
    f(sk, err, daddr, port, info)


def ip_send_skb(net, skb) -> int:
    err = ip_local_out(net, skb.sk, skb)
    if err:
        if err > 0:
            err = 0 if err == NET_XMIT_CN else -ENOBUFS
        if err:
            net.mib.Ip["OutDiscards"] += 1
    return err


def ip_append_data(sk, fl4, data, transhdrlen: int, ipc=None, rt=None, flags: int = 0) -> int:
    """Add ``data`` to the socket's corked datagram (the first call sets up the cork
    with the route and reserves ``transhdrlen``). 0 or -errno."""
    cork = sk.cork
    net = sk.sk_net
    if flags & MSG_PROBE:
        return 0
    if ipc is None:
        ipc = ipcm_init_sk(sk)
    if not sk.sk_write_queue.qlen and cork.dst is None:
        if rt is None:
            rt = (_rt or _routing()).ip_route_output_key(net, fl4)
            if rt.__class__ is int:
                net.mib.Ip["OutNoRoutes"] += 1
                return rt
        cork.dst = rt
        cork.fl = fl4
        cork.addr = ipc.addr
        cork.ttl = ipc.ttl
        cork.tos = ipc.tos
        cork.priority = ipc.priority
        cork.mark = ipc.mark
        cork.fragsize = _fragsize(sk, rt)
        cork.length = 0
        cork.flags = 0
        cork.gso_size = ipc.gso_size
        cork.pending = bytearray()
        cork.transhdrlen = transhdrlen
        cork.opt = ipc.opt
        cork.protocol = ipc.protocol
    else:
        transhdrlen = 0
    rt = cork.dst
    optlen = len(_opt_bytes(cork.opt if cork.opt is not None else getattr(sk, "inet_opt", None)))
    length = transhdrlen + len(data)
    err = _check_size(sk, rt, cork.length, length, optlen)
    if err:
        ip_local_error(sk, EMSGSIZE, fl4.daddr, getattr(sk, "inet_dport", 0), cork.fragsize - optlen)
        return err
    cork.pending += data
    cork.length += length
    return 0


def ip_finish_skb(sk, fl4=None):
    """__ip_make_skb over the cork: the pending datagram as one skb (or None)."""
    cork = sk.cork
    if cork.dst is None:
        return None
    ipc = IpcmCookie(addr=cork.addr, opt=cork.opt, ttl=cork.ttl, tos=cork.tos,
                     protocol=getattr(cork, "protocol", 0), mark=cork.mark, priority=cork.priority)
    skb = __ip_make_skb(sk.sk_net, sk, fl4 or cork.fl, cork.dst, bytes(cork.pending),
                        cork.transhdrlen, ipc, ipc.protocol or sk.sk_protocol)
    ip_cork_release(sk)
    return skb


def ip_cork_release(sk) -> None:
    cork = sk.cork
    cork.dst = None
    cork.length = 0
    cork.pending = bytearray()
    cork.transhdrlen = 0
    cork.opt = None


def ip_push_pending_frames(sk, fl4=None) -> int:
    skb = ip_finish_skb(sk, fl4)
    if skb is None:
        return 0
    return ip_send_skb(sk.sk_net, skb)


def ip_flush_pending_frames(sk) -> None:
    ip_cork_release(sk)


def ip_send_unicast_reply(net, skb_in, payload, protocol: int, tos: int = 0, ttl=None,
                          oif: int = 0, mark: int = 0) -> int:
    """Reply to a received packet from the stack itself (TCP RST/ACK for no socket):
    addresses swapped, DF set and ID 0 (the per-Net control socket's IP_PMTUDISC_DO).
    ``payload`` is the finished transport segment (checksum included). 0 or -errno."""
    h = skb_in.head
    nh = skb_in.network_header
    daddr = int.from_bytes(h[nh + 12:nh + 16], "big")
    saddr = int.from_bytes(h[nh + 16:nh + 20], "big")
    sport = (payload[0] << 8) | payload[1] if len(payload) >= 4 else 0
    dport = (payload[2] << 8) | payload[3] if len(payload) >= 4 else 0
    fl4 = flowi4(daddr, saddr, tos & 0xFC, protocol, oif, sport, dport,
                 skb_in.mark if net.ipv4.sysctl_fwmark_reflect else mark, 0)
    rt = (_rt or _routing()).ip_route_output_key(net, fl4)
    if rt.__class__ is int:
        return rt
    headroom = LL_RESERVED_SPACE(rt.dev)
    plen = len(payload)
    skb = SkBuff(bytearray(headroom + 20 + plen), headroom + 20, headroom + 20 + plen)
    skb.transport_header = headroom + 20
    skb.head[headroom + 20:] = payload
    if ttl is None:
        ttl = ip4_dst_hoplimit(rt)
    _push_iphdr(skb, tos & ~3, IP_DF, ttl, protocol, fl4.saddr or saddr, daddr)
    skb._dst = rt
    # IP4_REPLY_MARK: the received packet's mark when fwmark_reflect is on.
    skb.mark = skb_in.mark if net.ipv4.sysctl_fwmark_reflect else mark
    return ip_send_skb(net, skb)
