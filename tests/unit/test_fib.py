"""net/ipv4/fib_{trie,frontend,semantics,rules}.py: longest-prefix match, tables, metrics and
priorities, the kernel's errors (checked against `ip route` on Linux 6.18 in a netns), and
connected routes that follow addresses and links."""
import pytest

from kstack.core.dev import dev_close, dev_open
from kstack.core.errno import EACCES, EEXIST, EHOSTUNREACH, EINVAL, ENETUNREACH, ENODEV, ENOENT, ESRCH
from kstack.core.rtnetlink import (NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE,
                                   RT_SCOPE_HOST, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTN_BLACKHOLE,
                                   RTN_BROADCAST, RTN_LOCAL, RTN_PROHIBIT, RTN_THROW, RTN_UNICAST,
                                   RTN_UNREACHABLE, RTNH_F_ONLINK, Extack, rtnetlink_rcv_msg)
from kstack.core.dst import RTAX_ADVMSS, RTAX_MTU, dst_metric_advmss, dst_mtu
from kstack.wire.inet import in_aton as A
from tests.lib.hosts import two_hosts, two_port_host


@pytest.fixture
def host():
    """One Net with eth0 (10.0.0.1/24) and eth1 (192.168.1.1/24) up."""
    from kstack.net.ipv4.devinet import inet_rtm_newaddr
    net = two_port_host("peer")
    assert inet_rtm_newaddr(net, net.e0.ifindex, A("10.0.0.1"), 24) == 0
    assert inet_rtm_newaddr(net, net.e1.ifindex, A("192.168.1.1"), 24) == 0
    return net


def cfg(**kw):
    from kstack.net.ipv4.fib_semantics import FibConfig
    return FibConfig(**kw)


def add(net, dst, plen, **kw):
    from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
    return inet_rtm_newroute(net, cfg(fc_dst=A(dst), fc_dst_len=plen, **kw))


def lookup(net, daddr, **fl):
    from kstack.net.ipv4.fib_frontend import fib_lookup
    from kstack.net.ipv4.fib_semantics import FibResult
    from kstack.net.ipv4.route import Flowi4
    res = FibResult()
    err = fib_lookup(net, Flowi4(daddr=A(daddr), **fl), res)
    return err, res


def gw_of(res):
    return res.fi.fib_nh[res.nh_sel].fib_nh_gw4


def test_longest_prefix_wins_over_overlapping_routes(host):
    assert add(host, "0.0.0.0", 0, fc_gw4=A("10.0.0.254")) == 0
    assert add(host, "172.16.0.0", 12, fc_gw4=A("10.0.0.2")) == 0
    assert add(host, "172.16.5.0", 24, fc_gw4=A("10.0.0.3")) == 0
    assert add(host, "172.16.5.128", 25, fc_gw4=A("192.168.1.9")) == 0
    assert add(host, "172.16.5.7", 32, fc_gw4=A("10.0.0.4")) == 0
    cases = {"172.16.5.7": ("10.0.0.4", 32), "172.16.5.200": ("192.168.1.9", 25),
             "172.16.5.9": ("10.0.0.3", 24), "172.31.0.1": ("10.0.0.2", 12),
             "8.8.8.8": ("10.0.0.254", 0)}
    for daddr, (gw, plen) in cases.items():
        err, res = lookup(host, daddr)
        assert err == 0 and res.prefixlen == plen and gw_of(res) == A(gw), daddr
        assert res.type == RTN_UNICAST


def test_connected_and_local_routes_of_an_address(host):
    err, res = lookup(host, "10.0.0.77")
    assert err == 0 and res.prefixlen == 24 and res.scope == 253 and gw_of(res) == 0
    assert res.fi.fib_nh[0].fib_nh_dev is host.e0 and res.fi.fib_prefsrc == A("10.0.0.1")
    err, res = lookup(host, "10.0.0.1")
    assert err == 0 and res.type == RTN_LOCAL and res.table.tb_id == RT_TABLE_LOCAL
    err, res = lookup(host, "10.0.0.255")
    assert err == 0 and res.type == RTN_BROADCAST
    err, res = lookup(host, "127.4.5.6")
    assert err == 0 and res.type == RTN_LOCAL and res.prefixlen == 8
    assert lookup(host, "11.0.0.1")[0] == -ENETUNREACH


