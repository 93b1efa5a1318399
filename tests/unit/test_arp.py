"""net/ipv4/arp.py: what goes on the wire (RFC 826), arp_ignore/arp_announce/arp_accept,
gratuitous ARP (arp_notify; checked on Linux 6.18: nothing on `ip addr add`, one request per
address on link up with arp_notify=1), DAD probes (RFC 5227), and malformed frames as
counted drops that never raise."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from kstack.core.dev import __netif_receive_skb, dev_add_pack, dev_close, dev_open
from kstack.core.dropreason import SkbDropReason
from kstack.core.neighbour import NUD_REACHABLE, NUD_STALE
from kstack.core.netdevice import ETH_P_ALL, PacketType
from kstack.core.skbuff import skb_from_bytes
from kstack.core.sysctl import sysctl_set
from kstack.net.ethernet.eth import eth_type_trans
from kstack.wire.arphdr import ArpHdr
from kstack.wire.errors import WireError
from kstack.wire.inet import in_aton as A
from tests.lib.hosts import two_hosts

ARP = 0x0806
BCAST = b"\xff" * 6


class Tap:
    def __init__(self, net):
        self.net = net
        self.frames = []
        dev_add_pack(net, PacketType(ETH_P_ALL, self.rcv))

    def rcv(self, skb, dev, pt, orig_dev):
        start = skb.mac_header if skb.mac_header >= 0 else skb.data
        b = bytes(skb.head[start:skb.tail])
        if int.from_bytes(b[12:14], "big") == ARP:
            try:
                h = ArpHdr.parse(b, 14)
            except WireError:
                h = None            # the fuzz tests inject garbage: the tap must not fail
            self.frames.append(("out" if skb.pkt_type == 4 else "in", b[:6], h))
        return 0

    def sent(self):
        return [(dst, h) for d, dst, h in self.frames if d == "out"]


@pytest.fixture
def pair():
    sim, a, b, ea, eb = two_hosts()
    sim.settle()
    a.tap, b.tap = Tap(a), Tap(b)
    return sim, a, b, ea, eb


def inject(dev, arp: ArpHdr, eth_dst=BCAST, eth_src=b"\x02\x00\x00\x00\x00\x99", raw=None):
    """A frame arriving on dev from the wire."""
    body = raw if raw is not None else arp.to_bytes()
    frame = eth_dst + eth_src + ARP.to_bytes(2, "big") + body
    skb = skb_from_bytes(frame)
    eth_type_trans(skb, dev)
    return __netif_receive_skb(skb)


def neigh(net, dev, addr):
    return net.gen["arp_tbl"].hash.get((A(addr), dev))


def resolve(sim, a, ea, daddr):
    from kstack.core.neighbour import neigh_event_send
    from kstack.net.ipv4.arp import ip_neigh_gw4
    n = ip_neigh_gw4(ea, A(daddr))
    neigh_event_send(n, None)
    sim.settle()
    return n


def test_request_and_reply_on_the_wire(pair):
    sim, a, b, ea, eb = pair
    n = resolve(sim, a, ea, "10.0.0.2")
    (dst, req), = a.tap.sent()
    assert dst == BCAST and req == ArpHdr(1, ea.dev_addr, A("10.0.0.1"), bytes(6), A("10.0.0.2"))
    assert req.summary() == "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28"
    (dst, rep), = b.tap.sent()
    assert dst == ea.dev_addr and rep == ArpHdr(2, eb.dev_addr, A("10.0.0.2"), ea.dev_addr, A("10.0.0.1"))
    assert n.nud_state == NUD_REACHABLE


def test_request_for_someone_else_is_not_answered_nor_learned(pair):
    sim, a, b, ea, eb = pair
    inject(eb, ArpHdr(1, b"\x02\x00\x00\x00\x00\x99", A("10.0.0.9"), bytes(6), A("10.0.0.77")))
    sim.settle()
    assert b.tap.sent() == [] and neigh(b, eb, "10.0.0.9") is None


def test_request_for_us_creates_a_stale_entry_and_replies(pair):
    sim, a, b, ea, eb = pair
    mac = b"\x02\x00\x00\x00\x00\x99"
    inject(eb, ArpHdr(1, mac, A("10.0.0.9"), bytes(6), A("10.0.0.2")), eth_src=mac)
    sim.settle()
    (dst, rep), = b.tap.sent()
    assert dst == mac and rep.ar_op == 2 and rep.ar_tip == A("10.0.0.9")
    n = neigh(b, eb, "10.0.0.9")
    assert n.nud_state == NUD_STALE and n.ha == mac


def test_unsolicited_reply_not_accepted_unless_arp_accept(pair):
    sim, a, b, ea, eb = pair
    mac = b"\x02\x00\x00\x00\x00\x99"
    rep = ArpHdr(2, mac, A("10.0.0.9"), eb.dev_addr, A("10.0.0.2"))
    inject(eb, rep, eth_dst=eb.dev_addr, eth_src=mac)
    assert neigh(b, eb, "10.0.0.9") is None
    assert sysctl_set(b, "net.ipv4.conf.eth0.arp_accept", "1") == 0
    inject(eb, rep, eth_dst=eb.dev_addr, eth_src=mac)
    n = neigh(b, eb, "10.0.0.9")
    assert n is not None and n.nud_state == NUD_REACHABLE and n.ha == mac


def test_broadcast_reply_only_makes_the_entry_stale(pair):
    from kstack.core.neighbour import neigh_event_send
    from kstack.net.ipv4.arp import ip_neigh_gw4
    sim, a, b, ea, eb = pair
    dev_close(eb)                                       # nobody answers: INCOMPLETE
    n = ip_neigh_gw4(ea, A("10.0.0.2"))
    neigh_event_send(n, None)
    mac = b"\x02\x00\x00\x00\x00\x42"
    inject(ea, ArpHdr(2, mac, A("10.0.0.2"), BCAST, A("10.0.0.1")), eth_dst=BCAST, eth_src=mac)
    assert n.nud_state == NUD_STALE and n.ha == mac


def test_gratuitous_arp_updates_an_existing_entry_only(pair):
    sim, a, b, ea, eb = pair
    n = resolve(sim, a, ea, "10.0.0.2")
    new = b"\x02\x00\x00\x00\x00\x77"
    # Within locktime of the reply, a gratuitous ARP still overrides (is_garp).
    garp = ArpHdr(1, new, A("10.0.0.2"), bytes(6), A("10.0.0.2"))
    inject(ea, garp, eth_src=new)
    assert n.ha == new and n.nud_state == NUD_STALE
    # One for an address we do not know creates nothing (arp_accept=0).
    inject(ea, ArpHdr(1, new, A("10.0.0.3"), bytes(6), A("10.0.0.3")), eth_src=new)
    assert neigh(a, ea, "10.0.0.3") is None
    sysctl_set(a, "net.ipv4.conf.all.arp_accept", "1")
    inject(ea, ArpHdr(1, new, A("10.0.0.3"), bytes(6), A("10.0.0.3")), eth_src=new)
    assert neigh(a, ea, "10.0.0.3").nud_state == NUD_STALE
    # drop_gratuitous_arp drops them (counted).
    sysctl_set(a, "net.ipv4.conf.eth0.drop_gratuitous_arp", "1")
    inject(ea, ArpHdr(1, b"\x02\x00\x00\x00\x00\x88", A("10.0.0.2"), bytes(6), A("10.0.0.2")))
    assert n.ha == new and a.drop_reasons[SkbDropReason.ARP_INVALID] == 1


def test_gratuitous_arp_on_link_up_only_with_arp_notify(pair):
    from kstack.net.ipv4.devinet import inet_rtm_newaddr
    sim, a, b, ea, eb = pair
    inet_rtm_newaddr(a, ea.ifindex, A("10.0.5.1"), 24)
    sim.settle()
    assert a.tap.sent() == []                           # ip addr add sends nothing
    dev_close(ea)
    dev_open(ea)
    sim.settle()
    assert a.tap.sent() == []                           # arp_notify=0: nothing on link up
    sysctl_set(a, "net.ipv4.conf.eth0.arp_notify", "1")
    inet_rtm_newaddr(a, ea.ifindex, A("10.0.0.7"), 24)  # a secondary
    assert a.tap.sent() == []
    dev_close(ea)
    dev_open(ea)
    sim.settle()
    sent = a.tap.sent()
    assert [(d, h.ar_op, h.ar_sip, h.ar_tip, h.ar_tha) for d, h in sent] == [
        (BCAST, 1, A(x), A(x), bytes(6)) for x in ("10.0.0.1", "10.0.5.1", "10.0.0.7")]
    # b already knew 10.0.0.1? No: the announcements create nothing there (arp_accept=0).
    assert neigh(b, eb, "10.0.0.1") is None


def test_dad_probe_from_zero_address_gets_a_reply(pair):
    sim, a, b, ea, eb = pair
    mac = b"\x02\x00\x00\x00\x00\x55"
    inject(eb, ArpHdr(1, mac, 0, bytes(6), A("10.0.0.2")), eth_src=mac)
    (dst, rep), = b.tap.sent()
    assert dst == mac and rep.ar_op == 2 and rep.ar_sip == A("10.0.0.2") and rep.ar_tip == 0
    assert neigh(b, eb, "0.0.0.0") is None
    inject(eb, ArpHdr(1, mac, 0, bytes(6), A("10.0.0.3")), eth_src=mac)   # not ours: silence
    assert len(b.tap.sent()) == 1


def test_arp_ignore(pair):
    from kstack.core.dev import dev_open as up
    from kstack.drivers.net.veth import veth_newlink
    from kstack.net.ipv4.devinet import inet_rtm_newaddr
    sim, a, b, ea, eb = pair
    other = sim.new_net("other")
    x, _ = veth_newlink(b, "eth1", other, "eth0")
    up(x)
    inet_rtm_newaddr(b, x.ifindex, A("192.168.7.1"), 24)
    mac = b"\x02\x00\x00\x00\x00\x99"
    ask = ArpHdr(1, mac, A("10.0.0.9"), bytes(6), A("192.168.7.1"))
    inject(eb, ask, eth_src=mac)                  # arp_ignore=0: any local address, any device
    assert len(b.tap.sent()) == 1
    sysctl_set(b, "net.ipv4.conf.all.arp_ignore", "1")
    inject(eb, ask, eth_src=mac)                  # 1: only addresses of the incoming device
    assert len(b.tap.sent()) == 1
    inject(eb, ArpHdr(1, mac, A("10.0.0.9"), bytes(6), A("10.0.0.2")), eth_src=mac)
    assert len(b.tap.sent()) == 2
    sysctl_set(b, "net.ipv4.conf.eth0.arp_ignore", "8")
    inject(eb, ArpHdr(1, mac, A("10.0.0.9"), bytes(6), A("10.0.0.2")), eth_src=mac)
    assert len(b.tap.sent()) == 2


def test_arp_announce_picks_the_probe_source(pair):
    from kstack.core.neighbour import neigh_event_send
    from kstack.core.skbuff import alloc_skb, skb_put
    from kstack.net.ipv4.arp import ip_neigh_gw4
    from kstack.net.ipv4.devinet import inet_rtm_newaddr
    sim, a, b, ea, eb = pair
    dev_close(eb)
    inet_rtm_newaddr(a, ea.ifindex, A("172.16.0.1"), 24)      # another local address

    def probe_from(saddr, target):
        skb = alloc_skb(20, 16)
        off = skb_put(skb, 20)
        skb.head[off:off + 20] = bytes([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0]) + \
            A(saddr).to_bytes(4, "big") + A(target).to_bytes(4, "big")
        skb.network_header = off
        n = ip_neigh_gw4(ea, A(target))
        neigh_event_send(n, skb)
        return a.tap.sent()[-1][1].ar_sip

    assert probe_from("172.16.0.1", "10.0.0.20") == A("172.16.0.1")     # announce 0: any local
    sysctl_set(a, "net.ipv4.conf.eth0.arp_announce", "1")
    assert probe_from("172.16.0.1", "10.0.0.21") == A("10.0.0.1")       # 1: same subnet only
    sysctl_set(a, "net.ipv4.conf.eth0.arp_announce", "2")
    assert probe_from("172.16.0.1", "172.16.0.9") == A("172.16.0.1")    # 2: best primary for target
    assert probe_from("172.16.0.1", "10.0.0.22") == A("10.0.0.1")


@pytest.mark.parametrize("raw,reason", [
    (b"\x00\x01\x08\x00\x06\x04\x00\x01", SkbDropReason.PKT_TOO_SMALL),          # truncated
    (b"\x00\x01\x08\x00\x08\x04\x00\x01" + bytes(24), SkbDropReason.ARP_INVALID),  # hln 8
    (b"\x00\x01\x08\x00\x06\x10\x00\x01" + bytes(24), SkbDropReason.ARP_INVALID),  # pln 16
    (b"\x00\x01\x08\x00\x06\x04\x00\x05" + bytes(20), SkbDropReason.ARP_INVALID),  # op 5
    (b"\x00\x20\x08\x00\x06\x04\x00\x01" + bytes(20), SkbDropReason.ARP_INVALID),  # hrd 32
    (b"\x00\x01\x86\xdd\x06\x04\x00\x01" + bytes(20), SkbDropReason.ARP_INVALID),  # IPv6
])
def test_malformed_frames_are_counted_drops(pair, raw, reason):
    sim, a, b, ea, eb = pair
    inject(eb, None, raw=raw)
    assert b.drop_reasons.get(reason) == 1 and b.bugs == [] and b.tap.sent() == []


def test_requests_for_loopback_or_multicast_targets_are_dropped(pair):
    sim, a, b, ea, eb = pair
    for tip in ("127.0.0.1", "224.0.0.1"):
        inject(eb, ArpHdr(1, b"\x02" * 6, A("10.0.0.9"), bytes(6), A(tip)))
    assert b.drop_reasons[SkbDropReason.ARP_INVALID] == 2 and b.tap.sent() == []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(min_size=0, max_size=64), dst=st.sampled_from([BCAST, None, b"\x02\x01\x02\x03\x04\x05"]))
def test_fuzzed_arp_never_raises(pair, body, dst):
    sim, a, b, ea, eb = pair
    before = sum(b.drop_reasons.values())
    inject(eb, None, raw=body, eth_dst=dst or eb.dev_addr)
    sim.settle()
    assert b.bugs == [] and a.bugs == []
    if len(body) < 28 and dst != b"\x02\x01\x02\x03\x04\x05":
        # (a frame for another host is consumed unread, as arp_rcv does: not a drop)
        assert sum(b.drop_reasons.values()) == before + 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.integers(0, 65535), hrd=st.sampled_from([1, 6, 0, 772]), pro=st.sampled_from([0x800, 0x86DD]),
       sip=st.integers(0, 2**32 - 1), tip=st.sampled_from([A("10.0.0.2"), A("10.0.0.255"), 0, 2**32 - 1]),
       sha=st.binary(min_size=6, max_size=6))
def test_fuzzed_wellformed_headers_never_raise(pair, op, hrd, pro, sip, tip, sha):
    sim, a, b, ea, eb = pair
    inject(eb, ArpHdr(op, sha, sip, bytes(6), tip, ar_hrd=hrd, ar_pro=pro), eth_src=sha)
    sim.settle()
    assert b.bugs == [] and a.bugs == []


def test_arp_proc_and_ifdown(pair):
    from kstack.net.ipv4.arp import arp_seq_show
    sim, a, b, ea, eb = pair
    resolve(sim, a, ea, "10.0.0.2")
    text = arp_seq_show(a).splitlines()
    assert text[0].startswith("IP address       HW type     Flags       HW address")
    assert text[1].split() == ["10.0.0.2", "0x1", "0x2", eb.dev_addr.hex(":"), "*", "eth0"]
    dev_close(ea)
    assert len(arp_seq_show(a).splitlines()) == 1
