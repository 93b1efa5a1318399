"""net/core/neighbour.py with arp_tbl: the NUD state machine on the fake clock with the
kernel's numbers (RFC 1122 §2.3.2.1; RFC 4861 §7.3 states), the unresolved queue, `ip neigh`,
the per-device sysctls, garbage collection."""
import errno

import pytest

from kstack.core.dev import dev_add_pack, dev_close
from kstack.core.dropreason import SkbDropReason
from kstack.core.neighbour import (NLM_F_CREATE, NLM_F_REPLACE, NUD_DELAY, NUD_FAILED,
                                   NUD_INCOMPLETE, NUD_NOARP, NUD_PERMANENT, NUD_PROBE,
                                   NUD_REACHABLE, NUD_STALE, neigh_add, neigh_delete, neigh_output)
from kstack.core.errno import EEXIST, ENOBUFS, ENOENT
from kstack.core.netdevice import ETH_P_ALL, PacketType
from kstack.core.rtnetlink import rtnetlink_rcv_msg
from kstack.core.skbuff import alloc_skb, skb_put
from kstack.core.sysctl import sysctl_get, sysctl_set
from kstack.sim import Sim
from kstack.wire.inet import in_aton as A
from tests.lib.hosts import boot, two_hosts

ARP = 0x0806


class Tap:
    """Every frame a Net sends or receives: (time, direction, ethertype, bytes from the MAC header)."""

    def __init__(self, net):
        self.net = net
        self.frames = []
        dev_add_pack(net, PacketType(ETH_P_ALL, self.rcv))

    def rcv(self, skb, dev, pt, orig_dev):
        start = skb.mac_header if skb.mac_header >= 0 else skb.data
        b = bytes(skb.head[start:skb.tail])
        self.frames.append((self.net.clock.now(), "out" if skb.pkt_type == 4 else "in",
                            int.from_bytes(b[12:14], "big"), b))
        return 0

    def arp(self, direction="out"):
        return [(t, b) for t, d, et, b in self.frames if et == ARP and d == direction]

    def ip(self, direction="in"):
        return [(t, b) for t, d, et, b in self.frames if et == 0x0800 and d == direction]


@pytest.fixture
def pair():
    """a (10.0.0.1) <-veth-> b (10.0.0.2), taps on both."""
    sim, a, b, ea, eb = two_hosts()
    sim.settle()
    a.tap, b.tap = Tap(a), Tap(b)
    return sim, a, b, ea, eb


def tbl(net):
    return net.gen["arp_tbl"]


def neigh(net, dev, addr):
    return tbl(net).hash.get((A(addr), dev))


def ip_skb(dev, daddr, marker=b"", size=60, saddr="10.0.0.1"):
    payload = marker + bytes(size - len(marker))
    skb = alloc_skb(20 + len(payload), 64)
    off = skb_put(skb, 20 + len(payload))
    skb.head[off:off + 20] = bytes([0x45, 0, 0, 20 + len(payload), 0, 0, 0x40, 0, 64, 253, 0, 0]) + \
        A(saddr).to_bytes(4, "big") + A(daddr).to_bytes(4, "big")
    skb.head[off + 20:off + 20 + len(payload)] = payload
    skb.network_header = off
    skb.protocol = 0x0800
    skb.dev = dev
    return skb


def send(net, dev, daddr, marker=b"", size=60):
    """ip_finish_output2's part: the next hop's neighbour, then neigh_output."""
    from kstack.net.ipv4.arp import ip_neigh_gw4
    n = ip_neigh_gw4(dev, A(daddr))
    return neigh_output(n, ip_skb(dev, daddr, marker, size))


def arp_fields(frame):
    return {"eth_dst": frame[0:6], "op": int.from_bytes(frame[20:22], "big"), "sha": frame[22:28],
            "sip": int.from_bytes(frame[28:32], "big"), "tha": frame[32:38],
            "tip": int.from_bytes(frame[38:42], "big")}


