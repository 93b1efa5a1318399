"""SegmentFactory and TcpTestbed: drive kstack's TCP segment by segment, packetdrill style.

TcpTestbed is one kstack host (a World Host: syscalls with blocking on the fake clock)
whose only link is "tun0", an L3 capture device (no ARP): every IPv4 packet the stack
sends is kept (``bed.sent()`` parses and drains them), and ``bed.inject(pkt)`` delivers
a packet as if it arrived from the remote. The remote is 192.0.2.1, routed via tun0;
the local address is 192.168.0.1/16 (packetdrill's defaults).

SegmentFactory builds the remote's segments (h2's FrameFactory idea): absolute sequence
numbers, options as kstack.wire.tcphdr lists, correct checksums unless told otherwise.

    bed = TcpTestbed()
    f = SegmentFactory(bed)
    ls = bed.listen(8080)
    bed.inject(f.tcp("S", seq=0, win=65535, opts=f.syn_opts()))
    (synack,) = bed.sent()
"""
import struct

from kstack.core.dev import dev_open, netif_rx, register_netdevice
from kstack.core.netdevice import (ARPHRD_NONE, IFF_MULTICAST, IFF_NOARP, IFF_POINTOPOINT,
                                   NETDEV_TX_OK, NetDevice, NetDeviceOps)
from kstack.core.skbuff import CHECKSUM_NONE, PACKET_HOST, consume_skb, skb_from_bytes
from kstack.core.sock import AF_INET, SOCK_STREAM
from kstack.wire.checksum import csum_fold, csum_partial, ip_fast_csum
from kstack.wire.inet import in_aton, in_ntoa
from kstack.wire.tcphdr import TcpHdr, encode_options, tcp_options_write
from kstack.world import World

LOCAL = "192.168.0.1"
REMOTE = "192.0.2.1"
REMOTE_PORT = 40000

FLAG_BITS = {"F": 0x01, "S": 0x02, "R": 0x04, "P": 0x08, ".": 0x10, "U": 0x20, "E": 0x40, "W": 0x80}


def flags_of(text: str) -> int:
    v = 0
    for c in text:
        if c == "-":
            continue
        v |= FLAG_BITS[c]
    return v


def flags_str(v: int) -> str:
    return "".join(c for c, b in FLAG_BITS.items() if v & b and c not in ".") + ("." if v & 0x10 else "")


class Seg:
    """A segment the stack sent: IP fields + the parsed TCP header + payload."""
    __slots__ = ("t", "saddr", "daddr", "ttl", "tos", "df", "ipid", "th", "payload", "raw")

    def __init__(self, t, raw: bytes):
        self.t = t
        self.raw = raw
        ihl = (raw[0] & 0x0F) * 4
        self.tos = raw[1]
        self.ipid = struct.unpack_from("!H", raw, 4)[0]
        self.df = bool(raw[6] & 0x40)
        self.ttl = raw[8]
        self.saddr = in_ntoa(int.from_bytes(raw[12:16], "big"))
        self.daddr = in_ntoa(int.from_bytes(raw[16:20], "big"))
        self.th = TcpHdr.parse(raw, ihl)
        self.payload = raw[ihl + self.th.doff * 4:]

    @property
    def flags(self) -> str:
        return flags_str(self.th.flags)

    @property
    def seq(self):
        return self.th.seq

    @property
    def ack(self):
        return self.th.ack_seq

    @property
    def win(self):
        return self.th.window

    @property
    def opts(self):
        return [o for o in self.th.opts]

    @property
    def opt_names(self):
        return [n for n, _ in self.th.opts]

    def csum_ok(self) -> bool:
        ihl = (self.raw[0] & 0x0F) * 4
        seg = self.raw[ihl:]
        s = int.from_bytes(self.raw[12:16], "big") + int.from_bytes(self.raw[16:20], "big")
        return csum_fold(s + len(seg) + 6 + csum_partial(seg)) == 0

    def __repr__(self):
        return (f"<{self.t:.3f} {self.flags} {self.seq}:{(self.seq + len(self.payload)) & 0xFFFFFFFF}"
                f"({len(self.payload)}) ack {self.ack} win {self.win} {self.th.opts}>")


class CapPriv:
    __slots__ = ("captured", "clock", "drop_next")

    def __init__(self, clock):
        self.captured = []
        self.clock = clock
        self.drop_next = 0


def cap_xmit(skb, dev) -> int:
    priv = dev.priv
    data = bytes(skb.head[skb.data:skb.tail])
    if priv.drop_next:
        priv.drop_next -= 1
    else:
        priv.captured.append((priv.clock.now(), data))
    consume_skb(skb)
    return NETDEV_TX_OK


