"""net.ipv4.* (kstack/net/ipv4/sysctl_net_ipv4.py): Linux defaults and bounds.

The expected values and the accepted/rejected writes were taken from Linux 6.18 by writing
to /proc/sys/net/ipv4 in a fresh network namespace on the development machine.
"""
import pytest

from kstack.core.errno import EINVAL, ENOENT
from kstack.core.net_namespace import pernet_list
from kstack.core.sysctl import sysctl_get, sysctl_set
from kstack.init import net_create
from kstack.net.ipv4.sysctl_net_ipv4 import (NetnsIpv4, inet_get_local_port_range,
                                             inet_get_ping_group_range, inet_is_local_reserved_port)


def _boot():
    from kstack import init
    init.start_kernel()


@pytest.fixture
def net():
    _boot()
    return net_create(name="sysctl")


DEFAULTS = {
    "ip_forward": "0",
    "ip_default_ttl": "64",
    "ip_local_port_range": "32768\t60999",
    "ip_local_reserved_ports": "",
    "ip_unprivileged_port_start": "1024",
    "ip_nonlocal_bind": "0",
    "ip_no_pmtu_disc": "0",
    "ip_dynaddr": "0",
    "ip_forward_use_pmtu": "0",
    "ip_forward_update_priority": "1",
    "ip_early_demux": "1",
    "fwmark_reflect": "0",
    "ip_autobind_reuse": "0",
    "icmp_echo_ignore_all": "0",
    "icmp_echo_enable_probe": "0",
    "icmp_echo_ignore_broadcasts": "1",
    "icmp_ignore_bogus_error_responses": "1",
    "icmp_errors_use_inbound_ifaddr": "0",
    "icmp_ratelimit": "1000",
    "icmp_ratemask": "6168",
    "icmp_msgs_per_sec": "1000",
    "icmp_msgs_burst": "50",
    "ipfrag_high_thresh": "4194304",
    "ipfrag_low_thresh": "3145728",
    "ipfrag_time": "30",
    "ipfrag_max_dist": "64",
    "ping_group_range": "1\t0",
    "udp_rmem_min": "4096",
    "udp_wmem_min": "4096",
    "route.mtu_expires": "600",
    "route.min_pmtu": "552",
    "route.min_adv_mss": "256",
}


@pytest.mark.parametrize("name,value", sorted(DEFAULTS.items()))
def test_linux_defaults(net, name, value):
    assert sysctl_get(net, "net.ipv4." + name) == value


def test_no_tcp_rows_here(net):
    from kstack.net.ipv4 import sysctl_net_ipv4
    rows = sysctl_net_ipv4._ipv4_sysctl_rows(net)
    assert not [r.procname for r in rows if r.procname.startswith("tcp_")]


def test_netns_ipv4_is_created_first():
    _boot()
    from kstack.net.ipv4 import sysctl_net_ipv4  # noqa: F401
    names = [o.name for o in pernet_list]
    assert "sysctl_net_ipv4" in names[:2]
    net = net_create(name="first")
    assert isinstance(net.ipv4, NetnsIpv4)


def test_slash_names_and_unknown(net):
    assert sysctl_get(net, "net/ipv4/ip_default_ttl") == "64"
    assert sysctl_get(net, "net.ipv4.no_such_thing") == -ENOENT


