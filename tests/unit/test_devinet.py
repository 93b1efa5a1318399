"""net/ipv4/devinet.py: addresses (primaries, secondaries, promotion, lifetimes), source address
selection, net.ipv4.conf.{all,default,DEV}.* semantics and ip_forward, `ip -j addr`
(formats and defaults checked against Linux 6.18 in a netns)."""
import pytest

from kstack.core.errno import EADDRNOTAVAIL, EEXIST, EINVAL, ENODEV
from kstack.core.rtnetlink import RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RTN_BROADCAST, \
    RTN_LOCAL, RTN_MULTICAST, RTN_UNICAST, rtnetlink_rcv_msg
from kstack.core.sysctl import sysctl_get, sysctl_set
from kstack.wire.inet import in_aton as A
from tests.lib.hosts import two_port_host


@pytest.fixture
def host():
    return two_port_host("p")


def D():
    from kstack.net.ipv4 import devinet
    return devinet


def addrs(dev):
    return [(D()._ntoa(i.ifa_local), i.ifa_prefixlen, bool(i.ifa_flags & 1)) for i in dev.ip_ptr.ifa_list]


def test_loopback_gets_127_0_0_1_at_boot(host):
    lo = host.loopback_dev
    ifa, = lo.ip_ptr.ifa_list
    assert (ifa.ifa_local, ifa.ifa_prefixlen, ifa.ifa_scope, ifa.ifa_label) == (A("127.0.0.1"), 8, RT_SCOPE_HOST, "lo")
    err, dump = rtnetlink_rcv_msg(host, "RTM_GETADDR", {"dump": True, "dev": "lo"})
    assert dump[0]["addr_info"] == [{"family": "inet", "local": "127.0.0.1", "prefixlen": 8,
                                     "scope": "host", "label": "lo", "valid_life_time": 4294967295,
                                     "preferred_life_time": 4294967295}]
    assert dump[0]["ifname"] == "lo" and "LOOPBACK" in dump[0]["flags"]


def test_add_addresses_primary_secondary_and_errors(host):
    d = D()
    e0 = host.e0
    assert d.inet_rtm_newaddr(host, e0.ifindex, A("10.9.0.1"), 24) == 0
    assert d.inet_rtm_newaddr(host, e0.ifindex, A("10.9.0.1"), 24) == -EEXIST
    assert d.inet_rtm_newaddr(host, e0.ifindex, A("10.9.1.7"), 24) == 0
    assert d.inet_rtm_newaddr(host, e0.ifindex, A("10.9.0.7"), 24) == 0      # same subnet: secondary
    assert d.inet_rtm_newaddr(host, e0.ifindex, A("10.9.5.7"), 24, broadcast="+", label="eth0:x") == 0
    # The order `ip addr` shows on Linux: primaries in order, secondaries last.
    assert addrs(e0) == [("10.9.0.1", 24, False), ("10.9.1.7", 24, False), ("10.9.5.7", 24, False),
                         ("10.9.0.7", 24, True)]
    assert d.inet_rtm_newaddr(host, 99, A("10.9.9.1"), 24) == -ENODEV
    assert d.inet_rtm_newaddr(host, e0.ifindex, A("10.9.9.1"), 33) == -EINVAL
    # same address, other prefix length: a new address (allowed)
    assert d.inet_rtm_newaddr(host, e0.ifindex, A("10.9.0.1"), 16) == 0
    # same subnet with another scope: EINVAL
    assert d.inet_rtm_newaddr(host, e0.ifindex, A("10.9.1.8"), 24, scope="link") == -EINVAL
    info = {i["local"]: i for i in d.inet_dump_ifaddr(host, e0.ifindex)[0]["addr_info"]}
    assert info["10.9.5.7"] == {"family": "inet", "local": "10.9.5.7", "prefixlen": 24,
                                "broadcast": "10.9.5.255", "scope": "global", "label": "eth0:x",
                                "valid_life_time": 4294967295, "preferred_life_time": 4294967295}
    assert info["10.9.0.7"]["secondary"] is True


