"""An in-process world: several Nets on one fake clock, run until quiet.

Not a kernel file: this plays the machine(s) under the kernels, as the
daemon's loop does for one host. run() gives every host its softirqs and
due timers until nothing is pending, then jumps the clock to the next timer.
Tests, the demo and benchmarks use it; kstackd does the same for one Net
with a real clock.
"""
from .core.clock import FakeClock


class Sim:
    def __init__(self, clock: FakeClock | None = None):
        self.clock = clock or FakeClock()
        self.nets = []
        self.hooks = []     # callables run each round (e.g. a packetdrill injector)

    def add(self, net):
        if net.clock is not self.clock:
            raise ValueError("every Net in a Sim shares the Sim's clock")
        self.nets.append(net)
        return net

    def new_net(self, name: str = "host", seed: int | None = None):
        from .init import net_create
        net = net_create(clock=self.clock, seed=len(self.nets) + 1 if seed is None else seed, name=name)
        return self.add(net)

    def settle(self, max_rounds: int = 100000) -> None:
        """Run softirqs and due timers everywhere until nothing is pending now."""
        now = self.clock.now()
        for _ in range(max_rounds):
            busy = False
            for net in self.nets:
                if net.softnet_data.pending:
                    net.do_softirq()
                    busy = True
                if net.run_timers():
                    busy = True
            if not busy:
                for net in self.nets:
                    t = net.next_event()
                    if t is not None and t <= now:
                        busy = True
                        net.poll()
            if not busy:
                return
        raise RuntimeError("Sim.settle: livelock (no quiet point)")

    def next_event(self):
        ts = [t for t in (n.next_event() for n in self.nets) if t is not None]
        return min(ts) if ts else None

    def run(self, until: float | None = None, duration: float | None = None, stop=None) -> None:
        """Run until the clock reaches ``until`` (or now+duration), ``stop()`` is true, or
        nothing is left to do."""
        if duration is not None:
            until = self.clock.now() + duration
        while True:
            self.settle()
            if stop is not None and stop():
                return
            t = self.next_event()
            if t is None:
                if until is not None:
                    self.clock.set(max(until, self.clock.now()))
                return
            if until is not None and t > until:
                self.clock.set(max(until, self.clock.now()))
                self.settle()
                return
            if t > self.clock.now():
                self.clock.set(t)

    def run_for(self, seconds: float) -> None:
        self.run(duration=seconds)
