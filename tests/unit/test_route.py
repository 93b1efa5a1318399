"""net/ipv4/route.py: input and output routes, the route cache and its invalidation, PMTU
exceptions, ip_error's counters and rate limit, `ip route get` (checked against Linux 6.18)."""
import pytest

from kstack.core.dev import dev_open
from kstack.core.dropreason import SkbDropReason
from kstack.core.dst import dst_check, dst_input, dst_mtu
from kstack.core.errno import EHOSTUNREACH, EINVAL, ENETUNREACH
from kstack.core.rtnetlink import RTN_BROADCAST, RTN_LOCAL, RTN_UNICAST, RTN_UNREACHABLE, rtnetlink_rcv_msg
from kstack.core.skbuff import alloc_skb, skb_put
from kstack.core.sysctl import sysctl_get, sysctl_set
from kstack.sim import Sim
from kstack.wire.inet import in_aton as A
from tests.lib.hosts import boot


@pytest.fixture
def host():
    """A router-shaped host: eth0 10.0.0.1/24, eth1 192.168.1.1/24 (peers in other Nets)."""
    boot()
    from kstack.drivers.net.veth import veth_newlink
    from kstack.net.ipv4.devinet import inet_rtm_newaddr
    sim = Sim()
    net = sim.new_net("h")
    p0, p1 = sim.new_net("p0"), sim.new_net("p1")
    e0, _ = veth_newlink(net, "eth0", p0, "eth0")
    e1, _ = veth_newlink(net, "eth1", p1, "eth0")
    dev_open(e0)
    dev_open(e1)
    assert inet_rtm_newaddr(net, e0.ifindex, A("10.0.0.1"), 24) == 0
    assert inet_rtm_newaddr(net, e1.ifindex, A("192.168.1.1"), 24) == 0
    net.e0, net.e1, net.sim = e0, e1, sim
    return net


def R():
    from kstack.net.ipv4 import route
    return route


def out(net, daddr, **kw):
    r = R()
    fl4 = r.Flowi4(daddr=A(daddr), **kw)
    return r.ip_route_output_key(net, fl4), fl4


def ip_skb(dev, saddr, daddr, proto=17, payload=b"x" * 8):
    skb = alloc_skb(20 + len(payload), 64)
    off = skb_put(skb, 20 + len(payload))
    h = skb.head
    h[off:off + 20] = bytes([0x45, 0, 0, 20 + len(payload), 0, 0, 0x40, 0, 64, proto, 0, 0]) + \
        A(saddr).to_bytes(4, "big") + A(daddr).to_bytes(4, "big")
    h[off + 20:off + 20 + len(payload)] = payload
    skb.network_header = off
    skb.protocol = 0x0800
    skb.dev = dev
    return skb


def route_in(net, dev, saddr, daddr):
    skb = ip_skb(dev, saddr, daddr)
    return R().ip_route_input_noref(skb, A(daddr), A(saddr), 0, dev), skb


def test_output_route_to_a_neighbour_picks_the_source(host):
    rt, fl4 = out(host, "10.0.0.7")
    assert rt.dev is host.e0 and rt.rt_type == RTN_UNICAST and fl4.saddr == A("10.0.0.1")
    assert rt.rt_gw4 == 0 and R().rt_nexthop(rt, A("10.0.0.7")) == A("10.0.0.7")
    assert rt.output is __import__("kstack.net.ipv4.ip_output", fromlist=["ip_output"]).ip_output
    assert dst_mtu(rt) == 1500 and not rt.rt_is_input
    rt, fl4 = out(host, "192.168.1.50")
    assert rt.dev is host.e1 and fl4.saddr == A("192.168.1.1")


def test_output_route_via_gateway_and_errors(host):
    from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
    from kstack.net.ipv4.fib_semantics import FibConfig
    assert out(host, "8.8.8.8")[0] == -ENETUNREACH
    inet_rtm_newroute(host, FibConfig(fc_gw4=A("192.168.1.254")))
    rt, fl4 = out(host, "8.8.8.8")
    assert rt.rt_gw4 == A("192.168.1.254") and rt.rt_uses_gateway and rt.dev is host.e1
    assert fl4.saddr == A("192.168.1.1") and R().rt_nexthop(rt, A("8.8.8.8")) == A("192.168.1.254")
    # A source we do not own: ENETUNREACH (Linux 6.18); multicast source: EINVAL.
    assert out(host, "8.8.8.8", saddr=A("10.0.0.99"))[0] == -ENETUNREACH
    assert out(host, "8.8.8.8", saddr=A("224.0.0.1"))[0] == -EINVAL
    rt, fl4 = out(host, "8.8.8.8", saddr=A("10.0.0.1"))
    assert fl4.saddr == A("10.0.0.1") and rt.dev is host.e1


