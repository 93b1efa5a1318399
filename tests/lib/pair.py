"""StackPair: two kstack hosts over a veth pair on one fake clock, with optional netem on
either direction (h11's ConnectionPair for TCP). Sockets go through the real syscall path
(__sys_socket/connect/accept/sendto/recvfrom via kstack.world), IP, ARP and veth.

    p = StackPair(netem={"loss": 0.01, "latency": 0.005})
    c, s = p.connected()
    p.transfer(c, s, data)           # nonblocking writes and reads until all arrived
"""
import hashlib

from kstack.core.dev import dev_graft_qdisc
from kstack.core.errno import EAGAIN
from kstack.core.sch_generic import qdisc_create
from kstack.core.sock import AF_INET, MSG_DONTWAIT, SOCK_STREAM
from kstack.world import World

import kstack.core.sch_netem  # noqa: F401  registers "netem"

A_IP = "10.0.0.1"
B_IP = "10.0.0.2"


class Stalled(Exception):
    """Nothing left to happen in the world but the transfer is not done."""


class StackPair:
    def __init__(self, netem=None, netem_ab=None, netem_ba=None, sysctls=None, mtu=None,
                 seed=None):
        self.world = World()
        self.a, self.b = self.world.pair(A_IP + "/24", B_IP + "/24")
        if seed is not None:
            # Different ISNs, port choices and netem decisions per example.
            from kstack.core.random32 import Prandom
            self.a.net.rng = Prandom(2 * seed + 1)
            self.b.net.rng = Prandom(2 * seed + 2)
        self.sim = self.world.sim
        self.clock = self.world.clock
        self.dev_a = self.a.net.dev_by_name["eth0"]
        self.dev_b = self.b.net.dev_by_name["eth0"]
        if mtu:
            from kstack.core.dev import dev_set_mtu
            dev_set_mtu(self.dev_a, mtu)
            dev_set_mtu(self.dev_b, mtu)
        ab = netem_ab if netem_ab is not None else netem
        ba = netem_ba if netem_ba is not None else netem
        self.q_ab = self.q_ba = None
        if ab:
            self.q_ab = qdisc_create(self.dev_a, "netem", **ab)
            dev_graft_qdisc(self.dev_a, self.q_ab)
        if ba:
            self.q_ba = qdisc_create(self.dev_b, "netem", **ba)
            dev_graft_qdisc(self.dev_b, self.q_ba)
        for k, v in (sysctls or {}).items():
            self.a.sysctl(k, v)
            self.b.sysctl(k, v)

    @property
    def nets(self):
        return (self.a.net, self.b.net)

    def connected(self, port: int = 5000, opts_a=(), opts_b=()):
        """(client fd on a, server fd on b), established."""
        ls = self.b.socket(AF_INET, SOCK_STREAM)
        for lvl, name, val in opts_b:
            self.b.setsockopt(ls, lvl, name, val)
        self.b.bind(ls, (B_IP, port))
        self.b.listen(ls, 16)
        c = self.a.socket(AF_INET, SOCK_STREAM)
        for lvl, name, val in opts_a:
            self.a.setsockopt(c, lvl, name, val)
        self.a.connect(c, (B_IP, port))
        s, _ = self.b.accept(ls)
        self.listener = ls
        return c, s

    def _step(self) -> bool:
        """Nothing to do now: move the world to its next event; False if there is none."""
        self.sim.settle()
        t = self.sim.next_event()
        if t is None:
            return False
        if t > self.clock.now():
            self.clock.set(t)
        self.sim.settle()
        return True

    def transfer(self, src_host, sfd, dst_host, dfd, data: bytes, chunk: int = 65536,
                 limit: float = 3600.0, close_after: bool = False) -> bytes:
        """Write data on sfd (nonblocking) while reading dfd; returns what arrived."""
        sent = 0
        got = bytearray()
        total = len(data)
        deadline = self.clock.now() + limit
        shut = False
        idle = 0
        while len(got) < total:
            self.sim.settle()        # let the stack finish what the last calls started
            progress = False
            if sent < total:
                try:
                    n = src_host.send(sfd, data[sent:sent + chunk], MSG_DONTWAIT)
                    if n > 0:
                        sent += n
                        progress = True
                except BlockingIOError:
                    pass
            elif close_after and not shut:
                src_host.shutdown(sfd, 1)
                shut = True
            try:
                r = dst_host.recv(dfd, 1 << 20, MSG_DONTWAIT)
                if r:
                    got += r
                    progress = True
                elif len(got) < total:
                    raise Stalled(f"EOF after {len(got)} of {total} bytes")
            except BlockingIOError:
                pass
            if progress:
                idle = 0
            elif self.clock.now() > deadline:
                raise Stalled(f"{len(got)} of {total} bytes at t={self.clock.now():.3f}")
            elif not self._step():
                # settle() may just have delivered something: look once more first
                idle += 1
                if idle > 1:
                    raise Stalled(f"{len(got)} of {total} bytes at t={self.clock.now():.3f}")
        return bytes(got)

    def run(self, seconds: float) -> None:
        self.sim.run(duration=seconds)

    def pending_tcp_timers(self):
        return [t for net in self.nets for t in net.timers.pending_timers()
                if t.name in ("icsk_retransmit_timer", "icsk_delack_timer", "sk_timer", "tw_timer",
                              "rsk_timer", "compressed_ack_timer")]

    def bugs(self):
        return [b for net in self.nets for b in net.bugs]


def digest(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()
