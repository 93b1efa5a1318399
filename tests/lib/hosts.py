"""Small topologies the unit tests share: the boot, a veth pair of two Nets with
addresses, and one host with two ports (all on the Sim's fake clock)."""
from kstack.core.dev import dev_open
from kstack.sim import Sim
from kstack.wire.inet import in_aton as A


def boot():
    """start_kernel and the routing initcalls (idempotent)."""
    from kstack.init import start_kernel
    start_kernel()
    from kstack.net.ipv4.route import ip_rt_init
    ip_rt_init()


def two_hosts():
    """a (10.0.0.1/24 on eth0) <-veth-> b (10.0.0.2/24 on eth0), both up, not settled.
    Returns (sim, a, b, ea, eb)."""
    boot()
    from kstack.drivers.net.veth import veth_newlink
    from kstack.net.ipv4.devinet import inet_rtm_newaddr
    sim = Sim()
    a, b = sim.new_net("a"), sim.new_net("b")
    ea, eb = veth_newlink(a, "eth0", b, "eth0")
    dev_open(ea)
    dev_open(eb)
    inet_rtm_newaddr(a, ea.ifindex, A("10.0.0.1"), 24)
    inet_rtm_newaddr(b, eb.ifindex, A("10.0.0.2"), 24)
    return sim, a, b, ea, eb


def two_port_host(peer_name: str):
    """Net "h" with eth0 and eth1 up, veths to p0 and p1 of one peer Net; no addresses.
    Sets net.e0, net.e1, net.sim and returns net."""
    boot()
    from kstack.drivers.net.veth import veth_newlink
    sim = Sim()
    net = sim.new_net("h")
    peer = sim.new_net(peer_name)
    e0, _ = veth_newlink(net, "eth0", peer, "p0")
    e1, _ = veth_newlink(net, "eth1", peer, "p1")
    dev_open(e0)
    dev_open(e1)
    net.e0, net.e1, net.sim = e0, e1, sim
    return net


def ip_net(name: str):
    """One Net after start_kernel and ip_init (the IPv4 packet handler, routing, frags)."""
    from kstack import init
    init.start_kernel()
    from kstack.net.ipv4.ip_output import ip_init
    ip_init()
    return init.net_create(name=name)
