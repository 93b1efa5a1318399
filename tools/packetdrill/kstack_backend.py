"""The kstack backend: a script's world is one kstack Net on a fake clock.

Not a kernel file: test tooling. It plays what packetdrill's local mode
sets up on Linux (netdev.c): a "tun0" device, 192.168.0.1/16 on it and a
route to 192.0.2.0/24 via 192.168.0.1, MTU 1500. tun0 here is a capture
device of our own, shaped like drivers/net/tun.c's IFF_TUN: an L3 device
(ARPHRD_NONE, IFF_POINTOPOINT | IFF_NOARP, hard_header_len 0, no header
ops) whose frames are bare IPv4 packets. ndo_start_xmit records each packet
with the fake-clock time; inbound packets go up through netif_rx, as
tun_get_user does, as skbs with the truesize and tailroom Linux gives them
(tun_alloc_sizes): TCP's receive window and queue coalescing depend on both.

Syscalls go through kstack/net/socket.py's sys_call_table on a FilesStruct.
A call that must sleep returns a kstack.core.wait.Blocked: it is parked on
its wait queue and retried when woken (or answered by on_timeout() when its
timeo runs out); it completes at the fake time of that retry.

Time: every step runs the Net's softirqs and timers (kstack/sim.py) and
jumps the clock from event to event, so a script of minutes runs in
milliseconds, the same way every time (the Net's RNG is seeded).
"""

from __future__ import annotations

from typing import Callable, Optional

from kstack.core.clock import FakeClock
from kstack.core.dev import dev_graft_qdisc, dev_open, netif_rx, register_netdevice
from kstack.core.netdevice import (ARPHRD_NONE, IFF_MULTICAST, IFF_NOARP, IFF_POINTOPOINT, NETDEV_TX_OK,
                                   NetDevice, NetDeviceOps)
from kstack.core.skbuff import (CHECKSUM_NONE, CHECKSUM_PARTIAL, PACKET_HOST, SkBuff, consume_skb, skb_from_bytes,
                                skb_reset_network_header)
from kstack.core.wait import Blocked, WaitQueueEntry, add_wait_queue, remove_wait_queue
from kstack.sim import Sim

from .runner import (Backend, CallHandle, Config, LivePacket, Unsupported, ip_aton, parse_ipv4_packet)

ETH_P_IP = 0x0800
STAR_LIMIT = 300.0          # `*` lines: packetdrill waits forever; the fake clock gives up here


# --------------------------------------------------------------------------
# tun0: an L3 capture device
# --------------------------------------------------------------------------


class TunPriv:
    __slots__ = ("captured", "clock")

    def __init__(self, clock):
        self.captured: list = []     # (fake time, packet bytes, gso_size)
        self.clock = clock


def tun_net_xmit(skb, dev) -> int:
    """drivers/net/tun.c tun_net_xmit: the packet leaves the stack; we keep it for the script."""
    priv = dev.priv
    data = bytearray(skb.head[skb.data:skb.tail])
    if skb.ip_summed == CHECKSUM_PARTIAL:
        _complete_partial_csum(skb, data)
    priv.captured.append((priv.clock.now(), bytes(data), skb.gso_size))
    dev.stats.tx_packets += 1
    dev.stats.tx_bytes += len(data)
    consume_skb(skb)
    return NETDEV_TX_OK


def _complete_partial_csum(skb, data: bytearray) -> None:
    """skb_checksum_help for a CHECKSUM_PARTIAL skb, if the stack left one (tun0 has no
    NETIF_F_HW_CSUM, so it should not)."""
    start = getattr(skb, "csum_start", None)
    off = getattr(skb, "csum_offset", None)
    if start is None or off is None:
        return
    from kstack.wire.checksum import csum_fold, csum_partial
    s = start - skb.data
    if 0 <= s and s + off + 2 <= len(data):
        data[s + off:s + off + 2] = csum_fold(csum_partial(bytes(data[s:]))).to_bytes(2, "big")


tun_netdev_ops = NetDeviceOps(ndo_start_xmit=tun_net_xmit)


def tun_setup(dev, clock) -> None:
    """tun_net_init for IFF_TUN: no link header, no ARP, point-to-point."""
    dev.type = ARPHRD_NONE
    dev.flags = IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST
    dev.hard_header_len = 0
    dev.addr_len = 0
    dev.header_ops = None
    dev.mtu = 1500
    dev.min_mtu = 68
    dev.max_mtu = 65535
    dev.tx_queue_len = 500          # TUN_READQ_SIZE
    dev.priv = TunPriv(clock)
    dev.link_kind = "tun"


