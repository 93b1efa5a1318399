"""net/core/net_namespace.c: struct net, one per host.

A Net holds everything a Linux network namespace holds: devices, protocol
handler tables, FIB, neighbour tables, socket hash tables, sysctls, MIB
counters, plus what the kernel gets from the machine: a clock, a seeded RNG
(ISNs, ports, IP ids) and the timer base. pernet_operations registered with
register_pernet_subsys() run for every new Net (setup_net), in order.
"""
from .clock import FakeClock
from .random32 import Prandom
from .snmp import Mib
from .softirq import SoftnetData, do_softirq
from .sysctl import NetnsCore, SysctlTree, net_core_sysctl_init
from .timer import TimerBase


class PernetOperations:
    __slots__ = ("name", "init", "exit")

    def __init__(self, name, init, exit=None):
        self.name = name
        self.init = init
        self.exit = exit


pernet_list: list[PernetOperations] = []


def register_pernet_subsys(ops: PernetOperations) -> None:
    if all(o.name != ops.name for o in pernet_list):
        pernet_list.append(ops)


register_pernet_device = register_pernet_subsys


class Net:
    def __init__(self, clock=None, seed: int = 0, name: str = "host"):
        self.name = name
        self.clock = clock if clock is not None else FakeClock()
        self.rng = Prandom(seed)
        self.timers = TimerBase(self.clock)
        # devices
        self.dev_base = []
        self.dev_by_name = {}
        self.dev_by_index = {}
        self.ifindex = 0
        self.netdev_chain = []
        self.loopback_dev = None
        # L2 receive tables
        self.ptype_base = {}
        self.ptype_all = []
        self.softnet_data = SoftnetData(self)
        # config and counters
        self.sysctl = SysctlTree()
        self.core = NetnsCore()
        self.ipv4 = None           # struct netns_ipv4, set by inet's pernet init
        self.mib = Mib()
        self.drop_reasons = {}     # SKB_DROP_REASON -> count (drop monitor)
        self.bugs = []             # exceptions caught at a boundary (never raised to callers)
        # tracing: callables (event, obj) -> None, called only while tracing is on
        self.tracing = False
        self.tracers = []
        self.gen = {}              # per-subsystem private state (net_generic)
        net_core_sysctl_init(self)
        for ops in pernet_list:
            ops.init(self)

    def __repr__(self):
        return f"<net {self.name}>"

    # -- drop monitor / tracing ------------------------------------------------
    def kfree_skb_count(self, skb, reason) -> None:
        r = int(reason)
        self.drop_reasons[r] = self.drop_reasons.get(r, 0) + 1
        if self.tracing:
            self.trace("kfree_skb", skb, reason)

    def trace(self, event: str, *args) -> None:
        for t in self.tracers:
            t(self, event, *args)

    def add_tracer(self, fn) -> None:
        self.tracers.append(fn)
        self.tracing = True

    def remove_tracer(self, fn) -> None:
        if fn in self.tracers:
            self.tracers.remove(fn)
        self.tracing = bool(self.tracers)

    def bug(self, exc: BaseException, where: str) -> None:
        """A bug caught at a boundary: kept for tests and `kstack` diagnostics."""
        self.bugs.append((where, repr(exc)))
        if len(self.bugs) > 1000:
            del self.bugs[:500]

    # -- the CPU ---------------------------------------------------------------
    def do_softirq(self) -> bool:
        return do_softirq(self.softnet_data)

    def run_timers(self) -> int:
        return self.timers.run_timers(self.clock.now())

    def next_event(self):
        """When this host next needs the CPU: now if softirqs pend, else the next timer."""
        if self.softnet_data.pending:
            return self.clock.now()
        nxt = self.timers.next_expiry()
        for dev in self.dev_base:
            q = dev.qdisc
            if q is not None:
                t = q.next_event()
                if t is not None and (nxt is None or t < nxt):
                    nxt = t
        return nxt

    def poll(self) -> None:
        """One turn of the CPU: softirqs, then due timers, then softirqs they raised."""
        self.do_softirq()
        if self.run_timers():
            self.do_softirq()
