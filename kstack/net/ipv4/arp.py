"""net/ipv4/arp.c, include/net/arp.h: the Address Resolution Protocol — RFC 826, RFC 1122
§2.3.2 (cache validation, queueing while resolving), RFC 5227 §3 (gratuitous ARP).

arp_tbl is one NeighTable per Net (net.gen['arp_tbl'], also net.ipv4.arp_tbl).
arp_constructor picks the neighbour's ops: Ethernet devices resolve (arp_hh_ops:
neigh_resolve_output, the header cached once known), loopback and IFF_NOARP devices
and broadcast/multicast next hops are NUD_NOARP with a fixed address. arp_solicit
sends the requests the NUD timers ask for (broadcast while INCOMPLETE, unicast to the
cached address while PROBE; source address as arp_announce=0 picks it).

arp_rcv validates a frame (short, wrong hln/pln: a counted drop, never an exception)
and arp_process answers requests for our addresses (arp_ignore, arp_filter), learns
the requester as STALE, takes replies to us as REACHABLE (broadcast ones as STALE),
refreshes an existing entry from any request or gratuitous ARP, and creates entries
from unsolicited ARP only when arp_accept says so.
"""
import struct

from ...core.dev import dev_add_pack, dev_queue_xmit, register_netdevice_notifier
from ...core.dropreason import SkbDropReason
from ...core.errno import EINVAL, ENODEV, ENXIO
from ...core.netdevice import (ARPHRD_ETHER, IFF_LOOPBACK, IFF_NOARP, IFF_POINTOPOINT,
                               NET_RX_DROP, NET_RX_SUCCESS, NETDEV_CHANGEADDR, PacketType)
from ...core.neighbour import (NEIGH_UPDATE_F_ADMIN, NEIGH_UPDATE_F_OVERRIDE, NLM_F_CREATE,
                               NLM_F_EXCL, NUD_BY_NAME, NUD_FAILED, NUD_NOARP, NUD_PERMANENT,
                               NUD_REACHABLE, NUD_STALE, NUD_VALID, NeighOps, NeighTable,
                               __neigh_create, __neigh_lookup, __neigh_lookup_noref, neigh_add,
                               neigh_changeaddr, neigh_confirm, neigh_connected_output,
                               neigh_delete, neigh_direct_output, neigh_dump_info, neigh_event_ns,
                               neigh_ifdown, neigh_lookup, neigh_resolve_output,
                               neigh_sysctl_register, neigh_update)
from ...core.rtnetlink import (RT_SCOPE_HOST, RT_SCOPE_LINK, RTM_DELNEIGH, RTM_GETNEIGH,
                               RTM_NEWNEIGH, RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST,
                               rtnl_dev_get, rtnl_register)
from ...core.skbuff import PACKET_HOST, PACKET_LOOPBACK, PACKET_OTHERHOST, alloc_skb, consume_skb, \
    kfree_skb, skb_put
from ...net.ethernet.eth import ETH_P_ARP, ETH_P_IP

ARPOP_REQUEST = 1
ARPOP_REPLY = 2
ARPHRD_IEEE802 = 6
AF_INET = 2
_ARP = struct.Struct("!HHBBH6sI6sI")
_ARP_FIXED = struct.Struct("!HHBBH")


def _ntoa(a: int) -> str:
    return f"{a >> 24 & 255}.{a >> 16 & 255}.{a >> 8 & 255}.{a & 255}"


def ipv4_is_multicast(a: int) -> bool:
    return (a & 0xF0000000) == 0xE0000000


def ipv4_is_loopback(a: int) -> bool:
    return (a & 0xFF000000) == 0x7F000000


# --- the table ------------------------------------------------------------------------
def arp_is_multicast(pkey: int) -> bool:
    return ipv4_is_multicast(pkey)


def arp_tbl_of(net) -> NeighTable:
    """net's arp_tbl, created on first use (the kernel's is static, per-net keyed)."""
    tbl = net.gen.get("arp_tbl")
    if tbl is None:
        tbl = NeighTable(net, AF_INET, 4, "arp_cache", arp_constructor, ETH_P_IP,
                         is_multicast=arp_is_multicast)
        net.gen["arp_tbl"] = tbl
        if net.ipv4 is not None:
            net.ipv4.arp_tbl = tbl
        neigh_sysctl_register(net, None, tbl.parms, "ipv4")
    return tbl


