"""net/core/sock.c, include/net/sock.h, include/net/inet_sock.h, include/linux/socket.h:
struct sock, struct inet_sock, struct proto, struct msghdr, SOL_SOCKET options.

A Sock is the protocol half of a socket (the Socket in net/socket.py is the
file half). Fields keep the kernel's names. Differences from the kernel, all
deliberate:

- Addresses and ports in InetSock are host-order ints (``inet_daddr =
  0x0A000001``, ``inet_dport = 80``), as everywhere in kstack.
- Times are seconds: ``sk_rcvtimeo``/``sk_sndtimeo`` are a float or None
  (None is MAX_SCHEDULE_TIMEOUT, "forever"), ``sk_lingertime`` is seconds
  (``float('inf')`` for MAX_SCHEDULE_TIMEOUT). setsockopt rounds to jiffies of
  HZ=250 (this machine's CONFIG_HZ), so getsockopt reads back what Linux does.
- ``sk_wmem_alloc`` starts at 0 (the kernel starts it at 1 as a refcount and
  sk_wmem_alloc_get() subtracts it); ``sk_rmem_alloc`` is a plain int.
- Socket options take the value as Python's socket.setsockopt does: an int,
  or bytes (the raw optval, optlen = len). SO_LINGER also takes a tuple
  (l_onoff, l_linger). getsockopt takes Python's ``buflen``: 0 means "an int"
  (the kernel is given a 4-byte buffer, the result decoded as a C int), >0
  means "these many bytes" (what the kernel copies out, as bytes). A
  negative int result is returned as OptInt (an int subclass) so it is never
  mistaken for -errno: an error is exactly ``type(r) is int and r < 0``.

Blocking: a call that must sleep returns core.wait.Blocked built by
sk_wait_event(); the socket layer keeps the deadline across retries.
"""
import struct
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .errno import EACCES, EAGAIN, EINTR, EINVAL, ENODEV, ENOMEM, ENOPROTOOPT, EOPNOTSUPP, EPERM
from .skbuff import SkBuffHead, skb_orphan, skb_queue_purge
from .sysctl import SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF
from .wait import (EPOLLERR, EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLRDBAND, EPOLLRDNORM, EPOLLWRBAND,
                   EPOLLWRNORM, Blocked, WaitQueueHead, wake_up)

# --- include/linux/socket.h -------------------------------------------------
AF_UNSPEC = 0
AF_UNIX = 1
AF_INET = 2
AF_INET6 = 10
AF_NETLINK = 16
AF_PACKET = 17
NPROTO = 46          # AF_MAX
PF_UNSPEC, PF_INET, PF_INET6, PF_PACKET = AF_UNSPEC, AF_INET, AF_INET6, AF_PACKET

SOCK_STREAM = 1
SOCK_DGRAM = 2
SOCK_RAW = 3
SOCK_RDM = 4
SOCK_SEQPACKET = 5
SOCK_DCCP = 6
SOCK_PACKET = 10
SOCK_MAX = 11
SOCK_TYPE_MASK = 0xF
SOCK_CLOEXEC = 0o2000000
SOCK_NONBLOCK = 0o4000

SOL_SOCKET = 1
SOL_IP = 0
SOL_TCP = 6
SOL_UDP = 17
SOL_RAW = 255

MSG_OOB = 0x1
MSG_PEEK = 0x2
MSG_DONTROUTE = 0x4
MSG_CTRUNC = 0x8
MSG_PROBE = 0x10
MSG_TRUNC = 0x20
MSG_DONTWAIT = 0x40
MSG_EOR = 0x80
MSG_WAITALL = 0x100
MSG_FIN = 0x200
MSG_SYN = 0x400
MSG_CONFIRM = 0x800
MSG_RST = 0x1000
MSG_ERRQUEUE = 0x2000
MSG_NOSIGNAL = 0x4000
MSG_MORE = 0x8000
MSG_WAITFORONE = 0x10000
MSG_BATCH = 0x40000
MSG_ZEROCOPY = 0x4000000
MSG_FASTOPEN = 0x20000000
MSG_CMSG_CLOEXEC = 0x40000000

# asm-generic/socket.h (x86_64 values)
SO_DEBUG = 1
SO_REUSEADDR = 2
SO_TYPE = 3
SO_ERROR = 4
SO_DONTROUTE = 5
SO_BROADCAST = 6
SO_SNDBUF = 7
SO_RCVBUF = 8
SO_KEEPALIVE = 9
SO_OOBINLINE = 10
SO_NO_CHECK = 11
SO_PRIORITY = 12
SO_LINGER = 13
SO_BSDCOMPAT = 14
SO_REUSEPORT = 15
SO_PASSCRED = 16
SO_PEERCRED = 17
SO_RCVLOWAT = 18
SO_SNDLOWAT = 19
SO_RCVTIMEO_OLD = 20
SO_SNDTIMEO_OLD = 21
SO_BINDTODEVICE = 25
SO_TIMESTAMP_OLD = 29
SO_ACCEPTCONN = 30
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS_OLD = 35
SO_MARK = 36
SO_PROTOCOL = 38
SO_DOMAIN = 39
SO_RXQ_OVFL = 40
SO_MAX_PACING_RATE = 47
SO_INCOMING_CPU = 49
SO_COOKIE = 57
SO_SELECT_ERR_QUEUE_ = 45
SO_BINDTOIFINDEX = 62
SO_TIMESTAMP_NEW = 63
SO_TIMESTAMPNS_NEW = 64
SO_RCVTIMEO_NEW = 66
SO_SNDTIMEO_NEW = 67
SO_RCVTIMEO = SO_RCVTIMEO_OLD
SO_SNDTIMEO = SO_SNDTIMEO_OLD
SO_TIMESTAMP = SO_TIMESTAMP_OLD
SCM_RIGHTS = 1

# sk_shutdown
RCV_SHUTDOWN = 1
SEND_SHUTDOWN = 2
SHUTDOWN_MASK = 3

