"""net/ipv4/icmp.c — RFC 792, RFC 1122 §3.2.2, RFC 1812 §4.3, RFC 1191 (frag needed).

Receive: ``icmp_rcv`` (inet_protos[IPPROTO_ICMP].handler) checks the checksum (skipped
for CHECKSUM_UNNECESSARY, e.g. loopback), counts Icmp InMsgs/InErrors/InCsumErrors and
IcmpMsg InTypeN, and dispatches through ``icmp_pointers``: echo -> icmp_echo ->
icmp_reply; destination unreachable, source quench, time exceeded, parameter problem
-> icmp_unreach -> icmp_socket_deliver -> raw_icmp_error and the quoted protocol's
``err_handler(skb, info)`` (skb.data at the quoted IP header, transport_header at the
ICMP header; at least the quoted header + 8 bytes are present); redirect ->
icmp_redirect; echo reply -> ping_rcv (ping sockets, if that module exists);
timestamp -> icmp_timestamp.

Send: ``icmp_send(skb_in, type, code, info)`` with Linux's rules: nothing about a packet
that was not unicast to us at layer 2 or 3, about a non-first fragment, or (for an error)
about an ICMP error; the source address is the one the packet was sent to when it was
for us, else the route's choice (or the inbound interface's address with
icmp_errors_use_inbound_ifaddr); TOS = the packet's TOS | IPTOS_PREC_INTERNETCONTROL; the
quote is as much of the packet as fits in 576 bytes (RFC 1812 §4.3.2.3). Errors leave
through ip_local_out like any local packet, so an error about a local sender's own
packet comes back through that Net's icmp_rcv (how UDP learns ECONNREFUSED).

Rate limits are the kernel's two token buckets, for the types in icmp_ratemask (and
never for "fragmentation needed"): a per-Net bucket of icmp_msgs_burst tokens refilled at
icmp_msgs_per_sec (icmp_global_allow, skipped for packets that came in on loopback;
each message sent takes 0, 1 or 2 tokens at random, so the average is 1), counted in
Icmp OutRateLimitGlobal; then a per-destination bucket in inet_peer allowing one message
per icmp_ratelimit ms with a burst of 6 (inet_peer_xrlim_allow), not applied when the
error goes out on loopback, counted in OutRateLimitHost.

PMTU: as in Linux, icmp_unreach only extracts the MTU (honouring ip_no_pmtu_disc); the
protocols' err handlers (udp_err, tcp_v4_err, raw, ping, icmp_err here) call
ipv4_update_pmtu / ipv4_sk_update_pmtu.

Not modelled: IP options in replies (ip_options_echo), answering ICMP extended echo
(PROBE, RFC 8335; Linux too ignores it while icmp_echo_enable_probe is 0, the default),
RFC 4884 extensions, xfrm.
"""
from ...core.dropreason import SkbDropReason
from ...core.errno import (ECONNREFUSED, EHOSTDOWN, EHOSTUNREACH, EMSGSIZE, ENETUNREACH,
                           ENOPROTOOPT, EOPNOTSUPP)
from ...core.netdevice import IFF_LOOPBACK, NET_RX_DROP, NET_RX_SUCCESS
from ...core.skbuff import CHECKSUM_UNNECESSARY, PACKET_HOST, consume_skb, kfree_skb
from ...wire.checksum import csum_fold, csum_partial
from ...wire.icmphdr import (ICMP_ADDRESS, ICMP_ADDRESSREPLY, ICMP_DEST_UNREACH, ICMP_ECHO,
                            ICMP_ECHOREPLY, ICMP_EXC_FRAGTIME, ICMP_FRAG_NEEDED, ICMP_PARAMETERPROB,
                            ICMP_REDIRECT, ICMP_SOURCE_QUENCH, ICMP_TIME_EXCEEDED, ICMP_TIMESTAMP,
                            ICMP_TIMESTAMPREPLY, NR_ICMP_TYPES, NR_ICMP_UNREACH)
