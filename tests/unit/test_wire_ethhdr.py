"""kstack.wire.ethhdr on frames captured from Linux (include/uapi/linux/if_ether.h)."""

import json
from pathlib import Path

import pytest

from kstack.wire import WireError
from kstack.wire.ethhdr import ETH_HLEN, ETH_P_ARP, ETH_P_IP, EthHdr, ethertype_name

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())
FRAMES = {f["label"]: bytes.fromhex(f["hex"]) for f in FIX["frames"]}
A_MAC, B_MAC = bytes.fromhex("02000ac80001"), bytes.fromhex("02000ac80002")


def test_deconstruct():
    e = EthHdr.parse(FRAMES["arp_request"])
    assert e.h_dest == b"\xff" * 6
    assert e.h_source == A_MAC
    assert e.h_proto == ETH_P_ARP
    assert e.buffer_len() == ETH_HLEN == 14
    e = EthHdr.parse(memoryview(FRAMES["tcp_synack"]))
    assert (e.h_dest, e.h_source, e.h_proto) == (A_MAC, B_MAC, ETH_P_IP)


def test_construct():
    buf = bytearray(b"\xa5" * 14)
    EthHdr(h_dest=B_MAC, h_source=A_MAC, h_proto=ETH_P_IP).emit(buf)
    assert bytes(buf) == FRAMES["tcp_syn"][:14]
    buf = bytearray(b"\xa5" * 20)
    EthHdr(b"\xff" * 6, A_MAC, ETH_P_ARP).emit(memoryview(buf), 3)
    assert buf[:3] == b"\xa5" * 3 and bytes(buf[3:17]) == FRAMES["arp_request"][:14] and buf[17:] == b"\xa5" * 3


def test_round_trip_all_fixtures():
    for label, f in FRAMES.items():
        e = EthHdr.parse(f)
        assert e.to_bytes() == f[:14], label
        assert EthHdr.parse(bytes(e)) == e


def test_truncated_raises_wireerror():
    f = FRAMES["tcp_syn"]
    for n in range(14):
        with pytest.raises(WireError) as ei:
            EthHdr.parse(f[:n])
        assert ei.value.reason == "short"
    with pytest.raises(WireError) as ei:
        EthHdr.parse(f, -1)
    assert ei.value.reason == "bad_offset"
    with pytest.raises(WireError):
        EthHdr.parse(f, len(f) - 13)


def test_emit_rejects_bad_mac():
    with pytest.raises(WireError):
        EthHdr(b"\x00" * 5, A_MAC).to_bytes()


def test_summary_and_repr():
    e = EthHdr.parse(FRAMES["tcp_syn"])
    assert e.summary(74) == "02:00:0a:c8:00:01 > 02:00:0a:c8:00:02, ethertype IPv4 (0x0800), length 74"
    assert ethertype_name(0x1234) == "Unknown (0x1234)"
    assert "h_proto=0x800" in repr(e)
    assert e != EthHdr.parse(FRAMES["tcp_synack"])