def test_output_route_to_own_address_uses_lo(host):
    rt, fl4 = out(host, "10.0.0.1")
    assert rt.dev is host.loopback_dev and rt.rt_type == RTN_LOCAL
    assert rt.rt_flags & R().RTCF_LOCAL and fl4.saddr == A("10.0.0.1")
    rt, fl4 = out(host, "127.0.0.1")
    assert rt.dev is host.loopback_dev and fl4.saddr == A("127.0.0.1")
    rt, fl4 = out(host, "0.0.0.0")
    assert rt.dev is host.loopback_dev and fl4.daddr == fl4.saddr == A("127.0.0.1")


def test_output_broadcast_routes(host):
    r = R()
    rt, fl4 = out(host, "10.0.0.255")
    assert rt.rt_type == RTN_BROADCAST and rt.rt_flags & r.RTCF_BROADCAST and rt.dev is host.e0
    assert fl4.saddr == A("10.0.0.1")
    # 255.255.255.255 with no default route: unreachable unless an oif is given.
    assert out(host, "255.255.255.255")[0] == -ENETUNREACH
    rt, fl4 = out(host, "255.255.255.255", oif=host.e1.ifindex)
    assert rt.rt_type == RTN_BROADCAST and rt.dev is host.e1 and fl4.saddr == A("192.168.1.1")


def test_oif_without_route_assumes_on_link(host):
    rt, fl4 = out(host, "172.16.9.9", oif=host.e1.ifindex)
    assert rt.dev is host.e1 and fl4.saddr == A("192.168.1.1") and rt.rt_type == RTN_UNICAST


def test_output_routes_are_cached_and_invalidated(host):
    from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
    from kstack.net.ipv4.fib_semantics import FibConfig
    rt1, _ = out(host, "10.0.0.7")
    rt2, _ = out(host, "10.0.0.8")
    assert rt1 is rt2 and dst_check(rt1) is rt1
    # Any route change invalidates what sockets cached.
    assert inet_rtm_newroute(host, FibConfig(fc_dst=A("10.0.0.8"), fc_dst_len=32,
                                             fc_gw4=A("192.168.1.254"))) == 0
    assert dst_check(rt1) is None
    rt3, _ = out(host, "10.0.0.8")
    assert rt3 is not rt1 and rt3.rt_gw4 == A("192.168.1.254")
    rt4, _ = out(host, "10.0.0.7")
    assert rt4.dev is host.e0 and dst_check(rt4) is rt4


def test_input_local_and_broadcast_go_to_ip_local_deliver(host):
    from kstack.net.ipv4.ip_input import ip_local_deliver
    r = R()
    for daddr in ("10.0.0.1", "192.168.1.1", "10.0.0.255", "255.255.255.255"):
        err, skb = route_in(host, host.e0, "10.0.0.2", daddr)
        assert err == 0 and skb._dst.input is ip_local_deliver, daddr
        assert skb._dst.rt_is_input and skb._dst.dev is host.loopback_dev
    err, skb = route_in(host, host.e0, "10.0.0.2", "10.0.0.255")
    assert skb._dst.rt_type == RTN_BROADCAST and skb._dst.rt_flags & r.RTCF_BROADCAST
    err, skb = route_in(host, host.e0, "10.0.0.2", "10.0.0.1")
    assert skb._dst.rt_type == RTN_LOCAL and skb._dst.rt_flags & r.RTCF_LOCAL
    # Cached on the local route's next hop: the same object for the next packet.
    assert route_in(host, host.e0, "10.0.0.3", "10.0.0.1")[1]._dst is skb._dst


def test_martians_are_rejected(host):
    for saddr, daddr in (("10.0.0.1", "10.0.0.1"),      # our own address from the wire
                         ("224.0.0.5", "10.0.0.1"),     # multicast source
                         ("0.0.0.0", "10.0.0.1"),       # zeronet source
                         ("127.0.0.1", "10.0.0.1"),     # loopback source
                         ("10.0.0.2", "127.0.0.1"),     # loopback destination
                         ("10.0.0.2", "0.1.2.3")):      # zeronet destination
        err, skb = route_in(host, host.e0, saddr, daddr)
        assert err == -EINVAL and skb._dst is None, (saddr, daddr)
    fn = host.gen["fib"]
    assert fn.rt_cache_stat["in_martian_src"] == 4 and fn.rt_cache_stat["in_martian_dst"] == 2