from .inetpeer import HZ, inet_getpeer_v4, inet_peer_xrlim_allow, jiffies
from .ip_input import RTCF_BROADCAST, RTCF_LOCAL, RTCF_MULTICAST, RTN_BROADCAST
from .ip_output import (IP_PMTUDISC_DONT, IpcmCookie, __ip_make_skb, _check_size, dst_mtu, flowi4,
                        ip_send_skb, _routing)
from .protocol import NetProtocol, inet_protos

from ...core.errno import ENONET

# include/uapi/linux/icmp.h (RFC 8335), not in wire.icmphdr
ICMP_EXT_ECHO = 42
ICMP_EXT_ECHOREPLY = 43

IPPROTO_ICMP = 1
IPTOS_PREC_INTERNETCONTROL = 0xC0
IPTOS_TOS_MASK = 0x1E
INADDR_DUMMY = 0xC0000008          # 192.0.0.8 (RFC 7600): when no source address exists
SOCK_RAW = 3
RT_SCOPE_LINK = 253
RT_SCOPE_UNIVERSE = 0

# RFC 1122 §3.2.2.1: NET_UNREACH, HOST_UNREACH and SR_FAILED MUST be transient errors.
icmp_err_convert = [
    (ENETUNREACH, 0),    # ICMP_NET_UNREACH
    (EHOSTUNREACH, 0),   # ICMP_HOST_UNREACH
    (ENOPROTOOPT, 1),    # ICMP_PROT_UNREACH
    (ECONNREFUSED, 1),   # ICMP_PORT_UNREACH
    (EMSGSIZE, 0),       # ICMP_FRAG_NEEDED
    (EOPNOTSUPP, 0),     # ICMP_SR_FAILED
    (ENETUNREACH, 1),    # ICMP_NET_UNKNOWN
    (EHOSTDOWN, 1),      # ICMP_HOST_UNKNOWN
    (ENONET, 1),         # ICMP_HOST_ISOLATED
    (ENETUNREACH, 1),    # ICMP_NET_ANO
    (EHOSTUNREACH, 1),   # ICMP_HOST_ANO
    (ENETUNREACH, 0),    # ICMP_NET_UNR_TOS
    (EHOSTUNREACH, 0),   # ICMP_HOST_UNR_TOS
    (EHOSTUNREACH, 1),   # ICMP_PKT_FILTERED
    (EHOSTUNREACH, 1),   # ICMP_PREC_VIOLATION
    (EHOSTUNREACH, 1),   # ICMP_PREC_CUTOFF
]

# The Icmp line of /proc/net/snmp shows the per-type counts of IcmpMsg (icmpmibmap).
_ICMP_MIB_NAMES = {ICMP_ECHOREPLY: "EchoReps", ICMP_DEST_UNREACH: "DestUnreachs",
                   ICMP_SOURCE_QUENCH: "SrcQuenchs", ICMP_REDIRECT: "Redirects", ICMP_ECHO: "Echos",
                   ICMP_TIME_EXCEEDED: "TimeExcds", ICMP_PARAMETERPROB: "ParmProbs",
                   ICMP_TIMESTAMP: "Timestamps", ICMP_TIMESTAMPREPLY: "TimestampReps",
                   ICMP_ADDRESS: "AddrMasks", ICMP_ADDRESSREPLY: "AddrMaskReps"}
_IN_NAMES = {t: "In" + n for t, n in _ICMP_MIB_NAMES.items()}
_OUT_NAMES = {t: "Out" + n for t, n in _ICMP_MIB_NAMES.items()}
_INTYPE = [f"InType{t}" for t in range(256)]
_OUTTYPE = [f"OutType{t}" for t in range(256)]


def ICMPMSGIN_INC_STATS(net, type_: int) -> None:
    mib = net.mib
    k = _INTYPE[type_]
    mib.IcmpMsg[k] = mib.IcmpMsg.get(k, 0) + 1
    n = _IN_NAMES.get(type_)
    if n is not None:
        mib.Icmp[n] += 1


