"""The daemon demo: an unmodified web server and client through kstackd, packets shown.

    python -m kstack.demo_daemon [--keep]

Starts a kstackd in a temporary rundir, subscribes to its capture channel
(kstack/server/capture.py) for lo, runs `python -m http.server` and a urllib
client with `kstack exec` (libsock in place of socket/select/selectors), and
prints every frame tcpdump-style (kstack.wire.summary) followed by what the
client fetched and the daemon's counters. Nothing touches the real network:
both programs' sockets live in the daemon's own lo.
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgpack
import zmq

ROOT = Path(__file__).resolve().parents[2]
PACKET_OUTGOING = 4

CLIENT = """
import urllib.request, socket, time
for _ in range(200):
    try:
        socket.create_connection(('127.0.0.1', {port}), timeout=5).close()
        break
    except ConnectionRefusedError:
        time.sleep(0.025)
with urllib.request.urlopen('http://127.0.0.1:{port}/hello.txt', timeout=10) as r:
    print('client got:', r.status, r.read().decode().strip())
"""


def exec_env(rundir: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from tools.exec import build_env
    return build_env(rundir)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kstack.demo_daemon")
    ap.add_argument("--port", type=int, default=8000)
    args = ap.parse_args(argv)
    tmp = tempfile.mkdtemp(prefix="kstack-demo-")
    rundir = os.path.join(tmp, "host")
    www = os.path.join(tmp, "www")
    os.mkdir(www)
    with open(os.path.join(www, "hello.txt"), "w") as f:
        f.write("hello from a web server on kstack\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    d = subprocess.Popen([sys.executable, "-m", "kstack.kstackd", "--rundir", rundir,
                          "--name", "demo"], env=env)
    procs = []
    try:
        for _ in range(500):
            if os.path.exists(os.path.join(rundir, "kstackd.pid")):
                break
            time.sleep(0.02)
        ctx = zmq.Context.instance()
        sub = ctx.socket(zmq.SUB)
        sub.setsockopt(zmq.LINGER, 0)
        sub.connect("ipc://" + os.path.join(rundir, "capture"))
        sub.setsockopt(zmq.SUBSCRIBE, b"lo")
        time.sleep(0.2)                       # the subscription reaches the daemon
        xenv = exec_env(rundir)
        print(f"$ kstack exec -- python -m http.server {args.port} --bind 127.0.0.1", flush=True)
        srv = subprocess.Popen([sys.executable, "-m", "http.server", str(args.port),
                                "--bind", "127.0.0.1", "--directory", www],
                               env=xenv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(srv)
        print("$ kstack exec -- python -c 'urllib.request.urlopen(...)'", flush=True)
        cl = subprocess.run([sys.executable, "-c", CLIENT.format(port=args.port)], env=xenv,
                            capture_output=True, text=True, timeout=60)
        time.sleep(0.2)
        from .wire.summary import frame_summary
        lines = 0
        while sub.poll(100):
            dev, meta, frame = sub.recv_multipart()
            ts, ifindex, pkt_type, length = msgpack.unpackb(meta)
            if pkt_type != PACKET_OUTGOING:     # lo: each frame once, as tcpdump -i lo
                continue
            print(frame_summary(frame, ts), flush=True)
            lines += 1
        print(cl.stdout.strip() or cl.stderr.strip())
        from .server.control_client import ControlClient
        with ControlClient(rundir) as c:
            st = c.request("DAEMON")
        print(f"kstackd: {st['syscalls']} syscalls, {st['sessions']} sessions, "
              f"{st['tx_bytes']} bytes in / {st['rx_bytes']} out through socket fds, "
              f"{lines} frames on lo, bugs: {len(st['bugs'])}")
        return 0 if cl.returncode == 0 else 1
    finally:
        for p in procs:
            p.kill()
            p.wait()
        d.send_signal(signal.SIGTERM)
        d.wait(10)


if __name__ == "__main__":
    sys.exit(main())