def ip_eth_mc_map(addr: int) -> bytes:
    """RFC 1112 §6.4: 01:00:5e + the low 23 bits of the group."""
    return bytes((0x01, 0x00, 0x5E, (addr >> 16) & 0x7F, (addr >> 8) & 0xFF, addr & 0xFF))


def arp_mc_map(addr: int, dev, direction: int):
    if dev.type in (ARPHRD_ETHER, ARPHRD_IEEE802):
        return ip_eth_mc_map(addr)
    if direction:
        return bytes(dev.broadcast)
    return None


def arp_error_report(neigh, skb) -> None:
    """Resolution failed for a queued packet: ICMP host unreachable to its sender."""
    from ...core.dst import dst_link_failure
    dst_link_failure(skb)
    kfree_skb(skb, SkbDropReason.NEIGH_FAILED)


def arp_solicit(neigh, skb) -> None:
    """Send one who-has for neigh (skb: the newest packet waiting, for the source address)."""
    from .devinet import IN_DEV_ARP_ANNOUNCE, inet_addr_onlink, inet_select_addr
    from .fib_frontend import inet_addr_type
    saddr = 0
    dev = neigh.dev
    target = neigh.primary_key
    probes = neigh.probes
    in_dev = dev.ip_ptr
    if in_dev is None:
        return
    net = dev.nd_net
    announce = IN_DEV_ARP_ANNOUNCE(in_dev)
    if skb is not None:
        nh = skb.network_header if skb.network_header >= 0 else skb.data
        if nh + 20 <= len(skb.head):
            skb_saddr = int.from_bytes(skb.head[nh + 12:nh + 16], "big")
        else:
            skb_saddr = 0
        if announce == 0 or announce > 2:
            if inet_addr_type(net, skb_saddr) == RTN_LOCAL:
                saddr = skb_saddr
        elif announce == 1:
            if inet_addr_type(net, skb_saddr) == RTN_LOCAL and inet_addr_onlink(in_dev, target, skb_saddr):
                saddr = skb_saddr
    if not saddr:
        saddr = inet_select_addr(dev, target, RT_SCOPE_LINK)
    p = neigh.parms
    probes -= p.ucast_probes
    dst_hw = None
    if probes < 0:
        dst_hw = bytes(neigh.ha)
    else:
        probes -= p.app_probes
        if probes < 0:
            return          # neigh_app_ns: an arpd would ask; we have none
    arp_send(ARPOP_REQUEST, ETH_P_ARP, target, dev, saddr, dst_hw, dev.dev_addr, None)


arp_generic_ops = NeighOps(AF_INET, arp_solicit, arp_error_report, neigh_resolve_output,
                           neigh_connected_output)
arp_hh_ops = NeighOps(AF_INET, arp_solicit, arp_error_report, neigh_resolve_output,
                      neigh_resolve_output)
arp_direct_ops = NeighOps(AF_INET, None, None, neigh_direct_output, neigh_direct_output)


def arp_constructor(neigh) -> int:
    from .fib_frontend import inet_addr_type
    addr = neigh.primary_key
    dev = neigh.dev
    in_dev = dev.ip_ptr
    if in_dev is None:
        return -EINVAL
    neigh.type = inet_addr_type(dev.nd_net, addr)
    neigh.parms = in_dev.arp_parms
    if dev.header_ops is None:
        neigh.nud_state = NUD_NOARP
        neigh.ops = arp_direct_ops
        neigh.output = neigh_direct_output
        return 0
    if neigh.type == RTN_MULTICAST:
        neigh.nud_state = NUD_NOARP
        neigh.ha = arp_mc_map(addr, dev, 1)
    elif dev.flags & (IFF_NOARP | IFF_LOOPBACK):
        neigh.nud_state = NUD_NOARP
        neigh.ha = bytes(dev.dev_addr)
    elif neigh.type == RTN_BROADCAST or dev.flags & IFF_POINTOPOINT:
        neigh.nud_state = NUD_NOARP
        neigh.ha = bytes(dev.broadcast)
    neigh.ops = arp_hh_ops if dev.header_ops.cache is not None else arp_generic_ops
    neigh.output = neigh.ops.connected_output if neigh.nud_state & NUD_VALID else neigh.ops.output
    return 0


