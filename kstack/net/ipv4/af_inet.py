"""net/ipv4/af_inet.c — the PF_INET socket family (RFC 791/793/768 sockets API, RFC 3493 §3).

inetsw maps a socket type to its protocols: SOCK_STREAM/IPPROTO_TCP is tcp_prot with
inet_stream_ops, SOCK_DGRAM/IPPROTO_UDP udp_prot with inet_dgram_ops,
SOCK_DGRAM/IPPROTO_ICMP ping_prot and SOCK_RAW/any raw_prot, both with
inet_sockraw_ops. inet_create picks one the way the kernel does (so the errnos are
Linux's: EPROTONOSUPPORT, ESOCKTNOSUPPORT, EPERM for raw without CAP_NET_RAW);
the generic operations (bind, connect, accept, listen, getname, shutdown,
sendmsg/recvmsg) are here and call the protocol's struct proto.

inet_init() is the fs_initcall: it registers the protos and the family, installs
the ICMP, UDP and TCP receive handlers in inet_protos and the inetsw entries, and
runs arp_init, ip_init, tcp_init, udp_init, ping_init and icmp_init. Modules that do
not exist yet (the tree is built by several people at once) are skipped; a module
that exists but fails to import is an error.
"""
import importlib
import importlib.util

from ...core.errno import (EACCES, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN, EALREADY,
                           ECONNABORTED, EINPROGRESS, EINVAL, EISCONN, ENOTCONN, EOPNOTSUPP, EPERM,
                           EPIPE, EPROTONOSUPPORT, ESOCKTNOSUPPORT)
from ...core.sock import (AF_INET, AF_UNSPEC, ENOIOCTLCMD, IP_PMTUDISC_DONT, IP_PMTUDISC_WANT,
                          MSG_DONTWAIT, RCV_SHUTDOWN, SHUTDOWN_MASK, SK_CAN_REUSE,
                          SOCK_BINDADDR_LOCK, SOCK_BINDPORT_LOCK, SOCK_DGRAM, SOCK_LINGER,
                          SOCK_RAW, SOCK_STREAM, TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT, TCPF_CLOSE,
                          TCPF_LISTEN, TCPF_SYN_RECV, TCPF_SYN_SENT, SockaddrIn,
                          blocked_then, proto_register, sk_alloc, sk_common_release, sk_dst_reset,
                          sk_wait_event, sock_error, sock_flag, sock_graft, sock_init_data,
                          sock_sndtimeo)
from ...core.wait import ALL_EVENTS
from ...fs.file import O_NONBLOCK
from ..socket import (SS_CONNECTED, SS_CONNECTING, SS_DISCONNECTING, SS_UNCONNECTED,
                      NetProtoFamily, ProtoOps, sock_register)

IPPROTO_IP = 0
IPPROTO_ICMP = 1
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_RAW = 255
IPPROTO_MAX = 263

INET_PROTOSW_REUSE = 0x01
INET_PROTOSW_PERMANENT = 0x02
INET_PROTOSW_ICSK = 0x04

RTN_UNICAST = 1
RTN_LOCAL = 2
RTN_BROADCAST = 3
RTN_MULTICAST = 5


class InetProtosw:
    """struct inet_protosw: one (type, protocol) the family offers."""

    __slots__ = ("type", "protocol", "prot", "ops", "flags")

    def __init__(self, type_, protocol, prot, ops, flags=0):
        self.type = type_
        self.protocol = protocol
        self.prot = prot
        self.ops = ops
        self.flags = flags

    def __repr__(self):
        return f"<inet_protosw type={self.type} protocol={self.protocol} {self.prot.name}>"


SOCK_MAX = 11
inetsw: dict = {t: [] for t in range(SOCK_MAX)}


def inet_register_protosw(p: InetProtosw) -> None:
    """Add p to inetsw[p.type]; permanent entries (and the wildcard) keep their order."""
    lst = inetsw[p.type]
    for q in lst:
        if q.protocol == p.protocol and q.prot.name == p.prot.name:
            return
    # A wildcard (IPPROTO_IP) goes last, as the kernel keeps it after the exact protocols.
    if p.protocol == IPPROTO_IP:
        lst.append(p)
    else:
        i = len(lst)
        while i > 0 and lst[i - 1].protocol == IPPROTO_IP:
            i -= 1
        lst.insert(i, p)


