"""net/ipv4/udp.c — the User Datagram Protocol, RFC 768 (with RFC 1122 §4.1).

Port table: ``net.ipv4.udp_table`` maps a port to its sockets, newest first (the
kernel's hslot list, where a new socket goes to the head). udp_lib_get_port picks
an ephemeral port as Linux does: a random start in ip_local_port_range from
net.rng, then the ports of that start's hash chain in steps of an odd multiple of
the table size, chain after chain; -EADDRINUSE when none is free. Bind conflicts are
udp_lib_lport_inuse's: same port, overlapping address (either one wildcard), device
compatible, unless both sockets set SO_REUSEADDR, or both set SO_REUSEPORT (same
owner). SO_REUSEPORT sockets on the same address form a group (sock_reuseport);
a datagram picks one member by a hash of its 4-tuple keyed by a per-Net secret.

Receive: udp_rcv -> __udp4_lib_rcv checks the length (short -> InErrors) and the
checksum (bad -> InCsumErrors and InErrors; 0 means "none", RFC 768; loopback's
CHECKSUM_UNNECESSARY skips it), then __udp4_lib_lookup scores the candidates as
compute_score does (exact local address first, then wildcard; +4 for a connected
peer address, +4 for its port, +4 for a bound device). No socket: NoPorts and ICMP
port unreachable. A socket whose receive memory (skb truesize, counted in
sk_rmem_alloc) exceeds SO_RCVBUF drops it: RcvbufErrors and InErrors.
InDatagrams is counted when the application reads the datagram (udp_recvmsg), as
Linux does. Broadcasts go to every matching socket (IgnoredMulti if none).
Deviation: the checksum is verified on arrival rather than at copy time, so a
corrupt datagram never occupies the receive queue (the counters are the same).

Send: udp_sendmsg routes (the connected socket's cached route while valid), needs
SO_BROADCAST for a broadcast route (EACCES), builds the datagram with the IP
engineer's ``ip_make_skb(sk, fl4, payload, 8, ipc, rt, flags)`` (transport_header
at the 8 bytes reserved for the UDP header; EMSGSIZE above 65507 bytes comes from
there), fills the header and checksum (a computed 0 is sent as 0xffff) and calls
``ip_send_skb``: OutDatagrams, or SndbufErrors on ENOBUFS. On loopback the
checksum is left to the "hardware" (CHECKSUM_PARTIAL: the pseudo-header sum only)
as Linux does. MSG_MORE and UDP_CORK use ip_append_data / ip_finish_skb.

ICMP errors (udp_err): for a connected socket a hard error (port unreachable ->
ECONNREFUSED, icmp_err_convert) sets sk_err, reported by the next call; with
IP_RECVERR every error is also queued for MSG_ERRQUEUE; other sockets ignore them.

Not implemented: UDP-Lite, UDP GSO/GRO (UDP_SEGMENT, UDP_GRO), encapsulation
(UDP_ENCAP), multicast group filters (IP_ADD_MEMBERSHIP).
"""
import struct

from ...core.datagram import __skb_recv_datagram, datagram_poll
from ...core.dropreason import SkbDropReason
from ...core.dst import dst_confirm_neigh
from ...core.errno import (EACCES, EADDRINUSE, EAFNOSUPPORT, EDESTADDRREQ, EHOSTUNREACH, EINVAL,
                           EMSGSIZE, ENETUNREACH, ENOBUFS, ENOMEM, ENOPROTOOPT, EOPNOTSUPP, EPIPE,
                           EPROTO)
from ...core.skbuff import (CHECKSUM_PARTIAL, CHECKSUM_UNNECESSARY, consume_skb, kfree_skb,
                            skb_clone, skb_queue_tail)
from ...core.sock import (AF_INET, AF_UNSPEC, ENOIOCTLCMD, IP_PMTUDISC_DONT, MSG_CONFIRM,
                          MSG_DONTROUTE, MSG_ERRQUEUE, MSG_MORE, MSG_OOB, MSG_PEEK, MSG_PROBE,
                          MSG_TRUNC, SEND_SHUTDOWN, SOCK_BINDADDR_LOCK,
                          SOCK_BINDPORT_LOCK, SOCK_BROADCAST, SOCK_DEAD, SOCK_LOCALROUTE,
                          SOCK_RCVTSTAMP, SOCK_RCVTSTAMPNS, SOL_SOCKET, SOL_UDP, TCP_CLOSE, TCP_ESTABLISHED,
                          InetSock, Proto, SockaddrIn, put_cmsg, sk_common_release, sk_dst_check,
                          sk_dst_reset, sk_dst_set, skb_set_owner_r, sock_error, sock_flag,
                          sock_getsockopt, sock_setsockopt, sockopt_int)
from ...core.wait import Blocked
from ...wire.checksum import csum_fold, csum_partial, csum_tcpudp_magic
from . import ip_output, ip_sockglue
from .icmp import icmp_send
from .ip_sockglue import inet_sk_flowi_flags

