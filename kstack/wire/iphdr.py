"""struct iphdr — include/uapi/linux/ip.h, include/uapi/linux/in.h (IPPROTO_*),
include/net/ip.h (IP_DF/IP_MF/IP_OFFSET, ip_is_fragment, ip_send_check) — RFC 791.

parse() makes the structural checks of net/ipv4/ip_input.c ip_rcv_core(): version 4,
ihl >= 5, the whole ihl*4 header present, tot_len >= ihl*4. Whether tot_len fits the
buffer is left to the caller (an ICMP error quotes only the first bytes of a datagram).
"""

import struct

from kstack.wire._base import Header, raise_short
from kstack.wire.checksum import ip_fast_csum
from kstack.wire.errors import WireError
from kstack.wire.inet import in_ntoa

__all__ = [
    "IpHdr", "IP_CE", "IP_DF", "IP_MF", "IP_OFFSET", "IPPROTO_IP", "IPPROTO_ICMP", "IPPROTO_IGMP",
    "IPPROTO_IPIP", "IPPROTO_TCP", "IPPROTO_UDP", "IPPROTO_GRE", "IPPROTO_ICMPV6", "IPPROTO_SCTP",
    "IPPROTO_UDPLITE", "IPPROTO_RAW", "IPVERSION", "MAXTTL", "IPDEFTTL", "IPTOS_TOS_MASK",
    "IPTOS_ECN_MASK", "IPOPT_END", "IPOPT_NOOP", "ip_is_fragment", "ip_send_check", "ip_proto_name",
]

IP_CE = 0x8000        # "congestion" / reserved flag
IP_DF = 0x4000
IP_MF = 0x2000
IP_OFFSET = 0x1FFF

IPPROTO_IP = 0
IPPROTO_ICMP = 1
IPPROTO_IGMP = 2
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_GRE = 47
IPPROTO_ICMPV6 = 58
IPPROTO_SCTP = 132
IPPROTO_UDPLITE = 136
IPPROTO_RAW = 255

IPVERSION = 4
MAXTTL = 255
IPDEFTTL = 64
IPTOS_TOS_MASK = 0x1E
IPTOS_ECN_MASK = 0x03
IPOPT_END = 0
IPOPT_NOOP = 1

_PROTO_NAMES = {IPPROTO_ICMP: "ICMP", IPPROTO_IGMP: "IGMP", IPPROTO_IPIP: "IPIP", IPPROTO_TCP: "TCP",
                IPPROTO_UDP: "UDP", IPPROTO_GRE: "GRE", IPPROTO_ICMPV6: "ICMPv6",
                IPPROTO_SCTP: "SCTP", IPPROTO_UDPLITE: "UDPLite"}


def ip_proto_name(proto: int) -> str:
    """tcpdump -v protocol text: "TCP (6)", "unknown (99)"."""
    return f"{_PROTO_NAMES.get(proto, 'unknown')} ({proto})"


_IP = struct.Struct("!BBHHHBBHII")


def ip_is_fragment(frag_off: int) -> bool:
    """include/net/ip.h: MF set or a non-zero offset (frag_off is the whole 16-bit field)."""
    return (frag_off & (IP_MF | IP_OFFSET)) != 0


def ip_send_check(buf, offset: int = 0) -> int:
    """include/net/ip.h ip_send_check(): zero the check field of the header at `offset`,
    compute it over ihl*4 bytes, store it; returns the value."""
    n = (buf[offset] & 0x0F) << 2
    buf[offset + 10] = 0
    buf[offset + 11] = 0
    c = ip_fast_csum(buf[offset:offset + n], n >> 2)
    buf[offset + 10] = c >> 8
    buf[offset + 11] = c & 0xFF
    return c