def inet_unregister_protosw(p: InetProtosw) -> None:
    lst = inetsw[p.type]
    if p in lst:
        lst.remove(p)


# --- lazy neighbours ----------------------------------------------------------------
def _optional(modname: str):
    """The module if it exists (errors inside it propagate), else None."""
    full = "kstack.net.ipv4." + modname
    try:
        if importlib.util.find_spec(full) is None:
            return None
    except ModuleNotFoundError:
        return None
    return importlib.import_module(full)


def inet_addr_type(net, addr: int) -> int:
    """RTN_* of addr in the local table (fib_frontend.c), via the routing code."""
    for mod in ("fib_frontend", "route"):
        m = _optional(mod)
        if m is not None and hasattr(m, "inet_addr_type"):
            return m.inet_addr_type(net, addr)
    # Before routing exists: only what every host knows.
    if addr == 0xFFFFFFFF:
        return RTN_BROADCAST
    if addr >> 28 == 0xE:
        return RTN_MULTICAST
    if addr >> 24 == 127:
        return RTN_LOCAL
    return RTN_UNICAST


def _capable(sock, cap: str) -> bool:
    cred = getattr(sock, "cred", None) if sock is not None else None
    return True if cred is None else bool(getattr(cred, cap, True))


# --- create / release -------------------------------------------------------------------
def inet_create(net, sock, protocol: int, kern: int) -> int:
    if protocol < 0 or protocol >= IPPROTO_MAX:
        return -EINVAL
    sock.state = SS_UNCONNECTED
    err = -ESOCKTNOSUPPORT
    answer = None
    for a in inetsw.get(sock.type, ()):
        err = 0
        if protocol == a.protocol:
            if protocol != IPPROTO_IP:
                answer = a
                break
        else:
            if protocol == IPPROTO_IP:
                protocol = a.protocol
                answer = a
                break
            if a.protocol == IPPROTO_IP:
                answer = a
                break
        err = -EPROTONOSUPPORT
    if answer is None:
        return err if err else -EPROTONOSUPPORT
    if sock.type == SOCK_RAW and not kern and not _capable(sock, "cap_net_raw"):
        return -EPERM
    sock.ops = answer.ops
    sk = sk_alloc(net, AF_INET, answer.prot, kern)
    if answer.flags & INET_PROTOSW_REUSE:
        sk.sk_reuse = SK_CAN_REUSE
    sk.is_icsk = 1 if answer.flags & INET_PROTOSW_ICSK else 0
    sk.nodefrag = 0
    if sock.type == SOCK_RAW:
        sk.inet_num = protocol
        if protocol == IPPROTO_RAW:
            sk.hdrincl = 1
    sk.pmtudisc = IP_PMTUDISC_DONT if net.ipv4.sysctl_ip_no_pmtu_disc else IP_PMTUDISC_WANT
    sk.inet_id = 0
    sock_init_data(sock, sk)
    if sock.cred is not None:
        sk.sk_uid = sock.cred.uid
    sk.sk_protocol = protocol
    sk.sk_backlog_rcv = sk.sk_prot.backlog_rcv
    sk.uc_ttl = -1
    sk.mc_loop = 1
    sk.mc_ttl = 1
    sk.mc_all = 1
    sk.mc_index = 0
    sk.rcv_tos = 0
    if sk.inet_num:
        sk.inet_sport = sk.inet_num
        if sk.sk_prot.hash is not None:
            err = sk.sk_prot.hash(sk)
            if err:
                sk_common_release(sk)
                sock.sk = None
                return err
    if sk.sk_prot.init is not None:
        err = sk.sk_prot.init(sk)
        if err:
            sk_common_release(sk)
            sock.sk = None
            return err
    return 0


def inet_release(sock):
    """close(): the protocol closes (lingering if SO_LINGER, unless the client is exiting)."""
    sk = sock.sk
    if sk is None:
        return 0
    timeout = 0
    if sock_flag(sk, SOCK_LINGER) and not sock.exiting:
        timeout = sk.sk_lingertime
    r = sk.sk_prot.close(sk, timeout)
    sock.sk = None
    return r if r is not None else 0


# --- bind ---------------------------------------------------------------------------------
def inet_can_nonlocal_bind(net, sk) -> bool:
    return bool(net.ipv4.sysctl_ip_nonlocal_bind or sk.freebind or sk.transparent)