# sk_userlocks
SOCK_SNDBUF_LOCK = 1
SOCK_RCVBUF_LOCK = 2
SOCK_BINDADDR_LOCK = 4
SOCK_BINDPORT_LOCK = 8

# sk_reuse
SK_NO_REUSE = 0
SK_CAN_REUSE = 1
SK_FORCE_REUSE = 2

# enum sock_flags (include/net/sock.h)
SOCK_DEAD = 0
SOCK_DONE = 1
SOCK_URGINLINE = 2
SOCK_KEEPOPEN = 3
SOCK_LINGER = 4
SOCK_DESTROY = 5
SOCK_BROADCAST = 6
SOCK_TIMESTAMP = 7
SOCK_ZAPPED = 8
SOCK_USE_WRITE_QUEUE = 9
SOCK_DBG = 10
SOCK_RCVTSTAMP = 11
SOCK_RCVTSTAMPNS = 12
SOCK_LOCALROUTE = 13
SOCK_MEMALLOC = 14
SOCK_TIMESTAMPING_RX_SOFTWARE = 15
SOCK_FASYNC = 16
SOCK_RXQ_OVFL = 17
SOCK_ZEROCOPY = 18
SOCK_WIFI_STATUS = 19
SOCK_NOFCS = 20
SOCK_FILTER_LOCKED = 21
SOCK_SELECT_ERR_QUEUE = 22
SOCK_RCU_FREE = 23
SOCK_TXTIME = 24
SOCK_XDP = 25
SOCK_TSTAMP_NEW = 26
SOCK_RCVMARK = 27

# include/net/tcp_states.h: one definition, in net/ipv4/tcp_states.py (sock.h includes it).
from ..net.ipv4.tcp_states import (  # noqa: E402
    TCP_ESTABLISHED, TCP_SYN_SENT, TCP_SYN_RECV, TCP_FIN_WAIT1,
    TCP_FIN_WAIT2, TCP_TIME_WAIT, TCP_CLOSE, TCP_CLOSE_WAIT,
    TCP_LAST_ACK, TCP_LISTEN, TCP_CLOSING, TCP_NEW_SYN_RECV,
    TCPF_ESTABLISHED, TCPF_SYN_SENT, TCPF_SYN_RECV, TCPF_FIN_WAIT1,
    TCPF_FIN_WAIT2, TCPF_TIME_WAIT, TCPF_CLOSE, TCPF_CLOSE_WAIT,
    TCPF_LAST_ACK, TCPF_LISTEN, TCPF_CLOSING, TCPF_NEW_SYN_RECV,
)

# include/uapi/linux/in.h: IP_MTU_DISCOVER values
IP_PMTUDISC_DONT = 0
IP_PMTUDISC_WANT = 1
IP_PMTUDISC_DO = 2
IP_PMTUDISC_PROBE = 3
IP_PMTUDISC_INTERFACE = 4
IP_PMTUDISC_OMIT = 5

# time (kernel/time): this machine runs CONFIG_HZ=250 (a 1 us SO_RCVTIMEO reads back 4000 us)
HZ = 250
MAX_SCHEDULE_TIMEOUT = 2**63 - 1
INT_MAX = 2**31 - 1
from .errno import EDOM
from .errno import ENOIOCTLCMD


class OptInt(int):
    """A getsockopt int result that is negative (SO_PRIORITY -3): not an errno."""
    __slots__ = ()

    def __repr__(self):
        return f"OptInt({int(self)})"


# --- struct sockaddr_in, struct msghdr ---------------------------------------
class SockaddrIn:
    """struct sockaddr_in with host-order values. sin_family AF_INET (or AF_UNSPEC)."""
    __slots__ = ("sin_family", "sin_addr", "sin_port")

    def __init__(self, sin_family: int = AF_INET, sin_addr: int = 0, sin_port: int = 0):
        self.sin_family = sin_family
        self.sin_addr = sin_addr
        self.sin_port = sin_port

    def __repr__(self):
        a = self.sin_addr
        return (f"SockaddrIn({self.sin_family}, {(a >> 24) & 255}.{(a >> 16) & 255}."
                f"{(a >> 8) & 255}.{a & 255}, {self.sin_port})")

    def __eq__(self, o):
        return (isinstance(o, SockaddrIn) and o.sin_family == self.sin_family
                and o.sin_addr == self.sin_addr and o.sin_port == self.sin_port)


class Msghdr:
    """struct msghdr plus its iov_iter.

    Sending: ``msg_iter`` is the payload (bytes/bytearray/memoryview) and
    ``iov_off`` how much of it was consumed (copy_from_iter advances it).
    Receiving: ``msg_iter`` is a bytearray sink of capacity ``iov_len``
    (memcpy_to_msg appends). ``msg_name`` is a SockaddrIn or None, and
    ``msg_control`` a list of (level, type, bytes) cmsgs; ``msg_controllen``
    the room the receiver gave for them (0: none, as recvfrom), used up by put_cmsg.
    ``msg_flags`` are the flags handed back by recvmsg (MSG_TRUNC...).
    """
    __slots__ = ("msg_name", "msg_namelen", "msg_iter", "iov_off", "iov_len", "msg_control",
                 "msg_controllen", "msg_flags")

    def __init__(self, data=b"", name=None, control=None, controllen: int = 0, flags: int = 0,
                 iov_len: Optional[int] = None):
        self.msg_name = name
        self.msg_namelen = 16 if name is not None else 0
        self.msg_iter = data
        self.iov_off = 0
        self.iov_len = len(data) if iov_len is None else iov_len
        self.msg_control = control if control is not None else []
        self.msg_controllen = controllen
        self.msg_flags = flags


def msg_data_left(msg: Msghdr) -> int:
    """Bytes still to send (send side) or room left (receive side)."""
    if isinstance(msg.msg_iter, bytearray) and msg.iov_len != len(msg.msg_iter) + msg.iov_off:
        return msg.iov_len - len(msg.msg_iter)
    return msg.iov_len - msg.iov_off