def test_resolution_request_reply_and_both_sides(pair):
    sim, a, b, ea, eb = pair
    send(a, ea, "10.0.0.2", b"first")
    n = neigh(a, ea, "10.0.0.2")
    assert n.nud_state == NUD_INCOMPLETE and len(n.arp_queue) == 1
    (t, req), = a.tap.arp()
    f = arp_fields(req)
    assert f["eth_dst"] == b"\xff" * 6 and f["op"] == 1 and f["sha"] == ea.dev_addr
    assert f["sip"] == A("10.0.0.1") and f["tip"] == A("10.0.0.2") and f["tha"] == bytes(6)
    sim.settle()
    assert n.nud_state == NUD_REACHABLE and n.ha == eb.dev_addr and not n.arp_queue
    (t, rep), = b.tap.arp()
    f = arp_fields(rep)
    assert f["op"] == 2 and f["eth_dst"] == ea.dev_addr and f["tha"] == ea.dev_addr
    assert f["sip"] == A("10.0.0.2") and f["sha"] == eb.dev_addr
    # b learned a from the request (STALE: a request proves nothing about reachability).
    m = neigh(b, eb, "10.0.0.1")
    assert m.nud_state == NUD_STALE and m.ha == ea.dev_addr
    # The queued packet went out once resolved; the next one uses the cached header.
    assert [x[1][34:39] for x in b.tap.ip()] == [b"first"]
    send(a, ea, "10.0.0.2", b"second")
    sim.settle()
    assert [x[1][34:40] for x in b.tap.ip()][-1] == b"second" and len(a.tap.arp()) == 1
    assert n.hh.hh_len == 14


def test_reachable_goes_stale_after_reachable_time(pair):
    sim, a, b, ea, eb = pair
    send(a, ea, "10.0.0.2")
    sim.settle()
    n = neigh(a, ea, "10.0.0.2")
    reach = n.parms.reachable_time
    assert 15.0 <= reach < 45.0          # base_reachable_time 30 s, randomised [0.5, 1.5)
    t0 = n.confirmed
    sim.run(until=t0 + reach - 0.05)
    assert n.nud_state == NUD_REACHABLE
    sim.run(until=t0 + reach + 0.05)
    assert n.nud_state == NUD_STALE


def test_stale_delay_probe_reachable(pair):
    sim, a, b, ea, eb = pair
    send(a, ea, "10.0.0.2")
    sim.settle()
    n = neigh(a, ea, "10.0.0.2")
    sim.run(until=n.confirmed + n.parms.reachable_time + 1)
    assert n.nud_state == NUD_STALE
    t = a.clock.now()
    before = len(b.tap.ip())
    send(a, ea, "10.0.0.2", b"stale")
    assert n.nud_state == NUD_DELAY
    sim.settle()
    assert len(b.tap.ip()) == before + 1           # sent at once with the stale address
    sim.run(until=t + 4.9)
    assert n.nud_state == NUD_DELAY
    nreq = len(a.tap.arp())
    sim.run(until=t + 5.0)                          # delay_first_probe_time
    # PROBE: one unicast request to the cached address; the unicast reply confirms.
    probes = a.tap.arp()[nreq:]
    assert len(probes) == 1 and arp_fields(probes[0][1])["eth_dst"] == eb.dev_addr
    sim.settle()
    assert n.nud_state == NUD_REACHABLE


def test_delay_confirmed_by_upper_layer_goes_reachable_without_probe(pair):
    from kstack.core.neighbour import neigh_confirm
    sim, a, b, ea, eb = pair
    send(a, ea, "10.0.0.2")
    sim.settle()
    n = neigh(a, ea, "10.0.0.2")
    sim.run(until=n.confirmed + n.parms.reachable_time + 1)
    t = a.clock.now()
    nreq = len(a.tap.arp())
    send(a, ea, "10.0.0.2")
    sim.run(until=t + 2)
    neigh_confirm(n)                                # e.g. a TCP ACK arrived
    sim.run(until=t + 5.1)
    assert n.nud_state == NUD_REACHABLE and len(a.tap.arp()) == nreq