def icmp_out_count(net, type_: int) -> None:
    """Count an outgoing ICMP message (called where the datagram is built)."""
    mib = net.mib
    k = _OUTTYPE[type_]
    mib.IcmpMsg[k] = mib.IcmpMsg.get(k, 0) + 1
    n = _OUT_NAMES.get(type_)
    if n is not None:
        mib.Icmp[n] += 1
    mib.Icmp["OutMsgs"] += 1


_optional_cache = {}


def _optional(module: str, name: str):
    """A function of a sibling module that may not exist (yet): cached, None if absent."""
    key = (module, name)
    try:
        return _optional_cache[key]
    except KeyError:
        pass
    import importlib
    try:
        f = getattr(importlib.import_module("kstack.net.ipv4." + module), name, None)
    except ImportError:
        f = None
    _optional_cache[key] = f
    return f


class IcmpBxm:
    """struct icmp_bxm: a reply being built (header, quoted data, times)."""

    __slots__ = ("skb", "offset", "data_len", "type", "code", "un", "times", "head_len")

    def __init__(self, skb, offset: int, data_len: int, type_: int, code: int, un: int,
                 head_len: int = 8, times=None):
        self.skb = skb
        self.offset = offset
        self.data_len = data_len
        self.type = type_
        self.code = code
        self.un = un
        self.times = times
        self.head_len = head_len


class IcmpCtlSock:
    """The per-Net ICMP control socket (the kernel's per-cpu ipv4_icmp_sk): the inet_sock
    fields ip_make_skb reads. IP_PMTUDISC_DONT: ICMP messages never carry DF."""

    def __init__(self, net):
        self.sk_net = net
        self.sk_protocol = IPPROTO_ICMP
        self.sk_type = SOCK_RAW
        self.sk_priority = 0
        self.sk_mark = 0
        self.sk_bound_dev_if = 0
        self.pmtudisc = IP_PMTUDISC_DONT
        self.uc_ttl = -1
        self.mc_ttl = 1
        self.tos = 0
        self.inet_daddr = 0
        self.inet_dport = 0
        self.inet_id = 0
        self.inet_opt = None
        self.recverr = 0


def icmp_sk_init(net) -> None:
    v = net.ipv4
    v.icmp_sk = IcmpCtlSock(net)
    # The refill stamp starts a second in the past, as on a machine whose jiffies are
    # far from 0: the first error of a fresh Net finds a full bucket.
    v.icmp_global_stamp = (jiffies(net) - HZ) & 0xFFFFFFFF
    v.icmp_global_credit = 0


def icmp_init() -> None:
    """inet_init -> icmp_init: the pernet part (sysctls are NetnsIpv4's defaults)."""
    from ...core.net_namespace import PernetOperations, register_pernet_subsys
    register_pernet_subsys(PernetOperations("icmp_sk", icmp_sk_init))


def _icmp_sk(net) -> IcmpCtlSock:
    sk = getattr(net.ipv4, "icmp_sk", None)
    if sk is None:
        icmp_sk_init(net)
        sk = net.ipv4.icmp_sk
    return sk


# --- rate limits ------------------------------------------------------------------------
def icmp_global_allow(net) -> bool:
    """Are we allowed to send one more ICMP message? (the per-Net token bucket)"""
    v = net.ipv4
    if v.icmp_global_credit > 0:
        return True
    now = jiffies(net) & 0xFFFFFFFF
    delta = min((now - v.icmp_global_stamp) & 0xFFFFFFFF, HZ)
    if delta < HZ // 50:
        return False
    incr = v.sysctl_icmp_msgs_per_sec * delta // HZ
    if not incr:
        return False
    v.icmp_global_stamp = now
    v.icmp_global_credit = min(v.icmp_global_credit + incr, v.sysctl_icmp_msgs_burst)
    return True


def icmp_global_consume(net) -> None:
    """One message sent: 0, 1 or 2 credits at random (may go negative)."""
    credits = net.rng.prandom_u32_max(3)
    if credits:
        net.ipv4.icmp_global_credit -= credits