def copy_from_iter(msg: Msghdr, n: int) -> bytes:
    """Take the next n bytes of the payload (memcpy_from_msg), advancing the iterator."""
    off = msg.iov_off
    n = min(n, msg.iov_len - off)
    msg.iov_off = off + n
    return bytes(msg.msg_iter[off:off + n])


def memcpy_from_msg(msg: Msghdr, n: int) -> bytes:
    return copy_from_iter(msg, n)


def memcpy_to_msg(msg: Msghdr, data) -> int:
    """Append received bytes to the receive sink, at most the room left; returns bytes copied."""
    room = msg.iov_len - len(msg.msg_iter)
    if len(data) > room:
        data = data[:room]
    msg.msg_iter += data
    return len(data)


def recv_msghdr(size: int, controllen: int = 0) -> Msghdr:
    """A Msghdr for receiving up to size bytes (the kernel's iov of the user buffer)."""
    return Msghdr(bytearray(), None, None, controllen, 0, size)


def put_cmsg(msg: Msghdr, level: int, type_: int, data: bytes) -> None:
    """Append a control message in the room the receiver gave (msg_controllen, used up as
    it goes). As the kernel's put_cmsg: no room for a header -> MSG_CTRUNC and nothing;
    room for part of it -> MSG_CTRUNC and the data cut short."""
    room = msg.msg_controllen
    if room < 16:
        msg.msg_flags |= MSG_CTRUNC
        return
    cmlen = 16 + len(data)
    if room < cmlen:
        msg.msg_flags |= MSG_CTRUNC
        data = data[:room - 16]
    msg.msg_control.append((level, type_, bytes(data)))
    msg.msg_controllen = room - min(_cmsg_space(len(data) if room >= cmlen else room - 16), room)


def _cmsg_space(n: int) -> int:
    return 16 + ((n + 7) & ~7)


# --- struct proto --------------------------------------------------------------
@dataclass(eq=False)
class Proto:
    """struct proto: a transport protocol's socket operations.

    Signatures (all optional; a missing one behaves as the kernel's NULL):
      close(sk, timeout) -> None | Blocked       connect(sk, uaddr: SockaddrIn) -> int
      pre_connect(sk, uaddr) -> int              disconnect(sk, flags) -> int
      accept(sk, flags) -> (newsk, 0) | (None, -errno) | Blocked
      ioctl(sk, cmd, arg) -> value >= 0 | -errno (-ENOIOCTLCMD: unknown)
      init(sk) -> int      destroy(sk)      shutdown(sk, how)  (how: RCV_SHUTDOWN|SEND_SHUTDOWN)
      setsockopt(sk, level, optname, optval) -> int
      getsockopt(sk, level, optname, buflen) -> int | bytes | -errno
      sendmsg(sk, msg: Msghdr, size) -> int | Blocked
      recvmsg(sk, msg: Msghdr, size, flags) -> int | Blocked (fills msg)
      bind(sk, uaddr) -> int       backlog_rcv(sk, skb) -> int
      hash(sk) -> int   unhash(sk)   get_port(sk, snum) -> 0 | nonzero (in use)
      keepalive(sk, valbool)   set_rcvlowat(sk, val) -> int
    sock_class is the Sock subclass inet_create instantiates; sysctl_wmem /
    sysctl_rmem (net -> [min, default, max]) are the per-protocol buffer
    sysctls (tcp_wmem...); no_autobind as in the kernel (TCP).
    """
    name: str = ""
    close: Optional[Callable] = None
    pre_connect: Optional[Callable] = None
    connect: Optional[Callable] = None
    disconnect: Optional[Callable] = None
    accept: Optional[Callable] = None
    ioctl: Optional[Callable] = None
    init: Optional[Callable] = None
    destroy: Optional[Callable] = None
    shutdown: Optional[Callable] = None
    setsockopt: Optional[Callable] = None
    getsockopt: Optional[Callable] = None
    sendmsg: Optional[Callable] = None
    recvmsg: Optional[Callable] = None
    bind: Optional[Callable] = None
    backlog_rcv: Optional[Callable] = None
    hash: Optional[Callable] = None
    unhash: Optional[Callable] = None
    rehash: Optional[Callable] = None
    get_port: Optional[Callable] = None
    keepalive: Optional[Callable] = None
    set_rcvlowat: Optional[Callable] = None
    sock_class: Any = None
    sysctl_wmem: Optional[Callable] = None
    sysctl_rmem: Optional[Callable] = None
    max_header: int = 0
    no_autobind: bool = False
    obj_size: int = 0
    h: Any = None                    # hash tables (udp_table / inet_hashinfo), per net in kstack


proto_list: list = []


def proto_register(prot: Proto, alloc_slab: int = 1) -> int:
    if prot not in proto_list:
        proto_list.append(prot)
    return 0


def proto_unregister(prot: Proto) -> None:
    if prot in proto_list:
        proto_list.remove(prot)