def test_probe_without_answers_fails_after_ucast_solicit(pair):
    sim, a, b, ea, eb = pair
    send(a, ea, "10.0.0.2")
    sim.settle()
    n = neigh(a, ea, "10.0.0.2")
    sim.run(until=n.confirmed + n.parms.reachable_time + 1)
    dev_close(eb)                                   # the peer is gone
    t = a.clock.now()
    nreq = len(a.tap.arp())
    send(a, ea, "10.0.0.2")
    sim.run(until=t + 7.5)
    assert n.nud_state == NUD_PROBE
    probes = a.tap.arp()[nreq:]
    assert [round(x[0] - t, 3) for x in probes] == [5.0, 6.0, 7.0]
    assert all(arp_fields(x[1])["eth_dst"] == eb.dev_addr for x in probes)
    sim.run(until=t + 8.0)
    assert n.nud_state == NUD_FAILED


def test_incomplete_fails_after_mcast_solicit_and_drops_the_queue(pair):
    sim, a, b, ea, eb = pair
    t = a.clock.now()
    for i in range(3):
        send(a, ea, "10.0.0.99", b"q%d" % i)
    n = neigh(a, ea, "10.0.0.99")
    assert n.nud_state == NUD_INCOMPLETE and len(n.arp_queue) == 3
    sim.run(until=t + 2.99)
    assert n.nud_state == NUD_INCOMPLETE
    reqs = a.tap.arp()
    assert [round(x[0] - t, 3) for x in reqs] == [0.0, 1.0, 2.0]
    assert all(arp_fields(x[1])["eth_dst"] == b"\xff" * 6 for x in reqs)
    sim.run(until=t + 3.0)
    assert n.nud_state == NUD_FAILED and not n.arp_queue
    assert a.drop_reasons[SkbDropReason.NEIGH_FAILED] == 3
    assert tbl(a).stats["res_failed"] == 1
    # A new packet starts over (FAILED -> INCOMPLETE), as on Linux.
    send(a, ea, "10.0.0.99")
    assert n.nud_state == NUD_INCOMPLETE


def test_failed_resolution_reports_host_unreachable_to_a_udp_sender(pair):
    """arp_error_report -> ICMP host unreachable to the local sender. As on Linux 6.18 (checked
    in a netns): a plain connected UDP socket ignores it (not a hard error), one with
    IP_RECVERR gets EHOSTUNREACH from recv."""
    pytest.importorskip("kstack.net.ipv4.icmp")
    from kstack.core.sock import AF_INET, SOCK_DGRAM
    from kstack.fs.file import FilesStruct
    from kstack.net import socket as ksock
    sim, a, b, ea, eb = pair
    files = FilesStruct(net=a)
    plain = ksock.__sys_socket(files, AF_INET, SOCK_DGRAM, 0)
    withrecverr = ksock.__sys_socket(files, AF_INET, SOCK_DGRAM, 0)
    assert ksock.__sys_setsockopt(files, withrecverr, 0, 11, 1) == 0      # SOL_IP, IP_RECVERR
    assert ksock.__sys_connect(files, plain, ("10.0.0.99", 9)) == 0
    assert ksock.__sys_connect(files, withrecverr, ("10.0.0.98", 9)) == 0
    assert ksock.__sys_sendto(files, plain, b"hello", 0, None) == 5
    assert ksock.__sys_sendto(files, withrecverr, b"hello", 0, None) == 5
    sim.run(until=a.clock.now() + 3.5)
    assert a.mib.Icmp["OutDestUnreachs"] == 2 and a.mib.Icmp["InDestUnreachs"] == 2
    assert a.mib.IcmpMsg.get("InType3") == 2 and a.mib.IcmpMsg.get("OutType3") == 2
    assert a.drop_reasons[SkbDropReason.NEIGH_FAILED] == 2
    assert ksock.__sys_recvfrom(files, plain, 100, 0x40) == -errno.EAGAIN        # MSG_DONTWAIT
    assert ksock.__sys_recvfrom(files, withrecverr, 100, 0x40) == -errno.EHOSTUNREACH
    assert a.bugs == []


