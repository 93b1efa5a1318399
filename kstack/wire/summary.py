"""One tcpdump line per frame — the text of tcpdump -nn -S (print-ether.c, print-arp.c,
print-ip.c, print-icmp.c, print-udp.c, print-tcp.c); see STYLE.md 6c.

frame_summary() decodes Ethernet (802.1Q tags too) / ARP / IPv4 / ICMP / UDP / TCP and never
raises: truncated or malformed layers print tcpdump-style markers such as "[|ip]", "[|tcp]".
Sequence numbers are absolute (-S): a stateless printer cannot make them relative.
Timestamps print as UTC time of day (tcpdump prints local time; run it with TZ=UTC).
"""

import struct

from kstack.wire.ethhdr import ETH_P_8021AD, ETH_P_8021Q, ETH_P_802_3_MIN, ETH_P_ARP, ETH_P_IP, ethertype_name
from kstack.wire.arphdr import ArpHdr
from kstack.wire.icmphdr import IcmpHdr
from kstack.wire.inet import in_ntoa, mac_ntoa
from kstack.wire.iphdr import IP_MF, IP_OFFSET, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP
from kstack.wire.tcphdr import TcpHdr, tcp_flags_str
from kstack.wire.udphdr import UdpHdr
from kstack.wire.errors import WireError

__all__ = ["frame_summary", "ip_summary", "format_ts"]

_ETH = struct.Struct("!6s6sH")
_VLAN = struct.Struct("!HH")
_IP = struct.Struct("!BBHHHBBHII")
_PORTS = struct.Struct("!HH")


def format_ts(ts: float) -> str:
    """"HH:MM:SS.ffffff" (UTC time of day, microseconds), as tcpdump's default -t format."""
    us = round(ts * 1_000_000)
    secs, frac = divmod(us, 1_000_000)
    sod = secs % 86400
    return f"{sod // 3600:02d}:{sod // 60 % 60:02d}:{sod % 60:02d}.{frac:06d}"


def frame_summary(frame, ts: float | None = None, link: str = "eth", ext: bool = False) -> str:
    """One tcpdump line for `frame`. link='eth' (DLT_EN10MB) or 'raw' (starts at the IP
    header). ext=True adds the -e link prefix. Never raises."""
    try:
        if link == "raw":
            body = ip_summary(frame, 0)
        else:
            body = _ether(frame, ext)
    except Exception as e:    # last-resort robustness: a printer must not kill a capture
        body = f"[|{type(e).__name__}]"
    if ts is None:
        return body
    try:
        return f"{format_ts(ts)} {body}"
    except Exception:
        return body


def _ether(frame, ext: bool) -> str:
    n = len(frame)
    if n < 14:
        return " [|ether]"
    dst, src, proto = _ETH.unpack_from(frame, 0)
    off = 14
    macs = f"{mac_ntoa(src)} > {mac_ntoa(dst)}, "
    if proto < ETH_P_802_3_MIN:
        return macs + f"802.3, length {min(proto, n - 14)}: LLC"
    head = ""
    if ext:
        head = macs + f"ethertype {ethertype_name(proto)}, length {n}: "
    while proto in (ETH_P_8021Q, ETH_P_8021AD):
        if n - off < 4:
            return head + " [|vlan]"
        tci, proto = _VLAN.unpack_from(frame, off)
        off += 4
        if ext:
            head += (f"vlan {tci & 0x0FFF}, p {tci >> 13}{', DEI' if tci & 0x1000 else ''}, "
                     f"ethertype {ethertype_name(proto)}, ")
    if proto == ETH_P_IP:
        return head + ip_summary(frame, off, label=not ext)
    if proto == ETH_P_ARP:
        return head + _arp(frame, off, label=not ext)
    if ext:
        return head
    return macs + f"ethertype {ethertype_name(proto)}, length {n}: "