IPPROTO_UDP = 17
UDP_HLEN = 8
UDP_CORK = 1
UDP_ENCAP = 100
UDP_NO_CHECK6_TX = 101
UDP_NO_CHECK6_RX = 102
UDP_SEGMENT = 103
UDP_GRO = 104

UDP_HTABLE_LOG = 8                 # 256 slots, the kernel's UDP_HTABLE_SIZE_MIN on small hosts
UDP_HTABLE_MASK = (1 << UDP_HTABLE_LOG) - 1

RTCF_BROADCAST = 0x10000000
RTCF_MULTICAST = 0x20000000
RT_SCOPE_UNIVERSE = 0
RT_SCOPE_LINK = 253
IFF_LOOPBACK = 0x8
ICMP_DEST_UNREACH = 3
ICMP_SOURCE_QUENCH = 4
ICMP_REDIRECT = 5
ICMP_TIME_EXCEEDED = 11
ICMP_PARAMETERPROB = 12
ICMP_PORT_UNREACH = 3
ICMP_FRAG_NEEDED = 4
NR_ICMP_UNREACH = 15
SCM_TIMESTAMP = 29
SCM_TIMESTAMPNS = 35

_UDPH = struct.Struct("!HHHH")
_IPH_ADDRS = struct.Struct("!II")     # iph->saddr, iph->daddr (at network_header + 12)


class UdpSock(InetSock):
    """struct udp_sock."""

    def __init__(self, net=None, family=AF_INET, prot=None):
        super().__init__(net, family, prot)
        self.udp_port_hash = 0
        self.pending = 0            # AF_INET while a corked datagram is being built
        self.len = 0                # bytes of the corked datagram (with the header)
        self.corkflag = 0           # UDP_CORK
        self.gso_size = 0
        self.encap_type = 0
        self.no_check6_rx = 0


class UdpTable:
    """struct udp_table for one Net: port -> sockets (newest first)."""

    __slots__ = ("hash", "mask", "log", "secret")

    def __init__(self, secret: int):
        self.hash: dict = {}
        self.mask = UDP_HTABLE_MASK
        self.log = UDP_HTABLE_LOG
        self.secret = secret


class SockReuseport:
    """struct sock_reuseport: the sockets of one SO_REUSEPORT group."""

    __slots__ = ("socks", "has_conns", "bind_inany")

    def __init__(self, bind_inany: bool):
        self.socks = []
        self.has_conns = 0
        self.bind_inany = bind_inany


def udp_table(net) -> UdpTable:
    t = getattr(net.ipv4, "udp_table", None)
    if t is None:
        t = net.ipv4.udp_table = UdpTable(net.rng.get_random_u32())
    return t


def udp_sk(sk) -> UdpSock:
    return sk


# --- ports -------------------------------------------------------------------------------
def inet_sk_get_local_port_range(sk):
    lo, hi = sk.sk_net.ipv4.sysctl_ip_local_port_range
    sk_lo, sk_hi = sk.local_port_range
    if sk_lo or sk_hi:
        if lo <= sk_lo <= hi:
            lo = sk_lo
        if lo <= sk_hi <= hi:
            hi = sk_hi
    return lo, hi


def inet_rcv_saddr_equal(sk, sk2, match_wildcard: bool) -> bool:
    a, b = sk.inet_rcv_saddr, sk2.inet_rcv_saddr
    if a == b:
        return True
    return match_wildcard and (not a or not b)


def udp_lib_lport_inuse(net, num: int, sk, table: UdpTable) -> bool:
    """Is port num taken for sk (udp_lib_lport_inuse, without the bitmap)?"""
    for sk2 in table.hash.get(num, ()):
        if sk2 is sk:
            continue
        if sk2.sk_reuse and sk.sk_reuse:
            continue
        if sk2.sk_bound_dev_if and sk.sk_bound_dev_if and sk2.sk_bound_dev_if != sk.sk_bound_dev_if:
            continue
        if not inet_rcv_saddr_equal(sk, sk2, True):
            continue
        if (sk2.sk_reuseport and sk.sk_reuseport and sk.sk_reuseport_cb is None
                and sk.sk_uid == sk2.sk_uid):
            continue
        return True
    return False


def _local_reserved(net, port: int) -> bool:
    return port in net.ipv4.sysctl_local_reserved_ports


