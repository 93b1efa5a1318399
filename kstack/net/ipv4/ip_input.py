"""net/ipv4/ip_input.c (with the receive half of ip_options.c) — RFC 791, RFC 1122 §3.2.1, RFC 1812 §5.2.

The receive chain, split at each netfilter hook as in the kernel:

    ip_rcv (ETH_P_IP packet_type) -> ip_rcv_core (checks, counters)
      -> NF_HOOK(PRE_ROUTING) -> ip_rcv_finish -> ip_rcv_finish_core (ip_route_input_noref,
         options, broadcast/multicast counters) -> dst_input:
           ip_local_deliver (ip_defrag) -> NF_HOOK(LOCAL_IN) -> ip_local_deliver_finish
             -> ip_protocol_deliver (raw_local_deliver, inet_protos[proto].handler)
           ip_forward (ip_forward.py)
           ip_error (route.py)

Every frame that does not reach a handler is freed with ``kfree_skb(skb, reason)`` and the
MIB counter Linux bumps. The IP header checksum is always verified, as ip_rcv_core does
(CHECKSUM_UNNECESSARY from loopback vouches for the transport checksum, not for the IP
header, which ip_send_check computed anyway).

``IPCB(skb)`` is ``skb.cb``, an InetSkbParm set in ip_rcv_core (struct inet_skb_parm:
iif, flags, frag_max_size, opt). SkBuff has no ``ignore_df`` bit, so it lives there too.
"""
import struct

from ...core.dropreason import SkbDropReason
from ...core.netdevice import NET_RX_DROP, NET_RX_SUCCESS
from ...core.skbuff import (CHECKSUM_COMPLETE, CHECKSUM_NONE, PACKET_BROADCAST, PACKET_MULTICAST,
                            PACKET_OTHERHOST, consume_skb, kfree_skb, skb_orphan)
from ...wire.checksum import ip_fast_csum
from ..netfilter.core import NF_INET_LOCAL_IN, NF_INET_PRE_ROUTING, NF_HOOK, NFPROTO_IPV4
from .protocol import inet_protos

# include/net/ip.h: IPCB(skb)->flags
IPSKB_FORWARDED = 1
IPSKB_XFRM_TUNNEL_SIZE = 2
IPSKB_XFRM_TRANSFORMED = 4
IPSKB_FRAG_COMPLETE = 8
IPSKB_REROUTED = 16
IPSKB_DOREDIRECT = 32
IPSKB_FRAG_PMTU = 64
IPSKB_L3SLAVE = 128
IPSKB_NOPOLICY = 256
IPSKB_MULTIPATH = 512

# include/uapi/linux/ip.h: options
IPOPT_COPY = 0x80
IPOPT_END = 0
IPOPT_NOOP = 1
IPOPT_SEC = 130
IPOPT_LSRR = 131
IPOPT_TIMESTAMP = 68
IPOPT_CIPSO = 134
IPOPT_RR = 7
IPOPT_SID = 136
IPOPT_SSRR = 137
IPOPT_RA = 148
IPOPT_TS_TSONLY = 0
IPOPT_TS_TSANDADDR = 1
IPOPT_TS_PRESPEC = 3

# include/uapi/linux/rtnetlink.h route types, in_route.h flags (uapi values)
RTN_UNICAST = 1
RTN_LOCAL = 2
RTN_BROADCAST = 3
RTN_MULTICAST = 5
RTCF_BROADCAST = 0x10000000
RTCF_MULTICAST = 0x20000000
RTCF_LOCAL = 0x80000000

IP_DEFRAG_LOCAL_DELIVER = 0

ICMP_PARAMETERPROB = 12
ICMP_DEST_UNREACH = 3
ICMP_PROT_UNREACH = 2


class IpOptions:
    """struct ip_options: offsets (from the IP header) of the options found."""

    __slots__ = ("faddr", "nexthop", "optlen", "srr", "rr", "ts", "is_strictroute", "srr_is_hit",
                 "is_changed", "rr_needaddr", "ts_needtime", "ts_needaddr", "router_alert", "cipso")

    def __init__(self, optlen: int = 0):
        self.faddr = 0
        self.nexthop = 0
        self.optlen = optlen
        self.srr = 0
        self.rr = 0
        self.ts = 0
        self.is_strictroute = False
        self.srr_is_hit = False
        self.is_changed = False
        self.rr_needaddr = False
        self.ts_needtime = False
        self.ts_needaddr = False
        self.router_alert = 0
        self.cipso = 0