def test_dump_matches_iproute2_json(host):
    from kstack.net.ipv4.fib_frontend import fib_dump
    assert add(host, "10.20.0.0", 16, fc_gw4=A("10.0.0.2"), fc_priority=5, fc_metrics={"mtu": 1400}) == 0
    assert add(host, "10.30.0.0", 16, fc_type=RTN_BLACKHOLE) == 0
    assert add(host, "10.40.0.0", 16, fc_oif=host.e0.ifindex, fc_table=100) == 0
    routes = fib_dump(host)
    # The dicts `ip -j route show table all` printed for the same setup on Linux 6.18.
    assert {"dst": "10.40.0.0/16", "dev": "eth0", "table": "100", "scope": "link", "flags": []} == routes[0]
    assert {"dst": "10.0.0.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link",
            "prefsrc": "10.0.0.1", "flags": []} in routes
    assert {"dst": "10.20.0.0/16", "gateway": "10.0.0.2", "dev": "eth0", "metric": 5, "flags": [],
            "metrics": [{"mtu": 1400}]} in routes
    assert {"type": "blackhole", "dst": "10.30.0.0/16", "flags": []} in routes
    assert {"type": "local", "dst": "10.0.0.1", "dev": "eth0", "table": "local", "protocol": "kernel",
            "scope": "host", "prefsrc": "10.0.0.1", "flags": []} in routes
    assert {"type": "broadcast", "dst": "10.0.0.255", "dev": "eth0", "table": "local",
            "protocol": "kernel", "scope": "link", "prefsrc": "10.0.0.1", "flags": []} in routes
    main = [r["dst"] for r in fib_dump(host, RT_TABLE_MAIN)]
    assert main == ["10.0.0.0/24", "10.20.0.0/16", "10.30.0.0/16", "192.168.1.0/24"]
    local = [r["dst"] for r in fib_dump(host, "local")]
    assert local == ["10.0.0.1", "10.0.0.255", "127.0.0.0/8", "127.0.0.1", "127.255.255.255",
                     "192.168.1.1", "192.168.1.255"]


def test_same_key_longer_prefix_dumps_first(host):
    from kstack.net.ipv4.fib_frontend import fib_dump
    add(host, "10.0.0.0", 8, fc_gw4=A("10.0.0.2"))
    add(host, "10.0.0.0", 16, fc_gw4=A("10.0.0.2"))
    add(host, "0.0.0.0", 0, fc_gw4=A("10.0.0.2"))
    assert [r["dst"] for r in fib_dump(host, "main")][:4] == ["default", "10.0.0.0/24", "10.0.0.0/16", "10.0.0.0/8"]


def test_priority_orders_routes_of_one_prefix(host):
    from kstack.net.ipv4.fib_frontend import fib_dump
    assert add(host, "10.9.0.0", 16, fc_gw4=A("10.0.0.3"), fc_priority=10) == 0
    assert add(host, "10.9.0.0", 16, fc_gw4=A("10.0.0.2"), fc_priority=5) == 0
    err, res = lookup(host, "10.9.1.1")
    assert err == 0 and gw_of(res) == A("10.0.0.2") and res.fi.fib_priority == 5
    assert [r.get("metric") for r in fib_dump(host, "main") if r["dst"] == "10.9.0.0/16"] == [5, 10]


