"""struct icmphdr — include/uapi/linux/icmp.h (types, codes, the `un` union), as used by
net/ipv4/icmp.c — RFC 792, RFC 1122 §3.2.2, RFC 1191 (frag needed + next-hop MTU).

`un` is the 32-bit rest-of-header word; id/sequence (echo), gateway (redirect),
mtu (frag needed) and pointer (parameter problem) are views of it."""

import struct

from kstack.wire._base import Header, raise_short
from kstack.wire.inet import in_ntoa

__all__ = [
    "IcmpHdr", "ICMP_ECHOREPLY", "ICMP_DEST_UNREACH", "ICMP_SOURCE_QUENCH", "ICMP_REDIRECT",
    "ICMP_ECHO", "ICMP_TIME_EXCEEDED", "ICMP_PARAMETERPROB", "ICMP_TIMESTAMP", "ICMP_TIMESTAMPREPLY",
    "ICMP_INFO_REQUEST", "ICMP_INFO_REPLY", "ICMP_ADDRESS", "ICMP_ADDRESSREPLY", "NR_ICMP_TYPES",
    "ICMP_NET_UNREACH", "ICMP_HOST_UNREACH", "ICMP_PROT_UNREACH", "ICMP_PORT_UNREACH",
    "ICMP_FRAG_NEEDED", "ICMP_SR_FAILED", "ICMP_NET_UNKNOWN", "ICMP_HOST_UNKNOWN",
    "ICMP_HOST_ISOLATED", "ICMP_NET_ANO", "ICMP_HOST_ANO", "ICMP_NET_UNR_TOS", "ICMP_HOST_UNR_TOS",
    "ICMP_PKT_FILTERED", "ICMP_PREC_VIOLATION", "ICMP_PREC_CUTOFF", "NR_ICMP_UNREACH",
    "ICMP_REDIR_NET", "ICMP_REDIR_HOST", "ICMP_REDIR_NETTOS", "ICMP_REDIR_HOSTTOS",
    "ICMP_EXC_TTL", "ICMP_EXC_FRAGTIME", "ICMP_HLEN", "icmp_is_err",
]

ICMP_ECHOREPLY = 0
ICMP_DEST_UNREACH = 3
ICMP_SOURCE_QUENCH = 4
ICMP_REDIRECT = 5
ICMP_ECHO = 8
ICMP_TIME_EXCEEDED = 11
ICMP_PARAMETERPROB = 12
ICMP_TIMESTAMP = 13
ICMP_TIMESTAMPREPLY = 14
ICMP_INFO_REQUEST = 15
ICMP_INFO_REPLY = 16
ICMP_ADDRESS = 17
ICMP_ADDRESSREPLY = 18
NR_ICMP_TYPES = 18

# Codes for DEST_UNREACH
ICMP_NET_UNREACH = 0
ICMP_HOST_UNREACH = 1
ICMP_PROT_UNREACH = 2
ICMP_PORT_UNREACH = 3
ICMP_FRAG_NEEDED = 4
ICMP_SR_FAILED = 5
ICMP_NET_UNKNOWN = 6
ICMP_HOST_UNKNOWN = 7
ICMP_HOST_ISOLATED = 8
ICMP_NET_ANO = 9
ICMP_HOST_ANO = 10
ICMP_NET_UNR_TOS = 11
ICMP_HOST_UNR_TOS = 12
ICMP_PKT_FILTERED = 13
ICMP_PREC_VIOLATION = 14
ICMP_PREC_CUTOFF = 15
NR_ICMP_UNREACH = 15

# Codes for REDIRECT
ICMP_REDIR_NET = 0
ICMP_REDIR_HOST = 1
ICMP_REDIR_NETTOS = 2
ICMP_REDIR_HOSTTOS = 3

# Codes for TIME_EXCEEDED
ICMP_EXC_TTL = 0
ICMP_EXC_FRAGTIME = 1

ICMP_HLEN = 8

