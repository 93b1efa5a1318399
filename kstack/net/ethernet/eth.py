"""net/ethernet/eth.c: Ethernet header build/parse, eth_type_trans, ether_setup.

eth_type_trans sets the frame's mac header, pulls it and returns the
ethertype (skb.protocol), classifying pkt_type as the kernel does. The
header_ops create/cache pair serves neighbour output: neigh_resolve_output
builds a header with dev_hard_header, neigh_hh_output copies the cached one.
"""
import struct

from ...core.netdevice import ARPHRD_ETHER, IFF_BROADCAST, IFF_MULTICAST, HeaderOps
from ...core.skbuff import (PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST,
                            skb_push)

ETH_HLEN = 14
ETH_ALEN = 6
ETH_ZLEN = 60
ETH_DATA_LEN = 1500
ETH_FRAME_LEN = 1514
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ETH_P_IPV6 = 0x86DD
BROADCAST_ADDR = b"\xff" * 6
_H = struct.Struct("!6s6sH")


def eth_header(skb, dev, type_: int, daddr, saddr, len_: int) -> int:
    """Push a 14-byte header; returns ETH_HLEN, or -ETH_HLEN if daddr is still unknown."""
    off = skb_push(skb, ETH_HLEN)
    _H.pack_into(skb.head, off, daddr or b"\x00" * 6, saddr or dev.dev_addr, type_)
    skb.mac_header = off
    return ETH_HLEN if daddr else -ETH_HLEN


def eth_header_parse(skb) -> bytes:
    return bytes(skb.head[skb.mac_header + 6:skb.mac_header + 12])


class HhCache:
    """struct hh_cache: a prebuilt link header for one neighbour."""
    __slots__ = ("hh_len", "hh_data")

    def __init__(self):
        self.hh_len = 0
        self.hh_data = b""


def eth_header_cache(neigh, hh: HhCache, type_: int) -> int:
    dev = neigh.dev
    hh.hh_data = _H.pack(bytes(neigh.ha), dev.dev_addr, type_)
    hh.hh_len = ETH_HLEN
    return 0


def eth_header_cache_update(hh: HhCache, dev, haddr: bytes) -> None:
    if hh.hh_len:
        hh.hh_data = bytes(haddr) + hh.hh_data[6:]


eth_header_ops = HeaderOps(create=eth_header, parse=eth_header_parse, cache=eth_header_cache,
                           cache_update=eth_header_cache_update)


def is_multicast_ether_addr(addr) -> bool:
    return bool(addr[0] & 1)


def eth_type_trans(skb, dev) -> int:
    """Set mac_header, pull the Ethernet header, classify pkt_type; returns the ethertype."""
    off = skb.data
    skb.mac_header = off
    head = skb.head
    skb.data = off + ETH_HLEN
    skb.dev = dev
    if head[off] & 1:
        if head[off:off + 6] == BROADCAST_ADDR:
            skb.pkt_type = PACKET_BROADCAST
        else:
            skb.pkt_type = PACKET_MULTICAST
    elif head[off:off + 6] != dev.dev_addr:
        skb.pkt_type = PACKET_OTHERHOST
    else:
        skb.pkt_type = PACKET_HOST
    proto = (head[off + 12] << 8) | head[off + 13]
    skb.protocol = proto
    return proto


def eth_random_addr(rng) -> bytes:
    b = bytearray(rng.randbytes(6))
    b[0] = (b[0] & 0xFE) | 0x02   # unicast, locally administered
    return bytes(b)


def ether_setup(dev) -> None:
    dev.type = ARPHRD_ETHER
    dev.header_ops = eth_header_ops
    dev.hard_header_len = ETH_HLEN
    dev.min_mtu = 68
    dev.max_mtu = 65535
    dev.mtu = ETH_DATA_LEN
    dev.addr_len = ETH_ALEN
    dev.tx_queue_len = 1000
    dev.flags = IFF_BROADCAST | IFF_MULTICAST
    dev.broadcast = BROADCAST_ADDR


def dev_hard_header(skb, dev, type_: int, daddr, saddr, len_: int) -> int:
    """include/linux/netdevice.h: build the link header through header_ops (0 if none)."""
    if dev.header_ops is None:
        return 0
    return dev.header_ops.create(skb, dev, type_, daddr, saddr, len_)
