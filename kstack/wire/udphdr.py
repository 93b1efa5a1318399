"""struct udphdr — include/uapi/linux/udp.h, as checked by net/ipv4/udp.c __udp4_lib_rcv — RFC 768.

parse() requires len >= 8 (else WireError('bad_len')); whether `len` fits the IP payload
is udp_rcv's check, since an ICMP error quotes only the first 8 bytes of a datagram."""

import struct

from kstack.wire._base import Header, raise_short
from kstack.wire.errors import WireError

__all__ = ["UdpHdr", "UDP_HLEN"]

UDP_HLEN = 8
_UDP = struct.Struct("!HHHH")


class UdpHdr(Header):
    """UDP header: source, dest, len (header + data), check (0 = none sent)."""

    __slots__ = ("source", "dest", "len", "check")
    _fields = __slots__
    _struct = _UDP

    def __init__(self, source: int = 0, dest: int = 0, len: int = UDP_HLEN, check: int = 0) -> None:
        self.source = source
        self.dest = dest
        self.len = len
        self.check = check

    @classmethod
    def parse(cls, buf, offset: int = 0) -> "UdpHdr":
        if offset < 0 or len(buf) - offset < 8:
            raise_short(buf, offset, 8)
        self = object.__new__(cls)
        self.source, self.dest, ulen, self.check = _UDP.unpack_from(buf, offset)
        if ulen < 8:
            raise WireError("bad_len", f"len {ulen}")
        self.len = ulen
        return self

    def buffer_len(self) -> int:
        return UDP_HLEN

    def emit(self, buf, offset: int = 0) -> None:
        _UDP.pack_into(buf, offset, self.source, self.dest, self.len, self.check)

    def summary(self, length: int | None = None, fragmented: bool = False) -> str:
        """tcpdump text after the addresses: "UDP, length 5". `length` is the IP payload
        length; a `len` beyond it prints "UDP, bad length 3000 > 1472" unless the datagram is
        a first fragment (then tcpdump trusts `len`)."""
        ulen = self.len
        if length is not None and ulen > length and not fragmented:
            return f"UDP, bad length {ulen - UDP_HLEN} > {length - UDP_HLEN}"
        return f"UDP, length {ulen - UDP_HLEN}"