# --- struct sock -----------------------------------------------------------------
class Sock:
    """struct sock (include/net/sock.h)."""

    def __init__(self, net=None, family: int = AF_UNSPEC, prot: Optional[Proto] = None):
        self.sk_net = net
        self.sk_family = family
        self.sk_type = 0
        self.sk_protocol = 0
        self.sk_state = TCP_CLOSE
        self.sk_shutdown = 0
        self.sk_err = 0
        self.sk_err_soft = 0
        self.sk_flags = 0
        self.sk_reuse = SK_NO_REUSE
        self.sk_reuseport = 0
        self.sk_reuseport_cb = None
        self.sk_bound_dev_if = 0
        self.sk_rcvbuf = 0
        self.sk_sndbuf = 0
        self.sk_userlocks = 0
        self.sk_receive_queue = SkBuffHead()
        self.sk_write_queue = SkBuffHead()
        self.sk_error_queue = SkBuffHead()
        self.sk_rmem_alloc = 0
        self.sk_wmem_alloc = 0
        self.sk_wmem_queued = 0
        self.sk_forward_alloc = 0
        self.sk_drops = 0
        self.sk_wq = WaitQueueHead()
        self.sk_rcvtimeo = None
        self.sk_sndtimeo = None
        self.sk_rcvlowat = 1
        self.sk_priority = 0
        self.sk_mark = 0
        self.sk_lingertime = 0.0
        self.sk_prot = prot
        self.sk_prot_creator = prot
        self.sk_socket = None
        self.sk_max_ack_backlog = 0
        self.sk_ack_backlog = 0
        self.sk_dst_cache = None
        self.sk_txhash = 0
        self.sk_hash = 0
        self.sk_pacing_rate = 0
        self.sk_max_pacing_rate = 2**64 - 1
        self.sk_pacing_status = 0
        self.sk_gso_type = 0
        self.sk_route_caps = 0
        self.sk_uid = 0
        self.sk_refcnt = 1
        self.sk_no_check_tx = 0
        self.sk_no_check_rx = 0
        self.sk_incoming_cpu = -1
        self.sk_cookie = 0
        self.sk_kern_sock = 0
        self.sk_backlog_rcv = None
        self.sk_destruct = None
        self.sk_user_data = None
        self.sk_stamp = 0.0
        # callbacks (sock_init_data sets the defaults)
        self.sk_state_change = sock_def_wakeup
        self.sk_data_ready = sock_def_readable
        self.sk_write_space = sock_def_write_space
        self.sk_error_report = sock_def_error_report

    def __repr__(self):
        n = self.sk_prot.name if self.sk_prot else "?"
        return f"<sock {n} state={self.sk_state}>"


class InetCork:
    """struct inet_cork_full: the corked datagram's flow and fragments (MSG_MORE/UDP_CORK)."""

    def __init__(self):
        self.flags = 0
        self.addr = 0
        self.fragsize = 0
        self.length = 0
        self.dst = None
        self.fl = None
        self.ttl = 0
        self.tos = 0
        self.priority = 0
        self.mark = 0
        self.gso_size = 0


class InetSock(Sock):
    """struct inet_sock. Addresses and ports are host-order ints."""

    def __init__(self, net=None, family: int = AF_INET, prot: Optional[Proto] = None):
        super().__init__(net, family, prot)
        self.inet_saddr = 0
        self.inet_rcv_saddr = 0
        self.inet_daddr = 0
        self.inet_sport = 0
        self.inet_dport = 0
        self.inet_num = 0
        self.uc_ttl = -1
        self.tos = 0
        self.inet_id = 0
        self.pmtudisc = IP_PMTUDISC_WANT
        self.recverr = 0
        self.recverr_rfc4884 = 0
        self.hdrincl = 0
        self.mc_ttl = 1
        self.mc_loop = 1
        self.mc_all = 1
        self.mc_index = 0
        self.mc_addr = 0
        self.uc_index = 0
        self.freebind = 0
        self.transparent = 0
        self.bind_address_no_port = 0
        self.nodefrag = 0
        self.is_icsk = 0
        self.cmsg_flags = 0
        self.min_ttl = 0
        self.rcv_tos = 0
        self.inet_opt = None
        self.local_port_range = (0, 0)
        self.cork = InetCork()


def inet_sk(sk) -> InetSock:
    return sk


# --- flags ------------------------------------------------------------------------
def sock_flag(sk: Sock, flag: int) -> bool:
    return (sk.sk_flags >> flag) & 1 == 1


def sock_set_flag(sk: Sock, flag: int) -> None:
    sk.sk_flags |= 1 << flag


def sock_reset_flag(sk: Sock, flag: int) -> None:
    sk.sk_flags &= ~(1 << flag)


def sock_valbool_flag(sk: Sock, flag: int, valbool) -> None:
    if valbool:
        sock_set_flag(sk, flag)
    else:
        sock_reset_flag(sk, flag)


def sock_net(sk: Sock):
    return sk.sk_net


def sk_fullsock(sk) -> bool:
    return sk.sk_state not in (TCP_TIME_WAIT, TCP_NEW_SYN_RECV)


# --- default callbacks ---------------------------------------------------------------
def sock_def_wakeup(sk: Sock) -> None:
    wq = sk.sk_wq
    if wq is not None and wq.entries:
        wake_up(wq)


def sock_def_error_report(sk: Sock) -> None:
    wq = sk.sk_wq
    if wq is not None and wq.entries:
        wake_up(wq, EPOLLERR)


def sock_def_readable(sk: Sock) -> None:
    wq = sk.sk_wq
    if wq is not None and wq.entries:
        wake_up(wq, EPOLLIN | EPOLLPRI | EPOLLRDNORM | EPOLLRDBAND)


def sock_writeable(sk: Sock) -> bool:
    return sk.sk_wmem_alloc < (sk.sk_sndbuf >> 1)


def sock_def_write_space(sk: Sock) -> None:
    """Wake writers once at least half the send buffer is free (sock_writeable)."""
    wq = sk.sk_wq
    if wq is not None and wq.entries and sk.sk_wmem_alloc < (sk.sk_sndbuf >> 1):
        wake_up(wq, EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND)


# --- allocation, lifetime ---------------------------------------------------------------
def sk_alloc(net, family: int, prot: Proto, kern: int = 0):
    cls = prot.sock_class or (InetSock if family == AF_INET else Sock)
    sk = cls(net, family, prot)
    sk.sk_prot = sk.sk_prot_creator = prot
    sk.sk_kern_sock = kern
    sk.sk_cookie = 0
    return sk