class IpHdr(Header):
    """IPv4 header. saddr/daddr are host-order ints; frag_off is the full 16-bit field
    (flags | offset in 8-byte units); options are the raw bytes between 20 and ihl*4.
    emit() writes fields as they are (it never fills tot_len or check: see ip_send_check)."""

    __slots__ = ("version", "ihl", "tos", "tot_len", "id", "frag_off", "ttl", "protocol",
                 "check", "saddr", "daddr", "options")
    _fields = __slots__
    _struct = _IP

    def __init__(self, saddr: int = 0, daddr: int = 0, protocol: int = 0, tot_len: int | None = None,
                 id: int = 0, frag_off: int = 0, ttl: int = IPDEFTTL, tos: int = 0, check: int = 0,
                 options: bytes = b"", ihl: int | None = None, version: int = IPVERSION) -> None:
        if len(options) & 3:
            options = bytes(options) + b"\x00" * (4 - (len(options) & 3))   # IPOPT_END padding
        self.version = version
        self.ihl = 5 + (len(options) >> 2) if ihl is None else ihl
        self.tos = tos
        self.tot_len = (20 + len(options)) if tot_len is None else tot_len
        self.id = id
        self.frag_off = frag_off
        self.ttl = ttl
        self.protocol = protocol
        self.check = check
        self.saddr = saddr
        self.daddr = daddr
        self.options = bytes(options)

    @classmethod
    def parse(cls, buf, offset: int = 0) -> "IpHdr":
        n = len(buf) - offset
        if offset < 0 or n < 20:
            raise_short(buf, offset, 20)
        self = object.__new__(cls)
        (vihl, self.tos, tot_len, self.id, self.frag_off, self.ttl, self.protocol,
         self.check, self.saddr, self.daddr) = _IP.unpack_from(buf, offset)
        if vihl >> 4 != 4:
            raise WireError("bad_version", str(vihl >> 4))
        ihl = vihl & 0x0F
        if ihl < 5:
            raise WireError("bad_ihl", str(ihl))
        hl = ihl << 2
        if hl > n:
            raise WireError("short", f"ihl {ihl} but {n} bytes")
        if tot_len < hl:
            raise WireError("bad_len", f"tot_len {tot_len} < {hl}")
        self.version = 4
        self.ihl = ihl
        self.tot_len = tot_len
        self.options = bytes(buf[offset + 20:offset + hl]) if ihl > 5 else b""
        return self

    def buffer_len(self) -> int:
        return 20 + len(self.options)

    def emit(self, buf, offset: int = 0) -> None:
        _IP.pack_into(buf, offset, ((self.version & 0xF) << 4) | (self.ihl & 0xF), self.tos,
                      self.tot_len, self.id, self.frag_off, self.ttl, self.protocol, self.check,
                      self.saddr, self.daddr)
        if self.options:
            buf[offset + 20:offset + 20 + len(self.options)] = self.options

    # --- derived values (read-only helpers) ---
    @property
    def df(self) -> bool:
        return bool(self.frag_off & IP_DF)

    @property
    def mf(self) -> bool:
        return bool(self.frag_off & IP_MF)

    @property
    def frag_offset(self) -> int:
        """Fragment offset in bytes ((frag_off & IP_OFFSET) << 3)."""
        return (self.frag_off & IP_OFFSET) << 3

    def is_fragment(self) -> bool:
        return (self.frag_off & (IP_MF | IP_OFFSET)) != 0

    def payload_len(self) -> int:
        return self.tot_len - (self.ihl << 2)

    def fill_check(self) -> int:
        """Set self.check to the correct header checksum (and return it)."""
        self.check = 0
        self.check = ip_fast_csum(self.to_bytes())
        return self.check

    def verify_check(self) -> bool:
        return ip_fast_csum(self.to_bytes()) == 0

    def summary(self) -> str:
        """tcpdump -v IP text: "IP (tos 0x0, ttl 64, id 1, offset 0, flags [DF], proto TCP (6),
        length 60) 10.0.0.1 > 10.0.0.2"."""
        f = self.frag_off
        flags = ", ".join(n for b, n in ((IP_MF, "+"), (IP_DF, "DF"), (IP_CE, "rsvd")) if f & b) or "none"
        s = (f"IP (tos {self.tos:#x}, ttl {self.ttl}, id {self.id}, offset {(f & IP_OFFSET) << 3}, "
             f"flags [{flags}], proto {ip_proto_name(self.protocol)}, length {self.tot_len}")
        if self.options:
            s += f", options ({self.options.hex()})"
        return s + f") {in_ntoa(self.saddr)} > {in_ntoa(self.daddr)}"
