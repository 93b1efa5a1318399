"""IPv4 end to end, in process: hosts on veth links in a Sim, real routing, ARP and ICMP.

    A 10.0.1.2 --eth0-- 10.0.1.1 R 10.0.2.1 --eth1-- 10.0.2.2 B

Packets are sent with ip_make_skb/ip_send_skb (and ip_queue_xmit for a TCP-shaped
socket) and observed with netfilter LOCAL_IN hooks, which see every datagram a host
accepts (after reassembly). What Linux does in each case was checked on Linux 6.18 with
the same topology in network namespaces (ping, TTL 1, forwarding off, reassembly
timeout): the echo reply has no DF, errors carry TOS 0xc0 and quote the whole packet,
a router with forwarding off drops silently and counts InAddrErrors.
"""
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kstack.core.dev import dev_open, dev_set_mtu, netif_receive_skb
from kstack.core.dropreason import SkbDropReason
from kstack.core.skbuff import SkBuff, skb_from_bytes
from kstack.core.sock import SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, InetSock
from kstack.core.sysctl import sysctl_set
from kstack.drivers.net.veth import veth_newlink
from kstack.net.ethernet.eth import eth_type_trans
from kstack.net.ipv4 import ip_output as ipo
from kstack.net.ipv4.devinet import inet_rtm_newaddr
from kstack.net.ipv4.fib_frontend import inet_rtm_newroute, rtm_to_fib_config
from kstack.net.ipv4.protocol import NetProtocol, inet_add_protocol, inet_del_protocol
from kstack.net.netfilter.core import (NF_ACCEPT, NF_DROP, NF_INET_FORWARD, NF_INET_LOCAL_IN,
                                       NF_IP_PRI_FIRST, NFPROTO_IPV4, NfHookOps,
                                       nf_register_net_hook)
from kstack.sim import Sim
from kstack.wire.checksum import ip_compute_csum, ip_fast_csum, udp4_csum
from kstack.wire.inet import in_aton
from kstack.wire.iphdr import IpHdr

A_IP, R_IP1, R_IP2, B_IP = (in_aton(a) for a in ("10.0.1.2", "10.0.1.1", "10.0.2.1", "10.0.2.2"))
TESTPROTO = 253


def _boot():
    from kstack import init
    init.start_kernel()
    ipo.ip_init()
    from kstack.net.ipv4.icmp import icmp_init
    icmp_init()


class Capture:
    """LOCAL_IN hook: (ip header, bytes from the IP header) of every accepted datagram."""

    def __init__(self, net):
        self.pkts = []
        nf_register_net_hook(net, NfHookOps(self.hook, NFPROTO_IPV4, NF_INET_LOCAL_IN, NF_IP_PRI_FIRST))

    def hook(self, priv, skb, state):
        raw = bytes(skb.head[skb.network_header:skb.tail])
        self.pkts.append((IpHdr.parse(raw), raw))
        return NF_ACCEPT

    def icmp(self, type_=None):
        out = []
        for h, raw in self.pkts:
            if h.protocol == 1 and (type_ is None or raw[h.ihl * 4] == type_):
                out.append((h, raw[h.ihl * 4:]))
        return out


class World:
    def __init__(self, forwarding=True):
        _boot()
        self.sim = Sim()
        self.A = self.sim.new_net("A")
        self.R = self.sim.new_net("R")
        self.B = self.sim.new_net("B")
        self.a0, self.r0 = veth_newlink(self.A, "eth0", self.R, "eth0")
        self.r1, self.b0 = veth_newlink(self.R, "eth1", self.B, "eth0")
        for d in (self.a0, self.r0, self.r1, self.b0):
            assert dev_open(d) == 0
        assert inet_rtm_newaddr(self.A, "eth0", "10.0.1.2", 24) == 0
        assert inet_rtm_newaddr(self.R, "eth0", "10.0.1.1", 24) == 0
        assert inet_rtm_newaddr(self.R, "eth1", "10.0.2.1", 24) == 0
        assert inet_rtm_newaddr(self.B, "eth0", "10.0.2.2", 24) == 0
        for net, gw in ((self.A, "10.0.1.1"), (self.B, "10.0.2.1")):
            cfg = rtm_to_fib_config(net, {"dst": "default", "gateway": gw, "dev": "eth0"})
            assert inet_rtm_newroute(net, cfg) == 0
        if forwarding:
            assert sysctl_set(self.R, "net.ipv4.ip_forward", "1") == 0
        self.cap = {n.name: Capture(n) for n in (self.A, self.R, self.B)}

    def run(self, seconds=1.0):
        self.sim.run(duration=seconds)

    def clean(self):
        for n in (self.A, self.R, self.B):
            assert n.bugs == [], (n.name, n.bugs)


