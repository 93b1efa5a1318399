"""net/ipv4/ip_sockglue.c — SOL_IP socket options, ancillary data and the error queue
(RFC 1122 §4.1.3.3 and §3.2.2: ICMP errors reported to the application, IP_RECVERR);
with net/ipv4/datagram.c (ip4_datagram_connect) and the socket side of
include/net/route.h (ip_route_connect / ip_route_output_ports).

ip_setsockopt / ip_getsockopt follow do_ip_setsockopt / do_ip_getsockopt: an int
option accepts a 4-byte int or a single byte, an empty value means 0 except
where Linux says EINVAL (IP_TTL, IP_MULTICAST_*, IP_FREEBIND, IP_TRANSPARENT);
reading back with a buffer shorter than an int gives one byte when the value
fits. Multicast group membership, IP_OPTIONS, IP_MULTICAST_IF and IP_UNICAST_IF
are not implemented (-ENOPROTOOPT).

The error queue: ip_icmp_error() queues a clone of the ICMP error (data = the
quoted payload) with its sock_extended_err in skb.cb; ip_recv_error() hands it
to recvmsg(MSG_ERRQUEUE) with an IP_RECVERR cmsg, as Linux does.
"""
import importlib
import struct

from ...core.errno import (EACCES, EAFNOSUPPORT, EAGAIN, EINVAL, EMSGSIZE, ENETUNREACH,
                           ENOPROTOOPT, ENOTCONN, EOPNOTSUPP, EPERM)
from ...core.skbuff import consume_skb, skb_clone, skb_dequeue, skb_reset_transport_header
from ...core.sock import (AF_INET, MSG_ERRQUEUE, MSG_TRUNC, SOCK_BROADCAST, SOCK_DGRAM,
                          SOCK_LOCALROUTE, SOCK_RAW, SOCK_STREAM, SOL_IP, SOL_SOCKET,
                          TCP_ESTABLISHED,
                          IP_PMTUDISC_DONT, IP_PMTUDISC_OMIT, SockaddrIn, _capable, memcpy_to_msg,
                          optlen_of, put_cmsg, sk_dst_get, sk_dst_reset, sk_dst_set,
                          sock_flag, sock_queue_err_skb)

IP_TOS = 1
IP_TTL = 2
IP_HDRINCL = 3
IP_OPTIONS = 4
IP_ROUTER_ALERT = 5
IP_RECVOPTS = 6
IP_RETOPTS = 7
IP_PKTINFO = 8
IP_PKTOPTIONS = 9
IP_MTU_DISCOVER = 10
IP_RECVERR = 11
IP_RECVTTL = 12
IP_RECVTOS = 13
IP_MTU = 14
IP_FREEBIND = 15
IP_IPSEC_POLICY = 16
IP_XFRM_POLICY = 17
IP_PASSSEC = 18
IP_TRANSPARENT = 19
IP_RECVORIGDSTADDR = 20
IP_ORIGDSTADDR = IP_RECVORIGDSTADDR
IP_MINTTL = 21
IP_NODEFRAG = 22
IP_CHECKSUM = 23
IP_BIND_ADDRESS_NO_PORT = 24
IP_RECVFRAGSIZE = 25
IP_RECVERR_RFC4884 = 26
IP_MULTICAST_IF = 32
IP_MULTICAST_TTL = 33
IP_MULTICAST_LOOP = 34
IP_ADD_MEMBERSHIP = 35
IP_DROP_MEMBERSHIP = 36
IP_MSFILTER = 41
IP_MULTICAST_ALL = 49
IP_LOCAL_PORT_RANGE = 51
MRT_BASE = 200
MRT_MAX = MRT_BASE + 11

# inet->cmsg_flags bits (IP_CMSG_*)
IP_CMSG_PKTINFO = 1 << 0
IP_CMSG_TTL = 1 << 1
IP_CMSG_TOS = 1 << 2
IP_CMSG_RECVOPTS = 1 << 3
IP_CMSG_RETOPTS = 1 << 4
IP_CMSG_PASSSEC = 1 << 5
IP_CMSG_ORIGDSTADDR = 1 << 6
IP_CMSG_CHECKSUM = 1 << 7
IP_CMSG_RECVFRAGSIZE = 1 << 8

