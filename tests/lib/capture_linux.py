"""Capture real frames from this machine's Linux kernel, for kstack.wire fixtures.

Creates two network namespaces joined by a veth pair (10.200.0.1/24 in A, 10.200.0.2/24 in
B; fixed MACs 02:00:0a:c8:00:01 / 02:00:0a:c8:00:02; IPv6 off; tx checksum offload off so
the captured TCP/UDP checksums are the real ones), sniffs B's veth with an AF_PACKET
SOCK_RAW socket (ETH_P_ALL) while A does: ARP (the first packet to B), an ICMP echo
(request/reply, ping(8)'s 56-byte payload, sent from Python on a raw socket), one UDP
datagram, a TCP connection (SYN, SYN-ACK, ACK, data both ways, FIN both ways), a 3000-byte
UDP datagram (fragmented at MTU 1500), a UDP datagram to a closed port (ICMP port
unreachable), a UDP datagram carrying an IP record-route option, and a TCP SYN to a closed
port (RST). The namespaces are always deleted (finally), and their names carry the pid.

Needs root and iproute2's `ip`. Usage:
    python tests/lib/capture_linux.py --write tests/fixtures/wire/linux_frames.json
Library: capture() -> list of {"label", "dir", "hex"} dicts.
The same file is the agent run inside the namespaces (`agent-b`, `agent-a` sub-commands).
"""

import fcntl
import json
import os
import select
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

A_IP, B_IP = "10.200.0.1", "10.200.0.2"
A_MAC, B_MAC = "02:00:0a:c8:00:01", "02:00:0a:c8:00:02"
UDP_PORT, TCP_PORT, CLOSED_PORT, A_UDP_PORT, A_TCP_PORT = 9000, 33333, 9001, 40000, 40001
ETH_P_ALL = 0x0003
SIOCETHTOOL = 0x8946
ETHTOOL_STXCSUM = 0x00000017
PACKET_OUTGOING = 4


def available() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


def _run(*args, check=True, timeout=10):
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=timeout)


def _tx_csum_off(ifname: str) -> None:
    """`ethtool -K IF tx off` through SIOCETHTOOL (no ethtool binary needed): with checksum
    offload on, veth hands over CHECKSUM_PARTIAL skbs and the capture shows unfinished
    TCP/UDP checksums. Turning it off also drops TSO, so segments are captured as sent."""
    import ctypes
    val = ctypes.create_string_buffer(struct.pack("II", ETHTOOL_STXCSUM, 0))
    ifr = struct.pack("16sP", ifname.encode(), ctypes.addressof(val)) + b"\x00" * 16
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        fcntl.ioctl(s.fileno(), SIOCETHTOOL, ifr)
    finally:
        s.close()


def _csum(b: bytes) -> int:
    if len(b) & 1:
        b += b"\x00"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


# ------------------------------------------------------------------ agents (inside netns)

def agent_b(ifname: str) -> None:
    """Sniff `ifname`, serve UDP 9000 and TCP 33333; on 'stop' from stdin print the frames as JSON."""
    _tx_csum_off(ifname)
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sniff.bind((ifname, 0))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((B_IP, UDP_PORT))
    lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind((B_IP, TCP_PORT))
    lst.listen(1)

    def tcp_server():
        c, _ = lst.accept()
        data = c.recv(100)
        c.sendall(b"world:" + data)
        c.recv(100)      # A's FIN
        c.close()

    threading.Thread(target=tcp_server, daemon=True).start()
    frames = []
    print("ready", flush=True)
    while True:
        r, _, _ = select.select([sniff, udp, sys.stdin], [], [], 5.0)
        if not r:
            break
        if udp in r:
            udp.recvfrom(65535)
        if sniff in r:
            data, addr = sniff.recvfrom(65535)
            frames.append({"dir": "out" if addr[2] == PACKET_OUTGOING else "in", "hex": data.hex()})
        if sys.stdin in r:
            sys.stdin.readline()
            # drain what is already queued, then report
            while select.select([sniff], [], [], 0.05)[0]:
                data, addr = sniff.recvfrom(65535)
                frames.append({"dir": "out" if addr[2] == PACKET_OUTGOING else "in", "hex": data.hex()})
            break
    print(json.dumps(frames), flush=True)


def agent_a(ifname: str) -> None:
    """Generate the traffic from A."""
    _tx_csum_off(ifname)
    # ICMP echo (triggers ARP first); payload as ping(8): 8-byte timeval + 0x10..0x3f
    icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    icmp.settimeout(2)
    payload = struct.pack("!II", 1700000000, 0) + bytes(range(0x10, 0x40))
    hdr = struct.pack("!BBHHH", 8, 0, 0, 0x4b53, 1)
    c = _csum(hdr + payload)
    icmp.sendto(struct.pack("!BBHHH", 8, 0, c, 0x4b53, 1) + payload, (B_IP, 0))
    icmp.recvfrom(2048)
    time.sleep(0.05)
    # one UDP datagram
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.bind((A_IP, A_UDP_PORT))
    u.sendto(b"hello kstack", (B_IP, UDP_PORT))
    time.sleep(0.05)
    # TCP exchange
    t = socket.create_connection((B_IP, TCP_PORT), timeout=2, source_address=(A_IP, A_TCP_PORT))
    t.sendall(b"hello")
    got = b""
    while len(got) < 11:
        got += t.recv(100)
    t.shutdown(socket.SHUT_WR)
    t.recv(100)      # B's FIN
    t.close()
    time.sleep(0.05)
    # fragmented UDP: 3000 bytes over MTU 1500
    u.sendto(bytes(i & 0xFF for i in range(3000)), (B_IP, UDP_PORT))
    time.sleep(0.05)
    # UDP to a closed port -> ICMP port unreachable
    u.sendto(b"anyone?", (B_IP, CLOSED_PORT))
    time.sleep(0.05)
    # UDP with an IP option (record route, 2 slots + EOL pad: ihl 8)
    o = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    o.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, bytes([7, 11, 4]) + bytes(9))
    o.sendto(b"opts", (B_IP, UDP_PORT))
    time.sleep(0.05)
    # TCP SYN to a closed port -> RST/ACK
    r = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    r.settimeout(2)
    try:
        r.connect((B_IP, CLOSED_PORT))
    except OSError:
        pass
    r.close()
    time.sleep(0.1)