def udp_lib_get_port(sk, snum: int) -> int:
    """Bind sk to snum (0: pick an ephemeral port). 0, or -EADDRINUSE."""
    net = sk.sk_net
    table = udp_table(net)
    if not snum:
        low, high = inet_sk_get_local_port_range(sk)
        remaining = high - low + 1
        rand = net.rng.get_random_u32()
        first = ((rand * remaining) >> 32) + low          # reciprocal_scale
        # An odd multiple of the table size: every port of a chain, in a scrambled order.
        step = (((rand | 1) * (table.mask + 1)) & 0xFFFFFFFF) & 0xFFFF
        last = (first + table.mask + 1) & 0xFFFF
        found = 0
        while not found:
            snum = first
            while True:
                if low <= snum <= high and not _local_reserved(net, snum) \
                        and not udp_lib_lport_inuse(net, snum, sk, table):
                    found = snum
                    break
                snum = (snum + step) & 0xFFFF
                if snum == first:
                    break
            if found:
                break
            first = (first + 1) & 0xFFFF
            if first == last:
                return -EADDRINUSE
        snum = found
    elif udp_lib_lport_inuse(net, snum, sk, table):
        return -EADDRINUSE
    sk.inet_num = snum
    sk.udp_port_hash = snum
    if sk.sk_reuseport and udp_reuseport_add_sock(sk, table):
        sk.inet_num = 0
        return -EADDRINUSE
    table.hash.setdefault(snum, []).insert(0, sk)
    sk._hashed = True
    return 0


def udp_v4_get_port(sk, snum: int) -> int:
    return udp_lib_get_port(sk, snum)


def udp_reuseport_add_sock(sk, table: UdpTable) -> int:
    for sk2 in table.hash.get(sk.udp_port_hash, ()):
        if (sk2 is not sk and sk2.sk_family == sk.sk_family
                and sk2.sk_bound_dev_if == sk.sk_bound_dev_if and sk2.sk_reuseport
                and sk2.sk_uid == sk.sk_uid and inet_rcv_saddr_equal(sk, sk2, False)
                and sk2.sk_reuseport_cb is not None):
            reuse = sk2.sk_reuseport_cb
            reuse.socks.append(sk)
            sk.sk_reuseport_cb = reuse
            return 0
    reuse = SockReuseport(not sk.inet_rcv_saddr)
    reuse.socks.append(sk)
    sk.sk_reuseport_cb = reuse
    return 0


def reuseport_detach_sock(sk) -> None:
    reuse = sk.sk_reuseport_cb
    if reuse is None:
        return
    socks = reuse.socks
    if sk in socks:
        i = socks.index(sk)
        socks[i] = socks[-1]      # the last one takes the freed slot, as the kernel does
        socks.pop()
    sk.sk_reuseport_cb = None


def udp_lib_hash(sk) -> int:
    # UDP sockets are hashed by get_port; inet_create never asks (inet_num is 0 then).
    return 0


def udp_lib_unhash(sk) -> None:
    if not getattr(sk, "_hashed", False):
        return
    table = udp_table(sk.sk_net)
    lst = table.hash.get(sk.udp_port_hash)
    if lst is not None and sk in lst:
        lst.remove(sk)
        if not lst:
            del table.hash[sk.udp_port_hash]
    sk._hashed = False
    sk.inet_num = 0
    reuseport_detach_sock(sk)


# --- lookup ---------------------------------------------------------------------------------
def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def udp_ehashfn(table: UdpTable, laddr: int, lport: int, faddr: int, fport: int) -> int:
    """The flow hash reuseport selection uses (the kernel's keyed jhash of the 4-tuple)."""
    return _fmix(_fmix(laddr ^ table.secret) ^ _fmix(faddr + ((lport << 16) | fport)))


def reuseport_select_sock(sk, h: int):
    reuse = sk.sk_reuseport_cb
    if reuse is None or not reuse.socks:
        return None
    socks = reuse.socks
    n = len(socks)
    i = j = (h * n) >> 32
    while socks[i].sk_state == TCP_ESTABLISHED:
        i += 1
        if i >= n:
            i = 0
        if i == j:
            return None
    return socks[i]


def compute_score(sk, saddr: int, sport: int, daddr: int, hnum: int, dif: int) -> int:
    if sk.udp_port_hash != hnum or sk.inet_rcv_saddr != daddr:
        return -1
    score = 2
    if sk.inet_daddr:
        if sk.inet_daddr != saddr:
            return -1
        score += 4
    if sk.inet_dport:
        if sk.inet_dport != sport:
            return -1
        score += 4
    if sk.sk_bound_dev_if:
        if sk.sk_bound_dev_if != dif:
            return -1
        score += 4
    return score


def udp4_lib_lookup2(table, lst, saddr, sport, daddr, hnum, dif):
    result = None
    badness = 0
    for sk in lst:
        score = compute_score(sk, saddr, sport, daddr, hnum, dif)
        if score > badness:
            badness = score
            if sk.sk_state == TCP_ESTABLISHED or not sk.sk_reuseport:
                result = sk
                continue
            r = reuseport_select_sock(sk, udp_ehashfn(table, daddr, hnum, saddr, sport))
            if r is None:
                result = sk
                continue
            if not sk.sk_reuseport_cb.has_conns:
                return r
            # The group has connected members: fall back to scoring what was picked.
            result = r
            badness = compute_score(r, saddr, sport, daddr, hnum, dif)
    return result


