"""net/ipv4/ip_input.py: ip_rcv_core's checks and counters, local delivery, options.

Frames are hand-built. Where a route is needed and the test is about IP input itself,
the skb carries a prebuilt input route (what loopback delivers: the output route's dst
with input = ip_local_deliver), so ip_rcv_finish does not consult the FIB.
"""
import pytest

from kstack.core.dropreason import SkbDropReason
from kstack.core.dst import DstEntry
from kstack.core.netdevice import NET_RX_DROP
from kstack.core.skbuff import (CHECKSUM_UNNECESSARY, PACKET_OTHERHOST, SkBuff, skb_from_bytes)
from kstack.net.ipv4.ip_input import (InetSkbParm, ip_local_deliver, ip_rcv, ip_rcv_core,
                                      __ip_options_compile, IpOptions)
from kstack.net.ipv4.protocol import NetProtocol, inet_add_protocol, inet_del_protocol, inet_protos
from kstack.net.netfilter.core import (NF_DROP, NF_INET_LOCAL_IN, NF_INET_PRE_ROUTING, NFPROTO_IPV4,
                                       NfHookOps, nf_register_net_hook)
from kstack.wire.iphdr import IpHdr
from tests.lib.hosts import ip_net

SRC = 0x0A000001
DST = 0x0A000002
TESTPROTO = 253       # RFC 3692 experimentation


@pytest.fixture
def net():
    return ip_net("ipin")


class LocalRt(DstEntry):
    """A local input route as loopback leaves it on the skb (RTN_LOCAL, RTCF_LOCAL)."""
    __slots__ = ("rt_type", "rt_flags", "rt_is_input", "rt_iif", "rt_uses_gateway")

    def __init__(self, dev):
        super().__init__(dev=dev)
        self.input = ip_local_deliver
        self.rt_type = 2
        self.rt_flags = 0x80000000
        self.rt_is_input = True
        self.rt_iif = dev.ifindex
        self.rt_uses_gateway = 0


@pytest.fixture
def proto():
    got = []

    def handler(skb):
        got.append((skb, bytes(skb.head[skb.data:skb.tail])))
        from kstack.core.skbuff import consume_skb
        consume_skb(skb)
        return 0

    p = NetProtocol(handler)
    assert inet_add_protocol(p, TESTPROTO) == 0
    yield got
    inet_del_protocol(p, TESTPROTO)


def datagram(payload=b"hello", proto=TESTPROTO, options=b"", tot_len=None, frag_off=0, ident=7,
             tos=0, version=4, ihl=None, bad_csum=False, ttl=64):
    ip = IpHdr(saddr=SRC, daddr=DST, protocol=proto, id=ident, frag_off=frag_off, tos=tos, ttl=ttl,
               options=options, version=version, ihl=ihl)
    ip.tot_len = (ip.ihl * 4 + len(payload)) if tot_len is None else tot_len
    ip.fill_check()
    if bad_csum:
        ip.check ^= 0x0101
    return ip.to_bytes() + payload


def rx(net, raw, route=True, pkt_type=0, ip_summed=0):
    skb = skb_from_bytes(raw, 32)
    skb.dev = net.loopback_dev
    skb.protocol = 0x0800
    skb.pkt_type = pkt_type
    skb.ip_summed = ip_summed
    skb.skb_iif = net.loopback_dev.ifindex      # as __netif_receive_skb_core sets it
    if route:
        skb._dst = LocalRt(net.loopback_dev)
    return ip_rcv(skb, net.loopback_dev, None, None), skb


def test_delivery_to_protocol_handler(net, proto):
    rx(net, datagram(b"payload!"))
    assert len(proto) == 1
    skb, data = proto[0]
    assert data == b"payload!"
    assert skb.transport_header == skb.network_header + 20 == skb.data
    assert isinstance(skb.cb, InetSkbParm) and skb.cb.iif == net.loopback_dev.ifindex
    ip = net.mib.Ip
    assert (ip["InReceives"], ip["InDelivers"], ip["InHdrErrors"]) == (1, 1, 0)
    assert net.mib.IpExt["InOctets"] == 28 and net.mib.IpExt["InNoECTPkts"] == 1
    assert net.drop_reasons == {}


def test_padding_is_trimmed(net, proto):
    rx(net, datagram(b"abc") + b"\x00" * 20)      # Ethernet pads short frames
    assert proto[0][1] == b"abc"


@pytest.mark.parametrize("raw,reason,counter", [
    (b"\x45\x00\x00", SkbDropReason.IP_INHDR, "InHdrErrors"),                 # < 20 bytes
    (datagram(version=6), SkbDropReason.IP_INHDR, "InHdrErrors"),
    (datagram(ihl=4), SkbDropReason.IP_INHDR, "InHdrErrors"),
    (datagram(ihl=15), SkbDropReason.IP_INHDR, "InHdrErrors"),               # header beyond the data
    (datagram(tot_len=19), SkbDropReason.IP_INHDR, "InHdrErrors"),
    (datagram(b"abc", tot_len=100), SkbDropReason.PKT_TOO_SMALL, "InTruncatedPkts"),
])
def test_bad_headers(net, proto, raw, reason, counter):
    r, skb = rx(net, raw)
    assert r == NET_RX_DROP and proto == []
    assert net.drop_reasons == {reason: 1}
    assert net.mib.Ip["InReceives"] == 1
    assert (net.mib.Ip.get(counter) or net.mib.IpExt.get(counter)) == 1