# --- helpers the output path uses (include/net/arp.h) ---------------------------------------
def __ipv4_neigh_lookup_noref(dev, key: int):
    if dev.flags & (IFF_LOOPBACK | IFF_POINTOPOINT):
        key = 0
    return arp_tbl_of(dev.nd_net).hash.get((key, dev))      # ___neigh_lookup_noref


def __ipv4_neigh_lookup(dev, key: int):
    return __ipv4_neigh_lookup_noref(dev, key)


def ip_neigh_gw4(dev, daddr: int):
    """The neighbour for a next hop, created if new: a Neighbour or -errno."""
    n = __ipv4_neigh_lookup_noref(dev, daddr)
    if n is None:
        key = 0 if dev.flags & (IFF_LOOPBACK | IFF_POINTOPOINT) else daddr
        n = __neigh_create(arp_tbl_of(dev.nd_net), key, dev, False)
    return n


def __ipv4_confirm_neigh(dev, key: int) -> None:
    n = __ipv4_neigh_lookup_noref(dev, key)
    if n is not None:
        neigh_confirm(n)


# --- building and sending ------------------------------------------------------------------
def arp_create(type_: int, ptype: int, dest_ip: int, dev, src_ip: int, dest_hw, src_hw,
               target_hw):
    """An ARP frame (link header built), or None if the header could not be made."""
    from ...net.ethernet.eth import dev_hard_header
    hlen = (dev.hard_header_len + 15) & ~15
    skb = alloc_skb(28, hlen + dev.needed_headroom)
    skb.network_header = skb.data
    off = skb_put(skb, 28)
    skb.dev = dev
    skb.protocol = ETH_P_ARP
    if src_hw is None:
        src_hw = dev.dev_addr
    if dest_hw is None:
        dest_hw = dev.broadcast
    _ARP.pack_into(skb.head, off, dev.type if dev.type != ARPHRD_IEEE802 else ARPHRD_ETHER,
                   ETH_P_IP, dev.addr_len, 4, type_, bytes(src_hw), src_ip,
                   bytes(target_hw) if target_hw is not None else bytes(dev.addr_len), dest_ip)
    if dev_hard_header(skb, dev, ptype, bytes(dest_hw), bytes(src_hw), skb.len) < 0:
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
        return None
    return skb


def arp_xmit(skb) -> int:
    """NF_ARP_OUT then dev_queue_xmit (no arptables here)."""
    return dev_queue_xmit(skb)


def arp_send(type_: int, ptype: int, dest_ip: int, dev, src_ip: int, dest_hw, src_hw,
             target_hw) -> None:
    if dev.flags & IFF_NOARP:
        return
    skb = arp_create(type_, ptype, dest_ip, dev, src_ip, dest_hw, src_hw, target_hw)
    if skb is None:
        return
    arp_xmit(skb)


# --- receiving ----------------------------------------------------------------------------
def arp_ignore(in_dev, sip: int, tip: int) -> int:
    from .devinet import IN_DEV_ARP_IGNORE, inet_confirm_addr
    net = in_dev.net
    mode = IN_DEV_ARP_IGNORE(in_dev)
    if mode == 0:
        return 0
    if mode == 1:
        sip, scope = 0, RT_SCOPE_HOST
    elif mode == 2:
        scope = RT_SCOPE_HOST
    elif mode == 3:
        sip, scope, in_dev = 0, RT_SCOPE_LINK, None
    elif mode == 8:
        return 1
    else:
        return 0
    return 0 if inet_confirm_addr(net, in_dev, sip, tip, scope) else 1


def arp_filter(sip: int, tip: int, dev) -> int:
    """arp_filter=1: answer only if the reply would leave through this device."""
    from ...core.snmp import NET_INC_STATS
    from .route import Flowi4, ip_route_output_key
    net = dev.nd_net
    rt = ip_route_output_key(net, Flowi4(daddr=sip, saddr=tip))
    if isinstance(rt, int):
        return 1
    if rt.dev is not dev:
        NET_INC_STATS(net, "ArpFilter")
        return 1
    return 0