class InetSkbParm:
    """struct inet_skb_parm (IPCB): what IP keeps in skb.cb."""

    __slots__ = ("iif", "flags", "frag_max_size", "opt", "ignore_df")

    def __init__(self, iif: int = 0):
        self.iif = iif
        self.flags = 0
        self.frag_max_size = 0
        self.opt = None          # IpOptions when the header carries options
        self.ignore_df = False   # skb->ignore_df (SkBuff has no slot for it)

    def copy(self):
        n = InetSkbParm(self.iif)
        n.flags = self.flags
        n.frag_max_size = self.frag_max_size
        n.opt = self.opt
        n.ignore_df = self.ignore_df
        return n


def IPCB(skb) -> InetSkbParm:
    """The skb's inet_skb_parm, created (zeroed) if the cb holds something else."""
    cb = skb.cb
    if cb.__class__ is not InetSkbParm:
        cb = skb.cb = InetSkbParm(skb.skb_iif)
    return cb


def ipcb_flags(skb) -> int:
    cb = skb.cb
    return cb.flags if cb.__class__ is InetSkbParm else 0


def ip_hdrlen(skb) -> int:
    return (skb.head[skb.network_header] & 0x0F) << 2


def ip_hdr_protocol(skb) -> int:
    return skb.head[skb.network_header + 9]


# iph->saddr, iph->daddr in one read (at network_header + 12)
_IPH_ADDRS = struct.Struct("!II")


def ip_hdr_saddr(skb) -> int:
    return _IPH_ADDRS.unpack_from(skb.head, skb.network_header + 12)[0]


def ip_hdr_daddr(skb) -> int:
    return _IPH_ADDRS.unpack_from(skb.head, skb.network_header + 12)[1]


# --- lazily bound neighbours (import cycles: route.py imports this module) ---------
_route_input = None
_icmp_send = None
_ip_defrag = None
_raw_deliver = None      # raw.raw_local_deliver, or False when the module is absent


def _bind_route_input():
    global _route_input
    from .route import ip_route_input_noref
    _route_input = ip_route_input_noref
    return _route_input


def icmp_send(skb, type_: int, code: int, info: int) -> None:
    global _icmp_send
    if _icmp_send is None:
        from .icmp import icmp_send as f
        _icmp_send = f
    _icmp_send(skb, type_, code, info)


def _raw_local_deliver(skb, protocol: int) -> int:
    global _raw_deliver
    if _raw_deliver is None:
        try:
            from .raw import raw_local_deliver
            _raw_deliver = raw_local_deliver
        except ImportError:
            _raw_deliver = False
    if _raw_deliver is False:
        return 0
    return _raw_deliver(skb, protocol)


# --- ip_rcv ---------------------------------------------------------------------------
def ip_rcv_core(skb, net):
    """Validate the header (RFC 1122 §3.2.1.1-2): the skb, trimmed to tot_len, or None."""
    if skb.pkt_type == PACKET_OTHERHOST:
        # In promiscuous mode, drop all the crap it receives without looking at it.
        kfree_skb(skb, SkbDropReason.OTHERHOST)
        return None
    mib = net.mib
    ip = mib.Ip
    ip["InReceives"] += 1
    mib.IpExt["InOctets"] += skb.tail - skb.data
    skb.network_header = nh = skb.data
    head = skb.head
    if skb.tail - nh < 20:
        return _inhdr_error(skb, net, SkbDropReason.NOT_SPECIFIED)
    vihl = head[nh]
    ihl = (vihl & 0x0F) << 2
    if ihl < 20 or vihl >> 4 != 4:
        return _inhdr_error(skb, net, SkbDropReason.NOT_SPECIFIED)
    ext = mib.IpExt
    ecn = head[nh + 1] & 3
    if ecn == 0:
        ext["InNoECTPkts"] += 1
    elif ecn == 1:
        ext["InECT1Pkts"] += 1
    elif ecn == 2:
        ext["InECT0Pkts"] += 1
    else:
        ext["InCEPkts"] += 1
    if skb.tail - nh < ihl:
        return _inhdr_error(skb, net, SkbDropReason.NOT_SPECIFIED)
    if ip_fast_csum(head[nh:nh + ihl], ihl >> 2):
        ext["InCsumErrors"] += 1
        return _inhdr_error(skb, net, SkbDropReason.IP_CSUM)
    tot_len = (head[nh + 2] << 8) | head[nh + 3]
    if skb.tail - nh < tot_len:
        ext["InTruncatedPkts"] += 1
        kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
        return None
    if tot_len < ihl:
        return _inhdr_error(skb, net, SkbDropReason.NOT_SPECIFIED)
    # The medium may have padded the frame: trim to the datagram (pskb_trim_rcsum).
    if skb.tail - nh > tot_len:
        skb.tail = nh + tot_len
        if skb.ip_summed == CHECKSUM_COMPLETE:
            skb.ip_summed = CHECKSUM_NONE
    skb.transport_header = nh + ihl
    skb.cb = InetSkbParm(skb.skb_iif)       # remove any debris in the control block
    if skb.sk is not None:
        skb_orphan(skb)                     # must drop the socket now (tproxy)
    return skb