def test_not_for_us_without_forwarding_is_ip_error(host):
    r = R()
    sent = []
    r._resolved["icmp_send"] = lambda skb, t, c, i: sent.append((t, c))
    try:
        err, skb = route_in(host, host.e0, "10.0.0.2", "192.168.1.7")
        assert err == 0 and skb._dst.input is r.ip_error and skb._dst.error == EHOSTUNREACH
        assert skb._dst.rt_type == RTN_UNREACHABLE
        dst_input(skb)
        # Linux (ip_error): forwarding off counts InAddrErrors and sends nothing.
        assert host.mib.Ip["InAddrErrors"] == 1 and sent == []
        assert host.drop_reasons[SkbDropReason.IP_INADDRERRORS] == 1
        err, skb = route_in(host, host.e0, "10.0.0.2", "8.8.8.8")
        assert skb._dst.error == EHOSTUNREACH
    finally:
        r._resolved.pop("icmp_send", None)


def test_forwarding_on_forwards_and_unroutable_is_net_unreachable(host):
    from kstack.net.ipv4.ip_forward import ip_forward
    r = R()
    assert sysctl_set(host, "net.ipv4.ip_forward", "1") == 0
    err, skb = route_in(host, host.e0, "10.0.0.2", "192.168.1.7")
    assert err == 0 and skb._dst.input is ip_forward and skb._dst.dev is host.e1
    assert skb._dst.output is __import__("kstack.net.ipv4.ip_output", fromlist=["x"]).ip_output
    sent = []
    r._resolved["icmp_send"] = lambda skb, t, c, i: sent.append((t, c))
    try:
        err, skb = route_in(host, host.e0, "10.0.0.2", "8.8.8.8")
        assert err == 0 and skb._dst.error == ENETUNREACH
        dst_input(skb)
        assert sent == [(3, 0)] and host.mib.IpExt["InNoRoutes"] == 1
        assert host.drop_reasons[SkbDropReason.IP_INNOROUTES] == 1
    finally:
        r._resolved.pop("icmp_send", None)
    # Per-device: conf.eth0.forwarding off makes eth0 a host again.
    assert sysctl_set(host, "net.ipv4.conf.eth0.forwarding", "0") == 0
    err, skb = route_in(host, host.e0, "10.0.0.2", "192.168.1.7")
    assert skb._dst.input is r.ip_error
    err, skb = route_in(host, host.e1, "192.168.1.2", "10.0.0.7")
    assert skb._dst.input is ip_forward


def test_ip_error_rate_limit_per_source(host):
    r = R()
    sent = []
    r._resolved["icmp_send"] = lambda skb, t, c, i: sent.append(c)
    sysctl_set(host, "net.ipv4.ip_forward", "1")
    try:
        for _ in range(8):
            err, skb = route_in(host, host.e0, "10.0.0.2", "8.8.8.8")
            dst_input(skb)
        assert len(sent) == 5                      # error_burst 5 s / error_cost 1 s
        host.clock.advance(1.0)
        err, skb = route_in(host, host.e0, "10.0.0.2", "8.8.8.8")
        dst_input(skb)
        assert len(sent) == 6
        err, skb = route_in(host, host.e0, "10.0.0.3", "8.8.8.8")   # another source
        dst_input(skb)
        assert len(sent) == 7
        assert host.mib.IpExt["InNoRoutes"] == 10
    finally:
        r._resolved.pop("icmp_send", None)


def test_redirect_marked_when_forwarding_back_out_the_same_link(host):
    from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
    from kstack.net.ipv4.fib_semantics import FibConfig
    from kstack.net.ipv4.ip_input import IPCB, IPSKB_DOREDIRECT
    sysctl_set(host, "net.ipv4.ip_forward", "1")
    inet_rtm_newroute(host, FibConfig(fc_dst=A("10.1.0.0"), fc_dst_len=16, fc_gw4=A("10.0.0.9")))
    err, skb = route_in(host, host.e0, "10.0.0.2", "10.1.2.3")
    assert err == 0 and IPCB(skb).flags & IPSKB_DOREDIRECT and skb._dst.rt_gw4 == A("10.0.0.9")
    err, skb = route_in(host, host.e1, "192.168.1.2", "10.1.2.3")
    assert not IPCB(skb).flags & IPSKB_DOREDIRECT


