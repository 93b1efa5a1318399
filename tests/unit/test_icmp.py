"""net/ipv4/icmp.py and inetpeer.py: receive dispatch, error delivery, the rate limiters.

icmp_rcv is fed hand-built messages carrying a prebuilt input route (the same shape
ip_rcv_finish leaves). Replies and errors need routes; test_net_ipv4_e2e.py sends them.
"""
import pytest

from kstack.core.dropreason import SkbDropReason
from kstack.core.dst import DstEntry
from kstack.core.errno import ECONNREFUSED, EHOSTUNREACH, EMSGSIZE, ENETUNREACH
from kstack.core.netdevice import NET_RX_DROP, NET_RX_SUCCESS
from kstack.core.skbuff import CHECKSUM_UNNECESSARY, skb_from_bytes
from kstack.init import net_create
from kstack.net.ipv4 import icmp
from kstack.net.ipv4.icmp import (icmp_err_convert, icmp_global_allow, icmp_global_consume,
                                  icmp_rcv, icmpv4_global_allow, icmpv4_mask_allow)
from kstack.net.ipv4.inetpeer import (HZ, XRLIM_BURST_FACTOR, InetPeerBase, inet_getpeer_v4,
                                      inet_peer_xrlim_allow)
from kstack.net.ipv4.protocol import NetProtocol, inet_add_protocol, inet_del_protocol
from kstack.wire.checksum import csum_fold, csum_partial
from kstack.wire.iphdr import IpHdr

SRC = 0x0A000001
DST = 0x0A000002


def _boot():
    from kstack import init
    init.start_kernel()
    from kstack.net.ipv4.ip_output import ip_init
    ip_init()
    icmp.icmp_init()


@pytest.fixture
def net():
    _boot()
    return net_create(name="icmp")


class InRt(DstEntry):
    __slots__ = ("rt_type", "rt_flags", "rt_is_input", "rt_iif", "rt_uses_gateway")

    def __init__(self, dev, flags=0x80000000, type_=2):
        super().__init__(dev=dev)
        self.rt_type = type_
        self.rt_flags = flags
        self.rt_is_input = True
        self.rt_iif = dev.ifindex
        self.rt_uses_gateway = 0


def icmp_msg(type_, code, un=0, data=b"", bad=False):
    m = bytearray([type_, code, 0, 0]) + un.to_bytes(4, "big") + data
    c = csum_fold(csum_partial(m))
    m[2], m[3] = c >> 8, c & 0xFF
    if bad:
        m[2] ^= 1
    return bytes(m)


def quoted(proto=17, payload=b"\x12\x34\x00\x35\x00\x10\x00\x00", ihl=None):
    ip = IpHdr(saddr=DST, daddr=SRC, protocol=proto, tot_len=20 + len(payload), ihl=ihl)
    ip.fill_check()
    return ip.to_bytes() + payload


def deliver(net, msg, flags=0x80000000, summed=0):
    """As ip_local_deliver_finish hands it over: data at the ICMP header."""
    outer = IpHdr(saddr=DST, daddr=SRC, protocol=1, tot_len=20 + len(msg)).to_bytes()
    skb = skb_from_bytes(outer + msg, 32)
    skb.network_header = 32
    skb.data = skb.transport_header = 52
    skb.dev = net.loopback_dev
    skb.ip_summed = summed
    skb._dst = InRt(net.loopback_dev, flags)
    return icmp_rcv(skb), skb


@pytest.fixture
def errs():
    got = []

    def err_handler(skb, info):
        got.append((bytes(skb.head[skb.data:skb.tail]), skb.head[skb.transport_header],
                    skb.head[skb.transport_header + 1], info))
        return 0

    p = NetProtocol(lambda skb: 0, err_handler)
    assert inet_add_protocol(p, 253) == 0
    yield got
    inet_del_protocol(p, 253)


def test_err_convert_is_linux():
    assert icmp_err_convert[3] == (ECONNREFUSED, 1)
    assert icmp_err_convert[0] == (ENETUNREACH, 0) and icmp_err_convert[1] == (EHOSTUNREACH, 0)
    assert icmp_err_convert[4] == (EMSGSIZE, 0) and len(icmp_err_convert) == 16


