"""kstack.wire.icmphdr on ICMP messages captured from Linux (include/uapi/linux/icmp.h, RFC 792)."""

import json
from pathlib import Path

import pytest

from kstack.wire import WireError
from kstack.wire.checksum import inet_csum
from kstack.wire.icmphdr import (
    ICMP_DEST_UNREACH, ICMP_ECHO, ICMP_ECHOREPLY, ICMP_EXC_FRAGTIME, ICMP_EXC_TTL, ICMP_FRAG_NEEDED,
    ICMP_HOST_UNREACH, ICMP_NET_UNREACH, ICMP_PARAMETERPROB, ICMP_PORT_UNREACH, ICMP_PROT_UNREACH,
    ICMP_REDIRECT, ICMP_REDIR_HOST, ICMP_TIME_EXCEEDED, IcmpHdr, icmp_is_err,
)
from kstack.wire.iphdr import IpHdr
from kstack.wire.udphdr import UdpHdr

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())
FRAMES = {f["label"]: bytes.fromhex(f["hex"]) for f in FIX["frames"]}
PING_PAYLOAD = (1700000000).to_bytes(4, "big") + bytes(4) + bytes(range(0x10, 0x40))


def test_deconstruct_echo():
    f = FRAMES["icmp_echo_request"]
    ic = IcmpHdr.parse(f, 34)
    assert (ic.type, ic.code, ic.checksum, ic.un) == (ICMP_ECHO, 0, 0xAA93, 0x4B530001)
    assert (ic.id, ic.sequence) == (0x4B53, 1)
    assert f[42:] == PING_PAYLOAD and ic.buffer_len() == 8
    r = IcmpHdr.parse(FRAMES["icmp_echo_reply"], 34)
    assert (r.type, r.code, r.checksum, r.id, r.sequence) == (ICMP_ECHOREPLY, 0, 0xB293, 0x4B53, 1)


def test_deconstruct_port_unreachable_quotes_the_datagram():
    f = FRAMES["icmp_port_unreach"]
    ic = IcmpHdr.parse(f, 34)
    assert (ic.type, ic.code, ic.checksum, ic.un) == (ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0x12B0, 0)
    assert icmp_is_err(ic.type) and not icmp_is_err(ICMP_ECHO)
    inner = IpHdr.parse(f, 42)                  # the quoted header: tot_len is the original's
    assert inner.tot_len == 35 and inner.protocol == 17 and inner.saddr == 0x0AC80001
    udp = UdpHdr.parse(f, 42 + 20)
    assert (udp.source, udp.dest, udp.len) == (40000, 9001, 15)
    assert f[70:] == b"anyone?"                 # Linux quotes the whole (short) datagram
    assert inet_csum(f[34:]) == 0


def test_construct():
    buf = bytearray(b"\xa5" * 8)
    IcmpHdr(ICMP_ECHO, 0, 0xAA93, id=0x4B53, sequence=1).emit(buf)
    assert bytes(buf) == FRAMES["icmp_echo_request"][34:42]
    msg = bytearray(b"\xa5" * 8) + PING_PAYLOAD
    h = IcmpHdr(ICMP_ECHOREPLY, id=0x4B53, sequence=1)
    h.emit(msg)
    h.checksum = inet_csum(msg)
    h.emit(msg)
    assert bytes(msg) == FRAMES["icmp_echo_reply"][34:]


def test_round_trip():
    for label in ("icmp_echo_request", "icmp_echo_reply", "icmp_port_unreach"):
        ic = IcmpHdr.parse(FRAMES[label], 34)
        assert ic.to_bytes() == FRAMES[label][34:42]
        assert IcmpHdr.parse(ic.to_bytes()) == ic


def test_every_truncation_raises_wireerror():
    f = FRAMES["icmp_echo_request"][34:]
    for n in range(8):
        with pytest.raises(WireError) as ei:
            IcmpHdr.parse(f[:n])
        assert ei.value.reason == "short"


def test_union_views():
    h = IcmpHdr(ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, mtu=1400)
    assert h.un == 1400 and h.mtu == 1400
    h.mtu = 576
    assert h.un == 576
    g = IcmpHdr(ICMP_REDIRECT, ICMP_REDIR_HOST, gateway=0x0AC800FE)
    assert g.gateway == 0x0AC800FE
    e = IcmpHdr()
    e.id, e.sequence = 0xBEEF, 0xFFFF
    assert e.un == 0xBEEFFFFF
    assert IcmpHdr(ICMP_PARAMETERPROB, 0, un=20 << 24).pointer == 20


def test_summary():
    f = FRAMES["icmp_port_unreach"]
    assert IcmpHdr.parse(f, 34).summary(f[42:], 43) == "ICMP 10.200.0.2 udp port 9001 unreachable, length 43"
    assert IcmpHdr.parse(FRAMES["icmp_echo_request"], 34).summary(PING_PAYLOAD) == \
        "ICMP echo request, id 19283, seq 1, length 64"
    q = f[42:]
    cases = {
        (ICMP_DEST_UNREACH, ICMP_NET_UNREACH, 0): "net 10.200.0.2 unreachable",
        (ICMP_DEST_UNREACH, ICMP_HOST_UNREACH, 0): "host 10.200.0.2 unreachable",
        (ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, 0): "10.200.0.2 protocol 17 unreachable",
        (ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, 1400): "10.200.0.2 unreachable - need to frag (mtu 1400)",
        (ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0): "time exceeded in-transit",
        (ICMP_TIME_EXCEEDED, ICMP_EXC_FRAGTIME, 0): "ip reassembly time exceeded",
        (ICMP_REDIRECT, ICMP_REDIR_HOST, 0x0AC800FE): "redirect 10.200.0.2 to host 10.200.0.254",
        (ICMP_PARAMETERPROB, 0, 9 << 24): "parameter problem - octet 9",
        (42, 0, 0): "type-#42",
    }
    for (t, c, un), text in cases.items():
        assert IcmpHdr(t, c, un=un).summary(q, 43) == f"ICMP {text}, length 43"
    assert IcmpHdr(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH).summary(q[:10]) == "ICMP [|icmp]"