def test_pmtu_exception_lowers_mtu_and_expires(host):
    from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
    from kstack.net.ipv4.fib_semantics import FibConfig
    r = R()
    inet_rtm_newroute(host, FibConfig(fc_gw4=A("192.168.1.254")))
    old, fl4 = out(host, "8.8.8.8")
    assert dst_mtu(old) == 1500
    r.__ip_rt_update_pmtu(old, fl4, 1400)
    # The cached next-hop route is now stale; a new lookup carries the learned PMTU.
    assert dst_check(old) is None
    rt, _ = out(host, "8.8.8.8")
    assert dst_mtu(rt) == 1400 and rt.rt_pmtu == 1400 and dst_check(rt) is rt
    assert dst_mtu(out(host, "8.8.4.4")[0]) == 1500          # only that destination
    # A larger value is ignored, a smaller one updates the same cached route in place.
    r.__ip_rt_update_pmtu(rt, r.Flowi4(daddr=A("8.8.8.8")), 1450)
    assert dst_mtu(rt) == 1400
    r.__ip_rt_update_pmtu(rt, r.Flowi4(daddr=A("8.8.8.8")), 1300)
    assert dst_mtu(rt) == 1300 and out(host, "8.8.8.8")[0] is rt
    # Below min_pmtu (552): clamped and locked.
    r.__ip_rt_update_pmtu(rt, r.Flowi4(daddr=A("8.8.8.8")), 300)
    assert dst_mtu(rt) == 552 and rt.rt_mtu_locked
    # mtu_expires (600 s) later the device MTU is back for a new lookup. The old route
    # object keeps its lock and, through a gateway, says 576 (ipv4_mtu) until dropped.
    host.clock.advance(601)
    assert dst_mtu(rt) == 576
    fresh = out(host, "8.8.8.8")[0]
    assert dst_mtu(fresh) == 1500 and fresh is not rt and dst_check(rt) is None


def test_ipv4_update_pmtu_from_an_icmp_quote(host):
    r = R()
    inner = ip_skb(host.e0, "10.0.0.1", "10.0.0.7", proto=17)
    inner.data = inner.network_header
    r.ipv4_update_pmtu(inner, host, 1280, 0, 17)
    assert dst_mtu(out(host, "10.0.0.7")[0]) == 1280
    assert dst_mtu(out(host, "10.0.0.8")[0]) == 1500
    assert sysctl_get(host, "net.ipv4.route.mtu_expires") == "600"
    assert sysctl_get(host, "net.ipv4.route.min_pmtu") == "552"
    # `ip route flush cache` forgets exceptions.
    assert sysctl_set(host, "net.ipv4.route.flush", "1") == 0
    assert dst_mtu(out(host, "10.0.0.7")[0]) == 1500


def test_ip_route_get_matches_iproute2(host):
    from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
    from kstack.net.ipv4.fib_semantics import FibConfig
    inet_rtm_newroute(host, FibConfig(fc_dst=A("10.20.0.0"), fc_dst_len=16, fc_gw4=A("10.0.0.2"),
                                      fc_metrics={"mtu": 1400}))
    err, d = rtnetlink_rcv_msg(host, "RTM_GETROUTE", {"dst": "10.20.1.1"})
    assert err == 0 and d == {"dst": "10.20.1.1", "gateway": "10.0.0.2", "dev": "eth0",
                              "prefsrc": "10.0.0.1", "flags": [], "uid": 0, "cache": [],
                              "metrics": [{"mtu": 1400}]}
    err, d = rtnetlink_rcv_msg(host, "RTM_GETROUTE", {"dst": "10.0.0.1"})
    assert d == {"type": "local", "dst": "10.0.0.1", "dev": "lo", "prefsrc": "10.0.0.1", "flags": [],
                 "uid": 0, "cache": ["local"]}
    err, d = rtnetlink_rcv_msg(host, "RTM_GETROUTE", {"dst": "10.0.0.255"})
    assert d["type"] == "broadcast" and d["cache"] == ["local", "brd"] and d["dev"] == "eth0"
    assert rtnetlink_rcv_msg(host, "RTM_GETROUTE", {"dst": "9.9.9.9"})[0] == -ENETUNREACH
    # Input routes: forwarding off is "No route to host"; on, a redirect-marked hairpin.
    err, _ = rtnetlink_rcv_msg(host, "RTM_GETROUTE", {"dst": "10.20.1.1", "from": "10.0.0.5", "iif": "eth0"})
    assert err == -EHOSTUNREACH
    sysctl_set(host, "net.ipv4.ip_forward", "1")
    err, d = rtnetlink_rcv_msg(host, "RTM_GETROUTE", {"dst": "10.20.1.1", "from": "10.0.0.5", "iif": "eth0"})
    assert err == 0 and d["from"] == "10.0.0.5" and d["gateway"] == "10.0.0.2" and d["iif"] == "eth0"
    assert d["cache"] == ["redirect"]
    err, d = rtnetlink_rcv_msg(host, "RTM_GETROUTE", {"dst": "10.20.1.1", "fibmatch": True})
    assert d["dst"] == "10.20.0.0/16" and d["gateway"] == "10.0.0.2"


