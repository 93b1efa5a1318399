"""net/ipv4/raw.c — raw IPv4 sockets (SOCK_RAW), RFC 791/792; the ICMP_FILTER of
include/uapi/linux/icmp.h.

A raw socket is created with inet_num = its protocol and hashed under it at once.
ip_local_deliver_finish calls raw_local_deliver(skb, protocol) before the protocol
handler: every raw socket of that protocol whose bound and connected addresses match
gets a clone of the packet, IP header included (what recvfrom returns, as Linux does);
an ICMP raw socket's ICMP_FILTER bitmask hides the types it does not want. The return
value says whether any raw socket matched (then no ICMP protocol unreachable is sent).

Sending builds the IP header with ip_make_skb/ip_send_skb (the payload is the whole
transport message: raw ICMP senders compute their own ICMP checksum), or, with
IP_HDRINCL (and always for IPPROTO_RAW), takes the caller's header: Linux fills in
saddr when 0, tot_len, id when 0 and the header checksum, and sends it through
LOCAL_OUT to dst_output without fragmenting (EMSGSIZE above the device MTU).
ICMP errors about what a raw socket sent reach it through raw_icmp_error (raw_err).
"""
import struct

from ...core.datagram import __skb_recv_datagram
from ...core.dropreason import SkbDropReason
from ...core.errno import (EACCES, EADDRNOTAVAIL, EAFNOSUPPORT, EDESTADDRREQ, EHOSTUNREACH, EINVAL,
                           EMSGSIZE, ENETUNREACH, ENOBUFS, ENOMEM, ENOPROTOOPT, EOPNOTSUPP, EPROTO)
from ...core.skbuff import SkBuff, consume_skb, kfree_skb, skb_clone, skb_queue_tail
from ...core.sock import (AF_INET, AF_UNSPEC, ENOIOCTLCMD, IP_PMTUDISC_DONT, MSG_CONFIRM,
                          MSG_DONTROUTE, MSG_ERRQUEUE, MSG_MORE, MSG_OOB, MSG_PEEK, MSG_PROBE,
                          MSG_TRUNC, SOCK_BROADCAST, SOCK_DEAD, SOCK_LOCALROUTE, SOL_RAW, TCP_CLOSE,
                          TCP_ESTABLISHED, InetSock, Proto, SockaddrIn, sk_common_release,
                          sk_dst_reset, skb_set_owner_r, sock_flag, put_int)
from ...core.wait import Blocked

IPPROTO_ICMP = 1
IPPROTO_RAW = 255
ICMP_FILTER = 1
RTCF_BROADCAST = 0x10000000
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
RTN_LOCAL = 2
RTN_BROADCAST = 3
RTN_MULTICAST = 5
ICMP_DEST_UNREACH = 3
ICMP_SOURCE_QUENCH = 4
ICMP_REDIRECT = 5
ICMP_TIME_EXCEEDED = 11
ICMP_PARAMETERPROB = 12
ICMP_FRAG_NEEDED = 4
NR_ICMP_UNREACH = 15
ETH_P_IP = 0x0800


class RawSock(InetSock):
    """struct raw_sock: an inet_sock plus the ICMP filter (4 bytes, host-order bitmask)."""

    def __init__(self, net=None, family=AF_INET, prot=None):
        super().__init__(net, family, prot)
        self.filter = bytearray(4)


def raw_table(net) -> dict:
    """raw_v4_hashinfo for one Net: protocol -> sockets (newest first)."""
    t = getattr(net.ipv4, "raw_v4_hashinfo", None)
    if t is None:
        t = net.ipv4.raw_v4_hashinfo = {}
    return t


def raw_hash_sk(sk) -> int:
    raw_table(sk.sk_net).setdefault(sk.inet_num, []).insert(0, sk)
    sk._hashed = True
    return 0


def raw_unhash_sk(sk) -> None:
    if not getattr(sk, "_hashed", False):
        return
    lst = raw_table(sk.sk_net).get(sk.inet_num)
    if lst is not None and sk in lst:
        lst.remove(sk)
    sk._hashed = False