def __udp4_lib_lookup(net, saddr: int, sport: int, daddr: int, dport: int, dif: int = 0,
                      table: UdpTable = None):
    """The socket a datagram saddr:sport -> daddr:dport belongs to: exact local address
    first, then the wildcard (INADDR_ANY) sockets."""
    if table is None:
        table = udp_table(net)
    lst = table.hash.get(dport)
    if not lst:
        return None
    r = udp4_lib_lookup2(table, lst, saddr, sport, daddr, dport, dif)
    if r is None and daddr:
        r = udp4_lib_lookup2(table, lst, saddr, sport, 0, dport, dif)
    return r


def udp4_lib_lookup(net, saddr, sport, daddr, dport, dif=0):
    return __udp4_lib_lookup(net, saddr, sport, daddr, dport, dif)


# --- receive --------------------------------------------------------------------------------
def udp_rcv(skb) -> int:
    return __udp4_lib_rcv(skb, None, IPPROTO_UDP)


def _csum_ok(skb, saddr: int, daddr: int, off: int, ulen: int) -> bool:
    if skb.ip_summed == CHECKSUM_UNNECESSARY or skb.ip_summed == CHECKSUM_PARTIAL:
        return True
    head = skb.head
    if head[off + 6] == 0 and head[off + 7] == 0:
        return True     # RFC 768: no checksum was computed
    return csum_fold(saddr + daddr + ulen + IPPROTO_UDP
                     + csum_partial(head[off:off + ulen])) == 0


def __udp4_lib_rcv(skb, table, proto: int) -> int:
    dev = skb.dev
    net = dev.nd_net
    mib = net.mib.Udp
    head = skb.head
    off = skb.data
    if skb.tail - off < UDP_HLEN:
        mib["InErrors"] += 1
        kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
        return 0
    sport, dport, ulen, _check = _UDPH.unpack_from(head, off)
    saddr, daddr = _IPH_ADDRS.unpack_from(head, skb.network_header + 12)
    if ulen > skb.tail - off or ulen < UDP_HLEN:
        mib["InErrors"] += 1
        kfree_skb(skb, SkbDropReason.PKT_TOO_SMALL)
        return 0
    skb.tail = off + ulen          # pskb_trim_rcsum: the IP payload may be padded
    skb.transport_header = off
    if not _csum_ok(skb, saddr, daddr, off, ulen):
        mib["InCsumErrors"] += 1
        mib["InErrors"] += 1
        kfree_skb(skb, SkbDropReason.UDP_CSUM)
        return 0
    skb.ip_summed = CHECKSUM_UNNECESSARY
    if table is None:
        table = udp_table(net)
    rt = skb._dst
    if rt is not None and getattr(rt, "rt_flags", 0) & (RTCF_BROADCAST | RTCF_MULTICAST):
        return __udp4_lib_mcast_deliver(net, skb, sport, dport, saddr, daddr, table)
    sk = __udp4_lib_lookup(net, saddr, sport, daddr, dport, dev.ifindex, table)
    if sk is not None:
        udp_queue_rcv_skb(sk, skb)
        return 0
    mib["NoPorts"] += 1
    icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0)
    kfree_skb(skb, SkbDropReason.NO_SOCKET)
    return 0


def __udp_is_mcast_sock(sk, loc_port, loc_addr, rmt_port, rmt_addr, dif) -> bool:
    if sk.udp_port_hash != loc_port:
        return False
    if sk.inet_daddr and sk.inet_daddr != rmt_addr:
        return False
    if sk.inet_dport and sk.inet_dport != rmt_port:
        return False
    if sk.inet_rcv_saddr and sk.inet_rcv_saddr != loc_addr:
        return False
    if sk.sk_bound_dev_if and sk.sk_bound_dev_if != dif:
        return False
    return True


def __udp4_lib_mcast_deliver(net, skb, sport, dport, saddr, daddr, table) -> int:
    """Broadcast/multicast: a copy to every socket that wants it."""
    dif = skb.dev.ifindex
    first = None
    for sk in list(table.hash.get(dport, ())):
        if not __udp_is_mcast_sock(sk, dport, daddr, sport, saddr, dif):
            continue
        if first is None:
            first = sk
            continue
        nskb = skb_clone(skb)
        udp_queue_rcv_skb(sk, nskb)
    if first is not None:
        udp_queue_rcv_skb(first, skb)
    else:
        net.mib.Udp["IgnoredMulti"] += 1
        consume_skb(skb)
    return 0


def udp_queue_rcv_skb(sk, skb) -> int:
    """udp_queue_rcv_one_skb: pull the header, stamp, queue."""
    skb.data += UDP_HLEN               # udp_csum_pull_header
    return __udp_queue_rcv_skb(sk, skb)