def sock_init_data(sock, sk: Sock) -> None:
    """Default buffer sizes from net.core.{w,r}mem_default, callbacks, timeouts."""
    core = sk.sk_net.core
    sk.sk_sndbuf = core.sysctl_wmem_default
    sk.sk_rcvbuf = core.sysctl_rmem_default
    sk.sk_state = TCP_CLOSE
    sk.sk_state_change = sock_def_wakeup
    sk.sk_data_ready = sock_def_readable
    sk.sk_write_space = sock_def_write_space
    sk.sk_error_report = sock_def_error_report
    sk.sk_rcvlowat = 1
    sk.sk_rcvtimeo = None
    sk.sk_sndtimeo = None
    if sock is not None:
        sk.sk_type = sock.type
        sk.sk_wq = sock.wq
        sock.sk = sk
        sk.sk_socket = sock
        cred = getattr(getattr(sock, "file", None), "f_cred", None)
        if cred is not None:
            sk.sk_uid = cred.uid
    else:
        sk.sk_wq = WaitQueueHead()
    if not getattr(sk, "_inuse", False):
        sk._inuse = True
        _inuse_add(sk, 1)


def _inuse_add(sk: Sock, n: int) -> None:
    """sock_prot_inuse_add: per-net socket counts by protocol (/proc/net/sockstat)."""
    net = sk.sk_net
    if net is None or sk.sk_prot is None:
        return
    d = net.gen.setdefault("sock_inuse", {})
    d[sk.sk_prot.name] = d.get(sk.sk_prot.name, 0) + n


def sock_hold(sk: Sock) -> None:
    sk.sk_refcnt += 1


def sock_put(sk: Sock) -> None:
    sk.sk_refcnt -= 1
    if sk.sk_refcnt == 0:
        sk_free(sk)


def sk_free(sk: Sock) -> None:
    """__sk_destruct: run the protocol destructor and drop what the queues hold."""
    if sk.sk_destruct is not None:
        d, sk.sk_destruct = sk.sk_destruct, None
        d(sk)
    skb_queue_purge(sk.sk_receive_queue)
    skb_queue_purge(sk.sk_error_queue)
    skb_queue_purge(sk.sk_write_queue)
    sk.sk_dst_cache = None
    if getattr(sk, "_inuse", False):
        sk._inuse = False
        _inuse_add(sk, -1)


def sock_orphan(sk: Sock) -> None:
    """The file is gone: the sock lives on only for the network (TCP's FIN_WAIT...)."""
    sock_set_flag(sk, SOCK_DEAD)
    sk.sk_socket = None
    sk.sk_wq = None


def sock_graft(sk: Sock, parent) -> None:
    """Attach an accepted sock to its new socket: share the socket's wait queue."""
    sk.sk_wq = parent.wq
    parent.sk = sk
    sk.sk_socket = parent
    sk.sk_type = parent.type


def sk_common_release(sk: Sock) -> None:
    """Close for datagram protocols: destroy, unhash, orphan, put."""
    prot = sk.sk_prot
    if prot.destroy is not None:
        prot.destroy(sk)
    if prot.unhash is not None:
        prot.unhash(sk)
    sock_orphan(sk)
    sock_put(sk)


# --- errors ---------------------------------------------------------------------------
def sock_error(sk: Sock) -> int:
    """Take the pending error: -err, and clear it (xchg)."""
    err = sk.sk_err
    if not err:
        return 0
    sk.sk_err = 0
    return -err


def sk_error_report(sk: Sock) -> None:
    sk.sk_error_report(sk)


def sock_rcvtimeo(sk: Sock, noblock):
    return 0 if noblock else sk.sk_rcvtimeo


def sock_sndtimeo(sk: Sock, noblock):
    return 0 if noblock else sk.sk_sndtimeo


def sock_intr_errno(timeo) -> int:
    return -EINTR


def sk_wait_event(sk: Sock, mask: int, retry, timeo, on_timeout=None, what: str = ""):
    """The would-sleep result of a socket call: Blocked on sk_wq for ``mask``.

    ``timeo`` is seconds (None: forever); 0 means do not sleep, so the
    timeout answer (default -EAGAIN) comes back now. ``retry()`` re-runs
    the call when the waiter is woken.
    """
    if on_timeout is None:
        on_timeout = _eagain
    if timeo is not None and timeo <= 0:
        return on_timeout()
    return Blocked(sk.sk_wq, mask, retry, timeo, on_timeout, _eintr, what)


def _eagain():
    return -EAGAIN


def _eintr():
    return -EINTR


# --- memory accounting ------------------------------------------------------------------
def sock_rfree(skb) -> None:
    sk = skb.sk
    if sk is not None:
        sk.sk_rmem_alloc -= skb.truesize


def skb_set_owner_r(skb, sk: Sock) -> None:
    skb_orphan(skb)
    skb.sk = sk
    skb.destructor = sock_rfree
    sk.sk_rmem_alloc += skb.truesize


def sock_wfree(skb) -> None:
    sk = skb.sk
    if sk is not None:
        sk.sk_wmem_alloc -= skb.truesize
        if not sock_flag(sk, SOCK_USE_WRITE_QUEUE):
            sk.sk_write_space(sk)


def skb_set_owner_w(skb, sk: Sock) -> None:
    skb_orphan(skb)
    skb.sk = sk
    skb.destructor = sock_wfree
    sk.sk_wmem_alloc += skb.truesize


def sk_wmem_alloc_get(sk: Sock) -> int:
    return sk.sk_wmem_alloc


def sk_rmem_alloc_get(sk: Sock) -> int:
    return sk.sk_rmem_alloc


def sk_mem_charge(sk: Sock, size: int) -> None:
    sk.sk_forward_alloc -= size


def sk_mem_uncharge(sk: Sock, size: int) -> None:
    sk.sk_forward_alloc += size


def sock_queue_err_skb(sk: Sock, skb) -> int:
    """Queue an extended error (IP_RECVERR) and report it."""
    if sk.sk_rmem_alloc + skb.truesize >= sk.sk_rcvbuf:
        return -ENOMEM
    skb_set_owner_r(skb, sk)
    from .skbuff import skb_queue_tail
    skb_queue_tail(sk.sk_error_queue, skb)
    if not sock_flag(sk, SOCK_DEAD):
        sk.sk_error_report(sk)
    return 0


# --- dst cache -------------------------------------------------------------------------
def __sk_dst_get(sk: Sock):
    return sk.sk_dst_cache


sk_dst_get = __sk_dst_get