def raw_v4_match(sk, num: int, raddr: int, laddr: int, dif: int) -> bool:
    return (sk.inet_num == num
            and not (sk.inet_daddr and sk.inet_daddr != raddr)
            and not (sk.inet_rcv_saddr and sk.inet_rcv_saddr != laddr)
            and not (sk.sk_bound_dev_if and sk.sk_bound_dev_if != dif))


def icmp_filter(sk, skb) -> bool:
    """True when the socket's ICMP_FILTER hides this message's type."""
    t = skb.transport_header
    if skb.tail - t < 1:
        return True
    type_ = skb.head[t]
    if type_ < 32:
        return bool((1 << type_) & int.from_bytes(sk.filter, "little"))
    return False


# --- receive --------------------------------------------------------------------------------
def raw_local_deliver(skb, protocol: int) -> int:
    """A clone to every raw socket of this protocol that wants it; 1 if any matched."""
    dev = skb.dev
    net = dev.nd_net
    v = net.ipv4
    t = getattr(v, "raw_v4_hashinfo", None)
    if not t:
        return 0
    lst = t.get(protocol)
    if not lst:
        return 0
    head = skb.head
    nh = skb.network_header
    saddr = int.from_bytes(head[nh + 12:nh + 16], "big")
    daddr = int.from_bytes(head[nh + 16:nh + 20], "big")
    dif = dev.ifindex
    delivered = 0
    for sk in list(lst):
        if not raw_v4_match(sk, protocol, saddr, daddr, dif):
            continue
        delivered = 1
        if protocol != IPPROTO_ICMP or not icmp_filter(sk, skb):
            raw_rcv(sk, skb_clone(skb))
    return delivered


def raw_rcv(sk, skb) -> int:
    skb.data = skb.network_header        # the reader gets the IP header too
    return raw_rcv_skb(sk, skb)


def raw_rcv_skb(sk, skb) -> int:
    r = sock_queue_rcv_skb(sk, skb)
    if r < 0:
        kfree_skb(skb, SkbDropReason.SOCKET_RCVBUFF if r == -ENOMEM else SkbDropReason.PROTO_MEM)
        return 1
    return 0


def sock_queue_rcv_skb(sk, skb) -> int:
    """net/core/sock.c __sock_queue_rcv_skb: refuse once sk_rmem_alloc reached SO_RCVBUF."""
    if sk.sk_rmem_alloc >= sk.sk_rcvbuf:
        sk.sk_drops += 1
        return -ENOMEM
    skb_set_owner_r(skb, sk)
    skb_queue_tail(sk.sk_receive_queue, skb)
    if not sock_flag(sk, SOCK_DEAD):
        sk.sk_data_ready(sk)
    return 0


def raw_recvmsg(sk, msg, length: int, flags: int):
    """The next packet, IP header first; the sender's address with port 0."""
    return ip_datagram_recvmsg(sk, msg, length, flags,
                               lambda: raw_recvmsg(sk, msg, length, flags))


def ip_datagram_recvmsg(sk, msg, length: int, flags: int, retry):
    """The body raw_recvmsg and ping_recvmsg share (the kernel writes it out in each): take
    the next skb, copy its data out (skb_copy_datagram_msg, MSG_TRUNC when cut),
    sock_recv_cmsgs, the sender's address with port 0, ip_cmsg_recv; ``retry`` is the
    caller's recvmsg, called when a blocked reader is woken."""
    if flags & MSG_OOB:
        return -EOPNOTSUPP
    if flags & MSG_ERRQUEUE:
        from .ip_sockglue import ip_recv_error
        return ip_recv_error(sk, msg, length)
    skb = __skb_recv_datagram(sk, sk.sk_receive_queue, flags, retry)
    if type(skb) is int or type(skb) is Blocked:
        return skb
    total = skb.tail - skb.data
    copied = total
    if length < copied:
        msg.msg_flags |= MSG_TRUNC
        copied = length
    msg.msg_iter += skb.head[skb.data:skb.data + copied]
    from .udp import sock_recv_cmsgs
    sock_recv_cmsgs(msg, sk, skb)
    nh = skb.network_header
    msg.msg_name = SockaddrIn(AF_INET, int.from_bytes(skb.head[nh + 12:nh + 16], "big"), 0)
    if sk.cmsg_flags:
        from .ip_sockglue import ip_cmsg_recv
        ip_cmsg_recv(msg, skb, sk)
    if flags & MSG_TRUNC:
        copied = total
    if not flags & MSG_PEEK:
        consume_skb(skb)
    return copied


