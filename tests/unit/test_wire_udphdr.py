"""kstack.wire.udphdr on UDP datagrams captured from Linux (include/uapi/linux/udp.h, RFC 768)."""

import json
from pathlib import Path

import pytest

from kstack.wire import WireError
from kstack.wire.checksum import udp4_csum
from kstack.wire.udphdr import UDP_HLEN, UdpHdr

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())
FRAMES = {f["label"]: bytes.fromhex(f["hex"]) for f in FIX["frames"]}


def test_deconstruct():
    f = FRAMES["udp"]
    u = UdpHdr.parse(f, 34)
    assert (u.source, u.dest, u.len, u.check) == (40000, 9000, 20, 0xA398)
    assert f[42:] == b"hello kstack" and u.buffer_len() == UDP_HLEN == 8
    first = UdpHdr.parse(FRAMES["ip_frag_first"], 34)
    assert (first.source, first.dest, first.len, first.check) == (40000, 9000, 3008, 0xFB84)


def test_construct():
    buf = bytearray(b"\xa5" * 8)
    UdpHdr(40000, 9000, 20, 0xA398).emit(buf)
    assert bytes(buf) == FRAMES["udp"][34:42]
    d = bytearray(b"\xa5" * 8) + b"hello kstack"
    h = UdpHdr(40000, 9000, len(d))
    h.emit(d)
    h.check = udp4_csum(0x0AC80001, 0x0AC80002, d)
    h.emit(d)
    assert bytes(d) == FRAMES["udp"][34:]


def test_round_trip():
    for label in ("udp", "udp_2", "udp_ipopts", "ip_frag_first"):
        f = FRAMES[label]
        off = 14 + (f[14] & 15) * 4
        u = UdpHdr.parse(f, off)
        assert u.to_bytes() == f[off:off + 8]
        assert UdpHdr.parse(u.to_bytes()) == u


def test_every_truncation_raises_wireerror():
    f = FRAMES["udp"][34:]
    for n in range(8):
        with pytest.raises(WireError) as ei:
            UdpHdr.parse(f[:n])
        assert ei.value.reason == "short"


@pytest.mark.parametrize("ulen", [0, 1, 7])
def test_len_below_header(ulen):
    f = bytearray(FRAMES["udp"][34:])
    f[4:6] = ulen.to_bytes(2, "big")
    with pytest.raises(WireError) as ei:
        UdpHdr.parse(f)
    assert ei.value.reason == "bad_len"


def test_summary():
    u = UdpHdr.parse(FRAMES["udp"], 34)
    assert u.summary() == "UDP, length 12"
    assert UdpHdr(1, 2, 108).summary(40) == "UDP, bad length 100 > 32"