@pytest.fixture
def w():
    world = World()
    yield world
    world.clean()


def sock(net, proto, type_=SOCK_RAW, pmtudisc=ipo.IP_PMTUDISC_WANT, ttl=-1, tos=0):
    sk = InetSock(net)
    sk.sk_type = type_
    sk.sk_protocol = proto
    sk.pmtudisc = pmtudisc
    sk.uc_ttl = ttl
    sk.tos = tos
    return sk


def send(net, daddr, proto, payload, transhdr=b"", **kw):
    """A datagram from a socket-shaped sender: route, ip_make_skb, ip_send_skb."""
    sk = sock(net, proto, **kw)
    fl4 = ipo.flowi4(daddr, 0, sk.tos, proto)
    rt = ipo._routing().ip_route_output_key(net, fl4)
    assert not isinstance(rt, int), rt
    skb = ipo.ip_make_skb(sk, fl4, payload, len(transhdr), None, rt)
    if isinstance(skb, int):
        return skb
    if transhdr:
        th = skb.transport_header
        skb.head[th:th + len(transhdr)] = transhdr
    return ipo.ip_send_skb(net, skb)


def echo(ident=0x1234, seq=1, data=b"abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRST"):
    m = bytearray(struct.pack("!BBHHH", 8, 0, 0, ident, seq) + data)
    c = ip_compute_csum(m)
    m[2], m[3] = c >> 8, c & 0xFF
    return bytes(m)


def udp(saddr, daddr, sport, dport, data):
    h = bytearray(struct.pack("!HHHH", sport, dport, 8 + len(data), 0))
    c = udp4_csum(saddr, daddr, bytes(h) + data)
    h[6], h[7] = c >> 8, c & 0xFF
    return bytes(h)


# --- ping --------------------------------------------------------------------------------------
def test_ping_neighbour(w):
    msg = echo(seq=7)
    assert send(w.A, R_IP1, 1, msg) == 0
    w.run()
    replies = w.cap["A"].icmp(0)
    assert len(replies) == 1
    h, icmp = replies[0]
    assert (h.saddr, h.daddr, h.ttl, h.df) == (R_IP1, A_IP, 64, False)   # Linux: no DF on replies
    assert icmp[4:] == msg[4:] and ip_compute_csum(icmp) == 0
    assert w.A.mib.Icmp["OutEchos"] == 1 and w.A.mib.Icmp["InEchoReps"] == 1
    assert w.R.mib.Icmp["InEchos"] == 1 and w.R.mib.Icmp["OutEchoReps"] == 1
    assert w.R.mib.IcmpMsg == {"InType8": 1, "OutType0": 1}
    assert w.A.mib.Ip["OutRequests"] == 1 and w.A.mib.Ip["OutTransmits"] == 1
    assert w.R.mib.Ip["InReceives"] == 1 and w.R.mib.Ip["InDelivers"] == 1


def test_ping_through_router(w):
    assert send(w.A, B_IP, 1, echo()) == 0
    w.run()
    (h, icmp), = w.cap["A"].icmp(0)
    assert h.saddr == B_IP and h.ttl == 63
    assert w.R.mib.Ip["ForwDatagrams"] == 2
    assert w.R.mib.Ip["InDelivers"] == 0
    (hb, _), = w.cap["B"].icmp(8)
    assert hb.ttl == 63 and hb.saddr == A_IP


