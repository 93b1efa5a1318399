"""net/ipv4/ip_output.py: header building, DF and IP ID rules, fragmentation, datagram API.

The route is a DstEntry built here with an ``output`` that collects what would go to
ip_output, so each rule of ip_output.c is checked on its own; test_net_ipv4_e2e.py runs
the same code over the real routing and neighbour code.
"""
import pytest

from kstack.core.dropreason import SkbDropReason
from kstack.core.dst import RTAX_LOCK, RTAX_MTU, DstEntry
from kstack.core.errno import EMSGSIZE, EPERM
from kstack.core.skbuff import SkBuff
from kstack.core.sock import SOCK_DGRAM, SOCK_STREAM, InetSock
from kstack.init import net_create
from kstack.net.ipv4.ip_input import IPCB
from kstack.net.ipv4.ip_output import (IP_PMTUDISC_DO, IP_PMTUDISC_DONT, IP_PMTUDISC_PROBE,
                                       IP_PMTUDISC_WANT, IpcmCookie, __ip_local_out, ip_append_data,
                                       ip_do_fragment, ip_flush_pending_frames, ip_local_out,
                                       ip_make_skb, ip_push_pending_frames, ip_select_ident,
                                       ip_send_skb)
from kstack.net.netfilter.core import NF_DROP, NF_INET_LOCAL_OUT, NFPROTO_IPV4, NfHookOps, nf_register_net_hook
from kstack.wire.checksum import ip_fast_csum
from kstack.wire.iphdr import IpHdr
from tests.lib.hosts import ip_net

SRC = 0x0A000001
DST = 0x0A000002


@pytest.fixture
def net():
    return ip_net("ipout")


class Rt(DstEntry):
    __slots__ = ("rt_type", "rt_flags", "rt_is_input", "rt_iif", "rt_uses_gateway", "sent")

    def __init__(self, dev, mtu=None, locked=False):
        super().__init__(dev=dev)
        self.rt_type = 1
        self.rt_flags = 0
        self.rt_is_input = False
        self.rt_iif = 0
        self.rt_uses_gateway = 0
        self.sent = []
        m = {}
        if mtu:
            m[RTAX_MTU] = mtu
        if locked:
            m[RTAX_LOCK] = 1 << RTAX_MTU
        self.metrics = m
        self.output = lambda net, sk, skb: self.sent.append(skb) or 0


class Fl4:
    def __init__(self, daddr=DST, saddr=SRC):
        self.daddr = daddr
        self.saddr = saddr


@pytest.fixture
def eth(net):
    from kstack.drivers.net.veth import veth_newlink
    peer = net_create(name="peer")
    a, _ = veth_newlink(net, "eth0", peer, "eth0")
    return a


def sock(net, type_=SOCK_DGRAM, proto=17, pmtudisc=IP_PMTUDISC_WANT):
    sk = InetSock(net)
    sk.sk_type = type_
    sk.sk_protocol = proto
    sk.pmtudisc = pmtudisc
    return sk


def hdr(skb):
    return IpHdr.parse(skb.head, skb.network_header)


def test_make_skb_builds_header_and_transport_room(net, eth):
    rt = Rt(eth)
    sk = sock(net)
    skb = ip_make_skb(sk, Fl4(), b"data", 8, IpcmCookie(), rt)
    h = hdr(skb)
    assert (h.saddr, h.daddr, h.protocol, h.ttl, h.tos) == (SRC, DST, 17, 64, 0)
    assert h.df and skb.transport_header == skb.network_header + 20
    assert bytes(skb.head[skb.transport_header:skb.tail]) == b"\0" * 8 + b"data"
    assert skb._dst is rt and skb.sk is sk
    assert ip_send_skb(net, skb) == 0
    assert rt.sent == [skb]
    h = hdr(skb)
    assert h.tot_len == 32 and ip_fast_csum(skb.head[skb.network_header:skb.network_header + 20]) == 0
    assert net.mib.Ip["OutRequests"] == 1


