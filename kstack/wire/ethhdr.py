"""struct ethhdr — include/uapi/linux/if_ether.h (IEEE 802.3 / Ethernet II; 802.1Q tag
constants), as used by net/ethernet/eth.c (eth_header, eth_type_trans)."""

import struct

from kstack.wire._base import Header, raise_short
from kstack.wire.errors import WireError
from kstack.wire.inet import mac_ntoa

__all__ = [
    "EthHdr", "ETH_ALEN", "ETH_HLEN", "ETH_ZLEN", "ETH_DATA_LEN", "ETH_FRAME_LEN", "ETH_FCS_LEN",
    "ETH_P_LOOP", "ETH_P_IP", "ETH_P_ARP", "ETH_P_8021Q", "ETH_P_8021AD", "ETH_P_IPV6",
    "ETH_P_ALL", "ETH_P_802_3_MIN", "VLAN_HLEN", "ethertype_name",
]

ETH_ALEN = 6
ETH_HLEN = 14
ETH_ZLEN = 60
ETH_DATA_LEN = 1500
ETH_FRAME_LEN = 1514
ETH_FCS_LEN = 4
VLAN_HLEN = 4

ETH_P_LOOP = 0x0060
ETH_P_IP = 0x0800
ETH_P_ARP = 0x0806
ETH_P_8021Q = 0x8100
ETH_P_8021AD = 0x88A8
ETH_P_IPV6 = 0x86DD
ETH_P_ALL = 0x0003
ETH_P_802_3_MIN = 0x0600

_ETHERTYPE_NAMES = {ETH_P_IP: "IPv4", ETH_P_ARP: "ARP", ETH_P_8021Q: "802.1Q",
                    ETH_P_8021AD: "802.1Q-QinQ", ETH_P_IPV6: "IPv6", 0x8035: "Reverse ARP",
                    0x88CC: "LLDP", 0x8847: "MPLS unicast"}


def ethertype_name(proto: int) -> str:
    """tcpdump's ethertype text: "IPv4 (0x0800)", "Unknown (0x1234)"."""
    return f"{_ETHERTYPE_NAMES.get(proto, 'Unknown')} (0x{proto:04x})"


_ETH = struct.Struct("!6s6sH")


class EthHdr(Header):
    """Ethernet II header: h_dest, h_source (6-byte bytes), h_proto (ethertype, int)."""

    __slots__ = ("h_dest", "h_source", "h_proto")
    _fields = __slots__
    _struct = _ETH

    def __init__(self, h_dest: bytes = b"\xff" * 6, h_source: bytes = b"\x00" * 6,
                 h_proto: int = ETH_P_IP) -> None:
        self.h_dest = h_dest
        self.h_source = h_source
        self.h_proto = h_proto

    @classmethod
    def parse(cls, buf, offset: int = 0) -> "EthHdr":
        if offset < 0 or len(buf) - offset < 14:
            raise_short(buf, offset, 14)
        self = object.__new__(cls)
        self.h_dest, self.h_source, self.h_proto = _ETH.unpack_from(buf, offset)
        return self

    def buffer_len(self) -> int:
        return ETH_HLEN

    def emit(self, buf, offset: int = 0) -> None:
        if len(self.h_dest) != 6 or len(self.h_source) != 6:
            raise WireError("bad_addr_len", "MAC addresses are 6 bytes")
        _ETH.pack_into(buf, offset, self.h_dest, self.h_source, self.h_proto)

    def summary(self, length: int | None = None) -> str:
        """tcpdump -e link text: "aa:.. > bb:.., ethertype IPv4 (0x0800), length 74"."""
        s = f"{mac_ntoa(self.h_source)} > {mac_ntoa(self.h_dest)}, "
        if self.h_proto < ETH_P_802_3_MIN:
            s += "802.3"
        else:
            s += "ethertype " + ethertype_name(self.h_proto)
        if length is not None:
            s += f", length {length}"
        return s