def test_forwarding_off_drops_silently():
    w = World(forwarding=False)
    assert send(w.A, B_IP, 1, echo()) == 0
    w.run()
    assert w.R.mib.Ip["InAddrErrors"] == 1
    assert w.R.drop_reasons == {SkbDropReason.IP_INADDRERRORS: 1}
    assert w.A.mib.Icmp["InMsgs"] == 0 and w.cap["A"].pkts == []
    assert w.B.mib.Ip["InReceives"] == 0
    assert w.R.mib.Icmp["OutMsgs"] == 0
    w.clean()


def test_ttl_expires_at_router(w):
    msg = echo()
    assert send(w.A, B_IP, 1, msg, ttl=1) == 0
    w.run()
    (h, icmp), = w.cap["A"].icmp(11)
    assert (h.saddr, h.tos, icmp[1], h.df) == (R_IP1, 0xC0, 0, False)
    quoted = IpHdr.parse(icmp[8:])
    assert (quoted.saddr, quoted.daddr, quoted.ttl, quoted.tot_len) == (A_IP, B_IP, 1, 20 + len(msg))
    assert icmp[28:] == msg          # the whole datagram is quoted (fits in 576 bytes)
    assert w.R.mib.Ip["InHdrErrors"] == 1 and w.R.mib.Icmp["OutTimeExcds"] == 1
    assert w.R.drop_reasons == {SkbDropReason.IP_INHDR: 1}
    assert w.B.mib.Ip["InReceives"] == 0
    assert w.A.mib.Icmp["InTimeExcds"] == 1


def test_echo_ignore_all(w):
    sysctl_set(w.R, "net.ipv4.icmp_echo_ignore_all", "1")
    send(w.A, R_IP1, 1, echo())
    w.run()
    assert w.cap["A"].icmp(0) == []
    assert w.R.mib.Icmp["InEchos"] == 1 and w.R.mib.Icmp["OutEchoReps"] == 0


def test_broadcast_echo_ignored_unless_enabled(w):
    bcast = in_aton("10.0.1.255")
    send(w.A, bcast, 1, echo(seq=1))
    w.run()
    assert w.cap["A"].icmp(0) == []
    assert w.R.drop_reasons.get(SkbDropReason.INVALID_PROTO) == 1
    sysctl_set(w.R, "net.ipv4.icmp_echo_ignore_broadcasts", "0")
    send(w.A, bcast, 1, echo(seq=2))
    w.run()
    (h, icmp), = [r for r in w.cap["A"].icmp(0) if r[0].saddr == R_IP1]
    assert h.daddr == A_IP


def test_unknown_protocol_gets_protocol_unreachable(w):
    send(w.A, R_IP1, TESTPROTO, b"x" * 30)
    w.run()
    (h, icmp), = w.cap["A"].icmp(3)
    assert icmp[1] == 2 and h.saddr == R_IP1
    assert IpHdr.parse(icmp[8:]).protocol == TESTPROTO
    assert w.R.mib.Ip["InUnknownProtos"] == 1
    assert w.R.drop_reasons == {SkbDropReason.IP_NOPROTO: 1}


def test_ping_self_and_localhost(w):
    for dst in (A_IP, in_aton("127.0.0.1")):
        assert send(w.A, dst, 1, echo(seq=dst & 0xFF)) == 0
    w.run()
    replies = [(h.saddr, h.daddr) for h, _ in w.cap["A"].icmp(0)]
    assert replies == [(A_IP, A_IP), (in_aton("127.0.0.1"), in_aton("127.0.0.1"))]
    assert w.A.mib.Ip["OutTransmits"] == 4 and w.a0.stats.tx_packets == 0
    # A big datagram to ourselves needs no fragmentation (lo's MTU is 65536).
    data, hdr = _udp20000()
    assert send(w.A, A_IP, 17, data, transhdr=udp(A_IP, A_IP, 1, 9999, data), type_=SOCK_DGRAM) == 0
    w.run()
    assert w.A.mib.Ip["FragCreates"] == 0 and w.A.mib.Udp["NoPorts"] == 1


