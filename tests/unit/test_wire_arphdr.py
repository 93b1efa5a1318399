"""kstack.wire.arphdr on ARP frames captured from Linux (include/uapi/linux/if_arp.h, RFC 826)."""

import json
from pathlib import Path

import pytest

from kstack.wire import WireError
from kstack.wire.arphdr import ARP_ETH_IP_LEN, ARPHRD_ETHER, ARPOP_REPLY, ARPOP_REQUEST, ArpHdr
from kstack.wire.inet import in_aton

FIX = json.loads((Path(__file__).parents[1] / "fixtures/wire/linux_frames.json").read_text())
FRAMES = {f["label"]: bytes.fromhex(f["hex"]) for f in FIX["frames"]}
A_MAC, B_MAC = bytes.fromhex("02000ac80001"), bytes.fromhex("02000ac80002")
A_IP, B_IP = in_aton("10.200.0.1"), in_aton("10.200.0.2")


def test_deconstruct_request():
    a = ArpHdr.parse(FRAMES["arp_request"], 14)
    assert (a.ar_hrd, a.ar_pro, a.ar_hln, a.ar_pln, a.ar_op) == (ARPHRD_ETHER, 0x0800, 6, 4, ARPOP_REQUEST)
    assert a.ar_sha == A_MAC and a.ar_sip == A_IP == 0x0AC80001
    assert a.ar_tha == b"\x00" * 6 and a.ar_tip == B_IP
    assert a.buffer_len() == ARP_ETH_IP_LEN == 28


def test_deconstruct_reply():
    a = ArpHdr.parse(memoryview(FRAMES["arp_reply"])[14:])
    assert a.ar_op == ARPOP_REPLY
    assert (a.ar_sha, a.ar_sip, a.ar_tha, a.ar_tip) == (B_MAC, B_IP, A_MAC, A_IP)


def test_construct():
    buf = bytearray(b"\xa5" * 28)
    ArpHdr(ARPOP_REPLY, B_MAC, B_IP, A_MAC, A_IP).emit(buf)
    assert bytes(buf) == FRAMES["arp_reply"][14:42]
    buf = bytearray(b"\xa5" * 42)
    ArpHdr(ar_op=ARPOP_REQUEST, ar_sha=A_MAC, ar_sip=A_IP, ar_tip=B_IP).emit(buf, 14)
    assert bytes(buf[14:]) == FRAMES["arp_request"][14:] and buf[:14] == b"\xa5" * 14


def test_round_trip():
    for label in ("arp_request", "arp_reply"):
        a = ArpHdr.parse(FRAMES[label], 14)
        assert a.to_bytes() == FRAMES[label][14:42]
        assert ArpHdr.parse(a.to_bytes()) == a


def test_padded_frame_parses_28_bytes():
    f = FRAMES["arp_reply"] + bytes(18)          # as received from a NIC that pads to ETH_ZLEN
    a = ArpHdr.parse(f, 14)
    assert a.buffer_len() == 28
    assert a.summary(len(f) - 14) == "ARP, Reply 10.200.0.2 is-at 02:00:0a:c8:00:02, length 46"


def test_every_truncation_raises_wireerror():
    f = FRAMES["arp_request"][14:]
    for n in range(28):
        with pytest.raises(WireError) as ei:
            ArpHdr.parse(f[:n])
        assert ei.value.reason == "short"


def test_non_ethernet_ipv4_lengths_rejected():
    f = bytearray(FRAMES["arp_request"][14:])
    f[4] = 8
    with pytest.raises(WireError) as ei:
        ArpHdr.parse(f)
    assert ei.value.reason == "bad_addr_len"
    with pytest.raises(WireError) as ei:
        ArpHdr.parse(f[:10])                    # known bad before the body is even there
    assert ei.value.reason == "bad_addr_len"


def test_summary():
    assert ArpHdr.parse(FRAMES["arp_request"], 14).summary() == \
        "ARP, Request who-has 10.200.0.2 tell 10.200.0.1, length 28"
    assert ArpHdr.parse(FRAMES["arp_reply"], 14).summary() == \
        "ARP, Reply 10.200.0.2 is-at 02:00:0a:c8:00:02, length 28"
    a = ArpHdr(ARPOP_REQUEST, A_MAC, A_IP, B_MAC, B_IP)
    assert a.summary() == "ARP, Request who-has 10.200.0.2 (02:00:0a:c8:00:02) tell 10.200.0.1, length 28"