@pytest.mark.parametrize("pmtudisc,size,df,err", [
    (IP_PMTUDISC_WANT, 1472, True, 0),          # fits: DF (RFC 1191 discovery)
    (IP_PMTUDISC_WANT, 1473, False, 0),         # too big: no DF, fragmented later
    (IP_PMTUDISC_DONT, 100, False, 0),
    (IP_PMTUDISC_DO, 1472, True, 0),
    (IP_PMTUDISC_DO, 1473, None, -EMSGSIZE),    # __ip_append_data refuses it
    (IP_PMTUDISC_PROBE, 1473, None, -EMSGSIZE),
    (IP_PMTUDISC_WANT, 65507, False, 0),        # 65535 total: the largest datagram
    (IP_PMTUDISC_WANT, 65508, None, -EMSGSIZE),
])
def test_df_and_size_rules(net, eth, pmtudisc, size, df, err):
    sk = sock(net, pmtudisc=pmtudisc)
    r = ip_make_skb(sk, Fl4(), b"x" * size, 8, IpcmCookie(), Rt(eth))
    if err:
        assert r == err
        return
    assert hdr(r).df == df
    assert IPCB(r).ignore_df == (pmtudisc in (IP_PMTUDISC_WANT, IP_PMTUDISC_DONT))


def test_locked_mtu_clears_df_with_want(net, eth):
    r = ip_make_skb(sock(net), Fl4(), b"x" * 10, 8, IpcmCookie(), Rt(eth, mtu=1400, locked=True))
    assert not hdr(r).df


def test_path_mtu_metric_is_used(net, eth):
    sk = sock(net, pmtudisc=IP_PMTUDISC_DO)
    assert ip_make_skb(sk, Fl4(), b"x" * 1372, 8, IpcmCookie(), Rt(eth, mtu=1400)) != -EMSGSIZE
    assert ip_make_skb(sk, Fl4(), b"x" * 1373, 8, IpcmCookie(), Rt(eth, mtu=1400)) == -EMSGSIZE


def test_ttl_and_tos_sources(net, eth):
    sk = sock(net)
    net.ipv4.sysctl_ip_default_ttl = 33
    assert hdr(ip_make_skb(sk, Fl4(), b"", 8, IpcmCookie(), Rt(eth))).ttl == 33
    sk.uc_ttl = 7
    sk.tos = 0x10
    h = hdr(ip_make_skb(sk, Fl4(), b"", 8, IpcmCookie(), Rt(eth)))
    assert (h.ttl, h.tos) == (7, 0x10)
    h = hdr(ip_make_skb(sk, Fl4(), b"", 8, IpcmCookie(ttl=3, tos=0x28), Rt(eth)))
    assert (h.ttl, h.tos) == (3, 0x28)
    rt = Rt(eth)
    rt.metrics = {10: 99}       # RTAX_HOPLIMIT
    sk.uc_ttl = -1
    assert hdr(ip_make_skb(sk, Fl4(), b"", 8, IpcmCookie(), rt)).ttl == 99


def test_ip_id_rules(net, eth):
    rt = Rt(eth)
    # Unconnected with IP_PMTUDISC_DO: DF and id 0 (RFC 6864 atomic datagrams).
    sk = sock(net, pmtudisc=IP_PMTUDISC_DO)
    assert hdr(ip_make_skb(sk, Fl4(), b"", 8, IpcmCookie(), rt)).id == 0
    # With WANT the datagram may still be fragmented here (ignore_df): DF and a real id,
    # as Linux sends unconnected UDP/raw/ping datagrams.
    h = hdr(ip_make_skb(sock(net), Fl4(), b"", 8, IpcmCookie(), rt))
    assert h.df and h.id != 0
    # Unconnected, no DF: the per-flow hashed counter, strictly increasing by >= 1.
    sk = sock(net, pmtudisc=IP_PMTUDISC_DONT)
    ids = [hdr(ip_make_skb(sk, Fl4(), b"", 8, IpcmCookie(), rt)).id for _ in range(3)]
    assert ids[1] == (ids[0] + 1) & 0xFFFF and ids[2] == (ids[1] + 1) & 0xFFFF
    # Connected UDP: inet_id pre-incremented (atomic_add_return).
    sk = sock(net)
    sk.inet_daddr = DST
    sk.inet_id = 100
    assert hdr(ip_make_skb(sk, Fl4(), b"", 8, IpcmCookie(), rt)).id == 101
    # TCP: post-increment.
    tcp = sock(net, SOCK_STREAM, 6)
    tcp.inet_daddr = DST
    tcp.inet_id = 100
    skb = SkBuff(bytearray(100), 80, 100)
    skb.network_header = 60
    skb.head[60] = 0x45
    skb.head[66] = 0x40
    ip_select_ident(net, skb, tcp)
    assert (skb.head[64] << 8 | skb.head[65], tcp.inet_id) == (100, 101)