def test_unres_queue_overflow_drops_the_oldest(pair):
    sim, a, b, ea, eb = pair
    truesize = ip_skb(ea, "10.0.0.2", size=60).truesize
    p = ea.ip_ptr.arp_parms
    assert sysctl_set(a, "net.ipv4.neigh.eth0.unres_qlen_bytes", str(int(truesize * 2.5))) == 0
    assert p.queue_len_bytes == int(truesize * 2.5)
    for i in range(4):
        send(a, ea, "10.0.0.2", b"pkt%d" % i)
    n = neigh(a, ea, "10.0.0.2")
    assert len(n.arp_queue) == 2 and a.drop_reasons[SkbDropReason.NEIGH_QUEUEFULL] == 2
    assert tbl(a).stats["unres_discards"] == 2
    sim.settle()
    assert [x[1][34:38] for x in b.tap.ip()] == [b"pkt2", b"pkt3"]


def test_neigh_sysctls_units_and_default_inheritance(pair):
    sim, a, b, ea, eb = pair
    g = lambda name: sysctl_get(a, name)                       # noqa: E731
    expect = {"retrans_time": "100", "retrans_time_ms": "1000", "base_reachable_time": "30",
              "base_reachable_time_ms": "30000", "delay_first_probe_time": "5",
              "gc_stale_time": "60", "ucast_solicit": "3", "mcast_solicit": "3",
              "app_solicit": "0", "mcast_resolicit": "0", "unres_qlen": "101",
              "unres_qlen_bytes": "212992", "locktime": "100", "anycast_delay": "100",
              "proxy_delay": "80", "proxy_qlen": "64", "interval_probe_time_ms": "5000"}
    for k, v in expect.items():
        assert g(f"net.ipv4.neigh.default.{k}") == v, k
        assert g(f"net.ipv4.neigh.eth0.{k}") == v, k
    for k, v in (("gc_thresh1", "128"), ("gc_thresh2", "512"), ("gc_thresh3", "1024"), ("gc_interval", "30")):
        assert g(f"net.ipv4.neigh.default.{k}") == v
    assert g("net.ipv4.neigh.eth0.gc_thresh1") == -ENOENT
    # default follows into devices that did not set the value themselves
    sysctl_set(a, "net.ipv4.neigh.lo.retrans_time_ms", "700")
    assert sysctl_set(a, "net.ipv4.neigh.default.retrans_time_ms", "500") == 0
    assert g("net.ipv4.neigh.eth0.retrans_time") == "50" and g("net.ipv4.neigh.lo.retrans_time_ms") == "700"
    assert sysctl_set(a, "net.ipv4.neigh.eth0.unres_qlen", "5") == 0
    assert g("net.ipv4.neigh.eth0.unres_qlen_bytes") == str(5 * 2090)
    assert sysctl_set(a, "net.ipv4.neigh.eth0.ucast_solicit", "-1") == -22


def test_retrans_time_sysctl_drives_the_timer(pair):
    sim, a, b, ea, eb = pair
    assert sysctl_set(a, "net.ipv4.neigh.eth0.retrans_time_ms", "200") == 0
    assert sysctl_set(a, "net.ipv4.neigh.eth0.mcast_solicit", "2") == 0
    t = a.clock.now()
    send(a, ea, "10.0.0.99")
    n = neigh(a, ea, "10.0.0.99")
    sim.run(until=t + 0.39)
    assert n.nud_state == NUD_INCOMPLETE
    sim.run(until=t + 0.4)
    assert n.nud_state == NUD_FAILED
    assert [round(x[0] - t, 3) for x in a.tap.arp()] == [0.0, 0.2]


