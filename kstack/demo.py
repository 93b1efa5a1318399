"""kstack's demo: a small network of in-process hosts, every frame printed as it crosses a wire.

    alice 10.0.1.2 --[wire1]-- 10.0.1.1 router 10.0.2.1 --[wire2]-- 10.0.2.2 bob

Everything runs on one fake clock, so the timestamps are the stack's own
time: ARP resolution, a ping through the router, a UDP exchange, a datagram
to a closed port (ICMP port unreachable -> ECONNREFUSED), a TTL that expires
at the router (ICMP time exceeded) and, once TCP is registered, a TCP
connection with its handshake, data and close. Output is tcpdump's (-n -e off).
"""
import argparse
import sys

from .core.dev import dev_add_pack
from .core.netdevice import ETH_P_ALL, PacketType
from .core.skbuff import PACKET_OUTGOING
from .core.sock import AF_INET, SOCK_DGRAM, SOCK_STREAM
from .wire.summary import frame_summary
from .world import World

IPPROTO_IP = 0
IP_TTL = 2


class WirePrinter:
    """An AF_PACKET-style tap on one end of each wire: prints what that end sends and gets,
    so each frame is printed once, when it crosses."""

    def __init__(self, world, out):
        self.world = world
        self.out = out
        self.count = 0

    def tap(self, host, dev, label):
        def rcv(skb, dev_, pt, orig_dev):
            frame = bytes(skb.head[skb.mac_header if skb.mac_header >= 0 else skb.data:skb.tail])
            self.count += 1
            ts = self.world.clock.now()
            print(f"[{label}] {frame_summary(frame, ts=ts)}", file=self.out)
            return 0
        dev_add_pack(host.net, PacketType(ETH_P_ALL, rcv, dev=dev))


def build(out=sys.stdout):
    w = World()
    alice, router, bob = w.host("alice"), w.host("router"), w.host("bob")
    a0, r0 = w.link(alice, router, "10.0.1.2/24", "10.0.1.1/24", "eth0", "eth0")
    r1, b0 = w.link(router, bob, "10.0.2.1/24", "10.0.2.2/24", "eth1", "eth0")
    alice.ip_route_add("default", via="10.0.1.1")
    bob.ip_route_add("default", via="10.0.2.1")
    router.sysctl("net.ipv4.ip_forward", "1")
    printer = WirePrinter(w, out)
    printer.tap(alice, a0, "wire1")
    printer.tap(bob, b0, "wire2")
    return w, alice, router, bob, printer


def say(out, text):
    print(f"\n# {text}", file=out)


def main(argv=None) -> int:
    """`kstack demo`: first the daemon demo (a web server and client through kstackd),
    then this in-process network. --inproc runs only the second."""
    ap = argparse.ArgumentParser(prog="kstack demo", description=__doc__.splitlines()[0])
    ap.add_argument("--inproc", action="store_true", help="only the in-process network")
    args = ap.parse_args(argv)
    out = sys.stdout
    if not args.inproc:
        from . import demo_daemon
        print("== 1. an unmodified web server and client through kstackd ==", flush=True)
        rc = demo_daemon.main([])
        if rc:
            return rc
        print("\n== 2. an in-process network on a fake clock: alice - router - bob ==", file=out)
    return inproc(out)