def sk_dst_set(sk: Sock, dst) -> None:
    sk.sk_dst_cache = dst


__sk_dst_set = sk_dst_set


def sk_dst_reset(sk: Sock) -> None:
    sk.sk_dst_cache = None


__sk_dst_reset = sk_dst_reset


def __sk_dst_check(sk: Sock, cookie: int = 0):
    """The cached route if still valid, else forget it: None. As the kernel's: a dst that
    is not obsolete is good; an obsolete one asks its ops.check (ipv4_dst_check compares
    the route's generation with the namespace's)."""
    dst = sk.sk_dst_cache
    if dst is not None and dst.obsolete:
        ops = dst.ops
        if ops is None or ops.check is None or ops.check(dst, cookie) is None:
            sk.sk_dst_cache = None
            return None
    return dst


sk_dst_check = __sk_dst_check


# --- SOL_SOCKET options -------------------------------------------------------------------
def sockopt_int(optval, allow_short: bool = False):
    """The int an option value carries (copy_from_sockptr of an int): int -> itself,
    bytes of >= 4 -> the first C int; shorter -> -EINVAL (or the first byte if
    allow_short, as ip_setsockopt accepts a char)."""
    if isinstance(optval, bool):
        return int(optval)
    if isinstance(optval, int):
        return _s32(optval)
    if isinstance(optval, (bytes, bytearray, memoryview)):
        b = bytes(optval)
        if len(b) >= 4:
            return struct.unpack_from("<i", b)[0]
        if allow_short and len(b) >= 1:
            return b[0]
        return None
    return None


def optlen_of(optval) -> int:
    if isinstance(optval, (bytes, bytearray, memoryview)):
        return len(optval)
    if isinstance(optval, tuple):
        return 8
    return 4


def put_int(val: int, buflen: int):
    """getsockopt answer for an int option: an int in int mode (buflen 0), else the
    first min(buflen, 4) bytes of the C int."""
    if buflen < 0:
        return -EINVAL
    if buflen == 0:
        return OptInt(val) if val < 0 else val
    return struct.pack("<i", _s32(val))[:min(buflen, 4)]


def put_bytes(b: bytes, buflen: int):
    """getsockopt answer for a struct option: bytes cut to buflen, or (buflen 0) the
    first 4 bytes read as a C int, as Python's getsockopt(level, opt) does."""
    if buflen < 0:
        return -EINVAL
    if buflen == 0:
        v = int.from_bytes(b[:4].ljust(4, b"\0"), "little", signed=True)
        return OptInt(v) if v < 0 else v
    return bytes(b[:buflen])


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - 2**32 if v >= 2**31 else v


def _capable(sk: Sock, cap: str) -> bool:
    """ns_capable for the socket's owner (the session that created it; root by default)."""
    sock = sk.sk_socket
    cred = getattr(sock, "cred", None) if sock is not None else None
    if cred is None:
        f = getattr(sock, "file", None) if sock is not None else None
        cred = getattr(f, "f_cred", None)
    if cred is None:
        return True
    return bool(getattr(cred, cap, True))