def __udp_queue_rcv_skb(sk, skb) -> int:
    rc = __udp_enqueue_schedule_skb(sk, skb)
    if rc < 0:
        mib = sk.sk_net.mib.Udp
        if rc == -ENOMEM:
            mib["RcvbufErrors"] += 1
            reason = SkbDropReason.SOCKET_RCVBUFF
        else:
            mib["MemErrors"] += 1
            reason = SkbDropReason.PROTO_MEM
        mib["InErrors"] += 1
        sk.sk_drops += 1
        kfree_skb(skb, reason)
        return -1
    return 0


def __udp_enqueue_schedule_skb(sk, skb) -> int:
    """Queue the datagram unless the receive memory is already over SO_RCVBUF (one
    datagram always fits an empty queue)."""
    rmem = sk.sk_rmem_alloc
    rcvbuf = sk.sk_rcvbuf
    if rmem > rcvbuf:
        return -ENOMEM
    size = skb.truesize
    if rmem + size > size + rcvbuf:
        return -ENOMEM
    skb_set_owner_r(skb, sk)
    if sock_flag(sk, SOCK_RCVTSTAMP) and not skb.tstamp:
        skb.tstamp = sk.sk_net.clock.wall()
    skb_queue_tail(sk.sk_receive_queue, skb)
    if not sock_flag(sk, SOCK_DEAD):
        sk.sk_data_ready(sk)
    return 0


# --- recvmsg ----------------------------------------------------------------------------------
def udp_skb_len(skb) -> int:
    return skb.tail - skb.data


def udp_recvmsg(sk, msg, length: int, flags: int):
    """One datagram: payload (cut to length, MSG_TRUNC in msg_flags), the sender in
    msg_name; returns bytes copied (the datagram's length with MSG_TRUNC)."""
    if flags & MSG_ERRQUEUE:
        return ip_sockglue.ip_recv_error(sk, msg, length)
    peeking = flags & MSG_PEEK
    skb = __skb_recv_datagram(sk, sk.sk_receive_queue, flags,
                              lambda: udp_recvmsg(sk, msg, length, flags))
    if type(skb) is int or type(skb) is Blocked:
        return skb
    ulen = skb.tail - skb.data
    copied = length
    if copied > ulen:
        copied = ulen
    elif copied < ulen:
        msg.msg_flags |= MSG_TRUNC
    if copied:
        msg.msg_iter += skb.head[skb.data:skb.data + copied]
    if not peeking:
        sk.sk_net.mib.Udp["InDatagrams"] += 1
    if sk.sk_flags & _FLAGS_RECV_CMSGS:
        sock_recv_cmsgs(msg, sk, skb)
    head = skb.head
    th = skb.transport_header
    msg.msg_name = SockaddrIn(AF_INET, _IPH_ADDRS.unpack_from(head, skb.network_header + 12)[0],
                              (head[th] << 8) | head[th + 1])
    if sk.cmsg_flags:
        ip_sockglue.ip_cmsg_recv(msg, skb, sk, th)
    err = ulen if flags & MSG_TRUNC else copied
    if not peeking:
        consume_skb(skb)
    return err


_FLAGS_RECV_CMSGS = 1 << SOCK_RCVTSTAMP     # include/net/sock.h FLAGS_RECV_CMSGS


def sock_recv_cmsgs(msg, sk, skb) -> None:
    """SO_TIMESTAMP(NS): the receive time as SCM_TIMESTAMP(NS)."""
    if sock_flag(sk, SOCK_RCVTSTAMP):
        t = skb.tstamp or sk.sk_net.clock.wall()
        sec = int(t)
        if sock_flag(sk, SOCK_RCVTSTAMPNS):
            put_cmsg(msg, SOL_SOCKET, SCM_TIMESTAMPNS, struct.pack("=qq", sec, int((t - sec) * 1e9)))
        else:
            put_cmsg(msg, SOL_SOCKET, SCM_TIMESTAMP, struct.pack("=qq", sec, int((t - sec) * 1e6)))


def first_packet_length(sk) -> int:
    q = sk.sk_receive_queue.q
    if not q:
        return -1
    skb = q[0]
    return skb.tail - skb.data


def udp_ioctl(sk, cmd: int, arg: int):
    if cmd == 0x5411:          # SIOCOUTQ
        return sk.sk_wmem_alloc
    if cmd == 0x541B:          # SIOCINQ / FIONREAD: the first datagram's length
        return max(0, first_packet_length(sk))
    return -ENOIOCTLCMD


def udp_poll(file, sock, pt=None) -> int:
    mask = datagram_poll(file, sock, pt)
    return mask


# --- send -------------------------------------------------------------------------------------
def _ipout():
    """ip_output (the module; imported at the top, kept for the call sites below)."""
    return ip_output