_CMSG_OPT = {IP_PKTINFO: IP_CMSG_PKTINFO, IP_RECVTTL: IP_CMSG_TTL, IP_RECVTOS: IP_CMSG_TOS,
             IP_RECVOPTS: IP_CMSG_RECVOPTS, IP_RETOPTS: IP_CMSG_RETOPTS,
             IP_PASSSEC: IP_CMSG_PASSSEC, IP_RECVORIGDSTADDR: IP_CMSG_ORIGDSTADDR,
             IP_CHECKSUM: IP_CMSG_CHECKSUM, IP_RECVFRAGSIZE: IP_CMSG_RECVFRAGSIZE}

_INT_OPTS = frozenset((IP_PKTINFO, IP_RECVTTL, IP_RECVOPTS, IP_RECVTOS, IP_RETOPTS, IP_TOS, IP_TTL,
                       IP_HDRINCL, IP_MTU_DISCOVER, IP_RECVERR, IP_ROUTER_ALERT, IP_FREEBIND,
                       IP_PASSSEC, IP_TRANSPARENT, IP_MINTTL, IP_NODEFRAG,
                       IP_BIND_ADDRESS_NO_PORT, IP_MULTICAST_TTL, IP_MULTICAST_ALL,
                       IP_MULTICAST_LOOP, IP_RECVORIGDSTADDR, IP_CHECKSUM, IP_RECVFRAGSIZE,
                       IP_RECVERR_RFC4884, IP_LOCAL_PORT_RANGE))

# sock_extended_err (include/uapi/linux/errqueue.h)
SO_EE_ORIGIN_NONE = 0
SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
INET_ECN_MASK = 3
IPPROTO_RAW = 255
RTCF_BROADCAST = 0x10000000
RTCF_MULTICAST = 0x20000000
RTCF_LOCAL = 0x80000000
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
FLOWI_FLAG_ANYSRC = 0x01


def _val(optval):
    """do_ip_setsockopt's reading of an int option: (val, optlen)."""
    if isinstance(optval, bool):
        return int(optval), 4
    if isinstance(optval, int):
        v = optval & 0xFFFFFFFF
        return (v - 2**32 if v >= 2**31 else v), 4
    if optval is None:
        return 0, 0
    b = bytes(optval)
    if len(b) >= 4:
        return struct.unpack_from("<i", b)[0], len(b)
    if len(b) >= 1:
        return b[0], len(b)
    return 0, 0


def ip_setsockopt(sk, level: int, optname: int, optval) -> int:
    if level != SOL_IP:
        return -ENOPROTOOPT
    return do_ip_setsockopt(sk, level, optname, optval)