def capture_device(net, name="tun0", mtu=1500) -> NetDevice:
    dev = NetDevice(name, NetDeviceOps(ndo_start_xmit=cap_xmit), ARPHRD_NONE)
    dev.flags = IFF_POINTOPOINT | IFF_NOARP | IFF_MULTICAST
    dev.hard_header_len = 0
    dev.addr_len = 0
    dev.header_ops = None
    dev.mtu = mtu
    dev.tx_queue_len = 500
    dev.priv = CapPriv(net.clock)
    assert register_netdevice(net, dev) == 0
    assert dev_open(dev) == 0
    return dev


def tun_truesize(length: int) -> int:
    """skb->truesize Linux gives a packet written to a tun device: one model, the
    packetdrill backend's (tun_get_user -> tun_alloc_skb, checked with ss -m)."""
    from tools.packetdrill.kstack_backend import tun_truesize as _tun_truesize
    return _tun_truesize(length)


class TcpTestbed:
    """One kstack host on a capture link to a scripted remote."""

    def __init__(self, sysctls=None, mtu=1500, seed=1):
        self.world = World()
        self.host = self.world.host("local")
        self.net = self.host.net
        self.sim = self.world.sim
        self.clock = self.world.clock
        self.dev = capture_device(self.net, mtu=mtu)
        self.host.ip_addr_add("tun0", LOCAL + "/16")
        self.host.ip_route_add("192.0.2.0/24", via="192.168.0.1", dev="tun0")
        for k, v in (sysctls or {}).items():
            self.host.sysctl(k, v)
        self.sim.settle()
        self.dev.priv.captured.clear()

    # time
    def now(self) -> float:
        return self.clock.now()

    def run(self, seconds: float) -> None:
        self.sim.run(duration=seconds)

    def run_until(self, t: float) -> None:
        self.sim.run(until=t)

    def settle(self) -> None:
        self.sim.settle()

    # packets
    def inject(self, packet: bytes) -> None:
        skb = skb_from_bytes(packet, headroom=64)
        skb.truesize = tun_truesize(len(packet))
        skb.dev = self.dev
        skb.protocol = 0x0800
        skb.pkt_type = PACKET_HOST
        skb.ip_summed = CHECKSUM_NONE
        skb.network_header = skb.data
        skb.mac_header = skb.data
        netif_rx(skb)
        self.sim.settle()

    def sent(self):
        """Segments sent since the last call (and drain them)."""
        self.sim.settle()
        cap = self.dev.priv.captured
        out = [Seg(t, d) for t, d in cap if d[9] == 6]
        cap.clear()
        return out

    def next_sent(self, limit: float = 600.0):
        """Run the clock until the stack sends something; that segment (or None)."""
        cap = self.dev.priv.captured
        self.sim.run(until=self.now() + limit, stop=lambda: bool(cap))
        if not cap:
            return None
        t, d = cap.pop(0)
        return Seg(t, d)

    # sockets (the World Host's syscalls)
    def socket(self) -> int:
        return self.host.socket(AF_INET, SOCK_STREAM)

    def listen(self, port: int = 8080, backlog: int = 128, opts=()) -> int:
        fd = self.socket()
        for level, name, val in opts:
            self.host.setsockopt(fd, level, name, val)
        self.host.bind(fd, (LOCAL, port))
        self.host.listen(fd, backlog)
        return fd

    def sock(self, fd):
        return self.host.sock(fd)

    def timers(self):
        return self.net.timers.pending_timers()


