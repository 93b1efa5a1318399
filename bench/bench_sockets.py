"""The same socket workloads on Linux (stdlib) and on kstack (libsock), as kstack/Linux ratios.

    python bench/bench_sockets.py [--quick] [--only NAME ...] [--repeat N]

Workloads (each side: a client in this process, a server in a forked child):
  bulk    TCP bulk transfer, MB/s
  rr      1-byte request/response round trips: median and p99 latency (us)
  crr     connect, 1-byte request, response, close: connections/s
  udp     UDP datagrams/s received (64-byte datagrams, one-way)
  mem     kstackd's RSS growth per idle TCP connection with 1000 open (KiB; kstack only)
A kstackd is started in a temporary rundir for the run and stopped at the end.

The kstack side also gives daemon_us/op: kstackd's own CPU time (user + system)
per operation (per MB, round trip, connection, datagram), which moves far less
than the wall-clock figures on a shared machine. --repeat N runs each workload
N times on each side and keeps each side's best run.
"""
import argparse
import os
import signal
import socket as std_socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
LO = "127.0.0.1"


def _listener(S, backlog=1024):
    ls = S.socket(S.AF_INET, S.SOCK_STREAM)
    ls.setsockopt(S.SOL_SOCKET, S.SO_REUSEADDR, 1)
    ls.bind((LO, 0))
    ls.listen(backlog)
    return ls


def _fork(fn):
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            fn()
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        os._exit(code)
    return pid