def test_delete_primary_takes_secondaries_unless_promotion(host):
    d = D()
    e0 = host.e0
    for a in ("10.9.0.1", "10.9.0.2", "10.9.0.3"):
        d.inet_rtm_newaddr(host, e0.ifindex, A(a), 24)
    assert d.inet_rtm_deladdr(host, e0.ifindex, A("10.9.0.1"), 24) == 0
    assert addrs(e0) == []
    assert d.inet_rtm_deladdr(host, e0.ifindex, A("10.9.0.1"), 24) == -EADDRNOTAVAIL
    assert sysctl_set(host, "net.ipv4.conf.eth0.promote_secondaries", "1") == 0
    for a in ("10.9.0.1", "10.9.0.2", "10.9.0.3"):
        d.inet_rtm_newaddr(host, e0.ifindex, A(a), 24)
    assert d.inet_rtm_deladdr(host, e0.ifindex, A("10.9.0.1"), 24) == 0
    assert addrs(e0) == [("10.9.0.2", 24, False), ("10.9.0.3", 24, True)]
    # The promoted address now owns the subnet's routes (prefsrc).
    from kstack.net.ipv4.fib_frontend import fib_dump
    conn = [r for r in fib_dump(host, "main") if r["dst"] == "10.9.0.0/24"]
    assert conn == [{"dst": "10.9.0.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link",
                     "prefsrc": "10.9.0.2", "flags": []}]
    local = {r["dst"]: r["prefsrc"] for r in fib_dump(host, "local") if r["dst"].startswith("10.9.0.")}
    assert local == {"10.9.0.2": "10.9.0.2", "10.9.0.3": "10.9.0.2", "10.9.0.255": "10.9.0.2"}


def test_address_lookups(host):
    d = D()
    from kstack.net.ipv4.fib_frontend import inet_addr_type
    d.inet_rtm_newaddr(host, host.e0.ifindex, A("10.0.0.1"), 24)
    d.inet_rtm_newaddr(host, host.e1.ifindex, A("192.168.1.1"), 24)
    d.inet_rtm_newaddr(host, host.e1.ifindex, A("192.168.2.1"), 24)
    assert d.ip_dev_find(host, A("192.168.1.1")) is host.e1
    assert d.ip_dev_find(host, A("127.0.0.9")) is host.loopback_dev     # via the local 127/8 route
    assert d.ip_dev_find(host, A("10.0.0.2")) is None
    types = {a: inet_addr_type(host, A(a)) for a in ("10.0.0.1", "10.0.0.255", "10.0.0.2", "224.1.1.1",
                                                       "255.255.255.255", "0.0.0.0", "127.1.1.1")}
    assert types == {"10.0.0.1": RTN_LOCAL, "10.0.0.255": RTN_BROADCAST, "10.0.0.2": RTN_UNICAST,
                     "224.1.1.1": RTN_MULTICAST, "255.255.255.255": RTN_BROADCAST,
                     "0.0.0.0": RTN_BROADCAST, "127.1.1.1": RTN_LOCAL}
    sel = d.inet_select_addr
    assert sel(host.e1, A("192.168.2.9"), RT_SCOPE_UNIVERSE) == A("192.168.2.1")   # dst's subnet
    assert sel(host.e1, A("8.8.8.8"), RT_SCOPE_UNIVERSE) == A("192.168.1.1")       # first primary
    # lo's 127.0.0.1 is scope host: for link scope, take another device's address (lo first).
    assert sel(host.loopback_dev, 0, RT_SCOPE_LINK) == A("10.0.0.1")
    assert sel(host.loopback_dev, 0, RT_SCOPE_HOST) == A("127.0.0.1")
    assert d.inet_confirm_addr(host, host.e1.ip_ptr, 0, A("192.168.2.1"), RT_SCOPE_HOST) == A("192.168.2.1")
    assert d.inet_confirm_addr(host, host.e0.ip_ptr, 0, A("192.168.2.1"), RT_SCOPE_HOST) == 0
    assert d.inet_addr_onlink(host.e0.ip_ptr, A("10.0.0.9"), A("10.0.0.10"))
    assert not d.inet_addr_onlink(host.e0.ip_ptr, A("10.0.0.9"), A("10.1.0.10"))