def inproc(out) -> int:
    w, alice, router, bob, printer = build(out)

    say(out, "bob listens on UDP 9000; alice sends him a datagram (ARP first, on both wires)")
    srv = bob.socket(AF_INET, SOCK_DGRAM)
    bob.bind(srv, ("0.0.0.0", 9000))
    cli = alice.socket(AF_INET, SOCK_DGRAM)
    alice.connect(cli, ("10.0.2.2", 9000))
    alice.send(cli, b"hello bob")
    data, peer = bob.recvfrom(srv, 2048)
    print(f"bob got {data!r} from {peer[0]}:{peer[1]}", file=out)
    bob.sendto(srv, b"hi alice", peer)
    print(f"alice got {alice.recv(cli, 2048)!r}", file=out)

    say(out, "alice pings bob through the router (a raw ICMP socket, as ping(8) uses)")
    ping(w, alice, "10.0.2.2", count=3, out=out)

    say(out, "a datagram to a closed port: ICMP port unreachable, then ECONNREFUSED")
    c2 = alice.socket(AF_INET, SOCK_DGRAM)
    alice.connect(c2, ("10.0.2.2", 9999))
    alice.send(c2, b"anyone?")
    w.settle()
    try:
        alice.send(c2, b"anyone?")
    except OSError as e:
        print(f"alice's next send: {type(e).__name__}: [Errno {e.errno}] {e.strerror}", file=out)

    say(out, "TTL 1 dies at the router: ICMP time exceeded comes back")
    c3 = alice.socket(AF_INET, SOCK_DGRAM)
    alice.setsockopt(c3, IPPROTO_IP, IP_TTL, 1)
    alice.sendto(c3, b"traceroute", ("10.0.2.2", 33434))
    w.settle()

    if tcp_available():
        say(out, "TCP: bob listens on 80, alice connects, sends a request, both close")
        ls = bob.socket(AF_INET, SOCK_STREAM)
        bob.bind(ls, ("0.0.0.0", 80))
        bob.listen(ls, 16)
        cs = alice.socket(AF_INET, SOCK_STREAM)
        alice.connect(cs, ("10.0.2.2", 80))
        conn, peer = bob.accept(ls)
        alice.send(cs, b"GET / HTTP/1.0\r\n\r\n")
        print(f"bob read {bob.recv(conn, 1024)!r} from {peer[0]}:{peer[1]}", file=out)
        bob.send(conn, b"HTTP/1.0 200 OK\r\n\r\nhello")
        print(f"alice read {alice.recv(cs, 1024)!r}", file=out)
        alice.close(cs)
        bob.close(conn)
        w.run_for(1.0)

    say(out, "counters (as nstat names them)")
    for h in (alice, router, bob):
        snap = {k: v for k, v in h.net.mib.snapshot().items() if v and not k.startswith(
            ("IpForwarding", "IpDefaultTTL", "TcpRto", "TcpMaxConn"))}
        print(f"{h.net.name}: " + " ".join(f"{k}={v}" for k, v in sorted(snap.items())), file=out)
    print(f"\n{printer.count} frames crossed the wires in {w.clock.now():.3f} s of stack time",
          file=out)
    return 0


def tcp_available() -> bool:
    try:
        from .net.ipv4 import tcp_ipv4  # noqa: F401
    except ImportError:
        return False
    return True


def ping(w, host, dst: str, count: int = 3, out=sys.stdout) -> None:
    """iputils ping over a raw IPPROTO_ICMP socket: echo requests 1 s apart."""
    import struct
    from .wire.checksum import csum_fold, csum_partial
    IPPROTO_ICMP, SOCK_RAW = 1, 3
    s = host.socket(AF_INET, SOCK_RAW, IPPROTO_ICMP)
    ident = 0x4b53
    payload = bytes(range(56))
    print(f"PING {dst} ({dst}) 56(84) bytes of data.", file=out)
    for seq in range(1, count + 1):
        hdr = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
        csum = csum_fold(csum_partial(hdr + payload))
        msg = struct.pack("!BBHHH", 8, 0, csum, ident, seq) + payload
        sent = w.clock.now()
        host.sendto(s, msg, (dst, 0))
        while True:
            pkt, peer = host.recvfrom(s, 2048)
            ihl = (pkt[0] & 0xF) * 4
            typ, _, _, rid, rseq = struct.unpack_from("!BBHHH", pkt, ihl)
            if typ == 0 and rid == ident and rseq == seq:
                break
        rtt = (w.clock.now() - sent) * 1000
        print(f"{len(pkt) - ihl} bytes from {peer[0]}: icmp_seq={seq} ttl={pkt[8]} time={rtt:.3f} ms",
              file=out)
        w.run_for(1.0)
    host.close(s)


if __name__ == "__main__":
    sys.exit(main())