# --- send ------------------------------------------------------------------------------------
def _ipout():
    from . import ip_output
    return ip_output


def raw_sendmsg(sk, msg, length: int):
    if length > 0xFFFF:
        return -EMSGSIZE
    flags = msg.msg_flags
    hdrincl = sk.hdrincl
    if flags & MSG_OOB:
        return -EOPNOTSUPP
    usin = msg.msg_name
    if usin is not None:
        if usin.sin_family != AF_INET and usin.sin_family != AF_UNSPEC:
            return -EAFNOSUPPORT
        daddr = usin.sin_addr
    else:
        if sk.sk_state != TCP_ESTABLISHED:
            return -EDESTADDRREQ
        daddr = sk.inet_daddr
    ipo = _ipout()
    ipc = ipo.ipcm_init_sk(sk)
    ipc.addr = sk.inet_saddr
    if hdrincl:
        ipc.protocol = IPPROTO_RAW
    if msg.msg_control:
        from .ip_sockglue import ip_cmsg_send
        err = ip_cmsg_send(sk, msg, ipc)
        if err:
            return err
    saddr = ipc.addr
    ipc.addr = daddr
    tos = (ipc.tos if ipc.tos != -1 else sk.tos) & 0x1E
    if daddr >> 28 == 0xE:
        if not ipc.oif:
            ipc.oif = sk.mc_index
        if not saddr:
            saddr = sk.mc_addr
    elif not ipc.oif:
        ipc.oif = sk.uc_index
    from .ip_sockglue import inet_sk_flowi_flags
    fl4 = ipo.flowi4(daddr, saddr, tos, ipc.protocol if hdrincl else sk.sk_protocol, ipc.oif,
                     0, 0, ipc.mark, inet_sk_flowi_flags(sk))
    if (sock_flag(sk, SOCK_LOCALROUTE) or flags & MSG_DONTROUTE) and hasattr(fl4, "flowi4_scope"):
        fl4.flowi4_scope = RT_SCOPE_LINK
    net = sk.sk_net
    rt = ipo._routing().ip_route_output_key(net, fl4)
    if type(rt) is int:
        if rt == -ENETUNREACH:
            net.mib.Ip["OutNoRoutes"] += 1
        return rt
    if getattr(rt, "rt_flags", 0) & RTCF_BROADCAST and not sock_flag(sk, SOCK_BROADCAST):
        return -EACCES
    if flags & MSG_CONFIRM:
        from ...core.dst import dst_confirm_neigh
        dst_confirm_neigh(rt, fl4.daddr)
        if flags & MSG_PROBE and not length:
            return 0
    data = bytes(msg.msg_iter[msg.iov_off:msg.iov_off + length])
    if hdrincl:
        err = raw_send_hdrinc(sk, fl4, data, rt, flags)
    else:
        if not ipc.addr:
            ipc.addr = fl4.daddr
        if flags & MSG_MORE or sk.cork.dst is not None:
            err = ipo.ip_append_data(sk, fl4, data, 0, ipc, rt, flags)
            if err:
                ipo.ip_flush_pending_frames(sk)
            elif not flags & MSG_MORE:
                err = ipo.ip_push_pending_frames(sk, fl4)
        else:
            skb = ipo.ip_make_skb(sk, fl4, data, 0, ipc, rt, flags)
            if skb is None:
                err = 0
            elif type(skb) is int:
                err = skb
            else:
                err = ipo.ip_send_skb(net, skb)
        if err == -ENOBUFS and not sk.recverr:
            err = 0
    if err < 0:
        return err
    return length