def icmpv4_mask_allow(net, type_: int, code: int) -> bool:
    """True when the type is not rate limited at all."""
    if type_ > NR_ICMP_TYPES:
        return True
    # Don't limit PMTU discovery.
    if type_ == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        return True
    # Limit if the type is enabled in the ratemask.
    if not (1 << type_) & net.ipv4.sysctl_icmp_ratemask:
        return True
    return False


def icmpv4_global_allow(net, type_: int, code: int):
    """(allowed, apply_ratelimit)."""
    if icmpv4_mask_allow(net, type_, code):
        return True, False
    if icmp_global_allow(net):
        return True, True
    net.mib.Icmp["OutRateLimitGlobal"] += 1
    return False, False


def icmpv4_xrlim_allow(net, rt, fl4_daddr: int, type_: int, code: int, apply_ratelimit: bool) -> bool:
    """The per-destination bucket; a message that passes consumes global credit."""
    if not apply_ratelimit:
        return True
    rc = True
    peer_timeout = net.ipv4.sysctl_icmp_ratelimit
    if peer_timeout:
        dev = rt.dev
        if not (dev is not None and dev.flags & IFF_LOOPBACK):
            now = jiffies(net)
            peer = inet_getpeer_v4(net.ipv4.peers, fl4_daddr, 0, now)
            rc = inet_peer_xrlim_allow(peer, peer_timeout, now)
    if not rc:
        net.mib.Icmp["OutRateLimitHost"] += 1
    else:
        icmp_global_consume(net)
    return rc


# --- building and sending -----------------------------------------------------------------
def icmp_push_reply(sk, param: IcmpBxm, fl4, ipc, rt) -> None:
    """Header (+ times) + quoted data, checksummed, out through ip_send_skb."""
    net = sk.sk_net
    skb_in = param.skb
    start = skb_in.data + param.offset
    data = bytes(skb_in.head[start:start + param.data_len])
    hdr = bytearray(param.head_len)
    hdr[0] = param.type
    hdr[1] = param.code
    hdr[4:8] = (param.un & 0xFFFFFFFF).to_bytes(4, "big")
    if param.times is not None:
        for i, t in enumerate(param.times):
            hdr[8 + 4 * i:12 + 4 * i] = (t & 0xFFFFFFFF).to_bytes(4, "big")
    msg = hdr + data
    c = csum_fold(csum_partial(msg))
    msg[2] = c >> 8
    msg[3] = c & 0xFF
    if _check_size(sk, rt, 0, len(msg), 0):
        net.mib.Icmp["OutErrors"] += 1
        return
    skb = __ip_make_skb(net, sk, fl4, rt, msg, 0, ipc, IPPROTO_ICMP)
    ip_send_skb(net, skb)


def fib_compute_spec_dst(skb) -> int:
    """The address a reply to ``skb`` should come from (routing's, when it has one)."""
    f = _optional("fib_frontend", "fib_compute_spec_dst")
    if f is not None:
        return f(skb)
    rt = skb._dst
    h = skb.head
    nh = skb.network_header
    if getattr(rt, "rt_flags", 0) & (RTCF_BROADCAST | RTCF_MULTICAST | RTCF_LOCAL) == RTCF_LOCAL:
        return int.from_bytes(h[nh + 16:nh + 20], "big")
    return 0


def icmp_reply(param: IcmpBxm, skb) -> None:
    """Answer a query (echo, timestamp) from the address it was sent to."""
    rt = skb._dst
    net = rt.dev.nd_net
    allowed, apply_ratelimit = icmpv4_global_allow(net, param.type, param.code)
    if not allowed:
        return
    sk = _icmp_sk(net)
    h = skb.head
    nh = skb.network_header
    sk.tos = h[nh + 1]
    daddr = int.from_bytes(h[nh + 12:nh + 16], "big")
    saddr = fib_compute_spec_dst(skb)
    mark = skb.mark if net.ipv4.sysctl_fwmark_reflect else 0
    fl4 = flowi4(daddr, saddr, h[nh + 1] & IPTOS_TOS_MASK, IPPROTO_ICMP, 0, 0, 0, mark, 0)
    rt = _routing().ip_route_output_key(net, fl4)
    if rt.__class__ is int:
        return
    ipc = IpcmCookie(addr=daddr, mark=mark)
    if icmpv4_xrlim_allow(net, rt, fl4.daddr, param.type, param.code, apply_ratelimit):
        icmp_push_reply(sk, param, fl4, ipc, rt)


