"""net/ipv4/ping.c — unprivileged ICMP echo sockets (socket(AF_INET, SOCK_DGRAM,
IPPROTO_ICMP)), RFC 792 echo / echo reply.

Creating one needs the caller's group (or a supplementary group) inside
net.ipv4.ping_group_range (EACCES otherwise; the default "1 0" lets nobody in, root
included). The socket's port is the echo identifier: bind() picks it (sin_port) or
an autobind takes the next free one from a per-Net rover, as ping_get_port does (the
kernel's rover is global); sockets that both set SO_REUSEADDR (ping sockets start
with it, INET_PROTOSW_REUSE) may share an identifier. sendto() takes an ICMP header
plus data: the type must be ECHO and the code 0 (EINVAL), at least 8 bytes; the
kernel rewrites the id to the socket's port and computes the checksum. icmp_rcv
hands echo replies to ping_rcv, which finds the socket by id (and bound address)
and queues a clone; recvfrom returns the ICMP message without the IP header.
ICMP errors about our echoes arrive through ping_err.
"""
from ...core.dropreason import SkbDropReason
from ...core.errno import (EACCES, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EDESTADDRREQ,
                           EHOSTUNREACH, EINVAL, EMSGSIZE, ENETUNREACH, ENOBUFS, EOPNOTSUPP,
                           EPROTO, EREMOTEIO)
from ...core.skbuff import kfree_skb, skb_clone
from ...core.sock import (AF_INET, AF_UNSPEC, IP_PMTUDISC_DONT, MSG_CONFIRM, MSG_DONTROUTE,
                          MSG_MORE, MSG_OOB, MSG_PROBE, SEND_SHUTDOWN, SOCK_BROADCAST,
                          SOCK_LOCALROUTE, TCP_ESTABLISHED, InetSock, Proto, SockaddrIn,
                          sk_common_release, sock_flag)
from ...wire.icmphdr import (ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_FRAG_NEEDED, ICMP_PARAMETERPROB,
                             ICMP_REDIRECT, ICMP_SOURCE_QUENCH, NR_ICMP_UNREACH)

IPPROTO_ICMP = 1
RTCF_BROADCAST = 0x10000000
RT_SCOPE_LINK = 253
RTN_LOCAL = 2
RTN_BROADCAST = 3
RTN_MULTICAST = 5


class PingTable:
    """ping_table for one Net: identifier -> sockets, and the autobind rover."""

    __slots__ = ("hash", "rover")

    def __init__(self):
        self.hash: dict = {}
        self.rover = 0


def ping_table(net) -> PingTable:
    t = getattr(net.ipv4, "ping_table", None)
    if t is None:
        t = net.ipv4.ping_table = PingTable()
    return t


# --- create / ports ------------------------------------------------------------------------
def ping_init_sock(sk) -> int:
    """Only members of net.ipv4.ping_group_range may open ping sockets."""
    lo, hi = sk.sk_net.ipv4.sysctl_ping_group_range
    cred = getattr(sk.sk_socket, "cred", None) if sk.sk_socket is not None else None
    gid = cred.gid if cred is not None else 0
    if lo <= gid <= hi:
        return 0
    for g in (cred.groups if cred is not None else ()):
        if lo <= g <= hi:
            return 0
    return -EACCES


def ping_get_port(sk, ident: int) -> int:
    t = ping_table(sk.sk_net)
    if ident == 0:
        result = t.rover
        for _ in range(1 << 16):
            result = (result + 1) & 0xFFFF
            if not result:
                continue     # avoid zero
            if any(s.inet_num == result for s in t.hash.get(result, ())):
                continue
            t.rover = ident = result
            break
        else:
            return -EADDRINUSE
    else:
        for sk2 in t.hash.get(ident, ()):
            if sk2.inet_num == ident and sk2 is not sk and (not sk2.sk_reuse or not sk.sk_reuse):
                return -EADDRINUSE
    sk.inet_num = ident
    if not getattr(sk, "_hashed", False):
        t.hash.setdefault(ident, []).insert(0, sk)
        sk._hashed = True
    return 0


def ping_hash(sk) -> int:
    return 0     # hashed by get_port (inet_num is 0 at create)


def ping_unhash(sk) -> None:
    if not getattr(sk, "_hashed", False):
        return
    t = ping_table(sk.sk_net)
    lst = t.hash.get(sk.inet_num)
    if lst is not None and sk in lst:
        lst.remove(sk)
        if not lst:
            del t.hash[sk.inet_num]
    sk._hashed = False
    sk.inet_num = 0
    sk.inet_sport = 0


def ping_check_bind_addr(sk, addr: SockaddrIn) -> int:
    if addr.sin_family != AF_INET and not (addr.sin_family == AF_UNSPEC and addr.sin_addr == 0):
        return -EAFNOSUPPORT
    if addr.sin_addr == 0:
        return 0
    from .af_inet import inet_addr_type, inet_can_nonlocal_bind
    net = sk.sk_net
    chk = inet_addr_type(net, addr.sin_addr)
    if chk == RTN_MULTICAST or chk == RTN_BROADCAST or (
            chk != RTN_LOCAL and not inet_can_nonlocal_bind(net, sk)):
        return -EADDRNOTAVAIL
    return 0