# ------------------------------------------------------------------ orchestration (root ns)

def classify(frames):
    """Label the frames: arp_request, arp_reply, icmp_echo_request, icmp_echo_reply, udp,
    tcp_syn, tcp_synack, tcp_ack, tcp_data, tcp_fin, tcp_rst, udp_ipopts, ip_frag_first/middle/last,
    icmp_port_unreach (first of each kind keeps the bare label; others get _2, _3...)."""
    seen = {}
    for f in frames:
        b = bytes.fromhex(f["hex"])
        label = "other"
        proto = struct.unpack_from("!H", b, 12)[0] if len(b) >= 14 else None
        if proto == 0x0806:
            label = {1: "arp_request", 2: "arp_reply"}.get(struct.unpack_from("!H", b, 20)[0], "arp")
        elif proto == 0x0800 and len(b) >= 34:
            ihl = (b[14] & 15) * 4
            p = b[23]
            frag = struct.unpack_from("!H", b, 20)[0]
            l4 = 14 + ihl
            if frag & 0x3FFF:
                off, mf = frag & 0x1FFF, frag & 0x2000
                label = "ip_frag_first" if off == 0 else ("ip_frag_middle" if mf else "ip_frag_last")
            elif p == 1:
                t, code = b[l4], b[l4 + 1]
                label = {(8, 0): "icmp_echo_request", (0, 0): "icmp_echo_reply",
                         (3, 3): "icmp_port_unreach"}.get((t, code), "icmp")
            elif p == 17:
                label = "udp_ipopts" if ihl > 20 else "udp"
            elif p == 6:
                fl = b[l4 + 13]
                doff = (b[l4 + 12] >> 4) * 4
                plen = struct.unpack_from("!H", b, 16)[0] - ihl - doff
                if fl & 0x04:
                    label = "tcp_rst"
                elif fl & 0x02:
                    label = "tcp_synack" if fl & 0x10 else "tcp_syn"
                elif fl & 0x01:
                    label = "tcp_fin"
                elif plen > 0:
                    label = "tcp_data"
                else:
                    label = "tcp_ack"
        n = seen.get(label, 0) + 1
        seen[label] = n
        f["label"] = label if n == 1 else f"{label}_{n}"
    return frames


def capture(timeout: float = 20.0):
    """Run the whole capture; returns the classified frames (list of dicts)."""
    if not available():
        raise RuntimeError("capture needs root and ip(8)")
    pid = os.getpid()
    ns_a, ns_b = f"kswa{pid}", f"kswb{pid}"
    if_a, if_b = f"kva{pid}"[:15], f"kvb{pid}"[:15]
    me = os.path.abspath(__file__)
    py = sys.executable
    proc = None
    try:
        for ns in (ns_a, ns_b):
            _run("ip", "netns", "add", ns)
            for knob in ("all", "default"):
                _run("ip", "netns", "exec", ns, py, "-c",
                     f"open('/proc/sys/net/ipv6/conf/{knob}/disable_ipv6','w').write('1')")
        _run("ip", "link", "add", if_a, "netns", ns_a, "address", A_MAC, "type", "veth",
             "peer", "name", if_b, "netns", ns_b, "address", B_MAC)
        for ns, ifn, ip in ((ns_a, if_a, A_IP), (ns_b, if_b, B_IP)):
            _run("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", ifn)
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            _run("ip", "-n", ns, "link", "set", ifn, "up")
        proc = subprocess.Popen(["ip", "netns", "exec", ns_b, py, me, "agent-b", if_b],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline()
        if line.strip() != "ready":
            raise RuntimeError(f"agent-b did not start: {line!r}")
        _run("ip", "netns", "exec", ns_a, py, me, "agent-a", if_a, timeout=timeout)
        out, _ = proc.communicate("stop\n", timeout=timeout)
        frames = json.loads(out.strip().splitlines()[-1])
        return classify(frames)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        for ns in (ns_a, ns_b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def main(argv):
    if len(argv) >= 2 and argv[0] == "agent-b":
        return agent_b(argv[1])
    if len(argv) >= 2 and argv[0] == "agent-a":
        return agent_a(argv[1])
    frames = capture()
    doc = {
        "note": ("Frames captured from the Linux kernel by tests/lib/capture_linux.py: two netns "
                 "joined by a veth pair, AF_PACKET ETH_P_ALL socket on B's veth, tx checksum offload "
                 "off on both veths, IPv6 off; 'dir' is from B's side (in = sent by A)."),
        "kernel": os.uname().release,
        "captured": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "a": {"ip": A_IP, "mac": A_MAC}, "b": {"ip": B_IP, "mac": B_MAC},
        "frames": frames,
    }
    if len(argv) >= 2 and argv[0] == "--write":
        with open(argv[1], "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        print(f"{len(frames)} frames -> {argv[1]}")
    else:
        for fr in frames:
            print(fr["label"], fr["dir"], fr["hex"][:80])


if __name__ == "__main__":
    main(sys.argv[1:])