def _set_timeout(optval, old: bool):
    """sock_set_timeout: struct timeval -> seconds (None = forever), in HZ jiffies."""
    if isinstance(optval, (int, float)) and not isinstance(optval, bool):
        return -EINVAL
    b = bytes(optval)
    if len(b) < 16:
        return -EINVAL
    sec, usec = struct.unpack_from("<qq", b)
    if usec < 0 or usec >= 1000000:
        return -EDOM
    if sec < 0:
        return 0.0
    if (sec or usec) and sec < MAX_SCHEDULE_TIMEOUT // HZ - 1:
        jiffies = sec * HZ + -(-usec // (1000000 // HZ))
        return jiffies / HZ
    return None


def _get_timeout(timeo) -> bytes:
    if timeo is None:
        return struct.pack("<qq", 0, 0)
    j = round(timeo * HZ)
    return struct.pack("<qq", j // HZ, (j % HZ) * 1000000 // HZ)


def sock_setsockopt(sock, level: int, optname: int, optval) -> int:
    """sk_setsockopt: SOL_SOCKET options with Linux's semantics and errnos."""
    sk = sock.sk
    net = sk.sk_net
    if optname == SO_BINDTODEVICE:
        return sock_setbindtodevice(sk, optval)
    if isinstance(optval, tuple) and optname == SO_LINGER:
        if len(optval) != 2:
            return -EINVAL
        optval = struct.pack("<ii", _s32(int(optval[0])), _s32(int(optval[1])))
    if optval is None or optlen_of(optval) < 4:
        return -EINVAL
    if optname in (SO_LINGER, SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD, SO_RCVTIMEO_NEW, SO_SNDTIMEO_NEW):
        val = 0
    else:
        val = sockopt_int(optval)
        if val is None:
            return -EINVAL
    valbool = 1 if val else 0

    if optname == SO_DEBUG:
        if val and not _capable(sk, "cap_net_admin"):
            return -EACCES
        sock_valbool_flag(sk, SOCK_DBG, valbool)
    elif optname == SO_REUSEADDR:
        sk.sk_reuse = SK_CAN_REUSE if valbool else SK_NO_REUSE
    elif optname == SO_REUSEPORT:
        sk.sk_reuseport = valbool
    elif optname == SO_DONTROUTE:
        sock_valbool_flag(sk, SOCK_LOCALROUTE, valbool)
        sk_dst_reset(sk)
    elif optname == SO_BROADCAST:
        sock_valbool_flag(sk, SOCK_BROADCAST, valbool)
    elif optname in (SO_SNDBUF, SO_SNDBUFFORCE):
        if optname == SO_SNDBUFFORCE:
            if not _capable(sk, "cap_net_admin"):
                return -EPERM
            val = max(val, 0)
        else:
            val = min(val & 0xFFFFFFFF, net.core.sysctl_wmem_max)
        val = min(val, INT_MAX // 2)
        sk.sk_userlocks |= SOCK_SNDBUF_LOCK
        sk.sk_sndbuf = max(val * 2, SOCK_MIN_SNDBUF)
        sk.sk_write_space(sk)
    elif optname in (SO_RCVBUF, SO_RCVBUFFORCE):
        if optname == SO_RCVBUFFORCE:
            if not _capable(sk, "cap_net_admin"):
                return -EPERM
            val = max(val, 0)
        else:
            val = min(val & 0xFFFFFFFF, net.core.sysctl_rmem_max)
        val = min(val, INT_MAX // 2)
        sk.sk_userlocks |= SOCK_RCVBUF_LOCK
        sk.sk_rcvbuf = max(val * 2, SOCK_MIN_RCVBUF)
    elif optname == SO_KEEPALIVE:
        if sk.sk_prot.keepalive is not None:
            sk.sk_prot.keepalive(sk, valbool)
        sock_valbool_flag(sk, SOCK_KEEPOPEN, valbool)
    elif optname == SO_OOBINLINE:
        sock_valbool_flag(sk, SOCK_URGINLINE, valbool)
    elif optname == SO_NO_CHECK:
        sk.sk_no_check_tx = valbool
    elif optname == SO_PRIORITY:
        if (0 <= val <= 6) or _capable(sk, "cap_net_raw") or _capable(sk, "cap_net_admin"):
            sk.sk_priority = val
        else:
            return -EPERM
    elif optname == SO_LINGER:
        b = bytes(optval)
        if len(b) < 8:
            return -EINVAL
        onoff, linger = struct.unpack_from("<ii", b)
        if not onoff:
            sock_reset_flag(sk, SOCK_LINGER)
        else:
            t_sec = linger & 0xFFFFFFFFFFFFFFFF     # (unsigned long) of an int
            if t_sec >= MAX_SCHEDULE_TIMEOUT // HZ:
                sk.sk_lingertime = float("inf")
            else:
                sk.sk_lingertime = float(t_sec)
            sock_set_flag(sk, SOCK_LINGER)
    elif optname == SO_BSDCOMPAT:
        pass
    elif optname in (SO_TIMESTAMP_OLD, SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_OLD, SO_TIMESTAMPNS_NEW):
        if valbool:
            sock_set_flag(sk, SOCK_RCVTSTAMP)
            sock_valbool_flag(sk, SOCK_RCVTSTAMPNS, optname in (SO_TIMESTAMPNS_OLD, SO_TIMESTAMPNS_NEW))
            sock_valbool_flag(sk, SOCK_TSTAMP_NEW, optname in (SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_NEW))
        else:
            sock_reset_flag(sk, SOCK_RCVTSTAMP)
            sock_reset_flag(sk, SOCK_RCVTSTAMPNS)
    elif optname == SO_RCVLOWAT:
        if val < 0:
            val = INT_MAX
        if sk.sk_prot.set_rcvlowat is not None:
            return sk.sk_prot.set_rcvlowat(sk, val)
        sk.sk_rcvlowat = val or 1
    elif optname in (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW, SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW):
        t = _set_timeout(optval, optname in (SO_RCVTIMEO_OLD, SO_SNDTIMEO_OLD))
        if isinstance(t, int) and not isinstance(t, bool) and t < 0:
            return t
        if optname in (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW):
            sk.sk_rcvtimeo = t
        else:
            sk.sk_sndtimeo = t
    elif optname == SO_MARK:
        if not _capable(sk, "cap_net_admin") and not _capable(sk, "cap_net_raw"):
            return -EPERM
        v = val & 0xFFFFFFFF
        if sk.sk_mark != v:
            sk.sk_mark = v
            sk_dst_reset(sk)
    elif optname == SO_RXQ_OVFL:
        sock_valbool_flag(sk, SOCK_RXQ_OVFL, valbool)
    elif optname == SO_SELECT_ERR_QUEUE_:
        sock_valbool_flag(sk, SOCK_SELECT_ERR_QUEUE, valbool)
    elif optname == SO_MAX_PACING_RATE:
        rate = val & 0xFFFFFFFF
        sk.sk_max_pacing_rate = 2**64 - 1 if rate == 0xFFFFFFFF else rate
        sk.sk_pacing_rate = min(sk.sk_pacing_rate, sk.sk_max_pacing_rate)
    elif optname == SO_BINDTOIFINDEX:
        return sock_bindtoindex(sk, val)
    elif optname == SO_INCOMING_CPU:
        sk.sk_incoming_cpu = val
    elif optname == SO_PASSCRED:
        return -EOPNOTSUPP      # sk_may_scm_recv: AF_UNIX/netlink only (Linux 6.18)
    else:
        return -ENOPROTOOPT
    return 0


def sock_bindtoindex(sk: Sock, ifindex: int) -> int:
    if sk.sk_bound_dev_if and not _capable(sk, "cap_net_raw"):
        return -EPERM
    if ifindex < 0:
        return -EINVAL
    if ifindex and sk.sk_net.dev_by_index.get(ifindex) is None:
        return -ENODEV
    sk.sk_bound_dev_if = ifindex
    if sk.sk_prot.rehash is not None:
        sk.sk_prot.rehash(sk)
    sk_dst_reset(sk)
    return 0


def sock_setbindtodevice(sk: Sock, optval) -> int:
    """SO_BINDTODEVICE: a name (up to IFNAMSIZ-1 bytes, NUL ends it); empty unbinds."""
    if isinstance(optval, int):
        optval = struct.pack("<i", optval)
    b = bytes(optval or b"")
    IFNAMSIZ = 16
    if len(b) > IFNAMSIZ - 1:
        b = b[:IFNAMSIZ - 1]
    name = b.split(b"\0", 1)[0].decode("latin-1")
    index = 0
    if name:
        dev = sk.sk_net.dev_by_name.get(name)
        if dev is None:
            return -ENODEV
        index = dev.ifindex
    return sock_bindtoindex(sk, index)


def sock_getsockopt(sock, level: int, optname: int, buflen: int = 0):
    """sk_getsockopt: SOL_SOCKET options; buflen as Python's getsockopt (see module doc)."""
    sk = sock.sk
    if buflen < 0:
        return -EINVAL
    if optname == SO_DEBUG:
        v = int(sock_flag(sk, SOCK_DBG))
    elif optname == SO_DONTROUTE:
        v = int(sock_flag(sk, SOCK_LOCALROUTE))
    elif optname == SO_BROADCAST:
        v = int(sock_flag(sk, SOCK_BROADCAST))
    elif optname == SO_SNDBUF:
        v = sk.sk_sndbuf
    elif optname == SO_RCVBUF:
        v = sk.sk_rcvbuf
    elif optname == SO_REUSEADDR:
        v = sk.sk_reuse
    elif optname == SO_REUSEPORT:
        v = sk.sk_reuseport
    elif optname == SO_KEEPALIVE:
        v = int(sock_flag(sk, SOCK_KEEPOPEN))
    elif optname == SO_TYPE:
        v = sk.sk_type
    elif optname == SO_PROTOCOL:
        v = sk.sk_protocol
    elif optname == SO_DOMAIN:
        v = sk.sk_family
    elif optname == SO_ERROR:
        v = -sock_error(sk)
        if v == 0:
            v, sk.sk_err_soft = sk.sk_err_soft, 0
    elif optname == SO_OOBINLINE:
        v = int(sock_flag(sk, SOCK_URGINLINE))
    elif optname == SO_NO_CHECK:
        v = sk.sk_no_check_tx
    elif optname == SO_PRIORITY:
        v = sk.sk_priority
    elif optname == SO_LINGER:
        lt = sk.sk_lingertime
        if lt == float("inf"):
            secs = MAX_SCHEDULE_TIMEOUT // HZ
        else:
            secs = int(lt)
        return put_bytes(struct.pack("<ii", int(sock_flag(sk, SOCK_LINGER)), _s32(secs)), buflen)
    elif optname == SO_BSDCOMPAT:
        v = 0
    elif optname in (SO_TIMESTAMP_OLD, SO_TIMESTAMP_NEW):
        v = int(sock_flag(sk, SOCK_RCVTSTAMP) and not sock_flag(sk, SOCK_RCVTSTAMPNS)
                and (optname == SO_TIMESTAMP_NEW) == sock_flag(sk, SOCK_TSTAMP_NEW))
    elif optname in (SO_TIMESTAMPNS_OLD, SO_TIMESTAMPNS_NEW):
        v = int(sock_flag(sk, SOCK_RCVTSTAMPNS)
                and (optname == SO_TIMESTAMPNS_NEW) == sock_flag(sk, SOCK_TSTAMP_NEW))
    elif optname in (SO_RCVTIMEO_OLD, SO_RCVTIMEO_NEW):
        return put_bytes(_get_timeout(sk.sk_rcvtimeo), buflen)
    elif optname in (SO_SNDTIMEO_OLD, SO_SNDTIMEO_NEW):
        return put_bytes(_get_timeout(sk.sk_sndtimeo), buflen)
    elif optname == SO_RCVLOWAT:
        v = sk.sk_rcvlowat
    elif optname == SO_SNDLOWAT:
        v = 1
    elif optname == SO_PASSCRED:
        return -EOPNOTSUPP
    elif optname == SO_PEERCRED:
        # No peer process behind an inet socket: pid 0, uid and gid -1.
        return put_bytes(struct.pack("<iII", 0, 0xFFFFFFFF, 0xFFFFFFFF), buflen or 4)
    elif optname == SO_ACCEPTCONN:
        v = int(sk.sk_state == TCP_LISTEN)
    elif optname == SO_MARK:
        v = _s32(sk.sk_mark)
    elif optname == SO_RXQ_OVFL:
        v = int(sock_flag(sk, SOCK_RXQ_OVFL))
    elif optname == SO_SELECT_ERR_QUEUE_:
        v = int(sock_flag(sk, SOCK_SELECT_ERR_QUEUE))
    elif optname == SO_MAX_PACING_RATE:
        r = sk.sk_max_pacing_rate
        if buflen >= 8:
            return struct.pack("<Q", r & 0xFFFFFFFFFFFFFFFF)
        v = _s32(0xFFFFFFFF if r >= 0xFFFFFFFF else r)
    elif optname == SO_INCOMING_CPU:
        v = sk.sk_incoming_cpu
    elif optname == SO_BINDTOIFINDEX:
        v = sk.sk_bound_dev_if
    elif optname == SO_BINDTODEVICE:
        return sock_getbindtodevice(sk, buflen)
    elif optname == SO_COOKIE:
        if not sk.sk_cookie:
            net = sk.sk_net
            c = net.gen.get("sock_cookie", 0) + 1
            net.gen["sock_cookie"] = c
            sk.sk_cookie = c
        if buflen == 0:
            return put_int(_s32(sk.sk_cookie), 0)
        if buflen < 8:
            return -EINVAL
        return struct.pack("<Q", sk.sk_cookie)
    else:
        return -ENOPROTOOPT
    return put_int(v, buflen)


def sock_getbindtodevice(sk: Sock, buflen: int):
    if not sk.sk_bound_dev_if:
        return 0 if buflen == 0 else b""
    if buflen < 16 and buflen != 0:
        return -EINVAL
    if buflen == 0:
        return -EINVAL
    dev = sk.sk_net.dev_by_index.get(sk.sk_bound_dev_if)
    if dev is None:
        return -ENODEV
    return dev.name.encode() + b"\0"

def blocked_then(r, fn):
    """Apply fn to a call's final result: now if r is a result, or when the Blocked r
    (and any Blocked its retry returns) completes or times out. Signals pass through."""
    if type(r) is not Blocked:
        return fn(r)
    retry, on_timeout = r.retry, r.on_timeout
    return Blocked(r.wq, r.mask, lambda: blocked_then(retry(), fn), r.timeo,
                   (lambda: fn(on_timeout())) if on_timeout is not None else None,
                   r.on_signal, r.what)