def test_dst_check_fails_after_address_and_link_changes(host):
    from kstack.core.dev import dev_close
    from kstack.net.ipv4.devinet import inet_rtm_newaddr
    rt, _ = out(host, "10.0.0.7")
    inet_rtm_newaddr(host, host.e1.ifindex, A("172.16.0.1"), 24)
    assert dst_check(rt) is None
    rt, _ = out(host, "10.0.0.7")
    dev_close(host.e0)
    assert dst_check(rt) is None
    assert out(host, "10.0.0.7")[0] == -ENETUNREACH


def test_neighbour_for_an_output_route(host):
    r = R()
    rt, _ = out(host, "10.0.0.7")
    skb = ip_skb(host.e0, "10.0.0.1", "10.0.0.7")
    n = r.ip_neigh_for_gw(rt, skb)
    assert n.primary_key == A("10.0.0.7") and n.dev is host.e0
    rt, _ = out(host, "10.0.0.1")
    n = r.ip_neigh_for_gw(rt, ip_skb(host.loopback_dev, "10.0.0.1", "10.0.0.1"))
    assert n.dev is host.loopback_dev and n.primary_key == 0     # lo's single entry, as Linux


def test_unroutable_input_counters_match_a_linux_netns_run():
    """Replays a Linux 6.18 netns experiment: a (10.9.0.1) routes 10.9.5.0/24 via b (10.9.0.2)
    and sends three datagrams there, then one to b itself. b with ip_forward=0 counts 3
    IpInAddrErrors and sends no ICMP for them (only the port unreachable); with ip_forward=1 it
    counts 3 IpExtInNoRoutes and sends 2 more host-unreachables (ip_error's and icmp_send's
    limits share the peer's tokens). Linux printed: b 3/1/0, a 1; then b 3/3/3, a 3."""
    pytest.importorskip("kstack.net.ipv4.icmp")
    import sys
    sys.path.insert(0, ".")
    from tests.lib.syscalls import World
    from kstack.core.sock import AF_INET, SOCK_DGRAM
    from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
    from kstack.net.ipv4.fib_semantics import FibConfig
    w = World()
    a, b = w.pair("10.9.0.1/24", "10.9.0.2/24")
    inet_rtm_newroute(a.net, FibConfig(fc_dst=A("10.9.5.0"), fc_dst_len=24, fc_gw4=A("10.9.0.2")))
    s = a.socket(AF_INET, SOCK_DGRAM)

    def counters():
        return (b.net.mib.Ip["InAddrErrors"], b.net.mib.Icmp["OutDestUnreachs"],
                b.net.mib.IpExt["InNoRoutes"], a.net.mib.Icmp["InDestUnreachs"])

    for _ in range(3):
        a.sendto(s, b"x", ("10.9.5.5", 9))
        w.run_for(0.05)
    a.sendto(s, b"x", ("10.9.0.2", 9))
    w.run_for(0.3)
    assert counters() == (3, 1, 0, 1)
    b.sysctl("net.ipv4.ip_forward", "1")
    for _ in range(3):
        a.sendto(s, b"x", ("10.9.5.5", 9))
        w.run_for(0.05)
    w.run_for(0.3)
    assert counters() == (3, 3, 3, 3)
    assert a.net.bugs == [] and b.net.bugs == []