def do_ip_setsockopt(sk, level: int, optname: int, optval) -> int:
    val, optlen = _val(optval) if optname in _INT_OPTS else (0, optlen_of(optval))
    if optname == IP_ROUTER_ALERT:
        if sk.sk_type != SOCK_RAW or sk.inet_num == IPPROTO_RAW:
            return -EINVAL
        sk.router_alert = 1 if val else 0
        return 0
    if MRT_BASE <= optname <= MRT_MAX:
        return -EOPNOTSUPP    # ip_mroute_setsockopt: only raw IGMP sockets route multicast
    bit = _CMSG_OPT.get(optname)
    if bit is not None:
        if optname == IP_RECVFRAGSIZE and sk.sk_type not in (SOCK_RAW, SOCK_DGRAM):
            return -EINVAL
        if val:
            sk.cmsg_flags |= bit
        else:
            sk.cmsg_flags &= ~bit
        return 0
    if optname == IP_RECVERR:
        sk.recverr = 1 if val else 0
        if not val:
            from ...core.skbuff import skb_queue_purge
            skb_queue_purge(sk.sk_error_queue)
        return 0
    if optname == IP_RECVERR_RFC4884:
        if val < 0 or val > 1:
            return -EINVAL
        sk.recverr_rfc4884 = val
        return 0
    if optname == IP_FREEBIND:
        if optlen < 1:
            return -EINVAL
        sk.freebind = 1 if val else 0
        return 0
    if optname == IP_HDRINCL:
        if sk.sk_type != SOCK_RAW:
            return -ENOPROTOOPT
        sk.hdrincl = 1 if val else 0
        return 0
    if optname == IP_MULTICAST_LOOP:
        if optlen < 1:
            return -EINVAL
        sk.mc_loop = 1 if val else 0
        return 0
    if optname == IP_MULTICAST_ALL:
        if optlen < 1 or val not in (0, 1):
            return -EINVAL
        sk.mc_all = val
        return 0
    if optname == IP_TRANSPARENT:
        if val and not _capable(sk, "cap_net_raw") and not _capable(sk, "cap_net_admin"):
            return -EPERM
        if optlen < 1:
            return -EINVAL
        sk.transparent = 1 if val else 0
        return 0
    if optname == IP_NODEFRAG:
        if sk.sk_type != SOCK_RAW:
            return -ENOPROTOOPT
        sk.nodefrag = 1 if val else 0
        return 0
    if optname == IP_BIND_ADDRESS_NO_PORT:
        sk.bind_address_no_port = 1 if val else 0
        return 0
    if optname == IP_TTL:
        if optlen < 1:
            return -EINVAL
        if val != -1 and (val < 1 or val > 255):
            return -EINVAL
        sk.uc_ttl = val
        return 0
    if optname == IP_MINTTL:
        if optlen < 1:
            return -EINVAL
        if val < 0 or val > 255:
            return -EINVAL
        sk.min_ttl = val
        return 0
    if optname == IP_MULTICAST_TTL:
        if sk.sk_type == SOCK_STREAM:
            return -EINVAL
        if optlen < 1:
            return -EINVAL
        if val == -1:
            val = 1
        if val < 0 or val > 255:
            return -EINVAL
        sk.mc_ttl = val
        return 0
    if optname == IP_MTU_DISCOVER:
        if val < IP_PMTUDISC_DONT or val > IP_PMTUDISC_OMIT:
            return -EINVAL
        sk.pmtudisc = val
        return 0
    if optname == IP_TOS:
        __ip_sock_set_tos(sk, val)
        return 0
    if optname == IP_LOCAL_PORT_RANGE:
        if optlen != 4:
            return -EINVAL
        lo, hi = val & 0xFFFF, (val >> 16) & 0xFFFF
        if lo and hi and lo > hi:
            return -EINVAL
        sk.local_port_range = (lo, hi)
        return 0
    if optname == IP_CHECKSUM:
        return 0
    if optname == IP_MSFILTER:
        return -EINVAL
    if optname == IP_XFRM_POLICY:
        # xfrm_user_policy: no IPsec policy compiler here takes it.
        return -EMSGSIZE if optlen < 1 or optlen > 4096 else -EINVAL
    if optname == IP_IPSEC_POLICY:
        return -EOPNOTSUPP
    return -ENOPROTOOPT


def __ip_sock_set_tos(sk, val: int) -> None:
    val &= 0xFF
    if sk.sk_type == SOCK_STREAM:
        val &= ~INET_ECN_MASK
        val |= sk.tos & INET_ECN_MASK
    if sk.tos != val:
        sk.tos = val
        sk_dst_reset(sk)


def _copyval(val: int, buflen: int):
    """copyval: an int, or (a short buffer) one byte when the value fits in one."""
    if buflen == 0:
        return val
    if buflen < 4 and 0 <= val <= 255:
        return bytes((val,))
    return struct.pack("<i", val)[:min(4, buflen)]


def ip_getsockopt(sk, level: int, optname: int, buflen: int = 0):
    if level != SOL_IP:
        return -EOPNOTSUPP
    if MRT_BASE <= optname <= MRT_MAX:
        return -EOPNOTSUPP
    if buflen < 0:
        return -EINVAL
    bit = _CMSG_OPT.get(optname)
    if bit is not None:
        return _copyval(1 if sk.cmsg_flags & bit else 0, buflen)
    v = _getval(sk, optname)
    if isinstance(v, tuple):
        return v[0]
    return _copyval(v, buflen)