def test_no_error_about_an_icmp_error_or_a_later_fragment(w):
    # An ICMP error with TTL 1: the router drops it without a time exceeded (RFC 1122 §3.2.2).
    err = bytearray([3, 1, 0, 0, 0, 0, 0, 0]) + _ip_hdr(B_IP, A_IP, 17) + bytes(8)
    c = ip_compute_csum(err)
    err[2], err[3] = c >> 8, c & 0xFF
    send(w.A, B_IP, 1, bytes(err), ttl=1)
    # A non-first fragment with TTL 1: no reply either (only fragment 0 gets one).
    sk = sock(w.A, TESTPROTO, ttl=1, pmtudisc=ipo.IP_PMTUDISC_DONT)
    fl4 = ipo.flowi4(B_IP, 0, 0, TESTPROTO)
    rt = ipo._routing().ip_route_output_key(w.A, fl4)
    skb = ipo.ip_make_skb(sk, fl4, b"x" * 16, 0, None, rt)
    skb.head[skb.network_header + 7] = 2           # offset 16 bytes
    ipo.ip_send_skb(w.A, skb)
    w.run()
    assert w.R.mib.Ip["InHdrErrors"] == 2
    assert w.R.mib.Icmp["OutMsgs"] == 0 and w.cap["A"].pkts == []
    # An echo (a query, not an error) with TTL 1 does get one.
    send(w.A, B_IP, 1, echo(), ttl=1)
    w.run()
    assert w.R.mib.Icmp["OutTimeExcds"] == 1


def test_no_error_about_a_link_layer_broadcast(w):
    # A unicast IP datagram in an Ethernet broadcast frame, with TTL 1, to the router.
    ip = bytearray(_ip_hdr(A_IP, B_IP, TESTPROTO, ttl=1, payload=b"abcd"))
    frame = b"\xff" * 6 + w.a0.dev_addr + b"\x08\x00" + bytes(ip)
    skb = skb_from_bytes(frame, 32)
    eth_type_trans(skb, w.r0)
    netif_receive_skb(skb)
    w.run()
    assert w.R.mib.Ip["InReceives"] == 1
    assert w.R.mib.Icmp["OutMsgs"] == 0


def _ip_hdr(saddr, daddr, proto, ttl=64, payload=b""):
    h = IpHdr(saddr=saddr, daddr=daddr, protocol=proto, ttl=ttl, tot_len=20 + len(payload))
    h.fill_check()
    return h.to_bytes() + payload


# --- fragmentation -----------------------------------------------------------------------------
def _udp20000():
    data = bytes((i * 13 + 5) & 0xFF for i in range(20000))
    return data, udp(A_IP, B_IP, 40000, 9999, data)


def test_fragmented_udp_through_router(w):
    data, hdr = _udp20000()
    assert send(w.A, B_IP, 17, data, transhdr=hdr, type_=SOCK_DGRAM) == 0
    w.run()
    got = [(h, raw) for h, raw in w.cap["B"].pkts if h.protocol == 17]
    assert len(got) == 1
    h, raw = got[0]
    assert h.tot_len == 20028 and not h.is_fragment()
    assert raw[20:28] == hdr and raw[28:] == data
    ip = w.A.mib.Ip
    assert (ip["FragOKs"], ip["FragCreates"], ip["OutRequests"], ip["OutTransmits"]) == (1, 14, 1, 14)
    assert w.R.mib.Ip["ForwDatagrams"] == 14 + 1        # and the port unreachable going back
    b = w.B.mib.Ip
    assert (b["InReceives"], b["ReasmReqds"], b["ReasmOKs"], b["ReasmFails"]) == (14, 14, 1, 0)
    # Nobody listens on port 9999: B answers with port unreachable, quoting the first fragment.
    assert w.B.mib.Udp["NoPorts"] == 1
    (hi, icmp), = w.cap["A"].icmp(3)
    assert icmp[1] == 3 and hi.saddr == B_IP