def test_eexist_append_prepend_replace(host):
    from kstack.net.ipv4.fib_frontend import fib_dump
    assert add(host, "10.5.0.0", 16, fc_gw4=A("10.0.0.2")) == 0
    infos = len(host.gen["fib"].fib_info_hash)
    # `ip route add` of the same prefix/tos/priority: File exists, even with another gateway.
    assert add(host, "10.5.0.0", 16, fc_gw4=A("10.0.0.9")) == -EEXIST
    assert len(host.gen["fib"].fib_info_hash) == infos          # the rejected FibInfo is freed
    assert add(host, "10.5.0.0", 16, fc_oif=host.e0.ifindex) == -EEXIST
    # `ip route append` goes after, an exact duplicate is still EEXIST.
    assert add(host, "10.5.0.0", 16, fc_gw4=A("10.0.0.4"), fc_nlflags=NLM_F_CREATE | NLM_F_APPEND) == 0
    assert add(host, "10.5.0.0", 16, fc_gw4=A("10.0.0.4"), fc_nlflags=NLM_F_CREATE | NLM_F_APPEND) == -EEXIST
    # `ip route prepend` (create without excl) goes first.
    assert add(host, "10.5.0.0", 16, fc_gw4=A("10.0.0.5"), fc_nlflags=NLM_F_CREATE) == 0
    gws = [r["gateway"] for r in fib_dump(host, "main") if r["dst"] == "10.5.0.0/16"]
    assert gws == ["10.0.0.5", "10.0.0.2", "10.0.0.4"]
    # `ip route replace` swaps the first of the group; `change` needs an existing route.
    assert add(host, "10.5.0.0", 16, fc_gw4=A("10.0.0.6"), fc_nlflags=NLM_F_CREATE | NLM_F_REPLACE) == 0
    gws = [r["gateway"] for r in fib_dump(host, "main") if r["dst"] == "10.5.0.0/16"]
    assert gws == ["10.0.0.6", "10.0.0.2", "10.0.0.4"]
    assert add(host, "10.6.0.0", 16, fc_gw4=A("10.0.0.6"), fc_nlflags=NLM_F_REPLACE) == -ENOENT
    err, res = lookup(host, "10.5.3.3")
    assert gw_of(res) == A("10.0.0.6")


def test_delete_matches_selectors_and_esrch(host):
    from kstack.net.ipv4.fib_frontend import inet_rtm_delroute
    add(host, "10.5.0.0", 16, fc_gw4=A("10.0.0.2"))
    add(host, "10.5.0.0", 16, fc_gw4=A("10.0.0.3"), fc_priority=7)
    assert inet_rtm_delroute(host, cfg(fc_dst=A("10.99.0.0"), fc_dst_len=16)) == -ESRCH
    assert inet_rtm_delroute(host, cfg(fc_dst=A("10.5.0.0"), fc_dst_len=16, fc_gw4=A("10.0.0.9"))) == -ESRCH
    assert inet_rtm_delroute(host, cfg(fc_dst=A("10.5.0.0"), fc_dst_len=16, fc_priority=7)) == 0
    err, res = lookup(host, "10.5.0.1")
    assert gw_of(res) == A("10.0.0.2")
    assert inet_rtm_delroute(host, cfg(fc_dst=A("10.5.0.0"), fc_dst_len=16)) == 0
    assert lookup(host, "10.5.0.1")[0] == -ENETUNREACH
    assert inet_rtm_delroute(host, cfg(fc_dst=A("10.5.0.0"), fc_dst_len=16, fc_table=77)) == -ESRCH


def test_gateway_must_be_on_link(host):
    from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
    ext = Extack()
    r = inet_rtm_newroute(host, cfg(fc_dst=A("10.50.0.0"), fc_dst_len=16, fc_gw4=A("10.77.0.1")), ext)
    assert r == -ENETUNREACH and ext._msg == "Nexthop has invalid gateway"
    # onlink skips the check (the gateway must still be unicast).
    assert add(host, "10.50.0.0", 16, fc_gw4=A("10.77.0.1"), fc_oif=host.e0.ifindex,
               fc_flags=RTNH_F_ONLINK) == 0
    err, res = lookup(host, "10.50.1.1")
    assert gw_of(res) == A("10.77.0.1") and res.fi.fib_nh[0].fib_nh_dev is host.e0
    # A gateway that is one of our addresses is accepted, as on Linux.
    assert add(host, "10.70.0.0", 16, fc_gw4=A("10.0.0.1")) == 0
    # A gateway reachable only through another gateway is not on-link.
    add(host, "172.20.0.0", 16, fc_gw4=A("10.0.0.2"))
    assert add(host, "10.71.0.0", 16, fc_gw4=A("172.20.0.1")) == -ENETUNREACH
    # gateway+dev on the wrong device
    assert add(host, "10.72.0.0", 16, fc_gw4=A("10.0.0.2"), fc_oif=host.e1.ifindex) == -ENETUNREACH
    assert add(host, "10.73.0.0", 16, fc_oif=999) == -ENODEV