def arp_accept(in_dev, sip: int) -> int:
    from .devinet import IN_DEV_ARP_ACCEPT, inet_confirm_addr
    mode = IN_DEV_ARP_ACCEPT(in_dev)
    if mode == 1:
        return 1
    if mode == 2:
        return 1 if inet_confirm_addr(in_dev.net, in_dev, sip, 0, RT_SCOPE_LINK) else 0
    return 0


def arp_is_garp(net, dev, op: int, sip: int, tip: int, sha: bytes, tha: bytes) -> bool:
    from .fib_frontend import inet_addr_type_dev_table
    is_garp = tip == sip
    if is_garp and op == ARPOP_REPLY:
        is_garp = tha == sha
    if is_garp and inet_addr_type_dev_table(net, dev, sip) != RTN_UNICAST:
        is_garp = False
    return is_garp


def arp_process(net, sk, skb) -> int:
    from .devinet import IN_DEV_ARPFILTER, IN_DEV_FORWARD, IN_DEV_ORCONF, IN_DEV_ROUTE_LOCALNET
    from .fib_frontend import inet_addr_type_dev_table
    from .route import ip_route_input_noref
    dev = skb.dev
    in_dev = dev.ip_ptr
    if in_dev is None:
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
        return NET_RX_DROP
    hrd, pro, hln, pln, op, sha, sip, tha, tip = _ARP.unpack_from(skb.head, skb.data)
    if dev.type in (ARPHRD_ETHER, ARPHRD_IEEE802):
        if hrd not in (ARPHRD_ETHER, ARPHRD_IEEE802) or pro != ETH_P_IP:
            kfree_skb(skb, SkbDropReason.ARP_INVALID)
            return NET_RX_DROP
    elif pro != ETH_P_IP or hrd != dev.type:
        kfree_skb(skb, SkbDropReason.ARP_INVALID)
        return NET_RX_DROP
    if op not in (ARPOP_REPLY, ARPOP_REQUEST):
        kfree_skb(skb, SkbDropReason.ARP_INVALID)
        return NET_RX_DROP
    # Requests for 127/8 or multicast addresses are bogus.
    if ipv4_is_multicast(tip) or (not IN_DEV_ROUTE_LOCALNET(in_dev) and ipv4_is_loopback(tip)):
        kfree_skb(skb, SkbDropReason.ARP_INVALID)
        return NET_RX_DROP
    if sip == tip and IN_DEV_ORCONF(in_dev, "drop_gratuitous_arp"):
        kfree_skb(skb, SkbDropReason.ARP_INVALID)
        return NET_RX_DROP
    tbl = arp_tbl_of(net)
    # RFC 2131 / RFC 5227 duplicate address detection: a probe from 0.0.0.0.
    if sip == 0:
        if op == ARPOP_REQUEST and inet_addr_type_dev_table(net, dev, tip) == RTN_LOCAL and \
                not arp_ignore(in_dev, sip, tip):
            arp_send(ARPOP_REPLY, ETH_P_ARP, sip, dev, tip, sha, dev.dev_addr, sha)
        consume_skb(skb)
        return NET_RX_SUCCESS
    if op == ARPOP_REQUEST and ip_route_input_noref(skb, tip, sip, 0, dev) == 0:
        rt = skb._dst
        addr_type = rt.rt_type
        if addr_type == RTN_LOCAL:
            dont_send = arp_ignore(in_dev, sip, tip)
            if not dont_send and IN_DEV_ARPFILTER(in_dev):
                dont_send = arp_filter(sip, tip, dev)
            if not dont_send:
                n = neigh_event_ns(tbl, sha, sip, dev)
                if n is not None:
                    arp_send(ARPOP_REPLY, ETH_P_ARP, sip, dev, tip, sha, dev.dev_addr, sha)
            skb._dst = None
            consume_skb(skb)
            return NET_RX_SUCCESS
        if IN_DEV_FORWARD(in_dev) and addr_type == RTN_UNICAST and \
                (arp_fwd_proxy(in_dev, dev, rt) or arp_fwd_pvlan(in_dev, dev, rt, sip, tip)):
            neigh_event_ns(tbl, sha, sip, dev)
            arp_send(ARPOP_REPLY, ETH_P_ARP, sip, dev, tip, sha, dev.dev_addr, sha)
            skb._dst = None
            consume_skb(skb)
            return NET_RX_SUCCESS
    skb._dst = None

    # Update our ARP tables.
    n = __neigh_lookup(tbl, sip, dev, False)
    is_garp = False
    accept = arp_accept(in_dev, sip)
    if n is not None or accept:
        is_garp = arp_is_garp(net, dev, op, sip, tip, sha, tha)
    if accept and n is None:
        if is_garp or (op == ARPOP_REPLY and inet_addr_type_dev_table(net, dev, sip) == RTN_UNICAST):
            n = __neigh_lookup(tbl, sip, dev, True)
    if n is not None:
        state = NUD_REACHABLE
        now = net.clock.now()
        # Several replies back to back: take the first (locktime), unless gratuitous.
        override = now > n.updated + n.parms.locktime or is_garp
        # Broadcast replies and requests do not prove reachability.
        if op != ARPOP_REPLY or skb.pkt_type != PACKET_HOST:
            state = NUD_STALE
        neigh_update(n, sha, state, NEIGH_UPDATE_F_OVERRIDE if override else 0, 0)
    consume_skb(skb)
    return NET_RX_SUCCESS