def test_lost_fragment_times_out(w):
    dropped = []

    def drop_second(priv, skb, state):
        h = skb.head
        nh = skb.network_header
        if h[nh + 9] == 17 and ((h[nh + 6] << 8 | h[nh + 7]) & 0x1FFF) == 1480 // 8:
            dropped.append(1)
            return NF_DROP
        return NF_ACCEPT

    nf_register_net_hook(w.R, NfHookOps(drop_second, NFPROTO_IPV4, NF_INET_FORWARD, 0))
    data, hdr = _udp20000()
    send(w.A, B_IP, 17, data, transhdr=hdr, type_=SOCK_DGRAM)
    w.run(1.0)
    assert dropped == [1]
    assert w.B.mib.Ip["ReasmReqds"] == 13 and w.B.mib.Ip["ReasmTimeout"] == 0
    w.run(28.0)
    assert w.B.mib.Ip["ReasmTimeout"] == 0 and w.cap["A"].icmp(11) == []
    w.run(2.0)
    b = w.B.mib.Ip
    assert (b["ReasmTimeout"], b["ReasmFails"], b["ReasmOKs"]) == (1, 1, 0)
    # The 12 fragments still queued, then the head after the ICMP error was built.
    assert w.B.drop_reasons == {SkbDropReason.FRAG_REASM_TIMEOUT: 13}
    (h, icmp), = w.cap["A"].icmp(11)
    assert icmp[1] == 1 and h.saddr == B_IP and h.tos == 0xC0
    quoted = IpHdr.parse(icmp[8:])
    assert quoted.mf and quoted.frag_offset == 0 and quoted.ttl == 63
    assert icmp[28:36] == hdr          # the UDP header of the first fragment
    assert len(icmp) == 8 + 548        # 576 - 20 - 8 bytes of quote
    assert w.B.mib.Icmp["OutTimeExcds"] == 1 and w.A.mib.Icmp["InTimeExcds"] == 1


def test_df_too_big_when_forwarding(w):
    assert dev_set_mtu(w.r1, 1000) == 0
    sk_payload = echo(data=b"p" * 1200)
    assert send(w.A, B_IP, 1, sk_payload, pmtudisc=ipo.IP_PMTUDISC_DO) == 0
    w.run()
    (h, icmp), = w.cap["A"].icmp(3)
    assert icmp[1] == 4 and struct.unpack("!H", icmp[6:8])[0] == 1000 and h.saddr == R_IP1
    assert w.R.mib.Ip["FragFails"] == 1
    assert w.R.drop_reasons == {SkbDropReason.PKT_TOO_BIG: 1}
    assert w.B.mib.Ip["InReceives"] == 0


def test_no_df_is_fragmented_by_the_router(w):
    assert dev_set_mtu(w.r1, 1000) == 0
    msg = echo(data=b"q" * 1200)
    assert send(w.A, B_IP, 1, msg, pmtudisc=ipo.IP_PMTUDISC_DONT) == 0
    w.run()
    assert w.R.mib.Ip["FragOKs"] == 1 and w.R.mib.Ip["FragCreates"] == 2
    assert w.B.mib.Ip["ReasmOKs"] == 1
    (h, icmp), = w.cap["A"].icmp(0)
    assert icmp[8:] == msg[8:]          # the reply came back whole (B fragments it too)


def test_local_sender_df_too_big(w):
    # pmtudisc DO: the datagram API refuses it up front.
    assert send(w.A, B_IP, 17, b"x" * 1473, transhdr=bytes(8), type_=SOCK_DGRAM,
                pmtudisc=ipo.IP_PMTUDISC_DO) == -90
    # A TCP-shaped socket whose segment is bigger than the MTU: ip_fragment refuses it,
    # and the "fragmentation needed" error is delivered back to the sender itself.
    sk = sock(w.A, 6, SOCK_STREAM, ipo.IP_PMTUDISC_DO)
    sk.inet_daddr = B_IP
    sk.inet_saddr = A_IP
    skb = SkBuff(bytearray(128 + 2000), 128, 128 + 2000)
    assert ipo.ip_queue_xmit(sk, skb) == -90
    w.run()
    assert w.A.mib.Ip["FragFails"] == 1
    (h, icmp), = w.cap["A"].icmp(3)
    assert icmp[1] == 4 and struct.unpack("!H", icmp[6:8])[0] == 1500
    assert w.R.mib.Ip["InReceives"] == 0