def test_bad_checksum(net):
    r, skb = deliver(net, icmp_msg(8, 0, 1, b"abc", bad=True))
    assert r == NET_RX_DROP and skb.drop_reason == SkbDropReason.ICMP_CSUM
    m = net.mib.Icmp
    assert (m["InMsgs"], m["InErrors"], m["InCsumErrors"]) == (1, 1, 1)
    assert net.mib.IcmpMsg == {}


def test_checksum_not_checked_when_unnecessary(net):
    r, skb = deliver(net, icmp_msg(14, 0, 1, bytes(12), bad=True), summed=CHECKSUM_UNNECESSARY)
    assert r == NET_RX_SUCCESS
    assert net.mib.IcmpMsg == {"InType14": 1} and net.mib.Icmp["InTimestampReps"] == 1


def test_short_and_unknown(net):
    r, skb = deliver(net, b"\xff\xff")         # checksums fine, but shorter than a header
    assert r == NET_RX_DROP and net.mib.Icmp["InErrors"] == 1
    r, skb = deliver(net, icmp_msg(40, 0))
    assert r == NET_RX_DROP and skb.drop_reason == SkbDropReason.UNHANDLED_PROTO
    assert net.mib.Icmp["InErrors"] == 2 and net.mib.IcmpMsg == {"InType40": 1}


def test_extended_echo_consumed_silently(net):
    r, skb = deliver(net, icmp_msg(42, 0, 1, bytes(8)))
    assert r == NET_RX_SUCCESS and net.mib.Icmp["InErrors"] == 0
    assert net.mib.IcmpMsg == {"InType42": 1} and net.mib.Icmp["OutMsgs"] == 0


def test_broadcast_echo_ignored_by_default(net):
    r, skb = deliver(net, icmp_msg(8, 0, 1), flags=0x10000000 | 0x80000000)
    assert r == NET_RX_DROP and skb.drop_reason == SkbDropReason.INVALID_PROTO
    # Only queries may arrive at a broadcast address.
    r, skb = deliver(net, icmp_msg(3, 3, 0, quoted()), flags=0x10000000)
    assert r == NET_RX_DROP and skb.drop_reason == SkbDropReason.INVALID_PROTO
    assert net.mib.Icmp["InErrors"] == 2


def test_unreach_goes_to_the_quoted_protocol(net, errs):
    q = quoted(253)
    r, skb = deliver(net, icmp_msg(3, 3, 0, q))
    assert r == NET_RX_SUCCESS
    assert errs == [(q, 3, 3, 0)]
    assert net.mib.Icmp["InDestUnreachs"] == 1 and net.mib.IcmpMsg == {"InType3": 1}


def test_frag_needed_carries_the_mtu(net, errs):
    deliver(net, icmp_msg(3, 4, 1400, quoted(253)))
    assert errs[0][3] == 1400
    net.ipv4.sysctl_ip_no_pmtu_disc = 1          # ignore the MTU, still deliver the error
    deliver(net, icmp_msg(3, 4, 1400, quoted(253)))
    assert errs[1][3] == 0
    net.ipv4.sysctl_ip_no_pmtu_disc = 2          # do not even deliver
    deliver(net, icmp_msg(3, 4, 1400, quoted(253)))
    assert len(errs) == 2


def test_parameter_problem_pointer_and_time_exceeded(net, errs):
    deliver(net, icmp_msg(12, 0, 9 << 24, quoted(253)))
    assert errs[-1][3] == 9
    deliver(net, icmp_msg(11, 0, 0, quoted(253)))
    assert errs[-1][1:3] == (11, 0)
    # Fragment reassembly timeouts are not passed on.
    deliver(net, icmp_msg(11, 1, 0, quoted(253)))
    assert len(errs) == 2
    assert net.mib.Icmp["InTimeExcds"] == 2 and net.mib.Icmp["InParmProbs"] == 1


def test_quote_too_short_for_handlers(net, errs):
    r, _ = deliver(net, icmp_msg(3, 1, 0, quoted(253, payload=b"\x00\x01")))
    assert r == NET_RX_SUCCESS and errs == []
    assert net.mib.Icmp["InErrors"] == 1
    r, skb = deliver(net, icmp_msg(3, 1, 0, b"\x45" + bytes(10)))       # not even an IP header
    assert r == NET_RX_DROP and net.mib.Icmp["InErrors"] == 2
    r, skb = deliver(net, icmp_msg(3, 1, 0, b"\x44" + bytes(27)))       # ihl 4: mangled
    assert skb.drop_reason == SkbDropReason.IP_INHDR