def _inhdr_error(skb, net, reason):
    if reason == SkbDropReason.NOT_SPECIFIED:
        reason = SkbDropReason.IP_INHDR
    net.mib.Ip["InHdrErrors"] += 1
    kfree_skb(skb, reason)
    return None


def ip_rcv(skb, dev, pt=None, orig_dev=None) -> int:
    """packet_type ETH_P_IP handler: the entry of IPv4 receive."""
    net = dev.nd_net
    skb = ip_rcv_core(skb, net)
    if skb is None:
        return NET_RX_DROP
    return NF_HOOK(NFPROTO_IPV4, NF_INET_PRE_ROUTING, net, None, skb, dev, None, ip_rcv_finish)


def ip_rcv_finish(net, sk, skb) -> int:
    ret = ip_rcv_finish_core(net, skb, skb.dev)
    if ret != NET_RX_DROP:
        dst = skb._dst
        ret = dst.input(skb)
    return ret


def ip_rcv_finish_core(net, skb, dev) -> int:
    """Route the packet (once), handle options, count broadcasts."""
    head = skb.head
    nh = skb.network_header
    if skb._dst is None:
        route_in = _route_input or _bind_route_input()
        saddr, daddr = _IPH_ADDRS.unpack_from(head, nh + 12)
        err = route_in(skb, daddr, saddr, head[nh + 1], dev)
        if err:
            reason = skb.drop_reason or _route_err_reason(err)
            kfree_skb(skb, reason)
            return NET_RX_DROP
    if head[nh] & 0x0F > 5 and ip_rcv_options(skb, dev):
        return NET_RX_DROP
    rt = skb._dst
    rt_type = getattr(rt, "rt_type", RTN_UNICAST)
    if rt_type == RTN_MULTICAST:
        net.mib.IpExt["InMcastPkts"] += 1
        net.mib.IpExt["InMcastOctets"] += skb.tail - skb.data
    elif rt_type == RTN_BROADCAST:
        net.mib.IpExt["InBcastPkts"] += 1
        net.mib.IpExt["InBcastOctets"] += skb.tail - skb.data
    elif skb.pkt_type == PACKET_BROADCAST or skb.pkt_type == PACKET_MULTICAST:
        # RFC 1122 §3.3.6: unicast IP in a link-layer broadcast, if so configured.
        in_dev = dev.ip_ptr
        if in_dev is not None and _in_dev_conf(in_dev, "drop_unicast_in_l2_multicast", any):
            kfree_skb(skb, SkbDropReason.UNICAST_IN_L2_MULTICAST)
            return NET_RX_DROP
    return NET_RX_SUCCESS


def _route_err_reason(err: int) -> int:
    """A reason for an ip_route_input_noref error (the kernel returns reasons directly)."""
    if err == -18:       # -EXDEV: rp_filter
        return SkbDropReason.IP_RPFILTER
    return SkbDropReason.NOT_SPECIFIED


# --- options (net/ipv4/ip_options.c, receive side) ---------------------------------------
def __ip_options_compile(net, opt: IpOptions, skb, base: bytearray, iph_off: int):
    """Parse and check the options at base[iph_off+20 : iph_off+20+optlen].

    Returns (0, 0) or (-EINVAL, info) where info is the parameter-problem pointer word
    (pointer << 24). Records the offsets of SRR/RR/TS/RA/CIPSO in ``opt``. RR and TS
    slots are checked but not filled (kstack does not record route/timestamps)."""
    p = iph_off + 20
    end = p + opt.optlen
    pp = -1
    while p < end:
        t = base[p]
        if t == IPOPT_END:
            q = p + 1
            while q < end:
                if base[q] != IPOPT_END:
                    base[q] = IPOPT_END
                    opt.is_changed = True
                q += 1
            break
        if t == IPOPT_NOOP:
            p += 1
            continue
        left = end - p
        if left < 2:
            pp = p
            break
        optlen = base[p + 1]
        if optlen < 2 or optlen > left:
            pp = p
            break
        if t == IPOPT_SSRR or t == IPOPT_LSRR:
            if optlen < 3:
                pp = p + 1
                break
            if base[p + 2] < 4:
                pp = p + 2
                break
            if opt.srr:          # RFC 1812 §5.2.4.1: only one source route
                pp = p
                break
            opt.is_strictroute = t == IPOPT_SSRR
            opt.srr = p - iph_off
        elif t == IPOPT_RR:
            if opt.rr:
                pp = p
                break
            if optlen < 3:
                pp = p + 1
                break
            ptr = base[p + 2]
            if ptr < 4:
                pp = p + 2
                break
            if ptr <= optlen:
                if ptr + 3 > optlen:
                    pp = p + 2
                    break
                opt.rr_needaddr = True
            opt.rr = p - iph_off
        elif t == IPOPT_TIMESTAMP:
            if opt.ts:
                pp = p
                break
            if optlen < 4:
                pp = p + 1
                break
            ptr = base[p + 2]
            if ptr < 5:
                pp = p + 2
                break
            flg = base[p + 3] & 0x0F
            if ptr <= optlen:
                if ptr + 3 > optlen:
                    pp = p + 2
                    break
                if flg == IPOPT_TS_TSONLY:
                    opt.ts_needtime = True
                elif flg in (IPOPT_TS_TSANDADDR, IPOPT_TS_PRESPEC):
                    if ptr + 7 > optlen:
                        pp = p + 2
                        break
                    opt.ts_needtime = True
                    opt.ts_needaddr = flg == IPOPT_TS_TSANDADDR
            elif flg != IPOPT_TS_PRESPEC:
                if base[p + 3] >> 4 == 15:     # overflow counter exhausted
                    pp = p + 3
                    break
            opt.ts = p - iph_off
        elif t == IPOPT_RA:
            if optlen < 4:
                pp = p + 1
                break
            if base[p + 2] == 0 and base[p + 3] == 0:
                opt.router_alert = p - iph_off
        elif t == IPOPT_CIPSO:
            if opt.cipso:
                pp = p
                break
            opt.cipso = p - iph_off
        p += optlen
    if pp < 0:
        return 0, 0
    return -22, (pp - iph_off) << 24