@pytest.mark.parametrize("name,value,err,after", [
    ("ip_default_ttl", "0", -EINVAL, "64"),
    ("ip_default_ttl", "256", -EINVAL, "64"),
    ("ip_default_ttl", "255", 0, "255"),
    ("ip_default_ttl", "abc", -EINVAL, "64"),
    ("ip_local_port_range", "1000 2000", -EINVAL, "32768\t60999"),     # below ip_unprivileged_port_start
    ("ip_local_port_range", "3000 2000", -EINVAL, "32768\t60999"),
    ("ip_local_port_range", "2000 2000", 0, "2000\t2000"),
    ("ip_local_port_range", "1024 65535", 0, "1024\t65535"),
    ("ip_local_port_range", "1024 65536", -EINVAL, "32768\t60999"),
    ("ip_local_port_range", "1 2 3", -EINVAL, "32768\t60999"),
    ("ip_local_port_range", "40000", 0, "40000\t60999"),
    ("ip_no_pmtu_disc", "5", 0, "5"),
    ("ip_no_pmtu_disc", "256", -EINVAL, "0"),
    ("ip_nonlocal_bind", "2", 0, "2"),
    ("icmp_echo_ignore_all", "2", -EINVAL, "0"),
    ("icmp_echo_ignore_broadcasts", "2", -EINVAL, "1"),
    ("icmp_ratelimit", "-1", -EINVAL, "1000"),
    ("icmp_ratelimit", "250", 0, "250"),           # HZ=1000 here: no rounding to jiffies
    ("icmp_ratemask", "-1", 0, "-1"),
    ("icmp_msgs_per_sec", "-1", -EINVAL, "1000"),
    ("icmp_msgs_burst", "-1", -EINVAL, "50"),
    ("ipfrag_time", "0", 0, "0"),
    ("ipfrag_time", "-5", 0, "-5"),
    ("ipfrag_max_dist", "-1", -EINVAL, "64"),
    ("ipfrag_low_thresh", "5000000", -EINVAL, "3145728"),   # above high_thresh
    ("ipfrag_high_thresh", "1000", -EINVAL, "4194304"),     # below low_thresh
    ("ipfrag_high_thresh", "0", -EINVAL, "4194304"),
    ("ping_group_range", "5 3", 0, "1\t0"),                 # reversed: ping sockets off
    ("ping_group_range", "0 2147483647", 0, "0\t2147483647"),
    ("ping_group_range", "0 4294967294", 0, "0\t4294967294"),
    ("ping_group_range", "0 4294967295", -EINVAL, "1\t0"),
    ("udp_rmem_min", "0", -EINVAL, "4096"),
    ("route.min_pmtu", "67", -EINVAL, "552"),
    ("route.min_pmtu", "68", 0, "68"),
    ("route.mtu_expires", "-1", 0, "-1"),
    ("route.min_adv_mss", "-5", 0, "-5"),
    ("ip_unprivileged_port_start", "100", 0, "100"),
    ("ip_unprivileged_port_start", "40000", -EINVAL, "1024"),  # above the local port range
    ("ip_local_reserved_ports", "8080,9000-9010", 0, "8080,9000-9010"),
    ("ip_local_reserved_ports", "9010-9000", -EINVAL, ""),
])
def test_writes_as_linux(net, name, value, err, after):
    assert sysctl_set(net, "net.ipv4." + name, value) == err
    assert sysctl_get(net, "net.ipv4." + name) == after


def test_values_are_attributes_and_per_net(net):
    other = net_create(name="other")
    assert sysctl_set(net, "net.ipv4.ip_default_ttl", "17") == 0
    assert net.ipv4.sysctl_ip_default_ttl == 17
    assert net.mib.Ip["DefaultTTL"] == 17          # /proc/net/snmp shows the sysctl
    assert other.ipv4.sysctl_ip_default_ttl == 64
    assert sysctl_set(net, "net.ipv4.ip_local_port_range", "40000 50000") == 0
    assert inet_get_local_port_range(net) == (40000, 50000)
    assert inet_get_local_port_range(other) == (32768, 60999)
    assert inet_get_ping_group_range(net) == (1, 0)
    assert sysctl_set(net, "net.ipv4.ip_local_reserved_ports", "8080,9000-9002") == 0
    assert [p for p in (8079, 8080, 9000, 9002, 9003) if inet_is_local_reserved_port(net, p)] == \
        [8080, 9000, 9002]


def test_port_range_floor_follows_unprivileged_port_start(net):
    assert sysctl_set(net, "net.ipv4.ip_unprivileged_port_start", "500") == 0
    assert sysctl_set(net, "net.ipv4.ip_local_port_range", "600 700") == 0
    assert sysctl_set(net, "net.ipv4.ip_local_port_range", "499 700") == -EINVAL