_ICMP = struct.Struct("!BBHI")
_EMB_IP = struct.Struct("!B8xB2x4xI")     # version/ihl, protocol, daddr of a quoted header
_PORTS = struct.Struct("!HH")


def icmp_is_err(type: int) -> bool:
    """include/linux/icmp.h icmp_is_err(): the error types that quote a datagram."""
    return type in (ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH, ICMP_REDIRECT,
                    ICMP_TIME_EXCEEDED, ICMP_PARAMETERPROB)


class IcmpHdr(Header):
    """ICMP header: type, code, checksum, un (rest-of-header u32). The data after the 8
    bytes (echo payload, or the quoted IP header + 8 bytes) is not part of this value."""

    __slots__ = ("type", "code", "checksum", "un")
    _fields = __slots__
    _struct = _ICMP

    def __init__(self, type: int = ICMP_ECHO, code: int = 0, checksum: int = 0, un: int = 0,
                 *, id: int | None = None, sequence: int | None = None,
                 gateway: int | None = None, mtu: int | None = None) -> None:
        self.type = type
        self.code = code
        self.checksum = checksum
        self.un = un
        if id is not None or sequence is not None:
            self.un = ((id or 0) << 16) | (sequence or 0)
        if gateway is not None:
            self.un = gateway
        if mtu is not None:
            self.un = mtu & 0xFFFF

    @classmethod
    def parse(cls, buf, offset: int = 0) -> "IcmpHdr":
        if offset < 0 or len(buf) - offset < 8:
            raise_short(buf, offset, 8)
        self = object.__new__(cls)
        self.type, self.code, self.checksum, self.un = _ICMP.unpack_from(buf, offset)
        return self

    def buffer_len(self) -> int:
        return ICMP_HLEN

    def emit(self, buf, offset: int = 0) -> None:
        _ICMP.pack_into(buf, offset, self.type, self.code, self.checksum, self.un)

    # --- views of the union ---
    @property
    def id(self) -> int:
        return self.un >> 16

    @id.setter
    def id(self, v: int) -> None:
        self.un = ((v & 0xFFFF) << 16) | (self.un & 0xFFFF)

    @property
    def sequence(self) -> int:
        return self.un & 0xFFFF

    @sequence.setter
    def sequence(self, v: int) -> None:
        self.un = (self.un & 0xFFFF0000) | (v & 0xFFFF)

    @property
    def gateway(self) -> int:
        return self.un

    @gateway.setter
    def gateway(self, v: int) -> None:
        self.un = v & 0xFFFFFFFF

    @property
    def mtu(self) -> int:
        """un.frag.mtu: the low 16 bits (the high 16 are un.frag.__unused)."""
        return self.un & 0xFFFF

    @mtu.setter
    def mtu(self, v: int) -> None:
        self.un = (self.un & 0xFFFF0000) | (v & 0xFFFF)

    @property
    def pointer(self) -> int:
        """Parameter problem: octet pointer (the top byte of `un`)."""
        return self.un >> 24

    def summary(self, data=b"", length: int | None = None) -> str:
        """tcpdump text: "ICMP echo request, id 1, seq 1, length 64". `data` is what follows
        the 8-byte header (errors name the quoted datagram's destination and port);
        `length` is the ICMP message length (IP payload length)."""
        body = self._text(data)
        if body is None:
            return "ICMP [|icmp]"
        if length is None:
            length = ICMP_HLEN + len(data)
        return f"ICMP {body}, length {length}"

    def _text(self, data) -> str | None:
        """tcpdump's text for this message, or None if `data` is too short for it."""
        t, c = self.type, self.code
        if t == ICMP_ECHO or t == ICMP_ECHOREPLY:
            return f"echo {'request' if t == ICMP_ECHO else 'reply'}, id {self.un >> 16}, seq {self.un & 0xFFFF}"
        if t == ICMP_DEST_UNREACH:
            return self._unreach(c, data)
        if t == ICMP_TIME_EXCEEDED:
            return {0: "time exceeded in-transit", 1: "ip reassembly time exceeded"}.get(
                c, f"time exceeded-#{c}")
        if t == ICMP_REDIRECT:
            dst = self._quoted(data)
            gw = in_ntoa(self.un)
            what = {0: "redirect {} to net {}", 1: "redirect {} to host {}",
                    2: "redirect-tos {} to net {}", 3: "redirect-tos {} to host {}"}.get(c)
            if dst is None:
                return None
            if what is None:
                return f"redirect-#{c} {in_ntoa(dst[1])} to {gw}"
            return what.format(in_ntoa(dst[1]), gw)
        if t == ICMP_PARAMETERPROB:
            if c == 0:
                return f"parameter problem - octet {self.un >> 24}"
            return f"parameter problem - code {c}"
        if t == ICMP_SOURCE_QUENCH:
            return "source quench"
        if t == ICMP_TIMESTAMP or t == ICMP_TIMESTAMPREPLY:
            kind = "query" if t == ICMP_TIMESTAMP else "reply"
            return f"time stamp {kind} id {self.un >> 16} seq {self.un & 0xFFFF}"
        if t == ICMP_ADDRESS:
            return "address mask request"
        if t == ICMP_INFO_REQUEST:
            return "information request"
        if t == ICMP_INFO_REPLY:
            return "information reply"
        return f"type-#{t}"

    @staticmethod
    def _quoted(data):
        """(protocol, daddr, dport|None) of the datagram quoted by an error, or None."""
        if len(data) < 20:
            return None
        try:
            vihl, proto, daddr = _EMB_IP.unpack_from(data, 0)
        except Exception:   # pragma: no cover - guarded by the length check
            return None
        hl = (vihl & 0x0F) << 2
        dport = None
        if len(data) >= hl + 4:
            dport = _PORTS.unpack_from(data, hl)[1]
        return proto, daddr, dport

    def _unreach(self, c, data) -> str:
        q = self._quoted(data)
        if q is None:
            return None
        proto, daddr, dport = q
        dst = in_ntoa(daddr)
        if c == ICMP_NET_UNREACH:
            return f"net {dst} unreachable"
        if c == ICMP_HOST_UNREACH:
            return f"host {dst} unreachable"
        if c == ICMP_PROT_UNREACH:
            return f"{dst} protocol {proto} unreachable"
        if c == ICMP_PORT_UNREACH:
            if dport is None:
                return None
            if proto == 6:
                return f"{dst} tcp port {dport} unreachable"
            if proto == 17:
                return f"{dst} udp port {dport} unreachable"
            return f"{dst} protocol {proto} port {dport} unreachable"
        if c == ICMP_FRAG_NEEDED:
            mtu = self.un & 0xFFFF
            if mtu:
                return f"{dst} unreachable - need to frag (mtu {mtu})"
            return f"{dst} unreachable - need to frag"
        text = {ICMP_SR_FAILED: "{} unreachable - source route failed",
                ICMP_NET_UNKNOWN: "net {} unreachable - unknown",
                ICMP_HOST_UNKNOWN: "host {} unreachable - unknown",
                ICMP_HOST_ISOLATED: "{} unreachable - source host isolated",
                ICMP_NET_ANO: "net {} unreachable - admin prohibited",
                ICMP_HOST_ANO: "host {} unreachable - admin prohibited",
                ICMP_NET_UNR_TOS: "net {} unreachable - tos prohibited",
                ICMP_HOST_UNR_TOS: "host {} unreachable - tos prohibited",
                ICMP_PKT_FILTERED: "host {} unreachable - admin prohibited filter",
                ICMP_PREC_VIOLATION: "host {} unreachable - host precedence violation",
                ICMP_PREC_CUTOFF: "host {} unreachable - precedence cutoff"}.get(c)
        if text is None:
            return f"{dst} unreachable - #{c}"
        return text.format(dst)