def test_reject_routes_and_their_errors(host):
    from kstack.net.ipv4.fib_frontend import inet_rtm_newroute
    from kstack.net.ipv4.route import Flowi4, ip_route_output_key
    assert add(host, "10.30.0.0", 16, fc_type=RTN_BLACKHOLE) == 0
    assert add(host, "10.80.0.0", 16, fc_type=RTN_UNREACHABLE) == 0
    assert add(host, "10.81.0.0", 16, fc_type=RTN_PROHIBIT) == 0
    add(host, "10.82.0.0", 16, fc_gw4=A("10.0.0.2"))
    assert add(host, "10.82.1.0", 24, fc_type=RTN_THROW) == 0
    # sendto() on Linux: EINVAL, EHOSTUNREACH, EACCES; a throw falls out of the table.
    for daddr, err in (("10.30.0.1", -EINVAL), ("10.80.0.1", -EHOSTUNREACH), ("10.81.0.1", -EACCES),
                       ("10.82.1.1", -ENETUNREACH)):
        assert ip_route_output_key(host, Flowi4(daddr=A(daddr))) == err
    assert ip_route_output_key(host, Flowi4(daddr=A("10.82.2.1"))).rt_gw4 == A("10.0.0.2")
    ext = Extack()
    r = inet_rtm_newroute(host, cfg(fc_dst=A("10.83.0.0"), fc_dst_len=16, fc_type=RTN_UNREACHABLE,
                                    fc_oif=host.e0.ifindex), ext)
    assert r == -EINVAL and "can not be specified" in ext._msg


def test_validation_errors(host):
    # host bits set
    assert add(host, "10.5.0.1", 16, fc_gw4=A("10.0.0.2")) == -EINVAL
    # local routes need scope host; explicit global scope is rejected
    assert add(host, "10.6.0.1", 32, fc_type=RTN_LOCAL, fc_oif=host.e0.ifindex, fc_scope=0) == -EINVAL
    assert add(host, "10.6.0.1", 32, fc_type=RTN_LOCAL, fc_oif=host.e0.ifindex, fc_table=RT_TABLE_LOCAL) == 0
    assert lookup(host, "10.6.0.1")[1].type == RTN_LOCAL
    # prefsrc must be a local address
    assert add(host, "10.7.0.0", 16, fc_gw4=A("10.0.0.2"), fc_prefsrc=A("10.0.0.99")) == -EINVAL
    assert add(host, "10.7.0.0", 16, fc_gw4=A("10.0.0.2"), fc_prefsrc=A("192.168.1.1")) == 0
    assert add(host, "10.8.0.0", 16, fc_gw4=A("10.0.0.2"), fc_metrics={"bogus": 1}) == -EINVAL


def test_route_metrics_reach_the_dst(host):
    from kstack.net.ipv4.route import Flowi4, ip_route_output_key
    assert add(host, "10.20.0.0", 16, fc_gw4=A("10.0.0.2"), fc_metrics={"mtu": 1400, "advmss": 1000}) == 0
    rt = ip_route_output_key(host, Flowi4(daddr=A("10.20.1.1")))
    assert rt.metrics[RTAX_MTU] == 1400 and dst_mtu(rt) == 1400
    assert dst_metric_advmss(rt) == 1000
    rt2 = ip_route_output_key(host, Flowi4(daddr=A("10.0.0.9")))
    assert dst_mtu(rt2) == 1500 and dst_metric_advmss(rt2) == 1460
    assert RTAX_ADVMSS not in rt2.metrics


def test_oif_selects_the_route_through_that_device(host):
    add(host, "172.16.0.0", 16, fc_gw4=A("10.0.0.2"))
    add(host, "172.16.0.0", 12, fc_gw4=A("192.168.1.2"))
    assert gw_of(lookup(host, "172.16.1.1")[1]) == A("10.0.0.2")
    # The /16 leaf does not pass the oif check: the lookup backtracks to the /12.
    assert gw_of(lookup(host, "172.16.1.1", oif=host.e1.ifindex)[1]) == A("192.168.1.2")