def _arp(frame, off: int, label: bool = True) -> str:
    try:
        a = ArpHdr.parse(frame, off)
    except WireError:
        return " [|arp]"
    return ("ARP, " if label else "") + a._body(len(frame) - off)


def ip_summary(buf, off: int = 0, label: bool = True) -> str:
    """tcpdump text for the IPv4 datagram at buf[off:]: "IP 10.0.0.1.80 > 10.0.0.2.4321: ..."."""
    pre = "IP " if label else ""
    avail = len(buf) - off
    if avail < 1:
        return " [|ip]"
    v = buf[off] >> 4
    if v != 4:
        if v == 6:
            return "IP6, wrong link-layer encapsulation (invalid)"
        return f"IP{v} (invalid)"
    if avail < 20:
        return pre + " [|ip]"
    vihl, tos, tot_len, id_, frag_off, ttl, proto, check, saddr, daddr = _IP.unpack_from(buf, off)
    hlen = (vihl & 0x0F) << 2
    if hlen < 20:
        return pre + f"bad-hlen {hlen}"
    if tot_len < hlen:
        return pre + f"bad-len {tot_len}"
    trunc = ""
    if tot_len > avail:
        trunc = f"truncated-ip - {tot_len - avail} bytes missing! "
        end = off + avail
    else:
        end = off + tot_len
    if avail < hlen:
        return pre + trunc + " [|ip]"
    src, dst = in_ntoa(saddr), in_ntoa(daddr)
    pre += trunc
    plen = tot_len - hlen          # length as the IP header claims it
    if frag_off & IP_OFFSET:
        return pre + f"{src} > {dst}: ip-proto-{proto}"
    data = buf[off + hlen:end]
    if proto == IPPROTO_TCP:
        return pre + _tcp(data, src, dst, plen)
    if proto == IPPROTO_UDP:
        return pre + _udp(data, src, dst, plen, bool(frag_off & IP_MF))
    if proto == IPPROTO_ICMP:
        return pre + f"{src} > {dst}: " + _icmp(data, plen)
    return pre + f"{src} > {dst}:  ip-proto-{proto} {plen}"


_ICMP_NEED8 = frozenset((0, 5, 8, 12, 13, 14))


def _icmp(data, plen) -> str:
    n = len(data)
    if n < 2 or (n < 8 and (data[0] in _ICMP_NEED8 or (data[0] == 3 and data[1] == 4))):
        return " [|icmp]"
    ic = IcmpHdr.parse(bytes(data[:8]) + bytes(8 - n) if n < 8 else data)
    text = ic._text(bytes(data[8:]))
    if text is None:
        return " [|icmp]"
    return f"ICMP {text}, length {plen}"


def _tcp(data, src, dst, plen) -> str:
    if len(data) < 4:
        return f"{src} > {dst}: [|tcp]"
    sport, dport = _PORTS.unpack_from(data, 0)
    head = f"{src}.{sport} > {dst}.{dport}: "
    if len(data) < 20:
        return head + " [|tcp]"
    hl = (data[12] >> 4) * 4
    if hl < 20:
        return head + f" tcp {plen - hl} [bad hdr length {hl} - too short, < 20]"
    if hl > plen:
        return head + f"Flags [{tcp_flags_str(data[13])}] [bad hdr length {hl} - too long, > {plen}]"
    t = TcpHdr.parse(bytes(data[:12]) + b"\x50" + bytes(data[13:20]))
    return head + t.summary(plen - hl, bytes(data[20:]), hl - 20)


def _udp(data, src, dst, plen, fragmented=False) -> str:
    if len(data) < 4:
        return f"{src} > {dst}:  [|udp]"
    sport, dport = _PORTS.unpack_from(data, 0)
    head = f"{src}.{sport} > {dst}.{dport}: "
    if len(data) < 8:
        return head + " [|udp]"
    ulen = (data[4] << 8) | data[5]
    if ulen < 8:
        return head + f"truncated-udplength {ulen}"
    return head + UdpHdr.parse(data).summary(plen, fragmented)
