"""net/ipv4/ip_forward.py: TTL decrement with the incremental checksum, the MTU rule, the
FORWARD hook. ICMP time exceeded / frag needed need routes: test_net_ipv4_e2e.py."""
import random

import pytest

from kstack.core.dropreason import SkbDropReason
from kstack.core.dst import DstEntry
from kstack.core.netdevice import NET_RX_DROP
from kstack.core.skbuff import PACKET_BROADCAST, skb_clone, skb_from_bytes
from kstack.init import net_create
from kstack.net.ipv4.ip_forward import ip_decrease_ttl, ip_exceeds_mtu, ip_forward, rt_tos2priority
from kstack.net.ipv4.ip_input import IPSKB_FORWARDED, InetSkbParm
from kstack.net.netfilter.core import NF_DROP, NF_INET_FORWARD, NFPROTO_IPV4, NfHookOps, nf_register_net_hook
from kstack.wire.checksum import ip_fast_csum
from kstack.wire.iphdr import IpHdr
from tests.lib.hosts import ip_net


@pytest.fixture
def net():
    return ip_net("fwd")


class FwdRt(DstEntry):
    __slots__ = ("rt_type", "rt_flags", "rt_is_input", "rt_iif", "rt_uses_gateway", "sent")

    def __init__(self, dev):
        super().__init__(dev=dev)
        self.input = ip_forward
        self.rt_type = 1
        self.rt_flags = 0
        self.rt_is_input = True
        self.rt_iif = 0
        self.rt_uses_gateway = 1
        self.sent = []
        self.output = lambda net, sk, skb: self.sent.append(skb) or 0


@pytest.fixture
def ifaces(net):
    from kstack.drivers.net.veth import veth_newlink
    peer = net_create(name="peer")
    a, _ = veth_newlink(net, "eth0", peer, "p0")
    b, _ = veth_newlink(net, "eth1", peer, "p1")
    return a, b


def packet(net, dev, out, ttl=64, size=100, df=False, tos=0):
    ip = IpHdr(saddr=0x0A000102, daddr=0x0A000202, protocol=17, tot_len=20 + size, ttl=ttl,
               frag_off=0x4000 if df else 0, tos=tos, id=1234)
    ip.fill_check()
    skb = skb_from_bytes(ip.to_bytes() + bytes(size), 32)
    skb.network_header = skb.data
    skb.transport_header = skb.data + 20
    skb.dev = dev
    skb.cb = InetSkbParm(dev.ifindex)
    skb._dst = FwdRt(out)
    return skb


def test_decrease_ttl_keeps_checksum_valid():
    rng = random.Random(5)
    for _ in range(3000):
        hdr = bytearray(rng.randbytes(20))
        hdr[0] = 0x45
        hdr[8] = rng.randint(2, 255)
        hdr[10] = hdr[11] = 0
        c = ip_fast_csum(hdr)
        hdr[10], hdr[11] = c >> 8, c & 0xFF
        ttl = hdr[8]
        assert ip_decrease_ttl(hdr, 0) == ttl - 1 == hdr[8]
        assert ip_fast_csum(hdr) == 0


def test_tos2prio():
    assert [rt_tos2priority(t << 1) for t in range(16)] == [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4]
    assert rt_tos2priority(0x10) == 6      # IPTOS_LOWDELAY -> TC_PRIO_INTERACTIVE


def test_forward_decrements_and_counts(net, ifaces):
    a, b = ifaces
    skb = packet(net, a, b, ttl=9, tos=0x10)
    ip_forward(skb)
    rt = skb._dst
    assert rt.sent == [skb]
    h = IpHdr.parse(skb.head, skb.network_header)
    assert h.ttl == 8 and ip_fast_csum(skb.head[skb.network_header:skb.network_header + 20]) == 0
    assert skb.cb.flags & IPSKB_FORWARDED
    assert skb.priority == 6
    assert net.mib.Ip["ForwDatagrams"] == 1


def test_forward_copies_a_shared_header(net, ifaces):
    a, b = ifaces
    skb = packet(net, a, b, ttl=9)
    tap = skb_clone(skb)              # e.g. what a packet socket holds
    skb.users = 2
    ip_forward(skb)
    assert tap.head[tap.network_header + 8] == 9 and skb.head[skb.network_header + 8] == 8


def test_forward_hook_drop(net, ifaces):
    a, b = ifaces
    seen = []
    nf_register_net_hook(net, NfHookOps(lambda p, s, st: seen.append((st.in_, st.out)) or NF_DROP,
                                        NFPROTO_IPV4, NF_INET_FORWARD, 0))
    skb = packet(net, a, b)
    ip_forward(skb)
    assert seen == [(a, b)] and skb._dst.sent == []
    assert skb.drop_reason == SkbDropReason.NETFILTER_DROP and net.mib.Ip["ForwDatagrams"] == 0


def test_only_unicast_frames_are_forwarded(net, ifaces):
    a, b = ifaces
    skb = packet(net, a, b)
    skb.pkt_type = PACKET_BROADCAST
    assert ip_forward(skb) == NET_RX_DROP and skb._dst.sent == []


def test_exceeds_mtu_rules(net, ifaces):
    a, b = ifaces
    assert not ip_exceeds_mtu(packet(net, a, b, size=1480), 1500)
    assert not ip_exceeds_mtu(packet(net, a, b, size=1481), 1500)          # no DF: fragment it
    assert ip_exceeds_mtu(packet(net, a, b, size=1481, df=True), 1500)
    skb = packet(net, a, b, size=1000, df=True)
    skb.cb.frag_max_size = 1400                     # reassembled from 1400-byte DF fragments
    assert ip_exceeds_mtu(skb, 900)


def test_big_packet_without_df_is_fragmented_on_output(net, ifaces):
    a, b = ifaces
    skb = packet(net, a, b, size=3000)
    ip_forward(skb)
    assert skb._dst.sent == [skb]         # ip_output (here the collector) does the cutting