def icmp_route_lookup(net, skb_in, daddr: int, saddr: int, tos: int, mark: int, type_: int, code: int):
    fl4 = flowi4(daddr, saddr, tos & IPTOS_TOS_MASK, IPPROTO_ICMP, 0, 0, 0, mark, 0)
    rt = _routing().ip_route_output_key(net, fl4)
    return rt, fl4


def _inet_select_addr(dev, dst: int, scope: int) -> int:
    f = _optional("devinet", "inet_select_addr")
    return f(dev, dst, scope) if f is not None else 0


def __icmp_send(skb_in, type_: int, code: int, info: int, opt=None) -> None:
    rt = skb_in._dst
    if rt is None:
        return
    if rt.dev is not None:
        net = rt.dev.nd_net
    elif skb_in.dev is not None:
        net = skb_in.dev.nd_net
    else:
        return
    h = skb_in.head
    nh = skb_in.network_header
    # Find the original header; it must be there.
    if nh < 0 or nh + 20 > skb_in.tail:
        return
    # RFC 1122 §3.2.2: no replies to physical multicast/broadcast...
    if skb_in.pkt_type != PACKET_HOST:
        return
    # ...nor to IP broadcast/multicast.
    if getattr(rt, "rt_flags", 0) & (RTCF_BROADCAST | RTCF_MULTICAST):
        return
    # Only reply to fragment 0.
    if ((h[nh + 6] << 8) | h[nh + 7]) & 0x1FFF:
        return
    iph_saddr = int.from_bytes(h[nh + 12:nh + 16], "big")
    iph_daddr = int.from_bytes(h[nh + 16:nh + 20], "big")
    # RFC 1122 §3.2.2: never to a source that is not one host (Linux's input routing
    # already drops such martians; this guards locally injected packets).
    if iph_saddr == 0 or iph_saddr >> 28 == 0xE or iph_saddr == 0xFFFFFFFF:
        return
    # If we send an ICMP error to an ICMP error a mess would result.
    if icmp_pointers[type_].error and h[nh + 9] == IPPROTO_ICMP:
        ihl = (h[nh] & 0x0F) << 2
        itp = nh + ihl
        if itp >= skb_in.tail:
            return
        inner = h[itp]
        # Assume any unknown ICMP type is an error.
        if inner > NR_ICMP_TYPES or icmp_pointers[inner].error:
            return
    # The global limit, unless the packet came in on loopback.
    apply_ratelimit = False
    if not (skb_in.dev is not None and skb_in.dev.flags & IFF_LOOPBACK):
        allowed, apply_ratelimit = icmpv4_global_allow(net, type_, code)
        if not allowed:
            return
    sk = _icmp_sk(net)
    # Source address.
    saddr = iph_daddr
    if not getattr(rt, "rt_flags", 0) & RTCF_LOCAL:
        dev = None
        if getattr(rt, "rt_is_input", False) and net.ipv4.sysctl_icmp_errors_use_inbound_ifaddr:
            iif = skb_in.skb_iif or getattr(rt, "rt_iif", 0)
            dev = net.dev_by_index.get(iif)
        saddr = _inet_select_addr(dev, iph_saddr, RT_SCOPE_LINK) if dev is not None else 0
    tos = (h[nh + 1] & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL if icmp_pointers[type_].error \
        else h[nh + 1]
    mark = skb_in.mark if net.ipv4.sysctl_fwmark_reflect else 0
    sk.tos = tos
    rt2, fl4 = icmp_route_lookup(net, skb_in, iph_saddr, saddr, tos, mark, type_, code)
    if rt2.__class__ is int:
        return
    # The per-destination limit.
    if not icmpv4_xrlim_allow(net, rt2, fl4.daddr, type_, code, apply_ratelimit):
        return
    # RFC 1812 §4.3.2.3: as much as we can without exceeding 576 bytes.
    room = min(dst_mtu(rt2), 576)
    room -= 20
    room -= 8
    # Guard against a tiny MTU: at least the IP header must be quoted.
    if room <= 20:
        return
    offset = nh - skb_in.data
    data_len = skb_in.tail - nh
    if data_len > room:
        data_len = room
    if not fl4.saddr:
        fl4.saddr = INADDR_DUMMY
    param = IcmpBxm(skb_in, offset, data_len, type_, code, info)
    icmp_push_reply(sk, param, fl4, IpcmCookie(addr=iph_saddr, mark=mark), rt2)


def icmp_send(skb_in, type_: int, code: int, info: int) -> None:
    """Send an ICMP error (or other message) about ``skb_in`` (RFC 1122 §3.2.2)."""
    __icmp_send(skb_in, type_, code, info, None)


# --- receive -----------------------------------------------------------------------------
def _raw_icmp_error(skb, protocol: int, info: int) -> None:
    f = _optional("raw", "raw_icmp_error")
    if f is not None:
        f(skb, protocol, info)


def icmp_socket_deliver(skb, info: int) -> None:
    """Tell the quoted datagram's protocol (raw sockets first)."""
    h = skb.head
    d = skb.data
    protocol = h[d + 9]
    net = skb.dev.nd_net
    # The full quoted IP header plus 8 bytes of its payload, so handlers need not check.
    if skb.tail - d < ((h[d] & 0x0F) << 2) + 8:
        net.mib.Icmp["InErrors"] += 1
        return
    _raw_icmp_error(skb, protocol, info)
    ipprot = inet_protos[protocol]
    if ipprot is not None and ipprot.err_handler is not None:
        ipprot.err_handler(skb, info)


def _inet_addr_type_dev_table(net, dev, addr: int) -> int:
    f = _optional("fib_frontend", "inet_addr_type_dev_table")
    if f is not None:
        return f(net, dev, addr)
    f = _optional("fib_frontend", "inet_addr_type")
    return f(net, addr) if f is not None else 0


def icmp_unreach(skb) -> int:
    """Destination unreachable, source quench, time exceeded, parameter problem."""
    net = skb._dst.dev.nd_net
    reason = 0
    h = skb.head
    d = skb.data
    if skb.tail - d < 20:        # incomplete quoted header
        net.mib.Icmp["InErrors"] += 1
        return SkbDropReason.NOT_SPECIFIED
    th = skb.transport_header
    itype = h[th]
    icode = h[th + 1]
    if h[d] & 0x0F < 5:          # mangled quoted header
        net.mib.Icmp["InErrors"] += 1
        return SkbDropReason.IP_INHDR
    info = 0
    if itype == ICMP_DEST_UNREACH:
        c = icode & 15
        if c == ICMP_FRAG_NEEDED:
            mode = net.ipv4.sysctl_ip_no_pmtu_disc
            if mode == 2:
                return reason
            if mode == 3:
                prot = inet_protos[h[d + 9]]
                if prot is None or not prot.icmp_strict_tag_validation:
                    return reason
                info = (h[th + 6] << 8) | h[th + 7]
            elif mode == 0:
                info = (h[th + 6] << 8) | h[th + 7]
        if icode > NR_ICMP_UNREACH:
            return reason
    elif itype == ICMP_PARAMETERPROB:
        info = h[th + 4]
    elif itype == ICMP_TIME_EXCEEDED:
        if icode == ICMP_EXC_FRAGTIME:
            return reason
    # RFC 1122 §3.2.2: broken routers answer broadcasts with errors; optionally ignore.
    if not net.ipv4.sysctl_icmp_ignore_bogus_error_responses and \
            _inet_addr_type_dev_table(net, skb.dev, int.from_bytes(h[d + 16:d + 20], "big")) == RTN_BROADCAST:
        return reason
    icmp_socket_deliver(skb, info)
    return reason


def icmp_redirect(skb) -> int:
    net = skb.dev.nd_net
    if skb.tail - skb.data < 20:
        net.mib.Icmp["InErrors"] += 1
        return SkbDropReason.PKT_TOO_SMALL
    th = skb.transport_header
    icmp_socket_deliver(skb, int.from_bytes(skb.head[th + 4:th + 8], "big"))
    return 0


def icmp_echo(skb) -> int:
    """RFC 1122 §3.2.2.6: answer echo requests, data included; RFC 1812 §4.3.3.6: a switch."""
    net = skb._dst.dev.nd_net
    if net.ipv4.sysctl_icmp_echo_ignore_all:
        return 0
    th = skb.transport_header
    h = skb.head
    param = IcmpBxm(skb, 0, skb.tail - skb.data, ICMP_ECHOREPLY, h[th + 1],
                    int.from_bytes(h[th + 4:th + 8], "big"))
    icmp_reply(param, skb)
    return 0


def inet_current_timestamp(net) -> int:
    """Milliseconds since midnight UT (RFC 792 timestamps)."""
    return int((net.clock.wall() % 86400) * 1000)


def icmp_timestamp(skb) -> int:
    net = skb._dst.dev.nd_net
    if skb.tail - skb.data < 4:
        net.mib.Icmp["InErrors"] += 1
        return SkbDropReason.PKT_TOO_SMALL
    h = skb.head
    th = skb.transport_header
    now = inet_current_timestamp(net)
    originate = int.from_bytes(h[skb.data:skb.data + 4], "big")
    param = IcmpBxm(skb, 0, 0, ICMP_TIMESTAMPREPLY, 0, int.from_bytes(h[th + 4:th + 8], "big"),
                    head_len=8 + 12, times=(originate, now, now))
    icmp_reply(param, skb)
    return 0


def icmp_discard(skb) -> int:
    return 0     # pretend it was a success


def _ping_rcv(skb) -> int:
    ping_rcv = _optional("ping", "ping_rcv")
    if ping_rcv is None:
        return 0
    r = ping_rcv(skb)
    if r is None or r is True or r == 0 or r == SkbDropReason.CONSUMED:
        return 0
    if r is False:
        return SkbDropReason.NO_SOCKET
    return r


class IcmpControl:
    __slots__ = ("handler", "error")

    def __init__(self, handler, error: bool = False):
        self.handler = handler
        self.error = error


icmp_pointers = [
    IcmpControl(_ping_rcv),               # ICMP_ECHOREPLY
    IcmpControl(icmp_discard, True),
    IcmpControl(icmp_discard, True),
    IcmpControl(icmp_unreach, True),      # ICMP_DEST_UNREACH
    IcmpControl(icmp_unreach, True),      # ICMP_SOURCE_QUENCH
    IcmpControl(icmp_redirect, True),     # ICMP_REDIRECT
    IcmpControl(icmp_discard, True),
    IcmpControl(icmp_discard, True),
    IcmpControl(icmp_echo),               # ICMP_ECHO
    IcmpControl(icmp_discard, True),
    IcmpControl(icmp_discard, True),
    IcmpControl(icmp_unreach, True),      # ICMP_TIME_EXCEEDED
    IcmpControl(icmp_unreach, True),      # ICMP_PARAMETERPROB
    IcmpControl(icmp_timestamp),          # ICMP_TIMESTAMP
    IcmpControl(icmp_discard),            # ICMP_TIMESTAMPREPLY
    IcmpControl(icmp_discard),            # ICMP_INFO_REQUEST
    IcmpControl(icmp_discard),            # ICMP_INFO_REPLY
    IcmpControl(icmp_discard),            # ICMP_ADDRESS
    IcmpControl(icmp_discard),            # ICMP_ADDRESSREPLY
]


def icmp_rcv(skb) -> int:
    """inet_protos[IPPROTO_ICMP].handler: skb.data at the ICMP header."""
    rt = skb._dst
    net = rt.dev.nd_net
    mib = net.mib.Icmp
    mib["InMsgs"] += 1
    h = skb.head
    d = skb.data
    if skb.ip_summed != CHECKSUM_UNNECESSARY:
        if csum_fold(csum_partial(h[d:skb.tail])):
            mib["InCsumErrors"] += 1
            mib["InErrors"] += 1
            kfree_skb(skb, SkbDropReason.ICMP_CSUM)
            return NET_RX_DROP
    if skb.tail - d < 8:
        mib["InErrors"] += 1
        kfree_skb(skb, SkbDropReason.NOT_SPECIFIED)
        return NET_RX_DROP
    skb.transport_header = d
    skb.data = d + 8
    type_ = h[d]
    ICMPMSGIN_INC_STATS(net, type_)
    if type_ == ICMP_EXT_ECHO:
        # RFC 8335 PROBE is not answered while icmp_echo_enable_probe is 0 (the default),
        # and kstack does not implement it: consumed without a reply, as Linux does then.
        consume_skb(skb)
        return NET_RX_SUCCESS
    if type_ == ICMP_EXT_ECHOREPLY:
        reason = _ping_rcv(skb)
        if not reason:
            consume_skb(skb)
            return NET_RX_SUCCESS
        kfree_skb(skb, reason)
        return NET_RX_DROP
    # RFC 1122 §3.2.2: unknown types MUST be silently discarded.
    if type_ > NR_ICMP_TYPES:
        mib["InErrors"] += 1
        kfree_skb(skb, SkbDropReason.UNHANDLED_PROTO)
        return NET_RX_DROP
    if getattr(rt, "rt_flags", 0) & (RTCF_BROADCAST | RTCF_MULTICAST):
        # RFC 1122 §3.2.2.6/8: echo and timestamp to broadcast MAY be ignored (sysctl);
        # nothing but queries may come to a broadcast address.
        if (type_ == ICMP_ECHO or type_ == ICMP_TIMESTAMP) and \
                net.ipv4.sysctl_icmp_echo_ignore_broadcasts:
            mib["InErrors"] += 1
            kfree_skb(skb, SkbDropReason.INVALID_PROTO)
            return NET_RX_DROP
        if type_ not in (ICMP_ECHO, ICMP_TIMESTAMP, ICMP_ADDRESS, ICMP_ADDRESSREPLY):
            mib["InErrors"] += 1
            kfree_skb(skb, SkbDropReason.INVALID_PROTO)
            return NET_RX_DROP
    reason = icmp_pointers[type_].handler(skb)
    if not reason:
        consume_skb(skb)
        return NET_RX_SUCCESS
    kfree_skb(skb, reason)
    return NET_RX_DROP


def _ping_err(skb, offset: int, info: int) -> None:
    f = _optional("ping", "ping_err")
    if f is not None:
        f(skb, offset, info)


def icmp_err(skb, info: int) -> int:
    """ICMP's own err_handler: an error about an ICMP message we sent."""
    h = skb.head
    d = skb.data
    offset = (h[d] & 0x0F) << 2
    th = skb.transport_header
    type_ = h[th]
    code = h[th + 1]
    net = skb.dev.nd_net
    # ping_err handles everything but errors about echo replies the kernel sent.
    if h[d + offset] != ICMP_ECHOREPLY:
        _ping_err(skb, offset, info)
        return 0
    if type_ == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        f = _optional("route", "ipv4_update_pmtu")
        if f is not None:
            f(skb, net, info, 0, IPPROTO_ICMP)
    elif type_ == ICMP_REDIRECT:
        f = _optional("route", "ipv4_redirect")
        if f is not None:
            f(skb, net, 0, IPPROTO_ICMP)
    return 0


icmp_protocol = NetProtocol(icmp_rcv, icmp_err, no_policy=True)