def raw_send_hdrinc(sk, fl4, data, rt, flags: int) -> int:
    """IP_HDRINCL: the caller wrote the IP header; fix up saddr/tot_len/id/check only."""
    net = sk.sk_net
    length = len(data)
    dev = rt.dev
    if length > dev.mtu:
        from .ip_sockglue import ip_local_error
        ip_local_error(sk, EMSGSIZE, fl4.daddr, sk.inet_dport, dev.mtu)
        return -EMSGSIZE
    if length < 20:
        return -EINVAL
    if flags & MSG_PROBE:
        return 0
    ipo = _ipout()
    hlen = ipo.LL_RESERVED_SPACE(dev)
    skb = SkBuff(bytearray(hlen + length), hlen, hlen + length)
    head = skb.head
    head[hlen:hlen + length] = data
    skb.network_header = hlen
    skb.transport_header = hlen
    skb.protocol = ETH_P_IP
    skb.priority = sk.sk_priority
    skb.mark = sk.sk_mark
    skb.sk = sk
    skb._dst = rt
    iphlen = (head[hlen] & 0x0F) * 4
    if iphlen > length:
        return -EINVAL
    if iphlen >= 20:
        nh = hlen
        if not int.from_bytes(head[nh + 12:nh + 16], "big"):
            head[nh + 12:nh + 16] = fl4.saddr.to_bytes(4, "big")
        head[nh + 10] = head[nh + 11] = 0
        head[nh + 2] = length >> 8
        head[nh + 3] = length & 0xFF
        if head[nh + 4] == 0 and head[nh + 5] == 0:
            ipo.ip_select_ident(net, skb, None)
        from ...wire.checksum import ip_fast_csum
        c = ip_fast_csum(memoryview(head)[nh:nh + iphlen])
        head[nh + 10] = c >> 8
        head[nh + 11] = c & 0xFF
        skb.transport_header = nh + iphlen
        if head[nh + 9] == IPPROTO_ICMP and length >= iphlen + 8:
            from .icmp import icmp_out_count
            icmp_out_count(net, head[nh + iphlen])
    from ..netfilter.core import NF_HOOK, NF_INET_LOCAL_OUT, NFPROTO_IPV4
    err = NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_OUT, net, sk, skb, None, dev, ipo.dst_output)
    if err and err > 0:
        err = -ENOBUFS if err != 2 else 0     # net_xmit_errno: NET_XMIT_CN is not an error
    if err:
        net.mib.Ip["OutDiscards"] += 1
        if err == -ENOBUFS and not sk.recverr:
            err = 0
    return err


# --- errors ------------------------------------------------------------------------------------
def raw_icmp_error(skb, protocol: int, info: int) -> None:
    """icmp_socket_deliver: an ICMP error quoting a packet of this protocol (skb.data at the
    quoted IP header, transport_header at the ICMP header)."""
    net = skb.dev.nd_net
    t = getattr(net.ipv4, "raw_v4_hashinfo", None)
    if not t:
        return
    lst = t.get(protocol)
    if not lst:
        return
    head = skb.head
    d = skb.data
    q_proto = head[d + 9]
    q_saddr = int.from_bytes(head[d + 12:d + 16], "big")
    q_daddr = int.from_bytes(head[d + 16:d + 20], "big")
    dif = skb.dev.ifindex
    for sk in list(lst):
        if raw_v4_match(sk, q_proto, q_daddr, q_saddr, dif):
            raw_err(sk, skb, info)


def raw_err(sk, skb, info: int) -> None:
    head = skb.head
    th = skb.transport_header
    type_ = head[th]
    code = head[th + 1]
    if type_ == ICMP_DEST_UNREACH and code == ICMP_FRAG_NEEDED:
        from .udp import _update_pmtu
        _update_pmtu(skb, sk, info)
    elif type_ == ICMP_REDIRECT:
        from .udp import _redirect
        _redirect(skb, sk)
        return
    recverr = sk.recverr
    if not recverr and sk.sk_state != TCP_ESTABLISHED:
        return
    harderr = 0
    if type_ == ICMP_SOURCE_QUENCH:
        return
    if type_ == ICMP_PARAMETERPROB:
        err = EPROTO
        harderr = 1
    elif type_ == ICMP_DEST_UNREACH:
        err = EHOSTUNREACH
        if code <= NR_ICMP_UNREACH:
            if code == ICMP_FRAG_NEEDED:
                harderr = 1 if sk.pmtudisc != IP_PMTUDISC_DONT else 0
                err = EMSGSIZE
            else:
                from .icmp import icmp_err_convert
                err, harderr = icmp_err_convert[code]
    else:
        err = EHOSTUNREACH
    if recverr:
        d = skb.data
        payload = d if sk.hdrincl else d + ((head[d] & 0x0F) << 2)
        from .ip_sockglue import ip_icmp_error
        ip_icmp_error(sk, skb, err, 0, info, payload)
    if recverr or harderr:
        sk.sk_err = err
        sk.sk_error_report(sk)