def udp_sendmsg(sk, msg, length: int):
    if length > 0xFFFF:
        return -EMSGSIZE
    flags = msg.msg_flags
    if flags & MSG_OOB:
        return -EOPNOTSUPP
    ipo = ip_output
    up = sk
    corkreq = up.corkflag or flags & MSG_MORE
    if up.pending:
        return _udp_append(sk, msg, length, None, None, None, corkreq)
    usin = msg.msg_name
    connected = 0
    if usin is not None:
        if usin.sin_family != AF_INET:
            if usin.sin_family != AF_UNSPEC:
                return -EAFNOSUPPORT
        daddr = usin.sin_addr
        dport = usin.sin_port
        if dport == 0:
            return -EINVAL
    else:
        if sk.sk_state != TCP_ESTABLISHED:
            return -EDESTADDRREQ
        daddr = sk.inet_daddr
        dport = sk.inet_dport
        connected = 1
    ipc = ipo.ipcm_init_sk(sk)
    ipc.addr = sk.inet_saddr
    if msg.msg_control:
        err = ip_sockglue.ip_cmsg_send(sk, msg, ipc)
        if err:
            return err
        connected = 0           # per-call options: not the connected fast path
    saddr = ipc.addr
    tos = (ipc.tos if ipc.tos != -1 else sk.tos) & 0x1E
    scope = RT_SCOPE_LINK if (sock_flag(sk, SOCK_LOCALROUTE) or flags & MSG_DONTROUTE) else RT_SCOPE_UNIVERSE
    if scope == RT_SCOPE_LINK:
        connected = 0
    if daddr >> 28 == 0xE:
        if not ipc.oif:
            ipc.oif = sk.mc_index
        if not saddr:
            saddr = sk.mc_addr
        connected = 0
    elif not ipc.oif:
        ipc.oif = sk.uc_index
    rt = None
    fl4 = None
    if connected:
        rt = sk_dst_check(sk, 0)
        fl4 = sk.cork.fl
        if rt is not None and fl4 is None:
            rt = None
    if rt is None:
        fl4 = ipo.flowi4(daddr, saddr, tos, sk.sk_protocol, ipc.oif, sk.inet_sport, dport,
                         ipc.mark, inet_sk_flowi_flags(sk))
        if scope != RT_SCOPE_UNIVERSE and hasattr(fl4, "flowi4_scope"):
            fl4.flowi4_scope = scope
        rt = ipo._routing().ip_route_output_key(sk.sk_net, fl4)
        if type(rt) is int:
            if rt == -ENETUNREACH:
                sk.sk_net.mib.Ip["OutNoRoutes"] += 1
            return _send_err(sk, rt)
        if getattr(rt, "rt_flags", 0) & RTCF_BROADCAST and not sock_flag(sk, SOCK_BROADCAST):
            return _send_err(sk, -EACCES)
        if connected:
            sk_dst_set(sk, rt)
            sk.cork.fl = fl4
    if flags & MSG_CONFIRM:
        dst_confirm_neigh(rt, fl4.daddr)
        if flags & MSG_PROBE and not length:
            return 0
    if not corkreq:
        data = _payload(msg, length)
        if sk.sk_err or sk.sk_shutdown & SEND_SHUTDOWN:
            err = sock_alloc_send_check(sk, rt, UDP_HLEN + length, ipc)
            if err:
                return _send_err(sk, err)
        skb = ipo.ip_make_skb(sk, fl4, data, UDP_HLEN, ipc, rt, flags)
        if skb is None:
            return length if flags & MSG_PROBE else 0
        if skb.__class__ is int:
            return _send_err(sk, skb)
        err = udp_send_skb(skb, fl4, dport)
        return length if not err else _send_err(sk, err)
    # Cork: the datagram is built over several sends (MSG_MORE / UDP_CORK).
    up.pending = AF_INET
    up.cork_dport = dport
    return _udp_append(sk, msg, length, fl4, ipc, rt, corkreq)


def sock_alloc_send_check(sk, rt, length: int, ipc) -> int:
    """What __ip_append_data -> sock_alloc_send_skb says before any byte is copied: a
    pending socket error (taken), then EPIPE after shutdown(SHUT_WR); counted in
    IpOutDiscards. A datagram too big for the path fails with EMSGSIZE first (0 is
    returned then, so ip_make_skb reports it)."""
    ipo = _ipout()
    mtu = ipo.dst_mtu(rt) if ipo.ip_sk_use_pmtu(sk) else rt.dev.mtu
    maxnonfragsize = 0xFFFF if ipo.ip_sk_ignore_df(sk) else mtu
    optlen = len(ipo._opt_bytes(ipc.opt if ipc is not None and ipc.opt is not None
                                else getattr(sk, "inet_opt", None)))
    if length > maxnonfragsize - 20 - optlen:
        return 0
    err = sock_error(sk)
    if not err and sk.sk_shutdown & SEND_SHUTDOWN:
        err = -EPIPE
    if err:
        sk.sk_net.mib.Ip["OutDiscards"] += 1
    return err


def _payload(msg, length: int):
    it = msg.msg_iter
    off = msg.iov_off
    if off == 0 and length == len(it):
        return it
    return bytes(it[off:off + length])


