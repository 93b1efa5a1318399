"""UDP through the whole in-process stack: two hosts joined by a veth pair, one Sim on
the fake clock, N datagrams pushed through the socket calls and read at the other end.

    python bench/bench_udp_inproc.py [-n 20000] [--sizes 64 1400] [--batch 64]

Prints datagrams per second of wall time (time.perf_counter, the only real clock
used) for each size, and whether every datagram arrived. Per datagram the path is
udp_sendmsg -> ip_make_skb -> ip_send_skb -> ip_output -> neigh -> dev_queue_xmit ->
veth_xmit -> netif_rx | net_rx_action -> ip_rcv -> ip_local_deliver -> udp_rcv ->
__udp_enqueue_schedule_skb | udp_recvmsg. The sender sends ``--batch`` datagrams,
then the Sim runs the softirqs and the receiver drains its queue (the receive
buffer is raised so a batch fits).

Profile it with:
    python -m cProfile -s cumtime bench/bench_udp_inproc.py -n 5000 | head -60
"""
import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kstack.core.sock import AF_INET, MSG_DONTWAIT, SO_RCVBUF, SOCK_DGRAM, SOL_SOCKET  # noqa: E402
from tests.lib.syscalls import World  # noqa: E402


def run(n: int, size: int, batch: int) -> tuple[float, int]:
    world = World()
    a, b = world.pair()
    a.sysctl("net.core.rmem_max", 64 * 1024 * 1024)
    b.sysctl("net.core.rmem_max", 64 * 1024 * 1024)
    rx = b.socket(AF_INET, SOCK_DGRAM)
    b.setsockopt(rx, SOL_SOCKET, SO_RCVBUF, 32 * 1024 * 1024)
    b.bind(rx, ("10.0.0.2", 9000))
    tx = a.socket(AF_INET, SOCK_DGRAM)
    a.connect(tx, ("10.0.0.2", 9000))
    payload = b"x" * size
    # Warm up: ARP resolution, route caches.
    a.send(tx, payload)
    world.settle()
    b.recv(rx, 65535)
    sendto = a.send
    recv = b.recv
    settle = world.settle
    got = 0
    t0 = time.perf_counter()
    left = n
    while left:
        k = min(batch, left)
        for _ in range(k):
            sendto(tx, payload)
        settle()
        for _ in range(k):
            if len(recv(rx, 65535, MSG_DONTWAIT)) == size:
                got += 1
        left -= k
    dt = time.perf_counter() - t0
    assert a.net.bugs == [] and b.net.bugs == []
    return n / dt, got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-n", type=int, default=20000, help="datagrams per size")
    ap.add_argument("--sizes", type=int, nargs="+", default=[64, 1400])
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    for size in args.sizes:
        rate, got = run(args.n, size, args.batch)
        print(f"udp {size:5d} B: {rate:10.0f} datagrams/s  ({rate * size * 8 / 1e6:7.1f} Mbit/s)"
              f"  delivered {got}/{args.n}")


if __name__ == "__main__":
    main()