def tun_create(net, name: str = "tun0") -> NetDevice:
    dev = NetDevice(name, tun_netdev_ops, ARPHRD_NONE)
    tun_setup(dev, net.clock)
    r = register_netdevice(net, dev)
    if r:
        raise RuntimeError(f"register_netdevice({name}) = {r}")
    return dev


# Linux x86-64 constants behind tun_get_user's allocation (PAGE_SIZE 4096)
NET_SKB_PAD = 64                    # tun->align for IFF_TUN
SKB_SHINFO_SIZE = 320               # SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
SKB_STRUCT_SIZE = 256               # SKB_DATA_ALIGN(sizeof(struct sk_buff))
SKB_SMALL_HEAD_CACHE_SIZE = 576     # skb_small_head_cache: SKB_HEAD_ALIGN(MAX_TCP_HEADER)
PAGE_SIZE = 4096
SKB_MAX_HEAD = PAGE_SIZE - NET_SKB_PAD - SKB_SHINFO_SIZE    # good_linear: 3712


def _kmalloc_size_roundup(n: int) -> int:
    for b in (8, 16, 32, 64, 96, 128, 192):
        if n <= b:
            return b
    b = 256
    while b < n:
        b <<= 1
    return b


def tun_alloc_sizes(length: int) -> tuple[int, int]:
    """(truesize, linear buffer size) of the skb a `length`-byte packet written to a tun
    fd becomes (IFF_TUN, no IFF_NAPI): tun_get_user -> tun_alloc_skb(prepad NET_SKB_PAD,
    linear = all of it under a page, else good_linear) -> sock_alloc_send_pskb ->
    alloc_skb_with_frags. The head is a kmalloc_reserve object (the small-head cache,
    else a kmalloc bucket) whose usable part is SKB_WITH_OVERHEAD of it; truesize adds
    the struct sk_buff and whole pages for the frags. The linear size is 0 for a paged
    skb: it has no tailroom (skb_tailroom of a nonlinear skb). Checked on this machine's
    kernel (ss -m after one segment: 41..140 bytes -> 832, 1040 -> 2304, 3740 -> 8448,
    20040 -> 20736, 60040 -> 61696)."""
    if NET_SKB_PAD + length < PAGE_SIZE:
        linear, paged = length, 0
    else:
        linear, paged = SKB_MAX_HEAD, length - SKB_MAX_HEAD
    obj = ((NET_SKB_PAD + linear + 63) & ~63) + SKB_SHINFO_SIZE       # SKB_HEAD_ALIGN
    head = SKB_SMALL_HEAD_CACHE_SIZE if obj <= SKB_SMALL_HEAD_CACHE_SIZE else _kmalloc_size_roundup(obj)
    truesize = head + SKB_STRUCT_SIZE + ((paged + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
    return truesize, (0 if paged else head - SKB_SHINFO_SIZE)


def tun_truesize(length: int) -> int:
    return tun_alloc_sizes(length)[0]


def tun_inject(dev, packet: bytes, gso_size: int = 0) -> int:
    """tun_get_user: a packet written to the tun fd enters the stack as received on dev,
    with Linux's truesize and (for a linear skb) its tailroom, which TCP's receive
    queue coalescing (skb_try_coalesce) fills."""
    truesize, size = tun_alloc_sizes(len(packet))
    if size:
        head = bytearray(size)
        head[NET_SKB_PAD:NET_SKB_PAD + len(packet)] = packet
        skb = SkBuff(head, NET_SKB_PAD, NET_SKB_PAD + len(packet))
    else:
        skb = skb_from_bytes(packet, headroom=NET_SKB_PAD)
    skb.truesize = truesize
    skb.dev = dev
    skb.protocol = ETH_P_IP
    skb.pkt_type = PACKET_HOST
    skb.ip_summed = CHECKSUM_NONE
    skb_reset_network_header(skb)
    skb.mac_header = skb.data
    if gso_size and len(packet) > 40:
        # virtio_net_hdr_to_skb: only a packet longer than gso_size is really GSO
        ihl = (packet[0] & 0x0F) * 4
        thl = (packet[ihl + 12] >> 4) * 4 if len(packet) > ihl + 12 else 20
        if len(packet) - ihl - thl > gso_size:
            skb.gso_size = gso_size
    dev.stats.rx_packets += 1
    dev.stats.rx_bytes += len(packet)
    return netif_rx(skb)


# --------------------------------------------------------------------------
# the backend
# --------------------------------------------------------------------------


class _Parked:
    __slots__ = ("h", "b", "entry", "woken", "deadline", "conv")

    def __init__(self, h, b, conv, now):
        self.h = h
        self.b = b
        self.conv = conv
        self.woken = False
        self.deadline = None if b.timeo is None else now + b.timeo
        self.entry = None


class KstackBackend(Backend):
    name = "kstack"

    def __init__(self, seed: int = 1):
        self.seed = seed
        self.sim: Optional[Sim] = None
        self.net = None
        self.dev = None
        self.files = None
        self.t0 = 0.0
        self.parked: list[_Parked] = []
        self.queue: list[LivePacket] = []
        self.notes: list = []
        self.cfg: Optional[Config] = None

    # -- lifecycle ------------------------------------------------------------------
    def setup(self, config: Config) -> None:
        self.cfg = config
        try:
            from kstack.net import socket as ksocket  # noqa: F401
            from kstack.fs.file import FilesStruct
            from kstack.net.ipv4 import devinet, fib_frontend  # noqa: F401
        except ImportError as e:
            raise Unsupported(f"kstack backend: {e} (not in the tree yet)") from None
        self.sim = Sim(FakeClock())
        self.net = self.sim.new_net("packetdrill", seed=self.seed)
        if self.net.ipv4 is None:
            raise Unsupported("kstack backend: IPv4 (inet_init) is not in the tree yet")
        self.dev = tun_create(self.net, "tun0")
        self.dev.mtu = config.mtu
        r = dev_open(self.dev)
        if r:
            raise RuntimeError(f"dev_open(tun0) = {r}")
        self._add_address(config)
        self.files = FilesStruct(net=self.net)
        self.sim.settle()
        self._drain_captured()

    def _add_address(self, config: Config) -> None:
        from kstack.net.ipv4 import devinet, fib_frontend
        from kstack.net.ipv4.fib_semantics import FibConfig
        local = ip_aton(config.local_ip)
        r = devinet.inet_rtm_newaddr(self.net, self.dev.ifindex, local, config.prefix_len)
        if isinstance(r, int) and r < 0:
            raise RuntimeError(f"inet_rtm_newaddr({config.local_ip}/{config.prefix_len}) = {r}")
        remote = ip_aton(config.remote_ip) & 0xFFFFFF00
        fc = FibConfig(fc_dst=remote, fc_dst_len=24, fc_gw4=ip_aton(config.gateway_ip), fc_oif=self.dev.ifindex)
        r = fib_frontend.inet_rtm_newroute(self.net, fc)
        if isinstance(r, int) and r < 0:
            raise RuntimeError(f"inet_rtm_newroute(192.0.2.0/24 via {config.gateway_ip}) = {r}")

    def teardown(self) -> None:
        self.parked.clear()

    def start_clock(self) -> None:
        self.sim.settle()
        self._drain_captured()
        self.queue.clear()
        self.t0 = self.sim.clock.now()

    # -- time -----------------------------------------------------------------------
    def now(self) -> float:
        return self.sim.clock.now() - self.t0

    def _drain_captured(self) -> bool:
        cap = self.dev.priv.captured
        if not cap:
            return False
        for t, data, gso in cap:
            try:
                p = parse_ipv4_packet(data, t - self.t0)
            except ValueError:
                # tun0 is an L3 device: anything but a bare IPv4 packet (an ARP request, a
                # link-layer header) is a stack bug worth showing
                msg = f"tun0 transmitted a frame that is not an IPv4 packet: {data[:16].hex()}"
                if msg not in self.notes:
                    self.notes.append(msg)
                continue
            p.gso_size = gso
            self.queue.append(p)
        cap.clear()
        return True

    def _service_calls(self) -> bool:
        """Retry parked calls that were woken; answer the ones whose timeout passed."""
        progressed = False
        now = self.sim.clock.now()
        for pk in list(self.parked):
            if pk.woken or (pk.deadline is not None and now >= pk.deadline):
                self.parked.remove(pk)
                remove_wait_queue(pk.b.wq, pk.entry)
                if pk.woken:
                    r = pk.b.retry()
                else:
                    r = pk.b.on_timeout() if pk.b.on_timeout is not None else pk.b.retry()
                self._settle_result(pk.h, r, pk.conv)
                progressed = True
        return progressed

    def _park(self, h: CallHandle, b: Blocked, conv) -> None:
        pk = _Parked(h, b, conv, self.sim.clock.now())

        def wake(entry, key, pk=pk):
            pk.woken = True
        pk.entry = WaitQueueEntry(wake, None, b.mask)
        add_wait_queue(b.wq, pk.entry)
        self.parked.append(pk)

    def _settle_result(self, h: CallHandle, r, conv) -> None:
        if type(r) is Blocked:
            self._park(h, r, conv)
            return
        h.finish(conv(r) if conv is not None else r, self.sim.clock.now() - self.t0)

    def _run(self, until: Optional[float], stop: Callable[[], bool]) -> None:
        """Run softirqs and timers; jump the clock from event to event up to `until`
        (absolute fake time; None: while anything is scheduled)."""
        sim, clock = self.sim, self.sim.clock
        idle_rounds = 0
        while True:
            sim.settle()
            if self._service_calls():
                continue
            self._drain_captured()
            if stop():
                return
            t = sim.next_event()
            for pk in self.parked:
                if pk.deadline is not None and (t is None or pk.deadline < t):
                    t = pk.deadline
            now = clock.now()
            if t is not None and t <= now:
                idle_rounds += 1
                if idle_rounds > 1000:      # something claims work now but never does it
                    raise RuntimeError(f"kstack backend: no progress at t={now} (next event {t})")
            else:
                idle_rounds = 0
            if t is None or (until is not None and t > until):
                if until is not None and until > now:
                    clock.set(until)
                    sim.settle()
                    self._service_calls()
                    self._drain_captured()
                return
            clock.set(max(t, now))

    def advance(self, t: float, stop: Callable[[], bool]) -> None:
        self._run(self.t0 + t, stop)

    def next_outbound(self, deadline: Optional[float], stop: Callable[[], bool]) -> Optional[LivePacket]:
        self._drain_captured()
        if not self.queue:
            limit = self.t0 + (deadline if deadline is not None else self.now() + STAR_LIMIT)
            self._run(limit, lambda: bool(self.queue) or stop())
        return self.queue.pop(0) if self.queue else None

    def inject(self, packet: bytes, gso_size: int = 0) -> None:
        tun_inject(self.dev, packet, gso_size)
        self.sim.settle()
        self._service_calls()
        self._drain_captured()

    # -- syscalls -----------------------------------------------------------------------
    def call(self, name: str, *args, background: bool = False) -> CallHandle:
        from kstack.net.socket import sys_call_table
        h = CallHandle(name)
        fn = getattr(self, "k_" + name, None)
        if fn is None:
            h.finish(Unsupported(f"system call {name}() on kstack"), self.now())
            return h
        try:
            r, conv = fn(sys_call_table, *args)
        except Unsupported as u:
            h.finish(u, self.now())
            return h
        self._settle_result(h, r, conv)
        # what the call made the stack do (a SYN, data) happens now
        self.sim.settle()
        self._service_calls()
        self._drain_captured()
        return h

    def wait_call(self, h: CallHandle, limit: float, stop: Callable[[], bool]) -> None:
        self._run(self.t0 + limit, lambda: h.done or stop())

    # Each k_<name> returns (result or Blocked, conversion applied to the final result).
    def k_socket(self, t, domain, typ, proto):
        return t["socket"](self.files, domain, typ, proto), None

    def k_bind(self, t, fd, addr):
        return t["bind"](self.files, fd, addr), None

    def k_listen(self, t, fd, backlog):
        return t["listen"](self.files, fd, backlog), None

    def k_accept(self, t, fd):
        return t["accept4"](self.files, fd, 0), _tuple_or_err

    k_accept4 = k_accept

    def k_connect(self, t, fd, addr):
        return t["connect"](self.files, fd, addr), None

    def k_read(self, t, fd, n):
        return t["recvfrom"](self.files, fd, n, 0), _len_first

    def k_recv(self, t, fd, n, flags):
        return t["recvfrom"](self.files, fd, n, flags), _len_first

    k_recvfrom = k_recv

    def k_recvmsg(self, t, fd, n, flags):
        return t["recvmsg"](self.files, fd, n, 0, flags), _len_first

    def k_write(self, t, fd, n):
        return t["sendto"](self.files, fd, bytes(n), 0), None

    def k_send(self, t, fd, n, flags):
        return t["sendto"](self.files, fd, bytes(n), flags), None

    k_sendto = k_send

    def k_writev(self, t, fd, lens):
        return t["sendmsg"](self.files, fd, [bytes(n) for n in lens], (), 0), None

    def k_sendmsg(self, t, fd, lens, flags):
        return t["sendmsg"](self.files, fd, [bytes(n) for n in lens], (), flags), None

    def k_close(self, t, fd):
        return t["close"](self.files, fd), None

    def k_shutdown(self, t, fd, how):
        return t["shutdown"](self.files, fd, how), None

    def k_setsockopt(self, t, fd, level, opt, val):
        return t["setsockopt"](self.files, fd, level, opt, val), None

    def k_getsockopt(self, t, fd, level, opt, buflen):
        r = t["getsockopt"](self.files, fd, level, opt, buflen)
        if type(r) is int and r < 0:
            return (r, None), None
        if isinstance(r, int):
            r = int(r).to_bytes(4, "little", signed=r < 0)[:max(buflen, 4)]
        return (0, bytes(r)), None

    def k_fcntl(self, t, fd, cmd, arg):
        return t["fcntl"](self.files, fd, cmd, arg), None

    def k_ioctl(self, t, fd, req):
        r = t["ioctl"](self.files, fd, req, 0)
        if type(r) is int and r < 0:
            return (r, None), None
        return (0, int(r)), None

    def k_poll(self, t, fds, timeout):
        from kstack.fs.select import do_sys_poll

        def conv(r):
            if type(r) is int and r < 0:
                return (r, None)
            got = dict(r)
            rev = [got.get(fd, 0) for fd, _ in fds]
            return (sum(1 for x in rev if x), rev)
        return do_sys_poll(self.files, fds, timeout), conv

    def tcp_info(self, fd: int) -> dict:
        from kstack.fs.file import sockfd_lookup
        try:
            from kstack.net.ipv4.tcp import tcp_get_info
        except ImportError:
            raise Unsupported("kstack: tcp_get_info is not in the tree yet") from None
        sock = sockfd_lookup(self.files, fd)
        if isinstance(sock, int):
            raise Unsupported(f"TCP_INFO on fd {fd}: {sock}")
        info = tcp_get_info(sock.sk)
        return _info_dict(info)

    # -- configuration ----------------------------------------------------------------------
    def sysctl_get(self, name: str) -> Optional[str]:
        from kstack.core.sysctl import sysctl_get
        v = sysctl_get(self.net, name)
        if isinstance(v, int) and v < 0:
            return None
        return " ".join(str(v).split())

    def sysctl_set(self, name: str, value: str) -> int:
        from kstack.core.sysctl import sysctl_set
        return sysctl_set(self.net, name.strip(), str(value).strip())

    def mib_snapshot(self) -> dict:
        return self.net.mib.snapshot()

    def set_qdisc(self, dev: str, kind: str, args: list) -> str:
        from kstack.core.sch_generic import QDISC_KINDS, qdisc_create
        d = self.net.dev_by_name.get(dev)
        if d is None:
            return f"no device {dev}"
        if kind not in QDISC_KINDS:
            return f"kstack has no qdisc {kind}; left {d.qdisc.kind if d.qdisc else 'none'}"
        if args:
            return f"qdisc options {' '.join(args)} ignored"
        dev_graft_qdisc(d, qdisc_create(d, kind))
        return ""

    def ethtool_features(self, dev: str, features: dict) -> str:
        return "kstack's tun0 has no offloads (TCP sends MSS-sized segments; the runner aggregates them)"

    def flush_tcp_metrics(self) -> str:
        return ""


def _tuple_or_err(r):
    if isinstance(r, tuple):
        return r
    return (r, None)


def _len_first(r):
    if isinstance(r, tuple):
        return len(r[0])
    return r


def _info_dict(info) -> dict:
    """tcp_get_info's result as {tcpi_<field>: value} (a dict or an object with tcpi_ fields)."""
    if isinstance(info, dict):
        d = info
    else:
        d = {k: getattr(info, k) for k in dir(info) if k.startswith("tcpi_")}
    return {(k if k.startswith("tcpi_") else "tcpi_" + k): v for k, v in d.items()}