def test_redirect_passes_the_gateway(net, errs):
    deliver(net, icmp_msg(5, 1, 0x0A000063, quoted(253)))
    assert errs == [(quoted(253), 5, 1, 0x0A000063)]


# --- rate limits -----------------------------------------------------------------------------
def test_peer_bucket_burst_then_one_per_timeout():
    base = InetPeerBase()
    now = 100_000
    peer = inet_getpeer_v4(base, DST, 0, now)
    timeout = 1000
    # A new peer's bucket is full: XRLIM_BURST_FACTOR messages, then nothing.
    got = [inet_peer_xrlim_allow(peer, timeout, now) for _ in range(10)]
    assert got == [True] * XRLIM_BURST_FACTOR + [False] * 4
    assert not inet_peer_xrlim_allow(peer, timeout, now + 999)
    assert inet_peer_xrlim_allow(peer, timeout, now + 1000)
    assert not inet_peer_xrlim_allow(peer, timeout, now + 1500)
    # Ten idle seconds refill at most 6 tokens.
    now += 20_000
    assert [inet_peer_xrlim_allow(peer, timeout, now) for _ in range(7)] == [True] * 6 + [False]
    assert inet_peer_xrlim_allow(None, timeout, now)


def test_peers_are_per_address():
    base = InetPeerBase()
    a = inet_getpeer_v4(base, DST, 0, 0)
    assert inet_getpeer_v4(base, DST, 0, 5) is a and inet_getpeer_v4(base, SRC, 0, 5) is not a
    assert base.total == 2
    assert inet_getpeer_v4(base, 0x0A000009, 0, 5, create=False) is None


class FixedRng:
    def __init__(self, v):
        self.v = v

    def prandom_u32_max(self, n):
        return min(self.v, n - 1)


def test_global_bucket(net):
    v = net.ipv4
    net.rng = FixedRng(1)         # every message costs exactly one credit
    v.icmp_global_credit = 0
    v.icmp_global_stamp = 0
    net.clock.set(10.0)
    sent = 0
    for _ in range(100):
        if icmp_global_allow(net):
            icmp_global_consume(net)
            sent += 1
    assert sent == v.sysctl_icmp_msgs_burst == 50
    # Less than HZ/50 (20 ms) later nothing is refilled...
    net.clock.advance(0.019)
    assert not icmp_global_allow(net)
    # ...after 20 ms, 1000/s * 0.02 s = 20 credits.
    net.clock.advance(0.001)
    n = 0
    while icmp_global_allow(net) and n < 100:
        icmp_global_consume(net)
        n += 1
    assert n == 20


def test_global_bucket_random_cost(net):
    v = net.ipv4
    v.icmp_global_credit = 0
    v.icmp_global_stamp = 0
    net.clock.set(10.0)
    sent = 0
    for _ in range(1000):
        if icmp_global_allow(net):
            icmp_global_consume(net)
            sent += 1
    # Costs 0, 1 or 2 (mean 1): a burst of 50 credits lets about 50 through.
    assert 25 < sent < 200


def test_mask(net):
    for t in (3, 4, 11, 12):
        assert not icmpv4_mask_allow(net, t, 0)
    for t in (0, 5, 8, 13, 14, 19, 42):
        assert icmpv4_mask_allow(net, t, 0)
    assert icmpv4_mask_allow(net, 3, 4)        # "fragmentation needed" is never limited
    net.ipv4.sysctl_icmp_ratemask = 0
    assert icmpv4_mask_allow(net, 3, 1)


def test_global_limit_counts(net):
    net.ipv4.icmp_global_credit = -5
    net.ipv4.icmp_global_stamp = int(net.clock.now() * HZ)
    assert icmpv4_global_allow(net, 3, 1) == (False, False)
    assert net.mib.Icmp["OutRateLimitGlobal"] == 1
    assert icmpv4_global_allow(net, 0, 0) == (True, False)