def ping_bind(sk, addr: SockaddrIn) -> int:
    err = ping_check_bind_addr(sk, addr)
    if err:
        return err
    if sk.inet_num:
        return -EINVAL
    snum = addr.sin_port
    if ping_get_port(sk, snum):
        return -EADDRINUSE
    sk.inet_rcv_saddr = sk.inet_saddr = addr.sin_addr
    from .af_inet import inet_bind_finish
    inet_bind_finish(sk, snum)
    return 0


# --- lookup and receive ---------------------------------------------------------------------
def ping_lookup(net, skb, ident: int):
    """The socket for an echo reply/error with this id: bound address must match the
    (outer) destination address, and the bound device the arrival device."""
    t = getattr(net.ipv4, "ping_table", None)
    if t is None:
        return None
    nh = skb.network_header
    daddr = int.from_bytes(skb.head[nh + 16:nh + 20], "big")
    dif = skb.dev.ifindex if skb.dev is not None else 0
    for sk in t.hash.get(ident, ()):
        if sk.inet_num != ident:
            continue
        if sk.inet_rcv_saddr and sk.inet_rcv_saddr != daddr:
            continue
        if sk.sk_bound_dev_if and sk.sk_bound_dev_if != dif:
            continue
        return sk
    return None


def ping_rcv(skb) -> int:
    """icmp_rcv's echo-reply handler: 0 when a socket took a copy, else NO_SOCKET."""
    th = skb.transport_header
    head = skb.head
    ident = (head[th + 4] << 8) | head[th + 5]
    net = skb.dev.nd_net
    sk = ping_lookup(net, skb, ident)
    if sk is not None:
        skb2 = skb_clone(skb)
        skb2.data = th                 # push the ICMP header back
        if ping_queue_rcv_skb(sk, skb2) == 0:
            return 0
    return SkbDropReason.NO_SOCKET


def ping_queue_rcv_skb(sk, skb) -> int:
    from .raw import sock_queue_rcv_skb
    r = sock_queue_rcv_skb(sk, skb)
    if r < 0:
        kfree_skb(skb, SkbDropReason.SOCKET_RCVBUFF)
        return r
    return 0


def ping_recvmsg(sk, msg, length: int, flags: int):
    from .raw import ip_datagram_recvmsg
    return ip_datagram_recvmsg(sk, msg, length, flags,
                               lambda: ping_recvmsg(sk, msg, length, flags))


# --- send -----------------------------------------------------------------------------------------
def ping_supported(type_: int, code: int) -> bool:
    return type_ == ICMP_ECHO and code == 0


def ping_common_sendmsg(msg, length: int):
    """(type, code, sequence) of the caller's ICMP header, or -errno."""
    if length > 0xFFFF:
        return -EMSGSIZE
    if length < 8:
        return -EINVAL
    if msg.msg_flags & MSG_OOB:
        return -EOPNOTSUPP
    off = msg.iov_off
    hdr = bytes(msg.msg_iter[off:off + 8])
    type_, code = hdr[0], hdr[1]
    if not ping_supported(type_, code):
        return -EINVAL
    return type_, code, (hdr[6] << 8) | hdr[7]


def ping_v4_sendmsg(sk, msg, length: int):
    r = ping_common_sendmsg(msg, length)
    if type(r) is int:
        return r
    type_, code, seq = r
    usin = msg.msg_name
    if usin is not None:
        if usin.sin_family != AF_INET:
            return -EAFNOSUPPORT
        daddr = usin.sin_addr
    else:
        if sk.sk_state != TCP_ESTABLISHED:
            return -EDESTADDRREQ
        daddr = sk.inet_daddr
    from . import ip_output as ipo
    ipc = ipo.ipcm_init_sk(sk)
    ipc.addr = sk.inet_saddr
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
    fl4 = ipo.flowi4(daddr, saddr, tos, IPPROTO_ICMP, ipc.oif, 0, 0, ipc.mark,
                     inet_sk_flowi_flags(sk))
    if (sock_flag(sk, SOCK_LOCALROUTE) or msg.msg_flags & MSG_DONTROUTE) and hasattr(fl4, "flowi4_scope"):
        fl4.flowi4_scope = RT_SCOPE_LINK
    net = sk.sk_net
    rt = ipo._routing().ip_route_output_key(net, fl4)
    if type(rt) is int:
        if rt == -ENETUNREACH:
            net.mib.Ip["OutNoRoutes"] += 1
        return rt
    if getattr(rt, "rt_flags", 0) & RTCF_BROADCAST and not sock_flag(sk, SOCK_BROADCAST):
        return -EACCES
    if msg.msg_flags & MSG_CONFIRM:
        from ...core.dst import dst_confirm_neigh
        dst_confirm_neigh(rt, fl4.daddr)
        if msg.msg_flags & MSG_PROBE and not length:
            return 0
    if not ipc.addr:
        ipc.addr = fl4.daddr
    # The kernel's header: type and code as given, our id, the caller's sequence.
    off = msg.iov_off
    body = bytearray(msg.msg_iter[off:off + length])
    body[2] = body[3] = 0
    body[4] = (sk.inet_sport >> 8) & 0xFF
    body[5] = sk.inet_sport & 0xFF
    from ...wire.checksum import csum_fold, csum_partial
    c = csum_fold(csum_partial(body))
    body[2] = c >> 8
    body[3] = c & 0xFF
    if sk.sk_err or sk.sk_shutdown & SEND_SHUTDOWN:
        from .udp import sock_alloc_send_check
        err = sock_alloc_send_check(sk, rt, length, ipc)
        if err:
            return err
    skb = ipo.ip_make_skb(sk, fl4, bytes(body), 0, ipc, rt, msg.msg_flags & ~MSG_MORE)
    if skb is None:
        return length
    if type(skb) is int:
        return skb
    err = ipo.ip_send_skb(net, skb)
    if err and not (err == -ENOBUFS and not sk.recverr):
        return err
    return length