def _getval(sk, optname):
    if optname == IP_RECVERR:
        return sk.recverr
    if optname == IP_RECVERR_RFC4884:
        return sk.recverr_rfc4884
    if optname == IP_FREEBIND:
        return sk.freebind
    if optname == IP_HDRINCL:
        return sk.hdrincl
    if optname == IP_MULTICAST_LOOP:
        return sk.mc_loop
    if optname == IP_MULTICAST_ALL:
        return sk.mc_all
    if optname == IP_TRANSPARENT:
        return sk.transparent
    if optname == IP_NODEFRAG:
        return sk.nodefrag
    if optname == IP_BIND_ADDRESS_NO_PORT:
        return sk.bind_address_no_port
    if optname == IP_TTL:
        v = sk.uc_ttl
        return v if v >= 0 else sk.sk_net.ipv4.sysctl_ip_default_ttl
    if optname == IP_MINTTL:
        return sk.min_ttl
    if optname == IP_MULTICAST_TTL:
        return sk.mc_ttl
    if optname == IP_MTU_DISCOVER:
        return sk.pmtudisc
    if optname == IP_TOS:
        return sk.tos
    if optname == IP_MTU:
        dst = sk_dst_get(sk)
        mtu = _dst_mtu(dst) if dst is not None else 0
        if not mtu:
            return (-ENOTCONN,)
        return mtu
    if optname == IP_LOCAL_PORT_RANGE:
        lo, hi = sk.local_port_range
        return (hi << 16) | lo
    if optname == IP_PKTOPTIONS:
        if sk.sk_type != SOCK_STREAM:
            return (-ENOPROTOOPT,)
        return (b"",)
    if optname == IP_ROUTER_ALERT:
        return getattr(sk, "router_alert", 0)
    return (-ENOPROTOOPT,)


def _dst_mtu(dst) -> int:
    from ...core.dst import dst_mtu
    return dst_mtu(dst)


# --- routing for sockets (include/net/route.h) ---------------------------------------------
_route = []


def _route_mod():
    if not _route:
        _route.append(importlib.import_module("kstack.net.ipv4.route"))
    return _route[0]


def RT_CONN_FLAGS(sk) -> int:
    return sk.tos & 0x1E     # RT_TOS(inet->tos)


def inet_sk_flowi_flags(sk) -> int:
    return FLOWI_FLAG_ANYSRC if (sk.transparent or sk.freebind) else 0


def ip_route_output_ports(net, sk, daddr: int, saddr: int, dport: int, sport: int, proto: int,
                          tos: int, oif: int, scope: int = RT_SCOPE_UNIVERSE):
    """(rt, fl4) or (-errno, fl4): a route for a socket's flow (the flowi4 is filled in:
    fl4.saddr/daddr are the addresses chosen)."""
    route = _route_mod()
    fl4 = route.Flowi4(daddr=daddr, saddr=saddr, tos=tos, proto=proto, oif=oif,
                       fl4_sport=sport, fl4_dport=dport, mark=sk.sk_mark,
                       flags=inet_sk_flowi_flags(sk))
    if scope != RT_SCOPE_UNIVERSE and hasattr(fl4, "scope"):
        fl4.scope = scope
    rt = route.ip_route_output_key(net, fl4)
    return rt, fl4


def ip_route_connect(sk, daddr: int, saddr: int, oif: int, proto: int, sport: int, dport: int):
    """ip_route_connect: route a connecting socket (source address chosen if unset)."""
    tos = RT_CONN_FLAGS(sk)
    scope = RT_SCOPE_LINK if sock_flag(sk, SOCK_LOCALROUTE) else RT_SCOPE_UNIVERSE
    return ip_route_output_ports(sk.sk_net, sk, daddr, saddr, dport, sport, proto, tos, oif, scope)


