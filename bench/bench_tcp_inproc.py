"""TCP through the whole in-process stack on the fake clock.

    python bench/bench_tcp_inproc.py [--mb 8] [--loss 0.01] [--seconds 30] [--png cwnd.png]

1. Throughput of one bulk transfer over loopback (one namespace, CHECKSUM_UNNECESSARY as
   Linux's loopback: no TCP checksum computed or verified) and over a veth pair between
   two namespaces: MB/s and segments/s of wall time (time.perf_counter, the only real
   clock), plus the fake time the transfer took.
2. cwnd over fake time for reno and cubic on a 20 ms RTT path with ``--loss`` random loss
   (netem on the data direction), sampled every 100 ms: a table, and a PNG plot if
   matplotlib is importable.

Profile with:  python -m cProfile -s cumtime bench/bench_tcp_inproc.py --mb 2 | head -60
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kstack.core.sock import AF_INET, MSG_DONTWAIT, SOCK_STREAM, SOL_TCP  # noqa: E402
from kstack.net.ipv4.tcp import TCP_CONGESTION  # noqa: E402
from kstack.world import World  # noqa: E402
from tests.lib.pair import StackPair  # noqa: E402


def _pump(step, send, recv, data: bytes, settle=None) -> int:
    """Nonblocking writes and reads until all of data arrived; returns bytes received."""
    sent = got = 0
    n = len(data)
    view = memoryview(data)
    idle = 0
    while got < n:
        if settle is not None:
            settle()             # let the stack finish what the last calls started
        progress = False
        if sent < n:
            try:
                k = send(bytes(view[sent:sent + 262144]))
                if k > 0:
                    sent += k
                    progress = True
            except BlockingIOError:
                pass
        try:
            r = recv()
            if r:
                got += len(r)
                progress = True
        except BlockingIOError:
            pass
        if progress:
            idle = 0
        elif not step():
            # settle() may just have delivered something: look once more before giving up
            idle += 1
            if idle > 1:
                raise RuntimeError(f"stalled at {got}/{n}")
    return got


def _stepper(world):
    sim, clock = world.sim, world.clock

    def step() -> bool:
        sim.settle()
        t = sim.next_event()
        if t is None:
            return False
        if t > clock.now():
            clock.set(t)
        sim.settle()
        return True
    return step


def bench_loopback(mb: int):
    w = World()
    h = w.host("h")
    ls = h.socket(AF_INET, SOCK_STREAM)
    h.bind(ls, ("127.0.0.1", 7000))
    h.listen(ls)
    c = h.socket(AF_INET, SOCK_STREAM)
    h.connect(c, ("127.0.0.1", 7000))
    s, _ = h.accept(ls)
    data = b"\x5a" * (mb << 20)
    segs0 = h.net.mib.Tcp["OutSegs"]
    t_fake = w.clock.now()
    t0 = time.perf_counter()
    _pump(_stepper(w), lambda b: h.send(c, b, MSG_DONTWAIT),
          lambda: h.recv(s, 1 << 20, MSG_DONTWAIT), data, w.sim.settle)
    dt = time.perf_counter() - t0
    segs = h.net.mib.Tcp["OutSegs"] - segs0
    assert h.net.bugs == []
    return dt, segs, w.clock.now() - t_fake


def bench_veth(mb: int):
    p = StackPair()
    c, s = p.connected()
    data = b"\xa5" * (mb << 20)
    segs0 = p.a.net.mib.Tcp["OutSegs"] + p.b.net.mib.Tcp["OutSegs"]
    t_fake = p.clock.now()
    t0 = time.perf_counter()
    _pump(_stepper(p.world), lambda b: p.a.send(c, b, MSG_DONTWAIT),
          lambda: p.b.recv(s, 1 << 20, MSG_DONTWAIT), data, p.sim.settle)
    dt = time.perf_counter() - t0
    segs = p.a.net.mib.Tcp["OutSegs"] + p.b.net.mib.Tcp["OutSegs"] - segs0
    assert p.bugs() == []
    return dt, segs, p.clock.now() - t_fake


def cwnd_trace(cc: str, loss: float, seconds: float, seed: int = 3):
    """(time, cwnd, ssthresh) every 100 ms of fake time for a bulk sender using cc."""
    p = StackPair(netem_ab={"loss": loss, "latency": 0.01}, netem_ba={"latency": 0.01},
                  seed=seed)
    c, s = p.connected(opts_a=[(SOL_TCP, TCP_CONGESTION, cc.encode())])
    sk = p.a.sock(c)
    chunk = b"c" * 262144
    step = _stepper(p.world)
    t0 = p.clock.now()
    samples = []
    next_sample = t0
    while p.clock.now() - t0 < seconds:
        p.sim.settle()
        try:
            p.a.send(c, chunk, MSG_DONTWAIT)
        except BlockingIOError:
            pass
        try:
            p.b.recv(s, 1 << 22, MSG_DONTWAIT)
        except BlockingIOError:
            pass
        while p.clock.now() >= next_sample:
            ss = sk.snd_ssthresh if sk.snd_ssthresh < 1 << 30 else None
            samples.append((round(next_sample - t0, 1), sk.snd_cwnd, ss))
            next_sample += 0.1
        step()
    assert p.bugs() == []
    return samples


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=int, default=8, help="MB per throughput run")
    ap.add_argument("--loss", type=float, default=0.01)
    ap.add_argument("--seconds", type=float, default=30.0, help="fake seconds of cwnd trace")
    ap.add_argument("--png", default="bench_tcp_cwnd.png")
    args = ap.parse_args(argv)

    print(f"{'path':10} {'MB':>4} {'wall s':>8} {'MB/s':>8} {'segs/s':>9} {'fake s':>8}")
    for name, fn in (("loopback", bench_loopback), ("veth", bench_veth)):
        dt, segs, fake = fn(args.mb)
        print(f"{name:10} {args.mb:4d} {dt:8.2f} {args.mb / dt:8.2f} {segs / dt:9.0f} {fake:8.3f}")

    traces = {cc: cwnd_trace(cc, args.loss, args.seconds) for cc in ("reno", "cubic")}
    print(f"\ncwnd (segments) over fake time, {args.loss:.1%} loss, 20 ms RTT")
    print(f"{'t (s)':>6} {'reno':>6} {'ssth':>6} {'cubic':>6} {'ssth':>6}")
    rows = zip(traces["reno"], traces["cubic"])
    for i, (r, cu) in enumerate(rows):
        if i % 5 == 0:
            print(f"{r[0]:6.1f} {r[1]:6d} {str(r[2] or '-'):>6} {cu[1]:6d} {str(cu[2] or '-'):>6}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(matplotlib not installed: no plot)")
        return 0
    fig, ax = plt.subplots(figsize=(8, 4))
    for cc, tr in traces.items():
        ax.plot([t for t, _, _ in tr], [w for _, w, _ in tr], label=cc)
    ax.set_xlabel("fake time (s)")
    ax.set_ylabel("cwnd (segments)")
    ax.set_title(f"kstack TCP, {args.loss:.1%} loss, 20 ms RTT")
    ax.legend()
    fig.savefig(args.png, dpi=100)
    print(f"plot: {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
