"""net/ipv4/ip_forward.c — RFC 1812 §5.2 (forwarding), §5.3.1 (TTL), §4.3.2 (ICMP errors),
RFC 1191 (DF and "fragmentation needed").

``ip_forward`` is the dst.input of routes to other hosts (route.c sets it when
net.ipv4.ip_forward / conf.*.forwarding is on; with forwarding off route.c's ip_error
drops the packet and counts InAddrErrors, sending nothing, as Linux does):

    ip_forward: only PACKET_HOST frames, TTL <= 1 -> ICMP time exceeded (in transit),
    DF and bigger than the next hop's MTU -> ICMP frag needed with that MTU,
    copy the header if the buffer is shared, decrement the TTL with the incremental
    checksum (RFC 1624) -> NF_HOOK(FORWARD) -> ip_forward_finish (ForwDatagrams)
    -> dst_output.
"""
from ...core.dropreason import SkbDropReason
from ...core.netdevice import NET_RX_DROP, NET_RX_SUCCESS
from ...core.skbuff import CHECKSUM_COMPLETE, CHECKSUM_NONE, PACKET_HOST, kfree_skb
from ...wire.iphdr import ip_send_check
from ..netfilter.core import NF_INET_FORWARD, NF_HOOK, NFPROTO_IPV4
from .ip_input import IPCB, IPSKB_DOREDIRECT, IPSKB_FORWARDED, icmp_send
from .ip_output import ip_dst_mtu_maybe_forward

ETH_P_IP = 0x0800
ICMP_DEST_UNREACH = 3
ICMP_FRAG_NEEDED = 4
ICMP_SR_FAILED = 5
ICMP_TIME_EXCEEDED = 11
ICMP_EXC_TTL = 0

# net/ipv4/route.c ip_tos2prio: TOS bits -> TC_PRIO_* (ECN_OR_COST(x) is x)
ip_tos2prio = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4]


def rt_tos2priority(tos: int) -> int:
    return ip_tos2prio[(tos & 0x1E) >> 1]


def ip_exceeds_mtu(skb, mtu: int) -> bool:
    """Too big for the next hop and not allowed to be fragmented?"""
    if skb.tail - skb.network_header <= mtu:
        return False
    if not skb.head[skb.network_header + 6] & 0x40:     # DF clear: we fragment it
        return False
    cb = IPCB(skb)
    # A reassembled datagram whose largest fragment had DF set and does not fit.
    if cb.frag_max_size > mtu:
        return True
    if cb.ignore_df:
        return False
    return True


def ip_decrease_ttl(head, nh: int) -> int:
    """--ttl with the checksum fixed up incrementally, bit for bit as the kernel does it
    (include/net/ip.h: check += htons(0x0100), end-around carry, on a little-endian u32)."""
    check = head[nh + 10] | (head[nh + 11] << 8)     # the raw field as a little-endian load
    check += 0x0001                                   # htons(0x0100) seen little-endian
    check = (check + (check >= 0xFFFF)) & 0xFFFF
    head[nh + 10] = check & 0xFF
    head[nh + 11] = check >> 8
    head[nh + 8] = ttl = head[nh + 8] - 1
    return ttl


def _skb_cow(skb, net) -> None:
    """skb_cow: the header is about to change; take a private copy if anyone else can see
    the buffer (a tap's clone, a second ETH_P_IP handler, a shared skb)."""
    if skb.users > 1 or net.ptype_all or len(net.ptype_base.get(ETH_P_IP, ())) > 1:
        skb.head = bytearray(skb.head)
        skb.end = len(skb.head)


def ip_call_ra_chain(skb) -> bool:
    """Router alert sockets (RSVP, IGMP daemons) are not modelled: forward normally."""
    return False


def ip_forward(skb) -> int:
    """dst.input of forwarding routes."""
    cb = IPCB(skb)
    opt = cb.opt
    reason = SkbDropReason.NOT_SPECIFIED
    # That should never happen.
    if skb.pkt_type != PACKET_HOST or skb.sk is not None:
        kfree_skb(skb, reason)
        return NET_RX_DROP
    if opt is not None and opt.router_alert and ip_call_ra_chain(skb):
        return NET_RX_SUCCESS
    if skb.ip_summed == CHECKSUM_COMPLETE:           # skb_forward_csum
        skb.ip_summed = CHECKSUM_NONE
    net = skb.dev.nd_net
    head = skb.head
    nh = skb.network_header
    # RFC 1812 §5.3.1: decrement first; a datagram whose TTL would reach zero dies here.
    if head[nh + 8] <= 1:
        net.mib.Ip["InHdrErrors"] += 1
        icmp_send(skb, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0)
        kfree_skb(skb, SkbDropReason.IP_INHDR)
        return NET_RX_DROP
    rt = skb._dst
    if opt is not None and opt.is_strictroute and getattr(rt, "rt_uses_gateway", 0):
        # Strict source routing permits no gatewaying.
        icmp_send(skb, ICMP_DEST_UNREACH, ICMP_SR_FAILED, 0)
        kfree_skb(skb, reason)
        return NET_RX_DROP
    cb.flags |= IPSKB_FORWARDED
    mtu = ip_dst_mtu_maybe_forward(rt, True)
    if ip_exceeds_mtu(skb, mtu):
        net.mib.Ip["FragFails"] += 1
        icmp_send(skb, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu)
        kfree_skb(skb, SkbDropReason.PKT_TOO_BIG)
        return NET_RX_DROP
    # We are about to mangle the packet: copy it if it is shared.
    _skb_cow(skb, net)
    head = skb.head
    ip_decrease_ttl(head, nh)
    # RFC 1812 §5.2.7.2: tell the sender about a better first hop.
    if cb.flags & IPSKB_DOREDIRECT and not (opt is not None and opt.srr):
        try:
            from .route import ip_rt_send_redirect
        except ImportError:
            ip_rt_send_redirect = None
        if ip_rt_send_redirect is not None:
            ip_rt_send_redirect(skb)
    if net.ipv4.sysctl_ip_fwd_update_priority:
        skb.priority = rt_tos2priority(head[nh + 1])
    return NF_HOOK(NFPROTO_IPV4, NF_INET_FORWARD, net, None, skb, skb.dev, rt.dev, ip_forward_finish)


def ip_forward_options(skb) -> None:
    """Options were seen on input; kstack does not rewrite RR/TS/SRR slots, it only
    re-checksums a header that option parsing changed (END padding normalised)."""
    opt = IPCB(skb).opt
    if opt is not None and opt.is_changed:
        opt.is_changed = False
        ip_send_check(skb.head, skb.network_header)


def ip_forward_finish(net, sk, skb) -> int:
    net.mib.Ip["ForwDatagrams"] += 1
    opt = IPCB(skb).opt
    if opt is not None and opt.optlen:
        ip_forward_options(skb)
    skb.tstamp = 0.0
    return skb._dst.output(net, sk, skb)
