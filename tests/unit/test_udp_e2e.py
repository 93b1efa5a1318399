"""UDP between two in-process hosts over a veth pair (RFC 768 over RFC 791 with
fragmentation), driven through the socket calls on the fake clock. Checks what is on
the wire (a tap on the receiving device) and the MIB counters at both ends.
"""
import struct

import pytest

from kstack.core.errno import ECONNREFUSED, EMSGSIZE
from kstack.core.netdevice import ETH_P_ALL, PacketType
from kstack.core.dev import dev_add_pack
from kstack.core.sock import (AF_INET, MSG_DONTWAIT, SO_BROADCAST, SOCK_DGRAM, SOL_IP, SOL_SOCKET,
                              IP_PMTUDISC_DO)
from kstack.net.ipv4.ip_sockglue import IP_MTU, IP_MTU_DISCOVER
from kstack.wire.checksum import udp4_csum_verify
from kstack.wire.iphdr import IpHdr
from tests.lib.syscalls import World


def err(e):
    return e.value.errno


@pytest.fixture
def world():
    return World()


@pytest.fixture
def ab(world):
    return world.pair()


def tap(host, dev="eth0"):
    """Frames arriving on host's dev, as bytes (an ETH_P_ALL packet_type)."""
    frames = []
    d = host.net.dev_by_name[dev]

    def rcv(skb, dev_, pt, orig):
        if skb.pkt_type != 4:      # not PACKET_OUTGOING
            frames.append(bytes(skb.head[skb.mac_header:skb.tail]))
        return 0
    dev_add_pack(host.net, PacketType(ETH_P_ALL, rcv, dev=d))
    return frames


def test_sendto_recvfrom_between_hosts(ab):
    a, b = ab
    s = b.socket(AF_INET, SOCK_DGRAM)
    b.bind(s, ("10.0.0.2", 9000))
    c = a.socket(AF_INET, SOCK_DGRAM)
    wire = tap(b)
    assert a.sendto(c, b"hello, b", ("10.0.0.2", 9000)) == 8
    port = a.getsockname(c)[1]
    assert b.recvfrom(s, 100) == (b"hello, b", ("10.0.0.1", port))
    assert a.getsockname(c) == ("0.0.0.0", port)
    (frame,) = [f for f in wire if f[12:14] == b"\x08\x00"]
    ip = IpHdr.parse(frame, 14)
    assert (ip.saddr, ip.daddr, ip.protocol, ip.ttl, ip.df) == (0x0A000001, 0x0A000002, 17, 64, True)
    udp = frame[34:]
    assert struct.unpack("!HHH", udp[:6]) == (port, 9000, 16)
    assert udp[6:8] != b"\0\0" and udp4_csum_verify(ip.saddr, ip.daddr, udp)
    # Reply on the same socket pair, connected this time.
    b.connect(s, ("10.0.0.1", port))
    b.send(s, b"hi a")
    assert a.recvfrom(c, 100) == (b"hi a", ("10.0.0.2", 9000))
    assert (a.mib.Udp["OutDatagrams"], a.mib.Udp["InDatagrams"]) == (1, 1)
    assert (b.mib.Udp["OutDatagrams"], b.mib.Udp["InDatagrams"]) == (1, 1)
    assert b.mib.Ip["InDelivers"] >= 1 and a.mib.Ip["OutRequests"] >= 1
    assert a.net.bugs == [] and b.net.bugs == []


def test_20000_byte_datagram_is_fragmented_and_reassembled(ab):
    a, b = ab
    s = b.socket()
    b.bind(s, ("0.0.0.0", 7000))
    wire = tap(b)
    payload = bytes(range(256)) * 78 + bytes(32)            # 20000 bytes
    c = a.socket()
    assert a.sendto(c, payload, ("10.0.0.2", 7000)) == 20000
    data, addr = b.recvfrom(s, 65535)
    assert data == payload and addr[0] == "10.0.0.1"
    frags = [IpHdr.parse(f, 14) for f in wire if f[12:14] == b"\x08\x00"]
    assert len(frags) == 14                                  # ceil(20008 / 1480)
    assert all(f.tot_len <= 1500 for f in frags)
    assert [f.mf for f in frags] == [True] * 13 + [False]
    assert a.mib.Ip["FragOKs"] == 1 and a.mib.Ip["FragCreates"] == 14
    assert b.mib.Ip["ReasmReqds"] == 14 and b.mib.Ip["ReasmOKs"] == 1
    assert b.mib.Udp["InDatagrams"] == 1


def test_pmtudisc_do_refuses_big_datagrams(ab):
    a, b = ab
    c = a.socket()
    a.setsockopt(c, SOL_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
    a.connect(c, ("10.0.0.2", 9))
    assert a.getsockopt(c, SOL_IP, IP_MTU) == 1500
    assert a.send(c, b"x" * 1472) == 1472
    with pytest.raises(OSError) as e:
        a.send(c, b"x" * 1473)
    assert err(e) == EMSGSIZE


def test_connected_socket_learns_econnrefused_from_the_peer(world, ab):
    a, b = ab
    c = a.socket()
    a.connect(c, ("10.0.0.2", 4444))
    a.send(c, b"anyone?")
    world.settle()
    assert b.mib.Udp["NoPorts"] == 1 and b.mib.Icmp["OutDestUnreachs"] == 1
    assert a.mib.Icmp["InDestUnreachs"] == 1
    with pytest.raises(OSError) as e:
        a.recv(c, 100)
    assert err(e) == ECONNREFUSED


def test_blocking_recv_wakes_when_the_peer_sends(world, ab):
    a, b = ab
    s = b.socket()
    b.bind(s, ("10.0.0.2", 9100))
    pending = b.recvfrom(s, 100, block=False)
    c = a.socket()
    a.sendto(c, b"late", ("10.0.0.2", 9100))
    data, addr = world.wait(pending)
    assert data == b"late"


def test_subnet_broadcast_reaches_wildcard_sockets(world, ab):
    a, b = ab
    s1, s2 = b.socket(), b.socket()
    for s in (s1, s2):
        b.setsockopt(s, SOL_SOCKET, 2, 1)                # SO_REUSEADDR: both on port 6666
        b.bind(s, ("0.0.0.0", 6666))
    c = a.socket()
    a.setsockopt(c, SOL_SOCKET, SO_BROADCAST, 1)
    a.sendto(c, b"all", ("10.0.0.255", 6666))
    world.settle()
    assert b.recv(s1, 10, MSG_DONTWAIT) == b"all"        # every matching socket gets a copy
    assert b.recv(s2, 10, MSG_DONTWAIT) == b"all"
    assert b.mib.Udp["IgnoredMulti"] == 0
    a.sendto(c, b"none", ("10.0.0.255", 6667))
    world.settle()
    assert b.mib.Udp["IgnoredMulti"] == 1 and b.mib.Udp["NoPorts"] == 0


def test_many_datagrams_in_order_and_poll(world, ab):
    a, b = ab
    s = b.socket()
    b.bind(s, ("10.0.0.2", 9200))
    c = a.socket()
    a.connect(c, ("10.0.0.2", 9200))
    for i in range(50):
        a.send(c, struct.pack("!I", i) + b"x" * 60)
    world.settle()
    assert b.poll([(s, 1)], 0) == [(s, 1)]
    got = [struct.unpack("!I", b.recv(s, 100)[:4])[0] for _ in range(50)]
    assert got == list(range(50))
    assert b.poll([(s, 1)], 0) == []