def test_ip_neigh_add_replace_delete_and_dump(pair):
    sim, a, b, ea, eb = pair
    t = tbl(a)
    mac = bytes.fromhex("020000000001")
    assert neigh_add(t, ea, A("10.0.0.50"), mac) == 0
    n = neigh(a, ea, "10.0.0.50")
    assert n.nud_state == NUD_PERMANENT and n.ha == mac and not n.gc_listed
    assert neigh_add(t, ea, A("10.0.0.50"), mac) == -EEXIST
    assert neigh_add(t, ea, A("10.0.0.51"), mac, nlflags=NLM_F_REPLACE) == -ENOENT
    mac2 = bytes.fromhex("020000000002")
    assert neigh_add(t, ea, A("10.0.0.50"), mac2, nlflags=NLM_F_CREATE | NLM_F_REPLACE) == 0
    assert n.ha == mac2
    # ARP cannot change a permanent entry.
    from kstack.core.neighbour import NEIGH_UPDATE_F_OVERRIDE, neigh_update
    assert neigh_update(n, mac, NUD_REACHABLE, NEIGH_UPDATE_F_OVERRIDE) < 0 and n.ha == mac2
    err, dump = rtnetlink_rcv_msg(a, "RTM_GETNEIGH", {"dump": True})
    assert dump == [{"dst": "10.0.0.50", "dev": "eth0", "lladdr": "02:00:00:00:00:02", "state": ["PERMANENT"]}]
    assert rtnetlink_rcv_msg(a, "RTM_NEWNEIGH", {"dst": "10.0.0.60", "lladdr": "02:00:00:00:00:03",
                                                 "dev": "eth0", "state": "stale"})[0] == 0
    assert neigh(a, ea, "10.0.0.60").nud_state == NUD_STALE
    send(a, ea, "10.0.0.99")
    _, dump = rtnetlink_rcv_msg(a, "RTM_GETNEIGH", {"dump": True})
    assert {"dst": "10.0.0.99", "dev": "eth0", "state": ["INCOMPLETE"]} in dump
    assert neigh_delete(t, ea, A("10.0.0.50")) == 0
    assert neigh_delete(t, ea, A("10.0.0.50")) == -ENOENT
    assert rtnetlink_rcv_msg(a, "RTM_DELNEIGH", {"dst": "10.0.0.60", "dev": "eth0"})[0] == 0
    assert rtnetlink_rcv_msg(a, "RTM_DELNEIGH", {"dst": "10.0.0.60", "dev": "nope"})[0] == -19
    # A static entry is used without ARP.
    neigh_add(t, ea, A("10.0.0.2"), eb.dev_addr)
    before = len(a.tap.arp())
    send(a, ea, "10.0.0.2", b"static")
    sim.settle()
    assert len(a.tap.arp()) == before and b.tap.ip()[-1][1][34:40] == b"static"


def test_lo_neighbours_are_noarp():
    boot()
    sim = Sim()
    a = sim.new_net("a")
    from kstack.net.ipv4.arp import ip_neigh_gw4
    n = ip_neigh_gw4(a.loopback_dev, A("127.0.0.1"))
    assert n.nud_state == NUD_NOARP and n.ha == bytes(6) and n.primary_key == 0
    _, dump = rtnetlink_rcv_msg(a, "RTM_GETNEIGH", {"dump": True})
    assert dump == []                                  # iproute2 hides NOARP by default
    _, dump = rtnetlink_rcv_msg(a, "RTM_GETNEIGH", {"dump": True, "nud": "all"})
    assert dump == [{"dst": "0.0.0.0", "dev": "lo", "lladdr": "00:00:00:00:00:00", "state": ["NOARP"]}]


