"""Address text <-> values: net/core/utils.c (in_aton, in4_pton), lib/hexdump.c / %pM for
MACs, and inet_pton(3)/inet_ntop(3) (RFC 791 dotted quad, strict like glibc inet_pton4).

IPv4 addresses are ints in host order (0xC0A80001 == "192.168.0.1"); MACs are 6-byte bytes.
"""

from kstack.wire.errors import WireError

__all__ = [
    "in_aton", "in_ntoa", "mac_aton", "mac_ntoa", "inet_pton4", "inet_ntop4",
    "INADDR_ANY", "INADDR_BROADCAST", "INADDR_LOOPBACK", "ETH_BROADCAST", "ETH_ZERO",
]

INADDR_ANY = 0x00000000
INADDR_BROADCAST = 0xFFFFFFFF
INADDR_LOOPBACK = 0x7F000001
ETH_BROADCAST = b"\xff" * 6
ETH_ZERO = b"\x00" * 6

_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")


def in_aton(s: str) -> int:
    """Dotted quad -> host-order int. Strict (glibc inet_pton4): exactly four decimal
    octets 0..255, ASCII digits only, no leading zeros, no whitespace; else WireError('bad_text')."""
    if not isinstance(s, str):
        raise WireError("bad_text", repr(s))
    parts = s.split(".")
    if len(parts) != 4:
        raise WireError("bad_text", s)
    a = 0
    for p in parts:
        if not p or len(p) > 3 or not _DIGITS.issuperset(p) or (len(p) > 1 and p[0] == "0"):
            raise WireError("bad_text", s)
        v = int(p)
        if v > 255:
            raise WireError("bad_text", s)
        a = (a << 8) | v
    return a


def in_ntoa(a: int) -> str:
    """Host-order int -> dotted quad ("%pI4")."""
    return f"{(a >> 24) & 255}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"


inet_pton4 = in_aton
inet_ntop4 = in_ntoa


def mac_aton(s: str) -> bytes:
    """"aa:bb:cc:dd:ee:ff" (or '-' separated; 1-2 hex digits per octet) -> 6 bytes."""
    if not isinstance(s, str):
        raise WireError("bad_text", repr(s))
    parts = s.split(":") if ":" in s else s.split("-")
    if len(parts) != 6:
        raise WireError("bad_text", s)
    out = bytearray(6)
    for i, p in enumerate(parts):
        if not p or len(p) > 2 or not _HEX.issuperset(p):
            raise WireError("bad_text", s)
        out[i] = int(p, 16)
    return bytes(out)


def mac_ntoa(b: bytes) -> str:
    """6 bytes -> "aa:bb:cc:dd:ee:ff" (lower case, "%pM")."""
    return bytes(b).hex(":")