def test_conf_defaults_match_linux(host):
    g = lambda n: sysctl_get(host, n)                 # noqa: E731
    for which in ("all", "default", "eth0", "lo"):
        for k, v in (("forwarding", "0"), ("rp_filter", "0"), ("accept_redirects", "1"),
                     ("send_redirects", "1"), ("arp_ignore", "0"), ("arp_announce", "0"),
                     ("arp_filter", "0"), ("proxy_arp", "0"), ("accept_local", "0"),
                     ("log_martians", "0"), ("secure_redirects", "1"), ("shared_media", "1")):
            assert g(f"net.ipv4.conf.{which}.{k}") == v, (which, k)
    assert g("net.ipv4.conf.all.accept_source_route") == "0"
    assert g("net.ipv4.conf.default.accept_source_route") == "1"
    assert g("net.ipv4.conf.lo.disable_policy") == "1" and g("net.ipv4.conf.eth0.disable_policy") == "0"
    assert g("net.ipv4.ip_forward") == "0"


def test_conf_default_propagates_unless_set_explicitly(host):
    from kstack.drivers.net.veth import veth_newlink
    g = lambda n: sysctl_get(host, n)                 # noqa: E731
    assert sysctl_set(host, "net.ipv4.conf.eth1.rp_filter", "2") == 0
    assert sysctl_set(host, "net.ipv4.conf.default.rp_filter", "1") == 0
    assert g("net.ipv4.conf.eth0.rp_filter") == "1" and g("net.ipv4.conf.eth1.rp_filter") == "2"
    assert g("net.ipv4.conf.all.rp_filter") == "0"
    # A device created later starts from default.
    x, _ = veth_newlink(host, "eth2", host.sim.new_net("q"), "q0")
    assert g("net.ipv4.conf.eth2.rp_filter") == "1"
    # ORCONF/MAXCONF: 'all' and the device combine as in the kernel's IN_DEV_* macros.
    d = D()
    sysctl_set(host, "net.ipv4.conf.all.rp_filter", "2")
    assert d.IN_DEV_RPFILTER(host.e0.ip_ptr) == 2
    sysctl_set(host, "net.ipv4.conf.all.log_martians", "1")
    assert d.IN_DEV_LOG_MARTIANS(host.e0.ip_ptr)
    # default.forwarding does not propagate to existing devices (devinet_sysctl_forward).
    assert sysctl_set(host, "net.ipv4.conf.default.forwarding", "1") == 0
    assert g("net.ipv4.conf.eth0.forwarding") == "0"
    assert sysctl_set(host, "net.ipv4.conf.all.mc_forwarding", "1") < 0     # read-only


def test_ip_forward_and_conf_all_forwarding_are_one(host):
    g = lambda n: sysctl_get(host, n)                 # noqa: E731
    assert host.mib.Ip["Forwarding"] == 2
    assert sysctl_set(host, "net.ipv4.ip_forward", "1") == 0
    for n in ("all", "default", "eth0", "eth1", "lo"):
        assert g(f"net.ipv4.conf.{n}.forwarding") == "1", n
    assert g("net.ipv4.conf.all.accept_redirects") == "0" and host.mib.Ip["Forwarding"] == 1
    assert sysctl_set(host, "net.ipv4.conf.eth1.forwarding", "0") == 0
    assert g("net.ipv4.conf.eth1.forwarding") == "0" and g("net.ipv4.ip_forward") == "1"
    assert sysctl_set(host, "net.ipv4.conf.all.forwarding", "0") == 0
    assert g("net.ipv4.ip_forward") == "0" and g("net.ipv4.conf.eth0.forwarding") == "0"
    assert g("net.ipv4.conf.all.accept_redirects") == "1" and host.mib.Ip["Forwarding"] == 2


def test_device_unregister_removes_in_device_and_sysctls(host):
    from kstack.core.dev import unregister_netdevice
    d = D()
    d.inet_rtm_newaddr(host, host.e1.ifindex, A("192.168.1.1"), 24)
    unregister_netdevice(host.e1)
    assert host.e1.ip_ptr is None
    assert sysctl_get(host, "net.ipv4.conf.eth1.forwarding") < 0
    assert sysctl_get(host, "net.ipv4.neigh.eth1.ucast_solicit") < 0
    assert d.ip_dev_find(host, A("192.168.1.1")) is None
    from kstack.net.ipv4.fib_frontend import fib_dump
    assert not [r for r in fib_dump(host) if r.get("dev") == "eth1"]