def arp_fwd_proxy(in_dev, dev, rt) -> bool:
    from .devinet import IN_DEV_MEDIUM_ID, IN_DEV_PROXY_ARP
    if rt.dev is dev:
        return False
    if not IN_DEV_PROXY_ARP(in_dev):
        return False
    imi = IN_DEV_MEDIUM_ID(in_dev)
    if imi == 0:
        return True
    if imi == -1:
        return False
    out_dev = rt.dev.ip_ptr
    omi = IN_DEV_MEDIUM_ID(out_dev) if out_dev is not None else -1
    return omi != imi and omi != -1


def arp_fwd_pvlan(in_dev, dev, rt, sip: int, tip: int) -> bool:
    from .devinet import IN_DEV_PROXY_ARP_PVLAN
    if rt.dev is not dev:
        return False
    if sip == tip:
        return False
    return IN_DEV_PROXY_ARP_PVLAN(in_dev)


def arp_hdr_len(dev) -> int:
    return 8 + 2 * (dev.addr_len + 4)


def arp_rcv(skb, dev, pt, orig_dev) -> int:
    """ETH_P_ARP handler: validate, then arp_process. Malformed frames are counted drops."""
    if dev.flags & IFF_NOARP or skb.pkt_type in (PACKET_OTHERHOST, PACKET_LOOPBACK):
        consume_skb(skb)
        return NET_RX_SUCCESS
    if skb.len < arp_hdr_len(dev) or skb.len < 8:
        kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
        return NET_RX_DROP
    hrd, pro, hln, pln, op = _ARP_FIXED.unpack_from(skb.head, skb.data)
    if hln != dev.addr_len or pln != 4 or hln != 6:
        kfree_skb(skb, SkbDropReason.ARP_INVALID)
        return NET_RX_DROP
    skb.network_header = skb.data
    return arp_process(dev.nd_net, None, skb)


# --- administration --------------------------------------------------------------------
def arp_ifdown(dev) -> None:
    tbl = dev.nd_net.gen.get("arp_tbl")
    if tbl is not None:
        neigh_ifdown(tbl, dev)


def arp_invalidate(dev, ip: int, force: bool = False) -> int:
    tbl = arp_tbl_of(dev.nd_net)
    neigh = neigh_lookup(tbl, ip, dev)
    if neigh is None:
        return -ENXIO
    err = -ENXIO
    if neigh.nud_state & ~NUD_NOARP:
        err = neigh_update(neigh, None, NUD_FAILED, NEIGH_UPDATE_F_OVERRIDE | NEIGH_UPDATE_F_ADMIN, 0)
    if force:
        from ...core.neighbour import neigh_remove_one
        neigh_remove_one(neigh)
    return err