def inet_addr_valid_or_nonlocal(net, sk, addr: int, addr_type: int) -> bool:
    return (inet_can_nonlocal_bind(net, sk) or addr == 0 or addr_type == RTN_LOCAL
            or addr_type == RTN_MULTICAST or addr_type == RTN_BROADCAST)


def inet_port_requires_bind_service(net, port: int) -> bool:
    return port < net.ipv4.sysctl_ip_prot_sock


def inet_bind(sock, uaddr: SockaddrIn) -> int:
    sk = sock.sk
    if sk.sk_prot.bind is not None:
        return sk.sk_prot.bind(sk, uaddr)
    return __inet_bind(sk, uaddr, sock)


def __inet_bind(sk, addr: SockaddrIn, sock=None, no_cap_check: bool = False) -> int:
    net = sk.sk_net
    if addr.sin_family != AF_INET:
        if addr.sin_family != AF_UNSPEC or addr.sin_addr != 0:
            return -EAFNOSUPPORT
    chk_addr_ret = inet_addr_type(net, addr.sin_addr)
    if not inet_addr_valid_or_nonlocal(net, sk, addr.sin_addr, chk_addr_ret):
        return -EADDRNOTAVAIL
    snum = addr.sin_port
    if (not no_cap_check and snum and inet_port_requires_bind_service(net, snum)
            and not _capable(sock if sock is not None else sk.sk_socket, "cap_net_bind_service")):
        return -EACCES
    if sk.sk_state != TCP_CLOSE or sk.inet_num:
        return -EINVAL
    sk.inet_rcv_saddr = sk.inet_saddr = addr.sin_addr
    if chk_addr_ret == RTN_MULTICAST or chk_addr_ret == RTN_BROADCAST:
        sk.inet_saddr = 0    # use the device's address when sending
    if snum or not sk.bind_address_no_port:
        err = sk.sk_prot.get_port(sk, snum)
        if err:
            sk.inet_saddr = sk.inet_rcv_saddr = 0
            return -EADDRINUSE if err > 0 else err
    inet_bind_finish(sk, snum)
    return 0


def inet_bind_finish(sk, snum: int) -> None:
    """The tail __inet_bind and ping_bind share: lock what the user chose, take the
    port as the source port, forget any peer and cached route."""
    if sk.inet_rcv_saddr:
        sk.sk_userlocks |= SOCK_BINDADDR_LOCK
    if snum:
        sk.sk_userlocks |= SOCK_BINDPORT_LOCK
    sk.inet_sport = sk.inet_num
    sk.inet_daddr = 0
    sk.inet_dport = 0
    sk_dst_reset(sk)


def inet_autobind(sk) -> int:
    if not sk.inet_num:
        if sk.sk_prot.get_port(sk, 0):
            return -EAGAIN
        sk.inet_sport = sk.inet_num
    return 0


def inet_send_prepare(sk) -> int:
    if not sk.inet_num and not sk.sk_prot.no_autobind and inet_autobind(sk):
        return -EAGAIN
    return 0


# --- connect ----------------------------------------------------------------------------------
def inet_dgram_connect(sock, uaddr: SockaddrIn, flags: int) -> int:
    sk = sock.sk
    prot = sk.sk_prot
    if uaddr.sin_family == AF_UNSPEC:
        return prot.disconnect(sk, flags)
    if not sk.inet_num and inet_autobind(sk):
        return -EAGAIN
    return prot.connect(sk, uaddr)


def inet_stream_connect(sock, uaddr: SockaddrIn, flags: int):
    return __inet_stream_connect(sock, uaddr, flags, 0)


def __inet_stream_connect(sock, uaddr, flags: int, is_sendmsg: int):
    sk = sock.sk
    if uaddr is not None and uaddr.sin_family == AF_UNSPEC:
        sk.sk_disconnects = getattr(sk, "sk_disconnects", 0) + 1
        err = sk.sk_prot.disconnect(sk, flags)
        sock.state = SS_DISCONNECTING if err else SS_UNCONNECTED
        return err
    st = sock.state
    if st == SS_CONNECTED:
        return -EISCONN
    if st == SS_CONNECTING:
        if getattr(sk, "defer_connect", 0):
            err = -EINPROGRESS if is_sendmsg else -EISCONN
        else:
            err = -EALREADY
    elif st == SS_UNCONNECTED:
        if sk.sk_state != TCP_CLOSE:
            return -EISCONN
        if sk.sk_prot.pre_connect is not None:
            err = sk.sk_prot.pre_connect(sk, uaddr)
            if err:
                return err
        err = sk.sk_prot.connect(sk, uaddr)
        if err < 0:
            return err
        sock.state = SS_CONNECTING
        if not err and getattr(sk, "defer_connect", 0):
            return 0
        err = -EINPROGRESS
    else:
        return -EINVAL
    timeo = sock_sndtimeo(sk, flags & O_NONBLOCK)
    return _inet_wait_connect(sock, sk, flags, err, timeo,
                              getattr(sk, "sk_disconnects", 0))