class SegmentFactory:
    """Builds packets from REMOTE:rport to LOCAL:lport."""

    def __init__(self, bed: TcpTestbed = None, rport: int = REMOTE_PORT, lport: int = 8080,
                 saddr: str = REMOTE, daddr: str = LOCAL):
        self.bed = bed
        self.rport = rport
        self.lport = lport
        self.saddr = in_aton(saddr)
        self.daddr = in_aton(daddr)
        self.ipid = 1

    @staticmethod
    def syn_opts(mss=1460, sack=True, ts=None, wscale=7):
        return tcp_options_write(mss=mss, sack_ok=sack, ts=ts, wscale=wscale)

    def tcp(self, flags: str, seq: int = 0, ack: int = 0, win: int = 65535, opts=None,
            payload: bytes = b"", options: bytes = None, bad_csum: bool = False, doff: int = None,
            ttl: int = 64, tos: int = 0, urg: int = 0, sport: int = None, dport: int = None) -> bytes:
        if options is None:
            options = encode_options(opts) if opts else b""
        th = struct.pack("!HHIIBBHHH", self.rport if sport is None else sport,
                         self.lport if dport is None else dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                         ((doff if doff is not None else 5 + len(options) // 4) << 4), flags_of(flags),
                         win, 0, urg)
        seg = bytearray(th + options + payload)
        c = csum_fold(self.saddr + self.daddr + len(seg) + 6 + csum_partial(seg))
        if bad_csum:
            c ^= 0x5555
        struct.pack_into("!H", seg, 16, c)
        total = 20 + len(seg)
        ip = bytearray(struct.pack("!BBHHHBBHII", 0x45, tos, total, self.ipid, 0x4000, ttl, 6, 0,
                                   self.saddr, self.daddr))
        self.ipid += 1
        struct.pack_into("!H", ip, 10, ip_fast_csum(bytes(ip)))
        return bytes(ip + seg)

    def inject(self, *args, **kw) -> None:
        self.bed.inject(self.tcp(*args, **kw))


# --- state builders (smoltcp's socket_established() idea) -----------------------------------
class Conn:
    """A connection between the scripted remote and a kstack socket, with both sides'
    next sequence numbers tracked: ``rnxt`` (the remote's next byte) and ``lnxt`` (kstack's
    next byte, what the remote acks)."""

    def __init__(self, bed, f, fd, rnxt, lnxt, win=65535, ts=None, listener=None):
        self.bed = bed
        self.f = f
        self.fd = fd
        self.rnxt = rnxt & 0xFFFFFFFF
        self.lnxt = lnxt & 0xFFFFFFFF
        self.win = win
        self.ts = ts              # remote's TS val (None: no timestamps)
        self.listener = listener

    @property
    def sk(self):
        return self.bed.sock(self.fd)

    def opts(self, tsecr=0):
        if self.ts is None:
            return None
        self.ts += 1
        return [("nop", None), ("nop", None), ("TS", (self.ts, tsecr))]

    def seg(self, flags=".", payload=b"", seq=None, ack=None, win=None, opts=None, **kw):
        """Inject a segment from the remote (seq/ack default to the tracked values)."""
        s = self.rnxt if seq is None else seq
        a = self.lnxt if ack is None else ack
        if opts is None and self.ts is not None:
            opts = self.opts(self.last_tsval())
        self.f.inject(flags, seq=s, ack=a, win=self.win if win is None else win, opts=opts,
                      payload=payload, **kw)
        if seq is None:
            self.rnxt = (s + len(payload) + ("S" in flags) + ("F" in flags)) & 0xFFFFFFFF

    def last_tsval(self):
        return getattr(self, "_last_tsval", 0)

    def sent(self):
        out = self.bed.sent()
        for s in out:
            ts = s.th.opt("TS")
            if ts:
                self._last_tsval = ts[0]
        return out

    def send(self, data: bytes, flags: int = 0) -> int:
        return self.bed.host.send(self.fd, data, flags)

    def recv(self, n: int = 65536, flags: int = 0) -> bytes:
        from kstack.core.sock import MSG_DONTWAIT
        return self.bed.host.recv(self.fd, n, flags | MSG_DONTWAIT)


REMOTE_ISN = 1000


def passive_open(bed, f=None, port=8080, mss=1460, sack=True, wscale=7, ts=None, win=65535,
                 backlog=128, listen_opts=()):
    """listen(), the remote's SYN, our SYN-ACK, the remote's ACK, accept(). Returns
    (Conn, synack Seg)."""
    f = f or SegmentFactory(bed, lport=port)
    ls = bed.listen(port, backlog, listen_opts)
    opts = tcp_options_write(mss=mss, sack_ok=sack, ts=(ts, 0) if ts is not None else None,
                             wscale=wscale)
    f.inject("S", seq=REMOTE_ISN, win=win, opts=opts)
    (synack,) = bed.sent()
    c = Conn(bed, f, None, REMOTE_ISN + 1, synack.seq + 1, win=min(win, 65535), ts=ts,
             listener=ls)
    if ts is not None:
        c._last_tsval = synack.th.opt("TS")[0]
    c.seg(".")
    c.fd, _ = bed.host.accept(ls)
    return c, synack


def active_open(bed, f=None, port=80, mss=1460, sack=True, wscale=7, ts=None, win=65535,
                opts_before=()):
    """connect() (nonblocking), the SYN, the remote's SYN-ACK, our ACK. Returns (Conn, syn Seg)."""
    from kstack.core.sock import MSG_DONTWAIT  # noqa: F401
    fd = bed.socket()
    for lvl, name, val in opts_before:
        bed.host.setsockopt(fd, lvl, name, val)
    r = bed.host._call("connect", fd, (REMOTE, port), block=False)
    (syn,) = bed.sent()
    f = f or SegmentFactory(bed, rport=port, lport=syn.th.source)
    opts = tcp_options_write(mss=mss, sack_ok=sack,
                             ts=(ts, (syn.th.opt("TS") or (0, 0))[0]) if ts is not None else None,
                             wscale=wscale)
    f.inject("S.", seq=REMOTE_ISN, ack=syn.seq + 1, win=win, opts=opts)
    from kstack.core.wait import Blocked
    if isinstance(r, Blocked):
        r = r.retry()
    assert r == 0, r
    c = Conn(bed, f, fd, REMOTE_ISN + 1, syn.seq + 1, win=win, ts=ts)
    return c, syn