def arp_netdev_event(event: int, dev) -> None:
    if event == NETDEV_CHANGEADDR:
        tbl = dev.nd_net.gen.get("arp_tbl")
        if tbl is not None:
            neigh_changeaddr(tbl, dev)
        from .route import rt_cache_flush
        rt_cache_flush(dev.nd_net)


def arp_seq_show(net) -> str:
    """/proc/net/arp."""
    tbl = arp_tbl_of(net)
    lines = ["IP address       HW type     Flags       HW address            Mask     Device"]
    for n in tbl.hash.values():
        if n.nud_state & NUD_NOARP:
            continue
        flags = 0x6 if n.nud_state & NUD_PERMANENT else (0x2 if n.nud_state & NUD_VALID else 0)
        ha = bytes(n.ha).hex(":") if n.nud_state & NUD_VALID else "00:00:00:00:00:00"
        lines.append(f"{_ntoa(n.primary_key):<16} 0x{n.dev.type:<10x}0x{flags:<10x}{ha:<22}"
                     f"*        {n.dev.name}")
    return "\n".join(lines) + "\n"


# --- rtnetlink: ip neigh -----------------------------------------------------------------
def _parse_lladdr(v):
    if v is None:
        return None
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    return bytes(int(p, 16) for p in str(v).split(":"))


def _nud(v) -> int:
    if isinstance(v, int):
        return v
    if isinstance(v, (list, tuple)):
        s = 0
        for x in v:
            s |= _nud(x)
        return s
    return NUD_BY_NAME[str(v).lower()]


def _rtm_newneigh(net, attrs, extack=None):
    from .fib_frontend import parse_addr
    dev = rtnl_dev_get(net, attrs)
    if dev is None:
        return -ENODEV if any(attrs.get(k) for k in ("dev", "ifindex")) else -EINVAL
    dst = parse_addr(attrs["dst"])
    state = _nud(attrs.get("state", attrs.get("nud", NUD_PERMANENT)))
    from ...core.neighbour import NTF_USE
    return neigh_add(arp_tbl_of(net), dev, dst, _parse_lladdr(attrs.get("lladdr")), state,
                     attrs.get("nlmsg_flags", NLM_F_CREATE | NLM_F_EXCL),
                     NTF_USE if attrs.get("use") else 0)


def _rtm_delneigh(net, attrs, extack=None):
    from .fib_frontend import parse_addr
    dev = rtnl_dev_get(net, attrs)
    if dev is None:
        return -ENODEV if any(attrs.get(k) for k in ("dev", "ifindex")) else -EINVAL
    return neigh_delete(arp_tbl_of(net), dev, parse_addr(attrs["dst"]))


def _rtm_dumpneigh(net, attrs) -> list:
    dev = rtnl_dev_get(net, attrs)
    nud = attrs.get("nud")
    if nud is None:
        mask = 0xFF & ~NUD_NOARP           # iproute2's default filter
    elif nud == "all":
        mask = 0x1FF
    else:
        mask = _nud(nud)
    return neigh_dump_info(arp_tbl_of(net), _ntoa, dev, mask)


# --- boot ----------------------------------------------------------------------------------
def arp_net_init(net) -> None:
    tbl = arp_tbl_of(net)
    if net.gen.get("arp_packet_type") is None:
        pt = PacketType(ETH_P_ARP, arp_rcv)
        net.gen["arp_packet_type"] = pt
        dev_add_pack(net, pt)
        register_netdevice_notifier(net, arp_netdev_event)
    if net.ipv4 is not None:
        net.ipv4.arp_tbl = tbl


def arp_init() -> None:
    """Register arp's pernet init (packet handler, table) and the neighbour messages."""
    from ...core.net_namespace import PernetOperations, register_pernet_subsys
    register_pernet_subsys(PernetOperations("arp", arp_net_init))
    rtnl_register(RTM_NEWNEIGH, _rtm_newneigh, None)
    rtnl_register(RTM_DELNEIGH, _rtm_delneigh, None)
    rtnl_register(RTM_GETNEIGH, None, _rtm_dumpneigh)