def test_tables_and_rules(host):
    from kstack.net.ipv4.fib_rules import __fib_lookup  # noqa: F401
    assert add(host, "10.60.0.0", 16, fc_gw4=A("192.168.1.2"), fc_table=100) == 0
    assert lookup(host, "10.60.0.1")[0] == -ENETUNREACH      # table 100 is not consulted
    r, rules = rtnetlink_rcv_msg(host, "RTM_GETRULE", {"dump": True})
    assert rules == [{"priority": 0, "src": "all", "table": "local"},
                     {"priority": 32766, "src": "all", "table": "main"},
                     {"priority": 32767, "src": "all", "table": "default"}]
    assert rtnetlink_rcv_msg(host, "RTM_NEWRULE", {"from": "10.0.0.0/24", "table": 100})[0] == 0
    assert rtnetlink_rcv_msg(host, "RTM_GETRULE", {"dump": True})[1][1] == \
        {"priority": 32765, "src": "10.0.0.0", "srclen": 24, "table": "100"}
    err, res = lookup(host, "10.60.0.1", saddr=A("10.0.0.1"))
    assert err == 0 and res.table.tb_id == 100 and gw_of(res) == A("192.168.1.2")
    assert lookup(host, "10.60.0.1", saddr=A("192.168.1.1"))[0] == -ENETUNREACH
    # local still wins (rule 0), main still used after table 100 misses
    assert lookup(host, "10.0.0.1", saddr=A("10.0.0.1"))[1].type == RTN_LOCAL
    assert lookup(host, "10.0.0.9", saddr=A("10.0.0.1"))[1].table.tb_id == RT_TABLE_MAIN
    assert rtnetlink_rcv_msg(host, "RTM_NEWRULE", {"to": "10.61.0.0/16", "action": "prohibit",
                                                   "priority": 100})[0] == 0
    assert lookup(host, "10.61.0.1")[0] == -EACCES
    assert rtnetlink_rcv_msg(host, "RTM_DELRULE", {"priority": 100})[0] == 0
    assert rtnetlink_rcv_msg(host, "RTM_DELRULE", {"priority": 100})[0] == -ENOENT
    assert lookup(host, "10.61.0.1")[0] == -ENETUNREACH


def test_connected_routes_follow_addresses_and_links(host):
    from kstack.net.ipv4.devinet import inet_rtm_deladdr, inet_rtm_newaddr
    from kstack.net.ipv4.fib_frontend import fib_dump
    e0 = host.e0

    def dsts(table="all"):
        return {(r.get("type", "unicast"), r["dst"]) for r in fib_dump(host, None if table == "all" else table)}

    assert inet_rtm_newaddr(host, e0.ifindex, A("10.1.1.1"), 16, broadcast=A("10.1.255.255")) == 0
    assert {("unicast", "10.1.0.0/16"), ("local", "10.1.1.1"), ("broadcast", "10.1.255.255")} <= dsts()
    assert add(host, "172.30.0.0", 16, fc_gw4=A("10.1.0.9")) == 0
    # Link down: connected, broadcast and gateway routes go; local routes stay (as on Linux).
    dev_close(e0)
    after = dsts()
    assert ("local", "10.1.1.1") in after and ("local", "10.0.0.1") in after
    assert ("unicast", "10.1.0.0/16") not in after and ("broadcast", "10.0.0.255") not in after
    assert ("unicast", "172.30.0.0/16") not in after
    # Link up: the kernel's routes come back; the static one does not.
    dev_open(e0)
    after = dsts()
    assert {("unicast", "10.1.0.0/16"), ("broadcast", "10.1.255.255"), ("unicast", "10.0.0.0/24"),
            ("broadcast", "10.0.0.255")} <= after
    assert ("unicast", "172.30.0.0/16") not in after
    # Deleting the address removes its routes and routes using it as prefsrc.
    assert add(host, "172.31.0.0", 16, fc_gw4=A("10.1.0.9"), fc_prefsrc=A("10.1.1.1")) == 0
    assert inet_rtm_deladdr(host, e0.ifindex, A("10.1.1.1"), 16) == 0
    after = dsts()
    assert not {("unicast", "10.1.0.0/16"), ("local", "10.1.1.1"), ("broadcast", "10.1.255.255"),
                ("unicast", "172.31.0.0/16")} & after
    assert ("unicast", "10.0.0.0/24") in after