def rt_flags(rt) -> int:
    return getattr(rt, "rt_flags", 0)


# --- connect for datagram sockets (net/ipv4/datagram.c) ------------------------------------
def __ip4_datagram_connect(sk, usin: SockaddrIn) -> int:
    if usin.sin_family != AF_INET:
        return -EAFNOSUPPORT
    sk_dst_reset(sk)
    oif = sk.sk_bound_dev_if
    saddr = sk.inet_saddr
    if usin.sin_addr >> 28 == 0xE:
        if not oif:
            oif = sk.mc_index
        if not saddr:
            saddr = sk.mc_addr
    elif not oif:
        oif = sk.uc_index
    rt, fl4 = ip_route_connect(sk, usin.sin_addr, saddr, oif, sk.sk_protocol, sk.inet_sport,
                               usin.sin_port)
    if isinstance(rt, int):
        if rt == -ENETUNREACH:
            sk.sk_net.mib.Ip["OutNoRoutes"] += 1
        return rt
    if rt_flags(rt) & RTCF_BROADCAST and not sock_flag(sk, SOCK_BROADCAST):
        return -EACCES
    if not sk.inet_saddr:
        sk.inet_saddr = fl4.saddr
    if not sk.inet_rcv_saddr:
        sk.inet_rcv_saddr = fl4.saddr
        if sk.sk_prot.rehash is not None:
            sk.sk_prot.rehash(sk)
    sk.inet_daddr = fl4.daddr
    sk.inet_dport = usin.sin_port
    reuse = sk.sk_reuseport_cb
    if reuse is not None:
        reuse.has_conns = 1
    sk.sk_state = TCP_ESTABLISHED
    sk.sk_txhash = sk.sk_net.rng.get_random_u32() or 1
    sk.inet_id = sk.sk_net.rng.get_random_u16()
    sk_dst_set(sk, rt)
    sk.cork.fl = fl4            # inet->cork.fl: the connected flow the fast path reuses
    return 0


def ip4_datagram_connect(sk, uaddr: SockaddrIn) -> int:
    return __ip4_datagram_connect(sk, uaddr)


def ip4_datagram_release_cb(sk) -> None:
    """Re-route a connected socket whose cached route went stale."""
    from ...core.sock import __sk_dst_check
    if sk.sk_dst_cache is None or __sk_dst_check(sk, 0) is not None:
        return
    rt, fl4 = ip_route_output_ports(sk.sk_net, sk, sk.inet_daddr, sk.inet_saddr, sk.inet_dport,
                                    sk.inet_sport, sk.sk_protocol, RT_CONN_FLAGS(sk),
                                    sk.sk_bound_dev_if)
    sk_dst_set(sk, None if isinstance(rt, int) else rt)


# --- the error queue --------------------------------------------------------------------
class SockExterrSkb:
    """struct sock_exterr_skb: what an error-queue skb carries in its cb."""

    __slots__ = ("ee_errno", "ee_origin", "ee_type", "ee_code", "ee_pad", "ee_info", "ee_data",
                 "offender", "addr", "port")

    def __init__(self, ee_errno=0, ee_origin=0, ee_type=0, ee_code=0, ee_info=0, ee_data=0,
                 offender=0, addr=0, port=0):
        self.ee_errno = ee_errno
        self.ee_origin = ee_origin
        self.ee_type = ee_type
        self.ee_code = ee_code
        self.ee_pad = 0
        self.ee_info = ee_info
        self.ee_data = ee_data
        self.offender = offender    # who sent the ICMP (outer IP saddr)
        self.addr = addr            # the original destination (quoted daddr)
        self.port = port

    def copy(self):
        n = SockExterrSkb(self.ee_errno, self.ee_origin, self.ee_type, self.ee_code, self.ee_info,
                          self.ee_data, self.offender, self.addr, self.port)
        return n

    def ee_bytes(self) -> bytes:
        """struct sock_extended_err (16 bytes) + the offender's sockaddr_in (16 bytes)."""
        ee = struct.pack("=IBBBBII", self.ee_errno, self.ee_origin, self.ee_type, self.ee_code,
                         self.ee_pad, self.ee_info, self.ee_data)
        if self.ee_origin == SO_EE_ORIGIN_ICMP:
            off = struct.pack("=H", AF_INET) + struct.pack("!HI", 0, self.offender) + bytes(8)
        else:
            off = bytes(16)
        return ee + off