def _inet_wait_connect(sock, sk, flags, err, timeo, dis):
    if (1 << sk.sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV):
        # inet_wait_for_connect: sleep until the state leaves SYN_SENT/SYN_RECV.
        return sk_wait_event(sk, ALL_EVENTS,
                             lambda: _inet_connect_woken(sock, sk, flags, err, timeo, dis),
                             timeo, on_timeout=lambda: err, what="connect")
    return _inet_connect_done(sock, sk, flags)


def _inet_connect_woken(sock, sk, flags, err, timeo, dis):
    if dis != getattr(sk, "sk_disconnects", 0):
        return -EPIPE
    return _inet_wait_connect(sock, sk, flags, err, timeo, dis)


def _inet_connect_done(sock, sk, flags):
    if sk.sk_state == TCP_CLOSE:
        # Closed by RST, timeout, ICMP error or another thread's disconnect.
        err = sock_error(sk) or -ECONNABORTED
        sock.state = SS_UNCONNECTED
        sk.sk_disconnects = getattr(sk, "sk_disconnects", 0) + 1
        if sk.sk_prot.disconnect is not None and sk.sk_prot.disconnect(sk, flags):
            sock.state = SS_DISCONNECTING
        return err
    sock.state = SS_CONNECTED
    return 0


# --- accept / listen ------------------------------------------------------------------------
def inet_accept(sock, newsock, flags: int):
    """accept: the protocol's accept (inet_csk_accept) gives (newsk, err) or a Blocked;
    the child is grafted onto newsock. flags are the listener's f_flags (O_NONBLOCK)."""
    sk1 = sock.sk
    # The kernel hands O_NONBLOCK; MSG_DONTWAIT is set too so either test works.
    pflags = flags | (MSG_DONTWAIT if flags & O_NONBLOCK else 0)
    r = sk1.sk_prot.accept(sk1, pflags)
    return blocked_then(r, lambda res: _inet_accept_done(sock, newsock, res))


def _inet_accept_done(sock, newsock, res):
    if isinstance(res, int):
        return res if res < 0 else -EINVAL
    sk2, err = res
    if sk2 is None:
        return err if err else -EINVAL
    __inet_accept(sock, newsock, sk2)
    return 0


def __inet_accept(sock, newsock, newsk) -> None:
    sock_graft(newsk, newsock)
    newsock.state = SS_CONNECTED


def inet_listen(sock, backlog: int) -> int:
    sk = sock.sk
    if sock.state != SS_UNCONNECTED or sock.type != SOCK_STREAM:
        return -EINVAL
    return __inet_listen_sk(sk, backlog)


def __inet_listen_sk(sk, backlog: int) -> int:
    old_state = sk.sk_state
    if not (1 << old_state) & (TCPF_CLOSE | TCPF_LISTEN):
        return -EINVAL
    sk.sk_max_ack_backlog = backlog
    if old_state != TCP_LISTEN:
        icsk = _optional("inet_connection_sock")
        if icsk is None or not hasattr(icsk, "inet_csk_listen_start"):
            return -EOPNOTSUPP
        err = icsk.inet_csk_listen_start(sk)
        if err:
            return err
    return 0


# --- names, shutdown, ioctl ---------------------------------------------------------------------
def inet_getname(sock, peer: int):
    sk = sock.sk
    if peer:
        if not sk.inet_dport or ((1 << sk.sk_state) & (TCPF_CLOSE | TCPF_SYN_SENT) and peer == 1):
            return -ENOTCONN
        return SockaddrIn(AF_INET, sk.inet_daddr, sk.inet_dport)
    addr = sk.inet_rcv_saddr or sk.inet_saddr
    return SockaddrIn(AF_INET, addr, sk.inet_sport)