def test_address_on_down_link_adds_only_the_local_route(host):
    from kstack.net.ipv4.devinet import inet_rtm_newaddr
    from kstack.net.ipv4.fib_frontend import fib_dump
    dev_close(host.e1)
    assert inet_rtm_newaddr(host, host.e1.ifindex, A("172.18.0.1"), 24) == 0
    got = [(r.get("type", "unicast"), r["dst"]) for r in fib_dump(host) if "172.18" in r["dst"]]
    assert got == [("local", "172.18.0.1")]


def test_rtnetlink_route_messages(host):
    ok, _ = rtnetlink_rcv_msg(host, "RTM_NEWROUTE", {"dst": "10.20.0.0/16", "gateway": "10.0.0.2",
                                                     "metric": 5, "mtu": 1400})
    assert ok == 0
    err, payload = rtnetlink_rcv_msg(host, "RTM_NEWROUTE", {"dst": "10.20.0.0/16", "gateway": "10.0.0.2",
                                                            "metric": 5})
    assert err == -EEXIST
    err, payload = rtnetlink_rcv_msg(host, "RTM_NEWROUTE", {"dst": "10.50.0.0/16", "via": "10.77.0.1"})
    assert err == -ENETUNREACH and payload == {"msg": "Nexthop has invalid gateway"}
    assert rtnetlink_rcv_msg(host, "RTM_NEWROUTE", {"dst": "10.51.0.0/16", "dev": "nope"})[0] == -ENODEV
    assert rtnetlink_rcv_msg(host, "RTM_NEWROUTE", {"dst": "10.51.0.0/99", "dev": "eth0"})[0] == -EINVAL
    assert rtnetlink_rcv_msg(host, "RTM_NEWROUTE", {"type": "unreachable", "dst": "10.80.0.0/16"})[0] == 0
    assert rtnetlink_rcv_msg(host, "RTM_NEWROUTE", {"dst": "10.52.0.0/16", "dev": "eth1"})[0] == 0
    err, routes = rtnetlink_rcv_msg(host, "RTM_GETROUTE", {"dump": True})
    assert {"dst": "10.20.0.0/16", "gateway": "10.0.0.2", "dev": "eth0", "metric": 5, "flags": [],
            "metrics": [{"mtu": 1400}]} in routes
    assert {"dst": "10.52.0.0/16", "dev": "eth1", "scope": "link", "flags": []} in routes
    assert {"type": "unreachable", "dst": "10.80.0.0/16", "flags": []} in routes
    assert all(r.get("table") is None for r in routes)
    _, local = rtnetlink_rcv_msg(host, "RTM_GETROUTE", {"dump": True, "table": "local"})
    assert all(r["table"] == "local" for r in local)
    assert rtnetlink_rcv_msg(host, "RTM_DELROUTE", {"dst": "10.20.0.0/16"})[0] == 0
    assert rtnetlink_rcv_msg(host, "RTM_DELROUTE", {"dst": "10.20.0.0/16"})[0] == -ESRCH


def test_lookup_is_per_net():
    sim, a, b, ea, eb = two_hosts()
    add(a, "0.0.0.0", 0, fc_gw4=A("10.0.0.2"))
    assert lookup(a, "8.8.8.8")[0] == 0 and lookup(b, "8.8.8.8")[0] == -ENETUNREACH
    assert lookup(b, "10.0.0.2")[1].type == RTN_LOCAL and lookup(a, "10.0.0.2")[1].type == RTN_UNICAST


def test_scope_host_requires_no_gateway(host):
    assert add(host, "10.90.0.0", 16, fc_gw4=A("10.0.0.2"), fc_scope=RT_SCOPE_HOST) == -EINVAL