# --- errors -------------------------------------------------------------------------------------
def ping_err(skb, offset: int, info: int) -> None:
    """An ICMP error quoting one of our echoes (skb.data at the quoted IP header, offset
    its length; transport_header at the outer ICMP header)."""
    head = skb.head
    th = skb.transport_header
    type_ = head[th]
    code = head[th + 1]
    icmph = skb.data + offset
    if not ping_supported(head[icmph], head[icmph + 1]):
        return
    ident = (head[icmph + 4] << 8) | head[icmph + 5]
    net = skb.dev.nd_net
    sk = ping_lookup(net, skb, ident)
    if sk is None:
        return
    harderr = 0
    if type_ == ICMP_SOURCE_QUENCH:
        err = EREMOTEIO        # not a real error, but ping wants to see it
    elif type_ == ICMP_PARAMETERPROB:
        err = EPROTO
        harderr = 1
    elif type_ == ICMP_DEST_UNREACH:
        if code == ICMP_FRAG_NEEDED:
            from .udp import _update_pmtu
            _update_pmtu(skb, sk, info)
            if sk.pmtudisc != IP_PMTUDISC_DONT:
                err = EMSGSIZE
                harderr = 1
            else:
                return
        else:
            err = EHOSTUNREACH
            if code <= NR_ICMP_UNREACH:
                from .icmp import icmp_err_convert
                err, harderr = icmp_err_convert[code]
    elif type_ == ICMP_REDIRECT:
        from .udp import _redirect
        _redirect(skb, sk)
        err = EREMOTEIO
    else:
        err = EHOSTUNREACH
    if not sk.recverr:
        if not harderr or sk.sk_state != TCP_ESTABLISHED:
            return
    else:
        from .ip_sockglue import ip_icmp_error
        ip_icmp_error(sk, skb, err, 0, info, icmph)
    sk.sk_err = err
    sk.sk_error_report(sk)


# --- the rest -------------------------------------------------------------------------------------
def ping_close(sk, timeout) -> None:
    sk_common_release(sk)


def _ping_connect(sk, uaddr) -> int:
    from .ip_sockglue import ip4_datagram_connect
    return ip4_datagram_connect(sk, uaddr)


def _ping_disconnect(sk, flags: int) -> int:
    from .udp import __udp_disconnect
    return __udp_disconnect(sk, flags)


def _ping_setsockopt(sk, level, optname, optval):
    from .ip_sockglue import ip_setsockopt
    return ip_setsockopt(sk, level, optname, optval)


def _ping_getsockopt(sk, level, optname, buflen):
    from .ip_sockglue import ip_getsockopt
    return ip_getsockopt(sk, level, optname, buflen)


def _ping_destroy(sk) -> None:
    from . import ip_output
    ip_output.ip_flush_pending_frames(sk)


ping_prot = Proto(
    name="PING", init=ping_init_sock, close=ping_close, connect=_ping_connect,
    disconnect=_ping_disconnect, setsockopt=_ping_setsockopt, getsockopt=_ping_getsockopt,
    sendmsg=ping_v4_sendmsg, recvmsg=ping_recvmsg, bind=ping_bind, backlog_rcv=ping_queue_rcv_skb,
    hash=ping_hash, unhash=ping_unhash, get_port=ping_get_port, sock_class=InetSock,
    destroy=_ping_destroy, max_header=128,
)


def ping_net_init(net) -> None:
    ping_table(net)


def ping_init() -> None:
    """ping_init: the identifier table, one per Net here. Idempotent: register_pernet_subsys
    ignores a name it already has."""
    from ...core.net_namespace import PernetOperations, register_pernet_subsys
    register_pernet_subsys(PernetOperations("ping", ping_net_init))