# --- bind / options / the rest -----------------------------------------------------------------------
def raw_bind(sk, addr: SockaddrIn) -> int:
    """bind(): only the local address (no port); may be repeated while not connected."""
    if sk.sk_state != TCP_CLOSE:
        return -EINVAL
    from .af_inet import inet_addr_type, inet_addr_valid_or_nonlocal
    net = sk.sk_net
    chk = inet_addr_type(net, addr.sin_addr)
    if not inet_addr_valid_or_nonlocal(net, sk, addr.sin_addr, chk):
        return -EADDRNOTAVAIL
    sk.inet_rcv_saddr = sk.inet_saddr = addr.sin_addr
    if chk == RTN_MULTICAST or chk == RTN_BROADCAST:
        sk.inet_saddr = 0
    sk_dst_reset(sk)
    return 0


def raw_setsockopt(sk, level: int, optname: int, optval) -> int:
    if level != SOL_RAW:
        from .ip_sockglue import ip_setsockopt
        return ip_setsockopt(sk, level, optname, optval)
    if optname == ICMP_FILTER:
        if sk.inet_num != IPPROTO_ICMP:
            return -EOPNOTSUPP
        if isinstance(optval, int):
            b = struct.pack("<I", optval & 0xFFFFFFFF)
        else:
            b = bytes(optval or b"")
        b = b[:4]
        sk.filter[:len(b)] = b     # copies only what was given, as raw_seticmpfilter
        return 0
    return -ENOPROTOOPT


def raw_getsockopt(sk, level: int, optname: int, buflen: int):
    if level != SOL_RAW:
        from .ip_sockglue import ip_getsockopt
        return ip_getsockopt(sk, level, optname, buflen)
    if optname == ICMP_FILTER:
        if sk.inet_num != IPPROTO_ICMP:
            return -EOPNOTSUPP
        if buflen < 0:
            return -EINVAL
        if buflen == 0:
            return put_int(struct.unpack("<i", bytes(sk.filter))[0], 0)
        return bytes(sk.filter[:min(buflen, 4)])
    return -ENOPROTOOPT


def raw_ioctl(sk, cmd: int, arg: int):
    if cmd == 0x5411:            # SIOCOUTQ
        return sk.sk_wmem_alloc
    if cmd == 0x541B:            # SIOCINQ: the first packet's length (IP header included)
        q = sk.sk_receive_queue.q
        return (q[0].tail - q[0].data) if q else 0
    return -ENOIOCTLCMD


def raw_close(sk, timeout) -> None:
    sk_common_release(sk)


def raw_destroy(sk) -> None:
    _ipout().ip_flush_pending_frames(sk)


def raw_sk_init(sk) -> int:
    if sk.inet_num == IPPROTO_ICMP:
        sk.filter[:] = bytes(4)
    return 0


def _raw_connect(sk, uaddr) -> int:
    from .ip_sockglue import ip4_datagram_connect
    return ip4_datagram_connect(sk, uaddr)


def _raw_disconnect(sk, flags: int) -> int:
    from .udp import __udp_disconnect
    return __udp_disconnect(sk, flags)


raw_prot = Proto(
    name="RAW", close=raw_close, destroy=raw_destroy, connect=_raw_connect,
    disconnect=_raw_disconnect, ioctl=raw_ioctl, init=raw_sk_init, setsockopt=raw_setsockopt,
    getsockopt=raw_getsockopt, sendmsg=raw_sendmsg, recvmsg=raw_recvmsg, bind=raw_bind,
    backlog_rcv=raw_rcv_skb, hash=raw_hash_sk, unhash=raw_unhash_sk, sock_class=RawSock,
    max_header=128,
)


def raw_net_init(net) -> None:
    raw_table(net)


def raw_init() -> None:
    """raw_init: the raw socket table, one per Net here. Idempotent: register_pernet_subsys
    ignores a name it already has."""
    from ...core.net_namespace import PernetOperations, register_pernet_subsys
    register_pernet_subsys(PernetOperations("raw", raw_net_init))