def _reap(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def bench_bulk(S, mb):
    ls = _listener(S)
    total = mb << 20

    def server():
        s, _ = ls.accept()
        n = 0
        buf = bytearray(262144)
        while n < total:
            k = s.recv_into(buf)
            if not k:
                break
            n += k
        s.sendall(b"k")
        s.close()
    pid = _fork(server)
    c = S.create_connection(ls.getsockname())
    chunk = b"x" * 262144
    t = time.perf_counter()
    sent = 0
    while sent < total:
        c.sendall(chunk)
        sent += len(chunk)
    assert c.recv(1) == b"k"
    dt = time.perf_counter() - t
    c.close()
    ls.close()
    _reap(pid)
    return {"MB/s": mb / dt}


def bench_rr(S, n):
    ls = _listener(S)

    def server():
        s, _ = ls.accept()
        s.setsockopt(S.IPPROTO_TCP, S.TCP_NODELAY, 1)
        while True:
            d = s.recv(1)
            if not d:
                break
            s.send(d)
    pid = _fork(server)
    c = S.create_connection(ls.getsockname())
    c.setsockopt(S.IPPROTO_TCP, S.TCP_NODELAY, 1)
    lat = []
    pc = time.perf_counter
    for i in range(n + 50):
        t = pc()
        c.send(b"x")
        c.recv(1)
        if i >= 50:
            lat.append(pc() - t)
    c.close()
    ls.close()
    _reap(pid)
    lat.sort()
    return {"median_us": statistics.median(lat) * 1e6, "p99_us": lat[int(len(lat) * 0.99)] * 1e6}


def bench_crr(S, n):
    ls = _listener(S)

    def server():
        while True:
            s, _ = ls.accept()
            d = s.recv(1)
            if d:
                s.send(d)
            s.close()
    pid = _fork(server)
    addr = ls.getsockname()
    t = time.perf_counter()
    for _ in range(n):
        c = S.socket(S.AF_INET, S.SOCK_STREAM)
        c.connect(addr)
        c.send(b"x")
        c.recv(1)
        c.close()
    dt = time.perf_counter() - t
    ls.close()
    _reap(pid)
    return {"conn/s": n / dt}


def bench_udp(S, n):
    rx = S.socket(S.AF_INET, S.SOCK_DGRAM)
    rx.bind((LO, 0))
    r, w = os.pipe()

    def server():
        rx.settimeout(5)
        got = 0
        t0 = None
        try:
            while True:
                d = rx.recv(2048)
                if t0 is None:
                    t0 = time.perf_counter()
                if d == b"END":
                    break
                got += 1
        except TimeoutError:
            pass
        dt = time.perf_counter() - (t0 or time.perf_counter())
        os.write(w, f"{got} {dt}".encode())
    pid = _fork(server)
    tx = S.socket(S.AF_INET, S.SOCK_DGRAM)
    dst = rx.getsockname()
    msg = b"u" * 64
    for i in range(n):
        tx.sendto(msg, dst)
    for _ in range(20):
        tx.sendto(b"END", dst)
        time.sleep(0.01)
    got, dt = os.read(r, 100).decode().split()
    os.close(r)
    os.close(w)
    _reap(pid)
    tx.close()
    rx.close()
    got = int(got)
    return {"dgrams/s": got / max(float(dt), 1e-9), "received": got / n}


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def bench_mem(S, n, daemon_pid):
    ls = _listener(S)
    addr = ls.getsockname()
    before = _rss_kib(daemon_pid)
    clients, servers = [], []
    for _ in range(n):
        c = S.socket(S.AF_INET, S.SOCK_STREAM)
        c.connect(addr)
        s, _ = ls.accept()
        clients.append(c)
        servers.append(s)
    time.sleep(0.5)
    after = _rss_kib(daemon_pid)
    for x in clients + servers:
        x.close()
    ls.close()
    return {"KiB/conn": (after - before) / n}


# What one operation is, per workload: the CPU-per-op divisor (size -> ops).
OPS = {"bulk": lambda n: n, "rr": lambda n: n + 50, "crr": lambda n: n, "udp": lambda n: n + 20}
# Which run is best: the primary metric and whether more is better.
BEST = {"bulk": ("MB/s", max), "rr": ("median_us", min), "crr": ("conn/s", max),
        "udp": ("dgrams/s", max), "mem": ("KiB/conn", min)}


def _cpu_s(pid):
    """utime + stime of a process, seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _best(name, runs):
    key, pick = BEST[name]
    return pick(runs, key=lambda r: r[key])


def start_kstackd(rundir):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.Popen([sys.executable, "-m", "kstack.kstackd", "--rundir", rundir],
                         env=env, stderr=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(os.path.join(rundir, "kstackd.pid")):
            return p
        time.sleep(0.02)
    raise RuntimeError("kstackd did not start")


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller runs")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--repeat", type=int, default=1, help="runs per side; the best is kept")
    args = ap.parse_args(argv)
    q = args.quick
    sizes = {"bulk": 20 if q else 100, "rr": 500 if q else 3000, "crr": 200 if q else 1000,
             "udp": 5000 if q else 30000, "mem": 1000}
    only = set(args.only or sizes)
    tmp = tempfile.mkdtemp(prefix="kstack-bench-")
    rundir = os.path.join(tmp, "host")
    d = start_kstackd(rundir)
    os.environ["KSTACK_RUNDIR"] = rundir
    from libsock import socket as lsocket
    results = {}
    try:
        for name in ("bulk", "rr", "crr", "udp", "mem"):
            if name not in only:
                continue
            fn = globals()["bench_" + name]
            n = sizes[name]
            if name == "mem":
                results[name] = (None, fn(lsocket, n, d.pid))
                continue
            lin, ks = [], []
            for _ in range(args.repeat):
                lin.append(fn(std_socket, n))
                c0 = _cpu_s(d.pid)
                r = fn(lsocket, n)
                r["daemon_us/op"] = (_cpu_s(d.pid) - c0) / OPS[name](n) * 1e6
                ks.append(r)
            results[name] = (_best(name, lin), _best(name, ks))
    finally:
        os.kill(d.pid, signal.SIGTERM)
        d.wait(10)
    print(f"{'workload':10} {'metric':12} {'linux':>12} {'kstack':>12} {'kstack/linux':>13}")
    for name, (lin, ks) in results.items():
        for k, v in ks.items():
            lv = lin.get(k) if lin else None
            ratio = f"{v / lv:13.3f}" if lv else f"{'':13}"
            lvs = f"{lv:12.1f}" if lv is not None else f"{'-':>12}"
            print(f"{name:10} {k:12} {lvs} {v:12.1f} {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