def inet_shutdown(sock, how: int) -> int:
    sk = sock.sk
    how += 1       # SHUT_RD 0 -> RCV_SHUTDOWN 1, SHUT_WR -> SEND_SHUTDOWN 2, SHUT_RDWR -> 3
    if how & ~SHUTDOWN_MASK or not how:
        return -EINVAL
    err = 0
    if sock.state == SS_CONNECTING:
        if (1 << sk.sk_state) & (TCPF_SYN_SENT | TCPF_SYN_RECV | TCPF_CLOSE):
            sock.state = SS_DISCONNECTING
        else:
            sock.state = SS_CONNECTED
    st = sk.sk_state
    if st == TCP_LISTEN and not how & RCV_SHUTDOWN:
        pass
    elif st == TCP_LISTEN or st == TCP_SYN_SENT:
        err = sk.sk_prot.disconnect(sk, O_NONBLOCK)
        sock.state = SS_DISCONNECTING if err else SS_UNCONNECTED
    else:
        if st == TCP_CLOSE:
            err = -ENOTCONN
            # "Hack to wake up other listeners, who can poll for EPOLLHUP, even on
            # eg. unconnected UDP sockets": the flags are set all the same.
        sk.sk_shutdown |= how
        if sk.sk_prot.shutdown is not None:
            sk.sk_prot.shutdown(sk, how)
    sk.sk_state_change(sk)
    return err


def inet_ioctl(sock, cmd: int, arg: int):
    sk = sock.sk
    if sk.sk_prot.ioctl is not None:
        return sk.sk_prot.ioctl(sk, cmd, arg)
    return -ENOIOCTLCMD


# --- data ---------------------------------------------------------------------------------------
def inet_sendmsg(sock, msg, size: int):
    sk = sock.sk
    if inet_send_prepare(sk):
        return -EAGAIN
    return sk.sk_prot.sendmsg(sk, msg, size)


def inet_recvmsg(sock, msg, size: int, flags: int):
    sk = sock.sk
    return sk.sk_prot.recvmsg(sk, msg, size, flags)


def sock_common_setsockopt(sock, level: int, optname: int, optval) -> int:
    sk = sock.sk
    if sk.sk_prot.setsockopt is None:
        return -EOPNOTSUPP
    return sk.sk_prot.setsockopt(sk, level, optname, optval)


def sock_common_getsockopt(sock, level: int, optname: int, buflen: int):
    sk = sock.sk
    if sk.sk_prot.getsockopt is None:
        return -EOPNOTSUPP
    return sk.sk_prot.getsockopt(sk, level, optname, buflen)


def sock_no_socketpair(sock1, sock2) -> int:
    return -EOPNOTSUPP


def sock_no_accept(sock, newsock, flags) -> int:
    return -EOPNOTSUPP


def sock_no_listen(sock, backlog) -> int:
    return -EOPNOTSUPP


_tcp_poll_fn = []


def _tcp_poll(file, sock, pt=None) -> int:
    """inet_stream_ops.poll: tcp_poll(file, sock, wait) as in the kernel, or tcp_poll(sk)
    where TCP defines it that way."""
    if not _tcp_poll_fn:
        tcp = _optional("tcp")
        if tcp is None or not hasattr(tcp, "tcp_poll"):
            return 0
        fn = tcp.tcp_poll
        _tcp_poll_fn.append((fn, fn.__code__.co_argcount == 1))
    fn, by_sk = _tcp_poll_fn[0]
    return fn(sock.sk) if by_sk else fn(file, sock, pt)


def _udp_poll(file, sock, pt=None) -> int:
    from .udp import udp_poll
    return udp_poll(file, sock, pt)


def _datagram_poll(file, sock, pt=None) -> int:
    from ...core.datagram import datagram_poll
    return datagram_poll(file, sock, pt)


inet_stream_ops = ProtoOps(
    family=AF_INET, release=inet_release, bind=inet_bind, connect=inet_stream_connect,
    socketpair=sock_no_socketpair, accept=inet_accept, getname=inet_getname, poll=_tcp_poll,
    ioctl=inet_ioctl, listen=inet_listen, shutdown=inet_shutdown,
    setsockopt=sock_common_setsockopt, getsockopt=sock_common_getsockopt,
    sendmsg=inet_sendmsg, recvmsg=inet_recvmsg)