def ip_options_compile(net, opt: IpOptions, skb) -> int:
    """Check the received options; a malformed one gets ICMP parameter problem (RFC 1122)."""
    ret, info = __ip_options_compile(net, opt, skb, skb.head, skb.network_header)
    if ret and skb is not None:
        icmp_send(skb, ICMP_PARAMETERPROB, 0, info)
    return ret


def ip_rcv_options(skb, dev) -> bool:
    """True if the packet was dropped because of its options."""
    net = dev.nd_net
    cb = IPCB(skb)
    opt = cb.opt = IpOptions(ip_hdrlen(skb) - 20)
    if ip_options_compile(net, opt, skb):
        net.mib.Ip["InHdrErrors"] += 1
        kfree_skb(skb, SkbDropReason.IP_INHDR)
        return True
    if opt.srr:
        # IN_DEV_SOURCE_ROUTE (conf.all AND conf.DEV accept_source_route; all is 0 by
        # default) off: Linux drops source-routed packets. kstack does not implement
        # ip_options_rcv_srr, so it drops them even when accepting is configured.
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
        return True
    return False


def _in_dev_conf(in_dev, name: str, combine) -> bool:
    """IN_DEV_ORCONF (combine=any) / IN_DEV_ANDCONF (combine=all) over conf.all and conf.DEV."""
    vals = []
    for cnf in (getattr(in_dev, "all", None), getattr(in_dev, "cnf", None)):
        if cnf is not None:
            vals.append(bool(cnf.get(name, 0)))
    return combine(vals) if vals else False


# --- local delivery ---------------------------------------------------------------------
def ip_local_deliver(skb) -> int:
    """dst.input of local routes: reassemble, then LOCAL_IN."""
    net = skb.dev.nd_net
    head = skb.head
    nh = skb.network_header
    if head[nh + 6] & 0x3F or head[nh + 7]:      # ip_is_fragment: MF or an offset
        global _ip_defrag
        if _ip_defrag is None:
            from .ip_fragment import ip_defrag
            _ip_defrag = ip_defrag
        if _ip_defrag(net, skb, IP_DEFRAG_LOCAL_DELIVER):
            return 0
    return NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, None, skb, skb.dev, None,
                   ip_local_deliver_finish)


def ip_local_deliver_finish(net, sk, skb) -> int:
    skb.data = skb.transport_header        # __skb_pull(skb, skb_network_header_len(skb))
    ip_protocol_deliver(net, skb, skb.head[skb.network_header + 9])
    return 0


def ip_protocol_deliver(net, skb, protocol: int) -> None:
    """raw sockets get a clone first, then the protocol's handler (RFC 1122 §3.2.1.8)."""
    while True:
        raw = _raw_local_deliver(skb, protocol)
        ipprot = inet_protos[protocol]
        if ipprot is not None:
            ret = ipprot.handler(skb)
            if ret is not None and ret < 0:
                protocol = -ret
                continue
            net.mib.Ip["InDelivers"] += 1
            return
        if not raw:
            net.mib.Ip["InUnknownProtos"] += 1
            icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0)
            kfree_skb(skb, SkbDropReason.IP_NOPROTO)
        else:
            net.mib.Ip["InDelivers"] += 1
            consume_skb(skb)
        return