def test_valid_lifetime_expiry_deletes_the_address(host):
    d = D()
    assert d.inet_rtm_newaddr(host, host.e0.ifindex, A("10.7.0.1"), 24, valid_lft=30, preferred_lft=10) == 0
    host.sim.run(until=host.clock.now() + 11)
    ifa, = host.e0.ip_ptr.ifa_list
    assert ifa.ifa_flags & d.IFA_F_DEPRECATED
    info = d.inet_dump_ifaddr(host, host.e0.ifindex)[0]["addr_info"][0]
    assert info["preferred_life_time"] == 0 and info["valid_life_time"] == 19 and info["deprecated"]
    host.sim.run(until=host.clock.now() + 20)
    assert host.e0.ip_ptr.ifa_list == []
    assert d.ip_dev_find(host, A("10.7.0.1")) is None
    assert d.inet_rtm_newaddr(host, host.e0.ifindex, A("10.7.0.1"), 24, valid_lft=10, preferred_lft=20) == -EINVAL


def test_rtnetlink_addr_and_link_messages(host):
    assert rtnetlink_rcv_msg(host, "RTM_NEWADDR", {"dev": "eth0", "local": "10.9.0.1/24"})[0] == 0
    assert rtnetlink_rcv_msg(host, "RTM_NEWADDR", {"dev": "eth0", "local": "10.9.0.1/24"})[0] == -EEXIST
    assert rtnetlink_rcv_msg(host, "RTM_NEWADDR", {"dev": "nope", "local": "10.9.0.1/24"})[0] == -ENODEV
    assert rtnetlink_rcv_msg(host, "RTM_NEWADDR", {"dev": "eth0", "local": "10.9.0.300/24"})[0] == -EINVAL
    err, dump = rtnetlink_rcv_msg(host, "RTM_GETADDR", {"dump": True})
    assert [x["ifname"] for x in dump] == ["lo", "eth0", "eth1"]
    assert dump[1]["addr_info"][0]["local"] == "10.9.0.1"
    assert rtnetlink_rcv_msg(host, "RTM_DELADDR", {"dev": "eth0", "local": "10.9.0.1/24"})[0] == 0
    assert rtnetlink_rcv_msg(host, "RTM_DELADDR", {"dev": "eth0", "local": "10.9.0.1/24"})[0] == -EADDRNOTAVAIL
    # links
    assert rtnetlink_rcv_msg(host, "RTM_SETLINK", {"dev": "eth1", "mtu": 1400, "state": "down"})[0] == 0
    err, link = rtnetlink_rcv_msg(host, "RTM_GETLINK", {"dev": "eth1"})
    assert link["mtu"] == 1400 and "UP" not in link["flags"] and link["link_type"] == "ether"
    assert rtnetlink_rcv_msg(host, "RTM_SETLINK", {"dev": "eth1", "mtu": 10})[0] == -EINVAL
    assert rtnetlink_rcv_msg(host, "RTM_SETLINK", {"dev": "eth1", "address": "02:00:00:00:00:42",
                                                   "up": True})[0] == 0
    err, link = rtnetlink_rcv_msg(host, "RTM_GETLINK", {"dev": "eth1", "stats": True})
    assert link["address"] == "02:00:00:00:00:42" and link["flags"][-2:] == ["UP", "LOWER_UP"]
    assert set(link["stats64"]["rx"]) == {"bytes", "packets", "errors", "dropped", "over_errors", "multicast"}
    assert rtnetlink_rcv_msg(host, "RTM_NEWLINK", {"ifname": "v0", "kind": "veth", "peer": "v1"})[0] == 0
    assert rtnetlink_rcv_msg(host, "RTM_NEWLINK", {"ifname": "v0", "kind": "veth", "peer": "v2"})[0] == -EEXIST
    assert sysctl_get(host, "net.ipv4.conf.v1.forwarding") == "0"
    assert rtnetlink_rcv_msg(host, "RTM_DELLINK", {"dev": "v0"})[0] == 0
    assert "v1" not in host.dev_by_name and "v0" not in host.dev_by_name
    assert rtnetlink_rcv_msg(host, "RTM_DELLINK", {"dev": "lo"})[0] < 0
    assert rtnetlink_rcv_msg(host, "RTM_BOGUS", {})[0] < 0
