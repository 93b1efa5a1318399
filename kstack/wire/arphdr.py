"""struct arphdr — include/uapi/linux/if_arp.h, with the Ethernet/IPv4 body that
net/ipv4/arp.c (arp_create, arp_process) reads after it — RFC 826, RFC 5227 (probes)."""

import struct

from kstack.wire._base import Header, raise_short
from kstack.wire.errors import WireError
from kstack.wire.inet import in_ntoa, mac_ntoa

__all__ = [
    "ArpHdr", "ARPHRD_ETHER", "ARPHRD_LOOPBACK", "ARPHRD_NONE", "ARPHRD_IEEE802",
    "ARPOP_REQUEST", "ARPOP_REPLY", "ARPOP_RREQUEST", "ARPOP_RREPLY", "ARPOP_InREQUEST",
    "ARPOP_InREPLY", "ARPOP_NAK",
    "ARP_HDR_LEN", "ARP_ETH_IP_LEN",
]

ARPHRD_ETHER = 1
ARPHRD_IEEE802 = 6
ARPHRD_LOOPBACK = 772
ARPHRD_NONE = 0xFFFE

ARPOP_REQUEST = 1
ARPOP_REPLY = 2
ARPOP_RREQUEST = 3
ARPOP_RREPLY = 4
ARPOP_InREQUEST = 8
ARPOP_InREPLY = 9
ARPOP_NAK = 10

ARP_HDR_LEN = 8            # sizeof(struct arphdr)
ARP_ETH_IP_LEN = 28        # arp_hdr_len() for Ethernet: 8 + 2 * (6 + 4)

_ARP = struct.Struct("!HHBBH6sI6sI")
_ARP_FIXED = struct.Struct("!HHBBH")


class ArpHdr(Header):
    """ARP header plus Ethernet/IPv4 body. ar_sip/ar_tip are host-order ints, ar_sha/ar_tha
    6-byte bytes. parse() requires ar_hln == 6 and ar_pln == 4 (else WireError('bad_addr_len'));
    checking ar_hrd/ar_pro against the device is arp_rcv's job."""

    __slots__ = ("ar_hrd", "ar_pro", "ar_hln", "ar_pln", "ar_op",
                 "ar_sha", "ar_sip", "ar_tha", "ar_tip")
    _fields = __slots__
    _struct = _ARP

    def __init__(self, ar_op: int = ARPOP_REQUEST, ar_sha: bytes = b"\x00" * 6, ar_sip: int = 0,
                 ar_tha: bytes = b"\x00" * 6, ar_tip: int = 0, ar_hrd: int = ARPHRD_ETHER,
                 ar_pro: int = 0x0800, ar_hln: int = 6, ar_pln: int = 4) -> None:
        self.ar_hrd = ar_hrd
        self.ar_pro = ar_pro
        self.ar_hln = ar_hln
        self.ar_pln = ar_pln
        self.ar_op = ar_op
        self.ar_sha = ar_sha
        self.ar_sip = ar_sip
        self.ar_tha = ar_tha
        self.ar_tip = ar_tip

    @classmethod
    def parse(cls, buf, offset: int = 0) -> "ArpHdr":
        n = len(buf) - offset
        if offset < 0 or n < 28:
            if offset >= 0 and n >= 8:
                hrd, pro, hln, pln, op = _ARP_FIXED.unpack_from(buf, offset)
                if hln != 6 or pln != 4:
                    raise WireError("bad_addr_len", f"hln {hln} pln {pln}")
            raise_short(buf, offset, 28)
        self = object.__new__(cls)
        (self.ar_hrd, self.ar_pro, hln, pln, self.ar_op,
         self.ar_sha, self.ar_sip, self.ar_tha, self.ar_tip) = _ARP.unpack_from(buf, offset)
        if hln != 6 or pln != 4:
            raise WireError("bad_addr_len", f"hln {hln} pln {pln}")
        self.ar_hln = hln
        self.ar_pln = pln
        return self

    def buffer_len(self) -> int:
        return ARP_ETH_IP_LEN

    def emit(self, buf, offset: int = 0) -> None:
        if len(self.ar_sha) != 6 or len(self.ar_tha) != 6:
            raise WireError("bad_addr_len", "MAC addresses are 6 bytes")
        _ARP.pack_into(buf, offset, self.ar_hrd, self.ar_pro, self.ar_hln, self.ar_pln,
                       self.ar_op, self.ar_sha, self.ar_sip, self.ar_tha, self.ar_tip)

    def summary(self, length: int | None = None) -> str:
        """tcpdump text: "ARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28".
        `length` is the ARP payload length tcpdump shows (46 for a padded 60-byte frame)."""
        return "ARP, " + self._body(ARP_ETH_IP_LEN if length is None else length)

    def _body(self, length: int) -> str:
        """tcpdump's text after "ARP, " (print-arp.c), including the trailing length."""
        if self.ar_pro not in (0x0800, 0x1000):
            hrd = "Ethernet" if self.ar_hrd == ARPHRD_ETHER else f"Unknown Hardware ({self.ar_hrd})"
            return (f"{hrd} (len {self.ar_hln}), Unknown Protocol (0x{self.ar_pro:04x}) "
                    f"(len {self.ar_pln}), length {length}")
        text = self._op_text()
        if text is None:
            return f"Unknown ({self.ar_op}) "
        return text + f", length {length}"

    def _op_text(self) -> str | None:
        op = self.ar_op
        if op == ARPOP_REQUEST:
            s = f"Request who-has {in_ntoa(self.ar_tip)}"
            if any(self.ar_tha):
                s += f" ({mac_ntoa(self.ar_tha)})"
            return s + f" tell {in_ntoa(self.ar_sip)}"
        if op == ARPOP_REPLY:
            return f"Reply {in_ntoa(self.ar_sip)} is-at {mac_ntoa(self.ar_sha)}"
        if op == ARPOP_RREQUEST:
            return f"Reverse Request who-is {mac_ntoa(self.ar_tha)} tell {mac_ntoa(self.ar_sha)}"
        if op == ARPOP_RREPLY:
            return f"Reverse Reply {mac_ntoa(self.ar_tha)} at {in_ntoa(self.ar_tip)}"
        if op == ARPOP_InREQUEST:
            return f"Inverse Request who-is {mac_ntoa(self.ar_tha)} tell {mac_ntoa(self.ar_sha)}"
        if op == ARPOP_InREPLY:
            return f"Inverse Reply {mac_ntoa(self.ar_sha)} at {in_ntoa(self.ar_sip)}"
        return None