def ip_icmp_error(sk, skb, err: int, port: int, info: int, payload_off: int) -> None:
    """Queue an ICMP error for IP_RECVERR. skb: the ICMP error (transport_header at the ICMP
    header, data somewhere inside the quote); payload_off: head offset of the quoted
    payload, which is what the reader gets."""
    skb = skb_clone(skb)
    ih = skb.transport_header
    head = skb.head
    quoted_ip = ih + 8
    serr = SockExterrSkb(err, SO_EE_ORIGIN_ICMP, head[ih], head[ih + 1], info, 0,
                         int.from_bytes(head[skb.network_header + 12:skb.network_header + 16], "big"),
                         int.from_bytes(head[quoted_ip + 16:quoted_ip + 20], "big"), port)
    skb.cb = serr
    if payload_off < skb.data or payload_off > skb.tail:
        return
    skb.data = payload_off
    skb_reset_transport_header(skb)
    sock_queue_err_skb(sk, skb)


def ip_local_error(sk, err: int, daddr: int, port: int, info: int) -> None:
    """A locally detected error (EMSGSIZE for a DF datagram over the MTU) for IP_RECVERR."""
    if not sk.recverr:
        return
    from ...core.skbuff import alloc_skb
    skb = alloc_skb(0)
    serr = SockExterrSkb(err, SO_EE_ORIGIN_LOCAL, 0, 0, info, 0, 0, daddr, port)
    skb.cb = serr
    sock_queue_err_skb(sk, skb)


def _is_icmp_err_skb(skb) -> bool:
    cb = skb.cb
    return cb.__class__ is SockExterrSkb and cb.ee_origin in (SO_EE_ORIGIN_ICMP, SO_EE_ORIGIN_ICMP6)


def sock_dequeue_err_skb(sk):
    """net/core/skbuff.c: take the oldest error; sk_err follows the queue as Linux's does
    (the next ICMP error's errno, or 0 once the ICMP errors are drained)."""
    q = sk.sk_error_queue
    skb = skb_dequeue(q)
    if skb is None:
        return None
    nxt = q.q[0] if q.q else None
    icmp_next = False
    if nxt is not None:
        icmp_next = _is_icmp_err_skb(nxt)
        if icmp_next:
            sk.sk_err = nxt.cb.ee_errno
    if _is_icmp_err_skb(skb) and not icmp_next:
        sk.sk_err = 0
    if nxt is not None:
        sk.sk_error_report(sk)
    return skb


def ip_recv_error(sk, msg, length: int) -> int:
    """recvmsg(MSG_ERRQUEUE): the oldest queued error, or -EAGAIN."""
    skb = sock_dequeue_err_skb(sk)
    if skb is None:
        return -EAGAIN
    copied = skb.len
    if copied > length:
        msg.msg_flags |= MSG_TRUNC
        copied = length
    memcpy_to_msg(msg, skb.head[skb.data:skb.data + copied])
    serr = skb.cb
    if serr.ee_origin == SO_EE_ORIGIN_ICMP or serr.ee_origin == SO_EE_ORIGIN_LOCAL:
        msg.msg_name = SockaddrIn(AF_INET, serr.addr, serr.port)
    put_cmsg(msg, SOL_IP, IP_RECVERR, serr.ee_bytes())
    msg.msg_flags |= MSG_ERRQUEUE
    consume_skb(skb)
    return copied