def test_local_out_hook_drop_is_eperm(net, eth):
    rt = Rt(eth)
    nf_register_net_hook(net, NfHookOps(lambda p, s, st: NF_DROP, NFPROTO_IPV4, NF_INET_LOCAL_OUT, 0))
    skb = ip_make_skb(sock(net), Fl4(), b"x", 8, IpcmCookie(), rt)
    assert ip_send_skb(net, skb) == -EPERM
    assert rt.sent == [] and skb.drop_reason == SkbDropReason.NETFILTER_DROP
    assert net.mib.Ip["OutRequests"] == 1 and net.mib.Ip["OutDiscards"] == 1


def test_fragmentation_slow_path(net, eth):
    rt = Rt(eth)
    data = bytes(i & 0xFF for i in range(20000))
    skb = ip_make_skb(sock(net, pmtudisc=IP_PMTUDISC_DONT), Fl4(), data, 8, IpcmCookie(), rt)
    __ip_local_out(net, None, skb)
    frags = []
    assert ip_do_fragment(net, None, skb, lambda n, s, f: frags.append(f) or 0) == 0
    assert len(frags) == 14                    # ceil(20008 / 1480)
    rebuilt = b""
    for i, f in enumerate(frags):
        h = hdr(f)
        assert f.tail - f.network_header == h.tot_len <= 1500
        assert ip_fast_csum(f.head[f.network_header:f.network_header + 20]) == 0
        assert h.frag_offset == len(rebuilt) and h.id == hdr(skb).id
        assert h.mf == (i < 13) and not h.df
        assert h.frag_offset % 8 == 0
        rebuilt += bytes(f.head[f.network_header + 20:f.tail])
    assert rebuilt == b"\0" * 8 + data
    ip = net.mib.Ip
    assert (ip["FragOKs"], ip["FragCreates"], ip["FragFails"]) == (1, 14, 0)


def test_fragmenting_a_fragment_keeps_mf(net, eth):
    rt = Rt(eth, mtu=576)
    rt.dev.mtu = 576
    skb = ip_make_skb(sock(net, pmtudisc=IP_PMTUDISC_DONT), Fl4(), b"y" * 1000, 0, IpcmCookie(), rt)
    skb.head[skb.network_header + 6] = 0x20       # MF: a non-last fragment being refragmented
    __ip_local_out(net, None, skb)
    frags = []
    ip_do_fragment(net, None, skb, lambda n, s, f: frags.append(f) or 0)
    assert all(hdr(f).mf for f in frags)


def test_send_through_ip_finish_output_fragments(net, eth):
    rt = Rt(eth)
    sent = []
    from kstack.net.ipv4 import ip_output as ipo
    rt.output = lambda n, sk, skb: ipo.ip_fragment(n, sk, skb, 1500, lambda n2, s2, f: sent.append(f) or 0)
    skb = ip_make_skb(sock(net), Fl4(), b"z" * 3000, 8, IpcmCookie(), rt)
    assert ip_send_skb(net, skb) == 0
    assert len(sent) == 3 and net.mib.Ip["FragCreates"] == 3


def test_cork_append_push(net, eth):
    rt = Rt(eth)
    sk = sock(net)
    assert ip_append_data(sk, Fl4(), b"abc", 8, IpcmCookie(), rt) == 0
    assert ip_append_data(sk, Fl4(), b"def", 8, IpcmCookie(), rt) == 0
    assert ip_push_pending_frames(sk) == 0
    skb = rt.sent[0]
    assert bytes(skb.head[skb.transport_header:skb.tail]) == b"\0" * 8 + b"abcdef"
    assert hdr(skb).tot_len == 34
    sk2 = sock(net, pmtudisc=IP_PMTUDISC_DO)
    assert ip_append_data(sk2, Fl4(), b"a" * 1000, 8, IpcmCookie(), rt) == 0
    assert ip_append_data(sk2, Fl4(), b"a" * 1000, 8, IpcmCookie(), rt) == -EMSGSIZE
    ip_flush_pending_frames(sk2)
    assert ip_push_pending_frames(sk2) == 0 and len(rt.sent) == 1