def test_bad_checksum_counts_both(net, proto):
    rx(net, datagram(bad_csum=True))
    assert net.drop_reasons == {SkbDropReason.IP_CSUM: 1}
    assert net.mib.IpExt["InCsumErrors"] == 1 and net.mib.Ip["InHdrErrors"] == 1


def test_header_checksum_checked_even_if_unnecessary(net, proto):
    # Linux's ip_rcv_core always runs ip_fast_csum; ip_summed speaks for L4 only.
    rx(net, datagram(bad_csum=True), ip_summed=CHECKSUM_UNNECESSARY)
    assert net.drop_reasons == {SkbDropReason.IP_CSUM: 1} and proto == []


def test_otherhost_dropped_before_counting(net, proto):
    r, _ = rx(net, datagram(), pkt_type=PACKET_OTHERHOST)
    assert r == NET_RX_DROP
    assert net.drop_reasons == {SkbDropReason.OTHERHOST: 1}
    assert net.mib.Ip["InReceives"] == 0


def test_ecn_counters(net, proto):
    for tos in (0, 1, 2, 3):
        rx(net, datagram(tos=tos))
    ext = net.mib.IpExt
    assert (ext["InNoECTPkts"], ext["InECT1Pkts"], ext["InECT0Pkts"], ext["InCEPkts"]) == (1, 1, 1, 1)


def test_netfilter_pre_routing_and_local_in(net, proto):
    ops = NfHookOps(lambda p, s, st: NF_DROP, NFPROTO_IPV4, NF_INET_LOCAL_IN, 0)
    nf_register_net_hook(net, ops)
    rx(net, datagram())
    assert proto == [] and net.drop_reasons == {SkbDropReason.NETFILTER_DROP: 1}
    seen = []
    nf_register_net_hook(net, NfHookOps(lambda p, s, st: seen.append(st.in_) or NF_DROP, NFPROTO_IPV4,
                                        NF_INET_PRE_ROUTING, 0))
    rx(net, datagram())
    assert seen == [net.loopback_dev]
    assert net.drop_reasons == {SkbDropReason.NETFILTER_DROP: 2}


def test_resubmit_negative_return(net, proto):
    def encap(skb):
        return -TESTPROTO

    p = NetProtocol(encap)
    inet_add_protocol(p, 252)
    try:
        rx(net, datagram(proto=252))
    finally:
        inet_del_protocol(p, 252)
    assert len(proto) == 1 and net.mib.Ip["InDelivers"] == 1


def test_fragments_reassembled_before_local_in(net, proto):
    seen = []
    nf_register_net_hook(net, NfHookOps(lambda p, s, st: seen.append(s.len) or 1, NFPROTO_IPV4,
                                        NF_INET_LOCAL_IN, 0))
    data = bytes(range(200)) * 10
    rx(net, datagram(data[:1000], frag_off=0x2000 | 0, ident=99))
    rx(net, datagram(data[1000:], frag_off=1000 // 8, ident=99))
    assert len(proto) == 1 and proto[0][1] == data
    assert seen == [20 + 2000]            # LOCAL_IN sees the whole datagram once
    ip = net.mib.Ip
    assert (ip["InReceives"], ip["ReasmReqds"], ip["ReasmOKs"], ip["InDelivers"]) == (2, 2, 1, 1)


def test_protocol_table_semantics():
    p = NetProtocol(lambda skb: 0)
    assert inet_add_protocol(p, 250) == 0
    assert inet_add_protocol(NetProtocol(lambda skb: 0), 250) == -1
    assert inet_protos[250] is p
    assert inet_del_protocol(NetProtocol(lambda skb: 0), 250) == -1
    assert inet_del_protocol(p, 250) == 0 and inet_protos[250] is None


# --- options -------------------------------------------------------------------------------
def _compile(options):
    raw = bytearray(datagram(options=options))
    opt = IpOptions((raw[0] & 15) * 4 - 20)
    return __ip_options_compile(None, opt, None, raw, 0), opt


@pytest.mark.parametrize("options,ok,pointer", [
    (b"\x01\x01\x01\x00", True, 0),                          # NOOPs and END
    (b"\x94\x04\x00\x00", True, 0),                          # router alert
    (b"\x07\x07\x04\x00\x00\x00\x00\x00", True, 0),          # record route, room for one
    (b"\x07\x02\x04\x00", False, 21),                        # RR too short: pointer at its length
    (b"\x07\x07\x03\x00\x00\x00\x00\x00", False, 22),        # RR pointer < 4
    (b"\x83\x07\x04\x0a\x00\x00\x01\x00", True, 0),          # LSRR one hop
    (b"\x44\x08\x05\x00\x00\x00\x00\x00", True, 0),          # timestamp, one slot
    (b"\x44\x03\x05\x00", False, 21),                        # timestamp shorter than 4
    (b"\x07\x09\x04\x00", False, 20),                        # length beyond the options
])
def test_options_compile(options, ok, pointer):
    (ret, info), opt = _compile(options)
    if ok:
        assert ret == 0
    else:
        assert ret < 0 and info >> 24 == pointer


def test_source_route_dropped_by_default(net, proto):
    r, _ = rx(net, datagram(options=b"\x83\x07\x04\x0a\x00\x00\x01\x00"))
    assert r == NET_RX_DROP and proto == []


def test_valid_options_delivered(net, proto):
    rx(net, datagram(b"x", options=b"\x94\x04\x00\x00"))
    assert len(proto) == 1 and proto[0][1] == b"x"
    assert proto[0][0].cb.opt.router_alert == 20