def _udp_append(sk, msg, length, fl4, ipc, rt, corkreq):
    ipo = _ipout()
    up = sk
    if fl4 is None:
        fl4 = sk.cork.fl
    up.len += length + (UDP_HLEN if not up.len else 0)
    err = ipo.ip_append_data(sk, fl4, _payload(msg, length), UDP_HLEN, ipc, rt,
                             msg.msg_flags | (MSG_MORE if corkreq else 0))
    if err:
        udp_flush_pending_frames(sk)
    elif not corkreq:
        err = udp_push_pending_frames(sk)
    if err:
        return _send_err(sk, err)
    return length


def _send_err(sk, err: int) -> int:
    if err == -ENOBUFS:
        sk.sk_net.mib.Udp["SndbufErrors"] += 1
    return err


def udp_flush_pending_frames(sk) -> None:
    if sk.pending:
        sk.len = 0
        sk.pending = 0
        _ipout().ip_flush_pending_frames(sk)


def udp_push_pending_frames(sk) -> int:
    ipo = _ipout()
    fl4 = sk.cork.fl
    skb = ipo.ip_finish_skb(sk, fl4)
    err = 0
    if skb is not None:
        err = udp_send_skb(skb, fl4, getattr(sk, "cork_dport", 0))
    sk.len = 0
    sk.pending = 0
    return err


def udp_send_skb(skb, fl4, dport: int) -> int:
    """Write the UDP header (and checksum) in the room ip_make_skb left, and send."""
    sk = skb.sk
    net = sk.sk_net
    th = skb.transport_header
    length = skb.tail - th
    head = skb.head
    saddr, daddr = fl4.saddr, fl4.daddr
    _UDPH.pack_into(head, th, sk.inet_sport, dport, length, 0)
    rt = skb._dst
    if sk.sk_no_check_tx:
        pass
    elif rt is not None and rt.dev.flags & IFF_LOOPBACK:
        # udp4_hwcsum: the device "computes" it; only the pseudo-header sum is stored.
        skb.ip_summed = CHECKSUM_PARTIAL
        c = (~csum_tcpudp_magic(saddr, daddr, length, IPPROTO_UDP, 0)) & 0xFFFF
        head[th + 6] = c >> 8
        head[th + 7] = c & 0xFF
    else:
        c = csum_fold(saddr + daddr + length + IPPROTO_UDP
                      + csum_partial(head[th:th + length]))
        if c == 0:
            c = 0xFFFF
        head[th + 6] = c >> 8
        head[th + 7] = c & 0xFF
    err = ip_output.ip_send_skb(net, skb)
    if err:
        if err == -ENOBUFS and not sk.recverr:
            net.mib.Udp["SndbufErrors"] += 1
            err = 0
    else:
        net.mib.Udp["OutDatagrams"] += 1
    return err


# --- errors (ICMP) ------------------------------------------------------------------------------
def _err_convert(code: int):
    from .icmp import icmp_err_convert
    return icmp_err_convert[code]


def udp_err(skb, info: int) -> int:
    return __udp4_lib_err(skb, info, None)


def __udp4_lib_err(skb, info: int, table) -> int:
    """An ICMP error about a datagram we sent (skb.data at the quoted IP header,
    transport_header at the ICMP header)."""
    net = skb.dev.nd_net
    head = skb.head
    d = skb.data
    ihl = (head[d] & 0x0F) << 2
    q_saddr = int.from_bytes(head[d + 12:d + 16], "big")
    q_daddr = int.from_bytes(head[d + 16:d + 20], "big")
    uh = d + ihl
    q_sport = (head[uh] << 8) | head[uh + 1]
    q_dport = (head[uh + 2] << 8) | head[uh + 3]
    th = skb.transport_header
    type_ = head[th]
    code = head[th + 1]
    sk = __udp4_lib_lookup(net, q_daddr, q_dport, q_saddr, q_sport, skb.dev.ifindex, table)
    if sk is None:
        net.mib.Icmp["InErrors"] += 1
        return -2    # -ENOENT
    harderr = 0
    if type_ == ICMP_SOURCE_QUENCH:
        return 0
    if type_ == ICMP_PARAMETERPROB:
        err = EPROTO
        harderr = 1
    elif type_ == ICMP_DEST_UNREACH:
        if code == ICMP_FRAG_NEEDED:
            _update_pmtu(skb, sk, info)
            if sk.pmtudisc != IP_PMTUDISC_DONT:
                err = EMSGSIZE
                harderr = 1
            else:
                return 0
        else:
            err = EHOSTUNREACH
            if code <= NR_ICMP_UNREACH:
                err, harderr = _err_convert(code)
    elif type_ == ICMP_REDIRECT:
        _redirect(skb, sk)
        return 0
    else:
        err = EHOSTUNREACH      # ICMP_TIME_EXCEEDED and the rest
    if not sk.recverr:
        if not harderr or sk.sk_state != TCP_ESTABLISHED:
            return 0
    else:
        from .ip_sockglue import ip_icmp_error
        ip_icmp_error(sk, skb, err, q_dport, info, uh + UDP_HLEN)
    sk.sk_err = err
    sk.sk_error_report(sk)
    return 0