# --- ancillary data on receive -------------------------------------------------------------
def ip_cmsg_recv(msg, skb, sk, tport_off: int = -1) -> None:
    """ip_cmsg_recv_offset: IP_PKTINFO, IP_TTL, IP_TOS, IP_ORIGDSTADDR as the socket asked."""
    flags = sk.cmsg_flags
    if not flags:
        return
    nh = skb.network_header
    head = skb.head
    if flags & IP_CMSG_PKTINFO:
        cb = skb.cb
        ifindex = getattr(cb, "iif", 0) or skb.skb_iif
        daddr = int.from_bytes(head[nh + 16:nh + 20], "big")
        spec = _spec_dst(skb, daddr)
        put_cmsg(msg, SOL_IP, IP_PKTINFO, struct.pack("=i", ifindex) + struct.pack("!II", spec, daddr))
    if flags & IP_CMSG_TTL:
        put_cmsg(msg, SOL_IP, IP_TTL, struct.pack("=i", head[nh + 8]))
    if flags & IP_CMSG_TOS:
        put_cmsg(msg, SOL_IP, IP_TOS, bytes((head[nh + 1],)))
    if flags & IP_CMSG_ORIGDSTADDR and tport_off >= 0:
        dport = int.from_bytes(head[tport_off + 2:tport_off + 4], "big")
        daddr = int.from_bytes(head[nh + 16:nh + 20], "big")
        put_cmsg(msg, SOL_IP, IP_ORIGDSTADDR,
                 struct.pack("=H", AF_INET) + struct.pack("!HI", dport, daddr) + bytes(8))


def _spec_dst(skb, daddr: int) -> int:
    """fib_compute_spec_dst: the local address a reply would come from (the destination
    itself when it is a local unicast address, else the route's preferred source)."""
    rt = skb._dst
    if rt is not None and not rt_flags(rt) & (RTCF_BROADCAST | RTCF_MULTICAST):
        return daddr
    m = importlib.import_module("kstack.net.ipv4.af_inet")
    net = skb.dev.nd_net if skb.dev is not None else None
    if net is not None and m.inet_addr_type(net, daddr) == m.RTN_LOCAL:
        return daddr
    return getattr(rt, "rt_spec_dst", 0) or 0


# --- ancillary data on send ----------------------------------------------------------------
SO_MARK = 36
SO_PRIORITY = 12
SCM_RIGHTS = 1
SCM_CREDENTIALS = 2
IP_PROTOCOL = 52


def ip_cmsg_send(sk, msg, ipc) -> int:
    """Per-call overrides from sendmsg's control messages: IP_PKTINFO (source address,
    interface), IP_TTL, IP_TOS; SO_MARK and SO_PRIORITY at SOL_SOCKET. 0 or -EINVAL."""
    for level, type_, data in msg.msg_control:
        if level == SOL_SOCKET:
            if type_ == SO_MARK:
                if not _capable(sk, "cap_net_raw") and not _capable(sk, "cap_net_admin"):
                    return -EPERM
                if len(data) != 4:
                    return -EINVAL
                ipc.mark = struct.unpack("=I", data)[0]
            elif type_ == SO_PRIORITY:
                if len(data) != 4:
                    return -EINVAL
                ipc.priority = struct.unpack("=I", data)[0]
            elif type_ in (SCM_RIGHTS, SCM_CREDENTIALS):
                pass
            else:
                return -EINVAL
            continue
        if level != SOL_IP:
            continue
        if type_ == IP_PKTINFO:
            if len(data) != 12:
                return -EINVAL
            ifindex = struct.unpack_from("=i", data)[0]
            spec_dst = struct.unpack_from("!I", data, 4)[0]
            if ifindex:
                ipc.oif = ifindex
            ipc.addr = spec_dst
        elif type_ == IP_TTL:
            if len(data) != 4:
                return -EINVAL
            val = struct.unpack("=i", data)[0]
            if val < 1 or val > 255:
                return -EINVAL
            ipc.ttl = val
        elif type_ == IP_TOS:
            if len(data) == 4:
                val = struct.unpack("=i", data)[0]
            elif len(data) == 1:
                val = data[0]
            else:
                return -EINVAL
            if val < 0 or val > 255:
                return -EINVAL
            ipc.tos = val
        else:
            return -EINVAL
    return 0