# --- the socket-facing API ----------------------------------------------------------------------
def test_ip_queue_xmit_tcp_shape(w):
    sk = sock(w.A, 6, SOCK_STREAM, tos=0x10)
    sk.inet_daddr = B_IP
    sk.inet_saddr = A_IP
    sk.inet_id = 500
    for n in range(2):
        skb = SkBuff(bytearray(128 + 20), 128, 148)
        skb.head[128:148] = bytes(20)
        assert ipo.ip_queue_xmit(sk, skb) == 0
    w.run()
    tcp = [h for h, _ in w.cap["B"].pkts if h.protocol == 6]
    assert [(h.id, h.df, h.ttl, h.tos, h.saddr) for h in tcp] == [(500, True, 63, 0x10, A_IP),
                                                                   (501, True, 63, 0x10, A_IP)]
    assert sk.sk_dst_cache is not None


def test_ip_queue_xmit_no_route(w):
    sk = sock(w.B, 6, SOCK_STREAM)
    from kstack.net.ipv4.fib_frontend import fib_flush  # noqa: F401
    sk.inet_daddr = in_aton("192.0.2.1")
    sk.sk_bound_dev_if = 99          # no such device: no route
    skb = SkBuff(bytearray(148), 128, 148)
    assert ipo.ip_queue_xmit(sk, skb) < 0
    assert w.B.mib.Ip["OutNoRoutes"] == 1


def test_build_and_send_and_unicast_reply(w):
    replies = []

    def handler(skb):
        # A reply from the stack itself to what arrived (TCP RST style).
        net = skb.dev.nd_net
        if net is w.B:
            replies.append(ipo.ip_send_unicast_reply(net, skb, b"\x12\x34\x56\x78reply", TESTPROTO, tos=0x10))
        from kstack.core.skbuff import consume_skb
        consume_skb(skb)
        return 0

    p = NetProtocol(handler)
    inet_add_protocol(p, TESTPROTO)
    try:
        sk = sock(w.A, TESTPROTO)
        skb = SkBuff(bytearray(128 + 4), 128, 132)
        skb.head[128:132] = b"ping"
        assert ipo.ip_build_and_send_pkt(skb, sk, A_IP, B_IP) == 0
        w.run()
    finally:
        inet_del_protocol(p, TESTPROTO)
    assert replies == [0]
    (h, raw), = [(h, r) for h, r in w.cap["B"].pkts if h.protocol == TESTPROTO]
    assert raw[20:] == b"ping" and h.df and h.id == 0       # small: DF, no ID (RFC 6864)
    (h, raw), = [(h, r) for h, r in w.cap["A"].pkts if h.protocol == TESTPROTO]
    assert (h.saddr, h.daddr, h.df, h.id, h.tos) == (B_IP, A_IP, True, 0, 0x10)
    assert raw[20:] == b"\x12\x34\x56\x78reply"


# --- rate limits ------------------------------------------------------------------------------
def test_icmp_per_host_rate_limit(w):
    for _ in range(20):
        send(w.A, R_IP1, TESTPROTO, b"z")
    w.run(0.5)
    # A new peer's bucket: a burst of 6 (XRLIM_BURST_FACTOR), the rest limited.
    assert w.R.mib.Icmp["OutDestUnreachs"] == 6 and w.R.mib.Icmp["OutRateLimitHost"] == 14
    assert len(w.cap["A"].icmp(3)) == 6
    # One token per icmp_ratelimit (1000 ms).
    w.run(0.6)
    for _ in range(3):
        send(w.A, R_IP1, TESTPROTO, b"z")
    w.run(0.1)
    assert w.R.mib.Icmp["OutDestUnreachs"] == 7 and w.R.mib.Icmp["OutRateLimitHost"] == 16
    # Echo replies are not rate limited.
    for i in range(20):
        send(w.A, R_IP1, 1, echo(seq=i))
    w.run(0.1)
    assert w.R.mib.Icmp["OutEchoReps"] == 20