inet_dgram_ops = ProtoOps(
    family=AF_INET, release=inet_release, bind=inet_bind, connect=inet_dgram_connect,
    socketpair=sock_no_socketpair, accept=sock_no_accept, getname=inet_getname, poll=_udp_poll,
    ioctl=inet_ioctl, listen=sock_no_listen, shutdown=inet_shutdown,
    setsockopt=sock_common_setsockopt, getsockopt=sock_common_getsockopt,
    sendmsg=inet_sendmsg, recvmsg=inet_recvmsg)

inet_sockraw_ops = ProtoOps(
    family=AF_INET, release=inet_release, bind=inet_bind, connect=inet_dgram_connect,
    socketpair=sock_no_socketpair, accept=sock_no_accept, getname=inet_getname,
    poll=_datagram_poll, ioctl=inet_ioctl, listen=sock_no_listen, shutdown=inet_shutdown,
    setsockopt=sock_common_setsockopt, getsockopt=sock_common_getsockopt,
    sendmsg=inet_sendmsg, recvmsg=inet_recvmsg)

inet_family_ops = NetProtoFamily(family=AF_INET, create=inet_create)


# --- boot ---------------------------------------------------------------------------------------
inet_protocols = {}      # IPPROTO_* -> the NetProtocol registered by inet_init


def _add_protocol(handler, err_handler, proto: int) -> None:
    from .protocol import NetProtocol, inet_add_protocol
    p = NetProtocol(handler, err_handler)
    if inet_add_protocol(p, proto) == 0:
        inet_protocols[proto] = p


_inet_inited = False


def inet_init() -> int:
    """fs_initcall(inet_init): tables, handlers and the protocols' init functions."""
    global _inet_inited
    if _inet_inited:
        return 0
    _inet_inited = True
    from . import ping, raw, udp
    tcp_ipv4 = _optional("tcp_ipv4")
    tcp_prot = getattr(tcp_ipv4, "tcp_prot", None) if tcp_ipv4 is not None else None
    for prot in (tcp_prot, udp.udp_prot, raw.raw_prot, ping.ping_prot):
        if prot is not None:
            proto_register(prot, 1)
    sock_register(inet_family_ops)
    # Transport receive handlers (inet_protos).
    icmp = _optional("icmp")
    if icmp is not None:
        _add_protocol(icmp.icmp_rcv, getattr(icmp, "icmp_err", None), IPPROTO_ICMP)
    _add_protocol(udp.udp_rcv, udp.udp_err, IPPROTO_UDP)
    if tcp_ipv4 is not None and hasattr(tcp_ipv4, "tcp_v4_rcv"):
        _add_protocol(tcp_ipv4.tcp_v4_rcv, getattr(tcp_ipv4, "tcp_v4_err", None), IPPROTO_TCP)
    # The socket switch.
    if tcp_prot is not None:
        inet_register_protosw(InetProtosw(SOCK_STREAM, IPPROTO_TCP, tcp_prot, inet_stream_ops,
                                          INET_PROTOSW_PERMANENT | INET_PROTOSW_ICSK))
    inet_register_protosw(InetProtosw(SOCK_DGRAM, IPPROTO_UDP, udp.udp_prot, inet_dgram_ops,
                                      INET_PROTOSW_PERMANENT))
    inet_register_protosw(InetProtosw(SOCK_DGRAM, IPPROTO_ICMP, ping.ping_prot, inet_sockraw_ops,
                                      INET_PROTOSW_REUSE))
    inet_register_protosw(InetProtosw(SOCK_RAW, IPPROTO_IP, raw.raw_prot, inet_sockraw_ops,
                                      INET_PROTOSW_REUSE))
    # Set the protocols up, as the kernel's inet_init does, in its order.
    for modname, fn in (("arp", "arp_init"), ("ip_output", "ip_init")):
        m = _optional(modname)
        if m is not None and hasattr(m, fn):
            getattr(m, fn)()
    raw.raw_init()
    if tcp_ipv4 is not None:      # TCP is usable once tcp_prot exists
        tcp = _optional("tcp")
        if tcp is not None and hasattr(tcp, "tcp_init"):
            tcp.tcp_init()
        elif hasattr(tcp_ipv4, "tcp_init"):
            tcp_ipv4.tcp_init()
    udp.udp_init()
    ping.ping_init()
    if icmp is not None and hasattr(icmp, "icmp_init"):
        icmp.icmp_init()
    return 0