def _update_pmtu(skb, sk, info: int) -> None:
    try:
        from . import route
    except ImportError:
        return
    f = getattr(route, "ipv4_sk_update_pmtu", None)
    if f is not None:
        f(skb, sk, info)


def _redirect(skb, sk) -> None:
    try:
        from . import route
    except ImportError:
        return
    f = getattr(route, "ipv4_sk_redirect", None)
    if f is not None:
        f(skb, sk)


# --- connect / close / options ----------------------------------------------------------------
def udp_connect(sk, uaddr) -> int:
    from .ip_sockglue import ip4_datagram_connect
    return ip4_datagram_connect(sk, uaddr)


def __udp_disconnect(sk, flags: int) -> int:
    """connect(AF_UNSPEC): break the association (1003.1g)."""
    sk.sk_state = TCP_CLOSE
    sk.inet_daddr = 0
    sk.inet_dport = 0
    sk.sk_bound_dev_if = 0
    if not sk.sk_userlocks & SOCK_BINDADDR_LOCK:
        sk.inet_rcv_saddr = sk.inet_saddr = 0
    if not sk.sk_userlocks & SOCK_BINDPORT_LOCK:
        sk.sk_prot.unhash(sk)
        sk.inet_sport = 0
    sk_dst_reset(sk)
    sk.cork.fl = None
    return 0


udp_disconnect = __udp_disconnect


def udp_init_sock(sk) -> int:
    return 0


def udp_destroy_sock(sk) -> None:
    udp_flush_pending_frames(sk)


def udp_lib_close(sk, timeout) -> None:
    sk_common_release(sk)


def udp_lib_setsockopt(sk, level: int, optname: int, optval) -> int:
    if level == SOL_SOCKET:
        return sock_setsockopt(sk.sk_socket, level, optname, optval)
    val = sockopt_int(optval)
    if val is None:
        return -EINVAL
    if optname == UDP_CORK:
        if val:
            sk.corkflag = 1
        else:
            sk.corkflag = 0
            if sk.pending:
                return udp_push_pending_frames(sk)
        return 0
    return -ENOPROTOOPT


def udp_setsockopt(sk, level: int, optname: int, optval) -> int:
    if level in (SOL_UDP, 136, SOL_SOCKET):
        return udp_lib_setsockopt(sk, level, optname, optval)
    from .ip_sockglue import ip_setsockopt
    return ip_setsockopt(sk, level, optname, optval)


def udp_lib_getsockopt(sk, level: int, optname: int, buflen: int):
    from ...core.sock import put_int
    if buflen < 0:
        return -EINVAL
    if optname == UDP_CORK:
        return put_int(sk.corkflag, buflen)
    if optname == UDP_SEGMENT:
        return put_int(sk.gso_size, buflen)
    if optname in (UDP_ENCAP, UDP_NO_CHECK6_TX, UDP_NO_CHECK6_RX, UDP_GRO):
        return put_int(0, buflen)
    return -ENOPROTOOPT


def udp_getsockopt(sk, level: int, optname: int, buflen: int):
    if level in (SOL_UDP, 136):
        return udp_lib_getsockopt(sk, level, optname, buflen)
    if level == SOL_SOCKET:
        return sock_getsockopt(sk.sk_socket, level, optname, buflen)
    from .ip_sockglue import ip_getsockopt
    return ip_getsockopt(sk, level, optname, buflen)


def udp_shutdown(sk, how: int) -> None:
    # inet_shutdown set sk_shutdown and woke the waiters; nothing else for UDP.
    return None


udp_prot = Proto(
    name="UDP", close=udp_lib_close, connect=udp_connect, disconnect=udp_disconnect,
    ioctl=udp_ioctl, init=udp_init_sock, destroy=udp_destroy_sock, setsockopt=udp_setsockopt,
    getsockopt=udp_getsockopt, sendmsg=udp_sendmsg, recvmsg=udp_recvmsg, hash=udp_lib_hash,
    unhash=udp_lib_unhash, get_port=udp_v4_get_port, sock_class=UdpSock, max_header=128,
    sysctl_wmem=lambda net: [net.ipv4.sysctl_udp_wmem_min, net.core.sysctl_wmem_default,
                             net.core.sysctl_wmem_max],
    sysctl_rmem=lambda net: [net.ipv4.sysctl_udp_rmem_min, net.core.sysctl_rmem_default,
                             net.core.sysctl_rmem_max],
)


def udp4_net_init(net) -> None:
    udp_table(net)


def udp_init() -> None:
    """udp_init: the per-Net port tables. Idempotent: register_pernet_subsys
    ignores a name it already has."""
    from ...core.net_namespace import PernetOperations, register_pernet_subsys
    register_pernet_subsys(PernetOperations("udp", udp4_net_init))