def test_icmp_global_rate_limit(w):
    sysctl_set(w.R, "net.ipv4.icmp_ratelimit", "0")      # no per-host bucket
    sysctl_set(w.R, "net.ipv4.icmp_msgs_burst", "5")
    for _ in range(40):
        send(w.A, R_IP1, TESTPROTO, b"z")
    w.run(0.01)
    sent = w.R.mib.Icmp["OutDestUnreachs"]
    limited = w.R.mib.Icmp["OutRateLimitGlobal"]
    assert sent + limited == 40 and limited > 0
    assert 3 <= sent <= 30                 # 5 credits, each message costs 0-2 (mean 1)
    assert w.R.mib.Icmp["OutRateLimitHost"] == 0
    assert len(w.cap["A"].icmp(3)) == sent


def test_ratelimit_sysctl_changes_the_bucket(w):
    sysctl_set(w.R, "net.ipv4.icmp_ratemask", "0")       # nothing limited
    for _ in range(20):
        send(w.A, R_IP1, TESTPROTO, b"z")
    w.run(0.1)
    assert w.R.mib.Icmp["OutDestUnreachs"] == 20


# --- fuzz -----------------------------------------------------------------------------------------
class FuzzWorld:
    """F 10.0.9.1 --eth0-- 10.0.9.2 P. Frames go straight into F's netif_receive_skb.

    Accounting follows the injected skb object itself (what the stack generates in
    reply, e.g. a looped-back broadcast echo reply, is another object): a LOCAL_IN hook
    with the lowest priority sees it just before ip_local_deliver_finish hands it to
    the transport handler, and a tracer sees every kfree_skb with its reason."""

    def __init__(self):
        _boot()
        self.sim = Sim()
        self.F = self.sim.new_net("F")
        self.P = self.sim.new_net("P")
        self.f0, self.p0 = veth_newlink(self.F, "eth0", self.P, "eth0")
        dev_open(self.f0)
        dev_open(self.p0)
        inet_rtm_newaddr(self.F, "eth0", "10.0.9.1", 24)
        inet_rtm_newaddr(self.P, "eth0", "10.0.9.2", 24)
        self.freed = {}
        self.local_in = set()
        self.F.add_tracer(self._tracer)
        nf_register_net_hook(self.F, NfHookOps(self._last_local_in, NFPROTO_IPV4, NF_INET_LOCAL_IN,
                                               2**31 - 1))

    def _tracer(self, net, event, *args):
        if event == "kfree_skb":
            skb, reason = args
            self.freed.setdefault(id(skb), []).append(int(reason))

    def _last_local_in(self, priv, skb, state):
        self.local_in.add(id(skb))
        return NF_ACCEPT


_FW = None


def fuzz_world():
    global _FW
    if _FW is None:
        _FW = FuzzWorld()
    return _FW


def _ip(proto, payload, frag_off=0, options=b"", ident=1, src="10.0.9.2", dst="10.0.9.1"):
    h = IpHdr(saddr=in_aton(src), daddr=in_aton(dst), protocol=proto, id=ident, frag_off=frag_off,
              options=options)
    h.tot_len = h.ihl * 4 + len(payload)
    h.fill_check()
    return h.to_bytes() + payload


def _seeds():
    s = in_aton("10.0.9.2")
    d = in_aton("10.0.9.1")
    data = b"0123456789" * 5
    u = udp(s, d, 1234, 9, data) + data
    frag_u = udp(s, d, 1234, 9, bytes(100)) + bytes(100)
    return [
        _ip(1, echo()),
        _ip(17, u),
        _ip(TESTPROTO, b"hello"),
        _ip(6, bytes(20)),
        _ip(17, frag_u[:64], frag_off=0x2000, ident=77),
        _ip(17, frag_u[64:], frag_off=8, ident=77),
        _ip(1, echo(), options=b"\x94\x04\x00\x00"),
        _ip(1, bytes([3, 3, 0, 0, 0, 0, 0, 0]) + _ip(17, u[:8], src="10.0.9.1", dst="10.0.9.2")),
        _ip(1, bytes([11, 0, 0, 0, 0, 0, 0, 0]) + _ip(6, bytes(8), src="10.0.9.1", dst="10.0.9.2")),
        _ip(1, echo(), src="10.0.9.255"),
    ]


SEEDS = _seeds()