def test_locktime_keeps_the_first_reply(pair):
    from kstack.core.neighbour import NEIGH_UPDATE_F_OVERRIDE, neigh_update
    from kstack.net.ipv4.arp import ARPOP_REPLY, arp_send
    sim, a, b, ea, eb = pair
    send(a, ea, "10.0.0.2")
    sim.settle()
    n = neigh(a, ea, "10.0.0.2")
    other = bytes.fromhex("02aabbccddee")
    # Another "reply" within locktime (1 s) of the first: ignored.
    arp_send(ARPOP_REPLY, ARP, A("10.0.0.1"), eb, A("10.0.0.2"), ea.dev_addr, other, ea.dev_addr)
    sim.settle()
    assert n.ha == eb.dev_addr
    sim.run(until=a.clock.now() + 1.01)
    arp_send(ARPOP_REPLY, ARP, A("10.0.0.1"), eb, A("10.0.0.2"), ea.dev_addr, other, ea.dev_addr)
    sim.settle()
    assert n.ha == other and n.nud_state == NUD_REACHABLE and n.hh.hh_data[:6] == other
    # Without override a valid entry keeps its address.
    assert neigh_update(n, eb.dev_addr, NUD_REACHABLE, 0) == 0 and n.ha == other
    assert neigh_update(n, eb.dev_addr, NUD_REACHABLE, NEIGH_UPDATE_F_OVERRIDE) == 0 and n.ha == eb.dev_addr


def test_gc_thresh3_limits_the_table_and_forced_gc_frees_failed(pair):
    sim, a, b, ea, eb = pair
    t = tbl(a)
    sysctl_set(a, "net.ipv4.neigh.default.gc_thresh2", "2")
    sysctl_set(a, "net.ipv4.neigh.default.gc_thresh3", "4")
    from kstack.net.ipv4.arp import ip_neigh_gw4
    for i in range(4):
        assert not isinstance(ip_neigh_gw4(ea, A(f"10.0.0.{100 + i}")), int)
    for i in range(4):
        send(a, ea, f"10.0.0.{100 + i}")                 # all INCOMPLETE, just updated
    assert ip_neigh_gw4(ea, A("10.0.0.200")) == -ENOBUFS
    assert t.stats["table_fulls"] == 1
    sim.run(until=a.clock.now() + 3.5)                   # all FAILED now
    n = ip_neigh_gw4(ea, A("10.0.0.200"))
    assert not isinstance(n, int) and t.entries <= 4 and t.stats["forced_gc_runs"] >= 2
    # Permanent entries are not counted against the thresholds.
    for i in range(6):
        assert neigh_add(t, ea, A(f"10.0.1.{i}"), bytes(6)) == 0


def test_periodic_gc_drops_unused_stale_entries(pair):
    sim, a, b, ea, eb = pair
    t = tbl(a)
    sysctl_set(a, "net.ipv4.neigh.default.gc_thresh1", "1")
    assert neigh_add(t, ea, A("10.0.0.70"), bytes.fromhex("020000000070"), state=NUD_STALE) == 0
    assert neigh_add(t, ea, A("10.0.0.71"), bytes.fromhex("020000000071")) == 0     # permanent
    assert t.gc_work.pending
    sim.run(until=a.clock.now() + 59)
    assert neigh(a, ea, "10.0.0.70") is not None
    sim.run(until=a.clock.now() + 30)                     # gc_stale_time 60 s, GC every 15 s
    assert neigh(a, ea, "10.0.0.70") is None and neigh(a, ea, "10.0.0.71") is not None
    assert not t.gc_work.pending or t.entries >= 1


def test_link_down_flushes_the_devices_neighbours(pair):
    sim, a, b, ea, eb = pair
    send(a, ea, "10.0.0.2")
    sim.settle()
    neigh_add(tbl(a), ea, A("10.0.0.50"), bytes(6))
    dev_close(ea)
    assert neigh(a, ea, "10.0.0.2") is None and neigh(a, ea, "10.0.0.50") is None