def _fix_csum(ip: bytearray) -> bytearray:
    """Recompute the header checksum so a mutation reaches past ip_rcv_core."""
    if len(ip) >= 20 and ip[0] >> 4 == 4 and 20 <= (ip[0] & 15) * 4 <= len(ip):
        hl = (ip[0] & 15) * 4
        ip[10] = ip[11] = 0
        c = ip_fast_csum(bytes(ip[:hl]))
        ip[10], ip[11] = c >> 8, c & 0xFF
    return ip


@st.composite
def frames(draw):
    kind = draw(st.integers(0, 5))
    if kind >= 4:
        # Mutate (header fields or the payload), then make the IP header checksum right.
        ip = bytearray(draw(st.sampled_from(SEEDS)))
        lo = 0 if kind == 4 else 20
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(lo, len(ip) - 1))
            ip[i] ^= draw(st.integers(1, 255))
        return bytes(_fix_csum(ip))
    if kind == 0:
        ip = bytearray(draw(st.sampled_from(SEEDS)))
        for _ in range(draw(st.integers(1, 6))):
            i = draw(st.integers(0, len(ip) - 1))
            ip[i] ^= draw(st.integers(1, 255))
    elif kind == 1:
        ip = bytearray(draw(st.sampled_from(SEEDS)))
        ip = ip[:draw(st.integers(0, len(ip)))]
    elif kind == 2:
        ip = bytearray(draw(st.sampled_from(SEEDS))) + draw(st.binary(min_size=1, max_size=64))
    else:
        ip = bytearray(draw(st.binary(min_size=0, max_size=120)))
        if ip and draw(st.booleans()):
            ip[0] = 0x45
    return bytes(ip)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames())
def test_fuzz_frames_are_delivered_or_counted(ip):
    """Random and mutated frames never raise, and each one is either handed to a
    transport handler or freed by IP exactly once with a reason the Net counted."""
    fw = fuzz_world()
    F = fw.F
    dev = fw.f0
    frame = dev.dev_addr + fw.p0.dev_addr + b"\x08\x00" + ip
    skb = skb_from_bytes(frame, 32)
    eth_type_trans(skb, dev)
    drops = dict(F.drop_reasons)
    fw.freed.clear()
    fw.local_in.clear()
    netif_receive_skb(skb)
    fw.sim.run(duration=31.0)          # let reassembly queues (and ARP) time out
    assert F.bugs == [] and fw.P.bugs == []
    freed = fw.freed.get(id(skb), [])
    # After LOCAL_IN only an unknown protocol is still IP's to drop.
    delivered = id(skb) in fw.local_in and SkbDropReason.IP_NOPROTO not in freed
    if delivered:
        assert len(freed) <= 1           # a transport handler may drop it in turn
    else:
        assert len(freed) == 1, freed
        reason = freed[0]
        assert reason in SkbDropReason._value2member_map_ and reason != SkbDropReason.CONSUMED
        assert F.drop_reasons.get(reason, 0) > drops.get(reason, 0)
    assert F.ipv4.fqdir.queues == {} and F.ipv4.fqdir.mem == 0


def test_fuzz_seeds_are_valid():
    """The unmutated seeds are good datagrams: each reaches LOCAL_IN (the fragment pair
    after reassembly), so the fuzz starts from frames the stack accepts."""
    fw = fuzz_world()
    fw.local_in.clear()
    hdr_errors = fw.F.mib.Ip["InHdrErrors"]
    reasm = fw.F.mib.Ip["ReasmOKs"]
    skbs = []
    for ip in SEEDS[:9]:
        frame = fw.f0.dev_addr + fw.p0.dev_addr + b"\x08\x00" + ip
        skb = skb_from_bytes(frame, 32)
        eth_type_trans(skb, fw.f0)
        skbs.append(skb)
        netif_receive_skb(skb)
        fw.sim.settle()
    assert fw.F.mib.Ip["InHdrErrors"] == hdr_errors
    assert fw.F.mib.Ip["ReasmOKs"] == reasm + 1
    reached = [id(s) in fw.local_in for s in skbs]
    assert reached == [True, True, True, True, False, True, True, True, True]
    assert fw.F.bugs == []
